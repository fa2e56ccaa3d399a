//! Header rules of the snapshot protocol, shared by every server that serves snapshots
//! (the control plane, and edges serving other edges). Plain strings in, so the crate
//! stays free of any HTTP framework.

/// Whether `Accept-Encoding` header values allow gzip (present, and not `q=0`).
pub fn accepts_gzip<'a>(accept_encoding: impl IntoIterator<Item = &'a str>) -> bool {
    accept_encoding
        .into_iter()
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or_default().trim();
            let refused = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q == 0.0)
            });
            name.eq_ignore_ascii_case("gzip") && !refused
        })
}

/// Whether `If-None-Match` header values name one of `etags` (or are `*`). Weak
/// comparison, as RFC 9110 asks for `If-None-Match`.
pub fn if_none_match<'a>(if_none_match: impl IntoIterator<Item = &'a str>, etags: &[&str]) -> bool {
    if_none_match
        .into_iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|tag| tag == "*" || etags.contains(&tag.trim_start_matches("W/")))
}

/// The answer to `GET /api/v1/edge/environments/{project}/{env}`, served by control
/// planes and by edges to downstream edges alike: 304 when `If-None-Match` names either
/// representation's validator, else the JSON (gzipped when accepted), with `ETag`,
/// `Vary` and `Cache-Control`. Each body is only made when it is sent.
#[cfg(feature = "process")]
pub fn snapshot_response(
    headers: &axum::http::HeaderMap,
    etag: &str,
    json: impl FnOnce() -> bytes_of::Bytes,
    gzip: impl FnOnce() -> bytes_of::Bytes,
) -> axum::response::Response {
    use axum::http::header::{
        ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, ETAG, IF_NONE_MATCH, VARY,
    };
    use axum::http::{HeaderName, HeaderValue, StatusCode};
    use axum::response::IntoResponse;

    let values = |name: HeaderName| {
        headers
            .get_all(name)
            .into_iter()
            .filter_map(|v| v.to_str().ok())
    };
    let gzipped_etag = gzip_etag(etag);
    let wants_gzip = accepts_gzip(values(ACCEPT_ENCODING));
    let mut response = if if_none_match(values(IF_NONE_MATCH), &[etag, &gzipped_etag]) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let body = if wants_gzip { gzip() } else { json() };
        let mut response = body.into_response();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if wants_gzip {
            headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        response
    };
    let served = if wants_gzip {
        gzipped_etag
    } else {
        etag.to_owned()
    };
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&served) {
        headers.insert(ETAG, value);
    }
    headers.insert(VARY, HeaderValue::from_static("accept-encoding"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

#[cfg(feature = "process")]
use axum::body as bytes_of;

/// A snapshot as served to edges: its JSON, that JSON gzipped, and the strong validator
/// of the JSON (the gzip body's is [`gzip_etag`] of it). Made once per snapshot version.
#[cfg(feature = "process")]
pub struct Served {
    pub json: bytes_of::Bytes,
    pub gzip: bytes_of::Bytes,
    pub etag: String,
}

#[cfg(feature = "process")]
impl Served {
    pub fn of(snapshot: &crate::model::Snapshot) -> Served {
        use sha2::{Digest, Sha256};
        use std::io::Write;

        let json = serde_json::to_vec(snapshot).expect("snapshots serialize");
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder
            .write_all(&json)
            .expect("writing to memory cannot fail");
        let gzip = encoder.finish().expect("writing to memory cannot fail");
        let etag = format!("\"{}\"", hex::encode(&Sha256::digest(&json)[..16]));
        Served {
            json: json.into(),
            gzip: gzip.into(),
            etag,
        }
    }

    /// The response to a request for this snapshot (see [`snapshot_response`]).
    pub fn response(&self, headers: &axum::http::HeaderMap) -> axum::response::Response {
        snapshot_response(
            headers,
            &self.etag,
            || self.json.clone(),
            || self.gzip.clone(),
        )
    }
}

/// The validator of a gzip body, derived from the strong validator of the plain one: a
/// strong ETag names one exact representation, so the two must differ.
pub fn gzip_etag(etag: &str) -> String {
    format!("{}-gzip\"", etag.trim_end_matches('"'))
}

/// Headers every API answer of both servers carries, unless the handler chose its own:
/// no content sniffing, no framing, no referrer leaks, and (with `no_store`, for answers
/// about people and secrets) no caching.
#[cfg(feature = "process")]
pub fn secure_defaults(headers: &mut axum::http::HeaderMap, no_store: bool) {
    use axum::http::HeaderValue;
    use axum::http::header::{
        CACHE_CONTROL, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
    };

    let defaults = [
        (X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (X_FRAME_OPTIONS, "DENY"),
        (REFERRER_POLICY, "no-referrer"),
    ];
    for (name, value) in defaults {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    }
    if no_store {
        headers
            .entry(CACHE_CONTROL)
            .or_insert(HeaderValue::from_static("no-store"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_is_used_only_when_accepted() {
        assert!(!accepts_gzip([]));
        assert!(accepts_gzip(["br, GZIP;q=0.5"]));
        assert!(!accepts_gzip(["gzip;q=0, br"]));
        assert!(!accepts_gzip(["gzip; q=0.000"]));
        assert!(accepts_gzip(["identity", "gzip"]));
    }

    #[test]
    fn if_none_match_accepts_lists_weak_tags_and_stars() {
        assert!(if_none_match(["\"a\", W/\"b\""], &["\"b\""]));
        assert!(!if_none_match(["\"a\""], &["\"c\""]));
        assert!(if_none_match(["*"], &["\"c\""]));
        assert!(!if_none_match([], &["\"c\""]));
        assert_eq!(gzip_etag("\"abc\""), "\"abc-gzip\"");
    }
}
