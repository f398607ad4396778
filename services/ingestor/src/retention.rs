//! Recorder retention: keeps the recording directory within an age and a byte budget. Files are
//! `sbe-YYYYMMDD-HH.gz` (one per UTC hour, see [`crate::recorder`]), so the name gives the hour.
//! The plan is pure; [`enforce`] applies it to a directory. The file being written is never
//! deleted (it counts toward the byte budget, so older files go first).

use std::path::Path;

/// `recorder.max_age_hours` / `recorder.max_bytes` (0 disables either bound).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub max_age_hours: u64,
    pub max_bytes: u64,
}

/// One recording file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecFile {
    pub name: String,
    /// Hours since the Unix epoch (UTC).
    pub hour: i64,
    pub bytes: u64,
}

/// The hour a recorder file name stands for, if it is one (`sbe-YYYYMMDD-HH.gz`).
pub fn hour_of(name: &str) -> Option<i64> {
    let rest = name.strip_prefix("sbe-")?.strip_suffix(".gz")?;
    let (date, hh) = rest.split_once('-')?;
    if date.len() != 8 || hh.len() != 2 || !rest.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
        return None;
    }
    let y: i64 = date.get(0..4)?.parse().ok()?;
    let m: u32 = date.get(4..6)?.parse().ok()?;
    let d: u32 = date.get(6..8)?.parse().ok()?;
    let h: i64 = hh.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || !(0..24).contains(&h) {
        return None;
    }
    Some(days_from_civil(y, m, d) * 24 + h)
}

/// (year, month, day) → days since 1970-01-01 (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from(if m > 2 { m - 3 } else { m + 9 });
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Which files to delete at `now_hour` so that what remains is younger than `max_age_hours`
/// and at most `max_bytes` in total; `current` (the open file) is always kept. Oldest first.
pub fn plan(files: &[RecFile], now_hour: i64, current: Option<&str>, r: Retention) -> Vec<String> {
    let mut sorted: Vec<&RecFile> = files.iter().collect();
    sorted.sort_by(|a, b| (a.hour, &a.name).cmp(&(b.hour, &b.name)));
    let mut total: u64 = sorted.iter().map(|f| f.bytes).fold(0, u64::saturating_add);
    let mut out = Vec::new();
    for f in sorted {
        if Some(f.name.as_str()) == current {
            continue;
        }
        let age = now_hour.saturating_sub(f.hour);
        let too_old = r.max_age_hours > 0 && u64::try_from(age).unwrap_or(0) >= r.max_age_hours;
        let over = r.max_bytes > 0 && total > r.max_bytes;
        if too_old || over {
            total = total.saturating_sub(f.bytes);
            out.push(f.name.clone());
        }
    }
    out
}

/// Lists `dir`, deletes what [`plan`] says, and returns (files deleted, bytes freed).
pub fn enforce(
    dir: &Path,
    now_hour: i64,
    current: Option<&str>,
    r: Retention,
) -> std::io::Result<(u64, u64)> {
    if r.max_age_hours == 0 && r.max_bytes == 0 {
        return Ok((0, 0));
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(hour) = hour_of(&name) {
            files.push(RecFile {
                name,
                hour,
                bytes: entry.metadata()?.len(),
            });
        }
    }
    let (mut n, mut freed) = (0, 0);
    for name in plan(&files, now_hour, current, r) {
        let bytes = files.iter().find(|f| f.name == name).map_or(0, |f| f.bytes);
        match std::fs::remove_file(dir.join(&name)) {
            Ok(()) => {
                n += 1;
                freed += bytes;
                tracing::info!(file = %name, bytes, "recorder retention: deleted");
            }
            Err(e) => tracing::warn!(file = %name, error = %e, "recorder retention: cannot delete"),
        }
    }
    Ok((n, freed))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn f(name: &str, bytes: u64) -> RecFile {
        RecFile {
            name: name.into(),
            hour: hour_of(name).unwrap(),
            bytes,
        }
    }

    #[test]
    fn names_map_back_to_their_hour() {
        let h = 1_723_161_599 / 3600; // 2024-08-08T23
        assert_eq!(hour_of("sbe-20240808-23.gz"), Some(h));
        assert_eq!(hour_of("sbe-20240809-00.gz"), Some(h + 1));
        assert_eq!(
            crate::recorder::file_for(Path::new(""), h + 1),
            Path::new("sbe-20240809-00.gz")
        );
        for bad in [
            "sbe-2024080-23.gz",
            "sbe-20241308-23.gz",
            "sbe-20240808-24.gz",
            "x.gz",
            "sbe-+0240808-01.gz",
        ] {
            assert_eq!(hour_of(bad), None, "{bad}");
        }
    }

    #[test]
    fn old_files_and_files_over_the_byte_budget_go_oldest_first_never_the_open_one() {
        let files = vec![
            f("sbe-20240808-20.gz", 100),
            f("sbe-20240808-21.gz", 100),
            f("sbe-20240808-22.gz", 100),
            f("sbe-20240808-23.gz", 100),
        ];
        let now = hour_of("sbe-20240808-23.gz").unwrap();
        let age = Retention {
            max_age_hours: 2,
            max_bytes: 0,
        };
        assert_eq!(
            plan(&files, now, Some("sbe-20240808-23.gz"), age),
            ["sbe-20240808-20.gz", "sbe-20240808-21.gz"]
        );
        let bytes = Retention {
            max_age_hours: 0,
            max_bytes: 250,
        };
        assert_eq!(
            plan(&files, now, Some("sbe-20240808-23.gz"), bytes),
            ["sbe-20240808-20.gz", "sbe-20240808-21.gz"]
        );
        let tiny = Retention {
            max_age_hours: 0,
            max_bytes: 1,
        };
        assert_eq!(
            plan(&files, now, Some("sbe-20240808-23.gz"), tiny).len(),
            3,
            "the open file stays"
        );
        let off = Retention {
            max_age_hours: 0,
            max_bytes: 0,
        };
        assert!(plan(&files, now, None, off).is_empty());
    }
}
