use reqwest::{Method, StatusCode};
use serde_json::json;
use sqlx::PgPool;

use crate::support::{Server, assert_error};

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn setup_creates_the_first_admin_once(db: PgPool) {
    let server = Server::start(db).await;
    let anonymous = server.anonymous();
    assert_eq!(
        anonymous.get("/api/v1/auth/status").await.1,
        json!({"setup_required": true, "setup_token_required": false})
    );

    let response = anonymous
        .request(
            Method::POST,
            "/api/v1/auth/setup",
            Some(json!({"email": "Admin@Example.com", "password": "admin-password"})),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("togglerino_session="), "{cookie}");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=604800"] {
        assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
    }
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["user"]["role"], "admin");
    assert_eq!(body["user"]["email"], "Admin@Example.com");

    assert_eq!(
        anonymous.get("/api/v1/auth/status").await.1,
        json!({"setup_required": false, "setup_token_required": false})
    );
    let again = server
        .anonymous()
        .post(
            "/api/v1/auth/setup",
            json!({"email": "other@example.com", "password": "other-password"}),
        )
        .await;
    assert_error(&again, StatusCode::CONFLICT, "setup_complete");
    // Refused before the password is even looked at, let alone hashed.
    let weak = server
        .anonymous()
        .post(
            "/api/v1/auth/setup",
            json!({"email": "other@example.com", "password": "x"}),
        )
        .await;
    assert_error(&weak, StatusCode::CONFLICT, "setup_complete");
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn setup_from_another_machine_needs_the_setup_token(db: PgPool) {
    let settings = togglerino_control_plane::Settings {
        setup_token_hash: Some(togglerino_control_plane::auth::secrets::hash(
            "tgs_the-setup-token",
        )),
        ..Default::default()
    };
    let server = Server::start_with(db, settings).await;
    // Through a proxy the peer is this machine, but the visitor is not.
    let remote = |body: serde_json::Value| {
        server
            .anonymous()
            .request(Method::POST, "/api/v1/auth/setup", Some(body))
            .header("x-forwarded-for", "203.0.113.9")
            .send()
    };
    let status: serde_json::Value = server
        .anonymous()
        .request(Method::GET, "/api/v1/auth/status", None)
        .header("forwarded", "for=203.0.113.9")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        status,
        json!({"setup_required": true, "setup_token_required": true})
    );
    for token in [None, Some("tgs_wrong"), Some("")] {
        let mut body = json!({"email": "thief@example.com", "password": "thief-password"});
        if let Some(token) = token {
            body["setup_token"] = json!(token);
        }
        let response = remote(body).await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{token:?}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "setup_token_required");
    }
    assert_eq!(
        server.anonymous().get("/api/v1/auth/status").await.1["setup_required"],
        true
    );
    let response = remote(json!({
        "email": "owner@example.com",
        "password": "owner-password",
        "setup_token": "tgs_the-setup-token"
    }))
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn guessing_the_setup_token_is_throttled(db: PgPool) {
    let settings = togglerino_control_plane::Settings {
        setup_token_hash: Some(togglerino_control_plane::auth::secrets::hash("tgs_real")),
        ..Default::default()
    };
    let server = Server::start_with(db, settings).await;
    let mut statuses = Vec::new();
    for i in 0..22 {
        let response = server
            .anonymous()
            .request(
                Method::POST,
                "/api/v1/auth/setup",
                Some(json!({"email": "x@example.com", "password": "x-password", "setup_token": format!("tgs_guess{i}")})),
            )
            .header("x-forwarded-for", "203.0.113.9")
            .send()
            .await
            .unwrap();
        statuses.push(response.status());
    }
    assert_eq!(statuses[..20], [StatusCode::FORBIDDEN; 20]);
    assert_eq!(statuses[20..], [StatusCode::TOO_MANY_REQUESTS; 2]);
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn concurrent_setups_create_exactly_one_admin(db: PgPool) {
    let server = Server::start(db.clone()).await;
    let (a, b) = (server.anonymous(), server.anonymous());
    let (first, second) = tokio::join!(
        a.post(
            "/api/v1/auth/setup",
            json!({"email": "a@example.com", "password": "password-a"})
        ),
        b.post(
            "/api/v1/auth/setup",
            json!({"email": "b@example.com", "password": "password-b"})
        ),
    );
    let mut statuses = [first.0, second.0];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::CREATED, StatusCode::CONFLICT]);
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(users, 1);
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn setup_rejects_weak_passwords_and_bad_emails(db: PgPool) {
    let server = Server::start(db).await;
    let api = server.anonymous();
    let short = api
        .post(
            "/api/v1/auth/setup",
            json!({"email": "a@example.com", "password": "1234567"}),
        )
        .await;
    assert_error(
        &short,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(short.1["error"]["field"], "password");
    let email = api
        .post(
            "/api/v1/auth/setup",
            json!({"email": "not an email", "password": "12345678"}),
        )
        .await;
    assert_error(
        &email,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(email.1["error"]["field"], "email");
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn wrong_password_and_unknown_email_fail_alike(db: PgPool) {
    let server = Server::start(db).await;
    server.admin().await;
    let api = server.anonymous();
    let wrong = api
        .post(
            "/api/v1/auth/login",
            json!({"email": "admin@example.com", "password": "nope-nope"}),
        )
        .await;
    let unknown = api
        .post(
            "/api/v1/auth/login",
            json!({"email": "who@example.com", "password": "nope-nope"}),
        )
        .await;
    assert_error(&wrong, StatusCode::UNAUTHORIZED, "invalid_credentials");
    assert_eq!(wrong, unknown);
    // Emails match case-insensitively.
    server.login("ADMIN@example.com", "admin-password").await;
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn repeated_logins_for_one_email_are_rate_limited(db: PgPool) {
    let server = Server::start(db).await;
    server.admin().await;
    let api = server.anonymous();
    let mut limited = None;
    for _ in 0..30 {
        let response = api
            .request(
                Method::POST,
                "/api/v1/auth/login",
                Some(json!({"email": "admin@example.com", "password": "guess-guess"})),
            )
            .send()
            .await
            .unwrap();
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(response);
            break;
        }
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let limited = limited.expect("the limiter never answered 429");
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1);
    let body: serde_json::Value = limited.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn cookie_writes_need_the_csrf_token(db: PgPool) {
    let server = Server::start(db).await;
    let mut admin = server.admin().await;
    let (status, me) = admin.get("/api/v1/auth/me").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["role"], "admin");
    assert_eq!(me["type"], "user");
    assert_eq!(me["csrf_token"], json!(admin.csrf.clone().unwrap()));

    let token = admin.csrf.take();
    let body = json!({"name": "ci", "role": "viewer"});
    assert_error(
        &admin.post("/api/v1/api-tokens", body.clone()).await,
        StatusCode::FORBIDDEN,
        "csrf_failed",
    );
    admin.csrf = Some("0".repeat(64));
    assert_error(
        &admin.post("/api/v1/api-tokens", body.clone()).await,
        StatusCode::FORBIDDEN,
        "csrf_failed",
    );
    admin.csrf = token;
    assert_eq!(
        admin.post("/api/v1/api-tokens", body).await.0,
        StatusCode::CREATED
    );
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn logout_ends_the_session(db: PgPool) {
    let server = Server::start(db.clone()).await;
    let admin = server.admin().await;
    assert_eq!(
        admin.post("/api/v1/auth/logout", json!({})).await.0,
        StatusCode::NO_CONTENT
    );
    assert_error(
        &admin.get("/api/v1/auth/me").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    let sessions: i64 = sqlx::query_scalar("SELECT count(*) FROM sessions")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(sessions, 0);
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn sessions_are_stored_only_as_hashes(db: PgPool) {
    let server = Server::start(db.clone()).await;
    let api = server.anonymous();
    let response = api
        .request(
            Method::POST,
            "/api/v1/auth/setup",
            Some(json!({"email": "a@example.com", "password": "password-a"})),
        )
        .send()
        .await
        .unwrap();
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    let session_id = cookie
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_owned();
    assert_eq!(session_id.len(), 64, "256 random bits in hex");
    let stored: Vec<Vec<u8>> = sqlx::query_scalar("SELECT id_hash FROM sessions")
        .fetch_all(&db)
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0], session_id.as_bytes());
    assert_eq!(stored[0].len(), 32);
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn changing_the_password_checks_the_old_one_and_signs_out_elsewhere(db: PgPool) {
    let server = Server::start(db).await;
    let admin = server.admin().await;
    let other_device = server.login("admin@example.com", "admin-password").await;

    let wrong = admin
        .put(
            "/api/v1/auth/password",
            json!({"current_password": "nope-nope", "new_password": "brand-new-password"}),
        )
        .await;
    assert_error(
        &wrong,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(wrong.1["error"]["field"], "current_password");
    let short = admin
        .put(
            "/api/v1/auth/password",
            json!({"current_password": "admin-password", "new_password": "short"}),
        )
        .await;
    assert_eq!(short.1["error"]["field"], "new_password");

    let changed = admin
        .put(
            "/api/v1/auth/password",
            json!({"current_password": "admin-password", "new_password": "brand-new-password"}),
        )
        .await;
    assert_eq!(changed.0, StatusCode::NO_CONTENT);
    assert_eq!(admin.get("/api/v1/auth/me").await.0, StatusCode::OK);
    assert_error(
        &other_device.get("/api/v1/auth/me").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    let old = server
        .anonymous()
        .post(
            "/api/v1/auth/login",
            json!({"email": "admin@example.com", "password": "admin-password"}),
        )
        .await;
    assert_error(&old, StatusCode::UNAUTHORIZED, "invalid_credentials");
    server
        .login("admin@example.com", "brand-new-password")
        .await;
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn bad_bodies_get_clear_client_errors(db: PgPool) {
    let server = Server::start(db).await;
    let admin = server.admin().await;
    let url = format!("{}/api/v1/api-tokens", admin.base);
    let send = |body: Vec<u8>, content_type: &'static str| {
        admin
            .http
            .post(&url)
            .header("x-csrf-token", admin.csrf.clone().unwrap())
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let malformed = send(b"{\"name\": ".to_vec(), "application/json")
        .await
        .unwrap();
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    let wrong_type = send(
        br#"{"name": 5, "role": "viewer"}"#.to_vec(),
        "application/json",
    )
    .await
    .unwrap();
    assert_eq!(wrong_type.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = wrong_type.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_json");
    assert_eq!(body["error"]["field"], "name");
    let form = send(
        b"name=x&role=viewer".to_vec(),
        "application/x-www-form-urlencoded",
    )
    .await
    .unwrap();
    assert_eq!(form.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let mut huge = br#"{"name": ""#.to_vec();
    huge.extend(std::iter::repeat_n(b'x', 1024 * 1024 + 1));
    huge.extend(br#"", "role": "viewer"}"#);
    let too_large = send(huge, "application/json").await.unwrap();
    assert_eq!(too_large.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: serde_json::Value = too_large.json().await.unwrap();
    assert_eq!(body["error"]["code"], "payload_too_large");
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn nul_characters_are_refused_not_stored(db: PgPool) {
    let server = Server::start(db).await;
    let admin = server.admin().await;
    let body = admin
        .post(
            "/api/v1/projects",
            json!({"key": "shop", "name": "Web\u{0}shop"}),
        )
        .await;
    assert_error(&body, StatusCode::BAD_REQUEST, "invalid_json");
    assert_eq!(body.1["error"]["field"], "name");
    let login = server
        .anonymous()
        .post(
            "/api/v1/auth/login",
            json!({"email": "a\u{0}@b.c", "password": "12345678"}),
        )
        .await;
    assert_error(&login, StatusCode::BAD_REQUEST, "invalid_json");
    assert_error(
        &admin.get("/api/v1/projects/sh%00op").await,
        StatusCode::NOT_FOUND,
        "route_not_found",
    );
    admin
        .post("/api/v1/projects", json!({"key": "shop", "name": "Shop"}))
        .await;
    assert_error(
        &admin.get("/api/v1/projects/shop/flags?q=a%00b").await,
        StatusCode::BAD_REQUEST,
        "invalid_query",
    );
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn expired_sessions_are_refused(db: PgPool) {
    let server = Server::start(db.clone()).await;
    let admin = server.admin().await;
    sqlx::query("UPDATE sessions SET expires_at = now() - interval '1 second'")
        .execute(&db)
        .await
        .unwrap();
    assert_error(
        &admin.get("/api/v1/auth/me").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn expired_sessions_are_swept_and_live_ones_kept(db: PgPool) {
    let server = Server::start(db.clone()).await;
    let admin = server.admin().await;
    let other = server.login("admin@example.com", "admin-password").await;
    let count = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM sessions")
            .fetch_one(&db)
            .await
            .unwrap()
    };
    assert_eq!(count().await, 2);
    // Expire the first session only.
    sqlx::query(
        "UPDATE sessions SET expires_at = now() - interval '1 second'
         WHERE id_hash = (SELECT id_hash FROM sessions ORDER BY created_at LIMIT 1)",
    )
    .execute(&db)
    .await
    .unwrap();
    let swept = togglerino_control_plane::db::sessions::sweep(&db)
        .await
        .unwrap();
    assert_eq!((swept, count().await), (1, 1));
    assert_eq!(other.get("/api/v1/auth/me").await.0, StatusCode::OK);
    assert_error(
        &admin.get("/api/v1/auth/me").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn browsers_may_call_only_from_configured_origins(db: PgPool) {
    let settings = togglerino_control_plane::Settings {
        cookie_secure: true,
        cors_origins: vec!["https://flags.example.com".into()],
        ..Default::default()
    };
    let server = Server::start_with(db, settings).await;
    let api = server.anonymous();
    let preflight = |origin: &'static str| {
        api.request(Method::OPTIONS, "/api/v1/projects", None)
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "content-type,x-csrf-token",
            )
            .send()
    };
    let allowed = preflight("https://flags.example.com").await.unwrap();
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://flags.example.com"
    );
    assert_eq!(
        allowed.headers()["access-control-allow-credentials"],
        "true"
    );
    let refused = preflight("https://evil.example").await.unwrap();
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );

    let response = api
        .request(
            Method::POST,
            "/api/v1/auth/setup",
            Some(json!({"email": "a@example.com", "password": "password-a"})),
        )
        .send()
        .await
        .unwrap();
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.ends_with("; Secure"), "{cookie}");
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn api_answers_carry_protective_headers(db: PgPool) {
    let server = Server::start(db).await;
    let api = server.anonymous();
    for (method, path) in [
        (Method::GET, "/api/v1/auth/status"),
        (Method::GET, "/api/v1/projects"),
        (Method::GET, "/api/v1/no-such-route"),
        (Method::POST, "/api/v1/auth/login"),
    ] {
        let response = api.request(method, path, None).send().await.unwrap();
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(headers["cache-control"], "no-store", "{path}");
    }
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn login_throttling_counts_real_clients_behind_trusted_proxies(db: PgPool) {
    let settings = togglerino_control_plane::Settings {
        trusted_proxies: vec!["127.0.0.1/32".parse().unwrap()],
        ..Default::default()
    };
    let server = Server::start_with(db, settings).await;
    server.admin().await;
    let api = server.anonymous();
    let attempt = |client: &'static str, email: &str, password: &str| {
        api.request(
            Method::POST,
            "/api/v1/auth/login",
            Some(json!({"email": email, "password": password})),
        )
        .header("x-forwarded-for", client)
        .send()
    };
    // One client spraying emails runs out of attempts…
    let mut statuses = Vec::new();
    for i in 0..25 {
        let email = format!("sprayed-{i}@example.com");
        statuses.push(
            attempt("203.0.113.1", &email, "guess-guess")
                .await
                .unwrap()
                .status(),
        );
    }
    // A burst of 20, then one every 2 s: the spray takes well under 2 s.
    let allowed = statuses
        .iter()
        .take_while(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    assert!((20..=21).contains(&allowed), "{statuses:?}");
    assert!(
        statuses[allowed..]
            .iter()
            .all(|s| *s == StatusCode::TOO_MANY_REQUESTS)
    );
    // …and its refused attempts at the admin's email cost the admin nothing.
    for _ in 0..15 {
        let refused = attempt("203.0.113.1", "admin@example.com", "guess-guess");
        assert_eq!(
            refused.await.unwrap().status(),
            StatusCode::TOO_MANY_REQUESTS
        );
    }
    // Another client, as told by the trusted proxy, is a client of its own.
    let admin = attempt("198.51.100.2", "admin@example.com", "admin-password");
    assert_eq!(admin.await.unwrap().status(), StatusCode::OK);
    // Oversized input is refused before anything is hashed or kept.
    let huge = format!("{}@example.com", "x".repeat(300));
    let response = attempt("198.51.100.3", &huge, "guess-guess").await.unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[sqlx::test(migrator = "togglerino_control_plane::db::MIGRATOR")]
async fn forwarded_addresses_from_untrusted_peers_are_ignored(db: PgPool) {
    let server = Server::start(db).await;
    let api = server.anonymous();
    let mut last = StatusCode::OK;
    for i in 0..21 {
        last = api
            .request(
                Method::POST,
                "/api/v1/auth/login",
                Some(json!({"email": format!("u{i}@example.com"), "password": "guess-guess"})),
            )
            .header("x-forwarded-for", format!("203.0.113.{i}"))
            .send()
            .await
            .unwrap()
            .status();
    }
    assert_eq!(
        last,
        StatusCode::TOO_MANY_REQUESTS,
        "one peer, however it signs"
    );
}
