//! What every claim on the diary checks, inside the claim writer's transaction: the set-up
//! records it decides with (read once per transaction), the slots its earlier changes took
//! and released, and the rule engine's verdict for a provider, shape and start. Bookings,
//! moves and holds share it.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;

use super::followers::BookingFollowers;
use super::records::{ClinicSettings, ProviderRecord, ServiceRecord, SlotEntry};
use super::schedule::{Interval, Policy, ProviderCalendar, Shape};
use super::slot_index::{PendingSlots, SlotIndex};
use super::{org_zone, BookingError};
use crate::booking::tables::{CLINIC_SETTINGS, PROVIDERS, SERVICES};
use crate::domain::{FieldError, OrgId, ProviderId, ServiceId};
use crate::store::OrgReads;
use crate::store::{OrgWrite, StoreWrite};

/// The set-up records a transaction's claims decide with, each read once per transaction.
/// Changes the writer applies never alter providers, services, clinic settings or an org's
/// zone (those are written by their own transactions), so within one transaction they are
/// the same for every claim. Across transactions only `DecodedSetup` is kept.
pub struct SetupReads<'a> {
    providers: HashMap<(OrgId, ProviderId), Arc<ProviderRecord>>,
    services: HashMap<(OrgId, ServiceId), Arc<ServiceRecord>>,
    clinics: HashMap<OrgId, (Policy, Tz)>,
    reminders: HashMap<OrgId, Option<ReminderRule>>,
    decoded: &'a mut DecodedSetup,
}

/// Providers and services decoded by earlier transactions, each kept with the bytes it was
/// decoded from. A transaction still reads every record it uses, and takes the kept one only
/// when the bytes it read are the same, so a changed provider or service is seen at once;
/// what is saved is decoding a provider's hours, breaks and time off for every claim.
#[derive(Default)]
pub struct DecodedSetup {
    providers: Decoded<ProviderId, ProviderRecord>,
    services: Decoded<ServiceId, ServiceRecord>,
}

type Decoded<K, V> = HashMap<(OrgId, K), (Box<[u8]>, Arc<V>)>;

/// Most records of each kind `DecodedSetup` keeps; past it, it starts again empty.
const DECODED_KEPT: usize = 4096;

/// When a clinic's appointment reminders go: `hours` before the start, moved earlier out of
/// the clinic's quiet hours.
#[derive(Clone, Copy)]
pub(super) struct ReminderRule {
    pub(super) hours: u32,
    pub(super) quiet: crate::domain::QuietHours,
}

impl ReminderRule {
    /// When the reminder for an appointment starting at `start` goes; `None` when that time
    /// has already passed (an appointment booked at short notice needs none).
    pub(super) fn due(&self, start: DateTime<Utc>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let due = self
            .quiet
            .last_allowed_before(start - Duration::hours(self.hours.into()));
        (due > now).then_some(due)
    }
}

impl<'a> SetupReads<'a> {
    pub(super) fn new(decoded: &'a mut DecodedSetup) -> Self {
        SetupReads {
            providers: HashMap::new(),
            services: HashMap::new(),
            clinics: HashMap::new(),
            reminders: HashMap::new(),
            decoded,
        }
    }

    /// Forgets what this transaction read, and every record of `org` kept decoded (the org's
    /// set-up is gone).
    pub(super) fn forget(&mut self, org: OrgId) {
        self.providers.clear();
        self.services.clear();
        self.clinics.clear();
        self.reminders.clear();
        self.decoded.providers.retain(|(o, _), _| *o != org);
        self.decoded.services.retain(|(o, _), _| *o != org);
    }

    pub(super) fn provider(
        &mut self,
        org: &OrgWrite<'_>,
        id: ProviderId,
    ) -> Result<Option<Arc<ProviderRecord>>, BookingError> {
        read_once(
            &mut self.providers,
            &mut self.decoded.providers,
            org,
            &PROVIDERS,
            id,
            id.as_bytes(),
        )
    }

    pub(super) fn service(
        &mut self,
        org: &OrgWrite<'_>,
        id: ServiceId,
    ) -> Result<Option<Arc<ServiceRecord>>, BookingError> {
        read_once(
            &mut self.services,
            &mut self.decoded.services,
            org,
            &SERVICES,
            id,
            id.as_bytes(),
        )
    }

