//! Keeping the edge current. It follows the upstream change stream: a `revisions` event
//! (on connect, or after a long absence) is compared with what the edge holds and each
//! environment that differs is pulled whole; a `change` event carries a delta, applied
//! to the one environment it names when the edge holds exactly the revision before it,
//! and answered with a pull of that environment otherwise (a gap, a new environment,
//! any doubt). On a timer it compares revisions again, in case the stream stalls
//! unnoticed. Anything that does not compile is refused and the previous version keeps
//! serving; what was accepted is persisted.

mod body;
pub mod cache;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use eventsource_stream::Eventsource;
use futures_util::{StreamExt, TryStreamExt};
use prometheus_client::metrics::counter::Counter;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT_ENCODING, ETAG, IF_NONE_MATCH};
use togglerino_shared::model::{Change, Delta, RevisionsEvent, Snapshot, stream_events};
use tokio::sync::{Mutex, broadcast, watch};

use crate::state::{Environment, Store};

/// Without a byte for this long (upstream heartbeats every 15 s), a stream is dead.
const STREAM_SILENCE: Duration = Duration::from_secs(45);
const BACKOFF_START: Duration = Duration::from_millis(250);
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// Environments pulled at once when many differ.
const PARALLEL_PULLS: usize = 8;

/// What this edge did to one environment, for downstream edges: the delta it applied,
/// or a `replaced`/`deleted` one when it pulled or dropped the environment.
#[derive(Clone, Debug)]
pub struct Relayed {
    pub delta: Arc<str>,
}

pub struct Syncer {
    client: reqwest::Client,
    upstream: String,
    token: String,
    store: Arc<Store>,
    cache_dir: Option<PathBuf>,
    /// One change at a time: deltas apply in order, and pulls never interleave with them.
    applying: Mutex<()>,
    /// Every change this edge makes, for the streams of downstream edges.
    relay: broadcast::Sender<Relayed>,
    /// Failed syncs; exported as a metric.
    pub failures: Counter,
    /// Why the last attempt to reach upstream failed; `None` once one succeeds.
    last_error: std::sync::Mutex<Option<String>>,
}

impl Syncer {
    pub fn new(
        upstream: &str,
        token: &str,
        store: Arc<Store>,
        cache_dir: Option<PathBuf>,
    ) -> Syncer {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .build()
            .expect("a default HTTP client builds");
        Syncer {
            client,
            upstream: upstream.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            store,
            cache_dir,
            applying: Mutex::new(()),
            relay: broadcast::channel(1024).0,
            failures: Counter::default(),
            last_error: std::sync::Mutex::default(),
        }
    }

