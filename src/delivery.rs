//! The outbox worker: takes each due job, reads what it needs from the domain that queued
//! it, delivers it through the outside service (`integrations`), and records the outcome
//! through the claim writer. It sits above the domains; the queue itself (`outbox`) knows none.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;
use serde_json::json;
use tokio::sync::Notify;

use crate::booking::records::{AppointmentRecord, AppointmentStatus};
use crate::booking::tables::{APPOINTMENTS, CLINIC_SETTINGS, PROVIDERS, SERVICES};
use crate::clock::Clock;
use crate::config::Settings;
use crate::followup::records::{FollowUpOutcome, FollowUpStatus};
use crate::followup::Decision;
use crate::identity::tables::ORGS;
use crate::integrations::google::GoogleCalendar;
use crate::integrations::smtp::Mailer;
use crate::integrations::twilio::{SendFailure, Twilio};
use crate::outbox::OUTBOX;
use crate::outbox::{due_bound, event_id, job_key, JobKind, OutboxJob, Service};
use crate::speech::{say_date, say_time};
use crate::store::OrgReads;
use crate::store::{Store, StoreError};

/// After this many failed attempts the appointment shows `calendar_sync: failed` (retries go on).
const FAILED_AFTER: u32 = 5;

enum Delivery {
    Done,
    Retry(String),
    /// Not yet, without counting an attempt (quiet hours).
    Defer(DateTime<Utc>),
}

pub struct OutboxWorker {
    store: Store,
    settings: Arc<Settings>,
    google: Arc<GoogleCalendar>,
    vault: Arc<crate::crypto::Vault>,
    mailer: Mailer,
    twilio: Twilio,
    wake: Arc<Notify>,
    ledger: Arc<dyn crate::outbox::DeliveryLedger>,
    clock: Clock,
    /// Offers freed times to the clinics' waiting lists (none: offer jobs wait).
    waitlist: Option<Arc<crate::waitlist::WaitlistService>>,
}

/// What a job needs to know about its appointment, read in one snapshot.
struct Context {
    appointment: AppointmentRecord,
    clinic_name: String,
    tz: chrono_tz::Tz,
    provider_name: String,
    service_name: Option<String>,
    calendar_id: Option<String>,
    /// The clinic's own Google credentials, when it has connected its calendar (an error when
    /// its token cannot be opened: never a reason to use someone else's account).
    credentials: Result<Option<crate::integrations::google::Credentials>, ()>,
}

