//! The one conversion from a request's appointment fields to domain values, shared by the staff
//! REST routes and the voice agent's tools, so the same input gets the same decision at both
//! doors; and the window every accepted date and instant must lie in before any arithmetic.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::domain::{Email, FieldError, FullName, PhoneNumber, Validation};

/// Longest free text kept in an appointment's notes.
pub const NOTES_MAX_CHARS: usize = 2000;
/// Longest free text kept as a cancellation reason.
pub const REASON_MAX_CHARS: usize = 500;
/// Shortest and longest appointment, in minutes.
pub const DURATION_MINUTES: std::ops::RangeInclusive<i64> = 5..=720;
/// How far ahead any date may lie: past the longest booking horizon (730 days) with room for
/// an availability search that starts at its end.
pub const DAYS_AHEAD: i64 = 800;
/// How far back any date may lie: ten years of history for listings.
pub const DAYS_BACK: i64 = 3660;

/// The message for a field that is missing; the voice agent asks for it rather than saying it
/// misheard.
pub const REQUIRED: &str = "is required";
const OUT_OF_WINDOW: &str = "must be within about two years from today (or ten years back)";

/// A day accepted from a caller: no further than the window from `today`.
pub fn date_in_window(date: NaiveDate, today: NaiveDate) -> Result<NaiveDate, String> {
    let days = date.signed_duration_since(today).num_days();
    if (-DAYS_BACK..=DAYS_AHEAD).contains(&days) {
        Ok(date)
    } else {
        Err(OUT_OF_WINDOW.into())
    }
}

/// An instant accepted from a caller: no further than the window from `now`. Everything the
/// rule engine, the slot index and the speech code compute from it then stays far inside
/// chrono's range.
pub fn instant_in_window(t: DateTime<Utc>, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let (earliest, latest) = window(now);
    if t >= earliest && t <= latest {
        Ok(t)
    } else {
        Err(OUT_OF_WINDOW.into())
    }
}

/// The nearest instant to `t` inside the window (for list filters: nothing lies outside it).
pub fn clamp_to_window(t: DateTime<Utc>, now: DateTime<Utc>) -> DateTime<Utc> {
    let (earliest, latest) = window(now);
    t.clamp(earliest, latest)
}

fn window(now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    // Saturating, so the window itself cannot overflow whatever clock it is given.
    let earliest = now
        .checked_sub_signed(Duration::days(DAYS_BACK))
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    let latest = now
        .checked_add_signed(Duration::days(DAYS_AHEAD))
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    (earliest, latest)
}

/// An appointment length in minutes.
pub fn duration_minutes(minutes: i64) -> Result<u32, String> {
    if DURATION_MINUTES.contains(&minutes) {
        Ok(minutes as u32)
    } else {
        Err(format!(
            "must be between {} and {} minutes",
            DURATION_MINUTES.start(),
            DURATION_MINUTES.end()
        ))
    }
}

/// Free text no longer than `max` characters; blank text is none.
pub fn optional_text(text: Option<&str>, max: usize) -> Result<Option<String>, String> {
    // Counted as given (spaces around included), as the document's maxLength counts.
    match text {
        Some(t) if t.chars().count() > max => {
            Err(format!("is too long ({max} characters at most)"))
        }
        Some(t) if !t.trim().is_empty() => Ok(Some(t.trim().to_string())),
        _ => Ok(None),
    }
}

/// An appointment length as a door received it.
#[derive(Debug, Clone, Copy)]
pub enum DurationInput<'a> {
    /// A number of minutes (REST, or a JSON number from the voice agent).
    Minutes(i64),
    /// Words or digits as the voice agent passed them.
    Text(&'a str),
}

/// The patient and appointment fields of a booking request, as received.
#[derive(Debug, Clone, Copy, Default)]
pub struct AppointmentFields<'a> {
    pub name: Option<&'a str>,
    pub phone: Option<&'a str>,
    /// The number the telephone network presented for the call (voice agent): used when the
    /// request gives none, never a reason to refuse.
    pub caller_number: Option<&'a str>,
    pub email: Option<&'a str>,
    pub notes: Option<&'a str>,
    pub duration: Option<DurationInput<'a>>,
    /// As written (`1985-03-03`) or as said ("the third of March 1985", "03/03/85").
    pub date_of_birth: Option<&'a str>,
    /// The clinic's date, which a date of birth may not be after.
    pub today: chrono::NaiveDate,
}

/// The same fields as domain values.
#[derive(Debug, Clone)]
pub struct CheckedFields {
    pub name: FullName,
    pub phone: PhoneNumber,
    pub email: Option<Email>,
    pub notes: Option<String>,
    pub duration_minutes: Option<u32>,
    pub date_of_birth: Option<chrono::NaiveDate>,
}

impl CheckedFields {
    /// The patient these fields describe, as a booking records them (REST, Vapi and FHIR
    /// bookings alike).
    pub fn patient(&self) -> super::records::Patient {
        super::records::Patient {
            name: self.name.as_str().to_string(),
            phone: self.phone.clone(),
            email: self.email.as_ref().map(|e| e.as_str().to_string()),
            date_of_birth: self.date_of_birth,
        }
    }
}

