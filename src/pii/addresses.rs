//! Finding postal addresses, US, UK and Commonwealth, as one span the way a caller gives one:
//! flat or unit, house number, street name and suffix (USPS list, UK and AU/NZ road words),
//! apartment or suite, then town, state or county and ZIP or postcode across commas and line
//! breaks; PO boxes and US military addresses.

use std::collections::HashSet;

use regex::Regex;

use super::pattern::re;

use super::people::Finding;
use super::EntityType;

const STREET_SUFFIXES: &str = include_str!("vocab/street_suffixes.txt");

/// US states and territories (USPS codes, and names), Canadian provinces, Australian states.
const REGIONS: &str = "AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|AS|GU|MP|PR|VI|FM|MH|PW|AA|AE|AP|AB|BC|MB|NB|NL|NS|NT|NU|ON|PE|QC|SK|YT|ACT|NSW|QLD|SA|TAS|VIC|WA|Alabama|Alaska|Arizona|Arkansas|California|Colorado|Connecticut|Delaware|Florida|Georgia|Hawaii|Idaho|Illinois|Indiana|Iowa|Kansas|Kentucky|Louisiana|Maine|Maryland|Massachusetts|Michigan|Minnesota|Mississippi|Missouri|Montana|Nebraska|Nevada|New Hampshire|New Jersey|New Mexico|New York|North Carolina|North Dakota|Ohio|Oklahoma|Oregon|Pennsylvania|Rhode Island|South Carolina|South Dakota|Tennessee|Texas|Utah|Vermont|Virginia|Washington|West Virginia|Wisconsin|Wyoming";

/// UK postcode (the shapes Royal Mail issues) or Canadian postal code: codes that say they are
/// codes without a state before them.
const POSTCODE: &str = r"(?:(?:GIR ?0AA|[A-PR-UWYZ](?:\d{1,2}|[A-HK-Y]\d{1,2}|\d[A-HJKPS-UW]|[A-HK-Y]\d[ABEHMNPRV-Y]) ?\d[ABD-HJLNP-UW-Z]{2})|[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z] ?\d[ABCEGHJ-NPRSTV-Z]\d)\b";

/// Street suffixes written short, which may take a full stop ("St.", "Ave."); a full word
/// never takes one, so a sentence's full stop stays out of the address.
const ABBREVIATIONS: &[&str] = &[
    "St", "Ave", "Av", "Rd", "Blvd", "Dr", "Ln", "Ct", "Pl", "Sq", "Ter", "Cir", "Trl", "Hwy",
    "Pkwy", "Expy", "Fwy", "Ext", "Hts", "Cres", "Gdns", "Aly",
];

pub(super) struct Addresses {
    street: Regex,
    boxed: Regex,
    tail: Regex,
    suffixes: HashSet<&'static str>,
}

pub(super) fn street_suffixes() -> HashSet<&'static str> {
    STREET_SUFFIXES
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

