use serde_json::{Value, json};

use super::*;
use crate::engine::{EvaluationResult, Reason};
use crate::model::EvaluationContext;

fn snapshot(flags: Value) -> CompiledSnapshot {
    snapshot_with(flags, json!([]))
}

fn snapshot_with(flags: Value, segments: Value) -> CompiledSnapshot {
    let snapshot: Snapshot = serde_json::from_value(json!({
        "project": "shop", "environment": "production", "revision": 7,
        "flags": flags, "segments": segments,
        "sdk_keys": [{"id": "k1", "kind": "server", "sha256": crate::model::sdk_key_hash_hex("sdk_0123")}]
    }))
    .unwrap();
    compile(&snapshot).unwrap_or_else(|e| panic!("{e}"))
}

/// A boolean flag, on unless `enabled` says otherwise, with the given rules.
fn boolean_flag(key: &str, config: Value) -> Value {
    let mut full = json!({
        "enabled": true,
        "variants": [{"key": "on", "value": true}, {"key": "off", "value": false}],
        "default_variant": "off",
    });
    for (k, v) in config.as_object().unwrap() {
        full[k] = v.clone();
    }
    json!({
        "flag": {"key": key, "name": key, "type": "boolean", "default_value": false},
        "config": full,
    })
}

fn eval(snapshot: &CompiledSnapshot, key: &str, context: &EvaluationContext) -> EvaluationResult {
    snapshot.evaluate(key, context).unwrap().to_result()
}

fn result(value: Value, variant: Option<&str>, reason: Reason) -> EvaluationResult {
    EvaluationResult {
        value,
        variant: variant.map(str::to_owned),
        reason,
    }
}

#[test]
fn a_disabled_or_archived_flag_serves_its_default_value() {
    let mut archived = boolean_flag("archived", json!({"targeting_rules": [{"variant": "on"}]}));
    archived["flag"]["archived"] = json!(true);
    let disabled = boolean_flag(
        "disabled",
        json!({"enabled": false, "targeting_rules": [{"variant": "on"}]}),
    );
    let s = snapshot(json!([archived, disabled]));
    let anyone = EvaluationContext::new("u1");
    assert_eq!(
        eval(&s, "archived", &anyone),
        result(json!(false), None, Reason::Disabled)
    );
    assert_eq!(
        eval(&s, "disabled", &anyone),
        result(json!(false), None, Reason::Disabled)
    );
}

#[test]
fn the_default_value_of_the_flag_differs_from_the_default_variant() {
    let s = snapshot(json!([{
        "flag": {"key": "banner", "name": "Banner", "type": "string", "default_value": "none"},
        "config": {"enabled": false, "variants": [{"key": "blue", "value": "blue"}], "default_variant": "blue"}
    }, {
        "flag": {"key": "banner-on", "name": "Banner", "type": "string", "default_value": "none"},
        "config": {"enabled": true, "variants": [{"key": "blue", "value": "blue"}], "default_variant": "blue"}
    }]));
    let anyone = EvaluationContext::new("u1");
    assert_eq!(
        eval(&s, "banner", &anyone),
        result(json!("none"), None, Reason::Disabled)
    );
    assert_eq!(
        eval(&s, "banner-on", &anyone),
        result(json!("blue"), Some("blue"), Reason::Default)
    );
}

#[test]
fn the_first_matching_rule_serves() {
    let s = snapshot(json!([boolean_flag(
        "checkout",
        json!({
            "targeting_rules": [
                {"conditions": [{"attribute": "country", "operator": "equals", "value": "NZ"}], "variant": "off"},
                {"conditions": [
                    {"attribute": "plan", "operator": "equals", "value": "pro"},
                    {"attribute": "country", "operator": "in", "value": ["NZ", "AU"]}
                ], "variant": "on"},
                {"conditions": [{"attribute": "plan", "operator": "equals", "value": "pro"}], "variant": "off"},
            ]
        })
    )]));
    let nz_pro = EvaluationContext::new("u1")
        .with("plan", "pro")
        .with("country", "NZ");
    let au_pro = EvaluationContext::new("u1")
        .with("plan", "pro")
        .with("country", "AU");
    let us_pro = EvaluationContext::new("u1")
        .with("plan", "pro")
        .with("country", "US");
    let au_free = EvaluationContext::new("u1")
        .with("plan", "free")
        .with("country", "AU");
    assert_eq!(
        eval(&s, "checkout", &nz_pro),
        result(json!(false), Some("off"), Reason::TargetingMatch)
    );
    // All conditions of the second rule match: it serves before the third is tried.
    assert_eq!(
        eval(&s, "checkout", &au_pro),
        result(json!(true), Some("on"), Reason::TargetingMatch)
    );
    assert_eq!(
        eval(&s, "checkout", &us_pro),
        result(json!(false), Some("off"), Reason::TargetingMatch)
    );
    // Only some conditions match: the rule does not.
    assert_eq!(
        eval(&s, "checkout", &au_free),
        result(json!(false), Some("off"), Reason::Default)
    );
}

