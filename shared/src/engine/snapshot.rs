//! A snapshot compiled for evaluation: the only form the engine reads.

use std::collections::HashMap;
use std::sync::Arc;

use super::condition::Segments;
use super::flag::{CompiledFlag, Outcome, ResolvedPrerequisite};
use super::result::{Evaluation, EvaluationError};
use super::segment::CompiledSegment;
use super::tally::Tally;
use super::trace::{PrerequisiteTrace, Trace};
use crate::model::{Context, SdkKeyKind, Snapshot, sdk_key_hash};
use crate::validate::{
    KeyKind, Problems, ValidationErrors, check_flag, prerequisite_order, validate_key,
};
use answers::Answers;
use plan::Plan;

/// An immutable, validated snapshot with everything pre-computed for evaluation:
/// regexes compiled, segments resolved, flags indexed by key, prerequisites ordered.
/// Share it behind an `Arc` and swap whole snapshots; evaluation never locks.
#[derive(Debug)]
pub struct CompiledSnapshot {
    project: String,
    environment: String,
    revision: u64,
    /// In snapshot order.
    flags: Vec<CompiledFlag>,
    index: HashMap<Box<str>, usize>,
    /// Every flag index, prerequisites before the flags that need them.
    order: Vec<usize>,
    answers: Answers,
    /// The flags in `answers.dynamic_order`, laid out for evaluating them in a row.
    plan: Plan,
    sdk_keys: HashMap<[u8; 32], SdkKeyInfo>,
    /// What the serving methods answered, counted; shared so that counts made by
    /// requests still holding this version can be read after it is replaced.
    tally: Arc<Tally>,
}

/// What the snapshot knows of a valid SDK key; its scope is the snapshot's project and
/// environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdkKeyInfo {
    pub id: String,
    pub kind: SdkKeyKind,
}

/// Validates `snapshot` completely and compiles it. A snapshot that compiles can never
/// make evaluation fail. Error paths are relative to the snapshot.
pub fn compile(snapshot: &Snapshot) -> Result<CompiledSnapshot, ValidationErrors> {
    let mut problems = Problems::new();
    for (field, kind, key) in [
        ("project", KeyKind::Project, &snapshot.project),
        ("environment", KeyKind::Environment, &snapshot.environment),
    ] {
        if let Err(e) = validate_key(kind, field, key) {
            problems.add(e.field, e.message);
        }
    }

    let mut segments = Segments::with_capacity(snapshot.segments.len());
    for (i, segment) in snapshot.segments.iter().enumerate() {
        let field = format!("segments[{i}]");
        if let Some(compiled) = problems.take(&field, CompiledSegment::compile(segment))
            && segments
                .insert(segment.key.clone(), Arc::new(compiled))
                .is_some()
        {
            problems.add(
                format!("{field}.key"),
                format!("duplicate segment key {:?}", segment.key),
            );
        }
    }

    let mut flags = Vec::with_capacity(snapshot.flags.len());
    let mut index = HashMap::with_capacity(snapshot.flags.len());
    for (i, entry) in snapshot.flags.iter().enumerate() {
        let field = format!("flags[{i}]");
        problems.take(&format!("{field}.flag"), check_flag(&entry.flag));
        let compiled = problems.take(
            &format!("{field}.config"),
            CompiledFlag::compile(&entry.flag, &entry.config, &segments),
        );
        if index.insert(entry.flag.key.as_str().into(), i).is_some() {
            problems.add(
                format!("{field}.flag.key"),
                format!("duplicate flag key {:?}", entry.flag.key),
            );
        }
        flags.extend(compiled);
    }
    if !problems.is_empty() {
        return problems.finish_with(|| unreachable!());
    }

    // Every flag compiled, so `flags[i]` is `snapshot.flags[i]`.
    let mut condition_ids = HashMap::new();
    for (flag, entry) in flags.iter_mut().zip(&snapshot.flags) {
        flag.number_conditions(&entry.config, &mut condition_ids);
    }
    for (i, entry) in snapshot.flags.iter().enumerate() {
        let mut resolved = Vec::with_capacity(entry.config.prerequisites.len());
        for (j, prerequisite) in entry.config.prerequisites.iter().enumerate() {
            let field = format!("flags[{i}].config.prerequisites[{j}]");
            let Some(&flag) = index.get(prerequisite.flag.as_str()) else {
                problems.add(
                    format!("{field}.flag"),
                    format!("unknown flag {:?}", prerequisite.flag),
                );
                continue;
            };
            match flags[flag].variant_index(&prerequisite.variant) {
                Some(variant) => resolved.push(ResolvedPrerequisite { flag, variant }),
                None => problems.add(
                    format!("{field}.variant"),
                    format!(
                        "flag {:?} has no variant {:?}",
                        prerequisite.flag, prerequisite.variant
                    ),
                ),
            }
        }
        flags[i].prerequisites = resolved;
    }
    let dependencies: Vec<Vec<usize>> = flags
        .iter()
        .map(|f| f.prerequisites.iter().map(|p| p.flag).collect())
        .collect();
    let order = match prerequisite_order(&dependencies) {
        Ok(order) => order,
        Err(cycle) => {
            let path: Vec<&str> = cycle.iter().map(|&i| flags[i].key.as_str()).collect();
            problems.add(
                format!("flags[{}].config.prerequisites", cycle[0]),
                format!("prerequisite cycle: {}", path.join(" -> ")),
            );
            Vec::new()
        }
    };

    let mut sdk_keys = HashMap::with_capacity(snapshot.sdk_keys.len());
    for (i, key) in snapshot.sdk_keys.iter().enumerate() {
        let mut hash = [0u8; 32];
        let lowercase_hex = key
            .sha256
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if !lowercase_hex || hex::decode_to_slice(&key.sha256, &mut hash).is_err() {
            problems.add(
                format!("sdk_keys[{i}].sha256"),
                "must be 64 lowercase hexadecimal digits",
            );
            continue;
        }
        sdk_keys.insert(
            hash,
            SdkKeyInfo {
                id: key.id.clone(),
                kind: key.kind,
            },
        );
    }

    if !problems.is_empty() {
        return problems.finish_with(|| unreachable!());
    }
    let answers = Answers::new(&flags, &order);
    let plan = Plan::new(&flags, &answers.dynamic_order);
    let fixed = SdkKeyKind::ALL.map(|kind| answers.fixed_listed(kind));
    let tally = Arc::new(Tally::new(
        &snapshot.project,
        &snapshot.environment,
        &flags,
        fixed,
    ));
    problems.finish_with(|| CompiledSnapshot {
        project: snapshot.project.clone(),
        environment: snapshot.environment.clone(),
        revision: snapshot.revision,
        flags,
        index,
        order,
        answers,
        plan,
        sdk_keys,
        tally,
    })
}

