//! The dashboard, embedded: `dashboard/dist` (built by `npm run build` in `dashboard/`)
//! is compiled into the binary (debug builds too). Any GET outside
//! the API serves a file of it, or `index.html` so the browser app can route deep links
//! itself. Without a built dashboard, a page says how to build one.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use rust_embed::Embed;

use crate::error::ApiError;

#[derive(Embed)]
#[folder = "../dashboard/dist/"]
#[allow_missing = true]
struct Assets;

/// Scripts and styles only from this origin; never framed (clickjacking).
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data:; \
     style-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

const NOT_BUILT: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Togglerino</title></head>
<body>
<h1>Togglerino is running, but its dashboard was not built</h1>
<p>This control plane was compiled without <code>dashboard/dist</code>. Build the dashboard
and then the control plane again:</p>
<pre>cd dashboard &amp;&amp; npm ci &amp;&amp; npm run build &amp;&amp; cd ..
cargo build --release -p togglerino-control-plane</pre>
<p>The API works meanwhile: see <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.</p>
</body></html>
"#;

/// Answers every request no route claimed: the API's JSON 404 under `/api`, the
/// dashboard elsewhere.
pub async fn fallback(request: Request) -> Response {
    let path = request.uri().path();
    if path.starts_with("/api/") || path == "/api" {
        return crate::routes::unknown_route().await.into_response();
    }
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return ApiError::MethodNotAllowed.into_response();
    }
    let file = path.trim_start_matches('/');
    let if_none_match: Vec<&str> = request
        .headers()
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if let Some(asset) = Assets::get(file).filter(|_| !file.is_empty()) {
        let immutable = file.starts_with("assets/");
        return asset_response(asset, immutable, &if_none_match);
    }
    // A path that names a file (has an extension) and is not there is a real 404;
    // anything else is a screen of the browser app.
    let last = file.rsplit('/').next().unwrap_or_default();
    if last.contains('.') {
        return ApiError::not_found("not_found", "file").into_response();
    }
    match Assets::get("index.html") {
        Some(index) => asset_response(index, false, &if_none_match),
        None => with_security_headers(Html(NOT_BUILT).into_response()),
    }
}

fn asset_response(
    asset: rust_embed::EmbeddedFile,
    immutable: bool,
    if_none_match: &[&str],
) -> Response {
    let etag = format!("\"{}\"", hex::encode(&asset.metadata.sha256_hash()[..16]));
    let unchanged = togglerino_shared::http::if_none_match(if_none_match.iter().copied(), &[&etag]);
    let mime = asset.metadata.mimetype();
    let mut response = if unchanged {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        response
    } else {
        Response::new(Body::from(asset.data.into_owned()))
    };
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(mime) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    // Vite names built assets by content hash: they never change. index.html must be
    // revalidated, so a new release is picked up at once.
    let cache = if immutable {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    with_security_headers(response)
}

fn with_security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}
