//! The change feed, read side: one PostgreSQL `LISTEN` per control-plane process, fanned
//! out to every edge stream it serves. Because each replica listens to the database, an
//! edge connected to any replica hears of writes made on all of them.

use std::time::Duration;

use serde::Deserialize;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::db::changes::CHANNEL;

/// What streams are told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedEvent {
    Change {
        environment_id: Uuid,
        revision: i64,
        seq: i64,
    },
    /// The listener lost its connection and may have missed changes: every stream
    /// should send the current revisions again.
    Resync,
}

#[derive(Deserialize)]
struct Payload {
    environment_id: Uuid,
    revision: i64,
    seq: i64,
}

/// The sending end streams subscribe to.
#[derive(Clone)]
pub struct Feed {
    sender: broadcast::Sender<FeedEvent>,
}

impl Default for Feed {
    fn default() -> Feed {
        // Enough room for a burst of bulk changes; a stream that still falls behind
        // resyncs instead of losing changes.
        Feed {
            sender: broadcast::channel(1024).0,
        }
    }
}

impl Feed {
    pub fn subscribe(&self) -> broadcast::Receiver<FeedEvent> {
        self.sender.subscribe()
    }

    /// Listens on the database for as long as the process runs, reconnecting after
    /// failures.
    pub fn spawn_listener(&self, db: PgPool) {
        let sender = self.sender.clone();
        tokio::spawn(async move {
            loop {
                if let Err(error) = listen(&db, &sender).await {
                    tracing::warn!(%error, "change feed listener failed; retrying");
                }
                let _ = sender.send(FeedEvent::Resync);
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
    }
}

async fn listen(db: &PgPool, sender: &broadcast::Sender<FeedEvent>) -> sqlx::Result<()> {
    let mut listener = PgListener::connect_with(db).await?;
    listener.listen(CHANNEL).await?;
    // Changes made before LISTEN took effect are covered by the resync that follows
    // every (re)connection.
    let _ = sender.send(FeedEvent::Resync);
    loop {
        // try_recv reports a lost connection as None instead of hiding it.
        let Some(notification) = listener.try_recv().await? else {
            return Ok(());
        };
        match serde_json::from_str::<Payload>(notification.payload()) {
            Ok(p) => {
                let _ = sender.send(FeedEvent::Change {
                    environment_id: p.environment_id,
                    revision: p.revision,
                    seq: p.seq,
                });
            }
            Err(error) => tracing::warn!(%error, "ignoring a malformed change notification"),
        }
    }
}
