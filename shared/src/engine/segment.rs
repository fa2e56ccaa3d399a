use std::collections::HashSet;

use super::condition::CompiledCondition;
use crate::model::{Context, Segment};
use crate::validate::{KeyKind, Problems, ValidationErrors, validate_key};

/// A segment ready for membership tests.
#[derive(Debug)]
pub(crate) struct CompiledSegment {
    included: HashSet<Box<str>>,
    excluded: HashSet<Box<str>>,
    conditions: Vec<CompiledCondition>,
}

impl CompiledSegment {
    /// Validates and compiles a segment; error paths are relative to the segment.
    pub(crate) fn compile(segment: &Segment) -> Result<CompiledSegment, ValidationErrors> {
        let mut problems = Problems::new();
        if let Err(e) = validate_key(KeyKind::Segment, "key", &segment.key) {
            problems.add(e.field, e.message);
        }
        crate::validate::check_name(&mut problems, &segment.name);
        crate::validate::check_description(&mut problems, &segment.description);
        for (list, ids) in [
            ("included", &segment.included),
            ("excluded", &segment.excluded),
        ] {
            for (i, id) in ids.iter().enumerate() {
                if id.is_empty() {
                    problems.add(format!("{list}[{i}]"), "user id must not be empty");
                }
            }
        }
        if !crate::validate::limits::check_segment_conditions(&mut problems, &segment.conditions) {
            return problems.fail();
        }
        let conditions = CompiledCondition::compile_all(&mut problems, &segment.conditions, None);
        problems.finish_with(|| CompiledSegment {
            included: segment
                .included
                .iter()
                .map(|id| id.as_str().into())
                .collect(),
            excluded: segment
                .excluded
                .iter()
                .map(|id| id.as_str().into())
                .collect(),
            conditions,
        })
    }

    /// Not excluded, and either included or matching all of at least one condition.
    pub(crate) fn contains(&self, context: &impl Context) -> bool {
        if let Some(user_id) = context.user_id() {
            if self.excluded.contains(user_id) {
                return false;
            }
            if self.included.contains(user_id) {
                return true;
            }
        }
        !self.conditions.is_empty() && self.conditions.iter().all(|c| c.matches(context))
    }
}
