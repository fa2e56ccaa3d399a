//! Write-time validation. Everything the control plane stores passes through here, and an
//! edge refuses any snapshot that does not, so a broken rule never reaches evaluation.
//! Config and segment checks are the engine's own compilation, run and discarded: what
//! validates is exactly what compiles.

mod error;
mod keys;
pub mod limits;
mod prerequisites;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde::Deserialize;
use serde::de::DeserializeOwned;

pub(crate) use error::Problems;
pub use error::{ValidationError, ValidationErrors};
pub use keys::{KeyKind, MAX_KEY_LEN, is_valid_key, validate_key};
pub use limits::{MAX_CONDITIONS, MAX_REGEXES, MAX_REGEXES_PER_ENVIRONMENT, MAX_RULES};
pub(crate) use prerequisites::prerequisite_order;

use crate::engine::{CompiledFlag, CompiledSegment, Segments, type_noun};
use crate::model::{Flag, FlagConfig, Segment};

const MAX_NAME_LEN: usize = 200;
const MAX_DESCRIPTION_LEN: usize = 10_000;
const MAX_TAG_LEN: usize = 64;
const MAX_TAGS: usize = 50;

/// Parses JSON into a model type, naming the path of the first problem
/// (`targeting_rules[0].conditions[1].operator: unknown variant `foo`…`).
pub fn parse_json<'de, T: Deserialize<'de>>(json: &'de [u8]) -> Result<T, ValidationError> {
    // Tracking the path costs on every token; only a failed parse needs it, so the
    // input is parsed again, tracked, to name where it went wrong.
    if let Ok(value) = serde_json::from_slice(json) {
        return Ok(value);
    }
    let deserializer = &mut serde_json::Deserializer::from_slice(json);
    let parsed = serde_path_to_error::deserialize(&mut *deserializer).map_err(|error| {
        let field = error.path().to_string();
        let message = error.into_inner().to_string();
        ValidationError::new(
            if field == "." { String::new() } else { field },
            without_position(message),
        )
    })?;
    // What the fast parse refused although the value itself parsed: anything after it.
    deserializer
        .end()
        .map_err(|error| ValidationError::new("", without_position(error.to_string())))?;
    Ok(parsed)
}

/// serde_json appends " at line L column C", which means nothing in a form.
fn without_position(message: String) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message,
    }
}

/// [`parse_json`] for a value that is already parsed, such as part of a request body.
pub fn parse_json_value<T: DeserializeOwned>(
    json: serde_json::Value,
) -> Result<T, ValidationError> {
    serde_path_to_error::deserialize(json).map_err(|error| {
        let field = error.path().to_string();
        let message = error.into_inner().to_string();
        ValidationError::new(if field == "." { String::new() } else { field }, message)
    })
}

/// A flag's own fields: key, name, description, default value, tags.
pub fn validate_flag(flag: &Flag) -> Result<(), ValidationErrors> {
    check_flag(flag)
}

pub(crate) fn check_flag(flag: &Flag) -> Result<(), ValidationErrors> {
    let mut problems = Problems::new();
    if let Err(e) = validate_key(KeyKind::Flag, "key", &flag.key) {
        problems.add(e.field, e.message);
    }
    check_name(&mut problems, &flag.name);
    check_description(&mut problems, &flag.description);
    if !flag.flag_type.accepts(&flag.default_value) {
        problems.add(
            "default_value",
            format!(
                "must be a {} for a {} flag",
                type_noun(flag.flag_type),
                flag.flag_type.as_str()
            ),
        );
    }
    if flag.tags.len() > MAX_TAGS {
        problems.add("tags", format!("at most {MAX_TAGS} tags"));
    }
    let mut seen = HashSet::new();
    for (i, tag) in flag.tags.iter().enumerate() {
        if tag.trim().is_empty() || tag.trim() != tag || tag.chars().count() > MAX_TAG_LEN {
            problems.add(
                format!("tags[{i}]"),
                format!("a tag has 1 to {MAX_TAG_LEN} characters, without surrounding spaces"),
            );
        } else if !seen.insert(tag.as_str()) {
            problems.add(format!("tags[{i}]"), format!("duplicate tag {tag:?}"));
        }
    }
    problems.finish(())
}

pub(crate) fn check_name(problems: &mut Problems, name: &str) {
    if name.trim().is_empty() {
        problems.add("name", "a name is required");
    } else if name.chars().count() > MAX_NAME_LEN {
        problems.add("name", format!("must be at most {MAX_NAME_LEN} characters"));
    }
}

pub(crate) fn check_description(problems: &mut Problems, description: &str) {
    if description.chars().count() > MAX_DESCRIPTION_LEN {
        problems.add(
            "description",
            format!("must be at most {MAX_DESCRIPTION_LEN} characters"),
        );
    }
}

/// A segment, including its conditions; segments may not refer to segments.
pub fn validate_segment(segment: &Segment) -> Result<(), ValidationErrors> {
    CompiledSegment::compile(segment).map(drop)
}

/// What validating one flag config needs to know of the rest of its environment: the
/// other flags' variants and prerequisites, and the project's segments.
#[derive(Debug, Default)]
pub struct EnvironmentView {
    flags: HashMap<String, FlagShape>,
    segments: Segments,
    /// `matches` conditions in the project's segments.
    segment_regexes: usize,
}

