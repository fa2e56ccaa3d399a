use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Flag, FlagConfig, Segment};

/// Everything an edge needs to evaluate flags of one environment and to authenticate the
/// SDK keys scoped to it. Immutable once published: a change makes a new revision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Snapshot {
    pub project: String,
    pub environment: String,
    /// Increases with every change that can alter an evaluation in this environment.
    pub revision: u64,
    #[serde(default)]
    pub flags: Vec<SnapshotFlag>,
    #[serde(default)]
    pub segments: Vec<Segment>,
    #[serde(default)]
    pub sdk_keys: Vec<SdkKey>,
}

/// A flag with its config in the snapshot's environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotFlag {
    pub flag: Flag,
    pub config: FlagConfig,
}

/// An SDK key valid for the snapshot's project and environment. Only its hash travels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SdkKey {
    pub id: String,
    pub kind: SdkKeyKind,
    /// Lowercase hex SHA-256 of the full key text, see [`sdk_key_hash`].
    pub sha256: String,
}

/// Client keys are meant for browsers and apps (they may be seen by users); server keys
/// for back ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum SdkKeyKind {
    Client,
    Server,
}

impl SdkKeyKind {
    /// Every kind, in [`index`](Self::index) order.
    pub const ALL: [SdkKeyKind; 2] = [SdkKeyKind::Client, SdkKeyKind::Server];

    /// The kind's place in arrays kept per kind.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// The SHA-256 of an SDK key, the only form in which keys are stored or shipped.
pub fn sdk_key_hash(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// [`sdk_key_hash`] as lowercase hex, the form [`SdkKey::sha256`] carries.
pub fn sdk_key_hash_hex(key: &str) -> String {
    hex::encode(sdk_key_hash(key))
}

/// Where every environment stands: the first event of an edge's change stream when it
/// cannot replay what the edge missed, and the answer to `GET /api/v1/edge/revisions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevisionsEvent {
    pub environments: Vec<EnvironmentRevision>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvironmentRevision {
    pub environment_id: String,
    pub project: String,
    pub environment: String,
    pub revision: u64,
}

/// Names of the change stream's SSE events.
pub mod stream_events {
    /// Carries a [`RevisionsEvent`](super::RevisionsEvent).
    pub const REVISIONS: &str = "revisions";
    /// Carries a [`Delta`](super::Delta).
    pub const CHANGE: &str = "change";
}
