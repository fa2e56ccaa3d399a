//! The edge's memory: the last good snapshot of every environment, compiled, swapped in
//! whole. Requests `load()` it once and never lock. An environment that did not change
//! is carried over from the previous snapshot as it was (neither parsed nor compiled
//! again), and only the streams of environments that did change are woken.

mod environment;

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hasher};
use std::io::{Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;

use arc_swap::ArcSwapOption;
use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;
use serde::Deserialize;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use togglerino_shared::CompiledSnapshot;
use togglerino_shared::model::{EnvironmentRevision, SdkKeyKind, Snapshot, sdk_key_hash};
use tokio::sync::watch;

pub use environment::Environment;

/// One complete, validated snapshot as served.
pub struct Loaded {
    /// The upstream's validator for the snapshot, sent back as `If-None-Match`.
    pub etag: Option<String>,
    /// The snapshot exactly as upstream sent it (gzipped JSON, or JSON), for persisting
    /// and for chained edges. Kept compressed when it came compressed: with thousands of
    /// flags the JSON is several times the size of everything compiled from it.
    body: Bytes,
    environments: HashMap<String, HashMap<String, Arc<Environment>>>,
    keys: HashMap<[u8; 32], KeyScope>,
    /// The gzipped form of a body that came uncompressed, made on first use.
    gzip: OnceLock<Bytes>,
}

/// A decompressed snapshot larger than this is refused rather than allowed to exhaust
/// memory.
const MAX_SNAPSHOT_BYTES: u64 = 1 << 30;

/// Where an SDK key may be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyScope {
    pub project: String,
    pub environment: String,
    pub kind: SdkKeyKind,
}

/// The snapshot's outer shape, environments left as raw JSON until they are known to
/// have changed.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope<'a> {
    #[serde(borrow, default)]
    environments: Vec<&'a RawValue>,
}

fn digest(json: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    hasher.write(json.as_bytes());
    hasher.finish()
}

impl Loaded {
    /// Parses and compiles every environment of a snapshot body, gzipped or not; any
    /// failure refuses the whole snapshot. Environments whose JSON is exactly as in
    /// `previous` are taken from it unparsed; the others become its next versions.
    pub fn from_body(
        body: Bytes,
        etag: Option<String>,
        previous: Option<&Loaded>,
    ) -> Result<Loaded, String> {
        let unzipped;
        let json: &[u8] = if is_gzip(&body) {
            unzipped = gunzip(&body)?;
            &unzipped
        } else {
            &body
        };
        let envelope: Envelope<'_> =
            serde_json::from_slice(json).map_err(|e| format!("malformed snapshot: {e}"))?;
        let unchanged: HashMap<u64, &Arc<Environment>> = previous
            .into_iter()
            .flat_map(|p| p.environments.values().flat_map(HashMap::values))
            .map(|e| (e.digest(), e))
            .collect();
        let mut environments: HashMap<String, HashMap<String, Arc<Environment>>> = HashMap::new();
        for raw in envelope.environments {
            let digest = digest(raw.get());
            let environment = match unchanged.get(&digest) {
                Some(&same) => Arc::clone(same),
                None => {
                    let snapshot: Snapshot = serde_json::from_str(raw.get())
                        .map_err(|e| format!("malformed snapshot: {e}"))?;
                    let before =
                        previous.and_then(|p| p.get(&snapshot.project, &snapshot.environment));
                    Arc::new(Environment::compile(
                        &snapshot,
                        digest,
                        before.map(|e| &**e),
                    )?)
                }
            };
            let compiled = environment.compiled();
            environments
                .entry(compiled.project().to_owned())
                .or_default()
                .insert(compiled.environment().to_owned(), environment);
        }
        let mut keys = HashMap::new();
        for environment in environments.values().flat_map(HashMap::values) {
            let compiled = environment.compiled();
            for (hash, kind) in compiled.sdk_key_hashes() {
                let scope = KeyScope {
                    project: compiled.project().to_owned(),
                    environment: compiled.environment().to_owned(),
                    kind,
                };
                keys.insert(*hash, scope);
            }
        }
        Ok(Loaded {
            etag,
            body,
            environments,
            keys,
            gzip: OnceLock::new(),
        })
    }

    /// The snapshot as received, to persist; `from_body` reads it back.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// One environment with everything the edge knows of it.
    pub fn get(&self, project: &str, environment: &str) -> Option<&Arc<Environment>> {
        self.environments.get(project)?.get(environment)
    }

    pub fn environment(&self, project: &str, environment: &str) -> Option<&CompiledSnapshot> {
        Some(self.get(project, environment)?.compiled())
    }

    /// The scope of a presented SDK key, if it is valid anywhere.
    pub fn key_scope(&self, presented: &str) -> Option<&KeyScope> {
        self.key_scope_by_hash(&sdk_key_hash(presented))
    }

