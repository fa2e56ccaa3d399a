use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;
use crate::model::{EvaluationContext, Segment};

fn segments() -> Segments {
    let beta: Segment = serde_json::from_value(json!({
        "key": "beta", "name": "Beta testers",
        "included": ["u-in"], "excluded": ["u-out"],
        "conditions": [{"attribute": "plan", "operator": "equals", "value": "beta"}]
    }))
    .unwrap();
    let listed: Segment = serde_json::from_value(json!({
        "key": "listed", "name": "Listed only", "included": ["u-in"]
    }))
    .unwrap();
    [beta, listed]
        .into_iter()
        .map(|s| {
            (
                s.key.clone(),
                Arc::new(CompiledSegment::compile(&s).unwrap()),
            )
        })
        .collect()
}

fn compile(condition: Value) -> Result<CompiledCondition, ValidationErrors> {
    let condition: Condition = serde_json::from_value(condition).unwrap();
    CompiledCondition::compile(&condition, Some(&segments()))
}

/// Whether `attribute <operator> operand` holds when the context's attribute `a` is
/// `value` (`None`: the attribute is absent).
fn eval(operator: &str, operand: Value, value: Option<Value>) -> bool {
    eval_with(
        json!({"attribute": "a", "operator": operator, "value": operand}),
        value,
    )
}

fn eval_ci(operator: &str, operand: Value, value: Value) -> bool {
    eval_with(
        json!({"attribute": "a", "operator": operator, "value": operand, "case_insensitive": true}),
        Some(value),
    )
}

fn eval_with(condition: Value, value: Option<Value>) -> bool {
    let condition = compile(condition).unwrap();
    let mut context = EvaluationContext::new("u1");
    if let Some(value) = value {
        context.attributes.insert("a".into(), value);
    }
    condition.matches(&context)
}

fn yes(operator: &str, operand: Value, value: Value) {
    assert!(
        eval(operator, operand.clone(), Some(value.clone())),
        "{value} {operator} {operand} should match"
    );
}

fn no(operator: &str, operand: Value, value: Value) {
    assert!(
        !eval(operator, operand.clone(), Some(value.clone())),
        "{value} {operator} {operand} should not match"
    );
}

/// The values a positive operator never matches, whatever its operand.
fn never_matching(operator: &str, operand: Value) {
    assert!(!eval(operator, operand.clone(), None), "absent {operator}");
    for value in [
        json!(null),
        json!({"x": 1}),
        json!([]),
        json!([null, [1], {}]),
    ] {
        no(operator, operand.clone(), value);
    }
}

#[test]
fn equals_compares_scalars_without_coercion() {
    yes("equals", json!("gold"), json!("gold"));
    no("equals", json!("gold"), json!("Gold"));
    yes("equals", json!(1), json!(1.0));
    yes("equals", json!(-2.5), json!(-2.5));
    yes("equals", json!(true), json!(true));
    no("equals", json!(false), json!("false"));
    no("equals", json!("12"), json!(12));
    no("equals", json!(12), json!("12"));
    no("equals", json!(1), json!(true));
    yes("equals", json!("b"), json!(["a", "b"]));
    no("equals", json!("c"), json!(["a", "b"]));
    never_matching("equals", json!("x"));
}

#[test]
fn equals_case_insensitive_lowercases_both_sides() {
    assert!(eval_ci("equals", json!("GOLD"), json!("gold")));
    // Lower-casing, not case folding: "STRASSE" lowers to "strasse", not "straße".
    assert!(!eval_ci("equals", json!("straße"), json!("STRASSE")));
    assert!(eval_ci("equals", json!("ÉCOLE"), json!("école")));
    assert!(!eval_ci("equals", json!("1"), json!(1)));
}

