//! What a text message becomes when its outbox job falls due: sent, held by quiet hours, or
//! dropped for a reason (opted out, a number that cannot take texts, texted too recently, a
//! lead that has booked or was marked lost); a reminder's message is made here, from its
//! appointment. Pure reads of one snapshot, so the outbox worker can ask without reaching
//! into the follow-up service.

use chrono::{DateTime, Duration, Utc};

use super::records::{
    FollowUpOutcome, FollowUpPurpose, FollowUpRecord, FollowUpStatus, LeadStatus,
};
use super::{catalogue, clinic_from};
use crate::booking::tables::{APPOINTMENTS, CLINIC_SETTINGS};
use crate::domain::{OrgId, PhoneNumber};
use crate::followup::records::{
    sender_key, FOLLOWUPS, LEADS, SMS_LAST_SENT, SMS_OPT_OUTS, SMS_SENDER_OPT_OUTS,
};
use crate::identity::tables::ORGS;
use crate::store::OrgReads;
use crate::store::{StoreError, StoreRead};

/// What to do with a message that has fallen due.
#[derive(Debug, Clone)]
pub enum Decision {
    /// Send it now.
    Send {
        to: String,
        from: Option<String>,
        body: String,
        /// A message made now (a reminder), to be stored with its outcome.
        record: Option<Box<FollowUpRecord>>,
    },
    /// Not now: quiet hours hold it until then.
    Defer(DateTime<Utc>),
    /// Never: the outcome says why.
    Drop(FollowUpOutcome),
    /// The message no longer exists or was already decided.
    Gone,
}

/// The sender to text from now (the clinic's own, else the install's), or, when the clinic
/// is in its quiet hours, the end of them.
/// The number a clinic's texts go from: its own sender, else the install's (none when
/// Twilio's messaging service picks one).
fn sender_of(clinic: &super::Clinic, install_from: &str) -> Option<String> {
    clinic
        .settings
        .sms_from
        .clone()
        .or_else(|| Some(install_from.to_string()).filter(|s| !s.is_empty()))
}

/// Whether `to` sent STOP to the sender this clinic texts from.
fn stopped_for_sender(
    r: &StoreRead,
    clinic: &super::Clinic,
    install_from: &str,
    to: &str,
) -> Result<bool, StoreError> {
    Ok(match sender_of(clinic, install_from) {
        Some(sender) => r
            .global_get(&SMS_SENDER_OPT_OUTS, &sender_key(&sender, to))?
            .is_some(),
        None => false,
    })
}

fn sender_unless_quiet(
    clinic: &super::Clinic,
    now: DateTime<Utc>,
    install_from: &str,
) -> Result<Option<String>, DateTime<Utc>> {
    let quiet = crate::domain::QuietHours::new(
        &clinic.settings.quiet_hours_start,
        &clinic.settings.quiet_hours_end,
        clinic.tz,
    );
    if quiet.is_quiet(now) {
        return Err(quiet.next_allowed(now));
    }
    Ok(sender_of(clinic, install_from))
}

/// Why `to` may not be texted by the clinic now, if it may not: it opted out (of the clinic,
/// or of the sender the clinic texts from), or it cannot take texts.
fn why_not_text(
    r: &StoreRead,
    org: OrgId,
    clinic: &super::Clinic,
    to: &str,
    install_from: &str,
) -> Result<Option<String>, StoreError> {
    if r.org(org).get(&SMS_OPT_OUTS, to.as_bytes())?.is_some()
        || stopped_for_sender(r, clinic, install_from, to)?
    {
        return Ok(Some("the number has opted out of texts".into()));
    }
    Ok(
        match PhoneNumber::parse(to, &clinic.settings.phone_region).map(|p| p.sms_capable()) {
            Ok(Ok(())) => None,
            Ok(Err(why)) => Some(format!("not sent: {why}")),
            Err(_) => Some("not sent: the number cannot be read".into()),
        },
    )
}

/// Whether the clinic may text `to` now, as far as consent and the number go (quiet hours
/// and windows aside): for other domains choosing whom to text.
pub fn may_text(
    r: &StoreRead,
    org: OrgId,
    to: &str,
    install_from: &str,
) -> Result<bool, StoreError> {
    let o = r.org(org);
    let clinic = clinic_from(
        o.get(&CLINIC_SETTINGS, b"settings")?,
        r.global_get(&ORGS, &org.as_bytes())?,
    );
    Ok(why_not_text(r, org, &clinic, to, install_from)?.is_none())
}

