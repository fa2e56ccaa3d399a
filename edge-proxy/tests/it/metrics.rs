use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;

use crate::support::{ControlPlane, Edge, sample};

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn metrics_report_requests_evaluations_streams_and_the_snapshot(db: PgPool) {
    let control_plane = ControlPlane::start(db).await;
    let (key, _) = control_plane.sdk_key("production").await;
    let edge = Edge::start(&control_plane.url(), None).await;
    edge.wait_ready().await;
    for _ in 0..3 {
        assert_eq!(
            edge.evaluate(&key, "shop/production", json!({})).await.0,
            StatusCode::OK
        );
    }
    edge.evaluate(&key, "shop/production/missing", json!({}))
        .await;
    // Made-up methods are counted, under one label.
    for i in 0..20 {
        let method = reqwest::Method::from_bytes(format!("BREW{i}").as_bytes()).unwrap();
        edge.http
            .request(
                method,
                format!("http://{}/api/v1/evaluate/shop/production", edge.address),
            )
            .send()
            .await
            .unwrap();
    }
    let _stream = reqwest::get(format!(
        "http://{}/api/v1/stream/shop/production?sdk_key={key}",
        edge.address
    ))
    .await
    .unwrap();

    let response = edge
        .http
        .get(format!("http://{}/metrics", edge.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let text = response.text().await.unwrap();
    let ok = r#"togglerino_edge_http_requests_total{route="/api/v1/evaluate/{project}/{env}",method="POST",status="200"}"#;
    assert_eq!(sample(&text, ok), Some("3"), "{text}");
    let missing = r#"togglerino_edge_http_requests_total{route="/api/v1/evaluate/{project}/{env}/{flag}",method="POST",status="404"}"#;
    assert_eq!(sample(&text, missing), Some("1"));
    assert!(!text.contains("BREW"), "{text}");
    let brewed: u64 = text
        .lines()
        .filter(|l| {
            l.starts_with("togglerino_edge_http_requests_total{") && l.contains(r#"method="other""#)
        })
        .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(brewed, 20, "{text}");
    // Three bulk answers of one flag each, plus the stream's first event.
    assert_eq!(
        sample(&text, "togglerino_edge_evaluations_total "),
        Some("4")
    );
    assert_eq!(sample(&text, "togglerino_edge_sse_clients "), Some("1"));
    let revision = sample(
        &text,
        r#"togglerino_edge_snapshot_revision{project="shop",environment="production"}"#,
    );
    assert!(
        revision.is_some_and(|r| r.parse::<u64>().unwrap() >= 1),
        "{text}"
    );
    let age: f64 = sample(&text, "togglerino_edge_snapshot_age_seconds ")
        .unwrap()
        .parse()
        .unwrap();
    assert!((0.0..60.0).contains(&age), "{age}");
    assert_eq!(
        sample(&text, "togglerino_edge_sync_failures_total "),
        Some("0")
    );
    assert!(text.contains("togglerino_edge_http_request_duration_seconds_bucket"));
    // Raw paths and keys never become labels.
    assert!(!text.contains(&key) && !text.contains("/missing"));
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn metrics_can_require_a_token(db: PgPool) {
    let control_plane = ControlPlane::start(db).await;
    let edge = Edge::start_with(
        &control_plane.url(),
        None,
        &["--metrics-token", "prometheus-scrape-secret"],
    )
    .await;
    edge.wait_ready().await;
    let scrape = |token: Option<&'static str>| {
        let mut request = edge.http.get(format!("http://{}/metrics", edge.address));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        async move { request.send().await.unwrap() }
    };
    for refused in [None, Some("prometheus-scrape-secreT"), Some("")] {
        let response = scrape(refused).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{refused:?}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unauthenticated");
    }
    let allowed = scrape(Some("prometheus-scrape-secret")).await;
    assert_eq!(allowed.status(), StatusCode::OK);
    assert!(
        allowed
            .text()
            .await
            .unwrap()
            .contains("togglerino_edge_sse_clients")
    );
}
