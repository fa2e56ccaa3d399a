use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;

use crate::projects::create_project;
use crate::support::Server;

async fn scrape(server: &Server, token: Option<&str>) -> (StatusCode, String) {
    let mut request = reqwest::Client::new().get(format!("http://{}/metrics", server.address));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

fn sample(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn metrics_show_traffic_the_pool_edges_and_snapshot_builds(db: PgPool) {
    let server = Server::start(db).await;
    let admin = server.admin().await;
    create_project(&admin, "shop").await;
    let api = server.anonymous();
    for _ in 0..5 {
        let brewed = api
            .request(
                reqwest::Method::from_bytes(b"BREW").unwrap(),
                "/api/v1/projects/secret-project-name",
                None,
            )
            .send()
            .await
            .unwrap();
        assert!(brewed.status().is_client_error());
    }
    let (_, secret) = admin
        .post("/api/v1/edge-tokens", json!({"name": "edge"}))
        .await;
    let token = secret["secret"].as_str().unwrap().to_owned();
    let base = format!("http://{}", server.address);
    let http = reqwest::Client::new();
    let pulled = http
        .get(format!("{base}/api/v1/edge/environments/shop/production"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(pulled.status(), StatusCode::OK);
    let stream = http
        .get(format!("{base}/api/v1/edge/stream"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let mut stream = stream.bytes_stream();
    assert!(stream.next().await.is_some());
    // A change fans out to the stream.
    admin
        .post(
            "/api/v1/projects/shop/flags",
            json!({"key": "f", "name": "F", "type": "boolean", "default_value": false}),
        )
        .await;
    assert!(stream.next().await.is_some());

    let (status, text) = scrape(&server, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        text.contains(r#"togglerino_control_plane_http_requests_total{route="/api/v1/projects",method="POST",status="201"} 1"#),
        "{text}"
    );
    assert!(text.contains(r#"method="other""#), "{text}");
    assert!(!text.contains("secret-project-name") && !text.contains("BREW"));
    assert!(text.contains("togglerino_control_plane_http_request_duration_seconds_bucket"));
    assert!(sample(&text, "togglerino_control_plane_db_pool_connections ").unwrap() >= 1.0);
    assert!(sample(&text, "togglerino_control_plane_db_pool_max_connections ").unwrap() >= 1.0);
    assert_eq!(
        sample(&text, "togglerino_control_plane_edge_streams "),
        Some(1.0)
    );
    assert!(
        sample(&text, "togglerino_control_plane_changes_total ").unwrap() >= 1.0,
        "{text}"
    );
    assert!(
        sample(
            &text,
            "togglerino_control_plane_snapshot_build_duration_seconds_count "
        )
        .unwrap()
            >= 1.0,
        "{text}"
    );
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn metrics_can_require_a_token(db: PgPool) {
    let settings = togglerino_control_plane::Settings {
        metrics_token_hash: Some(togglerino_control_plane::auth::secrets::hash(
            "prometheus-scrape-token",
        )),
        ..Default::default()
    };
    let server = Server::start_with(db, settings).await;
    assert_eq!(scrape(&server, None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        scrape(&server, Some("wrong")).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, text) = scrape(&server, Some("prometheus-scrape-token")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(text.contains("togglerino_control_plane_db_pool_connections"));
}
