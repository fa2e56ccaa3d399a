//! The evaluation engine: compiles snapshots and evaluates flags from them.

mod bucket;
mod condition;
mod flag;
mod operand;
mod result;
mod segment;
mod snapshot;

pub use bucket::{BUCKETS, bucket};
pub use result::{Evaluation, EvaluationError, EvaluationResult, Reason};
pub use snapshot::{CompiledSnapshot, SdkKeyInfo, compile};

pub(crate) use condition::Segments;
pub(crate) use flag::{CompiledFlag, type_noun};
pub(crate) use segment::CompiledSegment;
