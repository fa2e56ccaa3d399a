//! A flag's config in one environment, compiled: variants by index, rules with parsed
//! conditions and rollouts in whole buckets.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::bucket::{BUCKETS, bucket_of, percentage_to_buckets};
use super::condition::{Attribute, CompiledCondition, Segments};
use super::result::{Evaluation, Reason};
use super::trace::{RuleOutcome, RuleTrace};
use crate::model::{Context, Flag, FlagConfig, FlagType, Rule, Variant};
use crate::validate::{KeyKind, Problems, ValidationErrors, validate_key};

#[derive(Debug)]
pub(crate) struct CompiledFlag {
    pub(crate) key: String,
    pub(crate) archived: bool,
    pub(crate) client_visible: bool,
    enabled: bool,
    default_value: Value,
    pub(crate) variants: Vec<Variant>,
    default_variant: usize,
    rules: Vec<CompiledRule>,
    /// Filled in once every flag of the snapshot is known.
    pub(crate) prerequisites: Vec<ResolvedPrerequisite>,
}

/// Flag `flag` (an index into the snapshot) must serve variant `variant` (an index).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ResolvedPrerequisite {
    pub(crate) flag: usize,
    pub(crate) variant: usize,
}

/// What a flag served, before it is turned into values.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Outcome {
    Off(Reason),
    Served(usize, Reason),
}

impl Outcome {
    pub(crate) fn variant(self) -> Option<usize> {
        match self {
            Outcome::Off(_) => None,
            Outcome::Served(variant, _) => Some(variant),
        }
    }
}

#[derive(Debug)]
pub(crate) struct CompiledRule {
    conditions: Vec<CompiledCondition>,
    serving: Serving,
}

/// What a rule serves the contexts its conditions hold for.
#[derive(Debug, Clone)]
pub(crate) struct Serving {
    serve: Serve,
    bucket_by: Attribute,
    salt: Box<str>,
}

#[derive(Debug, Clone)]
enum Serve {
    Variant(usize),
    /// The variant to contexts whose bucket is below `buckets`; the rest fall through.
    Percentage {
        variant: usize,
        buckets: u32,
    },
    /// `(end, variant)` pairs: a bucket below `end` (and not below the previous end)
    /// gets `variant`. The last end is always [`BUCKETS`].
    Split(Box<[(u32, usize)]>),
}

impl CompiledFlag {
    /// Validates a config for `flag` and compiles it. Prerequisites are checked for shape
    /// here and resolved against the other flags by the caller. Error paths are relative
    /// to the config.
    pub(crate) fn compile(
        flag: &Flag,
        config: &FlagConfig,
        segments: &Segments,
    ) -> Result<CompiledFlag, ValidationErrors> {
        let mut problems = Problems::new();
        check_variants(&mut problems, flag.flag_type, &config.variants);
        let variant_index = |key: &str| config.variants.iter().position(|v| v.key == key);

        let default_variant = if config.default_variant.is_empty() {
            problems.add("default_variant", "a default variant is required");
            None
        } else {
            let index = variant_index(&config.default_variant);
            if index.is_none() {
                problems.add(
                    "default_variant",
                    format!("unknown variant {:?}", config.default_variant),
                );
            }
            index
        };

        if !crate::validate::limits::check_rules(&mut problems, &config.targeting_rules) {
            return problems.fail();
        }
        let rules: Vec<_> = config
            .targeting_rules
            .iter()
            .enumerate()
            .filter_map(|(i, rule)| {
                problems.take(
                    &format!("targeting_rules[{i}]"),
                    compile_rule(rule, &flag.key, &variant_index, segments),
                )
            })
            .collect();

        let mut seen = HashSet::new();
        for (i, prerequisite) in config.prerequisites.iter().enumerate() {
            let field = format!("prerequisites[{i}]");
            if let Err(e) = validate_key(KeyKind::Flag, "flag", &prerequisite.flag) {
                problems.extend_within(&field, e.into());
            } else if prerequisite.flag == flag.key {
                problems.add(
                    format!("{field}.flag"),
                    "a flag cannot be its own prerequisite",
                );
            } else if !seen.insert(prerequisite.flag.as_str()) {
                problems.add(
                    format!("{field}.flag"),
                    format!("{:?} is already a prerequisite", prerequisite.flag),
                );
            }
            if let Err(e) = validate_key(KeyKind::Variant, "variant", &prerequisite.variant) {
                problems.extend_within(&field, e.into());
            }
        }

        problems.finish_with(|| CompiledFlag {
            key: flag.key.clone(),
            archived: flag.archived,
            client_visible: flag.client_visible,
            enabled: config.enabled,
            default_value: flag.default_value.clone(),
            variants: config.variants.clone(),
            default_variant: default_variant.expect("validated"),
            rules,
            prerequisites: Vec::new(),
        })
    }

