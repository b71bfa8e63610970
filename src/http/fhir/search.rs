//! FHIR search parameters as a client sends them: repeated names, comma-separated values,
//! `ge`/`gt`/`le`/`lt`/`eq` date prefixes, references written `Type/id` or `id`, tokens written
//! `system|code` or `code`, and `_count`/`_offset` paging.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;

use super::FhirError;
use crate::booking::intake::clamp_to_window;
use crate::booking::local_instant;

/// A date drawn into the window around `now` (see `date_range`), in the clinic's zone.
fn clamp_date(d: NaiveDate, now: DateTime<Utc>, tz: Tz) -> NaiveDate {
    let (earliest, latest) = (
        clamp_to_window(DateTime::<Utc>::MIN_UTC, now)
            .with_timezone(&tz)
            .date_naive(),
        clamp_to_window(DateTime::<Utc>::MAX_UTC, now)
            .with_timezone(&tz)
            .date_naive(),
    );
    d.clamp(earliest, latest)
}

/// Matches per page when the client does not say.
pub const DEFAULT_COUNT: usize = 100;
/// Most matches on one page.
pub const MAX_COUNT: usize = 500;

/// One search's parameters, in the order sent.
#[derive(Debug, Default)]
pub struct SearchQuery {
    params: Vec<(String, String)>,
    pub count: usize,
    pub offset: usize,
}

impl SearchQuery {
    /// Reads a query string; `_count` (1–500) and `_offset` must be whole numbers.
    pub fn parse(raw: Option<&str>) -> Result<SearchQuery, FhirError> {
        let params: Vec<(String, String)> = form_urlencoded::parse(raw.unwrap_or("").as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if let Some((name, _)) = params.iter().find(|(_, v)| v.trim().is_empty()) {
            return Err(FhirError::bad_search(name, "must not be empty"));
        }
        let number =
            |name: &str, default: usize, range: std::ops::RangeInclusive<usize>| match params
                .iter()
                .rev()
                .find(|(k, _)| k == name)
            {
                None => Ok(default),
                Some((_, v)) => v
                    .trim()
                    .parse::<usize>()
                    .ok()
                    .filter(|n| range.contains(n))
                    .ok_or_else(|| FhirError::bad_search(name, "must be a whole number in range")),
            };
        let count = number("_count", DEFAULT_COUNT, 1..=MAX_COUNT)?;
        let offset = number("_offset", 0, 0..=1_000_000)?;
        Ok(SearchQuery {
            params,
            count,
            offset,
        })
    }

    /// Every value given for `name`, commas splitting alternatives (an empty alternative is
    /// kept, for the parameter's own check to refuse).
    pub fn values(&self, name: &str) -> Vec<&str> {
        self.params
            .iter()
            .filter(|(k, _)| k == name)
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .collect()
    }

    /// The one value given for `name`; several are a bad search.
    pub fn single(&self, name: &str) -> Result<Option<&str>, FhirError> {
        let values = self.values(name);
        match values.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(one)),
            _ => Err(FhirError::bad_search(name, "takes one value")),
        }
    }

    /// Each `name=` as given, unsplit (dates, which carry one prefix each).
    pub fn raw(&self, name: &str) -> Vec<&str> {
        self.params
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .collect()
    }

    /// The link to this search's page at `offset`.
    pub fn link(&self, base: &str, path: &str, offset: usize) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in self.params.iter().filter(|(k, _)| k != "_offset") {
            q.append_pair(k, v);
        }
        if offset > 0 {
            q.append_pair("_offset", &offset.to_string());
        }
        let q = q.finish();
        if q.is_empty() {
            format!("{base}{path}")
        } else {
            format!("{base}{path}?{q}")
        }
    }
}

/// The id a reference parameter names (`Type/id` or `id`), when it is of `kind`.
pub fn reference_id<'a>(value: &'a str, kind: &str) -> Option<&'a str> {
    match value.rsplit_once('/') {
        // `Type/id`, or an absolute reference to this server ending in it.
        Some((rest, id)) => {
            let t = rest.rsplit('/').next().unwrap_or(rest);
            (t == kind && !id.is_empty()).then_some(id)
        }
        None => Some(value),
    }
}

/// The code of a token parameter (`system|code` or `code`), if its system is `system` or
/// not given.
pub fn token_code<'a>(value: &'a str, system: &str) -> Option<&'a str> {
    match value.split_once('|') {
        Some((s, code)) if s.is_empty() || s == system => Some(code),
        Some(_) => None,
        None => Some(value),
    }
}