#[test]
fn a_rule_without_conditions_matches_everyone() {
    let s = snapshot(json!([boolean_flag(
        "all",
        json!({"targeting_rules": [{"variant": "on"}]})
    )]));
    assert_eq!(
        eval(&s, "all", &EvaluationContext::default()),
        result(json!(true), Some("on"), Reason::TargetingMatch)
    );
}

#[test]
fn a_percentage_rollout_serves_its_share_and_lets_the_rest_fall_through() {
    let s = snapshot(json!([boolean_flag(
        "half",
        json!({
            "targeting_rules": [
                {"percentage_rollout": 50, "variant": "on"},
                {"conditions": [{"attribute": "plan", "operator": "equals", "value": "pro"}], "variant": "on"},
            ]
        })
    )]));
    let mut served = 0;
    let mut fell_through = 0;
    for i in 0..2000 {
        let id = format!("user-{i}");
        let included = crate::engine::bucket("half", &id) < 50_000;
        let free = eval(
            &s,
            "half",
            &EvaluationContext::new(&*id).with("plan", "free"),
        );
        let pro = eval(
            &s,
            "half",
            &EvaluationContext::new(&*id).with("plan", "pro"),
        );
        if included {
            served += 1;
            assert_eq!(free, result(json!(true), Some("on"), Reason::Split));
        } else {
            fell_through += 1;
            assert_eq!(free, result(json!(false), Some("off"), Reason::Default));
            assert_eq!(pro, result(json!(true), Some("on"), Reason::TargetingMatch));
        }
    }
    assert!(
        served > 900 && fell_through > 900,
        "{served} / {fell_through}"
    );
    // Without the bucketing attribute the percentage rule does not match; an empty
    // user id counts as absent.
    for context in [EvaluationContext::default(), EvaluationContext::new("")] {
        assert_eq!(
            eval(&s, "half", &context),
            result(json!(false), Some("off"), Reason::Default)
        );
    }
}

#[test]
fn a_weighted_rollout_walks_the_variants_in_order() {
    let s = snapshot(json!([{
        "flag": {"key": "color", "name": "Color", "type": "string", "default_value": "grey"},
        "config": {
            "enabled": true,
            "variants": [{"key": "red", "value": "red"}, {"key": "green", "value": "green"}, {"key": "blue", "value": "blue"}],
            "default_variant": "red",
            "targeting_rules": [{"rollout": [
                {"variant": "red", "weight": 20.5},
                {"variant": "green", "weight": 0},
                {"variant": "blue", "weight": 79.5}
            ]}]
        }
    }]));
    for i in 0..500 {
        let id = format!("user-{i}");
        let expected = if crate::engine::bucket("color", &id) < 20_500 {
            "red"
        } else {
            "blue"
        };
        assert_eq!(
            eval(&s, "color", &EvaluationContext::new(&*id)),
            result(json!(expected), Some(expected), Reason::Split)
        );
    }
    assert_eq!(
        eval(&s, "color", &EvaluationContext::default()),
        result(json!("red"), Some("red"), Reason::Default)
    );
}

#[test]
fn bucketing_uses_the_rule_attribute_and_salt() {
    let s = snapshot(json!([boolean_flag(
        "by-company",
        json!({
            "targeting_rules": [{"percentage_rollout": 50, "variant": "on", "bucket_by": "company", "salt": "shared"}]
        })
    )]));
    for company in ["acme", "globex", "initech", "umbrella", "hooli", "soylent"] {
        let expected = crate::engine::bucket("shared", company) < 50_000;
        // Everyone of a company gets the same answer, whatever their user id.
        for user in ["a", "b", "c"] {
            let served = eval(
                &s,
                "by-company",
                &EvaluationContext::new(user).with("company", company),
            );
            assert_eq!(served.reason == Reason::Split, expected, "{company}/{user}");
        }
    }
    let numeric = eval(
        &s,
        "by-company",
        &EvaluationContext::new("u").with("company", 42),
    );
    assert_eq!(
        numeric.reason == Reason::Split,
        crate::engine::bucket("shared", "42") < 50_000
    );
    let boolean = eval(
        &s,
        "by-company",
        &EvaluationContext::new("u").with("company", true),
    );
    assert_eq!(boolean.reason, Reason::Default);
}

