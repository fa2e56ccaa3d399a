//! Process plumbing both servers share: logging set-up, the HTTP server with its
//! timeouts, and signal-driven, time-bounded shutdown. Behind the `process` feature, so
//! the engine itself stays free of a runtime.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

mod idle_timeout;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tower::ServiceExt;

use idle_timeout::IdleTimeout;

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// How long open connections get to finish after SIGTERM or SIGINT.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Logs to stderr, filtered by `RUST_LOG` (default `info`), as text or JSON lines.
/// `RUST_LOG` takes levels and per-target levels (`warn,togglerino_edge_proxy=debug`).
pub fn init_tracing(json: bool) {
    let setting = std::env::var("RUST_LOG").ok();
    let parsed = setting.as_deref().map(str::parse::<Targets>);
    let filter = match &parsed {
        Some(Ok(targets)) => targets.clone(),
        _ => Targets::new().with_default(LevelFilter::INFO),
    };
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let registry = tracing_subscriber::registry().with(filter);
    if json {
        registry.with(fmt.json()).init();
    } else {
        registry.with(fmt).init();
    }
    if let Some(Err(error)) = parsed {
        tracing::warn!(%error, "ignoring RUST_LOG; logging at info");
    }
}

/// How long a client may take to send a request's line and headers, and how long a
/// kept-alive connection may sit idle between requests.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a request's body may stall: the most time allowed between two of its parts.
pub const REQUEST_BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves `app` over HTTP/1.1 on `listener` until `shutdown` completes, then lets
/// requests in flight finish. Unlike `axum::serve`, a connection that does not send
/// its headers within [`HEADER_READ_TIMEOUT`] (from its first byte, or after the
/// previous answer) is closed, and so is one whose body stalls for
/// [`REQUEST_BODY_TIMEOUT`]: slow or idle clients cannot pile up. Handlers see the
/// peer as `ConnectInfo<SocketAddr>`. Long responses (event streams) are the app's to
/// end when `shutdown` fires; `on_shutdown` runs then.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send,
    on_shutdown: impl FnOnce(),
) -> std::io::Result<()> {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    let http = Arc::new(http);
    let (closing, closed) = watch::channel(false);
    let open = Arc::new(Connections::default());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, or a connection reset before it was
                    // accepted: wait a moment rather than spin.
                    tracing::debug!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            let request =
                request.map(|body| Body::new(IdleTimeout::new(body, REQUEST_BODY_TIMEOUT)));
            app.clone().oneshot(request)
        });
        let http = Arc::clone(&http);
        let mut closed = closed.clone();
        let guard = Connections::enter(&open);
        tokio::spawn(async move {
            let _guard = guard;
            let connection = http.serve_connection(TokioIo::new(stream), service);
            let mut connection = std::pin::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => return,
                _ = closed.wait_for(|closed| *closed) => {}
            }
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        });
    }
    drop(listener);
    on_shutdown();
    let _ = closing.send(true);
    open.drained().await;
    Ok(())
}

/// Connections being served, so shutdown can wait for the last.
#[derive(Default)]
struct Connections {
    count: AtomicUsize,
    none_left: Notify,
}

struct Entered(Arc<Connections>);

impl Connections {
    fn enter(this: &Arc<Connections>) -> Entered {
        this.count.fetch_add(1, Ordering::AcqRel);
        Entered(Arc::clone(this))
    }

    async fn drained(&self) {
        loop {
            let notified = self.none_left.notified();
            if self.count.load(Ordering::Acquire) == 0 {
                return;
            }
            notified.await;
        }
    }
}

impl Drop for Entered {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.none_left.notify_waiters();
        }
    }
}

/// A future that completes on SIGINT or SIGTERM.
pub type Shutdown = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Runs a server given a shutdown future that fires on SIGINT or SIGTERM. Shutdown is
/// graceful but bounded: after [`SHUTDOWN_GRACE`] the process stops waiting for
/// clients that never let go. `None` when the grace period ran out.
pub async fn serve_until_signalled<S: Future>(
    server: impl FnOnce(Shutdown) -> S,
) -> Option<S::Output> {
    let (signalled, stopping) = tokio::sync::oneshot::channel::<()>();
    let server = server(Box::pin(async move {
        signal().await;
        let _ = signalled.send(());
    }));
    tokio::select! {
        output = server => Some(output),
        () = async {
            let _ = stopping.await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        } => {
            tracing::warn!("shutdown grace period over; exiting with connections still open");
            None
        }
    }
}

async fn signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
