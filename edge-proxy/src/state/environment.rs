//! One environment as an edge serves it: its snapshot (to apply deltas to, persist, and
//! serve downstream edges), compiled for evaluation, fingerprinted, and remembering
//! which flags its last few versions changed, so a stream that is a few versions behind
//! sends only those flags.

use std::collections::VecDeque;
use std::sync::{Arc, OnceLock};

use togglerino_shared::CompiledSnapshot;
use togglerino_shared::http::Served;
use togglerino_shared::model::Snapshot;

use crate::changes::Fingerprints;

/// How many versions back a stream can catch up with a patch; further behind, it gets
/// the whole `flags` event again.
const HISTORY: usize = 32;

pub struct Environment {
    snapshot: Snapshot,
    /// Upstream's validator of the snapshot as pulled, for `If-None-Match`; `None` after
    /// a delta or a restart.
    etag: Option<String>,
    compiled: CompiledSnapshot,
    fingerprints: Fingerprints,
    /// Counts this environment's versions on this edge. Unlike revisions it can never
    /// repeat or go back (a restored database, another upstream), so streams track it.
    generation: u64,
    /// The snapshot as served to downstream edges, made on first request.
    served: OnceLock<Served>,
    /// The flags each recent version changed, oldest first: entry `i` took the
    /// environment from generation `generation - len + i` to the next.
    history: VecDeque<Arc<[Box<str>]>>,
    /// When this version was made, just before it went into service.
    applied_at: std::time::SystemTime,
}

impl Environment {
    /// Validates and compiles `snapshot`, the version after `previous` if there was one.
    pub fn new(
        snapshot: Snapshot,
        etag: Option<String>,
        previous: Option<&Environment>,
    ) -> Result<Environment, String> {
        let compiled = togglerino_shared::compile(&snapshot).map_err(|e| {
            format!(
                "invalid snapshot for {}/{}: {e}",
                snapshot.project, snapshot.environment
            )
        })?;
        let fingerprints = Fingerprints::of(&snapshot);
        let (generation, history) = match previous {
            None => (1, VecDeque::new()),
            Some(previous) => {
                let mut changed: Vec<Box<str>> = fingerprints
                    .changed_since(&previous.fingerprints)
                    .into_iter()
                    .map(String::into_boxed_str)
                    .collect();
                changed.sort();
                let mut history = previous.history.clone();
                if history.len() == HISTORY {
                    history.pop_front();
                }
                history.push_back(changed.into());
                (previous.generation + 1, history)
            }
        };
        Ok(Environment {
            snapshot,
            etag,
            compiled,
            fingerprints,
            generation,
            history,
            served: OnceLock::new(),
            applied_at: std::time::SystemTime::now(),
        })
    }

    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    pub fn etag(&self) -> Option<&str> {
        self.etag.as_deref()
    }

    pub fn compiled(&self) -> &CompiledSnapshot {
        &self.compiled
    }

    pub fn project(&self) -> &str {
        &self.snapshot.project
    }

    pub fn name(&self) -> &str {
        &self.snapshot.environment
    }

    /// The snapshot as JSON and gzip with its validator, for downstream edges.
    pub fn served(&self) -> &Served {
        self.served.get_or_init(|| Served::of(&self.snapshot))
    }

    pub fn revision(&self) -> u64 {
        self.compiled.revision()
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// When this version went into service on this edge (or was restored from disk).
    pub fn applied_at(&self) -> std::time::SystemTime {
        self.applied_at
    }

    /// Keys of the flags (present or gone) whose answers may differ from generation
    /// `seen`'s, sorted; `None` when `seen` is too old to tell, or not this
    /// environment's.
    pub fn changed_since(&self, seen: u64) -> Option<Vec<&str>> {
        let behind = self.generation.checked_sub(seen)?;
        let behind = usize::try_from(behind).ok()?;
        if behind > self.history.len() {
            return None;
        }
        let mut keys: Vec<&str> = self
            .history
            .range(self.history.len() - behind..)
            .flat_map(|c| c.iter().map(|k| &**k))
            .collect();
        if behind > 1 {
            keys.sort_unstable();
            keys.dedup();
        }
        Some(keys)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn snapshot(revision: u64, enabled: [bool; 3]) -> Snapshot {
        let flags: Vec<_> = ["a", "b", "c"]
            .iter()
            .zip(enabled)
            .map(|(key, enabled)| {
                json!({
                    "flag": {"key": key, "name": key, "type": "boolean", "default_value": false},
                    "config": {"enabled": enabled, "variants": [{"key": "on", "value": true}], "default_variant": "on"}
                })
            })
            .collect();
        serde_json::from_value(json!({
            "project": "p", "environment": "e", "revision": revision, "flags": flags
        }))
        .unwrap()
    }

    #[test]
    fn streams_behind_by_a_few_versions_learn_the_union_of_their_changes() {
        let first = Environment::new(snapshot(1, [false; 3]), None, None).unwrap();
        let second =
            Environment::new(snapshot(2, [true, false, false]), None, Some(&first)).unwrap();
        let third =
            Environment::new(snapshot(5, [true, false, true]), None, Some(&second)).unwrap();
        assert_eq!(third.generation(), 3);
        assert_eq!(third.changed_since(3), Some(vec![]));
        assert_eq!(third.changed_since(2), Some(vec!["c"]));
        assert_eq!(third.changed_since(1), Some(vec!["a", "c"]));
        assert_eq!(third.changed_since(0), None, "older than the history");
        assert_eq!(third.changed_since(4), None, "not a version this edge had");
    }

    #[test]
    fn history_is_bounded() {
        let mut environment = Environment::new(snapshot(1, [false; 3]), None, None).unwrap();
        for revision in 2..=(HISTORY as u64 + 10) {
            let enabled = [revision % 2 == 0, false, false];
            environment =
                Environment::new(snapshot(revision, enabled), None, Some(&environment)).unwrap();
        }
        let latest = environment.generation();
        assert_eq!(
            environment.changed_since(latest - HISTORY as u64),
            Some(vec!["a"])
        );
        assert_eq!(environment.changed_since(latest - HISTORY as u64 - 1), None);
    }
}
