//! Insights: evaluation counts taken from edges once each and read back in buckets, the
//! flag list's activity, and stale flags with their reasons.

use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;
use time::OffsetDateTime;

use crate::support::{Api, Server, assert_error};

async fn project_with_flags(admin: &Api, flags: &[&str]) {
    let (status, body) = admin
        .post("/api/v1/projects", json!({"key": "shop", "name": "Shop"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    for flag in flags {
        let (status, body) = admin
            .post(
                "/api/v1/projects/shop/flags",
                json!({"key": flag, "name": flag, "type": "boolean", "default_value": false}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
}

async fn edge(server: &Server, admin: &Api) -> Api {
    let (status, body) = admin
        .post("/api/v1/edge-tokens", json!({"name": "edge"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let mut api = server.anonymous();
    api.bearer = Some(body["secret"].as_str().unwrap().to_owned());
    api
}

fn count(minute: i64, environment: &str, flag: &str, variant: Value, count: u64) -> Value {
    json!({"minute": minute, "project": "shop", "environment": environment, "flag": flag,
        "variant": variant, "count": count})
}

/// The start of the hour two hours ago, in Unix seconds: minutes after it stay in one
/// hour and well inside the last day.
fn two_hours_ago() -> i64 {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    now - now.rem_euclid(3600) - 2 * 3600
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn edge_reports_are_taken_once_and_read_back_in_buckets(db: PgPool) {
    let server = Server::start(db).await;
    let admin = server.admin().await;
    project_with_flags(&admin, &["checkout"]).await;
    let edge = edge(&server, &admin).await;
    let hour = two_hours_ago();
    let (m1, m2) = (hour + 300, hour + 360);
    let first = json!({"edge": "edge-a", "seq": 1, "counts": [
        count(m1, "production", "checkout", json!("on"), 3),
        count(m1, "production", "checkout", json!(null), 2),
        count(m1, "staging", "checkout", json!("on"), 1),
        count(m1, "production", "deleted-long-ago", json!("on"), 7),
    ]});
    assert_eq!(
        edge.post("/api/v1/edge/usage", first.clone()).await,
        (StatusCode::OK, json!({"accepted": true}))
    );
    // Its answer was lost, so the edge sends it again: acknowledged, not counted.
    assert_eq!(
        edge.post("/api/v1/edge/usage", first).await,
        (StatusCode::OK, json!({"accepted": false}))
    );
    let second = json!({"edge": "edge-a", "seq": 2, "counts": [
        count(m2, "production", "checkout", json!("on"), 4),
    ]});
    assert_eq!(
        edge.post("/api/v1/edge/usage", second).await.0,
        StatusCode::OK
    );
    // Another edge numbers its own reports.
    let other = json!({"edge": "edge-b", "seq": 1, "counts": [
        count(m2, "production", "checkout", json!("on"), 10),
    ]});
    assert_eq!(
        edge.post("/api/v1/edge/usage", other).await,
        (StatusCode::OK, json!({"accepted": true}))
    );

    let viewer = server.user(&admin, "viewer@example.com", "viewer").await;
    let (status, usage) = viewer
        .get("/api/v1/projects/shop/flags/checkout/usage?environment=production&step=minute")
        .await;
    assert_eq!(status, StatusCode::OK, "{usage}");
    let production = &usage["environments"][0];
    assert_eq!(production["environment"], "production");
    assert_eq!(production["total"], 19);
    assert_eq!(
        production["variants"],
        json!([{"variant": "on", "count": 17}, {"variant": null, "count": 2}])
    );
    let at = |seconds: i64| {
        OffsetDateTime::from_unix_timestamp(seconds)
            .unwrap()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    assert_eq!(
        production["buckets"],
        json!([
            {"start": at(m1), "counts": [{"variant": null, "count": 2}, {"variant": "on", "count": 3}]},
            {"start": at(m2), "counts": [{"variant": "on", "count": 14}]},
        ])
    );
    assert_eq!(production["last_evaluated_at"], at(m2 + 60));

    // Hours add up the same minutes; every environment is listed, used or not.
    let (_, hourly) = viewer
        .get("/api/v1/projects/shop/flags/checkout/usage?step=hour")
        .await;
    let environments: Vec<(&str, i64)> = hourly["environments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["environment"].as_str().unwrap(),
                e["total"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        environments,
        vec![("development", 0), ("staging", 1), ("production", 19)]
    );
    assert_eq!(
        hourly["environments"][2]["buckets"],
        json!([{"start": at(hour), "counts": [{"variant": null, "count": 2}, {"variant": "on", "count": 17}]}])
    );

    // The flag list's activity column.
    let (_, activity) = viewer.get("/api/v1/projects/shop/usage").await;
    assert_eq!(activity["flags"]["checkout"]["production"]["count"], 19);
    assert_eq!(activity["flags"]["checkout"]["staging"]["count"], 1);
    assert!(activity["flags"].get("deleted-long-ago").is_none());
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn bad_reports_and_queries_get_clear_errors(db: PgPool) {
    let server = Server::start(db).await;
    let admin = server.admin().await;
    project_with_flags(&admin, &["checkout"]).await;
    let edge = edge(&server, &admin).await;
    let minute = two_hours_ago();
    for (report, what) in [
        (
            json!({"edge": "e", "seq": 1, "counts": [count(minute + 1, "production", "checkout", json!("on"), 1)]}),
            "minute",
        ),
        (json!({"edge": "e", "seq": 0, "counts": []}), "seq"),
        (json!({"edge": "", "seq": 1, "counts": []}), "edge"),
        (
            json!({"edge": "e", "seq": 1, "counts": [count(minute, "production", "checkout", json!("on"), 0)]}),
            "count",
        ),
        (json!({"edge": "e", "seq": 1}), "counts"),
    ] {
        let response = edge.post("/api/v1/edge/usage", report).await;
        assert_eq!(
            response.0,
            StatusCode::BAD_REQUEST,
            "{what}: {}",
            response.1
        );
    }
    // Only edges report.
    assert_error(
        &admin
            .post(
                "/api/v1/edge/usage",
                json!({"edge": "e", "seq": 1, "counts": []}),
            )
            .await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    let usage = "/api/v1/projects/shop/flags/checkout/usage";
    for (query, status, code) in [
        (
            "?environment=moon",
            StatusCode::NOT_FOUND,
            "environment_not_found",
        ),
        (
            "?step=minute&from=2026-01-01T00:00:00Z&to=2026-01-03T00:00:00Z",
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            "?from=2026-01-03T00:00:00Z&to=2026-01-01T00:00:00Z",
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        ("?step=fortnight", StatusCode::BAD_REQUEST, "invalid_query"),
        ("?from=yesterday", StatusCode::BAD_REQUEST, "invalid_query"),
    ] {
        assert_error(&admin.get(&format!("{usage}{query}")).await, status, code);
    }
    assert_error(
        &admin.get("/api/v1/projects/shop/flags/nope/usage").await,
        StatusCode::NOT_FOUND,
        "flag_not_found",
    );
    assert_error(
        &server.anonymous().get(usage).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    assert_error(
        &admin.get("/api/v1/projects/shop/stale-flags?days=0").await,
        StatusCode::BAD_REQUEST,
        "invalid_query",
    );
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn stale_flags_are_listed_with_their_reasons(db: PgPool) {
    let server = Server::start(db.clone()).await;
    let admin = server.admin().await;
    project_with_flags(&admin, &["forgotten", "launched", "targeted", "fresh"]).await;
    // `launched` is on for everyone everywhere; `targeted` has a rule in production.
    for environment in ["development", "staging", "production"] {
        let path = format!("/api/v1/projects/shop/flags/launched/environments/{environment}");
        let (_, config) = admin.get(&path).await;
        let (status, body) = admin
            .post(
                &format!("{path}/toggle"),
                json!({"enabled": true, "version": config["version"]}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let path = "/api/v1/projects/shop/flags/targeted/environments/production";
    let (_, config) = admin.get(path).await;
    let mut rules = json!({
        "variants": config["variants"], "default_variant": config["default_variant"],
        "prerequisites": []});
    rules["enabled"] = json!(true);
    rules["targeting_rules"] = json!([{"conditions": [
        {"attribute": "plan", "operator": "equals", "value": "pro"}], "variant": "on"}]);
    rules["version"] = config["version"].clone();
    let (status, body) = admin.put(path, rules).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // All but `fresh` were made and last configured 40 days ago.
    for backdate in [
        "UPDATE flags SET created_at = now() - interval '40 days' WHERE key <> 'fresh'",
        "UPDATE flag_configs c SET updated_at = now() - interval '40 days'
         FROM flags f WHERE f.id = c.flag_id AND f.key <> 'fresh'",
    ] {
        sqlx::query(backdate).execute(&db).await.unwrap();
    }
    // `launched` and `targeted` were evaluated two hours ago.
    let edge = edge(&server, &admin).await;
    let minute = two_hours_ago();
    let report = json!({"edge": "e", "seq": 1, "counts": [
        count(minute, "production", "launched", json!("off"), 5),
        count(minute, "production", "targeted", json!("on"), 5),
    ]});
    assert_eq!(
        edge.post("/api/v1/edge/usage", report).await.0,
        StatusCode::OK
    );

    let (status, stale) = admin.get("/api/v1/projects/shop/stale-flags").await;
    assert_eq!(status, StatusCode::OK, "{stale}");
    assert_eq!(stale["days"], 30);
    let listed: Vec<(&str, Vec<&str>)> = stale["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let codes = f["reasons"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["code"].as_str().unwrap())
                .collect();
            (f["flag"].as_str().unwrap(), codes)
        })
        .collect();
    assert_eq!(
        listed,
        vec![
            ("forgotten", vec!["one_answer", "not_evaluated"]),
            ("launched", vec!["one_answer"]),
        ]
    );
    let launched = &stale["flags"][1]["reasons"][0]["message"];
    assert!(
        launched.as_str().unwrap().contains("\"off\" in production"),
        "{launched}"
    );
    // With a longer horizon, nothing is old enough.
    let (_, none) = admin.get("/api/v1/projects/shop/stale-flags?days=60").await;
    assert_eq!(none["flags"], json!([]));
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn heartbeats_are_checked_and_edges_listed(db: PgPool) {
    let server = Server::start(db).await;
    let admin = server.admin().await;
    let edge = edge(&server, &admin).await;
    let status = |id: &str| {
        json!({"id": id, "via": null, "version": "0.1.0", "upstream": "http://cp:8080",
            "listen": "0.0.0.0:8090", "started_at": 1_767_225_600, "environments": [],
            "sdk_streams": 3, "evaluations_per_second": 12.5, "sync_error": null})
    };
    for (heartbeat, what) in [
        (json!({"edges": []}), "no edge"),
        (json!({"edges": [{"id": ""}]}), "a partial status"),
        (json!({"edges": [status("e\u{0}1")]}), "a NUL in the id"),
        (json!({"edges": [status(&"e".repeat(101))]}), "a long id"),
    ] {
        let response = edge.post("/api/v1/edge/heartbeat", heartbeat).await;
        assert_eq!(
            response.0,
            StatusCode::BAD_REQUEST,
            "{what}: {}",
            response.1
        );
    }
    assert_eq!(
        edge.post(
            "/api/v1/edge/heartbeat",
            json!({"edges": [status("edge-1")]})
        )
        .await
        .0,
        StatusCode::NO_CONTENT
    );
    let viewer = server.user(&admin, "viewer@example.com", "viewer").await;
    let (status_code, listed) = viewer.get("/api/v1/edges").await;
    assert_eq!(status_code, StatusCode::OK, "{listed}");
    assert_eq!(listed["edges"][0]["id"], "edge-1");
    assert_eq!(listed["edges"][0]["state"], "live");
    assert_eq!(listed["edges"][0]["sdk_streams"], 3);
    assert_error(
        &server.anonymous().get("/api/v1/edges").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
}
