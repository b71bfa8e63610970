//! rlibphonenumber's metadata patterns for a calling code, compiled for the ASCII digits they
//! are read against before the library compiles them its own way.
//!
//! `rlibphonenumber` compiles each region's patterns (its numbers' national patterns, its
//! prefixes) the first time a number of that region is parsed or checked, with the `regex`
//! crate's Unicode `\d` (every script's digits). It reads them only against digits it has
//! normalised to ASCII, so `[0-9]` reads them the same, and compiled that way a pattern takes
//! about a fifth of the time. Parsing and checking numbers of many countries for the first
//! time (a transcript's detection, the first calls after a start) was mostly those compiles.
//! So before the library is asked about a number, the patterns of every region of its calling
//! code are compiled here, once, and put where the library keeps them (the `OnceLock`s in its
//! metadata wrappers' public fields); it then finds them compiled, and its answers are the
//! same (the tests below hold both).

use std::sync::OnceLock;

use rlibphonenumber::interfaces::AsOriginal;
use rlibphonenumber::{Region, PHONE_NUMBER_UTIL};

/// Patterns shorter than this are empty in the library's metadata (it compiles them as "").
const SHORTEST_PATTERN: usize = 6;

/// Whether `parsed` lies in a range its country's metadata lists as allocated
/// (`is_valid_number`).
pub fn is_valid_number(parsed: &rlibphonenumber::PhoneNumber) -> bool {
    prepare_calling_code(parsed.country_code);
    PHONE_NUMBER_UTIL.is_valid_number(parsed)
}

/// The type of number (mobile, fixed line…) `parsed` is.
pub fn number_type(parsed: &rlibphonenumber::PhoneNumber) -> rlibphonenumber::PhoneNumberType {
    prepare_calling_code(parsed.country_code);
    PHONE_NUMBER_UTIL.get_number_type(parsed)
}

/// Prepares what parsing `text` in `region` reads: the region's calling code, and the calling
/// code a leading `+` gives.
pub fn prepare_to_parse(text: &str, region: Option<Region>) {
    if let Some(code) = region.and_then(|r| PHONE_NUMBER_UTIL.get_country_code_for_region(r)) {
        prepare_calling_code(code);
    }
    if let Some(rest) = text.trim_start().strip_prefix('+') {
        // Calling codes are prefix-free: the first prefix of up to three digits the metadata
        // knows is the code (spaces, hyphens, brackets and dots between them skipped).
        let mut code = 0;
        for digit in rest
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.'))
            .map_while(|c| c.to_digit(10).filter(|_| c.is_ascii_digit()))
            .take(3)
        {
            code = code * 10 + digit as i32;
            if PHONE_NUMBER_UTIL
                .get_regions_for_country_calling_code(code)
                .is_some()
            {
                prepare_calling_code(code);
                break;
            }
        }
    }
}

/// Compiles, once per calling code, the patterns the library reads for every region of
/// `code`: its leading digits, its international and national prefixes, and each kind of
/// number's national pattern.
pub fn prepare_calling_code(code: i32) {
    static DONE: [OnceLock<()>; 1000] = [const { OnceLock::new() }; 1000];
    let Some(done) = usize::try_from(code).ok().and_then(|c| DONE.get(c)) else {
        return;
    };
    done.get_or_init(|| {
        let Some(regions) = PHONE_NUMBER_UTIL.get_regions_for_country_calling_code(code) else {
            return;
        };
        let library = PHONE_NUMBER_UTIL.as_original();
        for region in regions {
            let Some(metadata) = library.get_metadata_for_region(region) else {
                continue;
            };
            // Matched at the start: as the library anchors them, without the final `$`.
            for prefix in [
                metadata.leading_digits(),
                metadata.international_prefix(),
                metadata.national_prefix_for_parsing(),
            ] {
                if let Some(base) = &prefix.pattern_base {
                    if let Ok(regex) = compiled(&base[..base.len().saturating_sub(1)], base.len()) {
                        let _ = prefix.anchor_start.set(Ok(regex));
                    }
                }
            }
            for kind in [
                &metadata.general_desc,
                &metadata.fixed_line,
                &metadata.mobile,
                &metadata.toll_free,
                &metadata.premium_rate,
                &metadata.shared_cost,
                &metadata.personal_number,
                &metadata.voip,
                &metadata.pager,
                &metadata.uan,
                &metadata.voicemail,
            ] {
                let pattern = kind.national_number_pattern();
                if let Some(base) = &pattern.pattern_base {
                    if let Ok(regex) = compiled(base, base.len()) {
                        let _ = pattern.anchor_full.set(Ok(regex));
                    }
                }
            }
        }
    });
}

