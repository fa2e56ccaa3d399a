//! Insights from what edges report: how often each flag is evaluated and what it
//! answers, over time; which flags are active; and which are candidates for removal.

use std::collections::BTreeMap;

use axum::extract::State;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Viewer;
use crate::db;
use crate::error::{ApiError, ApiResult, ErrorOut};
use crate::extract::Query;
use crate::routes::flags::FlagPath;
use crate::routes::projects::ProjectPath;
use crate::state::AppState;

mod stale;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(flag_usage))
        .routes(routes!(project_activity))
        .routes(routes!(stale::stale_flags))
}

/// Minute buckets cover at most a day per request; hour buckets a little over a year.
const MAX_MINUTE_RANGE: Duration = Duration::days(1);
const MAX_HOUR_RANGE: Duration = Duration::days(400);

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct UsageQuery {
    /// Only this environment (default: every environment).
    environment: Option<String>,
    /// Start of the range (RFC 3339; default: 24 hours before `to`).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>, format = DateTime)]
    from: Option<OffsetDateTime>,
    /// End of the range (RFC 3339; default: now).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>, format = DateTime)]
    to: Option<OffsetDateTime>,
    /// Bucket size: `minute` (ranges up to a day) or `hour`. Default: minutes for
    /// ranges up to six hours, hours beyond.
    #[param(inline)]
    step: Option<Step>,
}

#[derive(Deserialize, Serialize, ToSchema, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "lowercase")]
enum Step {
    Minute,
    Hour,
}

/// How many evaluations gave one answer.
#[derive(Serialize, ToSchema, Debug, PartialEq)]
struct VariantCount {
    /// The variant served; `null` for the flag's default value while it was off.
    variant: Option<String>,
    count: i64,
}

#[derive(Serialize, ToSchema)]
struct Bucket {
    #[serde(with = "time::serde::rfc3339")]
    start: OffsetDateTime,
    counts: Vec<VariantCount>,
}

#[derive(Serialize, ToSchema)]
struct EnvironmentUsage {
    environment: String,
    /// Evaluations in the range.
    total: i64,
    /// The range's evaluations per answer, most served first.
    variants: Vec<VariantCount>,
    /// Buckets with evaluations, oldest first; missing buckets had none.
    buckets: Vec<Bucket>,
    /// When the flag was last evaluated in this environment, in or before the range;
    /// `null` if never, as far as retention remembers.
    #[serde(with = "time::serde::rfc3339::option")]
    last_evaluated_at: Option<OffsetDateTime>,
}

#[derive(Serialize, ToSchema)]
struct UsageOut {
    step: Step,
    #[serde(with = "time::serde::rfc3339")]
    from: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    to: OffsetDateTime,
    /// Every environment of the project (or the one asked for).
    environments: Vec<EnvironmentUsage>,
}

fn bad_query(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::BadRequest {
        code: "invalid_query",
        message: message.into(),
        field: Some(field.into()),
    }
}

/// A flag's evaluations over time, per environment and answer, as edges reported them
/// (every minute). Buckets start on the minute or hour, in UTC.
#[utoipa::path(get, path = "/projects/{project}/flags/{flag}/usage", tag = "insights",
    params(("project" = String, Path, description = "Project key"), ("flag" = String, Path, description = "Flag key"), UsageQuery),
    responses((status = 200, body = UsageOut), (status = 400, body = ErrorOut), (status = 401, body = ErrorOut), (status = 404, body = ErrorOut)))]