    /// Why the last attempt to reach upstream failed, unless one succeeded since.
    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().expect("never poisoned").clone()
    }

    fn failed(&self, error: &anyhow::Error) {
        self.failures.inc();
        *self.last_error.lock().expect("never poisoned") = Some(format!("{error:#}"));
    }

    /// Changes as this edge makes them, for a downstream edge's stream.
    pub fn relayed(&self) -> broadcast::Receiver<Relayed> {
        self.relay.subscribe()
    }

    /// Serves the persisted environments, if any and valid, until upstream answers.
    pub fn restore(&self) {
        let Some(dir) = &self.cache_dir else { return };
        let mut restored = Vec::new();
        let mut oldest = std::time::SystemTime::now();
        for (path, result) in cache::load_all(dir) {
            match result.and_then(|snapshot| Environment::new(snapshot, None, None)) {
                Ok(environment) => {
                    if let Ok(written) = std::fs::metadata(&path).and_then(|m| m.modified()) {
                        oldest = oldest.min(written);
                    }
                    restored.push(Arc::new(environment));
                }
                Err(error) => {
                    tracing::warn!(path = %path.display(), %error, "ignoring a persisted environment");
                }
            }
        }
        if !restored.is_empty() {
            tracing::info!(
                environments = restored.len(),
                "serving the persisted environments"
            );
            self.store.restore(restored, oldest);
        }
    }

    /// Compares upstream's revisions with what this edge holds, and pulls or drops
    /// whatever differs.
    pub async fn reconcile_now(&self) -> anyhow::Result<()> {
        let revisions: RevisionsEvent = self
            .client
            .get(format!("{}/api/v1/edge/revisions", self.upstream))
            .bearer_auth(&self.token)
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .context("upstream unreachable")?
            .error_for_status()
            .context("upstream refused the revisions request")?
            .json()
            .await
            .context("malformed revisions")?;
        self.reconcile(&revisions).await
    }

    async fn reconcile(&self, revisions: &RevisionsEvent) -> anyhow::Result<()> {
        let _one_at_a_time = self.applying.lock().await;
        let held = self.store.held();
        let stale: Vec<(String, String)> = revisions
            .environments
            .iter()
            .filter(|r| {
                held.as_ref()
                    .and_then(|h| h.get(&r.project, &r.environment))
                    .is_none_or(|e| e.revision() != r.revision)
            })
            .map(|r| (r.project.clone(), r.environment.clone()))
            .collect();
        let pulled: Vec<()> = futures_util::stream::iter(stale)
            .map(|(project, environment)| async move { self.pull(&project, &environment).await })
            .buffer_unordered(PARALLEL_PULLS)
            .try_collect()
            .await?;
        tracing::debug!(pulled = pulled.len(), "reconciled with upstream");
        if let Some(held) = self.store.held() {
            let gone: Vec<(String, String)> = held
                .all()
                .filter(|e| {
                    !revisions
                        .environments
                        .iter()
                        .any(|r| r.project == e.project() && r.environment == e.name())
                })
                .map(|e| (e.project().to_owned(), e.name().to_owned()))
                .collect();
            for (project, environment) in gone {
                self.drop_environment(&project, &environment).await;
            }
        }
        self.store.ready();
        self.store.confirm();
        *self.last_error.lock().expect("never poisoned") = None;
        Ok(())
    }

    /// Pulls one environment whole (with `If-None-Match`) and puts it in service.
    async fn pull(&self, project: &str, environment: &str) -> anyhow::Result<()> {
        let current = self
            .store
            .held()
            .and_then(|l| l.get(project, environment).cloned());
        let mut request = self
            .client
            .get(format!(
                "{}/api/v1/edge/environments/{project}/{environment}",
                self.upstream
            ))
            .bearer_auth(&self.token)
            .header(ACCEPT_ENCODING, "gzip")
            .timeout(Duration::from_secs(30));
        if let Some(etag) = current.as_ref().and_then(|c| c.etag()) {
            request = request.header(IF_NONE_MATCH, etag);
        }
        let response = request.send().await.context("upstream unreachable")?;
        match response.status() {
            StatusCode::NOT_MODIFIED => return Ok(()),
            StatusCode::NOT_FOUND => {
                self.drop_environment(project, environment).await;
                return Ok(());
            }
            StatusCode::OK => {}
            status => bail!("upstream answered {status} for {project}/{environment}"),
        }
        let etag = response
            .headers()
            .get(ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        // reqwest does not decompress (no such feature enabled): gzip is undone here,
        // with a bound on the result.
        let compressed = body::read_limited(response.bytes_stream(), body::MAX_DOWNLOAD_BYTES)
            .await
            .map_err(anyhow::Error::msg)
            .with_context(|| format!("cannot download {project}/{environment}"))?;
        let (project, environment) = (project.to_owned(), environment.to_owned());
        let next = tokio::task::spawn_blocking(move || {
            let json = body::decompress(&compressed)?;
            let snapshot: Snapshot =
                serde_json::from_slice(&json).map_err(|e| format!("malformed snapshot: {e}"))?;
            if (snapshot.project.as_str(), snapshot.environment.as_str())
                != (project.as_str(), environment.as_str())
            {
                return Err(format!(
                    "asked for {project}/{environment}, got {}/{}",
                    snapshot.project, snapshot.environment
                ));
            }
            Environment::new(snapshot, etag, current.as_deref())
        })
        .await
        .context("snapshot compilation panicked")?
        .map_err(anyhow::Error::msg)?;
        let replaced = Delta {
            environment_id: String::new(),
            project: next.project().to_owned(),
            environment: next.name().to_owned(),
            revision: next.revision(),
            change: Change::Replaced,
        };
        self.put_in_service(next, &replaced).await;
        Ok(())
    }

    /// Applies one delta from upstream, or pulls the environment when it cannot.
    async fn apply(&self, delta: &Delta) -> anyhow::Result<()> {
        let _one_at_a_time = self.applying.lock().await;
        let current = self
            .store
            .held()
            .and_then(|l| l.get(&delta.project, &delta.environment).cloned());
        match (&delta.change, &current) {
            (Change::Deleted, _) => {
                self.drop_environment(&delta.project, &delta.environment)
                    .await;
                Ok(())
            }
            // Already there: a replayed change, or one a pull already brought.
            (_, Some(current)) if current.revision() >= delta.revision => Ok(()),
            (Change::Patch { ops }, Some(current)) if current.revision() + 1 == delta.revision => {
                let mut snapshot = current.snapshot().clone();
                let ops = ops.clone();
                let revision = delta.revision;
                let previous = Arc::clone(current);
                let next = tokio::task::spawn_blocking(move || {
                    snapshot.apply(&ops, revision);
                    Environment::new(snapshot, None, Some(&previous))
                })
                .await
                .context("snapshot compilation panicked")?;
                match next {
                    Ok(next) => {
                        self.put_in_service(next, delta).await;
                        Ok(())
                    }
                    // Never serve a half-understood change: start over from upstream.
                    Err(error) => {
                        tracing::warn!(%error, "a delta did not compile; pulling the environment");
                        self.pull(&delta.project, &delta.environment).await
                    }
                }
            }
            // A gap, a new environment, or one upstream says to pull.
            _ => self.pull(&delta.project, &delta.environment).await,
        }
    }

    async fn put_in_service(&self, environment: Environment, delta: &Delta) {
        let environment = Arc::new(environment);
        self.store.install(Arc::clone(&environment));
        self.store.confirm();
        tracing::debug!(
            project = environment.project(),
            environment = environment.name(),
            revision = environment.revision(),
            "environment in service"
        );
        self.relay(delta);
        if let Some(dir) = self.cache_dir.clone() {
            on_disk("persist an environment", move || {
                cache::persist(&dir, environment.snapshot())
            })
            .await;
        }
    }

    /// Passes a change on to downstream edges.
    fn relay(&self, delta: &Delta) {
        let delta = serde_json::to_string(delta).expect("deltas serialize");
        let _ = self.relay.send(Relayed {
            delta: delta.into(),
        });
    }

    async fn drop_environment(&self, project: &str, environment: &str) {
        let Some(gone) = self
            .store
            .held()
            .and_then(|l| l.get(project, environment).cloned())
        else {
            return;
        };
        self.store.remove(project, environment);
        tracing::info!(project, environment, "environment deleted upstream");
        let deleted = Delta {
            environment_id: String::new(),
            project: project.to_owned(),
            environment: environment.to_owned(),
            revision: gone.revision() + 1,
            change: Change::Deleted,
        };
        self.relay(&deleted);
        if let Some(dir) = self.cache_dir.clone() {
            let (project, environment) = (project.to_owned(), environment.to_owned());
            on_disk("forget a persisted environment", move || {
                cache::forget(&dir, &project, &environment)
            })
            .await;
        }
    }

    /// Follows the upstream change stream until `closing`, reconnecting with
    /// exponential backoff and jitter.
    pub async fn follow(self: Arc<Self>, mut closing: watch::Receiver<bool>) {
        let mut backoff = BACKOFF_START;
        let mut last_event_id: Option<String> = None;
        loop {
            let connected = tokio::select! {
                _ = closing.changed() => return,
                result = self.follow_once(&mut last_event_id) => result,
            };
            match connected {
                Ok(()) => backoff = BACKOFF_START,
                Err(error) => {
                    self.failed(&error);
                    tracing::warn!(
                        error = format!("{error:#}"),
                        "change stream lost; still serving what the edge holds"
                    );
                }
            }
            let wait = with_jitter(backoff);
            backoff = (backoff * 2).min(BACKOFF_MAX);
            tokio::select! {
                _ = closing.changed() => return,
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// One connection to the stream; returns when it ends. An event's id is kept only
    /// once the event is handled, so a reconnection replays whatever was not.
    async fn follow_once(&self, last_event_id: &mut Option<String>) -> anyhow::Result<()> {
        let mut request = self
            .client
            .get(format!("{}/api/v1/edge/stream", self.upstream))
            .bearer_auth(&self.token);
        if let Some(id) = last_event_id.as_deref() {
            request = request.header("last-event-id", id);
        }
        let response = request.send().await.context("upstream unreachable")?;
        if response.status() != StatusCode::OK {
            bail!(
                "upstream answered {} to the stream request",
                response.status()
            );
        }
        let mut events =
            body::events_limited(response.bytes_stream(), body::MAX_EVENT_BYTES).eventsource();
        loop {
            let next = tokio::time::timeout(STREAM_SILENCE, events.next())
                .await
                .context("the stream went silent")?;
            let Some(event) = next else {
                return Ok(());
            };
            let event = event.context("the stream broke off")?;
            match event.event.as_str() {
                stream_events::REVISIONS => {
                    let revisions: RevisionsEvent =
                        serde_json::from_str(&event.data).context("malformed revisions")?;
                    self.reconcile(&revisions).await?;
                }
                stream_events::CHANGE => {
                    let delta: Delta =
                        serde_json::from_str(&event.data).context("malformed change")?;
                    self.apply(&delta).await?;
                }
                _ => continue,
            }
            if !event.id.is_empty() {
                *last_event_id = Some(event.id);
            }
        }
    }

    /// Compares revisions every `interval`, in case the stream stalls unnoticed.
    pub async fn poll(self: Arc<Self>, interval: Duration, mut closing: watch::Receiver<bool>) {
        loop {
            tokio::select! {
                _ = closing.changed() => return,
                () = tokio::time::sleep(interval) => {}
            }
            if let Err(error) = self.reconcile_now().await {
                self.failed(&error);
                tracing::warn!(
                    error = format!("{error:#}"),
                    "sync failed; still serving what the edge holds"
                );
            }
        }
    }
}

/// Runs file work off the async workers; a failure is logged, never fatal: the edge
/// serves from memory either way.
async fn on_disk(what: &str, work: impl FnOnce() -> std::io::Result<()> + Send + 'static) {
    match tokio::task::spawn_blocking(work).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::warn!(%error, "cannot {what}"),
        Err(error) => tracing::warn!(%error, "cannot {what}"),
    }
}

/// Between half and all of `wait`, so edges that lost upstream together do not all
/// come back in the same instant.
fn with_jitter(wait: Duration) -> Duration {
    let mut random = [0u8; 2];
    let fraction = match getrandom::fill(&mut random) {
        Ok(()) => f64::from(u16::from_le_bytes(random)) / f64::from(u16::MAX),
        Err(_) => 1.0,
    };
    wait.mul_f64(0.5 + fraction / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_half_and_all_of_the_wait() {
        for _ in 0..100 {
            let wait = with_jitter(Duration::from_secs(10));
            assert!(
                wait >= Duration::from_secs(5) && wait <= Duration::from_secs(10),
                "{wait:?}"
            );
        }
    }
}
