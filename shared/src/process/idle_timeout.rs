//! A request body that fails once its client stops sending for a while.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::body::{Body, Frame, SizeHint};
use tokio::time::Sleep;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// `body`, failing if no frame comes for `limit`. Unlike a timer armed on every poll,
/// the clock starts only when a frame is not already at hand: a body that arrived with
/// its headers, as nearly every API request's does, costs no timer at all.
pub struct IdleTimeout<B> {
    body: B,
    limit: Duration,
    /// Armed while waiting for a frame; boxed, so the body stays `Unpin`.
    timer: Option<Pin<Box<Sleep>>>,
}

impl<B> IdleTimeout<B> {
    pub fn new(body: B, limit: Duration) -> IdleTimeout<B> {
        IdleTimeout {
            body,
            limit,
            timer: None,
        }
    }
}

/// The client took longer than the limit to send the next part of a body.
#[derive(Debug, thiserror::Error)]
#[error("the request body stopped arriving for {0:?}")]
pub struct BodyTimedOut(Duration);

impl<B> Body for IdleTimeout<B>
where
    B: Body + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = B::Data;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, BoxError>>> {
        let this = &mut *self;
        if let Poll::Ready(frame) = Pin::new(&mut this.body).poll_frame(cx) {
            this.timer = None;
            return Poll::Ready(frame.map(|frame| frame.map_err(Into::into)));
        }
        let limit = this.limit;
        let timer = this
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(BodyTimedOut(limit).into()))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use axum::body::Bytes;
    use tokio::sync::mpsc;

    use super::*;

    /// A body whose frames come when a test sends them.
    struct Trickle(mpsc::Receiver<Bytes>);

    impl Body for Trickle {
        type Data = Bytes;
        type Error = Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            self.0
                .poll_recv(cx)
                .map(|chunk| chunk.map(|chunk| Ok(Frame::data(chunk))))
        }
    }

    async fn next_frame<B: Body + Unpin>(body: &mut B) -> Option<Result<Frame<B::Data>, B::Error>> {
        std::future::poll_fn(|cx| Pin::new(&mut *body).poll_frame(cx)).await
    }

    fn chunk(frame: Option<Result<Frame<Bytes>, BoxError>>) -> Bytes {
        frame
            .expect("a frame")
            .expect("no error")
            .into_data()
            .expect("data")
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_at_hand_arms_no_timer() {
        let (sender, receiver) = mpsc::channel(2);
        sender.send(Bytes::from_static(b"{}")).await.unwrap();
        drop(sender);
        let mut body = IdleTimeout::new(Trickle(receiver), Duration::from_secs(30));
        assert_eq!(chunk(next_frame(&mut body).await), "{}");
        assert!(body.timer.is_none());
        assert!(next_frame(&mut body).await.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_that_stops_sending_gets_an_error_after_the_limit() {
        let (sender, receiver) = mpsc::channel(2);
        let mut body = IdleTimeout::new(Trickle(receiver), Duration::from_secs(30));
        sender.send(Bytes::from_static(b"{")).await.unwrap();
        assert_eq!(chunk(next_frame(&mut body).await), "{");
        let started = tokio::time::Instant::now();
        let error = next_frame(&mut body).await.expect("a frame").unwrap_err();
        assert!(error.is::<BodyTimedOut>(), "{error}");
        assert_eq!(started.elapsed(), Duration::from_secs(30));
        drop(sender);
    }

    #[tokio::test(start_paused = true)]
    async fn each_frame_restarts_the_clock() {
        let (sender, receiver) = mpsc::channel(2);
        let mut body = IdleTimeout::new(Trickle(receiver), Duration::from_secs(30));
        let started = tokio::time::Instant::now();
        tokio::spawn(async move {
            for part in ["{", "}"] {
                tokio::time::sleep(Duration::from_secs(20)).await;
                sender
                    .send(Bytes::from_static(part.as_bytes()))
                    .await
                    .unwrap();
            }
        });
        assert_eq!(chunk(next_frame(&mut body).await), "{");
        assert_eq!(chunk(next_frame(&mut body).await), "}");
        assert!(next_frame(&mut body).await.is_none());
        assert_eq!(started.elapsed(), Duration::from_secs(40));
    }
}
