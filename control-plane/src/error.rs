//! The control plane's one error type. Every failure reaches clients as
//! `{"error": {"code", "message", "field"?, "details"?}}` with the right status; a 5xx
//! logs its cause and shows the client only an id to quote.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};
use togglerino_shared::validate::{ValidationError, ValidationErrors};
use utoipa::ToSchema;

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
    #[error("this route does not accept that method")]
    MethodNotAllowed,
    #[error("send a JSON body with Content-Type: application/json")]
    UnsupportedMediaType,
    #[error("too many attempts; retry in {retry_after} seconds")]
    RateLimited { retry_after: u64 },
    #[error("the server is busy checking passwords; retry in {retry_after} seconds")]
    Overloaded { retry_after: u64 },
    #[error(
        "setting up from another machine needs the setup token: it is printed in the control \
         plane's log at start, unless TOGGLERINO_SETUP_TOKEN sets it"
    )]
    SetupTokenRequired,
    /// PostgreSQL cannot be reached: nothing the client did, and nothing to log an id
    /// for. Edges keep serving meanwhile.
    #[error(
        "the database is unreachable, so nothing can change right now (edges keep serving \
         flags); retry in {DATABASE_RETRY_AFTER} seconds"
    )]
    DatabaseUnavailable,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// What a client waits before trying again while PostgreSQL is unreachable.
const DATABASE_RETRY_AFTER: u64 = 5;

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
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::RateLimited { .. } | ApiError::Overloaded { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            ApiError::SetupTokenRequired => StatusCode::FORBIDDEN,
            ApiError::DatabaseUnavailable => StatusCode::SERVICE_UNAVAILABLE,
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
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::Overloaded { .. } => "overloaded",
            ApiError::SetupTokenRequired => "setup_token_required",
            ApiError::DatabaseUnavailable => "database_unavailable",
            ApiError::Internal(_) => "internal_error",
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> ApiError {
        ApiError::Internal(error.into())
    }
}

/// Whether a failure comes down to PostgreSQL being out of reach (down, restarting,
/// failing over), wherever in the chain of causes the driver's error sits.
fn database_unreachable(cause: &anyhow::Error) -> bool {
    cause.chain().any(|error| {
        matches!(
            error.downcast_ref::<sqlx::Error>(),
            Some(
                sqlx::Error::PoolTimedOut
                    | sqlx::Error::PoolClosed
                    | sqlx::Error::Io(_)
                    | sqlx::Error::Tls(_)
            )
        )
    })
}

impl From<ValidationErrors> for ApiError {
    fn from(errors: ValidationErrors) -> ApiError {
        ApiError::Validation(errors)
    }
}

/// Every error response: `{"error": {...}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorOut {
    pub error: ErrorBody,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable, machine-readable: `flag_not_found`, `validation_failed`, `version_conflict`…
    pub code: &'static str,
    /// For people; for validation errors it starts with the field path.
    pub message: String,
    /// The JSON path of the offending field, when one is to blame.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// More context: `errors` (every validation problem), `current` (the config a
    /// conflicting write lost to), `flags` (what still uses an entity).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
    /// For internal errors: the id under which the cause was logged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_id: Option<String>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let this = match self {
            ApiError::Internal(cause) if database_unreachable(&cause) => {
                tracing::warn!(error = format!("{cause:#}"), "database unreachable");
                ApiError::DatabaseUnavailable
            }
            other => other,
        };
        this.respond()
    }
}

impl ApiError {
    fn respond(self) -> Response {
        let status = self.status();
        let mut body = ErrorBody {
            code: self.code(),
            message: self.to_string(),
            field: None,
            details: None,
            error_id: None,
        };
        match &self {
            ApiError::BadRequest { field, .. } => body.field = field.clone(),
            ApiError::Conflict { field, details, .. } => {
                body.field = field.map(str::to_owned);
                body.details = details.clone();
            }
            ApiError::Validation(errors) => {
                let first = errors.first();
                body.message = first.to_string();
                body.field = (!first.field.is_empty()).then(|| first.field.clone());
                body.details = Some(json!({"errors": errors}));
            }
            ApiError::Internal(cause) => {
                let id = uuid::Uuid::new_v4().to_string();
                tracing::error!(error_id = %id, error = format!("{cause:#}"), "internal error");
                body.message = format!("internal error; quote error id {id} to your operator");
                body.error_id = Some(id);
            }
            _ => {}
        }
        let mut response = (status, axum::Json(ErrorOut { error: body })).into_response();
        let retry_after = match self {
            ApiError::RateLimited { retry_after } | ApiError::Overloaded { retry_after } => {
                Some(retry_after)
            }
            ApiError::DatabaseUnavailable => Some(DATABASE_RETRY_AFTER),
            _ => None,
        };
        if let Some(retry_after) = retry_after {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_str(&retry_after.to_string()).expect("digits are a valid header"),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use axum::body::to_bytes;

    use super::*;

    #[tokio::test]
    async fn internal_errors_show_an_id_and_never_the_cause() {
        let error = ApiError::Internal(anyhow::anyhow!(
            "password authentication failed for user secret_user"
        ));
        let response = error.into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = to_bytes(response.into_body(), usize::MAX).await.unwrap();
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["error"]["code"], "internal_error");
        let id = body["error"]["error_id"].as_str().unwrap();
        assert!(body["error"]["message"].as_str().unwrap().contains(id));
        assert!(!body.to_string().contains("secret_user"));
    }

    #[tokio::test]
    async fn an_unreachable_database_is_a_503_to_retry_not_an_internal_error() {
        for cause in [
            anyhow::Error::from(sqlx::Error::PoolTimedOut),
            anyhow::Error::from(sqlx::Error::Io(
                std::io::ErrorKind::ConnectionRefused.into(),
            ))
            .context("loading the flag"),
        ] {
            let response = ApiError::Internal(cause).into_response();
            assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(response.headers()[header::RETRY_AFTER], "5");
            let body = to_bytes(response.into_body(), usize::MAX).await.unwrap();
            let body: Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(body["error"]["code"], "database_unavailable");
        }
        // A query the database refused is still ours to look into.
        let response = ApiError::Internal(sqlx::Error::RowNotFound.into()).into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
