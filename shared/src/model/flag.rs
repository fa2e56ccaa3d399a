use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Operator, Rule};

/// A feature flag's project-wide definition. What it serves in each environment lives in
/// that environment's [`FlagConfig`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Flag {
    pub key: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(rename = "type")]
    pub flag_type: FlagType,
    /// Served whenever the flag is off: archived, disabled, or a prerequisite failed.
    pub default_value: Value,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub archived: bool,
    /// Whether client SDK keys (browsers, mobile apps: their users can read every
    /// answer) see the flag. Server keys see every flag.
    #[serde(default = "visible")]
    pub client_visible: bool,
}

fn visible() -> bool {
    true
}

/// The type every value a flag serves must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum FlagType {
    Boolean,
    String,
    Number,
    /// Any JSON value, objects and arrays included.
    Json,
}

impl FlagType {
    /// Whether `value` is a value of this type.
    pub fn accepts(self, value: &Value) -> bool {
        match self {
            FlagType::Boolean => value.is_boolean(),
            FlagType::String => value.is_string(),
            FlagType::Number => value.is_number(),
            FlagType::Json => true,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FlagType::Boolean => "boolean",
            FlagType::String => "string",
            FlagType::Number => "number",
            FlagType::Json => "json",
        }
    }
}

/// How a flag behaves in one environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FlagConfig {
    pub enabled: bool,
    pub variants: Vec<Variant>,
    /// The variant served when no targeting rule serves one.
    pub default_variant: String,
    #[serde(default)]
    pub targeting_rules: Vec<Rule>,
    #[serde(default)]
    pub prerequisites: Vec<Prerequisite>,
}

impl FlagConfig {
    /// Keys of the segments this config's rules refer to.
    pub fn segment_keys(&self) -> impl Iterator<Item = &str> {
        self.targeting_rules
            .iter()
            .flat_map(|rule| &rule.conditions)
            .filter(|c| matches!(c.operator, Operator::InSegment | Operator::NotInSegment))
            .filter_map(|c| c.value.as_ref()?.as_str())
    }

    /// The config a new flag (or a new environment) starts with: disabled, with variants
    /// derived from the flag's type and the "off" variant as default.
    pub fn initial(flag: &Flag) -> FlagConfig {
        let (variants, default_variant) = match flag.flag_type {
            FlagType::Boolean => {
                let default_on = flag.default_value == Value::Bool(true);
                let variants = vec![
                    Variant::new("on", Value::Bool(true)),
                    Variant::new("off", Value::Bool(false)),
                ];
                (variants, if default_on { "on" } else { "off" })
            }
            _ => (
                vec![Variant::new("default", flag.default_value.clone())],
                "default",
            ),
        };
        FlagConfig {
            enabled: false,
            variants,
            default_variant: default_variant.to_owned(),
            targeting_rules: Vec::new(),
            prerequisites: Vec::new(),
        }
    }
}

/// A named value a flag can serve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Variant {
    pub key: String,
    pub value: Value,
}

impl Variant {
    pub fn new(key: &str, value: Value) -> Variant {
        Variant {
            key: key.to_owned(),
            value,
        }
    }
}

/// Another flag of the same environment that must serve `variant` for this flag to be on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Prerequisite {
    pub flag: String,
    pub variant: String,
}
