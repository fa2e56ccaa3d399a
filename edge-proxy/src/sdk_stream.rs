//! What one SDK stream holds and sends. Its state is its context and the version of the
//! environment it last told the client about: no task, no copy of its results. It is
//! polled by its own connection, so a change is worked off by thousands of small polls
//! that the runtime interleaves with evaluation requests, and a client that reads
//! slowly is simply polled later, for one patch covering everything it missed.
//!
//! - The first event, `flags`, is every flag's evaluation. It is framed in pieces of
//!   about [`CHUNK_BYTES`], so with thousands of flags a stream buffers one piece at a
//!   time, never the whole event.
//! - Then, for every new version of the environment, `patch` carries the flags that
//!   version changed, evaluated for this context, and the keys of flags that are gone.
//!   A patch may repeat a value that did not move for this context: clients apply
//!   patches as upserts. A stream too far behind for the environment's short history
//!   gets a fresh `flags` event, which replaces everything.

use std::io::Write;
use std::sync::Arc;

use bytes::Bytes;
use prometheus_client::metrics::counter::Counter;
use togglerino_shared::model::SdkKeyKind;
use togglerino_shared::{CompiledSnapshot, EvaluationContext};
use tokio::sync::watch;

use crate::sse;
use crate::state::{Environment, EnvironmentWatch, Store};

/// Roughly how much of the first event is framed at once.
pub const CHUNK_BYTES: usize = 16 * 1024;

pub struct SdkStream<Slot> {
    /// The SDK key's hash: the stream ends when the key stops being valid here.
    key: [u8; 32],
    /// Client keys see only client-visible flags.
    kind: SdkKeyKind,
    context: EvaluationContext,
    environment: EnvironmentWatch,
    /// The generation of the environment the client has been told about.
    sent: u64,
    /// The `flags` event being sent, if any.
    first: Option<FirstEvent>,
    store: Arc<Store>,
    closing: watch::Receiver<bool>,
    evaluations: Counter,
    /// Held for as long as the stream lasts (its place among the open streams).
    _slot: Slot,
}

/// A `flags` event partly sent: the environment version it describes, and the next
/// flag to evaluate.
struct FirstEvent {
    environment: Arc<Environment>,
    position: usize,
    /// Whether a flag was written already: every one after it needs a comma.
    written: bool,
}

impl FirstEvent {
    fn new(environment: Arc<Environment>) -> FirstEvent {
        FirstEvent {
            environment,
            position: 0,
            written: false,
        }
    }
}

impl<Slot: Send + 'static> SdkStream<Slot> {
    /// A stream that starts with the whole `flags` event for the environment `watch`
    /// holds now.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        key: [u8; 32],
        kind: SdkKeyKind,
        context: EvaluationContext,
        mut environment: EnvironmentWatch,
        store: Arc<Store>,
        closing: watch::Receiver<bool>,
        evaluations: Counter,
        slot: Slot,
    ) -> Option<SdkStream<Slot>> {
        let current = environment.borrow_and_update().clone()?;
        Some(SdkStream {
            key,
            kind,
            context,
            environment,
            sent: current.generation(),
            first: Some(FirstEvent::new(current)),
            store,
            closing,
            evaluations,
            _slot: slot,
        })
    }

    /// The stream's frames, ending when the environment or the key goes, or the edge
    /// shuts down.
    pub fn frames(self) -> impl futures_util::Stream<Item = Bytes> + Send + 'static {
        futures_util::stream::unfold(self, |mut stream| async move {
            let frame = stream.next_frame().await?;
            Some((frame, stream))
        })
    }

    async fn next_frame(&mut self) -> Option<Bytes> {
        loop {
            if let Some(first) = &mut self.first {
                let (frame, done) = first.next_piece(&self.context, self.kind, &self.evaluations);
                if done {
                    self.sent = first.environment.generation();
                    self.first = None;
                }
                return Some(frame);
            }
            if *self.closing.borrow() {
                return None;
            }
            tokio::select! {
                // Shutting down wins over a change arriving at the same time.
                biased;
                _ = self.closing.changed() => return None,
                changed = self.environment.changed() => changed.ok()?,
            }
            // `None`: the environment is gone, and so is the stream.
            let now = self.environment.borrow_and_update().clone()?;
            // A revoked key, or one moved out of this environment, ends the stream.
            let loaded = self.store.load()?;
            let scope = loaded.key_scope(&self.key)?;
            let compiled = now.compiled();
            if scope.project != compiled.project() || scope.environment != compiled.environment() {
                return None;
            }
            match now.changed_since(self.sent) {
                Some(changed) if changed.is_empty() => self.sent = now.generation(),
                Some(changed) => {
                    let frame = patch(&now, &changed, &self.context, self.kind, &self.evaluations);
                    self.sent = now.generation();
                    return Some(frame);
                }
                // Too far behind to patch: everything again.
                None => self.first = Some(FirstEvent::new(now)),
            }
        }
    }
}