#[test]
fn prerequisites_must_serve_the_named_variant() {
    let mut archived_parent = boolean_flag(
        "archived-parent",
        json!({"targeting_rules": [{"variant": "on"}]}),
    );
    archived_parent["flag"]["archived"] = json!(true);
    let s = snapshot(json!([
        boolean_flag(
            "child",
            json!({
                "prerequisites": [{"flag": "parent", "variant": "on"}],
                "targeting_rules": [{"variant": "on"}]
            })
        ),
        boolean_flag(
            "parent",
            json!({
                "targeting_rules": [{"conditions": [{"attribute": "beta", "operator": "equals", "value": true}], "variant": "on"}]
            })
        ),
        boolean_flag(
            "off-parent-child",
            json!({
                "prerequisites": [{"flag": "off-parent", "variant": "off"}],
                "targeting_rules": [{"variant": "on"}]
            })
        ),
        boolean_flag("off-parent", json!({"enabled": false})),
        boolean_flag(
            "archived-parent-child",
            json!({
                "prerequisites": [{"flag": "archived-parent", "variant": "on"}],
                "targeting_rules": [{"variant": "on"}]
            })
        ),
        archived_parent,
    ]));
    let beta = EvaluationContext::new("u1").with("beta", true);
    let regular = EvaluationContext::new("u1");
    assert_eq!(
        eval(&s, "child", &beta),
        result(json!(true), Some("on"), Reason::TargetingMatch)
    );
    assert_eq!(
        eval(&s, "child", &regular),
        result(json!(false), None, Reason::PrerequisiteFailed)
    );
    // A disabled prerequisite serves no variant, not even the one its value matches.
    assert_eq!(
        eval(&s, "off-parent-child", &beta),
        result(json!(false), None, Reason::PrerequisiteFailed)
    );
    assert_eq!(
        eval(&s, "archived-parent-child", &beta),
        result(json!(false), None, Reason::PrerequisiteFailed)
    );
}

#[test]
fn prerequisite_chains_and_diamonds_evaluate_each_flag_once() {
    // d needs b and c, which both need a; the single and the bulk evaluation agree.
    let s = snapshot(json!([
        boolean_flag(
            "d",
            json!({"prerequisites": [{"flag": "b", "variant": "on"}, {"flag": "c", "variant": "on"}], "targeting_rules": [{"variant": "on"}]})
        ),
        boolean_flag(
            "b",
            json!({"prerequisites": [{"flag": "a", "variant": "on"}], "targeting_rules": [{"variant": "on"}]})
        ),
        boolean_flag(
            "c",
            json!({"prerequisites": [{"flag": "a", "variant": "on"}], "targeting_rules": [{"variant": "on"}]})
        ),
        boolean_flag(
            "a",
            json!({"targeting_rules": [{"conditions": [{"attribute": "user_id", "operator": "equals", "value": "vip"}], "variant": "on"}]})
        ),
    ]));
    for (user, on) in [("vip", true), ("someone", false)] {
        let context = EvaluationContext::new(user);
        let all: HashMap<&str, EvaluationResult> = s
            .evaluate_all(&context)
            .into_iter()
            .map(|(k, e)| (k, e.to_result()))
            .collect();
        for key in ["a", "b", "c", "d"] {
            assert_eq!(all[key], eval(&s, key, &context), "{key} for {user}");
        }
        assert_eq!(all["d"].value, json!(on));
    }
}

#[test]
fn a_long_prerequisite_chain_does_not_exhaust_the_stack() {
    let n = 5000;
    let flags: Vec<Value> = (0..n)
        .map(|i| {
            let prerequisites = if i + 1 < n {
                json!([{"flag": format!("f{}", i + 1), "variant": "on"}])
            } else {
                json!([])
            };
            boolean_flag(
                &format!("f{i}"),
                json!({"prerequisites": prerequisites, "targeting_rules": [{"variant": "on"}]}),
            )
        })
        .collect();
    let s = snapshot(Value::Array(flags));
    assert_eq!(
        eval(&s, "f0", &EvaluationContext::default()).value,
        json!(true)
    );
}

#[test]
fn evaluate_all_omits_archived_flags_and_keeps_snapshot_order() {
    let mut archived = boolean_flag("old", json!({}));
    archived["flag"]["archived"] = json!(true);
    let s = snapshot(json!([
        boolean_flag("b", json!({})),
        archived,
        boolean_flag("a", json!({}))
    ]));
    let keys: Vec<&str> = s
        .evaluate_all(&EvaluationContext::default())
        .iter()
        .map(|(k, _)| *k)
        .collect();
    assert_eq!(keys, ["b", "a"]);
    // The single-flag API still answers for an archived flag.
    assert_eq!(
        eval(&s, "old", &EvaluationContext::default()).reason,
        Reason::Disabled
    );
}

