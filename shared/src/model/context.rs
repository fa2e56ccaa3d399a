use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Who is asking: the input of every evaluation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EvaluationContext {
    /// Read by the attribute name `user_id`, and the default bucketing key. An empty
    /// string counts as absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub attributes: Map<String, Value>,
}

impl EvaluationContext {
    pub fn new(user_id: impl Into<String>) -> EvaluationContext {
        EvaluationContext {
            user_id: Some(user_id.into()),
            attributes: Map::new(),
        }
    }

    /// Builder-style attribute setter, handy in tests and SDK glue.
    pub fn with(mut self, name: &str, value: impl Into<Value>) -> EvaluationContext {
        self.attributes.insert(name.to_owned(), value.into());
        self
    }

    /// The user id, treating `""` as absent.
    pub fn user_id(&self) -> Option<&str> {
        self.user_id.as_deref().filter(|id| !id.is_empty())
    }
}
