//! Request extractors whose rejections speak the API's error shape.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use togglerino_shared::validate::parse_json;

use crate::error::ApiError;

/// Largest request body the management API accepts.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// A JSON body, parsed strictly: unknown fields and wrong types are 400s naming the field.
pub struct Json<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| {
                let mime = mime.trim();
                mime.eq_ignore_ascii_case("application/json")
                    || (mime.starts_with("application/") && mime.ends_with("+json"))
            });
        // Requiring JSON also means a cross-site form can never reach a handler: browsers
        // only send application/json cross-origin after a CORS preflight.
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge(MAX_BODY_BYTES)
                } else {
                    ApiError::BadRequest {
                        code: "invalid_body",
                        message: rejection.body_text(),
                        field: None,
                    }
                }
            })?;
        parse_json(&bytes)
            .map(Json)
            .map_err(|error| ApiError::BadRequest {
                code: "invalid_json",
                message: error.message,
                field: (!error.field.is_empty()).then_some(error.field),
            })
    }
}

/// Query parameters with 400s in the API's error shape.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Query(value))
            .map_err(|rejection| ApiError::BadRequest {
                code: "invalid_query",
                message: rejection.body_text(),
                field: None,
            })
    }
}
