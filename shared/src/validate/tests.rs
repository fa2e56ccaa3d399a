use serde_json::{Value, json};

use super::*;
use crate::model::{EvaluationContext, Snapshot, SnapshotFlag};

fn flag(key: &str, flag_type: &str, default_value: Value) -> Flag {
    serde_json::from_value(
        json!({"key": key, "name": "A flag", "type": flag_type, "default_value": default_value}),
    )
    .unwrap()
}

fn config(json: Value) -> FlagConfig {
    serde_json::from_value(json).unwrap()
}

fn boolean_config(extra: Value) -> FlagConfig {
    let mut base = json!({
        "enabled": true,
        "variants": [{"key": "on", "value": true}, {"key": "off", "value": false}],
        "default_variant": "off"
    });
    for (k, v) in extra.as_object().unwrap() {
        base[k] = v.clone();
    }
    config(base)
}

fn segments() -> Vec<Segment> {
    vec![
        serde_json::from_value(json!({"key": "beta", "name": "Beta", "included": ["u1"]})).unwrap(),
    ]
}

/// An environment with flags `a` (needs `b`), `b`, `c`, all boolean.
fn environment() -> (Vec<(String, FlagConfig)>, EnvironmentView) {
    let flags = vec![
        (
            "a".to_owned(),
            boolean_config(json!({"prerequisites": [{"flag": "b", "variant": "on"}]})),
        ),
        ("b".to_owned(), boolean_config(json!({}))),
        ("c".to_owned(), boolean_config(json!({}))),
    ];
    let view = EnvironmentView::new(flags.iter().map(|(k, c)| (k.as_str(), c)), &segments());
    (flags, view)
}

/// Every error message for `config` of a boolean flag `x`, as `path: message` strings.
fn errors(config: FlagConfig) -> Vec<String> {
    errors_for(&flag("x", "boolean", json!(false)), config)
}

fn messages_of(errors: ValidationErrors) -> Vec<String> {
    errors.errors().iter().map(ToString::to_string).collect()
}

fn errors_for(flag: &Flag, config: FlagConfig) -> Vec<String> {
    let (_, view) = environment();
    match validate_flag_config(flag, &config, &view) {
        Ok(()) => Vec::new(),
        Err(errors) => messages_of(errors),
    }
}

fn rules(rules: Value) -> FlagConfig {
    boolean_config(json!({"targeting_rules": rules}))
}

#[test]
fn a_valid_config_passes() {
    let valid = rules(json!([
        {"conditions": [{"operator": "in_segment", "value": "beta"}], "variant": "on"},
        {"conditions": [{"attribute": "email", "operator": "matches", "value": "@acme\\.com$", "case_insensitive": true}], "percentage_rollout": 12.345, "variant": "on"},
        {"rollout": [{"variant": "on", "weight": 33.333}, {"variant": "off", "weight": 66.667}], "bucket_by": "org", "salt": "s"}
    ]));
    assert_eq!(errors(valid), Vec::<String>::new());
}

#[test]
fn the_initial_config_of_every_type_is_valid() {
    for (flag_type, default) in [
        ("boolean", json!(true)),
        ("boolean", json!(false)),
        ("string", json!("hello")),
        ("number", json!(2.5)),
        ("json", json!({"theme": "dark"})),
    ] {
        let f = flag("x", flag_type, default.clone());
        assert_eq!(validate_flag(&f), Ok(()));
        let initial = FlagConfig::initial(&f);
        assert!(!initial.enabled);
        assert_eq!(errors_for(&f, initial.clone()), Vec::<String>::new());
        let default_variant = initial
            .variants
            .iter()
            .find(|v| v.key == initial.default_variant)
            .unwrap();
        assert_eq!(default_variant.value, default, "{flag_type}");
    }
    let boolean = FlagConfig::initial(&flag("x", "boolean", json!(true)));
    assert_eq!(
        boolean
            .variants
            .iter()
            .map(|v| v.key.as_str())
            .collect::<Vec<_>>(),
        ["on", "off"]
    );
}

