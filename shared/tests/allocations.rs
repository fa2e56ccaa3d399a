//! Evaluation reads the compiled snapshot and allocates nothing beyond its result. A
//! counting allocator proves it: counts are per thread, so parallel tests don't interfere.
#![allow(unsafe_code)] // a global allocator cannot be written without it

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use serde_json::json;
use togglerino_shared::model::{BorrowedContext, SdkKeyKind};
use togglerino_shared::{EvaluationContext, Snapshot, compile};

struct CountingAllocator;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count_one() {
    // try_with: the thread-local is gone while a thread shuts down.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

// SAFETY: every call is forwarded unchanged to the system allocator.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

fn allocations_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = ALLOCATIONS.with(Cell::get);
    let result = f();
    (result, ALLOCATIONS.with(Cell::get) - before)
}

fn snapshot() -> Snapshot {
    let rule_flag = |key: &str, rules: serde_json::Value, prerequisites: serde_json::Value| {
        json!({
            "flag": {"key": key, "name": key, "type": "boolean", "default_value": false},
            "config": {
                "enabled": true,
                "variants": [{"key": "on", "value": true}, {"key": "off", "value": false}],
                "default_variant": "off",
                "targeting_rules": rules,
                "prerequisites": prerequisites
            }
        })
    };
    serde_json::from_value(json!({
        "project": "p", "environment": "e", "revision": 1,
        "segments": [{"key": "staff", "name": "Staff", "included": ["u1"]}],
        "flags": [
            rule_flag("targeted", json!([{
                "conditions": [
                    {"attribute": "country", "operator": "in", "value": ["NZ", "AU"]},
                    {"attribute": "plan", "operator": "equals", "value": "PRO", "case_insensitive": true},
                    {"attribute": "email", "operator": "matches", "value": "@acme\\.com$"},
                    {"attribute": "app_version", "operator": "semver_gte", "value": "2.0.0"},
                    {"attribute": "signed_up", "operator": "before", "value": "2030-01-01T00:00:00Z"},
                    {"operator": "in_segment", "value": "staff"}
                ],
                "variant": "on"
            }]), json!([])),
            rule_flag("rollout", json!([
                {"percentage_rollout": 50, "variant": "on", "bucket_by": "seats"},
                {"rollout": [{"variant": "on", "weight": 30}, {"variant": "off", "weight": 70}]}
            ]), json!([])),
            rule_flag("dependent", json!([{"variant": "on"}]), json!([{"flag": "targeted", "variant": "on"}])),
        ]
    }))
    .unwrap()
}

#[test]
fn evaluating_one_flag_allocates_nothing() {
    let (_, counted) = allocations_during(|| Box::new(1u8));
    assert_eq!(counted, 1, "the allocator counts");
    let compiled = compile(&snapshot()).unwrap();
    let context = EvaluationContext::new("u1")
        .with("country", "NZ")
        .with("plan", "pro")
        .with("email", "jo@acme.com")
        .with("app_version", "v2.1.0")
        .with("signed_up", "2024-01-01T00:00:00Z")
        .with("seats", 12);
    // The regex engine sets up its per-thread scratch space on first use.
    compiled.evaluate("targeted", &context).unwrap();

    for key in ["targeted", "rollout"] {
        let (result, allocations) =
            allocations_during(|| compiled.evaluate(key, &context).unwrap());
        assert_eq!(result.variant, Some("on"), "{key}");
        assert_eq!(allocations, 0, "evaluating {key} allocated");
    }
}

#[test]
fn evaluating_all_flags_allocates_only_its_result_and_scratch() {
    let compiled = compile(&snapshot()).unwrap();
    let context = EvaluationContext::new("u1").with("seats", 3);
    compiled.evaluate_all(&context);
    let (results, allocations) = allocations_during(|| compiled.evaluate_all(&context));
    assert_eq!(results.len(), 3);
    // One vector of per-flag outcomes (prerequisites read it), one of results.
    assert!(allocations <= 2, "{allocations} allocations");
}

#[test]
fn the_edge_reads_a_context_without_building_it() {
    let compiled = compile(&snapshot()).unwrap();
    let body = br#"{"user_id": "u1", "attributes": {"country": "NZ", "plan": "pro",
        "email": "jo@acme.com", "app_version": "v2.1.0", "signed_up": "2024-01-01T00:00:00Z",
        "seats": 12}}"#;
    let (context, allocations) =
        allocations_during(|| serde_json::from_slice::<BorrowedContext>(body).unwrap());
    // The attributes' vector (grown once past four); every string is borrowed from
    // the body.
    assert!(allocations <= 2, "{allocations} allocations");
    let mut out = Vec::with_capacity(compiled.all_json_capacity(SdkKeyKind::Server));
    compiled.write_all_json(&context, SdkKeyKind::Server, &mut out);
    out.clear();
    let (_, allocations) =
        allocations_during(|| compiled.write_all_json(&context, SdkKeyKind::Server, &mut out));
    // Scratch only: the outcomes, the decided conditions, the attributes looked up.
    assert!(allocations <= 3, "{allocations} allocations");
    let mut one = Vec::with_capacity(256);
    // The plan holds its own copies of the conditions, so the flag's own regex sets up
    // its scratch space on its first use here.
    compiled
        .write_json_for("targeted", &context, SdkKeyKind::Server, &mut one)
        .unwrap();
    one.clear();
    let (_, allocations) = allocations_during(|| {
        compiled.write_json_for("targeted", &context, SdkKeyKind::Server, &mut one)
    });
    assert_eq!(allocations, 0);
    assert_eq!(
        one,
        br#"{"value":true,"variant":"on","reason":"TARGETING_MATCH"}"#
    );
}
