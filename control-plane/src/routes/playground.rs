//! The evaluation playground: evaluates a context against an environment's current
//! configuration with the edge's engine, and explains each result rule by rule.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use togglerino_shared::model::EvaluationContext;
use togglerino_shared::{Trace, compile};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Viewer;
use crate::db;
use crate::error::{ApiError, ApiResult, ErrorOut};
use crate::extract::Json;
use crate::routes::environments::EnvironmentPath;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(evaluate))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PlaygroundIn {
    #[serde(default)]
    context: EvaluationContext,
    /// One flag's key; every flag of the project when left out.
    #[serde(default)]
    flag: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct PlaygroundOut {
    /// The environment revision the evaluation saw.
    revision: u64,
    /// One trace per flag, in the project's flag order (archived flags included).
    traces: Vec<Trace>,
}

/// Evaluates a context as an edge would, with a per-rule, per-condition explanation
/// (viewer).
#[utoipa::path(post, path = "/projects/{project}/environments/{env}/evaluate", tag = "playground",
    params(("project" = String, Path, description = "Project key"), ("env" = String, Path, description = "Environment key")),
    request_body = PlaygroundIn,
    responses((status = 200, body = PlaygroundOut), (status = 400, body = ErrorOut), (status = 401, body = ErrorOut),
        (status = 403, body = ErrorOut), (status = 404, body = ErrorOut)))]
async fn evaluate(
    State(state): State<AppState>,
    _: Viewer,
    EnvironmentPath(project, environment): EnvironmentPath,
    Json(body): Json<PlaygroundIn>,
) -> ApiResult<axum::Json<PlaygroundOut>> {
    let mut tx = state.db.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    let snapshot = db::snapshots::environment(&mut tx, &project, &environment).await?;
    tx.commit().await?;
    crate::blocking::run(move || explain(&snapshot, &body)).await?
}

fn explain(
    snapshot: &togglerino_shared::model::Snapshot,
    body: &PlaygroundIn,
) -> ApiResult<axum::Json<PlaygroundOut>> {
    // Everything stored was validated when written, so this compiles; if it ever did
    // not, that is our fault, not the caller's.
    let compiled = compile(snapshot)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("stored config does not compile: {e}")))?;
    let keys: Vec<&str> = match &body.flag {
        Some(flag) => {
            if compiled.is_archived(flag).is_none() {
                return Err(ApiError::not_found(
                    "flag_not_found",
                    format!("flag {flag:?}"),
                ));
            }
            vec![flag.as_str()]
        }
        None => compiled.flag_keys().collect(),
    };
    let traces = keys
        .into_iter()
        .map(|key| compiled.trace(key, &body.context).expect("the flag exists"))
        .collect();
    Ok(axum::Json(PlaygroundOut {
        revision: compiled.revision(),
        traces,
    }))
}
