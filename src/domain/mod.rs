//! Domain types that validate on construction; nothing here knows about HTTP, redb or search.

mod clock;
mod email;
mod ids;
pub mod phone;
pub mod phone_patterns;
mod quiet_hours;
mod role;
mod text;

pub use clock::{
    parse_clock_time, ClockTime, OpeningTime, CLOCK_TIME_PATTERN, OPENING_TIME_PATTERN,
};
pub use email::Email;
pub use ids::{AgentKeyId, AppointmentId, OrgId, ProviderId, ServiceId, UserId};
pub use phone::{PhoneInput, PhoneNumber, SmsSender};
pub use quiet_hours::QuietHours;
pub use role::Role;
pub use text::{has_text, ClinicName, FullName, KeyName, Password, TimeZoneName, NONBLANK_PATTERN};

/// A secret to hand out (feed links, session ids, CSRF and OAuth states): `bytes` from the
/// operating system's generator, URL-safe base64 without padding.
pub fn random_secret(bytes: usize) -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

/// One field that failed validation, with a message safe to show (it never repeats the input).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Collects field errors while a request is converted into domain types.
#[derive(Debug, Default)]
pub struct Validation {
    errors: Vec<FieldError>,
}

impl Validation {
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs one constructor; keeps its value, or records its error against `field`.
    pub fn check<T>(&mut self, field: &str, result: Result<T, String>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(message) => {
                self.errors.push(FieldError::new(field, message));
                None
            }
        }
    }

    /// Like `check` for an optional input: `None` stays `None` and is not an error.
    pub fn check_opt<T>(&mut self, field: &str, input: Option<Result<T, String>>) -> Option<T> {
        input.and_then(|r| self.check(field, r))
    }

    pub fn finish(self) -> Result<(), Vec<FieldError>> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(self.errors)
        }
    }
}
