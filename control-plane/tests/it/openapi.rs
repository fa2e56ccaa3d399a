use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use sqlx::PgPool;

use crate::support::Server;

fn refs(value: &Value, found: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get("$ref") {
                found.insert(target.clone());
            }
            map.values().for_each(|v| refs(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
        _ => {}
    }
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn the_openapi_document_describes_every_served_route(db: PgPool) {
    let server = Server::start(db).await;
    let anonymous = server.anonymous();
    let (status, document) = anonymous.get("/api/v1/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        document["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        document["openapi"]
    );
    assert_eq!(
        document,
        serde_json::to_value(togglerino_control_plane::openapi()).unwrap()
    );

    // Every reference points at a schema the document defines.
    let mut targets = BTreeSet::new();
    refs(&document, &mut targets);
    for target in &targets {
        let name = target
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("{target}"));
        assert!(
            document["components"]["schemas"].get(name).is_some(),
            "dangling {target}"
        );
    }

    // Every documented operation is served: none is an unknown route or method.
    let paths = document["paths"].as_object().unwrap();
    let mut operations = Vec::new();
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            let concrete = path
                .split('/')
                .map(|part| {
                    if part.starts_with('{') {
                        "00000000-0000-0000-0000-000000000000"
                    } else {
                        part
                    }
                })
                .collect::<Vec<_>>()
                .join("/");
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let (status, body) = anonymous.call(method.clone(), &concrete, None).await;
            assert_ne!(
                body["error"]["code"], "route_not_found",
                "{method} {path} is documented but not served"
            );
            assert_ne!(
                body["error"]["code"], "method_not_allowed",
                "{method} {path} is documented but not served"
            );
            assert_ne!(status, StatusCode::INTERNAL_SERVER_ERROR, "{method} {path}");
            operations.push(format!("{method} {path}"));
        }
    }
    for required in [
        "GET /healthz",
        "GET /readyz",
        "GET /api/v1/auth/status",
        "POST /api/v1/auth/setup",
        "POST /api/v1/auth/login",
        "POST /api/v1/auth/logout",
        "GET /api/v1/auth/me",
        "PUT /api/v1/auth/password",
        "GET /api/v1/users",
        "POST /api/v1/users",
        "PUT /api/v1/users/{id}",
        "DELETE /api/v1/users/{id}",
        "POST /api/v1/api-tokens",
        "GET /api/v1/api-tokens",
        "DELETE /api/v1/api-tokens/{id}",
        "POST /api/v1/projects",
        "GET /api/v1/projects",
        "GET /api/v1/projects/{project}",
        "PUT /api/v1/projects/{project}",
        "DELETE /api/v1/projects/{project}",
        "POST /api/v1/projects/{project}/environments",
        "GET /api/v1/projects/{project}/environments",
        "DELETE /api/v1/projects/{project}/environments/{env}",
        "POST /api/v1/projects/{project}/environments/{env}/sdk-keys",
        "GET /api/v1/projects/{project}/environments/{env}/sdk-keys",
        "DELETE /api/v1/projects/{project}/environments/{env}/sdk-keys/{id}",
        "POST /api/v1/projects/{project}/flags",
        "GET /api/v1/projects/{project}/flags",
        "GET /api/v1/projects/{project}/flags/{flag}",
        "PUT /api/v1/projects/{project}/flags/{flag}",
        "DELETE /api/v1/projects/{project}/flags/{flag}",
        "POST /api/v1/projects/{project}/flags/{flag}/archive",
        "POST /api/v1/projects/{project}/flags/{flag}/unarchive",
        "GET /api/v1/projects/{project}/flags/{flag}/environments/{env}",
        "PUT /api/v1/projects/{project}/flags/{flag}/environments/{env}",
        "POST /api/v1/projects/{project}/flags/{flag}/environments/{env}/toggle",
        "POST /api/v1/projects/{project}/segments",
        "GET /api/v1/projects/{project}/segments",
        "GET /api/v1/projects/{project}/segments/{segment}",
        "PUT /api/v1/projects/{project}/segments/{segment}",
        "DELETE /api/v1/projects/{project}/segments/{segment}",
        "GET /api/v1/projects/{project}/audit-log",
        "GET /api/v1/audit-log",
        "POST /api/v1/edge-tokens",
        "GET /api/v1/edge-tokens",
        "DELETE /api/v1/edge-tokens/{id}",
        "GET /api/v1/edge/revisions",
        "GET /api/v1/edge/environments/{project}/{env}",
        "GET /api/v1/edge/stream",
    ] {
        assert!(
            operations.iter().any(|o| o == required),
            "{required} is not documented"
        );
    }
    let config_write =
        &document["paths"]["/api/v1/projects/{project}/flags/{flag}/environments/{env}"]["put"];
    assert!(config_write["responses"].get("409").is_some());
    assert!(config_write["requestBody"].is_object());
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn unknown_routes_and_methods_answer_in_the_error_shape(db: PgPool) {
    let server = Server::start(db).await;
    let api = server.anonymous();
    let (status, body) = api.get("/api/v1/nothing-here").await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (StatusCode::NOT_FOUND, &"route_not_found".into())
    );
    let (status, body) = api.call(Method::PATCH, "/api/v1/projects", None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(body["error"]["code"], "method_not_allowed");
}
