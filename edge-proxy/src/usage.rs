//! Evaluation counts, on their way upstream. Requests count into the tally of the
//! environment version they were served from (the engine does it, without a lock);
//! every `--usage-interval` the edge drains the tallies into per-minute counts, adds
//! what downstream edges reported, cuts numbered reports and sends them upstream in
//! order. A report that fails is sent again, whole and with the same number, until
//! upstream takes it: upstream accepts each `(edge, seq)` once, so nothing is counted
//! twice. While upstream is away, reports wait in a bounded outbox (the oldest are
//! dropped beyond it, and counted as dropped); at shutdown the edge makes a last
//! attempt and leaves whatever is still unsent in its cache directory for next time.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use prometheus_client::metrics::counter::Counter;
use serde::{Deserialize, Serialize};
use togglerino_shared::model::{MAX_REPORT_COUNTS, UsageCount, UsageReport, minute_of};
use tokio::sync::watch;

use crate::state::Store;

/// Most counts held, waiting and unsent together; about 15 MiB at most.
pub const MAX_BUFFERED_COUNTS: usize = 100_000;

/// Downstream edges remembered for de-duplication; one not heard from for
/// [`DOWNSTREAM_MEMORY`] is forgotten.
const MAX_DOWNSTREAM_EDGES: usize = 10_000;
const DOWNSTREAM_MEMORY: Duration = Duration::from_secs(24 * 3600);

/// How long the last attempt at shutdown may take.
const LAST_ATTEMPT: Duration = Duration::from_secs(3);

const OUTBOX_FILE: &str = "usage-outbox.json";

type Cell = (i64, String, String, String, Option<String>);

#[derive(Default)]
struct Buffer {
    /// The next report's number.
    next_seq: u64,
    /// Counts not yet cut into a report.
    pending: HashMap<Cell, u64>,
    /// Reports cut and not yet accepted upstream, oldest first.
    outbox: VecDeque<UsageReport>,
    /// Counts in `outbox`.
    outbox_counts: usize,
}

pub struct Usage {
    /// This process's name in reports: random, drawn at start.
    pub edge: String,
    buffer: Mutex<Buffer>,
    /// One sender at a time: reports leave in order, and only the sender pops them.
    sending: tokio::sync::Mutex<()>,
    /// Each downstream edge's last accepted report number, and when.
    downstream: Mutex<HashMap<String, (u64, Instant)>>,
    client: reqwest::Client,
    upstream: String,
    token: String,
    cache_dir: Option<PathBuf>,
    /// Evaluations dropped: the outbox was full, or upstream refused a report.
    pub dropped: Counter,
}

/// What downstream edges are told when their report cannot be taken.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// The buffer is full: try again later.
    Full,
}

#[derive(Serialize, Deserialize)]
struct Outbox {
    reports: Vec<UsageReport>,
}

