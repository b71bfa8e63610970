//! The tools that keep a time for the caller while they give their details: hold_slot and
//! release_hold. A hold belongs to the call: its booking takes it, and it ends with the call.

use serde_json::json;

use super::tools::{Ctx, TRY_AGAIN};
use super::ToolAnswer;
use crate::booking::holds::HoldRequest;
use crate::booking::slot_index::SlotHold;

impl Ctx<'_> {
    /// The call's live hold, if it has one.
    pub(super) fn held(&self) -> Option<SlotHold> {
        let call = self.call.call_id.as_deref().filter(|c| !c.is_empty())?;
        self.booking
            .holds(self.caller.org)
            .into_iter()
            .find(|h| h.holder == call)
    }

    pub(super) async fn hold_slot(&self) -> ToolAnswer {
        let Some(call_id) = self.call.call_id.clone().filter(|c| !c.is_empty()) else {
            return ToolAnswer::error(
                "I can only hold a time during a call. I can book it straight away instead.",
            );
        };
        let start = match self.start_arg() {
            Ok(s) => s,
            Err(a) => return a,
        };
        let (service, provider) = match (self.service_arg(), self.provider_arg()) {
            (Ok(s), Ok(p)) => (s, p),
            (Err(a), _) | (_, Err(a)) => return a,
        };
        let provider = match provider {
            Some(p) => p,
            None => match self.pick_provider(service, start).await {
                Some(p) => p,
                None => return ToolAnswer::error("There's no practitioner set up for that treatment. I can take a message for the clinic."),
            },
        };
        let minutes = self.view.settings.hold_minutes;
        let req = HoldRequest {
            org: self.caller.org,
            holder: call_id,
            provider_id: provider.id,
            service_id: service.map(|s| s.id),
            start,
            duration_minutes: service.is_none().then_some(30),
            minutes,
        };
        match self.booking.hold_slot(req).await {
            Ok(h) => ToolAnswer::ok(format!(
                "I'm holding {} with {} for you for the next {minutes} minutes while we take your details.",
                self.when(h.start),
                provider.name,
            ))
            .with("provider_id", json!(h.provider))
            .with(
                "start",
                json!(h.start.with_timezone(&self.tz()).to_rfc3339()),
            )
            .with(
                "held_until",
                json!(h.until.with_timezone(&self.tz()).to_rfc3339()),
            ),
            Err(e) => self.refusal(e, start, None),
        }
    }

    pub(super) async fn release_hold(&self) -> ToolAnswer {
        let Some(call_id) = self.call.call_id.as_deref().filter(|c| !c.is_empty()) else {
            return ToolAnswer::ok("There's no time held on this call.");
        };
        match self.booking.release_hold(self.caller.org, call_id).await {
            Ok(Some(h)) => ToolAnswer::ok(format!(
                "I've let {} go, so it's free for others again.",
                self.when(h.start)
            ))
            .with("released", json!(true)),
            Ok(None) => {
                ToolAnswer::ok("There's no time held on this call.").with("released", json!(false))
            }
            Err(_) => ToolAnswer::error(TRY_AGAIN),
        }
    }
}