impl FirstEvent {
    /// Frames the next piece of the event; `true` once it is the last.
    fn next_piece(
        &mut self,
        context: &EvaluationContext,
        kind: SdkKeyKind,
        evaluations: &Counter,
    ) -> (Bytes, bool) {
        let compiled = self.environment.compiled();
        let revision = compiled.revision();
        let mut out = Vec::with_capacity(CHUNK_BYTES + 1024);
        if self.position == 0 {
            sse::begin(&mut out, "flags", revision);
            out.extend_from_slice(b"{\"flags\":{");
        }
        let mut evaluated = 0;
        while out.len() < CHUNK_BYTES {
            let Some(key) = compiled.flag_key(self.position) else {
                break;
            };
            if compiled.is_listed(key, kind) {
                evaluated += 1;
                entry(&mut out, !self.written, key, compiled, context);
                self.written = true;
            }
            self.position += 1;
        }
        evaluations.inc_by(evaluated);
        let done = compiled.flag_key(self.position).is_none();
        if done {
            write!(out, "}},\"revision\":{revision}}}").expect("writing to memory cannot fail");
            sse::end(&mut out);
        }
        (out.into(), done)
    }
}

/// A `patch` with `changed` flags evaluated for `context`, and those that are gone,
/// archived, or hidden from the stream's key kind as `removed`.
fn patch(
    environment: &Environment,
    changed: &[&str],
    context: &EvaluationContext,
    kind: SdkKeyKind,
    evaluations: &Counter,
) -> Bytes {
    let compiled = environment.compiled();
    let revision = compiled.revision();
    let mut out = Vec::with_capacity(128 + 96 * changed.len());
    sse::begin(&mut out, "patch", revision);
    out.extend_from_slice(b"{\"flags\":{");
    let mut removed = Vec::new();
    let mut written = false;
    for &key in changed {
        if !compiled.is_listed(key, kind) {
            removed.push(key);
            continue;
        }
        entry(&mut out, !written, key, compiled, context);
        written = true;
    }
    evaluations.inc_by((changed.len() - removed.len()) as u64);
    out.extend_from_slice(b"},\"removed\":");
    serde_json::to_writer(&mut out, &removed).expect("keys serialize");
    write!(out, ",\"revision\":{revision}}}").expect("writing to memory cannot fail");
    sse::end(&mut out);
    out.into()
}