impl Usage {
    /// `edge` names this process in reports (see [`crate::edge_id`]).
    pub fn new(edge: &str, upstream: &str, token: &str, cache_dir: Option<PathBuf>) -> Usage {
        Usage {
            edge: edge.to_owned(),
            buffer: Mutex::new(Buffer {
                next_seq: 1,
                ..Buffer::default()
            }),
            sending: tokio::sync::Mutex::new(()),
            downstream: Mutex::default(),
            client: reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(5))
                .build()
                .expect("a default HTTP client builds"),
            upstream: upstream.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            cache_dir,
            dropped: Counter::default(),
        }
    }

    /// Puts reports a previous run left unsent first in line; they keep their edge and
    /// number, so upstream still knows them if it took them already.
    pub fn restore(&self) {
        let Some(dir) = &self.cache_dir else { return };
        let path = dir.join(OUTBOX_FILE);
        let Ok(bytes) = std::fs::read(&path) else {
            return;
        };
        match serde_json::from_slice::<Outbox>(&bytes) {
            Ok(outbox) => {
                let mut buffer = self.buffer.lock().expect("never poisoned");
                for report in outbox.reports.into_iter().rev() {
                    buffer.outbox_counts += report.counts.len();
                    buffer.outbox.push_front(report);
                }
                tracing::info!(
                    reports = buffer.outbox.len(),
                    "sending the evaluation counts a previous run left"
                );
            }
            Err(error) => tracing::warn!(%error, "ignoring an unreadable usage outbox"),
        }
        let _ = std::fs::remove_file(&path);
    }

    /// Moves what the store counted into `minute`'s counts.
    pub fn collect(&self, store: &Store, minute: i64) {
        let mut buffer = self.buffer.lock().expect("never poisoned");
        let mut dropped = 0;
        store.drain_counts(|tally, flag, variant, count| {
            let cell = (
                minute,
                tally.project().to_owned(),
                tally.environment().to_owned(),
                flag.to_owned(),
                variant.map(str::to_owned),
            );
            if !buffer.add(cell, count) {
                dropped += count;
            }
        });
        self.dropped.inc_by(dropped);
    }

    /// Adds a downstream edge's report, once: a report it sends again (its answer was
    /// lost) is acknowledged and ignored. `Ok(false)` for such a repeat.
    pub fn merge(&self, report: UsageReport) -> Result<bool, Refused> {
        let mut downstream = self.downstream.lock().expect("never poisoned");
        if downstream
            .get(&report.edge)
            .is_some_and(|(seq, _)| *seq >= report.seq)
        {
            return Ok(false);
        }
        let mut buffer = self.buffer.lock().expect("never poisoned");
        if buffer.size() + report.counts.len() > MAX_BUFFERED_COUNTS {
            return Err(Refused::Full);
        }
        for count in report.counts {
            let cell = (
                count.minute,
                count.project,
                count.environment,
                count.flag,
                count.variant,
            );
            buffer.add(cell, count.count);
        }
        drop(buffer);
        if downstream.len() >= MAX_DOWNSTREAM_EDGES {
            downstream.retain(|_, (_, at)| at.elapsed() < DOWNSTREAM_MEMORY);
        }
        if downstream.len() >= MAX_DOWNSTREAM_EDGES
            && let Some(oldest) = downstream
                .iter()
                .min_by_key(|(_, (_, at))| *at)
                .map(|(edge, _)| edge.clone())
        {
            downstream.remove(&oldest);
        }
        downstream.insert(report.edge, (report.seq, Instant::now()));
        Ok(true)
    }

    /// Cuts what is pending into reports and sends every report waiting, oldest first,
    /// until one fails.
    pub async fn send(&self) -> anyhow::Result<()> {
        let _one_sender = self.sending.lock().await;
        self.cut();
        loop {
            let Some(report) = self.front() else {
                return Ok(());
            };
            let response = self
                .client
                .post(format!("{}/api/v1/edge/usage", self.upstream))
                .bearer_auth(&self.token)
                .timeout(Duration::from_secs(30))
                .json(&report)
                .send()
                .await
                .context("upstream unreachable")?;
            let status = response.status();
            if status.is_success() {
                self.pop(&report, false);
            } else if status.is_client_error()
                && status != reqwest::StatusCode::TOO_MANY_REQUESTS
                && status != reqwest::StatusCode::UNAUTHORIZED
            {
                // Sending it again would be refused again: drop it, say so, go on.
                let body = response.text().await.unwrap_or_default();
                tracing::warn!(%status, %body, "upstream refused an evaluation report; dropping it");
                self.pop(&report, true);
            } else {
                bail!("upstream answered {status} to an evaluation report");
            }
        }
    }

    /// Counts all sent or waiting: pending, and in the outbox.
    pub fn buffered(&self) -> usize {
        self.buffer.lock().expect("never poisoned").size()
    }

    fn cut(&self) {
        let mut buffer = self.buffer.lock().expect("never poisoned");
        let mut cells: Vec<(Cell, u64)> = buffer.pending.drain().collect();
        cells.sort_unstable();
        for chunk in cells.chunks(MAX_REPORT_COUNTS) {
            let seq = buffer.next_seq;
            buffer.next_seq += 1;
            let counts: Vec<UsageCount> = chunk
                .iter()
                .map(
                    |((minute, project, environment, flag, variant), count)| UsageCount {
                        minute: *minute,
                        project: project.clone(),
                        environment: environment.clone(),
                        flag: flag.clone(),
                        variant: variant.clone(),
                        count: *count,
                    },
                )
                .collect();
            buffer.outbox_counts += counts.len();
            buffer.outbox.push_back(UsageReport {
                edge: self.edge.clone(),
                seq,
                counts,
            });
        }
        // Over the bound: the oldest reports go.
        let mut dropped = 0;
        while buffer.outbox_counts > MAX_BUFFERED_COUNTS {
            let Some(oldest) = buffer.outbox.pop_front() else {
                break;
            };
            buffer.outbox_counts -= oldest.counts.len();
            dropped += oldest.counts.iter().map(|c| c.count).sum::<u64>();
        }
        if dropped > 0 {
            tracing::warn!(
                dropped,
                "upstream has been away too long: dropping the oldest evaluation counts"
            );
            self.dropped.inc_by(dropped);
        }
    }

    fn front(&self) -> Option<UsageReport> {
        let buffer = self.buffer.lock().expect("never poisoned");
        buffer.outbox.front().cloned()
    }

    fn pop(&self, sent: &UsageReport, dropped: bool) {
        let mut buffer = self.buffer.lock().expect("never poisoned");
        let front = buffer.outbox.front();
        if front.is_some_and(|f| (&f.edge, f.seq) == (&sent.edge, sent.seq)) {
            buffer.outbox.pop_front();
            buffer.outbox_counts -= sent.counts.len();
            if dropped {
                self.dropped
                    .inc_by(sent.counts.iter().map(|c| c.count).sum());
            }
        }
    }

    /// Counts everything served so far and tries once more to send it all; what stays
    /// unsent is written to the cache directory, if there is one, for the next run.
    pub async fn finish(&self, store: &Store) {
        self.collect(store, minute_of(unix_now()));
        match tokio::time::timeout(LAST_ATTEMPT, self.send()).await {
            Ok(Ok(())) => return,
            Ok(Err(error)) => tracing::warn!(
                error = format!("{error:#}"),
                "cannot send the last evaluation counts"
            ),
            Err(_) => tracing::warn!("upstream too slow for the last evaluation counts"),
        }
        let Some(dir) = &self.cache_dir else { return };
        let outbox = Outbox {
            reports: {
                self.cut();
                let buffer = self.buffer.lock().expect("never poisoned");
                buffer.outbox.iter().cloned().collect()
            },
        };
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(dir)?;
            let temporary = dir.join(format!(".{OUTBOX_FILE}.tmp"));
            std::fs::write(&temporary, serde_json::to_vec(&outbox)?)?;
            std::fs::rename(&temporary, dir.join(OUTBOX_FILE))
        };
        match write() {
            Ok(()) => tracing::info!(
                reports = outbox.reports.len(),
                "evaluation counts kept for the next run"
            ),
            Err(error) => tracing::warn!(%error, "cannot keep the unsent evaluation counts"),
        }
    }

    /// Every `interval` (on the clock: a one-minute interval ends on the minute),
    /// collects and sends, until `closing`.
    pub async fn report(
        self: Arc<Self>,
        store: Arc<Store>,
        interval: Duration,
        mut closing: watch::Receiver<bool>,
    ) {
        let mut period_start = unix_now();
        loop {
            tokio::select! {
                _ = closing.changed() => return,
                () = tokio::time::sleep(until_next(interval)) => {}
            }
            // Counts go to the minute their period began in: with the interval on the
            // minute, exactly the minute they were made in.
            self.collect(&store, minute_of(period_start));
            period_start = unix_now();
            let sent = tokio::select! {
                _ = closing.changed() => return,
                sent = self.send() => sent,
            };
            if let Err(error) = sent {
                tracing::warn!(
                    error = format!("{error:#}"),
                    waiting = self.buffered(),
                    "cannot send evaluation counts; keeping them"
                );
            }
        }
    }
}