#[test]
fn config_errors_carry_the_json_path() {
    assert_eq!(
        errors(rules(json!([
            {"variant": "on"},
            {"variant": "on"},
            {"conditions": [{"attribute": "a", "operator": "matches", "value": "(ab"}], "variant": "on"}
        ]))),
        ["targeting_rules[2].conditions[0].value: invalid regex: unclosed group"]
    );
    assert_eq!(
        errors(rules(json!([{"conditions": [
            {"attribute": "v", "operator": "semver_gt", "value": "2.0"},
            {"attribute": "t", "operator": "before", "value": "tomorrow"},
            {"attribute": "l", "operator": "in", "value": []},
            {"attribute": "l", "operator": "equals", "value": {"a": 1}},
            {"attribute": "n", "operator": "gte", "value": 1, "case_insensitive": true},
            {"operator": "in_segment", "value": "gamma"}
        ], "variant": "on"}]))),
        [
            "targeting_rules[0].conditions[0].value: invalid semantic version \"2.0\": expected MAJOR.MINOR.PATCH, e.g. 2.0.0",
            "targeting_rules[0].conditions[1].value: invalid RFC 3339 timestamp \"tomorrow\": expected e.g. 2025-01-31T12:00:00Z",
            "targeting_rules[0].conditions[2].value: must be a non-empty list",
            "targeting_rules[0].conditions[3].value: must be a string, number or boolean",
            "targeting_rules[0].conditions[4].case_insensitive: gte does not take case_insensitive; only string operators do",
            "targeting_rules[0].conditions[5].value: unknown segment \"gamma\"",
        ]
    );
}

#[test]
fn variants_must_exist_be_unique_and_fit_the_type() {
    assert_eq!(
        errors(config(
            json!({"enabled": true, "variants": [], "default_variant": "on"})
        )),
        [
            "variants: a flag needs at least one variant",
            "default_variant: unknown variant \"on\""
        ]
    );
    assert_eq!(
        errors(config(
            json!({"enabled": true, "variants": [{"key": "on", "value": true}], "default_variant": ""})
        )),
        ["default_variant: a default variant is required"]
    );
    assert_eq!(
        errors(config(json!({
            "enabled": true,
            "variants": [{"key": "on", "value": true}, {"key": "on", "value": false}, {"key": "Off", "value": "false"}],
            "default_variant": "on"
        }))),
        [
            "variants[1].key: duplicate variant key \"on\"",
            "variants[2].key: invalid variant key \"Off\": use lowercase letters, digits, '_', '.' and '-', starting with a letter or digit",
            "variants[2].value: must be a boolean for a boolean flag",
        ]
    );
    let number = flag("n", "number", json!(0));
    assert_eq!(
        errors_for(
            &number,
            config(
                json!({"enabled": true, "variants": [{"key": "a", "value": "1"}], "default_variant": "a"})
            )
        ),
        ["variants[0].value: must be a number for a number flag"]
    );
    let string = flag("s", "string", json!(""));
    assert_eq!(
        errors_for(
            &string,
            config(
                json!({"enabled": true, "variants": [{"key": "a", "value": null}], "default_variant": "a"})
            )
        ),
        ["variants[0].value: must be a string for a string flag"]
    );
    let any = flag("j", "json", json!(null));
    for value in [
        json!(null),
        json!(1),
        json!("s"),
        json!([1]),
        json!({"a": {}}),
    ] {
        let valid = config(
            json!({"enabled": true, "variants": [{"key": "a", "value": value}], "default_variant": "a"}),
        );
        assert_eq!(errors_for(&any, valid), Vec::<String>::new());
    }
}

