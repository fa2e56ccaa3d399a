//! What edges tell their upstream about themselves, every few seconds: who they are,
//! where they stand, and how busy they are. Chained edges pass on what the edges below
//! them said, so the control plane sees the whole fleet.

use serde::{Deserialize, Serialize};

/// One edge's state, as it reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EdgeStatus {
    /// The edge process: a random id drawn at start (the one in its usage reports).
    pub id: String,
    /// The edge this one follows, when it is chained; `null` when it follows the
    /// control plane.
    pub via: Option<String>,
    pub version: String,
    /// Where it takes snapshots from, as configured.
    pub upstream: String,
    /// The address it listens on, as configured.
    pub listen: String,
    /// When it started, in seconds since the Unix epoch.
    pub started_at: i64,
    /// Each environment it serves, with the revision in service and when it was applied.
    pub environments: Vec<AppliedRevision>,
    /// SDK and OFREP streams open now.
    pub sdk_streams: u64,
    /// Flag evaluations per second since its last heartbeat.
    pub evaluations_per_second: f64,
    /// The last failure to reach upstream, if the last attempt failed.
    pub sync_error: Option<String>,
    /// How long ago this status was current: 0 for the sender's own, the time since it
    /// was heard for one a chained edge passes on.
    #[serde(default)]
    pub heard_ms_ago: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AppliedRevision {
    pub project: String,
    pub environment: String,
    pub revision: u64,
    /// When this edge put the revision in service, in milliseconds since the Unix epoch.
    pub applied_at_ms: i64,
    /// SDK streams open on this environment now: the ones a change to it is sent to.
    pub sdk_streams: u64,
}

/// A heartbeat: the sender first, then the edges below it that it heard from lately.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Heartbeat {
    pub edges: Vec<EdgeStatus>,
}

/// Most edges one heartbeat may describe.
pub const MAX_HEARTBEAT_EDGES: usize = 1_000;

impl Heartbeat {
    /// Whether upstream should take this heartbeat; the problem as a sentence if not.
    pub fn check(&self) -> Result<(), String> {
        if self.edges.is_empty() || self.edges.len() > MAX_HEARTBEAT_EDGES {
            return Err(format!(
                "a heartbeat describes 1 to {MAX_HEARTBEAT_EDGES} edges"
            ));
        }
        let short =
            |text: &str, most: usize| text.len() <= most && !text.chars().any(char::is_control);
        for (i, edge) in self.edges.iter().enumerate() {
            let id_ok = |id: &str| {
                !id.is_empty() && id.len() <= 100 && id.chars().all(|c| c.is_ascii_graphic())
            };
            if !id_ok(&edge.id) || edge.via.as_deref().is_some_and(|via| !id_ok(via)) {
                return Err(format!(
                    "edges[{i}]: ids are 1 to 100 printable ASCII characters"
                ));
            }
            if !short(&edge.version, 64)
                || !short(&edge.upstream, 2048)
                || !short(&edge.listen, 256)
                || edge.sync_error.as_deref().is_some_and(|e| !short(e, 2048))
            {
                return Err(format!(
                    "edges[{i}]: a text field is too long or holds control characters"
                ));
            }
            if edge.environments.len() > 10_000 {
                return Err(format!("edges[{i}]: at most 10,000 environments"));
            }
            if edge.heard_ms_ago > 86_400_000 {
                return Err(format!("edges[{i}].heard_ms_ago is more than a day"));
            }
            if !edge.evaluations_per_second.is_finite() || edge.evaluations_per_second < 0.0 {
                return Err(format!(
                    "edges[{i}].evaluations_per_second must be a finite number"
                ));
            }
            for environment in &edge.environments {
                if !short(&environment.project, 64) || !short(&environment.environment, 64) {
                    return Err(format!("edges[{i}]: environment keys are too long"));
                }
            }
        }
        Ok(())
    }
}
