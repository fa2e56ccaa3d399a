//! Conditions, compiled: every operand parsed once (regexes, versions, timestamps), so
//! matching a context only reads.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

use semver::Version;
use serde_json::{Number, Value};

use super::operand::{
    lowercase, number_from_str, numbers_equal, semver_from_str, semver_precedence,
    timestamp_from_str,
};
use super::pattern::Pattern;
use super::segment::CompiledSegment;
use crate::model::{AttributeValue, Condition, Context, Operator};
use crate::validate::{KeyKind, Problems, ValidationErrors, is_valid_key};

/// The segments a condition may refer to, by key.
pub(crate) type Segments = HashMap<String, Arc<CompiledSegment>>;

/// The longest attribute name accepted.
const MAX_ATTRIBUTE_LEN: usize = 256;

/// Where a condition (or a rule's bucketing) reads its input from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Attribute {
    UserId,
    Named(Box<str>),
}

/// What an attribute holds for a given context; `null` counts as absent.
#[derive(Clone, Copy)]
pub(crate) enum Found<'a> {
    Absent,
    Str(&'a str),
    Json(&'a Value),
}

impl Attribute {
    pub(crate) fn new(name: &str) -> Attribute {
        if name == "user_id" {
            Attribute::UserId
        } else {
            Attribute::Named(name.into())
        }
    }

    pub(crate) fn lookup<'a>(&self, context: &'a impl Context) -> Found<'a> {
        match self {
            Attribute::UserId => context.user_id().map_or(Found::Absent, Found::Str),
            Attribute::Named(name) => match context.attribute(name) {
                None => Found::Absent,
                Some(AttributeValue::Str(s)) => Found::Str(s),
                Some(AttributeValue::Json(value)) => Found::Json(value),
            },
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct CompiledCondition {
    /// The condition's number in its snapshot: the same for every rule that states the
    /// same condition, so an all-flags answer decides it once. `None` inside segments.
    pub(crate) id: Option<u32>,
    /// `None` only for segment tests.
    attribute: Option<Attribute>,
    test: Test,
    /// Set for `not_*` operators: the result of the positive twin, inverted. Negating the
    /// whole test keeps every `not_*` the exact complement, absent values included.
    negate: bool,
}

#[derive(Debug, Clone)]
enum Test {
    /// `equals` (one scalar) and `in` (a list); strings pre-lowered when case-insensitive.
    Equals {
        scalars: Box<[Scalar]>,
        case_insensitive: bool,
    },
    Text {
        op: TextOp,
        needle: Box<str>,
        case_insensitive: bool,
    },
    Numeric(Comparison, f64),
    Exists,
    Matches(Pattern),
    Semver(Comparison, Version),
    Timestamp(Comparison, i128),
    Segment(Arc<CompiledSegment>),
}

#[derive(Debug, Clone)]
enum Scalar {
    Str(Box<str>),
    Num(Number),
    Bool(bool),
}

#[derive(Debug, Clone, Copy)]
enum TextOp {
    Contains,
    StartsWith,
    EndsWith,
}

/// `attribute <op> operand`.
#[derive(Debug, Clone, Copy)]
enum Comparison {
    Eq,
    Gt,
    Gte,
    Lt,
    Lte,
}

impl Comparison {
    fn holds(self, attribute_vs_operand: Ordering) -> bool {
        match self {
            Comparison::Eq => attribute_vs_operand.is_eq(),
            Comparison::Gt => attribute_vs_operand.is_gt(),
            Comparison::Gte => attribute_vs_operand.is_ge(),
            Comparison::Lt => attribute_vs_operand.is_lt(),
            Comparison::Lte => attribute_vs_operand.is_le(),
        }
    }
}

impl CompiledCondition {
    /// Validates `condition` and compiles it. `segments` is `None` where segment tests are
    /// not allowed (inside a segment). Error paths are relative to the condition.
    pub(crate) fn compile(
        condition: &Condition,
        segments: Option<&Segments>,
    ) -> Result<CompiledCondition, ValidationErrors> {
        let mut problems = Problems::new();
        let operator = condition.operator;
        let positive = operator.negated().unwrap_or(operator);
        let ci = condition.case_insensitive;
        if ci && !operator.is_string_operator() {
            problems.add(
                "case_insensitive",
                format!("{operator} does not take case_insensitive; only string operators do"),
            );
        }

        let is_segment_test = positive == Operator::InSegment;
        if is_segment_test && segments.is_none() {
            problems.add("operator", "a segment cannot refer to another segment");
            return Err(problems.finish(()).unwrap_err());
        }
        let attribute = match (&condition.attribute, is_segment_test) {
            (Some(_), true) => {
                problems.add("attribute", format!("{operator} takes no attribute"));
                None
            }
            (None, true) => None,
            (None, false) => {
                problems.add("attribute", format!("{operator} needs an attribute"));
                None
            }
            (Some(name), false) if name.is_empty() => {
                problems.add("attribute", "attribute name must not be empty");
                None
            }
            (Some(name), false) if name.len() > MAX_ATTRIBUTE_LEN => {
                problems.add(
                    "attribute",
                    format!("attribute name must be at most {MAX_ATTRIBUTE_LEN} bytes"),
                );
                None
            }
            (Some(name), false) => Some(Attribute::new(name)),
        };

        let value = condition.value.as_ref();
        let test = match positive {
            Operator::Exists => match value {
                None => Ok(Test::Exists),
                Some(_) => Err((String::new(), format!("{operator} takes no value"))),
            },
            Operator::Equals => scalar(value, ci).map(|s| Test::Equals {
                scalars: Box::new([s]),
                case_insensitive: ci,
            }),
            Operator::In => scalar_list(value, ci).map(|scalars| Test::Equals {
                scalars,
                case_insensitive: ci,
            }),
            Operator::Contains => text(value, ci, TextOp::Contains),
            Operator::StartsWith => text(value, ci, TextOp::StartsWith),
            Operator::EndsWith => text(value, ci, TextOp::EndsWith),
            Operator::GreaterThan => number(value, Comparison::Gt),
            Operator::Gte => number(value, Comparison::Gte),
            Operator::LessThan => number(value, Comparison::Lt),
            Operator::Lte => number(value, Comparison::Lte),
            Operator::Matches => string(value).and_then(|pattern| {
                Pattern::compile(pattern, ci)
                    .map(Test::Matches)
                    .map_err(|e| ("".into(), format!("invalid regex: {e}")))
            }),
            Operator::SemverEq => semver(value, Comparison::Eq),
            Operator::SemverGt => semver(value, Comparison::Gt),
            Operator::SemverGte => semver(value, Comparison::Gte),
            Operator::SemverLt => semver(value, Comparison::Lt),
            Operator::SemverLte => semver(value, Comparison::Lte),
            Operator::Before => timestamp(value, Comparison::Lt),
            Operator::After => timestamp(value, Comparison::Gt),
            Operator::InSegment => segment(value, segments),
            Operator::NotEquals
            | Operator::NotContains
            | Operator::NotIn
            | Operator::NotExists
            | Operator::NotInSegment => unreachable!("negated operators were mapped to their twin"),
        }
        .map_err(|(field, message): (String, String)| {
            problems.add(
                if field.is_empty() {
                    "value".to_owned()
                } else {
                    format!("value{field}")
                },
                message,
            )
        })
        .ok();

        problems.finish_with(|| CompiledCondition {
            id: None,
            attribute,
            test: test.expect("no problems means the test compiled"),
            negate: operator.negated().is_some(),
        })
    }

    /// Compiles a list of conditions, recording problems under `conditions[i]`.
    pub(crate) fn compile_all(
        problems: &mut Problems,
        conditions: &[Condition],
        segments: Option<&Segments>,
    ) -> Vec<CompiledCondition> {
        conditions
            .iter()
            .enumerate()
            .filter_map(|(i, condition)| {
                problems.take(
                    &format!("conditions[{i}]"),
                    CompiledCondition::compile(condition, segments),
                )
            })
            .collect()
    }

    pub(crate) fn matches(&self, context: &impl Context) -> bool {
        self.matches_found(context, |attribute| attribute.lookup(context))
    }

    /// [`matches`](Self::matches), given `find`, which gives what the condition's
    /// attribute holds for `context`: a caller testing many conditions on the same few
    /// attributes looks each up once.
    pub(crate) fn matches_found<'c, C: Context>(
        &self,
        context: &'c C,
        find: impl FnOnce(&Attribute) -> Found<'c>,
    ) -> bool {
        self.matches_positive(context, find) != self.negate
    }

    /// The attribute the condition reads; `None` for segment tests.
    pub(crate) fn attribute(&self) -> Option<&Attribute> {
        self.attribute.as_ref()
    }

    /// The condition's number in its snapshot (see [`id`](Self::id)).
    pub(crate) fn number(&self) -> u32 {
        self.id
            .expect("rule conditions are numbered when their snapshot compiles")
    }

    fn matches_positive<'c, C: Context>(
        &self,
        context: &'c C,
        find: impl FnOnce(&Attribute) -> Found<'c>,
    ) -> bool {
        let found = match (&self.test, &self.attribute) {
            (Test::Segment(segment), _) => return segment.contains(context),
            (_, Some(attribute)) => find(attribute),
            (_, None) => return false,
        };
        match (&self.test, found) {
            (_, Found::Absent) => false,
            // Presence, not content: an empty string or an empty list exists.
            (Test::Exists, _) => true,
            (test, Found::Str(s)) => test.on_str(s),
            (test, Found::Json(Value::Array(items))) => {
                items.iter().any(|item| test.on_value(item))
            }
            (test, Found::Json(value)) => test.on_value(value),
        }
    }
}

