use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::support::{Api, Server, assert_error};

pub async fn create_project(admin: &Api, key: &str) {
    let (status, body) = admin
        .post("/api/v1/projects", json!({"key": key, "name": "Web shop"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

pub async fn revisions(api: &Api, project: &str) -> Vec<(String, i64)> {
    let (_, environments) = api
        .get(&format!("/api/v1/projects/{project}/environments"))
        .await;
    environments
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["key"].as_str().unwrap().to_owned(),
                e["revision"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn a_new_project_has_three_environments(db: PgPool) {
    let server = Server::start(db).await;
    let admin = server.admin().await;
    let (status, project) = admin
        .post(
            "/api/v1/projects",
            json!({"key": "shop", "name": "Web shop", "description": "Storefront"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        (&project["key"], &project["description"]),
        (&json!("shop"), &json!("Storefront"))
    );
    assert_eq!(
        revisions(&admin, "shop").await,
        [
            ("development".into(), 1),
            ("staging".into(), 1),
            ("production".into(), 1)
        ]
    );
    let (_, list) = admin.get("/api/v1/projects").await;
    assert_eq!(list.as_array().unwrap().len(), 1);

    let duplicate = admin
        .post("/api/v1/projects", json!({"key": "shop", "name": "Again"}))
        .await;
    assert_error(&duplicate, StatusCode::CONFLICT, "project_exists");
    assert_eq!(duplicate.1["error"]["field"], "key");
    let invalid = admin
        .post("/api/v1/projects", json!({"key": "Web Shop", "name": "x"}))
        .await;
    assert_error(
        &invalid,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(invalid.1["error"]["field"], "key");
    assert_error(
        &admin.get("/api/v1/projects/nope").await,
        StatusCode::NOT_FOUND,
        "project_not_found",
    );

    let (status, updated) = admin
        .put(
            "/api/v1/projects/shop",
            json!({"name": "Shop", "description": ""}),
        )
        .await;
    assert_eq!((status, &updated["name"]), (StatusCode::OK, &json!("Shop")));
    assert_eq!(
        admin.delete("/api/v1/projects/shop").await.0,
        StatusCode::NO_CONTENT
    );
    assert_error(
        &admin.get("/api/v1/projects/shop").await,
        StatusCode::NOT_FOUND,
        "project_not_found",
    );
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn roles_decide_who_reads_and_writes(db: PgPool) {
    let server = Server::start(db).await;
    let admin = server.admin().await;
    create_project(&admin, "shop").await;
    let viewer = server.token(&admin, "viewer").await;
    let editor = server.token(&admin, "editor").await;
    let anonymous = server.anonymous();

    let reads = [
        "/api/v1/projects",
        "/api/v1/projects/shop",
        "/api/v1/projects/shop/environments",
        "/api/v1/projects/shop/flags",
        "/api/v1/projects/shop/segments",
        "/api/v1/projects/shop/audit-log",
        "/api/v1/projects/shop/environments/production/sdk-keys",
    ];
    for path in reads {
        assert_error(
            &anonymous.get(path).await,
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
        );
        assert_eq!(
            viewer.get(path).await.0,
            StatusCode::OK,
            "viewer reads {path}"
        );
        assert_eq!(
            editor.get(path).await.0,
            StatusCode::OK,
            "editor reads {path}"
        );
    }

    let flag = json!({"key": "f", "name": "F", "type": "boolean", "default_value": false});
    let writes: [(&str, Value); 4] = [
        ("/api/v1/projects/shop/flags", flag),
        (
            "/api/v1/projects/shop/segments",
            json!({"key": "s", "name": "S"}),
        ),
        (
            "/api/v1/projects/shop/environments",
            json!({"key": "qa", "name": "QA"}),
        ),
        (
            "/api/v1/projects/shop/environments/production/sdk-keys",
            json!({"name": "web", "kind": "client"}),
        ),
    ];
    for (path, body) in writes {
        assert_error(
            &anonymous.post(path, body.clone()).await,
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
        );
        assert_error(
            &viewer.post(path, body.clone()).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );
        assert_eq!(
            editor.post(path, body).await.0,
            StatusCode::CREATED,
            "editor writes {path}"
        );
    }
    // Only admins create and delete projects.
    let project = json!({"key": "other", "name": "Other"});
    assert_error(
        &editor.post("/api/v1/projects", project.clone()).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_error(
        &editor.delete("/api/v1/projects/shop").await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_error(
        &viewer
            .put("/api/v1/projects/shop", json!({"name": "x"}))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_eq!(
        editor
            .put("/api/v1/projects/shop", json!({"name": "x"}))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        admin.post("/api/v1/projects", project).await.0,
        StatusCode::CREATED
    );
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn a_new_environment_gets_every_flag_disabled(db: PgPool) {
    let server = Server::start(db).await;
    let admin = server.admin().await;
    create_project(&admin, "shop").await;
    admin
        .post(
            "/api/v1/projects/shop/flags",
            json!({"key": "banner", "name": "Banner", "type": "string", "default_value": "hi"}),
        )
        .await;
    let (status, environment) = admin
        .post(
            "/api/v1/projects/shop/environments",
            json!({"key": "qa", "name": "QA"}),
        )
        .await;
    assert_eq!(
        (status, &environment["revision"]),
        (StatusCode::CREATED, &json!(1))
    );
    let (_, config) = admin
        .get("/api/v1/projects/shop/flags/banner/environments/qa")
        .await;
    assert_eq!(config["enabled"], false);
    assert_eq!(
        config["variants"],
        json!([{"key": "default", "value": "hi"}])
    );
    let duplicate = admin
        .post(
            "/api/v1/projects/shop/environments",
            json!({"key": "qa", "name": "QA"}),
        )
        .await;
    assert_error(&duplicate, StatusCode::CONFLICT, "environment_exists");

    assert_eq!(
        admin
            .delete("/api/v1/projects/shop/environments/qa")
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_error(
        &admin
            .get("/api/v1/projects/shop/flags/banner/environments/qa")
            .await,
        StatusCode::NOT_FOUND,
        "environment_not_found",
    );
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn sdk_keys_are_shown_once_and_stored_hashed(db: PgPool) {
    let server = Server::start(db.clone()).await;
    let admin = server.admin().await;
    create_project(&admin, "shop").await;
    let path = "/api/v1/projects/shop/environments/production/sdk-keys";
    let (status, created) = admin
        .post(path, json!({"name": "storefront", "kind": "client"}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let key = created["key"].as_str().unwrap().to_owned();
    assert_eq!(key.len(), 36);
    assert!(
        key.starts_with("sdk_")
            && key[4..]
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    );
    assert_eq!(created["kind"], "client");
    assert_eq!(created["prefix"], json!(&key[..8]));

    let (_, list) = admin.get(path).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(list[0].get("key").is_none());
    let stored: Vec<u8> = sqlx::query_scalar("SELECT key_hash FROM sdk_keys")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(
        hex(&stored),
        togglerino_shared::model::sdk_key_hash_hex(&key)
    );
    let row: String = sqlx::query_scalar("SELECT row_to_json(k)::text FROM sdk_keys k")
        .fetch_one(&db)
        .await
        .unwrap();
    assert!(
        !row.contains(&key[8..]),
        "the key is stored in the clear: {row}"
    );

    let production = || async { revisions(&admin, "shop").await[2].1 };
    let before = production().await;
    let id = created["id"].as_str().unwrap();
    assert_eq!(
        admin.delete(&format!("{path}/{id}")).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(admin.get(path).await.1, json!([]));
    assert_eq!(
        production().await,
        before + 1,
        "revocation reaches edges with a new revision"
    );
    assert_error(
        &admin.delete(&format!("{path}/{id}")).await,
        StatusCode::NOT_FOUND,
        "sdk_key_not_found",
    );
    let invalid = admin
        .post(path, json!({"name": "x", "kind": "mobile"}))
        .await;
    assert_error(&invalid, StatusCode::BAD_REQUEST, "invalid_json");
    assert_eq!(invalid.1["error"]["field"], "kind");
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
