//! Toggle-to-client propagation: opens CLIENTS SDK streams spread over the given edges,
//! waits until every one has its first `flags` event, toggles FLAG through the control
//! plane, and reports how long each client took to receive its patch, measured from the
//! moment the toggle request was sent. Every stream keeps being read to the end, as a
//! real SDK would.
//!
//! CONTEXTS is how many distinct users the streams belong to: 0 for one user per stream
//! (browsers and apps), or a small number to measure streams that share contexts.
//!
//! One thread, plain sockets and a line reader per stream: the load generator shares the
//! machine with what it measures, so it must cost as little as possible.
//!
//! Usage: cargo run --release -p togglerino-edge-proxy --example sse-load --
//!          CONTROL_PLANE_URL SDK_KEY CLIENTS CONTEXTS FLAG EDGE_URL [EDGE_URL...]
//! Needs the control plane's admin credentials from setup.py (bench@example.com).
//! SPIN=1 polls the sockets without sleeping while measuring (see docs/performance.md).

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// Toggles measured one after the other, turning the flag off and on: off serves
/// everyone the default, on places each user by their rollout bucket.
const TOGGLES: usize = 4;

/// What a client reports to the conductor.
enum Report {
    Connected,
    Patched(Instant),
    Failed(String),
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [control_plane, sdk_key, clients, contexts, flag, edges @ ..] = args.as_slice() else {
        anyhow::bail!(
            "usage: sse-load CONTROL_PLANE_URL SDK_KEY CLIENTS CONTEXTS FLAG EDGE_URL..."
        );
    };
    anyhow::ensure!(!edges.is_empty(), "name at least one edge");
    let clients: usize = clients.parse()?;
    let contexts: usize = contexts.parse()?;
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(run(control_plane, sdk_key, clients, contexts, flag, edges))
}