#[test]
fn in_matches_any_listed_scalar() {
    yes("in", json!(["a", 2, true]), json!("a"));
    yes("in", json!(["a", 2, true]), json!(2.0));
    yes("in", json!(["a", 2, true]), json!(true));
    no("in", json!(["a", 2, true]), json!("2"));
    no("in", json!(["a", 2, true]), json!(false));
    yes("in", json!(["a", "b"]), json!(["z", "b"]));
    no("in", json!(["a", "b"]), json!(["z", "y"]));
    assert!(eval_ci("in", json!(["Alpha", "BETA"]), json!("beta")));
    never_matching("in", json!(["x"]));
}

#[test]
fn string_operators_match_substrings_and_affixes() {
    yes("contains", json!("@acme"), json!("jo@acme.com"));
    no("contains", json!("@acme"), json!("jo@other.com"));
    yes("contains", json!(""), json!("anything"));
    yes("starts_with", json!("jo"), json!("jo@acme.com"));
    no("starts_with", json!("acme"), json!("jo@acme.com"));
    yes("ends_with", json!(".com"), json!("jo@acme.com"));
    no("ends_with", json!(".org"), json!("jo@acme.com"));
    yes("ends_with", json!(".com"), json!(["x.org", "y.com"]));
    no("contains", json!("1"), json!(123));
    no("starts_with", json!("t"), json!(true));
    assert!(eval_ci("contains", json!("ACME"), json!("jo@Acme.com")));
    assert!(eval_ci("starts_with", json!("JO"), json!("jo@acme.com")));
    assert!(eval_ci("ends_with", json!(".COM"), json!("JO@ACME.com")));
    for operator in ["contains", "starts_with", "ends_with"] {
        never_matching(operator, json!("x"));
    }
}

#[test]
fn numeric_comparisons_take_numbers_and_numeric_strings() {
    yes("greater_than", json!(10), json!(11));
    no("greater_than", json!(10), json!(10));
    yes("gte", json!(10), json!(10.0));
    yes("less_than", json!(10), json!(-1.5e3));
    no("less_than", json!(10), json!(10));
    yes("lte", json!(10), json!(10));
    no("lte", json!(10), json!(10.001));
    yes("greater_than", json!(10), json!("12"));
    yes("less_than", json!(0), json!("-1.5e3"));
    no("greater_than", json!(10), json!(" 12"));
    no("greater_than", json!(10), json!("NaN"));
    no("greater_than", json!(10), json!("twelve"));
    no("greater_than", json!(0), json!(true));
    yes("greater_than", json!(10), json!([1, "20"]));
    for operator in ["greater_than", "less_than", "gte", "lte"] {
        never_matching(operator, json!(0));
    }
}

#[test]
fn matches_is_an_unanchored_regex_search() {
    yes("matches", json!("acme"), json!("jo@acme.com"));
    no("matches", json!("^acme"), json!("jo@acme.com"));
    yes(
        "matches",
        json!(r"^[a-z]+@acme\.com$"),
        json!("jo@acme.com"),
    );
    no(
        "matches",
        json!(r"^[a-z]+@acme\.com$"),
        json!("Jo@acme.com"),
    );
    assert!(eval_ci(
        "matches",
        json!(r"^[a-z]+@ACME\.com$"),
        json!("Jo@acme.com")
    ));
    // The pattern is compiled case-insensitively, never lower-cased: \W stays \W.
    assert!(eval_ci("matches", json!(r"^\W$"), json!("!")));
    assert!(!eval_ci("matches", json!(r"^\W$"), json!("w")));
    no("matches", json!("1"), json!(1));
    yes("matches", json!("^b"), json!(["a", "b"]));
    never_matching("matches", json!(".*"));
}

