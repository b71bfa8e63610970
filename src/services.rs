//! Every long-lived service of the appliance, built once from settings: the store, the
//! domains and the workers' shared handles, wired together (the one place that hands each
//! domain what it asks of another). The server (`startup`) and the command-line tools build
//! the same `Services`.

use std::net::SocketAddr;

use chrono::{SecondsFormat, Utc};
use std::sync::Arc;

use crate::audit::AuditTrail;
use crate::auth::tokens::{load_or_create_signing_key, TokenAuthority};
use crate::booking::BookingService;
use crate::booking::MemoryIndexes;
use crate::calls::{CallError, CallService};
use crate::config::Settings;
use crate::crypto::{CryptoError, Vault};
use crate::domain::OrgId;
use crate::identity::IdentityService;
use crate::pii::Detector;
use crate::search::KnowledgeBase;
use crate::store::Store;
use crate::vapi::VoiceAgent;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Token(#[from] crate::auth::tokens::TokenError),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error("{0}")]
    Identity(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("server stopped with an error: {0}")]
    Serve(std::io::Error),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("routes: {0}")]
    Routes(String),
}

/// Every long-lived service of a running appliance, without the listener: also what the
/// command-line tools build to work on a data dir.
#[derive(Clone)]
pub struct Services {
    pub store: Store,
    pub identity: Arc<IdentityService>,
    pub audit: AuditTrail,
    pub booking: Arc<BookingService>,
    pub voice: Arc<VoiceAgent>,
    pub calls: Arc<CallService>,
    pub kb: Arc<KnowledgeBase>,
    /// Woken after booking commits; the outbox worker waits on it.
    pub outbox_wake: Arc<tokio::sync::Notify>,
    pub settings: Arc<Settings>,
    /// Which long-running parts are up (readiness, restarts).
    pub health: Arc<crate::health::Health>,
    /// Leads, follow-up texts, the procedure catalogue and SMS consent.
    pub followups: Arc<crate::followup::FollowUpService>,
    /// Where every service reads the time.
    pub clock: crate::clock::Clock,
    /// Clinics' own Google Calendar connections.
    pub calendar: Arc<crate::calendar::CalendarService>,
    /// The Google Calendar client, shared by the connections and the outbox worker.
    pub google: Arc<crate::integrations::google::GoogleCalendar>,
    /// The master key's vault (the outbox opens clinics' calendar tokens with it).
    pub vault: Arc<Vault>,
    /// The waiting list and its offers of freed times.
    pub waitlist: Arc<crate::waitlist::WaitlistService>,
}

/// What the claim writer's changes keep in step, in their own transaction: leads are marked
/// booked, and a freed time is queued for the waiting list.
struct DomainsFollowBookings {
    leads: crate::followup::records::LeadsFollowBookings,
    waitlist: crate::waitlist::WaitlistFollowsFreedTimes,
}

impl crate::booking::followers::BookingFollowers for DomainsFollowBookings {
    fn booked(
        &self,
        org: &mut crate::store::OrgWrite<'_>,
        phone: &crate::domain::PhoneNumber,
        now: chrono::DateTime<Utc>,
    ) -> Result<(), crate::store::StoreError> {
        self.leads.booked(org, phone, now)
    }

    fn freed(
        &self,
        w: &mut crate::store::StoreWrite,
        a: &crate::booking::records::AppointmentRecord,
        now: chrono::DateTime<Utc>,
    ) -> Result<(), crate::store::StoreError> {
        self.waitlist.freed(w, a, now)
    }
}

impl Services {
    pub fn open(settings: &Settings) -> Result<Services, StartupError> {
        Self::open_with_clock(settings, crate::clock::system())
    }

