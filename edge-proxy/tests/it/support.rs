use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Parser;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::sync::oneshot;

pub const EDGE_TOKEN: &str = "edge-tests-pre-shared-token";

/// A control plane with an admin, project `shop` and boolean flag `checkout`.
pub struct ControlPlane {
    pub address: SocketAddr,
    pub http: reqwest::Client,
    pub csrf: String,
    stop: Option<oneshot::Sender<()>>,
}

impl ControlPlane {
    /// Another control-plane process on the same database, serving on its own port.
    pub async fn replica(db: PgPool) -> (SocketAddr, oneshot::Sender<()>) {
        ControlPlane::replica_at(db, "127.0.0.1:0".parse().unwrap()).await
    }

    /// A control-plane process on `address` (port 0 for any), as a restarted one would
    /// come back on its old address.
    pub async fn replica_at(db: PgPool, address: SocketAddr) -> (SocketAddr, oneshot::Sender<()>) {
        ControlPlane::replica_with(db, address, togglerino_control_plane::Settings::default()).await
    }

    /// A control-plane process with `settings` (the edge token is set here).
    pub async fn replica_with(
        db: PgPool,
        address: SocketAddr,
        settings: togglerino_control_plane::Settings,
    ) -> (SocketAddr, oneshot::Sender<()>) {
        let listener = tokio::net::TcpListener::bind(address).await.unwrap();
        let address = listener.local_addr().unwrap();
        let settings = togglerino_control_plane::Settings {
            edge_token_hash: Some(togglerino_control_plane::auth::secrets::hash(EDGE_TOKEN)),
            ..settings
        };
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(togglerino_control_plane::run(
            listener,
            togglerino_control_plane::AppState::new(db, settings),
            async move {
                let _ = stopped.await;
            },
        ));
        (address, stop)
    }

    pub async fn start(db: PgPool) -> ControlPlane {
        ControlPlane::start_with(db, togglerino_control_plane::Settings::default()).await
    }