    /// Gives each condition of the flag's rules, compiled from `config`, its number in
    /// the snapshot: conditions stated alike (attribute, operator, operand and case)
    /// share one.
    pub(crate) fn number_conditions(
        &mut self,
        config: &FlagConfig,
        ids: &mut HashMap<Vec<u8>, u32>,
    ) {
        let mut key = Vec::new();
        for (rule, stated) in self.rules.iter_mut().zip(&config.targeting_rules) {
            for (condition, stated) in rule.conditions.iter_mut().zip(&stated.conditions) {
                key.clear();
                serde_json::to_writer(&mut key, stated).expect("a condition serializes");
                let id = match ids.get(&key) {
                    Some(&id) => id,
                    None => {
                        let id = u32::try_from(ids.len()).expect("fewer conditions than u32::MAX");
                        ids.insert(key.clone(), id);
                        id
                    }
                };
                condition.id = Some(id);
            }
        }
    }

    /// Whether evaluation gets past step 1 (archived or disabled).
    pub(crate) fn has_rules(&self) -> bool {
        !self.rules.is_empty()
    }

    pub(crate) fn rules(&self) -> &[CompiledRule] {
        &self.rules
    }

    pub(crate) fn default_variant(&self) -> usize {
        self.default_variant
    }

    pub(crate) fn is_on(&self) -> bool {
        self.enabled && !self.archived
    }

    /// The one answer this flag gives everyone, if it has one: `Some(None)` when off,
    /// `Some(Some(variant))` when every rule that can be reached and the default serve
    /// that variant. A rule without conditions that puts every bucket in one variant
    /// (a 100 % rollout) counts as serving everyone, although a context without the
    /// attribute it buckets by falls through to the default. Flags with prerequisites
    /// may be switched off by them, so they have none.
    pub(crate) fn only_answer(&self) -> Option<Option<usize>> {
        if !self.is_on() {
            return Some(None);
        }
        if !self.prerequisites.is_empty() {
            return None;
        }
        let mut only: Option<usize> = None;
        let mut one = |variant: usize| match only {
            Some(seen) => seen == variant,
            None => {
                only = Some(variant);
                true
            }
        };
        for rule in &self.rules {
            let served: Vec<usize> = match &rule.serving.serve {
                Serve::Variant(v) => vec![*v],
                Serve::Percentage { buckets: 0, .. } => vec![],
                Serve::Percentage { variant, .. } => vec![*variant],
                Serve::Split(slices) => {
                    let mut start = 0;
                    let mut variants = Vec::new();
                    for &(end, variant) in slices.iter() {
                        if end > start {
                            variants.push(variant);
                        }
                        start = end;
                    }
                    variants
                }
            };
            if !served.iter().all(|&v| one(v)) {
                return None;
            }
            let everyone = match &rule.serving.serve {
                Serve::Variant(_) | Serve::Split(_) => true,
                Serve::Percentage { buckets, .. } => *buckets >= BUCKETS,
            };
            if rule.conditions.is_empty() && everyone && !served.is_empty() {
                return Some(only);
            }
        }
        one(self.default_variant).then_some(only)
    }

    pub(crate) fn variant_index(&self, key: &str) -> Option<usize> {
        self.variants.iter().position(|v| v.key == key)
    }

    /// Evaluates the flag, given what each prerequisite flag (by snapshot index) served.
    pub(crate) fn evaluate(
        &self,
        context: &impl Context,
        served_by: impl Fn(usize) -> Option<usize>,
    ) -> Outcome {
        if !self.is_on() {
            return Outcome::Off(Reason::Disabled);
        }
        let prerequisites_met = self
            .prerequisites
            .iter()
            .all(|p| served_by(p.flag) == Some(p.variant));
        if !prerequisites_met {
            return Outcome::Off(Reason::PrerequisiteFailed);
        }
        self.rules
            .iter()
            .find_map(|rule| rule.serve(context))
            .map_or(
                Outcome::Served(self.default_variant, Reason::Default),
                |(v, reason)| Outcome::Served(v, reason),
            )
    }

    pub(crate) fn evaluation(&self, outcome: Outcome) -> Evaluation<'_> {
        match outcome {
            Outcome::Off(reason) => Evaluation {
                value: &self.default_value,
                variant: None,
                reason,
            },
            Outcome::Served(index, reason) => {
                let variant = &self.variants[index];
                Evaluation {
                    value: &variant.value,
                    variant: Some(&variant.key),
                    reason,
                }
            }
        }
    }
}

