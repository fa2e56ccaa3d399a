//! The evaluation engine: compiles snapshots and evaluates flags from them.

mod bucket;
mod condition;
mod flag;
mod operand;
mod pattern;
mod result;
mod segment;
mod snapshot;
mod tally;
mod trace;

pub use bucket::{BUCKETS, bucket};
pub use operand::{MAX_REGEX_PATTERN_BYTES, REGEX_SIZE_LIMIT};
pub use result::{Evaluation, EvaluationError, EvaluationResult, Reason};
pub use snapshot::{CompiledSnapshot, SdkKeyInfo, compile};
pub use tally::{MAX_SHARDS, Tally, TallyShard};
pub use trace::{PrerequisiteTrace, RuleOutcome, RuleTrace, Trace};

pub(crate) use condition::Segments;
pub(crate) use flag::{CompiledFlag, type_noun};
pub(crate) use segment::CompiledSegment;
