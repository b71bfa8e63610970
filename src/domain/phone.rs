//! Phone numbers, parsed and checked by `rlibphonenumber` (a port of Google's libphonenumber)
//! and kept in E.164. A number is accepted when it is *possible* (the right shape and length
//! for its country), as the network hands it over; whether it is also in an allocated range
//! (libphonenumber's *valid* test) is asked separately, because real callers ring from ranges
//! the metadata lists as unallocated.

use std::fmt;

use rlibphonenumber::{NumberLengthType, PhoneNumberFormat, Region, PHONE_NUMBER_UTIL};
use serde::{Deserialize, Serialize};

/// In E.164 form, e.g. `+447700900123`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(transparent)]
#[schema(value_type = String, example = "+447700900123")]
pub struct PhoneNumber(String);

/// The region a two-letter code names, if the phone-number metadata knows it ("GB", "us").
pub fn region(code: &str) -> Option<Region> {
    let region: Region = code.parse().ok()?;
    PHONE_NUMBER_UTIL
        .get_country_code_for_region(region)
        .filter(|c| *c > 0)
        .map(|_| region)
}

impl PhoneNumber {
    /// Parses a number as typed or spoken ("07911 123456", "+1 415 555 2671"); numbers without
    /// a country code are read in `default_region` (ISO 3166 alpha-2, e.g. "GB").
    pub fn parse(input: &str, default_region: &str) -> Result<PhoneNumber, String> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err("is required".into());
        }
        if trimmed.len() > 40 {
            return Err("is not a valid phone number".into());
        }
        let parsed = PHONE_NUMBER_UTIL
            .parse(trimmed, region(default_region))
            .map_err(|_| "is not a valid phone number".to_string())?;
        // A complete, diallable length for the number's own country code; local-only lengths
        // (no area code) cannot be rung back.
        if !matches!(
            parsed.is_possible_with_reason(),
            Ok(NumberLengthType::IsPossible)
        ) {
            return Err("is not a valid phone number".into());
        }
        Ok(PhoneNumber(Self::e164(&parsed)))
    }

    /// Whether the number lies in a range the metadata lists as allocated (libphonenumber's
    /// *valid*-number test): the SMS work asks before texting. Read from the stored E.164 form,
    /// so it needs no column of its own and follows the metadata the binary carries.
    pub fn is_allocated(&self) -> bool {
        PHONE_NUMBER_UTIL
            .parse(&self.0, None)
            .map(|p| PHONE_NUMBER_UTIL.is_valid_number(&p))
            .unwrap_or(false)
    }

    /// Whether a text message can go to this number: it must be allocated (valid) and of a kind
    /// that takes texts (mobile, or a region where mobile and fixed lines look alike); the
    /// error says why not, in words fit for a follow-up's record.
    pub fn sms_capable(&self) -> Result<(), &'static str> {
        use rlibphonenumber::PhoneNumberType;
        let Ok(parsed) = PHONE_NUMBER_UTIL.parse(&self.0, None) else {
            return Err("the number cannot be read");
        };
        if !self.is_allocated() {
            return Err("the number is not in an allocated range");
        }
        match PHONE_NUMBER_UTIL.get_number_type(&parsed) {
            PhoneNumberType::Mobile
            | PhoneNumberType::FixedLineOrMobile
            | PhoneNumberType::Pager => Ok(()),
            _ => Err("the number is not a mobile number"),
        }
    }

    /// The E.164 form of a number the library parsed and validated.
    pub fn e164(parsed: &rlibphonenumber::PhoneNumber) -> String {
        PHONE_NUMBER_UTIL
            .format(parsed, PhoneNumberFormat::E164)
            .into_owned()
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
    fn regions_are_the_ones_the_metadata_knows() {
        assert_eq!(region("GB"), Some(Region::GB));
        assert_eq!(region("us"), Some(Region::US));
        for bad in ["", "G", "GBR", "ZZ", "12", "0G"] {
            assert_eq!(region(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn impossible_numbers_are_refused() {
        for bad in [
            "",
            "12",
            "not a number",
            "+44 1234",
            "+44 79 1234 5678 9012",
            "0791",
        ] {
            assert!(PhoneNumber::parse(bad, "GB").is_err(), "{bad:?}");
        }
    }

    /// Ofcom keeps 07700 900000–900999 for drama: the metadata lists the range as unallocated,
    /// but the shape is a UK mobile's, and a network can present it.
    #[test]
    fn possible_but_unallocated_numbers_are_kept_and_flagged() {
        let drama = PhoneNumber::parse("+44 7700 900555", "GB").unwrap();
        assert_eq!(drama.as_str(), "+447700900555");
        assert!(!drama.is_allocated());
        let real = PhoneNumber::parse("07911 123456", "GB").unwrap();
        assert!(real.is_allocated());
    }
}
