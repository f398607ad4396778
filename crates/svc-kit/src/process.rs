//! Process resource metrics read from `/proc` just before each scrape.

use metrics_schema::CommonMetrics;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// Linux reports CPU times in clock ticks; USER_HZ is 100 on every supported architecture.
const CLOCK_TICKS_PER_SEC: f64 = 100.0;

/// Keeps the last CPU reading so the counter only ever increases by the delta.
#[derive(Debug)]
pub struct ProcessCollector {
    metrics: CommonMetrics,
    last_cpu: Mutex<f64>,
}

impl ProcessCollector {
    pub fn new(metrics: CommonMetrics) -> Self {
        if let Ok(d) = SystemTime::now().duration_since(UNIX_EPOCH) {
            metrics.start_time.set(d.as_secs_f64());
        }
        ProcessCollector {
            metrics,
            last_cpu: Mutex::new(0.0),
        }
    }

    /// Refresh RSS, CPU time and open file descriptors. Missing `/proc` leaves values untouched.
    pub fn refresh(&self) {
        if let Some(rss) = resident_bytes() {
            self.metrics.resident_memory.set(rss);
        }
        if let Some(cpu) = cpu_seconds() {
            let mut last = self.last_cpu.lock().unwrap_or_else(|e| e.into_inner());
            if cpu > *last {
                self.metrics.cpu_seconds.inc_by(cpu - *last);
                *last = cpu;
            }
        }
        if let Ok(dir) = std::fs::read_dir("/proc/self/fd") {
            self.metrics.open_fds.set(dir.count() as f64);
        }
    }
}

/// Resident set size in bytes (VmRSS from /proc/self/status).
pub fn resident_bytes() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024.0)
}

fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / CLOCK_TICKS_PER_SEC)
}
