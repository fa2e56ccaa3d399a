//! The change feed, read side: one PostgreSQL `LISTEN` per control-plane process. A
//! notification only says "there are new changes"; the listener reads every row after
//! the last one it passed on, in order, and fans each out to every edge stream it
//! serves, framed once. Because each replica listens to the database, an edge
//! connected to any replica hears of writes made on all of them.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::broadcast;

use crate::db::changes::{self, CHANNEL};

/// How many changes one read takes; a longer backlog is read in turns.
const BATCH: i64 = 500;

/// What streams are told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedEvent {
    /// One committed change: its number and its delta as JSON.
    Change { seq: i64, delta: Arc<str> },
    /// The listener lost its connection and may have missed changes: every stream
    /// should catch up from the table.
    Resync,
}

/// The sending end streams subscribe to.
#[derive(Clone)]
pub struct Feed {
    sender: broadcast::Sender<FeedEvent>,
    /// Changes heard from the database and passed on to the streams.
    pub changes: Counter,
}

impl Default for Feed {
    fn default() -> Feed {
        // Enough room for a burst of bulk changes; a stream that still falls behind
        // catches up from the table instead of losing changes.
        Feed {
            sender: broadcast::channel(1024).0,
            changes: Counter::default(),
        }
    }
}

impl Feed {
    pub fn subscribe(&self) -> broadcast::Receiver<FeedEvent> {
        self.sender.subscribe()
    }

    /// Streams following the feed now: the edges connected to this replica.
    pub fn subscribers(&self) -> usize {
        self.sender.receiver_count()
    }

    /// Listens on the database for as long as the process runs, reconnecting after
    /// failures.
    pub fn spawn_listener(&self, db: PgPool) {
        let sender = self.sender.clone();
        let changes = self.changes.clone();
        tokio::spawn(async move {
            loop {
                if let Err(error) = listen(&db, &sender, &changes).await {
                    tracing::warn!(%error, "change feed listener failed; retrying");
                }
                let _ = sender.send(FeedEvent::Resync);
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
    }
}

async fn listen(
    db: &PgPool,
    sender: &broadcast::Sender<FeedEvent>,
    changes: &Counter,
) -> sqlx::Result<()> {
    let mut listener = PgListener::connect_with(db).await?;
    listener.listen(CHANNEL).await?;
    // Changes committed before LISTEN took effect are covered by the resync that
    // follows every (re)connection: streams catch up from the table themselves.
    let mut last = changes::newest(db).await?;
    let _ = sender.send(FeedEvent::Resync);
    loop {
        // try_recv reports a lost connection as None instead of hiding it.
        if listener.try_recv().await?.is_none() {
            return Ok(());
        }
        // One read covers every notification that arrived meanwhile.
        loop {
            let rows = changes::after(db, last, BATCH).await?;
            let full = rows.len() as i64 == BATCH;
            for row in rows {
                last = row.seq;
                changes.inc();
                let _ = sender.send(FeedEvent::Change {
                    seq: row.seq,
                    delta: row.delta.into(),
                });
            }
            if !full {
                break;
            }
        }
    }
}
