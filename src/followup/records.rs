//! The stored shapes of leads, follow-up messages, the procedure catalogue and SMS consent,
//! the tables that hold them, and the few table-level steps other writers share (the outbox
//! records a delivery's outcome and the booking ledger marks a lead booked, each inside its
//! own transaction).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::audit;
use crate::domain::OrgId;
use crate::store::tables::{GlobalTable, TenantTable};
use crate::store::OrgReads;
use crate::store::{OrgWrite, StoreError, StoreWrite};

// ---- the follow-up tables, beside the records they hold ----

crate::store::codec::stored_as_json!(
    ProcedureRecord,
    LeadRecord,
    FollowUpRecord,
    OptOutRecord,
    MessageIndexEntry,
);

/// A clinic's procedure catalogue, keyed by procedure id.
pub const PROCEDURES: TenantTable<ProcedureRecord> = TenantTable::new("procedures_v1");
/// Per-clinic follow-up state; key `catalogue` exists once the catalogue has been written
/// (before that, a clinic has the appliance's default catalogue).
pub const FOLLOWUP_STATE: TenantTable<serde_json::Value> = TenantTable::new("followup_state_v1");
/// Leads, keyed by lead id (time-ordered).
pub const LEADS: TenantTable<LeadRecord> = TenantTable::new("leads_v1");
/// Call id → its lead: one lead per call however often the end of a call is reported.
pub const LEADS_BY_CALL: TenantTable<uuid::Uuid> = TenantTable::new("leads_by_call_v1");
/// Caller number (E.164) → their latest lead.
pub const LEADS_BY_PHONE: TenantTable<uuid::Uuid> = TenantTable::new("leads_by_phone_v1");
/// Follow-up messages, keyed by id (time-ordered).
pub const FOLLOWUPS: TenantTable<FollowUpRecord> = TenantTable::new("followups_v1");
/// Numbers (E.164) that asked not to be texted.
pub const SMS_OPT_OUTS: TenantTable<OptOutRecord> = TenantTable::new("sms_opt_outs_v1");
/// Number (E.164) → when a follow-up last went to it (the one-per-window rule).
pub const SMS_LAST_SENT: TenantTable<chrono::DateTime<chrono::Utc>> =
    TenantTable::new("sms_last_sent_v1");
/// Number (E.164) → when this clinic last texted it anything (a reply to the install's shared
/// sender is routed to the clinics that texted the number).
pub const SMS_TEXTED: TenantTable<chrono::DateTime<chrono::Utc>> =
    TenantTable::new("sms_texted_v1");
/// Sender ‖ 0 ‖ number (as Twilio names them, E.164) → that number's STOP to that sender. It
/// holds for every clinic that texts from the sender, whether or not one had texted the
/// number (Twilio and the carriers hold an opt-out per sender and number); START lifts it.
pub const SMS_SENDER_OPT_OUTS: GlobalTable<OptOutRecord> =
    GlobalTable::new("sms_sender_opt_outs_v1");

/// The key of `phone`'s opt-out from texts sent from `sender`. A sender that is a number is
/// keyed in E.164 however it was written (`[twilio] from_number` is taken as configured;
/// Twilio names it in E.164), an alphanumeric sender as it is.
pub fn sender_key(sender: &str, phone: &str) -> Vec<u8> {
    let sender = sender.trim();
    let sender = match crate::domain::PhoneNumber::parse(sender, "GB") {
        Ok(n) if sender.starts_with('+') || sender.starts_with('0') => n.as_str().to_string(),
        _ => sender.to_string(),
    };
    let mut key = sender.as_bytes().to_vec();
    key.push(0);
    key.extend_from_slice(phone.as_bytes());
    key
}

/// Records that `phone` does not want texts from `sender`, whoever sends from it.
pub fn sender_opt_out(
    w: &mut StoreWrite,
    sender: &str,
    phone: &str,
    source: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let key = sender_key(sender, phone);
    if w.global_get(&SMS_SENDER_OPT_OUTS, &key)?.is_none() {
        w.global_put(
            &SMS_SENDER_OPT_OUTS,
            &key,
            &OptOutRecord {
                phone: phone.to_string(),
                since: at,
                source: source.to_string(),
            },
        )?;
    }
    Ok(())
}

/// Whether message `id` of the clinic has gone to Twilio (sent, whatever came of it since).
pub fn message_sent(o: &impl OrgReads, id: uuid::Uuid) -> Result<bool, StoreError> {
    Ok(o.get(&FOLLOWUPS, id.as_bytes())?
        .is_some_and(|f| f.sent_at.is_some()))
}

