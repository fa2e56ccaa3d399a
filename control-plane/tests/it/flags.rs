use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;
use sqlx::postgres::PgListener;

use crate::projects::create_project;
use crate::support::{Api, Server, assert_error};

async fn create_flag(api: &Api, body: Value) -> Value {
    let (status, flag) = api.post("/api/v1/projects/shop/flags", body).await;
    assert_eq!(status, StatusCode::CREATED, "{flag}");
    flag
}

async fn shop(server: &Server) -> Api {
    let admin = server.admin().await;
    create_project(&admin, "shop").await;
    admin
}

fn boolean(key: &str) -> Value {
    json!({"key": key, "name": key, "type": "boolean", "default_value": false})
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn a_new_flag_is_off_everywhere_with_variants_from_its_type(db: PgPool) {
    let server = Server::start(db).await;
    let admin = shop(&server).await;
    let flag = create_flag(&admin, json!({
        "key": "new-checkout", "name": "New checkout", "description": "One page", "type": "boolean",
        "default_value": false, "tags": ["checkout"]
    }))
    .await;
    assert_eq!(flag["type"], "boolean");
    let environments = flag["environments"].as_object().unwrap();
    assert_eq!(
        environments.keys().collect::<Vec<_>>(),
        ["development", "production", "staging"]
    );
    for config in environments.values() {
        assert_eq!(config["enabled"], false);
        assert_eq!(
            config["variants"],
            json!([{"key": "on", "value": true}, {"key": "off", "value": false}])
        );
        assert_eq!(config["default_variant"], "off");
        assert_eq!(config["version"], 1);
    }
    let number = create_flag(
        &admin,
        json!({"key": "limit", "name": "Limit", "type": "number", "default_value": 2.5}),
    )
    .await;
    assert_eq!(
        number["environments"]["production"]["variants"],
        json!([{"key": "default", "value": 2.5}])
    );

    let (status, shown) = admin.get("/api/v1/projects/shop/flags/new-checkout").await;
    assert_eq!(
        (status, &shown["environments"]["staging"]["enabled"]),
        (StatusCode::OK, &json!(false))
    );
    assert_error(
        &admin.get("/api/v1/projects/shop/flags/nope").await,
        StatusCode::NOT_FOUND,
        "flag_not_found",
    );
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn bad_flags_are_rejected_with_the_field(db: PgPool) {
    let server = Server::start(db).await;
    let admin = shop(&server).await;
    create_flag(&admin, boolean("taken")).await;
    let path = "/api/v1/projects/shop/flags";
    let duplicate = admin.post(path, boolean("taken")).await;
    assert_error(&duplicate, StatusCode::CONFLICT, "flag_exists");
    let key = admin.post(path, boolean("Not A Key")).await;
    assert_error(&key, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(key.1["error"]["field"], "key");
    let mistyped = admin
        .post(
            path,
            json!({"key": "n", "name": "N", "type": "number", "default_value": "12"}),
        )
        .await;
    assert_eq!(mistyped.1["error"]["field"], "default_value");
    assert_eq!(
        mistyped.1["error"]["message"],
        "default_value: must be a number for a number flag"
    );
    let unknown_type = admin
        .post(
            path,
            json!({"key": "n", "name": "N", "type": "date", "default_value": 1}),
        )
        .await;
    assert_error(&unknown_type, StatusCode::BAD_REQUEST, "invalid_json");
    assert_eq!(unknown_type.1["error"]["field"], "type");
    let unknown_field = admin
        .post(path, json!({"key": "n", "name": "N", "type": "boolean", "default_value": true, "owner": "me"}))
        .await;
    assert_error(&unknown_field, StatusCode::BAD_REQUEST, "invalid_json");
    assert_eq!(unknown_field.1["error"]["field"], "owner");
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn the_flag_list_filters_by_text_tag_and_archived(db: PgPool) {
    let server = Server::start(db).await;
    let admin = shop(&server).await;
    create_flag(&admin, json!({"key": "new-checkout", "name": "New checkout", "type": "boolean", "default_value": false, "tags": ["checkout"]})).await;
    create_flag(&admin, json!({"key": "dark-mode", "name": "Dark Mode", "type": "boolean", "default_value": false, "tags": ["ui"]})).await;
    create_flag(&admin, json!({"key": "old-banner", "name": "Old banner", "type": "boolean", "default_value": false, "tags": ["ui"]})).await;
    assert_eq!(
        admin
            .post("/api/v1/projects/shop/flags/old-banner/archive", json!({}))
            .await
            .0,
        StatusCode::OK
    );

    let keys = |query: &'static str| {
        let admin = &admin;
        async move {
            let (status, flags) = admin
                .get(&format!("/api/v1/projects/shop/flags{query}"))
                .await;
            assert_eq!(status, StatusCode::OK, "{flags}");
            flags
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["key"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(keys("").await, ["dark-mode", "new-checkout"]);
    assert_eq!(keys("?q=MODE").await, ["dark-mode"]);
    assert_eq!(keys("?q=checkout").await, ["new-checkout"]);
    assert_eq!(keys("?tag=ui").await, ["dark-mode"]);
    assert_eq!(keys("?archived=true").await, ["old-banner"]);
    assert_eq!(keys("?archived=only").await, ["old-banner"]);
    assert_eq!(
        keys("?archived=exclude").await,
        ["dark-mode", "new-checkout"]
    );
    assert_eq!(
        keys("?archived=include").await,
        ["dark-mode", "new-checkout", "old-banner"]
    );
    assert_eq!(
        keys("?archived=true&tag=checkout").await,
        Vec::<String>::new()
    );
    let (_, flags) = admin.get("/api/v1/projects/shop/flags").await;
    assert_eq!(
        flags[0]["environments"]["production"],
        json!({"enabled": false, "version": 1})
    );
    assert_error(
        &admin
            .get("/api/v1/projects/shop/flags?archived=maybe")
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_query",
    );

    assert_eq!(
        admin
            .post(
                "/api/v1/projects/shop/flags/old-banner/unarchive",
                json!({})
            )
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(keys("").await, ["dark-mode", "new-checkout", "old-banner"]);
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn configs_are_validated_and_versioned(db: PgPool) {
    let server = Server::start(db).await;
    let admin = shop(&server).await;
    create_flag(&admin, boolean("checkout")).await;
    let path = "/api/v1/projects/shop/flags/checkout/environments/production";
    let config = |version: i64, rules: Value| {
        json!({
            "enabled": true,
            "variants": [{"key": "on", "value": true}, {"key": "off", "value": false}],
            "default_variant": "off",
            "targeting_rules": rules,
            "version": version
        })
    };
    let half = json!([{"conditions": [{"attribute": "email", "operator": "ends_with", "value": "@acme.com"}], "percentage_rollout": 50, "variant": "on"}]);
    let (status, saved) = admin.put(path, config(1, half.clone())).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(
        (&saved["version"], &saved["enabled"]),
        (&json!(2), &json!(true))
    );
    assert_eq!(saved["updated_by"], "admin@example.com");
    assert_eq!(saved["targeting_rules"], half);

    // A second editor still holding version 1 cannot overwrite silently.
    let editor = server.user(&admin, "ed@example.com", "editor").await;
    let stale = editor.put(path, config(1, json!([]))).await;
    assert_error(&stale, StatusCode::CONFLICT, "version_conflict");
    assert_eq!(stale.1["error"]["details"]["current"]["version"], 2);
    assert_eq!(
        stale.1["error"]["details"]["current"]["updated_by"],
        "admin@example.com"
    );
    assert_eq!(
        stale.1["error"]["details"]["current"]["targeting_rules"],
        half
    );
    assert!(
        stale.1["error"]["message"]
            .as_str()
            .unwrap()
            .contains("admin@example.com")
    );

    let bad_regex = admin
        .put(path, config(2, json!([{"variant": "on"}, {"conditions": [{"attribute": "a", "operator": "matches", "value": "(ab"}], "variant": "on"}])))
        .await;
    assert_error(
        &bad_regex,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(
        bad_regex.1["error"]["field"],
        "targeting_rules[1].conditions[0].value"
    );
    assert_eq!(
        bad_regex.1["error"]["message"],
        "targeting_rules[1].conditions[0].value: invalid regex: unclosed group"
    );
    let bad_weights = admin
        .put(path, config(2, json!([{"rollout": [{"variant": "on", "weight": 60}, {"variant": "off", "weight": 30}]}])))
        .await;
    assert_eq!(
        bad_weights.1["error"]["field"],
        "targeting_rules[0].rollout"
    );
    let unknown_operator = admin
        .put(path, config(2, json!([{"conditions": [{"attribute": "a", "operator": "resembles", "value": 1}], "variant": "on"}])))
        .await;
    assert_error(&unknown_operator, StatusCode::BAD_REQUEST, "invalid_json");
    assert_eq!(
        unknown_operator.1["error"]["field"],
        "targeting_rules[0].conditions[0].operator"
    );
    let no_version = admin.put(path, json!({"enabled": true})).await;
    assert_error(&no_version, StatusCode::BAD_REQUEST, "invalid_json");
    assert_eq!(no_version.1["error"]["field"], "version");
    // Nothing half-written: the config is still version 2.
    assert_eq!(admin.get(path).await.1["version"], 2);

    let toggled = admin
        .post(
            &format!("{path}/toggle"),
            json!({"enabled": false, "version": 2}),
        )
        .await;
    assert_eq!(
        (toggled.0, &toggled.1["enabled"], &toggled.1["version"]),
        (StatusCode::OK, &json!(false), &json!(3))
    );
    assert_eq!(
        toggled.1["targeting_rules"], half,
        "a toggle keeps the rules"
    );
    let stale_toggle = admin
        .post(
            &format!("{path}/toggle"),
            json!({"enabled": true, "version": 2}),
        )
        .await;
    assert_error(&stale_toggle, StatusCode::CONFLICT, "version_conflict");
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn prerequisites_are_checked_across_the_environment(db: PgPool) {
    let server = Server::start(db).await;
    let admin = shop(&server).await;
    create_flag(&admin, boolean("parent")).await;
    create_flag(&admin, boolean("child")).await;
    let config = |prerequisite: &str, variant: &str, version: i64| {
        json!({
            "enabled": true,
            "variants": [{"key": "on", "value": true}, {"key": "off", "value": false}],
            "default_variant": "off",
            "prerequisites": [{"flag": prerequisite, "variant": variant}],
            "version": version
        })
    };
    let base = "/api/v1/projects/shop/flags";
    assert_eq!(
        admin
            .put(
                &format!("{base}/child/environments/staging"),
                config("parent", "on", 1)
            )
            .await
            .0,
        StatusCode::OK
    );
    let cycle = admin
        .put(
            &format!("{base}/parent/environments/staging"),
            config("child", "on", 1),
        )
        .await;
    assert_error(
        &cycle,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(
        cycle.1["error"]["message"],
        "prerequisites: prerequisite cycle: parent -> child -> parent"
    );
    // Environments are independent: the same edge is fine where child has no prerequisite.
    assert_eq!(
        admin
            .put(
                &format!("{base}/parent/environments/production"),
                config("child", "on", 1)
            )
            .await
            .0,
        StatusCode::OK
    );
    let unknown = admin
        .put(
            &format!("{base}/child/environments/development"),
            config("ghost", "on", 1),
        )
        .await;
    assert_eq!(
        unknown.1["error"]["message"],
        "prerequisites[0].flag: unknown flag \"ghost\""
    );
    let variant = admin
        .put(
            &format!("{base}/child/environments/development"),
            config("parent", "maybe", 1),
        )
        .await;
    assert_eq!(variant.1["error"]["field"], "prerequisites[0].variant");

    let in_use = admin.delete(&format!("{base}/parent")).await;
    assert_error(&in_use, StatusCode::CONFLICT, "flag_in_use");
    assert_eq!(in_use.1["error"]["details"]["flags"], json!(["child"]));
    assert_eq!(
        admin.delete(&format!("{base}/child")).await.0,
        StatusCode::CONFLICT,
        "parent needs child in production"
    );
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn committed_changes_are_announced_on_the_change_channel(db: PgPool) {
    let server = Server::start(db).await;
    let admin = shop(&server).await;
    create_flag(&admin, boolean("f")).await;
    let mut listener = PgListener::connect_with(&server.db).await.unwrap();
    listener.listen("togglerino_changes").await.unwrap();

    let (_, toggled) = admin
        .post(
            "/api/v1/projects/shop/flags/f/environments/production/toggle",
            json!({"enabled": true, "version": 1}),
        )
        .await;
    assert_eq!(toggled["enabled"], true);
    let notification = tokio::time::timeout(std::time::Duration::from_secs(10), listener.recv())
        .await
        .expect("a notification within 10 s")
        .unwrap();
    // The notification names the change; its delta is in the table, committed.
    let seq: i64 = notification.payload().parse().unwrap();
    let (environment, revision): (String, i64) = sqlx::query_as(
        "SELECT e.key, c.revision FROM edge_changes c JOIN environments e ON e.id = c.environment_id
         WHERE c.seq = $1",
    )
    .bind(seq)
    .fetch_one(&server.db)
    .await
    .unwrap();
    assert_eq!((environment.as_str(), revision), ("production", 3));

    // A rejected write announces nothing.
    let rejected = admin
        .post(
            "/api/v1/projects/shop/flags/f/environments/production/toggle",
            json!({"enabled": false, "version": 1}),
        )
        .await;
    assert_eq!(rejected.0, StatusCode::CONFLICT);
    let nothing =
        tokio::time::timeout(std::time::Duration::from_millis(500), listener.recv()).await;
    assert!(nothing.is_err(), "unexpected notification {nothing:?}");
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn segments_are_validated_and_protected_while_used(db: PgPool) {
    let server = Server::start(db).await;
    let admin = shop(&server).await;
    let path = "/api/v1/projects/shop/segments";
    let (status, segment) = admin
        .post(path, json!({"key": "beta", "name": "Beta", "included": ["u1"], "conditions": [{"attribute": "plan", "operator": "equals", "value": "pro"}]}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{segment}");
    assert_eq!(segment["conditions"][0]["operator"], "equals");
    let nested = admin.post(path, json!({"key": "nested", "name": "N", "conditions": [{"operator": "in_segment", "value": "beta"}]})).await;
    assert_error(
        &nested,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(nested.1["error"]["field"], "conditions[0].operator");
    assert_error(
        &admin
            .post(path, json!({"key": "beta", "name": "Again"}))
            .await,
        StatusCode::CONFLICT,
        "segment_exists",
    );

    create_flag(&admin, boolean("gated")).await;
    let config = json!({
        "enabled": true,
        "variants": [{"key": "on", "value": true}, {"key": "off", "value": false}],
        "default_variant": "off",
        "targeting_rules": [{"conditions": [{"operator": "in_segment", "value": "beta"}], "variant": "on"}],
        "version": 1
    });
    assert_eq!(
        admin
            .put(
                "/api/v1/projects/shop/flags/gated/environments/staging",
                config.clone()
            )
            .await
            .0,
        StatusCode::OK
    );
    let unknown = admin
        .put(
            "/api/v1/projects/shop/flags/gated/environments/production",
            {
                let mut c = config.clone();
                c["targeting_rules"][0]["conditions"][0]["value"] = json!("gamma");
                c
            },
        )
        .await;
    assert_eq!(
        unknown.1["error"]["message"],
        "targeting_rules[0].conditions[0].value: unknown segment \"gamma\""
    );

    let in_use = admin.delete(&format!("{path}/beta")).await;
    assert_error(&in_use, StatusCode::CONFLICT, "segment_in_use");
    assert!(
        in_use.1["error"]["message"]
            .as_str()
            .unwrap()
            .contains("gated")
    );
    assert_eq!(in_use.1["error"]["details"]["flags"], json!(["gated"]));
    let mut unused = config;
    unused["targeting_rules"] = json!([]);
    unused["version"] = json!(2);
    assert_eq!(
        admin
            .put(
                "/api/v1/projects/shop/flags/gated/environments/staging",
                unused
            )
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        admin.delete(&format!("{path}/beta")).await.0,
        StatusCode::NO_CONTENT
    );
    assert_error(
        &admin.get(&format!("{path}/beta")).await,
        StatusCode::NOT_FOUND,
        "segment_not_found",
    );
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn configs_and_segments_that_would_cost_every_edge_too_much_are_refused(db: PgPool) {
    let server = Server::start(db).await;
    let admin = shop(&server).await;
    create_flag(&admin, boolean("checkout")).await;
    let path = "/api/v1/projects/shop/flags/checkout/environments/production";
    let matching =
        |pattern: &str| json!({"attribute": "email", "operator": "matches", "value": pattern});
    let config = |conditions: Vec<Value>| {
        json!({
            "enabled": true,
            "variants": [{"key": "on", "value": true}, {"key": "off", "value": false}],
            "default_variant": "off",
            "targeting_rules": [{"conditions": conditions, "variant": "on"}],
            "version": 1
        })
    };
    // Forty patterns of about 7 MiB each: refused at the eleventh, nothing compiled.
    let attack = admin
        .put(path, config(vec![matching(r"\w{150}"); 40]))
        .await;
    assert_error(
        &attack,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(
        attack.1["error"]["field"], "targeting_rules[0].conditions[10]",
        "{}",
        attack.1
    );
    // One of them alone is too large for every edge to hold.
    let one = admin.put(path, config(vec![matching(r"\w{150}")])).await;
    assert_error(&one, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(
        one.1["error"]["field"],
        "targeting_rules[0].conditions[0].value"
    );
    let fine = admin
        .put(path, config(vec![matching(r"^\w+@acme\.com$"); 10]))
        .await;
    assert_eq!(fine.0, StatusCode::OK, "{}", fine.1);

    // Segments count towards every environment of the project: 19 segments of 10
    // patterns fit next to the flag's 10, a twentieth does not.
    for i in 0..20 {
        let (status, body) = admin
            .post(
                "/api/v1/projects/shop/segments",
                json!({"key": format!("s{i}"), "name": "S", "conditions": vec![matching("^a"); 10]}),
            )
            .await;
        if i < 19 {
            assert_eq!(status, StatusCode::CREATED, "{body}");
        } else {
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
            assert_eq!(body["error"]["field"], "conditions");
        }
    }
}
