//! The shipped binary itself: configuration errors, migrations, serving and shutdown.

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use togglerino_control_plane::{AppState, Settings, run};

const BINARY: &str = env!("CARGO_BIN_EXE_togglerino-control-plane");

fn run_binary(args: &[&str]) -> Output {
    Command::new(BINARY)
        .args(args)
        .env_remove("DATABASE_URL")
        .output()
        .expect("the binary runs")
}

fn database_url(pool: &PgPool) -> String {
    let database = pool.connect_options().get_database().unwrap().to_owned();
    format!("postgres://postgres@127.0.0.1:5432/{database}")
}

#[track_caller]
fn assert_one_line_failure(output: &Output, expected: &str) {
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains(expected), "{stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("backtrace"),
        "{stderr}"
    );
}

#[test]
fn a_malformed_database_url_is_one_clear_line() {
    let output = run_binary(&["--database-url", "mysql://localhost/x"]);
    assert_one_line_failure(&output, "malformed DATABASE_URL");
    let output = run_binary(&["migrate", "--database-url", "postgres://:::"]);
    assert_one_line_failure(&output, "malformed DATABASE_URL");
}

#[test]
fn an_unreachable_database_is_one_clear_line() {
    let output = run_binary(&["--database-url", "postgres://postgres@127.0.0.1:1/nothing"]);
    assert_one_line_failure(&output, "cannot connect to the database");
}

#[test]
fn every_option_is_documented_with_its_variable() {
    let help = String::from_utf8(run_binary(&["serve", "--help"]).stdout).unwrap();
    for expected in [
        "--listen",
        "TOGGLERINO_LISTEN",
        "--database-url",
        "DATABASE_URL",
        "--cookie-secure",
        "--cors-origin",
        "--log-format",
        "--edge-token",
        "TOGGLERINO_EDGE_TOKEN",
        "--setup-token",
        "TOGGLERINO_SETUP_TOKEN",
        "--admin-email",
        "TOGGLERINO_ADMIN_EMAIL",
        "--admin-password",
        "TOGGLERINO_ADMIN_PASSWORD",
        "--trusted-proxy",
        "TOGGLERINO_TRUSTED_PROXIES",
        "--metrics-token",
        "TOGGLERINO_METRICS_TOKEN",
    ] {
        assert!(help.contains(expected), "{expected} missing from:\n{help}");
    }
}

#[sqlx::test(migrations = false)]
async fn replicas_migrating_at_once_apply_each_migration_once(db: PgPool) {
    let url = database_url(&db);
    let children: Vec<_> = (0..3)
        .map(|_| {
            Command::new(BINARY)
                .args(["migrate", "--database-url", &url])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(
        applied,
        togglerino_control_plane::db::MIGRATOR.iter().count() as i64
    );
}

#[sqlx::test(migrations = false)]
async fn the_binary_migrates_serves_and_stops_on_sigterm(db: PgPool) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(BINARY)
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--database-url",
            &database_url(&db),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let mut ready = None;
    for _ in 0..100 {
        if let Ok(response) = client
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
        {
            ready = Some(response);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ready = ready.expect("the server came up");
    assert_eq!(ready.status(), StatusCode::OK);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    let health = client
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(users, 0, "serving applied the migrations");

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let mut exited = None;
    for _ in 0..100 {
        if let Some(status) = child.try_wait().unwrap() {
            exited = Some(status);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(exited.expect("stopped within 10 s").success());
}

#[tokio::test]
async fn readiness_fails_while_the_database_is_unreachable() {
    let pool = PgPoolOptions::new()
        .acquire_timeout(Duration::from_millis(500))
        .connect_lazy("postgres://postgres@127.0.0.1:1/nothing")
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(run(
        listener,
        AppState::new(pool, Settings::default()),
        std::future::pending(),
    ));
    let response = reqwest::get(format!("http://{address}/readyz"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["database"], "unreachable");
    let health = reqwest::get(format!("http://{address}/healthz"))
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
}

/// Starts the binary on a free port with `env`, stderr piped; waits until it is ready.
async fn serve_binary(db: &PgPool, env: &[(&str, &str)]) -> (std::process::Child, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(BINARY)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env("DATABASE_URL", database_url(db))
        .env("TOGGLERINO_LOG_FORMAT", "text")
        .env("RUST_LOG", "info")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if reqwest::get(format!("{url}/readyz")).await.is_ok() {
            return (child, url);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the control plane never came up");
}

fn stop(child: std::process::Child) -> String {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let output = child.wait_with_output().unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[sqlx::test(migrations = false)]
async fn a_new_instance_logs_the_setup_token_that_remote_setup_needs(db: PgPool) {
    let (child, url) = serve_binary(&db, &[]).await;
    let setup = |token: &str| {
        reqwest::Client::new()
            .post(format!("{url}/api/v1/auth/setup"))
            .header("x-forwarded-for", "198.51.100.7")
            .json(&serde_json::json!({
                "email": "owner@example.com",
                "password": "owner-password",
                "setup_token": token,
            }))
            .send()
    };
    assert_eq!(
        setup("tgs_guessed").await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let log = stop(child);
    let token = log
        .split_whitespace()
        .find(|word| word.starts_with("tgs_"))
        .unwrap_or_else(|| panic!("no setup token in the log:\n{log}"))
        .trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .to_owned();
    let (child, url2) = serve_binary(&db, &[("TOGGLERINO_SETUP_TOKEN", &token)]).await;
    let response = reqwest::Client::new()
        .post(format!("{url2}/api/v1/auth/setup"))
        .header("x-forwarded-for", "198.51.100.7")
        .json(&serde_json::json!({
            "email": "owner@example.com",
            "password": "owner-password",
            "setup_token": token,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let log = stop(child);
    assert!(!log.contains(&token), "a configured token is never printed");
}

#[sqlx::test(migrations = false)]
async fn the_first_admin_can_come_from_configuration(db: PgPool) {
    let env = [
        ("TOGGLERINO_ADMIN_EMAIL", "ops@example.com"),
        ("TOGGLERINO_ADMIN_PASSWORD", "from-a-kubernetes-secret"),
    ];
    let (child, url) = serve_binary(&db, &env).await;
    let status: serde_json::Value = reqwest::get(format!("{url}/api/v1/auth/status"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["setup_required"], false);
    let login = reqwest::Client::new()
        .post(format!("{url}/api/v1/auth/login"))
        .json(&serde_json::json!({"email": "ops@example.com", "password": "from-a-kubernetes-secret"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::OK);
    let log = stop(child);
    assert!(!log.contains("tgs_"), "no setup token once an admin exists");
    assert!(!log.contains("from-a-kubernetes-secret"));

    // Restarted with the same configuration: nothing changes, no second admin.
    let (child, _) = serve_binary(&db, &env).await;
    stop(child);
    let admins: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(admins, 1);
}
