use std::time::Duration;

use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::support::{ControlPlane, Edge};

async fn ofrep(
    edge: &Edge,
    key: &str,
    path: &str,
    body: &str,
    etag: Option<&str>,
) -> (StatusCode, Option<String>, Value) {
    let mut request = edge
        .http
        .post(format!("http://{}/ofrep/v1/evaluate/{path}", edge.address))
        .header("x-api-key", key)
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(etag) = etag {
        request = request.header("if-none-match", etag);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    if status != StatusCode::NOT_MODIFIED {
        assert_eq!(response.headers()["content-type"], "application/json");
    }
    let etag = response
        .headers()
        .get("etag")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, etag, response.json().await.unwrap_or(Value::Null))
}

async fn configure(control_plane: &ControlPlane) {
    control_plane
        .call(
            "POST",
            "/api/v1/projects/shop/flags",
            json!({"key": "ratio", "name": "Ratio", "type": "number", "default_value": 0}),
        )
        .await;
    control_plane
        .call(
            "PUT",
            "/api/v1/projects/shop/flags/ratio/environments/production",
            json!({
                "enabled": true,
                "variants": [{"key": "full", "value": 1.0}, {"key": "half", "value": 0.5}],
                "default_variant": "full",
                "targeting_rules": [{"conditions": [{"attribute": "plan", "operator": "equals", "value": "free"}], "variant": "half"}],
                "version": 1
            }),
        )
        .await;
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn ofrep_single_flag_evaluation_follows_the_protocol(db: PgPool) {
    let control_plane = ControlPlane::start(db).await;
    configure(&control_plane).await;
    let (key, _) = control_plane.sdk_key("production").await;
    let edge = Edge::start(&control_plane.url(), None).await;
    edge.wait_ready().await;

    let (status, _, body) = ofrep(
        &edge,
        &key,
        "flags/ratio",
        r#"{"context": {"targetingKey": "u1", "plan": "free"}}"#,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["key"], "ratio");
    assert_eq!(
        (&body["value"], &body["variant"], &body["reason"]),
        (&json!(0.5), &json!("half"), &json!("TARGETING_MATCH"))
    );
    assert_eq!(body["metadata"]["togglerinoReason"], "TARGETING_MATCH");

    // Floats keep their decimal point on the wire. Rules evaluated, none served: DEFAULT.
    let raw = edge
        .http
        .post(format!(
            "http://{}/ofrep/v1/evaluate/flags/ratio",
            edge.address
        ))
        .bearer_auth(&key)
        .json(&json!({"context": {"plan": "pro"}}))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(raw.contains(r#""value":1.0"#), "{raw}");
    assert!(
        raw.contains(r#""reason":"DEFAULT""#) && raw.contains(r#""togglerinoReason":"DEFAULT""#),
        "{raw}"
    );

    // A disabled flag still names a variant, and says why in metadata.
    let (_, _, off) = ofrep(
        &edge,
        &key,
        "flags/checkout",
        r#"{"context": {"targetingKey": "u1"}}"#,
        None,
    )
    .await;
    assert_eq!(
        (&off["value"], &off["variant"], &off["reason"]),
        (&json!(false), &json!("_flag_default"), &json!("DISABLED"))
    );

    let (status, _, missing) = ofrep(&edge, &key, "flags/nope", r#"{"context": {}}"#, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        (&missing["key"], &missing["errorCode"]),
        (&json!("nope"), &json!("FLAG_NOT_FOUND"))
    );
    let (status, _, parse) = ofrep(&edge, &key, "flags/ratio", "{oops", None).await;
    assert_eq!(
        (status, &parse["errorCode"], &parse["key"]),
        (
            StatusCode::BAD_REQUEST,
            &json!("PARSE_ERROR"),
            &json!("ratio")
        )
    );
    assert!(parse["errorDetails"].is_string());
    let (status, _, invalid) = ofrep(
        &edge,
        &key,
        "flags/ratio",
        r#"{"context": {"targetingKey": 7}}"#,
        None,
    )
    .await;
    assert_eq!(
        (status, &invalid["errorCode"]),
        (StatusCode::BAD_REQUEST, &json!("INVALID_CONTEXT"))
    );
    let (status, _, _) = ofrep(&edge, "sdk_nope", "flags/ratio", "{}", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn ofrep_bulk_evaluation_caches_and_announces_changes(db: PgPool) {
    let control_plane = ControlPlane::start(db).await;
    configure(&control_plane).await;
    let (key, _) = control_plane.sdk_key("production").await;
    let edge = Edge::start(&control_plane.url(), None).await;
    edge.wait_ready().await;

    let body = r#"{"context": {"targetingKey": "u1", "plan": "free"}}"#;
    let (status, etag, bulk) = ofrep(&edge, &key, "flags", body, None).await;
    assert_eq!(status, StatusCode::OK);
    let flags = bulk["flags"].as_array().unwrap();
    let keys: Vec<&str> = flags.iter().map(|f| f["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["checkout", "ratio"]);
    assert!(
        flags
            .iter()
            .all(|f| f["variant"].is_string() && f["reason"].is_string())
    );
    let etag = etag.expect("an ETag");
    let (status, _, _) = ofrep(&edge, &key, "flags", body, Some(&etag)).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);

    let stream = &bulk["eventStreams"][0];
    assert_eq!(stream["type"], "sse");
    let url = stream["url"].as_str().unwrap();
    assert!(url.contains("sdk_key="), "{url}");
    // Browsers' EventSource sends no headers: the URL alone must do.
    let response = reqwest::get(url).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut events = Box::pin(response.bytes_stream().eventsource());

    control_plane.toggle("production", true).await;
    let event = tokio::time::timeout(Duration::from_secs(10), events.next())
        .await
        .expect("an event")
        .unwrap()
        .unwrap();
    let data: Value = serde_json::from_str(&event.data).unwrap();
    assert_eq!(data["type"], "refetchEvaluation");
    assert!(data["etag"].is_string());
    let (status, _, changed) = ofrep(&edge, &key, "flags", body, Some(&etag)).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the answer changed, so the old ETag no longer matches"
    );
    // A flag with no rules serves the same to everyone: STATIC.
    assert_eq!(changed["flags"][0]["key"], "checkout");
    assert_eq!(changed["flags"][0]["reason"], "STATIC");
}
