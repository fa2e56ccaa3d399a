use serde::{Deserialize, Serialize};

use super::Condition;

/// A reusable, project-level group of contexts. A context is in the segment when its
/// user id is not `excluded` and either it is `included`, or the segment has at least one
/// condition and all of them match. Segments never reference other segments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Segment {
    pub key: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub included: Vec<String>,
    #[serde(default)]
    pub excluded: Vec<String>,
    #[serde(default)]
    pub conditions: Vec<Condition>,
}
