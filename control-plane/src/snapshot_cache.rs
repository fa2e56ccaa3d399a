//! Each environment's last snapshot as served to edges, built once per revision however
//! many edges ask at once: the first request builds it, the others wait for that build
//! (single flight). Edges pull far more often than flags change, and a write touches
//! one environment, so every other environment's bytes are reused as they are.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use togglerino_shared::http::Served;
use togglerino_shared::model::Snapshot;
use tokio::sync::OnceCell;
use uuid::Uuid;

/// The build of one environment at one revision, shared by everyone who asks for it.
struct Slot {
    revision: i64,
    built: OnceCell<Arc<(u64, Served)>>,
}

pub struct SnapshotCache {
    // Locked only to find or replace a slot, never while building.
    slots: Mutex<HashMap<Uuid, Arc<Slot>>>,
    /// How long each build took, read from the database and serialized.
    pub builds: Histogram,
}

impl Default for SnapshotCache {
    fn default() -> SnapshotCache {
        SnapshotCache {
            slots: Mutex::default(),
            // 1 ms to about 16 s.
            builds: Histogram::new(exponential_buckets(0.001, 2.0, 15)),
        }
    }
}

impl SnapshotCache {
    /// The snapshot of `environment` at `revision` as served, with the revision it was
    /// built at, built by `build` unless it is cached or being built already. A request that read an older revision than the
    /// cache holds builds its own and leaves the cache alone.
    pub async fn get_or_build<E, F>(
        &self,
        environment: Uuid,
        revision: i64,
        build: F,
    ) -> Result<Arc<(u64, Served)>, E>
    where
        F: AsyncFnOnce() -> Result<Snapshot, E>,
    {
        let slot = {
            let mut slots = self.slots.lock().expect("never poisoned");
            match slots.get(&environment) {
                Some(slot) if slot.revision == revision => Arc::clone(slot),
                Some(slot) if slot.revision > revision => Arc::new(Slot::at(revision)),
                _ => {
                    let slot = Arc::new(Slot::at(revision));
                    slots.insert(environment, Arc::clone(&slot));
                    slot
                }
            }
        };
        let cached = slot
            .built
            .get_or_try_init(|| async {
                let started = std::time::Instant::now();
                let snapshot = build().await?;
                let served = Served::of(&snapshot);
                self.builds.observe(started.elapsed().as_secs_f64());
                Ok(Arc::new((snapshot.revision, served)))
            })
            .await?;
        Ok(Arc::clone(cached))
    }

    /// Forgets a deleted environment.
    pub fn forget(&self, environment: Uuid) {
        self.slots
            .lock()
            .expect("never poisoned")
            .remove(&environment);
    }
}

impl Slot {
    fn at(revision: i64) -> Slot {
        Slot {
            revision,
            built: OnceCell::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn snapshot(revision: u64) -> Snapshot {
        serde_json::from_value(serde_json::json!({
            "project": "shop", "environment": "production", "revision": revision
        }))
        .unwrap()
    }

    #[tokio::test]
    async fn concurrent_requests_for_one_revision_build_it_once() {
        let cache = SnapshotCache::default();
        let builds = AtomicUsize::new(0);
        let environment = Uuid::new_v4();
        let build = async || {
            builds.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            Ok::<_, ()>(snapshot(3))
        };
        let all = futures_util::future::join_all(
            (0..50).map(|_| cache.get_or_build(environment, 3, build)),
        )
        .await;
        assert!(all.iter().all(|c| c.as_ref().unwrap().0 == 3));
        assert_eq!(builds.load(Ordering::SeqCst), 1);

        // A newer revision is built once more; an older one never replaces it.
        cache
            .get_or_build(environment, 4, async || Ok::<_, ()>(snapshot(4)))
            .await
            .unwrap();
        cache
            .get_or_build(environment, 2, async || Ok::<_, ()>(snapshot(2)))
            .await
            .unwrap();
        let again = cache
            .get_or_build(environment, 4, async || -> Result<Snapshot, ()> {
                panic!("revision 4 is cached")
            })
            .await
            .unwrap();
        assert_eq!(again.0, 4);
    }
}
