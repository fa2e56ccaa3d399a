//! The edge's memory: every environment's snapshot, compiled. Requests `load()` the
//! current view once and never lock. A change installs or removes one environment;
//! every other environment is shared with the previous view as it is, and only the
//! streams of the environment that changed are woken.

mod environment;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use arc_swap::ArcSwapOption;
use togglerino_shared::CompiledSnapshot;
use togglerino_shared::engine::Tally;
use togglerino_shared::model::{EnvironmentRevision, SdkKeyKind};
use tokio::sync::watch;

pub use environment::Environment;

/// Every environment in service, and where each SDK key may be used.
#[derive(Default)]
pub struct Loaded {
    environments: HashMap<String, HashMap<String, Arc<Environment>>>,
    /// Shared, so a request holds its key's scope without copying it.
    keys: HashMap<[u8; 32], Arc<KeyScope>>,
}

/// Where an SDK key may be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyScope {
    pub project: String,
    pub environment: String,
    pub kind: SdkKeyKind,
}

impl Loaded {
    /// A view of exactly these environments.
    pub fn of(environments: impl IntoIterator<Item = Arc<Environment>>) -> Loaded {
        let mut by_project: HashMap<String, HashMap<String, Arc<Environment>>> = HashMap::new();
        for environment in environments {
            by_project
                .entry(environment.project().to_owned())
                .or_default()
                .insert(environment.name().to_owned(), environment);
        }
        let mut keys = HashMap::new();
        for environment in by_project.values().flat_map(HashMap::values) {
            for (hash, kind) in environment.compiled().sdk_key_hashes() {
                let scope = KeyScope {
                    project: environment.project().to_owned(),
                    environment: environment.name().to_owned(),
                    kind,
                };
                keys.insert(*hash, Arc::new(scope));
            }
        }
        Loaded {
            environments: by_project,
            keys,
        }
    }

    /// Every environment, in no particular order.
    pub fn all(&self) -> impl Iterator<Item = &Arc<Environment>> {
        self.environments.values().flat_map(HashMap::values)
    }

    /// This view with `environment` added or replaced.
    fn with(&self, environment: Arc<Environment>) -> Loaded {
        let kept: Vec<Arc<Environment>> = self
            .all()
            .filter(|e| (e.project(), e.name()) != (environment.project(), environment.name()))
            .cloned()
            .collect();
        Loaded::of(kept.into_iter().chain([environment]))
    }

    /// This view without one environment.
    fn without(&self, project: &str, environment: &str) -> Loaded {
        Loaded::of(
            self.all()
                .filter(|e| (e.project(), e.name()) != (project, environment))
                .cloned(),
        )
    }

    /// One environment with everything the edge knows of it.
    pub fn get(&self, project: &str, environment: &str) -> Option<&Arc<Environment>> {
        self.environments.get(project)?.get(environment)
    }

    pub fn environment(&self, project: &str, environment: &str) -> Option<&CompiledSnapshot> {
        Some(self.get(project, environment)?.compiled())
    }

    /// The scope of an SDK key, known by its hash (see `routes::sdk_key`), if it is
    /// valid anywhere.
    pub fn key_scope(&self, hash: &[u8; 32]) -> Option<&Arc<KeyScope>> {
        self.keys.get(hash)
    }

    /// Every environment's revision, for metrics and downstream edges, in key order.
    pub fn revisions(&self) -> Vec<EnvironmentRevision> {
        let mut revisions: Vec<_> = self
            .all()
            .map(|environment| EnvironmentRevision {
                environment_id: format!("{}/{}", environment.project(), environment.name()),
                project: environment.project().to_owned(),
                environment: environment.name().to_owned(),
                revision: environment.revision(),
            })
            .collect();
        revisions.sort_by(|a, b| a.environment_id.cmp(&b.environment_id));
        revisions
    }

    pub fn environment_count(&self) -> usize {
        self.environments.values().map(HashMap::len).sum()
    }
}

/// What watchers of one environment see: its latest version, or `None` once it is gone.
pub type EnvironmentWatch = watch::Receiver<Option<Arc<Environment>>>;
type EnvironmentSignal = watch::Sender<Option<Arc<Environment>>>;