/// Withdraws message `id` if it has not gone yet: it lapses now, and its job sends nothing.
pub fn withdraw_text(
    o: &mut OrgWrite<'_>,
    id: uuid::Uuid,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if let Some(mut f) = o.get(&FOLLOWUPS, id.as_bytes())? {
        if f.status == FollowUpStatus::Queued {
            f.expires_at = Some(now);
            f.updated_at = now;
            o.put(&FOLLOWUPS, id.as_bytes(), &f)?;
        }
    }
    Ok(())
}

/// The keyword a text from a caller starts with, as carriers read one: its first word,
/// without punctuation, in capitals ("Yes please!" → `YES`).
pub fn keyword_of(body: &str) -> String {
    body.split_whitespace()
        .next()
        .unwrap_or("")
        .trim_matches(|c: char| !c.is_alphanumeric())
        .to_ascii_uppercase()
}

/// Queues a text inside the caller's transaction: the message is stored (`queued`), its
/// queuing audited, and its outbox job written; consent, STOP and quiet hours are decided
/// when the job falls due. The one way a text is queued, for follow-ups and other domains'
/// messages (waiting-list offers) alike.
pub fn queue_text(
    w: &mut StoreWrite,
    org: OrgId,
    message: &FollowUpRecord,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut o = w.org(org);
    o.put(&FOLLOWUPS, message.id.as_bytes(), message)?;
    audit::success(
        &mut o,
        actor.to_string(),
        "sms_queued",
        format!("followup:{}", message.id),
        now,
    )?;
    crate::outbox::enqueue(
        w,
        org,
        crate::outbox::JobKind::Sms {
            followup_id: message.id,
        },
        now,
    )
}

/// Twilio message sid → the org and follow-up it carries (status callbacks name only the sid).
pub const TWILIO_MESSAGES: GlobalTable<MessageIndexEntry> = GlobalTable::new("twilio_messages_v1");

// ---- the records ----

/// One procedure of a clinic's catalogue: the words that name it and what a follow-up sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProcedureRecord {
    pub id: uuid::Uuid,
    pub name: String,
    /// Other words callers use for it ("nose job").
    pub synonyms: Vec<String>,
    /// The guide's link; a relative link is resolved against the clinic's public URL.
    pub guide_link: String,
    /// The follow-up text (minijinja); the appliance's default when absent.
    pub sms_template: Option<String>,
    /// The outbound agent who signs the message (default `sarah_outbound`).
    pub agent_name: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LeadStatus {
    New,
    Contacted,
    Booked,
    Lost,
}

impl LeadStatus {
    /// The status as the API writes it.
    pub fn as_str(&self) -> &'static str {
        match self {
            LeadStatus::New => "new",
            LeadStatus::Contacted => "contacted",
            LeadStatus::Booked => "booked",
            LeadStatus::Lost => "lost",
        }
    }

    pub fn parse(s: &str) -> Result<LeadStatus, String> {
        match s {
            "new" => Ok(LeadStatus::New),
            "contacted" => Ok(LeadStatus::Contacted),
            "booked" => Ok(LeadStatus::Booked),
            "lost" => Ok(LeadStatus::Lost),
            _ => Err("must be new, contacted, booked or lost".into()),
        }
    }
}

/// A caller who rang and did not book (yet).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LeadRecord {
    pub id: uuid::Uuid,
    pub call_id: String,
    /// E.164, when the caller's number was known.
    pub phone: Option<String>,
    pub name: Option<String>,
    /// The catalogue name of the procedure they asked about.
    pub procedure: Option<String>,
    pub status: LeadStatus,
    /// The follow-up message made for the call, if any.
    pub followup_id: Option<uuid::Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Where a follow-up message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FollowUpStatus {
    /// Waiting in the outbox (also while quiet hours hold it).
    Queued,
    /// Accepted by Twilio.
    Sent,
    Delivered,
    Undelivered,
    Failed,
    /// Not sent, on purpose: opted out, texted too recently, or not a number that takes texts.
    Suppressed,
}

impl FollowUpStatus {
    /// Twilio's status words (`queued`, `sending`, `sent`, `delivered`, `undelivered`,
    /// `failed`, …); the ones that do not move a message are `None`.
    pub fn from_twilio(s: &str) -> Option<FollowUpStatus> {
        match s {
            "sent" => Some(FollowUpStatus::Sent),
            "delivered" | "read" => Some(FollowUpStatus::Delivered),
            "undelivered" => Some(FollowUpStatus::Undelivered),
            "failed" => Some(FollowUpStatus::Failed),
            _ => None,
        }
    }
}

/// What kind of message a follow-up is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FollowUpPurpose {
    /// After a call that did not book: the procedure's guide and a way to book.
    CallFollowUp,
    /// Before an appointment.
    Reminder,
    /// A freed time offered to a patient on the waiting list.
    WaitlistOffer,
}

