//! The `health` subcommand both binaries answer: asks the server running on this machine
//! whether it is ready. Container images carry no shell or `curl`, so a container
//! health check runs the binary itself.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use axum::body::Body;
use hyper::StatusCode;
use hyper_util::rt::TokioIo;

/// How long the whole check may take: a health check that hangs is a failed one.
const TIMEOUT: Duration = Duration::from_secs(3);

/// Asks `path` of the server listening on `listen` (an unspecified address means this
/// machine); succeeds when it answers 200, and says what it got otherwise.
pub fn run(listen: SocketAddr, path: &str) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("unhealthy: {error}");
            return ExitCode::FAILURE;
        }
    };
    let target = local(listen);
    match runtime.block_on(async { tokio::time::timeout(TIMEOUT, status(target, path)).await }) {
        Ok(Ok(StatusCode::OK)) => ExitCode::SUCCESS,
        Ok(Ok(status)) => {
            eprintln!("unhealthy: http://{target}{path} answered {status}");
            ExitCode::FAILURE
        }
        Ok(Err(error)) => {
            eprintln!("unhealthy: http://{target}{path}: {error}");
            ExitCode::FAILURE
        }
        Err(_) => {
            eprintln!("unhealthy: http://{target}{path} did not answer within {TIMEOUT:?}");
            ExitCode::FAILURE
        }
    }
}

/// The address to reach a server listening on `listen` from this machine.
fn local(mut listen: SocketAddr) -> SocketAddr {
    if listen.ip().is_unspecified() {
        listen.set_ip(if listen.is_ipv4() {
            Ipv4Addr::LOCALHOST.into()
        } else {
            Ipv6Addr::LOCALHOST.into()
        });
    }
    listen
}

async fn status(target: SocketAddr, path: &str) -> Result<StatusCode, Box<dyn std::error::Error>> {
    let stream = tokio::net::TcpStream::connect(target).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake::<_, Body>(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let request = hyper::Request::get(path)
        .header(hyper::header::HOST, target.to_string())
        .body(Body::empty())?;
    Ok(sender.send_request(request).await?.status())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unspecified_addresses_mean_this_machine() {
        assert_eq!(
            local("0.0.0.0:8080".parse().unwrap()),
            "127.0.0.1:8080".parse().unwrap()
        );
        assert_eq!(
            local("[::]:8090".parse().unwrap()),
            "[::1]:8090".parse().unwrap()
        );
        assert_eq!(
            local("10.1.2.3:8090".parse().unwrap()),
            "10.1.2.3:8090".parse().unwrap()
        );
    }

    #[test]
    fn a_server_that_is_not_ready_or_not_there_fails_the_check() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let address = listener.local_addr().unwrap();
        let app = axum::Router::new()
            .route("/readyz", axum::routing::get(|| async { "ok" }))
            .route(
                "/waiting",
                axum::routing::get(|| async { StatusCode::SERVICE_UNAVAILABLE }),
            );
        std::thread::spawn(move || {
            runtime.block_on(async { axum::serve(listener, app).await.unwrap() })
        });
        assert_eq!(run(address, "/readyz"), ExitCode::SUCCESS);
        assert_eq!(run(address, "/waiting"), ExitCode::FAILURE);
        assert_eq!(run(address, "/missing"), ExitCode::FAILURE);
        // Nothing listens on a port just released.
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        assert_eq!(run(closed, "/readyz"), ExitCode::FAILURE);
    }
}
