use std::io::Read;
use std::time::Duration;

use std::pin::Pin;

use eventsource_stream::{Event, EventStreamError, Eventsource};
use futures_util::{Stream, StreamExt};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;
use togglerino_shared::model::{Change, Delta, Snapshot, sdk_key_hash_hex};
use togglerino_shared::{EvaluationContext, compile};

use crate::projects::create_project;
use crate::support::{Api, Server, assert_error};

async fn edge_token(admin: &Api) -> String {
    let (status, body) = admin
        .post("/api/v1/edge-tokens", json!({"name": "edge eu-1"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["secret"].as_str().unwrap().to_owned()
}

fn edge(server: &Server, token: &str) -> Api {
    let mut api = server.anonymous();
    api.bearer = Some(token.to_owned());
    api
}

type EventStream =
    Pin<Box<dyn Stream<Item = Result<Event, EventStreamError<reqwest::Error>>> + Send>>;

async fn next_event(stream: &mut EventStream) -> Event {
    tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("an event within 10 s")
        .expect("the stream is open")
        .expect("a well-formed event")
}

async fn open_stream(api: &Api, last_event_id: Option<&str>) -> EventStream {
    let mut request = api.request(reqwest::Method::GET, "/api/v1/edge/stream", None);
    if let Some(id) = last_event_id {
        request = request.header("last-event-id", id);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    Box::pin(response.bytes_stream().eventsource())
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn edge_tokens_are_shown_once_stored_hashed_and_revocable(db: PgPool) {
    let server = Server::start(db.clone()).await;
    let admin = server.admin().await;
    let editor = server.user(&admin, "ed@example.com", "editor").await;
    assert_error(
        &editor
            .post("/api/v1/edge-tokens", json!({"name": "x"}))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    let (_, created) = admin
        .post("/api/v1/edge-tokens", json!({"name": "edge eu-1"}))
        .await;
    let secret = created["secret"].as_str().unwrap();
    assert!(secret.starts_with("tge_") && secret.len() == 68, "{secret}");
    let (_, list) = admin.get("/api/v1/edge-tokens").await;
    assert!(list[0].get("secret").is_none());
    let row: String = sqlx::query_scalar("SELECT row_to_json(t)::text FROM edge_tokens t")
        .fetch_one(&db)
        .await
        .unwrap();
    assert!(!row.contains(&secret[4..]));

    let edge = edge(&server, secret);
    assert_eq!(edge.get("/api/v1/edge/revisions").await.0, StatusCode::OK);
    // An edge token is no management credential, and a management token no edge one.
    assert_error(
        &edge.get("/api/v1/projects").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    assert_error(
        &admin.get("/api/v1/edge/revisions").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    assert_error(
        &server.anonymous().get("/api/v1/edge/stream").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );

    let id = created["id"].as_str().unwrap();
    assert_eq!(
        admin.delete(&format!("/api/v1/edge-tokens/{id}")).await.0,
        StatusCode::NO_CONTENT
    );
    assert_error(
        &edge.get("/api/v1/edge/revisions").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn a_pre_shared_edge_token_is_accepted(db: PgPool) {
    let shared = "kubernetes-shared-edge-secret";
    let settings = togglerino_control_plane::Settings {
        edge_token_hash: Some(togglerino_control_plane::auth::secrets::hash(shared)),
        ..Default::default()
    };
    let server = Server::start_with(db, settings).await;
    assert_eq!(
        edge(&server, shared).get("/api/v1/edge/revisions").await.0,
        StatusCode::OK
    );
    assert_error(
        &edge(&server, "kubernetes-shared-edge-secreT")
            .get("/api/v1/edge/revisions")
            .await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn the_snapshot_holds_what_edges_evaluate_with(db: PgPool) {
    let server = Server::start(db).await;
    let admin = server.admin().await;
    create_project(&admin, "shop").await;
    admin
        .post(
            "/api/v1/projects/shop/segments",
            json!({"key": "staff", "name": "Staff", "included": ["u1"]}),
        )
        .await;
    admin.post("/api/v1/projects/shop/flags", json!({"key": "checkout", "name": "Checkout", "type": "boolean", "default_value": false})).await;
    let config = json!({
        "enabled": true,
        "variants": [{"key": "on", "value": true}, {"key": "off", "value": false}],
        "default_variant": "off",
        "targeting_rules": [{"conditions": [{"operator": "in_segment", "value": "staff"}], "variant": "on"}],
        "version": 1
    });
    assert_eq!(
        admin
            .put(
                "/api/v1/projects/shop/flags/checkout/environments/production",
                config
            )
            .await
            .0,
        StatusCode::OK
    );
    let (_, key) = admin
        .post(
            "/api/v1/projects/shop/environments/production/sdk-keys",
            json!({"name": "web", "kind": "server"}),
        )
        .await;
    let key = key["key"].as_str().unwrap().to_owned();

    let edge = edge(&server, &edge_token(&admin).await);
    const PRODUCTION: &str = "/api/v1/edge/environments/shop/production";
    let response = edge
        .request(reqwest::Method::GET, PRODUCTION, None)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    assert!(
        etag.starts_with('"') && !etag.starts_with("W/"),
        "a strong ETag: {etag}"
    );
    let production: Snapshot = response.json().await.unwrap();
    assert_eq!(
        (production.project.as_str(), production.environment.as_str()),
        ("shop", "production")
    );
    assert_eq!(production.sdk_keys[0].sha256, sdk_key_hash_hex(&key));
    let (status, staging) = edge.get("/api/v1/edge/environments/shop/staging").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        staging["sdk_keys"],
        json!([]),
        "keys belong to one environment"
    );
    let compiled = compile(&production).expect("a published snapshot always compiles");
    assert!(compiled.authenticate(&key).is_some());
    let staff = compiled
        .evaluate("checkout", &EvaluationContext::new("u1"))
        .unwrap();
    assert_eq!(staff.value, &json!(true));
    let other = compiled
        .evaluate("checkout", &EvaluationContext::new("u2"))
        .unwrap();
    assert_eq!(other.value, &json!(false));

    // Unchanged: 304. Compressed on request, under its own validator.
    let unchanged = edge
        .request(reqwest::Method::GET, PRODUCTION, None)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(unchanged.status(), StatusCode::NOT_MODIFIED);
    let gzip = edge
        .request(reqwest::Method::GET, PRODUCTION, None)
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(gzip.headers()["content-encoding"], "gzip");
    assert_ne!(gzip.headers()["etag"].to_str().unwrap(), etag);
    let compressed = gzip.bytes().await.unwrap();
    let mut json = String::new();
    flate2::read::GzDecoder::new(&compressed[..])
        .read_to_string(&mut json)
        .unwrap();
    assert_eq!(serde_json::from_str::<Snapshot>(&json).unwrap(), production);

    // A change elsewhere leaves production's snapshot as it was; one here replaces it.
    admin
        .post(
            "/api/v1/projects/shop/flags/checkout/environments/staging/toggle",
            json!({"enabled": true, "version": 1}),
        )
        .await;
    let elsewhere = edge
        .request(reqwest::Method::GET, PRODUCTION, None)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), StatusCode::NOT_MODIFIED);
    admin
        .post(
            "/api/v1/projects/shop/flags/checkout/environments/production/toggle",
            json!({"enabled": false, "version": 2}),
        )
        .await;
    let changed = edge
        .request(reqwest::Method::GET, PRODUCTION, None)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), StatusCode::OK);
    assert_ne!(changed.headers()["etag"].to_str().unwrap(), etag);

    assert_error(
        &edge.get("/api/v1/edge/environments/shop/nowhere").await,
        StatusCode::NOT_FOUND,
        "environment_not_found",
    );
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn the_stream_tells_edges_about_every_change(db: PgPool) {
    let server = Server::start(db.clone()).await;
    let admin = server.admin().await;
    create_project(&admin, "shop").await;
    admin
        .post(
            "/api/v1/projects/shop/flags",
            json!({"key": "f", "name": "F", "type": "boolean", "default_value": false}),
        )
        .await;
    let edge = edge(&server, &edge_token(&admin).await);

    let mut stream = open_stream(&edge, None).await;
    let first = next_event(&mut stream).await;
    assert_eq!(first.event, "revisions");
    let revisions: Value = serde_json::from_str(&first.data).unwrap();
    let environments = revisions["environments"].as_array().unwrap();
    assert_eq!(environments.len(), 3);
    assert!(
        environments
            .iter()
            .all(|e| e["project"] == "shop" && e["revision"] == 2)
    );
    let production_id = environments
        .iter()
        .find(|e| e["environment"] == "production")
        .unwrap()["environment_id"]
        .clone();

    admin
        .post(
            "/api/v1/projects/shop/flags/f/environments/production/toggle",
            json!({"enabled": true, "version": 1}),
        )
        .await;
    let change = next_event(&mut stream).await;
    assert_eq!(change.event, "change");
    let delta: Delta = serde_json::from_str(&change.data).unwrap();
    assert_eq!(json!(delta.environment_id), production_id);
    assert_eq!(delta.revision, 3);
    let Change::Patch { ops } = &delta.change else {
        panic!("a toggle is a patch: {delta:?}");
    };
    let ops = serde_json::to_value(ops).unwrap();
    assert_eq!(ops[0]["op"], "upsert_flag");
    assert_eq!(ops[0]["flag"]["key"], "f");
    assert_eq!(ops[0]["config"]["enabled"], true);
    assert_eq!(ops.as_array().unwrap().len(), 1, "{ops}");
    let id: i64 = change.id.parse().unwrap();
    assert!(id > first.id.parse::<i64>().unwrap());

    // Resuming from the last id: the next event is the next change.
    let mut resumed = open_stream(&edge, Some(&change.id)).await;
    admin
        .post(
            "/api/v1/projects/shop/flags/f/environments/production/toggle",
            json!({"enabled": false, "version": 2}),
        )
        .await;
    let next = next_event(&mut resumed).await;
    assert_eq!(next.event, "change");
    assert_eq!(
        serde_json::from_str::<Delta>(&next.data).unwrap().revision,
        4
    );
    // Resuming from an older id replays exactly what was missed, in order.
    let mut behind = open_stream(&edge, Some(&first.id)).await;
    assert_eq!(next_event(&mut behind).await.id, change.id);
    assert_eq!(next_event(&mut behind).await.id, next.id);
    // From before the changes kept: where everything stands instead.
    sqlx::query("DELETE FROM edge_changes WHERE seq <= $1")
        .bind(id)
        .execute(&db)
        .await
        .unwrap();
    let mut lost = open_stream(&edge, Some(&first.id)).await;
    let caught_up = next_event(&mut lost).await;
    assert_eq!(caught_up.event, "revisions");
    assert_eq!(caught_up.id, next.id);
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn an_edge_on_one_replica_hears_of_writes_on_another(db: PgPool) {
    let replica_a = Server::start(db.clone()).await;
    let replica_b = Server::start(db).await;
    let admin = replica_a.admin().await;
    create_project(&admin, "shop").await;
    admin
        .post(
            "/api/v1/projects/shop/flags",
            json!({"key": "f", "name": "F", "type": "boolean", "default_value": false}),
        )
        .await;
    let token = edge_token(&admin).await;

    let mut stream = open_stream(&edge(&replica_b, &token), None).await;
    assert_eq!(next_event(&mut stream).await.event, "revisions");
    admin
        .post(
            "/api/v1/projects/shop/flags/f/environments/staging/toggle",
            json!({"enabled": true, "version": 1}),
        )
        .await;
    let change = next_event(&mut stream).await;
    assert_eq!(change.event, "change");
    let delta: Delta = serde_json::from_str(&change.data).unwrap();
    assert_eq!((delta.environment.as_str(), delta.revision), ("staging", 3));
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn shutting_down_closes_edge_streams(db: PgPool) {
    let shared = "pre-shared-edge-token-for-tests";
    let settings = togglerino_control_plane::Settings {
        edge_token_hash: Some(togglerino_control_plane::auth::secrets::hash(shared)),
        ..Default::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(togglerino_control_plane::run(
        listener,
        togglerino_control_plane::AppState::new(db, settings),
        async move {
            let _ = stopped.await;
        },
    ));
    let response = reqwest::Client::new()
        .get(format!("http://{address}/api/v1/edge/stream"))
        .bearer_auth(shared)
        .send()
        .await
        .unwrap();
    let mut stream: EventStream = Box::pin(response.bytes_stream().eventsource());
    assert_eq!(next_event(&mut stream).await.event, "revisions");

    stop.send(()).unwrap();
    // Nothing changed, so nothing more may come before the stream ends.
    tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(event) = stream.next().await {
            let event = event.expect("the stream ends cleanly");
            assert_eq!(event.event, "revisions", "{event:?}");
        }
    })
    .await
    .expect("the stream ends");
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("the server stops")
        .unwrap()
        .unwrap();
}
