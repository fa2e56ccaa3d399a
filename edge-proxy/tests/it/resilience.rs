use std::time::Duration;

use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::support::{ControlPlane, EDGE_TOKEN, Edge, published};

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn the_edge_keeps_serving_when_upstream_dies_and_restarts_from_its_cache(db: PgPool) {
    let mut control_plane = ControlPlane::start(db).await;
    control_plane.toggle("production", true).await;
    let (key, _) = control_plane.sdk_key("production").await;
    let cache = tempfile::tempdir().unwrap();
    let edge = Edge::start(&control_plane.url(), Some(cache.path().to_owned())).await;
    edge.wait_ready().await;
    edge.wait_for_reason(&key, "production", "DEFAULT").await;
    for environment in ["development", "staging", "production"] {
        let file = format!("environments/shop/{environment}.json.gz");
        assert!(cache.path().join(&file).exists(), "{file} was persisted");
    }

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

    // Written ten minutes ago, as if the edge had been down that long.
    let ten_minutes_ago = std::time::SystemTime::now() - Duration::from_secs(600);
    for environment in ["development", "staging", "production"] {
        std::fs::File::options()
            .write(true)
            .open(
                cache
                    .path()
                    .join(format!("environments/shop/{environment}.json.gz")),
            )
            .unwrap()
            .set_modified(ten_minutes_ago)
            .unwrap();
    }

    // A new edge with the same cache serves at once, with nobody upstream at all.
    let restarted = Edge::start("http://127.0.0.1:1", Some(cache.path().to_owned())).await;
    assert_eq!(restarted.ready_status().await, StatusCode::OK);
    // And says honestly how old that is: nobody confirmed it since it was written.
    let age: f64 = crate::support::sample(
        &restarted.metrics().await,
        "togglerino_edge_snapshot_age_seconds ",
    )
    .unwrap()
    .parse()
    .unwrap();
    assert!((600.0..700.0).contains(&age), "{age}");
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

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn a_chained_edge_serves_what_its_upstream_edge_serves(db: PgPool) {
    let control_plane = ControlPlane::start(db).await;
    let (key, _) = control_plane.sdk_key("staging").await;
    let regional = Edge::start(&control_plane.url(), None).await;
    regional.wait_ready().await;
    let local = Edge::start(&format!("http://{}", regional.address), None).await;
    local.wait_ready().await;

    let (status, _, body) = local
        .evaluate(&key, "shop/staging/checkout", json!({}))
        .await;
    assert_eq!(
        (status, &body["reason"]),
        (StatusCode::OK, &json!("DISABLED"))
    );
    control_plane.toggle("staging", true).await;
    let took = local.wait_for_reason(&key, "staging", "DEFAULT").await;
    eprintln!("toggle crossed two edges in {took:?}");
    let (_, _, direct) = regional.evaluate(&key, "shop/staging", json!({})).await;
    let (_, _, chained) = local.evaluate(&key, "shop/staging", json!({})).await;
    assert_eq!(direct, chained);

    // What each edge holds is exactly what the control plane publishes.
    let regional_url = format!("http://{}", regional.address);
    let local_url = format!("http://{}", local.address);
    let expected = control_plane.published("staging").await;
    assert_eq!(published(&regional_url, "staging").await, expected);
    assert_eq!(published(&local_url, "staging").await, expected);

    // Downstream edges get the deltas the regional edge applies, as it applies them.
    let response = reqwest::Client::new()
        .get(format!("{regional_url}/api/v1/edge/stream"))
        .bearer_auth(EDGE_TOKEN)
        .send()
        .await
        .unwrap();
    let mut events = Box::pin(response.bytes_stream().eventsource());
    let first = events.next().await.unwrap().unwrap();
    assert_eq!(first.event, "revisions");
    control_plane.toggle("staging", false).await;
    let change = tokio::time::timeout(Duration::from_secs(10), events.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(change.event, "change");
    let delta: Value = serde_json::from_str(&change.data).unwrap();
    assert_eq!(
        (&delta["kind"], &delta["environment"]),
        (&json!("patch"), &json!("staging"))
    );
    local.wait_for_reason(&key, "staging", "DISABLED").await;

    // Only holders of the edge token may follow an edge.
    let refused = reqwest::Client::new()
        .get(format!("http://{}/api/v1/edge/revisions", regional.address))
        .bearer_auth("someone-else")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let with_token = reqwest::Client::new()
        .get(format!(
            "{regional_url}/api/v1/edge/environments/shop/staging"
        ))
        .bearer_auth(crate::support::EDGE_TOKEN)
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(with_token.headers()["content-encoding"], "gzip");
    let etag = with_token.headers()["etag"].to_str().unwrap().to_owned();
    let unchanged = reqwest::Client::new()
        .get(format!(
            "{regional_url}/api/v1/edge/environments/shop/staging"
        ))
        .bearer_auth(crate::support::EDGE_TOKEN)
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(unchanged.status(), StatusCode::NOT_MODIFIED);
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn an_edge_following_one_replica_sees_writes_made_on_another(db: PgPool) {
    let replica_a = ControlPlane::start(db.clone()).await;
    let (replica_b, _keep_running) = ControlPlane::replica(db).await;
    let (key, _) = replica_a.sdk_key("staging").await;
    let edge = Edge::start(&format!("http://{replica_b}"), None).await;
    edge.wait_ready().await;
    edge.wait_for_reason(&key, "staging", "DISABLED").await;
    replica_a.toggle("staging", true).await;
    let took = edge.wait_for_reason(&key, "staging", "DEFAULT").await;
    eprintln!("a write on replica A reached an edge on replica B in {took:?}");
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn an_edge_that_missed_more_than_is_kept_ends_where_a_fresh_edge_does(db: PgPool) {
    let writer = ControlPlane::start(db.clone()).await;
    let (key, _) = writer.sdk_key("production").await;
    let (followed, stop) = ControlPlane::replica(db.clone()).await;
    let edge = Edge::start(&format!("http://{followed}"), None).await;
    edge.wait_ready().await;
    edge.wait_for_reason(&key, "production", "DISABLED").await;

    // The replica the edge follows goes away; meanwhile flags change, and the changes
    // are forgotten before it comes back.
    stop.send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    writer.toggle("production", true).await;
    writer
        .call(
            "POST",
            "/api/v1/projects/shop/flags",
            json!({"key": "late", "name": "Late", "type": "string", "default_value": "x"}),
        )
        .await;
    writer
        .call(
            "DELETE",
            "/api/v1/projects/shop/environments/development",
            json!({}),
        )
        .await;
    sqlx::query("DELETE FROM edge_changes")
        .execute(&db)
        .await
        .unwrap();
    let (_, _keep_running) = ControlPlane::replica_at(db, followed).await;

    edge.wait_for_reason(&key, "production", "DEFAULT").await;
    let fresh = Edge::start(&writer.url(), None).await;
    fresh.wait_ready().await;
    let caught_up = format!("http://{}", edge.address);
    for environment in ["staging", "production"] {
        assert_eq!(
            published(&caught_up, environment).await,
            writer.published(environment).await,
            "{environment}"
        );
    }
    let revisions = |url: String| async move {
        reqwest::Client::new()
            .get(format!("{url}/api/v1/edge/revisions"))
            .bearer_auth(EDGE_TOKEN)
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };
    assert_eq!(
        revisions(caught_up).await,
        revisions(format!("http://{}", fresh.address)).await,
        "the deleted environment is gone here too"
    );
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn slow_and_idle_connections_are_cut_off_and_streams_are_not(db: PgPool) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let control_plane = ControlPlane::start(db).await;
    let (key, _) = control_plane.sdk_key("production").await;
    let edge = Edge::start(&control_plane.url(), None).await;
    edge.wait_ready().await;
    let connect = || tokio::net::TcpStream::connect(edge.address);
    let mut silent = connect().await.unwrap();
    let mut partial = connect().await.unwrap();
    partial
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: edge\r\n")
        .await
        .unwrap();
    let mut idle = connect().await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: edge\r\n\r\n")
        .await
        .unwrap();
    let mut answer = [0u8; 512];
    assert!(idle.read(&mut answer).await.unwrap() > 0);
    let stream = edge
        .http
        .get(format!(
            "http://{}/api/v1/stream/shop/production?sdk_key={key}",
            edge.address
        ))
        .send()
        .await
        .unwrap();
    let mut stream = stream.bytes_stream();
    use futures_util::StreamExt;
    assert!(stream.next().await.is_some(), "the stream's first event");

    let started = std::time::Instant::now();
    for (what, connection) in [
        ("silent", &mut silent),
        ("partial", &mut partial),
        ("idle", &mut idle),
    ] {
        let mut rest = Vec::new();
        let closed =
            tokio::time::timeout(Duration::from_secs(20), connection.read_to_end(&mut rest)).await;
        assert!(closed.is_ok(), "the {what} connection was never closed");
    }
    let took = started.elapsed();
    assert!(took < Duration::from_secs(15), "{took:?}");
    // Meanwhile the edge answered everyone else, and the stream is still open.
    assert_eq!(edge.ready_status().await, StatusCode::OK);
    tokio::time::sleep(Duration::from_secs(1)).await;
    control_plane.toggle("production", true).await;
    let patch = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("the stream outlived the header timeout");
    assert!(patch.is_some_and(|chunk| chunk.is_ok()));
}
