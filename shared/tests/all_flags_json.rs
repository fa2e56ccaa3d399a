//! The fast paths (`write_all_json` and `write_json_for`: answers written when the
//! snapshot was compiled, fixed ones not even evaluated), reading the context as the
//! edge does (borrowed from its JSON), write exactly the JSON that serializing
//! `evaluate_all_for` and `evaluate_for` of the owned context gives, for
//! random snapshots (off, archived, hidden, ruled and rule-less flags, prerequisite
//! chains, values of every type) and random contexts, for both kinds of SDK key.

use proptest::prelude::*;
use serde::Serialize;
use serde::ser::SerializeMap;
use serde_json::{Value, json};
use togglerino_shared::model::{BorrowedContext, SdkKeyKind};
use togglerino_shared::{Evaluation, EvaluationContext, Snapshot, compile};

struct Map<'a>(Vec<(&'a str, Evaluation<'a>)>);

impl Serialize for Map<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, evaluation) in &self.0 {
            map.serialize_entry(key, evaluation)?;
        }
        map.end()
    }
}

/// One flag of the random snapshot: its settings, prerequisites on earlier flags only
/// (so there is never a cycle), and values of several JSON types.
#[derive(Debug, Clone)]
struct FlagSpec {
    enabled: bool,
    archived: bool,
    client_visible: bool,
    rules: u8,
    percentage: bool,
    prerequisite: Option<(usize, bool)>,
    values: u8,
}

fn flag_spec() -> impl Strategy<Value = FlagSpec> {
    (
        any::<bool>(),
        prop::bool::weighted(0.15),
        prop::bool::weighted(0.7),
        0u8..4,
        any::<bool>(),
        prop::option::weighted(0.3, (0usize..64, any::<bool>())),
        0u8..4,
    )
        .prop_map(
            |(enabled, archived, client_visible, rules, percentage, prerequisite, values)| {
                FlagSpec {
                    enabled,
                    archived,
                    client_visible,
                    rules,
                    percentage,
                    prerequisite,
                    values,
                }
            },
        )
}

fn flag_json(index: usize, spec: &FlagSpec) -> Value {
    let key = format!("flag-{index:02}");
    let (kind, on, off, default) = match spec.values {
        0 => ("boolean", json!(true), json!(false), json!(false)),
        1 => ("string", json!("blue \"sky\""), json!("red\n"), json!("")),
        2 => ("number", json!(1.5), json!(-3), json!(0)),
        _ => (
            "json",
            json!({"a": [1, null, "x"]}),
            json!([]),
            json!({"fallback": true}),
        ),
    };
    let mut rules = Vec::new();
    for r in 0..spec.rules {
        rules.push(if spec.percentage && r == 0 {
            json!({"percentage_rollout": 40.0, "variant": "on", "salt": format!("s{index}")})
        } else if spec.percentage && r == 2 {
            json!({
                "conditions": [{"attribute": "plan", "operator": "matches", "value": "^(pro|team)$"}],
                "rollout": [{"variant": "on", "weight": 30}, {"variant": "off", "weight": 70}]
            })
        } else if r == 2 {
            // Two conditions, one an anchored pattern.
            json!({
                "conditions": [
                    {"attribute": "plan", "operator": "matches", "value": "^t", "case_insensitive": index.is_multiple_of(2)},
                    {"attribute": "plan", "operator": "not_equals", "value": "free"}
                ],
                "variant": "on"
            })
        } else {
            // Conditions several flags state alike, and look-alikes that differ.
            let condition = match (r, index % 4) {
                (0, 0) => json!({"attribute": "plan", "operator": "equals", "value": "pro"}),
                (0, 1) => json!({"attribute": "plan", "operator": "not_equals", "value": "pro"}),
                (0, 2) => json!({"attribute": "plan", "operator": "equals", "value": "PRO", "case_insensitive": true}),
                (0, _) => json!({"attribute": "plan", "operator": "in", "value": ["pro", "team"]}),
                // Other attributes, so that each must be told apart from the rest.
                (1, 0 | 2) => json!({"attribute": "country", "operator": "in", "value": ["NZ", "DE"]}),
                (1, _) => json!({"attribute": "user_id", "operator": "starts_with", "value": "a"}),
                _ => json!({"attribute": "plan", "operator": "equals", "value": "free"}),
            };
            json!({
                "conditions": [condition],
                "variant": if r == 0 { "on" } else { "off" }
            })
        });
    }
    let mut config = json!({
        "enabled": spec.enabled,
        "variants": [{"key": "on", "value": on}, {"key": "off", "value": off}],
        "default_variant": "off",
        "targeting_rules": rules,
    });
    if let Some((parent, wants_on)) = spec.prerequisite
        && index > 0
    {
        config["prerequisites"] = json!([{
            "flag": format!("flag-{:02}", parent % index),
            "variant": if wants_on { "on" } else { "off" }
        }]);
    }
    json!({
        "flag": {
            "key": key, "name": key, "type": kind, "default_value": default,
            "archived": spec.archived, "client_visible": spec.client_visible
        },
        "config": config,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn the_fast_path_writes_what_evaluate_all_serializes(
        specs in prop::collection::vec(flag_spec(), 0..40),
        users in prop::collection::vec((
            "[a-z0-9]{0,6}",
            prop::option::of(prop::sample::select(vec!["pro", "free", "team"])),
            prop::option::of(prop::sample::select(vec!["NZ", "DE", "pro"])),
        ), 1..6),
    ) {
        let flags: Vec<Value> = specs.iter().enumerate().map(|(i, s)| flag_json(i, s)).collect();
        let snapshot: Snapshot = serde_json::from_value(json!({
            "project": "p", "environment": "e", "revision": 3, "flags": flags
        })).unwrap();
        let compiled = match compile(&snapshot) {
            Ok(compiled) => compiled,
            Err(errors) => panic!("{errors}"),
        };
        for (user, plan, country) in users {
            let mut context = EvaluationContext::new(user);
            if let Some(plan) = plan {
                context = context.with("plan", plan);
            }
            if let Some(country) = country {
                context = context.with("country", country);
            }
            // The fast paths read the context as the edge does: parsed from its JSON,
            // borrowing the strings.
            let text = serde_json::to_vec(&context).unwrap();
            let borrowed: BorrowedContext = serde_json::from_slice(&text).unwrap();
            for kind in [SdkKeyKind::Server, SdkKeyKind::Client] {
                let expected = serde_json::to_vec(&Map(compiled.evaluate_all_for(&context, kind))).unwrap();
                let mut written = b"prefix".to_vec();
                let count = compiled.write_all_json(&borrowed, kind, &mut written);
                prop_assert_eq!(
                    String::from_utf8_lossy(&written[6..]),
                    String::from_utf8_lossy(&expected)
                );
                prop_assert_eq!(count, compiled.evaluate_all_for(&context, kind).len());
                for key in compiled.flag_keys() {
                    let mut one = Vec::new();
                    match compiled.evaluate_for(key, &context, kind) {
                        Ok(evaluation) => {
                            compiled.write_json_for(key, &borrowed, kind, &mut one).unwrap();
                            prop_assert_eq!(one, serde_json::to_vec(&evaluation).unwrap());
                        }
                        Err(_) => prop_assert!(compiled.write_json_for(key, &borrowed, kind, &mut one).is_err()),
                    }
                }
            }
        }
    }
}
