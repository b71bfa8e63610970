//! The waiting list: patients who asked for an earlier time join it (staff or the voice
//! agent), and a time a cancellation or a move frees is offered to the first who fit
//! (`offers`); everything it does is audited.

mod offers;
pub mod records;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::Notify;

use crate::audit;
use crate::booking::records::{AppointmentRecord, BookingSource};
use crate::booking::{BookingError, BookingService, ClinicView};
use crate::clock::Clock;
use crate::domain::{FieldError, OrgId};
use crate::outbox::{self, JobKind};
use crate::store::OrgReads;
use crate::store::{Store, StoreError, StoreWrite};
use records::{EntryStatus, NewEntry, WaitlistEntry, WAITLIST, WAITLIST_OFFERS_BY_PHONE};

#[derive(Debug, thiserror::Error)]
pub enum WaitlistError {
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Booking(#[from] BookingError),
}

/// Most entries a clinic's list holds that have not ended (and a bound on what an offer
/// reads): far beyond a clinic's need.
pub const MAX_ENTRIES: usize = 5_000;

/// Days an ended entry (booked, or past its latest date) stays listed before it is removed.
pub const KEEP_ENDED_DAYS: i64 = 30;

pub struct WaitlistService {
    store: Store,
    booking: Arc<BookingService>,
    clock: Clock,
    /// Woken when an offer's text is queued.
    outbox_wake: Arc<Notify>,
    /// `[twilio] from_number`: the sender of clinics without their own.
    install_from: String,
}

/// Keeps the waiting list in step with the claim writer: a change that frees a time still to
/// come queues an offer job in the same transaction, when texts can go (whether anyone waits
/// for it is decided by the job, outside the writer's transaction).
pub struct WaitlistFollowsFreedTimes {
    pub texts_on: bool,
}

impl WaitlistFollowsFreedTimes {
    /// `a` (as it was before the change) has given up its time.
    pub fn freed(
        &self,
        w: &mut StoreWrite,
        a: &AppointmentRecord,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if !self.texts_on || a.start <= now {
            return Ok(());
        }
        outbox::enqueue(
            w,
            a.org_id,
            JobKind::WaitlistOffer {
                provider_id: a.provider_id,
                service_id: a.service_id,
                start: a.start,
                end: a.end,
            },
            now,
        )
    }
}

impl WaitlistService {
    pub fn new(
        store: Store,
        booking: Arc<BookingService>,
        clock: Clock,
        outbox_wake: Arc<Notify>,
        install_from: String,
    ) -> Self {
        Self {
            store,
            booking,
            clock,
            outbox_wake,
            install_from,
        }
    }

    fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    /// The clinic's date now.
    pub async fn today(&self, org: OrgId) -> Result<chrono::NaiveDate, WaitlistError> {
        let view = self.booking.clinic(org).await?;
        Ok(self.now().with_timezone(&view.tz).date_naive())
    }

    /// The clinic's set-up, for checking a request to join.
    pub async fn clinic(&self, org: OrgId) -> Result<Arc<ClinicView>, WaitlistError> {
        Ok(self.booking.clinic(org).await?)
    }

    /// Puts a patient on the list (checked with `records::check_entry`).
    pub async fn join(
        &self,
        org: OrgId,
        new: NewEntry,
        source: BookingSource,
        actor: String,
    ) -> Result<WaitlistEntry, WaitlistError> {
        let now = self.now();
        let entry = WaitlistEntry {
            id: uuid::Uuid::now_v7(),
            patient_name: new.patient_name,
            phone: new.phone,
            service_id: new.service_id,
            provider_id: new.provider_id,
            earliest_date: new.earliest_date,
            latest_date: new.latest_date,
            time_of_day: new.time_of_day,
            status: EntryStatus::Waiting,
            offer: None,
            appointment_id: None,
            source,
            created_at: now,
            updated_at: now,
        };
        let stored = entry.clone();
        let tz = self.booking.clinic(org).await?.tz;
        self.store
            .write(move |w| {
                let mut o = w.org(org);
                // Entries that ended more than KEEP_ENDED_DAYS ago leave the list here.
                let mut open = 0;
                for (key, e) in o.scan(&WAITLIST, &[], None, usize::MAX)? {
                    let ended = matches!(
                        e.status_at(now, tz),
                        EntryStatus::Booked | EntryStatus::Expired
                    );
                    let ended_at = if e.status == EntryStatus::Booked {
                        e.updated_at
                    } else {
                        e.latest_date
                            .and_hms_opt(23, 59, 59)
                            .map_or(e.updated_at, |t| t.and_utc())
                    };
                    if ended && now - ended_at > chrono::Duration::days(KEEP_ENDED_DAYS) {
                        o.remove(&WAITLIST, &key)?;
                    } else if !ended {
                        open += 1;
                    }
                }
                if open >= MAX_ENTRIES {
                    return Err(WaitlistError::Invalid(vec![FieldError::new(
                        "latest_date",
                        "the waiting list is full; remove entries that have ended",
                    )]));
                }
                o.put(&WAITLIST, stored.id.as_bytes(), &stored)?;
                audit::success(
                    &mut o,
                    actor,
                    "waitlist_joined",
                    format!("waitlist:{}", stored.id),
                    now,
                )?;
                Ok(())
            })
            .await?;
        Ok(entry)
    }

    /// The clinic's entries in order of joining, each with its status as of now.
    pub async fn entries(&self, org: OrgId) -> Result<Vec<WaitlistEntry>, WaitlistError> {
        let tz = self.booking.clinic(org).await?.tz;
        let now = self.now();
        let mut list: Vec<WaitlistEntry> = self
            .store
            .read(move |r| r.org(org).scan(&WAITLIST, &[], None, usize::MAX))
            .await?
            .into_iter()
            .map(|(_, e)| e)
            .collect();
        for e in &mut list {
            e.status = e.status_at(now, tz);
        }
        Ok(list)
    }

    /// Takes a patient off the list.
    pub async fn remove(
        &self,
        org: OrgId,
        id: uuid::Uuid,
        actor: String,
    ) -> Result<(), WaitlistError> {
        let now = self.now();
        self.store
            .write(move |w| {
                let mut o = w.org(org);
                let entry = o
                    .get(&WAITLIST, id.as_bytes())?
                    .ok_or(WaitlistError::NotFound)?;
                o.remove(&WAITLIST, id.as_bytes())?;
                if o.get(&WAITLIST_OFFERS_BY_PHONE, entry.phone.as_str().as_bytes())? == Some(id) {
                    o.remove(&WAITLIST_OFFERS_BY_PHONE, entry.phone.as_str().as_bytes())?;
                }
                audit::success(
                    &mut o,
                    actor,
                    "waitlist_removed",
                    format!("waitlist:{id}"),
                    now,
                )?;
                Ok(())
            })
            .await
    }
}
