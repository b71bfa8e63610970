//! Clock times as requests write them (`HH:MM`), and the patterns the API document states for
//! them.

use chrono::NaiveTime;

/// A local time of day as `time`, quiet hours and the like accept it: hours 0–23, minutes
/// 0–59, one or two digits each, spaces around allowed.
pub const CLOCK_TIME_PATTERN: &str = r"^\s*([01]?[0-9]|2[0-3]):[0-5]?[0-9]\s*$";

/// An end or start of opening hours: a clock time, or `24:00` for midnight at the day's end.
pub const OPENING_TIME_PATTERN: &str = r"^(([01]?[0-9]|2[0-3]):[0-5]?[0-9]|24:00)$";

/// A clock time in a request, for the API document (`value_type = ClockTime`).
pub struct ClockTime;

impl utoipa::PartialSchema for ClockTime {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        pattern_schema(CLOCK_TIME_PATTERN, "A local time of day, HH:MM").into()
    }
}
impl utoipa::ToSchema for ClockTime {}

/// An end or start of opening hours in a request, for the API document.
pub struct OpeningTime;

impl utoipa::PartialSchema for OpeningTime {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        pattern_schema(OPENING_TIME_PATTERN, "A local time of day, HH:MM, or 24:00").into()
    }
}
impl utoipa::ToSchema for OpeningTime {}

/// A string schema with a pattern and a description (the domain's pattern-described inputs).
pub(crate) fn pattern_schema(pattern: &str, description: &str) -> utoipa::openapi::ObjectBuilder {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .pattern(Some(pattern))
        .description(Some(description))
}

/// Reads a clock time as `CLOCK_TIME_PATTERN` states it.
pub fn parse_clock_time(s: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(s.trim(), "%H:%M").ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pattern and the parser agree on the edges of hours, minutes, digits and spaces.
    #[test]
    fn the_clock_time_pattern_and_parsing_agree() {
        let pattern = regex::Regex::new(CLOCK_TIME_PATTERN).unwrap();
        for t in [
            "00:00", "9:05", "09:5", "23:59", " 14:30 ", "24:00", "23:60", "7", "7:", ":30",
            "123:00", "12:345", "12-30", "", "1:1", "ab:cd", "12:30:00",
        ] {
            assert_eq!(pattern.is_match(t), parse_clock_time(t).is_some(), "{t:?}");
        }
    }
}
