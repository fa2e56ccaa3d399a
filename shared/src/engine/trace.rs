//! Why an evaluation came out as it did, for people: which prerequisites held, and for
//! each rule whether each condition matched and where the context's bucket fell. Built
//! from the same compiled pieces evaluation uses, and tested to agree with it; never on
//! the evaluation path itself.

use serde::Serialize;

use super::EvaluationResult;

/// The evaluation of one flag, explained.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Trace {
    pub flag: String,
    pub result: EvaluationResult,
    /// `archived`, `disabled`, `prerequisite_failed`, or `null` when the flag was on.
    pub off: Option<&'static str>,
    pub prerequisites: Vec<PrerequisiteTrace>,
    /// Every rule, in order; rules after the one that served are `not_reached`.
    pub rules: Vec<RuleTrace>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PrerequisiteTrace {
    pub flag: String,
    pub required_variant: String,
    /// What the prerequisite flag served; `null` when it was off.
    pub served_variant: Option<String>,
    pub met: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RuleTrace {
    /// Whether each condition matched, in order (empty when the rule was not reached).
    pub conditions: Vec<bool>,
    /// The context's bucket (0–99,999) for a percentage or split rule whose conditions
    /// all matched; `null` otherwise, or when the context lacks the bucketing attribute.
    pub bucket: Option<u32>,
    /// The bucket must be below this for a percentage rule to serve.
    pub threshold: Option<u32>,
    pub outcome: RuleOutcome,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RuleOutcome {
    /// The flag was off, or an earlier rule served.
    NotReached,
    /// At least one condition did not match.
    ConditionsFailed,
    /// The context has no value for the bucketing attribute.
    NoBucketingValue,
    /// The bucket fell outside the percentage: on to the next rule.
    OutsidePercentage,
    /// This rule served.
    Served,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::engine::{Reason, bucket, compile};
    use crate::model::{EvaluationContext, Snapshot};

    fn snapshot() -> crate::engine::CompiledSnapshot {
        let snapshot: Snapshot = serde_json::from_value(json!({
            "project": "shop", "environment": "production", "revision": 1,
            "flags": [
                {"flag": {"key": "base", "name": "Base", "type": "boolean", "default_value": false},
                 "config": {"enabled": true, "variants": [{"key": "on", "value": true}, {"key": "off", "value": false}],
                            "default_variant": "off",
                            "targeting_rules": [{"conditions": [{"attribute": "plan", "operator": "equals", "value": "pro"}], "variant": "on"}]}},
                {"flag": {"key": "checkout", "name": "Checkout", "type": "string", "default_value": "old"},
                 "config": {"enabled": true,
                            "variants": [{"key": "a", "value": "A"}, {"key": "b", "value": "B"}, {"key": "old", "value": "old"}],
                            "default_variant": "old",
                            "prerequisites": [{"flag": "base", "variant": "on"}],
                            "targeting_rules": [
                                {"conditions": [{"attribute": "country", "operator": "in", "value": ["DE"]},
                                                {"attribute": "beta", "operator": "equals", "value": true}],
                                 "variant": "a"},
                                {"conditions": [{"attribute": "country", "operator": "in", "value": ["DE"]}],
                                 "variant": "a", "percentage_rollout": 30},
                                {"rollout": [{"variant": "a", "weight": 50}, {"variant": "b", "weight": 50}], "bucket_by": "company"}
                            ]}},
                {"flag": {"key": "off-flag", "name": "Off", "type": "boolean", "default_value": false},
                 "config": {"enabled": false, "variants": [{"key": "on", "value": true}], "default_variant": "on",
                            "targeting_rules": [{"conditions": [], "variant": "on"}]}}
            ]
        }))
        .unwrap();
        compile(&snapshot).unwrap()
    }

    fn context(user: &str, attributes: serde_json::Value) -> EvaluationContext {
        serde_json::from_value(json!({"user_id": user, "attributes": attributes})).unwrap()
    }

    #[test]
    fn each_rule_says_what_happened_to_it() {
        let compiled = snapshot();
        // Find a user outside the 30 % rollout, so rule 2 falls through to the split.
        let user = (0..)
            .map(|i| format!("u{i}"))
            .find(|u| bucket("checkout", u) >= 30_000)
            .unwrap();
        let trace = compiled
            .trace(
                "checkout",
                &context(
                    &user,
                    json!({"plan": "pro", "country": "DE", "company": "acme"}),
                ),
            )
            .unwrap();
        assert_eq!(trace.off, None);
        assert_eq!(
            trace.prerequisites,
            vec![PrerequisiteTrace {
                flag: "base".into(),
                required_variant: "on".into(),
                served_variant: Some("on".into()),
                met: true
            }]
        );
        assert_eq!(trace.rules[0].conditions, vec![true, false]);
        assert_eq!(trace.rules[0].outcome, RuleOutcome::ConditionsFailed);
        assert_eq!(trace.rules[1].outcome, RuleOutcome::OutsidePercentage);
        assert_eq!(trace.rules[1].threshold, Some(30_000));
        assert_eq!(trace.rules[1].bucket, Some(bucket("checkout", &user)));
        assert_eq!(trace.rules[2].outcome, RuleOutcome::Served);
        assert_eq!(trace.rules[2].bucket, Some(bucket("checkout", "acme")));
        assert_eq!(trace.result.reason, Reason::Split);
    }

    #[test]
    fn off_flags_and_failed_prerequisites_reach_no_rule() {
        let compiled = snapshot();
        let off = compiled
            .trace("off-flag", &context("u1", json!({})))
            .unwrap();
        assert_eq!(off.off, Some("disabled"));
        assert_eq!(off.rules[0].outcome, RuleOutcome::NotReached);

        let trace = compiled
            .trace("checkout", &context("u1", json!({"plan": "free"})))
            .unwrap();
        assert_eq!(trace.off, Some("prerequisite_failed"));
        assert_eq!(
            trace.prerequisites[0].served_variant.as_deref(),
            Some("off")
        );
        assert!(
            trace
                .rules
                .iter()
                .all(|r| r.outcome == RuleOutcome::NotReached)
        );
        assert_eq!(trace.result.reason, Reason::PrerequisiteFailed);

        // Without the bucketing attribute the split cannot place the context.
        let trace = compiled
            .trace("checkout", &context("u1", json!({"plan": "pro"})))
            .unwrap();
        assert_eq!(trace.rules[2].outcome, RuleOutcome::NoBucketingValue);
        assert_eq!(trace.result.reason, Reason::Default);
    }

    #[test]
    fn traces_agree_with_evaluation() {
        let compiled = snapshot();
        for i in 0..2_000 {
            let attributes = json!({
                "plan": if i % 3 == 0 { "free" } else { "pro" },
                "country": if i % 2 == 0 { "DE" } else { "FR" },
                "beta": i % 5 == 0,
                "company": format!("c{}", i % 7),
            });
            let ctx = context(&format!("user-{i}"), attributes);
            for flag in ["base", "checkout", "off-flag"] {
                let trace = compiled.trace(flag, &ctx).unwrap();
                assert_eq!(
                    trace.result,
                    compiled.evaluate(flag, &ctx).unwrap().to_result()
                );
                let served = trace
                    .rules
                    .iter()
                    .filter(|r| r.outcome == RuleOutcome::Served)
                    .count();
                let by_rule = matches!(trace.result.reason, Reason::TargetingMatch | Reason::Split);
                assert_eq!(served, usize::from(by_rule), "{flag} {i}: {trace:?}");
            }
        }
    }
}
