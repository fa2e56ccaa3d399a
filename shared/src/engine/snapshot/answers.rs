//! Answers written as JSON without serializing anything per request.
//!
//! A flag can only ever answer one of a few ways: each of its variants, or its default
//! value when off, with one of five reasons. Their JSON is written once, when the
//! snapshot is compiled, so [`write_all_json`](super::CompiledSnapshot::write_all_json)
//! copies bytes instead of escaping keys and serializing values on every request. And in
//! a typical project most flags are off, or on without a rule: no context can change
//! their answer, so their outcome is decided here too, their entries are laid out ready
//! to copy in runs, and only the rest are evaluated.

use std::ops::Range;

use super::super::flag::{CompiledFlag, Outcome};
use super::super::result::Reason;
use crate::model::{EvaluationContext, SdkKeyKind};

#[derive(Debug, Default)]
pub(super) struct Answers {
    /// Per flag: its outcome, when every context gets it.
    pub(super) fixed: Vec<Option<Outcome>>,
    /// Flags a context can change, in prerequisite order.
    pub(super) dynamic_order: Vec<usize>,
    /// Per flag: its place in `dynamic_order`, if it has one.
    dynamic_slot: Vec<Option<u32>>,
    /// Per flag, then per variant and last for "off": `,"key":{"value":…,"variant":…,
    /// "reason":"`, the reason to follow. All in one buffer, in flag order, because an
    /// answer copies them flag after flag: scattered, each was a cache miss.
    head_bytes: Box<[u8]>,
    /// Where each head lies in `head_bytes`, flag after flag.
    head_ranges: Vec<Range<u32>>,
    /// Per flag, and one past the last: the place of its first head in `head_ranges`.
    first_head: Vec<u32>,
    /// Per flag: where `{"value"` starts in each of its heads.
    key_lens: Vec<usize>,
    /// The all-flags object per kind of key, in [`SdkKeyKind::ALL`] order.
    layouts: [Layout; 2],
}

/// An all-flags object for one kind of key, as it is written: runs of entries that are
/// the same for every context, and the flags between them to evaluate.
#[derive(Debug, Default)]
struct Layout {
    pieces: Vec<Piece>,
    /// The runs' bytes, commas included.
    fixed_bytes: Box<[u8]>,
    /// Every listed flag with a fixed outcome, for counting.
    fixed_listed: Vec<(usize, Outcome)>,
    /// How many flags the object lists.
    listed: usize,
    /// The most bytes the object can take (every flag at its longest answer): a buffer
    /// this large never grows.
    max_len: usize,
}

#[derive(Debug)]
enum Piece {
    /// Bytes of [`Layout::fixed_bytes`].
    Fixed(Range<usize>),
    /// A flag to evaluate, its place in `dynamic_order`, and whether its entry follows
    /// another one.
    Dynamic {
        flag: usize,
        slot: usize,
        comma: bool,
    },
}

/// The longest reason, for sizing buffers.
const LONGEST_REASON: usize = "PREREQUISITE_FAILED".len();

