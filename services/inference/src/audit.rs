//! The lifecycle audit log: one JSON object per line, appended (`O_APPEND`, one write per entry,
//! synced to disk before the switch is acknowledged), never rewritten. Who acted (the admin token's
//! identity or `policy`), when, which versions, the live scores of both roles at that moment, the
//! reason, and the outcome (`done`, `refused`, `failed`).

use crate::lifecycle::LiveScores;
use serde::Serialize;
use std::io::Write;
use std::path::Path;

/// What was attempted (`auto_refused`: the automatic policy looked and declined).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    Promote,
    Rollback,
    AutoPromote,
    AutoRefused,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditOutcome {
    Done,
    Refused,
    Failed,
}

#[derive(Clone, Debug, Serialize)]
pub struct AuditEntry {
    /// µs since the Unix epoch.
    pub time_us: i64,
    /// RFC 3339 (UTC) of `time_us`, for people.
    pub time: String,
    pub action: AuditAction,
    pub outcome: AuditOutcome,
    /// `admin-token:<fingerprint>` or `policy`.
    pub actor: String,
    /// Free text the admin sent as `actor` in the request body (bounded), if any.
    pub requested_by: Option<String>,
    /// Champion before the action.
    pub from_version: Option<String>,
    /// Champion after the action (the same as `from_version` when nothing switched).
    pub to_version: Option<String>,
    pub challenger_version: Option<String>,
    pub scores: LiveScores,
    pub reason: String,
}

/// `YYYY-MM-DDTHH:MM:SS.ffffffZ` of µs since the epoch (civil-from-days, proleptic Gregorian).
pub fn rfc3339(time_us: i64) -> String {
    let secs = time_us.div_euclid(1_000_000);
    let micros = time_us.rem_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{micros:06}Z",
        sod / 3_600,
        sod % 3_600 / 60,
        sod % 60
    )
}

/// Appends one entry as one line and syncs it (blocking: call off the executor).
pub fn append(path: &Path, entry: &AuditEntry) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(entry).map_err(std::io::Error::other)?;
    line.push(b'\n');
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    f.write_all(&line)?;
    f.sync_data()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_matches_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(rfc3339(1_700_000_000_123_456), "2023-11-14T22:13:20.123456Z");
        assert_eq!(rfc3339(951_782_400_000_000), "2000-02-29T00:00:00.000000Z");
    }

    #[test]
    fn entries_are_appended_one_json_object_per_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let mut e = AuditEntry {
            time_us: 0,
            time: rfc3339(0),
            action: AuditAction::Promote,
            outcome: AuditOutcome::Done,
            actor: "policy".into(),
            requested_by: None,
            from_version: Some("a".into()),
            to_version: Some("b".into()),
            challenger_version: None,
            scores: LiveScores::default(),
            reason: "r".into(),
        };
        append(&path, &e).unwrap();
        e.action = AuditAction::Rollback;
        append(&path, &e).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["action"], "promote");
        assert_eq!(lines[1]["action"], "rollback");
        assert_eq!(lines[1]["scores"]["champion"]["moved"], 0);
    }
}