#[test]
fn an_unknown_flag_is_an_error_not_a_value() {
    let s = snapshot(json!([]));
    let error = s
        .evaluate("nope", &EvaluationContext::default())
        .unwrap_err();
    assert_eq!(error, EvaluationError::FlagNotFound("nope".into()));
    assert_eq!(error.code(), "FLAG_NOT_FOUND");
}

#[test]
fn segments_are_resolved_for_rules() {
    let s = snapshot_with(
        json!([boolean_flag(
            "beta-only",
            json!({
                "targeting_rules": [{"conditions": [{"operator": "in_segment", "value": "beta"}], "variant": "on"}]
            })
        )]),
        json!([{"key": "beta", "name": "Beta", "included": ["u7"], "conditions": [{"attribute": "email", "operator": "ends_with", "value": "@acme.com"}]}]),
    );
    assert_eq!(
        eval(&s, "beta-only", &EvaluationContext::new("u7")).value,
        json!(true)
    );
    assert_eq!(
        eval(
            &s,
            "beta-only",
            &EvaluationContext::new("u8").with("email", "x@acme.com")
        )
        .value,
        json!(true)
    );
    assert_eq!(
        eval(&s, "beta-only", &EvaluationContext::new("u8")).value,
        json!(false)
    );
}

#[test]
fn results_serialize_to_the_wire_shape_with_typed_values() {
    let s = snapshot(json!([{
        "flag": {"key": "ratio", "name": "Ratio", "type": "number", "default_value": 0},
        "config": {"enabled": true, "variants": [{"key": "one", "value": 1.0}, {"key": "half", "value": 0.5}], "default_variant": "one"}
    }, {
        "flag": {"key": "off", "name": "Off", "type": "json", "default_value": {"a": [1]}},
        "config": {"enabled": false, "variants": [{"key": "x", "value": null}], "default_variant": "x"}
    }]));
    let context = EvaluationContext::default();
    let ratio = serde_json::to_string(&s.evaluate("ratio", &context).unwrap()).unwrap();
    // Floats keep their decimal point.
    assert_eq!(ratio, r#"{"value":1.0,"variant":"one","reason":"DEFAULT"}"#);
    let off = serde_json::to_string(&s.evaluate("off", &context).unwrap()).unwrap();
    assert_eq!(
        off,
        r#"{"value":{"a":[1]},"variant":null,"reason":"DISABLED"}"#
    );
    let owned: EvaluationResult = serde_json::from_str(&off).unwrap();
    assert_eq!(owned.reason, Reason::Disabled);
}

#[test]
fn sdk_keys_authenticate_by_hash() {
    let s = snapshot(json!([]));
    assert_eq!(
        s.authenticate("sdk_0123"),
        Some(&SdkKeyInfo {
            id: "k1".into(),
            kind: SdkKeyKind::Server
        })
    );
    assert_eq!(s.authenticate("sdk_0124"), None);
    assert_eq!(
        (s.project(), s.environment(), s.revision()),
        ("shop", "production", 7)
    );
}

/// Every count the tally holds, drained, as `(flag, variant, count)` sorted.
fn drained(s: &CompiledSnapshot) -> Vec<(String, Option<String>, u64)> {
    let mut counts = Vec::new();
    s.tally().drain(|flag, variant, count| {
        counts.push((flag.to_owned(), variant.map(str::to_owned), count));
    });
    counts.sort();
    counts
}

fn count(flag: &str, variant: Option<&str>, n: u64) -> (String, Option<String>, u64) {
    (flag.to_owned(), variant.map(str::to_owned), n)
}

#[test]
fn serving_counts_each_answer_once_and_a_drain_takes_the_counts() {
    let mut hidden = boolean_flag("hidden", json!({}));
    hidden["flag"]["client_visible"] = json!(false);
    let s = snapshot(json!([
        boolean_flag(
            "vip",
            json!({"targeting_rules": [
                {"conditions": [{"attribute": "plan", "operator": "equals", "value": "vip"}], "variant": "on"}
            ]})
        ),
        boolean_flag("dark", json!({"enabled": false})),
        hidden,
    ]));
    let vip = EvaluationContext::new("u1").with("plan", "vip");
    let anyone = EvaluationContext::new("u2");
    s.evaluate("vip", &vip).unwrap();
    s.write_json_for("vip", &anyone, SdkKeyKind::Server, &mut Vec::new())
        .unwrap();
    // Client keys are served only what they can see.
    s.write_all_json(&vip, SdkKeyKind::Client, &mut Vec::new());
    s.write_all_json(&anyone, SdkKeyKind::Server, &mut Vec::new());
    s.evaluate_all_for(&anyone, SdkKeyKind::Server);
    // Explaining a result (the playground) serves nothing.
    s.trace("vip", &vip).unwrap();
    assert!(s.evaluate("missing", &vip).is_err());
    assert_eq!(
        drained(&s),
        vec![
            count("dark", None, 3),
            count("hidden", Some("off"), 2),
            count("vip", Some("off"), 3),
            count("vip", Some("on"), 2),
        ]
    );
    assert_eq!(drained(&s), vec![], "a drain takes what it reports");
    // Fixed answers are counted per all-flags answer: the next drain has only the new.
    s.write_all_json(&anyone, SdkKeyKind::Server, &mut Vec::new());
    assert_eq!(
        drained(&s),
        vec![
            count("dark", None, 1),
            count("hidden", Some("off"), 1),
            count("vip", Some("off"), 1),
        ]
    );
}

#[test]
fn reported_reads_count_only_what_the_key_can_see() {
    let mut hidden = boolean_flag("hidden", json!({}));
    hidden["flag"]["client_visible"] = json!(false);
    let s = snapshot(json!([boolean_flag("f", json!({})), hidden]));
    assert!(s.count_reported("f", Some("on"), SdkKeyKind::Client, 5));
    assert!(s.count_reported("f", None, SdkKeyKind::Client, 2));
    assert!(!s.count_reported("f", Some("purple"), SdkKeyKind::Client, 1));
    assert!(!s.count_reported("nope", Some("on"), SdkKeyKind::Server, 1));
    assert!(!s.count_reported("hidden", Some("on"), SdkKeyKind::Client, 1));
    assert!(s.count_reported("hidden", Some("on"), SdkKeyKind::Server, 1));
    assert_eq!(
        drained(&s),
        vec![
            count("f", None, 2),
            count("f", Some("on"), 5),
            count("hidden", Some("on"), 1)
        ]
    );
}

#[test]
fn counts_from_many_threads_all_arrive() {
    let s = snapshot(json!([boolean_flag("f", json!({}))]));
    let anyone = EvaluationContext::new("u1");
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                for _ in 0..1000 {
                    s.evaluate("f", &anyone).unwrap();
                }
            });
        }
    });
    assert_eq!(drained(&s), vec![count("f", Some("off"), 8000)]);
}

