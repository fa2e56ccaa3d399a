//! Browser sessions: a 256-bit random id in an HttpOnly cookie, stored only as its hash,
//! and a CSRF token derived from the id.

use axum::http::HeaderMap;
use axum::http::header::COOKIE;
use sha2::{Digest, Sha256};
use time::Duration;

pub const COOKIE_NAME: &str = "togglerino_session";
pub const CSRF_HEADER: &str = "x-csrf-token";
pub const LIFETIME: Duration = Duration::days(7);

/// The session id from the request's cookies.
pub fn from_cookies(headers: &HeaderMap) -> Option<&str> {
    // Our own cookie value is plain hex, so a simple split finds it; we never need to
    // decode anyone else's cookies.
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.trim())
        .filter(|value| !value.is_empty())
}

/// The CSRF token of a session: a one-way function of the session id, so it needs no
/// storage, and knowing it (or the stored hash of the id) reveals nothing about the id.
pub fn csrf_token(session_id: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"togglerino-csrf/");
    hasher.update(session_id.as_bytes());
    hex::encode(hasher.finalize())
}

/// `Set-Cookie` for a new session.
pub fn set_cookie(session_id: &str, secure: bool) -> String {
    format!(
        "{COOKIE_NAME}={session_id}; HttpOnly; SameSite=Lax; Path=/; Max-Age={}{}",
        LIFETIME.whole_seconds(),
        if secure { "; Secure" } else { "" }
    )
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear_cookie(secure: bool) -> String {
    format!(
        "{COOKIE_NAME}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0{}",
        if secure { "; Secure" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn finds_the_session_among_other_cookies() {
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::from_static("theme=dark; togglerino_session=abc123; x=1"),
        );
        assert_eq!(from_cookies(&headers), Some("abc123"));
        headers.insert(COOKIE, HeaderValue::from_static("togglerino_session="));
        assert_eq!(from_cookies(&headers), None);
    }

    #[test]
    fn cookies_are_http_only_and_same_site() {
        let cookie = set_cookie("abc", true);
        assert_eq!(
            cookie,
            "togglerino_session=abc; HttpOnly; SameSite=Lax; Path=/; Max-Age=604800; Secure"
        );
        assert!(!set_cookie("abc", false).contains("Secure"));
        assert_ne!(csrf_token("a"), csrf_token("b"));
    }
}
