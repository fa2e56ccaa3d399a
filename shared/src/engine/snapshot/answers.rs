//! Answers written as JSON without serializing anything per request.
//!
//! A flag can only ever answer one of a few ways: each of its variants, or its default
//! value when off, with one of five reasons. Their JSON is written once, when the
//! snapshot is compiled, so [`write_all_json`](super::CompiledSnapshot::write_all_json)
//! copies bytes instead of escaping keys and serializing values on every request. And in
//! a typical project most flags are off, or on without a rule: no context can change
//! their answer, so their outcome is decided here too and only the rest are evaluated.

use super::super::flag::{CompiledFlag, Outcome};
use super::super::result::Reason;
use crate::model::EvaluationContext;

#[derive(Debug, Default)]
pub(super) struct Answers {
    /// Per flag: its outcome, when every context gets it.
    pub(super) fixed: Vec<Option<Outcome>>,
    /// Flags a context can change, in prerequisite order.
    pub(super) dynamic_order: Vec<usize>,
    /// Per flag: `"key":`.
    keys: Vec<Box<str>>,
    /// Per flag and variant: `{"value":…,"variant":"…","reason":"`, the reason to follow.
    served: Vec<Box<[Box<str>]>>,
    /// Per flag: `{"value":<default value>,"variant":null,"reason":"`.
    off: Vec<Box<str>>,
    /// The most bytes an all-flags object can take (every flag listed, each at its
    /// longest answer): a buffer this large never grows.
    pub(super) max_len: usize,
}

/// The longest reason, for sizing buffers.
const LONGEST_REASON: usize = "PREREQUISITE_FAILED".len();

impl Answers {
    /// `order` lists every flag after its prerequisites.
    pub(super) fn new(flags: &[CompiledFlag], order: &[usize]) -> Answers {
        let mut fixed: Vec<Option<Outcome>> = vec![None; flags.len()];
        let mut dynamic_order = Vec::new();
        // No rule can see a context that is never consulted: an empty one stands in.
        let nobody = EvaluationContext::default();
        for &i in order {
            let flag = &flags[i];
            let context_free = !flag.is_on()
                || (!flag.has_rules()
                    && flag.prerequisites.iter().all(|p| fixed[p.flag].is_some()));
            if context_free {
                fixed[i] = Some(flag.evaluate(&nobody, |p| fixed[p].and_then(Outcome::variant)));
            } else {
                dynamic_order.push(i);
            }
        }
        let mut answers = Answers {
            fixed,
            dynamic_order,
            max_len: 2,
            ..Answers::default()
        };
        for flag in flags {
            let mut key = serde_json::to_string(&flag.key).expect("a string serializes");
            key.push(':');
            let served: Box<[Box<str>]> = (0..flag.variants.len())
                .map(|v| up_to_reason(flag, Outcome::Served(v, Reason::Default)))
                .collect();
            let off = up_to_reason(flag, Outcome::Off(Reason::Default));
            let longest = served.iter().chain([&off]).map(|a| a.len()).max();
            answers.max_len += key.len() + longest.unwrap_or(0) + LONGEST_REASON + 3;
            answers.keys.push(key.into_boxed_str());
            answers.served.push(served);
            answers.off.push(off);
        }
        answers
    }

    /// Writes `"key":{"value":…,"variant":…,"reason":"…"}` for flag `flag`.
    pub(super) fn write_entry(&self, flag: usize, outcome: Outcome, out: &mut Vec<u8>) {
        out.extend_from_slice(self.keys[flag].as_bytes());
        self.write_answer(flag, outcome, out);
    }

    /// Writes `{"value":…,"variant":…,"reason":"…"}`: what serializing the flag's
    /// evaluation for `outcome` gives.
    pub(super) fn write_answer(&self, flag: usize, outcome: Outcome, out: &mut Vec<u8>) {
        let (start, reason) = match outcome {
            Outcome::Off(reason) => (&self.off[flag], reason),
            Outcome::Served(variant, reason) => (&self.served[flag][variant], reason),
        };
        out.extend_from_slice(start.as_bytes());
        out.extend_from_slice(reason.as_str().as_bytes());
        out.extend_from_slice(b"\"}");
    }
}

/// The evaluation's JSON as serde writes it, cut just before the reason's text.
fn up_to_reason(flag: &CompiledFlag, outcome: Outcome) -> Box<str> {
    let json = serde_json::to_string(&flag.evaluation(outcome)).expect("an evaluation serializes");
    let end = format!("{}\"}}", Reason::Default.as_str());
    json.strip_suffix(&end)
        .expect("the reason is an evaluation's last field")
        .into()
}
