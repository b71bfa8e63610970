//! A clinic's quiet hours (local, wrapping midnight, correct across clock changes): when
//! texts may not go. Opt-outs and the one-per-window rule are read from the store where a job
//! is decided (`followup::due`).

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

/// A clinic's quiet hours: local `start` to `end`, wrapping midnight when `start > end`;
/// equal times mean none.
#[derive(Debug, Clone, Copy)]
pub struct QuietHours {
    pub start: NaiveTime,
    pub end: NaiveTime,
    pub tz: Tz,
}

impl QuietHours {
    /// From a clinic's settings (times checked when stored; unreadable ones mean none).
    pub fn new(start: &str, end: &str, tz: Tz) -> QuietHours {
        match (super::parse_clock_time(start), super::parse_clock_time(end)) {
            (Some(start), Some(end)) => QuietHours { start, end, tz },
            _ => QuietHours {
                start: NaiveTime::MIN,
                end: NaiveTime::MIN,
                tz,
            },
        }
    }

    fn quiet_at(&self, local: NaiveTime) -> bool {
        if self.start == self.end {
            false
        } else if self.start < self.end {
            self.start <= local && local < self.end
        } else {
            local >= self.start || local < self.end
        }
    }

    pub fn is_quiet(&self, t: DateTime<Utc>) -> bool {
        self.quiet_at(t.with_timezone(&self.tz).time())
    }

    /// The local wall time on `date` as an instant; a time a clock change skips moves on to
    /// the first minute that exists, and of a time it repeats the first is taken.
    fn instant(&self, date: NaiveDate, time: NaiveTime) -> Option<DateTime<Utc>> {
        let mut naive = date.and_time(time);
        for _ in 0..=180 {
            if let Some(t) = self.tz.from_local_datetime(&naive).earliest() {
                return Some(t.with_timezone(&Utc));
            }
            naive += Duration::minutes(1);
        }
        None
    }

    /// The first instant at or after `t` outside quiet hours.
    pub fn next_allowed(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        if !self.is_quiet(t) {
            return t;
        }
        let local = t.with_timezone(&self.tz);
        let date = if self.start > self.end && local.time() >= self.start {
            local.date_naive().succ_opt().unwrap_or(local.date_naive())
        } else {
            local.date_naive()
        };
        self.instant(date, self.end).unwrap_or(t)
    }

    /// The last minute at or before `t` outside quiet hours (a reminder is sent early rather
    /// than late).
    pub fn last_allowed_before(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        if !self.is_quiet(t) {
            return t;
        }
        let local = t.with_timezone(&self.tz);
        let date = if self.start > self.end && local.time() < self.end {
            local.date_naive().pred_opt().unwrap_or(local.date_naive())
        } else {
            local.date_naive()
        };
        // Of a start the autumn change repeats, the earlier one: quiet hours have begun by then.
        self.instant(date, self.start)
            .map(|s| s - Duration::minutes(1))
            .unwrap_or(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn london() -> QuietHours {
        QuietHours::new("21:00", "08:00", chrono_tz::Europe::London)
    }

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn a_message_due_in_quiet_hours_waits_for_eight_local() {
        let q = london();
        // 22:30 in London in winter (UTC+0) → 08:00 next day.
        assert_eq!(
            q.next_allowed(at("2026-12-01T22:30:00Z")),
            at("2026-12-02T08:00:00Z")
        );
        // 06:00 → 08:00 the same day.
        assert_eq!(
            q.next_allowed(at("2026-12-01T06:00:00Z")),
            at("2026-12-01T08:00:00Z")
        );
        // In summer (UTC+1) 08:00 local is 07:00 UTC.
        assert_eq!(
            q.next_allowed(at("2026-07-01T21:30:00Z")),
            at("2026-07-02T07:00:00Z")
        );
        // Outside quiet hours: now.
        assert_eq!(
            q.next_allowed(at("2026-12-01T12:00:00Z")),
            at("2026-12-01T12:00:00Z")
        );
    }

    #[test]
    fn quiet_hours_follow_the_clock_change() {
        // The night the clocks go forward (29 March 2026): 22:00 on the 28th (UTC+0) waits
        // until 08:00 BST on the 29th, which is 07:00 UTC.
        let q = london();
        assert_eq!(
            q.next_allowed(at("2026-03-28T22:00:00Z")),
            at("2026-03-29T07:00:00Z")
        );
        // A quiet hour ending at a time the change skips moves to the first minute after.
        let q = QuietHours::new("21:00", "01:30", chrono_tz::Europe::London);
        assert_eq!(
            q.next_allowed(at("2026-03-28T23:00:00Z")),
            at("2026-03-29T01:00:00Z")
        );
    }

    #[test]
    fn a_reminder_due_in_quiet_hours_goes_at_the_last_allowed_minute_before() {
        let q = london();
        assert_eq!(
            q.last_allowed_before(at("2026-12-02T07:00:00Z")),
            at("2026-12-01T20:59:00Z")
        );
        assert_eq!(
            q.last_allowed_before(at("2026-12-01T23:00:00Z")),
            at("2026-12-01T20:59:00Z")
        );
    }

    #[test]
    fn equal_times_mean_no_quiet_hours_and_daytime_windows_work() {
        let q = QuietHours::new("00:00", "00:00", chrono_tz::UTC);
        assert!(!q.is_quiet(at("2026-12-01T03:00:00Z")));
        let q = QuietHours::new("12:00", "13:00", chrono_tz::UTC);
        assert!(q.is_quiet(at("2026-12-01T12:30:00Z")));
        assert_eq!(
            q.next_allowed(at("2026-12-01T12:30:00Z")),
            at("2026-12-01T13:00:00Z")
        );
    }
}
