//! The booking changes the claim writer applies, each inside its transaction: decide with the
//! rule engine, then write the appointment, its indexes and its audit entry — or nothing.

use chrono::{DateTime, Duration, SecondsFormat, Utc};

use super::claims::{decide, in_window, read_claim, Ask, SetupReads};
pub use super::claims::{DecodedSetup, TransactionScope};
use super::records::{
    AppointmentRecord, AppointmentStatus, BookingSource, ConfirmationToken, Patient,
};
use super::schedule::{Interval, Shape};
use super::BookingError;
use crate::audit;
use crate::booking::tables::{APPOINTMENTS, CONFIRMATION_TOKENS, TOOL_CALL_EFFECTS};
use crate::domain::{AppointmentId, OrgId, ProviderId, ServiceId};
use crate::outbox::{self, JobKind};
use crate::store::OrgReads;
use crate::store::{OrgWrite, StoreWrite};

/// A booking request, validated at the edge.
#[derive(Debug, Clone)]
pub struct BookRequest {
    pub org: OrgId,
    pub actor: String,
    pub provider_id: ProviderId,
    pub service_id: Option<ServiceId>,
    pub start: DateTime<Utc>,
    pub duration_minutes: Option<u32>,
    pub patient: Patient,
    pub notes: Option<String>,
    pub source: BookingSource,
    pub vapi_call_id: Option<String>,
    pub vapi_tool_call_id: Option<String>,
    /// Whose hold this booking may take (the Vapi call's id, or a waiting-list offer's).
    pub hold_key: Option<String>,
    /// Whether a retry under `vapi_tool_call_id` finds this booking whatever time it names (a
    /// client's own identifier for the appointment, FHIR's `If-None-Exist`): the key is
    /// recorded when the booking is made. A Vapi retry names the same time, and finds its
    /// booking among the entries that time overlaps without that extra write.
    pub retry_at_any_time: bool,
}

/// What the writer is asked to do.
#[derive(Debug, Clone)]
pub enum Change {
    Book(Box<BookRequest>),
    Cancel {
        org: OrgId,
        id: AppointmentId,
        actor: String,
        reason: Option<String>,
    },
    Reschedule {
        org: OrgId,
        id: AppointmentId,
        start: DateTime<Utc>,
        actor: String,
        tool_call_id: Option<String>,
        /// The Vapi call asking: a time it holds is its to take.
        call_id: Option<String>,
    },
    /// Holds a time for a call in progress (in memory; see `holds`).
    Hold(Box<super::holds::HoldRequest>),
    /// Ends the call's hold, if it has one.
    ReleaseHold {
        org: OrgId,
        holder: String,
    },
    /// `pending` → `confirmed`: by the patient's link (`actor` None), or by staff for them.
    Confirm {
        token: String,
        actor: Option<String>,
    },
    /// The appointment happened (`Completed`) or the patient did not come (`NoShow`).
    Outcome {
        org: OrgId,
        id: AppointmentId,
        status: AppointmentStatus,
        actor: String,
    },
    /// The outbox worker's outcome for one job, with the appointment's calendar state.
    Delivery(Box<outbox::DeliveryRecord>),
    /// Retention: tool-call ids whose bookings are old enough that Vapi will not retry them.
    ForgetToolCalls {
        org: OrgId,
        tool_call_ids: Vec<String>,
    },
    /// Deleting a clinic: every record of it goes in the writer's transaction, so its
    /// appointments leave through the one path that keeps the in-memory indexes true.
    DeleteOrg {
        org: OrgId,
    },
    /// `change`, only while appointment `id` is at `version` (`AppointmentRecord::version`):
    /// checked in the same transaction, so no other change can come between.
    Guarded {
        org: OrgId,
        id: AppointmentId,
        version: String,
        change: Box<Change>,
    },
}