/// The environments in service, shared by every request and changed by sync.
pub struct Store {
    current: ArcSwapOption<Loaded>,
    /// Whether what is held may be served: every environment upstream listed has been
    /// pulled once, or environments were restored from disk. Until then requests see
    /// nothing, rather than some environments and not others.
    ready: AtomicBool,
    /// When upstream last gave or confirmed what is in service, in ms since the Unix
    /// epoch.
    confirmed_at: AtomicU64,
    /// Counts changes; chained edges wait on it.
    generation: watch::Sender<u64>,
    /// One channel per watched environment, woken only when that environment changes.
    /// Locked to add a watcher and to swap, never while serving.
    watchers: Mutex<HashMap<(String, String), EnvironmentSignal>>,
    /// The evaluation counts of every version put in service and not yet drained for
    /// the last time: a replaced version still counts what requests holding it serve.
    tallies: Mutex<Vec<Arc<Tally>>>,
}

impl Default for Store {
    fn default() -> Store {
        Store {
            current: ArcSwapOption::empty(),
            ready: AtomicBool::new(false),
            confirmed_at: AtomicU64::new(0),
            generation: watch::channel(0).0,
            watchers: Mutex::default(),
            tallies: Mutex::default(),
        }
    }
}

impl Store {
    /// What is in service; `None` until the first full sync or a restore.
    pub fn load(&self) -> Option<Arc<Loaded>> {
        if !self.ready.load(Ordering::Acquire) {
            return None;
        }
        self.current.load_full()
    }

    /// What is held, in service or still being built up by the first sync.
    pub fn held(&self) -> Option<Arc<Loaded>> {
        self.current.load_full()
    }

    /// Serves environments restored from disk, written at `written` (the oldest of
    /// them): upstream has not confirmed them, so their age counts from then.
    pub fn restore(&self, environments: Vec<Arc<Environment>>, written: SystemTime) {
        self.count(&environments);
        self.swap(|_| Loaded::of(environments));
        self.confirmed(written);
        self.ready.store(true, Ordering::Release);
    }

    /// Puts one environment in service (new, or its next version).
    pub fn install(&self, environment: Arc<Environment>) {
        self.count(std::slice::from_ref(&environment));
        self.swap(|current| current.with(environment));
    }

    fn count(&self, environments: &[Arc<Environment>]) {
        let mut tallies = self.tallies.lock().expect("never poisoned");
        tallies.extend(
            environments
                .iter()
                .map(|e| Arc::clone(e.compiled().tally())),
        );
    }

    /// Takes every evaluation counted since the last call, from the versions in service
    /// and those replaced since; a replaced version nothing holds any more is drained
    /// one last time and forgotten.
    pub fn drain_counts(&self, mut each: impl FnMut(&Tally, &str, Option<&str>, u64)) {
        let mut tallies = self.tallies.lock().expect("never poisoned");
        tallies.retain(|tally| {
            // Only this list holds it: nothing can count into it any more. The fence
            // pairs with the release of the last other holder's drop, so its counts are
            // seen below.
            let last = Arc::strong_count(tally) == 1;
            std::sync::atomic::fence(std::sync::atomic::Ordering::Acquire);
            tally.drain(|flag, variant, count| each(tally, flag, variant, count));
            !last
        });
    }

    /// Takes one environment out of service.
    pub fn remove(&self, project: &str, environment: &str) {
        self.swap(|current| current.without(project, environment));
    }

    /// Puts what is held in service: every environment upstream listed is here (there
    /// may be none at all).
    pub fn ready(&self) {
        if self.current.load().is_none() {
            self.swap(|_| Loaded::default());
        }
        self.ready.store(true, Ordering::Release);
    }