#[test]
fn rules_must_serve_defined_variants() {
    assert_eq!(
        errors(rules(json!([{"variant": "maybe"}]))),
        ["targeting_rules[0].variant: unknown variant \"maybe\""]
    );
    assert_eq!(
        errors(rules(json!([{"conditions": []}]))),
        ["targeting_rules[0].variant: a rule must serve a variant or a rollout"]
    );
    assert_eq!(
        errors(rules(
            json!([{"rollout": [{"variant": "maybe", "weight": 100}]}])
        )),
        ["targeting_rules[0].rollout[0].variant: unknown variant \"maybe\""]
    );
    assert_eq!(
        errors(rules(json!([{"percentage_rollout": 10}]))),
        ["targeting_rules[0].variant: percentage_rollout needs the variant to serve"]
    );
    assert_eq!(
        errors(rules(
            json!([{"variant": "on", "rollout": [{"variant": "on", "weight": 100}]}])
        )),
        ["targeting_rules[0].variant: a rule serves either a variant or a rollout, not both"]
    );
}

#[test]
fn percentages_and_weights_are_checked() {
    assert_eq!(
        errors(rules(
            json!([{"variant": "on", "percentage_rollout": 10, "rollout": [{"variant": "on", "weight": 100}]}])
        )),
        [
            "targeting_rules[0].percentage_rollout: percentage_rollout cannot be combined with rollout"
        ]
    );
    assert_eq!(
        errors(rules(
            json!([{"variant": "on", "percentage_rollout": 100.5}, {"variant": "on", "percentage_rollout": -1}, {"variant": "on", "percentage_rollout": 1.0001}])
        )),
        [
            "targeting_rules[0].percentage_rollout: must be between 0 and 100, got 100.5",
            "targeting_rules[1].percentage_rollout: must be between 0 and 100, got -1",
            "targeting_rules[2].percentage_rollout: must have at most 3 decimals, got 1.0001",
        ]
    );
    assert_eq!(
        errors(rules(
            json!([{"rollout": [{"variant": "on", "weight": -10}, {"variant": "off", "weight": 110}]}])
        )),
        [
            "targeting_rules[0].rollout[0].weight: must not be negative, got -10",
            "targeting_rules[0].rollout[1].weight: must be between 0 and 100, got 110",
        ]
    );
    assert_eq!(
        errors(rules(
            json!([{"rollout": [{"variant": "on", "weight": 33.333}, {"variant": "off", "weight": 66.666}]}])
        )),
        ["targeting_rules[0].rollout: weights must sum to exactly 100, got 99.999"]
    );
    assert_eq!(
        errors(rules(
            json!([{"rollout": [{"variant": "on", "weight": 0}, {"variant": "off", "weight": 100}]}])
        )),
        Vec::<String>::new()
    );
    assert_eq!(
        errors(rules(
            json!([{"rollout": [{"variant": "on", "weight": 50}, {"variant": "on", "weight": 50}]}])
        )),
        ["targeting_rules[0].rollout[1].variant: \"on\" appears twice in the rollout"]
    );
    assert_eq!(
        errors(rules(json!([{"rollout": []}]))),
        ["targeting_rules[0].rollout: a rollout needs at least one variant"]
    );
}

#[test]
fn prerequisites_must_name_existing_flags_and_variants() {
    assert_eq!(
        errors(boolean_config(json!({"prerequisites": [
            {"flag": "nope", "variant": "on"},
            {"flag": "c", "variant": "maybe"}
        ]}))),
        [
            "prerequisites[0].flag: unknown flag \"nope\"",
            "prerequisites[1].variant: flag \"c\" has no variant \"maybe\"",
        ]
    );
    assert_eq!(
        errors(boolean_config(
            json!({"prerequisites": [{"flag": "x", "variant": "on"}, {"flag": "c", "variant": "on"}, {"flag": "c", "variant": "off"}]})
        )),
        [
            "prerequisites[0].flag: a flag cannot be its own prerequisite",
            "prerequisites[2].flag: \"c\" is already a prerequisite",
        ]
    );
}

