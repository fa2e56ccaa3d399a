//! Deltas: what one committed change does to one environment's snapshot. The control
//! plane publishes them in order; edges apply each to the environment it names when
//! they hold exactly the revision before it, and pull that environment whole otherwise.
//! Applying a delta gives exactly the snapshot a full pull at its revision gives,
//! because snapshots keep a canonical order (see [`Snapshot::canonicalize`]).

use serde::{Deserialize, Serialize};

use super::{Flag, FlagConfig, SdkKey, Segment, Snapshot, SnapshotFlag};

/// One environment's change, as the `change` event of an edge stream carries it.
/// (serde cannot refuse unknown fields next to a flattened one.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delta {
    pub environment_id: String,
    pub project: String,
    pub environment: String,
    /// The revision the environment has after this change; it had `revision - 1`
    /// before it.
    pub revision: u64,
    #[serde(flatten)]
    pub change: Change,
}

/// What happened to the environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    /// Apply these operations, in order.
    Patch { ops: Vec<Op> },
    /// New, or changed too much to describe: pull the environment's snapshot.
    Replaced,
    /// The environment is gone; its SDK keys with it.
    Deleted,
}

/// One operation of a [`Change::Patch`]. Upserts carry the entity whole.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    UpsertFlag {
        flag: Flag,
        config: FlagConfig,
    },
    RemoveFlag {
        key: String,
    },
    UpsertSegment {
        segment: Segment,
    },
    RemoveSegment {
        key: String,
    },
    /// The environment's valid SDK keys, all of them.
    SdkKeys {
        sdk_keys: Vec<SdkKey>,
    },
}

impl Op {
    /// The flag an operation names directly, if any.
    pub fn flag_key(&self) -> Option<&str> {
        match self {
            Op::UpsertFlag { flag, .. } => Some(&flag.key),
            Op::RemoveFlag { key } => Some(key),
            _ => None,
        }
    }

    /// The segment an operation names, if any.
    pub fn segment_key(&self) -> Option<&str> {
        match self {
            Op::UpsertSegment { segment } => Some(&segment.key),
            Op::RemoveSegment { key } => Some(key),
            _ => None,
        }
    }
}

impl Snapshot {
    /// Puts flags and segments in key order and SDK keys in id order: the one order
    /// both full snapshots and applied deltas keep, so equal content is equal JSON.
    pub fn canonicalize(&mut self) {
        self.flags.sort_by(|a, b| a.flag.key.cmp(&b.flag.key));
        self.segments.sort_by(|a, b| a.key.cmp(&b.key));
        self.sdk_keys.sort_by(|a, b| a.id.cmp(&b.id));
    }

    /// Applies `ops` and moves to `revision`. The snapshot must be canonical; it stays
    /// so. Validation is the caller's next step (compiling the result).
    pub fn apply(&mut self, ops: &[Op], revision: u64) {
        for op in ops {
            match op {
                Op::UpsertFlag { flag, config } => {
                    let entry = SnapshotFlag {
                        flag: flag.clone(),
                        config: config.clone(),
                    };
                    match self
                        .flags
                        .binary_search_by(|f| f.flag.key.as_str().cmp(&flag.key))
                    {
                        Ok(i) => self.flags[i] = entry,
                        Err(i) => self.flags.insert(i, entry),
                    }
                }
                Op::RemoveFlag { key } => {
                    if let Ok(i) = self
                        .flags
                        .binary_search_by(|f| f.flag.key.as_str().cmp(key))
                    {
                        self.flags.remove(i);
                    }
                }
                Op::UpsertSegment { segment } => {
                    match self
                        .segments
                        .binary_search_by(|s| s.key.as_str().cmp(&segment.key))
                    {
                        Ok(i) => self.segments[i] = segment.clone(),
                        Err(i) => self.segments.insert(i, segment.clone()),
                    }
                }
                Op::RemoveSegment { key } => {
                    if let Ok(i) = self.segments.binary_search_by(|s| s.key.as_str().cmp(key)) {
                        self.segments.remove(i);
                    }
                }
                Op::SdkKeys { sdk_keys } => {
                    self.sdk_keys = sdk_keys.clone();
                    self.sdk_keys.sort_by(|a, b| a.id.cmp(&b.id));
                }
            }
        }
        self.revision = revision;
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn flag(key: &str, enabled: bool) -> Op {
        serde_json::from_value(json!({
            "op": "upsert_flag",
            "flag": {"key": key, "name": key, "type": "boolean", "default_value": false},
            "config": {"enabled": enabled, "variants": [{"key": "on", "value": true}], "default_variant": "on"}
        }))
        .unwrap()
    }

    #[test]
    fn deltas_travel_as_tagged_json() {
        let delta = Delta {
            environment_id: "e1".into(),
            project: "shop".into(),
            environment: "production".into(),
            revision: 4,
            change: Change::Patch {
                ops: vec![Op::RemoveFlag { key: "old".into() }],
            },
        };
        let json = serde_json::to_value(&delta).unwrap();
        assert_eq!(
            json,
            json!({"environment_id": "e1", "project": "shop", "environment": "production", "revision": 4,
                "kind": "patch", "ops": [{"op": "remove_flag", "key": "old"}]})
        );
        assert_eq!(serde_json::from_value::<Delta>(json).unwrap(), delta);
        let deleted: Delta =
            serde_json::from_value(json!({"environment_id": "e1", "project": "shop",
            "environment": "production", "revision": 5, "kind": "deleted"}))
            .unwrap();
        assert_eq!(deleted.change, Change::Deleted);
    }

    #[test]
    fn applying_keeps_the_canonical_order() {
        let mut snapshot: Snapshot = serde_json::from_value(json!({
            "project": "shop", "environment": "production", "revision": 1
        }))
        .unwrap();
        snapshot.apply(&[flag("m", false), flag("c", true), flag("x", false)], 2);
        snapshot.apply(&[flag("m", true), Op::RemoveFlag { key: "x".into() }], 3);
        let keys: Vec<_> = snapshot.flags.iter().map(|f| f.flag.key.as_str()).collect();
        assert_eq!(keys, ["c", "m"]);
        assert!(snapshot.flags[1].config.enabled);
        assert_eq!(snapshot.revision, 3);

        let mut sorted = snapshot.clone();
        sorted.flags.reverse();
        sorted.canonicalize();
        assert_eq!(sorted, snapshot);
    }
}
