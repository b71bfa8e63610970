//! Words for the phone: dates and times said the way a receptionist says them, and the
//! relative dates and loose times a voice model passes ("next Friday", "2.30pm") read back
//! into calendar values.

use chrono::{Datelike, Duration, NaiveDate, NaiveTime, Timelike, Weekday};

/// "2 pm", "2:30 pm", "12 pm", "9 am".
pub fn say_time(t: NaiveTime) -> String {
    let (h, m) = (t.hour(), t.minute());
    let suffix = if h < 12 { "am" } else { "pm" };
    let h12 = match h % 12 {
        0 => 12,
        x => x,
    };
    if m == 0 {
        format!("{h12} {suffix}")
    } else {
        format!("{h12}:{m:02} {suffix}")
    }
}

/// "Friday 17 January".
pub fn say_date(d: NaiveDate) -> String {
    d.format("%A %-d %B").to_string()
}

/// "A, B or C" / "A and B".
pub fn join_words(items: &[String], last: &str) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., tail] => format!("{} {last} {tail}", init.join(", ")),
    }
}

const WEEKDAY_NAMES: [(&str, Weekday); 7] = [
    ("monday", Weekday::Mon),
    ("tuesday", Weekday::Tue),
    ("wednesday", Weekday::Wed),
    ("thursday", Weekday::Thu),
    ("friday", Weekday::Fri),
    ("saturday", Weekday::Sat),
    ("sunday", Weekday::Sun),
];

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

fn weekday_named(word: &str) -> Option<Weekday> {
    let w = word.trim_end_matches('.');
    WEEKDAY_NAMES
        .iter()
        .find(|(name, _)| *name == w || (w.len() >= 3 && name.starts_with(w)))
        .map(|(_, d)| *d)
}

fn month_named(word: &str) -> Option<u32> {
    let w = word.trim_end_matches('.');
    MONTHS
        .iter()
        .position(|m| *m == w || (w.len() >= 3 && m.starts_with(w)))
        .map(|i| i as u32 + 1)
}

fn day_number(word: &str) -> Option<u32> {
    let digits = word.trim_end_matches(|c: char| c.is_ascii_alphabetic() || c == ',');
    digits.parse().ok().filter(|d| (1..=31).contains(d))
}

/// Reads a date as the model passes it: `2026-01-17`, `today`, `tomorrow`, `day after
/// tomorrow`, `friday`, `this friday`, `next friday` (the first Friday after today), `in 3
/// days`, `17 January`, `January 17th` (the next such date). `today` is the clinic's date.
pub fn resolve_date(text: &str, today: NaiveDate) -> Result<NaiveDate, String> {
    let t = text.trim().to_lowercase();
    if let Ok(d) = NaiveDate::parse_from_str(&t, "%Y-%m-%d") {
        return Ok(d);
    }
    let words: Vec<&str> = t
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty() && *w != "on" && *w != "the" && *w != "of")
        .collect();
    // Days after today, with checked arithmetic: at the calendar's end there is no after.
    let after = |days: i64| {
        today
            .checked_add_signed(Duration::days(days))
            .ok_or_else(|| "is not a date".to_string())
    };
    match words.as_slice() {
        ["today"] => return Ok(today),
        ["tomorrow"] => return after(1),
        ["day", "after", "tomorrow"] => return after(2),
        ["in", n, "days" | "day"] => {
            if let Ok(n) = n.parse::<i64>() {
                if (0..=366).contains(&n) {
                    return after(n);
                }
            }
        }
        ["in", "a", "week"] | ["a", "week", "today"] => return after(7),
        _ => {}
    }
    let (next, rest): (bool, &[&str]) = match words.as_slice() {
        ["next", rest @ ..] => (true, rest),
        ["this", rest @ ..] | ["coming", rest @ ..] => (false, rest),
        rest => (false, rest),
    };
    if let [day] = rest {
        if let Some(wd) = weekday_named(day) {
            let ahead = (7 + wd.num_days_from_monday() as i64
                - today.weekday().num_days_from_monday() as i64)
                % 7;
            let ahead = if next && ahead == 0 { 7 } else { ahead };
            return after(ahead);
        }
    }
    // "17 january [2027]", "january 17th [2027]", optionally after a weekday name.
    let rest: Vec<&str> = rest
        .iter()
        .copied()
        .filter(|w| weekday_named(w).is_none())
        .collect();
    let (day, month, year) = match rest.as_slice() {
        [d, m] | [d, m, _] if day_number(d).is_some() && month_named(m).is_some() => (
            day_number(d),
            month_named(m),
            rest.get(2).and_then(|y| y.parse::<i32>().ok()),
        ),
        [m, d] | [m, d, _] if month_named(m).is_some() && day_number(d).is_some() => (
            day_number(d),
            month_named(m),
            rest.get(2).and_then(|y| y.parse::<i32>().ok()),
        ),
        _ => (None, None, None),
    };
    if let (Some(d), Some(m)) = (day, month) {
        let year = year.unwrap_or(today.year());
        if let Some(date) = NaiveDate::from_ymd_opt(year, m, d) {
            if date < today && rest.len() == 2 {
                return year
                    .checked_add(1)
                    .and_then(|y| NaiveDate::from_ymd_opt(y, m, d))
                    .ok_or_else(|| "is not a date".into());
            }
            return Ok(date);
        }
    }
    Err("is not a date I understand; use YYYY-MM-DD".into())
}

