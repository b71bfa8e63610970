//! Record identifiers: UUIDs with a type per kind of record, stored as `u128`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(transparent)]
        #[schema(value_type = String, format = Uuid)]
        pub struct $name(Uuid);

        impl $name {
            /// The id that sorts before every other (all zero bits).
            pub const LOWEST: Self = Self(Uuid::nil());

            pub fn new_random() -> Self {
                Self(Uuid::new_v4())
            }
            /// A UUIDv7: ids made later sort later, so new records land at the end of
            /// their table (few pages touched by a batch of inserts); 74 bits stay random.
            pub fn new_time_ordered() -> Self {
                Self(Uuid::now_v7())
            }
            pub fn from_u128(v: u128) -> Self {
                Self(Uuid::from_u128(v))
            }
            pub fn as_u128(&self) -> u128 {
                self.0.as_u128()
            }
            pub fn as_bytes(&self) -> [u8; 16] {
                self.0.as_u128().to_be_bytes()
            }
            pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
                let arr: [u8; 16] = bytes.try_into().ok()?;
                Some(Self::from_u128(u128::from_be_bytes(arr)))
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s.trim())
                    .map(Self)
                    .map_err(|_| "must be a UUID".to_string())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }
    };
}

id_type!(
    /// A clinic (tenant). Every tenant-owned key starts with it.
    OrgId
);
id_type!(
    /// A staff member's account.
    UserId
);
id_type!(
    /// An agent key (the voice agent's credential).
    AgentKeyId
);
id_type!(
    /// A bookable service (a treatment or consultation type).
    ServiceId
);
id_type!(
    /// A practitioner whose time is booked.
    ProviderId
);
id_type!(
    /// One appointment.
    AppointmentId
);