#[test]
fn prerequisite_cycles_are_rejected() {
    // a already needs b; b needing a closes the loop.
    let b = flag("b", "boolean", json!(false));
    assert_eq!(
        errors_for(
            &b,
            boolean_config(json!({"prerequisites": [{"flag": "a", "variant": "on"}]}))
        ),
        ["prerequisites: prerequisite cycle: b -> a -> b"]
    );
    // c needing a is fine: a -> b, c -> a.
    let c = flag("c", "boolean", json!(false));
    assert_eq!(
        errors_for(
            &c,
            boolean_config(json!({"prerequisites": [{"flag": "a", "variant": "on"}]}))
        ),
        Vec::<String>::new()
    );
}

#[test]
fn flags_have_valid_keys_names_defaults_and_tags() {
    let mut f = flag("New Flag", "number", json!("1"));
    f.name = " ".into();
    f.tags = vec!["ui".into(), "ui".into(), " padded".into(), "x".repeat(65)];
    let messages: Vec<String> = validate_flag(&f).map_err(messages_of).unwrap_err();
    assert_eq!(
        messages,
        [
            "key: invalid flag key \"New Flag\": use lowercase letters, digits, '_', '.' and '-', starting with a letter or digit",
            "name: a name is required",
            "default_value: must be a number for a number flag",
            "tags[1]: duplicate tag \"ui\"",
            "tags[2]: a tag has 1 to 64 characters, without surrounding spaces",
            "tags[3]: a tag has 1 to 64 characters, without surrounding spaces",
        ]
    );
}

#[test]
fn segments_are_validated_and_cannot_nest() {
    let segment: Segment = serde_json::from_value(json!({
        "key": "Beta!", "name": "Beta", "included": ["", "u1"],
        "conditions": [
            {"operator": "in_segment", "value": "other"},
            {"attribute": "email", "operator": "matches", "value": "["}
        ]
    }))
    .unwrap();
    let messages: Vec<String> = validate_segment(&segment).map_err(messages_of).unwrap_err();
    assert_eq!(
        messages[0],
        "key: invalid segment key \"Beta!\": use lowercase letters, digits, '_', '.' and '-', starting with a letter or digit"
    );
    assert_eq!(messages[1], "included[0]: user id must not be empty");
    assert_eq!(
        messages[2],
        "conditions[0].operator: a segment cannot refer to another segment"
    );
    assert!(
        messages[3].starts_with("conditions[1].value: invalid regex: unclosed character class"),
        "{}",
        messages[3]
    );
}

#[test]
fn parse_errors_name_the_path() {
    let unknown_operator = br#"{"enabled": true, "variants": [{"key": "on", "value": true}], "default_variant": "on",
        "targeting_rules": [{"conditions": [{"attribute": "a", "operator": "resembles", "value": 1}], "variant": "on"}]}"#;
    let error = parse_json::<FlagConfig>(unknown_operator).unwrap_err();
    assert_eq!(error.field, "targeting_rules[0].conditions[0].operator");
    assert!(
        error
            .message
            .starts_with("unknown variant `resembles`, expected one of `equals`"),
        "{}",
        error.message
    );

    let unknown_field = parse_json::<FlagConfig>(
        br#"{"enabled": true, "variants": [], "default_variant": "on", "rules": []}"#,
    )
    .unwrap_err();
    assert_eq!(unknown_field.field, "rules");
    assert!(
        unknown_field.message.starts_with("unknown field `rules`"),
        "{}",
        unknown_field.message
    );

    let wrong_type = parse_json::<Flag>(
        br#"{"key": "k", "name": "n", "type": "boolean", "default_value": true, "archived": "no"}"#,
    )
    .unwrap_err();
    assert_eq!(
        wrong_type.to_string(),
        "archived: invalid type: string \"no\", expected a boolean"
    );

    let truncated = parse_json::<Flag>(b"{\"key\": ").unwrap_err();
    assert_eq!(truncated.field, "key");
    let trailing = parse_json::<EvaluationContext>(b"{\"user_id\": \"u\"} {}").unwrap_err();
    assert_eq!(trailing.to_string(), "trailing characters");
    assert!(parse_json::<EvaluationContext>(b" {\"user_id\": \"u\"}\n").is_ok());
    let malformed = parse_json::<Flag>(b"nope").unwrap_err();
    assert_eq!(malformed.field, "");
    assert!(
        malformed.message.starts_with("expected"),
        "{}",
        malformed.message
    );
}

