//! The fleet as the control plane sees it: every edge, its chain, the revision it serves
//! per environment and how far behind that is, and edges that stopped as gone.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sqlx::PgPool;

use crate::support::{ControlPlane, Edge};

const FAST: &[&str] = &["--heartbeat-interval", "200ms"];

async fn edges(control_plane: &ControlPlane) -> Vec<Value> {
    let body = control_plane.get("/api/v1/edges").await;
    body["edges"].as_array().unwrap().clone()
}

async fn until(
    control_plane: &ControlPlane,
    what: &str,
    check: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let now = edges(control_plane).await;
        if check(&now) {
            return now;
        }
        assert!(Instant::now() < deadline, "{what}: {now:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn production(edge: &Value) -> &Value {
    edge["environments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["environment"] == "production")
        .unwrap()
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn every_edge_of_a_chain_reports_where_it_stands(db: PgPool) {
    // Gone after two silent seconds, rather than a minute.
    let settings = togglerino_control_plane::Settings {
        edge_gone_after_seconds: 2,
        ..Default::default()
    };
    let control_plane = ControlPlane::start_with(db, settings).await;
    let region = Edge::start_with(&control_plane.url(), None, FAST).await;
    region.wait_ready().await;
    let (node, stopper) =
        Edge::start_stoppable(&format!("http://{}", region.address), None, FAST).await;
    node.wait_ready().await;

    let seen = until(
        &control_plane,
        "both edges, with their environments",
        |edges| {
            edges.len() == 2
                && edges
                    .iter()
                    .all(|e| e["environments"].as_array().unwrap().len() == 3)
        },
    )
    .await;
    let find = |edges: &[Value], upstream: &str| {
        edges
            .iter()
            .find(|e| e["upstream"] == upstream)
            .unwrap()
            .clone()
    };
    let region_seen = find(&seen, &control_plane.url());
    let node_seen = find(&seen, &format!("http://{}", region.address));
    assert_eq!(region_seen["via"], Value::Null);
    assert_eq!(
        node_seen["via"], region_seen["id"],
        "the node follows the region"
    );
    for edge in [&region_seen, &node_seen] {
        assert_eq!(edge["state"], "live");
        assert_eq!(edge["behind"], 0);
        assert_eq!(edge["version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(edge["sync_error"], Value::Null);
    }
    let before = production(&node_seen)["revision"].as_u64().unwrap();

    // A toggle: both apply the next revision, and say when.
    let toggled = std::time::SystemTime::now();
    control_plane.toggle("production", true).await;
    let seen = until(&control_plane, "the new revision everywhere", |edges| {
        edges.len() == 2
            && edges
                .iter()
                .all(|e| production(e)["revision"].as_u64() == Some(before + 1) && e["behind"] == 0)
    })
    .await;
    for edge in &seen {
        let applied = time::OffsetDateTime::parse(
            production(edge)["applied_at"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap();
        let toggled = time::OffsetDateTime::from(toggled);
        assert!(
            applied >= toggled - time::Duration::seconds(1),
            "{applied} vs {toggled}"
        );
        assert_eq!(production(edge)["current_revision"], json!(before + 1));
    }

    // The toggle's receipt: both edges have it, the node through the region.
    let receipt = latest_receipt(&control_plane, |r| r["reached"] == 2).await;
    assert_eq!(receipt["edges"], 2);
    let environment = &receipt["environments"][0];
    assert_eq!(environment["environment"], "production");
    assert_eq!(environment["revision"], json!(before + 1));
    assert_eq!(environment["reached"].as_array().unwrap().len(), 2);
    assert_eq!(environment["waiting"], json!([]));
    assert!(
        receipt["slowest_ms"].as_i64().unwrap() < 10_000,
        "{receipt}"
    );

    // The node stops; once silent for longer than the setting it shows as gone, though
    // the region still passes on what it last heard from it, and the region stays live.
    let node_id = find(&seen, &format!("http://{}", region.address))["id"].clone();
    stopper.stop().await;
    let seen = until(&control_plane, "the node gone", |edges| {
        edges
            .iter()
            .any(|e| e["id"] == node_id && e["state"] == "gone")
    })
    .await;
    assert_eq!(find(&seen, &control_plane.url())["state"], "live");

    // A change made now reaches the region, and says the node has not got it.
    control_plane.toggle("production", false).await;
    let receipt = latest_receipt(&control_plane, |r| r["reached"] == 1).await;
    assert_eq!(receipt["edges"], 2);
    let waiting = &receipt["environments"][0]["waiting"];
    assert_eq!(waiting.as_array().unwrap().len(), 1, "{receipt}");
    assert_eq!(waiting[0]["edge"], node_id);
    assert_eq!(waiting[0]["state"], "gone");
}

/// The receipt of the project's latest audit entry, once `done` holds.
async fn latest_receipt(control_plane: &ControlPlane, done: impl Fn(&Value) -> bool) -> Value {
    let entries = control_plane
        .get("/api/v1/projects/shop/audit-log?limit=1")
        .await;
    let id = entries["entries"][0]["id"].as_i64().unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let receipt = control_plane
            .get(&format!("/api/v1/audit-log/{id}/receipt"))
            .await;
        if done(&receipt) {
            return receipt;
        }
        assert!(Instant::now() < deadline, "{receipt:#}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
