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
        let default_region = region(default_region);
        super::phone_patterns::prepare_to_parse(trimmed, default_region);
        let parsed = PHONE_NUMBER_UTIL
            .parse(trimmed, default_region)
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
        super::phone_patterns::prepare_to_parse(&self.0, None);
        PHONE_NUMBER_UTIL
            .parse(&self.0, None)
            .map(|p| super::phone_patterns::is_valid_number(&p))
            .unwrap_or(false)
    }

    /// Whether a text message can go to this number: it must be allocated (valid) and of a kind
    /// that takes texts (mobile, or a region where mobile and fixed lines look alike); the
    /// error says why not, in words fit for a follow-up's record.
    pub fn sms_capable(&self) -> Result<(), &'static str> {
        use rlibphonenumber::PhoneNumberType;
        super::phone_patterns::prepare_to_parse(&self.0, None);
        let Ok(parsed) = PHONE_NUMBER_UTIL.parse(&self.0, None) else {
            return Err("the number cannot be read");
        };
        if !super::phone_patterns::is_valid_number(&parsed) {
            return Err("the number is not in an allocated range");
        }
        match super::phone_patterns::number_type(&parsed) {
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

/// A phone number as a request gives it, as the API document states it: `+`, a country calling
/// code the metadata knows, and a national number of a length it calls possible for that code,
/// starting 2–9 (so no digit of it can be read as a national prefix). Every string the pattern
/// admits is accepted by [`PhoneNumber::parse`] in any region; the API also reads national
/// forms in the clinic's region, which depend on its settings and so are described in words.
pub struct PhoneInput;

impl PhoneInput {
    /// The pattern, built once from the same metadata `parse` reads.
    pub fn pattern() -> &'static str {
        static PATTERN: std::sync::LazyLock<String> = std::sync::LazyLock::new(build_pattern);
        &PATTERN
    }
}

impl utoipa::PartialSchema for PhoneInput {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        super::clock::pattern_schema(
            Self::pattern(),
            "A phone number: international form (+ and digits) as the pattern states; \
             national forms in the clinic's region (`phone_region`) are read too",
        )
        .examples([serde_json::json!("+447700900123")])
        .into()
    }
}

impl utoipa::ToSchema for PhoneInput {}

/// A clinic's own SMS sender as its settings take it, for the API document: a phone number
/// (as `PhoneInput`) or an alphanumeric sender id (1–11 letters, digits and spaces, starting
/// with a letter).
pub struct SmsSender;

/// An alphanumeric sender id, as `SmsSender` states it.
pub const ALPHANUMERIC_SENDER_PATTERN: &str = "^[A-Za-z](?:[A-Za-z0-9 ]{0,9}[A-Za-z0-9])?$";

impl utoipa::PartialSchema for SmsSender {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some(format!(
                "{}|{}",
                PhoneInput::pattern(),
                ALPHANUMERIC_SENDER_PATTERN
            )))
            .description(Some(
                "A phone number (international form; national forms in the clinic's region are \
                 read too) or an alphanumeric sender id of 1–11 letters, digits and spaces",
            ))
            .into()
    }
}

impl utoipa::ToSchema for SmsSender {}

/// A region for numbers without a country code, as settings take it, for the API document:
/// a two-letter code the metadata knows, in either letter case.
pub struct PhoneRegion;

impl PhoneRegion {
    pub fn pattern() -> &'static str {
        static PATTERN: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            let mut codes: Vec<String> = PHONE_NUMBER_UTIL
                .get_supported_regions()
                .map(|r| r.to_string())
                .filter(|c| region(c).is_some())
                .collect();
            codes.sort_unstable();
            let either_case = |c: &str| -> String {
                c.chars()
                    .map(|l| format!("[{}{}]", l.to_ascii_uppercase(), l.to_ascii_lowercase()))
                    .collect()
            };
            let alternatives: Vec<String> = codes.iter().map(|c| either_case(c)).collect();
            format!("^(?:{})$", alternatives.join("|"))
        });
        &PATTERN
    }
}

