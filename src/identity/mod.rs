//! Accounts and credentials: signup, login, profiles, users, agent keys, and turning a bearer
//! credential into an authenticated `Caller`.

pub mod records;
pub mod tables;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use chrono::{SecondsFormat, Utc};

use crate::audit::{self, AuditEvent, Outcome};
use crate::auth::agent_key;
use crate::auth::password::PasswordHasher;
use crate::auth::throttle::LoginThrottle;
use crate::auth::tokens::TokenAuthority;
use crate::auth::{Caller, Principal};
use crate::config::AuthSettings;
use crate::domain::{
    AgentKeyId, ClinicName, Email, FieldError, FullName, KeyName, OrgId, Password, Role,
    TimeZoneName, UserId, Validation,
};
use crate::identity::tables::{AGENT_KEYS, AGENT_KEY_INDEX, LOGIN_EMAILS, ORGS, USERS};
use crate::store::OrgReads;
use crate::store::{Store, StoreError, StoreWrite};
use records::{AgentKeyIndexEntry, AgentKeyRecord, EmailIndexEntry, OrgRecord, UserRecord};

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    #[error("that email address is already registered")]
    EmailTaken,
    #[error("email or password is wrong")]
    BadCredentials,
    #[error("too many failed attempts")]
    RateLimited { retry_after_secs: u64 },
    #[error("missing or invalid credential")]
    Unauthenticated,
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Refused(&'static str),
    #[error("signup is closed on this appliance")]
    SignupClosed,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("internal: {0}")]
    Internal(&'static str),
}

/// A password for an admin the operator creates (`voxanne org create`): 24 letters and
/// digits from the OS's random source, shown once.
pub fn one_time_password() -> String {
    use rand::distributions::{Alphanumeric, DistString};
    Alphanumeric.sample_string(&mut rand::rngs::OsRng, 24)
}

fn now_rfc3339() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A new clinic's first admin, as validated input.
pub struct SignupInput {
    pub clinic_name: ClinicName,
    pub email: Email,
    pub password: Password,
    pub timezone: TimeZoneName,
    pub full_name: Option<FullName>,
}

impl SignupInput {
    pub fn parse(
        clinic_name: &str,
        email: &str,
        password: &str,
        timezone: Option<&str>,
        full_name: Option<&str>,
    ) -> Result<Self, IdentityError> {
        let mut v = Validation::new();
        let clinic_name = v.check("clinic_name", ClinicName::parse(clinic_name));
        let email = v.check("email", Email::parse(email));
        let password = v.check("password", Password::parse(password));
        let timezone = v.check_opt("timezone", timezone.map(TimeZoneName::parse));
        let full_name = v.check_opt("full_name", full_name.map(FullName::parse));
        v.finish().map_err(IdentityError::Invalid)?;
        match (clinic_name, email, password) {
            (Some(clinic_name), Some(email), Some(password)) => Ok(Self {
                clinic_name,
                email,
                password,
                timezone: timezone.unwrap_or_default(),
                full_name,
            }),
            _ => Err(IdentityError::Internal("validation incomplete")),
        }
    }
}

/// A staff account an admin adds.
pub struct NewUserInput {
    pub email: Email,
    pub password: Password,
    pub role: Role,
    pub full_name: Option<FullName>,
}

impl NewUserInput {
    pub fn parse(
        email: &str,
        password: &str,
        role: &str,
        full_name: Option<&str>,
    ) -> Result<Self, IdentityError> {
        let mut v = Validation::new();
        let email = v.check("email", Email::parse(email));
        let password = v.check("password", Password::parse(password));
        let role = v.check("role", Role::parse_user_role(role));
        let full_name = v.check_opt("full_name", full_name.map(FullName::parse));
        v.finish().map_err(IdentityError::Invalid)?;
        match (email, password, role) {
            (Some(email), Some(password), Some(role)) => Ok(Self {
                email,
                password,
                role,
                full_name,
            }),
            _ => Err(IdentityError::Internal("validation incomplete")),
        }
    }
}

/// What a successful signup or login hands back.
#[derive(Debug, Clone)]
pub struct Session {
    pub org_id: OrgId,
    pub user_id: UserId,
    pub role: Role,
    pub access_token: String,
    pub expires_in: u64,
}

/// A user's own view of themselves and their org.
#[derive(Debug, Clone)]
pub struct Profile {
    pub user: UserRecord,
    pub org: OrgRecord,
}

/// A new agent key; `secret` is shown once and never stored.
pub struct CreatedAgentKey {
    pub id: AgentKeyId,
    pub name: String,
    pub secret: String,
}

