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
//! Each patch is timed twice: when the kernel received it on the client's socket (a
//! receive timestamp, `SO_TIMESTAMPNS`), and when this thread got round to reading it.
//! The first is when the patch reached the client. The second adds this one thread's
//! queue of ten thousand clients' work, which real clients, each on its own device,
//! never wait in.
//!
//! Usage: cargo run --release -p togglerino-edge-proxy --example sse-load --
//!          CONTROL_PLANE_URL SDK_KEY CLIENTS CONTEXTS FLAG EDGE_URL [EDGE_URL...]
//! Needs the control plane's admin credentials from setup.py (bench@example.com).
//! SPIN=1 polls the sockets without sleeping while measuring (see docs/performance.md).

use std::os::fd::AsRawFd;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use tokio::io::{AsyncWriteExt, Interest};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// Toggles measured one after the other, turning the flag off and on: off serves
/// everyone the default, on places each user by their rollout bucket.
const TOGGLES: usize = 4;

/// What a client reports to the conductor.
enum Report {
    Connected,
    /// When the kernel received the patch, and when the client read it.
    Patched {
        arrived: SystemTime,
        read: Instant,
    },
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
    let mut arrived_p99s = Vec::new();
    let mut read_p99s = Vec::new();
    for round in 1..=TOGGLES {
        let (started, enabled) = toggle(control_plane, flag).await?;
        let mut arrivals = Vec::with_capacity(clients);
        let mut reads = Vec::with_capacity(clients);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while reads.len() < clients {
            match tokio::time::timeout_at(deadline, received.recv()).await {
                Ok(Some(Report::Patched { arrived, read })) => {
                    // A clock step during the run would show as a zero delay, not a panic.
                    arrivals.push(arrived.duration_since(started.system).unwrap_or_default());
                    reads.push(read.duration_since(started.instant));
                }
                Ok(Some(Report::Failed(error))) => anyhow::bail!("a client failed: {error}"),
                Ok(_) | Err(_) => break,
            }
        }
        anyhow::ensure!(!reads.is_empty(), "no client received the patch");
        println!(
            "toggle {round} ({}): patched {}/{clients} clients",
            if enabled { "on" } else { "off" },
            reads.len()
        );
        arrived_p99s.push(describe("arrived", &mut arrivals));
        read_p99s.push(describe("read", &mut reads));
        // Let the streams settle before the next toggle.
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    if let Some(spinner) = spinner {
        spinner.abort();
    }
    for (what, mut p99s) in [("arrived", arrived_p99s), ("read", read_p99s)] {
        p99s.sort_by(f64::total_cmp);
        println!(
            "p99 over {TOGGLES} toggles, {what}: median {:.1} ms, worst {:.1} ms",
            p99s[p99s.len() / 2],
            p99s[p99s.len() - 1]
        );
    }
    Ok(())
}

/// Prints the distribution of `delays` and returns its p99 in milliseconds.
fn describe(what: &str, delays: &mut [Duration]) -> f64 {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    delays.sort();
    let quantile = |q: f64| ms(delays[((q * delays.len() as f64) as usize).min(delays.len() - 1)]);
    let mean = delays.iter().map(|d| ms(*d)).sum::<f64>() / delays.len() as f64;
    println!(
        "  {what:>7}: first {:.1} ms, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms, mean {mean:.1} ms",
        ms(delays[0]),
        quantile(0.5),
        quantile(0.99),
        ms(*delays.last().expect("not empty")),
    );
    quantile(0.99)
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
    arrival::stamp(&socket)?;
    socket
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: {edge}\r\nAccept: text/event-stream\r\n\r\n")
                .as_bytes(),
        )
        .await?;
    let mut buffer = Vec::with_capacity(64 * 1024);
    let mut scanned = 0;
    let mut arrived = UNIX_EPOCH;
    let mut event = String::new();
    let mut connected = false;
    loop {
        let Some(end) = buffer[scanned..].iter().position(|&b| b == b'\n') else {
            scanned = buffer.len();
            let filled = buffer.len();
            buffer.resize(filled + 64 * 1024, 0);
            let (read, at) = loop {
                socket.readable().await?;
                match socket.try_io(Interest::READABLE, || {
                    arrival::receive(&socket, &mut buffer[filled..])
                }) {
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                    result => break result?,
                }
            };
            buffer.truncate(filled + read);
            anyhow::ensure!(read > 0, "the edge closed the stream");
            arrived = at.unwrap_or_else(SystemTime::now);
            continue;
        };
        let line = &buffer[..scanned + end];
        if let Some(name) = line.strip_prefix(b"event: ") {
            event = String::from_utf8_lossy(name).trim_end().to_owned();
        } else if line.starts_with(b"data: ") {
            // The data line is the whole event: framed in pieces, read in one line.
            if event == "flags" && !connected {
                connected = true;
                let _ = reports.send(Report::Connected);
            } else if event == "patch" && contains(line, flag.as_bytes()) {
                let _ = reports.send(Report::Patched {
                    arrived,
                    read: Instant::now(),
                });
            }
        }
        buffer.drain(..scanned + end + 1);
        scanned = 0;
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Receive timestamps: when the kernel took in what a read returns.
#[allow(unsafe_code)]
mod arrival {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use super::AsRawFd;

    /// Asks the kernel to stamp what arrives on `socket`.
    pub fn stamp(socket: &impl AsRawFd) -> std::io::Result<()> {
        let on: libc::c_int = 1;
        // SAFETY: a valid descriptor and an option value of the size passed.
        let status = unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_TIMESTAMPNS,
                (&raw const on).cast(),
                size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if status == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    }

    /// Reads into `buffer`; returns the bytes read and when the last of them arrived.
    pub fn receive(
        socket: &impl AsRawFd,
        buffer: &mut [u8],
    ) -> std::io::Result<(usize, Option<SystemTime>)> {
        let mut iov = libc::iovec {
            iov_base: buffer.as_mut_ptr().cast(),
            iov_len: buffer.len(),
        };
        // u64s keep the control buffer aligned for the headers the kernel writes.
        let mut control = [0u64; 16];
        // SAFETY: a zeroed msghdr is valid; its pointers are set to live buffers below.
        let mut message: libc::msghdr = unsafe { std::mem::zeroed() };
        message.msg_iov = &raw mut iov;
        message.msg_iovlen = 1;
        message.msg_control = control.as_mut_ptr().cast();
        message.msg_controllen = size_of_val(&control) as _;
        // SAFETY: every pointer in `message` points into buffers that outlive the call.
        let read = unsafe { libc::recvmsg(socket.as_raw_fd(), &raw mut message, 0) };
        if read < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let mut arrived = None;
        // SAFETY: walking the control messages the kernel wrote, within msg_controllen.
        unsafe {
            let mut header = libc::CMSG_FIRSTHDR(&raw const message);
            while !header.is_null() {
                if (*header).cmsg_level == libc::SOL_SOCKET
                    && (*header).cmsg_type == libc::SCM_TIMESTAMPNS
                {
                    let at: libc::timespec =
                        std::ptr::read_unaligned(libc::CMSG_DATA(header).cast());
                    arrived = Some(UNIX_EPOCH + Duration::new(at.tv_sec as u64, at.tv_nsec as u32));
                }
                header = libc::CMSG_NXTHDR(&raw const message, header);
            }
        }
        Ok((read as usize, arrived))
    }
}

/// When a toggle request was sent, on both clocks: the kernel stamps arrivals with the
/// wall clock.
struct Started {
    instant: Instant,
    system: SystemTime,
}

/// Flips `flag` in production as the benchmark's admin; returns when the request was
/// sent, and whether the flag is now on.
async fn toggle(control_plane: &str, flag: &str) -> anyhow::Result<(Started, bool)> {
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
    let started = Started {
        instant: Instant::now(),
        system: SystemTime::now(),
    };
    http.post(format!("{path}/toggle"))
        .header("x-csrf-token", csrf)
        .json(&json!({"enabled": enabled, "version": config["version"]}))
        .send()
        .await?
        .error_for_status()?;
    Ok((started, enabled))
}
