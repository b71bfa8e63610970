//! The booking domain: the service that clinic set-up, availability and the appointment life
//! cycle go through (one file each below), its errors and shared helpers. Every change to an
//! appointment goes through the claim writer; reads use snapshots.

mod appointments;
mod availability;
mod claims;
pub mod followers;
pub mod holds;
mod housekeeping;
mod indexes;
pub mod intake;
pub mod ledger;
pub mod phone_index;
pub mod records;
pub mod schedule;
mod setup;
pub mod slot_index;
pub mod tables;
mod view;
pub mod writer;

pub use appointments::Expected;
pub use indexes::{IndexSnapshot, MemoryIndexes};
pub use view::ClinicView;
use view::{clinic_view, ViewCache};

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, SecondsFormat, TimeZone, Utc};
use chrono_tz::Tz;

use crate::audit::{self, AuditEvent, Outcome};
use crate::auth::Caller;
use crate::booking::tables::{APPOINTMENTS, CLINIC_SETTINGS, FEED_TOKENS, PROVIDERS, SERVICES};
use crate::domain::{AppointmentId, FieldError, OrgId, ProviderId, ServiceId};
use crate::identity::records::OrgRecord;
use crate::identity::tables::ORGS;
use crate::store::{Store, StoreError, StoreRead};
use ledger::{BookRequest, Change, Effect};
use phone_index::PhoneIndex;
use records::{AppointmentRecord, ClinicSettings, ProviderRecord, ServiceRecord, TimeOffRecord};
use schedule::{Interval, ProviderCalendar, Refusal, Shape, WeeklyHours};
use slot_index::{MAX_LEAD, MAX_TAIL};
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
    /// A change made on condition that the appointment was still at a version (`If-Match`)
    /// found it at another; nothing was changed.
    #[error("the appointment changed since that version")]
    Changed,
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

pub struct BookingService {
    store: Store,
    writer: ClaimWriter,
    indexes: MemoryIndexes,
    clock: Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>,
    views: ViewCache,
}

impl BookingService {
    /// `committed` is woken after each booking commit (for the outbox worker); `indexes`
    /// are the in-memory appointment indexes, which the claim writer keeps up to date.
    pub fn new(
        store: Store,
        committed: Arc<tokio::sync::Notify>,
        indexes: MemoryIndexes,
        clock: crate::clock::Clock,
        followers: Arc<dyn followers::BookingFollowers>,
    ) -> Self {
        Self {
            writer: ClaimWriter::start(
                store.clone(),
                clock.clone(),
                committed,
                indexes.clone(),
                followers,
            ),
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

    /// Deletes every record of a clinic through the claim writer (its data keys should be
    /// shredded first), then forgets its cached views; the writer drops it from the in-memory
    /// indexes. Returns how many records went.
    pub async fn delete_clinic(&self, org: OrgId) -> Result<usize, BookingError> {
        let effect = self.writer.submit(Change::DeleteOrg { org }).await?;
        self.views.forget(org);
        match effect {
            Effect::OrgDeleted { removed, .. } => Ok(removed),
            _ => Err(BookingError::Internal),
        }
    }

    /// Whether anything of `org` is left in memory: its numbers, its slots, a cached view.
    pub fn remembers(&self, org: OrgId) -> bool {
        let snapshot = self.indexes.snapshot();
        snapshot.phones.iter().any(|(o, ..)| *o == org)
            || snapshot.slots.iter().any(|(o, ..)| *o == org)
            || self.views.get(org).1.is_some()
    }

    /// Stops the claim writer once the queued changes are committed (at shutdown).
    pub async fn shutdown(&self) {
        self.writer.stop().await;
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }
}
