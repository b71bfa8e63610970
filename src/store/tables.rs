//! Every redb table of the appliance, in one place, with versioned names.
//!
//! Tenant tables are keyed `(org_id, local_key)` and only reachable through an org-scoped
//! handle; global tables are the few named in DESIGN.md. Values are JSON documents, except the
//! records every booking writes, which have compact layouts (`store::codec`); changing a
//! value's shape incompatibly means a new table name or layout tag, and a migration step.

use std::marker::PhantomData;

use redb::TableDefinition;

/// The raw redb shape of every tenant table.
pub(crate) type TenantDef = TableDefinition<'static, (u128, &'static [u8]), &'static [u8]>;
/// The raw redb shape of every global table.
pub(crate) type GlobalDef = TableDefinition<'static, &'static [u8], &'static [u8]>;

/// A tenant-owned table holding values of type `V`.
pub struct TenantTable<V> {
    name: &'static str,
    _value: PhantomData<fn() -> V>,
}

impl<V> TenantTable<V> {
    const fn new(name: &'static str) -> Self {
        Self {
            name,
            _value: PhantomData,
        }
    }
    pub(crate) fn def(&self) -> TenantDef {
        TableDefinition::new(self.name)
    }
    pub const fn name(&self) -> &'static str {
        self.name
    }
}

/// An install-wide table holding values of type `V`.
pub struct GlobalTable<V> {
    name: &'static str,
    _value: PhantomData<fn() -> V>,
}

impl<V> GlobalTable<V> {
    const fn new(name: &'static str) -> Self {
        Self {
            name,
            _value: PhantomData,
        }
    }
    pub(crate) fn def(&self) -> GlobalDef {
        TableDefinition::new(self.name)
    }
    pub const fn name(&self) -> &'static str {
        self.name
    }
}

use crate::audit::{AuditEntry, AuditHead};
use crate::booking::records::{
    AppointmentRecord, ClinicSettings, ConfirmationIndexEntry, ProviderRecord, ServiceRecord,
};
use crate::calls::{CallRecord, ClinicalNoteRecord, ContactRecord, SecureIdentifierRecord};
use crate::crypto::{KeyHead, WrappedKey};
use crate::domain::{AppointmentId, OrgId, ProviderId};
use crate::followup::records::{
    FollowUpRecord, LeadRecord, MessageIndexEntry, OptOutRecord, ProcedureRecord,
};
use crate::identity::records::{
    AgentKeyIndexEntry, AgentKeyRecord, EmailIndexEntry, OrgRecord, UserRecord,
};
use crate::outbox::OutboxJob;
use crate::search::{KbChunk, KbDocument, KbState, Unanswered};

// Every value type below is stored as JSON. The records a booking writes have compact layouts
// of their own: the slot-index entry and the appointment (`booking::records`), the audit entry
// (`audit`) and the outbox job (`outbox`).
super::codec::stored_as_json!(
    serde_json::Value,
    OrgRecord,
    EmailIndexEntry,
    AgentKeyIndexEntry,
    UserRecord,
    AgentKeyRecord,
    AuditHead,
    ConfirmationIndexEntry,
    (OrgId, ProviderId),
    ClinicSettings,
    ServiceRecord,
    ProviderRecord,
    AppointmentId,
    CallRecord,
    ContactRecord,
    uuid::Uuid,
    ClinicalNoteRecord,
    SecureIdentifierRecord,
    crate::calendar::GoogleConnection,
    WrappedKey,
    KeyHead,
    KbDocument,
    KbChunk,
    Vec<f32>,
    KbState,
    Unanswered,
    ProcedureRecord,
    LeadRecord,
    FollowUpRecord,
    OptOutRecord,
    MessageIndexEntry,
    chrono::DateTime<chrono::Utc>,
);

// ---- global tables -------------------------------------------------------------------------

