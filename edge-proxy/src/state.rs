//! The edge's memory: the last good snapshot of every environment, compiled, swapped in
//! whole. Requests `load()` it once and never lock.

use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use arc_swap::ArcSwapOption;
use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};
use togglerino_shared::model::{EdgeSnapshot, EnvironmentRevision, SdkKeyKind, sdk_key_hash};
use togglerino_shared::{CompiledSnapshot, compile};

use crate::changes::Fingerprints;
use tokio::sync::watch;

/// One complete, validated snapshot as served.
pub struct Loaded {
    /// The upstream's validator for `json`, sent back as `If-None-Match`.
    pub etag: Option<String>,
    /// The snapshot exactly as upstream sent it, for persisting.
    pub json: Bytes,
    environments: HashMap<String, HashMap<String, Environment>>,
    keys: HashMap<[u8; 32], KeyScope>,
    gzip: OnceLock<Bytes>,
}

/// One environment as served: compiled for evaluation, fingerprinted for change tracking.
struct Environment {
    compiled: CompiledSnapshot,
    fingerprints: Fingerprints,
}

/// Where an SDK key may be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyScope {
    pub project: String,
    pub environment: String,
    pub kind: SdkKeyKind,
}

impl Loaded {
    /// Parses and compiles every environment; any failure refuses the whole snapshot.
    pub fn from_json(json: Bytes, etag: Option<String>) -> Result<Loaded, String> {
        let snapshot: EdgeSnapshot =
            serde_json::from_slice(&json).map_err(|e| format!("malformed snapshot: {e}"))?;
        let mut environments: HashMap<String, HashMap<String, Environment>> = HashMap::new();
        let mut keys = HashMap::new();
        for environment in &snapshot.environments {
            let compiled = compile(environment).map_err(|e| {
                format!(
                    "invalid snapshot for {}/{}: {e}",
                    environment.project, environment.environment
                )
            })?;
            for key in &environment.sdk_keys {
                let mut hash = [0u8; 32];
                hex::decode_to_slice(&key.sha256, &mut hash)
                    .map_err(|_| "invalid SDK key hash".to_owned())?;
                let scope = KeyScope {
                    project: environment.project.clone(),
                    environment: environment.environment.clone(),
                    kind: key.kind,
                };
                keys.insert(hash, scope);
            }
            environments
                .entry(environment.project.clone())
                .or_default()
                .insert(
                    environment.environment.clone(),
                    Environment {
                        compiled,
                        fingerprints: Fingerprints::of(environment),
                    },
                );
        }
        Ok(Loaded {
            etag,
            json,
            environments,
            keys,
            gzip: OnceLock::new(),
        })
    }

    pub fn environment(&self, project: &str, environment: &str) -> Option<&CompiledSnapshot> {
        Some(&self.environments.get(project)?.get(environment)?.compiled)
    }

    pub fn fingerprints(&self, project: &str, environment: &str) -> Option<&Fingerprints> {
        Some(
            &self
                .environments
                .get(project)?
                .get(environment)?
                .fingerprints,
        )
    }

    /// The scope of a presented SDK key, if it is valid anywhere.
    pub fn key_scope(&self, presented: &str) -> Option<&KeyScope> {
        self.keys.get(&sdk_key_hash(presented))
    }

    /// The strong validator of `json`: upstream's, or our own for a snapshot restored
    /// from disk.
    pub fn etag(&self) -> String {
        self.etag
            .clone()
            .unwrap_or_else(|| format!("\"{}\"", hex::encode(&Sha256::digest(&self.json)[..16])))
    }

    /// `json` gzipped, computed on first use (only chained edges ask for it).
    pub fn gzip(&self) -> &Bytes {
        self.gzip.get_or_init(|| {
            let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
            encoder
                .write_all(&self.json)
                .expect("writing to memory cannot fail");
            encoder
                .finish()
                .expect("writing to memory cannot fail")
                .into()
        })
    }

