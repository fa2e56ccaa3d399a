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

pub async fn unknown_route() -> EdgeError {
    EdgeError::BadRequest {
        code: "route_not_found",
        message: "no such route".into(),
        field: None,
    }
}
