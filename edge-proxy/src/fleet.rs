//! Telling upstream who this edge is and how it is doing: every `--heartbeat-interval`
//! the edge sends its own state and the latest state of each edge chained below it
//! (heard from within [`DOWNSTREAM_MEMORY`]), so the control plane sees every edge, its
//! chain, the revision it serves per environment and when it applied it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use togglerino_shared::model::{AppliedRevision, EdgeStatus, Heartbeat, MAX_HEARTBEAT_EDGES};
use tokio::sync::watch;

use crate::AppState;

/// A downstream edge not heard from for this long is no longer passed on.
const DOWNSTREAM_MEMORY: Duration = Duration::from_secs(120);

pub struct Fleet {
    /// This edge's id: the one in its usage reports.
    pub id: Arc<str>,
    upstream: String,
    listen: String,
    started_at: i64,
    token: String,
    client: reqwest::Client,
    /// The latest status of each edge below this one, and when it came.
    downstream: Mutex<HashMap<String, (EdgeStatus, Instant)>>,
    /// Evaluations counted at the last heartbeat, and when.
    last: Mutex<(u64, Instant)>,
}

impl Fleet {
    pub fn new(id: Arc<str>, upstream: &str, token: &str, listen: String) -> Fleet {
        Fleet {
            id,
            upstream: upstream.trim_end_matches('/').to_owned(),
            listen,
            started_at: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64),
            token: token.to_owned(),
            client: reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(5))
                .build()
                .expect("a default HTTP client builds"),
            downstream: Mutex::default(),
            last: Mutex::new((0, Instant::now())),
        }
    }

    /// Keeps what a downstream edge said of itself and of the edges below it. Its own
    /// entry, which cannot know this edge's id, is marked as following this edge.
    pub fn heard(&self, heartbeat: Heartbeat) {
        let mut downstream = self.downstream.lock().expect("never poisoned");
        downstream.retain(|_, (_, at)| at.elapsed() < DOWNSTREAM_MEMORY);
        let now = Instant::now();
        for (i, mut edge) in heartbeat.edges.into_iter().enumerate() {
            if i == 0 && edge.via.is_none() {
                edge.via = Some(self.id.to_string());
            }
            if edge.id == *self.id {
                continue;
            }
            if downstream.len() >= MAX_HEARTBEAT_EDGES - 1 && !downstream.contains_key(&edge.id) {
                break;
            }
            downstream.insert(edge.id.clone(), (edge, now));
        }
    }

    /// This edge's state now, then the edges below it.
    pub fn heartbeat(&self, state: &AppState) -> Heartbeat {
        let watching = state.store.watching();
        let mut environments: Vec<AppliedRevision> = state
            .store
            .held()
            .map(|held| {
                held.all()
                    .map(|e| AppliedRevision {
                        project: e.project().to_owned(),
                        environment: e.name().to_owned(),
                        revision: e.revision(),
                        applied_at_ms: e
                            .applied_at()
                            .duration_since(UNIX_EPOCH)
                            .map_or(0, |d| d.as_millis() as i64),
                        sdk_streams: watching
                            .get(&(e.project().to_owned(), e.name().to_owned()))
                            .map_or(0, |&n| n as u64),
                    })
                    .collect()
            })
            .unwrap_or_default();
        environments
            .sort_by(|a, b| (&a.project, &a.environment).cmp(&(&b.project, &b.environment)));
        let evaluations = state.metrics.evaluations.get();
        let per_second = {
            let mut last = self.last.lock().expect("never poisoned");
            let elapsed = last.1.elapsed().as_secs_f64();
            let rate = if elapsed > 0.0 {
                evaluations.saturating_sub(last.0) as f64 / elapsed
            } else {
                0.0
            };
            *last = (evaluations, Instant::now());
            (rate * 10.0).round() / 10.0
        };
        let me = EdgeStatus {
            id: self.id.to_string(),
            via: None,
            version: env!("CARGO_PKG_VERSION").to_owned(),
            upstream: self.upstream.clone(),
            listen: self.listen.clone(),
            started_at: self.started_at,
            environments,
            sdk_streams: state.streams.current() as u64,
            evaluations_per_second: per_second,
            sync_error: state.syncer.last_error(),
            heard_ms_ago: 0,
        };
        let downstream = self.downstream.lock().expect("never poisoned");
        let mut edges = vec![me];
        edges.extend(
            downstream
                .values()
                .filter(|(_, at)| at.elapsed() < DOWNSTREAM_MEMORY)
                .map(|(edge, at)| EdgeStatus {
                    heard_ms_ago: edge.heard_ms_ago + at.elapsed().as_millis() as u64,
                    ..edge.clone()
                }),
        );
        Heartbeat { edges }
    }

    async fn send(&self, heartbeat: &Heartbeat) -> anyhow::Result<()> {
        let response = self
            .client
            .post(format!("{}/api/v1/edge/heartbeat", self.upstream))
            .bearer_auth(&self.token)
            .timeout(Duration::from_secs(10))
            .json(heartbeat)
            .send()
            .await
            .context("upstream unreachable")?;
        if !response.status().is_success() {
            bail!("upstream answered {} to a heartbeat", response.status());
        }
        Ok(())
    }

    /// Sends a heartbeat now and every `interval` until `closing`.
    pub async fn beat(
        self: Arc<Self>,
        state: AppState,
        interval: Duration,
        mut closing: watch::Receiver<bool>,
    ) {
        loop {
            let heartbeat = self.heartbeat(&state);
            if let Err(error) = self.send(&heartbeat).await {
                tracing::debug!(error = format!("{error:#}"), "heartbeat not delivered");
            }
            tokio::select! {
                _ = closing.changed() => return,
                () = tokio::time::sleep(interval) => {}
            }
        }
    }
}