/// Writes `"key":{evaluation}` for flag `key`, after a comma unless it is the first.
fn entry(
    out: &mut Vec<u8>,
    first: bool,
    key: &str,
    compiled: &CompiledSnapshot,
    context: &EvaluationContext,
) {
    let evaluation = compiled.evaluate(key, context).expect("the flag exists");
    if !first {
        out.push(b',');
    }
    serde_json::to_writer(&mut *out, key).expect("keys serialize");
    out.push(b':');
    serde_json::to_writer(&mut *out, &evaluation).expect("evaluations serialize");
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bytes::Bytes;
    use eventsource_stream::Eventsource;
    use futures_util::StreamExt;
    use serde_json::{Value, json};
    use togglerino_shared::model::{Snapshot, sdk_key_hash, sdk_key_hash_hex};

    use super::*;

    /// Environments `shop/production` and `shop/staging`, each with flags `f0…` of which
    /// those in `enabled` are on; the production key is `sdk_prod`.
    fn body(
        flags: usize,
        enabled: &[usize],
        staging_revision: u64,
        keys: &[&str],
    ) -> Vec<Snapshot> {
        let environment = |name: &str, revision: u64, keys: &[&str]| {
            let flags: Vec<Value> = (0..flags)
                .map(|i| {
                    json!({
                        "flag": {"key": format!("f{i}"), "name": "F", "type": "boolean", "default_value": false},
                        "config": {
                            "enabled": name == "production" && enabled.contains(&i),
                            "variants": [{"key": "on", "value": true}, {"key": "off", "value": false}],
                            "default_variant": "off",
                            "targeting_rules": [{"percentage_rollout": 50, "variant": "on"}]
                        }
                    })
                })
                .collect();
            let keys: Vec<Value> = keys
                .iter()
                .map(|k| json!({"id": k, "kind": "client", "sha256": sdk_key_hash_hex(k)}))
                .collect();
            json!({"project": "shop", "environment": name, "revision": revision, "flags": flags, "sdk_keys": keys})
        };
        let revision = 10 + enabled.len() as u64;
        [
            environment("production", revision, keys),
            environment("staging", staging_revision, &["sdk_staging"]),
        ]
        .into_iter()
        .map(|json| serde_json::from_value(json).unwrap())
        .collect()
    }

    /// Puts in service each environment that differs from what the store holds, as sync
    /// does.
    fn install(store: &Store, environments: Vec<Snapshot>) {
        for snapshot in environments {
            let current = store
                .held()
                .and_then(|l| l.get(&snapshot.project, &snapshot.environment).cloned());
            if current.as_ref().is_some_and(|c| *c.snapshot() == snapshot) {
                continue;
            }
            let next = Environment::new(snapshot, None, current.as_deref()).unwrap();
            store.install(Arc::new(next));
        }
        store.ready();
    }

    type Frames = std::pin::Pin<Box<dyn futures_util::Stream<Item = Bytes> + Send>>;

    fn open(store: &Arc<Store>, environment: &str, key: &str, user: &str) -> Frames {
        let watch = store.watch("shop", environment).unwrap();
        let (closer, closing) = watch::channel(false);
        // A dropped sender reads as "shutting down"; these streams never shut down.
        std::mem::forget(closer);
        let stream = SdkStream::new(
            sdk_key_hash(key),
            SdkKeyKind::Client,
            EvaluationContext::new(user),
            watch,
            Arc::clone(store),
            closing,
            Counter::default(),
            (),
        )
        .unwrap();
        Box::pin(stream.frames())
    }

    /// The next whole event: its name and data.
    async fn event(frames: &mut Frames) -> Option<(String, Value)> {
        let mut raw = Vec::new();
        loop {
            let frame = tokio::time::timeout(Duration::from_millis(200), frames.next())
                .await
                .ok()??;
            raw.extend_from_slice(&frame);
            if raw.ends_with(b"\n\n") {
                break;
            }
        }
        let events: Vec<_> =
            futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from(raw))])
                .eventsource()
                .collect()
                .await;
        assert_eq!(events.len(), 1, "one event at a time");
        let event = events.into_iter().next().unwrap().unwrap();
        Some((event.event, serde_json::from_str(&event.data).unwrap()))
    }

    #[tokio::test]
    async fn the_first_event_is_framed_in_bounded_pieces() {
        let store = Arc::new(Store::default());
        install(&store, body(2000, &[1, 2], 1, &["sdk_prod"]));
        let mut frames = open(&store, "production", "sdk_prod", "u1");
        let mut pieces = 0;
        let mut raw = Vec::new();
        while !raw.ends_with(b"\n\n") {
            let piece = frames.next().await.unwrap();
            assert!(
                piece.len() < CHUNK_BYTES + 1024,
                "a piece of {} bytes",
                piece.len()
            );
            raw.extend_from_slice(&piece);
            pieces += 1;
        }
        assert!(pieces > 5, "{pieces} pieces");
        let text = String::from_utf8(raw).unwrap();
        let data = text.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
        let data: Value = serde_json::from_str(data).unwrap();
        assert_eq!(data["flags"].as_object().unwrap().len(), 2000);
        assert_eq!(data["revision"], 12);
        assert_eq!(data["flags"]["f0"]["reason"], "DISABLED");
        let f1 = &data["flags"]["f1"];
        // u1 is in f1's 50 % rollout, or served the default variant.
        assert_eq!(f1["value"], f1["reason"] == "SPLIT");
        assert_eq!(f1["value"], f1["variant"] == "on");
    }

    #[tokio::test]
    async fn a_change_patches_its_environment_only_with_the_flags_it_changed() {
        let store = Arc::new(Store::default());
        install(&store, body(5, &[], 1, &["sdk_prod"]));
        let mut production = open(&store, "production", "sdk_prod", "u1");
        let mut staging = open(&store, "staging", "sdk_staging", "u1");
        assert_eq!(event(&mut production).await.unwrap().0, "flags");
        assert_eq!(event(&mut staging).await.unwrap().0, "flags");

        install(&store, body(5, &[3], 1, &["sdk_prod"]));
        let (name, data) = event(&mut production).await.unwrap();
        assert_eq!(name, "patch");
        assert_eq!(
            data["flags"]
                .as_object()
                .unwrap()
                .keys()
                .collect::<Vec<_>>(),
            ["f3"]
        );
        assert_eq!(data["flags"]["f3"]["reason"], "SPLIT");
        assert_eq!(data["removed"], json!([]));
        assert_eq!(data["revision"], 11);
        assert!(
            event(&mut staging).await.is_none(),
            "staging did not change"
        );

        // A snapshot that changes nothing wakes nobody.
        install(&store, body(5, &[3], 1, &["sdk_prod"]));
        assert!(event(&mut production).await.is_none());
    }

    #[tokio::test]
    async fn a_stream_that_fell_behind_gets_one_patch_or_everything_again() {
        let store = Arc::new(Store::default());
        install(&store, body(40, &[], 1, &["sdk_prod"]));
        let mut behind = open(&store, "production", "sdk_prod", "u1");
        assert_eq!(event(&mut behind).await.unwrap().0, "flags");
        // Three changes while the client did not read: one patch with all three flags.
        install(&store, body(40, &[1], 1, &["sdk_prod"]));
        install(&store, body(40, &[1, 2], 1, &["sdk_prod"]));
        install(&store, body(40, &[1, 2, 3], 1, &["sdk_prod"]));
        let (name, data) = event(&mut behind).await.unwrap();
        assert_eq!(name, "patch");
        let mut keys: Vec<_> = data["flags"].as_object().unwrap().keys().cloned().collect();
        keys.sort();
        assert_eq!(keys, ["f1", "f2", "f3"]);
        assert!(event(&mut behind).await.is_none());

        // Further behind than the environment remembers: the whole `flags` event.
        let mut enabled = vec![1, 2, 3];
        for i in 4..40 {
            enabled.push(i);
            install(&store, body(40, &enabled, 1, &["sdk_prod"]));
        }
        let (name, data) = event(&mut behind).await.unwrap();
        assert_eq!(name, "flags");
        assert_eq!(data["flags"].as_object().unwrap().len(), 40);
        assert_eq!(data["revision"], 10 + 39);
    }

    #[tokio::test]
    async fn a_revoked_key_or_a_removed_flag_reach_the_stream() {
        let store = Arc::new(Store::default());
        install(&store, body(3, &[], 1, &["sdk_prod", "sdk_other"]));
        let mut stream = open(&store, "production", "sdk_prod", "u1");
        assert_eq!(event(&mut stream).await.unwrap().0, "flags");

        install(&store, body(2, &[], 1, &["sdk_prod", "sdk_other"]));
        let (_, data) = event(&mut stream).await.unwrap();
        assert_eq!(data["removed"], json!(["f2"]));
        assert_eq!(data["flags"], json!({}));

        install(&store, body(2, &[1], 1, &["sdk_other"]));
        assert!(
            tokio::time::timeout(Duration::from_secs(1), stream.next())
                .await
                .unwrap()
                .is_none(),
            "the stream of a revoked key ends"
        );
    }
}