    /// The clinic's booking policy and time zone.
    pub(super) fn clinic(
        &mut self,
        w: &StoreWrite,
        org: OrgId,
    ) -> Result<(Policy, Tz), BookingError> {
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
    pub(super) fn reminder(
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

/// What the changes of one writer transaction share: the set-up records, each read once,
/// and the slots taken and released so far (seen by the changes after them; they reach the
/// slot index only through `committed`, once the transaction is durable).
pub struct TransactionScope<'a> {
    pub(super) reads: SetupReads<'a>,
    pub(super) slots: PendingSlots<'a>,
    pub(super) followers: &'a dyn BookingFollowers,
}

impl<'a> TransactionScope<'a> {
    /// `followers` are told of each booking inside the transaction; `decoded` is the writer's
    /// own, kept from one transaction to the next.
    pub fn new(
        index: &'a SlotIndex,
        followers: &'a dyn BookingFollowers,
        decoded: &'a mut DecodedSetup,
    ) -> Self {
        TransactionScope {
            reads: SetupReads::new(decoded),
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
fn read_once<K: std::hash::Hash + Eq + Copy, V: crate::store::codec::Stored>(
    seen: &mut HashMap<(OrgId, K), Arc<V>>,
    decoded: &mut Decoded<K, V>,
    org: &OrgWrite<'_>,
    table: &crate::store::tables::TenantTable<V>,
    id: K,
    key: [u8; 16],
) -> Result<Option<Arc<V>>, BookingError> {
    let slot = (org.org_id(), id);
    if let Some(v) = seen.get(&slot) {
        return Ok(Some(v.clone()));
    }
    let read = org.get_via(table, &key, |bytes| {
        if let Some((kept, v)) = decoded.get(&slot) {
            if **kept == *bytes {
                return Ok(v.clone());
            }
        }
        let v = Arc::new(crate::store::decode_record(table, bytes)?);
        if decoded.len() >= DECODED_KEPT && !decoded.contains_key(&slot) {
            decoded.clear();
        }
        decoded.insert(slot, (bytes.into(), v.clone()));
        Ok(v)
    })?;
    let Some(v) = read else {
        return Ok(None);
    };
    seen.insert(slot, v.clone());
    Ok(Some(v))
}

/// The doors check every start against the window already; the writer checks again, so no
/// other path can bring it an instant its arithmetic cannot hold.
pub(super) fn in_window(start: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), BookingError> {
    super::intake::instant_in_window(start, now)
        .map(|_| ())
        .map_err(|m| BookingError::Invalid(vec![FieldError::new("start", m)]))
}

#[allow(clippy::too_many_arguments)]
pub(super) fn decide(
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

/// What a new claim (a booking or a hold) asks for.
pub(super) struct Ask<'a> {
    pub(super) org: OrgId,
    pub(super) provider_id: ProviderId,
    pub(super) service_id: Option<ServiceId>,
    pub(super) duration_minutes: Option<u32>,
    pub(super) start: DateTime<Utc>,
    /// Whose hold the claim may take (a call's, or a waiting-list offer's).
    pub(super) holder: Option<&'a str>,
}

/// A claim read in the transaction: what it asks for, checked, and what stands in its way.
pub(super) struct Claim {
    pub(super) provider: Arc<ProviderRecord>,
    pub(super) service: Option<Arc<ServiceRecord>>,
    pub(super) shape: Shape,
    /// The appointments, and other holders' live holds, its span overlaps.
    pub(super) in_the_way: Vec<SlotEntry>,
}

/// Reads a claim: the start inside the window, the provider existing, the service the
/// clinic's and the provider's, a length known, and what already stands where it would go.
pub(super) fn read_claim(
    scope: &mut TransactionScope<'_>,
    org: &OrgWrite<'_>,
    ask: &Ask<'_>,
    now: DateTime<Utc>,
) -> Result<Claim, BookingError> {
    in_window(ask.start, now)?;
    let provider = scope
        .reads
        .provider(org, ask.provider_id)?
        .ok_or(BookingError::NotFound)?;
    let service = match ask.service_id {
        Some(id) => {
            let s = scope.reads.service(org, id)?.ok_or_else(|| {
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
    let shape = match (&service, ask.duration_minutes) {
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
    let in_the_way = scope.slots.nearby(
        ask.org,
        provider.id,
        shape.occupied(ask.start),
        now,
        ask.holder,
    );
    Ok(Claim {
        provider,
        service,
        shape,
        in_the_way,
    })
}

impl Claim {
    /// The rule engine's verdict on the claim, with what stands in its way as busy.
    pub(super) fn decide(
        &self,
        w: &StoreWrite,
        reads: &mut SetupReads,
        ask: &Ask<'_>,
        now: DateTime<Utc>,
    ) -> Result<(), BookingError> {
        let busy: Vec<Interval> = self.in_the_way.iter().map(|e| e.occupied).collect();
        decide(
            w,
            reads,
            ask.org,
            &self.provider,
            &self.shape,
            &busy,
            ask.start,
            now,
        )
    }
}
