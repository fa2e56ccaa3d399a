//! The domain model. These serde shapes are the public wire format: the management API,
//! the snapshots edges pull and the SDKs all speak them. `docs/flag-model.md` documents
//! every field; change both together.

mod context;
mod delta;
mod flag;
mod fleet;
mod rule;
mod segment;
mod snapshot;
mod usage;

pub use context::{AttributeValue, BorrowedContext, Context, EvaluationContext};
pub use delta::{Change, Delta, Op};
pub use flag::{Flag, FlagConfig, FlagType, Prerequisite, Variant};
pub use fleet::{AppliedRevision, EdgeStatus, Heartbeat, MAX_HEARTBEAT_EDGES};
pub use rule::{Condition, Operator, Rule, WeightedVariant};
pub use segment::Segment;
pub use snapshot::{
    EnvironmentRevision, RevisionsEvent, SdkKey, SdkKeyKind, Snapshot, SnapshotFlag, sdk_key_hash,
    sdk_key_hash_hex, stream_events,
};
pub use usage::{
    MAX_COUNT, MAX_REPORT_COUNTS, MAX_SDK_COUNT, MAX_SDK_COUNTS, SdkUsage, SdkUsageCount,
    UsageCount, UsageReport, minute_of,
};

use serde::{Deserialize, Serialize};

/// A product or codebase; owns flags, segments and environments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Project {
    pub key: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
}

/// A deployment stage of a project (`development`, `production`, …). Every flag has one
/// config per environment, and SDK keys are scoped to exactly one environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Environment {
    pub key: String,
    pub name: String,
}

/// The environments every new project starts with.
pub const DEFAULT_ENVIRONMENTS: [&str; 3] = ["development", "staging", "production"];
