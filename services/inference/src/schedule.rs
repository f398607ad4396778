//! Wall-clock tick schedule, without I/O: ticks fall on multiples of the interval since the Unix
//! epoch (every even second for 2 s), so every replica and every restart predicts on the same
//! instants and a prediction's identity is its slot.

use std::time::Duration;

/// The first slot at or after `now_us`.
pub fn next_slot_us(now_us: i64, interval_us: i64) -> i64 {
    let interval_us = interval_us.max(1);
    let r = now_us.rem_euclid(interval_us);
    if r == 0 { now_us } else { now_us - r + interval_us }
}

/// The slot closest to `now_us` (the one a tick firing at `now_us` was meant for).
pub fn nearest_slot_us(now_us: i64, interval_us: i64) -> i64 {
    let interval_us = interval_us.max(1);
    let below = now_us - now_us.rem_euclid(interval_us);
    if now_us - below <= interval_us / 2 {
        below
    } else {
        below + interval_us
    }
}

/// Signed offset of `now_us` from its nearest slot (positive = late).
pub fn offset_us(now_us: i64, interval_us: i64) -> i64 {
    now_us - nearest_slot_us(now_us, interval_us)
}

/// How long to wait from `now_us` until the next slot strictly after a small guard, so a timer
/// that fires a hair early never lands on the slot it just served.
pub fn delay_to_next_slot(now_us: i64, interval_us: i64) -> Duration {
    let next = next_slot_us(now_us + 1, interval_us);
    Duration::from_micros(u64::try_from(next - now_us).unwrap_or(0))
}

/// Whether the monotonic timer has drifted so far from the wall clock (NTP step, suspended VM)
/// that the interval should be re-anchored.
pub fn needs_realign(offset_us: i64, tolerance_us: i64) -> bool {
    offset_us.abs() > tolerance_us
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000;

    #[test]
    fn next_slot_is_the_next_even_second_for_a_two_second_interval() {
        assert_eq!(next_slot_us(10 * S, 2 * S), 10 * S);
        assert_eq!(next_slot_us(10 * S + 1, 2 * S), 12 * S);
        assert_eq!(next_slot_us(11 * S, 2 * S), 12 * S);
        assert_eq!(next_slot_us(-1, 2 * S), 0);
    }

    #[test]
    fn nearest_slot_rounds_early_and_late_ticks_to_their_slot() {
        assert_eq!(nearest_slot_us(12 * S + 800, 2 * S), 12 * S);
        assert_eq!(nearest_slot_us(12 * S - 800, 2 * S), 12 * S);
        assert_eq!(offset_us(12 * S + 800, 2 * S), 800);
        assert_eq!(offset_us(12 * S - 800, 2 * S), -800);
    }

    #[test]
    fn delay_lands_on_the_following_slot_even_when_called_on_a_slot() {
        assert_eq!(delay_to_next_slot(12 * S, 2 * S), Duration::from_secs(2));
        assert_eq!(delay_to_next_slot(13 * S, 2 * S), Duration::from_secs(1));
        assert_eq!(
            delay_to_next_slot(13 * S + 999_999, 2 * S),
            Duration::from_micros(1)
        );
    }

    #[test]
    fn realign_only_beyond_the_tolerance() {
        assert!(!needs_realign(-49_000, 50_000));
        assert!(needs_realign(51_000, 50_000));
    }
}