async fn run(
    control_plane: &str,
    sdk_key: &str,
    clients: usize,
    contexts: usize,
    flag: &str,
    edges: &[String],
) -> anyhow::Result<()> {
    let (reports, mut received) = mpsc::unbounded_channel();
    let opening = Instant::now();
    for index in 0..clients {
        let edge = edges[index % edges.len()]
            .trim_start_matches("http://")
            .to_owned();
        let user = if contexts == 0 {
            index
        } else {
            index % contexts
        };
        let context = URL_SAFE_NO_PAD.encode(
            json!({"user_id": format!("user-{user}"), "attributes": {"plan": "pro", "country": "NZ"}})
                .to_string(),
        );
        let path = format!("/api/v1/stream/bench/production?context={context}&sdk_key={sdk_key}");
        let reports = reports.clone();
        let flag = format!("\"{flag}\"");
        tokio::spawn(async move {
            if let Err(error) = client(&edge, &path, &flag, &reports).await {
                let _ = reports.send(Report::Failed(format!("{error:#}")));
            }
        });
        // Connect in waves, as a fleet of SDKs would, not in one SYN flood.
        if index % 200 == 199 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let mut connected = 0;
    while connected < clients {
        match tokio::time::timeout(Duration::from_secs(120), received.recv()).await? {
            Some(Report::Connected) => connected += 1,
            Some(Report::Failed(error)) => anyhow::bail!("a client failed: {error}"),
            _ => anyhow::bail!("a client ended early"),
        }
    }
    println!(
        "{clients} clients ({}) had their first flags event from {} edge(s) {:.2} s after the first opened",
        if contexts == 0 {
            "one user each".to_owned()
        } else {
            format!("{contexts} distinct users")
        },
        edges.len(),
        opening.elapsed().as_secs_f64()
    );
    // Let the edges settle after the connection storm before measuring.
    tokio::time::sleep(Duration::from_secs(2)).await;

    // SPIN=1: keep this thread polling its sockets instead of sleeping in epoll while
    // measuring. On loopback the edge's core pays for waking a sleeping reader, which
    // clients on other machines never make it pay; this separates that cost out.
    let spinner = (std::env::var("SPIN").as_deref() == Ok("1")).then(|| {
        tokio::spawn(async {
            loop {
                tokio::task::yield_now().await;
            }
        })
    });
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let mut p99s = Vec::new();
    for round in 1..=TOGGLES {
        let (started, enabled) = toggle(control_plane, flag).await?;
        let mut delays = Vec::with_capacity(clients);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while delays.len() < clients {
            match tokio::time::timeout_at(deadline, received.recv()).await {
                Ok(Some(Report::Patched(at))) => delays.push(at.duration_since(started)),
                Ok(Some(Report::Failed(error))) => anyhow::bail!("a client failed: {error}"),
                Ok(_) | Err(_) => break,
            }
        }
        anyhow::ensure!(!delays.is_empty(), "no client received the patch");
        delays.sort();
        let quantile =
            |q: f64| ms(delays[((q * delays.len() as f64) as usize).min(delays.len() - 1)]);
        let mean = delays.iter().map(|d| ms(*d)).sum::<f64>() / delays.len() as f64;
        println!(
            "toggle {round} ({}): patched {}/{clients} clients: first {:.1} ms, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms, mean {mean:.1} ms",
            if enabled { "on" } else { "off" },
            delays.len(),
            ms(delays[0]),
            quantile(0.5),
            quantile(0.99),
            ms(*delays.last().expect("not empty")),
        );
        p99s.push(quantile(0.99));
        // Let the streams settle before the next toggle.
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    if let Some(spinner) = spinner {
        spinner.abort();
    }
    p99s.sort_by(f64::total_cmp);
    println!(
        "p99 over {TOGGLES} toggles: median {:.1} ms, worst {:.1} ms",
        p99s[p99s.len() / 2],
        p99s[p99s.len() - 1]
    );
    Ok(())
}

/// One SDK stream: reports its whole first `flags` event, then every patch naming `flag`
/// (quoted), and reads on until the edge closes the stream.
async fn client(
    edge: &str,
    path: &str,
    flag: &str,
    reports: &mpsc::UnboundedSender<Report>,
) -> anyhow::Result<()> {
    let mut socket = TcpStream::connect(edge).await?;
    socket
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: {edge}\r\nAccept: text/event-stream\r\n\r\n")
                .as_bytes(),
        )
        .await?;
    let mut lines = BufReader::new(socket);
    let mut line = String::new();
    let mut event = String::new();
    let mut connected = false;
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            anyhow::bail!("the edge closed the stream");
        }
        if let Some(name) = line.strip_prefix("event: ") {
            event = name.trim_end().to_owned();
        } else if line.starts_with("data: ") {
            // The data line is the whole event: framed in pieces, read in one line.
            if event == "flags" && !connected {
                connected = true;
                let _ = reports.send(Report::Connected);
            } else if event == "patch" && line.contains(flag) {
                let _ = reports.send(Report::Patched(Instant::now()));
            }
        }
    }
}

/// Flips `flag` in production as the benchmark's admin; returns when the request was
/// sent, and whether the flag is now on.
async fn toggle(control_plane: &str, flag: &str) -> anyhow::Result<(Instant, bool)> {
    let http = reqwest::Client::builder().cookie_store(true).build()?;
    let login: Value = http
        .post(format!("{control_plane}/api/v1/auth/login"))
        .json(&json!({"email": "bench@example.com", "password": "bench-password"}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let csrf = login["csrf_token"].as_str().unwrap_or_default().to_owned();
    let path =
        format!("{control_plane}/api/v1/projects/bench/flags/{flag}/environments/production");
    let config: Value = http
        .get(&path)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let enabled = !config["enabled"].as_bool().unwrap_or(false);
    let started = Instant::now();
    http.post(format!("{path}/toggle"))
        .header("x-csrf-token", csrf)
        .json(&json!({"enabled": enabled, "version": config["version"]}))
        .send()
        .await?
        .error_for_status()?;
    Ok((started, enabled))
}