impl OutboxWorker {
    /// `ledger` records each outcome (the claim writer: the only writer of appointments);
    /// `google` is shared with the clinics' calendar connections, `vault` opens their tokens.
    pub fn new(
        store: Store,
        settings: Arc<Settings>,
        wake: Arc<Notify>,
        ledger: Arc<dyn crate::outbox::DeliveryLedger>,
        clock: Clock,
        google: Arc<GoogleCalendar>,
        vault: Arc<crate::crypto::Vault>,
    ) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap_or_default();
        Self {
            google,
            vault,
            twilio: Twilio::new(http, settings.twilio.clone(), &settings.server.public_url),
            mailer: Mailer::new(&settings.smtp),
            store,
            settings,
            wake,
            ledger,
            clock,
            waitlist: None,
        }
    }

    /// Offer jobs go to `waitlist`.
    pub fn with_waitlist(mut self, waitlist: Arc<crate::waitlist::WaitlistService>) -> Self {
        self.waitlist = Some(waitlist);
        self
    }

    /// Delivers due jobs whenever woken (after a booking commit) or every poll interval,
    /// until `shutdown` resolves.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let poll = Duration::from_millis(self.settings.outbox.poll_interval_ms);
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                _ = self.wake.notified() => {},
                _ = tokio::time::sleep(poll) => {},
            }
            if let Err(e) = self.run_due().await {
                tracing::error!(error = %e, "outbox pass failed");
            }
        }
    }

    fn enabled(&self, service: Service) -> bool {
        match service {
            Service::Smtp => self.mailer.enabled(),
            Service::GoogleCalendar => self.google.enabled(),
            Service::Twilio => self.twilio.enabled(),
        }
    }

    /// One pass over the due jobs of enabled services; returns how many were attempted.
    pub async fn run_due(&self) -> Result<usize, StoreError> {
        let now = (self.clock)();
        let services: Vec<Service> = Service::ALL
            .into_iter()
            .filter(|s| self.enabled(*s))
            .collect();
        if services.is_empty() {
            return Ok(0);
        }
        let jobs: Vec<OutboxJob> = self
            .store
            .read(move |r| {
                let mut due = Vec::new();
                for s in services {
                    let from = due_bound(s, DateTime::<Utc>::MIN_UTC);
                    let to = due_bound(s, now + chrono::Duration::milliseconds(1));
                    due.extend(
                        r.global_range(&OUTBOX, &from, &to, 256)?
                            .into_iter()
                            .map(|(_, j)| j),
                    );
                }
                Ok::<_, StoreError>(due)
            })
            .await?;
        let mut attempted = 0;
        for job in jobs {
            attempted += 1;
            let (outcome, followup) = match job.kind {
                JobKind::Sms { .. } | JobKind::Reminder { .. } => self.text(&job).await,
                JobKind::WaitlistOffer { .. } => (self.offer(&job).await, None),
                _ => (self.deliver(&job).await, None),
            };
            self.record(job, outcome, followup).await?;
        }
        Ok(attempted)
    }

    /// A follow-up text: decided now (consent, quiet hours, window), then sent to Twilio.
    async fn text(&self, job: &OutboxJob) -> (Delivery, Option<FollowUpOutcome>) {
        let now = (self.clock)();
        let org = job.org_id;
        let from = self.twilio.from_number().to_string();
        let kind = job.kind.clone();
        // A reminder's message is made when it falls due, under an id of its appointment and
        // start: two jobs for the same start (moved away and back) make one message.
        let followup_id = match kind {
            JobKind::Sms { followup_id } => followup_id,
            JobKind::Reminder {
                appointment_id,
                for_start,
            } => crate::followup::reminder_id(appointment_id, for_start),
            _ => job.id,
        };
        let decision = self
            .store
            .read(move |r| match kind {
                JobKind::Reminder {
                    appointment_id,
                    for_start,
                } => crate::followup::due::decide_reminder(
                    r,
                    org,
                    appointment_id,
                    for_start,
                    followup_id,
                    now,
                    &from,
                ),
                _ => crate::followup::due::decide(r, org, followup_id, now, &from),
            })
            .await;
        let (to, from, body, record) = match decision {
            Ok(Decision::Send {
                to,
                from,
                body,
                record,
            }) => (to, from, body, record),
            Ok(Decision::Defer(until)) => return (Delivery::Defer(until), None),
            Ok(Decision::Drop(outcome)) => return (Delivery::Done, Some(outcome)),
            Ok(Decision::Gone) => return (Delivery::Done, None),
            Err(_) => return (Delivery::Retry("storage".into()), None),
        };
        match self.twilio.send(&to, from.as_deref(), &body).await {
            Ok(sid) => {
                let mut outcome =
                    FollowUpOutcome::new(followup_id, FollowUpStatus::Sent, (self.clock)());
                outcome.twilio_sid = Some(sid);
                outcome.record = record;
                (Delivery::Done, Some(outcome))
            }
            Err(SendFailure::Retry(code)) => (Delivery::Retry(code), None),
            Err(SendFailure::Unknown(code)) => {
                tracing::warn!(code = %code, "twilio's answer was lost; the text is not sent again");
                let mut outcome =
                    FollowUpOutcome::new(followup_id, FollowUpStatus::Sent, (self.clock)());
                outcome.record = record;
                outcome.reason = Some(format!(
                    "Twilio's answer was lost ({code}); not sent again, so the caller is not texted twice"
                ));
                (Delivery::Done, Some(outcome))
            }
            Err(SendFailure::Permanent { code, message }) => {
                tracing::warn!(code = %code, "twilio refused a message");
                let mut outcome =
                    FollowUpOutcome::new(followup_id, FollowUpStatus::Failed, (self.clock)());
                outcome.record = record;
                outcome.opted_out = code == "21610";
                outcome.sender = from;
                outcome.error_code = Some(code);
                outcome.error_message = Some(message);
                (Delivery::Done, Some(outcome))
            }
        }
    }

    /// A freed time: offered to the clinic's waiting list (the offers' texts are queued as
    /// jobs of their own, and this pass is woken again for them).
    async fn offer(&self, job: &OutboxJob) -> Delivery {
        let JobKind::WaitlistOffer {
            provider_id,
            service_id,
            start,
            end,
        } = job.kind
        else {
            return Delivery::Done;
        };
        let Some(waitlist) = &self.waitlist else {
            return Delivery::Defer((self.clock)() + chrono::Duration::minutes(10));
        };
        let freed = crate::waitlist::records::FreedTime {
            provider_id,
            service_id,
            start,
            end,
        };
        // One hold per freed time: a retried job finds its own hold again.
        let holder = format!("waitlist:{}", job.id);
        match waitlist.offer_freed(job.org_id, freed, holder).await {
            Ok(_) => Delivery::Done,
            Err(e) => {
                tracing::warn!(error = %e, "offering a freed time to the waiting list failed");
                Delivery::Retry("waitlist".into())
            }
        }
    }

    async fn context(&self, job: &OutboxJob) -> Result<Option<Context>, StoreError> {
        let (org, id) = match &job.kind {
            JobKind::ConfirmationEmail { appointment_id }
            | JobKind::CalendarUpsert { appointment_id }
            | JobKind::CalendarDelete { appointment_id } => (job.org_id, *appointment_id),
            JobKind::Sms { .. } | JobKind::Reminder { .. } | JobKind::WaitlistOffer { .. } => {
                return Ok(None)
            }
        };
        let vault = self.vault.clone();
        // Only a calendar job opens the clinic's Google token.
        let calendar = matches!(
            job.kind,
            JobKind::CalendarUpsert { .. } | JobKind::CalendarDelete { .. }
        );
        self.store
            .read(move |r| {
                let o = r.org(org);
                let Some(appointment) = o.get(&APPOINTMENTS, &id.as_bytes())? else {
                    return Ok(None);
                };
                let Some(org_record) = r.global_get(&ORGS, &org.as_bytes())? else {
                    return Ok(None);
                };
                let provider_name = o
                    .get(&PROVIDERS, &appointment.provider_id.as_bytes())?
                    .map(|p| p.name)
                    .unwrap_or_default();
                let service_name = match appointment.service_id {
                    Some(s) => o.get(&SERVICES, &s.as_bytes())?.map(|s| s.name),
                    None => None,
                };
                let calendar_id = o
                    .get(&CLINIC_SETTINGS, b"settings")?
                    .and_then(|s| s.calendar_id);
                let credentials = if calendar {
                    crate::calendar::credentials_in(&vault, &o).map_err(|_| ())
                } else {
                    Ok(None)
                };
                Ok(Some(Context {
                    tz: org_record.timezone.parse().unwrap_or(chrono_tz::UTC),
                    clinic_name: org_record.name,
                    appointment,
                    provider_name,
                    service_name,
                    calendar_id,
                    credentials,
                }))
            })
            .await
    }

    async fn deliver(&self, job: &OutboxJob) -> Delivery {
        let ctx = match self.context(job).await {
            Ok(Some(c)) => c,
            Ok(None) => return Delivery::Done,
            Err(_) => return Delivery::Retry("storage".into()),
        };
        let a = &ctx.appointment;
        let calendar_id = ctx
            .calendar_id
            .clone()
            .unwrap_or_else(|| self.settings.google_calendar.calendar_id.clone());
        // The clinic's own calendar, else the install's; with neither, calendar jobs wait
        // (queued and visible) until one is connected or the install's is switched on. A
        // clinic token that cannot be opened fails calendar jobs only (never falls back).
        enum Calendar {
            Use(crate::integrations::google::Credentials),
            Wait,
            Unreadable,
        }
        let calendar = match &ctx.credentials {
            Ok(Some(own)) => Calendar::Use(own.clone()),
            Ok(None) => match self.google.install_credentials() {
                Some(install) => Calendar::Use(install),
                None => Calendar::Wait,
            },
            Err(()) => Calendar::Unreadable,
        };
        let later = (self.clock)() + chrono::Duration::minutes(10);
        let credentials = match (&job.kind, calendar) {
            (
                JobKind::CalendarUpsert { .. } | JobKind::CalendarDelete { .. },
                Calendar::Unreadable,
            ) => return Delivery::Retry("calendar_token_unreadable".into()),
            (_, Calendar::Use(c)) => Ok(c),
            (_, _) => Err(()),
        };
        let result = match &job.kind {
            JobKind::ConfirmationEmail { .. } => {
                let Some(to) = a.patient.email.clone() else {
                    return Delivery::Done;
                };
                if a.status != AppointmentStatus::Pending {
                    return Delivery::Done;
                }
                let local = a.start.with_timezone(&ctx.tz);
                let link = format!(
                    "{}/confirm/{}",
                    self.settings.server.public_url.trim_end_matches('/'),
                    a.confirmation_token
                );
                let body = format!(
                    "Hello {},\n\nYour appointment with {} at {} is booked for {} at {}.\n\nPlease confirm it by opening this link:\n{link}\n\nIf you need to change it, please call the clinic.\n",
                    a.patient.name,
                    ctx.provider_name,
                    ctx.clinic_name,
                    say_date(local.date_naive()),
                    say_time(local.time()),
                );
                self.mailer
                    .send(
                        &to,
                        &format!("Please confirm your appointment at {}", ctx.clinic_name),
                        body,
                    )
                    .await
            }
            JobKind::CalendarUpsert { .. } => {
                if !a.status.is_active() {
                    return Delivery::Done;
                }
                let Ok(creds) = &credentials else {
                    return Delivery::Defer(later);
                };
                let tz = ctx.tz.name();
                let event = json!({
                    "id": event_id(a.id),
                    "summary": format!("{} – {}", ctx.service_name.clone().unwrap_or_else(|| "Appointment".into()), a.patient.name),
                    "description": format!("Booked by Voxanne ({}). Appointment {}.", match a.source { crate::booking::records::BookingSource::Vapi => "phone agent", _ => "staff" }, a.id),
                    "start": {"dateTime": a.start.with_timezone(&ctx.tz).to_rfc3339(), "timeZone": tz},
                    "end": {"dateTime": a.end.with_timezone(&ctx.tz).to_rfc3339(), "timeZone": tz},
                });
                self.google
                    .upsert(creds, &calendar_id, &event_id(a.id), &event)
                    .await
                    .map_err(|f| f.0)
            }
            JobKind::CalendarDelete { .. } => match &credentials {
                Ok(creds) => self
                    .google
                    .delete(creds, &calendar_id, &event_id(a.id))
                    .await
                    .map_err(|f| f.0),
                Err(()) => return Delivery::Defer(later),
            },
            JobKind::Sms { .. } | JobKind::Reminder { .. } | JobKind::WaitlistOffer { .. } => {
                return Delivery::Done
            }
        };
        match result {
            Ok(()) => Delivery::Done,
            Err(code) => Delivery::Retry(code),
        }
    }

    fn backoff(&self, attempts: u32) -> chrono::Duration {
        let base = self.settings.outbox.retry_base_ms.max(1);
        let max = self.settings.outbox.retry_max_ms.max(base);
        let exp = base.saturating_mul(1u64 << attempts.min(30)).min(max);
        let jittered = (exp as f64 * rand::thread_rng().gen_range(0.8..1.2)) as i64;
        chrono::Duration::milliseconds(jittered)
    }

    async fn record(
        &self,
        job: OutboxJob,
        outcome: Delivery,
        followup: Option<FollowUpOutcome>,
    ) -> Result<(), StoreError> {
        let now: DateTime<Utc> = (self.clock)();
        let next = self.backoff(job.attempts);
        let sync_state = |state: &'static str| match &job.kind {
            JobKind::CalendarUpsert { appointment_id } => Some((*appointment_id, state)),
            _ => None,
        };
        let label = match &outcome {
            Delivery::Done => "delivered",
            Delivery::Retry(_) => "retry",
            Delivery::Defer(_) => "deferred",
        };
        metrics::counter!(
            crate::metrics::OUTBOX_DELIVERIES,
            "service" => job.kind.service().name(),
            "outcome" => label,
        )
        .increment(1);
        let (update, appointment_state) = match outcome {
            Delivery::Done => (None, sync_state("synced")),
            Delivery::Defer(until) => {
                let mut j = job.clone();
                j.next_attempt_at = until;
                (Some(j), None)
            }
            Delivery::Retry(code) => {
                tracing::warn!(service = job.kind.service().name(), code = %code, attempts = job.attempts + 1, "outbox delivery failed; will retry");
                let failed = job.attempts + 1 >= FAILED_AFTER;
                let mut j = job.clone();
                j.attempts += 1;
                j.last_error = Some(code);
                j.next_attempt_at = now + next;
                (Some(j), if failed { sync_state("failed") } else { None })
            }
        };
        let record = crate::outbox::DeliveryRecord {
            org: job.org_id,
            done_key: job_key(job.kind.service(), job.next_attempt_at, job.id),
            retry: update,
            calendar_sync: appointment_state,
            effect: followup.map(|f| Arc::new(f) as Arc<dyn crate::outbox::DeliveryEffect>),
        };
        if !self.ledger.record(record).await {
            tracing::warn!(
                service = job.kind.service().name(),
                "a delivery outcome could not be recorded; the job stays due"
            );
        }
        Ok(())
    }
}
