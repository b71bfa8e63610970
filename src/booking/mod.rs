//! Clinic set-up (settings, services, providers, time off), availability, and the booking
//! life cycle (book, find, cancel, reschedule, confirm). Every change to an appointment goes
//! through the claim writer; reads use snapshots.

pub mod intake;
pub mod keys;
pub mod ledger;
pub mod phone_index;
pub mod records;
pub mod schedule;
pub mod slot_index;
pub mod writer;

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, SecondsFormat, TimeZone, Utc};
use chrono_tz::Tz;

use crate::audit::{self, AuditEvent, Outcome};
use crate::auth::Caller;
use crate::domain::{AppointmentId, FieldError, OrgId, ProviderId, ServiceId};
use crate::identity::records::OrgRecord;
use crate::store::tables::{APPOINTMENTS, CLINIC_SETTINGS, FEED_TOKENS, ORGS, PROVIDERS, SERVICES};
use crate::store::{Store, StoreError, StoreRead};
use ledger::{BookRequest, Change, Effect, MAX_LEAD, MAX_TAIL};
use phone_index::PhoneIndex;
use records::{AppointmentRecord, ClinicSettings, ProviderRecord, ServiceRecord, TimeOffRecord};
use schedule::{Interval, ProviderCalendar, Refusal, Shape, WeeklyHours};
use writer::ClaimWriter;

#[derive(Debug, thiserror::Error)]
pub enum BookingError {
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    #[error("not found")]
    NotFound,
    #[error("refused: {0:?}")]
    Refused(Refusal),
    #[error("slot taken")]
    Taken { alternatives: Vec<Slot> },
    #[error("the appointment is no longer active")]
    NotActive,
    #[error("the appointment has not started yet")]
    NotStarted,
    #[error("that clinic is not yours")]
    OtherOrg,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the booking writer is unavailable")]
    Unavailable,
    /// The change failed inside the writer for a reason of ours (it panicked); nothing of it
    /// was written.
    #[error("internal failure applying the change")]
    Internal,
}

/// A bookable start with a provider.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Slot {
    pub provider_id: ProviderId,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// The clinic's zone, from its org record.
pub fn org_zone(org: Option<OrgRecord>) -> Result<Tz, BookingError> {
    let org = org.ok_or(BookingError::NotFound)?;
    org.timezone.parse().map_err(|_| BookingError::NotFound)
}

fn stamp(now: DateTime<Utc>) -> String {
    now.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Reads a local wall-clock date and time in `tz`; a time skipped by a clock change is invalid,
/// a repeated one means its first occurrence.
pub fn local_instant(tz: Tz, date: NaiveDate, time: NaiveTime) -> Result<DateTime<Utc>, String> {
    tz.from_local_datetime(&date.and_time(time))
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| "does not exist on that day (the clocks change)".to_string())
}

/// Input for a new service.
pub struct NewService {
    pub name: String,
    pub duration_minutes: u32,
    pub buffer_before_minutes: u32,
    pub buffer_after_minutes: u32,
    pub procedure: Option<String>,
}

/// Input for a new provider.
pub struct NewProvider {
    pub name: String,
    pub service_ids: Vec<ServiceId>,
    pub weekly_hours: WeeklyHours,
    pub breaks: WeeklyHours,
}

/// Filters for listing appointments.
#[derive(Default)]
pub struct AppointmentFilter {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub provider_id: Option<ProviderId>,
    pub phone: Option<String>,
}

/// Everything a clinic needs to know to answer a caller, read in one snapshot.
pub struct ClinicView {
    pub org: OrgRecord,
    pub tz: Tz,
    pub settings: ClinicSettings,
    pub services: Vec<ServiceRecord>,
    pub providers: Vec<ProviderRecord>,
}

/// The indexes over the stored appointments that live in memory: built with one read of every
/// org's appointments at start, and kept up to date by the claim writer after each commit.
#[derive(Clone)]
pub struct MemoryIndexes {
    pub phones: Arc<PhoneIndex>,
    pub slots: Arc<slot_index::SlotIndex>,
}

/// What the in-memory indexes hold, in a comparable form.
#[derive(Debug, PartialEq)]
pub struct IndexSnapshot {
    pub slots: Vec<(OrgId, ProviderId, DateTime<Utc>, AppointmentId, Interval)>,
    pub phones: Vec<(OrgId, String, AppointmentId)>,
}

