//! Evaluation counts on their way upstream: from SDKs to their edge, and from each edge
//! to the one above it, up to the control plane.

use serde::{Deserialize, Serialize};

use crate::validate::{KeyKind, validate_key};

/// Counts of what one edge (and the edges below it) served, per minute, flag and
/// answer. An edge numbers its reports: upstream accepts each `(edge, seq)` once, so a
/// report sent again after a lost answer is never counted twice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UsageReport {
    /// The reporting edge process: a random id it draws when it starts.
    pub edge: String,
    /// This report's number, from 1, never reused by the same `edge`.
    pub seq: u64,
    pub counts: Vec<UsageCount>,
}

/// Evaluations of one flag that gave one answer in one minute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UsageCount {
    /// The minute's start, in seconds since the Unix epoch (a multiple of 60).
    pub minute: i64,
    pub project: String,
    pub environment: String,
    pub flag: String,
    /// The variant served; `null` for the flag's default value when it was off.
    pub variant: Option<String>,
    pub count: u64,
}

/// What an SDK read from the flags it holds, since its last report: the SDK key says
/// which project and environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SdkUsage {
    pub counts: Vec<SdkUsageCount>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SdkUsageCount {
    pub flag: String,
    /// `null` when the SDK served the flag's default value (the flag was off).
    pub variant: Option<String>,
    pub count: u64,
}

/// Most counts one report may carry; an edge sends more as several reports.
pub const MAX_REPORT_COUNTS: usize = 5_000;

/// Most counts one SDK report may carry (one per flag and variant it read).
pub const MAX_SDK_COUNTS: usize = 1_000;

/// The start of the minute holding `unix_seconds`.
pub fn minute_of(unix_seconds: i64) -> i64 {
    unix_seconds - unix_seconds.rem_euclid(60)
}

/// The most one count may say: far beyond what one edge serves in a minute, and small
/// enough that sums over years fit comfortably.
pub const MAX_COUNT: u64 = 1 << 40;

/// Minutes in reports fall in these years (2000 to 2200), in Unix seconds.
const EPOCH_RANGE: std::ops::RangeInclusive<i64> = 946_684_800..=7_258_118_400;

/// The most one SDK may report for one flag and answer at once.
pub const MAX_SDK_COUNT: u64 = 1_000_000;

impl UsageReport {
    /// Whether upstream should take this report; the problem as a sentence if not.
    pub fn check(&self) -> Result<(), String> {
        let printable = |c: char| c.is_ascii_graphic();
        if self.edge.is_empty() || self.edge.len() > 100 || !self.edge.chars().all(printable) {
            return Err("edge must be 1 to 100 printable ASCII characters".into());
        }
        if self.seq == 0 {
            return Err("seq counts from 1".into());
        }
        if self.counts.len() > MAX_REPORT_COUNTS {
            return Err(format!(
                "a report carries at most {MAX_REPORT_COUNTS} counts"
            ));
        }
        for (i, count) in self.counts.iter().enumerate() {
            if count.minute.rem_euclid(60) != 0 || !EPOCH_RANGE.contains(&count.minute) {
                return Err(format!(
                    "counts[{i}].minute must be a multiple of 60 between years 2000 and 2200"
                ));
            }
            if count.count == 0 || count.count > MAX_COUNT {
                return Err(format!(
                    "counts[{i}].count must be between 1 and {MAX_COUNT}"
                ));
            }
            keys(i, &count.flag, count.variant.as_deref())?;
            for (kind, key) in [
                (KeyKind::Project, &count.project),
                (KeyKind::Environment, &count.environment),
            ] {
                validate_key(kind, "", key).map_err(|e| format!("counts[{i}]: {}", e.message))?;
            }
        }
        Ok(())
    }
}

impl SdkUsage {
    /// Whether an edge should take this report; the problem as a sentence if not.
    pub fn check(&self) -> Result<(), String> {
        if self.counts.len() > MAX_SDK_COUNTS {
            return Err(format!("a report carries at most {MAX_SDK_COUNTS} counts"));
        }
        for (i, count) in self.counts.iter().enumerate() {
            if count.count == 0 || count.count > MAX_SDK_COUNT {
                return Err(format!(
                    "counts[{i}].count must be between 1 and {MAX_SDK_COUNT}"
                ));
            }
            keys(i, &count.flag, count.variant.as_deref())?;
        }
        Ok(())
    }
}

/// Flag and variant keys as the model allows them, so nothing else is ever stored.
fn keys(i: usize, flag: &str, variant: Option<&str>) -> Result<(), String> {
    validate_key(KeyKind::Flag, "", flag).map_err(|e| format!("counts[{i}]: {}", e.message))?;
    if let Some(variant) = variant {
        validate_key(KeyKind::Variant, "", variant)
            .map_err(|e| format!("counts[{i}]: {}", e.message))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(count: UsageCount) -> UsageReport {
        UsageReport {
            edge: "edge-1".into(),
            seq: 1,
            counts: vec![count],
        }
    }

    fn count() -> UsageCount {
        UsageCount {
            minute: 1_767_225_600,
            project: "shop".into(),
            environment: "production".into(),
            flag: "checkout".into(),
            variant: None,
            count: 3,
        }
    }

    #[test]
    fn reports_name_only_real_keys_whole_minutes_and_sane_counts() {
        assert_eq!(report(count()).check(), Ok(()));
        let bad = [
            UsageCount {
                minute: 1_767_225_601,
                ..count()
            },
            UsageCount {
                minute: 0,
                ..count()
            },
            UsageCount {
                count: 0,
                ..count()
            },
            UsageCount {
                count: MAX_COUNT + 1,
                ..count()
            },
            UsageCount {
                flag: "Bad Key".into(),
                ..count()
            },
            UsageCount {
                variant: Some("nul\0".into()),
                ..count()
            },
            UsageCount {
                project: "".into(),
                ..count()
            },
            UsageCount {
                environment: "x".repeat(500),
                ..count()
            },
        ];
        for count in bad {
            assert!(report(count.clone()).check().is_err(), "{count:?}");
        }
        let mut no_edge = report(count());
        no_edge.edge = "edge\0".into();
        assert!(no_edge.check().is_err());
        no_edge.edge = "edge-1".into();
        no_edge.seq = 0;
        assert!(no_edge.check().is_err());
    }

    #[test]
    fn sdk_reports_are_bounded() {
        let one = SdkUsageCount {
            flag: "checkout".into(),
            variant: Some("on".into()),
            count: 2,
        };
        assert_eq!(
            SdkUsage {
                counts: vec![one.clone()]
            }
            .check(),
            Ok(())
        );
        let too_many = SdkUsage {
            counts: vec![one.clone(); MAX_SDK_COUNTS + 1],
        };
        assert!(too_many.check().is_err());
        let too_big = SdkUsageCount {
            count: MAX_SDK_COUNT + 1,
            ..one
        };
        assert!(
            SdkUsage {
                counts: vec![too_big]
            }
            .check()
            .is_err()
        );
    }

    #[test]
    fn minutes_start_on_the_minute() {
        assert_eq!(minute_of(1_767_225_659), 1_767_225_600);
        assert_eq!(minute_of(1_767_225_600), 1_767_225_600);
        assert_eq!(minute_of(-1), -60);
    }
}
