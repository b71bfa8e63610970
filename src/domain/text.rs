//! Free-text inputs with limits: names, passwords, time zones.

use std::fmt;

use serde::{Deserialize, Serialize};

fn bounded_text(input: &str, max_chars: usize) -> Result<String, String> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err("is required".into());
    }
    if trimmed.chars().count() > max_chars {
        return Err(format!("is too long ({max_chars} characters at most)"));
    }
    if trimmed.chars().any(|c| c.is_control()) {
        return Err("must not contain control characters".into());
    }
    Ok(trimmed.to_string())
}

macro_rules! text_type {
    ($(#[$doc:meta])* $name:ident, $max:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn parse(input: &str) -> Result<Self, String> {
                bounded_text(input, $max).map(Self)
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

text_type!(
    /// A clinic's display name.
    ClinicName,
    200
);
text_type!(
    /// A person's full name.
    FullName,
    200
);
text_type!(
    /// A label for an agent key ("Vapi production").
    KeyName,
    100
);

/// A password as typed: 10 to 1024 characters. Never printed.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 10;

    pub fn parse(input: &str) -> Result<Password, String> {
        let n = input.chars().count();
        if n < Self::MIN_CHARS {
            return Err(format!("must be at least {} characters", Self::MIN_CHARS));
        }
        if input.len() > 1024 {
            return Err("is too long (1024 bytes at most)".into());
        }
        Ok(Password(input.to_string()))
    }

    /// A login attempt's password: any length up to the limit, so that a short wrong password
    /// gets the same answer as a long wrong one.
    pub fn candidate(input: &str) -> Password {
        let mut end = input.len().min(1024);
        while !input.is_char_boundary(end) {
            end -= 1;
        }
        Password(input[..end].to_string())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// An IANA time zone name such as `Europe/London`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TimeZoneName(String);

impl TimeZoneName {
    pub fn parse(input: &str) -> Result<TimeZoneName, String> {
        let tz: chrono_tz::Tz = input
            .trim()
            .parse()
            .map_err(|_| "must be an IANA time zone such as Europe/London".to_string())?;
        Ok(TimeZoneName(tz.name().to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for TimeZoneName {
    fn default() -> Self {
        TimeZoneName("Europe/London".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            ClinicName::parse("  Harley Aesthetics ").unwrap().as_str(),
            "Harley Aesthetics"
        );
        assert!(ClinicName::parse("   ").is_err());
        assert!(ClinicName::parse(&"x".repeat(201)).is_err());
        assert!(FullName::parse("Zoë O'Brien-Łukasz 山田").is_ok());
        assert!(FullName::parse("bad\u{0007}name").is_err());
    }

    #[test]
    fn passwords_need_ten_characters_and_never_print() {
        assert!(Password::parse("short").is_err());
        let p = Password::parse("correct horse battery").unwrap();
        assert_eq!(format!("{p:?}"), "Password(<redacted>)");
        assert_eq!(Password::candidate(&"é".repeat(600)).expose().len(), 1024);
    }

    #[test]
    fn time_zones_must_be_iana_names() {
        assert_eq!(
            TimeZoneName::parse("Europe/London").unwrap().as_str(),
            "Europe/London"
        );
        assert!(TimeZoneName::parse("Mars/Olympus").is_err());
    }
}