impl MemoryIndexes {
    /// The indexes' contents now.
    pub fn snapshot(&self) -> IndexSnapshot {
        IndexSnapshot {
            slots: self.slots.snapshot(),
            phones: self.phones.snapshot(),
        }
    }

    /// Reads every org's appointments once, a page at a time.
    pub fn build(store: &Store) -> Result<MemoryIndexes, crate::store::StoreError> {
        const PAGE: usize = 1024;
        let indexes = MemoryIndexes {
            phones: Arc::default(),
            slots: Arc::default(),
        };
        let r = store.begin_read()?;
        let mut appointments = 0usize;
        for key in r.global_keys(&ORGS)? {
            let Some(org) = OrgId::from_bytes(&key) else {
                continue;
            };
            let mut after: Option<Vec<u8>> = None;
            loop {
                let page = r
                    .org(org)
                    .scan(&APPOINTMENTS, &[], after.as_deref(), PAGE)?;
                let full = page.len() == PAGE;
                appointments += page.len();
                for (key, a) in page {
                    indexes.phones.add(org, a.patient.phone.as_str(), a.id);
                    indexes.slots.add_stored(&a);
                    after = Some(key);
                }
                if !full {
                    break;
                }
            }
        }
        tracing::info!(appointments, "appointment indexes built");
        Ok(indexes)
    }
}

pub struct BookingService {
    store: Store,
    writer: ClaimWriter,
    indexes: MemoryIndexes,
    clock: Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>,
    views: ViewCache,
}

/// Each org's set-up as last read, so a tool call need not decode every provider again. Every
/// set-up change goes through this service and bumps the generation, and a view read before a
/// bump is never stored after it.
/// Per org: the generation and the view read at it, if any.
type ViewMap = std::collections::HashMap<OrgId, (u64, Option<Arc<ClinicView>>)>;

#[derive(Default)]
struct ViewCache {
    inner: std::sync::Mutex<ViewMap>,
}

impl ViewCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, ViewMap> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
    fn get(&self, org: OrgId) -> (u64, Option<Arc<ClinicView>>) {
        self.lock().get(&org).cloned().unwrap_or((0, None))
    }
    fn put(&self, org: OrgId, generation: u64, view: Arc<ClinicView>) {
        let mut map = self.lock();
        let entry = map.entry(org).or_insert((0, None));
        if entry.0 == generation {
            entry.1 = Some(view);
        }
    }
    fn forget(&self, org: OrgId) {
        let mut map = self.lock();
        let entry = map.entry(org).or_insert((0, None));
        entry.0 += 1;
        entry.1 = None;
    }
}

impl BookingService {
    /// `committed` is woken after each booking commit (for the outbox worker); `indexes`
    /// are the in-memory appointment indexes, which the claim writer keeps up to date.
    pub fn new(
        store: Store,
        committed: Arc<tokio::sync::Notify>,
        indexes: MemoryIndexes,
        clock: crate::clock::Clock,
    ) -> Self {
        Self {
            writer: ClaimWriter::start(store.clone(), clock.clone(), committed, indexes.clone()),
            indexes,
            store,
            clock,
            views: ViewCache::default(),
        }
    }

    /// The in-memory appointment indexes (the booking bench drives the ledger with them).
    pub fn memory_indexes(&self) -> &MemoryIndexes {
        &self.indexes
    }

    /// The claim writer's counters (transactions, changes, time applying and committing).
    pub fn writer_stats(&self) -> writer::WriterStats {
        self.writer.stats()
    }

    /// The claim writer, for tests of its fault isolation and for readiness.
    pub fn writer(&self) -> &ClaimWriter {
        &self.writer
    }

