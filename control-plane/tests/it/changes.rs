//! The write pipeline, as edges see it: which environments each write moves, with
//! which delta, and that deltas applied in order give exactly what a full pull gives.

use std::collections::BTreeMap;

use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;
use togglerino_shared::model::{Change, Delta, Snapshot};

use crate::projects::create_project;
use crate::support::{Api, Server};

/// Deltas recorded after change `seq`, oldest first.
async fn deltas_after(db: &PgPool, seq: i64) -> Vec<(i64, Delta)> {
    let rows: Vec<(i64, sqlx::types::Json<Delta>)> =
        sqlx::query_as("SELECT seq, delta FROM edge_changes WHERE seq > $1 ORDER BY seq")
            .bind(seq)
            .fetch_all(db)
            .await
            .unwrap();
    rows.into_iter()
        .map(|(seq, delta)| (seq, delta.0))
        .collect()
}

async fn newest(db: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT coalesce(max(seq), 0) FROM edge_changes")
        .fetch_one(db)
        .await
        .unwrap()
}

/// What one delta says, compactly: `environment:kind[:op op …]`.
fn describe(delta: &Delta) -> String {
    let kind = match &delta.change {
        Change::Patch { ops } => {
            let ops: Vec<String> = serde_json::to_value(ops)
                .unwrap()
                .as_array()
                .unwrap()
                .iter()
                .map(|op| op["op"].as_str().unwrap().to_owned())
                .collect();
            format!("patch:{}", ops.join(" "))
        }
        Change::Replaced => "replaced".into(),
        Change::Deleted => "deleted".into(),
    };
    format!("{}:{kind}", delta.environment)
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn every_write_moves_exactly_the_revisions_it_changes(db: PgPool) {
    let server = Server::start(db.clone()).await;
    let admin = server.admin().await;
    let flag = json!({"key": "f", "name": "F", "type": "boolean", "default_value": false});
    let config = json!({"enabled": true, "variants": [{"key": "on", "value": true}], "default_variant": "on", "version": 1});
    const ALL: &str = "development staging production";

    // (what, method, path, body, the deltas it records: environment:kind[:ops])
    let steps: Vec<(&str, &str, &str, Value, String)> = vec![
        (
            "create a project",
            "POST",
            "/api/v1/projects",
            json!({"key": "shop", "name": "Shop"}),
            "development:replaced staging:replaced production:replaced".into(),
        ),
        (
            "create a flag",
            "POST",
            "/api/v1/projects/shop/flags",
            flag,
            each(ALL, "patch:upsert_flag"),
        ),
        (
            "replace its config in production",
            "PUT",
            "/api/v1/projects/shop/flags/f/environments/production",
            config,
            "production:patch:upsert_flag".into(),
        ),
        (
            "toggle it in staging",
            "POST",
            "/api/v1/projects/shop/flags/f/environments/staging/toggle",
            json!({"enabled": true, "version": 1}),
            "staging:patch:upsert_flag".into(),
        ),
        (
            "toggle it to what it is",
            "POST",
            "/api/v1/projects/shop/flags/f/environments/staging/toggle",
            json!({"enabled": true, "version": 2}),
            String::new(),
        ),
        (
            "rename it",
            "PUT",
            "/api/v1/projects/shop/flags/f",
            json!({"name": "Renamed", "description": "", "default_value": false, "tags": []}),
            each(ALL, "patch:upsert_flag"),
        ),
        (
            "archive it",
            "POST",
            "/api/v1/projects/shop/flags/f/archive",
            json!({}),
            each(ALL, "patch:upsert_flag"),
        ),
        (
            "unarchive it",
            "POST",
            "/api/v1/projects/shop/flags/f/unarchive",
            json!({}),
            each(ALL, "patch:upsert_flag"),
        ),
        (
            "create a segment",
            "POST",
            "/api/v1/projects/shop/segments",
            json!({"key": "beta", "name": "Beta"}),
            each(ALL, "patch:upsert_segment"),
        ),
        (
            "edit it",
            "PUT",
            "/api/v1/projects/shop/segments/beta",
            json!({"name": "Beta", "included": ["u1"], "excluded": [], "conditions": []}),
            each(ALL, "patch:upsert_segment"),
        ),
        (
            "create an SDK key",
            "POST",
            "/api/v1/projects/shop/environments/development/sdk-keys",
            json!({"name": "web", "kind": "client"}),
            "development:patch:sdk_keys".into(),
        ),
        (
            "create an environment",
            "POST",
            "/api/v1/projects/shop/environments",
            json!({"key": "qa", "name": "QA"}),
            "qa:replaced".into(),
        ),
        (
            "delete it",
            "DELETE",
            "/api/v1/projects/shop/environments/qa",
            Value::Null,
            "qa:deleted".into(),
        ),
        (
            "delete the segment",
            "DELETE",
            "/api/v1/projects/shop/segments/beta",
            Value::Null,
            each(ALL, "patch:remove_segment"),
        ),
        (
            "rename the project",
            "PUT",
            "/api/v1/projects/shop",
            json!({"name": "Shop 2", "description": ""}),
            String::new(),
        ),
        (
            "create an API token",
            "POST",
            "/api/v1/api-tokens",
            json!({"name": "ci", "role": "editor"}),
            String::new(),
        ),
        (
            "create an edge token",
            "POST",
            "/api/v1/edge-tokens",
            json!({"name": "eu"}),
            String::new(),
        ),
        (
            "invite a user",
            "POST",
            "/api/v1/users",
            json!({"email": "v@example.com", "password": "a-long-password", "role": "viewer"}),
            String::new(),
        ),
        (
            "delete the flag",
            "DELETE",
            "/api/v1/projects/shop/flags/f",
            Value::Null,
            each(ALL, "patch:remove_flag"),
        ),
        (
            "delete the project",
            "DELETE",
            "/api/v1/projects/shop",
            Value::Null,
            "development:deleted staging:deleted production:deleted".into(),
        ),
    ];
    let mut revisions: BTreeMap<String, u64> = BTreeMap::new();
    for (what, method, path, body, expected) in steps {
        let before = newest(&db).await;
        let (status, response) = send(&admin, method, path, body).await;
        assert!(status.is_success(), "{what}: {status} {response}");
        let deltas = deltas_after(&db, before).await;
        let mut described: Vec<String> = deltas.iter().map(|(_, d)| describe(d)).collect();
        let mut expected: Vec<String> = expected.split_whitespace().map(str::to_owned).collect();
        described.sort();
        expected.sort();
        assert_eq!(described, expected, "{what}");
        // Each delta moves its environment by exactly one revision.
        for (_, delta) in &deltas {
            let previous = revisions.insert(delta.environment.clone(), delta.revision);
            if let Some(previous) = previous {
                assert_eq!(
                    delta.revision,
                    previous + 1,
                    "{what}: {}",
                    delta.environment
                );
            }
        }
    }
}

/// One API call; a `null` body is no body.
async fn send(api: &Api, method: &str, path: &str, body: Value) -> (StatusCode, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    api.call(method, path, (!body.is_null()).then_some(body))
        .await
}

/// `kind` for each of the space-separated environments.
fn each(environments: &str, kind: &str) -> String {
    environments
        .split_whitespace()
        .map(|e| format!("{e}:{kind}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn revoking_an_sdk_key_sends_the_keys_left(db: PgPool) {
    let server = Server::start(db.clone()).await;
    let admin = server.admin().await;
    create_project(&admin, "shop").await;
    let (_, kept) = admin
        .post(
            "/api/v1/projects/shop/environments/production/sdk-keys",
            json!({"name": "a", "kind": "server"}),
        )
        .await;
    let (_, revoked) = admin
        .post(
            "/api/v1/projects/shop/environments/production/sdk-keys",
            json!({"name": "b", "kind": "client"}),
        )
        .await;
    let before = newest(&db).await;
    let id = revoked["id"].as_str().unwrap();
    let (status, _) = admin
        .delete(&format!(
            "/api/v1/projects/shop/environments/production/sdk-keys/{id}"
        ))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let deltas = deltas_after(&db, before).await;
    assert_eq!(deltas.len(), 1);
    let Change::Patch { ops } = &deltas[0].1.change else {
        panic!()
    };
    let ops = serde_json::to_value(ops).unwrap();
    assert_eq!(ops[0]["op"], "sdk_keys");
    let ids: Vec<&str> = ops[0]["sdk_keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [kept["id"].as_str().unwrap()]);
}

/// A small deterministic generator, so a failing sequence can be replayed by its seed.
struct Random(u64);

impl Random {
    fn below(&mut self, n: usize) -> usize {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
    }
}

/// One random write in project `shop`; failures (a 409 for a segment in use, say) are
/// part of the sequence: they must record nothing.
async fn random_write(admin: &Api, random: &mut Random) {
    let environments = ["development", "staging", "production"];
    let flag = format!("f{}", random.below(4));
    let segment = format!("s{}", random.below(2));
    let environment = environments[random.below(3)];
    let (method, path, body) = match random.below(10) {
        0 => (
            "POST",
            "/api/v1/projects/shop/flags".to_owned(),
            json!({"key": flag, "name": flag, "type": "string", "default_value": "d"}),
        ),
        1 | 2 => {
            let (_, current) = admin
                .get(&format!(
                    "/api/v1/projects/shop/flags/{flag}/environments/{environment}"
                ))
                .await;
            let rules = if random.below(2) == 0 {
                json!([{"conditions": [{"operator": "in_segment", "value": segment}], "variant": "b"}])
            } else {
                json!([{"percentage_rollout": random.below(101), "variant": "a"}])
            };
            (
                "PUT",
                format!("/api/v1/projects/shop/flags/{flag}/environments/{environment}"),
                json!({"enabled": random.below(2) == 0,
                    "variants": [{"key": "a", "value": "A"}, {"key": "b", "value": "B"}],
                    "default_variant": "a", "targeting_rules": rules,
                    "version": current["version"].as_i64().unwrap_or(0)}),
            )
        }
        3 => {
            let (_, current) = admin
                .get(&format!(
                    "/api/v1/projects/shop/flags/{flag}/environments/{environment}"
                ))
                .await;
            (
                "POST",
                format!("/api/v1/projects/shop/flags/{flag}/environments/{environment}/toggle"),
                json!({"enabled": random.below(2) == 0, "version": current["version"].as_i64().unwrap_or(0)}),
            )
        }
        4 => (
            "POST",
            format!(
                "/api/v1/projects/shop/flags/{flag}/{}",
                if random.below(2) == 0 {
                    "archive"
                } else {
                    "unarchive"
                }
            ),
            json!({}),
        ),
        5 => (
            "DELETE",
            format!("/api/v1/projects/shop/flags/{flag}"),
            Value::Null,
        ),
        6 => (
            "POST",
            "/api/v1/projects/shop/segments".to_owned(),
            json!({"key": segment, "name": segment}),
        ),
        7 => (
            "PUT",
            format!("/api/v1/projects/shop/segments/{segment}"),
            json!({"name": segment, "included": [format!("u{}", random.below(5))], "excluded": [], "conditions": []}),
        ),
        8 => (
            "DELETE",
            format!("/api/v1/projects/shop/segments/{segment}"),
            Value::Null,
        ),
        _ => (
            "POST",
            format!("/api/v1/projects/shop/environments/{environment}/sdk-keys"),
            json!({"name": "k", "kind": if random.below(2) == 0 { "client" } else { "server" }}),
        ),
    };
    send(admin, method, &path, body).await;
}

async fn full_pull(edge: &Api, environment: &str) -> Snapshot {
    let (status, body) = edge
        .get(&format!("/api/v1/edge/environments/shop/{environment}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    serde_json::from_value(body).unwrap()
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn deltas_applied_in_order_give_exactly_what_a_full_pull_gives(db: PgPool) {
    let server = Server::start(db.clone()).await;
    let admin = server.admin().await;
    create_project(&admin, "shop").await;
    let (_, token) = admin
        .post("/api/v1/edge-tokens", json!({"name": "e"}))
        .await;
    let mut edge = server.anonymous();
    edge.bearer = Some(token["secret"].as_str().unwrap().to_owned());

    let environments = ["development", "staging", "production"];
    for seed in 1..=6u64 {
        let mut held: BTreeMap<&str, Snapshot> = BTreeMap::new();
        for environment in environments {
            held.insert(environment, full_pull(&edge, environment).await);
        }
        let start = newest(&db).await;
        let mut random = Random(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        for _ in 0..30 {
            random_write(&admin, &mut random).await;
        }
        for (_, delta) in deltas_after(&db, start).await {
            let snapshot = held.get_mut(delta.environment.as_str()).unwrap();
            assert_eq!(
                delta.revision,
                snapshot.revision + 1,
                "seed {seed}: in order, no gaps"
            );
            let Change::Patch { ops } = &delta.change else {
                panic!("seed {seed}: only patches here: {delta:?}");
            };
            snapshot.apply(ops, delta.revision);
        }
        for environment in environments {
            assert_eq!(
                held[environment],
                full_pull(&edge, environment).await,
                "seed {seed}: {environment}"
            );
        }
    }
}