/// A half-open range of instants a date search asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// Reads every `name=` date parameter into one range. A value is a date (`2026-12-07`, the
/// clinic's day) or an instant with its offset, after an optional prefix: `ge`/`gt` bound the
/// start, `le`/`lt` the end, `eq` (or none) a whole day or one instant. Bounds are drawn into
/// the window of instants the appliance accepts around `now` (nothing lies outside it), so
/// what is computed from them stays inside chrono's range.
pub fn date_range(
    query: &SearchQuery,
    name: &str,
    tz: Tz,
    now: DateTime<Utc>,
) -> Result<Range, FhirError> {
    let mut range = Range {
        from: None,
        to: None,
    };
    let bad = || {
        FhirError::bad_search(
            name,
            "must be a date or an instant with its offset, after ge, gt, le, lt or eq",
        )
    };
    for value in query.raw(name) {
        let (prefix, text) = match value.get(..2) {
            Some(p @ ("ge" | "gt" | "le" | "lt" | "eq")) => (p, &value[2..]),
            _ => ("eq", value),
        };
        // A day covers [its first instant, the next day's first instant) in the clinic's zone.
        let (first, after) = if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            let midnight = chrono::NaiveTime::MIN;
            let next = d.succ_opt().ok_or_else(bad)?;
            let (d, next) = (clamp_date(d, now, tz), clamp_date(next, now, tz));
            (
                local_instant(tz, d, midnight).map_err(|_| bad())?,
                local_instant(tz, next, midnight).map_err(|_| bad())?,
            )
        } else {
            let t = DateTime::parse_from_rfc3339(text)
                .map_err(|_| bad())?
                .with_timezone(&Utc);
            let t = clamp_to_window(t, now);
            (t, clamp_to_window(t + Duration::seconds(1), now))
        };
        let (first, after) = (clamp_to_window(first, now), clamp_to_window(after, now));
        let tighten_from = |r: &mut Range, t: DateTime<Utc>| {
            r.from = Some(r.from.map_or(t, |f| f.max(t)));
        };
        let tighten_to = |r: &mut Range, t: DateTime<Utc>| {
            r.to = Some(r.to.map_or(t, |f| f.min(t)));
        };
        match prefix {
            "ge" => tighten_from(&mut range, first),
            "gt" => tighten_from(&mut range, after),
            "lt" => tighten_to(&mut range, first),
            "le" => tighten_to(&mut range, after),
            _ => {
                tighten_from(&mut range, first);
                tighten_to(&mut range, after);
            }
        }
    }
    Ok(range)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(raw: &str) -> SearchQuery {
        SearchQuery::parse(Some(raw)).unwrap()
    }

    #[test]
    fn a_day_is_the_clinics_day_and_prefixes_bound_each_side() {
        let tz: Tz = "Europe/London".parse().unwrap();
        let now = DateTime::parse_from_rfc3339("2026-06-15T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let r = date_range(
            &query("start=ge2026-07-01&start=lt2026-07-03"),
            "start",
            tz,
            now,
        )
        .unwrap();
        assert_eq!(r.from.unwrap().to_rfc3339(), "2026-06-30T23:00:00+00:00");
        assert_eq!(r.to.unwrap().to_rfc3339(), "2026-07-02T23:00:00+00:00");
        let day = date_range(&query("date=2026-01-05"), "date", tz, now).unwrap();
        assert_eq!(day.from.unwrap().to_rfc3339(), "2026-01-05T00:00:00+00:00");
        assert_eq!(day.to.unwrap().to_rfc3339(), "2026-01-06T00:00:00+00:00");
        let instant = date_range(
            &query("date=gt2026-01-05T10:00:00%2B01:00"),
            "date",
            tz,
            now,
        )
        .unwrap();
        assert_eq!(
            instant.from.unwrap().to_rfc3339(),
            "2026-01-05T09:00:01+00:00"
        );
        assert!(date_range(&query("start=soon"), "start", tz, now).is_err());
        assert!(date_range(&query("start=ge2026-13-01"), "start", tz, now).is_err());
        // Years chrono can read but nothing can be computed at are drawn into the window.
        let far = date_range(&query("start=ge%2B262142-12-20"), "start", tz, now).unwrap();
        assert!(far.from.unwrap() < now + Duration::days(5000));
        let far = date_range(&query("start=lt-262000-01-01"), "start", tz, now).unwrap();
        assert!(far.to.unwrap() > now - Duration::days(5000));
    }

    #[test]
    fn paging_and_links_keep_the_search_and_move_the_offset() {
        let q = query("schedule=Schedule/abc&_count=2&_offset=4");
        assert_eq!((q.count, q.offset), (2, 4));
        assert_eq!(
            q.link("http://x/fhir/r4", "/Slot", 6),
            "http://x/fhir/r4/Slot?schedule=Schedule%2Fabc&_count=2&_offset=6"
        );
        for bad in [
            "_count=0",
            "_count=501",
            "_count=two",
            "_offset=-1",
            "status=",
            "date=%20",
        ] {
            assert!(SearchQuery::parse(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn references_and_tokens_are_read_in_each_form_a_client_writes() {
        assert_eq!(
            reference_id("Practitioner/abc", "Practitioner"),
            Some("abc")
        );
        assert_eq!(reference_id("abc", "Practitioner"), Some("abc"));
        assert_eq!(reference_id("Patient/abc", "Practitioner"), None);
        assert_eq!(
            reference_id("https://c.example/fhir/r4/Practitioner/abc", "Practitioner"),
            Some("abc")
        );
        assert_eq!(token_code("sys|c", "sys"), Some("c"));
        assert_eq!(token_code("|c", "sys"), Some("c"));
        assert_eq!(token_code("other|c", "sys"), None);
        assert_eq!(token_code("c", "sys"), Some("c"));
    }
}
