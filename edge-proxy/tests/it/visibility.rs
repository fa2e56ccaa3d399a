//! Client keys see only client-visible flags, on every path; server keys see them all.

use std::time::{Duration, Instant};

use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::support::{ControlPlane, Edge};

async fn key(control_plane: &ControlPlane, kind: &str) -> String {
    let created = control_plane
        .call(
            "POST",
            "/api/v1/projects/shop/environments/production/sdk-keys",
            json!({"name": kind, "kind": kind}),
        )
        .await;
    created["key"].as_str().unwrap().to_owned()
}

async fn post(edge: &Edge, key: &str, path: &str, body: Value) -> (StatusCode, Value) {
    let response = edge
        .http
        .post(format!("http://{}{path}", edge.address))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .unwrap();
    (
        response.status(),
        response.json().await.unwrap_or(Value::Null),
    )
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn flags_hidden_from_clients_do_not_exist_for_client_keys(db: PgPool) {
    let control_plane = ControlPlane::start(db).await;
    let created = control_plane
        .call(
            "POST",
            "/api/v1/projects/shop/flags",
            json!({"key": "internal-pricing", "name": "Pricing", "type": "boolean", "default_value": false, "client_visible": false}),
        )
        .await;
    assert_eq!(created["client_visible"], false);
    let client = key(&control_plane, "client").await;
    let server = key(&control_plane, "server").await;
    let edge = Edge::start(&control_plane.url(), None).await;
    edge.wait_ready().await;
    let deadline = Instant::now() + Duration::from_secs(15);
    while post(
        &edge,
        &server,
        "/api/v1/evaluate/shop/production/internal-pricing",
        json!({}),
    )
    .await
    .0 != StatusCode::OK
    {
        assert!(
            Instant::now() < deadline,
            "the new flag never reached the edge"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Server keys: everything.
    let (_, all) = post(
        &edge,
        &server,
        "/api/v1/evaluate/shop/production",
        json!({}),
    )
    .await;
    assert!(all["flags"]["internal-pricing"].is_object(), "{all}");
    let (_, bulk) = post(
        &edge,
        &server,
        "/ofrep/v1/evaluate/flags",
        json!({"context": {}}),
    )
    .await;
    assert!(bulk.to_string().contains("internal-pricing"));

    // Client keys: it does not exist, on every path.
    let (_, all) = post(
        &edge,
        &client,
        "/api/v1/evaluate/shop/production",
        json!({}),
    )
    .await;
    assert!(all["flags"]["checkout"].is_object(), "{all}");
    assert!(all["flags"].get("internal-pricing").is_none(), "{all}");
    let (status, one) = post(
        &edge,
        &client,
        "/api/v1/evaluate/shop/production/internal-pricing",
        json!({}),
    )
    .await;
    assert_eq!(
        (status, &one["error"]["code"]),
        (StatusCode::NOT_FOUND, &json!("flag_not_found"))
    );
    let (status, one) = post(
        &edge,
        &client,
        "/ofrep/v1/evaluate/flags/internal-pricing",
        json!({"context": {}}),
    )
    .await;
    assert_eq!(
        (status, &one["errorCode"]),
        (StatusCode::NOT_FOUND, &json!("FLAG_NOT_FOUND"))
    );
    let (_, bulk) = post(
        &edge,
        &client,
        "/ofrep/v1/evaluate/flags",
        json!({"context": {}}),
    )
    .await;
    assert!(!bulk.to_string().contains("internal-pricing"), "{bulk}");

    // A client key's stream: absent, then added when shown, then removed when hidden.
    let response = edge
        .http
        .post(format!(
            "http://{}/api/v1/stream/shop/production",
            edge.address
        ))
        .bearer_auth(&client)
        .json(&json!({"context": {"user_id": "u1"}}))
        .send()
        .await
        .unwrap();
    let mut events = Box::pin(response.bytes_stream().eventsource());
    let mut next = async || -> Value {
        let event = tokio::time::timeout(Duration::from_secs(10), events.next())
            .await
            .expect("an event within 10 s")
            .unwrap()
            .unwrap();
        serde_json::from_str(&event.data).unwrap()
    };
    let first = next().await;
    assert!(first["flags"].get("internal-pricing").is_none(), "{first}");
    let edit = |visible: bool| json!({"name": "Pricing", "default_value": false, "client_visible": visible});
    control_plane
        .call(
            "PUT",
            "/api/v1/projects/shop/flags/internal-pricing",
            edit(true),
        )
        .await;
    let shown = next().await;
    assert!(shown["flags"]["internal-pricing"].is_object(), "{shown}");
    control_plane
        .call(
            "PUT",
            "/api/v1/projects/shop/flags/internal-pricing",
            edit(false),
        )
        .await;
    let hidden = next().await;
    assert_eq!(hidden["removed"], json!(["internal-pricing"]), "{hidden}");
}
