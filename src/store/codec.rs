//! How a stored value becomes bytes and back: JSON for every record type, except where a
//! type on a hot path chooses a fixed binary layout (and still reads its older JSON form).

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
