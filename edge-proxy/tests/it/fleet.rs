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
    let control_plane = ControlPlane::start(db.clone()).await;
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

    // The node stops; a minute later it shows as gone, and the region as live.
    let node_id = find(&seen, &format!("http://{}", region.address))["id"].clone();
    stopper.stop().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    sqlx::query("UPDATE fleet_edges SET last_seen_at = now() - interval '2 minutes' WHERE id = $1")
        .bind(node_id.as_str().unwrap())
        .execute(&db)
        .await
        .unwrap();
    let seen = edges(&control_plane).await;
    let node_now = seen.iter().find(|e| e["id"] == node_id).unwrap();
    assert_eq!(node_now["state"], "gone");
    assert_eq!(find(&seen, &control_plane.url())["state"], "live");
}