/// `pattern` compiled with ASCII digits, or the empty pattern where the library would use one
/// (its stored pattern, of length `stored`, is too short to hold any). One that failed to
/// compile is left for the library (which would fail on it too).
fn compiled(pattern: &str, stored: usize) -> Result<Option<regex::Regex>, regex::Error> {
    let pattern = if stored >= SHORTEST_PATTERN {
        pattern.replace(r"\d", "[0-9]")
    } else {
        String::new()
    };
    regex::Regex::new(&pattern).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rlibphonenumber::{PhoneNumberType, Region};

    /// Digit strings to read each pattern against: every region's example numbers of the
    /// common kinds, each also with its last digit changed, cut short and made longer.
    fn probes() -> Vec<String> {
        let mut out = Vec::new();
        for region in PHONE_NUMBER_UTIL.get_supported_regions() {
            // Compiled here first: getting an example parses it.
            if let Some(code) = PHONE_NUMBER_UTIL.get_country_code_for_region(region) {
                prepare_calling_code(code);
            }
            for kind in [
                PhoneNumberType::FixedLine,
                PhoneNumberType::Mobile,
                PhoneNumberType::TollFree,
            ] {
                let Ok(example) =
                    PHONE_NUMBER_UTIL.get_example_number_for_type_and_region(region, kind)
                else {
                    continue;
                };
                let digits = example.national_number.to_string();
                let last = digits.as_bytes()[digits.len() - 1];
                let changed = format!(
                    "{}{}",
                    &digits[..digits.len() - 1],
                    char::from(b'0' + (last - b'0' + 5) % 10)
                );
                out.extend([
                    digits.clone(),
                    changed,
                    digits[..digits.len() - 1].to_string(),
                    format!("{digits}7"),
                ]);
            }
        }
        out
    }

    #[test]
    fn ascii_patterns_accept_what_the_librarys_own_accept() {
        let probes = probes();
        let library = PHONE_NUMBER_UTIL.as_original();
        let mut compared = 0;
        for region in [
            Region::US,
            Region::CA,
            Region::GB,
            Region::DE,
            Region::FR,
            Region::PL,
            Region::FI,
            Region::NG,
            Region::JP,
            Region::BR,
            Region::IN,
            Region::AU,
        ] {
            let metadata = library
                .get_metadata_for_region(region)
                .expect("known region");
            for kind in [
                &metadata.general_desc,
                &metadata.fixed_line,
                &metadata.mobile,
            ] {
                let Some(base) = &kind.national_number_pattern().pattern_base else {
                    continue;
                };
                let unicode = regex::Regex::new(base).expect("library pattern compiles");
                let ascii = compiled(base, base.len())
                    .expect("compiles")
                    .expect("not empty");
                for probe in &probes {
                    assert_eq!(
                        unicode.is_match(probe),
                        ascii.is_match(probe),
                        "{region:?} {base} on {probe}"
                    );
                    compared += 1;
                }
            }
        }
        assert!(compared > 10_000, "{compared}");
    }

    #[test]
    fn a_parse_leaves_the_patterns_of_its_calling_code_compiled_with_ascii_digits() {
        // A number kind no parse reads (only the validity and type checks do), of a code no
        // other test prepares.
        prepare_to_parse("+354 411 1234", None);
        let iceland = PHONE_NUMBER_UTIL
            .as_original()
            .get_metadata_for_region(Region::IS)
            .expect("known region");
        let fixed_line = &iceland.fixed_line.national_number_pattern().anchor_full;
        let compiled = fixed_line.get().expect("compiled by prepare_to_parse");
        let regex = compiled
            .as_ref()
            .expect("compiles")
            .as_ref()
            .expect("not empty");
        assert!(regex.as_str().contains("[0-9]"), "{}", regex.as_str());
        assert!(!regex.as_str().contains(r"\d"), "{}", regex.as_str());
    }

    #[test]
    fn numbers_with_a_national_or_an_international_prefix_parse_as_before() {
        // Read through the prefixes' patterns filled here: a trunk 0 or 8 stripped, an
        // international 00 or 810 read as such, digits of other scripts made ASCII first.
        for (text, region, e164) in [
            ("020 7946 0958", Region::GB, "+442079460958"),
            ("0044 20 7946 0958", Region::DE, "+442079460958"),
            ("8 912 345 67 89", Region::RU, "+79123456789"),
            ("810 44 20 7946 0958", Region::RU, "+442079460958"),
            ("030 901820", Region::DE, "+4930901820"),
            ("06 12 34 56 78", Region::FR, "+33612345678"),
            ("011 44 20 7946 0958", Region::US, "+442079460958"),
            ("＋４４ ２０ ７９４６ ０９５８", Region::GB, "+442079460958"),
        ] {
            prepare_to_parse(text, Some(region));
            let parsed = PHONE_NUMBER_UTIL.parse(text, Some(region)).expect(text);
            assert_eq!(crate::domain::PhoneNumber::e164(&parsed), e164, "{text}");
        }
    }

    #[test]
    fn every_regions_example_numbers_are_valid_and_lengthened_ones_only_in_open_plans() {
        let mut valid = 0;
        let mut lengthened_valid = Vec::new();
        for region in PHONE_NUMBER_UTIL.get_supported_regions() {
            // Compiled here first: getting the example parses it.
            if let Some(code) = PHONE_NUMBER_UTIL.get_country_code_for_region(region) {
                prepare_calling_code(code);
            }
            let Ok(example) = PHONE_NUMBER_UTIL
                .get_example_number_for_type_and_region(region, PhoneNumberType::FixedLine)
            else {
                continue;
            };
            assert!(is_valid_number(&example), "{region:?}");
            assert_ne!(
                number_type(&example),
                PhoneNumberType::Unknown,
                "{region:?}"
            );
            valid += 1;
            // Far too long for any plan.
            let mut long = example.clone();
            long.national_number = long.national_number * 1000 + 123;
            if is_valid_number(&long) {
                lengthened_valid.push(region);
            }
        }
        assert!(valid > 200, "{valid}");
        // Only where the plan's numbers have open lengths (Austria's and Germany's extensions…).
        let open_plans = [Region::AT, Region::DE, Region::LU, Region::RS, Region::TK];
        assert!(
            lengthened_valid.iter().all(|r| open_plans.contains(r)),
            "{lengthened_valid:?}"
        );
    }
}
