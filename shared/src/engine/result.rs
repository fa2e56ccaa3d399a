use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Why an evaluation served what it served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Reason {
    /// Archived, or disabled in this environment: the flag's `default_value`.
    Disabled,
    /// A prerequisite flag did not serve its required variant: the flag's `default_value`.
    PrerequisiteFailed,
    /// A targeting rule served its fixed variant.
    TargetingMatch,
    /// A percentage rollout or weighted split placed the context by its bucket.
    Split,
    /// No rule served: the default variant.
    Default,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Disabled => "DISABLED",
            Reason::PrerequisiteFailed => "PREREQUISITE_FAILED",
            Reason::TargetingMatch => "TARGETING_MATCH",
            Reason::Split => "SPLIT",
            Reason::Default => "DEFAULT",
        }
    }
}

/// An evaluation borrowing from the compiled snapshot: producing it allocates nothing.
/// Serializes to the same JSON as [`EvaluationResult`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Evaluation<'a> {
    pub value: &'a Value,
    /// `None` (JSON `null`) when the flag is off: disabled or a prerequisite failed.
    pub variant: Option<&'a str>,
    pub reason: Reason,
}

impl Evaluation<'_> {
    pub fn to_result(&self) -> EvaluationResult {
        EvaluationResult {
            value: self.value.clone(),
            variant: self.variant.map(str::to_owned),
            reason: self.reason,
        }
    }
}

/// The owned form of an evaluation: `{"value": …, "variant": "on" | null, "reason": "…"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EvaluationResult {
    pub value: Value,
    pub variant: Option<String>,
    pub reason: Reason,
}

/// Why an evaluation produced no value at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvaluationError {
    #[error("flag {0:?} not found")]
    FlagNotFound(String),
}

impl EvaluationError {
    /// The stable, SDK-facing error code.
    pub fn code(&self) -> &'static str {
        match self {
            EvaluationError::FlagNotFound(_) => "FLAG_NOT_FOUND",
        }
    }
}
