use std::net::SocketAddr;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;
use togglerino_control_plane::{AppState, Settings, run};

/// A control plane serving one test's database.
pub struct Server {
    pub address: SocketAddr,
    pub db: PgPool,
}

impl Server {
    pub async fn start(db: PgPool) -> Server {
        Server::start_with(db, Settings::default()).await
    }

    pub async fn start_with(db: PgPool, settings: Settings) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let state = AppState::new(db.clone(), settings);
        tokio::spawn(run(listener, state, std::future::pending()));
        Server { address, db }
    }

    /// A client with no credentials.
    pub fn anonymous(&self) -> Api {
        Api {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .build()
                .unwrap(),
            base: format!("http://{}", self.address),
            csrf: None,
            bearer: None,
        }
    }

    /// Runs first-time setup and returns the signed-in admin.
    pub async fn admin(&self) -> Api {
        let mut api = self.anonymous();
        let (status, body) = api
            .post(
                "/api/v1/auth/setup",
                json!({"email": "admin@example.com", "password": "admin-password"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        api.csrf = Some(body["csrf_token"].as_str().unwrap().to_owned());
        api
    }

    /// Creates a user with `role` through `admin` and signs them in.
    pub async fn user(&self, admin: &Api, email: &str, role: &str) -> Api {
        let (status, body) = admin
            .post(
                "/api/v1/users",
                json!({"email": email, "role": role, "password": "user-password"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        self.login(email, "user-password").await
    }

    pub async fn login(&self, email: &str, password: &str) -> Api {
        let mut api = self.anonymous();
        let (status, body) = api
            .post(
                "/api/v1/auth/login",
                json!({"email": email, "password": password}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        api.csrf = Some(body["csrf_token"].as_str().unwrap().to_owned());
        api
    }

    /// A client authenticating with an API token of `role`, created by `admin`.
    pub async fn token(&self, admin: &Api, role: &str) -> Api {
        let (status, body) = admin
            .post(
                "/api/v1/api-tokens",
                json!({"name": format!("{role} bot"), "role": role}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let mut api = self.anonymous();
        api.bearer = Some(body["secret"].as_str().unwrap().to_owned());
        api
    }
}

/// A JSON client for one caller: a browser session (cookie + CSRF token) or a token.
pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
    pub csrf: Option<String>,
    pub bearer: Option<String>,
}

impl Api {
    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::DELETE, path, None).await
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let response = self.request(method, path, body).send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        let json = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, json)
    }

    pub fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> reqwest::RequestBuilder {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(csrf) = &self.csrf {
            request = request.header("x-csrf-token", csrf);
        }
        if let Some(token) = &self.bearer {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        request
    }
}

/// Asserts an error response: status, code, and (when given) the field it names.
#[track_caller]
pub fn assert_error(response: &(StatusCode, Value), status: StatusCode, code: &str) {
    assert_eq!(response.0, status, "{}", response.1);
    assert_eq!(response.1["error"]["code"], code, "{}", response.1);
    assert!(response.1["error"]["message"].is_string(), "{}", response.1);
}
