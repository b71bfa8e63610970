//! Email addresses, parsed by the `email_address` crate and kept in lower case.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Email(String);

/// The schema states what `parse` accepts, as far as a schema can: an email address of at
/// most 254 characters.
impl utoipa::PartialSchema for Email {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::Email,
            )))
            .min_length(Some(3))
            .max_length(Some(254))
            .into()
    }
}

impl utoipa::ToSchema for Email {}

impl Email {
    pub fn parse(input: &str) -> Result<Email, String> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err("is required".into());
        }
        if trimmed.len() > 254 {
            return Err("is too long (254 characters at most)".into());
        }
        let parsed = email_address::EmailAddress::parse_with_options(
            trimmed,
            email_address::Options::default().without_display_text(),
        )
        .map_err(|_| "is not a valid email address".to_string())?;
        if !parsed.domain().contains('.') && parsed.domain() != "localhost" {
            return Err("is not a valid email address".into());
        }
        Ok(Email(parsed.as_str().to_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_and_whitespace() {
        assert_eq!(
            Email::parse("  Dr.Smith@Clinic.Example ").unwrap().as_str(),
            "dr.smith@clinic.example"
        );
    }

    #[test]
    fn refuses_malformed_addresses() {
        for bad in [
            "",
            "no-at-sign",
            "a@",
            "@b.com",
            "a b@c.com",
            "Name <a@b.com>",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
