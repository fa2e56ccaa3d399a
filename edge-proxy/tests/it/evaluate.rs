use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::support::{ControlPlane, Edge};

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn the_edge_evaluates_what_the_control_plane_configured(db: PgPool) {
    let control_plane = ControlPlane::start(db).await;
    control_plane
        .call(
            "PUT",
            "/api/v1/projects/shop/flags/checkout/environments/production",
            json!({
                "enabled": true,
                "variants": [{"key": "on", "value": true}, {"key": "off", "value": false}],
                "default_variant": "off",
                "targeting_rules": [{"conditions": [{"attribute": "plan", "operator": "equals", "value": "pro"}], "variant": "on"}],
                "version": 1
            }),
        )
        .await;
    let (key, _) = control_plane.sdk_key("production").await;
    let edge = Edge::start(&control_plane.url(), None).await;
    edge.wait_ready().await;

    let (status, revision, body) = edge
        .evaluate(
            &key,
            "shop/production",
            json!({"context": {"user_id": "u1", "attributes": {"plan": "pro"}}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["flags"]["checkout"],
        json!({"value": true, "variant": "on", "reason": "TARGETING_MATCH"})
    );
    let revision = revision.expect("X-Togglerino-Revision");
    assert_eq!(body["revision"].to_string(), revision);

    let (status, header, one) = edge
        .evaluate(
            &key,
            "shop/production/checkout",
            json!({"context": {"user_id": "u2", "attributes": {"plan": "free"}}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header.as_deref(), Some(revision.as_str()));
    assert_eq!(
        one,
        json!({"value": false, "variant": "off", "reason": "DEFAULT"})
    );

    // Archived flags leave the bulk answer.
    control_plane
        .call(
            "POST",
            "/api/v1/projects/shop/flags/checkout/archive",
            json!({}),
        )
        .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let (_, _, body) = edge.evaluate(&key, "shop/production", json!({})).await;
        if body["flags"].as_object().unwrap().is_empty() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{body}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn a_toggle_reaches_the_edge_through_the_change_stream(db: PgPool) {
    let control_plane = ControlPlane::start(db).await;
    let (key, _) = control_plane.sdk_key("staging").await;
    // The poll interval is a minute: only the stream can make this quick.
    let edge = Edge::start(&control_plane.url(), None).await;
    edge.wait_ready().await;
    edge.wait_for_reason(&key, "staging", "DISABLED").await;
    control_plane.toggle("staging", true).await;
    let took = edge.wait_for_reason(&key, "staging", "DEFAULT").await;
    // Measured, not asserted tightly: a stream-driven update is far below the poll.
    eprintln!("toggle reached the edge in {took:?}");
    assert!(took < std::time::Duration::from_secs(15));
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn polling_clients_get_304_until_their_answer_can_change(db: PgPool) {
    let control_plane = ControlPlane::start(db).await;
    let (key, _) = control_plane.sdk_key("staging").await;
    let edge = Edge::start(&control_plane.url(), None).await;
    edge.wait_ready().await;
    let url = format!("http://{}/api/v1/evaluate/shop/staging", edge.address);
    let poll = |context: Value, etag: Option<String>| {
        let mut request = edge
            .http
            .post(&url)
            .bearer_auth(&key)
            .json(&json!({"context": context}));
        if let Some(etag) = etag {
            request = request.header("if-none-match", etag);
        }
        async move {
            let response = request.send().await.unwrap();
            let etag = response
                .headers()
                .get("etag")
                .map(|v| v.to_str().unwrap().to_owned());
            (response.status(), etag, response.text().await.unwrap())
        }
    };

    let (status, etag, body) = poll(json!({"user_id": "u1"}), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let plain = edge.http.post(&url).bearer_auth(&key).send().await.unwrap();
    assert_eq!(plain.headers()["x-content-type-options"], "nosniff");
    assert_eq!(plain.headers()["x-frame-options"], "DENY");
    let etag = etag.expect("an ETag on the all-flags answer");
    let (status, again, body) = poll(json!({"user_id": "u1"}), Some(etag.clone())).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert_eq!(again.as_deref(), Some(etag.as_str()));
    assert!(body.is_empty());

    // Another user's answer is another representation.
    let (status, other, _) = poll(json!({"user_id": "u2"}), Some(etag.clone())).await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(other.as_deref(), Some(etag.as_str()));

    // A new version of the environment changes the validator.
    control_plane.toggle("staging", true).await;
    edge.wait_for_reason(&key, "staging", "DEFAULT").await;
    let (status, fresh, body) = poll(json!({"user_id": "u1"}), Some(etag.clone())).await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(fresh, Some(etag));
    assert!(body.contains("\"DEFAULT\""), "{body}");
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn sdk_keys_are_checked_and_scoped(db: PgPool) {
    let control_plane = ControlPlane::start(db).await;
    let (production, production_id) = control_plane.sdk_key("production").await;
    let (staging, _) = control_plane.sdk_key("staging").await;
    let edge = Edge::start(&control_plane.url(), None).await;
    edge.wait_ready().await;

    let (status, _, body) = edge
        .evaluate(
            "sdk_00000000000000000000000000000000",
            "shop/production",
            json!({}),
        )
        .await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (StatusCode::UNAUTHORIZED, &json!("unauthenticated"))
    );
    let (status, _, body) = edge.evaluate(&staging, "shop/production", json!({})).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (StatusCode::FORBIDDEN, &json!("forbidden"))
    );
    let (status, _, _) = edge
        .evaluate(&production, "other/production", json!({}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let via_header = edge
        .http
        .post(format!(
            "http://{}/api/v1/evaluate/shop/production",
            edge.address
        ))
        .header("x-api-key", &production)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(via_header.status(), StatusCode::OK);

    // Revocation takes effect with the next snapshot.
    control_plane
        .call(
            "DELETE",
            &format!("/api/v1/projects/shop/environments/production/sdk-keys/{production_id}"),
            json!({}),
        )
        .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while edge
        .evaluate(&production, "shop/production", json!({}))
        .await
        .0
        != StatusCode::UNAUTHORIZED
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the revoked key still works"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn bad_requests_get_clear_errors(db: PgPool) {
    let control_plane = ControlPlane::start(db).await;
    let (key, _) = control_plane.sdk_key("production").await;
    let edge = Edge::start(&control_plane.url(), None).await;
    edge.wait_ready().await;

    let (status, _, body) = edge.evaluate(&key, "shop/production/nope", json!({})).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (StatusCode::NOT_FOUND, &json!("flag_not_found"))
    );
    let (status, _, body) = edge.evaluate(&key, "shop/production/%FF", json!({})).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (StatusCode::BAD_REQUEST, &json!("invalid_path"))
    );
    let (status, _, body) = edge
        .evaluate(&key, "shop/production", json!({"context": {"user_id": 5}}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "invalid_context");
    assert_eq!(body["error"]["field"], "context.user_id");
    let (status, _, body) = edge
        .evaluate(&key, "shop/production", json!({"contex": {}}))
        .await;
    assert_eq!(
        (status, &body["error"]["field"]),
        (StatusCode::BAD_REQUEST, &json!("contex"))
    );
    let huge = json!({"context": {"attributes": {"blob": "x".repeat(70 * 1024)}}});
    let (status, _, body) = edge.evaluate(&key, "shop/production", huge).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (StatusCode::PAYLOAD_TOO_LARGE, &json!("payload_too_large"))
    );
    let malformed = edge
        .http
        .post(format!(
            "http://{}/api/v1/evaluate/shop/production",
            edge.address
        ))
        .bearer_auth(&key)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
}
