//! Finding postal addresses, US, UK and Commonwealth, as one span the way a caller gives one:
//! flat or unit, house number, street name and suffix (USPS list, UK and AU/NZ road words),
//! apartment or suite, then town, state or county and ZIP or postcode across commas and line
//! breaks; PO boxes and US military addresses.

use std::collections::HashSet;

use regex::Regex;

use super::people::Finding;
use super::EntityType;

const STREET_SUFFIXES: &str = include_str!("vocab/street_suffixes.txt");

/// US states and territories (USPS codes, and names), Canadian provinces, Australian states.
const REGIONS: &str = "AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|AS|GU|MP|PR|VI|FM|MH|PW|AA|AE|AP|AB|BC|MB|NB|NL|NS|NT|NU|ON|PE|QC|SK|YT|ACT|NSW|QLD|SA|TAS|VIC|WA|Alabama|Alaska|Arizona|Arkansas|California|Colorado|Connecticut|Delaware|Florida|Georgia|Hawaii|Idaho|Illinois|Indiana|Iowa|Kansas|Kentucky|Louisiana|Maine|Maryland|Massachusetts|Michigan|Minnesota|Mississippi|Missouri|Montana|Nebraska|Nevada|New Hampshire|New Jersey|New Mexico|New York|North Carolina|North Dakota|Ohio|Oklahoma|Oregon|Pennsylvania|Rhode Island|South Carolina|South Dakota|Tennessee|Texas|Utah|Vermont|Virginia|Washington|West Virginia|Wisconsin|Wyoming";

/// UK postcode (the shapes Royal Mail issues), US ZIP (+4), Canadian postal code.
const POSTAL_CODE: &str = r"(?:(?:GIR ?0AA|[A-PR-UWYZ](?:\d{1,2}|[A-HK-Y]\d{1,2}|\d[A-HJKPS-UW]|[A-HK-Y]\d[ABEHMNPRV-Y]) ?\d[ABD-HJLNP-UW-Z]{2})|\d{5}(?:-\d{4})?|[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z] ?\d[ABCEGHJ-NPRSTV-Z]\d)\b";

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
        let mut alternation: Vec<&str> = suffixes.iter().copied().collect();
        alternation.sort_by_key(|s| std::cmp::Reverse(s.len()));
        let suffix = alternation
            .iter()
            .map(|s| regex::escape(s))
            .collect::<Vec<_>>()
            .join("|");
        let word = r"(?:[A-Z][a-zA-Z'’-]*|\d+(?:st|nd|rd|th))";
        let unit = r"(?:Flat|Apartment|Apt\.?|Unit|Suite|Ste\.?|Studio|Room|Floor|Level)";
        let re = |p: &str| Regex::new(p).expect("built-in pattern compiles");
        Addresses {
            street: re(&format!(
                r"(?P<unit>\b{unit}\s+#?\d+[A-Za-z]?(?:\s*,\s*|\s*\n\s*|\s+))?(?P<number>\b\d{{1,6}}[A-Za-z]?(?:[/-]\d{{1,5}}[A-Za-z]?)?,?\s+)?(?:(?:N|S|E|W|North|South|East|West)\.?\s+)?(?:{word}[ \t]+){{1,3}}(?:{suffix})\b\.?(?:[ \t]+(?:N|S|E|W|NE|NW|SE|SW)\b)?(?:\s*,?\s*{unit}\s*#?\d+[A-Za-z]?\b|\s*,?\s*#\s?\d+[A-Za-z]?\b)?"
            )),
            boxed: re(
                r"\b(?:(?:Unit|PSC)\s+\d{3,5},?\s+Box\s+\d{3,5}|USNS?\s+[A-Z][a-zA-Z]+|USCGC\s+[A-Z][a-zA-Z]+|P\.?\s?O\.?\s+Box\s+\d{1,6})",
            ),
            tail: re(&format!(
                r"^(?:\s*,\s*|\s*\n\s*|[ \t]+)(?:(?:[AFD]PO)\s+A[AEP]\s+\d{{5}}|(?:[A-Z][a-zA-Z'’.-]*(?:[ \t]+[A-Z][a-zA-Z'’.-]*){{0,3}}(?:\s*,\s*|\s*\n\s*|[ \t]+))?(?:(?:{REGIONS})\.?(?:\s*,\s*|[ \t]+)(?:{POSTAL_CODE}|\d{{4}}\b)|{POSTAL_CODE})|[A-Z][a-zA-Z'’.-]*(?:[ \t]+[A-Z][a-zA-Z'’.-]*){{0,3}},?[ \t]+(?:{REGIONS})\b)"
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
            if c.name("unit").is_none() && c.name("number").is_none() {
                continue;
            }
            let (end, with_tail) = self.extend(text, m.end());
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
    fn extend(&self, text: &str, at: usize) -> (usize, bool) {
        match self.tail.find(&text[at..]) {
            Some(t) => (at + t.end(), true),
            None => (at, false),
        }
    }
}