impl Addresses {
    pub(super) fn new() -> Self {
        let suffixes = street_suffixes();
        let alternation = |short: bool| {
            let mut words: Vec<&str> = suffixes
                .iter()
                .copied()
                .filter(|s| ABBREVIATIONS.contains(s) == short)
                .collect();
            words.sort_by_key(|s| std::cmp::Reverse(s.len()));
            words
                .iter()
                .map(|s| regex::escape(s))
                .collect::<Vec<_>>()
                .join("|")
        };
        let suffix = format!(
            r"(?:(?:{})\b|(?:{})\b\.?)",
            alternation(false),
            alternation(true)
        );
        let word = r"(?:[A-Z][a-zA-Z'’-]*|\d+(?:st|nd|rd|th))";
        let sep = r"(?:\s*,\s*|\s*\n\s*|[ \t]+)";
        let town = r"[A-Z][a-zA-Z'’-]*\.?(?:[ \t]+[A-Z][a-zA-Z'’-]*\.?){0,3}";
        let unit = r"(?:Flat|Apartment|Apt\.?|Unit|Suite|Ste\.?|Studio|Room|Floor|Level)";
        Addresses {
            street: re(&format!(
                r"(?P<unit>\b{unit}\s+#?\d+[A-Za-z]?(?:\s*,\s*|\s*\n\s*|\s+))?(?P<number>\b\d{{1,6}}[A-Za-z]?(?:[/-]\d{{1,5}}[A-Za-z]?)?,?\s+)?(?:(?:N|S|E|W|North|South|East|West)\.?\s+)?(?:{word}[ \t]+){{1,3}}{suffix}(?:[ \t]+(?:N|S|E|W|NE|NW|SE|SW)\b)?(?:\s*,?\s*{unit}\s*#?\d+[A-Za-z]?\b|\s*,?\s*#\s?\d+[A-Za-z]?\b)?"
            )),
            boxed: re(
                r"\b(?:(?:Unit|PSC)\s+\d{3,5},?\s+Box\s+\d{3,5}|USNS?\s+[A-Z][a-zA-Z]+|USCGC\s+[A-Z][a-zA-Z]+|P\.?\s?O\.?\s+Box\s+\d{1,6})",
            ),
            tail: re(&format!(
                r"^{sep}(?:(?:[AFD]PO)\s+A[AEP]\s+\d{{5}}|(?:{town}{sep})?(?:{REGIONS})\.?(?:\s*,\s*|[ \t]+)(?:{POSTCODE}|\d{{5}}(?:-\d{{4}})?\b|\d{{4}}\b)|(?:{town}{sep})?{POSTCODE}|(?P<no_code>{town},?[ \t]+(?:{REGIONS})\b))"
            )),
            suffixes,
        }
    }

    /// The street suffixes, for telling a street from a surname.
    pub(super) fn suffixes(&self) -> &HashSet<&'static str> {
        &self.suffixes
    }

    /// Addresses in `text`; `lower` its ASCII lower case.
    pub(super) fn find(&self, text: &str, lower: &str, found: &mut Vec<Finding>) {
        if !text.bytes().any(|b| b.is_ascii_digit()) {
            return;
        }
        let context = |start: usize| {
            let mut from = start.saturating_sub(32);
            while !lower.is_char_boundary(from) {
                from -= 1;
            }
            let w = &lower[from..start];
            [
                "address",
                "live at",
                "lives at",
                "living at",
                "post",
                "send",
                "moved",
            ]
            .iter()
            .any(|c| w.contains(c))
        };
        for c in self.street.captures_iter(text) {
            let Some(m) = c.get(0) else { continue };
            // A flat or unit without a house number must end its line ("Studio 6\nNeil
            // Oval") or lead to a town and code, or "Level 3 Car Park" would be an address.
            let unit_line = c.name("unit").is_some_and(|u| {
                u.as_str()
                    .trim_end_matches([' ', '\t'])
                    .ends_with([',', '\n'])
            });
            let (end, with_tail) = self.extend(text, m.end());
            if c.name("number").is_none() && !unit_line && !with_tail {
                continue;
            }
            let score = match (with_tail, context(m.start())) {
                (true, _) => 0.9,
                (false, true) => 0.85,
                (false, false) => 0.75,
            };
            found.push((EntityType::Address, m.start(), end, score));
        }
        for m in self.boxed.find_iter(text) {
            let (end, with_tail) = self.extend(text, m.end());
            if with_tail || context(m.start()) {
                found.push((EntityType::Address, m.start(), end, 0.85));
            }
        }
    }

    /// Where an address that reaches `at` ends once its town, region and code are taken.
    /// A code must end where the address ends (not be the first digits of a phone number),
    /// and a town and state with no code must end the sentence or the line.
    fn extend(&self, text: &str, at: usize) -> (usize, bool) {
        let Some(c) = self.tail.captures(&text[at..]) else {
            return (at, false);
        };
        let end = at + c.get(0).map_or(0, |m| m.end());
        let rest = &text[end..];
        // A numeric code ("07911") followed by more digits is the start of something else.
        let numeric_code = text[..end].ends_with(|ch: char| ch.is_ascii_digit());
        let next_is_digit = numeric_code
            && rest
                .trim_start_matches([' ', '-'])
                .starts_with(|ch: char| ch.is_ascii_digit());
        let ends_here = rest
            .chars()
            .next()
            .is_none_or(|ch| matches!(ch, '.' | ',' | ';' | '!' | '?' | '\n' | ')'));
        if next_is_digit || (c.name("no_code").is_some() && !ends_here) {
            return (at, false);
        }
        (end, true)
    }
}