#[test]
fn semver_operators_use_precedence() {
    yes("semver_eq", json!("1.2.3"), json!("v1.2.3"));
    yes("semver_eq", json!("V1.2.3"), json!("1.2.3+build.7"));
    no("semver_eq", json!("1.2.3"), json!("1.2.4"));
    yes("semver_gt", json!("1.2.3"), json!("1.10.0"));
    no("semver_gt", json!("1.0.0"), json!("1.0.0-rc.1"));
    yes("semver_lt", json!("1.0.0"), json!("1.0.0-rc.1"));
    yes("semver_gte", json!("2.0.0"), json!("2.0.0"));
    yes("semver_lte", json!("2.0.0"), json!("1.99.99"));
    no("semver_lte", json!("2.0.0"), json!("2.0.1"));
    no("semver_gte", json!("2.0.0"), json!("2.0"));
    no("semver_eq", json!("2.0.0"), json!(2));
    yes("semver_gte", json!("2.0.0"), json!(["1.0.0", "3.0.0"]));
    for operator in [
        "semver_eq",
        "semver_gt",
        "semver_gte",
        "semver_lt",
        "semver_lte",
    ] {
        never_matching(operator, json!("1.0.0"));
    }
}

#[test]
fn before_and_after_compare_instants_strictly() {
    let at = json!("2025-06-01T12:00:00Z");
    yes("before", at.clone(), json!("2025-06-01T11:59:59.999Z"));
    no("before", at.clone(), json!("2025-06-01T12:00:00Z"));
    no("after", at.clone(), json!("2025-06-01T12:00:00Z"));
    // The same instant written with another offset is neither before nor after.
    no("after", at.clone(), json!("2025-06-01T14:00:00+02:00"));
    no("before", at.clone(), json!("2025-06-01T14:00:00+02:00"));
    yes("after", at.clone(), json!("2025-06-01t12:00:01z"));
    no("after", at.clone(), json!("2030-01-01 00:00:00Z"));
    no("after", at.clone(), json!(1_900_000_000));
    for operator in ["before", "after"] {
        never_matching(operator, at.clone());
    }
}

#[test]
fn exists_means_present_and_not_null() {
    let exists =
        |value: Option<Value>| eval_with(json!({"attribute": "a", "operator": "exists"}), value);
    assert!(exists(Some(json!(""))));
    assert!(exists(Some(json!([]))));
    assert!(exists(Some(json!([null]))));
    assert!(exists(Some(json!(false))));
    assert!(exists(Some(json!(0))));
    assert!(!exists(Some(json!(null))));
    assert!(!exists(None));
}

#[test]
fn user_id_is_read_from_the_context_and_empty_counts_as_absent() {
    let condition = compile(json!({"attribute": "user_id", "operator": "exists"})).unwrap();
    let equals =
        compile(json!({"attribute": "user_id", "operator": "equals", "value": "u1"})).unwrap();
    let not_in =
        compile(json!({"attribute": "user_id", "operator": "not_in", "value": ["x"]})).unwrap();
    let mut context = EvaluationContext::new("u1").with("user_id", "other");
    assert!(condition.matches(&context));
    assert!(equals.matches(&context));
    context.user_id = Some(String::new());
    assert!(!condition.matches(&context));
    assert!(not_in.matches(&context));
    context.user_id = None;
    assert!(!condition.matches(&context));
    assert!(!equals.matches(&context));
}

#[test]
fn other_attribute_names_are_read_literally() {
    let condition =
        compile(json!({"attribute": "user.plan", "operator": "equals", "value": "pro"})).unwrap();
    assert!(condition.matches(&EvaluationContext::default().with("user.plan", "pro")));
    let nested = EvaluationContext::default().with("user", json!({"plan": "pro"}));
    assert!(!condition.matches(&nested));
}

#[test]
fn segment_membership() {
    let in_beta = compile(json!({"operator": "in_segment", "value": "beta"})).unwrap();
    let not_in_beta = compile(json!({"operator": "not_in_segment", "value": "beta"})).unwrap();
    let in_listed = compile(json!({"operator": "in_segment", "value": "listed"})).unwrap();
    let cases = [
        // Included wins over the conditions…
        (EvaluationContext::new("u-in"), true, true),
        // …excluded wins over everything.
        (
            EvaluationContext::new("u-out").with("plan", "beta"),
            false,
            false,
        ),
        (
            EvaluationContext::new("u2").with("plan", "beta"),
            true,
            false,
        ),
        (
            EvaluationContext::new("u2").with("plan", "free"),
            false,
            false,
        ),
        (
            EvaluationContext::default().with("plan", "beta"),
            true,
            false,
        ),
        (EvaluationContext::default(), false, false),
    ];
    for (context, beta, listed) in cases {
        assert_eq!(in_beta.matches(&context), beta, "{context:?} in beta");
        assert_eq!(
            not_in_beta.matches(&context),
            !beta,
            "{context:?} not in beta"
        );
        assert_eq!(in_listed.matches(&context), listed, "{context:?} in listed");
    }
}