impl Test {
    fn on_value(&self, value: &Value) -> bool {
        match value {
            Value::String(s) => self.on_str(s),
            Value::Number(n) => self.on_number(n),
            Value::Bool(b) => self.on_bool(*b),
            // Inside a list, null, lists and objects never match a positive operator.
            Value::Null | Value::Array(_) | Value::Object(_) => false,
        }
    }

    fn on_str(&self, s: &str) -> bool {
        match self {
            Test::Equals {
                scalars,
                case_insensitive,
            } => {
                let s = if *case_insensitive {
                    lowercase(s)
                } else {
                    s.into()
                };
                scalars
                    .iter()
                    .any(|scalar| matches!(scalar, Scalar::Str(x) if **x == *s))
            }
            Test::Text {
                op,
                needle,
                case_insensitive,
            } => {
                let s = if *case_insensitive {
                    lowercase(s)
                } else {
                    s.into()
                };
                match op {
                    TextOp::Contains => s.contains(&**needle),
                    TextOp::StartsWith => s.starts_with(&**needle),
                    TextOp::EndsWith => s.ends_with(&**needle),
                }
            }
            Test::Numeric(cmp, operand) => {
                number_from_str(s).is_some_and(|n| compare(*cmp, n, *operand))
            }
            Test::Matches(pattern) => pattern.is_match(s),
            Test::Semver(cmp, operand) => {
                semver_from_str(s).is_some_and(|v| cmp.holds(semver_precedence(&v, operand)))
            }
            Test::Timestamp(cmp, operand) => {
                timestamp_from_str(s).is_some_and(|t| cmp.holds(t.cmp(operand)))
            }
            Test::Exists | Test::Segment(_) => false,
        }
    }