impl CompiledSnapshot {
    pub fn project(&self) -> &str {
        &self.project
    }

    pub fn environment(&self) -> &str {
        &self.environment
    }

    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// Number of flags, archived ones included.
    pub fn len(&self) -> usize {
        self.flags.len()
    }

    pub fn is_empty(&self) -> bool {
        self.flags.is_empty()
    }

    pub fn contains_flag(&self, key: &str) -> bool {
        self.index.contains_key(key)
    }

    /// Whether flag `key` has targeting rules in this environment, so that a default
    /// answer means no rule matched rather than that none could; `None` when there is
    /// no such flag.
    pub fn has_rules(&self, key: &str) -> Option<bool> {
        self.index.get(key).map(|&i| self.flags[i].has_rules())
    }

    /// Whether flag `key` is archived; `None` when there is no such flag.
    pub fn is_archived(&self, key: &str) -> Option<bool> {
        self.index.get(key).map(|&i| self.flags[i].archived)
    }

    /// Whether flag `key` is served to keys of `kind` in bulk answers: it exists, is not
    /// archived, and client keys see it.
    pub fn is_listed(&self, key: &str, kind: SdkKeyKind) -> bool {
        self.index
            .get(key)
            .is_some_and(|&i| !self.flags[i].archived && visible(&self.flags[i], kind))
    }

    /// Every flag key, archived ones included, in snapshot order.
    pub fn flag_keys(&self) -> impl Iterator<Item = &str> {
        self.flags.iter().map(|f| f.key.as_str())
    }

    /// The key of the flag at `position` in snapshot order, archived or not, so a
    /// caller can walk the flags in pieces and resume where it stopped.
    pub fn flag_key(&self, position: usize) -> Option<&str> {
        self.flags.get(position).map(|f| f.key.as_str())
    }

    /// The key's scope-free details when `presented` is one of this snapshot's SDK keys.
    /// Only hashes are stored; looking up a hash reveals nothing about other keys, so an
    /// ordinary map lookup is safe here.
    pub fn authenticate(&self, presented: &str) -> Option<&SdkKeyInfo> {
        self.sdk_keys.get(&sdk_key_hash(presented))
    }

    /// Every SDK key's hash and kind, to index keys across environments.
    pub fn sdk_key_hashes(&self) -> impl Iterator<Item = (&[u8; 32], SdkKeyKind)> {
        self.sdk_keys.iter().map(|(hash, info)| (hash, info.kind))
    }

