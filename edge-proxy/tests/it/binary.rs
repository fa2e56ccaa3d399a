//! The shipped `togglerino-edge` binary: configuration errors and `--help`.

use std::process::{Command, Output};

const BINARY: &str = env!("CARGO_BIN_EXE_togglerino-edge");

fn run(args: &[&str]) -> Output {
    Command::new(BINARY)
        .args(args)
        .env_remove("TOGGLERINO_UPSTREAM_URL")
        .env_remove("TOGGLERINO_EDGE_TOKEN")
        .output()
        .expect("the binary runs")
}

#[test]
fn a_bad_upstream_url_is_one_clear_line() {
    let output = run(&[
        "--upstream-url",
        "ftp://cp",
        "--edge-token",
        "t",
        "--listen",
        "127.0.0.1:0",
    ]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("togglerino-edge:"))
        .collect();
    assert_eq!(
        errors,
        ["togglerino-edge: --upstream-url must be an http:// or https:// URL"],
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"));
}

#[test]
fn a_taken_port_is_one_clear_line() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let output = run(&[
        "--upstream-url",
        "http://127.0.0.1:1",
        "--edge-token",
        "t",
        "--listen",
        &address,
    ]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("togglerino-edge: cannot listen on {address}")),
        "{stderr}"
    );
}

#[test]
fn every_option_is_documented_with_its_variable() {
    let help = String::from_utf8(run(&["--help"]).stdout).unwrap();
    for expected in [
        "--upstream-url",
        "TOGGLERINO_UPSTREAM_URL",
        "--edge-token",
        "TOGGLERINO_EDGE_TOKEN",
        "--listen",
        "--cache-dir",
        "--poll-interval",
        "--cors-origin",
        "--max-sse-clients",
        "--log-format",
    ] {
        assert!(help.contains(expected), "{expected} missing from:\n{help}");
    }
}