pub struct IdentityService {
    store: Store,
    hasher: PasswordHasher,
    tokens: TokenAuthority,
    throttle: LoginThrottle,
    /// Signup attempts per client and per email (every attempt counts, not only failures).
    signup_throttle: LoginThrottle,
    signup_policy: crate::config::SignupPolicy,
    known: KnownCredentials,
    /// Test hook: when set, the org scope stops refusing other orgs' tokens (so that
    /// `voxanne check` can be shown to say NO-GO). Never set outside tests.
    isolation_fault: std::sync::atomic::AtomicBool,
}

/// Credentials recently checked against the store, so most requests skip the read. Revoking
/// a key or deleting a user goes through this service, which drops the entry and bumps the
/// generation under the same lock; a lookup that started before a bump is not remembered.
#[derive(Default)]
struct KnownCredentials {
    inner: std::sync::Mutex<KnownInner>,
}

#[derive(Default)]
struct KnownInner {
    generation: u64,
    agent_keys: std::collections::HashMap<[u8; 32], Caller>,
    users: std::collections::HashMap<(OrgId, UserId), Role>,
}

impl KnownCredentials {
    const LIMIT: usize = 100_000;

    fn lock(&self) -> std::sync::MutexGuard<'_, KnownInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
    fn generation(&self) -> u64 {
        self.lock().generation
    }
    fn remember_key(&self, generation: u64, hash: [u8; 32], caller: Caller) {
        let mut k = self.lock();
        if k.generation == generation {
            if k.agent_keys.len() >= Self::LIMIT {
                k.agent_keys.clear();
            }
            k.agent_keys.insert(hash, caller);
        }
    }
    fn remember_user(&self, generation: u64, org: OrgId, user: UserId, role: Role) {
        let mut k = self.lock();
        if k.generation == generation {
            if k.users.len() >= Self::LIMIT {
                k.users.clear();
            }
            k.users.insert((org, user), role);
        }
    }
    fn forget_key(&self, hash: &[u8]) {
        let mut k = self.lock();
        k.generation += 1;
        if let Ok(h) = <[u8; 32]>::try_from(hash) {
            k.agent_keys.remove(&h);
        }
    }
    fn forget_user(&self, org: OrgId, user: UserId) {
        let mut k = self.lock();
        k.generation += 1;
        k.users.remove(&(org, user));
    }
}

impl IdentityService {
    pub fn new(
        store: Store,
        tokens: TokenAuthority,
        settings: &AuthSettings,
    ) -> Result<Self, IdentityError> {
        let hasher = PasswordHasher::new(settings.argon2_memory_kib, settings.argon2_iterations)
            .map_err(|_| IdentityError::Internal("password hasher"))?;
        let throttle = LoginThrottle::new(
            settings.login_max_failures_per_email,
            settings.login_max_failures_per_client,
            Duration::from_secs(settings.login_window_seconds),
            Duration::from_secs(settings.login_lockout_seconds),
        );
        let window = Duration::from_secs(settings.signup_window_seconds);
        Ok(Self {
            store,
            hasher,
            tokens,
            throttle,
            signup_throttle: LoginThrottle::new(
                settings.signup_max_per_email,
                settings.signup_max_per_client,
                window,
                window,
            ),
            signup_policy: settings.signup,
            known: KnownCredentials::default(),
            isolation_fault: std::sync::atomic::AtomicBool::new(false),
        })
    }

    fn session(
        &self,
        org_id: OrgId,
        user_id: UserId,
        role: Role,
    ) -> Result<Session, IdentityError> {
        let issued = self
            .tokens
            .issue(user_id, org_id, role)
            .map_err(|_| IdentityError::Internal("token signing"))?;
        Ok(Session {
            org_id,
            user_id,
            role,
            access_token: issued.token,
            expires_in: issued.expires_in,
        })
    }

    /// Creates the org, its first admin and the login index entry in one write transaction.
    /// Whether a signup over HTTP may go ahead: not when `[auth] signup = "closed"`, nor past
    /// the per-client or per-email limit (429). Every admitted attempt counts, valid or not.
    pub fn admit_signup(&self, email: &str, client: IpAddr) -> Result<(), IdentityError> {
        if self.signup_policy == crate::config::SignupPolicy::Closed {
            return Err(IdentityError::SignupClosed);
        }
        let now = Instant::now();
        if let Some(retry_after_secs) = self.signup_throttle.locked(email, client, now) {
            return Err(IdentityError::RateLimited { retry_after_secs });
        }
        self.signup_throttle.record_failure(email, client, now);
        Ok(())
    }

