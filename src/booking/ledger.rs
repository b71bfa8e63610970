//! The booking changes the claim writer applies, each inside its transaction: decide with the
//! rule engine, then write the appointment, its indexes and its audit entry — or nothing.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use chrono_tz::Tz;

use super::followers::BookingFollowers;
use super::records::{
    AppointmentRecord, AppointmentStatus, BookingSource, ClinicSettings, ConfirmationToken,
    Patient, ProviderRecord, ServiceRecord,
};
use super::schedule::{Interval, Policy, ProviderCalendar, Shape};
use super::slot_index::{PendingSlots, SlotIndex};
use super::{org_zone, BookingError};
use crate::audit;
use crate::booking::tables::{
    APPOINTMENTS, CLINIC_SETTINGS, CONFIRMATION_TOKENS, PROVIDERS, SERVICES, TOOL_CALL_EFFECTS,
};
use crate::domain::{AppointmentId, FieldError, OrgId, ProviderId, ServiceId};
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

/// The set-up records a transaction's claims decide with, each decoded once per transaction.
/// Changes the writer applies never alter providers, services, clinic settings or an org's
/// zone (those are written by their own transactions), so within one transaction they are
/// the same for every claim; across transactions nothing is kept.
#[derive(Default)]
struct SetupReads {
    providers: HashMap<(OrgId, ProviderId), Arc<ProviderRecord>>,
    services: HashMap<(OrgId, ServiceId), Arc<ServiceRecord>>,
    clinics: HashMap<OrgId, (Policy, Tz)>,
    reminders: HashMap<OrgId, Option<ReminderRule>>,
}

/// When a clinic's appointment reminders go: `hours` before the start, moved earlier out of
/// the clinic's quiet hours.
#[derive(Clone, Copy)]
struct ReminderRule {
    hours: u32,
    quiet: crate::domain::QuietHours,
}

impl ReminderRule {
    /// When the reminder for an appointment starting at `start` goes; `None` when that time
    /// has already passed (an appointment booked at short notice needs none).
    fn due(&self, start: DateTime<Utc>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let due = self
            .quiet
            .last_allowed_before(start - Duration::hours(self.hours.into()));
        (due > now).then_some(due)
    }
}

impl SetupReads {
    fn provider(
        &mut self,
        org: &OrgWrite<'_>,
        id: ProviderId,
    ) -> Result<Option<Arc<ProviderRecord>>, BookingError> {
        read_once(&mut self.providers, org, &PROVIDERS, id, id.as_bytes())
    }

    fn service(
        &mut self,
        org: &OrgWrite<'_>,
        id: ServiceId,
    ) -> Result<Option<Arc<ServiceRecord>>, BookingError> {
        read_once(&mut self.services, org, &SERVICES, id, id.as_bytes())
    }

    /// The clinic's booking policy and time zone.
    fn clinic(&mut self, w: &StoreWrite, org: OrgId) -> Result<(Policy, Tz), BookingError> {
        if let Some(c) = self.clinics.get(&org) {
            return Ok(*c);
        }
        let settings: ClinicSettings = w
            .org(org)
            .get(&CLINIC_SETTINGS, b"settings")?
            .unwrap_or_default();
        let tz = org_zone(w.global_get(&crate::identity::tables::ORGS, &org.as_bytes())?)?;
        let clinic = (settings.policy(), tz);
        self.clinics.insert(org, clinic);
        self.reminders.insert(
            org,
            (settings.reminder_hours_before > 0).then(|| ReminderRule {
                hours: settings.reminder_hours_before,
                quiet: crate::domain::QuietHours::new(
                    &settings.quiet_hours_start,
                    &settings.quiet_hours_end,
                    tz,
                ),
            }),
        );
        Ok(clinic)
    }

    /// The clinic's reminder rule (none when reminders are off).
    fn reminder(
        &mut self,
        w: &StoreWrite,
        org: OrgId,
    ) -> Result<Option<ReminderRule>, BookingError> {
        if !self.reminders.contains_key(&org) {
            self.clinic(w, org)?;
        }
        Ok(self.reminders.get(&org).copied().flatten())
    }
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

/// What the changes of one writer transaction share: the set-up records, each decoded once,
/// and the slots taken and released so far (seen by the changes after them; they reach the
/// slot index only through `committed`, once the transaction is durable).
pub struct TransactionScope<'a> {
    reads: SetupReads,
    slots: PendingSlots<'a>,
    followers: &'a dyn BookingFollowers,
}

impl<'a> TransactionScope<'a> {
    /// `followers` are told of each booking inside the transaction.
    pub fn new(index: &'a SlotIndex, followers: &'a dyn BookingFollowers) -> Self {
        TransactionScope {
            reads: SetupReads::default(),
            slots: PendingSlots::new(index),
            followers,
        }
    }

    /// The transaction committed durably: its slot changes reach the index.
    pub fn committed(self) {
        self.slots.committed();
    }
}

/// A record from `seen` if this transaction read it already, else from the table (and kept).
fn read_once<K: std::hash::Hash + Eq, V: crate::store::codec::Stored>(
    seen: &mut HashMap<(OrgId, K), Arc<V>>,
    org: &OrgWrite<'_>,
    table: &crate::store::tables::TenantTable<V>,
    id: K,
    key: [u8; 16],
) -> Result<Option<Arc<V>>, BookingError> {
    let slot = (org.org_id(), id);
    if let Some(v) = seen.get(&slot) {
        return Ok(Some(v.clone()));
    }
    let Some(v) = org.get(table, &key)? else {
        return Ok(None);
    };
    let v = Arc::new(v);
    seen.insert(slot, v.clone());
    Ok(Some(v))
}