    /// Stops the claim writer once the queued changes are committed (at shutdown).
    pub async fn shutdown(&self) {
        self.writer.stop().await;
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    // ---- set-up --------------------------------------------------------------------------

    /// The clinic's booking settings, from the cached set-up view.
    pub async fn settings(&self, org: OrgId) -> Result<ClinicSettings, BookingError> {
        Ok(self.clinic(org).await?.settings.clone())
    }

    pub async fn put_settings(
        &self,
        caller: Caller,
        s: ClinicSettings,
    ) -> Result<ClinicSettings, BookingError> {
        let mut v = crate::domain::Validation::new();
        v.check(
            "min_notice_minutes",
            if s.min_notice_minutes <= 60 * 24 * 30 {
                Ok(())
            } else {
                Err("is at most 43200".into())
            },
        );
        v.check(
            "horizon_days",
            if (1..=730).contains(&s.horizon_days) {
                Ok(())
            } else {
                Err("must be between 1 and 730".into())
            },
        );
        v.check(
            "slot_step_minutes",
            if (5..=240).contains(&s.slot_step_minutes) {
                Ok(())
            } else {
                Err("must be between 5 and 240".into())
            },
        );
        v.check(
            "phone_region",
            crate::domain::phone::region(&s.phone_region)
                .map(|_| ())
                .ok_or_else(|| "must be a country code such as GB or US".to_string()),
        );
        for (field, value) in [
            ("quiet_hours_start", &s.quiet_hours_start),
            ("quiet_hours_end", &s.quiet_hours_end),
        ] {
            v.check(
                field,
                chrono::NaiveTime::parse_from_str(value.trim(), "%H:%M")
                    .map(|_| ())
                    .map_err(|_| "must be HH:MM".to_string()),
            );
        }
        v.check(
            "followup_window_days",
            if s.followup_window_days <= 365 {
                Ok(())
            } else {
                Err("is at most 365".into())
            },
        );
        v.check(
            "reminder_hours_before",
            if s.reminder_hours_before <= 24 * 14 {
                Ok(())
            } else {
                Err("is at most 336".into())
            },
        );
        for (field, value) in [
            ("booking_link", &s.booking_link),
            ("public_url", &s.public_url),
        ] {
            v.check(
                field,
                match value {
                    Some(u)
                        if !(u.starts_with("https://") || u.starts_with("http://"))
                            || u.len() > 500 =>
                    {
                        Err("must be an http(s) URL".to_string())
                    }
                    _ => Ok(()),
                },
            );
        }
        v.check(
            "sms_help_text",
            match &s.sms_help_text {
                Some(t) if t.trim().is_empty() || t.chars().count() > 320 => {
                    Err("must be 1 to 320 characters".to_string())
                }
                _ => Ok(()),
            },
        );
        // A sender is a phone number (kept in E.164, as Twilio names it in inbound webhooks)
        // or an alphanumeric sender id (1–11 letters, digits and spaces, at least one letter).
        let sms_from = v.check(
            "sms_from",
            match s.sms_from.as_deref().map(str::trim) {
                None => Ok(None),
                Some(t) if t.starts_with('+') || t.starts_with(|c: char| c.is_ascii_digit()) => {
                    crate::domain::PhoneNumber::parse(t, &s.phone_region)
                        .map(|p| Some(p.as_str().to_string()))
                }
                Some(t)
                    if (1..=11).contains(&t.len())
                        && t.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ')
                        && t.chars().any(|c| c.is_ascii_alphabetic()) =>
                {
                    Ok(Some(t.to_string()))
                }
                Some(_) => Err(
                    "must be a phone number or an alphanumeric sender id of up to 11 characters"
                        .to_string(),
                ),
            },
        );
        v.finish().map_err(BookingError::Invalid)?;
        let mut s = s;
        s.sms_from = sms_from.flatten();
        let saved = s.clone();
        self.store
            .write(move |w| {
                let mut org = w.org(caller.org);
                org.put(&CLINIC_SETTINGS, b"settings", &s)?;
                audit::success(
                    &mut org,
                    caller.actor(),
                    "settings_changed",
                    format!("org:{}", caller.org),
                    Utc::now(),
                )?;
                Ok::<_, BookingError>(())
            })
            .await?;
        self.views.forget(caller.org);
        Ok(saved)
    }

    pub async fn create_service(
        &self,
        caller: Caller,
        input: NewService,
    ) -> Result<ServiceRecord, BookingError> {
        let mut v = crate::domain::Validation::new();
        let name = v.check("name", crate::domain::FullName::parse(&input.name));
        v.check(
            "duration_minutes",
            if (5..=720).contains(&input.duration_minutes) {
                Ok(())
            } else {
                Err("must be between 5 and 720".into())
            },
        );
        v.check(
            "buffer_before_minutes",
            if input.buffer_before_minutes <= 240 {
                Ok(())
            } else {
                Err("is at most 240".into())
            },
        );
        v.check(
            "buffer_after_minutes",
            if input.buffer_after_minutes <= 240 {
                Ok(())
            } else {
                Err("is at most 240".into())
            },
        );
        let procedure = v.check_opt(
            "procedure",
            input
                .procedure
                .as_deref()
                .map(crate::domain::FullName::parse),
        );
        v.finish().map_err(BookingError::Invalid)?;
        let record = ServiceRecord {
            id: ServiceId::new_random(),
            name: name.map(|n| n.as_str().to_string()).unwrap_or_default(),
            duration_minutes: input.duration_minutes,
            buffer_before_minutes: input.buffer_before_minutes,
            buffer_after_minutes: input.buffer_after_minutes,
            procedure: procedure.map(|p| p.as_str().to_string()),
            created_at: stamp(self.now()),
        };
        let saved = record.clone();
        self.store
            .write(move |w| {
                let mut org = w.org(caller.org);
                org.put(&SERVICES, &record.id.as_bytes(), &record)?;
                audit::success(
                    &mut org,
                    caller.actor(),
                    "service_created",
                    format!("service:{}", record.id),
                    Utc::now(),
                )?;
                Ok::<_, BookingError>(())
            })
            .await?;
        self.views.forget(caller.org);
        Ok(saved)
    }

    pub async fn create_provider(
        &self,
        caller: Caller,
        input: NewProvider,
    ) -> Result<ProviderRecord, BookingError> {
        let mut v = crate::domain::Validation::new();
        let name = v.check("name", crate::domain::FullName::parse(&input.name));
        v.finish().map_err(BookingError::Invalid)?;
        let record = ProviderRecord {
            id: ProviderId::new_random(),
            name: name.map(|n| n.as_str().to_string()).unwrap_or_default(),
            service_ids: input.service_ids,
            weekly_hours: input.weekly_hours,
            breaks: input.breaks,
            time_off: Vec::new(),
            feed_token: crate::domain::random_secret(24),
            created_at: stamp(self.now()),
        };
        let saved = record.clone();
        self.store
            .write(move |w| {
                let org = w.org(caller.org);
                for s in &record.service_ids {
                    if org.get(&SERVICES, &s.as_bytes())?.is_none() {
                        return Err(BookingError::Invalid(vec![FieldError::new(
                            "service_ids",
                            "names a service this clinic does not have",
                        )]));
                    }
                }
                w.global_put(
                    &FEED_TOKENS,
                    record.feed_token.as_bytes(),
                    &(caller.org, record.id),
                )?;
                let mut org = w.org(caller.org);
                org.put(&PROVIDERS, &record.id.as_bytes(), &record)?;
                audit::success(
                    &mut org,
                    caller.actor(),
                    "provider_created",
                    format!("provider:{}", record.id),
                    Utc::now(),
                )?;
                Ok(())
            })
            .await?;
        self.views.forget(caller.org);
        Ok(saved)
    }

    /// Replaces a provider's weekly hours and breaks (appointments already booked stay; new
    /// ones follow the new hours).
    pub async fn set_hours(
        &self,
        caller: Caller,
        provider: ProviderId,
        weekly_hours: WeeklyHours,
        breaks: WeeklyHours,
    ) -> Result<ProviderRecord, BookingError> {
        self.change_provider(caller, provider, "provider_hours_changed", move |p| {
            p.weekly_hours = weekly_hours;
            p.breaks = breaks;
        })
        .await
    }

    /// Adds time off. Goes through the claim writer's transaction order like any write, so a
    /// claim committed after it sees it.
    pub async fn add_time_off(
        &self,
        caller: Caller,
        provider: ProviderId,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        reason: Option<String>,
    ) -> Result<ProviderRecord, BookingError> {
        if end <= start {
            return Err(BookingError::Invalid(vec![FieldError::new(
                "end",
                "must be after start",
            )]));
        }
        self.change_provider(caller, provider, "time_off_added", move |p| {
            p.time_off.push(TimeOffRecord { start, end, reason })
        })
        .await
    }

    /// One change to a provider's record, audited as `action`, in one write; the clinic's
    /// cached set-up is dropped after it.
    async fn change_provider(
        &self,
        caller: Caller,
        provider: ProviderId,
        action: &'static str,
        change: impl FnOnce(&mut ProviderRecord) + Send + 'static,
    ) -> Result<ProviderRecord, BookingError> {
        self.store
            .write(move |w| {
                let mut org = w.org(caller.org);
                let mut p = org
                    .get(&PROVIDERS, &provider.as_bytes())?
                    .ok_or(BookingError::NotFound)?;
                change(&mut p);
                org.put(&PROVIDERS, &provider.as_bytes(), &p)?;
                audit::success(
                    &mut org,
                    caller.actor(),
                    action,
                    format!("provider:{provider}"),
                    Utc::now(),
                )?;
                Ok(p)
            })
            .await
            .inspect(|_| self.views.forget(caller.org))
    }

    /// The clinic's set-up (org, zone, settings, services, providers), cached until it changes.
    pub async fn clinic(&self, org: OrgId) -> Result<Arc<ClinicView>, BookingError> {
        let (generation, cached) = self.views.get(org);
        if let Some(view) = cached {
            return Ok(view);
        }
        let view = Arc::new(self.store.read(move |r| clinic_view(r, org)).await?);
        self.views.put(org, generation, view.clone());
        Ok(view)
    }

    /// The clinic's time zone.
    pub async fn zone(&self, org: OrgId) -> Result<Tz, BookingError> {
        Ok(self.clinic(org).await?.tz)
    }

    pub async fn provider(
        &self,
        org: OrgId,
        id: ProviderId,
    ) -> Result<ProviderRecord, BookingError> {
        self.store
            .read(move |r| {
                r.org(org)
                    .get(&PROVIDERS, &id.as_bytes())?
                    .ok_or(BookingError::NotFound)
            })
            .await
    }

    // ---- availability --------------------------------------------------------------------

    /// Free slots from `date` for `days` days, for one provider or every provider of the
    /// service. Without a service, slots are 30 minutes with no buffers.
    pub async fn availability(
        &self,
        org: OrgId,
        service: Option<ServiceId>,
        provider: Option<ProviderId>,
        date: NaiveDate,
        days: u32,
    ) -> Result<Vec<Slot>, BookingError> {
        let now = self.now();
        let view = self.clinic(org).await?;
        let index = self.indexes.slots.clone();
        run_off_thread(move || {
            let o = OrgSlots { org, index: &index };
            let (shape, candidates) = pick(&view, service, provider)?;
            let mut slots = Vec::new();
            for p in candidates {
                for d in 0..days.clamp(1, 31) {
                    let day = date + Duration::days(d.into());
                    slots.extend(offered_on(&o, &view, p, &shape, day, now)?);
                }
            }
            slots.sort_by_key(|s| (s.start, s.provider_id));
            Ok(slots)
        })
        .await
    }

    /// Up to three alternatives near `start`: the same provider nearest in time first, then
    /// other providers of the service at the asked time.
    pub async fn alternatives(
        &self,
        org: OrgId,
        service: Option<ServiceId>,
        provider: ProviderId,
        start: DateTime<Utc>,
    ) -> Result<Vec<Slot>, BookingError> {
        let now = self.now();
        let view = self.clinic(org).await?;
        let index = self.indexes.slots.clone();
        run_off_thread(move || {
            let o = OrgSlots { org, index: &index };
            let (shape, _) = pick(&view, service, Some(provider))?;
            let Some(me) = view.providers.iter().find(|p| p.id == provider) else {
                return Ok(Vec::new());
            };
            let day = start.with_timezone(&view.tz).date_naive();
            let mut same: Vec<Slot> = Vec::new();
            for d in 0..7 {
                same.extend(offered_on(
                    &o,
                    &view,
                    me,
                    &shape,
                    day + Duration::days(d),
                    now,
                )?);
                if same.len() >= 3 {
                    break;
                }
            }
            same.sort_by_key(|s| (s.start - start).num_seconds().abs());
            let mut out: Vec<Slot> = same.iter().take(2).cloned().collect();
            if let Some(sid) = service {
                for other in view
                    .providers
                    .iter()
                    .filter(|p| p.id != provider && p.service_ids.contains(&sid))
                {
                    if out.len() >= 3 {
                        break;
                    }
                    let slots = offered_on(&o, &view, other, &shape, day, now)?;
                    if let Some(s) = slots.into_iter().find(|s| s.start == start) {
                        out.push(s);
                    }
                }
            }
            for s in same.into_iter().skip(2) {
                if out.len() >= 3 {
                    break;
                }
                out.push(s);
            }
            Ok(out)
        })
        .await
    }

    // ---- appointments --------------------------------------------------------------------

    /// Books through the claim writer. A taken slot answers with alternatives.
    pub async fn book(&self, req: BookRequest) -> Result<(AppointmentRecord, bool), BookingError> {
        let result = self.book_once(req).await;
        let outcome = match &result {
            Ok((_, false)) => "booked",
            Ok((_, true)) => "replayed",
            Err(BookingError::Taken { .. }) => "taken",
            Err(BookingError::Refused(_)) => "refused",
            Err(BookingError::Invalid(_)) | Err(BookingError::NotFound) => "invalid",
            Err(_) => "failed",
        };
        metrics::counter!(crate::observe::BOOKINGS, "outcome" => outcome).increment(1);
        result
    }

    async fn book_once(&self, req: BookRequest) -> Result<(AppointmentRecord, bool), BookingError> {
        let (org, service, provider, start) = (req.org, req.service_id, req.provider_id, req.start);
        match self.writer.submit(Change::Book(Box::new(req))).await {
            Ok(Effect::Booked {
                appointment,
                replayed,
            }) => Ok((*appointment, replayed)),
            Ok(_) => Err(BookingError::Unavailable),
            Err(BookingError::Refused(Refusal::Taken)) => {
                let alternatives = self.alternatives(org, service, provider, start).await?;
                Err(BookingError::Taken { alternatives })
            }
            Err(e) => Err(e),
        }
    }

    pub async fn cancel(
        &self,
        caller: Caller,
        id: AppointmentId,
        reason: Option<String>,
    ) -> Result<AppointmentRecord, BookingError> {
        match self
            .writer
            .submit(Change::Cancel {
                org: caller.org,
                id,
                actor: caller.actor(),
                reason,
            })
            .await?
        {
            Effect::Cancelled(a) => Ok(*a),
            _ => Err(BookingError::Unavailable),
        }
    }

    /// Drops reminder jobs whose appointment start has passed (they would send nothing),
    /// through the claim writer like every outbox outcome; returns how many.
    pub async fn drop_past_reminders(&self, now: DateTime<Utc>) -> Result<usize, BookingError> {
        use crate::outbox::{due_bound, job_key, DeliveryRecord, JobKind, OutboxJob, Service};
        let stale: Vec<OutboxJob> = self
            .store
            .read(move |r| {
                Ok::<_, BookingError>(
                    r.global_range(
                        &crate::store::tables::OUTBOX,
                        &due_bound(Service::Twilio, DateTime::<Utc>::MIN_UTC),
                        &due_bound(Service::Twilio, DateTime::<Utc>::MAX_UTC),
                        100_000,
                    )?
                    .into_iter()
                    .map(|(_, j)| j)
                    .filter(|j| matches!(j.kind, JobKind::Reminder { for_start, .. } if for_start < now))
                    .collect(),
                )
            })
            .await?;
        let n = stale.len();
        for job in stale {
            self.writer
                .submit(Change::Delivery(Box::new(DeliveryRecord {
                    org: job.org_id,
                    done_key: job_key(job.kind.service(), job.next_attempt_at, job.id),
                    retry: None,
                    calendar_sync: None,
                    followup: None,
                })))
                .await?;
        }
        Ok(n)
    }

    /// Retention: forgets the tool calls whose appointments were created before `before`
    /// (their ids are time-ordered); Vapi retries a tool call within seconds, never months.
    /// Through the claim writer, which owns the table. Returns how many went.
    pub async fn forget_old_tool_calls(
        &self,
        before: DateTime<Utc>,
    ) -> Result<usize, BookingError> {
        use crate::store::tables::{ORGS, TOOL_CALL_EFFECTS};
        let cutoff_ms = before.timestamp_millis().max(0) as u64;
        let old: Vec<(OrgId, Vec<String>)> = self
            .store
            .read(move |r| {
                let mut out = Vec::new();
                for (_, org) in r.global_scan(&ORGS, usize::MAX)? {
                    let ids: Vec<String> = r
                        .org(org.id)
                        .scan(&TOOL_CALL_EFFECTS, &[], None, usize::MAX)?
                        .into_iter()
                        .filter(|(_, appointment)| {
                            uuid::Uuid::from_u128(appointment.as_u128())
                                .get_timestamp()
                                .is_some_and(|t| {
                                    let (secs, nanos) = t.to_unix();
                                    secs * 1000 + u64::from(nanos / 1_000_000) < cutoff_ms
                                })
                        })
                        .map(|(k, _)| String::from_utf8_lossy(&k).into_owned())
                        .collect();
                    if !ids.is_empty() {
                        out.push((org.id, ids));
                    }
                }
                Ok::<_, BookingError>(out)
            })
            .await?;
        let mut n = 0;
        for (org, ids) in old {
            for chunk in ids.chunks(1000) {
                n += chunk.len();
                self.writer
                    .submit(Change::ForgetToolCalls {
                        org,
                        tool_call_ids: chunk.to_vec(),
                    })
                    .await?;
            }
        }
        Ok(n)
    }

    /// Records that an appointment happened or that the patient did not come.
    pub async fn set_outcome(
        &self,
        caller: Caller,
        id: AppointmentId,
        status: records::AppointmentStatus,
    ) -> Result<AppointmentRecord, BookingError> {
        match self
            .writer
            .submit(Change::Outcome {
                org: caller.org,
                id,
                status,
                actor: caller.actor(),
            })
            .await?
        {
            Effect::OutcomeSet(a) => Ok(*a),
            _ => Err(BookingError::Unavailable),
        }
    }

    pub async fn reschedule(
        &self,
        caller: Caller,
        id: AppointmentId,
        start: DateTime<Utc>,
        tool_call_id: Option<String>,
    ) -> Result<AppointmentRecord, BookingError> {
        let change = Change::Reschedule {
            org: caller.org,
            id,
            start,
            actor: caller.actor(),
            tool_call_id,
        };
        match self.writer.submit(change).await {
            Ok(Effect::Rescheduled(a)) => Ok(*a),
            Ok(_) => Err(BookingError::Unavailable),
            Err(BookingError::Refused(Refusal::Taken)) => {
                let current = self.appointment(caller.org, id).await?;
                let alternatives = self
                    .alternatives(caller.org, current.service_id, current.provider_id, start)
                    .await?;
                Err(BookingError::Taken { alternatives })
            }
            Err(e) => Err(e),
        }
    }

    /// Confirms by the link's token: `Some(appointment)` the first time, `None` when the token
    /// is unknown or already used.
    pub async fn confirm(&self, token: String) -> Result<Option<AppointmentRecord>, BookingError> {
        self.confirm_as(token, None).await
    }

    /// `confirm`, recorded as done by `actor` (staff confirming for the patient).
    pub async fn confirm_as(
        &self,
        token: String,
        actor: Option<String>,
    ) -> Result<Option<AppointmentRecord>, BookingError> {
        if token.len() > 100 {
            return Ok(None);
        }
        match self.writer.submit(Change::Confirm { token, actor }).await? {
            Effect::Confirmed(a) => Ok(Some(*a)),
            _ => Ok(None),
        }
    }

    pub async fn appointment(
        &self,
        org: OrgId,
        id: AppointmentId,
    ) -> Result<AppointmentRecord, BookingError> {
        self.store
            .read(move |r| {
                r.org(org)
                    .get(&APPOINTMENTS, &id.as_bytes())?
                    .ok_or(BookingError::NotFound)
            })
            .await
    }

    pub async fn appointments(
        &self,
        org: OrgId,
        filter: AppointmentFilter,
    ) -> Result<Vec<AppointmentRecord>, BookingError> {
        let by_phone = filter
            .phone
            .as_ref()
            .map(|p| self.indexes.phones.ids(org, p));
        self.store
            .read(move |r| {
                let o = r.org(org);
                let mut list: Vec<AppointmentRecord> = if let Some(ids) = &by_phone {
                    let mut v = Vec::new();
                    for id in ids {
                        if let Some(a) = o.get(&APPOINTMENTS, &id.as_bytes())? {
                            v.push(a);
                        }
                    }
                    v
                } else {
                    o.scan(&APPOINTMENTS, &[], None, 100_000)?
                        .into_iter()
                        .map(|(_, a)| a)
                        .collect()
                };
                list.retain(|a| {
                    filter.from.is_none_or(|f| a.end > f)
                        && filter.to.is_none_or(|t| a.start < t)
                        && filter.provider_id.is_none_or(|p| a.provider_id == p)
                });
                list.sort_by_key(|a| (a.start, a.id));
                Ok(list)
            })
            .await
    }

    /// A provider's appointments for its ICS feed, found by the feed's secret token.
    pub async fn feed(
        &self,
        token: String,
    ) -> Result<(ProviderRecord, ClinicView, Vec<AppointmentRecord>), BookingError> {
        self.store
            .read(move |r| {
                let (org, provider) = r
                    .global_get(&FEED_TOKENS, token.as_bytes())?
                    .ok_or(BookingError::NotFound)?;
                let view = clinic_view(r, org)?;
                let p = view
                    .providers
                    .iter()
                    .find(|p| p.id == provider)
                    .cloned()
                    .ok_or(BookingError::NotFound)?;
                let o = r.org(org);
                let mut list = Vec::new();
                for (_, a) in o.scan(&APPOINTMENTS, &[], None, 100_000)? {
                    if a.provider_id == provider {
                        list.push(a);
                    }
                }
                list.sort_by_key(|a| a.start);
                Ok((p, view, list))
            })
            .await
    }

    /// The org's outbox jobs still queued (delivered ones are removed).
    pub async fn outbox(&self, org: OrgId) -> Result<Vec<crate::outbox::OutboxJob>, BookingError> {
        self.store
            .read(move |r| {
                Ok(r.global_scan(&crate::store::tables::OUTBOX, 100_000)?
                    .into_iter()
                    .map(|(_, j)| j)
                    .filter(|j: &crate::outbox::OutboxJob| j.org_id == org)
                    .collect())
            })
            .await
    }

    /// Audits a booking attempt that named another clinic.
    pub async fn record_other_org_attempt(
        &self,
        caller: Caller,
        named: &str,
    ) -> Result<(), BookingError> {
        let target = format!("org:{} booking", audit::caller_reference(named));
        self.store
            .write(move |w| {
                audit::append(
                    &mut w.org(caller.org),
                    AuditEvent::new(
                        caller.actor(),
                        "booking_cross_org_denied",
                        target,
                        Outcome::Denied,
                    ),
                    Utc::now(),
                )?;
                Ok::<_, BookingError>(())
            })
            .await
    }
}

fn clinic_view(r: &StoreRead, org: OrgId) -> Result<ClinicView, BookingError> {
    let record = r
        .global_get(&ORGS, &org.as_bytes())?
        .ok_or(BookingError::NotFound)?;
    let tz = org_zone(Some(record.clone()))?;
    let o = r.org(org);
    Ok(ClinicView {
        org: record,
        tz,
        settings: o.get(&CLINIC_SETTINGS, b"settings")?.unwrap_or_default(),
        services: o
            .scan(&SERVICES, &[], None, 10_000)?
            .into_iter()
            .map(|(_, s)| s)
            .collect(),
        providers: o
            .scan(&PROVIDERS, &[], None, 10_000)?
            .into_iter()
            .map(|(_, p)| p)
            .collect(),
    })
}

/// The slot shape and the providers to search, for an optional service and provider.
fn pick(
    view: &ClinicView,
    service: Option<ServiceId>,
    provider: Option<ProviderId>,
) -> Result<(Shape, Vec<&ProviderRecord>), BookingError> {
    let service = match service {
        Some(id) => Some(
            view.services
                .iter()
                .find(|s| s.id == id)
                .ok_or(BookingError::NotFound)?,
        ),
        None => None,
    };
    let shape = service
        .map(|s| s.shape())
        .unwrap_or_else(|| Shape::minutes(30, 0, 0));
    let providers: Vec<&ProviderRecord> = view
        .providers
        .iter()
        .filter(|p| provider.is_none_or(|id| p.id == id))
        .filter(|p| service.is_none_or(|s| p.service_ids.contains(&s.id)))
        .collect();
    if provider.is_some() && providers.is_empty() {
        return Err(BookingError::NotFound);
    }
    Ok((shape, providers))
}

/// Runs a computation over the in-memory indexes on the blocking pool, off the async threads.
async fn run_off_thread<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, BookingError> + Send + 'static,
) -> Result<T, BookingError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| BookingError::Store(crate::store::StoreError::TaskFailed))?
}

/// One org's view of the slot index.
struct OrgSlots<'a> {
    org: OrgId,
    index: &'a slot_index::SlotIndex,
}

/// One provider's free starts on one local day.
fn offered_on(
    o: &OrgSlots<'_>,
    view: &ClinicView,
    p: &ProviderRecord,
    shape: &Shape,
    day: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Vec<Slot>, BookingError> {
    let day_start = local_instant(view.tz, day, NaiveTime::MIN)
        .unwrap_or_else(|_| Utc.from_utc_datetime(&day.and_time(NaiveTime::MIN)));
    let busy: Vec<Interval> = o.index.starting_between(
        o.org,
        p.id,
        day_start - Duration::minutes(MAX_TAIL),
        day_start + Duration::hours(26) + Duration::minutes(MAX_LEAD),
    );
    let time_off = p.time_off_intervals();
    let cal = ProviderCalendar {
        tz: view.tz,
        hours: &p.weekly_hours,
        breaks: &p.breaks,
        time_off: &time_off,
    };
    Ok(cal
        .offered(shape, &view.settings.policy(), &busy, now, day)
        .into_iter()
        .map(|start| Slot {
            provider_id: p.id,
            start,
            end: start + shape.duration,
        })
        .collect())
}
