//! Google Calendar API v3 over HTTP: OAuth2 refresh-token credentials, events insert (409 →
//! patch), patch and delete, against a configurable base URL.

use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::Mutex;

use crate::config::GoogleCalendarSettings;

/// Why a calendar call failed, as a short code (kept on the job; never the response body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncFailure(pub String);

pub struct GoogleCalendar {
    http: reqwest::Client,
    settings: GoogleCalendarSettings,
    token: Mutex<Option<(String, Instant)>>,
}

fn failure(what: &str, status: Option<reqwest::StatusCode>) -> SyncFailure {
    SyncFailure(match status {
        Some(s) => format!("{what}_http_{}", s.as_u16()),
        None => format!("{what}_unreachable"),
    })
}

impl GoogleCalendar {
    pub fn new(http: reqwest::Client, settings: GoogleCalendarSettings) -> Self {
        Self {
            http,
            settings,
            token: Mutex::new(None),
        }
    }

    pub fn enabled(&self) -> bool {
        self.settings.enabled
    }

    async fn access_token(&self) -> Result<String, SyncFailure> {
        let mut cached = self.token.lock().await;
        if let Some((token, until)) = cached.as_ref() {
            if Instant::now() < *until {
                return Ok(token.clone());
            }
        }
        let form = [
            ("grant_type", "refresh_token"),
            ("client_id", self.settings.client_id.as_str()),
            ("client_secret", self.settings.client_secret.expose()),
            ("refresh_token", self.settings.refresh_token.expose()),
        ];
        let r = self
            .http
            .post(&self.settings.token_url)
            .form(&form)
            .send()
            .await
            .map_err(|_| failure("token", None))?;
        if !r.status().is_success() {
            return Err(failure("token", Some(r.status())));
        }
        let body: Value = r
            .json()
            .await
            .map_err(|_| SyncFailure("token_body".into()))?;
        let token = body["access_token"]
            .as_str()
            .ok_or_else(|| SyncFailure("token_body".into()))?
            .to_string();
        let lifetime = body["expires_in"]
            .as_u64()
            .unwrap_or(3600)
            .saturating_sub(60)
            .max(30);
        *cached = Some((
            token.clone(),
            Instant::now() + Duration::from_secs(lifetime),
        ));
        Ok(token)
    }

    async fn forget_token_on_401(&self, status: reqwest::StatusCode) {
        if status == reqwest::StatusCode::UNAUTHORIZED {
            *self.token.lock().await = None;
        }
    }

    fn events_url(&self, calendar_id: &str) -> String {
        let base = self.settings.base_url.trim_end_matches('/');
        let cal = calendar_id
            .replace('/', "%2F")
            .replace('@', "%40")
            .replace('#', "%23");
        format!("{base}/calendars/{cal}/events")
    }

    /// Inserts the event with our id; if it exists already (a retry, or a reschedule), patches it.
    pub async fn upsert(
        &self,
        calendar_id: &str,
        event_id: &str,
        event: &Value,
    ) -> Result<(), SyncFailure> {
        let token = self.access_token().await?;
        let url = self.events_url(calendar_id);
        let r = self
            .http
            .post(&url)
            .bearer_auth(&token)
            .json(event)
            .send()
            .await
            .map_err(|_| failure("insert", None))?;
        let status = r.status();
        if status.is_success() {
            return Ok(());
        }
        if status != reqwest::StatusCode::CONFLICT {
            self.forget_token_on_401(status).await;
            return Err(failure("insert", Some(status)));
        }
        let r = self
            .http
            .patch(format!("{url}/{event_id}"))
            .bearer_auth(&token)
            .json(event)
            .send()
            .await
            .map_err(|_| failure("patch", None))?;
        if r.status().is_success() {
            Ok(())
        } else {
            self.forget_token_on_401(r.status()).await;
            Err(failure("patch", Some(r.status())))
        }
    }

    /// Deletes the event; one that is already gone counts as deleted.
    pub async fn delete(&self, calendar_id: &str, event_id: &str) -> Result<(), SyncFailure> {
        let token = self.access_token().await?;
        let url = format!("{}/{event_id}", self.events_url(calendar_id));
        let r = self
            .http
            .delete(url)
            .bearer_auth(&token)
            .send()
            .await
            .map_err(|_| failure("delete", None))?;
        let s = r.status();
        if s.is_success() || s == reqwest::StatusCode::NOT_FOUND || s == reqwest::StatusCode::GONE {
            Ok(())
        } else {
            self.forget_token_on_401(s).await;
            Err(failure("delete", Some(s)))
        }
    }
}
