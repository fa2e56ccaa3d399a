//! Segments: reusable groups of contexts, per project.

use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use togglerino_shared::model::{Condition, Segment};
use togglerino_shared::validate::{limits, validate_segment};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::{Editor, Viewer};
use crate::db;
use crate::db::audit::Entry;
use crate::db::projects::ProjectRow;
use crate::db::segments::SegmentRow;
use crate::error::{ApiError, ApiResult, ErrorOut};
use crate::extract::Json;
use crate::routes::projects::{ProjectPath, duplicate, path_param};
use crate::state::AppState;
use crate::write::Write;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(show, update, remove))
}

struct SegmentPath(ProjectRow, SegmentRow);

impl FromRequestParts<AppState> for SegmentPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let ProjectPath(project) = ProjectPath::from_request_parts(parts, state).await?;
        let key = path_param(parts, state, "segment").await?;
        let segment = db::segments::find(&state.db, project.id, &key)
            .await?
            .ok_or_else(|| ApiError::not_found("segment_not_found", format!("segment {key:?}")))?;
        Ok(SegmentPath(project, segment))
    }
}

#[derive(Serialize, ToSchema)]
struct SegmentOut {
    id: Uuid,
    // The segment's fields, spelled out: a flattened strict `Segment` would document an
    // answer that forbids `id`.
    key: String,
    name: String,
    description: String,
    included: Vec<String>,
    excluded: Vec<String>,
    conditions: Vec<togglerino_shared::model::Condition>,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    updated_at: OffsetDateTime,
}

