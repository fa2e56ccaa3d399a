use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;

use crate::support::{ControlPlane, Edge};

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn the_edge_keeps_serving_when_upstream_dies_and_restarts_from_its_cache(db: PgPool) {
    let mut control_plane = ControlPlane::start(db).await;
    control_plane.toggle("production", true).await;
    let (key, _) = control_plane.sdk_key("production").await;
    let cache = tempfile::tempdir().unwrap();
    let edge = Edge::start(&control_plane.url(), Some(cache.path().to_owned())).await;
    edge.wait_ready().await;
    edge.wait_for_reason(&key, "production", "DEFAULT").await;
    assert!(
        cache.path().join("snapshot.json").exists(),
        "the snapshot was persisted"
    );

    control_plane.stop();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (status, _, body) = edge
        .evaluate(&key, "shop/production/checkout", json!({}))
        .await;
    assert_eq!(
        (status, &body["reason"]),
        (StatusCode::OK, &json!("DEFAULT")),
        "still serving with upstream gone"
    );

    // A new edge with the same cache serves at once, with nobody upstream at all.
    let restarted = Edge::start("http://127.0.0.1:1", Some(cache.path().to_owned())).await;
    assert_eq!(restarted.ready_status().await, StatusCode::OK);
    let (status, _, body) = restarted
        .evaluate(&key, "shop/production/checkout", json!({}))
        .await;
    assert_eq!(
        (status, &body["reason"]),
        (StatusCode::OK, &json!("DEFAULT"))
    );
}

#[tokio::test]
async fn without_a_snapshot_the_edge_is_not_ready() {
    let edge = Edge::start("http://127.0.0.1:1", None).await;
    assert_eq!(edge.ready_status().await, StatusCode::SERVICE_UNAVAILABLE);
    let (status, _, body) = edge
        .evaluate("sdk_0123", "shop/production", json!({}))
        .await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (StatusCode::SERVICE_UNAVAILABLE, &json!("not_ready"))
    );
    let health = edge
        .http
        .get(format!("http://{}/healthz", edge.address))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
}
