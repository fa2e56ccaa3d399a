//! The edge's memory: the last good snapshot of every environment, compiled, swapped in
//! whole. Requests `load()` it once and never lock.

use std::collections::HashMap;
use std::io::{Read, Write};
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
    /// The upstream's validator for the snapshot, sent back as `If-None-Match`.
    pub etag: Option<String>,
    /// The snapshot exactly as upstream sent it (gzipped JSON, or JSON), for persisting
    /// and for chained edges. Kept compressed when it came compressed: with thousands of
    /// flags the JSON is several times the size of everything compiled from it.
    body: Bytes,
    environments: HashMap<String, HashMap<String, Environment>>,
    keys: HashMap<[u8; 32], KeyScope>,
    /// The gzipped form of a body that came uncompressed, made on first use.
    gzip: OnceLock<Bytes>,
}

/// A decompressed snapshot larger than this is refused rather than allowed to exhaust
/// memory.
const MAX_SNAPSHOT_BYTES: u64 = 1 << 30;

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
    /// Parses and compiles every environment of a snapshot body, gzipped or not; any
    /// failure refuses the whole snapshot.
    pub fn from_body(body: Bytes, etag: Option<String>) -> Result<Loaded, String> {
        let snapshot: EdgeSnapshot = if is_gzip(&body) {
            serde_json::from_slice(&gunzip(&body)?)
        } else {
            serde_json::from_slice(&body)
        }
        .map_err(|e| format!("malformed snapshot: {e}"))?;
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
        let loaded = Loaded::from_body(snapshot("on"), Some("\"e1\"".into())).unwrap();
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
        let loaded = Loaded::from_body(gzipped(&json), None).unwrap();
        assert!(loaded.key_scope("sdk_abc").is_some());
        assert!(is_gzip(loaded.body()));
        assert_eq!(loaded.json(), json);
        assert_eq!(&loaded.gzip(), loaded.body());

        let plain = Loaded::from_body(json.clone(), None).unwrap();
        assert_eq!(plain.body(), &json);
        assert_eq!(gunzip(&plain.gzip()).unwrap(), json);
    }

    #[test]
    fn a_corrupt_or_oversized_gzip_body_is_refused() {
        let mut corrupt = gzipped(&snapshot("on")).to_vec();
        corrupt.truncate(corrupt.len() / 2);
        let error = Loaded::from_body(corrupt.into(), None).err().unwrap();
        assert!(error.contains("gzip"), "{error}");

        // A lying size trailer is caught by the gzip checks, and sized no buffer.
        let mut lying = gzipped(&snapshot("on")).to_vec();
        let end = lying.len();
        lying[end - 4..].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(Loaded::from_body(lying.into(), None).is_err());
    }

    #[test]
    fn an_invalid_snapshot_is_refused_whole() {
        let error = Loaded::from_body(snapshot("missing"), None).err().unwrap();
        assert!(error.contains("shop/production"), "{error}");
        assert!(Loaded::from_body(Bytes::from_static(b"{"), None).is_err());
    }
}