/// A day of the month said as a word: "third", "twenty first", "thirty-first".
fn day_in_words(words: &[&str]) -> Option<u32> {
    const UNITS: [&str; 9] = [
        "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth",
    ];
    const TEENS: [&str; 10] = [
        "tenth",
        "eleventh",
        "twelfth",
        "thirteenth",
        "fourteenth",
        "fifteenth",
        "sixteenth",
        "seventeenth",
        "eighteenth",
        "nineteenth",
    ];
    let unit = |w: &str| UNITS.iter().position(|u| *u == w).map(|i| i as u32 + 1);
    match words {
        [w] => unit(w)
            .or_else(|| TEENS.iter().position(|t| t == w).map(|i| i as u32 + 10))
            .or(match *w {
                "twentieth" => Some(20),
                "thirtieth" => Some(30),
                _ => None,
            }),
        ["twenty", w] => unit(w).map(|u| 20 + u),
        ["thirty", "first"] => Some(31),
        _ => None,
    }
}

/// Reads a date of birth as a caller says it or a form writes it: `1985-03-03`, `03/03/1985`,
/// `3.3.85` (day first; a two-digit year is the latest one not after `today`), `3 March 1985`,
/// `the third of March 1985`, `March 3rd, 1985`, `March twenty first 1985`. The year is needed,
/// and the date must lie between 1900 and `today`.
pub fn resolve_birth_date(text: &str, today: NaiveDate) -> Result<NaiveDate, String> {
    let t = text.trim().to_lowercase();
    let in_range = |d: NaiveDate| {
        if d > today {
            Err("is in the future".to_string())
        } else if d.year() < 1900 {
            Err("is too long ago".to_string())
        } else {
            Ok(d)
        }
    };
    if let Ok(d) = NaiveDate::parse_from_str(&t, "%Y-%m-%d") {
        return in_range(d);
    }
    let full_year = |y: &str| -> Option<i32> {
        let n: i32 = y.parse().ok()?;
        match y.len() {
            4 => Some(n),
            2 => {
                let century = today.year() / 100 * 100;
                Some(if century + n > today.year() {
                    century - 100 + n
                } else {
                    century + n
                })
            }
            _ => None,
        }
    };
    // Numbers: day, month, year separated by / . or -.
    let numbers: Vec<&str> = t.split(['/', '.', '-']).map(str::trim).collect();
    if numbers.len() == 3
        && numbers
            .iter()
            .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    {
        let (d, m) = (numbers[0].parse().ok(), numbers[1].parse().ok());
        return match (d, m, full_year(numbers[2])) {
            (Some(d), Some(m), Some(y)) => NaiveDate::from_ymd_opt(y, m, d)
                .ok_or_else(|| "is not a date".to_string())
                .and_then(in_range),
            _ => Err("is not a date".into()),
        };
    }
    // Words: a day (digits or words), a month name and a four-digit year, in either order.
    let words: Vec<&str> = t
        .split(|c: char| c.is_whitespace() || c == ',' || c == '-')
        .filter(|w| !w.is_empty() && !matches!(*w, "the" | "of" | "on"))
        .collect();
    let Some(month_at) = words.iter().position(|w| month_named(w).is_some()) else {
        return Err("is not a date I understand; say the day, the month and the year".into());
    };
    let month = month_named(words[month_at]).unwrap_or(1);
    let Some(year) = words
        .last()
        .filter(|y| y.len() == 4)
        .and_then(|y| full_year(y))
    else {
        return Err("needs the year".into());
    };
    let day_words: Vec<&str> = words[..words.len() - 1]
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != month_at)
        .map(|(_, w)| *w)
        .collect();
    let day = match day_words.as_slice() {
        [d] if day_number(d).is_some() => day_number(d),
        other => day_in_words(other),
    };
    match day {
        Some(d) => NaiveDate::from_ymd_opt(year, month, d)
            .ok_or_else(|| "is not a date".to_string())
            .and_then(in_range),
        None => Err("is not a date I understand; say the day, the month and the year".into()),
    }
}

