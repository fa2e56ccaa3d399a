//! The flags a context can change, laid out flat for answering all of them at once.
//!
//! An all-flags answer evaluates a couple of hundred flags in a row. Following each
//! flag's rules and conditions to where they were compiled means reading a few hundred
//! scattered allocations, and between two requests the network stack pushes them out of
//! the caches: in the edge, those misses cost more than the tests themselves. A plan
//! holds the same rules as three dense arrays (flags, rules, condition numbers), so a
//! request reads a few kilobytes in order, and tests a condition only the first time its
//! number comes up: a condition stated alike in several rules is decided once per
//! answer. The plan keeps its own copy of one condition per number, in the order they
//! are first met, and of what each bucketing rule serves (salt, attribute, split), so
//! neither sends it back to the flags and rules where they were compiled. Conditions of
//! flags no context can change (off, or without rules) are not copied. Sixty conditions
//! typically read three or four attributes: each is looked up in the context once per
//! answer, when a condition first needs it.

use std::collections::HashMap;
use std::ops::Range;

use super::super::condition::{Attribute, CompiledCondition, Found};
use super::super::flag::{CompiledFlag, Outcome, ResolvedPrerequisite, Serving};
use super::super::result::Reason;
use crate::model::Context;

#[derive(Debug, Default)]
pub(super) struct Plan {
    /// In the order they are evaluated: every flag after its prerequisites.
    flags: Vec<PlannedFlag>,
    rules: Vec<PlannedRule>,
    /// The rules' conditions, by their number in the plan.
    conditions: Vec<u32>,
    prerequisites: Vec<ResolvedPrerequisite>,
    /// What the rules that bucket serve.
    bucketings: Vec<Serving>,
    /// Per number in the plan, one condition with that number.
    by_number: Vec<CompiledCondition>,
    /// Per number in the plan, the number of the attribute its condition reads
    /// ([`NO_ATTRIBUTE`] for segment tests): conditions reading alike share one.
    reads: Vec<u32>,
    /// How many distinct attributes the conditions read.
    attributes: usize,
}

const NO_ATTRIBUTE: u32 = u32::MAX;

#[derive(Debug)]
struct PlannedFlag {
    default_variant: u32,
    rules: Range<u32>,
    prerequisites: Range<u32>,
}

#[derive(Debug)]
struct PlannedRule {
    conditions: Range<u32>,
    serve: Serve,
}

/// What a rule serves when its conditions hold.
#[derive(Debug)]
enum Serve {
    Variant(u32),
    /// The context is bucketed: `bucketings[i]` decides.
    Bucketed(u32),
}

/// What a condition number has come to for the context at hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decided {
    Unknown,
    True,
    False,
}

fn index(i: usize) -> u32 {
    u32::try_from(i).expect("a snapshot holds fewer than u32::MAX of anything")
}

impl Plan {
    /// A plan of `order`'s flags: every one switched on, after its prerequisites.
    pub(super) fn new(flags: &[CompiledFlag], order: &[usize]) -> Plan {
        let mut plan = Plan::default();
        // The snapshot's condition numbers, renumbered densely for the plan.
        let mut numbers = HashMap::new();
        let mut attributes = HashMap::new();
        for &f in order {
            let flag = &flags[f];
            debug_assert!(flag.is_on(), "flags that are off answer alike for everyone");
            let rules_start = plan.rules.len();
            for rule in flag.rules() {
                let start = plan.conditions.len();
                for condition in rule.conditions() {
                    let number = *numbers.entry(condition.number()).or_insert_with(|| {
                        plan.by_number.push(condition.clone());
                        plan.reads
                            .push(condition.attribute().map_or(NO_ATTRIBUTE, |read| {
                                let next = index(attributes.len());
                                *attributes.entry(read.clone()).or_insert(next)
                            }));
                        index(plan.by_number.len() - 1)
                    });
                    plan.conditions.push(number);
                }
                plan.rules.push(PlannedRule {
                    conditions: index(start)..index(plan.conditions.len()),
                    serve: match rule.serving().variant() {
                        Some(variant) => Serve::Variant(index(variant)),
                        None => {
                            plan.bucketings.push(rule.serving().clone());
                            Serve::Bucketed(index(plan.bucketings.len() - 1))
                        }
                    },
                });
            }
            let prerequisites_start = plan.prerequisites.len();
            plan.prerequisites.extend_from_slice(&flag.prerequisites);
            plan.flags.push(PlannedFlag {
                default_variant: index(flag.default_variant()),
                rules: index(rules_start)..index(plan.rules.len()),
                prerequisites: index(prerequisites_start)..index(plan.prerequisites.len()),
            });
        }
        plan.attributes = attributes.len();
        plan
    }

    /// Evaluates every planned flag for `context`, pushing the outcomes onto `outcomes`
    /// in plan order: what [`CompiledFlag::evaluate`] gives each. `served_by(flag,
    /// outcomes)` is the variant a prerequisite served, given the outcomes so far.
    pub(super) fn evaluate(
        &self,
        context: &impl Context,
        outcomes: &mut Vec<Outcome>,
        served_by: impl Fn(usize, &[Outcome]) -> Option<usize>,
    ) {
        let mut decided = vec![Decided::Unknown; self.by_number.len()];
        let mut found: Vec<Option<Found>> = vec![None; self.attributes];
        let mut holds = |number: u32| {
            let cell = &mut decided[number as usize];
            if *cell == Decided::Unknown {
                let condition = &self.by_number[number as usize];
                let read = self.reads[number as usize];
                let find = |attribute: &Attribute| {
                    *found[read as usize].get_or_insert_with(|| attribute.lookup(context))
                };
                *cell = if condition.matches_found(context, find) {
                    Decided::True
                } else {
                    Decided::False
                };
            }
            *cell == Decided::True
        };
        for planned in &self.flags {
            let prerequisites = &self.prerequisites[range(&planned.prerequisites)];
            if !prerequisites
                .iter()
                .all(|p| served_by(p.flag, outcomes) == Some(p.variant))
            {
                outcomes.push(Outcome::Off(Reason::PrerequisiteFailed));
                continue;
            }
            let served = self.rules[range(&planned.rules)].iter().find_map(|rule| {
                if !self.conditions[range(&rule.conditions)]
                    .iter()
                    .all(|&number| holds(number))
                {
                    return None;
                }
                match rule.serve {
                    Serve::Variant(variant) => Some((variant as usize, Reason::TargetingMatch)),
                    Serve::Bucketed(i) => self.bucketings[i as usize].serve(context),
                }
            });
            outcomes.push(match served {
                Some((variant, reason)) => Outcome::Served(variant, reason),
                None => Outcome::Served(planned.default_variant as usize, Reason::Default),
            });
        }
    }
}

fn range(r: &Range<u32>) -> Range<usize> {
    r.start as usize..r.end as usize
}