    /// Evaluates one flag for `context`.
    pub fn evaluate(
        &self,
        key: &str,
        context: &impl Context,
    ) -> Result<Evaluation<'_>, EvaluationError> {
        self.evaluate_for(key, context, SdkKeyKind::Server)
    }

    /// [`evaluate`](Self::evaluate) for a key of `kind`: to client keys, flags that are
    /// not client-visible do not exist.
    pub fn evaluate_for(
        &self,
        key: &str,
        context: &impl Context,
        kind: SdkKeyKind,
    ) -> Result<Evaluation<'_>, EvaluationError> {
        let (index, outcome) = self.outcome_for(key, context, kind)?;
        self.tally.shard().count(index, outcome);
        Ok(self.flags[index].evaluation(outcome))
    }

    /// The flag's index and what it serves `context`, if a key of `kind` may see it.
    fn outcome_for(
        &self,
        key: &str,
        context: &impl Context,
        kind: SdkKeyKind,
    ) -> Result<(usize, Outcome), EvaluationError> {
        let &index = self
            .index
            .get(key)
            .filter(|&&i| visible(&self.flags[i], kind))
            .ok_or_else(|| EvaluationError::FlagNotFound(key.to_owned()))?;
        if let Some(outcome) = self.answers.fixed[index] {
            return Ok((index, outcome));
        }
        let flag = &self.flags[index];
        let outcome = if flag.prerequisites.is_empty() {
            flag.evaluate(context, |_| None)
        } else {
            self.evaluate_with_prerequisites(index, context)
        };
        Ok((index, outcome))
    }

    /// Evaluates the flag `key` and explains the result: prerequisites, and each rule's
    /// conditions and bucket. For people (the dashboard's playground), not for serving.
    pub fn trace(&self, key: &str, context: &impl Context) -> Result<Trace, EvaluationError> {
        let uncounted = |key: &str| {
            self.outcome_for(key, context, SdkKeyKind::Server)
                .map(|(index, outcome)| self.flags[index].evaluation(outcome))
        };
        let evaluation = uncounted(key)?;
        let flag = &self.flags[self.index[key]];
        let prerequisites: Vec<PrerequisiteTrace> = flag
            .prerequisites
            .iter()
            .map(|p| {
                let required = &self.flags[p.flag];
                let served = uncounted(&required.key)
                    .expect("prerequisites are resolved when compiling")
                    .variant;
                let required_variant = required.variants[p.variant].key.clone();
                PrerequisiteTrace {
                    flag: required.key.clone(),
                    met: served == Some(required_variant.as_str()),
                    served_variant: served.map(str::to_owned),
                    required_variant,
                }
            })
            .collect();
        let off = if flag.archived {
            Some("archived")
        } else if !flag.is_on() {
            Some("disabled")
        } else if !prerequisites.iter().all(|p| p.met) {
            Some("prerequisite_failed")
        } else {
            None
        };
        let rules = match off {
            Some(_) => flag.unreached_rules(),
            None => flag.trace_rules(context).1,
        };
        Ok(Trace {
            flag: key.to_owned(),
            result: evaluation.to_result(),
            off,
            prerequisites,
            rules,
        })
    }

    /// Evaluates `target` and, first, the prerequisites it transitively needs — each at
    /// most once, without recursion, so long chains cannot exhaust the stack.
    fn evaluate_with_prerequisites(&self, target: usize, context: &impl Context) -> Outcome {
        let mut served: Vec<(usize, Option<usize>)> = Vec::new();
        let lookup = |served: &[(usize, Option<usize>)], flag: usize| {
            served.iter().find(|(f, _)| *f == flag).map(|(_, v)| *v)
        };
        let mut stack = vec![target];
        while let Some(&current) = stack.last() {
            if lookup(&served, current).is_some() {
                stack.pop();
                continue;
            }
            let flag = &self.flags[current];
            let pending_before = stack.len();
            if flag.is_on() {
                stack.extend(
                    flag.prerequisites
                        .iter()
                        .map(|p| p.flag)
                        .filter(|&p| lookup(&served, p).is_none()),
                );
            }
            if stack.len() > pending_before {
                continue;
            }
            let outcome = flag.evaluate(context, |p| lookup(&served, p).flatten());
            if current == target {
                return outcome;
            }
            served.push((current, outcome.variant()));
            stack.pop();
        }
        unreachable!("the target is evaluated before the stack empties")
    }

    /// Evaluates every flag that is not archived, in snapshot order.
    pub fn evaluate_all(&self, context: &impl Context) -> Vec<(&str, Evaluation<'_>)> {
        self.evaluate_all_for(context, SdkKeyKind::Server)
    }

    /// [`evaluate_all`](Self::evaluate_all) for a key of `kind`: client keys get only
    /// client-visible flags (hidden ones are still evaluated when others need them as
    /// prerequisites).
    pub fn evaluate_all_for(
        &self,
        context: &impl Context,
        kind: SdkKeyKind,
    ) -> Vec<(&str, Evaluation<'_>)> {
        // Every flag evaluated, none taken as known and no condition remembered: the
        // reference the fast paths are tested against.
        let mut outcomes: Vec<Option<Outcome>> = vec![None; self.flags.len()];
        for &i in &self.order {
            let outcome =
                self.flags[i].evaluate(context, |p| outcomes[p].and_then(Outcome::variant));
            outcomes[i] = Some(outcome);
        }
        let tally = self.tally.shard();
        self.flags
            .iter()
            .zip(outcomes)
            .enumerate()
            .filter(|(_, (flag, _))| !flag.archived && visible(flag, kind))
            .map(|(i, (flag, outcome))| {
                let outcome = outcome.expect("the order covers every flag");
                tally.count(i, outcome);
                (flag.key.as_str(), flag.evaluation(outcome))
            })
            .collect()
    }
}