/// Reads a time: `14:00`, `9:30`, `2pm`, `2 pm`, `2:30pm`, `2.30 p.m.`, `noon`.
pub fn resolve_time(text: &str) -> Result<NaiveTime, String> {
    let t = text
        .trim()
        .to_lowercase()
        .replace("p.m.", "pm")
        .replace("a.m.", "am");
    if t == "noon" || t == "midday" {
        return Ok(NaiveTime::from_hms_opt(12, 0, 0).unwrap_or(NaiveTime::MIN));
    }
    let bad = || "is not a time I understand; use HH:MM".to_string();
    let (body, meridiem) = if let Some(b) = t.strip_suffix("pm") {
        (b.trim(), Some(true))
    } else if let Some(b) = t.strip_suffix("am") {
        (b.trim(), Some(false))
    } else {
        (t.as_str(), None)
    };
    let mut parts = body.split([':', '.']);
    let h: u32 = parts
        .next()
        .ok_or_else(bad)?
        .trim()
        .parse()
        .map_err(|_| bad())?;
    let m: u32 = match parts.next() {
        Some(m) => m.trim().parse().map_err(|_| bad())?,
        None => 0,
    };
    let h = match meridiem {
        Some(true) if (1..=11).contains(&h) => h + 12,
        Some(true) if h == 12 => 12,
        Some(false) if h == 12 => 0,
        Some(false) if (1..=11).contains(&h) => h,
        Some(_) => return Err(bad()),
        None => h,
    };
    NaiveTime::from_hms_opt(h, m, 0).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn times_are_said_like_a_receptionist() {
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
        assert_eq!(say_time(t(14, 0)), "2 pm");
        assert_eq!(say_time(t(14, 30)), "2:30 pm");
        assert_eq!(say_time(t(9, 5)), "9:05 am");
        assert_eq!(say_time(t(12, 0)), "12 pm");
        assert_eq!(say_time(t(0, 15)), "12:15 am");
        assert_eq!(say_date(d("2026-01-16")), "Friday 16 January");
        assert_eq!(
            join_words(&["2:30 pm".into(), "3 pm".into(), "4 pm".into()], "or"),
            "2:30 pm, 3 pm or 4 pm"
        );
    }

    #[test]
    fn relative_dates_resolve_against_the_clinic_day() {
        let today = d("2026-01-14"); // a Wednesday
        assert_eq!(resolve_date("2026-01-17", today).unwrap(), d("2026-01-17"));
        assert_eq!(resolve_date("Today", today).unwrap(), today);
        assert_eq!(resolve_date("tomorrow", today).unwrap(), d("2026-01-15"));
        assert_eq!(
            resolve_date("day after tomorrow", today).unwrap(),
            d("2026-01-16")
        );
        assert_eq!(resolve_date("Friday", today).unwrap(), d("2026-01-16"));
        assert_eq!(resolve_date("this friday", today).unwrap(), d("2026-01-16"));
        assert_eq!(resolve_date("next Friday", today).unwrap(), d("2026-01-16"));
        assert_eq!(
            resolve_date("next wednesday", today).unwrap(),
            d("2026-01-21")
        );
        assert_eq!(resolve_date("wednesday", today).unwrap(), today);
        assert_eq!(resolve_date("in 3 days", today).unwrap(), d("2026-01-17"));
        assert_eq!(resolve_date("17 January", today).unwrap(), d("2026-01-17"));
        assert_eq!(
            resolve_date("January 17th", today).unwrap(),
            d("2026-01-17")
        );
        assert_eq!(
            resolve_date("Friday, 16th January", today).unwrap(),
            d("2026-01-16")
        );
        assert_eq!(resolve_date("3 January", today).unwrap(), d("2027-01-03"));
        for bad in ["", "someday", "2026-02-30", "32 January", "next"] {
            assert!(resolve_date(bad, today).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn dates_of_birth_resolve_as_callers_say_them() {
        let today = d("2026-12-06");
        let born = d("1985-03-03");
        for said in [
            "1985-03-03",
            "03/03/1985",
            "3/3/85",
            "03.03.85",
            "3-3-1985",
            "3 March 1985",
            "the third of March 1985",
            "March 3rd, 1985",
            "march third 1985",
            "3rd of March, 1985",
        ] {
            assert_eq!(resolve_birth_date(said, today), Ok(born), "{said}");
        }
        assert_eq!(
            resolve_birth_date("the twenty-first of June 2001", today),
            Ok(d("2001-06-21"))
        );
        assert_eq!(
            resolve_birth_date("31/12/26", today).unwrap_err(),
            "is in the future"
        );
        assert_eq!(resolve_birth_date("1/1/26", today), Ok(d("2026-01-01")));
        assert_eq!(resolve_birth_date("1/1/27", today), Ok(d("1927-01-01")));
        for wrong in [
            "3 March",
            "31/02/1985",
            "yesterday",
            "",
            "1/1/1850",
            "the fortieth of May 1985",
        ] {
            assert!(resolve_birth_date(wrong, today).is_err(), "{wrong}");
        }
    }

    #[test]
    fn loose_times_resolve() {
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
        assert_eq!(resolve_time("14:00").unwrap(), t(14, 0));
        assert_eq!(resolve_time("2pm").unwrap(), t(14, 0));
        assert_eq!(resolve_time("2 PM").unwrap(), t(14, 0));
        assert_eq!(resolve_time("2:30pm").unwrap(), t(14, 30));
        assert_eq!(resolve_time("2.30 p.m.").unwrap(), t(14, 30));
        assert_eq!(resolve_time("12am").unwrap(), t(0, 0));
        assert_eq!(resolve_time("noon").unwrap(), t(12, 0));
        assert_eq!(resolve_time("9").unwrap(), t(9, 0));
        for bad in ["", "25:00", "13pm", "half past", "9:75"] {
            assert!(resolve_time(bad).is_err(), "{bad:?}");
        }
    }
}
