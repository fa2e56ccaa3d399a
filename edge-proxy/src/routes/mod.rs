//! The edge's HTTP surface.

pub mod chain;
pub mod evaluate;
pub mod health;
pub mod ofrep;
pub mod sdk_key;
pub mod stream;
pub mod usage;

use std::pin::Pin;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use bytes::BytesMut;

use crate::error::EdgeError;

/// A JSON body of type `T` that `check` accepts; problems are 400 `code`.
pub fn parse_checked<T: serde::de::DeserializeOwned>(
    body: &[u8],
    code: &'static str,
    check: impl FnOnce(&T) -> Result<(), String>,
) -> Result<T, EdgeError> {
    let value: T =
        togglerino_shared::validate::parse_json(body).map_err(|e| EdgeError::BadRequest {
            code,
            message: e.message,
            field: (!e.field.is_empty()).then_some(e.field),
        })?;
    check(&value).map_err(|message| EdgeError::BadRequest {
        code,
        message,
        field: None,
    })?;
    Ok(value)
}

/// A body taken as bytes, with what went wrong reading it in the API's error shape;
/// `limit` is the route's body limit.
pub fn body_or_error(
    body: Result<Bytes, BytesRejection>,
    limit: usize,
) -> Result<Bytes, EdgeError> {
    body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            EdgeError::PayloadTooLarge(limit)
        } else {
            EdgeError::BadRequest {
                code: "invalid_body",
                message: rejection.body_text(),
                field: None,
            }
        }
    })
}

/// A whole body of at most `limit` bytes. The body of an evaluation nearly always
/// arrives in one piece with its headers, and is then taken as it is, without the
/// buffering and boxing a general extractor puts around every body.
pub async fn read_body(mut body: Body, limit: usize) -> Result<Bytes, EdgeError> {
    if body.size_hint().lower() > limit as u64 {
        return Err(EdgeError::PayloadTooLarge(limit));
    }
    // The body while it is one frame, and once it is more.
    let mut first: Option<Bytes> = None;
    let mut joined = BytesMut::new();
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let frame = frame.map_err(|error| EdgeError::BadRequest {
            code: "invalid_body",
            message: format!("Failed to buffer the request body: {error}"),
            field: None,
        })?;
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        let so_far = first.as_ref().map_or(joined.len(), Bytes::len);
        if so_far + data.len() > limit {
            return Err(EdgeError::PayloadTooLarge(limit));
        }
        if first.is_none() && joined.is_empty() {
            first = Some(data);
            continue;
        }
        if let Some(earlier) = first.take() {
            joined.extend_from_slice(&earlier);
        }
        joined.extend_from_slice(&data);
    }
    Ok(first.unwrap_or_else(|| joined.freeze()))
}

pub async fn unknown_route() -> EdgeError {
    EdgeError::BadRequest {
        code: "route_not_found",
        message: "no such route".into(),
        field: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(parts: &[&'static str]) -> Body {
        let parts: Vec<Result<Bytes, std::io::Error>> = parts
            .iter()
            .map(|p| Ok(Bytes::from_static(p.as_bytes())))
            .collect();
        Body::from_stream(futures_util::stream::iter(parts))
    }

    #[tokio::test]
    async fn a_body_in_several_frames_is_joined() {
        let body = read_body(frames(&[r#"{"context""#, ": {}", "}"]), 64).await;
        assert_eq!(body.unwrap(), r#"{"context": {}}"#);
        assert_eq!(read_body(frames(&[]), 64).await.unwrap(), "");
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_refused_however_it_comes() {
        let too_large =
            |result: Result<Bytes, EdgeError>| matches!(result, Err(EdgeError::PayloadTooLarge(8)));
        assert!(too_large(read_body(frames(&["12345", "6789"]), 8).await));
        assert!(too_large(read_body(Body::from("123456789"), 8).await));
        assert_eq!(
            read_body(frames(&["1234", "5678"]), 8).await.unwrap(),
            "12345678"
        );
    }

    #[tokio::test]
    async fn a_broken_body_is_a_bad_request() {
        let broken: Vec<Result<Bytes, std::io::Error>> = vec![
            Ok(Bytes::from_static(b"{")),
            Err(std::io::Error::other("connection reset")),
        ];
        let result = read_body(Body::from_stream(futures_util::stream::iter(broken)), 64).await;
        assert!(matches!(
            result,
            Err(EdgeError::BadRequest {
                code: "invalid_body",
                ..
            })
        ));
    }
}