#[test]
fn a_constant_answer_is_found_whatever_the_rules_say() {
    let when_vip = json!([{"attribute": "plan", "operator": "equals", "value": "vip"}]);
    let s = snapshot(json!([
        boolean_flag("plain", json!({})),
        boolean_flag(
            "dark",
            json!({"enabled": false, "targeting_rules": [{"variant": "on"}]})
        ),
        boolean_flag(
            "targeted",
            json!({"targeting_rules": [{"conditions": when_vip, "variant": "on"}]})
        ),
        boolean_flag(
            "same-anyway",
            json!({"targeting_rules": [{"conditions": when_vip, "variant": "off"}]})
        ),
        boolean_flag(
            "rolled-out",
            json!({"targeting_rules": [{"percentage_rollout": 100, "variant": "on"}]})
        ),
        boolean_flag(
            "half",
            json!({"targeting_rules": [{"percentage_rollout": 50, "variant": "on"}]})
        ),
        boolean_flag(
            "everyone-first",
            json!({"targeting_rules": [
                {"variant": "on"},
                {"conditions": when_vip, "variant": "off"}
            ]})
        ),
        boolean_flag(
            "needs-plain",
            json!({"prerequisites": [{"flag": "plain", "variant": "off"}]})
        ),
    ]));
    assert_eq!(s.constant_answer("plain"), Some(Some("off")));
    assert_eq!(s.constant_answer("dark"), Some(None));
    assert_eq!(s.constant_answer("targeted"), None);
    assert_eq!(s.constant_answer("same-anyway"), Some(Some("off")));
    assert_eq!(s.constant_answer("rolled-out"), Some(Some("on")));
    assert_eq!(s.constant_answer("half"), None);
    assert_eq!(s.constant_answer("everyone-first"), Some(Some("on")));
    assert_eq!(s.constant_answer("needs-plain"), None);
    assert_eq!(s.constant_answer("missing"), None);
}
