//! Shared evaluation for SDK streams: every stream with the same environment and
//! context listens to one channel, which evaluates once per new snapshot, and only the
//! flags whose answers may have changed.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use bytes::Bytes;
use serde::Serialize;

use prometheus_client::metrics::counter::Counter;
use togglerino_shared::{CompiledSnapshot, EvaluationContext, EvaluationResult};
use tokio::sync::{oneshot, watch};

use crate::sse;
use crate::state::{Loaded, Store};

/// One evaluation of every flag for one context.
pub struct Answer {
    /// Counts answers on the channel, so a stream can tell it skipped one.
    pub sequence: u64,
    pub revision: u64,
    pub flags: Arc<HashMap<String, EvaluationResult>>,
    /// Flags re-evaluated (or removed) since the previous answer.
    pub changed: HashSet<String>,
    /// The `flags` event for this answer, framed once for every stream that opens on it.
    flags_frame: OnceLock<Bytes>,
}

#[derive(Serialize)]
struct FlagsEvent<'a> {
    flags: &'a HashMap<String, EvaluationResult>,
    revision: u64,
}

impl Answer {
    /// The first event of a stream: every flag's evaluation.
    pub fn flags_frame(&self) -> Bytes {
        self.flags_frame
            .get_or_init(|| {
                let event = FlagsEvent {
                    flags: &self.flags,
                    revision: self.revision,
                };
                sse::frame("flags", &self.revision.to_string(), &event)
            })
            .clone()
    }
}

/// Subscribers of one channel hold it; the last one to go stops its task.
pub struct Channel {
    pub answers: watch::Receiver<Arc<Answer>>,
    _stop: oneshot::Sender<()>,
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct ChannelKey {
    project: String,
    environment: String,
    /// The context as canonical JSON (attribute maps are sorted).
    context: String,
}

#[derive(Default)]
pub struct Fanout {
    // Locked only to join or open a channel, never while evaluating or streaming.
    channels: Mutex<HashMap<ChannelKey, Weak<Channel>>>,
}

/// Every flag of the environment (archived ones left out) for `context`.
pub fn evaluate_all(
    snapshot: &CompiledSnapshot,
    context: &EvaluationContext,
) -> HashMap<String, EvaluationResult> {
    snapshot
        .evaluate_all(context)
        .into_iter()
        .map(|(key, evaluation)| (key.to_owned(), evaluation.to_result()))
        .collect()
}

impl Fanout {
    /// Joins the channel for this environment and context, opening it if needed.
    /// `None` when the environment is not in the snapshot in service.
    pub fn join(
        &self,
        store: &Arc<Store>,
        closing: &watch::Receiver<bool>,
        project: &str,
        environment: &str,
        context: EvaluationContext,
        evaluations: &Counter,
    ) -> Option<Arc<Channel>> {
        let key = ChannelKey {
            project: project.to_owned(),
            environment: environment.to_owned(),
            context: serde_json::to_string(&context).expect("contexts serialize"),
        };
        let mut channels = self
            .channels
            .lock()
            .expect("the channel map is never poisoned");
        if let Some(channel) = channels.get(&key).and_then(Weak::upgrade) {
            return Some(channel);
        }
        channels.retain(|_, channel| channel.strong_count() > 0);
        let loaded = store.load()?;
        let snapshot = loaded.environment(project, environment)?;
        let flags = evaluate_all(snapshot, &context);
        evaluations.inc_by(flags.len() as u64);
        let first = Answer {
            sequence: 0,
            revision: snapshot.revision(),
            flags: Arc::new(flags),
            changed: HashSet::new(),
            flags_frame: OnceLock::new(),
        };
        let (sender, answers) = watch::channel(Arc::new(first));
        let (stop, stopped) = oneshot::channel();
        let follower = Follower {
            key: key.clone(),
            context,
            previous: loaded,
            store: Arc::clone(store),
            closing: closing.clone(),
            evaluations: evaluations.clone(),
            sender,
            stopped,
        };
        tokio::spawn(follower.run());
        let channel = Arc::new(Channel {
            answers,
            _stop: stop,
        });
        channels.insert(key, Arc::downgrade(&channel));
        Some(channel)
    }
}

/// The task behind a channel.
struct Follower {
    key: ChannelKey,
    context: EvaluationContext,
    /// The snapshot the latest answer was computed from.
    previous: Arc<Loaded>,
    store: Arc<Store>,
    closing: watch::Receiver<bool>,
    evaluations: Counter,
    sender: watch::Sender<Arc<Answer>>,
    stopped: oneshot::Receiver<()>,
}

impl Follower {
    /// Re-evaluates the channel's context on every new snapshot of its environment until
    /// the last subscriber leaves, the environment disappears, or the edge shuts down.
    async fn run(self) {
        let Follower {
            key,
            context,
            mut previous,
            store,
            mut closing,
            evaluations,
            sender,
            mut stopped,
        } = self;
        let mut generations = store.subscribe();
        loop {
            tokio::select! {
                biased;
                _ = &mut stopped => return,
                _ = closing.changed() => return,
                changed = generations.changed() => {
                    if changed.is_err() {
                        return;
                    }
                }
            }
            let Some(loaded) = store.load() else { continue };
            let (Some(snapshot), Some(now)) = (
                loaded.environment(&key.project, &key.environment),
                loaded.fingerprints(&key.project, &key.environment),
            ) else {
                // The environment is gone: dropping the sender ends every stream.
                return;
            };
            let last = Arc::clone(&sender.borrow());
            if snapshot.revision() == last.revision {
                continue;
            }
            let changed = match previous.fingerprints(&key.project, &key.environment) {
                Some(before) => now.changed_since(before),
                None => snapshot.flag_keys().map(str::to_owned).collect(),
            };
            let mut flags = (*last.flags).clone();
            evaluations.inc_by(changed.len() as u64);
            for flag in &changed {
                match snapshot.is_archived(flag) {
                    Some(false) => {
                        let evaluation =
                            snapshot.evaluate(flag, &context).expect("the flag exists");
                        flags.insert(flag.clone(), evaluation.to_result());
                    }
                    _ => {
                        flags.remove(flag);
                    }
                }
            }
            let answer = Answer {
                sequence: last.sequence + 1,
                revision: snapshot.revision(),
                flags: Arc::new(flags),
                changed,
                flags_frame: OnceLock::new(),
            };
            if sender.send(Arc::new(answer)).is_err() {
                return;
            }
            previous = loaded;
        }
    }
}
