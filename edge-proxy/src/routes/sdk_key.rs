//! The one gate SDK keys pass at the edge: where a request presents its key, which
//! snapshot the key may read, and nothing else. A key is valid in exactly one project
//! and environment; evaluation, OFREP, streams and usage reports all check it here.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use togglerino_shared::CompiledSnapshot;
use togglerino_shared::model::sdk_key_hash;

use crate::AppState;
use crate::error::EdgeError;
use crate::state::{KeyScope, Loaded};

/// A valid SDK key: the snapshots in service when it was checked, its scope, and its
/// hash (what streams hold on to; the key itself is never kept).
pub struct SdkKey {
    pub loaded: Arc<Loaded>,
    pub scope: Arc<KeyScope>,
    pub hash: [u8; 32],
}

/// The key from the request's headers; routes that also take `?sdk_key=` say so with
/// [`SdkKey::check`].
impl FromRequestParts<AppState> for SdkKey {
    type Rejection = EdgeError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<SdkKey, EdgeError> {
        SdkKey::check(state, key_from_headers(&parts.headers))
    }
}

impl SdkKey {
    /// Checks `presented` against the snapshots in service.
    pub fn check(state: &AppState, presented: Option<&str>) -> Result<SdkKey, EdgeError> {
        let presented = presented.ok_or(EdgeError::Unauthenticated)?;
        let loaded = state.store.load().ok_or(EdgeError::NotReady)?;
        let hash = sdk_key_hash(presented);
        let scope = loaded
            .key_scope(&hash)
            .cloned()
            .ok_or(EdgeError::Unauthenticated)?;
        Ok(SdkKey {
            loaded,
            scope,
            hash,
        })
    }

    /// The snapshot of `project`'s `environment`, if the key belongs to it.
    pub fn scoped(&self, project: &str, environment: &str) -> Result<&CompiledSnapshot, EdgeError> {
        if self.scope.project != project || self.scope.environment != environment {
            return Err(EdgeError::Forbidden);
        }
        self.snapshot()
    }

    /// The snapshot of the key's own environment.
    pub fn snapshot(&self) -> Result<&CompiledSnapshot, EdgeError> {
        self.loaded
            .environment(&self.scope.project, &self.scope.environment)
            .ok_or(EdgeError::Forbidden)
    }
}

/// The key from `Authorization: Bearer …` or `X-API-Key`.
pub fn key_from_headers(headers: &HeaderMap) -> Option<&str> {
    let bearer = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    bearer
        .or_else(|| headers.get("x-api-key").and_then(|v| v.to_str().ok()))
        .map(str::trim)
        .filter(|k| !k.is_empty())
}

/// The key from the headers, or else from `?sdk_key=`: for clients that cannot set
/// headers (browsers' `EventSource`, beacons).
pub fn key_from_headers_or_query<'a>(
    headers: &'a HeaderMap,
    query: Option<&'a str>,
) -> Option<&'a str> {
    key_from_headers(headers).or(query.map(str::trim).filter(|k| !k.is_empty()))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for &(name, value) in pairs {
            headers.insert(name, HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn a_key_comes_from_a_bearer_token_or_x_api_key() {
        let bearer = headers(&[("authorization", "Bearer sdk_1"), ("x-api-key", "sdk_2")]);
        assert_eq!(key_from_headers(&bearer), Some("sdk_1"));
        assert_eq!(
            key_from_headers(&headers(&[("x-api-key", " sdk_2 ")])),
            Some("sdk_2")
        );
        assert_eq!(
            key_from_headers(&headers(&[("authorization", "Basic abc")])),
            None
        );
        assert_eq!(key_from_headers(&headers(&[("x-api-key", "  ")])), None);
    }

    #[test]
    fn the_query_serves_only_clients_without_a_key_header() {
        let with_header = headers(&[("x-api-key", "sdk_header")]);
        assert_eq!(
            key_from_headers_or_query(&with_header, Some("sdk_query")),
            Some("sdk_header")
        );
        let none = HeaderMap::new();
        assert_eq!(
            key_from_headers_or_query(&none, Some("sdk_query")),
            Some("sdk_query")
        );
        assert_eq!(key_from_headers_or_query(&none, Some(" ")), None);
        assert_eq!(key_from_headers_or_query(&none, None), None);
    }
}