    /// The scope of an SDK key known by its hash (streams keep only that).
    pub fn key_scope_by_hash(&self, hash: &[u8; 32]) -> Option<&KeyScope> {
        self.keys.get(hash)
    }

    /// The strong validator of the snapshot: upstream's, or our own for a snapshot
    /// restored from disk.
    pub fn etag(&self) -> String {
        self.etag
            .clone()
            .unwrap_or_else(|| format!("\"{}\"", hex::encode(&Sha256::digest(&self.body)[..16])))
    }

    /// The snapshot as JSON. Decompressed per call: chained edges ask for gzip.
    pub fn json(&self) -> Bytes {
        if is_gzip(&self.body) {
            // The body was decompressed once already when it was loaded.
            gunzip(&self.body)
                .expect("a loaded body decompresses")
                .into()
        } else {
            self.body.clone()
        }
    }

    /// The snapshot gzipped: as received, or compressed on first use.
    pub fn gzip(&self) -> Bytes {
        if is_gzip(&self.body) {
            return self.body.clone();
        }
        self.gzip
            .get_or_init(|| {
                let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
                encoder
                    .write_all(&self.body)
                    .expect("writing to memory cannot fail");
                encoder
                    .finish()
                    .expect("writing to memory cannot fail")
                    .into()
            })
            .clone()
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
                        revision: snapshot.revision(),
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

/// gzip streams start with these two bytes; JSON never does.
fn is_gzip(body: &[u8]) -> bool {
    body.starts_with(&[0x1f, 0x8b])
}

/// Decompresses a gzip body into a buffer sized from the gzip trailer, refusing one
/// that would exceed `MAX_SNAPSHOT_BYTES`.
fn gunzip(body: &[u8]) -> Result<Vec<u8>, String> {
    // The trailer's last four bytes hold the size modulo 2^32: a hint, trusted only up
    // to a plausible compression ratio for JSON; past that the buffer grows as usual.
    let hint = body
        .last_chunk::<4>()
        .map_or(0, |size| u64::from(u32::from_le_bytes(*size)));
    let plausible = (body.len() as u64)
        .saturating_mul(64)
        .min(MAX_SNAPSHOT_BYTES);
    let mut json = Vec::with_capacity(hint.min(plausible) as usize);
    flate2::read::GzDecoder::new(body)
        .take(MAX_SNAPSHOT_BYTES + 1)
        .read_to_end(&mut json)
        .map_err(|e| format!("malformed gzip body: {e}"))?;
    if json.len() as u64 > MAX_SNAPSHOT_BYTES {
        return Err(format!(
            "the snapshot exceeds {MAX_SNAPSHOT_BYTES} bytes decompressed"
        ));
    }
    Ok(json)
}

/// What watchers of one environment see: its latest version, or `None` once it is gone.
pub type EnvironmentWatch = watch::Receiver<Option<Arc<Environment>>>;
type EnvironmentSignal = watch::Sender<Option<Arc<Environment>>>;

/// The current snapshot, shared by every request and replaced by sync.
pub struct Store {
    current: ArcSwapOption<Loaded>,
    /// When upstream last gave or confirmed the snapshot, in ms since the Unix epoch.
    confirmed_at: AtomicU64,
    /// Counts replacements; chained edges wait on it to learn of new snapshots.
    generation: watch::Sender<u64>,
    /// One channel per watched environment, woken only when that environment changes.
    /// Locked to add a watcher and to swap snapshots, never while serving.
    watchers: Mutex<HashMap<(String, String), EnvironmentSignal>>,
}

impl Default for Store {
    fn default() -> Store {
        Store {
            current: ArcSwapOption::empty(),
            confirmed_at: AtomicU64::new(0),
            generation: watch::channel(0).0,
            watchers: Mutex::default(),
        }
    }
}

impl Store {
    pub fn load(&self) -> Option<Arc<Loaded>> {
        self.current.load_full()
    }

    pub fn replace(&self, loaded: Loaded) {
        self.swap(loaded);
        self.confirm();
    }

    /// Serves a persisted snapshot: in service, but not confirmed by upstream.
    pub fn restore(&self, loaded: Loaded) {
        self.swap(loaded);
    }

    fn swap(&self, loaded: Loaded) {
        let loaded = Arc::new(loaded);
        let mut watchers = self.watchers.lock().expect("never poisoned");
        self.current.store(Some(Arc::clone(&loaded)));
        watchers.retain(|(project, environment), sender| {
            let now = loaded.get(project, environment);
            let moved = match (now, &*sender.borrow()) {
                (Some(now), Some(before)) => !Arc::ptr_eq(now, before),
                (None, None) => false,
                _ => true,
            };
            if moved {
                sender.send_replace(now.cloned());
            }
            // An environment that is gone ends its watchers; the entry goes with them.
            now.is_some() && !sender.is_closed()
        });
        drop(watchers);
        self.generation.send_modify(|g| *g += 1);
    }

    /// Watches one environment: the receiver holds its current version, and wakes for
    /// each new one. `None` when the environment is not in service.
    pub fn watch(&self, project: &str, environment: &str) -> Option<EnvironmentWatch> {
        let mut watchers = self.watchers.lock().expect("never poisoned");
        let current = Arc::clone(self.load()?.get(project, environment)?);
        let sender = watchers
            .entry((project.to_owned(), environment.to_owned()))
            .or_insert_with(|| watch::channel(Some(Arc::clone(&current))).0);
        Some(sender.subscribe())
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
        let loaded = Loaded::from_body(snapshot("on"), Some("\"e1\"".into()), None).unwrap();
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

    fn gzipped(body: &[u8]) -> Bytes {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
        encoder.write_all(body).unwrap();
        encoder.finish().unwrap().into()
    }

    #[test]
    fn a_gzipped_snapshot_is_kept_compressed_and_served_either_way() {
        let json = snapshot("on");
        let loaded = Loaded::from_body(gzipped(&json), None, None).unwrap();
        assert!(loaded.key_scope("sdk_abc").is_some());
        assert!(is_gzip(loaded.body()));
        assert_eq!(loaded.json(), json);
        assert_eq!(&loaded.gzip(), loaded.body());

        let plain = Loaded::from_body(json.clone(), None, None).unwrap();
        assert_eq!(plain.body(), &json);
        assert_eq!(gunzip(&plain.gzip()).unwrap(), json);
    }

    #[test]
    fn a_corrupt_or_oversized_gzip_body_is_refused() {
        let mut corrupt = gzipped(&snapshot("on")).to_vec();
        corrupt.truncate(corrupt.len() / 2);
        let error = Loaded::from_body(corrupt.into(), None, None).err().unwrap();
        assert!(error.contains("gzip"), "{error}");

        // A lying size trailer is caught by the gzip checks, and sized no buffer.
        let mut lying = gzipped(&snapshot("on")).to_vec();
        let end = lying.len();
        lying[end - 4..].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(Loaded::from_body(lying.into(), None, None).is_err());
    }

    #[test]
    fn an_invalid_snapshot_is_refused_whole() {
        let error = Loaded::from_body(snapshot("missing"), None, None)
            .err()
            .unwrap();
        assert!(error.contains("shop/production"), "{error}");
        assert!(Loaded::from_body(Bytes::from_static(b"{"), None, None).is_err());
    }

    #[test]
    fn unchanged_environments_are_carried_over_and_only_changed_ones_wake_watchers() {
        let two = |default_variant: &str, staging_revision: u64| -> Bytes {
            let environment = |name: &str, revision: u64, variant: &str| {
                json!({"project": "shop", "environment": name, "revision": revision,
                    "flags": [{"flag": {"key": "f", "name": "F", "type": "boolean", "default_value": false},
                        "config": {"enabled": true, "variants": [{"key": "on", "value": true}, {"key": "off", "value": false}], "default_variant": variant}}]})
            };
            serde_json::to_vec(&json!({"environments": [
                environment("production", 7, default_variant),
                environment("staging", staging_revision, "on"),
            ]}))
            .unwrap()
            .into()
        };
        let store = Store::default();
        store.replace(Loaded::from_body(two("on", 3), None, None).unwrap());
        let mut production = store.watch("shop", "production").unwrap();
        let mut staging = store.watch("shop", "staging").unwrap();
        let before = store.load().unwrap();

        let next = Loaded::from_body(two("off", 3), None, Some(&before)).unwrap();
        assert!(Arc::ptr_eq(
            next.get("shop", "staging").unwrap(),
            before.get("shop", "staging").unwrap()
        ));
        let changed = next.get("shop", "production").unwrap();
        assert_eq!(changed.generation(), 2);
        assert_eq!(changed.changed_since(1), Some(vec!["f"]));
        store.replace(next);
        assert!(production.has_changed().unwrap());
        assert!(!staging.has_changed().unwrap());
        production.mark_unchanged();

        // Staging disappears: its watchers' channel ends, its last word `None`.
        let only_production = json!({"environments": [{"project": "shop", "environment": "production", "revision": 7}]});
        let loaded = Loaded::from_body(
            serde_json::to_vec(&only_production).unwrap().into(),
            None,
            store.load().as_deref(),
        )
        .unwrap();
        store.replace(loaded);
        assert!(staging.has_changed().is_err());
        assert!(staging.borrow_and_update().is_none());
        assert!(store.watch("shop", "staging").is_none());
    }
}