/// Install metadata (`schema_version`).
pub const META: GlobalTable<serde_json::Value> = GlobalTable::new("meta_v1");
/// Every org, keyed by its id's 16 big-endian bytes.
pub const ORGS: GlobalTable<OrgRecord> = GlobalTable::new("orgs_v1");
/// Login email (lower case) → the org and user it belongs to.
pub const LOGIN_EMAILS: GlobalTable<EmailIndexEntry> = GlobalTable::new("login_emails_v1");
/// SHA-256 of an agent key → the org and key record it belongs to.
pub const AGENT_KEY_INDEX: GlobalTable<AgentKeyIndexEntry> = GlobalTable::new("agent_key_index_v1");

// ---- tenant tables -------------------------------------------------------------------------

/// Users of an org, keyed by user id.
pub const USERS: TenantTable<UserRecord> = TenantTable::new("users_v1");
/// Agent keys of an org (hash only), keyed by key id.
pub const AGENT_KEYS: TenantTable<AgentKeyRecord> = TenantTable::new("agent_keys_v1");
/// The audit chain, keyed by sequence number (8 big-endian bytes; every sequence number is
/// below 2^56, so every entry's key starts with a zero byte).
pub const AUDIT_LOG: TenantTable<AuditEntry> = TenantTable::new("audit_log_v1");
/// The audit chain's head (single key `head`), which lets verification notice a cut-off
/// tail. It lives in the chain's own table, where `head` sorts right after the newest entry:
/// an append rewrites one leaf of one B-tree instead of two (schema 6).
pub const AUDIT_HEAD: TenantTable<AuditHead> = TenantTable::new("audit_log_v1");
/// Where the head was kept before schema 6; only the migration to 6 reads it.
pub(crate) const AUDIT_HEAD_BEFORE_6: TenantTable<AuditHead> = TenantTable::new("audit_head_v1");

/// Outbox jobs for external services, keyed `service ‖ next attempt ‖ job id`.
pub const OUTBOX: GlobalTable<OutboxJob> = GlobalTable::new("outbox_v1");
/// Confirmation-link token → its org and appointment.
pub const CONFIRMATION_TOKENS: GlobalTable<ConfirmationIndexEntry> =
    GlobalTable::new("confirmation_tokens_v1");
/// ICS feed token → its org and provider.
pub const FEED_TOKENS: GlobalTable<(OrgId, ProviderId)> = GlobalTable::new("feed_tokens_v1");

/// A clinic's booking settings (single key `settings`).
pub const CLINIC_SETTINGS: TenantTable<ClinicSettings> = TenantTable::new("clinic_settings_v1");
/// Services, keyed by service id.
pub const SERVICES: TenantTable<ServiceRecord> = TenantTable::new("services_v1");
/// Providers with their hours, breaks and time off, keyed by provider id.
pub const PROVIDERS: TenantTable<ProviderRecord> = TenantTable::new("providers_v1");
/// Appointments, keyed by appointment id.
pub const APPOINTMENTS: TenantTable<AppointmentRecord> = TenantTable::new("appointments_v1");
/// Active appointments by provider and start (`provider(16) ‖ start(8) ‖ appointment(16)`)
/// until schema 9, which dropped it: the slot index is now kept in memory
/// (`booking::slot_index`), so a claim's commit rewrites no random leaf of it.
pub(crate) const APPOINTMENT_SLOTS_BEFORE_9: TenantTable<serde_json::Value> =
    TenantTable::new("appointment_slots_v1");
/// Appointments by patient phone (`E.164 ‖ 0x00 ‖ appointment(16)`) until schema 7, which
/// dropped it: the index is now kept in memory (`booking::phone_index`).
pub(crate) const APPOINTMENTS_BY_PHONE_BEFORE_7: TenantTable<AppointmentId> =
    TenantTable::new("appointments_by_phone_v1");
/// Vapi tool-call id → the appointment that call created or changed (retry safety).
pub const TOOL_CALL_EFFECTS: TenantTable<AppointmentId> = TenantTable::new("tool_call_effects_v1");

