//! The appointment life cycle as callers ask for it — book, cancel, reschedule, confirm,
//! record the outcome — each a change for the claim writer, and the listings and feeds
//! read from snapshots.

use super::*;
use crate::store::OrgReads;
use slot_index::SlotHold;

/// The version a change is made on condition of (`If-Match`): the claim writer applies the
/// change only while the appointment is still at it (`Change::Guarded`).
#[derive(Debug, Clone)]
pub struct Expected {
    pub org: OrgId,
    pub id: AppointmentId,
    pub version: String,
}

/// `change`, on condition of `expected` when there is one.
fn guarded(change: Change, expected: Option<&Expected>) -> Change {
    match expected {
        None => change,
        Some(e) => Change::Guarded {
            org: e.org,
            id: e.id,
            version: e.version.clone(),
            change: Box::new(change),
        },
    }
}

impl BookingService {
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
        metrics::counter!(crate::metrics::BOOKINGS, "outcome" => outcome).increment(1);
        result
    }

    pub(super) async fn book_once(
        &self,
        req: BookRequest,
    ) -> Result<(AppointmentRecord, bool), BookingError> {
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
        expected: Option<&Expected>,
    ) -> Result<AppointmentRecord, BookingError> {
        let change = Change::Cancel {
            org: caller.org,
            id,
            actor: caller.actor(),
            reason,
        };
        match self.writer.submit(guarded(change, expected)).await? {
            Effect::Cancelled(a) => Ok(*a),
            _ => Err(BookingError::Unavailable),
        }
    }

    /// Records that an appointment happened or that the patient did not come.
    pub async fn set_outcome(
        &self,
        caller: Caller,
        id: AppointmentId,
        status: records::AppointmentStatus,
        expected: Option<&Expected>,
    ) -> Result<AppointmentRecord, BookingError> {
        let change = Change::Outcome {
            org: caller.org,
            id,
            status,
            actor: caller.actor(),
        };
        match self.writer.submit(guarded(change, expected)).await? {
            Effect::OutcomeSet(a) => Ok(*a),
            _ => Err(BookingError::Unavailable),
        }
    }

    /// Moves an appointment; `call_id` is the Vapi call asking (a time it holds is its own).
    pub async fn reschedule(
        &self,
        caller: Caller,
        id: AppointmentId,
        start: DateTime<Utc>,
        tool_call_id: Option<String>,
        call_id: Option<String>,
        expected: Option<&Expected>,
    ) -> Result<AppointmentRecord, BookingError> {
        let change = Change::Reschedule {
            org: caller.org,
            id,
            start,
            actor: caller.actor(),
            tool_call_id,
            call_id,
        };
        match self.writer.submit(guarded(change, expected)).await {
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

    /// Holds a time for a call through the claim writer, replacing the call's earlier hold. A
    /// time already taken or held answers with alternatives, as a booking does.
    pub async fn hold_slot(&self, req: holds::HoldRequest) -> Result<SlotHold, BookingError> {
        let (org, service, provider, start) = (req.org, req.service_id, req.provider_id, req.start);
        match self.writer.submit(Change::Hold(Box::new(req))).await {
            Ok(Effect::Held(h)) => Ok(*h),
            Ok(_) => Err(BookingError::Unavailable),
            Err(BookingError::Refused(Refusal::Taken)) => {
                let alternatives = self.alternatives(org, service, provider, start).await?;
                Err(BookingError::Taken { alternatives })
            }
            Err(e) => Err(e),
        }
    }

    /// Ends the hold of `holder` (a call whose caller changed their mind or hung up); the
    /// hold that ended, if one was live.
    pub async fn release_hold(
        &self,
        org: OrgId,
        holder: &str,
    ) -> Result<Option<SlotHold>, BookingError> {
        // Most calls hold nothing: their end costs no transaction.
        if !self.holds(org).iter().any(|h| h.holder == holder) {
            return Ok(None);
        }
        let change = Change::ReleaseHold {
            org,
            holder: holder.to_string(),
        };
        match self.writer.submit(change).await? {
            Effect::HoldReleased(h) => Ok(h.map(|h| *h)),
            _ => Err(BookingError::Unavailable),
        }
    }

    /// The times held for calls now, in start order (for the diary).
    pub fn holds(&self, org: OrgId) -> Vec<SlotHold> {
        self.indexes.slots.live_holds(org, self.now())
    }

    /// Confirms by the link's token: `Some(appointment)` the first time, `None` when the token
    /// is unknown or already used.
    pub async fn confirm(&self, token: String) -> Result<Option<AppointmentRecord>, BookingError> {
        self.confirm_as(token, None, None).await
    }

    /// `confirm`, recorded as done by `actor` (staff confirming for the patient).
    pub async fn confirm_as(
        &self,
        token: String,
        actor: Option<String>,
        expected: Option<&Expected>,
    ) -> Result<Option<AppointmentRecord>, BookingError> {
        if token.len() > 100 {
            return Ok(None);
        }
        let change = guarded(Change::Confirm { token, actor }, expected);
        match self.writer.submit(change).await? {
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
                    .require(&APPOINTMENTS, &id.as_bytes(), BookingError::NotFound)
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

    /// The patients of these bookings, as each recorded them, read for `caller`: every one
    /// returned is audited (`patient_read`, the booking's id) in the same transaction, like a
    /// clinical note. Ids of another clinic or of no booking are skipped.
    pub async fn read_patients(
        &self,
        caller: Caller,
        ids: Vec<AppointmentId>,
    ) -> Result<Vec<AppointmentRecord>, BookingError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let at = self.now();
        self.store
            .write(move |w| {
                let mut o = w.org(caller.org);
                let mut found = Vec::new();
                for id in ids {
                    if let Some(a) = o.get(&APPOINTMENTS, &id.as_bytes())? {
                        audit::success(
                            &mut o,
                            caller.actor(),
                            "patient_read",
                            format!("appointment:{id}"),
                            at,
                        )?;
                        found.push(a);
                    }
                }
                Ok::<_, BookingError>(found)
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
}
