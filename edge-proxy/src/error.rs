//! The edge's one error type, in the same JSON shape as the control plane's.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum EdgeError {
    #[error("{message}")]
    BadRequest {
        code: &'static str,
        message: String,
        field: Option<String>,
    },
    #[error("a valid SDK key is required: send it as `Authorization: Bearer sdk_…` or `X-API-Key`")]
    Unauthenticated,
    #[error("this SDK key belongs to another project or environment")]
    Forbidden,
    #[error("/metrics needs the metrics token: send it as `Authorization: Bearer …`")]
    MetricsTokenRequired,
    #[error("flag {0:?} not found")]
    FlagNotFound(String),
    #[error("environment {0:?} not found on this edge")]
    EnvironmentNotFound(String),
    #[error("request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("no snapshot yet: this edge has not reached its upstream")]
    NotReady,
    #[error("{0}")]
    Unavailable(&'static str),
    #[error("{0}")]
    TooManyStreams(&'static str),
}

impl EdgeError {
    fn status(&self) -> StatusCode {
        match self {
            EdgeError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            EdgeError::Unauthenticated | EdgeError::MetricsTokenRequired => {
                StatusCode::UNAUTHORIZED
            }
            EdgeError::Forbidden => StatusCode::FORBIDDEN,
            EdgeError::FlagNotFound(_) | EdgeError::EnvironmentNotFound(_) => StatusCode::NOT_FOUND,
            EdgeError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            EdgeError::NotReady | EdgeError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            EdgeError::TooManyStreams(_) => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            EdgeError::BadRequest { code, .. } => code,
            EdgeError::Unauthenticated | EdgeError::MetricsTokenRequired => "unauthenticated",
            EdgeError::Forbidden => "forbidden",
            EdgeError::FlagNotFound(_) => "flag_not_found",
            EdgeError::EnvironmentNotFound(_) => "environment_not_found",
            EdgeError::PayloadTooLarge(_) => "payload_too_large",
            EdgeError::NotReady => "not_ready",
            EdgeError::Unavailable(_) => "unavailable",
            EdgeError::TooManyStreams(_) => "too_many_streams",
        }
    }
}

impl IntoResponse for EdgeError {
    fn into_response(self) -> Response {
        let mut body = json!({"code": self.code(), "message": self.to_string()});
        if let EdgeError::BadRequest {
            field: Some(field), ..
        } = &self
        {
            body["field"] = json!(field);
        }
        (self.status(), axum::Json(json!({"error": body}))).into_response()
    }
}