impl CompiledSnapshot {
    /// Writes what [`evaluate_all_for`](Self::evaluate_all_for) returns as a JSON object
    /// (`{"<key>": {"value", "variant", "reason"}, …}`, byte for byte what serializing
    /// its answer gives) into `out`, and returns how many flags it holds. Only flags a
    /// context can change are evaluated, and nothing is serialized: every answer's JSON
    /// was written when the snapshot was compiled.
    pub fn write_all_json(
        &self,
        context: &impl Context,
        kind: SdkKeyKind,
        out: &mut Vec<u8>,
    ) -> usize {
        let answers = &self.answers;
        // Only flags a context can change are evaluated; prerequisites read the others'
        // fixed outcomes.
        let mut dynamic = Vec::with_capacity(answers.dynamic_order.len());
        self.plan.evaluate(context, &mut dynamic, |flag, dynamic| {
            answers.outcome(flag, dynamic).and_then(Outcome::variant)
        });
        let tally = self.tally.shard();
        tally.count_fixed(kind);
        answers.write_all(kind, &dynamic, out, |flag, outcome| {
            tally.count(flag, outcome)
        })
    }

    /// The most bytes [`write_all_json`](Self::write_all_json) writes for keys of
    /// `kind`: a buffer this large never grows.
    pub fn all_json_capacity(&self, kind: SdkKeyKind) -> usize {
        self.answers.max_len(kind)
    }

    /// Writes what serializing [`evaluate_for`](Self::evaluate_for)'s answer gives
    /// (`{"value", "variant", "reason"}`) into `out`, without serializing anything.
    pub fn write_json_for(
        &self,
        key: &str,
        context: &impl Context,
        kind: SdkKeyKind,
        out: &mut Vec<u8>,
    ) -> Result<(), EvaluationError> {
        let (index, outcome) = self.outcome_for(key, context, kind)?;
        self.tally.shard().count(index, outcome);
        self.answers.write_answer(index, outcome, out);
        Ok(())
    }

    /// Every answer the serving methods (`evaluate*`, `write_*`) gave from this
    /// version, counted.
    pub fn tally(&self) -> &Arc<Tally> {
        &self.tally
    }

    /// Adds `count` answers of flag `flag` that a client served itself (an SDK
    /// reporting its reads): `variant` is the variant's key, `None` for the default
    /// value when the flag is off. Returns false, counting nothing, when a key of `kind`
    /// cannot see such a flag or variant, so reports never name what the snapshot does
    /// not hold.
    pub fn count_reported(
        &self,
        flag: &str,
        variant: Option<&str>,
        kind: SdkKeyKind,
        count: u64,
    ) -> bool {
        let Some(&index) = self
            .index
            .get(flag)
            .filter(|&&i| visible(&self.flags[i], kind))
        else {
            return false;
        };
        let outcome = match variant {
            // The reason does not matter to the count.
            Some(variant) => match self.flags[index].variant_index(variant) {
                Some(v) => Outcome::Served(v, super::result::Reason::Default),
                None => return false,
            },
            None => Outcome::Off(super::result::Reason::Disabled),
        };
        self.tally.shard().add(index, outcome, count);
        true
    }

    /// What flag `key` serves when no context can change its answer: off (`Some(None)`,
    /// its default value) or one variant (`Some(Some(key))`) for everyone. `None` when a
    /// context, a prerequisite or a rollout can make a difference, or there is no such
    /// flag.
    pub fn constant_answer(&self, key: &str) -> Option<Option<&str>> {
        let flag = &self.flags[*self.index.get(key)?];
        let only = flag.only_answer()?;
        Some(only.map(|v| flag.variants[v].key.as_str()))
    }
}

fn visible(flag: &CompiledFlag, kind: SdkKeyKind) -> bool {
    kind == SdkKeyKind::Server || flag.client_visible
}

mod answers;
mod plan;
#[cfg(test)]
mod tests;