    fn on_number(&self, n: &Number) -> bool {
        match self {
            Test::Equals { scalars, .. } => scalars
                .iter()
                .any(|scalar| matches!(scalar, Scalar::Num(x) if numbers_equal(x, n))),
            Test::Numeric(cmp, operand) => n.as_f64().is_some_and(|n| compare(*cmp, n, *operand)),
            _ => false,
        }
    }

    fn on_bool(&self, b: bool) -> bool {
        match self {
            Test::Equals { scalars, .. } => scalars
                .iter()
                .any(|scalar| matches!(scalar, Scalar::Bool(x) if *x == b)),
            _ => false,
        }
    }
}

fn compare(cmp: Comparison, attribute: f64, operand: f64) -> bool {
    attribute
        .partial_cmp(&operand)
        .is_some_and(|ordering| cmp.holds(ordering))
}

/// An operand error: a path suffix below `value` (empty, or `[i]`) and a message.
type OperandError = (String, String);

fn required(value: Option<&Value>) -> Result<&Value, OperandError> {
    value.ok_or_else(|| (String::new(), "a value is required".to_owned()))
}

fn string(value: Option<&Value>) -> Result<&str, OperandError> {
    required(value)?
        .as_str()
        .ok_or_else(|| (String::new(), "must be a string".to_owned()))
}