async fn flag_usage(
    State(state): State<AppState>,
    _: Viewer,
    FlagPath(project, flag): FlagPath,
    Query(query): Query<UsageQuery>,
) -> ApiResult<axum::Json<UsageOut>> {
    let to = query.to.unwrap_or_else(OffsetDateTime::now_utc);
    let from = match query.from {
        Some(from) => from,
        None => to
            .checked_sub(Duration::days(1))
            .ok_or_else(|| bad_query("to", "to is too early"))?,
    };
    if from >= to {
        return Err(bad_query("from", "from must be before to"));
    }
    if from.year() < 1970 {
        return Err(bad_query("from", "from must be in 1970 or later"));
    }
    let step = query.step.unwrap_or(if to - from <= Duration::hours(6) {
        Step::Minute
    } else {
        Step::Hour
    });
    match step {
        Step::Minute if to - from > MAX_MINUTE_RANGE => {
            return Err(bad_query(
                "step",
                "minute buckets cover at most a day: ask for step=hour",
            ));
        }
        Step::Hour if to - from > MAX_HOUR_RANGE => {
            return Err(bad_query("from", "hour buckets cover at most 400 days"));
        }
        _ => {}
    }
    let environments = db::environments::list(&state.db, project.id).await?;
    let environment = match &query.environment {
        None => None,
        Some(key) => Some(environments.iter().find(|e| &e.key == key).ok_or_else(|| {
            ApiError::not_found("environment_not_found", format!("environment {key:?}"))
        })?),
    };
    let rows = db::usage::buckets(
        &state.db,
        flag.id,
        environment.map(|e| e.id),
        step == Step::Hour,
        truncate(from, step),
        to,
    )
    .await?;
    let last_seen = db::usage::activity(&state.db, project.id, Some(flag.id), to).await?;
    let mut out: Vec<EnvironmentUsage> = environments
        .iter()
        .filter(|e| environment.is_none_or(|only| only.id == e.id))
        .map(|e| EnvironmentUsage {
            environment: e.key.clone(),
            total: 0,
            variants: Vec::new(),
            buckets: Vec::new(),
            last_evaluated_at: last_seen
                .iter()
                .find(|a| a.environment == e.key)
                .and_then(|a| a.last_evaluated_at),
        })
        .collect();
    for row in rows {
        let Some(usage) = out.iter_mut().find(|u| u.environment == row.environment) else {
            continue;
        };
        let variant = (!row.variant.is_empty()).then_some(row.variant);
        usage.total += row.count;
        add(&mut usage.variants, &variant, row.count);
        match usage.buckets.last_mut() {
            Some(last) if last.start == row.start => add(&mut last.counts, &variant, row.count),
            _ => usage.buckets.push(Bucket {
                start: row.start,
                counts: vec![VariantCount {
                    variant,
                    count: row.count,
                }],
            }),
        }
    }
    for usage in &mut out {
        usage.variants.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| a.variant.cmp(&b.variant))
        });
    }
    Ok(axum::Json(UsageOut {
        step,
        from,
        to,
        environments: out,
    }))
}

fn add(counts: &mut Vec<VariantCount>, variant: &Option<String>, count: i64) {
    match counts.iter_mut().find(|c| &c.variant == variant) {
        Some(existing) => existing.count += count,
        None => counts.push(VariantCount {
            variant: variant.clone(),
            count,
        }),
    }
}

/// The start of the bucket holding `at`, so a range's first bucket is counted whole.
fn truncate(at: OffsetDateTime, step: Step) -> OffsetDateTime {
    let at = at
        .replace_nanosecond(0)
        .unwrap_or(at)
        .replace_second(0)
        .unwrap_or(at);
    match step {
        Step::Minute => at,
        Step::Hour => at.replace_minute(0).unwrap_or(at),
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ActivityQuery {
    /// Count evaluations since this time (RFC 3339; default: 24 hours ago, at most
    /// the minutes retention keeps).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>, format = DateTime)]
    since: Option<OffsetDateTime>,
}

#[derive(Serialize, ToSchema)]
struct FlagActivity {
    /// Evaluations since `since`.
    count: i64,
    #[serde(with = "time::serde::rfc3339::option")]
    last_evaluated_at: Option<OffsetDateTime>,
}

#[derive(Serialize, ToSchema)]
struct ActivityOut {
    #[serde(with = "time::serde::rfc3339")]
    since: OffsetDateTime,
    /// Per flag key, per environment key; flags never evaluated are absent.
    flags: BTreeMap<String, BTreeMap<String, FlagActivity>>,
}

/// Every flag's recent evaluations and when it was last evaluated, per environment:
/// the flag list's activity column.
#[utoipa::path(get, path = "/projects/{project}/usage", tag = "insights",
    params(("project" = String, Path, description = "Project key"), ActivityQuery),
    responses((status = 200, body = ActivityOut), (status = 401, body = ErrorOut), (status = 404, body = ErrorOut)))]
async fn project_activity(
    State(state): State<AppState>,
    _: Viewer,
    ProjectPath(project): ProjectPath,
    Query(query): Query<ActivityQuery>,
) -> ApiResult<axum::Json<ActivityOut>> {
    let since = query
        .since
        .unwrap_or_else(|| OffsetDateTime::now_utc() - Duration::days(1));
    if since.year() < 1970 {
        return Err(bad_query("since", "since must be in 1970 or later"));
    }
    let mut flags: BTreeMap<String, BTreeMap<String, FlagActivity>> = BTreeMap::new();
    for row in db::usage::activity(&state.db, project.id, None, since).await? {
        flags.entry(row.flag).or_default().insert(
            row.environment,
            FlagActivity {
                count: row.count,
                last_evaluated_at: row.last_evaluated_at,
            },
        );
    }
    Ok(axum::Json(ActivityOut { since, flags }))
}