#[test]
fn snapshots_are_validated_whole() {
    let good = SnapshotFlag {
        flag: flag("a", "boolean", json!(false)),
        config: boolean_config(json!({})),
    };
    let mut snapshot = Snapshot {
        project: "Shop".into(),
        environment: "prod".into(),
        revision: 1,
        flags: vec![good.clone(), good],
        segments: Vec::new(),
        sdk_keys: vec![
            serde_json::from_value(json!({"id": "1", "kind": "client", "sha256": "ABC"})).unwrap(),
        ],
    };
    let messages: Vec<String> = crate::engine::compile(&snapshot)
        .map_err(messages_of)
        .unwrap_err();
    assert_eq!(
        messages,
        [
            "project: invalid project key \"Shop\": use lowercase letters, digits, '_', '.' and '-', starting with a letter or digit",
            "flags[1].flag.key: duplicate flag key \"a\"",
        ]
    );
    snapshot.project = "shop".into();
    snapshot.flags.pop();
    let messages: Vec<String> = crate::engine::compile(&snapshot)
        .map_err(messages_of)
        .unwrap_err();
    assert_eq!(
        messages,
        ["sdk_keys[0].sha256: must be 64 lowercase hexadecimal digits"]
    );

    // A cycle across the snapshot, and a prerequisite on an unknown variant.
    snapshot.sdk_keys.clear();
    snapshot.flags = vec![
        SnapshotFlag {
            flag: flag("a", "boolean", json!(false)),
            config: boolean_config(json!({"prerequisites": [{"flag": "b", "variant": "on"}]})),
        },
        SnapshotFlag {
            flag: flag("b", "boolean", json!(false)),
            config: boolean_config(json!({"prerequisites": [{"flag": "a", "variant": "on"}]})),
        },
    ];
    let error = crate::engine::compile(&snapshot).unwrap_err();
    assert_eq!(
        error.to_string(),
        "flags[0].config.prerequisites: prerequisite cycle: a -> b -> a"
    );
    snapshot.flags[1].config.prerequisites[0].variant = "maybe".into();
    let error = crate::engine::compile(&snapshot).unwrap_err();
    assert_eq!(
        error.to_string(),
        "flags[1].config.prerequisites[0].variant: flag \"a\" has no variant \"maybe\""
    );
}

#[test]
fn keys_of_every_kind_are_checked() {
    for kind in [
        KeyKind::Project,
        KeyKind::Environment,
        KeyKind::Flag,
        KeyKind::Variant,
        KeyKind::Segment,
    ] {
        assert!(validate_key(kind, "key", "good-key_1.0").is_ok());
        assert!(validate_key(kind, "key", "Bad").is_err());
    }
}

#[test]
fn configs_name_the_segments_they_use() {
    let config = rules(json!([
        {"conditions": [{"operator": "in_segment", "value": "beta"}, {"attribute": "a", "operator": "equals", "value": "beta"}], "variant": "on"},
        {"conditions": [{"operator": "not_in_segment", "value": "staff"}], "variant": "off"}
    ]));
    assert_eq!(config.segment_keys().collect::<Vec<_>>(), ["beta", "staff"]);
}

#[test]
fn parsed_values_report_paths_too() {
    let error = parse_json_value::<FlagConfig>(
        json!({"enabled": "yes", "variants": [], "default_variant": "x"}),
    )
    .unwrap_err();
    assert_eq!(error.field, "enabled");
}

