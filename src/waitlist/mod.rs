//! The waiting list: patients who asked for an earlier time join it (staff or the voice
//! agent), a time a cancellation, move or no-show frees is texted to the first who fit, held
//! for them while the offer lasts, and booked through the claim writer for the first who
//! replies YES; everything it does is audited.

pub mod records;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use tokio::sync::Notify;

use crate::audit;
use crate::booking::holds::HoldRequest;
use crate::booking::ledger::BookRequest;
use crate::booking::records::{AppointmentRecord, BookingSource, ClinicSettings, Patient};
use crate::booking::tables::CLINIC_SETTINGS;
use crate::booking::{BookingError, BookingService, ClinicView};
use crate::clock::Clock;
use crate::domain::{FieldError, OrgId, PhoneNumber};
use crate::followup::records::{queue_text, FollowUpPurpose, FollowUpRecord};
use crate::identity::tables::ORGS;
use crate::outbox::{self, JobKind};
use crate::store::OrgReads;
use crate::store::{Store, StoreError, StoreWrite};
use records::{
    EntryStatus, FreedTime, NewEntry, Offer, WaitlistEntry, OFFER_TO, WAITLIST,
    WAITLIST_OFFERS_BY_PHONE,
};

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

/// Most entries a clinic's list holds (waiting or not): far beyond a clinic's need, and a
/// bound on what an offer reads.
pub const MAX_ENTRIES: usize = 5_000;

pub struct WaitlistService {
    store: Store,
    booking: Arc<BookingService>,
    clock: Clock,
    /// Woken when an offer's text is queued.
    outbox_wake: Arc<Notify>,
}

/// Keeps the waiting list in step with the claim writer: a change that frees a time queues an
/// offer job in the same transaction, when the clinic has someone waiting and texts can go.
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
        let date = a.start.date_naive();
        let someone_waits = w
            .org(a.org_id)
            .scan(&WAITLIST, &[], None, MAX_ENTRIES)?
            .iter()
            .any(|(_, e)| {
                matches!(e.status, EntryStatus::Waiting | EntryStatus::Offered)
                    // A day of slack either side for the clinic's zone.
                    && e.earliest_date <= date + Duration::days(1)
                    && e.latest_date + Duration::days(1) >= date
            });
        if someone_waits {
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
            )?;
        }
        Ok(())
    }
}