#[derive(Debug)]
struct FlagShape {
    variants: Vec<String>,
    prerequisites: Vec<String>,
    regexes: usize,
}

/// What a store hands over of each other flag in the environment for validation.
#[derive(Debug)]
pub struct FlagShapeIn {
    pub key: String,
    pub variants: Vec<String>,
    pub prerequisites: Vec<String>,
    /// Its `matches` conditions.
    pub regexes: usize,
}

impl EnvironmentView {
    /// `flags` are the environment's current `(flag key, config)` pairs; `segments` the
    /// project's. Segments that do not validate are left out, so rules cannot use them.
    pub fn new<'a>(
        flags: impl IntoIterator<Item = (&'a str, &'a FlagConfig)>,
        segments: &[Segment],
    ) -> EnvironmentView {
        EnvironmentView::from_shapes(
            flags.into_iter().map(|(key, config)| FlagShapeIn {
                key: key.to_owned(),
                variants: config.variants.iter().map(|v| v.key.clone()).collect(),
                prerequisites: config
                    .prerequisites
                    .iter()
                    .map(|p| p.flag.clone())
                    .collect(),
                regexes: limits::regexes_in_rules(&config.targeting_rules),
            }),
            segments,
        )
    }

    /// The same from just what validation reads of each other flag. Lets a store hand
    /// over a few strings per flag instead of every config whole.
    pub fn from_shapes(
        flags: impl IntoIterator<Item = FlagShapeIn>,
        segments: &[Segment],
    ) -> EnvironmentView {
        let flags = flags
            .into_iter()
            .map(|shape| {
                (
                    shape.key,
                    FlagShape {
                        variants: shape.variants,
                        prerequisites: shape.prerequisites,
                        regexes: shape.regexes,
                    },
                )
            })
            .collect();
        let segment_regexes = segments
            .iter()
            .map(|s| limits::regexes_in(&s.conditions))
            .sum();
        let segments = segments
            .iter()
            .filter_map(|s| Some((s.key.clone(), Arc::new(CompiledSegment::compile(s).ok()?))))
            .collect();
        EnvironmentView {
            flags,
            segments,
            segment_regexes,
        }
    }
}

/// A flag's config in one environment, as it would replace the current one: its own
/// shape, the segments and prerequisite flags it names, and that its prerequisites form
/// no cycle. Error paths are relative to the config.
pub fn validate_flag_config(
    flag: &Flag,
    config: &FlagConfig,
    environment: &EnvironmentView,
) -> Result<(), ValidationErrors> {
    CompiledFlag::compile(flag, config, &environment.segments)?;
    let mut problems = Problems::new();
    let others: usize = environment
        .flags
        .iter()
        .filter(|(key, _)| **key != flag.key)
        .map(|(_, shape)| shape.regexes)
        .sum();
    let total =
        others + environment.segment_regexes + limits::regexes_in_rules(&config.targeting_rules);
    if total > limits::MAX_REGEXES_PER_ENVIRONMENT {
        problems.add(
            "targeting_rules",
            format!(
                "the environment would hold {total} `matches` conditions (its flags' and \
                 its project's segments'); at most {}",
                limits::MAX_REGEXES_PER_ENVIRONMENT
            ),
        );
        return problems.finish(());
    }
    for (i, prerequisite) in config.prerequisites.iter().enumerate() {
        match environment.flags.get(&prerequisite.flag) {
            None => problems.add(
                format!("prerequisites[{i}].flag"),
                format!("unknown flag {:?}", prerequisite.flag),
            ),
            Some(other) if !other.variants.contains(&prerequisite.variant) => problems.add(
                format!("prerequisites[{i}].variant"),
                format!(
                    "flag {:?} has no variant {:?}",
                    prerequisite.flag, prerequisite.variant
                ),
            ),
            Some(_) => {}
        }
    }
    if !problems.is_empty() {
        return problems.finish(());
    }

    // The environment's prerequisite graph with this config in place.
    let mut keys: Vec<&str> = environment.flags.keys().map(String::as_str).collect();
    if !environment.flags.contains_key(&flag.key) {
        keys.push(&flag.key);
    }
    let index: HashMap<&str, usize> = keys.iter().enumerate().map(|(i, k)| (*k, i)).collect();
    let dependencies: Vec<Vec<usize>> = keys
        .iter()
        .map(|&key| {
            let needs: Vec<&str> = if key == flag.key {
                config
                    .prerequisites
                    .iter()
                    .map(|p| p.flag.as_str())
                    .collect()
            } else {
                environment.flags[key]
                    .prerequisites
                    .iter()
                    .map(String::as_str)
                    .collect()
            };
            needs.iter().filter_map(|n| index.get(n).copied()).collect()
        })
        .collect();
    if let Err(cycle) = prerequisite_order(&dependencies) {
        let mut path: Vec<&str> = cycle.iter().map(|&i| keys[i]).collect();
        // Start the path at the flag being edited, when it is on the cycle.
        if let Some(at) = path[..path.len() - 1].iter().position(|&k| k == flag.key) {
            path.pop();
            path.rotate_left(at);
            path.push(path[0]);
        }
        problems.add(
            "prerequisites",
            format!("prerequisite cycle: {}", path.join(" -> ")),
        );
    }
    problems.finish(())
}

#[cfg(test)]
mod tests;
