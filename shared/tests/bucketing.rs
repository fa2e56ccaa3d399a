//! Bucketing as users see it: through compiled snapshots, over 100,000 ids at a time.
//! The statistical properties run with a fixed proptest seed so CI is deterministic; the
//! tolerance of ±0.5 points is over three standard deviations at 100,000 samples.

use std::sync::LazyLock;

use proptest::prelude::*;
use proptest::test_runner::RngSeed;
use serde::Deserialize;
use serde_json::{Value, json};
use togglerino_shared::engine::{BUCKETS, bucket};
use togglerino_shared::{CompiledSnapshot, EvaluationContext, Reason, Snapshot, compile};

const IDS: usize = 100_000;

static CONTEXTS: LazyLock<Vec<EvaluationContext>> = LazyLock::new(|| {
    (0..IDS)
        .map(|i| EvaluationContext::new(format!("user-{i}")))
        .collect()
});

#[derive(Deserialize)]
struct Vector {
    salt: String,
    value: String,
    bucket: u32,
}

#[test]
fn the_engine_reproduces_the_published_bucketing_vectors() {
    let vectors: Vec<Vector> =
        serde_json::from_str(include_str!("../testdata/bucketing.json")).unwrap();
    assert!(vectors.len() >= 50);
    assert!(
        vectors.iter().any(|v| v.value.is_empty()) && vectors.iter().any(|v| v.salt.is_empty())
    );
    assert!(vectors.iter().any(|v| !v.value.is_ascii()));
    for v in &vectors {
        assert_eq!(
            bucket(&v.salt, &v.value),
            v.bucket,
            "{:?}/{:?}",
            v.salt,
            v.value
        );
    }
}

/// A snapshot with one boolean flag `f` whose single rule is `rule`.
fn flag_with_rule(rule: Value) -> CompiledSnapshot {
    let snapshot: Snapshot = serde_json::from_value(json!({
        "project": "p", "environment": "e", "revision": 1,
        "flags": [{
            "flag": {"key": "f", "name": "F", "type": "string", "default_value": "off"},
            "config": {
                "enabled": true,
                "variants": [
                    {"key": "a", "value": "a"}, {"key": "b", "value": "b"}, {"key": "c", "value": "c"},
                    {"key": "d", "value": "d"}, {"key": "z", "value": "z"}
                ],
                "default_variant": "z",
                "targeting_rules": [rule]
            }
        }]
    }))
    .unwrap();
    compile(&snapshot).unwrap()
}

fn percentage(p: f64, salt: &str) -> CompiledSnapshot {
    flag_with_rule(json!({"percentage_rollout": p, "variant": "a", "salt": salt}))
}

/// Which of the 100,000 contexts the rollout serves.
fn included(snapshot: &CompiledSnapshot) -> Vec<bool> {
    CONTEXTS
        .iter()
        .map(|c| snapshot.evaluate("f", c).unwrap().reason == Reason::Split)
        .collect()
}

fn share(included: &[bool]) -> f64 {
    included.iter().filter(|&&i| i).count() as f64 * 100.0 / included.len() as f64
}

/// Percentages with at most three decimals, as people type them.
fn percent() -> impl Strategy<Value = f64> {
    (0u32..=BUCKETS).prop_map(|b| f64::from(b) / 1000.0)
}

fn salt() -> impl Strategy<Value = String> {
    "[a-z0-9-]{1,12}"
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 6,
        rng_seed: RngSeed::Fixed(0x7061_6e74_6f67),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..config() })]

    #[test]
    fn a_bucket_is_stable_and_in_range(salt in any::<String>(), value in any::<String>()) {
        let b = bucket(&salt, &value);
        prop_assert!(b < BUCKETS);
        prop_assert_eq!(b, bucket(&salt, &value));
    }

    #[test]
    fn evaluation_is_stable_across_recompiled_snapshots(p in percent(), salt in salt(), id in any::<String>()) {
        let context = EvaluationContext::new(id);
        let first = percentage(p, &salt).evaluate("f", &context).unwrap().to_result();
        let again = percentage(p, &salt).evaluate("f", &context).unwrap().to_result();
        prop_assert_eq!(first, again);
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn a_percentage_rollout_includes_its_share(p in percent(), salt in salt()) {
        let got = share(&included(&percentage(p, &salt)));
        prop_assert!((got - p).abs() <= 0.5, "{}% rollout served {}%", p, got);
    }

    #[test]
    fn raising_a_percentage_only_adds_users(low in percent(), high in percent(), salt in salt()) {
        let (low, high) = if low <= high { (low, high) } else { (high, low) };
        let before = included(&percentage(low, &salt));
        let after = included(&percentage(high, &salt));
        prop_assert!(before.iter().zip(&after).all(|(b, a)| !b || *a));
    }

    #[test]
    fn a_weighted_rollout_lands_within_half_a_point_of_each_weight(
        cuts in prop::collection::vec(0u32..=BUCKETS, 3),
        salt in salt(),
    ) {
        let mut cuts = cuts;
        cuts.sort_unstable();
        let bounds = [0, cuts[0], cuts[1], cuts[2], BUCKETS];
        let weights: Vec<f64> = bounds.windows(2).map(|w| f64::from(w[1] - w[0]) / 1000.0).collect();
        let rollout: Vec<Value> = ["a", "b", "c", "d"]
            .iter()
            .zip(&weights)
            .map(|(variant, weight)| json!({"variant": variant, "weight": weight}))
            .collect();
        let snapshot = flag_with_rule(json!({"rollout": rollout, "salt": salt}));
        let mut counts = [0usize; 4];
        for context in CONTEXTS.iter() {
            let served = snapshot.evaluate("f", context).unwrap();
            let index = ["a", "b", "c", "d"].iter().position(|v| Some(*v) == served.variant).unwrap();
            counts[index] += 1;
        }
        for (count, weight) in counts.iter().zip(&weights) {
            let got = *count as f64 * 100.0 / IDS as f64;
            prop_assert!((got - weight).abs() <= 0.5, "weights {:?} served {:?}", weights, counts);
        }
    }

    #[test]
    fn different_salts_bucket_independently(first in salt(), second in salt()) {
        prop_assume!(first != second);
        let a = included(&percentage(50.0, &first));
        let b = included(&percentage(50.0, &second));
        let both = a.iter().zip(&b).filter(|(x, y)| **x && **y).count() as f64 * 100.0 / IDS as f64;
        let expected = share(&a) * share(&b) / 100.0;
        prop_assert!((both - expected).abs() <= 0.5, "both {}% vs {}% expected", both, expected);
    }
}

#[test]
fn zero_percent_includes_nobody_and_hundred_everybody() {
    for salt in ["f", "other-salt"] {
        assert_eq!(share(&included(&percentage(0.0, salt))), 0.0);
        assert_eq!(share(&included(&percentage(100.0, salt))), 100.0);
    }
}
