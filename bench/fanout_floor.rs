//! What the kernel alone costs to fan a change out to SDK streams on this machine: one
//! process accepts CLIENTS loopback connections and writes one patch-sized chunk to
//! each in a plain loop, as fast as a syscall a socket allows; the other reads them.
//! No HTTP, no evaluation, no runtime on the writing side. The time for the last reader
//! to get its chunk is the floor under `bench/propagation.sh`'s figure on the same
//! machine: no edge can fan out faster than its kernel sends.
//!
//! Usage (bench/fanout_floor.sh runs both, pinned as the propagation benchmark pins
//! the edge and its load generator):
//!   fanout-floor write CLIENTS PORT    # the edge's side
//!   fanout-floor read CLIENTS PORT     # the clients' side; prints the figures

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

/// As many rounds as the propagation benchmark toggles.
const ROUNDS: usize = 4;

/// A `patch` event as the edge frames it, chunked.
const PATCH: &[u8] = b"5b\r\nevent: patch\nid: 12\ndata: {\"flags\":{\"flag-00004\":{\"value\":true,\"variant\":\"on\",\"reason\":\"SPLIT\"}}}\n\n\r\n";

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [role, clients, port] = args.as_slice() else {
        anyhow::bail!("usage: fanout-floor write|read CLIENTS PORT");
    };
    let clients: usize = clients.parse()?;
    let address = format!("127.0.0.1:{port}");
    match role.as_str() {
        "write" => write(clients, &address),
        "read" => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(read(clients, &address)),
        _ => anyhow::bail!("the role is write or read"),
    }
}

/// Accepts the clients and a control connection; for each byte on the control
/// connection, writes one chunk to every client.
fn write(clients: usize, address: &str) -> anyhow::Result<()> {
    let listener = TcpListener::bind(address)?;
    let mut streams = Vec::with_capacity(clients);
    for _ in 0..clients {
        let (stream, _) = listener.accept()?;
        stream.set_nodelay(true)?;
        streams.push(stream);
    }
    let (mut control, _) = listener.accept()?;
    for _ in 0..ROUNDS {
        let mut go = [0u8; 1];
        control.read_exact(&mut go)?;
        for stream in &mut streams {
            stream.write_all(PATCH)?;
        }
    }
    Ok(())
}

/// Connects the clients, then times each round from the signal to the last chunk read.
async fn read(clients: usize, address: &str) -> anyhow::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (arrivals, mut arrived) = tokio::sync::mpsc::unbounded_channel();
    for _ in 0..clients {
        let mut stream = tokio::net::TcpStream::connect(address).await?;
        let arrivals = arrivals.clone();
        tokio::spawn(async move {
            let mut buffer = [0u8; 4096];
            while let Ok(read) = stream.read(&mut buffer).await {
                if read == 0 || arrivals.send(Instant::now()).is_err() {
                    break;
                }
            }
        });
    }
    let mut control = tokio::net::TcpStream::connect(address).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    for round in 1..=ROUNDS {
        let start = Instant::now();
        control.write_all(b"!").await?;
        let mut delays = Vec::with_capacity(clients);
        while delays.len() < clients {
            let at = arrived.recv().await.expect("readers outlive the rounds");
            delays.push(at - start);
        }
        delays.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "round {round}: {clients} chunks written and read: p50 {:.1} ms, p99 {:.1} ms, last {:.1} ms ({:.1} µs a stream)",
            ms(delays[clients / 2]),
            ms(delays[clients * 99 / 100]),
            ms(delays[clients - 1]),
            ms(delays[clients - 1]) * 1000.0 / clients as f64
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    Ok(())
}
