//! Togglerino's shared core: the domain model (the public wire format), write-time
//! validation, and the evaluation engine used by the control plane and every edge.
//!
//! The life of a flag: the control plane validates each write with [`validate`], and
//! publishes a [`model::Snapshot`] per environment; an edge [`engine::compile`]s it once
//! and evaluates contexts against the [`engine::CompiledSnapshot`] with no further
//! parsing, locking or failure modes.
//!
//! ```
//! use serde_json::json;
//! use togglerino_shared::{EvaluationContext, Reason, Snapshot, compile};
//!
//! let snapshot: Snapshot = serde_json::from_value(json!({
//!     "project": "shop", "environment": "production", "revision": 3,
//!     "flags": [{
//!         "flag": {"key": "new-checkout", "name": "New checkout", "type": "boolean", "default_value": false},
//!         "config": {
//!             "enabled": true,
//!             "variants": [{"key": "on", "value": true}, {"key": "off", "value": false}],
//!             "default_variant": "off",
//!             "targeting_rules": [{
//!                 "conditions": [{"attribute": "email", "operator": "ends_with", "value": "@acme.com"}],
//!                 "variant": "on"
//!             }]
//!         }
//!     }]
//! }))?;
//! let compiled = compile(&snapshot)?;
//!
//! let staff = EvaluationContext::new("u1").with("email", "jo@acme.com");
//! let result = compiled.evaluate("new-checkout", &staff)?;
//! assert_eq!((result.value, result.variant, result.reason), (&json!(true), Some("on"), Reason::TargetingMatch));
//!
//! let guest = EvaluationContext::new("u2");
//! assert_eq!(compiled.evaluate("new-checkout", &guest)?.reason, Reason::Default);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod engine;
#[cfg(feature = "process")]
pub mod health_check;
pub mod http;
#[cfg(feature = "process")]
pub mod http_metrics;
pub mod model;
#[cfg(feature = "process")]
pub mod process;
pub mod validate;

pub use engine::{
    CompiledSnapshot, Evaluation, EvaluationError, EvaluationResult, PrerequisiteTrace, Reason,
    RuleOutcome, RuleTrace, Trace, compile,
};
pub use model::{EvaluationContext, Snapshot};
