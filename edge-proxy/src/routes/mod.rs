//! The edge's HTTP surface.

pub mod chain;
pub mod evaluate;
pub mod health;
pub mod ofrep;
pub mod stream;
pub mod usage;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;

use crate::error::EdgeError;

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

pub async fn unknown_route() -> EdgeError {
    EdgeError::BadRequest {
        code: "route_not_found",
        message: "no such route".into(),
        field: None,
    }
}
