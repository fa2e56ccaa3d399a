//! Keeping the edge's snapshot current: follow the upstream change stream, pull the
//! snapshot when it moves (and on a timer, in case a stream stalls unnoticed), refuse
//! anything that does not compile, and persist what was accepted.

pub mod cache;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use prometheus_client::metrics::counter::Counter;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT_ENCODING, ETAG, IF_NONE_MATCH};
use tokio::sync::{Mutex, watch};

use crate::state::{Loaded, Store};

/// Without a byte for this long (upstream heartbeats every 15 s), a stream is dead.
const STREAM_SILENCE: Duration = Duration::from_secs(45);
const BACKOFF_START: Duration = Duration::from_millis(250);
const BACKOFF_MAX: Duration = Duration::from_secs(30);

pub struct Syncer {
    client: reqwest::Client,
    upstream: String,
    token: String,
    store: Arc<Store>,
    cache_dir: Option<PathBuf>,
    /// One pull at a time: a burst of change events costs one round trip, not many.
    pulling: Mutex<()>,
    /// Failed pulls; exported as a metric.
    pub failures: Counter,
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
            pulling: Mutex::new(()),
            failures: Counter::default(),
        }
    }

    /// Serves the persisted snapshot, if any and valid, until upstream answers.
    pub fn restore(&self) {
        let Some(dir) = &self.cache_dir else { return };
        match cache::load(dir) {
            Ok(Some(json)) => match Loaded::from_body(json.into(), None, None) {
                Ok(loaded) => {
                    tracing::info!(
                        environments = loaded.environment_count(),
                        "serving the persisted snapshot"
                    );
                    self.store.replace(loaded);
                }
                Err(error) => tracing::warn!(%error, "ignoring the persisted snapshot"),
            },
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, "cannot read the persisted snapshot"),
        }
    }

    /// Pulls the snapshot if it changed. `Ok(true)` when a new one was swapped in.
    pub async fn pull(&self) -> anyhow::Result<bool> {
        let _one_at_a_time = self.pulling.lock().await;
        let result = self.pull_once().await;
        if let Err(error) = &result {
            self.failures.inc();
            tracing::warn!(
                error = format!("{error:#}"),
                "snapshot sync failed; still serving the previous snapshot"
            );
        }
        result
    }

    async fn pull_once(&self) -> anyhow::Result<bool> {
        let current = self.store.load();
        let mut request = self
            .client
            .get(format!("{}/api/v1/edge/snapshot", self.upstream))
            .bearer_auth(&self.token)
            .header(ACCEPT_ENCODING, "gzip")
            .timeout(Duration::from_secs(30));
        if let Some(etag) = current.as_ref().and_then(|c| c.etag.as_deref()) {
            request = request.header(IF_NONE_MATCH, etag);
        }
        let response = request.send().await.context("upstream unreachable")?;
        match response.status() {
            StatusCode::NOT_MODIFIED => {
                self.store.confirm();
                return Ok(false);
            }
            StatusCode::OK => {}
            status => bail!("upstream answered {status} to the snapshot request"),
        }
        let etag = response
            .headers()
            .get(ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response
            .bytes()
            .await
            .context("snapshot download broke off")?;
        // reqwest does not decompress (no such feature enabled): the body stays as sent,
        // and `Loaded` keeps it compressed. Parsing and compiling are CPU work: off the
        // async workers, which keep serving evaluations meanwhile.
        let loaded = tokio::task::spawn_blocking({
            let body = body.clone();
            move || Loaded::from_body(body, etag, current.as_deref())
        })
        .await
        .context("snapshot compilation panicked")?
        .map_err(anyhow::Error::msg)?;
        tracing::info!(
            environments = loaded.environment_count(),
            "new snapshot in service"
        );
        self.store.replace(loaded);
        if let Some(dir) = self.cache_dir.clone() {
            let written = tokio::task::spawn_blocking(move || cache::persist(&dir, &body)).await;
            match written {
                Ok(Ok(())) => {}
                Ok(Err(error)) => tracing::warn!(%error, "cannot persist the snapshot"),
                Err(error) => tracing::warn!(%error, "cannot persist the snapshot"),
            }
        }
        Ok(true)
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
                Err(error) => tracing::warn!(
                    error = format!("{error:#}"),
                    "change stream lost; reconnecting"
                ),
            }
            let wait = with_jitter(backoff);
            backoff = (backoff * 2).min(BACKOFF_MAX);
            tokio::select! {
                _ = closing.changed() => return,
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// One connection to the stream; returns when it ends. Each event triggers a pull.
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
        let mut events = response.bytes_stream().eventsource();
        loop {
            let next = tokio::time::timeout(STREAM_SILENCE, events.next())
                .await
                .context("the stream went silent")?;
            let Some(event) = next else {
                return Ok(());
            };
            let event = event.context("the stream broke off")?;
            if !event.id.is_empty() {
                *last_event_id = Some(event.id.clone());
            }
            // Both event kinds mean "the snapshot may have moved"; If-None-Match makes
            // an unneeded pull cheap.
            let _ = self.pull().await;
        }
    }

    /// Pulls every `interval`, in case the stream stalls without noticing.
    pub async fn poll(self: Arc<Self>, interval: Duration, mut closing: watch::Receiver<bool>) {
        loop {
            tokio::select! {
                _ = closing.changed() => return,
                () = tokio::time::sleep(interval) => {}
            }
            let _ = self.pull().await;
        }
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
