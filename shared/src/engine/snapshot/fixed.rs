//! Flags whose answer no context can change, found and serialized once per snapshot.
//!
//! In a typical project most flags are off, or on without a rule: every context gets
//! the same answer. Working that out, and writing its JSON, on every all-flags request
//! is most of such a request's cost; here it is done when the snapshot is compiled, and
//! [`CompiledSnapshot::write_all_json`](super::CompiledSnapshot::write_all_json) splices
//! the bytes in and evaluates only the rest.

use super::super::flag::{CompiledFlag, Outcome};
use super::super::result::Reason;
use crate::model::EvaluationContext;

/// What is known of each flag before any context arrives.
#[derive(Debug, Default)]
pub(super) struct Fixed {
    /// Per flag: its outcome, when every context gets it.
    pub(super) outcomes: Vec<Option<Outcome>>,
    /// Per flag: `"key":` as JSON, then, for fixed flags, its evaluation's JSON.
    pub(super) json: Vec<Box<str>>,
    /// Flags a context can change, in prerequisite order.
    pub(super) dynamic_order: Vec<usize>,
    /// The most bytes an all-flags object can take (every flag listed, each dynamic one
    /// at its longest answer): a buffer this large never grows.
    pub(super) max_len: usize,
}

impl Fixed {
    /// `order` lists every flag after its prerequisites.
    pub(super) fn find(flags: &[CompiledFlag], order: &[usize]) -> Fixed {
        let mut outcomes: Vec<Option<Outcome>> = vec![None; flags.len()];
        let mut dynamic_order = Vec::new();
        // No rule can see a context that is never consulted: an empty one stands in.
        let nobody = EvaluationContext::default();
        for &i in order {
            let flag = &flags[i];
            let fixed = !flag.is_on()
                || (!flag.has_rules()
                    && flag
                        .prerequisites
                        .iter()
                        .all(|p| outcomes[p.flag].is_some()));
            if fixed {
                let outcome = flag.evaluate(&nobody, |p| outcomes[p].and_then(Outcome::variant));
                outcomes[i] = Some(outcome);
            } else {
                dynamic_order.push(i);
            }
        }
        let length = |outcome: Outcome, flag: &CompiledFlag| {
            serde_json::to_string(&flag.evaluation(outcome))
                .expect("an evaluation serializes")
                .len()
        };
        let mut max_len = 2;
        let json = flags
            .iter()
            .zip(&outcomes)
            .map(|(flag, outcome)| {
                let mut entry = serde_json::to_string(&flag.key).expect("a string serializes");
                entry.push(':');
                let answer_len = match outcome {
                    Some(outcome) => {
                        let answer = serde_json::to_string(&flag.evaluation(*outcome))
                            .expect("an evaluation serializes");
                        entry.push_str(&answer);
                        0
                    }
                    // The longest reason either way: off for a prerequisite, or served.
                    None => (0..flag.variants.len())
                        .map(|v| length(Outcome::Served(v, Reason::TargetingMatch), flag))
                        .chain([length(Outcome::Off(Reason::PrerequisiteFailed), flag)])
                        .max()
                        .unwrap_or(0),
                };
                max_len += entry.len() + answer_len + 1;
                entry.into_boxed_str()
            })
            .collect();
        Fixed {
            outcomes,
            json,
            dynamic_order,
            max_len,
        }
    }
}