impl utoipa::PartialSchema for PhoneRegion {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        super::clock::pattern_schema(
            Self::pattern(),
            "Region for phone numbers given without a country code (ISO 3166 alpha-2)",
        )
        .examples([serde_json::json!("GB")])
        .into()
    }
}

impl utoipa::ToSchema for PhoneRegion {}

/// For each calling code, the national-number lengths at which every probe (each first digit
/// 2–9, the rest all 0, 5 or 9) parses as a possible number, as regex alternatives.
fn build_pattern() -> String {
    let mut codes: Vec<i32> = PHONE_NUMBER_UTIL.get_supported_calling_codes().collect();
    codes.sort_unstable();
    let possible = |code: i32, len: usize| {
        (b'2'..=b'9').all(|first| {
            [b'0', b'5', b'9'].iter().all(|&fill| {
                let mut n = format!("+{code}{}", first as char);
                n.extend(std::iter::repeat_n(fill as char, len - 1));
                PhoneNumber::parse(&n, "ZZ").is_ok()
            })
        })
    };
    let mut alternatives = Vec::new();
    for code in codes {
        let lengths: Vec<usize> = (2..=17).filter(|&len| possible(code, len)).collect();
        // Runs of consecutive lengths become one `{a,b}` each.
        let mut runs: Vec<(usize, usize)> = Vec::new();
        for len in lengths {
            match runs.last_mut() {
                Some((_, hi)) if *hi + 1 == len => *hi = len,
                _ => runs.push((len, len)),
            }
        }
        let repeats: Vec<String> = runs
            .iter()
            .map(|&(lo, hi)| {
                if lo == hi {
                    format!("[2-9][0-9]{{{}}}", lo - 1)
                } else {
                    format!("[2-9][0-9]{{{},{}}}", lo - 1, hi - 1)
                }
            })
            .collect();
        match repeats.len() {
            0 => {}
            1 => alternatives.push(format!("{code}{}", repeats[0])),
            _ => alternatives.push(format!("{code}(?:{})", repeats.join("|"))),
        }
    }
    format!("^\\+(?:{})$", alternatives.join("|"))
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Whatever the document's phone pattern admits, `parse` accepts, in any region.
        #[test]
        fn every_number_the_document_admits_is_accepted(
            n in proptest::string::string_regex(
                PhoneInput::pattern().trim_start_matches('^').trim_end_matches('$'),
            ).unwrap(),
            region in proptest::sample::select(vec!["GB", "US", "DE", "FR", "ZZ"]),
        ) {
            proptest::prop_assert!(PhoneNumber::parse(&n, region).is_ok(), "{n} in {region}");
        }
    }

    /// Every pair of letters, in each letter case: the document's region pattern admits it
    /// exactly when `region` knows it.
    #[test]
    fn the_region_pattern_and_the_metadata_agree() {
        let pattern = regex::Regex::new(PhoneRegion::pattern()).unwrap();
        for a in b'A'..=b'Z' {
            for b in b'A'..=b'Z' {
                let upper = format!("{}{}", a as char, b as char);
                for code in [
                    upper.clone(),
                    upper.to_ascii_lowercase(),
                    format!("{}{}", a as char, (b as char).to_ascii_lowercase()),
                ] {
                    assert_eq!(pattern.is_match(&code), region(&code).is_some(), "{code}");
                }
            }
        }
        for code in ["", "G", "GBR", " GB", "12"] {
            assert!(!pattern.is_match(code), "{code:?}");
        }
    }

    #[test]
    fn the_document_admits_common_international_numbers() {
        let pattern = regex::Regex::new(PhoneInput::pattern()).unwrap();
        for n in [
            "+447700900123",
            "+14155552671",
            "+4930123456",
            "+33612345678",
        ] {
            assert!(pattern.is_match(n), "{n}");
        }
        for n in [
            "",
            "+",
            "07700900123",
            "+44",
            "+0123456789",
            "+447700 900123",
        ] {
            assert!(!pattern.is_match(n), "{n}");
        }
    }

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
