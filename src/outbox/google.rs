//! Google Calendar API v3 over HTTP: OAuth2 credentials (the install's refresh token or a
//! clinic's own, exchanged from an authorization code and revoked on disconnect), events insert
//! (409 → patch), patch and delete, and the account's calendar list, against configurable URLs.

use std::collections::HashMap;
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
    /// Access tokens by the SHA-256 of the refresh token they came from.
    tokens: Mutex<HashMap<[u8; 32], (String, Instant)>>,
}

/// Whose Google credentials a call uses: the install's (config) or a clinic's own.
#[derive(Clone)]
pub struct Credentials {
    refresh_token: String,
}

impl Credentials {
    pub fn clinic(refresh_token: String) -> Credentials {
        Credentials { refresh_token }
    }

    fn key(&self) -> [u8; 32] {
        use sha2::Digest;
        sha2::Sha256::digest(self.refresh_token.as_bytes()).into()
    }
}

/// One calendar of the connected account.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct CalendarEntry {
    pub id: String,
    pub summary: String,
    pub primary: bool,
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
            tokens: Mutex::new(HashMap::new()),
        }
    }

    /// Calendar jobs can be delivered: the install-wide calendar is on, or clinics can
    /// connect their own (an OAuth client is configured).
    pub fn enabled(&self) -> bool {
        self.settings.enabled || !self.settings.client_id.is_empty()
    }

    /// The install-wide credentials, when that calendar is on.
    pub fn install_credentials(&self) -> Option<Credentials> {
        self.settings.enabled.then(|| Credentials {
            refresh_token: self.settings.refresh_token.expose().to_string(),
        })
    }

    async fn access_token(&self, creds: &Credentials) -> Result<String, SyncFailure> {
        let mut cached = self.tokens.lock().await;
        if let Some((token, until)) = cached.get(&creds.key()) {
            if Instant::now() < *until {
                return Ok(token.clone());
            }
        }
        let form = [
            ("grant_type", "refresh_token"),
            ("client_id", self.settings.client_id.as_str()),
            ("client_secret", self.settings.client_secret.expose()),
            ("refresh_token", creds.refresh_token.as_str()),
        ];
        let body = self.token_grant(&form, "token").await?;
        let token = body["access_token"]
            .as_str()
            .ok_or_else(|| SyncFailure("token_body".into()))?
            .to_string();
        let lifetime = body["expires_in"]
            .as_u64()
            .unwrap_or(3600)
            .saturating_sub(60)
            .max(30);
        if cached.len() > 10_000 {
            cached.clear();
        }
        cached.insert(
            creds.key(),
            (
                token.clone(),
                Instant::now() + Duration::from_secs(lifetime),
            ),
        );
        Ok(token)
    }

    /// One grant at the token endpoint; failures named `what_…`.
    async fn token_grant(&self, form: &[(&str, &str)], what: &str) -> Result<Value, SyncFailure> {
        let r = self
            .http
            .post(&self.settings.token_url)
            .form(form)
            .send()
            .await
            .map_err(|_| failure(what, None))?;
        if !r.status().is_success() {
            return Err(failure(what, Some(r.status())));
        }
        r.json()
            .await
            .map_err(|_| SyncFailure(format!("{what}_body")))
    }

    async fn forget_token_on_401(&self, creds: &Credentials, status: reqwest::StatusCode) {
        if status == reqwest::StatusCode::UNAUTHORIZED {
            self.tokens.lock().await.remove(&creds.key());
        }
    }

    /// Google's consent page for this install's OAuth client, coming back to `redirect_uri`
    /// with `state`; offline access, so the answer carries a refresh token.
    pub fn authorization_url(&self, redirect_uri: &str, state: &str) -> Option<String> {
        if self.settings.client_id.is_empty() {
            return None;
        }
        let mut url = reqwest::Url::parse(&self.settings.auth_url).ok()?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.settings.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", "https://www.googleapis.com/auth/calendar")
            .append_pair("access_type", "offline")
            .append_pair("prompt", "consent")
            .append_pair("state", state);
        Some(url.to_string())
    }

    /// Exchanges an authorization code for the clinic's refresh token.
    pub async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
    ) -> Result<String, SyncFailure> {
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("client_id", self.settings.client_id.as_str()),
            ("client_secret", self.settings.client_secret.expose()),
            ("redirect_uri", redirect_uri),
        ];
        let body = self.token_grant(&form, "code").await?;
        body["refresh_token"]
            .as_str()
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .ok_or_else(|| SyncFailure("code_no_refresh_token".into()))
    }

    /// The calendars the connected account can write to.
    pub async fn calendars(&self, creds: &Credentials) -> Result<Vec<CalendarEntry>, SyncFailure> {
        let token = self.access_token(creds).await?;
        let url = format!(
            "{}/users/me/calendarList?minAccessRole=writer",
            self.settings.base_url.trim_end_matches('/')
        );
        let r = self
            .http
            .get(url)
            .bearer_auth(&token)
            .send()
            .await
            .map_err(|_| failure("calendar_list", None))?;
        if !r.status().is_success() {
            self.forget_token_on_401(creds, r.status()).await;
            return Err(failure("calendar_list", Some(r.status())));
        }
        let body: Value = r
            .json()
            .await
            .map_err(|_| SyncFailure("calendar_list_body".into()))?;
        Ok(body["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| {
                Some(CalendarEntry {
                    id: c["id"].as_str()?.to_string(),
                    summary: c["summary"].as_str().unwrap_or("").to_string(),
                    primary: c["primary"].as_bool().unwrap_or(false),
                })
            })
            .collect())
    }

    /// Revokes a clinic's refresh token at Google (a token Google no longer knows counts as
    /// revoked).
    pub async fn revoke(&self, creds: &Credentials) -> Result<(), SyncFailure> {
        self.tokens.lock().await.remove(&creds.key());
        let r = self
            .http
            .post(&self.settings.revoke_url)
            .form(&[("token", creds.refresh_token.as_str())])
            .send()
            .await
            .map_err(|_| failure("revoke", None))?;
        if r.status().is_success() || r.status() == reqwest::StatusCode::BAD_REQUEST {
            Ok(())
        } else {
            Err(failure("revoke", Some(r.status())))
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
        creds: &Credentials,
        calendar_id: &str,
        event_id: &str,
        event: &Value,
    ) -> Result<(), SyncFailure> {
        let token = self.access_token(creds).await?;
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
            self.forget_token_on_401(creds, status).await;
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
            self.forget_token_on_401(creds, r.status()).await;
            Err(failure("patch", Some(r.status())))
        }
    }

    /// Deletes the event; one that is already gone counts as deleted.
    pub async fn delete(
        &self,
        creds: &Credentials,
        calendar_id: &str,
        event_id: &str,
    ) -> Result<(), SyncFailure> {
        let token = self.access_token(creds).await?;
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
            self.forget_token_on_401(creds, s).await;
            Err(failure("delete", Some(s)))
        }
    }
}