/// What a committed change did.
#[derive(Debug, Clone)]
pub enum Effect {
    /// `replayed`: the same request had already booked this appointment.
    Booked {
        appointment: Box<AppointmentRecord>,
        replayed: bool,
    },
    Cancelled(Box<AppointmentRecord>),
    Rescheduled(Box<AppointmentRecord>),
    /// The time is held for the call (until the hold's `until`).
    Held(Box<super::slot_index::SlotHold>),
    /// The call's hold ended (`None`: it had none live).
    HoldReleased(Option<Box<super::slot_index::SlotHold>>),
    Confirmed(Box<AppointmentRecord>),
    OutcomeSet(Box<AppointmentRecord>),
    ConfirmUnknown,
    ConfirmAlreadyUsed,
    DeliveryRecorded,
    /// The clinic and this many records of it are gone.
    OrgDeleted {
        org: OrgId,
        removed: usize,
    },
}

/// Queues the appointment's reminder text for its start (a reschedule queues one for the new
/// start; the old one finds the start moved when it falls due and sends nothing).
fn queue_reminder(
    w: &mut StoreWrite,
    reads: &mut SetupReads,
    a: &AppointmentRecord,
    now: DateTime<Utc>,
) -> Result<(), BookingError> {
    if let Some(due) = reads
        .reminder(w, a.org_id)?
        .and_then(|r| r.due(a.start, now))
    {
        outbox::enqueue_at(
            w,
            a.org_id,
            JobKind::Reminder {
                appointment_id: a.id,
                for_start: a.start,
            },
            due,
            now,
        )?;
    }
    Ok(())
}

