//! Free-text inputs with limits: names, passwords, time zones.

use std::fmt;

use serde::{Deserialize, Serialize};

fn bounded_text(input: &str, max_chars: usize) -> Result<String, String> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err("is required".into());
    }
    // Counted as given (spaces around included), as the schema's maxLength counts.
    if input.chars().count() > max_chars {
        return Err(format!("is too long ({max_chars} characters at most)"));
    }
    if input.chars().any(|c| c.is_control()) {
        return Err("must not contain control characters".into());
    }
    Ok(trimmed.to_string())
}

/// What `bounded_text` accepts, as a JSON Schema pattern: no control character (C0, DEL, C1)
/// and at least one character that is not white space.
pub const TEXT_PATTERN: &str =
    r"^[^\x00-\x1f\x7f-\x9f]*(?:[^\s\x00-\x1f\x7f-\x9f]|\uFEFF)[^\x00-\x1f\x7f-\x9f]*$";

/// Whether a free text says anything: at least one character that is neither white space nor
/// a control character (so what every JSON Schema engine's `\s` calls blank is blank here too).
pub fn has_text(s: &str) -> bool {
    s.chars().any(|c| !c.is_whitespace() && !c.is_control())
}

/// What `has_text` accepts, as a JSON Schema pattern. (ECMA-262's `\s` also counts U+FEFF as
/// space, which Rust does not, so it is named.) Field attributes, which take only literals,
/// repeat it.
pub const NONBLANK_PATTERN: &str = r"[^\s\x00-\x1f\x7f-\x9f]|\uFEFF";

/// The schema of a bounded text of at most `max` characters.
fn text_schema(
    max: usize,
    description: &str,
) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .min_length(Some(1))
        .max_length(Some(max))
        .pattern(Some(TEXT_PATTERN))
        .description(Some(description))
        .into()
}

macro_rules! text_type {
    ($(#[$doc:meta])* $name:ident, $max:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Most characters it has.
            pub const MAX_CHARS: usize = $max;

            pub fn parse(input: &str) -> Result<Self, String> {
                bounded_text(input, $max).map(Self)
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        /// The schema states what `parse` accepts.
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                text_schema(
                    $max,
                    "Text: at least one character that is not a space, no control characters",
                )
            }
        }

        impl utoipa::ToSchema for $name {}

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

    /// Most characters a password has.
    pub const MAX_CHARS: usize = 1024;

    pub fn parse(input: &str) -> Result<Password, String> {
        let n = input.chars().count();
        if n < Self::MIN_CHARS {
            return Err(format!("must be at least {} characters", Self::MIN_CHARS));
        }
        if n > Self::MAX_CHARS {
            return Err(format!(
                "is too long ({} characters at most)",
                Self::MAX_CHARS
            ));
        }
        Ok(Password(input.to_string()))
    }

    /// A login attempt's password: any length up to the limit, so that a short wrong password
    /// gets the same answer as a long wrong one.
    pub fn candidate(input: &str) -> Password {
        Password(input.chars().take(Self::MAX_CHARS).collect())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// The schema states what `parse` accepts.
impl utoipa::PartialSchema for Password {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .min_length(Some(Self::MIN_CHARS))
            .max_length(Some(Self::MAX_CHARS))
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::Password,
            )))
            .into()
    }
}

impl utoipa::ToSchema for Password {}

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
            .parse()
            .map_err(|_| "must be an IANA time zone such as Europe/London".to_string())?;
        Ok(TimeZoneName(tz.name().to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The schema lists every zone `parse` accepts.
impl utoipa::PartialSchema for TimeZoneName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name())))
            .description(Some("An IANA time zone, e.g. Europe/London"))
            .into()
    }
}

impl utoipa::ToSchema for TimeZoneName {}

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
        assert_eq!(
            Password::candidate(&"é".repeat(2000))
                .expose()
                .chars()
                .count(),
            1024
        );
    }

    /// Whether `value` is valid by `schema`'s string rules (length in characters, pattern,
    /// enum): the rules schemathesis and generated clients check.
    fn schema_accepts(
        schema: &utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        value: &str,
    ) -> bool {
        let s = serde_json::to_value(schema).unwrap();
        let n = value.chars().count() as u64;
        s["minLength"].as_u64().is_none_or(|min| n >= min)
            && s["maxLength"].as_u64().is_none_or(|max| n <= max)
            && s["pattern"]
                .as_str()
                .is_none_or(|p| regex::Regex::new(p).unwrap().is_match(value))
            && s["enum"]
                .as_array()
                .is_none_or(|e| e.iter().any(|v| v == value))
    }

    /// A text matches the non-blank pattern exactly when `has_text` says it says something.
    #[test]
    fn the_nonblank_pattern_agrees_with_has_text() {
        let pattern = regex::Regex::new(NONBLANK_PATTERN).unwrap();
        for v in [
            "",
            " ",
            "\t\n",
            "\u{85}",
            "\u{1c}\u{1f}",
            "\u{a0}",
            "\u{2028}\u{3000}",
            "\u{feff}",
            "a",
            " a ",
            "\u{85}x",
            "\u{200b}",
            "\u{7}",
        ] {
            assert_eq!(pattern.is_match(v), has_text(v), "{v:?}");
        }
    }

    /// Each constrained text type's schema and its `parse` agree on the values at its edges.
    #[test]
    fn schemas_and_parsing_agree_at_the_edges() {
        use utoipa::PartialSchema;
        fn edges(max: usize) -> Vec<String> {
            vec![
                String::new(),
                " ".into(),
                "\u{a0}\t".into(),
                "a".into(),
                " a ".into(),
                "x".repeat(max),
                "x".repeat(max + 1),
                format!(" {}", "x".repeat(max - 1)),
                format!(" {}", "x".repeat(max)),
                "bad\u{7}name".into(),
                "bad\u{85}name".into(),
                "Zoë O'Brien-Łukasz 山田".into(),
                "\u{feff}".into(),
                " \u{85} ".into(),
                "\u{2028}".into(),
            ]
        }
        type Check = (
            usize,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
            fn(&str) -> bool,
        );
        let texts: [Check; 3] = [
            (FullName::MAX_CHARS, FullName::schema(), |v| {
                FullName::parse(v).is_ok()
            }),
            (ClinicName::MAX_CHARS, ClinicName::schema(), |v| {
                ClinicName::parse(v).is_ok()
            }),
            (KeyName::MAX_CHARS, KeyName::schema(), |v| {
                KeyName::parse(v).is_ok()
            }),
        ];
        for (max, schema, parses) in texts {
            for v in edges(max) {
                assert_eq!(schema_accepts(&schema, &v), parses(&v), "{v:?}");
            }
        }
        let schema = Password::schema();
        for v in [
            "x".repeat(Password::MIN_CHARS - 1),
            "x".repeat(Password::MIN_CHARS),
            "é".repeat(Password::MAX_CHARS),
            "é".repeat(Password::MAX_CHARS + 1),
            " ".repeat(Password::MIN_CHARS),
        ] {
            assert_eq!(
                schema_accepts(&schema, &v),
                Password::parse(&v).is_ok(),
                "{v:?}"
            );
        }
        let schema = TimeZoneName::schema();
        for v in [
            "Europe/London",
            "America/New_York",
            "UTC",
            " Europe/London",
            "europe/london",
            "Mars/Olympus",
            "",
        ] {
            assert_eq!(
                schema_accepts(&schema, v),
                TimeZoneName::parse(v).is_ok(),
                "{v:?}"
            );
        }
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