/// One text message to a caller, as rendered and as it fared.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FollowUpRecord {
    pub id: uuid::Uuid,
    pub purpose: FollowUpPurpose,
    pub lead_id: Option<uuid::Uuid>,
    pub call_id: Option<String>,
    #[schema(value_type = Option<String>)]
    pub appointment_id: Option<crate::domain::AppointmentId>,
    /// Always `sms`.
    pub channel: String,
    /// E.164.
    pub to: String,
    pub procedure: Option<String>,
    /// The template it was rendered from: the procedure's own, or `default`.
    pub template: String,
    pub agent_name: String,
    pub guide_link: Option<String>,
    pub booking_link: Option<String>,
    pub body: String,
    /// Characters in `body`.
    pub length: usize,
    /// `GSM-7` or `UCS-2`.
    pub encoding: String,
    pub segments: u32,
    pub status: FollowUpStatus,
    /// Why it was held, suppressed or failed, in words.
    pub reason: Option<String>,
    pub twilio_sid: Option<String>,
    /// Twilio's error code and message when it refused the message.
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    /// A text that means nothing after this time (a waiting-list offer): not sent later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
}

impl FollowUpRecord {
    /// A message ready to queue: `body` measured as SMS bills it, no context yet (the caller
    /// sets the lead, call, appointment, procedure and links it has).
    pub fn queued(
        id: uuid::Uuid,
        purpose: FollowUpPurpose,
        to: String,
        body: String,
        template: String,
        agent_name: String,
        now: DateTime<Utc>,
    ) -> FollowUpRecord {
        let measure = super::message::measure(&body);
        FollowUpRecord {
            id,
            purpose,
            lead_id: None,
            call_id: None,
            appointment_id: None,
            channel: "sms".into(),
            to,
            procedure: None,
            template,
            agent_name,
            guide_link: None,
            booking_link: None,
            length: measure.length,
            encoding: measure.encoding.to_string(),
            segments: measure.segments,
            body,
            status: FollowUpStatus::Queued,
            reason: None,
            twilio_sid: None,
            error_code: None,
            expires_at: None,
            error_message: None,
            created_at: now,
            updated_at: now,
            sent_at: None,
        }
    }
}

/// A number that asked not to be texted.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OptOutRecord {
    pub phone: String,
    pub since: DateTime<Utc>,
    /// `keyword` (the caller texted STOP), `twilio_21610` (Twilio reported the number
    /// unsubscribed).
    pub source: String,
}

/// Twilio message sid → the follow-up it carries.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MessageIndexEntry {
    pub org_id: OrgId,
    pub followup_id: uuid::Uuid,
}

/// What the outbox learned about one follow-up message, applied inside the delivery's
/// transaction (`apply`).
#[derive(Debug, Clone)]
pub struct FollowUpOutcome {
    pub followup_id: uuid::Uuid,
    pub status: FollowUpStatus,
    pub reason: Option<String>,
    pub twilio_sid: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    /// Twilio reported the number unsubscribed (21610): record an opt-out too.
    pub opted_out: bool,
    /// The sender the text went from (for an opt-out Twilio reported, which holds for it).
    pub sender: Option<String>,
    pub at: DateTime<Utc>,
    /// A message made when its job fell due (a reminder), stored with its outcome.
    pub record: Option<Box<FollowUpRecord>>,
}

impl FollowUpOutcome {
    pub fn new(followup_id: uuid::Uuid, status: FollowUpStatus, at: DateTime<Utc>) -> Self {
        FollowUpOutcome {
            followup_id,
            status,
            reason: None,
            twilio_sid: None,
            error_code: None,
            error_message: None,
            opted_out: false,
            sender: None,
            at,
            record: None,
        }
    }
}

/// A text's outcome rides on the outbox's delivery record and is applied in its transaction.
impl crate::outbox::DeliveryEffect for FollowUpOutcome {
    fn apply(&self, w: &mut StoreWrite, org: OrgId) -> Result<(), StoreError> {
        apply(w, org, self)
    }
}

