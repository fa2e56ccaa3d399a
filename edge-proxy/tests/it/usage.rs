//! Evaluation counts, from every way an edge serves a flag to the control plane's
//! insights: exact, never counted twice, through outages, restarts and chains.

use std::time::{Duration, Instant};

use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::support::{ControlPlane, EDGE_TOKEN, Edge};

const FAST: &[&str] = &["--usage-interval", "200ms"];

/// `checkout`'s counts in one environment as the insights API reports them:
/// `(variant, count)` sorted.
async fn counted(control_plane: &ControlPlane, environment: &str) -> Vec<(Value, i64)> {
    let usage = control_plane
        .get(&format!(
            "/api/v1/projects/shop/flags/checkout/usage?environment={environment}&step=minute"
        ))
        .await;
    let mut counts: Vec<(Value, i64)> = usage["environments"][0]["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["variant"].clone(), c["count"].as_i64().unwrap()))
        .collect();
    counts.sort_by_key(|(variant, _)| variant.to_string());
    counts
}

/// Waits until the counts are `expected`, then a while longer to see they stay so.
async fn assert_counted(
    control_plane: &ControlPlane,
    environment: &str,
    expected: &[(Value, i64)],
) {
    let mut expected = expected.to_vec();
    expected.sort_by_key(|(variant, _)| variant.to_string());
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let now = counted(control_plane, environment).await;
        if now == expected {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "counted {now:?}, expected {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Several more reporting rounds: nothing arrives twice.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(counted(control_plane, environment).await, expected);
}

async fn evaluate_times(edge: &Edge, key: &str, times: usize) {
    for _ in 0..times {
        let (status, _, _) = edge
            .evaluate(key, "shop/production/checkout", json!({}))
            .await;
        assert_eq!(status, StatusCode::OK);
    }
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn every_way_of_serving_a_flag_is_counted_exactly_once(db: PgPool) {
    let control_plane = ControlPlane::start(db).await;
    let (key, _) = control_plane.sdk_key("production").await;
    let edge = Edge::start_with(&control_plane.url(), None, FAST).await;
    edge.wait_ready().await;
    let url = |path: &str| format!("http://{}{path}", edge.address);

    // Off in production: every answer is the default value, variant null.
    evaluate_times(&edge, &key, 3).await;
    for _ in 0..2 {
        let (status, _, _) = edge.evaluate(&key, "shop/production", json!({})).await;
        assert_eq!(status, StatusCode::OK);
    }
    for path in [
        "/ofrep/v1/evaluate/flags/checkout",
        "/ofrep/v1/evaluate/flags",
    ] {
        let response = edge
            .http
            .post(url(path))
            .bearer_auth(&key)
            .json(&json!({"context": {"targetingKey": "u1"}}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
    // A stream: its `flags` event, then a patch once the flag is turned on.
    let response = edge
        .http
        .get(url(&format!(
            "/api/v1/stream/shop/production?sdk_key={key}"
        )))
        .send()
        .await
        .unwrap();
    let mut events = response.bytes_stream().eventsource();
    let first = events.next().await.unwrap().unwrap();
    assert_eq!(first.event, "flags");
    control_plane.toggle("production", true).await;
    let patch = loop {
        let event = tokio::time::timeout(Duration::from_secs(10), events.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if event.event == "patch" {
            break event;
        }
    };
    drop(events);
    let patched: Value = serde_json::from_str(&patch.data).unwrap();
    let on_variant = patched["flags"]["checkout"]["variant"].clone();
    assert!(on_variant.is_string(), "{patched}");

    // An SDK's own reads; what the key cannot see is ignored, not stored.
    let reported = edge
        .http
        .post(url(&format!("/api/v1/usage/shop/production?sdk_key={key}")))
        .header("content-type", "text/plain")
        .body(
            json!({"counts": [
                {"flag": "checkout", "variant": on_variant, "count": 5},
                {"flag": "checkout", "variant": null, "count": 2},
                {"flag": "no-such-flag", "variant": "on", "count": 9},
                {"flag": "checkout", "variant": "purple", "count": 9}
            ]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(reported.status(), StatusCode::ACCEPTED);
    assert_eq!(
        reported.json::<Value>().await.unwrap(),
        json!({"accepted": 2, "ignored": 2})
    );

    // 3 one-flag + 2 all-flags + 2 OFREP + 1 `flags` event + 2 reported, off; the patch
    // and 5 reported, on.
    assert_counted(
        &control_plane,
        "production",
        &[(json!(null), 10), (on_variant, 6)],
    )
    .await;
    assert_eq!(counted(&control_plane, "staging").await, vec![]);
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn bad_reports_from_sdks_are_refused_clearly(db: PgPool) {
    let control_plane = ControlPlane::start(db).await;
    let (key, _) = control_plane.sdk_key("production").await;
    let edge = Edge::start_with(&control_plane.url(), None, FAST).await;
    edge.wait_ready().await;
    let post = |path: &str, key: Option<&str>, body: String| {
        let mut request = edge
            .http
            .post(format!("http://{}{path}", edge.address))
            .body(body);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        request.send()
    };
    let cases = [
        (
            "/api/v1/usage/shop/production",
            None,
            json!({"counts": []}).to_string(),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "/api/v1/usage/shop/staging",
            Some(key.as_str()),
            json!({"counts": []}).to_string(),
            StatusCode::FORBIDDEN,
        ),
        (
            "/api/v1/usage/shop/production",
            Some(key.as_str()),
            "{not json".into(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/usage/shop/production",
            Some(key.as_str()),
            json!({"counts": [{"flag": "checkout", "variant": null, "count": 2_000_000}]})
                .to_string(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/usage/shop/production",
            Some(key.as_str()),
            json!({"counts": vec![json!({"flag": "checkout", "variant": null, "count": 1}); 1001]})
                .to_string(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/usage/shop/production",
            Some(key.as_str()),
            "x".repeat(100_000),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
    ];
    for (path, key, body, expected) in cases {
        let response = post(path, key, body).await.unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, expected, "{body}");
        assert!(body["error"]["code"].is_string(), "{body}");
    }
    // Downstream reports need the edge token, and a well-formed report.
    let response = edge
        .http
        .post(format!("http://{}/api/v1/edge/usage", edge.address))
        .bearer_auth(&key)
        .json(&json!({"edge": "e", "seq": 1, "counts": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = edge
        .http
        .post(format!("http://{}/api/v1/edge/usage", edge.address))
        .bearer_auth(EDGE_TOKEN)
        .json(
            &json!({"edge": "e", "seq": 1, "counts": [{"minute": 61, "project": "shop",
            "environment": "production", "flag": "checkout", "variant": null, "count": 1}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn counts_survive_an_upstream_outage_and_an_edge_restart(db: PgPool) {
    let mut control_plane = ControlPlane::start(db.clone()).await;
    let (key, _) = control_plane.sdk_key("production").await;
    let cache = tempfile::tempdir().unwrap();
    let (edge, stopper) =
        Edge::start_stoppable(&control_plane.url(), Some(cache.path().to_owned()), FAST).await;
    edge.wait_ready().await;
    evaluate_times(&edge, &key, 3).await;
    assert_counted(&control_plane, "production", &[(json!(null), 3)]).await;

    // Upstream goes away; the edge keeps serving and counting, and stops with its
    // counts unsent.
    let address = control_plane.address;
    control_plane.stop();
    tokio::time::sleep(Duration::from_millis(300)).await;
    evaluate_times(&edge, &key, 4).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    stopper.stop().await;
    assert!(cache.path().join("usage-outbox.json").exists());

    // Both come back; the restarted edge sends what the last run could not, and counts
    // on.
    let (_, _stop) = ControlPlane::replica_at(db, address).await;
    let edge = Edge::start_with(&control_plane.url(), Some(cache.path().to_owned()), FAST).await;
    edge.wait_ready().await;
    evaluate_times(&edge, &key, 2).await;
    assert_counted(&control_plane, "production", &[(json!(null), 9)]).await;
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn a_chained_edges_counts_reach_the_control_plane_once(db: PgPool) {
    let control_plane = ControlPlane::start(db).await;
    let (key, _) = control_plane.sdk_key("production").await;
    let region = Edge::start_with(&control_plane.url(), None, FAST).await;
    region.wait_ready().await;
    let node = Edge::start_with(&format!("http://{}", region.address), None, FAST).await;
    node.wait_ready().await;
    evaluate_times(&node, &key, 4).await;
    evaluate_times(&region, &key, 1).await;
    assert_counted(&control_plane, "production", &[(json!(null), 5)]).await;
}
