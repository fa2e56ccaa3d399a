use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::projects::create_project;
use crate::support::{Server, assert_error};

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn every_change_is_audited_with_old_and_new_values(db: PgPool) {
    let server = Server::start(db).await;
    let admin = server.admin().await;
    create_project(&admin, "shop").await;
    let bot = server.token(&admin, "editor").await;
    bot.post(
        "/api/v1/projects/shop/flags",
        json!({"key": "f", "name": "F", "type": "boolean", "default_value": false}),
    )
    .await;
    bot.post(
        "/api/v1/projects/shop/flags/f/environments/production/toggle",
        json!({"enabled": true, "version": 1}),
    )
    .await;

    let (status, log) = admin.get("/api/v1/projects/shop/audit-log").await;
    assert_eq!(status, StatusCode::OK);
    let entries = log["entries"].as_array().unwrap();
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["flag_config.updated", "flag.created", "project.created"]
    );
    let toggle = &entries[0];
    assert_eq!(toggle["actor_type"], "api_token");
    assert_eq!(toggle["actor_name"], "editor bot");
    assert_eq!(toggle["entity_key"], "f");
    assert_eq!(toggle["environment_key"], "production");
    assert_eq!(toggle["old_value"]["enabled"], false);
    assert_eq!(toggle["new_value"]["enabled"], true);
    assert!(toggle["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(entries[1]["new_value"]["key"], "f");
    assert_eq!(entries[1]["old_value"], json!(null));
    assert_eq!(entries[2]["actor_type"], "user");

    // The whole log has them too; its people-and-tokens view does not.
    let (_, global) = admin.get("/api/v1/audit-log").await;
    let actions: Vec<&str> = global["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"project.created") && actions.contains(&"user.created"));
    let (_, instance) = admin.get("/api/v1/audit-log?scope=instance").await;
    assert!(
        instance["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["project_key"].is_null())
    );
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn the_audit_log_pages_newest_first_and_filters_by_flag(db: PgPool) {
    let server = Server::start(db).await;
    let admin = server.admin().await;
    create_project(&admin, "shop").await;
    for key in ["a", "b"] {
        admin
            .post(
                "/api/v1/projects/shop/flags",
                json!({"key": key, "name": key, "type": "boolean", "default_value": false}),
            )
            .await;
    }
    for version in 1..=3 {
        admin
            .post(
                "/api/v1/projects/shop/flags/a/environments/staging/toggle",
                json!({"enabled": version % 2 == 1, "version": version}),
            )
            .await;
    }
    let (_, first) = admin
        .get("/api/v1/projects/shop/audit-log?limit=2&flag=a")
        .await;
    let entries = first["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert!(entries.iter().all(|e| e["entity_key"] == "a"));
    assert_eq!(entries[0]["new_value"]["enabled"], true);
    let before = first["next_before"].as_i64().unwrap();
    let (_, second) = admin
        .get(&format!(
            "/api/v1/projects/shop/audit-log?limit=2&flag=a&before={before}"
        ))
        .await;
    let actions: Vec<&str> = second["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["flag_config.updated", "flag.created"]);
    assert_eq!(second["next_before"], json!(null));
    assert!(second["entries"][0]["id"].as_i64().unwrap() < entries[1]["id"].as_i64().unwrap());

    assert_error(
        &admin.get("/api/v1/projects/shop/audit-log?limit=0").await,
        StatusCode::BAD_REQUEST,
        "invalid_query",
    );
    assert_error(
        &admin.get("/api/v1/projects/shop/audit-log?limit=x").await,
        StatusCode::BAD_REQUEST,
        "invalid_query",
    );
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn the_whole_log_filters_by_project_actor_action_and_time_and_keeps_deleted_projects(
    db: PgPool,
) {
    let server = Server::start(db).await;
    let admin = server.admin().await;
    let before_all = time::OffsetDateTime::now_utc() - time::Duration::seconds(1);
    create_project(&admin, "shop").await;
    create_project(&admin, "blog").await;
    let editor = server.user(&admin, "ed@example.com", "editor").await;
    let (status, _) = editor
        .post(
            "/api/v1/projects/shop/flags",
            json!({"key": "f", "name": "F", "type": "boolean", "default_value": false}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        admin.delete("/api/v1/projects/shop").await.0,
        StatusCode::NO_CONTENT
    );
    let actions = |log: &Value| -> Vec<String> {
        log["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap().to_owned())
            .collect()
    };

    // A deleted project's story, its deletion included.
    let (status, shop) = admin.get("/api/v1/audit-log?project=shop").await;
    assert_eq!(status, StatusCode::OK, "{shop}");
    let shop_actions = actions(&shop);
    for expected in ["project.deleted", "flag.created", "project.created"] {
        assert!(
            shop_actions.iter().any(|a| a == expected),
            "{shop_actions:?}"
        );
    }
    assert!(
        shop["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["project_key"] == "shop")
    );

    let (_, by_editor) = admin.get("/api/v1/audit-log?actor=ED@EXAMPLE").await;
    assert_eq!(actions(&by_editor), ["flag.created"]);
    let (_, projects) = admin.get("/api/v1/audit-log?action=project.").await;
    assert_eq!(
        actions(&projects),
        ["project.deleted", "project.created", "project.created"]
    );
    let (_, created) = admin
        .get("/api/v1/audit-log?action=project.created&project=blog")
        .await;
    assert_eq!(actions(&created), ["project.created"]);

    let since = before_all
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let (_, recent) = admin
        .get(&format!(
            "/api/v1/audit-log?since={}",
            since.replace('+', "%2B")
        ))
        .await;
    assert!(actions(&recent).len() >= 5, "{recent}");
    let (_, none) = admin
        .get(&format!(
            "/api/v1/audit-log?until={}",
            since.replace('+', "%2B")
        ))
        .await;
    assert!(
        actions(&none).iter().all(|a| a == "user.created"),
        "only the admin's creation can predate the test's first step: {none}"
    );
    let bad = admin.get("/api/v1/audit-log?since=yesterday").await;
    assert_eq!(bad.0, StatusCode::BAD_REQUEST);
    // A project's own log is the same, filtered to it; the whole log's filters are not its own.
    let (status, _) = admin
        .get("/api/v1/projects/blog/audit-log?project=shop")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, blog) = admin
        .get("/api/v1/projects/blog/audit-log?action=project.")
        .await;
    assert_eq!(actions(&blog), ["project.created"]);
    // Only admins read the whole log.
    assert_eq!(
        editor.get("/api/v1/audit-log").await.0,
        StatusCode::FORBIDDEN
    );
}
