//! Console sessions: a random id in an `HttpOnly`, `SameSite=Strict` cookie (`Secure` when
//! the appliance is reached over HTTPS) naming a session held in memory, with the user's
//! access token (never sent to the browser), a CSRF token for its forms, an idle timeout and
//! the token's own expiry. Sessions end at logout, after `console.idle_minutes` without a
//! request, when the token expires, and at a restart.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{header, HeaderMap, HeaderValue};

use crate::domain::{OrgId, Role};

pub const SESSION_COOKIE: &str = "voxanne_console";
/// The login form's own CSRF token (double-submitted: cookie and hidden field).
pub const LOGIN_COOKIE: &str = "voxanne_login";

/// How many sessions the appliance holds at once; the oldest idle one goes first.
const MAX_SESSIONS: usize = 10_000;

#[derive(Clone)]
pub struct Session {
    pub id: String,
    pub token: String,
    pub org: OrgId,
    pub role: Role,
    pub csrf: String,
    last_seen: Instant,
    expires: Instant,
}

pub struct Sessions {
    idle: Duration,
    inner: Mutex<HashMap<String, Session>>,
}

/// A session id or CSRF token: 32 random bytes.
pub fn random_token() -> String {
    crate::domain::random_secret(32)
}

/// Equal without telling by its timing where, or whether by length, two tokens differ: both
/// are hashed to equal-length digests, compared in constant time (`subtle`).
pub fn same_token(a: &str, b: &str) -> bool {
    use sha2::{Digest, Sha256};
    use subtle::ConstantTimeEq;
    let (a, b) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    a.ct_eq(&b).into()
}

impl Sessions {
    pub fn new(idle: Duration) -> Self {
        Sessions {
            idle,
            inner: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new session for a user who has just logged in.
    pub fn start(&self, token: String, org: OrgId, role: Role, expires_in: Duration) -> Session {
        let now = Instant::now();
        let session = Session {
            id: random_token(),
            token,
            org,
            role,
            csrf: random_token(),
            last_seen: now,
            expires: now + expires_in,
        };
        let mut all = self.lock();
        all.retain(|_, s| now.duration_since(s.last_seen) < self.idle && s.expires > now);
        if all.len() >= MAX_SESSIONS {
            if let Some(oldest) = all
                .values()
                .min_by_key(|s| s.last_seen)
                .map(|s| s.id.clone())
            {
                all.remove(&oldest);
            }
        }
        all.insert(session.id.clone(), session.clone());
        session
    }

    /// The live session a request's cookie names, touched; an idle or expired one is ended.
    pub fn find(&self, headers: &HeaderMap) -> Option<Session> {
        let id = cookie(headers, SESSION_COOKIE)?;
        let now = Instant::now();
        let mut all = self.lock();
        let live = all
            .get(&id)
            .is_some_and(|s| now.duration_since(s.last_seen) < self.idle && s.expires > now);
        if !live {
            all.remove(&id);
            return None;
        }
        let s = all.get_mut(&id)?;
        s.last_seen = now;
        Some(s.clone())
    }

    pub fn end(&self, id: &str) {
        self.lock().remove(id);
    }
}

/// The value of cookie `name` in the request, if it is there once.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    let mut found = None;
    for value in headers.get_all(header::COOKIE) {
        let Ok(text) = value.to_str() else { continue };
        for pair in text.split(';') {
            if let Some((k, v)) = pair.trim().split_once('=') {
                if k == name {
                    if found.is_some() {
                        return None;
                    }
                    found = Some(v.to_string());
                }
            }
        }
    }
    found
}

/// A `Set-Cookie` value for the console: `HttpOnly`, `SameSite=Strict`, path `/console`,
/// `Secure` when served over HTTPS; `max_age` 0 removes it.
pub fn set_cookie(name: &str, value: &str, secure: bool, max_age: Option<u64>) -> HeaderValue {
    let mut text = format!("{name}={value}; Path=/console; HttpOnly; SameSite=Strict");
    if secure {
        text.push_str("; Secure");
    }
    if let Some(age) = max_age {
        text.push_str(&format!("; Max-Age={age}"));
    }
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_cookie(id: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("a=b; {SESSION_COOKIE}={id}")).unwrap(),
        );
        h
    }

    #[test]
    fn a_session_ends_when_idle_or_expired_or_ended() {
        let org = OrgId::new_random();
        let live = Sessions::new(Duration::from_secs(600));
        let s = live.start("t".into(), org, Role::Staff, Duration::from_secs(600));
        assert_eq!(
            live.find(&with_cookie(&s.id)).map(|f| f.token),
            Some("t".into())
        );
        live.end(&s.id);
        assert!(live.find(&with_cookie(&s.id)).is_none());

        // Idle for longer than the limit (a zero limit: any wait is too long).
        let idle = Sessions::new(Duration::ZERO);
        let s = idle.start("t".into(), org, Role::Staff, Duration::from_secs(600));
        assert!(idle.find(&with_cookie(&s.id)).is_none());

        // The token's own expiry ends the session however busy it is.
        let expired = Sessions::new(Duration::from_secs(600));
        let s = expired.start("t".into(), org, Role::Staff, Duration::ZERO);
        assert!(expired.find(&with_cookie(&s.id)).is_none());
    }

    #[test]
    fn cookies_are_read_only_when_named_once_and_set_strict() {
        let mut h = with_cookie("abc");
        assert_eq!(cookie(&h, SESSION_COOKIE).as_deref(), Some("abc"));
        h.append(
            header::COOKIE,
            HeaderValue::from_str(&format!("{SESSION_COOKIE}=other")).unwrap(),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE), None);
        let set = set_cookie(SESSION_COOKIE, "abc", true, Some(0));
        assert_eq!(
            set.to_str().unwrap(),
            "voxanne_console=abc; Path=/console; HttpOnly; SameSite=Strict; Secure; Max-Age=0"
        );
        assert!(same_token("abc", "abc") && !same_token("abc", "abd") && !same_token("abc", "ab"));
    }
}
