//! A clinic's own Google Calendar connection: the OAuth 2.0 authorization-code flow started by
//! the clinic's admin (state bound to them, one use, ten minutes), the refresh token sealed
//! with the clinic's data key, the account's calendars, and disconnecting (revoked at Google).
//! The outbox reads the connection through `credentials`; without one it falls back to the
//! install-wide calendar of the configuration.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::audit::{self, AuditEvent, Outcome};
use crate::auth::Caller;
use crate::crypto::{CryptoError, Sealed, Vault};
use crate::domain::{OrgId, UserId};
use crate::integrations::google::{CalendarEntry, Credentials, GoogleCalendar};
use crate::store::tables::TenantTable;
use crate::store::OrgReads;
use crate::store::{OrgRead, OrgWrite, Store, StoreError};

crate::store::codec::stored_as_json!(GoogleConnection);

/// A clinic's own Google Calendar connection (key `google`): its refresh token, sealed.
pub const GOOGLE_CONNECTIONS: TenantTable<GoogleConnection> =
    TenantTable::new("google_connections_v1");

/// The sealed record's kind (bound into the ciphertext with org and key).
const TOKEN_KIND: &str = "google_refresh_token";
const KEY: &[u8] = b"google";
/// How long an admin has between "Connect" and coming back from Google.
const STATE_LIFETIME: Duration = Duration::from_secs(600);
/// Connection attempts a clinic may have open at once.
const OPEN_PER_CLINIC: usize = 8;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GoogleConnection {
    pub refresh_token: Sealed,
    pub connected_by: String,
    pub connected_at: String,
}

#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    #[error("no Google OAuth client is configured on this appliance")]
    NotConfigured,
    #[error("the connection attempt is unknown, expired or not yours")]
    BadState,
    #[error("the clinic has not connected a Google Calendar")]
    NotConnected,
    #[error("Google refused or could not be reached ({0})")]
    Google(String),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What the clinic's connection looks like (no secret).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ConnectionStatus {
    /// An OAuth client is configured, so the clinic can connect.
    pub available: bool,
    pub connected: bool,
    pub connected_at: Option<String>,
}

struct Pending {
    org: OrgId,
    user: UserId,
    since: Instant,
    /// The PKCE verifier the consent page was asked with (RFC 7636).
    verifier: String,
}

pub struct CalendarService {
    store: Store,
    vault: Arc<Vault>,
    google: Arc<GoogleCalendar>,
    redirect_uri: String,
    pending: Mutex<HashMap<String, Pending>>,
}