fn stamp(now: DateTime<Utc>) -> String {
    now.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Applies one change of a transaction; `scope` is shared by the transaction's changes.
pub fn apply_in(
    w: &mut StoreWrite,
    scope: &mut TransactionScope<'_>,
    change: &Change,
    now: DateTime<Utc>,
) -> Result<Effect, BookingError> {
    match change {
        Change::Book(req) => book(w, scope, req, now),
        Change::Cancel {
            org,
            id,
            actor,
            reason,
        } => cancel(w, scope, *org, *id, actor, reason.clone(), now),
        Change::Reschedule {
            org,
            id,
            start,
            actor,
            tool_call_id,
            call_id,
        } => reschedule(
            w,
            scope,
            Move {
                org_id: *org,
                id: *id,
                start: *start,
                actor,
                tool_call_id: tool_call_id.as_deref(),
                call_id: call_id.as_deref(),
            },
            now,
        ),
        Change::Hold(req) => {
            super::holds::hold(w, scope, req, now).map(|h| Effect::Held(Box::new(h)))
        }
        Change::ReleaseHold { org, holder } => Ok(Effect::HoldReleased(
            super::holds::end_call_hold(&mut scope.slots, *org, holder, now).map(Box::new),
        )),
        Change::Confirm { token, actor } => confirm(w, token, actor.as_deref(), now),
        Change::Outcome {
            org,
            id,
            status,
            actor,
        } => set_outcome(w, scope, *org, *id, *status, actor, now),
        Change::Delivery(d) => record_delivery(w, d),
        Change::ForgetToolCalls { org, tool_call_ids } => {
            let mut o = w.org(*org);
            for tc in tool_call_ids {
                o.remove(&TOOL_CALL_EFFECTS, tc.as_bytes())?;
            }
            Ok(Effect::DeliveryRecorded)
        }
        Change::Guarded {
            org,
            id,
            version,
            change,
        } => {
            let current =
                w.org(*org)
                    .require(&APPOINTMENTS, &id.as_bytes(), BookingError::NotFound)?;
            if current.version() != *version {
                return Err(BookingError::Changed);
            }
            apply_in(w, scope, change, now)
        }
        Change::DeleteOrg { org } => {
            // What this transaction read of the clinic's set-up is gone with it, and what the
            // writer kept decoded of it (names, feed tokens) is dropped.
            scope.reads.forget(*org);
            let removed = w.purge_org(*org)?;
            Ok(Effect::OrgDeleted { org: *org, removed })
        }
    }
}

/// Records how an appointment ended, once its start has passed: the slot is released (the
/// record stays), and a no-show is counted on the patient's contact.
fn set_outcome(
    w: &mut StoreWrite,
    scope: &mut TransactionScope<'_>,
    org_id: OrgId,
    id: AppointmentId,
    status: AppointmentStatus,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Effect, BookingError> {
    let mut org = w.org(org_id);
    let mut a = org.require(&APPOINTMENTS, &id.as_bytes(), BookingError::NotFound)?;
    if a.status == status {
        return Ok(Effect::OutcomeSet(Box::new(a)));
    }
    if !a.status.is_active() {
        return Err(BookingError::NotActive);
    }
    if a.start > now {
        return Err(BookingError::NotStarted);
    }
    scope.slots.release(&a);
    a.status = status;
    a.updated_at = stamp(now);
    org.put(&APPOINTMENTS, &id.as_bytes(), &a)?;
    let action = if status == AppointmentStatus::NoShow {
        crate::calls::count_no_show(&mut org, &a.patient.phone, &a.patient.name, &stamp(now))?;
        "appointment_no_show"
    } else {
        "appointment_completed"
    };
    audit::success(&mut org, actor, action, format!("appointment:{id}"), now)?;
    Ok(Effect::OutcomeSet(Box::new(a)))
}

/// Takes the job off the queue (or puts it back for later) and sets the appointment's
/// calendar state; an appointment deleted since (its org removed) is left alone.
fn record_delivery(w: &mut StoreWrite, d: &outbox::DeliveryRecord) -> Result<Effect, BookingError> {
    outbox::requeue(w, d)?;
    if let Some((id, state)) = d.calendar_sync {
        let mut org = w.org(d.org);
        if let Some(mut a) = org.get(&APPOINTMENTS, &id.as_bytes())? {
            if a.calendar_sync != state {
                a.calendar_sync = state.to_string();
                org.put(&APPOINTMENTS, &id.as_bytes(), &a)?;
            }
        }
    }
    Ok(Effect::DeliveryRecorded)
}

fn book(
    w: &mut StoreWrite,
    scope: &mut TransactionScope<'_>,
    req: &BookRequest,
    now: DateTime<Utc>,
) -> Result<Effect, BookingError> {
    let org = w.org(req.org);
    if let Some(tc) = &req.vapi_tool_call_id {
        if let Some(id) = org.get(&TOOL_CALL_EFFECTS, tc.as_bytes())? {
            if let Some(a) = org.get(&APPOINTMENTS, &id.as_bytes())? {
                return Ok(Effect::Booked {
                    appointment: Box::new(a),
                    replayed: true,
                });
            }
        }
    }
    let ask = Ask {
        org: req.org,
        provider_id: req.provider_id,
        service_id: req.service_id,
        duration_minutes: req.duration_minutes,
        start: req.start,
        holder: req.hold_key.as_deref(),
    };
    let claim = read_claim(scope, &org, &ask, now)?;
    // A retry gets its booking back: the same tool call, or the same call for the same
    // patient and time. A booking still where it was made is found among the entries it
    // overlaps; one moved or cancelled since left its tool call in TOOL_CALL_EFFECTS.
    if req.vapi_call_id.is_some() || req.vapi_tool_call_id.is_some() {
        for e in &claim.in_the_way {
            if let Some(a) = org.get(&APPOINTMENTS, &e.appointment_id.as_bytes())? {
                let same_tool_call =
                    req.vapi_tool_call_id.is_some() && a.vapi_tool_call_id == req.vapi_tool_call_id;
                let same_call_and_patient = req.vapi_call_id.is_some()
                    && a.vapi_call_id == req.vapi_call_id
                    && a.start == req.start
                    && a.patient.phone == req.patient.phone;
                if same_tool_call || same_call_and_patient {
                    return Ok(Effect::Booked {
                        appointment: Box::new(a),
                        replayed: true,
                    });
                }
            }
        }
    }
    claim.decide(w, &mut scope.reads, &ask, now)?;
    let (provider, service, shape) = (claim.provider, claim.service, claim.shape);

    let id = AppointmentId::new_time_ordered();
    let record = AppointmentRecord {
        id,
        org_id: req.org,
        provider_id: provider.id,
        service_id: service.as_ref().map(|s| s.id),
        start: req.start,
        end: req.start + shape.duration,
        buffer_before_minutes: shape.before.num_minutes() as u32,
        buffer_after_minutes: shape.after.num_minutes() as u32,
        status: AppointmentStatus::Pending,
        patient: req.patient.clone(),
        notes: req.notes.clone(),
        source: req.source,
        vapi_call_id: req.vapi_call_id.clone(),
        vapi_tool_call_id: req.vapi_tool_call_id.clone(),
        confirmation_token: ConfirmationToken::issue(req.org, id),
        calendar_sync: "pending".into(),
        created_at: stamp(now),
        updated_at: stamp(now),
        cancel_reason: None,
    };
    if record.patient.email.is_some() {
        outbox::enqueue(
            w,
            req.org,
            JobKind::ConfirmationEmail { appointment_id: id },
            now,
        )?;
    }
    outbox::enqueue(
        w,
        req.org,
        JobKind::CalendarUpsert { appointment_id: id },
        now,
    )?;
    let mut org = w.org(req.org);
    org.put(&APPOINTMENTS, &id.as_bytes(), &record)?;
    if let (true, Some(key)) = (req.retry_at_any_time, &req.vapi_tool_call_id) {
        org.put(&TOOL_CALL_EFFECTS, key.as_bytes(), &id)?;
    }
    scope.slots.hold(&record);
    audit::success(
        &mut org,
        req.actor.clone(),
        "appointment_booked",
        format!("appointment:{id}"),
        now,
    )?;
    // The holder's hold, here or at another time, ends with its booking.
    if let Some(holder) = &req.hold_key {
        super::holds::end_call_hold(&mut scope.slots, req.org, holder, now);
    }
    // A lead for this number (a caller who rang and did not book) is now booked.
    scope
        .followers
        .booked(&mut org, &record.patient.phone, now)?;
    queue_reminder(w, &mut scope.reads, &record, now)?;
    Ok(Effect::Booked {
        appointment: Box::new(record),
        replayed: false,
    })
}

/// Before an appointment leaves the slot where it was booked, records the tool call that
/// booked it, so a late retry of that call still finds it rather than booking again.
fn remember_booking_call(
    org: &mut OrgWrite<'_>,
    a: &AppointmentRecord,
) -> Result<(), BookingError> {
    if let Some(tc) = &a.vapi_tool_call_id {
        if org.get(&TOOL_CALL_EFFECTS, tc.as_bytes())?.is_none() {
            org.put(&TOOL_CALL_EFFECTS, tc.as_bytes(), &a.id)?;
        }
    }
    Ok(())
}

fn cancel(
    w: &mut StoreWrite,
    scope: &mut TransactionScope<'_>,
    org_id: OrgId,
    id: AppointmentId,
    actor: &str,
    reason: Option<String>,
    now: DateTime<Utc>,
) -> Result<Effect, BookingError> {
    let mut org = w.org(org_id);
    let mut a = org.require(&APPOINTMENTS, &id.as_bytes(), BookingError::NotFound)?;
    if a.status == AppointmentStatus::Cancelled {
        return Ok(Effect::Cancelled(Box::new(a)));
    }
    if !a.status.is_active() {
        return Err(BookingError::NotActive);
    }
    scope.slots.release(&a);
    remember_booking_call(&mut org, &a)?;
    let before = a.clone();
    a.status = AppointmentStatus::Cancelled;
    a.cancel_reason = reason;
    a.updated_at = stamp(now);
    org.put(&APPOINTMENTS, &id.as_bytes(), &a)?;
    audit::success(
        &mut org,
        actor,
        "appointment_cancelled",
        format!("appointment:{id}"),
        now,
    )?;
    outbox::enqueue(
        w,
        org_id,
        JobKind::CalendarDelete { appointment_id: id },
        now,
    )?;
    scope.followers.freed(w, &before, now)?;
    Ok(Effect::Cancelled(Box::new(a)))
}

/// A move asked of the writer.
struct Move<'a> {
    org_id: OrgId,
    id: AppointmentId,
    start: DateTime<Utc>,
    actor: &'a str,
    tool_call_id: Option<&'a str>,
    call_id: Option<&'a str>,
}

fn reschedule(
    w: &mut StoreWrite,
    scope: &mut TransactionScope<'_>,
    m: Move<'_>,
    now: DateTime<Utc>,
) -> Result<Effect, BookingError> {
    let Move {
        org_id,
        id,
        start,
        actor,
        tool_call_id,
        call_id,
    } = m;
    in_window(start, now)?;
    let org = w.org(org_id);
    if let Some(tc) = tool_call_id {
        if org.get(&TOOL_CALL_EFFECTS, tc.as_bytes())?.is_some() {
            let a = org.require(&APPOINTMENTS, &id.as_bytes(), BookingError::NotFound)?;
            return Ok(Effect::Rescheduled(Box::new(a)));
        }
    }
    let a = org.require(&APPOINTMENTS, &id.as_bytes(), BookingError::NotFound)?;
    if !a.status.is_active() {
        return Err(BookingError::NotActive);
    }
    if a.start == start {
        return Ok(Effect::Rescheduled(Box::new(a)));
    }
    let provider = scope
        .reads
        .provider(&org, a.provider_id)?
        .ok_or(BookingError::NotFound)?;
    let shape = Shape {
        duration: a.end - a.start,
        before: Duration::minutes(a.buffer_before_minutes.into()),
        after: Duration::minutes(a.buffer_after_minutes.into()),
    };
    let busy: Vec<Interval> = scope
        .slots
        .nearby(org_id, a.provider_id, shape.occupied(start), now, call_id)
        .into_iter()
        .filter(|e| e.appointment_id != id)
        .map(|e| e.occupied)
        .collect();
    decide(
        w,
        &mut scope.reads,
        org_id,
        &provider,
        &shape,
        &busy,
        start,
        now,
    )?;

    let mut org = w.org(org_id);
    scope.slots.release(&a);
    remember_booking_call(&mut org, &a)?;
    let before = a.clone();
    let mut moved = a;
    moved.start = start;
    moved.end = start + shape.duration;
    moved.updated_at = stamp(now);
    moved.calendar_sync = "pending".into();
    org.put(&APPOINTMENTS, &id.as_bytes(), &moved)?;
    scope.slots.hold(&moved);
    if let Some(call) = call_id {
        super::holds::end_call_hold(&mut scope.slots, org_id, call, now);
    }
    if let Some(tc) = tool_call_id {
        org.put(&TOOL_CALL_EFFECTS, tc.as_bytes(), &id)?;
    }
    audit::success(
        &mut org,
        actor,
        "appointment_rescheduled",
        format!("appointment:{id}"),
        now,
    )?;
    outbox::enqueue(
        w,
        org_id,
        JobKind::CalendarUpsert { appointment_id: id },
        now,
    )?;
    queue_reminder(w, &mut scope.reads, &moved, now)?;
    scope.followers.freed(w, &before, now)?;
    Ok(Effect::Rescheduled(Box::new(moved)))
}

fn confirm(
    w: &mut StoreWrite,
    token: &str,
    actor: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Effect, BookingError> {
    let route = match ConfirmationToken::route(token) {
        Some(route) => Some(route),
        None => w
            .global_get(&CONFIRMATION_TOKENS, token.as_bytes())?
            .map(|e| (e.org_id, e.appointment_id)),
    };
    let Some((org_id, appointment_id)) = route else {
        return Ok(Effect::ConfirmUnknown);
    };
    let mut org = w.org(org_id);
    let Some(mut a) = org.get(&APPOINTMENTS, &appointment_id.as_bytes())? else {
        return Ok(Effect::ConfirmUnknown);
    };
    if !ConfirmationToken::matches(&a.confirmation_token, token) {
        return Ok(Effect::ConfirmUnknown);
    }
    if a.status != AppointmentStatus::Pending {
        return Ok(Effect::ConfirmAlreadyUsed);
    }
    a.status = AppointmentStatus::Confirmed;
    a.updated_at = stamp(now);
    org.put(&APPOINTMENTS, &a.id.as_bytes(), &a)?;
    audit::success(
        &mut org,
        actor.unwrap_or("patient:confirmation_link"),
        "appointment_confirmed",
        format!("appointment:{}", a.id),
        now,
    )?;
    Ok(Effect::Confirmed(Box::new(a)))
}