#[test]
fn a_segment_without_conditions_or_members_holds_nobody() {
    let empty: Segment = serde_json::from_value(json!({"key": "empty", "name": "Empty"})).unwrap();
    let empty = CompiledSegment::compile(&empty).unwrap();
    assert!(!empty.contains(&EvaluationContext::new("anyone")));
    assert!(!empty.contains(&EvaluationContext::default()));
}

const POSITIVE_OPERATORS: [(&str, &str); 5] = [
    ("equals", "not_equals"),
    ("contains", "not_contains"),
    ("in", "not_in"),
    ("exists", "not_exists"),
    ("in_segment", "not_in_segment"),
];

fn operand_for(operator: &str) -> Option<Value> {
    match operator {
        "equals" => Some(json!("b")),
        "contains" => Some(json!("b")),
        "in" => Some(json!(["b", 1, true])),
        "exists" => None,
        "in_segment" => Some(json!("beta")),
        _ => unreachable!(),
    }
}

fn attribute_value() -> impl Strategy<Value = Option<Value>> {
    let scalar = prop_oneof![
        Just(json!(null)),
        any::<bool>().prop_map(Value::from),
        (-3i64..3).prop_map(Value::from),
        prop::sample::select(vec!["", "b", "B", "abc", "beta", "1"]).prop_map(Value::from),
    ];
    let value = prop_oneof![
        scalar.clone(),
        prop::collection::vec(scalar.clone(), 0..3).prop_map(Value::from),
        Just(json!({"b": 1})),
    ];
    prop::option::of(value)
}

proptest! {
    /// Every `not_*` operator is the exact complement of its twin, for absent, null,
    /// mistyped and list-valued attributes alike.
    #[test]
    fn negated_operators_are_exact_complements(
        value in attribute_value(),
        user_id in prop::option::of(prop::sample::select(vec!["", "u-in", "u-out", "u2"])),
        plan in prop::option::of(prop::sample::select(vec!["beta", "free"])),
        ci in any::<bool>(),
    ) {
        for (positive, negative) in POSITIVE_OPERATORS {
            let case_insensitive = ci && Operator::ALL
                .iter()
                .any(|op| op.as_str() == positive && op.is_string_operator());
            let condition = |operator: &str| {
                let mut c = json!({"operator": operator, "case_insensitive": case_insensitive});
                if let Some(operand) = operand_for(positive) {
                    c["value"] = operand;
                }
                if !positive.ends_with("segment") {
                    c["attribute"] = json!("a");
                }
                compile(c).unwrap()
            };
            let mut context = EvaluationContext { user_id: user_id.map(str::to_owned), ..Default::default() };
            if let Some(value) = &value {
                context.attributes.insert("a".into(), value.clone());
            }
            if let Some(plan) = plan {
                context.attributes.insert("plan".into(), plan.into());
            }
            prop_assert_eq!(
                condition(negative).matches(&context),
                !condition(positive).matches(&context),
                "{} vs {} on {:?}", negative, positive, context
            );
        }
    }
}

