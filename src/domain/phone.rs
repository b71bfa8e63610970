//! Phone numbers, parsed and validated by the `phonenumber` crate and kept in E.164.

use std::fmt;

use phonenumber::country;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Parses a number as typed or spoken ("07700 900123", "+1 415 555 2671"); numbers without
    /// a country code are read in `default_region` (ISO 3166 alpha-2, e.g. "GB").
    pub fn parse(input: &str, default_region: &str) -> Result<PhoneNumber, String> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err("is required".into());
        }
        if trimmed.len() > 40 {
            return Err("is not a valid phone number".into());
        }
        let region: Option<country::Id> = default_region.parse().ok();
        let parsed = phonenumber::parse(region, trimmed)
            .map_err(|_| "is not a valid phone number".to_string())?;
        if !phonenumber::is_valid(&parsed) {
            return Err("is not a valid phone number".into());
        }
        Ok(PhoneNumber(
            parsed.format().mode(phonenumber::Mode::E164).to_string(),
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The last digits, for speaking back without reading out the whole number.
    pub fn last_digits(&self, n: usize) -> &str {
        &self.0[self.0.len().saturating_sub(n)..]
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uk_and_us_numbers_normalise_to_e164() {
        assert_eq!(
            PhoneNumber::parse("020 7946 0958", "GB").unwrap().as_str(),
            "+442079460958"
        );
        assert_eq!(
            PhoneNumber::parse("07911 123456", "GB").unwrap().as_str(),
            "+447911123456"
        );
        assert_eq!(
            PhoneNumber::parse("+1 (415) 555-2671", "GB")
                .unwrap()
                .as_str(),
            "+14155552671"
        );
        assert_eq!(
            PhoneNumber::parse("415-555-2671", "US").unwrap().as_str(),
            "+14155552671"
        );
    }

    #[test]
    fn invalid_numbers_are_refused() {
        for bad in ["", "12", "not a number", "+44 1234", "+1 000 000 0000"] {
            assert!(PhoneNumber::parse(bad, "GB").is_err(), "{bad:?}");
        }
    }
}