/// The doors check every start against the window already; the writer checks again, so no
/// other path can bring it an instant its arithmetic cannot hold.
fn in_window(start: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), BookingError> {
    super::intake::instant_in_window(start, now)
        .map(|_| ())
        .map_err(|m| BookingError::Invalid(vec![FieldError::new("start", m)]))
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
        } => cancel(w, &mut scope.slots, *org, *id, actor, reason.clone(), now),
        Change::Reschedule {
            org,
            id,
            start,
            actor,
            tool_call_id,
        } => reschedule(
            w,
            scope,
            *org,
            *id,
            *start,
            actor,
            tool_call_id.as_deref(),
            now,
        ),
        Change::Confirm { token, actor } => confirm(w, token, actor.as_deref(), now),
        Change::Outcome {
            org,
            id,
            status,
            actor,
        } => set_outcome(w, &mut scope.slots, *org, *id, *status, actor, now),
        Change::Delivery(d) => record_delivery(w, d),
        Change::ForgetToolCalls { org, tool_call_ids } => {
            let mut o = w.org(*org);
            for tc in tool_call_ids {
                o.remove(&TOOL_CALL_EFFECTS, tc.as_bytes())?;
            }
            Ok(Effect::DeliveryRecorded)
        }
        Change::DeleteOrg { org } => {
            // What this transaction read of the clinic's set-up is gone with it.
            scope.reads = SetupReads::default();
            let removed = w.purge_org(*org)?;
            Ok(Effect::OrgDeleted { org: *org, removed })
        }
    }
}

/// Records how an appointment ended, once its start has passed: the slot is released (the
/// record stays), and a no-show is counted on the patient's contact.
fn set_outcome(
    w: &mut StoreWrite,
    slots: &mut PendingSlots<'_>,
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
    slots.release(&a);
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

#[allow(clippy::too_many_arguments)]
fn decide(
    w: &StoreWrite,
    reads: &mut SetupReads,
    org: OrgId,
    provider: &ProviderRecord,
    shape: &Shape,
    busy: &[Interval],
    start: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), BookingError> {
    let (policy, tz) = reads.clinic(w, org)?;
    let time_off = provider.time_off_intervals();
    let cal = ProviderCalendar {
        tz,
        hours: &provider.weekly_hours,
        breaks: &provider.breaks,
        time_off: &time_off,
    };
    cal.evaluate(shape, &policy, busy, now, start)
        .map_err(BookingError::Refused)
}

fn book(
    w: &mut StoreWrite,
    scope: &mut TransactionScope<'_>,
    req: &BookRequest,
    now: DateTime<Utc>,
) -> Result<Effect, BookingError> {
    in_window(req.start, now)?;
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
    let provider = scope
        .reads
        .provider(&org, req.provider_id)?
        .ok_or(BookingError::NotFound)?;
    let service = match req.service_id {
        Some(id) => {
            let s = scope.reads.service(&org, id)?.ok_or_else(|| {
                BookingError::Invalid(vec![FieldError::new(
                    "service_id",
                    "is not a service of this clinic",
                )])
            })?;
            if !provider.service_ids.contains(&s.id) {
                return Err(BookingError::Invalid(vec![FieldError::new(
                    "service_id",
                    "is not offered by this provider",
                )]));
            }
            Some(s)
        }
        None => None,
    };
    let shape = match (&service, req.duration_minutes) {
        (Some(s), None) => s.shape(),
        (Some(s), Some(d)) => Shape::minutes(d, s.buffer_before_minutes, s.buffer_after_minutes),
        (None, Some(d)) => Shape::minutes(d, 0, 0),
        (None, None) => {
            return Err(BookingError::Invalid(vec![FieldError::new(
                "service_id",
                "give a service or an end time",
            )]))
        }
    };
    let occupied = shape.occupied(req.start);
    let entries = scope.slots.nearby(req.org, provider.id, occupied);
    // A retry gets its booking back: the same tool call, or the same call for the same
    // patient and time. A booking still where it was made is found among the entries it
    // overlaps; one moved or cancelled since left its tool call in TOOL_CALL_EFFECTS.
    if req.vapi_call_id.is_some() || req.vapi_tool_call_id.is_some() {
        for e in &entries {
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
    let busy: Vec<Interval> = entries.iter().map(|e| e.occupied).collect();
    decide(
        w,
        &mut scope.reads,
        req.org,
        &provider,
        &shape,
        &busy,
        req.start,
        now,
    )?;

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
    scope.slots.hold(&record);
    audit::success(
        &mut org,
        req.actor.clone(),
        "appointment_booked",
        format!("appointment:{id}"),
        now,
    )?;
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
    slots: &mut PendingSlots<'_>,
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
    slots.release(&a);
    remember_booking_call(&mut org, &a)?;
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
    Ok(Effect::Cancelled(Box::new(a)))
}

#[allow(clippy::too_many_arguments)]
fn reschedule(
    w: &mut StoreWrite,
    scope: &mut TransactionScope<'_>,
    org_id: OrgId,
    id: AppointmentId,
    start: DateTime<Utc>,
    actor: &str,
    tool_call_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Effect, BookingError> {
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
        .nearby(org_id, a.provider_id, shape.occupied(start))
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
    let mut moved = a;
    moved.start = start;
    moved.end = start + shape.duration;
    moved.updated_at = stamp(now);
    moved.calendar_sync = "pending".into();
    org.put(&APPOINTMENTS, &id.as_bytes(), &moved)?;
    scope.slots.hold(&moved);
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
