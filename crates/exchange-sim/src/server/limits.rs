//! Per-IP REST request-weight accounting, Binance style: a fixed window (1 minute), `429` with
//! `Retry-After` beyond the limit, and an IP ban (`418`) after repeated violations in one window.
//! Bans double for repeat offenders, capped at 3 days.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

const MAX_BAN: Duration = Duration::from_secs(3 * 24 * 3600);

/// Outcome of charging one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Served; `used` is the window's weight including this request.
    Allowed { used: u32 },
    /// Over the limit: answer 429 with `Retry-After`.
    Limited { used: u32, retry_after: Duration },
    /// Banned: answer 418 with `Retry-After`.
    Banned { used: u32, retry_after: Duration },
}

#[derive(Debug, Clone, Copy)]
struct IpState {
    window_start: Instant,
    used: u32,
    violations: u32,
    bans: u32,
    banned_until: Option<Instant>,
}

/// The limiter.
#[derive(Debug)]
pub struct RateLimiter {
    limit: u32,
    window: Duration,
    ban_after: u32,
    ban_duration: Duration,
    ips: HashMap<IpAddr, IpState>,
}

impl RateLimiter {
    /// `limit` weight per `window`; the `ban_after`-th violation beyond the first 429s bans.
    pub fn new(limit: u32, window: Duration, ban_after: u32, ban_duration: Duration) -> Self {
        Self {
            limit,
            window: window.max(Duration::from_millis(1)),
            ban_after,
            ban_duration,
            ips: HashMap::new(),
        }
    }

    /// Charges `weight` to `ip` at `now`.
    pub fn charge(&mut self, ip: IpAddr, weight: u32, now: Instant) -> Verdict {
        let window = self.window;
        let st = self.ips.entry(ip).or_insert(IpState {
            window_start: now,
            used: 0,
            violations: 0,
            bans: 0,
            banned_until: None,
        });
        if now >= st.window_start + window {
            let elapsed = now.duration_since(st.window_start);
            let windows = (elapsed.as_nanos() / window.as_nanos()) as u32;
            st.window_start += window * windows;
            st.used = 0;
            st.violations = 0;
        }
        st.used = st.used.saturating_add(weight);
        let used = st.used;
        if let Some(until) = st.banned_until.filter(|u| *u > now) {
            return Verdict::Banned {
                used,
                retry_after: until - now,
            };
        }
        if used <= self.limit {
            return Verdict::Allowed { used };
        }
        st.violations += 1;
        if st.violations > self.ban_after {
            st.bans += 1;
            let factor = 1u32 << (st.bans - 1).min(16);
            let ban = self.ban_duration.saturating_mul(factor).min(MAX_BAN);
            st.banned_until = Some(now + ban);
            return Verdict::Banned {
                used,
                retry_after: ban,
            };
        }
        Verdict::Limited {
            used,
            retry_after: (st.window_start + window).saturating_duration_since(now),
        }
    }

    /// Weight used by `ip` in its current window.
    pub fn used(&self, ip: IpAddr) -> u32 {
        self.ips.get(&ip).map_or(0, |s| s.used)
    }
}

/// Whole seconds for a `Retry-After` header (at least 1).
pub fn retry_after_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0).max(u64::from(d.is_zero()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    #[test]
    fn weight_over_the_limit_gets_429_then_a_ban_then_resets_after_the_window() {
        let t0 = Instant::now();
        let minute = Duration::from_secs(60);
        let mut l = RateLimiter::new(100, minute, 2, Duration::from_secs(120));
        assert_eq!(l.charge(IP, 50, t0), Verdict::Allowed { used: 50 });
        assert_eq!(l.charge(IP, 50, t0), Verdict::Allowed { used: 100 });
        let t1 = t0 + Duration::from_secs(20);
        assert_eq!(
            l.charge(IP, 5, t1),
            Verdict::Limited {
                used: 105,
                retry_after: Duration::from_secs(40)
            }
        );
        assert!(matches!(l.charge(IP, 5, t1), Verdict::Limited { .. }));
        assert_eq!(
            l.charge(IP, 5, t1),
            Verdict::Banned {
                used: 115,
                retry_after: Duration::from_secs(120)
            }
        );
        let t2 = t0 + Duration::from_secs(61);
        assert!(
            matches!(l.charge(IP, 5, t2), Verdict::Banned { used: 5, .. }),
            "the ban outlives the window"
        );
        let t3 = t1 + Duration::from_secs(121);
        assert_eq!(l.charge(IP, 5, t3), Verdict::Allowed { used: 5 });
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_secs(Duration::from_millis(1500)), 2);
        assert_eq!(retry_after_secs(Duration::from_secs(3)), 3);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
    }
}