#[test]
fn percentages_serialize_as_typed() {
    let rule: crate::model::Rule = serde_json::from_value(json!({
        "rollout": [{"variant": "a", "weight": 50}, {"variant": "b", "weight": 12.5}]
    }))
    .unwrap();
    assert_eq!(
        serde_json::to_value(&rule).unwrap(),
        json!({"conditions": [], "rollout": [{"variant": "a", "weight": 50}, {"variant": "b", "weight": 12.5}]})
    );
    let rule: crate::model::Rule =
        serde_json::from_value(json!({"percentage_rollout": 25, "variant": "on"})).unwrap();
    assert_eq!(
        serde_json::to_value(&rule).unwrap()["percentage_rollout"],
        json!(25)
    );
}

fn matches(pattern: &str) -> Value {
    json!({"attribute": "email", "operator": "matches", "value": pattern})
}

#[test]
fn limits_name_what_went_over_before_anything_compiles() {
    let many_rules: Vec<Value> = (0..201).map(|_| json!({"variant": "on"})).collect();
    assert_eq!(
        errors(rules(json!(many_rules))),
        ["targeting_rules: at most 200 rules per config"]
    );
    let many_conditions: Vec<Value> = (0..101)
        .map(|_| json!({"attribute": "plan", "operator": "exists"}))
        .collect();
    assert_eq!(
        errors(rules(
            json!([{"conditions": many_conditions, "variant": "on"}])
        )),
        ["targeting_rules[0].conditions: at most 100 conditions"]
    );
    // The eleventh pattern is named, across rules; none of them was compiled.
    let six: Vec<Value> = (0..6).map(|_| matches(r"\w{150}")).collect();
    assert_eq!(
        errors(rules(json!([
            {"conditions": six.clone(), "variant": "on"},
            {"conditions": six, "variant": "on"}
        ]))),
        ["targeting_rules[1].conditions[4]: at most 10 `matches` conditions per config"]
    );
    // One pattern too large for every edge to hold.
    let blowup = errors(rules(
        json!([{"conditions": [matches(r"\w{150}")], "variant": "on"}]),
    ));
    assert_eq!(blowup.len(), 1);
    assert!(
        blowup[0].starts_with("targeting_rules[0].conditions[0].value: invalid regex: pattern compiles to more than 262144 bytes"),
        "{blowup:?}"
    );
    let segment: Segment = serde_json::from_value(json!({
        "key": "s", "name": "S",
        "conditions": (0..11).map(|_| matches("^a")).collect::<Vec<_>>()
    }))
    .unwrap();
    assert_eq!(
        messages_of(validate_segment(&segment).unwrap_err()),
        ["conditions[10]: at most 10 `matches` conditions per segment"]
    );
}

#[test]
fn an_environment_holds_a_bounded_number_of_patterns() {
    let others = (0..19).map(|i| FlagShapeIn {
        key: format!("other-{i}"),
        variants: vec!["on".into(), "off".into()],
        prerequisites: vec![],
        regexes: 10,
    });
    let with_segment: Vec<Segment> = vec![
        serde_json::from_value(
            json!({"key": "s", "name": "S", "conditions": [matches("^a"), matches("^b")]}),
        )
        .unwrap(),
    ];
    let view = EnvironmentView::from_shapes(others, &with_segment);
    let flag = flag("x", "boolean", json!(false));
    let eight: Vec<Value> = (0..8).map(|i| matches(&format!("^{i}"))).collect();
    assert!(
        validate_flag_config(
            &flag,
            &rules(json!([{"conditions": eight, "variant": "on"}])),
            &view
        )
        .is_ok()
    );
    let nine: Vec<Value> = (0..9).map(|i| matches(&format!("^{i}"))).collect();
    let refused = validate_flag_config(
        &flag,
        &rules(json!([{"conditions": nine, "variant": "on"}])),
        &view,
    );
    assert_eq!(
        messages_of(refused.unwrap_err()),
        [
            "targeting_rules: the environment would hold 201 `matches` conditions (its flags' and its project's segments'); at most 200"
        ]
    );
}