/// Converts the fields, naming every one that fails (`patient.name`, `patient.phone`,
/// `patient.email`, `notes`, `duration_minutes`). Numbers without a country code are read in
/// `phone_region`.
pub fn check_fields(
    f: &AppointmentFields<'_>,
    phone_region: &str,
) -> Result<CheckedFields, Vec<FieldError>> {
    let mut v = Validation::new();
    // An empty name is "is required" (REQUIRED) from the type itself.
    let name = v.check("patient.name", FullName::parse(f.name.unwrap_or("")));
    let given_phone = f.phone.map(str::trim).filter(|p| !p.is_empty());
    let phone = v.check(
        "patient.phone",
        match given_phone {
            Some(p) => PhoneNumber::parse(p, phone_region),
            None => f
                .caller_number
                .and_then(|n| PhoneNumber::parse(n, phone_region).ok())
                .ok_or_else(|| REQUIRED.to_string()),
        },
    );
    let email = v.check_opt(
        "patient.email",
        f.email
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(Email::parse),
    );
    let notes = v
        .check("notes", optional_text(f.notes, NOTES_MAX_CHARS))
        .flatten();
    let duration_minutes = v.check_opt(
        "duration_minutes",
        f.duration.map(|d| match d {
            DurationInput::Minutes(m) => duration_minutes(m),
            DurationInput::Text(t) => t
                .trim()
                .trim_end_matches("minutes")
                .trim_end_matches("mins")
                .trim()
                .parse::<i64>()
                .map_err(|_| "must be a whole number of minutes".to_string())
                .and_then(duration_minutes),
        }),
    );
    let date_of_birth = v.check_opt(
        "patient.date_of_birth",
        f.date_of_birth
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(|d| crate::speech::resolve_birth_date(d, f.today)),
    );
    v.finish()?;
    match (name, phone) {
        (Some(name), Some(phone)) => Ok(CheckedFields {
            name,
            phone,
            email,
            notes,
            duration_minutes,
            date_of_birth,
        }),
        _ => Err(vec![FieldError::new("patient", REQUIRED)]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields<'a>() -> AppointmentFields<'a> {
        AppointmentFields {
            name: Some("Jane Doe"),
            phone: Some("07911 123456"),
            ..Default::default()
        }
    }

    #[test]
    fn a_date_of_birth_is_read_as_said_and_never_after_today() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 6).unwrap();
        let f = check_fields(
            &AppointmentFields {
                date_of_birth: Some("the third of March 1985"),
                today,
                ..fields()
            },
            "GB",
        )
        .unwrap();
        assert_eq!(f.date_of_birth, chrono::NaiveDate::from_ymd_opt(1985, 3, 3));
        assert_eq!(
            failing(AppointmentFields {
                date_of_birth: Some("2027-01-01"),
                today,
                ..fields()
            }),
            ["patient.date_of_birth"]
        );
    }

    fn failing(f: AppointmentFields<'_>) -> Vec<String> {
        check_fields(&f, "GB")
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn every_bad_field_is_named() {
        let long = "x".repeat(NOTES_MAX_CHARS + 1);
        assert_eq!(
            failing(AppointmentFields {
                name: Some(" "),
                phone: Some("12"),
                email: Some("not an address"),
                notes: Some(&long),
                duration: Some(DurationInput::Text("forever")),
                ..Default::default()
            }),
            [
                "patient.name",
                "patient.phone",
                "patient.email",
                "notes",
                "duration_minutes"
            ]
        );
        for d in [0, 4, 721, i64::MIN, i64::MAX] {
            assert_eq!(
                failing(AppointmentFields {
                    duration: Some(DurationInput::Minutes(d)),
                    ..fields()
                }),
                ["duration_minutes"]
            );
        }
    }

    #[test]
    fn the_network_number_fills_in_but_never_refuses() {
        let f = AppointmentFields {
            phone: None,
            caller_number: Some("+447700900555"),
            ..fields()
        };
        assert_eq!(
            check_fields(&f, "GB").unwrap().phone.as_str(),
            "+447700900555"
        );
        let withheld = AppointmentFields {
            phone: None,
            caller_number: Some("anonymous"),
            ..fields()
        };
        let e = check_fields(&withheld, "GB").unwrap_err();
        assert_eq!(
            (e[0].field.as_str(), e[0].message.as_str()),
            ("patient.phone", REQUIRED)
        );
        let f = check_fields(
            &AppointmentFields {
                duration: Some(DurationInput::Text("45 minutes")),
                notes: Some("  "),
                ..fields()
            },
            "GB",
        )
        .unwrap();
        assert_eq!((f.duration_minutes, f.notes), (Some(45), None));
    }

    #[test]
    fn the_window_bounds_dates_and_instants_on_both_sides() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        assert!(date_in_window(today + Duration::days(DAYS_AHEAD), today).is_ok());
        assert!(date_in_window(today + Duration::days(DAYS_AHEAD + 1), today).is_err());
        assert!(date_in_window(today - Duration::days(DAYS_BACK), today).is_ok());
        assert!(date_in_window(NaiveDate::MAX, today).is_err());
        assert!(date_in_window(NaiveDate::MIN, today).is_err());
        let now = today.and_hms_opt(12, 0, 0).unwrap().and_utc();
        assert!(instant_in_window(DateTime::<Utc>::MAX_UTC, now).is_err());
        assert!(instant_in_window(DateTime::<Utc>::MIN_UTC, now).is_err());
        assert!(instant_in_window(now + Duration::days(30), now).is_ok());
    }
}