/// Records a delivery outcome: the follow-up's state, Twilio's sid (so status callbacks find
/// it), the number's last-texted time, an opt-out Twilio reported, the audit entry; a sent
/// call follow-up marks its lead `contacted`.
pub fn apply(w: &mut StoreWrite, org: OrgId, o: &FollowUpOutcome) -> Result<(), StoreError> {
    let mut ow = w.org(org);
    if let Some(new) = &o.record {
        if ow.get(&FOLLOWUPS, new.id.as_bytes())?.is_none() {
            ow.put(&FOLLOWUPS, new.id.as_bytes(), new.as_ref())?;
        }
    }
    let Some(mut f) = ow.get(&FOLLOWUPS, o.followup_id.as_bytes())? else {
        return Ok(());
    };
    f.status = o.status;
    f.reason = o.reason.clone().or(f.reason);
    f.error_code = o.error_code.clone();
    f.error_message = o.error_message.clone();
    f.updated_at = o.at;
    if o.status == FollowUpStatus::Sent {
        f.sent_at = Some(o.at);
        f.twilio_sid = o.twilio_sid.clone();
        if f.purpose == FollowUpPurpose::CallFollowUp {
            ow.put(&SMS_LAST_SENT, f.to.as_bytes(), &o.at)?;
        }
        // Every number this clinic has texted: a STOP to the shared sender finds the clinic.
        ow.put(&SMS_TEXTED, f.to.as_bytes(), &o.at)?;
        if let Some(lead_id) = f.lead_id {
            if let Some(mut lead) = ow.get(&LEADS, lead_id.as_bytes())? {
                if lead.status == LeadStatus::New {
                    lead.status = LeadStatus::Contacted;
                    lead.updated_at = o.at;
                    ow.put(&LEADS, lead_id.as_bytes(), &lead)?;
                }
            }
        }
    }
    if o.opted_out {
        opt_out(&mut ow, &f.to, "twilio_21610", o.at)?;
    }
    ow.put(&FOLLOWUPS, f.id.as_bytes(), &f)?;
    let action = match o.status {
        FollowUpStatus::Sent => "sms_sent",
        FollowUpStatus::Failed => "sms_failed",
        FollowUpStatus::Suppressed => "sms_suppressed",
        _ => "sms_status",
    };
    audit::success(
        &mut ow,
        "system:outbox",
        action,
        format!("followup:{}", f.id),
        o.at,
    )?;
    if let Some(sid) = &o.twilio_sid {
        w.global_put(
            &TWILIO_MESSAGES,
            sid.as_bytes(),
            &MessageIndexEntry {
                org_id: org,
                followup_id: f.id,
            },
        )?;
    }
    // Twilio's 21610 holds for the sender it came from, for every clinic that texts from it.
    if let (true, Some(sender)) = (o.opted_out, &o.sender) {
        sender_opt_out(w, sender, &f.to, "twilio_21610", o.at)?;
    }
    Ok(())
}

/// Records that `phone` (E.164) does not want texts, audited.
pub fn opt_out(
    o: &mut OrgWrite<'_>,
    phone: &str,
    source: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    if o.get(&SMS_OPT_OUTS, phone.as_bytes())?.is_none() {
        o.put(
            &SMS_OPT_OUTS,
            phone.as_bytes(),
            &OptOutRecord {
                phone: phone.to_string(),
                since: at,
                source: source.to_string(),
            },
        )?;
        audit::success(
            o,
            "system:sms",
            "sms_opt_out",
            format!("source:{source}"),
            at,
        )?;
    }
    Ok(())
}

/// Leads follow bookings: a booking for a number marks its open lead booked, in the booking's
/// transaction (the claim writer is told of this at start).
pub struct LeadsFollowBookings;

impl crate::booking::followers::BookingFollowers for LeadsFollowBookings {
    fn booked(
        &self,
        org: &mut OrgWrite<'_>,
        phone: &crate::domain::PhoneNumber,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        mark_lead_booked(org, phone.as_str(), now)
    }
}

/// A booking for `phone` (E.164) turns that number's open lead into `booked`, inside the
/// booking's transaction.
pub fn mark_lead_booked(
    o: &mut OrgWrite<'_>,
    phone: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let Some(lead_id) = o.get(&LEADS_BY_PHONE, phone.as_bytes())? else {
        return Ok(());
    };
    let Some(mut lead) = o.get(&LEADS, lead_id.as_bytes())? else {
        return Ok(());
    };
    if matches!(lead.status, LeadStatus::New | LeadStatus::Contacted) {
        lead.status = LeadStatus::Booked;
        lead.updated_at = at;
        o.put(&LEADS, lead_id.as_bytes(), &lead)?;
        audit::success(
            o,
            "system:booking",
            "lead_booked",
            format!("lead:{lead_id}"),
            at,
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod sender_tests {
    use super::sender_key;

    #[test]
    fn a_sender_number_is_keyed_the_same_however_it_is_written() {
        let phone = "+447911123456";
        assert_eq!(
            sender_key("+44 7700 900000", phone),
            sender_key("+447700900000", phone)
        );
        assert_ne!(
            sender_key("+447700900000", phone),
            sender_key("+447700900001", phone)
        );
        assert_eq!(
            sender_key("Clinic", phone),
            b"Clinic\0+447911123456".to_vec()
        );
    }
}