/// Calls as filed (redacted), keyed by Vapi call id.
pub const CALLS: TenantTable<CallRecord> = TenantTable::new("calls_v1");
/// The clinic's contacts, keyed by contact id.
pub const CONTACTS: TenantTable<ContactRecord> = TenantTable::new("contacts_v1");
/// Contact by E.164 phone.
pub const CONTACTS_BY_PHONE: TenantTable<uuid::Uuid> = TenantTable::new("contacts_by_phone_v1");
/// Contact by email.
pub const CONTACTS_BY_EMAIL: TenantTable<uuid::Uuid> = TenantTable::new("contacts_by_email_v1");
/// Encrypted clinical notes, keyed by note id.
pub const CLINICAL_NOTES: TenantTable<ClinicalNoteRecord> = TenantTable::new("clinical_notes_v1");
/// Encrypted identifiers (NHS number, NINO, SSN, card, IBAN, date of birth), keyed by id.
pub const SECURE_IDENTIFIERS: TenantTable<SecureIdentifierRecord> =
    TenantTable::new("secure_identifiers_v1");
/// The org's wrapped data keys, keyed by version (4 big-endian bytes).
pub const ORG_KEYS: TenantTable<WrappedKey> = TenantTable::new("org_keys_v1");
/// The org's current key version (single key `current`).
pub const ORG_KEY_HEAD: TenantTable<KeyHead> = TenantTable::new("org_key_head_v1");

/// Knowledge-base documents, keyed by document id.
pub const KB_DOCUMENTS: TenantTable<KbDocument> = TenantTable::new("kb_documents_v1");
/// Their passages, keyed `document id ‖ passage number (4 bytes)`.
pub const KB_CHUNKS: TenantTable<KbChunk> = TenantTable::new("kb_chunks_v1");
/// Passage vectors (unit length, 384 floats), keyed like their passages.
pub const KB_VECTORS: TenantTable<Vec<f32>> = TenantTable::new("kb_vectors_v1");
/// The org's knowledge-base generation (single key `state`).
pub const KB_STATE: TenantTable<KbState> = TenantTable::new("kb_state_v1");
/// Questions the agent could not answer, keyed by UUIDv7 (oldest first).
pub const KB_UNANSWERED: TenantTable<Unanswered> = TenantTable::new("kb_unanswered_v1");

/// Names of all tables, created by the first migration so read transactions can open them.
pub(crate) fn identity_and_audit_global() -> [GlobalDef; 4] {
    [
        META.def(),
        ORGS.def(),
        LOGIN_EMAILS.def(),
        AGENT_KEY_INDEX.def(),
    ]
}

/// The tenant tables schema step 1 created (the head's own table was removed by step 6).
pub(crate) fn identity_and_audit_tenant_at_1() -> [TenantDef; 4] {
    [
        USERS.def(),
        AGENT_KEYS.def(),
        AUDIT_LOG.def(),
        AUDIT_HEAD_BEFORE_6.def(),
    ]
}

pub(crate) fn identity_and_audit_tenant() -> [TenantDef; 3] {
    [USERS.def(), AGENT_KEYS.def(), AUDIT_LOG.def()]
}

pub(crate) fn booking_global() -> [GlobalDef; 2] {
    [CONFIRMATION_TOKENS.def(), FEED_TOKENS.def()]
}

pub(crate) fn outbox_global() -> [GlobalDef; 1] {
    [OUTBOX.def()]
}

/// Filed calls, newest first: (u64::MAX − filing time in µs, big-endian) + call id → when
/// filed. Lists read the latest calls without reading every transcript.
pub const CALLS_BY_RECENCY: TenantTable<chrono::DateTime<chrono::Utc>> =
    TenantTable::new("calls_by_recency_v1");

