//! Google Calendar API v3 over HTTP: OAuth2 credentials (the install's refresh token or a
//! clinic's own, exchanged from an authorization code and revoked on disconnect), events insert
//! (409 → patch), patch and delete, and the account's calendar list, against configurable URLs.

use std::collections::HashMap;
use std::sync::Arc;
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
    /// Access tokens by the SHA-256 of the refresh token they came from, each behind a lock
    /// of its own: one clinic's refresh waits for no other clinic's network call.
    tokens: std::sync::Mutex<HashMap<[u8; 32], CachedToken>>,
}

/// One credential's access token and when it stops being used, if it has one yet.
type CachedToken = Arc<Mutex<Option<(String, Instant)>>>;

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
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct CalendarEntry {
    pub id: String,
    pub summary: String,
    pub primary: bool,
}

/// What stays itself in a path segment: letters, digits and `-._~` (RFC 3986's unreserved
/// characters); everything else (`/`, `@`, `#`, `?`, `%`, spaces, non-ASCII) is
/// percent-encoded, as Google's own clients encode a calendar id.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// RFC 7636's S256 challenge of a verifier: BASE64URL(SHA-256(verifier)), no padding.
pub fn pkce_challenge(verifier: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()))
}

/// One path segment, encoded so that no calendar or event id can change the path's shape.
fn path_segment(raw: &str) -> String {
    percent_encoding::utf8_percent_encode(raw, SEGMENT).to_string()
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
            tokens: std::sync::Mutex::new(HashMap::new()),
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

    /// The entry of one credential (made empty on first use).
    fn token_slot(&self, creds: &Credentials) -> CachedToken {
        let mut all = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        if all.len() > 10_000 {
            all.clear();
        }
        all.entry(creds.key()).or_default().clone()
    }

    async fn access_token(&self, creds: &Credentials) -> Result<String, SyncFailure> {
        let slot = self.token_slot(creds);
        // Held across this credential's refresh only: concurrent jobs of the same clinic wait
        // for the one refresh instead of making their own.
        let mut cached = slot.lock().await;
        if let Some((token, until)) = cached.as_ref() {
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
        *cached = Some((
            token.clone(),
            Instant::now() + Duration::from_secs(lifetime),
        ));
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
            *self.token_slot(creds).lock().await = None;
        }
    }

    /// Google's consent page for this install's OAuth client, coming back to `redirect_uri`
    /// with `state`; offline access, so the answer carries a refresh token.
    /// The code is bound to `pkce_verifier` (RFC 7636, S256): only who holds the verifier
    /// can exchange it.
    pub fn authorization_url(
        &self,
        redirect_uri: &str,
        state: &str,
        pkce_verifier: &str,
    ) -> Option<String> {
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
            .append_pair("state", state)
            .append_pair("code_challenge", &pkce_challenge(pkce_verifier))
            .append_pair("code_challenge_method", "S256");
        Some(url.to_string())
    }

    /// Exchanges an authorization code (with the PKCE verifier its consent page was asked
    /// with) for the clinic's refresh token.
    pub async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
        pkce_verifier: &str,
    ) -> Result<String, SyncFailure> {
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("client_id", self.settings.client_id.as_str()),
            ("client_secret", self.settings.client_secret.expose()),
            ("redirect_uri", redirect_uri),
            ("code_verifier", pkce_verifier),
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
        self.tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&creds.key());
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
        format!("{base}/calendars/{}/events", path_segment(calendar_id))
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
            .patch(format!("{url}/{}", path_segment(event_id)))
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
        let url = format!(
            "{}/{}",
            self.events_url(calendar_id),
            path_segment(event_id)
        );
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pkce_challenge_is_rfc_7636s_example() {
        // RFC 7636, appendix B.
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn a_calendar_id_stays_one_path_segment() {
        assert_eq!(
            path_segment("dr-smith@group.calendar.google.com"),
            "dr-smith%40group.calendar.google.com"
        );
        assert_eq!(path_segment("a/../b?c#d e%"), "a%2F..%2Fb%3Fc%23d%20e%25");
        assert_eq!(path_segment("ünï"), "%C3%BCn%C3%AF");
    }
}
