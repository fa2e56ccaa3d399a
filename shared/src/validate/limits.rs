//! How much evaluation work one config, segment or environment may ask of every edge:
//! checked before anything is compiled, so an oversized config costs nothing but its
//! refusal. Each refusal names the rule or condition that went over.

use crate::model::{Condition, Operator, Rule};
use crate::validate::Problems;

/// Targeting rules per flag config.
pub const MAX_RULES: usize = 200;
/// Conditions per rule, and per segment.
pub const MAX_CONDITIONS: usize = 100;
/// `matches` conditions per flag config, and per segment.
pub const MAX_REGEXES: usize = 10;
/// `matches` conditions in one environment: its flag configs and its project's
/// segments. With each pattern compiled to at most
/// [`REGEX_SIZE_LIMIT`](crate::engine::REGEX_SIZE_LIMIT), an environment's patterns
/// take at most 50 MiB on each edge.
pub const MAX_REGEXES_PER_ENVIRONMENT: usize = 200;

fn is_regex(condition: &Condition) -> bool {
    condition.operator == Operator::Matches
}

/// `matches` conditions among `conditions`.
pub fn regexes_in(conditions: &[Condition]) -> usize {
    conditions.iter().filter(|c| is_regex(c)).count()
}

/// `matches` conditions across `rules`.
pub fn regexes_in_rules(rules: &[Rule]) -> usize {
    rules.iter().map(|r| regexes_in(&r.conditions)).sum()
}

/// Checks a flag config's rules; false when they are over a limit (and must not be
/// compiled).
pub(crate) fn check_rules(problems: &mut Problems, rules: &[Rule]) -> bool {
    if rules.len() > MAX_RULES {
        problems.add(
            "targeting_rules",
            format!("at most {MAX_RULES} rules per config"),
        );
        return false;
    }
    let mut within = true;
    let mut regexes = 0;
    for (i, rule) in rules.iter().enumerate() {
        within &= check_conditions(
            problems,
            &format!("targeting_rules[{i}].conditions"),
            &rule.conditions,
            &mut regexes,
            "config",
        );
    }
    within
}

/// Checks a segment's conditions; false when they are over a limit.
pub(crate) fn check_segment_conditions(problems: &mut Problems, conditions: &[Condition]) -> bool {
    check_conditions(problems, "conditions", conditions, &mut 0, "segment")
}

fn check_conditions(
    problems: &mut Problems,
    field: &str,
    conditions: &[Condition],
    regexes: &mut usize,
    owner: &str,
) -> bool {
    if conditions.len() > MAX_CONDITIONS {
        problems.add(field, format!("at most {MAX_CONDITIONS} conditions"));
        return false;
    }
    for (j, condition) in conditions.iter().enumerate() {
        if is_regex(condition) {
            *regexes += 1;
            if *regexes > MAX_REGEXES {
                problems.add(
                    format!("{field}[{j}]"),
                    format!("at most {MAX_REGEXES} `matches` conditions per {owner}"),
                );
                return false;
            }
        }
    }
    true
}
