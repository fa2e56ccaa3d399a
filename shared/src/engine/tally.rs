//! Counting what is served, per flag and answer, cheaply enough to sit on every
//! evaluation.
//!
//! Every compiled snapshot has its own tally: one counter per flag and variant, plus one
//! per flag for "off" (the default value, no variant), plus one per kind of SDK key for
//! its all-flags answers. Most flags in an all-flags answer answer alike for every
//! context (see `snapshot::answers`): counting each of them on every request read and
//! wrote a counter per flag, so the answer counts itself once instead, and a drain adds
//! that count to each of those flags' counters. Counters are split into shards,
//! each on its own cache lines. A thread claims a shard of its own while one is free (one
//! per core, up to [`MAX_SHARDS`]) and, as its shard's only writer, counts with a plain
//! load and store: no locked instruction, no cache line shared with another thread.
//! Threads beyond that share shard 0 and count with atomic adds. Counters only ever grow;
//! draining reads every shard and reports what grew since the last drain, so each
//! evaluation is reported exactly once however often the tally is drained.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use super::flag::{CompiledFlag, Outcome};
use crate::model::SdkKeyKind;

/// More shards than this cost memory for little: contention is already rare.
pub const MAX_SHARDS: usize = 16;

/// Counters per cache line; shards start on a line of their own.
const LINE: usize = 64 / std::mem::size_of::<AtomicU64>();

#[derive(Debug)]
pub struct Tally {
    project: Box<str>,
    environment: Box<str>,
    /// Per flag, its first cell; one more entry at the end, so that a flag's cells are
    /// `first[i]..first[i + 1]`, the last of them for "off".
    first: Box<[u32]>,
    flags: Box<[Box<str>]>,
    /// Per flag, its variants' keys in cell order.
    variants: Box<[Box<[Box<str>]>]>,
    /// Per kind of key (in [`SdkKeyKind::ALL`] order): the cells every all-flags answer
    /// for it counts one in, without touching them; how many answers there were is in
    /// its [`answers_cell`].
    fixed_cells: [Box<[u32]>; 2],
    /// Cells per shard (the flags', then the two answer counts), rounded up to whole
    /// cache lines.
    stride: usize,
    /// `shards × stride` counters, each only ever growing.
    cells: Box<[AtomicU64]>,
    /// Per cell, the sum over shards at the last drain.
    drained: Mutex<Box<[u64]>>,
}

/// One thread's shard of a tally: what a request counts into.
#[derive(Clone, Copy)]
pub struct TallyShard<'a> {
    first: &'a [u32],
    cells: &'a [AtomicU64],
    /// Whether this thread is the shard's only writer.
    exclusive: bool,
}

impl TallyShard<'_> {
    /// Counts one answer of flag `flag` (an index in snapshot order).
    #[inline]
    pub(crate) fn count(&self, flag: usize, outcome: Outcome) {
        self.add(flag, outcome, 1);
    }

    #[inline]
    pub(crate) fn add(&self, flag: usize, outcome: Outcome, n: u64) {
        self.bump(cell(self.first, flag, outcome), n);
    }

    /// Counts one all-flags answer for a key of `kind`: one for each flag whose outcome
    /// is fixed, as [`Tally::new`] was told.
    #[inline]
    pub(crate) fn count_fixed(&self, kind: SdkKeyKind) {
        self.bump(answers_cell(self.first, kind), 1);
    }

    #[inline]
    fn bump(&self, cell: usize, n: u64) {
        let counter = &self.cells[cell];
        if self.exclusive {
            // The only writer: nobody can slip an increment in between.
            counter.store(counter.load(Ordering::Relaxed) + n, Ordering::Relaxed);
        } else {
            counter.fetch_add(n, Ordering::Relaxed);
        }
    }
}

/// A flag's cell for `outcome`: its variant's, or the last for "off".
fn cell(first: &[u32], flag: usize, outcome: Outcome) -> usize {
    match outcome.variant() {
        Some(variant) => first[flag] as usize + variant,
        None => first[flag + 1] as usize - 1,
    }
}

/// The cell counting all-flags answers for keys of `kind`: after every flag's cells.
fn answers_cell(first: &[u32], kind: SdkKeyKind) -> usize {
    first[first.len() - 1] as usize + kind.index()
}

