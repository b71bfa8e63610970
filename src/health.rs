//! Which long-running parts of the appliance are up, and how its scheduled work last went: a
//! part that stops is marked down until it is restarted, every restart is counted, and
//! `/readyz` names the parts that are down, the last backup and retention pass.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One part's state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct PartState {
    pub down: bool,
    pub restarts: u64,
}

/// The parts' states, shared by the supervisors and the readiness probe.
#[derive(Default)]
pub struct Health {
    parts: Mutex<BTreeMap<&'static str, PartState>>,
    /// Scheduled backups: the last one (when, and how it went) and when the next is due.
    backup: Mutex<serde_json::Map<String, serde_json::Value>>,
    /// The last retention pass: when, and what it removed.
    last_retention: Mutex<Option<serde_json::Value>>,
}

impl Health {
    fn with<T>(&self, f: impl FnOnce(&mut BTreeMap<&'static str, PartState>) -> T) -> T {
        f(&mut self.parts.lock().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn up(&self, part: &'static str) {
        self.with(|m| m.entry(part).or_default().down = false);
    }

    pub fn down(&self, part: &'static str) {
        self.with(|m| m.entry(part).or_default().down = true);
    }

    fn restarted(&self, part: &'static str) {
        self.with(|m| {
            let s = m.entry(part).or_default();
            s.down = false;
            s.restarts += 1;
        });
    }

    /// The parts that are down now.
    pub fn down_parts(&self) -> Vec<&'static str> {
        self.with(|m| m.iter().filter(|(_, s)| s.down).map(|(k, _)| *k).collect())
    }

    pub fn states(&self) -> BTreeMap<&'static str, PartState> {
        self.with(|m| m.clone())
    }

    /// The outcome of a scheduled backup (`ok`, `at`, and `file` and `bytes` or `error`).
    pub fn record_backup(&self, outcome: serde_json::Value) {
        let mut b = self.backup.lock().unwrap_or_else(|p| p.into_inner());
        let next = b.remove("next_at");
        *b = match outcome {
            serde_json::Value::Object(o) => o,
            _ => serde_json::Map::new(),
        };
        if let Some(next) = next {
            b.insert("next_at".into(), next);
        }
    }

    /// When the next scheduled backup is due.
    pub fn backup_due(&self, at: chrono::DateTime<chrono::Utc>) {
        let mut b = self.backup.lock().unwrap_or_else(|p| p.into_inner());
        b.insert("next_at".into(), serde_json::json!(at));
    }

    /// The last scheduled backup and the next one's time, once scheduled backups run.
    pub fn last_backup(&self) -> Option<serde_json::Value> {
        let b = self.backup.lock().unwrap_or_else(|p| p.into_inner());
        (!b.is_empty()).then(|| serde_json::Value::Object(b.clone()))
    }

    pub fn record_retention(&self, pass: serde_json::Value) {
        *self
            .last_retention
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(pass);
    }

    /// The last retention pass, once one has run.
    pub fn last_retention(&self) -> Option<serde_json::Value> {
        self.last_retention
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// Runs the task `start` makes until it returns; when it panics instead, marks `part` down,
/// logs it, waits `backoff` and starts a new one. Returns when a task returns normally.
pub async fn supervise<F, Fut>(health: Arc<Health>, part: &'static str, backoff: Duration, start: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    health.up(part);
    loop {
        match tokio::spawn(start()).await {
            Ok(()) => return,
            Err(e) if e.is_panic() => {
                health.down(part);
                tracing::error!(part, "a part of the appliance panicked; restarting it");
                tokio::time::sleep(backoff).await;
                health.restarted(part);
            }
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    /// A part that panics twice is restarted twice, counted, and is up when it finally runs.
    #[tokio::test]
    async fn a_panicking_part_is_restarted_counted_and_up_again() {
        let health = Arc::new(Health::default());
        let runs = Arc::new(AtomicU32::new(0));
        let counting = runs.clone();
        supervise(health.clone(), "worker", Duration::ZERO, move || {
            let n = counting.fetch_add(1, Ordering::SeqCst);
            async move {
                if n < 2 {
                    panic!("test panic {n}");
                }
            }
        })
        .await;
        assert_eq!(runs.load(Ordering::SeqCst), 3);
        assert_eq!(
            health.states()["worker"],
            PartState {
                down: false,
                restarts: 2
            }
        );
        assert!(health.down_parts().is_empty());
        health.down("worker");
        assert_eq!(health.down_parts(), ["worker"]);
    }
}
