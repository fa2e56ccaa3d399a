use sqlx::types::Json;
use sqlx::{FromRow, PgExecutor};
use time::OffsetDateTime;
use togglerino_shared::model::FlagConfig;
use togglerino_shared::validate::FlagShapeIn;
use uuid::Uuid;

#[derive(Debug, Clone, FromRow)]
pub struct ConfigRow {
    pub flag_id: Uuid,
    pub environment_id: Uuid,
    pub config: Json<FlagConfig>,
    pub version: i64,
    pub updated_at: OffsetDateTime,
    pub updated_by: Option<String>,
}

const COLUMNS: &str = "flag_id, environment_id, config, version, updated_at, updated_by";

pub async fn insert(
    db: impl PgExecutor<'_>,
    flag_id: Uuid,
    environment_id: Uuid,
    config: &FlagConfig,
    updated_by: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO flag_configs (flag_id, environment_id, config, updated_by) VALUES ($1, $2, $3, $4)",
    )
    .bind(flag_id)
    .bind(environment_id)
    .bind(Json(config))
    .bind(updated_by)
    .execute(db)
    .await
    .map(drop)
}

pub async fn find(
    db: impl PgExecutor<'_>,
    flag_id: Uuid,
    environment_id: Uuid,
) -> sqlx::Result<Option<ConfigRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM flag_configs WHERE flag_id = $1 AND environment_id = $2"
    ))
    .bind(flag_id)
    .bind(environment_id)
    .fetch_optional(db)
    .await
}

/// Every config of one flag.
pub async fn for_flag(db: impl PgExecutor<'_>, flag_id: Uuid) -> sqlx::Result<Vec<ConfigRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM flag_configs WHERE flag_id = $1"
    ))
    .bind(flag_id)
    .fetch_all(db)
    .await
}

/// Every config in a project, with its flag key.
pub async fn for_project(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
) -> sqlx::Result<Vec<(String, ConfigRow)>> {
    #[derive(FromRow)]
    struct Keyed {
        flag_key: String,
        #[sqlx(flatten)]
        row: ConfigRow,
    }
    let rows: Vec<Keyed> = sqlx::query_as(
        "SELECT f.key AS flag_key, c.flag_id, c.environment_id, c.config, c.version, c.updated_at, c.updated_by
         FROM flag_configs c JOIN flags f ON f.id = c.flag_id
         WHERE f.project_id = $1
         ORDER BY f.key",
    )
    .bind(project_id)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|k| (k.flag_key, k.row)).collect())
}

/// Whether each flag of a project is on in each environment, and at which config
/// version: `(flag id, environment id, enabled, version)`, without the configs.
pub async fn states(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
) -> sqlx::Result<Vec<(Uuid, Uuid, bool, i64)>> {
    sqlx::query_as(
        "SELECT c.flag_id, c.environment_id, COALESCE((c.config->>'enabled')::boolean, false), c.version
         FROM flag_configs c JOIN flags f ON f.id = c.flag_id
         WHERE f.project_id = $1",
    )
    .bind(project_id)
    .fetch_all(db)
    .await
}

/// What validating a write needs of every flag in an environment: `(flag key, variant
/// keys, prerequisite flag keys)`, extracted by PostgreSQL so that a project with
/// thousands of flags does not ship and parse every config whole on each write.
pub async fn shapes(
    db: impl PgExecutor<'_>,
    environment_id: Uuid,
) -> sqlx::Result<Vec<FlagShapeIn>> {
    let rows: Vec<(String, Vec<String>, Vec<String>, i64)> = sqlx::query_as(
        "SELECT f.key,
                ARRAY(SELECT v->>'key' FROM jsonb_array_elements(c.config->'variants') v),
                ARRAY(SELECT p->>'flag'
                      FROM jsonb_array_elements(COALESCE(c.config->'prerequisites', '[]')) p),
                (SELECT count(*)
                 FROM jsonb_array_elements(COALESCE(c.config->'targeting_rules', '[]')) r,
                      jsonb_array_elements(COALESCE(r->'conditions', '[]')) condition
                 WHERE condition->>'operator' = 'matches')
         FROM flag_configs c JOIN flags f ON f.id = c.flag_id
         WHERE c.environment_id = $1",
    )
    .bind(environment_id)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(key, variants, prerequisites, regexes)| FlagShapeIn {
            key,
            variants,
            prerequisites,
            regexes: regexes as usize,
        })
        .collect())
}

/// The most `matches` conditions the flag configs of any one of a project's
/// environments hold, for checking a segment write against the environment limit.
pub async fn most_regexes_in_an_environment(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
) -> sqlx::Result<usize> {
    let most: Option<i64> = sqlx::query_scalar(
        "SELECT max(n) FROM (
             SELECT count(*) AS n
             FROM environments e
             JOIN flag_configs c ON c.environment_id = e.id,
                  jsonb_array_elements(COALESCE(c.config->'targeting_rules', '[]')) r,
                  jsonb_array_elements(COALESCE(r->'conditions', '[]')) condition
             WHERE e.project_id = $1 AND condition->>'operator' = 'matches'
             GROUP BY e.id
         ) per_environment",
    )
    .bind(project_id)
    .fetch_one(db)
    .await?;
    Ok(most.unwrap_or(0) as usize)
}

/// Replaces a config if it is still at `version`; `None` when someone else wrote first.
pub async fn update(
    db: impl PgExecutor<'_>,
    flag_id: Uuid,
    environment_id: Uuid,
    version: i64,
    config: &FlagConfig,
    updated_by: &str,
) -> sqlx::Result<Option<ConfigRow>> {
    sqlx::query_as(&format!(
        "UPDATE flag_configs SET config = $4, version = version + 1, updated_at = now(), updated_by = $5
         WHERE flag_id = $1 AND environment_id = $2 AND version = $3
         RETURNING {COLUMNS}"
    ))
    .bind(flag_id)
    .bind(environment_id)
    .bind(version)
    .bind(Json(config))
    .bind(updated_by)
    .fetch_optional(db)
    .await
}
