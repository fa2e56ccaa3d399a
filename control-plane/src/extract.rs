//! Request extractors whose rejections speak the API's error shape.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::Value;
use togglerino_shared::validate::{ValidationError, parse_json, parse_json_value};

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
        let value: Value = parse_json(&bytes).map_err(invalid_json)?;
        if let Some(field) = find_nul(&value, String::new()) {
            return Err(ApiError::BadRequest {
                code: "invalid_json",
                message: "text must not contain NUL (\\u0000) characters".into(),
                field: Some(field),
            });
        }
        parse_json_value(value).map(Json).map_err(invalid_json)
    }
}

fn invalid_json(error: ValidationError) -> ApiError {
    ApiError::BadRequest {
        code: "invalid_json",
        message: error.message,
        field: (!error.field.is_empty()).then_some(error.field),
    }
}

/// The path of the first string (or key) holding a NUL character. PostgreSQL stores no
/// NUL in text or JSONB, so such input is refused here rather than failing later.
fn find_nul(value: &Value, path: String) -> Option<String> {
    match value {
        Value::String(s) if s.contains('\0') => Some(path),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| find_nul(item, format!("{path}[{i}]"))),
        Value::Object(map) => map.iter().find_map(|(key, item)| {
            let child = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            if key.contains('\0') {
                Some(child)
            } else {
                find_nul(item, child)
            }
        }),
        _ => None,
    }
}

/// Whether text that came from a URL holds a NUL character (see [`find_nul`]).
pub fn has_nul(text: &str) -> bool {
    text.contains('\0')
}

/// Query parameters with 400s in the API's error shape.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        if query.contains("%00") {
            return Err(ApiError::BadRequest {
                code: "invalid_query",
                message: "query parameters must not contain NUL characters".into(),
                field: None,
            });
        }
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn nul_characters_are_found_with_their_path() {
        let nested = json!({"a": [1, "ok", "b\u{0}"]});
        assert_eq!(find_nul(&nested, String::new()), Some("a[2]".into()));
        let key = json!({"x": {"k\u{0}": 1}});
        assert_eq!(find_nul(&key, String::new()), Some("x.k\u{0}".into()));
        assert_eq!(find_nul(&json!({"a": {"b": "fine"}}), String::new()), None);
    }
}

/// The client's address: the peer's, or, when the peer is a trusted proxy, the nearest
/// address in `X-Forwarded-For` that is not itself a trusted proxy.
pub struct ClientIp(pub std::net::IpAddr);

impl FromRequestParts<crate::state::AppState> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &crate::state::AppState,
    ) -> Result<ClientIp, ApiError> {
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|info| info.0.ip())
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("no peer address")))?;
        Ok(ClientIp(client_ip(
            peer,
            &parts.headers,
            &state.settings.trusted_proxies,
        )))
    }
}

fn client_ip(
    peer: std::net::IpAddr,
    headers: &axum::http::HeaderMap,
    trusted: &[ipnet::IpNet],
) -> std::net::IpAddr {
    let is_trusted = |ip: &std::net::IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let forwarded: Vec<std::net::IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|hop| hop.trim().parse().ok())
        .collect();
    // Read from the nearest hop outwards: each trusted proxy appended the one before it.
    forwarded
        .iter()
        .rev()
        .find(|ip| !is_trusted(ip))
        .or(forwarded.first())
        .copied()
        .unwrap_or(peer)
}

#[cfg(test)]
mod client_ip_tests {
    use super::*;

    fn ip(text: &str) -> std::net::IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn forwarded_addresses_count_only_behind_trusted_proxies() {
        let trusted: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            "1.1.1.1, 203.0.113.5, 10.0.0.7".parse().unwrap(),
        );
        // From a trusted proxy: the nearest untrusted hop, not what the client claims.
        assert_eq!(
            client_ip(ip("10.0.0.2"), &headers, &trusted),
            ip("203.0.113.5")
        );
        // From anyone else, the header is just text.
        assert_eq!(
            client_ip(ip("198.51.100.1"), &headers, &trusted),
            ip("198.51.100.1")
        );
        assert_eq!(client_ip(ip("10.0.0.2"), &headers, &[]), ip("10.0.0.2"));
        let mut garbage = axum::http::HeaderMap::new();
        garbage.insert("x-forwarded-for", "not an address".parse().unwrap());
        assert_eq!(
            client_ip(ip("10.0.0.2"), &garbage, &trusted),
            ip("10.0.0.2")
        );
    }
}