    fn swap(&self, change: impl FnOnce(&Loaded) -> Loaded) {
        let mut watchers = self.watchers.lock().expect("never poisoned");
        let current = self.held().unwrap_or_default();
        let loaded = Arc::new(change(&current));
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

    /// How many streams watch each environment now, by `(project, environment)`.
    pub fn watching(&self) -> HashMap<(String, String), usize> {
        let watchers = self.watchers.lock().expect("never poisoned");
        watchers
            .iter()
            .map(|(key, sender)| (key.clone(), sender.receiver_count()))
            .collect()
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

    /// Records that upstream just confirmed that what is in service is current.
    pub fn confirm(&self) {
        self.confirmed(SystemTime::now());
    }

    fn confirmed(&self, at: SystemTime) {
        let at = at
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        // At least 1 ms: zero means "never".
        self.confirmed_at
            .store((at.as_millis() as u64).max(1), Ordering::Relaxed);
    }

    /// How long since upstream last confirmed what is in service, or since what was
    /// restored from disk was written; `None` while nothing is held.
    pub fn staleness(&self) -> Option<std::time::Duration> {
        let confirmed = self.confirmed_at.load(Ordering::Relaxed);
        (confirmed > 0).then(|| {
            let confirmed = SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(confirmed);
            SystemTime::now()
                .duration_since(confirmed)
                .unwrap_or_default()
        })
    }

    /// Wakes whenever anything changes.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.generation.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use togglerino_shared::model::{Snapshot, sdk_key_hash};

    use super::*;

    fn environment(name: &str, revision: u64, default_variant: &str, key: &str) -> Snapshot {
        serde_json::from_value(json!({
            "project": "shop", "environment": name, "revision": revision,
            "flags": [{
                "flag": {"key": "f", "name": "F", "type": "boolean", "default_value": false},
                "config": {"enabled": true, "variants": [{"key": "on", "value": true}, {"key": "off", "value": false}], "default_variant": default_variant}
            }],
            "sdk_keys": [{"id": key, "kind": "client", "sha256": togglerino_shared::model::sdk_key_hash_hex(key)}]
        }))
        .unwrap()
    }

    fn compiled(snapshot: Snapshot, previous: Option<&Arc<Environment>>) -> Arc<Environment> {
        Arc::new(Environment::new(snapshot, None, previous.map(|p| &**p)).unwrap())
    }

    #[test]
    fn environments_and_keys_are_indexed() {
        let store = Store::default();
        assert!(store.load().is_none());
        let written = SystemTime::now() - std::time::Duration::from_secs(3600);
        store.restore(
            vec![compiled(
                environment("production", 4, "on", "sdk_abc"),
                None,
            )],
            written,
        );
        let loaded = store.load().unwrap();
        assert_eq!(
            loaded.environment("shop", "production").unwrap().revision(),
            4
        );
        assert!(loaded.environment("shop", "staging").is_none());
        let scope = loaded.key_scope(&sdk_key_hash("sdk_abc")).unwrap();
        assert_eq!(
            (scope.project.as_str(), scope.kind),
            ("shop", SdkKeyKind::Client)
        );
        assert!(loaded.key_scope(&sdk_key_hash("sdk_abd")).is_none());
        // Restored, not confirmed: as old as the files, never fresh.
        let age = store.staleness().unwrap().as_secs();
        assert!((3600..3660).contains(&age), "{age}");
        store.confirm();
        assert!(store.staleness().unwrap().as_secs() < 5);
    }

    #[test]
    fn an_invalid_environment_is_refused() {
        let error = Environment::new(environment("production", 1, "missing", "k"), None, None)
            .err()
            .unwrap();
        assert!(error.contains("shop/production"), "{error}");
    }

    #[test]
    fn a_change_to_one_environment_shares_the_others_and_wakes_only_its_watchers() {
        let store = Store::default();
        let staging = compiled(environment("staging", 3, "on", "sdk_s"), None);
        // Pulled one by one at start-up: nothing is served until all are there.
        store.install(Arc::clone(&staging));
        assert!(store.load().is_none() && store.watch("shop", "staging").is_none());
        let production = compiled(environment("production", 7, "on", "sdk_p"), None);
        store.restore(
            vec![Arc::clone(&staging), Arc::clone(&production)],
            SystemTime::now(),
        );
        let mut production_watch = store.watch("shop", "production").unwrap();
        let mut staging_watch = store.watch("shop", "staging").unwrap();

        let next = compiled(
            environment("production", 8, "off", "sdk_p"),
            Some(&production),
        );
        assert_eq!(next.generation(), 2);
        assert_eq!(next.changed_since(1), Some(vec!["f"]));
        store.install(next);
        let loaded = store.load().unwrap();
        assert!(Arc::ptr_eq(
            loaded.get("shop", "staging").unwrap(),
            &staging
        ));
        assert!(production_watch.has_changed().unwrap());
        assert!(!staging_watch.has_changed().unwrap());
        production_watch.mark_unchanged();

        // Staging disappears: its watchers' channel ends, its last word `None`.
        store.remove("shop", "staging");
        assert!(staging_watch.has_changed().is_err());
        assert!(staging_watch.borrow_and_update().is_none());
        assert!(store.watch("shop", "staging").is_none());
        assert!(
            store
                .load()
                .unwrap()
                .key_scope(&sdk_key_hash("sdk_s"))
                .is_none()
        );
        assert!(!production_watch.has_changed().unwrap());
    }
}