/// The id of an appointment's reminder message for one start.
pub fn reminder_id(appointment: crate::domain::AppointmentId, start: DateTime<Utc>) -> uuid::Uuid {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("reminder:{appointment}:{}", start.timestamp()));
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// What to do with follow-up `id` now that its job is due: consent and manners are
/// decided here, at send time, not only when the message was queued.
pub fn decide(
    r: &StoreRead,
    org: OrgId,
    id: uuid::Uuid,
    now: DateTime<Utc>,
    install_from: &str,
) -> Result<Decision, StoreError> {
    let o = r.org(org);
    let Some(f) = o.get(&FOLLOWUPS, id.as_bytes())? else {
        return Ok(Decision::Gone);
    };
    if f.status != FollowUpStatus::Queued {
        return Ok(Decision::Gone);
    }
    let clinic = clinic_from(
        o.get(&CLINIC_SETTINGS, b"settings")?,
        r.global_get(&ORGS, &org.as_bytes())?,
    );
    let drop = |reason: String| {
        let mut outcome = FollowUpOutcome::new(id, FollowUpStatus::Suppressed, now);
        outcome.reason = Some(reason);
        Ok(Decision::Drop(outcome))
    };
    if let Some(why) = why_not_text(r, org, &clinic, &f.to, install_from)? {
        return drop(why);
    }
    if f.expires_at.is_some_and(|until| until <= now) {
        return drop("the offer it carried lapsed before it could be sent".into());
    }
    if let Some(lead_id) = f.lead_id {
        match o.get(&LEADS, lead_id.as_bytes())?.map(|l| l.status) {
            Some(LeadStatus::Booked) => return drop("the caller has booked since".into()),
            Some(LeadStatus::Lost) => return drop("staff marked the lead lost".into()),
            _ => {}
        }
    }
    if f.purpose == FollowUpPurpose::CallFollowUp {
        let window = Duration::days(clinic.settings.followup_window_days.into());
        if let Some(last) = o.get(&SMS_LAST_SENT, f.to.as_bytes())? {
            if now - last < window {
                return drop(format!(
                    "a follow-up went to this number within {} days",
                    clinic.settings.followup_window_days
                ));
            }
        }
    }
    let from = match sender_unless_quiet(&clinic, now, install_from) {
        Ok(from) => from,
        Err(until) => return Ok(Decision::Defer(until)),
    };
    Ok(Decision::Send {
        to: f.to,
        from,
        body: f.body,
        record: None,
    })
}

/// What to do with an appointment's reminder now that it is due: nothing when the
/// appointment is gone, cancelled, over or moved from `for_start`; else a reminder
/// message (`id`), under the same consent and quiet hours as any text.
pub fn decide_reminder(
    r: &StoreRead,
    org: OrgId,
    appointment_id: crate::domain::AppointmentId,
    for_start: DateTime<Utc>,
    id: uuid::Uuid,
    now: DateTime<Utc>,
    install_from: &str,
) -> Result<Decision, StoreError> {
    use crate::booking::tables::{PROVIDERS, SERVICES};
    let o = r.org(org);
    if o.get(&FOLLOWUPS, id.as_bytes())?.is_some() {
        return Ok(Decision::Gone);
    }
    let Some(a) = o.get(&APPOINTMENTS, &appointment_id.as_bytes())? else {
        return Ok(Decision::Gone);
    };
    if !a.status.is_active() || a.start != for_start || a.start <= now {
        return Ok(Decision::Gone);
    }
    let clinic = clinic_from(
        o.get(&CLINIC_SETTINGS, b"settings")?,
        r.global_get(&ORGS, &org.as_bytes())?,
    );
    let provider = o
        .get(&PROVIDERS, &a.provider_id.as_bytes())?
        .map(|p| p.name)
        .unwrap_or_default();
    let service = match a.service_id {
        Some(s) => o.get(&SERVICES, &s.as_bytes())?.map(|s| s.name),
        None => None,
    };
    let local = a.start.with_timezone(&clinic.tz);
    let body = format!(
        "Reminder from {}: your {} with {} is on {} at {}. To change it, please call us. Reply STOP to stop texts.",
        if clinic.name.is_empty() { "the clinic" } else { &clinic.name },
        service.as_deref().unwrap_or("appointment"),
        provider,
        crate::speech::say_date(local.date_naive()),
        crate::speech::say_time(local.time()),
    );
    let mut record = FollowUpRecord::queued(
        id,
        FollowUpPurpose::Reminder,
        a.patient.phone.as_str().to_string(),
        body.clone(),
        "reminder".into(),
        catalogue::DEFAULT_AGENT.into(),
        now,
    );
    record.call_id = a.vapi_call_id.clone();
    record.appointment_id = Some(a.id);
    let suppress = |reason: String| {
        let mut outcome = FollowUpOutcome::new(id, FollowUpStatus::Suppressed, now);
        outcome.reason = Some(reason);
        outcome.record = Some(Box::new(record.clone()));
        Ok(Decision::Drop(outcome))
    };
    if o.get(&SMS_OPT_OUTS, record.to.as_bytes())?.is_some()
        || stopped_for_sender(r, &clinic, install_from, &record.to)?
    {
        return suppress("the number has opted out of texts".into());
    }
    if let Err(why) = a.patient.phone.sms_capable() {
        return suppress(format!("not sent: {why}"));
    }
    let from = match sender_unless_quiet(&clinic, now, install_from) {
        Ok(from) => from,
        Err(until) => return Ok(Decision::Defer(until)),
    };
    Ok(Decision::Send {
        to: record.to.clone(),
        from,
        body,
        record: Some(Box::new(record)),
    })
}
