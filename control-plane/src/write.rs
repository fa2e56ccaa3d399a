//! One write pipeline for every audited change. A handler begins a [`Write`], makes its
//! changes through [`Write::db`], says what edges serve that it touched (a flag, a
//! flag's config in one environment, a segment, SDK keys, environments created or
//! deleted), and commits with its audit entry. Commit bumps the revision of every
//! environment touched, records the delta edges apply (read back from the database, so
//! it is exactly what a full snapshot would hold), notifies followers and writes the
//! audit entry, all in the one transaction. There is no other way to commit a write:
//! no route can change what edges serve without its audit entry and its delta.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::{PgConnection, Postgres, Transaction};
use togglerino_shared::model::{Change, Delta, Op};
use uuid::Uuid;

use crate::auth::Actor;
use crate::db::audit::Entry;
use crate::db::changes::{self, Bumped, WRITE_LOCK};
use crate::db::environments::EnvironmentRow;
use crate::db::projects::ProjectRow;
use crate::db::{self, snapshots};
use crate::error::ApiResult;
use crate::state::AppState;

/// A write in progress. Dropping it uncommitted rolls everything back.
pub struct Write {
    tx: Transaction<'static, Postgres>,
    /// Touches that apply to every environment of a project, resolved at commit.
    project_wide: BTreeMap<Uuid, Touched>,
    /// Touches of single environments.
    environments: BTreeMap<Uuid, Touched>,
    /// Environments already told about: created or deleted.
    told: Vec<(Uuid, Delta)>,
}

/// What a write did to one environment's snapshot.
#[derive(Default)]
struct Touched {
    flags: BTreeSet<String>,
    segments: BTreeSet<String>,
    sdk_keys: bool,
}

impl Touched {
    fn merge(&mut self, other: &Touched) {
        self.flags.extend(other.flags.iter().cloned());
        self.segments.extend(other.segments.iter().cloned());
        self.sdk_keys |= other.sdk_keys;
    }
}

impl Write {
    /// Begins a write. Writes run one at a time: each holds one advisory lock from here
    /// to its commit, so change numbers commit in the order they are taken and replicas
    /// replay them without gaps.
    pub async fn begin(state: &AppState) -> ApiResult<Write> {
        let mut tx = state.db.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(WRITE_LOCK)
            .execute(&mut *tx)
            .await?;
        Ok(Write {
            tx,
            project_wide: BTreeMap::new(),
            environments: BTreeMap::new(),
            told: Vec::new(),
        })
    }

    /// The transaction, for the write's own statements.
    pub fn db(&mut self) -> &mut PgConnection {
        &mut self.tx
    }

    /// Flag `key` changed (created, edited, archived or deleted) in every environment.
    pub fn flag_changed(&mut self, project: &ProjectRow, key: &str) {
        let touched = self.project_wide.entry(project.id).or_default();
        touched.flags.insert(key.to_owned());
    }

    /// Flag `key`'s config changed in one environment.
    pub fn config_changed(&mut self, environment: &EnvironmentRow, key: &str) {
        let touched = self.environments.entry(environment.id).or_default();
        touched.flags.insert(key.to_owned());
    }

    /// Segment `key` changed (created, edited or deleted). Every environment holds all
    /// of its project's segments.
    pub fn segment_changed(&mut self, project: &ProjectRow, key: &str) {
        let touched = self.project_wide.entry(project.id).or_default();
        touched.segments.insert(key.to_owned());
    }

    /// An SDK key of the environment was created or revoked.
    pub fn sdk_keys_changed(&mut self, environment: &EnvironmentRow) {
        self.environments
            .entry(environment.id)
            .or_default()
            .sdk_keys = true;
    }

    /// A new environment, with everything already written: edges pull it whole.
    pub async fn environment_created(&mut self, environment: &EnvironmentRow) -> ApiResult<()> {
        let at = changes::current(&mut self.tx, environment.id)
            .await?
            .expect("the environment was just written");
        let delta = delta(environment.id, at, Change::Replaced);
        self.told.push((environment.id, delta));
        Ok(())
    }

    /// The environment is about to be deleted: call before deleting it.
    pub async fn environment_deleted(&mut self, environment_id: Uuid) -> ApiResult<()> {
        if let Some(at) = changes::bump(&mut self.tx, environment_id).await? {
            self.told
                .push((environment_id, delta(environment_id, at, Change::Deleted)));
        }
        Ok(())
    }

    /// Commits the write with its audit entry, telling edges what it touched.
    pub async fn commit(mut self, actor: &Actor, entry: Entry<'_>) -> ApiResult<()> {
        let mut touched = std::mem::take(&mut self.environments);
        for (project_id, project_touched) in std::mem::take(&mut self.project_wide) {
            for environment in db::environments::list(&mut *self.tx, project_id).await? {
                touched
                    .entry(environment.id)
                    .or_default()
                    .merge(&project_touched);
            }
        }
        let told: BTreeSet<Uuid> = self.told.iter().map(|(id, _)| *id).collect();
        // The revisions this write produces, for its propagation receipt.
        let mut produced: Vec<(String, String, u64)> = Vec::new();
        for (environment_id, touched) in touched {
            // A created or deleted environment is told whole.
            if told.contains(&environment_id) {
                continue;
            }
            let Some(at) = changes::bump(&mut self.tx, environment_id).await? else {
                continue;
            };
            let ops = self.ops(environment_id, at.project_id, &touched).await?;
            let delta = delta(environment_id, at, Change::Patch { ops });
            changes::record(&mut self.tx, environment_id, &delta).await?;
            produced.push((delta.project, delta.environment, delta.revision));
        }
        for (environment_id, delta) in std::mem::take(&mut self.told) {
            changes::record(&mut self.tx, environment_id, &delta).await?;
            // A deleted environment is served by nobody: nothing to reach.
            if !matches!(delta.change, Change::Deleted) {
                produced.push((delta.project, delta.environment, delta.revision));
            }
        }
        let audit_id = db::audit::record(&mut self.tx, actor, entry).await?;
        db::receipts::produced(&mut self.tx, audit_id, &produced).await?;
        self.tx.commit().await?;
        Ok(())
    }

    /// The operations that bring an edge's snapshot of the environment up to date with
    /// what this write touched: each entity as it now is, or its removal.
    async fn ops(
        &mut self,
        environment_id: Uuid,
        project_id: Uuid,
        touched: &Touched,
    ) -> ApiResult<Vec<Op>> {
        let mut ops = Vec::new();
        for key in &touched.segments {
            ops.push(
                match snapshots::segment(&mut self.tx, project_id, key).await? {
                    Some(segment) => Op::UpsertSegment { segment },
                    None => Op::RemoveSegment { key: key.clone() },
                },
            );
        }
        for key in &touched.flags {
            ops.push(
                match snapshots::flag(&mut self.tx, project_id, environment_id, key).await? {
                    Some(entry) => Op::UpsertFlag {
                        flag: entry.flag,
                        config: entry.config,
                    },
                    None => Op::RemoveFlag { key: key.clone() },
                },
            );
        }
        if touched.sdk_keys {
            let sdk_keys = snapshots::sdk_keys(&mut self.tx, environment_id).await?;
            ops.push(Op::SdkKeys { sdk_keys });
        }
        Ok(ops)
    }
}

fn delta(environment_id: Uuid, at: Bumped, change: Change) -> Delta {
    Delta {
        environment_id: environment_id.to_string(),
        project: at.project,
        environment: at.environment,
        revision: at.revision as u64,
        change,
    }
}