impl Buffer {
    fn size(&self) -> usize {
        self.pending.len() + self.outbox_counts
    }

    /// Adds to a cell; false when a new cell would exceed the bound.
    fn add(&mut self, cell: Cell, count: u64) -> bool {
        if let Some(existing) = self.pending.get_mut(&cell) {
            *existing = existing.saturating_add(count);
            return true;
        }
        if self.size() >= MAX_BUFFERED_COUNTS {
            return false;
        }
        self.pending.insert(cell, count);
        true
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Time until the next multiple of `interval` since the Unix epoch.
fn until_next(interval: Duration) -> Duration {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    let every = interval.as_millis().max(1);
    let next = (now / every + 1) * every;
    Duration::from_millis((next - now) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(edge: &str, seq: u64, count: u64) -> UsageReport {
        UsageReport {
            edge: edge.into(),
            seq,
            counts: vec![UsageCount {
                minute: 600,
                project: "shop".into(),
                environment: "production".into(),
                flag: "f".into(),
                variant: Some("on".into()),
                count,
            }],
        }
    }

    fn usage() -> Usage {
        Usage::new("edge-test", "http://127.0.0.1:9", "token", None)
    }

    #[test]
    fn a_downstream_report_sent_again_is_counted_once() {
        let usage = usage();
        assert_eq!(usage.merge(report("e1", 1, 5)), Ok(true));
        assert_eq!(usage.merge(report("e1", 1, 5)), Ok(false));
        assert_eq!(usage.merge(report("e2", 1, 2)), Ok(true));
        assert_eq!(usage.merge(report("e1", 2, 1)), Ok(true));
        usage.cut();
        let buffer = usage.buffer.lock().unwrap();
        let counts: Vec<u64> = buffer
            .outbox
            .iter()
            .flat_map(|r| &r.counts)
            .map(|c| c.count)
            .collect();
        assert_eq!(counts, vec![8], "merged into one cell");
        assert_eq!(buffer.outbox[0].edge, usage.edge);
    }

    #[test]
    fn the_buffer_is_bounded_and_says_what_it_dropped() {
        let usage = usage();
        let mut big = report("e1", 1, 1);
        big.counts = (0..MAX_BUFFERED_COUNTS)
            .map(|i| UsageCount {
                flag: format!("f{i}"),
                ..big.counts[0].clone()
            })
            .collect();
        assert_eq!(usage.merge(big), Ok(true));
        assert_eq!(usage.merge(report("e2", 1, 1)), Err(Refused::Full));
        usage.cut();
        assert_eq!(usage.buffered(), MAX_BUFFERED_COUNTS);
        assert_eq!(usage.dropped.get(), 0);
        // One more cell cut into a report pushes the oldest report out.
        usage
            .buffer
            .lock()
            .unwrap()
            .pending
            .insert((0, "p".into(), "e".into(), "f".into(), None), 7);
        usage.cut();
        assert_eq!(usage.dropped.get(), MAX_REPORT_COUNTS as u64);
        assert_eq!(
            usage.buffered(),
            MAX_BUFFERED_COUNTS - MAX_REPORT_COUNTS + 1
        );
    }

    #[test]
    fn ticks_land_on_multiples_of_the_interval() {
        let wait = until_next(Duration::from_secs(60));
        assert!(wait <= Duration::from_secs(60) && !wait.is_zero());
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + wait;
        assert!(now.as_millis() % 60_000 < 50, "{now:?}");
    }
}
