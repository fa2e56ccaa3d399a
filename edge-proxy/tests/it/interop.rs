//! OFREP interoperability: OpenFeature's official SDKs with their OFREP providers
//! (Node.js and Python), unmodified, evaluate against a live edge. `./scripts/test`
//! installs them (`npm ci` in tests/interop/node, a virtualenv in target/interop-venv).

use std::path::PathBuf;
use std::process::Command;

use serde_json::{Value, json};
use sqlx::PgPool;

use crate::support::{ControlPlane, Edge};

fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop")
}

/// Flags of every type, with one rule each that the checks' context (`plan: free`) hits.
async fn configure(control_plane: &ControlPlane) {
    let flags = [
        (
            "banner",
            "string",
            json!("none"),
            json!([{"key": "sale", "value": "50% off"}, {"key": "none", "value": "none"}]),
        ),
        (
            "ratio",
            "number",
            json!(0),
            json!([{"key": "half", "value": 0.5}, {"key": "full", "value": 1.0}]),
        ),
        (
            "theme",
            "json",
            json!({}),
            json!([{"key": "dark", "value": {"mode": "dark", "contrast": 2}}, {"key": "plain", "value": {}}]),
        ),
    ];
    for (key, flag_type, default, variants) in flags {
        control_plane
            .call(
                "POST",
                "/api/v1/projects/shop/flags",
                json!({"key": key, "name": key, "type": flag_type, "default_value": default}),
            )
            .await;
        let first = variants[0]["key"].clone();
        let last = variants[1]["key"].clone();
        control_plane
            .call(
                "PUT",
                &format!("/api/v1/projects/shop/flags/{key}/environments/production"),
                json!({
                    "enabled": true, "variants": variants, "default_variant": last,
                    "targeting_rules": [{"conditions": [{"attribute": "plan", "operator": "equals", "value": "free"}], "variant": first}],
                    "version": 1
                }),
            )
            .await;
    }
}

fn expected() -> Value {
    json!({
        "boolean": {"value": false, "variant": "_flag_default", "reason": "DISABLED", "errorCode": null},
        "string": {"value": "50% off", "variant": "sale", "reason": "TARGETING_MATCH", "errorCode": null},
        "number": {"value": 0.5, "variant": "half", "reason": "TARGETING_MATCH", "errorCode": null},
        "object": {"value": {"mode": "dark", "contrast": 2}, "variant": "dark", "reason": "TARGETING_MATCH", "errorCode": null},
    })
}

fn run_check(program: PathBuf, script: &str, edge: &Edge, key: &str, install_hint: &str) -> Value {
    let output = Command::new(&program)
        .arg(script)
        .env("EDGE_URL", format!("http://{}", edge.address))
        .env("SDK_KEY", key)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}; {install_hint}", program.display()));
    assert!(
        output.status.success(),
        "{}: {}",
        script,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stdout)))
}

fn assert_results(results: &Value) {
    let expected = expected();
    for kind in ["boolean", "string", "number", "object"] {
        assert_eq!(results[kind], expected[kind], "{kind}: {results}");
    }
    // An unknown flag gives the application its code default and FLAG_NOT_FOUND.
    assert_eq!(results["missing"]["value"], true);
    assert_eq!(
        results["missing"]["errorCode"], "FLAG_NOT_FOUND",
        "{results}"
    );
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn openfeatures_node_sdk_evaluates_against_the_edge(db: PgPool) {
    let control_plane = ControlPlane::start(db).await;
    configure(&control_plane).await;
    let (key, _) = control_plane.sdk_key("production").await;
    let edge = Edge::start(&control_plane.url(), None).await;
    edge.wait_ready().await;
    let dir = interop_dir().join("node");
    assert!(
        dir.join("node_modules").exists(),
        "run `npm ci` in {} (./scripts/test does)",
        dir.display()
    );
    let script = dir.join("check.mjs");
    let results = tokio::task::spawn_blocking(move || {
        run_check(
            "node".into(),
            script.to_str().unwrap(),
            &edge,
            &key,
            "install Node.js",
        )
    })
    .await
    .unwrap();
    assert_results(&results);
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn openfeatures_python_sdk_evaluates_against_the_edge(db: PgPool) {
    let control_plane = ControlPlane::start(db).await;
    configure(&control_plane).await;
    let (key, _) = control_plane.sdk_key("production").await;
    let edge = Edge::start(&control_plane.url(), None).await;
    edge.wait_ready().await;
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/interop-venv/bin/python");
    let script = interop_dir().join("python/check.py");
    let results = tokio::task::spawn_blocking(move || {
        run_check(
            venv,
            script.to_str().unwrap(),
            &edge,
            &key,
            "./scripts/test creates target/interop-venv",
        )
    })
    .await
    .unwrap();
    assert_results(&results);
}