    pub async fn start_with(
        db: PgPool,
        settings: togglerino_control_plane::Settings,
    ) -> ControlPlane {
        let (address, stop) =
            ControlPlane::replica_with(db, "127.0.0.1:0".parse().unwrap(), settings).await;
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .unwrap();
        let setup: Value = http
            .post(format!("http://{address}/api/v1/auth/setup"))
            .json(&json!({"email": "admin@example.com", "password": "admin-password"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let control_plane = ControlPlane {
            address,
            http,
            csrf: setup["csrf_token"].as_str().unwrap().to_owned(),
            stop: Some(stop),
        };
        control_plane
            .call(
                "POST",
                "/api/v1/projects",
                json!({"key": "shop", "name": "Shop"}),
            )
            .await;
        control_plane
            .call(
                "POST",
                "/api/v1/projects/shop/flags",
                json!({"key": "checkout", "name": "Checkout", "type": "boolean", "default_value": false}),
            )
            .await;
        control_plane
    }

    pub async fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let response = self
            .http
            .request(method, format!("http://{}{path}", self.address))
            .header("x-csrf-token", &self.csrf)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.json().await.unwrap_or(Value::Null)
    }

    /// A new SDK key for an environment of `shop`.
    pub async fn sdk_key(&self, environment: &str) -> (String, String) {
        let created = self
            .call(
                "POST",
                &format!("/api/v1/projects/shop/environments/{environment}/sdk-keys"),
                json!({"name": "app", "kind": "server"}),
            )
            .await;
        (
            created["key"].as_str().unwrap().to_owned(),
            created["id"].as_str().unwrap().to_owned(),
        )
    }

    /// Turns `checkout` on or off in an environment.
    pub async fn toggle(&self, environment: &str, enabled: bool) {
        let path = format!("/api/v1/projects/shop/flags/checkout/environments/{environment}");
        let current: Value = self
            .http
            .get(format!("http://{}{path}", self.address))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        self.call(
            "POST",
            &format!("{path}/toggle"),
            json!({"enabled": enabled, "version": current["version"]}),
        )
        .await;
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// `GET path` of the management API, as the admin, and its JSON.
    pub async fn get(&self, path: &str) -> Value {
        self.http
            .get(format!("{}{path}", self.url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// One environment of `shop` as the control plane publishes it to edges.
    pub async fn published(&self, environment: &str) -> Value {
        published(&self.url(), environment).await
    }

    pub fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Shuts an edge down.
pub struct Stopper {
    stop: oneshot::Sender<()>,
    running: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Stopper {
    pub async fn stop(self) {
        let _ = self.stop.send(());
        self.running.await.unwrap().unwrap();
    }
}

/// An edge following `upstream`.
pub struct Edge {
    pub address: SocketAddr,
    pub http: reqwest::Client,
}

impl Edge {
    pub async fn start(upstream: &str, cache_dir: Option<PathBuf>) -> Edge {
        Edge::start_with(upstream, cache_dir, &[]).await
    }

    pub async fn start_with(upstream: &str, cache_dir: Option<PathBuf>, extra: &[&str]) -> Edge {
        Edge::start_stoppable(upstream, cache_dir, extra).await.0
    }

    /// An edge, and what shuts it down as a signal would: `Stopper::stop` returns once
    /// `run` has returned.
    pub async fn start_stoppable(
        upstream: &str,
        cache_dir: Option<PathBuf>,
        extra: &[&str],
    ) -> (Edge, Stopper) {
        let mut args = vec![
            "togglerino-edge".to_owned(),
            "--upstream-url".into(),
            upstream.into(),
            "--edge-token".into(),
            EDGE_TOKEN.into(),
            "--poll-interval".into(),
            "60s".into(),
        ];
        args.extend(extra.iter().map(|a| a.to_string()));
        if let Some(dir) = cache_dir {
            args.extend(["--cache-dir".into(), dir.display().to_string()]);
        }
        let config = togglerino_edge_proxy::config::Config::parse_from(args);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let state = togglerino_edge_proxy::AppState::new(&config);
        let (stop, stopped) = oneshot::channel::<()>();
        let running = tokio::spawn(togglerino_edge_proxy::run(
            listener,
            state,
            config.poll_interval,
            async move {
                if stopped.await.is_err() {
                    // Dropped without a stop: run for as long as the test does.
                    std::future::pending::<()>().await;
                }
            },
        ));
        let edge = Edge {
            address,
            http: reqwest::Client::new(),
        };
        (edge, Stopper { stop, running })
    }

    pub async fn ready_status(&self) -> StatusCode {
        self.http
            .get(format!("http://{}/readyz", self.address))
            .send()
            .await
            .unwrap()
            .status()
    }

    /// Waits until the edge has a snapshot.
    pub async fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while self.ready_status().await != StatusCode::OK {
            assert!(Instant::now() < deadline, "the edge never became ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn evaluate(
        &self,
        key: &str,
        path: &str,
        body: Value,
    ) -> (StatusCode, Option<String>, Value) {
        let response = self
            .http
            .post(format!("http://{}/api/v1/evaluate/{path}", self.address))
            .bearer_auth(key)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let revision = response
            .headers()
            .get("x-togglerino-revision")
            .map(|v| v.to_str().unwrap().to_owned());
        (
            status,
            revision,
            response.json().await.unwrap_or(Value::Null),
        )
    }

    /// Polls until `checkout` evaluates with `reason`; how long it took.
    pub async fn wait_for_reason(&self, key: &str, environment: &str, reason: &str) -> Duration {
        let started = Instant::now();
        loop {
            let (_, _, body) = self
                .evaluate(key, &format!("shop/{environment}/checkout"), json!({}))
                .await;
            if body["reason"] == reason {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "still {body} after 15 s"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// The value of the first sample line starting with `prefix` in an edge's metrics.
/// One environment of `shop` as the server at `base` (a control plane or an edge) serves
/// it to edges.
pub async fn published(base: &str, environment: &str) -> Value {
    let response = reqwest::Client::new()
        .get(format!(
            "{base}/api/v1/edge/environments/shop/{environment}"
        ))
        .bearer_auth(EDGE_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

pub fn sample<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
}

impl Edge {
    pub async fn metrics(&self) -> String {
        self.http
            .get(format!("http://{}/metrics", self.address))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }
}
