//! Togglerino's shared core: the domain model (the public wire format), write-time
//! validation, and the evaluation engine used by the control plane and every edge.
//!
//! The life of a flag: the control plane validates each write with [`validate`], and
//! publishes a [`model::Snapshot`] per environment; an edge [`engine::compile`]s it once
//! and evaluates contexts against the [`engine::CompiledSnapshot`] with no further
//! parsing, locking or failure modes.

pub mod engine;
pub mod model;
pub mod validate;

pub use engine::{
    CompiledSnapshot, Evaluation, EvaluationError, EvaluationResult, Reason, compile,
};
pub use model::{EvaluationContext, Snapshot};
