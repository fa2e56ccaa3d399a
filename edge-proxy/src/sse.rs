//! Server-Sent Events framed by hand, for SDK streams: an event is written straight into
//! the buffer that is sent, and a large one (the first event of a stream, hundreds of
//! kilobytes with 10,000 flags) can be sent in pieces as it is written. axum's `Event`
//! would copy each event whole into a buffer of its own.

use std::convert::Infallible;
use std::io::Write;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use futures_util::{Stream, StreamExt};

const HEARTBEAT_FRAME: &[u8] = b":heartbeat\n\n";

/// Starts an event: `event:`, `id:` and the opening of its single `data:` line (compact
/// JSON never holds a newline). Write the JSON next, then [`end`].
pub fn begin(out: &mut Vec<u8>, event: &str, id: u64) {
    write!(out, "event: {event}\nid: {id}\ndata: ").expect("writing to memory cannot fail");
}

/// Ends the event [`begin`] started.
pub fn end(out: &mut Vec<u8>) {
    out.extend_from_slice(b"\n\n");
}

/// An event-stream response sending `events` as they come, and a comment every
/// `heartbeat` so proxies and clients can tell a quiet stream from a dead one. It ends
/// when `events` does.
pub fn response(
    events: impl Stream<Item = Bytes> + Send + 'static,
    heartbeat: Duration,
) -> Response {
    let start = tokio::time::Instant::now() + heartbeat;
    let ticks = tokio::time::interval_at(start, heartbeat);
    let body = futures_util::stream::unfold(
        (Box::pin(events), ticks),
        |(mut events, mut ticks)| async move {
            let frame = tokio::select! {
                event = events.next() => event?,
                _ = ticks.tick() => Bytes::from_static(HEARTBEAT_FRAME),
            };
            Some((Ok::<_, Infallible>(frame), (events, ticks)))
        },
    );
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/event-stream"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        Body::from_stream(body),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use eventsource_stream::Eventsource;
    use serde_json::json;

    use super::*;

    fn frame(event: &str, id: u64, data: &serde_json::Value) -> Bytes {
        let mut out = Vec::new();
        begin(&mut out, event, id);
        serde_json::to_writer(&mut out, data).unwrap();
        end(&mut out);
        out.into()
    }

    #[tokio::test]
    async fn frames_parse_as_events_between_heartbeats() {
        let events = futures_util::stream::iter([
            frame("flags", 7, &json!({"flags": {"a\nb": "line\nbreak"}})),
            frame("patch", 8, &json!({"removed": []})),
        ])
        .chain(futures_util::stream::pending());
        let response = response(events, Duration::from_millis(20));
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "text/event-stream"
        );
        let mut stream = response.into_body().into_data_stream();

        let mut raw = Vec::new();
        for _ in 0..3 {
            raw.extend_from_slice(&stream.next().await.unwrap().unwrap());
        }
        assert!(raw.ends_with(HEARTBEAT_FRAME));
        let parsed: Vec<_> = futures_util::stream::iter([Ok::<_, Infallible>(Bytes::from(raw))])
            .eventsource()
            .collect()
            .await;
        let parsed: Vec<_> = parsed.into_iter().map(Result::unwrap).collect();
        assert_eq!(parsed.len(), 2);
        assert_eq!(
            (parsed[0].event.as_str(), parsed[0].id.as_str()),
            ("flags", "7")
        );
        let data: serde_json::Value = serde_json::from_str(&parsed[0].data).unwrap();
        assert_eq!(data["flags"]["a\nb"], "line\nbreak");
        assert_eq!(parsed[1].event, "patch");
    }
}
