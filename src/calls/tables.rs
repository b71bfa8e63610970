//! The calls domain's tables: filed calls and their recency index, contacts and their
//! phone and email indexes, sealed clinical notes and identifiers.

use crate::store::tables::TenantTable;

use super::{CallRecord, ClinicalNoteRecord, ContactRecord, SecureIdentifierRecord};

crate::store::codec::stored_as_json!(
    CallRecord,
    ContactRecord,
    ClinicalNoteRecord,
    SecureIdentifierRecord,
);

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

/// Schema 12: every filed call gets its entry in the recency index.
pub(crate) fn index_calls_by_recency(
    w: &mut crate::store::StoreWrite,
) -> Result<(), crate::store::StoreError> {
    use crate::store::codec::Stored;
    use crate::store::StoreError;
    let calls = w.every_row(CALLS.def())?;
    let mut index = Vec::with_capacity(calls.len());
    for (org, _, bytes) in &calls {
        let call = CallRecord::from_bytes(bytes).map_err(|e| StoreError::Codec {
            table: CALLS.name(),
            line: e.line,
            column: e.column,
        })?;
        let at = chrono::DateTime::parse_from_rfc3339(&call.recorded_at)
            .map(|t| t.with_timezone(&chrono::Utc))
            .unwrap_or_default();
        let value = at.to_bytes().map_err(|e| StoreError::Codec {
            table: CALLS_BY_RECENCY.name(),
            line: e.line,
            column: e.column,
        })?;
        index.push((*org, call_recency_key(at, &call.call_id), value));
    }
    w.put_rows(CALLS_BY_RECENCY.def(), &index)
}