    /// Test hook: breaks org isolation in this server (see `isolation_fault`).
    #[doc(hidden)]
    pub fn inject_isolation_fault(&self) {
        self.isolation_fault
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn isolation_broken(&self) -> bool {
        self.isolation_fault
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Creates a clinic and its first admin (from the public route once `admit_signup` has
    /// allowed it, or from the operator's `voxanne org create`).
    pub async fn signup(&self, input: SignupInput) -> Result<Session, IdentityError> {
        let password_hash = self
            .hasher
            .hash(input.password)
            .await
            .map_err(|_| IdentityError::Internal("password hashing"))?;
        let org_id = OrgId::new_random();
        let user_id = UserId::new_random();
        let created_at = now_rfc3339();
        let org = OrgRecord {
            id: org_id,
            name: input.clinic_name.as_str().to_string(),
            timezone: input.timezone.as_str().to_string(),
            created_at: created_at.clone(),
        };
        let user = UserRecord {
            id: user_id,
            org_id,
            email: input.email,
            full_name: input.full_name.map(|n| n.as_str().to_string()),
            role: Role::Admin,
            password_hash,
            created_at,
        };
        self.store
            .write(move |w| {
                insert_user(w, &user, Some(&org))?;
                audit::append(
                    &mut w.org(org_id),
                    AuditEvent::new(
                        format!("user:{user_id}"),
                        "signup",
                        format!("org:{org_id}"),
                        Outcome::Success,
                    ),
                    Utc::now(),
                )?;
                Ok::<_, IdentityError>(())
            })
            .await?;
        self.session(org_id, user_id, Role::Admin)
    }

    /// Checks an email and password. Unknown emails cost the same and answer the same as wrong
    /// passwords; repeated failures lock the email and the client address out for a while.
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        client: IpAddr,
    ) -> Result<Session, IdentityError> {
        let candidate = Password::candidate(password);
        let account = match Email::parse(email) {
            Ok(e) => {
                self.store
                    .read(move |r| {
                        let Some(idx) = r.global_get(&LOGIN_EMAILS, e.as_str().as_bytes())? else {
                            return Ok::<_, IdentityError>(None);
                        };
                        Ok(r.org(idx.org_id).get(&USERS, &idx.user_id.as_bytes())?)
                    })
                    .await?
            }
            Err(_) => None,
        };
        if let Some(retry_after_secs) = self.throttle.locked(email, client, Instant::now()) {
            if let Some(user) = &account {
                self.audit(
                    user.org_id,
                    format!("user:{}", user.id),
                    "login_rate_limited",
                    format!("user:{}", user.id),
                    Outcome::Denied,
                )
                .await?;
            }
            return Err(IdentityError::RateLimited { retry_after_secs });
        }
        let matched = self
            .hasher
            .verify(candidate, account.as_ref().map(|u| u.password_hash.clone()))
            .await;
        match account {
            Some(user) if matched => {
                self.throttle.record_success(email);
                self.audit(
                    user.org_id,
                    format!("user:{}", user.id),
                    "login",
                    format!("user:{}", user.id),
                    Outcome::Success,
                )
                .await?;
                self.session(user.org_id, user.id, user.role)
            }
            account => {
                let locked_now = self.throttle.record_failure(email, client, Instant::now());
                if let Some(user) = account {
                    let actor = format!("user:{}", user.id);
                    self.audit(
                        user.org_id,
                        actor.clone(),
                        "login_failed",
                        actor.clone(),
                        Outcome::Failure,
                    )
                    .await?;
                    if locked_now {
                        self.audit(
                            user.org_id,
                            actor.clone(),
                            "login_locked",
                            actor,
                            Outcome::Denied,
                        )
                        .await?;
                    }
                }
                if locked_now {
                    tracing::warn!("login lockout started after repeated failures");
                }
                Err(IdentityError::BadCredentials)
            }
        }
    }

    /// Turns a bearer credential (an access token or an agent key) into a caller, checking that
    /// the account or key still exists now.
    pub async fn authenticate(&self, credential: &str) -> Result<Caller, IdentityError> {
        let credential = credential.trim();
        if credential.is_empty() {
            return Err(IdentityError::Unauthenticated);
        }
        if agent_key::looks_like_agent_key(credential) {
            let hash = agent_key::hash(credential);
            if let Some(caller) = self.known.lock().agent_keys.get(&hash) {
                return Ok(*caller);
            }
            let generation = self.known.generation();
            let found = self
                .store
                .read(move |r| {
                    let Some(idx) = r.global_get(&AGENT_KEY_INDEX, &hash)? else {
                        return Err(IdentityError::Unauthenticated);
                    };
                    match r.org(idx.org_id).get(&AGENT_KEYS, &idx.key_id.as_bytes())? {
                        Some(k) if k.revoked_at.is_none() => Ok(Caller {
                            org: idx.org_id,
                            principal: Principal::AgentKey(idx.key_id),
                            role: Role::Agent,
                        }),
                        _ => Err(IdentityError::Unauthenticated),
                    }
                })
                .await;
            if let Ok(caller) = &found {
                self.known.remember_key(generation, hash, *caller);
            }
            return found;
        }
        let (user_id, org_id, _claimed_role) = self
            .tokens
            .verify(credential)
            .map_err(|_| IdentityError::Unauthenticated)?;
        if let Some(role) = self.known.lock().users.get(&(org_id, user_id)) {
            return Ok(Caller {
                org: org_id,
                principal: Principal::User(user_id),
                role: *role,
            });
        }
        let generation = self.known.generation();
        let found = self
            .store
            .read(
                move |r| match r.org(org_id).get(&USERS, &user_id.as_bytes())? {
                    // The stored role wins over the token's: a demotion applies at once.
                    Some(user) => Ok(Caller {
                        org: org_id,
                        principal: Principal::User(user_id),
                        role: user.role,
                    }),
                    None => Err(IdentityError::Unauthenticated),
                },
            )
            .await;
        if let Ok(caller) = &found {
            self.known
                .remember_user(generation, org_id, user_id, caller.role);
        }
        found
    }

    pub async fn profile(&self, caller: Caller) -> Result<Profile, IdentityError> {
        let user_id = caller.user_id().ok_or(IdentityError::NotFound)?;
        self.store
            .read(move |r| {
                let user = r.org(caller.org).require(
                    &USERS,
                    &user_id.as_bytes(),
                    IdentityError::NotFound,
                )?;
                let org = r
                    .global_get(&ORGS, &caller.org.as_bytes())?
                    .ok_or(IdentityError::NotFound)?;
                Ok(Profile { user, org })
            })
            .await
    }

    pub async fn add_user(
        &self,
        caller: Caller,
        input: NewUserInput,
    ) -> Result<(UserId, Role), IdentityError> {
        let password_hash = self
            .hasher
            .hash(input.password)
            .await
            .map_err(|_| IdentityError::Internal("password hashing"))?;
        let user = UserRecord {
            id: UserId::new_random(),
            org_id: caller.org,
            email: input.email,
            full_name: input.full_name.map(|n| n.as_str().to_string()),
            role: input.role,
            password_hash,
            created_at: now_rfc3339(),
        };
        let (id, role) = (user.id, user.role);
        self.store
            .write(move |w| {
                insert_user(w, &user, None)?;
                audit::append(
                    &mut w.org(caller.org),
                    AuditEvent::new(
                        caller.actor(),
                        "user_added",
                        format!("user:{}", user.id),
                        Outcome::Success,
                    ),
                    Utc::now(),
                )?;
                Ok::<_, IdentityError>(())
            })
            .await?;
        Ok((id, role))
    }

    /// Removes a user of the caller's org; their tokens stop working at once.
    pub async fn delete_user(&self, caller: Caller, user_id: UserId) -> Result<(), IdentityError> {
        if caller.user_id() == Some(user_id) {
            return Err(IdentityError::Refused("you cannot delete your own account"));
        }
        self.store
            .write(move |w| {
                let mut org = w.org(caller.org);
                let user = org.require(&USERS, &user_id.as_bytes(), IdentityError::NotFound)?;
                org.remove(&USERS, &user_id.as_bytes())?;
                audit::success(
                    &mut org,
                    caller.actor(),
                    "user_deleted",
                    format!("user:{user_id}"),
                    Utc::now(),
                )?;
                w.global_remove(&LOGIN_EMAILS, user.email.as_str().as_bytes())?;
                Ok(())
            })
            .await
            .inspect(|_| self.known.forget_user(caller.org, user_id))
    }

    pub async fn create_agent_key(
        &self,
        caller: Caller,
        name: &str,
    ) -> Result<CreatedAgentKey, IdentityError> {
        let mut v = Validation::new();
        let name = v.check("name", KeyName::parse(name));
        v.finish().map_err(IdentityError::Invalid)?;
        let name = name.ok_or(IdentityError::Internal("validation incomplete"))?;
        let generated = agent_key::generate();
        let record = AgentKeyRecord {
            id: AgentKeyId::new_random(),
            name: name.as_str().to_string(),
            key_hash: hex::encode(generated.hash),
            created_at: now_rfc3339(),
            revoked_at: None,
        };
        let id = record.id;
        let hash = generated.hash;
        let stored_name = record.name.clone();
        self.store
            .write(move |w| {
                w.global_put(
                    &AGENT_KEY_INDEX,
                    &hash,
                    &AgentKeyIndexEntry {
                        org_id: caller.org,
                        key_id: record.id,
                    },
                )?;
                let mut org = w.org(caller.org);
                org.put(&AGENT_KEYS, &record.id.as_bytes(), &record)?;
                audit::success(
                    &mut org,
                    caller.actor(),
                    "agent_key_created",
                    format!("agent_key:{}", record.id),
                    Utc::now(),
                )?;
                Ok::<_, IdentityError>(())
            })
            .await?;
        Ok(CreatedAgentKey {
            id,
            name: stored_name,
            secret: generated.secret,
        })
    }

    /// Revokes a key of the caller's org: the next request with it is refused.
    pub async fn revoke_agent_key(
        &self,
        caller: Caller,
        key_id: AgentKeyId,
    ) -> Result<(), IdentityError> {
        self.store
            .write(move |w| {
                let mut org = w.org(caller.org);
                let mut record = org
                    .get(&AGENT_KEYS, &key_id.as_bytes())?
                    .filter(|k| k.revoked_at.is_none())
                    .ok_or(IdentityError::NotFound)?;
                record.revoked_at = Some(now_rfc3339());
                org.put(&AGENT_KEYS, &key_id.as_bytes(), &record)?;
                audit::success(
                    &mut org,
                    caller.actor(),
                    "agent_key_revoked",
                    format!("agent_key:{key_id}"),
                    Utc::now(),
                )?;
                let hash = hex::decode(&record.key_hash)
                    .map_err(|_| IdentityError::Internal("stored key hash"))?;
                w.global_remove(&AGENT_KEY_INDEX, &hash)?;
                Ok(hash)
            })
            .await
            .map(|hash| self.known.forget_key(&hash))
    }

    pub async fn list_agent_keys(
        &self,
        caller: Caller,
    ) -> Result<Vec<AgentKeyRecord>, IdentityError> {
        self.store
            .read(move |r| {
                let rows = r.org(caller.org).scan(&AGENT_KEYS, &[], None, 10_000)?;
                Ok(rows.into_iter().map(|(_, k)| k).collect())
            })
            .await
    }

    pub async fn list_users(&self, caller: Caller) -> Result<Vec<UserRecord>, IdentityError> {
        self.store
            .read(move |r| {
                let rows = r.org(caller.org).scan(&USERS, &[], None, 10_000)?;
                Ok(rows.into_iter().map(|(_, u)| u).collect())
            })
            .await
    }

    /// Every org of the install (for install-wide tools).
    pub async fn org_ids(&self) -> Result<Vec<OrgId>, IdentityError> {
        self.store
            .read(|r| {
                Ok(r.global_keys(&ORGS)?
                    .iter()
                    .filter_map(|k| OrgId::from_bytes(k))
                    .collect())
            })
            .await
    }

    /// Records, in the caller's own org, that they tried to reach another org.
    pub async fn record_cross_org_denial(
        &self,
        caller: Caller,
        attempted: OrgId,
        route: &str,
        client: std::net::IpAddr,
    ) -> Result<(), IdentityError> {
        let target = format!("org:{attempted} {route} from {client}");
        self.audit(
            caller.org,
            caller.actor(),
            "cross_org_denied",
            target,
            Outcome::Denied,
        )
        .await
    }

    async fn audit(
        &self,
        org: OrgId,
        actor: String,
        action: &'static str,
        target: String,
        outcome: Outcome,
    ) -> Result<(), IdentityError> {
        self.store
            .write(move |w| {
                audit::append(
                    &mut w.org(org),
                    AuditEvent::new(actor, action, target, outcome),
                    Utc::now(),
                )?;
                Ok(())
            })
            .await
    }
}

/// Inserts a user (and, at signup, their org) unless the email is taken.
fn insert_user(
    w: &mut StoreWrite,
    user: &UserRecord,
    org: Option<&OrgRecord>,
) -> Result<(), IdentityError> {
    let email_key = user.email.as_str().as_bytes();
    if w.global_get(&LOGIN_EMAILS, email_key)?.is_some() {
        return Err(IdentityError::EmailTaken);
    }
    if let Some(org) = org {
        w.global_put(&ORGS, &org.id.as_bytes(), org)?;
    }
    w.global_put(
        &LOGIN_EMAILS,
        email_key,
        &EmailIndexEntry {
            org_id: user.org_id,
            user_id: user.id,
        },
    )?;
    w.org(user.org_id).put(&USERS, &user.id.as_bytes(), user)?;
    Ok(())
}