#[test]
fn every_operator_rejects_a_wrong_operand_at_write_time() {
    let bad = |condition: Value| compile(condition).unwrap_err().to_string();
    let c = |operator: &str, value: Value| json!({"attribute": "a", "operator": operator, "value": value});
    assert_eq!(
        bad(c("equals", json!([1]))),
        "value: must be a string, number or boolean"
    );
    assert_eq!(
        bad(c("not_equals", json!({"a": 1}))),
        "value: must be a string, number or boolean"
    );
    assert_eq!(
        bad(json!({"attribute": "a", "operator": "equals"})),
        "value: a value is required"
    );
    assert_eq!(bad(c("in", json!([]))), "value: must be a non-empty list");
    assert_eq!(
        bad(c("not_in", json!("a"))),
        "value: must be a list of strings, numbers or booleans"
    );
    assert_eq!(
        bad(c("in", json!(["a", ["b"]]))),
        "value[1]: must be a string, number or boolean"
    );
    assert_eq!(
        bad(c("in", json!(["a", null]))),
        "value[1]: must be a string, number or boolean"
    );
    assert_eq!(bad(c("contains", json!(1))), "value: must be a string");
    assert_eq!(
        bad(c("greater_than", json!("12"))),
        "value: must be a number"
    );
    assert_eq!(
        bad(c("exists", json!(true))),
        "value: exists takes no value"
    );
    assert_eq!(
        bad(c("matches", json!("(ab"))),
        "value: invalid regex: unclosed group"
    );
    assert!(bad(c("matches", json!("a(?=b)"))).starts_with("value: invalid regex: look-around"));
    assert!(
        bad(c("semver_gt", json!("2.0"))).starts_with("value: invalid semantic version \"2.0\"")
    );
    assert!(
        bad(c("before", json!("2025-01-01 00:00:00Z")))
            .starts_with("value: invalid RFC 3339 timestamp")
    );
    assert!(bad(c("after", json!("yesterday"))).starts_with("value: invalid RFC 3339 timestamp"));
    assert_eq!(
        bad(json!({"operator": "in_segment", "value": "nope"})),
        "value: unknown segment \"nope\""
    );
    assert_eq!(
        bad(json!({"attribute": "a", "operator": "in_segment", "value": "beta"})),
        "attribute: in_segment takes no attribute"
    );
    assert_eq!(
        bad(json!({"operator": "equals", "value": 1})),
        "attribute: equals needs an attribute"
    );
    assert_eq!(
        bad(json!({"attribute": "", "operator": "equals", "value": 1})),
        "attribute: attribute name must not be empty"
    );
}

#[test]
fn case_insensitive_is_only_for_string_operators() {
    for operator in Operator::ALL {
        let mut condition = json!({"operator": operator, "case_insensitive": true});
        match operator.negated().unwrap_or(operator) {
            Operator::Exists => {}
            Operator::InSegment => condition["value"] = json!("beta"),
            Operator::In => condition["value"] = json!(["x"]),
            Operator::GreaterThan | Operator::LessThan | Operator::Gte | Operator::Lte => {
                condition["value"] = json!(1)
            }
            Operator::SemverEq
            | Operator::SemverGt
            | Operator::SemverGte
            | Operator::SemverLt
            | Operator::SemverLte => condition["value"] = json!("1.0.0"),
            Operator::Before | Operator::After => {
                condition["value"] = json!("2025-01-01T00:00:00Z")
            }
            _ => condition["value"] = json!("x"),
        }
        if !matches!(operator, Operator::InSegment | Operator::NotInSegment) {
            condition["attribute"] = json!("a");
        }
        let result = compile(condition);
        if operator.is_string_operator() {
            assert!(result.is_ok(), "{operator}: {result:?}");
        } else {
            let error = result.unwrap_err().to_string();
            assert!(
                error.starts_with("case_insensitive: "),
                "{operator}: {error}"
            );
        }
    }
}

#[test]
fn segments_cannot_reference_segments() {
    let condition: Condition =
        serde_json::from_value(json!({"operator": "in_segment", "value": "beta"})).unwrap();
    let error = CompiledCondition::compile(&condition, None).unwrap_err();
    assert_eq!(
        error.to_string(),
        "operator: a segment cannot refer to another segment"
    );
}
