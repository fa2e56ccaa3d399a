//! Evaluation counts on their way upstream: from SDKs to their edge, and from each edge
//! to the one above it, up to the control plane.

use serde::{Deserialize, Serialize};

/// Counts of what one edge (and the edges below it) served, per minute, flag and
/// answer. An edge numbers its reports: upstream accepts each `(edge, seq)` once, so a
/// report sent again after a lost answer is never counted twice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UsageReport {
    /// The reporting edge process: a random id it draws when it starts.
    pub edge: String,
    /// This report's number, from 1, never reused by the same `edge`.
    pub seq: u64,
    pub counts: Vec<UsageCount>,
}

/// Evaluations of one flag that gave one answer in one minute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UsageCount {
    /// The minute's start, in seconds since the Unix epoch (a multiple of 60).
    pub minute: i64,
    pub project: String,
    pub environment: String,
    pub flag: String,
    /// The variant served; `null` for the flag's default value when it was off.
    pub variant: Option<String>,
    pub count: u64,
}

/// What an SDK read from the flags it holds, since its last report: the SDK key says
/// which project and environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SdkUsage {
    pub counts: Vec<SdkUsageCount>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SdkUsageCount {
    pub flag: String,
    /// `null` when the SDK served the flag's default value (the flag was off).
    pub variant: Option<String>,
    pub count: u64,
}

/// Most counts one report may carry; an edge sends more as several reports.
pub const MAX_REPORT_COUNTS: usize = 5_000;

/// Most counts one SDK report may carry (one per flag and variant it read).
pub const MAX_SDK_COUNTS: usize = 2_000;

/// The start of the minute holding `unix_seconds`.
pub fn minute_of(unix_seconds: i64) -> i64 {
    unix_seconds - unix_seconds.rem_euclid(60)
}