impl CompiledFlag {
    /// What [`evaluate`](Self::evaluate) decides, rule by rule: the outcome, and for
    /// each rule what happened to it. Prerequisites are reported by the caller.
    pub(crate) fn trace_rules(
        &self,
        context: &impl Context,
    ) -> (Option<(usize, Reason)>, Vec<RuleTrace>) {
        let mut served = None;
        let mut rules = Vec::with_capacity(self.rules.len());
        for rule in &self.rules {
            if served.is_some() {
                rules.push(RuleTrace {
                    conditions: Vec::new(),
                    bucket: None,
                    threshold: None,
                    outcome: RuleOutcome::NotReached,
                });
                continue;
            }
            let (trace, outcome) = rule.trace(context);
            served = outcome;
            rules.push(trace);
        }
        (served, rules)
    }

    /// Rules as never reached, for a flag that was off.
    pub(crate) fn unreached_rules(&self) -> Vec<RuleTrace> {
        self.rules
            .iter()
            .map(|_| RuleTrace {
                conditions: Vec::new(),
                bucket: None,
                threshold: None,
                outcome: RuleOutcome::NotReached,
            })
            .collect()
    }
}

impl CompiledRule {
    /// [`serve`](Self::serve), explained: the same checks, recorded.
    fn trace(&self, context: &impl Context) -> (RuleTrace, Option<(usize, Reason)>) {
        let conditions: Vec<bool> = self.conditions.iter().map(|c| c.matches(context)).collect();
        let mut trace = RuleTrace {
            conditions,
            bucket: None,
            threshold: None,
            outcome: RuleOutcome::ConditionsFailed,
        };
        if !trace.conditions.iter().all(|&m| m) {
            return (trace, None);
        }
        let serving = &self.serving;
        let bucket = || bucket_of(&serving.salt, serving.bucket_by.lookup(context));
        let served = match &serving.serve {
            Serve::Variant(variant) => Some((*variant, Reason::TargetingMatch)),
            Serve::Percentage { variant, buckets } => {
                trace.threshold = Some(*buckets);
                trace.bucket = bucket();
                match trace.bucket {
                    None => None,
                    Some(b) => (b < *buckets).then_some((*variant, Reason::Split)),
                }
            }
            Serve::Split(slices) => {
                trace.bucket = bucket();
                trace.bucket.and_then(|b| {
                    slices
                        .iter()
                        .find(|(end, _)| b < *end)
                        .map(|(_, variant)| (*variant, Reason::Split))
                })
            }
        };
        trace.outcome = match (served, trace.bucket) {
            (Some(_), _) => RuleOutcome::Served,
            (None, None) => RuleOutcome::NoBucketingValue,
            (None, Some(_)) => RuleOutcome::OutsidePercentage,
        };
        (trace, served)
    }

    fn serve(&self, context: &impl Context) -> Option<(usize, Reason)> {
        if !self.conditions.iter().all(|c| c.matches(context)) {
            return None;
        }
        self.serving.serve(context)
    }

    pub(crate) fn conditions(&self) -> &[CompiledCondition] {
        &self.conditions
    }

    pub(crate) fn serving(&self) -> &Serving {
        &self.serving
    }
}

impl Serving {
    /// The variant served to every context, if contexts are not bucketed.
    pub(crate) fn variant(&self) -> Option<usize> {
        match self.serve {
            Serve::Variant(variant) => Some(variant),
            Serve::Percentage { .. } | Serve::Split(_) => None,
        }
    }

    /// What `context` is served; `None` to fall through to the next rule.
    pub(crate) fn serve(&self, context: &impl Context) -> Option<(usize, Reason)> {
        match &self.serve {
            Serve::Variant(variant) => Some((*variant, Reason::TargetingMatch)),
            Serve::Percentage { variant, buckets } => {
                let bucket = bucket_of(&self.salt, self.bucket_by.lookup(context))?;
                (bucket < *buckets).then_some((*variant, Reason::Split))
            }
            Serve::Split(slices) => {
                let bucket = bucket_of(&self.salt, self.bucket_by.lookup(context))?;
                slices
                    .iter()
                    .find(|(end, _)| bucket < *end)
                    .map(|(_, variant)| (*variant, Reason::Split))
            }
        }
    }
}

fn check_variants(problems: &mut Problems, flag_type: FlagType, variants: &[Variant]) {
    if variants.is_empty() {
        problems.add("variants", "a flag needs at least one variant");
    }
    let mut seen = HashSet::new();
    for (i, variant) in variants.iter().enumerate() {
        let field = format!("variants[{i}]");
        if let Err(e) = validate_key(KeyKind::Variant, "key", &variant.key) {
            problems.extend_within(&field, e.into());
        } else if !seen.insert(variant.key.as_str()) {
            problems.add(
                format!("{field}.key"),
                format!("duplicate variant key {:?}", variant.key),
            );
        }
        if !flag_type.accepts(&variant.value) {
            problems.add(
                format!("{field}.value"),
                format!(
                    "must be a {} for a {} flag",
                    type_noun(flag_type),
                    flag_type.as_str()
                ),
            );
        }
    }
}

