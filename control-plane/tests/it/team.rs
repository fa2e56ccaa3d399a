use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;

use crate::support::{Server, assert_error};

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn admins_manage_the_team(db: PgPool) {
    let server = Server::start(db).await;
    let admin = server.admin().await;
    let (status, created) = admin
        .post(
            "/api/v1/users",
            json!({"email": "ed@example.com", "role": "editor", "password": "editor-password"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(created["role"], "editor");
    assert!(created.get("password_hash").is_none());

    let duplicate = admin
        .post(
            "/api/v1/users",
            json!({"email": "ED@example.com", "role": "viewer", "password": "viewer-password"}),
        )
        .await;
    assert_error(&duplicate, StatusCode::CONFLICT, "user_exists");
    assert_eq!(duplicate.1["error"]["field"], "email");

    let id = created["id"].as_str().unwrap();
    let (status, updated) = admin
        .put(&format!("/api/v1/users/{id}"), json!({"role": "viewer"}))
        .await;
    assert_eq!(
        (status, &updated["role"]),
        (StatusCode::OK, &json!("viewer"))
    );
    let (_, list) = admin.get("/api/v1/users").await;
    let emails: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, ["admin@example.com", "ed@example.com"]);

    assert_eq!(
        admin.delete(&format!("/api/v1/users/{id}")).await.0,
        StatusCode::NO_CONTENT
    );
    assert_error(
        &admin.delete(&format!("/api/v1/users/{id}")).await,
        StatusCode::NOT_FOUND,
        "user_not_found",
    );
    assert_error(
        &admin.delete("/api/v1/users/not-a-uuid").await,
        StatusCode::NOT_FOUND,
        "user_not_found",
    );
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn the_last_admin_cannot_be_demoted_or_deleted(db: PgPool) {
    let server = Server::start(db).await;
    let admin = server.admin().await;
    let (_, me) = admin.get("/api/v1/auth/me").await;
    let id = me["id"].as_str().unwrap();
    assert_error(
        &admin
            .put(&format!("/api/v1/users/{id}"), json!({"role": "editor"}))
            .await,
        StatusCode::CONFLICT,
        "last_admin",
    );
    assert_error(
        &admin.delete(&format!("/api/v1/users/{id}")).await,
        StatusCode::CONFLICT,
        "last_admin",
    );

    // With a second admin, the first may step down.
    let second = server.user(&admin, "second@example.com", "admin").await;
    assert_eq!(
        second
            .put(&format!("/api/v1/users/{id}"), json!({"role": "editor"}))
            .await
            .0,
        StatusCode::OK
    );
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn only_admins_manage_people_and_tokens(db: PgPool) {
    let server = Server::start(db).await;
    let admin = server.admin().await;
    let editor = server.user(&admin, "ed@example.com", "editor").await;
    let viewer = server.user(&admin, "vi@example.com", "viewer").await;
    let anonymous = server.anonymous();
    for path in ["/api/v1/users", "/api/v1/api-tokens"] {
        assert_error(
            &anonymous.get(path).await,
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
        );
        assert_error(&viewer.get(path).await, StatusCode::FORBIDDEN, "forbidden");
        assert_error(&editor.get(path).await, StatusCode::FORBIDDEN, "forbidden");
        assert_eq!(admin.get(path).await.0, StatusCode::OK);
    }
    let new_user = json!({"email": "x@example.com", "role": "admin", "password": "x-password"});
    assert_error(
        &editor.post("/api/v1/users", new_user.clone()).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_error(
        &anonymous.post("/api/v1/users", new_user).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn api_tokens_are_shown_once_stored_hashed_and_revocable(db: PgPool) {
    let server = Server::start(db.clone()).await;
    let admin = server.admin().await;
    let (status, created) = admin
        .post(
            "/api/v1/api-tokens",
            json!({"name": "deploy bot", "role": "editor"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(
        secret.starts_with("tgl_") && secret.len() == 4 + 64,
        "{secret}"
    );
    assert_eq!(created["prefix"], json!(&secret[..8]));

    let (_, list) = admin.get("/api/v1/api-tokens").await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(list[0].get("secret").is_none());
    assert_eq!(list[0]["last_used_at"], json!(null));

    let stored: Vec<u8> = sqlx::query_scalar("SELECT token_hash FROM api_tokens")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(stored.len(), 32);
    let row: String = sqlx::query_scalar("SELECT row_to_json(t)::text FROM api_tokens t")
        .fetch_one(&db)
        .await
        .unwrap();
    assert!(
        !row.contains(&secret[4..]),
        "the secret is stored in the clear: {row}"
    );

    let mut bot = server.anonymous();
    bot.bearer = Some(secret.clone());
    let (status, me) = bot.get("/api/v1/auth/me").await;
    assert_eq!(
        (status, &me["type"], &me["role"]),
        (StatusCode::OK, &json!("api_token"), &json!("editor"))
    );
    assert!(me.get("csrf_token").is_none());
    let (_, list) = admin.get("/api/v1/api-tokens").await;
    assert!(list[0]["last_used_at"].is_string(), "{list}");

    let id = created["id"].as_str().unwrap();
    assert_eq!(
        admin.delete(&format!("/api/v1/api-tokens/{id}")).await.0,
        StatusCode::NO_CONTENT
    );
    assert_error(
        &bot.get("/api/v1/auth/me").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    assert_eq!(admin.get("/api/v1/api-tokens").await.1, json!([]));

    bot.bearer = Some("tgl_not-a-token".into());
    assert_error(
        &bot.get("/api/v1/auth/me").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn people_and_token_changes_are_audited(db: PgPool) {
    let server = Server::start(db).await;
    let admin = server.admin().await;
    server.user(&admin, "ed@example.com", "editor").await;
    admin
        .post(
            "/api/v1/api-tokens",
            json!({"name": "bot", "role": "viewer"}),
        )
        .await;
    let (status, log) = admin.get("/api/v1/audit-log").await;
    assert_eq!(status, StatusCode::OK, "{log}");
    let actions: Vec<&str> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["api_token.created", "user.created", "user.created"]
    );
    let created = &log["entries"][1];
    assert_eq!(created["actor_name"], "admin@example.com");
    assert_eq!(created["entity_key"], "ed@example.com");
    assert_eq!(created["new_value"]["role"], "editor");
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn api_tokens_carry_their_creators_authority_and_no_more(db: PgPool) {
    let server = Server::start(db).await;
    let admin = server.admin().await;
    let bea = server.user(&admin, "bea@example.com", "admin").await;
    let (_, people) = admin.get("/api/v1/users").await;
    let bea_id = people
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "bea@example.com")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let admin_token = server.token(&bea, "admin").await;
    let editor_token = server.token(&bea, "editor").await;
    // A token made by a token carries the person behind it.
    let minted = server.token(&admin_token, "admin").await;
    for token in [&admin_token, &editor_token, &minted] {
        assert_eq!(token.get("/api/v1/projects").await.0, StatusCode::OK);
    }

    // Bea becomes an editor: her admin tokens stop working, her editor token not.
    let (status, body) = admin
        .put(
            &format!("/api/v1/users/{bea_id}"),
            json!({"role": "editor"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for token in [&admin_token, &minted] {
        assert_error(
            &token.get("/api/v1/projects").await,
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
        );
    }
    assert_eq!(editor_token.get("/api/v1/projects").await.0, StatusCode::OK);

    // Bea leaves: nothing of hers works any more.
    let (status, _) = admin.delete(&format!("/api/v1/users/{bea_id}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_error(
        &editor_token.get("/api/v1/projects").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
}