    /// Every environment's revision, for the `revisions` event downstream edges get.
    pub fn revisions(&self) -> Vec<EnvironmentRevision> {
        let mut revisions: Vec<_> = self
            .environments
            .iter()
            .flat_map(|(project, environments)| {
                environments
                    .iter()
                    .map(move |(environment, snapshot)| EnvironmentRevision {
                        environment_id: format!("{project}/{environment}"),
                        project: project.clone(),
                        environment: environment.clone(),
                        revision: snapshot.compiled.revision(),
                    })
            })
            .collect();
        revisions.sort_by(|a, b| a.environment_id.cmp(&b.environment_id));
        revisions
    }

    pub fn environment_count(&self) -> usize {
        self.environments.values().map(HashMap::len).sum()
    }
}

/// The current snapshot, shared by every request and replaced by sync.
pub struct Store {
    current: ArcSwapOption<Loaded>,
    /// When upstream last gave or confirmed the snapshot, in ms since the Unix epoch.
    confirmed_at: AtomicU64,
    /// Counts replacements; streams wait on it to learn of new snapshots.
    generation: watch::Sender<u64>,
}

impl Default for Store {
    fn default() -> Store {
        Store {
            current: ArcSwapOption::empty(),
            confirmed_at: AtomicU64::new(0),
            generation: watch::channel(0).0,
        }
    }
}

impl Store {
    pub fn load(&self) -> Option<Arc<Loaded>> {
        self.current.load_full()
    }

    pub fn replace(&self, loaded: Loaded) {
        self.current.store(Some(Arc::new(loaded)));
        self.confirm();
        self.generation.send_modify(|g| *g += 1);
    }

    /// Serves a persisted snapshot: in service, but not confirmed by upstream.
    pub fn restore(&self, loaded: Loaded) {
        self.current.store(Some(Arc::new(loaded)));
        self.generation.send_modify(|g| *g += 1);
    }

    /// Records that upstream just confirmed the snapshot in service is current.
    pub fn confirm(&self) {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        self.confirmed_at
            .store(now.as_millis() as u64, Ordering::Relaxed);
    }

    /// How long since upstream last confirmed the snapshot; `None` if it never did
    /// (nothing loaded, or only the persisted snapshot).
    pub fn staleness(&self) -> Option<std::time::Duration> {
        let confirmed = self.confirmed_at.load(Ordering::Relaxed);
        (confirmed > 0).then(|| {
            let confirmed = SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(confirmed);
            SystemTime::now()
                .duration_since(confirmed)
                .unwrap_or_default()
        })
    }

    /// Wakes whenever a new snapshot is swapped in.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.generation.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn snapshot(default_variant: &str) -> Bytes {
        let json = json!({"environments": [{
            "project": "shop", "environment": "production", "revision": 4,
            "flags": [{
                "flag": {"key": "f", "name": "F", "type": "boolean", "default_value": false},
                "config": {"enabled": true, "variants": [{"key": "on", "value": true}], "default_variant": default_variant}
            }],
            "sdk_keys": [{"id": "1", "kind": "client", "sha256": togglerino_shared::model::sdk_key_hash_hex("sdk_abc")}]
        }]});
        serde_json::to_vec(&json).unwrap().into()
    }

    #[test]
    fn a_valid_snapshot_is_indexed_by_environment_and_key() {
        let loaded = Loaded::from_json(snapshot("on"), Some("\"e1\"".into())).unwrap();
        assert_eq!(
            loaded.environment("shop", "production").unwrap().revision(),
            4
        );
        assert!(loaded.environment("shop", "staging").is_none());
        let scope = loaded.key_scope("sdk_abc").unwrap();
        assert_eq!(
            (scope.project.as_str(), scope.kind),
            ("shop", SdkKeyKind::Client)
        );
        assert!(loaded.key_scope("sdk_abd").is_none());
    }

    #[test]
    fn an_invalid_snapshot_is_refused_whole() {
        let error = Loaded::from_json(snapshot("missing"), None).err().unwrap();
        assert!(error.contains("shop/production"), "{error}");
        assert!(Loaded::from_json(Bytes::from_static(b"{"), None).is_err());
    }
}