impl Tally {
    /// `fixed` lists, per kind of key in [`SdkKeyKind::ALL`] order, the flags (and their outcomes)
    /// that every all-flags answer for that kind gives without evaluating them.
    pub(crate) fn new(
        project: &str,
        environment: &str,
        flags: &[CompiledFlag],
        fixed: [&[(usize, Outcome)]; 2],
    ) -> Tally {
        let mut first = Vec::with_capacity(flags.len() + 1);
        let mut cells = 0usize;
        for flag in flags {
            first.push(u32::try_from(cells).expect("cells fit in u32"));
            cells += flag.variants.len() + 1;
        }
        first.push(u32::try_from(cells).expect("cells fit in u32"));
        let fixed_cells = fixed.map(|listed| {
            listed
                .iter()
                .map(|&(flag, outcome)| cell(&first, flag, outcome) as u32)
                .collect()
        });
        let stride = (cells + SdkKeyKind::ALL.len()).div_ceil(LINE) * LINE;
        Tally {
            project: project.into(),
            environment: environment.into(),
            first: first.into(),
            flags: flags.iter().map(|f| f.key.as_str().into()).collect(),
            variants: flags
                .iter()
                .map(|f| f.variants.iter().map(|v| v.key.as_str().into()).collect())
                .collect(),
            fixed_cells,
            stride,
            cells: (0..stride * shards()).map(|_| AtomicU64::new(0)).collect(),
            drained: Mutex::new(vec![0; cells].into()),
        }
    }

    pub fn project(&self) -> &str {
        &self.project
    }

    pub fn environment(&self) -> &str {
        &self.environment
    }

    /// The calling thread's shard.
    #[inline]
    pub fn shard(&self) -> TallyShard<'_> {
        let shard = CLAIM.with(|claim| claim.0);
        let start = shard * self.stride;
        TallyShard {
            first: &self.first,
            cells: &self.cells[start..start + self.stride],
            exclusive: shard != SHARED,
        }
    }

    /// Calls `each` with the flag's key, the variant's key (`None` for off) and the
    /// count, for every answer counted since the last drain. Counts made while draining
    /// go to the next drain, or to this one: never to both.
    pub fn drain(&self, mut each: impl FnMut(&str, Option<&str>, u64)) {
        let mut drained = self.drained.lock().expect("never poisoned");
        let sum = |cell: usize| -> u64 {
            self.cells
                .chunks(self.stride)
                .map(|shard| shard[cell].load(Ordering::Relaxed))
                .sum()
        };
        let flag_cells = self.first[self.first.len() - 1] as usize;
        let mut totals: Vec<u64> = (0..flag_cells).map(sum).collect();
        for (kind, cells) in SdkKeyKind::ALL.into_iter().zip(&self.fixed_cells) {
            let answers = sum(answers_cell(&self.first, kind));
            for &cell in cells {
                totals[cell as usize] += answers;
            }
        }
        for (i, flag) in self.flags.iter().enumerate() {
            let (start, end) = (self.first[i] as usize, self.first[i + 1] as usize);
            for cell in start..end {
                let total = totals[cell];
                let count = total.wrapping_sub(drained[cell]);
                drained[cell] = total;
                if count > 0 {
                    let variant = self.variants[i].get(cell - start).map(|v| &**v);
                    each(flag, variant, count);
                }
            }
        }
    }
}

/// The shard threads without one of their own share, counting with atomic adds.
const SHARED: usize = 0;

/// How many shards every tally has: the shared one, and one per thread that can run at
/// once.
fn shards() -> usize {
    static SHARDS: OnceLock<usize> = OnceLock::new();
    *SHARDS.get_or_init(|| {
        1 + std::thread::available_parallelism()
            .map_or(1, usize::from)
            .min(MAX_SHARDS)
    })
}

/// Shards given back by threads that ended, for the next thread to claim.
static FREE: Mutex<Vec<usize>> = Mutex::new(Vec::new());
static NEXT: AtomicUsize = AtomicUsize::new(SHARED + 1);

/// The shard a thread writes alone, while it lives; [`SHARED`] when none was free.
struct Claim(usize);

impl Claim {
    fn new() -> Claim {
        // Handing a shard over through the lock orders the last writer's stores before
        // the next writer's loads.
        if let Some(shard) = FREE.lock().ok().and_then(|mut free| free.pop()) {
            return Claim(shard);
        }
        let shard = NEXT.fetch_add(1, Ordering::Relaxed);
        Claim(if shard < shards() { shard } else { SHARED })
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        if self.0 != SHARED
            && let Ok(mut free) = FREE.lock()
        {
            free.push(self.0);
        }
    }
}

thread_local! {
    static CLAIM: Claim = Claim::new();
}