pub(crate) fn type_noun(flag_type: FlagType) -> &'static str {
    match flag_type {
        FlagType::Boolean => "boolean",
        FlagType::String => "string",
        FlagType::Number => "number",
        FlagType::Json => "JSON value",
    }
}

fn compile_rule(
    rule: &Rule,
    flag_key: &str,
    variant_index: &dyn Fn(&str) -> Option<usize>,
    segments: &Segments,
) -> Result<CompiledRule, ValidationErrors> {
    let mut problems = Problems::new();
    let conditions =
        CompiledCondition::compile_all(&mut problems, &rule.conditions, Some(segments));

    let mut variant = |field: &str, key: &str| {
        let index = variant_index(key);
        if index.is_none() {
            problems.add(field, format!("unknown variant {key:?}"));
        }
        index
    };
    let serve = match (&rule.variant, rule.percentage_rollout, &rule.rollout) {
        (_, Some(_), Some(_)) => {
            problems.add(
                "percentage_rollout",
                "percentage_rollout cannot be combined with rollout",
            );
            None
        }
        (Some(_), None, Some(_)) => {
            problems.add(
                "variant",
                "a rule serves either a variant or a rollout, not both",
            );
            None
        }
        (None, None, None) => {
            problems.add("variant", "a rule must serve a variant or a rollout");
            None
        }
        (None, Some(_), None) => {
            problems.add("variant", "percentage_rollout needs the variant to serve");
            None
        }
        (Some(key), None, None) => variant("variant", key).map(Serve::Variant),
        (Some(key), Some(percent), None) => {
            let index = variant("variant", key);
            let buckets = percentage_to_buckets(percent)
                .map_err(|m| problems.add("percentage_rollout", m))
                .ok();
            index
                .zip(buckets)
                .map(|(variant, buckets)| Serve::Percentage { variant, buckets })
        }
        (None, None, Some(slices)) => compile_split(&mut problems, slices, variant_index),
    };

    if let Some(attribute) = &rule.bucket_by
        && (attribute.is_empty() || attribute.len() > 256)
    {
        problems.add("bucket_by", "attribute name must have 1 to 256 bytes");
    }
    if rule.salt.as_deref() == Some("") {
        problems.add(
            "salt",
            "salt must not be empty; leave it out to use the flag key",
        );
    }
    if rule.description.as_ref().is_some_and(|d| d.len() > 1000) {
        problems.add("description", "must be at most 1000 bytes");
    }

    problems.finish_with(|| CompiledRule {
        conditions,
        serving: Serving {
            serve: serve.expect("validated"),
            bucket_by: Attribute::new(rule.bucket_by.as_deref().unwrap_or("user_id")),
            salt: rule.salt.as_deref().unwrap_or(flag_key).into(),
        },
    })
}

fn compile_split(
    problems: &mut Problems,
    slices: &[crate::model::WeightedVariant],
    variant_index: &dyn Fn(&str) -> Option<usize>,
) -> Option<Serve> {
    if slices.is_empty() {
        problems.add("rollout", "a rollout needs at least one variant");
        return None;
    }
    let mut end = 0u32;
    let mut compiled = Vec::with_capacity(slices.len());
    let mut seen = HashSet::new();
    let mut valid = true;
    for (i, slice) in slices.iter().enumerate() {
        let index = variant_index(&slice.variant);
        if index.is_none() {
            problems.add(
                format!("rollout[{i}].variant"),
                format!("unknown variant {:?}", slice.variant),
            );
        } else if !seen.insert(slice.variant.as_str()) {
            problems.add(
                format!("rollout[{i}].variant"),
                format!("{:?} appears twice in the rollout", slice.variant),
            );
        }
        let weight = if slice.weight < 0.0 {
            Err(format!("must not be negative, got {}", slice.weight))
        } else {
            percentage_to_buckets(slice.weight)
        };
        match (index, weight) {
            (Some(index), Ok(buckets)) => {
                end += buckets;
                compiled.push((end, index));
            }
            (_, Err(message)) => {
                problems.add(format!("rollout[{i}].weight"), message);
                valid = false;
            }
            (None, Ok(_)) => valid = false,
        }
    }
    if valid && end != BUCKETS {
        problems.add(
            "rollout",
            format!(
                "weights must sum to exactly 100, got {}",
                f64::from(end) / 1000.0
            ),
        );
        return None;
    }
    valid.then(|| Serve::Split(compiled.into_boxed_slice()))
}
