use std::fmt;

use serde::Serialize;

/// One thing wrong with a submitted value, located by a JSON path relative to the value
/// that was validated, e.g. `targeting_rules[2].conditions[0].value`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValidationError {
    /// Where the problem is; empty when it concerns the whole value.
    pub field: String,
    pub message: String,
}

impl ValidationError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> ValidationError {
        ValidationError {
            field: field.into(),
            message: message.into(),
        }
    }

    /// Re-roots the path under `parent` (a field name or an indexed path like `rules[2]`).
    pub fn within(mut self, parent: &str) -> ValidationError {
        self.field = join_path(parent, &self.field);
        self
    }
}

pub(crate) fn join_path(parent: &str, child: &str) -> String {
    if parent.is_empty() {
        child.to_owned()
    } else if child.is_empty() {
        parent.to_owned()
    } else if child.starts_with('[') {
        format!("{parent}{child}")
    } else {
        format!("{parent}.{child}")
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.field, self.message)
        }
    }
}

impl std::error::Error for ValidationError {}

/// Everything wrong with a value; never empty. Validation reports every problem it finds,
/// so a form can mark all offending fields at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct ValidationErrors(Vec<ValidationError>);

impl ValidationErrors {
    pub fn errors(&self) -> &[ValidationError] {
        &self.0
    }

    /// The first problem, the one to show when only one fits.
    pub fn first(&self) -> &ValidationError {
        &self.0[0]
    }

    pub fn into_vec(self) -> Vec<ValidationError> {
        self.0
    }

    pub fn within(self, parent: &str) -> ValidationErrors {
        ValidationErrors(self.0.into_iter().map(|e| e.within(parent)).collect())
    }
}

impl From<ValidationError> for ValidationErrors {
    fn from(error: ValidationError) -> ValidationErrors {
        ValidationErrors(vec![error])
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}

/// Collects problems while validating a nested value, rooting each under its path.
#[derive(Debug, Default)]
pub(crate) struct Problems(Vec<ValidationError>);

impl Problems {
    pub fn new() -> Problems {
        Problems(Vec::new())
    }

    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(ValidationError::new(field, message));
    }

    /// Adds every error of `errors` under `parent`.
    pub fn extend_within(&mut self, parent: &str, errors: ValidationErrors) {
        self.0
            .extend(errors.0.into_iter().map(|e| e.within(parent)));
    }

    /// Unwraps a nested result, recording its errors under `parent`.
    pub fn take<T>(&mut self, parent: &str, result: Result<T, ValidationErrors>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(errors) => {
                self.extend_within(parent, errors);
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(value)` when nothing was recorded.
    pub fn finish<T>(self, value: T) -> Result<T, ValidationErrors> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(ValidationErrors(self.0))
        }
    }

    /// The problems found, when some are known to have been found.
    pub fn fail<T>(self) -> Result<T, ValidationErrors> {
        debug_assert!(!self.0.is_empty(), "failing without a problem");
        Err(ValidationErrors(self.0))
    }

    /// Like [`Problems::finish`], for a value that can only be built when nothing failed.
    pub fn finish_with<T>(self, build: impl FnOnce() -> T) -> Result<T, ValidationErrors> {
        if self.0.is_empty() {
            Ok(build())
        } else {
            Err(ValidationErrors(self.0))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_join_fields_and_indexes() {
        let error = ValidationError::new("value", "invalid regex: unclosed group")
            .within("conditions[0]")
            .within("targeting_rules[2]");
        assert_eq!(
            error.to_string(),
            "targeting_rules[2].conditions[0].value: invalid regex: unclosed group"
        );
        assert_eq!(
            ValidationError::new("[1]", "x").within("value").field,
            "value[1]"
        );
        assert_eq!(ValidationError::new("", "x").within("key").field, "key");
    }
}
