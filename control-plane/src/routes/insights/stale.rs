//! Flags that are candidates for removal: those that give everyone one answer in every
//! environment and whose configs have not changed for a while (the code can hard-wire
//! that answer), and those nothing has evaluated for a while (the code no longer asks).

use std::collections::HashMap;

use axum::extract::State;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use utoipa::ToSchema;

use crate::auth::Viewer;
use crate::blocking;
use crate::db;
use crate::error::{ApiError, ApiResult, ErrorOut};
use crate::extract::Query;
use crate::routes::projects::ProjectPath;
use crate::state::AppState;

/// Off for everyone (`Some(None)`), one variant for everyone, or no one answer (`None`).
type OneAnswer = Option<Option<String>>;

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct StaleQuery {
    /// How many days without a config change, or without an evaluation, make a flag
    /// stale (1–3650; default: the server's --stale-after-days).
    days: Option<i64>,
}

#[derive(Serialize, ToSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(super) enum StaleCode {
    /// Every environment gives everyone one answer, unchanged for `days`.
    OneAnswer,
    /// No environment evaluated it for `days`.
    NotEvaluated,
}

#[derive(Serialize, ToSchema)]
pub(super) struct StaleReason {
    code: StaleCode,
    /// The reason in a sentence, naming each environment's answer.
    message: String,
}

#[derive(Serialize, ToSchema)]
pub(super) struct StaleFlag {
    flag: String,
    name: String,
    reasons: Vec<StaleReason>,
    /// The last change to any of its environments' configs.
    #[serde(with = "time::serde::rfc3339")]
    config_changed_at: OffsetDateTime,
    /// `null` if never evaluated, as far as retention remembers.
    #[serde(with = "time::serde::rfc3339::option")]
    last_evaluated_at: Option<OffsetDateTime>,
}

#[derive(Serialize, ToSchema)]
pub(super) struct StaleOut {
    days: i64,
    /// Candidates, by flag key; archived flags are never listed.
    flags: Vec<StaleFlag>,
}

/// Flags that are candidates for removal, with the reasons.
#[utoipa::path(get, path = "/projects/{project}/stale-flags", tag = "insights",
    params(("project" = String, Path, description = "Project key"), StaleQuery),
    responses((status = 200, body = StaleOut), (status = 400, body = ErrorOut), (status = 401, body = ErrorOut), (status = 404, body = ErrorOut)))]
pub(super) async fn stale_flags(
    State(state): State<AppState>,
    _: Viewer,
    ProjectPath(project): ProjectPath,
    Query(query): Query<StaleQuery>,
) -> ApiResult<axum::Json<StaleOut>> {
    let days = query
        .days
        .unwrap_or(i64::from(state.settings.stale_after_days));
    if !(1..=3650).contains(&days) {
        return Err(ApiError::BadRequest {
            code: "invalid_query",
            message: "days must be between 1 and 3650".into(),
            field: Some("days".into()),
        });
    }
    let now = OffsetDateTime::now_utc();
    let cutoff = now - Duration::days(days);

    // Every environment's snapshot at one instant, compiled off the request threads.
    let mut tx = state.db.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    let environments = db::environments::list(&mut *tx, project.id).await?;
    let mut snapshots = Vec::with_capacity(environments.len());
    for environment in &environments {
        snapshots.push(db::snapshots::environment(&mut tx, &project, environment).await?);
    }
    let flags = db::flags::list_all(&mut *tx, project.id).await?;
    let configs = db::flag_configs::for_project(&mut *tx, project.id).await?;
    tx.commit().await?;

    let keys: Vec<String> = flags
        .iter()
        .filter(|f| !f.archived)
        .map(|f| f.key.clone())
        .collect();
    // Per flag, per environment: its one answer, if it has one.
    let answers: HashMap<String, Vec<(String, OneAnswer)>> = blocking::run(move || {
        let compiled: Vec<_> = snapshots
            .iter()
            .map(|s| (s.environment.clone(), togglerino_shared::compile(s)))
            .collect();
        keys.into_iter()
            .map(|key| {
                let per_environment = compiled
                    .iter()
                    .map(|(environment, c)| {
                        let answer = c
                            .as_ref()
                            .ok()
                            .and_then(|c| c.constant_answer(&key).map(|a| a.map(str::to_owned)));
                        (environment.clone(), answer)
                    })
                    .collect();
                (key, per_environment)
            })
            .collect()
    })
    .await?;

    let mut changed: HashMap<&str, OffsetDateTime> = HashMap::new();
    for (key, config) in &configs {
        let at = changed.entry(key.as_str()).or_insert(config.updated_at);
        *at = (*at).max(config.updated_at);
    }
    let mut last_seen: HashMap<String, OffsetDateTime> = HashMap::new();
    for row in db::usage::activity(&state.db, project.id, None, now).await? {
        if let Some(at) = row.last_evaluated_at {
            let seen = last_seen.entry(row.flag).or_insert(at);
            *seen = (*seen).max(at);
        }
    }

    let mut out = Vec::new();
    for flag in flags.iter().filter(|f| !f.archived) {
        let config_changed_at = changed
            .get(flag.key.as_str())
            .copied()
            .unwrap_or(flag.updated_at)
            .max(flag.created_at);
        let last_evaluated_at = last_seen.get(&flag.key).copied();
        let mut reasons = Vec::new();
        let per_environment = &answers[&flag.key];
        if config_changed_at < cutoff
            && !per_environment.is_empty()
            && per_environment.iter().all(|(_, answer)| answer.is_some())
        {
            let described: Vec<String> = per_environment
                .iter()
                .map(|(environment, answer)| match answer {
                    Some(Some(variant)) => format!("{variant:?} in {environment}"),
                    _ => format!("its default value (off) in {environment}"),
                })
                .collect();
            reasons.push(StaleReason {
                code: StaleCode::OneAnswer,
                message: format!(
                    "serves everyone one answer — {} — and no config changed for {days} days",
                    described.join(", ")
                ),
            });
        }
        if flag.created_at < cutoff && last_evaluated_at.is_none_or(|at| at < cutoff) {
            reasons.push(StaleReason {
                code: StaleCode::NotEvaluated,
                message: match last_evaluated_at {
                    Some(_) => format!("not evaluated anywhere for {days} days"),
                    None => format!("never evaluated, and made more than {days} days ago"),
                },
            });
        }
        if !reasons.is_empty() {
            out.push(StaleFlag {
                flag: flag.key.clone(),
                name: flag.name.clone(),
                reasons,
                config_changed_at,
                last_evaluated_at,
            });
        }
    }
    Ok(axum::Json(StaleOut { days, flags: out }))
}
