use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use eventsource_stream::{Event, Eventsource};
use futures_util::{Stream, StreamExt};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::support::{ControlPlane, Edge, sample};

type Events = std::pin::Pin<
    Box<
        dyn Stream<Item = Result<Event, eventsource_stream::EventStreamError<reqwest::Error>>>
            + Send,
    >,
>;

async fn next(events: &mut Events) -> Option<Event> {
    tokio::time::timeout(Duration::from_secs(10), events.next())
        .await
        .expect("an event or the end within 10 s")
        .map(|e| e.expect("a well-formed event"))
}

async fn open(edge: &Edge, path: &str) -> (StatusCode, Option<Events>) {
    let response = reqwest::get(format!("http://{}{path}", edge.address))
        .await
        .unwrap();
    let status = response.status();
    (
        status,
        (status == StatusCode::OK)
            .then(|| Box::pin(response.bytes_stream().eventsource()) as Events),
    )
}

fn encoded(context: Value) -> String {
    URL_SAFE_NO_PAD.encode(context.to_string())
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn sdk_streams_get_the_flags_then_patches_for_what_changed(db: PgPool) {
    let control_plane = ControlPlane::start(db).await;
    control_plane
        .call(
            "POST",
            "/api/v1/projects/shop/flags",
            json!({"key": "banner", "name": "Banner", "type": "string", "default_value": "none"}),
        )
        .await;
    let (key, _) = control_plane.sdk_key("production").await;
    let edge = Edge::start(&control_plane.url(), None).await;
    edge.wait_ready().await;

    let context = encoded(json!({"user_id": "u1", "attributes": {"plan": "pro"}}));
    let (status, events) = open(
        &edge,
        &format!("/api/v1/stream/shop/production?context={context}&sdk_key={key}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let mut events = events.unwrap();
    let first = next(&mut events).await.unwrap();
    assert_eq!(first.event, "flags");
    let flags: Value = serde_json::from_str(&first.data).unwrap();
    assert_eq!(
        flags["flags"]["checkout"],
        json!({"value": false, "variant": null, "reason": "DISABLED"})
    );
    assert_eq!(flags["flags"]["banner"]["value"], "none");
    assert_eq!(first.id, flags["revision"].to_string());

    let started = Instant::now();
    control_plane.toggle("production", true).await;
    let patch = next(&mut events).await.unwrap();
    eprintln!("toggle reached the SDK stream in {:?}", started.elapsed());
    assert_eq!(patch.event, "patch");
    let data: Value = serde_json::from_str(&patch.data).unwrap();
    // Only what changed for this client: checkout, not banner.
    assert_eq!(
        data["flags"],
        json!({"checkout": {"value": false, "variant": "off", "reason": "DEFAULT"}})
    );
    assert_eq!(data["removed"], json!([]));
    assert_eq!(patch.id, data["revision"].to_string());

    control_plane
        .call(
            "POST",
            "/api/v1/projects/shop/flags/banner/archive",
            json!({}),
        )
        .await;
    let removal = next(&mut events).await.unwrap();
    let data: Value = serde_json::from_str(&removal.data).unwrap();
    assert_eq!(data["removed"], json!(["banner"]));
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn fetch_clients_post_their_context_and_revoked_keys_are_cut_off(db: PgPool) {
    let control_plane = ControlPlane::start(db).await;
    let (key, key_id) = control_plane.sdk_key("staging").await;
    let edge = Edge::start(&control_plane.url(), None).await;
    edge.wait_ready().await;

    let response = edge
        .http
        .post(format!(
            "http://{}/api/v1/stream/shop/staging",
            edge.address
        ))
        .bearer_auth(&key)
        .json(&json!({"context": {"user_id": "u1"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut events: Events = Box::pin(response.bytes_stream().eventsource());
    assert_eq!(next(&mut events).await.unwrap().event, "flags");

    control_plane
        .call(
            "DELETE",
            &format!("/api/v1/projects/shop/environments/staging/sdk-keys/{key_id}"),
            json!({}),
        )
        .await;
    assert!(
        next(&mut events).await.is_none(),
        "the stream of a revoked key ends"
    );
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn one_key_cannot_take_every_stream_and_ofrep_streams_count(db: PgPool) {
    let control_plane = ControlPlane::start(db).await;
    let (busy, _) = control_plane.sdk_key("production").await;
    let (other, _) = control_plane.sdk_key("production").await;
    let edge = Edge::start_with(
        &control_plane.url(),
        None,
        &["--max-sse-clients", "3", "--max-sse-clients-per-key", "2"],
    )
    .await;
    edge.wait_ready().await;
    let sdk = |key: &str| format!("/api/v1/stream/shop/production?sdk_key={key}");
    let ofrep = |key: &str| format!("/ofrep/v1/stream?sdk_key={key}");

    let (status, _a1) = open(&edge, &sdk(&busy)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, a2) = open(&edge, &ofrep(&busy)).await;
    assert_eq!(status, StatusCode::OK);
    let refused = reqwest::get(format!("http://{}{}", edge.address, sdk(&busy)))
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_many_streams");
    // Another key still gets in, until the edge itself is full, OFREP streams included.
    let (status, _b1) = open(&edge, &ofrep(&other)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        open(&edge, &sdk(&other)).await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert!(
        edge.metrics()
            .await
            .contains("togglerino_edge_sse_clients 3")
    );
    drop(a2);
    let deadline = Instant::now() + Duration::from_secs(10);
    while open(&edge, &sdk(&other)).await.0 != StatusCode::OK {
        assert!(
            Instant::now() < deadline,
            "the OFREP stream's place never came back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn streams_refuse_bad_keys_bad_contexts_and_too_many_clients(db: PgPool) {
    let control_plane = ControlPlane::start(db).await;
    let (production, _) = control_plane.sdk_key("production").await;
    let (staging, _) = control_plane.sdk_key("staging").await;
    let edge = Edge::start_with(&control_plane.url(), None, &["--max-sse-clients", "1"]).await;
    edge.wait_ready().await;

    assert_eq!(
        open(&edge, "/api/v1/stream/shop/production").await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        open(
            &edge,
            &format!("/api/v1/stream/shop/production?sdk_key={staging}")
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    let garbage = open(
        &edge,
        &format!("/api/v1/stream/shop/production?sdk_key={production}&context=%%%"),
    )
    .await;
    assert_eq!(garbage.0, StatusCode::BAD_REQUEST);
    let mistyped = encoded(json!({"user_id": 42}));
    let response = reqwest::get(format!(
        "http://{}/api/v1/stream/shop/production?sdk_key={production}&context={mistyped}",
        edge.address
    ))
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        (&body["error"]["code"], &body["error"]["field"]),
        (&json!("invalid_context"), &json!("user_id"))
    );

    let (status, first) = open(
        &edge,
        &format!("/api/v1/stream/shop/production?sdk_key={production}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = open(
        &edge,
        &format!("/api/v1/stream/shop/production?sdk_key={production}"),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::SERVICE_UNAVAILABLE,
        "over --max-sse-clients"
    );
    drop(first);
    // The slot comes back once the first client is gone.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, _) = open(
            &edge,
            &format!("/api/v1/stream/shop/production?sdk_key={production}"),
        )
        .await;
        if status == StatusCode::OK {
            break;
        }
        assert!(Instant::now() < deadline, "the slot was never released");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn streams_evaluate_every_flag_once_then_only_changed_flags(db: PgPool) {
    let control_plane = ControlPlane::start(db).await;
    for key in ["f1", "f2", "f3"] {
        control_plane
            .call(
                "POST",
                "/api/v1/projects/shop/flags",
                json!({"key": key, "name": key, "type": "boolean", "default_value": false}),
            )
            .await;
    }
    let (key, _) = control_plane.sdk_key("production").await;
    let edge = Edge::start(&control_plane.url(), None).await;
    edge.wait_ready().await;
    let evaluations = |text: String| {
        sample(&text, "togglerino_edge_evaluations_total ")
            .unwrap()
            .parse::<u64>()
            .unwrap()
    };

    let same = encoded(json!({"user_id": "u1", "attributes": {"plan": "pro"}}));
    let other = encoded(json!({"user_id": "u2"}));
    let mut streams = Vec::new();
    for context in [&same, &same, &same, &other] {
        let (status, events) = open(
            &edge,
            &format!("/api/v1/stream/shop/production?context={context}&sdk_key={key}"),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let mut events = events.unwrap();
        assert_eq!(next(&mut events).await.unwrap().event, "flags");
        streams.push(events);
    }
    // Four streams, four flags each.
    assert_eq!(evaluations(edge.metrics().await), 16);

    control_plane.toggle("production", true).await;
    for events in &mut streams {
        let patch = next(events).await.unwrap();
        let data: Value = serde_json::from_str(&patch.data).unwrap();
        assert_eq!(
            data["flags"]
                .as_object()
                .unwrap()
                .keys()
                .collect::<Vec<_>>(),
            ["checkout"]
        );
    }
    // One changed flag, evaluated once more per stream.
    assert_eq!(evaluations(edge.metrics().await), 20);
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn a_change_reaches_the_streams_of_its_environment_and_no_other(db: PgPool) {
    let control_plane = ControlPlane::start(db).await;
    let (production_key, _) = control_plane.sdk_key("production").await;
    let (staging_key, _) = control_plane.sdk_key("staging").await;
    let edge = Edge::start(&control_plane.url(), None).await;
    edge.wait_ready().await;

    let context = encoded(json!({"user_id": "u1"}));
    let mut streams = Vec::new();
    for (environment, key) in [("production", &production_key), ("staging", &staging_key)] {
        let (status, events) = open(
            &edge,
            &format!("/api/v1/stream/shop/{environment}?context={context}&sdk_key={key}"),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let mut events = events.unwrap();
        assert_eq!(next(&mut events).await.unwrap().event, "flags");
        streams.push(events);
    }
    let [production, staging] = &mut streams[..] else {
        unreachable!()
    };

    control_plane.toggle("production", true).await;
    let patch = next(production).await.unwrap();
    assert_eq!(patch.event, "patch");
    let quiet = tokio::time::timeout(Duration::from_secs(1), staging.next()).await;
    assert!(
        quiet.is_err(),
        "staging heard of production's change: {quiet:?}"
    );

    control_plane.toggle("staging", true).await;
    assert_eq!(next(staging).await.unwrap().event, "patch");
    let quiet = tokio::time::timeout(Duration::from_secs(1), production.next()).await;
    assert!(
        quiet.is_err(),
        "production heard of staging's change: {quiet:?}"
    );
}