/// What follows a head: the reason and the end of the object.
fn tail(reason: Reason) -> &'static [u8] {
    match reason {
        Reason::Disabled => b"DISABLED\"}",
        Reason::PrerequisiteFailed => b"PREREQUISITE_FAILED\"}",
        Reason::TargetingMatch => b"TARGETING_MATCH\"}",
        Reason::Split => b"SPLIT\"}",
        Reason::Default => b"DEFAULT\"}",
    }
}

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
                let outcome = flag.evaluate(&nobody, |p| fixed[p].and_then(Outcome::variant));
                fixed[i] = Some(outcome);
            } else {
                dynamic_order.push(i);
            }
        }
        let mut head_bytes = Vec::new();
        let mut head_ranges = Vec::new();
        let mut first_head = Vec::with_capacity(flags.len() + 1);
        let mut key_lens = Vec::with_capacity(flags.len());
        let offset = |len: usize| u32::try_from(len).expect("answers shorter than 4 GiB");
        for flag in flags {
            let mut key = b",".to_vec();
            serde_json::to_writer(&mut key, &flag.key).expect("a string serializes");
            key.push(b':');
            first_head.push(offset(head_ranges.len()));
            let outcomes = (0..flag.variants.len())
                .map(|v| Outcome::Served(v, Reason::Default))
                .chain([Outcome::Off(Reason::Default)]);
            for outcome in outcomes {
                let start = offset(head_bytes.len());
                head_bytes.extend_from_slice(&key);
                write_up_to_reason(&mut head_bytes, flag, outcome);
                head_ranges.push(start..offset(head_bytes.len()));
            }
            key_lens.push(key.len());
        }
        first_head.push(offset(head_ranges.len()));
        let mut dynamic_slot = vec![None; flags.len()];
        for (slot, &flag) in dynamic_order.iter().enumerate() {
            dynamic_slot[flag] = Some(u32::try_from(slot).expect("fewer flags than u32::MAX"));
        }
        let mut answers = Answers {
            fixed,
            dynamic_order,
            dynamic_slot,
            head_bytes: head_bytes.into_boxed_slice(),
            head_ranges,
            first_head,
            key_lens,
            layouts: Default::default(),
        };
        answers.layouts = SdkKeyKind::ALL.map(|kind| answers.layout(flags, kind));
        answers
    }

    fn layout(&self, flags: &[CompiledFlag], kind: SdkKeyKind) -> Layout {
        let mut layout = Layout {
            max_len: 2,
            ..Layout::default()
        };
        let mut fixed_bytes = Vec::new();
        let mut run_start = 0;
        for (i, flag) in flags.iter().enumerate() {
            if flag.archived || !super::visible(flag, kind) {
                continue;
            }
            let comma = layout.listed > 0;
            layout.listed += 1;
            let longest = self.heads_of(i).iter().map(|h| h.len()).max().unwrap_or(0);
            layout.max_len += longest + LONGEST_REASON + 2;
            match self.fixed[i] {
                Some(outcome) => {
                    let (head, reason) = self.head(i, outcome);
                    fixed_bytes.extend_from_slice(if comma { head } else { &head[1..] });
                    fixed_bytes.extend_from_slice(tail(reason));
                    layout.fixed_listed.push((i, outcome));
                }
                None => {
                    if run_start < fixed_bytes.len() {
                        layout
                            .pieces
                            .push(Piece::Fixed(run_start..fixed_bytes.len()));
                    }
                    run_start = fixed_bytes.len();
                    let slot =
                        self.dynamic_slot[i].expect("a flag without a fixed outcome") as usize;
                    layout.pieces.push(Piece::Dynamic {
                        flag: i,
                        slot,
                        comma,
                    });
                }
            }
        }
        if run_start < fixed_bytes.len() {
            layout
                .pieces
                .push(Piece::Fixed(run_start..fixed_bytes.len()));
        }
        layout.fixed_bytes = fixed_bytes.into_boxed_slice();
        layout
    }

    /// The places of flag `flag`'s heads, per variant and last for "off".
    fn heads_of(&self, flag: usize) -> &[Range<u32>] {
        let (first, end) = (self.first_head[flag], self.first_head[flag + 1]);
        &self.head_ranges[first as usize..end as usize]
    }

    fn head(&self, flag: usize, outcome: Outcome) -> (&[u8], Reason) {
        let heads = self.heads_of(flag);
        let (range, reason) = match outcome {
            Outcome::Off(reason) => (&heads[heads.len() - 1], reason),
            Outcome::Served(variant, reason) => (&heads[variant], reason),
        };
        (
            &self.head_bytes[range.start as usize..range.end as usize],
            reason,
        )
    }

    fn layout_for(&self, kind: SdkKeyKind) -> &Layout {
        &self.layouts[kind.index()]
    }

    /// The flags every all-flags answer for keys of `kind` lists with a fixed outcome,
    /// and those outcomes.
    pub(super) fn fixed_listed(&self, kind: SdkKeyKind) -> &[(usize, Outcome)] {
        &self.layout_for(kind).fixed_listed
    }

    /// The most bytes [`write_all`](Self::write_all) writes for keys of `kind`.
    pub(super) fn max_len(&self, kind: SdkKeyKind) -> usize {
        self.layout_for(kind).max_len
    }

    /// The outcome of flag `flag` for a context, given `dynamic`: the outcomes of the
    /// flags a context can change, in `dynamic_order`, as far as they are known.
    pub(super) fn outcome(&self, flag: usize, dynamic: &[Outcome]) -> Option<Outcome> {
        self.fixed[flag].or_else(|| {
            let slot = self.dynamic_slot[flag]? as usize;
            dynamic.get(slot).copied()
        })
    }

    /// Writes the all-flags object for keys of `kind` with `dynamic`, the outcomes of
    /// every flag a context can change (in `dynamic_order`), calling `count` with each of
    /// those it lists and its outcome; the others are [`fixed_listed`](Self::fixed_listed).
    /// Returns how many flags it lists.
    pub(super) fn write_all(
        &self,
        kind: SdkKeyKind,
        dynamic: &[Outcome],
        out: &mut Vec<u8>,
        mut count: impl FnMut(usize, Outcome),
    ) -> usize {
        let layout = self.layout_for(kind);
        out.reserve(layout.max_len);
        out.push(b'{');
        for piece in &layout.pieces {
            match *piece {
                Piece::Fixed(ref bytes) => {
                    out.extend_from_slice(&layout.fixed_bytes[bytes.clone()])
                }
                Piece::Dynamic { flag, slot, comma } => {
                    let outcome = dynamic[slot];
                    count(flag, outcome);
                    let (head, reason) = self.head(flag, outcome);
                    out.extend_from_slice(if comma { head } else { &head[1..] });
                    out.extend_from_slice(tail(reason));
                }
            }
        }
        out.push(b'}');
        layout.listed
    }

    /// Writes `{"value":…,"variant":…,"reason":"…"}`: what serializing the flag's
    /// evaluation for `outcome` gives.
    pub(super) fn write_answer(&self, flag: usize, outcome: Outcome, out: &mut Vec<u8>) {
        let (head, reason) = self.head(flag, outcome);
        out.extend_from_slice(&head[self.key_lens[flag]..]);
        out.extend_from_slice(tail(reason));
    }
}

/// Appends the evaluation's JSON as serde writes it, cut just before the reason's text.
fn write_up_to_reason(out: &mut Vec<u8>, flag: &CompiledFlag, outcome: Outcome) {
    serde_json::to_writer(&mut *out, &flag.evaluation(outcome)).expect("an evaluation serializes");
    let end = tail(Reason::Default);
    assert!(
        out.ends_with(end),
        "the reason is an evaluation's last field"
    );
    out.truncate(out.len() - end.len());
}