    /// As `open`, with the clock every service reads (tests set the time of day).
    pub fn open_with_clock(
        settings: &Settings,
        clock: crate::clock::Clock,
    ) -> Result<Services, StartupError> {
        crate::metrics::handle();
        let data_dir = &settings.storage.data_dir;
        let store = crate::schema::open_store_with(&settings.storage)?;
        let key = load_or_create_signing_key(data_dir)?;
        let tokens =
            TokenAuthority::new(&key, &settings.auth.issuer, settings.auth.token_ttl_minutes);
        let identity = IdentityService::new(store.clone(), tokens, &settings.auth)
            .map_err(|e| StartupError::Identity(format!("identity service: {e}")))?;
        let vault = Arc::new(Vault::load_or_create(&settings.crypto.master_key_file)?);
        let mut w = store.begin_write()?;
        vault.check_against(&mut w)?;
        w.commit()?;
        let extra = if settings.pii.extra_terms_file.as_os_str().is_empty() {
            Vec::new()
        } else {
            let path = &settings.pii.extra_terms_file;
            let text = std::fs::read_to_string(path).map_err(|e| {
                StartupError::Identity(format!("pii.extra_terms_file {}: {e}", path.display()))
            })?;
            crate::pii::read_extra_terms(&text).map_err(|e| {
                StartupError::Identity(format!("pii.extra_terms_file {}: {e}", path.display()))
            })?
        };
        let detector = Arc::new(Detector::new(&extra));
        let indexes = MemoryIndexes::build(&store)?;
        let google = Arc::new(crate::integrations::google::GoogleCalendar::new(
            reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(20))
                .build()
                .unwrap_or_default(),
            settings.google_calendar.clone(),
        ));
        let calendar = Arc::new(crate::calendar::CalendarService::new(
            store.clone(),
            vault.clone(),
            google.clone(),
            &settings.server.public_url,
        ));
        let calls = Arc::new(CallService::new(
            store.clone(),
            vault.clone(),
            detector.clone(),
            indexes.phones.clone(),
        ));
        let model_dir = &settings.search.model_dir;
        let embedder = if crate::search::embed::Embedder::present(model_dir) {
            let e = crate::search::embed::Embedder::load(model_dir)
                .map_err(|e| StartupError::Identity(e.to_string()))?;
            Some(Arc::new(e))
        } else {
            tracing::warn!(dir = %model_dir.display(), "no embedding model installed: knowledge-base answers use full-text search only (run voxanne model install, then restart)");
            None
        };
        let kb = Arc::new(KnowledgeBase::new(
            store.clone(),
            data_dir.clone(),
            settings.search.clone(),
            detector,
            embedder,
            clock.clone(),
        ));
        let outbox_wake = Arc::new(tokio::sync::Notify::new());
        let followups = Arc::new(crate::followup::FollowUpService::new(
            store.clone(),
            clock.clone(),
            outbox_wake.clone(),
            indexes.phones.clone(),
            settings.server.public_url.clone(),
        ));
        let booking = Arc::new(BookingService::new(
            store.clone(),
            outbox_wake.clone(),
            indexes,
            clock.clone(),
            Arc::new(DomainsFollowBookings {
                leads: crate::followup::records::LeadsFollowBookings,
                waitlist: crate::waitlist::WaitlistFollowsFreedTimes {
                    texts_on: settings.twilio.enabled,
                },
            }),
        ));
        let waitlist = Arc::new(crate::waitlist::WaitlistService::new(
            store.clone(),
            booking.clone(),
            clock.clone(),
            outbox_wake.clone(),
            settings.twilio.from_number.clone(),
        ));
        Ok(Services {
            audit: AuditTrail::new(store.clone()),
            booking: booking.clone(),
            voice: Arc::new(VoiceAgent::new(
                booking,
                calls.clone(),
                kb.clone(),
                followups.clone(),
                waitlist.clone(),
                settings
                    .twilio
                    .enabled
                    .then(|| crate::vapi::verification::CodeTexter {
                        twilio: crate::integrations::twilio::Twilio::new(
                            reqwest::Client::builder()
                                .timeout(std::time::Duration::from_secs(5))
                                .build()
                                .unwrap_or_default(),
                            settings.twilio.clone(),
                            &settings.server.public_url,
                        ),
                        install_from: settings.twilio.from_number.clone(),
                    }),
            )),
            followups,
            waitlist,
            clock,
            kb,
            calls,
            outbox_wake,
            calendar,
            google,
            vault,
            identity: Arc::new(identity),
            store,
            settings: Arc::new(settings.clone()),
            health: Arc::default(),
        })
    }
}

impl Services {
    /// Starts a new data-key version for the org; each domain holding sealed data (calls'
    /// notes and identifiers, the calendar's token) seals its own again in the same
    /// transaction. Returns how many secrets were sealed again.
    pub async fn rotate_keys(&self, org: OrgId) -> Result<usize, CallError> {
        let vault = self.vault.clone();
        self.store
            .write(move |w| {
                let now = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
                let mut o = w.org(org);
                vault.new_version(&mut o, &now)?;
                let mut count = crate::calls::reseal_in(&vault, &mut o, &now)?;
                count += crate::calendar::reseal_in(&vault, &mut o, &now)?;
                crate::audit::success(
                    &mut o,
                    "system:cli",
                    "keys_rotated",
                    format!("org:{org}"),
                    Utc::now(),
                )?;
                Ok::<_, CallError>(count)
            })
            .await
    }

    /// Deletes a clinic: its data keys are destroyed first (crypto-shredding), then every
    /// record of it goes through the claim writer, which forgets it in memory too. Returns
    /// how many key versions and records went.
    pub async fn delete_org(&self, org: OrgId) -> Result<(usize, usize), String> {
        let keys = self.calls.shred(org).await.map_err(|e| e.to_string())?;
        let removed = self
            .booking
            .delete_clinic(org)
            .await
            .map_err(|e| e.to_string())?;
        Ok((keys, removed))
    }
}
