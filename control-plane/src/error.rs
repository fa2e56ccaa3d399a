//! The control plane's one error type. Every failure reaches clients as
//! `{"error": {"code", "message", "field"?, "details"?}}` with the right status; a 5xx
//! logs its cause and shows the client only an id to quote.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use togglerino_shared::validate::{ValidationError, ValidationErrors};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Malformed JSON, unknown fields, wrong types, bad query parameters.
    #[error("{message}")]
    BadRequest {
        code: &'static str,
        message: String,
        field: Option<String>,
    },
    #[error("authentication required")]
    Unauthenticated,
    #[error("invalid email or password")]
    InvalidCredentials,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("missing or invalid CSRF token: send the X-CSRF-Token header from /api/v1/auth/me")]
    Csrf,
    #[error("{what} not found")]
    NotFound { code: &'static str, what: String },
    #[error("{message}")]
    Conflict {
        code: &'static str,
        message: String,
        field: Option<&'static str>,
        details: Option<Value>,
    },
    #[error("{0}")]
    Validation(ValidationErrors),
    #[error("request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("send a JSON body with Content-Type: application/json")]
    UnsupportedMediaType,
    #[error("too many attempts; retry in {retry_after} seconds")]
    RateLimited { retry_after: u64 },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn not_found(code: &'static str, what: impl Into<String>) -> ApiError {
        ApiError::NotFound {
            code,
            what: what.into(),
        }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::Conflict {
            code,
            message: message.into(),
            field: None,
            details: None,
        }
    }

    /// A 422 about one field.
    pub fn invalid(field: &str, message: impl Into<String>) -> ApiError {
        ApiError::Validation(ValidationError::new(field, message).into())
    }

    fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthenticated | ApiError::InvalidCredentials => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) | ApiError::Csrf => StatusCode::FORBIDDEN,
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest { code, .. }
            | ApiError::NotFound { code, .. }
            | ApiError::Conflict { code, .. } => code,
            ApiError::Unauthenticated => "unauthenticated",
            ApiError::InvalidCredentials => "invalid_credentials",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::Csrf => "csrf_failed",
            ApiError::Validation(_) => "validation_failed",
            ApiError::PayloadTooLarge(_) => "payload_too_large",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::Internal(_) => "internal_error",
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> ApiError {
        ApiError::Internal(error.into())
    }
}

impl From<ValidationErrors> for ApiError {
    fn from(errors: ValidationErrors) -> ApiError {
        ApiError::Validation(errors)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut body = json!({"code": self.code(), "message": self.to_string()});
        match &self {
            ApiError::BadRequest {
                field: Some(field), ..
            } => body["field"] = json!(field),
            ApiError::Conflict { field, details, .. } => {
                if let Some(field) = field {
                    body["field"] = json!(field);
                }
                if let Some(details) = details {
                    body["details"] = details.clone();
                }
            }
            ApiError::Validation(errors) => {
                let first = errors.first();
                body["message"] = json!(first.to_string());
                if !first.field.is_empty() {
                    body["field"] = json!(first.field);
                }
                body["details"] = json!({"errors": errors});
            }
            ApiError::Internal(cause) => {
                let id = uuid::Uuid::new_v4();
                tracing::error!(error_id = %id, error = format!("{cause:#}"), "internal error");
                body["message"] = json!(format!(
                    "internal error; quote error id {id} to your operator"
                ));
                body["error_id"] = json!(id.to_string());
            }
            _ => {}
        }
        let mut response = (status, axum::Json(json!({"error": body}))).into_response();
        if let ApiError::RateLimited { retry_after } = self {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_str(&retry_after.to_string()).expect("digits are a valid header"),
            );
        }
        response
    }
}
