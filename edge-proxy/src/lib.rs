//! The Togglerino edge: keeps every environment's snapshot in memory, follows upstream
//! for changes, and answers evaluations without ever calling a database. `main.rs`
//! parses configuration and calls [`run`]; tests call the same [`run`].

pub mod changes;
pub mod config;
pub mod error;
pub mod fleet;
pub mod metrics;
pub mod routes;
pub mod sdk_stream;
pub mod slots;
pub mod sse;
pub mod state;
pub mod sync;
pub mod usage;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::response::Response;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower_http::cors::{AllowOrigin, Any, CorsLayer};
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::state::Store;
use crate::sync::Syncer;

/// What every handler can reach. One pointer: the router clones it for every request.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub struct Shared {
    pub store: Arc<Store>,
    pub syncer: Arc<Syncer>,
    /// Evaluation counts on their way upstream.
    pub usage: Arc<usage::Usage>,
    /// This edge's heartbeats, and those of the edges chained below it.
    pub fleet: Arc<fleet::Fleet>,
    pub heartbeat_interval: std::time::Duration,
    /// How often counts are sent upstream.
    pub usage_interval: std::time::Duration,
    pub cors_origins: Arc<Vec<String>>,
    /// The edge token, which downstream edges must present too.
    pub edge_token: Arc<str>,
    /// What Prometheus must present to read `/metrics`, if anything.
    pub metrics_token: Option<Arc<str>>,
    /// Places among the open streams.
    pub streams: Arc<slots::Slots>,
    pub metrics: Arc<metrics::Metrics>,
    /// Flips to true when the edge begins to shut down; streams and sync end then.
    pub closing: watch::Receiver<bool>,
    closer: Arc<watch::Sender<bool>>,
}

/// How often an idle stream carries a comment, so proxies and clients see it alive.
pub const HEARTBEAT: std::time::Duration = std::time::Duration::from_secs(15);

impl AppState {
    pub fn new(config: &Config) -> AppState {
        let store = Arc::new(Store::default());
        let syncer = Arc::new(Syncer::new(
            &config.upstream_url,
            &config.edge_token,
            Arc::clone(&store),
            config.cache_dir.clone(),
        ));
        let (closer, closing) = watch::channel(false);
        let syncer_failures = syncer.failures.clone();
        let id = edge_id();
        let usage = Arc::new(usage::Usage::new(
            &id,
            &config.upstream_url,
            &config.edge_token,
            config.cache_dir.clone(),
        ));
        AppState(Arc::new(Shared {
            store,
            syncer,
            metrics: Arc::new(metrics::Metrics::new(
                syncer_failures,
                usage.dropped.clone(),
            )),
            usage,
            usage_interval: config.usage_interval,
            fleet: Arc::new(fleet::Fleet::new(
                id.into(),
                &config.upstream_url,
                &config.edge_token,
                config.listen.to_string(),
            )),
            heartbeat_interval: config.heartbeat_interval,
            cors_origins: Arc::new(config.cors_origins.clone()),
            edge_token: config.edge_token.as_str().into(),
            metrics_token: config.metrics_token.as_deref().map(Arc::from),
            streams: slots::Slots::new(
                config.max_sse_clients,
                config
                    .max_sse_clients_per_key
                    .unwrap_or(config.max_sse_clients.div_ceil(2)),
            ),
            closing,
            closer: Arc::new(closer),
        }))
    }
}

/// A name for this edge process, drawn at start: it signs usage reports and
/// heartbeats, so a restarted edge is a new one.
pub fn edge_id() -> String {
    let mut id = [0u8; 8];
    getrandom::fill(&mut id).expect("the system has randomness");
    format!("edge-{}", hex::encode(id))
}

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    let cors = cors(&state.cors_origins);
    Router::new()
        .merge(routes::health::router())
        .merge(routes::evaluate::router())
        .merge(routes::chain::router())
        .merge(routes::ofrep::router())
        .merge(routes::stream::router())
        .merge(routes::usage::router())
        .route("/metrics", axum::routing::get(metrics::scrape))
        .fallback(routes::unknown_route)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(DefaultBodyLimit::max(routes::evaluate::MAX_BODY_BYTES))
        .layer(axum::middleware::map_response(
            |mut response: Response| async {
                togglerino_shared::http::secure_defaults(response.headers_mut(), false);
                response
            },
        ))
        .layer(cors)
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request| {
                // Route patterns only: query strings may carry SDK keys. A debug span:
                // at the default level an info span, its fields formatted as it opens,
                // cost a fifth of a small request's instructions, and nothing inside a
                // request logs at info.
                let route = request
                    .extensions()
                    .get::<MatchedPath>()
                    .map_or("unmatched", MatchedPath::as_str);
                tracing::debug_span!("request", method = %request.method(), route)
            }),
        )
        .with_state(state)
}

fn cors(origins: &[String]) -> CorsLayer {
    let layer = CorsLayer::new()
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            HeaderName::from_static("x-api-key"),
            header::IF_NONE_MATCH,
            HeaderName::from_static("last-event-id"),
        ])
        .expose_headers([routes::evaluate::REVISION_HEADER, header::ETAG]);
    if origins.iter().any(|o| o == "*") {
        layer.allow_origin(Any)
    } else {
        let origins: Vec<HeaderValue> = origins
            .iter()
            .filter_map(|o| HeaderValue::from_str(o.trim_end_matches('/')).ok())
            .collect();
        layer.allow_origin(AllowOrigin::list(origins))
    }
}

/// Restores the persisted snapshot, starts following upstream, and serves until
/// `shutdown` completes.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    poll_interval: std::time::Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    state.syncer.restore();
    state.usage.restore();
    let syncer = Arc::clone(&state.syncer);
    tokio::spawn(Arc::clone(&syncer).follow(state.closing.clone()));
    tokio::spawn(syncer.poll(poll_interval, state.closing.clone()));
    tokio::spawn(Arc::clone(&state.usage).report(
        Arc::clone(&state.store),
        state.usage_interval,
        state.closing.clone(),
    ));
    tokio::spawn(Arc::clone(&state.fleet).beat(
        state.clone(),
        state.heartbeat_interval,
        state.closing.clone(),
    ));
    let closer = Arc::clone(&state.closer);
    let (usage, store) = (Arc::clone(&state.usage), Arc::clone(&state.store));
    // Streams never end by themselves; closing them lets shutdown finish.
    let served = togglerino_shared::process::serve(listener, app(state), shutdown, move || {
        let _ = closer.send(true);
    })
    .await;
    // Every request is answered: what they served is counted, and goes upstream now.
    usage.finish(&store).await;
    served
}