impl CalendarService {
    pub fn new(
        store: Store,
        vault: Arc<Vault>,
        google: Arc<GoogleCalendar>,
        public_url: &str,
    ) -> Self {
        CalendarService {
            store,
            vault,
            google,
            redirect_uri: format!(
                "{}/console/calendar/callback",
                public_url.trim_end_matches('/')
            ),
            pending: Mutex::new(HashMap::new()),
        }
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, HashMap<String, Pending>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Google's consent page for `caller`'s clinic; the state it carries is theirs alone.
    pub fn authorize(&self, caller: Caller) -> Result<String, CalendarError> {
        let user = caller.user_id().ok_or(CalendarError::BadState)?;
        let state = crate::domain::random_secret(24);
        // 32 random bytes: a 43-character verifier, RFC 7636's recommended size.
        let verifier = crate::domain::random_secret(32);
        let url = self
            .google
            .authorization_url(&self.redirect_uri, &state, &verifier)
            .ok_or(CalendarError::NotConfigured)?;
        let mut pending = self.pending();
        pending.retain(|_, p| p.since.elapsed() < STATE_LIFETIME);
        // At most a few attempts open per clinic: one clinic's clicks never push out another's.
        let theirs: Vec<(String, Instant)> = pending
            .iter()
            .filter(|(_, p)| p.org == caller.org)
            .map(|(k, p)| (k.clone(), p.since))
            .collect();
        if theirs.len() >= OPEN_PER_CLINIC {
            if let Some((oldest, _)) = theirs.iter().min_by_key(|(_, since)| *since) {
                pending.remove(oldest);
            }
        }
        pending.insert(
            state,
            Pending {
                org: caller.org,
                user,
                since: Instant::now(),
                verifier,
            },
        );
        Ok(url)
    }

    /// Google came back with `code` for `state`: the code is exchanged and the clinic's refresh
    /// token sealed and kept (replacing an earlier connection).
    pub async fn complete(
        &self,
        caller: Caller,
        code: &str,
        state: &str,
    ) -> Result<(), CalendarError> {
        let verifier = {
            let mut pending = self.pending();
            match pending.remove(state) {
                Some(p)
                    if p.since.elapsed() < STATE_LIFETIME
                        && p.org == caller.org
                        && Some(p.user) == caller.user_id() =>
                {
                    p.verifier
                }
                Some(p) => {
                    // Not this caller's: it stays for its owner.
                    pending.insert(state.to_string(), p);
                    return Err(CalendarError::BadState);
                }
                None => return Err(CalendarError::BadState),
            }
        };
        let refresh_token = self
            .google
            .exchange_code(code, &self.redirect_uri, &verifier)
            .await
            .map_err(|f| CalendarError::Google(f.0))?;
        let vault = self.vault.clone();
        let org = caller.org;
        let actor = caller.actor();
        self.store
            .write(move |w| {
                let now = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
                let mut o = w.org(org);
                let sealed =
                    vault.seal(&mut o, TOKEN_KIND, "google", refresh_token.as_bytes(), &now)?;
                o.put(
                    &GOOGLE_CONNECTIONS,
                    KEY,
                    &GoogleConnection {
                        refresh_token: sealed,
                        connected_by: actor.clone(),
                        connected_at: now,
                    },
                )?;
                audit::append(
                    &mut o,
                    AuditEvent::new(
                        actor,
                        "google_calendar_connected",
                        format!("org:{org}"),
                        Outcome::Success,
                    ),
                    Utc::now(),
                )?;
                Ok::<_, CalendarError>(())
            })
            .await
    }

    pub async fn status(&self, org: OrgId) -> Result<ConnectionStatus, CalendarError> {
        let connection = self
            .store
            .read(move |r| r.org(org).get(&GOOGLE_CONNECTIONS, KEY))
            .await?;
        Ok(ConnectionStatus {
            available: self
                .google
                .authorization_url(&self.redirect_uri, "-", "-")
                .is_some(),
            connected: connection.is_some(),
            connected_at: connection.map(|c| c.connected_at),
        })
    }

    /// The clinic's own credentials, if it has connected a calendar.
    pub async fn credentials(&self, org: OrgId) -> Result<Option<Credentials>, CalendarError> {
        let vault = self.vault.clone();
        self.store
            .read(move |r| credentials_in(&vault, &r.org(org)))
            .await
    }

    /// The calendars of the connected account (its writable ones).
    pub async fn calendars(&self, org: OrgId) -> Result<Vec<CalendarEntry>, CalendarError> {
        let creds = self
            .credentials(org)
            .await?
            .ok_or(CalendarError::NotConnected)?;
        self.google
            .calendars(&creds)
            .await
            .map_err(|f| CalendarError::Google(f.0))
    }

    /// Revokes the clinic's token at Google and forgets it; the install-wide calendar (if
    /// any) takes over. The record goes even when Google cannot be reached, so "disconnect"
    /// always disconnects; the answer says whether Google confirmed the revocation.
    pub async fn disconnect(&self, caller: Caller) -> Result<bool, CalendarError> {
        let org = caller.org;
        let creds = self
            .credentials(org)
            .await?
            .ok_or(CalendarError::NotConnected)?;
        let revoked = self.google.revoke(&creds).await.is_ok();
        let actor = caller.actor();
        self.store
            .write(move |w| {
                let mut o = w.org(org);
                o.remove(&GOOGLE_CONNECTIONS, KEY)?;
                audit::append(
                    &mut o,
                    AuditEvent::new(
                        actor,
                        "google_calendar_disconnected",
                        format!("org:{org}"),
                        if revoked {
                            Outcome::Success
                        } else {
                            Outcome::Failure
                        },
                    ),
                    Utc::now(),
                )?;
                Ok::<_, CalendarError>(())
            })
            .await?;
        Ok(revoked)
    }
}

/// Seals the clinic's refresh token again under the current key version (key rotation, in the
/// rotation's transaction); 1 when there was one.
pub fn reseal_in(vault: &Vault, o: &mut OrgWrite<'_>, now: &str) -> Result<usize, CryptoError> {
    let Some(mut c) = o.get(&GOOGLE_CONNECTIONS, KEY)? else {
        return Ok(0);
    };
    let plain = vault.open_in(o, TOKEN_KIND, "google", &c.refresh_token)?;
    c.refresh_token = vault.seal(o, TOKEN_KIND, "google", &plain, now)?;
    o.put(&GOOGLE_CONNECTIONS, KEY, &c)?;
    Ok(1)
}

/// The clinic's credentials read inside a transaction (the outbox worker's snapshot).
pub fn credentials_in(
    vault: &Vault,
    r: &OrgRead<'_>,
) -> Result<Option<Credentials>, CalendarError> {
    let Some(c) = r.get(&GOOGLE_CONNECTIONS, KEY)? else {
        return Ok(None);
    };
    let plain = vault.open(r, TOKEN_KIND, "google", &c.refresh_token)?;
    Ok(Some(Credentials::clinic(
        String::from_utf8_lossy(&plain).into_owned(),
    )))
}