impl WaitlistService {
    pub fn new(
        store: Store,
        booking: Arc<BookingService>,
        clock: Clock,
        outbox_wake: Arc<Notify>,
    ) -> Self {
        Self {
            store,
            booking,
            clock,
            outbox_wake,
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
        self.store
            .write(move |w| {
                let mut o = w.org(org);
                if o.scan(&WAITLIST, &[], None, MAX_ENTRIES)?.len() >= MAX_ENTRIES {
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
            .read(move |r| r.org(org).scan(&WAITLIST, &[], None, MAX_ENTRIES))
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

    /// Offers a freed time to the first entries it fits, in order of joining: holds it for
    /// the clinic's `offer_minutes` through the claim writer and queues a text to each (sent
    /// under the same consent and STOP rules as any text). Nothing is offered in the clinic's
    /// quiet hours (the entries wait for the next freed time) or when the time is no longer
    /// free. Returns how many were offered it.
    pub async fn offer_freed(&self, org: OrgId, freed: FreedTime) -> Result<usize, WaitlistError> {
        let view = match self.booking.clinic(org).await {
            Ok(v) => v,
            // The clinic is gone: nothing to offer.
            Err(BookingError::NotFound) => return Ok(0),
            Err(e) => return Err(e.into()),
        };
        let now = self.now();
        let tz = view.tz;
        let entries = self.entries(org).await?;
        let chosen: Vec<WaitlistEntry> = entries
            .into_iter()
            .filter(|e| e.fits(&freed, now, tz))
            .take(OFFER_TO)
            .collect();
        if chosen.is_empty() {
            return Ok(0);
        }
        let settings = &view.settings;
        let quiet = crate::domain::QuietHours::new(
            &settings.quiet_hours_start,
            &settings.quiet_hours_end,
            tz,
        );
        if quiet.is_quiet(now) {
            self.audit_freed(org, "waitlist_offer_skipped", &freed, now)
                .await?;
            return Ok(0);
        }
        let holder = format!("waitlist:{}", uuid::Uuid::now_v7());
        let minutes = settings.offer_minutes;
        let hold = HoldRequest {
            org,
            holder: holder.clone(),
            provider_id: freed.provider_id,
            service_id: freed.service_id,
            start: freed.start,
            duration_minutes: freed
                .service_id
                .is_none()
                .then(|| (freed.end - freed.start).num_minutes().max(5) as u32),
            minutes,
        };
        let held = match self.booking.hold_slot(hold).await {
            Ok(h) => h,
            // Taken again, or no longer bookable (too soon, hours changed): nothing to offer.
            Err(
                BookingError::Taken { .. }
                | BookingError::Refused(_)
                | BookingError::Invalid(_)
                | BookingError::NotFound,
            ) => return Ok(0),
            Err(e) => return Err(e.into()),
        };
        let body = offer_text(&view, &freed, held.until);
        let count = chosen.len();
        let ids: Vec<uuid::Uuid> = chosen.iter().map(|e| e.id).collect();
        self.store
            .write(move |w| {
                for id in ids {
                    let Some(mut e) = w.org(org).get(&WAITLIST, id.as_bytes())? else {
                        continue;
                    };
                    let message_id = uuid::Uuid::now_v7();
                    e.status = EntryStatus::Offered;
                    e.offer = Some(Offer {
                        holder: holder.clone(),
                        provider_id: freed.provider_id,
                        service_id: freed.service_id,
                        start: freed.start,
                        end: freed.end,
                        offered_at: now,
                        expires_at: held.until,
                        message_id,
                    });
                    e.updated_at = now;
                    let message = FollowUpRecord::queued(
                        message_id,
                        FollowUpPurpose::WaitlistOffer,
                        e.phone.as_str().to_string(),
                        body.clone(),
                        "waitlist_offer".into(),
                        String::new(),
                        now,
                    );
                    let mut o = w.org(org);
                    o.put(&WAITLIST, id.as_bytes(), &e)?;
                    o.put(&WAITLIST_OFFERS_BY_PHONE, e.phone.as_str().as_bytes(), &id)?;
                    audit::success(
                        &mut o,
                        "system:waitlist",
                        "waitlist_offered",
                        format!("waitlist:{id}"),
                        now,
                    )?;
                    queue_text(w, org, &message, "system:waitlist", now)?;
                }
                Ok::<_, WaitlistError>(())
            })
            .await?;
        self.outbox_wake.notify_one();
        Ok(count)
    }

    async fn audit_freed(
        &self,
        org: OrgId,
        action: &'static str,
        freed: &FreedTime,
        now: DateTime<Utc>,
    ) -> Result<(), WaitlistError> {
        let target = format!(
            "provider:{} {}",
            freed.provider_id,
            freed.start.to_rfc3339()
        );
        self.store
            .write(move |w| {
                audit::success(&mut w.org(org), "system:waitlist", action, target, now)?;
                Ok(())
            })
            .await
    }

    /// A text from `from` to the sender `to`: a YES (the first word) takes the time offered
    /// to that number, if an offer is open — booked through the claim writer for the first
    /// who answers — and is answered with what happened. `None` when the text is not a YES
    /// or no offer went to the number (other keywords are for the follow-up service).
    pub async fn reply(
        &self,
        from: &str,
        to: &str,
        body: &str,
        install_from: &str,
    ) -> Result<Option<String>, WaitlistError> {
        if crate::followup::records::keyword_of(body) != "YES" {
            return Ok(None);
        }
        let Ok(phone) = PhoneNumber::parse(from, "GB") else {
            return Ok(None);
        };
        let sender = to.trim().to_string();
        let install_from = install_from.to_string();
        let number = phone.as_str().to_string();
        // The newest open offer to the number from a clinic that texts from `to`.
        let found = self
            .store
            .read(move |r| {
                let mut best: Option<(OrgId, WaitlistEntry)> = None;
                for (_, org) in r.global_scan(&ORGS, 100_000)? {
                    let o = r.org(org.id);
                    let Some(id) = o.get(&WAITLIST_OFFERS_BY_PHONE, number.as_bytes())? else {
                        continue;
                    };
                    let Some(e) = o.get(&WAITLIST, id.as_bytes())? else {
                        continue;
                    };
                    let settings: ClinicSettings =
                        o.get(&CLINIC_SETTINGS, b"settings")?.unwrap_or_default();
                    let from_here = settings.sms_from.as_deref().unwrap_or(&install_from);
                    // No sender of the clinic's own nor the install's: Twilio's messaging
                    // service picks one, so any of the install's numbers is it.
                    let same_sender = from_here.is_empty()
                        || crate::followup::records::sender_key(from_here, "")
                            == crate::followup::records::sender_key(&sender, "");
                    let newer = best.as_ref().is_none_or(|(_, b)| {
                        b.offer.as_ref().map(|o| o.offered_at)
                            < e.offer.as_ref().map(|o| o.offered_at)
                    });
                    if e.status == EntryStatus::Offered && same_sender && newer {
                        best = Some((org.id, e));
                    }
                }
                Ok::<_, StoreError>(best)
            })
            .await?;
        let Some((org, entry)) = found else {
            return Ok(None);
        };
        let Some(offer) = entry.offer.clone() else {
            return Ok(None);
        };
        let view = self.booking.clinic(org).await?;
        let now = self.now();
        if offer.expires_at <= now {
            self.settle(org, entry.id, None, "waitlist_offer_missed", now)
                .await?;
            return Ok(Some(gone_text(&view)));
        }
        let req = BookRequest {
            org,
            actor: "patient:sms".into(),
            provider_id: offer.provider_id,
            service_id: offer.service_id,
            start: offer.start,
            duration_minutes: offer
                .service_id
                .is_none()
                .then(|| (offer.end - offer.start).num_minutes().max(5) as u32),
            patient: Patient {
                name: entry.patient_name.clone(),
                phone: entry.phone.clone(),
                email: None,
                date_of_birth: None,
            },
            notes: None,
            source: BookingSource::Waitlist,
            vapi_call_id: None,
            vapi_tool_call_id: None,
            hold_key: Some(offer.holder.clone()),
        };
        match self.booking.book(req).await {
            Ok((a, _)) => {
                self.settle(org, entry.id, Some(a.id), "waitlist_booked", now)
                    .await?;
                Ok(Some(booked_text(&view, &a)))
            }
            Err(BookingError::Taken { .. } | BookingError::Refused(_)) => {
                self.settle(org, entry.id, None, "waitlist_offer_missed", now)
                    .await?;
                Ok(Some(gone_text(&view)))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Ends an entry's offer: booked (`appointment`), or back to waiting.
    async fn settle(
        &self,
        org: OrgId,
        id: uuid::Uuid,
        appointment: Option<crate::domain::AppointmentId>,
        action: &'static str,
        now: DateTime<Utc>,
    ) -> Result<(), WaitlistError> {
        self.store
            .write(move |w| {
                let mut o = w.org(org);
                let Some(mut e) = o.get(&WAITLIST, id.as_bytes())? else {
                    return Ok(());
                };
                e.status = if appointment.is_some() {
                    EntryStatus::Booked
                } else {
                    EntryStatus::Waiting
                };
                e.appointment_id = appointment;
                e.offer = None;
                e.updated_at = now;
                o.put(&WAITLIST, id.as_bytes(), &e)?;
                o.remove(&WAITLIST_OFFERS_BY_PHONE, e.phone.as_str().as_bytes())?;
                audit::success(&mut o, "patient:sms", action, format!("waitlist:{id}"), now)?;
                Ok(())
            })
            .await
    }
}

fn clinic_name(view: &ClinicView) -> &str {
    if view.org.name.is_empty() {
        "The clinic"
    } else {
        &view.org.name
    }
}

fn when(view: &ClinicView, t: DateTime<Utc>) -> String {
    let local = t.with_timezone(&view.tz);
    format!(
        "{} at {}",
        crate::speech::say_date(local.date_naive()),
        crate::speech::say_time(local.time())
    )
}

fn provider_name(view: &ClinicView, id: crate::domain::ProviderId) -> String {
    view.providers
        .iter()
        .find(|p| p.id == id)
        .map(|p| p.name.clone())
        .unwrap_or_else(|| "the practitioner".into())
}

/// The offer text: the time, who with, and until when a YES takes it.
fn offer_text(view: &ClinicView, freed: &FreedTime, until: DateTime<Utc>) -> String {
    let service = freed
        .service_id
        .and_then(|s| view.services.iter().find(|x| x.id == s))
        .map(|s| format!("{} appointment", s.name))
        .unwrap_or_else(|| "appointment".into());
    format!(
        "{}: an earlier {service} is free on {} with {}. Reply YES by {} to take it. Reply STOP to stop texts.",
        clinic_name(view),
        when(view, freed.start),
        provider_name(view, freed.provider_id),
        crate::speech::say_time(until.with_timezone(&view.tz).time()),
    )
}

fn booked_text(view: &ClinicView, a: &AppointmentRecord) -> String {
    format!(
        "{}: you're booked with {} on {}. To change it, please call us.",
        clinic_name(view),
        provider_name(view, a.provider_id),
        when(view, a.start)
    )
}

fn gone_text(view: &ClinicView) -> String {
    format!(
        "{}: sorry, that time has gone. You're still on our waiting list and we'll text you if another comes up.",
        clinic_name(view)
    )
}
