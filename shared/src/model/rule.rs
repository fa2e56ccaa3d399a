use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One targeting rule. It matches a context when all its conditions match (no conditions:
/// everyone), and then serves a fixed `variant` — to everyone matched, or with
/// `percentage_rollout` to that share of them — or a weighted `rollout` split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Free text for people; the engine ignores it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub conditions: Vec<Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// Share (0–100, up to 3 decimals) of matching contexts the rule applies to; the rest
    /// fall through to the next rule.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "percentage::serialize_option"
    )]
    pub percentage_rollout: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<Vec<WeightedVariant>>,
    /// Attribute whose value places a context in a bucket; `user_id` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket_by: Option<String>,
    /// Hash salt; the flag key when absent. Share a salt between flags to bucket alike.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salt: Option<String>,
}

/// A slice of a weighted rollout: `weight` percent (up to 3 decimals) get `variant`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WeightedVariant {
    pub variant: String,
    #[serde(serialize_with = "percentage::serialize")]
    pub weight: f64,
}

/// Percentages travel as the numbers people typed: `50`, not `50.0`.
mod percentage {
    use serde::Serializer;

    pub fn serialize<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
        // Whole percentages (0–100 after validation) are exact as integers.
        if value.fract() == 0.0 && value.abs() <= 1e15 {
            serializer.serialize_i64(*value as i64)
        } else {
            serializer.serialize_f64(*value)
        }
    }

    pub fn serialize_option<S: Serializer>(
        value: &Option<f64>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(value) => serialize(value, serializer),
            None => serializer.serialize_none(),
        }
    }
}

/// A test on one attribute of the evaluation context, or on segment membership.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// `user_id` reads the context's user id; any other name reads that attribute.
    /// Absent for `in_segment` and `not_in_segment`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribute: Option<String>,
    pub operator: Operator,
    /// The operand; its shape depends on the operator (see `docs/evaluation.md`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// Compare strings after `str::to_lowercase` on both sides; string operators only.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub case_insensitive: bool,
}

/// Every operator a condition can use. Each `not_*` operator is exactly the negation of
/// its positive twin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Operator {
    Equals,
    NotEquals,
    Contains,
    NotContains,
    StartsWith,
    EndsWith,
    GreaterThan,
    LessThan,
    Gte,
    Lte,
    In,
    NotIn,
    Exists,
    NotExists,
    Matches,
    SemverEq,
    SemverGt,
    SemverGte,
    SemverLt,
    SemverLte,
    Before,
    After,
    InSegment,
    NotInSegment,
}

impl Operator {
    pub const ALL: [Operator; 24] = [
        Operator::Equals,
        Operator::NotEquals,
        Operator::Contains,
        Operator::NotContains,
        Operator::StartsWith,
        Operator::EndsWith,
        Operator::GreaterThan,
        Operator::LessThan,
        Operator::Gte,
        Operator::Lte,
        Operator::In,
        Operator::NotIn,
        Operator::Exists,
        Operator::NotExists,
        Operator::Matches,
        Operator::SemverEq,
        Operator::SemverGt,
        Operator::SemverGte,
        Operator::SemverLt,
        Operator::SemverLte,
        Operator::Before,
        Operator::After,
        Operator::InSegment,
        Operator::NotInSegment,
    ];

    /// The positive operator this one negates, if it is a `not_*` operator.
    pub fn negated(self) -> Option<Operator> {
        match self {
            Operator::NotEquals => Some(Operator::Equals),
            Operator::NotContains => Some(Operator::Contains),
            Operator::NotIn => Some(Operator::In),
            Operator::NotExists => Some(Operator::Exists),
            Operator::NotInSegment => Some(Operator::InSegment),
            _ => None,
        }
    }

    /// Whether `case_insensitive` is meaningful for this operator.
    pub fn is_string_operator(self) -> bool {
        matches!(
            self.negated().unwrap_or(self),
            Operator::Equals
                | Operator::In
                | Operator::Contains
                | Operator::StartsWith
                | Operator::EndsWith
                | Operator::Matches
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Operator::Equals => "equals",
            Operator::NotEquals => "not_equals",
            Operator::Contains => "contains",
            Operator::NotContains => "not_contains",
            Operator::StartsWith => "starts_with",
            Operator::EndsWith => "ends_with",
            Operator::GreaterThan => "greater_than",
            Operator::LessThan => "less_than",
            Operator::Gte => "gte",
            Operator::Lte => "lte",
            Operator::In => "in",
            Operator::NotIn => "not_in",
            Operator::Exists => "exists",
            Operator::NotExists => "not_exists",
            Operator::Matches => "matches",
            Operator::SemverEq => "semver_eq",
            Operator::SemverGt => "semver_gt",
            Operator::SemverGte => "semver_gte",
            Operator::SemverLt => "semver_lt",
            Operator::SemverLte => "semver_lte",
            Operator::Before => "before",
            Operator::After => "after",
            Operator::InSegment => "in_segment",
            Operator::NotInSegment => "not_in_segment",
        }
    }
}

impl std::fmt::Display for Operator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
