//! The appliance's one source of "now": the system clock in service, a clock a test can set
//! (quiet hours, reminders and follow-up windows are decided by the time a job falls due).

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

/// What every service asks for the time.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The system clock.
pub fn system() -> Clock {
    Arc::new(Utc::now)
}

/// A clock that stands where it is set (for tests and tools that replay a day).
#[derive(Clone)]
pub struct ManualClock(Arc<Mutex<DateTime<Utc>>>);

impl ManualClock {
    pub fn new(at: DateTime<Utc>) -> ManualClock {
        ManualClock(Arc::new(Mutex::new(at)))
    }

    pub fn set(&self, at: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = at;
    }

    pub fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// This clock, as services take one.
    pub fn clock(&self) -> Clock {
        let me = self.clone();
        Arc::new(move || me.now())
    }
}

/// How often a scheduled task looks at its clock while it waits: a clock set forward (a
/// test's, or a system clock corrected after a suspend) is noticed within this.
pub const LOOK_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Resolves once `clock` reads `due` or later. Scheduled work (retention, backups) waits
/// with this instead of a timer, so it follows the clock the services read.
pub async fn wait_until(clock: &Clock, due: DateTime<Utc>) {
    loop {
        let now = clock();
        if now >= due {
            return;
        }
        let left = (due - now).to_std().unwrap_or_default();
        tokio::time::sleep(left.min(LOOK_EVERY)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_wait_ends_once_the_clock_reads_its_due_time() {
        let start = Utc::now();
        let clock = ManualClock::new(start);
        // Already due: no wait at all.
        wait_until(&clock.clock(), start).await;
        // Due tomorrow: the waiter looks at the clock and goes on waiting...
        let due = start + chrono::Duration::days(1);
        let waiting = tokio::spawn({
            let c = clock.clock();
            async move { wait_until(&c, due).await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        // ...until the clock is set past it.
        clock.set(due + chrono::Duration::seconds(1));
        waiting.await.unwrap();
    }
}
