//! Times held for calls in progress, as the claim writer places and ends them: a hold is
//! decided like a booking (hours, notice, every appointment and every other call's hold) and
//! then keeps its time from everyone else until the call books it, picks another time, ends,
//! or the clinic's `hold_minutes` pass. A waiting-list offer holds its time the same way.
//! Holds live in memory only.

use chrono::{DateTime, Duration, Utc};

use super::claims::{read_claim, Ask, TransactionScope};
use super::slot_index::{PendingSlots, SlotHold};
use super::BookingError;
use crate::domain::{AppointmentId, OrgId, ProviderId, ServiceId};
use crate::store::StoreWrite;

/// Most minutes a clinic may hold a time for a call.
pub const MAX_HOLD_MINUTES: u32 = 30;
/// Most minutes a waiting-list offer may hold a time.
pub const MAX_OFFER_MINUTES: u32 = 240;

/// A call asks to hold a time, validated at the edge.
#[derive(Debug, Clone)]
pub struct HoldRequest {
    pub org: OrgId,
    /// The Vapi call's id, or the waiting-list offer's holder name.
    pub holder: String,
    pub provider_id: ProviderId,
    pub service_id: Option<ServiceId>,
    pub start: DateTime<Utc>,
    pub duration_minutes: Option<u32>,
    /// How long the hold lasts (the clinic's `hold_minutes`).
    pub minutes: u32,
}

/// Places the hold, ending the call's earlier one: refused, like a booking, when the time is
/// not bookable or something else (an appointment, another call's hold) keeps it.
pub(super) fn hold(
    w: &mut StoreWrite,
    scope: &mut TransactionScope<'_>,
    req: &HoldRequest,
    now: DateTime<Utc>,
) -> Result<SlotHold, BookingError> {
    let ask = Ask {
        org: req.org,
        provider_id: req.provider_id,
        service_id: req.service_id,
        duration_minutes: req.duration_minutes,
        start: req.start,
        holder: Some(&req.holder),
    };
    let claim = read_claim(scope, &w.org(req.org), &ask, now)?;
    claim.decide(w, &mut scope.reads, &ask, now)?;
    // The call's earlier hold, and any that lapsed in this clinic, end here.
    for lapsed in scope
        .slots
        .holds(req.org)
        .iter()
        .filter(|h| h.holder == req.holder || !h.live(now))
    {
        scope.slots.end_hold(lapsed);
    }
    let minutes = req.minutes.clamp(1, MAX_OFFER_MINUTES);
    let held = SlotHold {
        id: AppointmentId::new_time_ordered(),
        org: req.org,
        holder: req.holder.clone(),
        provider: claim.provider.id,
        service: claim.service.as_ref().map(|s| s.id),
        start: req.start,
        end: req.start + claim.shape.duration,
        occupied: claim.shape.occupied(req.start),
        until: now + Duration::minutes(minutes.into()),
    };
    scope.slots.place_hold(held.clone());
    Ok(held)
}

/// Ends the holder's hold, if it has one, and says which it was if it was still live.
pub(super) fn end_call_hold(
    slots: &mut PendingSlots<'_>,
    org: OrgId,
    holder: &str,
    now: DateTime<Utc>,
) -> Option<SlotHold> {
    let held = slots.holds(org).into_iter().find(|h| h.holder == holder)?;
    slots.end_hold(&held);
    held.live(now).then_some(held)
}
