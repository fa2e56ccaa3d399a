//! Counting what is served, per flag and answer, cheaply enough to sit on every
//! evaluation.
//!
//! Every compiled snapshot has its own tally: one counter per flag and variant, plus one
//! per flag for "off" (the default value, no variant). Counters are atomics split into
//! shards, one per worker thread up to [`MAX_SHARDS`], each shard on its own cache lines,
//! so threads serving the same hot flag do not fight over one line. Counting an
//! evaluation is one relaxed `fetch_add`; reading takes the counts and zeroes them, so
//! each evaluation is reported exactly once however often the tally is drained.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use super::flag::{CompiledFlag, Outcome};

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
    /// Cells per shard, rounded up to whole cache lines.
    stride: usize,
    /// `shards × stride` counters.
    cells: Box<[AtomicU64]>,
}

/// One thread's shard of a tally: what a request counts into.
#[derive(Clone, Copy)]
pub struct TallyShard<'a> {
    first: &'a [u32],
    cells: &'a [AtomicU64],
}

impl TallyShard<'_> {
    /// Counts one answer of flag `flag` (an index in snapshot order).
    #[inline]
    pub(crate) fn count(&self, flag: usize, outcome: Outcome) {
        self.add(flag, outcome, 1);
    }

    #[inline]
    pub(crate) fn add(&self, flag: usize, outcome: Outcome, n: u64) {
        let cell = match outcome.variant() {
            Some(variant) => self.first[flag] as usize + variant,
            None => self.first[flag + 1] as usize - 1,
        };
        self.cells[cell].fetch_add(n, Ordering::Relaxed);
    }
}

impl Tally {
    pub(crate) fn new(project: &str, environment: &str, flags: &[CompiledFlag]) -> Tally {
        let mut first = Vec::with_capacity(flags.len() + 1);
        let mut cells = 0usize;
        for flag in flags {
            first.push(u32::try_from(cells).expect("cells fit in u32"));
            cells += flag.variants.len() + 1;
        }
        first.push(u32::try_from(cells).expect("cells fit in u32"));
        let stride = cells.div_ceil(LINE).max(1) * LINE;
        Tally {
            project: project.into(),
            environment: environment.into(),
            first: first.into(),
            flags: flags.iter().map(|f| f.key.as_str().into()).collect(),
            variants: flags
                .iter()
                .map(|f| f.variants.iter().map(|v| v.key.as_str().into()).collect())
                .collect(),
            stride,
            cells: (0..stride * shards()).map(|_| AtomicU64::new(0)).collect(),
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
        let start = (thread_shard() & (shards() - 1)) * self.stride;
        TallyShard {
            first: &self.first,
            cells: &self.cells[start..start + self.stride],
        }
    }

    /// Takes every count since the last drain and calls `each` with the flag's key, the
    /// variant's key (`None` for off) and the count, for every answer counted at least
    /// once. Counts made while draining go to the next drain.
    pub fn drain(&self, mut each: impl FnMut(&str, Option<&str>, u64)) {
        for (i, flag) in self.flags.iter().enumerate() {
            let (start, end) = (self.first[i] as usize, self.first[i + 1] as usize);
            for cell in start..end {
                let count: u64 = self
                    .cells
                    .chunks(self.stride)
                    .map(|shard| shard[cell].swap(0, Ordering::Relaxed))
                    .sum();
                if count > 0 {
                    let variant = self.variants[i].get(cell - start).map(|v| &**v);
                    each(flag, variant, count);
                }
            }
        }
    }
}

/// How many shards every tally has: the threads that can run at once, as a power of two
/// so that picking one is a mask.
fn shards() -> usize {
    static SHARDS: OnceLock<usize> = OnceLock::new();
    *SHARDS.get_or_init(|| {
        std::thread::available_parallelism()
            .map_or(1, usize::from)
            .min(MAX_SHARDS)
            .next_power_of_two()
    })
}

/// A number per thread, handed out in turn, so that worker threads spread over shards.
fn thread_shard() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static SHARD: usize = NEXT.fetch_add(1, Ordering::Relaxed);
    }
    SHARD.with(|shard| *shard)
}