impl From<&SegmentRow> for SegmentOut {
    fn from(row: &SegmentRow) -> SegmentOut {
        let Segment {
            key,
            name,
            description,
            included,
            excluded,
            conditions,
        } = row.to_model();
        SegmentOut {
            id: row.id,
            key,
            name,
            description,
            included,
            excluded,
            conditions,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// Everything but the key, which flags refer to and so never changes.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SegmentUpdate {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    included: Vec<String>,
    #[serde(default)]
    excluded: Vec<String>,
    #[serde(default)]
    conditions: Vec<Condition>,
}

/// Segments of a project.
#[utoipa::path(get, path = "/projects/{project}/segments", tag = "segments", params(("project" = String, Path, description = "Project key")), responses((status = 200, body = Vec<SegmentOut>), (status = 401, body = ErrorOut), (status = 403, body = ErrorOut), (status = 404, body = ErrorOut)))]
async fn list(
    State(state): State<AppState>,
    _: Viewer,
    ProjectPath(project): ProjectPath,
) -> ApiResult<axum::Json<Vec<SegmentOut>>> {
    let segments = db::segments::list(&state.db, project.id).await?;
    Ok(axum::Json(segments.iter().map(SegmentOut::from).collect()))
}

/// One segment.
#[utoipa::path(get, path = "/projects/{project}/segments/{segment}", tag = "segments", params(("project" = String, Path, description = "Project key"), ("segment" = String, Path, description = "Segment key")), responses((status = 200, body = SegmentOut), (status = 401, body = ErrorOut), (status = 403, body = ErrorOut), (status = 404, body = ErrorOut)))]
async fn show(_: Viewer, SegmentPath(_, segment): SegmentPath) -> axum::Json<SegmentOut> {
    axum::Json(SegmentOut::from(&segment))
}

/// Creates a segment.
#[utoipa::path(post, path = "/projects/{project}/segments", tag = "segments", params(("project" = String, Path, description = "Project key")), request_body = Segment, responses((status = 201, body = SegmentOut), (status = 400, body = ErrorOut), (status = 401, body = ErrorOut), (status = 403, body = ErrorOut), (status = 404, body = ErrorOut), (status = 409, body = ErrorOut), (status = 422, body = ErrorOut)))]
async fn create(
    State(state): State<AppState>,
    Editor(actor): Editor,
    ProjectPath(project): ProjectPath,
    Json(segment): Json<Segment>,
) -> ApiResult<(StatusCode, axum::Json<SegmentOut>)> {
    let segment =
        crate::blocking::run(move || validate_segment(&segment).map(|()| segment)).await??;
    let mut write = Write::begin(&state).await?;
    check_environment_regexes(write.db(), &project, &segment).await?;
    let row = db::segments::insert(write.db(), project.id, &segment)
        .await
        .map_err(|e| {
            duplicate(
                e,
                "segment_exists",
                format!("segment {:?} already exists", segment.key),
            )
        })?;
    // No flag can use it yet, but every environment's snapshot holds every segment.
    write.segment_changed(&project, &segment.key);
    let entry =
        Entry::in_project(&project, "segment.created", "segment", &segment.key).new(&segment);
    write.commit(&actor, entry).await?;
    Ok((StatusCode::CREATED, axum::Json(SegmentOut::from(&row))))
}

/// Every environment holds all its project's segments: with `segment` in place, none may
/// hold more `matches` conditions than the limit.
async fn check_environment_regexes(
    db: &mut sqlx::PgConnection,
    project: &ProjectRow,
    segment: &Segment,
) -> ApiResult<()> {
    let flags = db::flag_configs::most_regexes_in_an_environment(&mut *db, project.id).await?;
    let others: usize = db::segments::list(&mut *db, project.id)
        .await?
        .iter()
        .filter(|row| row.key != segment.key)
        .map(|row| limits::regexes_in(&row.to_model().conditions))
        .sum();
    let total = flags + others + limits::regexes_in(&segment.conditions);
    if total > limits::MAX_REGEXES_PER_ENVIRONMENT {
        return Err(ApiError::invalid(
            "conditions",
            format!(
                "an environment would hold {total} `matches` conditions (its flags' and the \
                 project's segments'); at most {}",
                limits::MAX_REGEXES_PER_ENVIRONMENT
            ),
        ));
    }
    Ok(())
}

/// Flags (and the environments) whose rules use segment `key`.
async fn users_of(
    db: &mut sqlx::PgConnection,
    project: &ProjectRow,
    key: &str,
) -> sqlx::Result<Vec<(String, Uuid)>> {
    let configs = db::flag_configs::for_project(db, project.id).await?;
    Ok(configs
        .into_iter()
        .filter(|(_, row)| row.config.segment_keys().any(|k| k == key))
        .map(|(flag, row)| (flag, row.environment_id))
        .collect())
}

/// Changes a segment; the key is fixed.
#[utoipa::path(put, path = "/projects/{project}/segments/{segment}", tag = "segments", params(("project" = String, Path, description = "Project key"), ("segment" = String, Path, description = "Segment key")), request_body = SegmentUpdate, responses((status = 200, body = SegmentOut), (status = 400, body = ErrorOut), (status = 401, body = ErrorOut), (status = 403, body = ErrorOut), (status = 404, body = ErrorOut), (status = 422, body = ErrorOut)))]
async fn update(
    State(state): State<AppState>,
    Editor(actor): Editor,
    SegmentPath(project, row): SegmentPath,
    Json(body): Json<SegmentUpdate>,
) -> ApiResult<axum::Json<SegmentOut>> {
    let before = row.to_model();
    let after = Segment {
        key: before.key.clone(),
        name: body.name.trim().to_owned(),
        description: body.description,
        included: body.included,
        excluded: body.excluded,
        conditions: body.conditions,
    };
    let after = crate::blocking::run(move || validate_segment(&after).map(|()| after)).await??;
    let mut write = Write::begin(&state).await?;
    check_environment_regexes(write.db(), &project, &after).await?;
    let updated = db::segments::update(write.db(), row.id, &after).await?;
    // Snapshots carry the whole segment, so any change of it reaches edges.
    if before != after {
        write.segment_changed(&project, &before.key);
    }
    let entry = Entry::in_project(&project, "segment.updated", "segment", &before.key)
        .old(&before)
        .new(&after);
    write.commit(&actor, entry).await?;
    Ok(axum::Json(SegmentOut::from(&updated)))
}

/// Deletes a segment no rule uses.
#[utoipa::path(delete, path = "/projects/{project}/segments/{segment}", tag = "segments", params(("project" = String, Path, description = "Project key"), ("segment" = String, Path, description = "Segment key")), responses((status = 204, description = "Deleted"), (status = 401, body = ErrorOut), (status = 403, body = ErrorOut), (status = 404, body = ErrorOut), (status = 409, body = ErrorOut, description = "Rules still use it; details.flags names their flags")))]
async fn remove(
    State(state): State<AppState>,
    Editor(actor): Editor,
    SegmentPath(project, row): SegmentPath,
) -> ApiResult<StatusCode> {
    let mut write = Write::begin(&state).await?;
    let mut flags: Vec<String> = users_of(write.db(), &project, &row.key)
        .await?
        .into_iter()
        .map(|(flag, _)| flag)
        .collect();
    flags.dedup();
    if !flags.is_empty() {
        return Err(ApiError::Conflict {
            code: "segment_in_use",
            message: format!(
                "segment {:?} is used by {}; remove it from their rules first",
                row.key,
                flags.join(", ")
            ),
            field: None,
            details: Some(serde_json::json!({"flags": flags})),
        });
    }
    let entry =
        Entry::in_project(&project, "segment.deleted", "segment", &row.key).old(row.to_model());
    db::segments::delete(write.db(), row.id).await?;
    write.segment_changed(&project, &row.key);
    write.commit(&actor, entry).await?;
    Ok(StatusCode::NO_CONTENT)
}
