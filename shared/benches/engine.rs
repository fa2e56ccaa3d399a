//! Engine benchmarks; targets and figures live in docs/performance.md.
//!
//! cargo bench -p togglerino-shared --bench engine

use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use togglerino_shared::model::{BorrowedContext, SdkKeyKind};
use togglerino_shared::{EvaluationContext, Snapshot, compile};

/// A flag whose one rule has five conditions, a regex among them, all of which match
/// the benchmark context, so every condition is evaluated.
fn five_condition_flag(key: &str) -> Value {
    json!({
        "flag": {"key": key, "name": key, "type": "boolean", "default_value": false},
        "config": {
            "enabled": true,
            "variants": [{"key": "on", "value": true}, {"key": "off", "value": false}],
            "default_variant": "off",
            "targeting_rules": [{
                "conditions": [
                    {"attribute": "country", "operator": "in", "value": ["NZ", "AU", "GB", "US"]},
                    {"attribute": "plan", "operator": "equals", "value": "PRO", "case_insensitive": true},
                    {"attribute": "email", "operator": "matches", "value": r"^[a-z.]+@acme\.(com|io)$"},
                    {"attribute": "app_version", "operator": "semver_gte", "value": "2.3.0"},
                    {"attribute": "seats", "operator": "greater_than", "value": 10}
                ],
                "variant": "on"
            }]
        }
    })
}

/// A mix shaped like a real project: a third plain toggles, a third targeted at
/// attributes or a segment, a third in percentage rollouts or experiments.
fn realistic_flag(i: usize) -> Value {
    let key = format!("flag-{i:05}");
    let variants = json!([{"key": "on", "value": true}, {"key": "off", "value": false}]);
    // As bench/setup.py: targeting repeats across flags, but not all alike.
    const COUNTRIES: [&[&str]; 6] = [
        &["DE", "FR", "NZ"],
        &["US", "CA"],
        &["GB", "IE"],
        &["JP", "KR", "SG"],
        &["BR", "AR", "CL", "MX"],
        &["AU", "NZ"],
    ];
    const DOMAINS: [&str; 4] = ["@acme.com", "@example.org", "@corp.io", "@test.dev"];
    let rules = match i % 6 {
        0 | 1 => json!([]),
        2 => json!([{
            "conditions": [
                {"attribute": "country", "operator": "in", "value": COUNTRIES[i / 6 % COUNTRIES.len()]},
                {"attribute": "plan", "operator": "not_equals", "value": "free"}
            ],
            "variant": "on"
        }]),
        3 => json!([
            {"conditions": [{"operator": "in_segment", "value": "beta"}], "variant": "on"},
            {"conditions": [{"attribute": "email", "operator": "ends_with", "value": DOMAINS[i / 6 % DOMAINS.len()]}], "variant": "on"}
        ]),
        4 => json!([{"percentage_rollout": 25, "variant": "on"}]),
        _ => json!([
            {"conditions": [{"attribute": "email", "operator": "matches", "value": format!(r"^qa\+{i}@")}], "variant": "on"},
            {"rollout": [{"variant": "on", "weight": 50}, {"variant": "off", "weight": 50}]}
        ]),
    };
    json!({
        "flag": {"key": key, "name": key, "type": "boolean", "default_value": false},
        "config": {"enabled": !i.is_multiple_of(7), "variants": variants, "default_variant": "off", "targeting_rules": rules}
    })
}

fn snapshot(flags: Vec<Value>) -> Snapshot {
    serde_json::from_value(json!({
        "project": "bench", "environment": "production", "revision": 1,
        "flags": flags,
        "segments": [{
            "key": "beta", "name": "Beta",
            "included": (0..200).map(|i| format!("beta-{i}")).collect::<Vec<_>>(),
            "conditions": [{"attribute": "plan", "operator": "equals", "value": "enterprise"}]
        }]
    }))
    .unwrap()
}

fn context() -> EvaluationContext {
    EvaluationContext::new("user-4711")
        .with("country", "NZ")
        .with("plan", "pro")
        .with("email", "jo.bloggs@acme.com")
        .with("app_version", "2.4.1")
        .with("seats", 25)
}

fn benchmarks(c: &mut Criterion) {
    let context = context();

    let single = compile(&snapshot(vec![five_condition_flag("checkout")])).unwrap();
    let served = single.evaluate("checkout", &context).unwrap();
    assert_eq!(served.variant, Some("on"), "every condition must match");
    c.bench_function("evaluate one flag, 5 conditions incl. regex", |b| {
        b.iter(|| single.evaluate(black_box("checkout"), black_box(&context)))
    });

    let project = compile(&snapshot((0..350).map(realistic_flag).collect())).unwrap();
    c.bench_function("evaluate all 350 flags", |b| {
        b.iter(|| project.evaluate_all(black_box(&context)))
    });
    // What the edge serves: the JSON answer, written straight into a buffer, every
    // answer counted for insights.
    let mut out = Vec::new();
    c.bench_function("write all 350 flags as JSON, counted", |b| {
        b.iter(|| {
            out.clear();
            project.write_all_json(black_box(&context), SdkKeyKind::Server, &mut out)
        })
    });

    // A request's context as `bench/evaluate.lua` sends it: built into owned strings
    // and a map, or read in place as the edge does.
    let body = br#"{"user_id": "user-48213", "attributes": {"country": "NZ", "plan": "pro", "email": "jo@acme.com"}}"#;
    let mut group = c.benchmark_group("parse a request's context");
    group.bench_function("owned (EvaluationContext)", |b| {
        b.iter(|| serde_json::from_slice::<EvaluationContext>(black_box(body)).unwrap())
    });
    group.bench_function("borrowed (BorrowedContext)", |b| {
        b.iter(|| serde_json::from_slice::<BorrowedContext>(black_box(body)).unwrap())
    });
    group.finish();

    let large = snapshot((0..10_000).map(realistic_flag).collect());
    let mut group = c.benchmark_group("compile");
    group.sample_size(20);
    group.bench_function("compile 10,000-flag snapshot", |b| {
        b.iter_batched(|| &large, |s| compile(s).unwrap(), BatchSize::SmallInput)
    });
    group.finish();
}

criterion_group!(benches, benchmarks);
criterion_main!(benches);
