use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;

use crate::projects::create_project;
use crate::support::{Server, assert_error};

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn the_playground_explains_each_rule_with_the_edge_engine(db: PgPool) {
    let server = Server::start(db).await;
    let admin = server.admin().await;
    create_project(&admin, "shop").await;
    let (status, body) = admin
        .post(
            "/api/v1/projects/shop/flags",
            json!({"key": "checkout", "name": "Checkout", "type": "boolean", "default_value": false}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = admin
        .put(
            "/api/v1/projects/shop/flags/checkout/environments/production",
            json!({
                "enabled": true,
                "variants": [{"key": "on", "value": true}, {"key": "off", "value": false}],
                "default_variant": "off",
                "targeting_rules": [
                    {"conditions": [{"attribute": "plan", "operator": "equals", "value": "pro"},
                                    {"attribute": "country", "operator": "in", "value": ["DE"]}],
                     "variant": "on"},
                    {"conditions": [], "variant": "on", "percentage_rollout": 100}
                ],
                "version": 1
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let viewer = server.user(&admin, "viewer@example.com", "viewer").await;
    let path = "/api/v1/projects/shop/environments/production/evaluate";
    let (status, out) = viewer
        .post(
            path,
            json!({"context": {"user_id": "u1", "attributes": {"plan": "pro", "country": "FR"}}, "flag": "checkout"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["revision"], 3);
    let trace = &out["traces"][0];
    assert_eq!(trace["flag"], "checkout");
    assert_eq!(
        trace["result"],
        json!({"value": true, "variant": "on", "reason": "SPLIT"})
    );
    assert_eq!(trace["off"], json!(null));
    assert_eq!(trace["rules"][0]["conditions"], json!([true, false]));
    assert_eq!(trace["rules"][0]["outcome"], "conditions_failed");
    assert_eq!(trace["rules"][1]["outcome"], "served");
    assert_eq!(trace["rules"][1]["threshold"], 100_000);
    assert!(trace["rules"][1]["bucket"].as_u64().unwrap() < 100_000);

    // Every flag when none is named; staging still has the flag off.
    let (status, out) = viewer
        .post(
            "/api/v1/projects/shop/environments/staging/evaluate",
            json!({"context": {}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["traces"][0]["off"], "disabled");
    assert_eq!(out["traces"][0]["rules"], json!([]));

    assert_error(
        &viewer.post(path, json!({"flag": "nope"})).await,
        StatusCode::NOT_FOUND,
        "flag_not_found",
    );
    let bad = viewer
        .post(path, json!({"context": {"attributes": []}}))
        .await;
    assert!(bad.0.is_client_error(), "{bad:?}");
    assert_error(
        &server.anonymous().post(path, json!({})).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
}
