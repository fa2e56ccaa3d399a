use std::path::Path;

use reqwest::{Method, StatusCode, header};
use sqlx::PgPool;

use crate::support::{Server, assert_error};

/// scripts/test builds the dashboard before the Rust tests; a plain `cargo test`
/// without Node gets the page that says how to build it.
fn dashboard_built() -> bool {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../dashboard/dist/index.html")
        .exists()
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn the_dashboard_is_served_beside_the_api(db: PgPool) {
    let server = Server::start(db).await;
    let http = reqwest::Client::new();
    let base = format!("http://{}", server.address);

    let root = http.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(root.status(), StatusCode::OK);
    let csp = root.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(
        root.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = root.text().await.unwrap();

    // A deep link into the browser app gets the same page, so reloading any screen works.
    let deep = http
        .get(format!("{base}/projects/shop/flags?q=new"))
        .send()
        .await
        .unwrap();
    assert_eq!(deep.status(), StatusCode::OK);
    assert_eq!(deep.text().await.unwrap(), page);

    // The API keeps its JSON errors; missing files are 404s, not the app.
    let anonymous = server.anonymous();
    assert_error(
        &anonymous.get("/api/v1/no-such-route").await,
        StatusCode::NOT_FOUND,
        "route_not_found",
    );
    let missing = http.get(format!("{base}/missing.js")).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let post = anonymous.call(Method::POST, "/projects", None).await;
    assert_eq!(post.0, StatusCode::METHOD_NOT_ALLOWED);

    if !dashboard_built() {
        assert!(page.contains("dashboard was not built"), "{page}");
        assert!(page.contains("npm run build"), "{page}");
        return;
    }
    assert!(page.contains(r#"<div id="root">"#), "{page}");
    // Built assets are named by content and cached for good; index.html revalidates.
    let script = page
        .split('"')
        .find(|part| part.starts_with("/assets/") && part.ends_with(".js"))
        .expect("index.html loads a script from /assets/");
    let asset = http.get(format!("{base}{script}")).send().await.unwrap();
    assert_eq!(asset.status(), StatusCode::OK);
    assert!(
        asset.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .contains("javascript")
    );
    assert!(
        asset.headers()[header::CACHE_CONTROL]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    let etag = asset.headers()[header::ETAG].clone();
    let again = http
        .get(format!("{base}{script}"))
        .header(header::IF_NONE_MATCH, etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
}