fn scalar_of(value: &Value, ci: bool) -> Result<Scalar, String> {
    match value {
        Value::String(s) if ci => Ok(Scalar::Str(lowercase(s).into())),
        Value::String(s) => Ok(Scalar::Str(s.as_str().into())),
        Value::Number(n) => Ok(Scalar::Num(n.clone())),
        Value::Bool(b) => Ok(Scalar::Bool(*b)),
        Value::Null | Value::Array(_) | Value::Object(_) => {
            Err("must be a string, number or boolean".to_owned())
        }
    }
}

fn scalar(value: Option<&Value>, ci: bool) -> Result<Scalar, OperandError> {
    scalar_of(required(value)?, ci).map_err(|m| (String::new(), m))
}

fn scalar_list(value: Option<&Value>, ci: bool) -> Result<Box<[Scalar]>, OperandError> {
    let Value::Array(items) = required(value)? else {
        return Err((
            String::new(),
            "must be a list of strings, numbers or booleans".into(),
        ));
    };
    if items.is_empty() {
        return Err((String::new(), "must be a non-empty list".into()));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| scalar_of(item, ci).map_err(|m| (format!("[{i}]"), m)))
        .collect()
}

fn text(value: Option<&Value>, ci: bool, op: TextOp) -> Result<Test, OperandError> {
    let needle = string(value)?;
    Ok(Test::Text {
        op,
        needle: if ci {
            lowercase(needle).into()
        } else {
            needle.into()
        },
        case_insensitive: ci,
    })
}

fn number(value: Option<&Value>, cmp: Comparison) -> Result<Test, OperandError> {
    required(value)?
        .as_f64()
        .map(|n| Test::Numeric(cmp, n))
        .ok_or_else(|| (String::new(), "must be a number".to_owned()))
}

fn semver(value: Option<&Value>, cmp: Comparison) -> Result<Test, OperandError> {
    let text = string(value)?;
    semver_from_str(text)
        .map(|v| Test::Semver(cmp, v))
        .ok_or_else(|| {
            (
                String::new(),
                format!(
                    "invalid semantic version {text:?}: expected MAJOR.MINOR.PATCH, e.g. 2.0.0"
                ),
            )
        })
}

fn timestamp(value: Option<&Value>, cmp: Comparison) -> Result<Test, OperandError> {
    let text = string(value)?;
    timestamp_from_str(text)
        .map(|t| Test::Timestamp(cmp, t))
        .ok_or_else(|| {
            (
                String::new(),
                format!("invalid RFC 3339 timestamp {text:?}: expected e.g. 2025-01-31T12:00:00Z"),
            )
        })
}

fn segment(value: Option<&Value>, segments: Option<&Segments>) -> Result<Test, OperandError> {
    let key = string(value)?;
    let segments = segments.expect("checked before compiling the operand");
    if !is_valid_key(key) {
        let error = crate::validate::validate_key(KeyKind::Segment, "", key).unwrap_err();
        return Err((String::new(), error.message));
    }
    segments
        .get(key)
        .map(|s| Test::Segment(Arc::clone(s)))
        .ok_or_else(|| (String::new(), format!("unknown segment {key:?}")))
}

#[cfg(test)]
mod tests;