/// The `CALLS_BY_RECENCY` key of a call filed at `at`.
pub fn call_recency_key(at: chrono::DateTime<chrono::Utc>, call_id: &str) -> Vec<u8> {
    let micros = u64::try_from(at.timestamp_micros()).unwrap_or(0);
    let mut key = (u64::MAX - micros).to_be_bytes().to_vec();
    key.extend_from_slice(call_id.as_bytes());
    key
}

pub(crate) fn calls_index_tenant() -> [TenantDef; 1] {
    [CALLS_BY_RECENCY.def()]
}

pub(crate) fn calls_tenant() -> [TenantDef; 8] {
    [
        CALLS.def(),
        CONTACTS.def(),
        CONTACTS_BY_PHONE.def(),
        CONTACTS_BY_EMAIL.def(),
        CLINICAL_NOTES.def(),
        SECURE_IDENTIFIERS.def(),
        ORG_KEYS.def(),
        ORG_KEY_HEAD.def(),
    ]
}

pub(crate) fn kb_tenant() -> [TenantDef; 5] {
    [
        KB_DOCUMENTS.def(),
        KB_CHUNKS.def(),
        KB_VECTORS.def(),
        KB_STATE.def(),
        KB_UNANSWERED.def(),
    ]
}

/// The booking tables schema step 2 created (the phone index was dropped by step 7, the slot
/// index by step 9).
pub(crate) fn booking_tenant_at_2() -> [TenantDef; 7] {
    [
        CLINIC_SETTINGS.def(),
        SERVICES.def(),
        PROVIDERS.def(),
        APPOINTMENTS.def(),
        APPOINTMENT_SLOTS_BEFORE_9.def(),
        APPOINTMENTS_BY_PHONE_BEFORE_7.def(),
        TOOL_CALL_EFFECTS.def(),
    ]
}

pub(crate) fn booking_tenant() -> [TenantDef; 5] {
    [
        CLINIC_SETTINGS.def(),
        SERVICES.def(),
        PROVIDERS.def(),
        APPOINTMENTS.def(),
        TOOL_CALL_EFFECTS.def(),
    ]
}

// ---- after the call: leads, follow-up messages, consent ------------------------------------
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
/// Twilio message sid → the org and follow-up it carries (status callbacks name only the sid).
pub const TWILIO_MESSAGES: GlobalTable<MessageIndexEntry> = GlobalTable::new("twilio_messages_v1");

pub(crate) fn followup_tenant() -> [TenantDef; 9] {
    [
        PROCEDURES.def(),
        FOLLOWUP_STATE.def(),
        LEADS.def(),
        LEADS_BY_CALL.def(),
        LEADS_BY_PHONE.def(),
        FOLLOWUPS.def(),
        SMS_OPT_OUTS.def(),
        SMS_LAST_SENT.def(),
        SMS_TEXTED.def(),
    ]
}

/// A clinic's own Google Calendar connection (key `google`): its refresh token, sealed.
pub const GOOGLE_CONNECTIONS: TenantTable<crate::calendar::GoogleConnection> =
    TenantTable::new("google_connections_v1");

pub(crate) fn calendar_tenant() -> [TenantDef; 1] {
    [GOOGLE_CONNECTIONS.def()]
}

pub(crate) fn followup_global() -> [GlobalDef; 1] {
    [TWILIO_MESSAGES.def()]
}

/// Every tenant table of the current schema (deleting an org, backups).
pub(crate) fn all_tenant() -> Vec<TenantDef> {
    let mut tenant = Vec::new();
    tenant.extend(identity_and_audit_tenant());
    tenant.extend(booking_tenant());
    tenant.extend(calls_tenant());
    tenant.extend(calls_index_tenant());
    tenant.extend(kb_tenant());
    tenant.extend(followup_tenant());
    tenant.extend(calendar_tenant());
    tenant
}

/// Every global table of the current schema.
pub(crate) fn all_global() -> Vec<GlobalDef> {
    let mut global = Vec::new();
    global.extend(identity_and_audit_global());
    global.extend(booking_global());
    global.extend(outbox_global());
    global.extend(followup_global());
    global
}
