//! Failed-login throttling per email and per client address, in memory.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// Counts failures in a sliding window and locks a key out once it passes its limit.
pub struct LoginThrottle {
    per_email: u32,
    per_client: u32,
    window: Duration,
    lockout: Duration,
    state: Mutex<HashMap<[u8; 32], Failures>>,
}

struct Failures {
    first: Instant,
    count: u32,
    locked_until: Option<Instant>,
}

/// What a login attempt is keyed by (the email as typed, trimmed and lower-cased, so malformed
/// ones count too). Emails are hashed so the map holds no addresses.
fn email_key(email: &str) -> [u8; 32] {
    Sha256::digest(format!("email:{}", email.trim().to_lowercase())).into()
}

fn client_key(ip: IpAddr) -> [u8; 32] {
    Sha256::digest(format!("client:{ip}")).into()
}

impl LoginThrottle {
    pub fn new(per_email: u32, per_client: u32, window: Duration, lockout: Duration) -> Self {
        Self {
            per_email,
            per_client,
            window,
            lockout,
            state: Mutex::new(HashMap::new()),
        }
    }

    /// `Some(seconds to wait)` when this email or client is locked out now.
    pub fn locked(&self, email: &str, client: IpAddr, now: Instant) -> Option<u64> {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        [email_key(email), client_key(client)]
            .iter()
            .filter_map(|k| state.get(k)?.locked_until)
            .filter(|until| *until > now)
            .map(|until| (until - now).as_secs().max(1))
            .max()
    }

    /// Records a failure; tells whether this failure started a lockout.
    pub fn record_failure(&self, email: &str, client: IpAddr, now: Instant) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.len() > 100_000 {
            state.retain(|_, f| f.locked_until.is_some_and(|u| u > now));
        }
        let mut started = false;
        for (key, limit) in [
            (email_key(email), self.per_email),
            (client_key(client), self.per_client),
        ] {
            let f = state.entry(key).or_insert(Failures {
                first: now,
                count: 0,
                locked_until: None,
            });
            if now.duration_since(f.first) > self.window || f.locked_until.is_some_and(|u| u <= now)
            {
                *f = Failures {
                    first: now,
                    count: 0,
                    locked_until: None,
                };
            }
            f.count += 1;
            if f.count >= limit && f.locked_until.is_none() {
                f.locked_until = Some(now + self.lockout);
                started = true;
            }
        }
        started
    }

    /// A successful login clears the email's failures (not the client's).
    pub fn record_success(&self, email: &str) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.remove(&email_key(email));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_an_email_after_its_limit_and_releases_after_the_lockout() {
        let t = LoginThrottle::new(3, 100, Duration::from_secs(60), Duration::from_secs(30));
        let email = "a@clinic.example";
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let t0 = Instant::now();
        assert!(!t.record_failure(email, ip, t0));
        assert!(!t.record_failure(email, ip, t0));
        assert!(t.locked(email, ip, t0).is_none());
        assert!(t.record_failure(email, ip, t0));
        assert_eq!(t.locked(email, ip, t0), Some(30));
        assert!(t.locked(email, ip, t0 + Duration::from_secs(31)).is_none());
    }

    #[test]
    fn a_client_hammering_many_emails_is_locked_by_address() {
        let t = LoginThrottle::new(100, 4, Duration::from_secs(60), Duration::from_secs(30));
        let ip: IpAddr = "10.0.0.9".parse().unwrap();
        let t0 = Instant::now();
        for i in 0..4 {
            t.record_failure(&format!("user{i}@clinic.example"), ip, t0);
        }
        let fresh = "new@clinic.example";
        assert!(t.locked(fresh, ip, t0).is_some());
        assert!(t.locked(fresh, "10.0.0.10".parse().unwrap(), t0).is_none());
    }
}
