//! What changed between two snapshots of one environment, flag by flag, so streams
//! re-evaluate only the flags whose answer may differ.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::hash::Hasher;

use togglerino_shared::model::Snapshot;

/// A digest of everything that decides each flag's answers in one environment.
#[derive(Debug, Default)]
pub struct Fingerprints {
    flags: HashMap<String, FlagPrint>,
    segments: HashMap<String, u64>,
}

#[derive(Debug)]
struct FlagPrint {
    /// What of the flag and its config decides answers, digested: not its name,
    /// description or tags.
    digest: u64,
    /// Segments its rules use, and flags it needs: their changes are its changes too.
    segments: Vec<String>,
    prerequisites: Vec<String>,
}

fn digest(value: &impl serde::Serialize) -> u64 {
    // Straight from the serializer into the hasher: no string per flag.
    let mut hasher = HashWriter(DefaultHasher::new());
    serde_json::to_writer(&mut hasher, value).expect("model types serialize");
    hasher.0.finish()
}

struct HashWriter(DefaultHasher);

impl std::io::Write for HashWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.write(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Fingerprints {
    pub fn of(snapshot: &Snapshot) -> Fingerprints {
        let flags = snapshot
            .flags
            .iter()
            .map(|entry| {
                let flag = &entry.flag;
                let print = FlagPrint {
                    digest: digest(&(
                        flag.flag_type,
                        &flag.default_value,
                        flag.archived,
                        flag.client_visible,
                        &entry.config,
                    )),
                    segments: entry.config.segment_keys().map(str::to_owned).collect(),
                    prerequisites: entry
                        .config
                        .prerequisites
                        .iter()
                        .map(|p| p.flag.clone())
                        .collect(),
                };
                (entry.flag.key.clone(), print)
            })
            .collect();
        let segments = snapshot
            .segments
            .iter()
            // Membership only: a segment's name and description decide nothing.
            .map(|segment| {
                let membership = (&segment.included, &segment.excluded, &segment.conditions);
                (segment.key.clone(), digest(&membership))
            })
            .collect();
        Fingerprints { flags, segments }
    }

    /// Keys of the flags (now or before) whose answers may differ from `before`'s: added,
    /// removed or edited flags, flags using an edited segment, and every flag that
    /// needs one of those as a prerequisite.
    pub fn changed_since(&self, before: &Fingerprints) -> HashSet<String> {
        let changed_segments: HashSet<&str> = self
            .segments
            .keys()
            .chain(before.segments.keys())
            .filter(|key| self.segments.get(*key) != before.segments.get(*key))
            .map(String::as_str)
            .collect();
        let mut changed: HashSet<String> = self
            .flags
            .keys()
            .chain(before.flags.keys())
            .filter(|key| {
                let now = self.flags.get(*key);
                now.map(|p| p.digest) != before.flags.get(*key).map(|p| p.digest)
                    || now.is_some_and(|p| {
                        p.segments
                            .iter()
                            .any(|s| changed_segments.contains(s.as_str()))
                    })
            })
            .cloned()
            .collect();
        // Dependents of changed flags change too, transitively.
        let mut grew = true;
        while grew {
            grew = false;
            for (key, print) in &self.flags {
                if !changed.contains(key) && print.prerequisites.iter().any(|p| changed.contains(p))
                {
                    changed.insert(key.clone());
                    grew = true;
                }
            }
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn snapshot(flags: Value, segments: Value) -> Snapshot {
        serde_json::from_value(json!({
            "project": "p", "environment": "e", "revision": 1, "flags": flags, "segments": segments
        }))
        .unwrap()
    }

    fn flag(key: &str, enabled: bool, extra: Value) -> Value {
        let mut config = json!({"enabled": enabled, "variants": [{"key": "on", "value": true}], "default_variant": "on"});
        for (k, v) in extra.as_object().unwrap() {
            config[k] = v.clone();
        }
        json!({"flag": {"key": key, "name": key, "type": "boolean", "default_value": false}, "config": config})
    }

    fn changed(before: &Snapshot, after: &Snapshot) -> Vec<String> {
        let mut keys: Vec<String> = Fingerprints::of(after)
            .changed_since(&Fingerprints::of(before))
            .into_iter()
            .collect();
        keys.sort();
        keys
    }

    #[test]
    fn edits_segments_and_prerequisites_propagate() {
        let gated = json!({"targeting_rules": [{"conditions": [{"operator": "in_segment", "value": "beta"}], "variant": "on"}]});
        let needs_a = json!({"prerequisites": [{"flag": "a", "variant": "on"}]});
        let needs_b = json!({"prerequisites": [{"flag": "b", "variant": "on"}]});
        let segments = json!([{"key": "beta", "name": "Beta", "included": ["u1"]}]);
        let base = snapshot(
            json!([
                flag("a", true, json!({})),
                flag("b", true, needs_a.clone()),
                flag("c", true, needs_b.clone()),
                flag("g", true, gated.clone()),
                flag("z", true, json!({}))
            ]),
            segments.clone(),
        );
        assert_eq!(changed(&base, &base), Vec::<String>::new());

        let toggled = snapshot(
            json!([
                flag("a", false, json!({})),
                flag("b", true, needs_a),
                flag("c", true, needs_b),
                flag("g", true, gated),
                flag("z", true, json!({}))
            ]),
            segments,
        );
        assert_eq!(changed(&base, &toggled), ["a", "b", "c"]);

        let mut new_members = base.clone();
        new_members.segments[0].included.push("u2".into());
        assert_eq!(changed(&base, &new_members), ["g"]);

        let mut removed = base.clone();
        removed.flags.retain(|f| f.flag.key != "z");
        assert_eq!(changed(&base, &removed), ["z"]);

        let mut renamed = base.clone();
        renamed.flags[4].flag.name = "Zed".into();
        renamed.flags[4].flag.tags.push("ui".into());
        renamed.segments[0].name = "Beta testers".into();
        assert_eq!(
            changed(&base, &renamed),
            Vec::<String>::new(),
            "no answer can differ"
        );
    }
}
