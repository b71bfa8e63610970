//! The booking domain's tables: clinic settings, services, providers, appointments, the
//! tool-call effects that make retries safe, and the global token indexes of confirmation
//! links and calendar feeds.

use crate::domain::{AppointmentId, OrgId, ProviderId};
use crate::store::tables::{GlobalTable, TenantTable};

use super::records::{
    AppointmentRecord, ClinicSettings, ConfirmationIndexEntry, ProviderRecord, ServiceRecord,
};

// The appointment has a compact layout of its own (`booking::records`); the rest is JSON.
crate::store::codec::stored_as_json!(
    ConfirmationIndexEntry,
    (OrgId, ProviderId),
    ClinicSettings,
    ServiceRecord,
    ProviderRecord,
    AppointmentId,
);

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
