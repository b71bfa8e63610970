//! How a stored value becomes bytes and back: JSON for most record types; the records every
//! booking writes use a compact layout instead (and still read their older JSON form).

use serde::de::DeserializeOwned;
use serde::Serialize;

/// Where decoding failed: a JSON line and column, or for a binary layout line 0 and the byte
/// length found. Never the bytes themselves (they may hold personal data).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodecError {
    pub line: usize,
    pub column: usize,
}

impl From<serde_json::Error> for CodecError {
    fn from(e: serde_json::Error) -> Self {
        CodecError {
            line: e.line(),
            column: e.column(),
        }
    }
}

/// A value a table holds.
pub trait Stored: Sized {
    fn to_bytes(&self) -> Result<Vec<u8>, CodecError>;
    fn from_bytes(bytes: &[u8]) -> Result<Self, CodecError>;
}

/// The JSON encoding, shared by the types that use it.
pub fn json_bytes<V: Serialize>(value: &V) -> Result<Vec<u8>, CodecError> {
    Ok(serde_json::to_vec(value)?)
}

pub fn from_json<V: DeserializeOwned>(bytes: &[u8]) -> Result<V, CodecError> {
    Ok(serde_json::from_slice(bytes)?)
}

/// The compact layout: one byte naming the layout, then the fields in order in postcard's
/// wire format (varint integers, length-prefixed strings, no field names). The field order is
/// the layout, so changing a layout's fields means a new tag (and reading the old one).
/// A JSON document starts with `{`, which no tag uses, so every reader can tell the two apart.
pub fn compact_bytes<V: Serialize>(tag: u8, value: &V) -> Result<Vec<u8>, CodecError> {
    postcard::to_extend(value, vec![tag]).map_err(|_| CodecError { line: 0, column: 0 })
}

/// Reads a value stored by `compact_bytes` under `tag`; `None` when the bytes carry another
/// tag (an older JSON record: the caller reads it as JSON).
pub fn from_compact<V: DeserializeOwned>(tag: u8, bytes: &[u8]) -> Option<Result<V, CodecError>> {
    let (first, rest) = bytes.split_first()?;
    if *first != tag {
        return None;
    }
    Some(postcard::from_bytes(rest).map_err(|_| CodecError {
        line: 0,
        column: bytes.len(),
    }))
}

/// Layout tags in use (one per layout, never reused).
pub mod tags {
    /// Slot-index entries, stored until schema 9 (the index now lives in memory).
    pub const SLOT_ENTRY_BEFORE_9: u8 = 0x01;
    pub const APPOINTMENT: u8 = 0x02;
    pub const AUDIT_ENTRY: u8 = 0x03;
    pub const OUTBOX_JOB: u8 = 0x04;
    /// Appointment reminder jobs (every booking queues one).
    pub const REMINDER_JOB: u8 = 0x05;
    /// Appointments with the patient's date of birth (`APPOINTMENT` before it).
    pub const APPOINTMENT_WITH_BIRTH_DATE: u8 = 0x06;
}

/// An instant as stored in compact layouts: Unix seconds and nanoseconds (exact for any
/// instant chrono holds).
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct StoredInstant(i64, u32);

impl From<chrono::DateTime<chrono::Utc>> for StoredInstant {
    fn from(t: chrono::DateTime<chrono::Utc>) -> Self {
        StoredInstant(t.timestamp(), t.timestamp_subsec_nanos())
    }
}

impl TryFrom<StoredInstant> for chrono::DateTime<chrono::Utc> {
    type Error = CodecError;
    fn try_from(i: StoredInstant) -> Result<Self, CodecError> {
        chrono::DateTime::from_timestamp(i.0, i.1).ok_or(CodecError { line: 0, column: 0 })
    }
}

/// Declares that each listed type is stored as JSON.
macro_rules! stored_as_json {
    ($($t:ty),* $(,)?) => {$(
        impl $crate::store::codec::Stored for $t {
            fn to_bytes(&self) -> Result<Vec<u8>, $crate::store::codec::CodecError> {
                $crate::store::codec::json_bytes(self)
            }
            fn from_bytes(bytes: &[u8]) -> Result<Self, $crate::store::codec::CodecError> {
                $crate::store::codec::from_json(bytes)
            }
        }
    )*};
}
pub(crate) use stored_as_json;
