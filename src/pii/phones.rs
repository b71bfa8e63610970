//! Finding telephone numbers in the forms people write and say them: grouped with spaces,
//! dashes, dots or brackets, with `+44 (0)` or `001` in front and `x123` / `ext. 123` behind,
//! accepted when libphonenumber finds the number *possible* for its own country code, for the
//! UK or for North America (a possible number has a real length; the *valid* test would drop
//! real-format numbers from ranges not yet listed); and numbers said as words, as speech to
//! text writes them ("oh seven seven double oh nine…", "plus four four…").

use aho_corasick::AhoCorasick;
use regex::Regex;

use super::pattern::re;
use rlibphonenumber::{Region, PHONE_NUMBER_UTIL};

use super::EntityType;
use super::Finding;
use crate::domain::{phone_patterns, PhoneNumber};

/// Words before a number that say it is a telephone number.
const CONTEXT: &[&str] = &[
    "phone",
    "telephone",
    "cellphone",
    "number",
    "call",
    "mobile",
    "cell",
    "reach",
    "ring",
    "tel",
    "text",
    "landline",
    "contact",
    "fax",
];

/// Words before a number that say it is some other reference, unless a phone word is nearer.
const NOT_A_PHONE: &[&str] = &[
    "reference",
    "ref",
    "order",
    "invoice",
    "policy",
    "tracking",
    "account",
    "booking",
    "nhs",
    "member",
    "claim",
    "serial",
    "patient id",
    "case",
];

pub(super) struct Phones {
    candidate: Regex,
    date_like: Regex,
    local: Regex,
    /// One word of a number said aloud (a digit's name, "oh", "double", "plus") or a group
    /// of digits among them.
    spoken_token: Regex,
    /// A digit said as a word: without one, there is no spoken number to look for.
    digit_word: Regex,
    /// `CONTEXT` then `NOT_A_PHONE`, searched for together.
    talk: AhoCorasick,
}

/// The digit a spoken word stands for.
fn digit_word(word: &str) -> Option<char> {
    Some(match word {
        "zero" | "oh" | "nought" => '0',
        "one" => '1',
        "two" => '2',
        "three" => '3',
        "four" => '4',
        "five" => '5',
        "six" => '6',
        "seven" => '7',
        "eight" => '8',
        "nine" => '9',
        _ => return None,
    })
}

/// A run of spoken number words: where it starts and ends, its digits, whether "plus" led it,
/// and whether any digit was said as a word (a run of bare digit groups is the written
/// path's).
#[derive(Default)]
struct SpokenRun {
    start: usize,
    end: usize,
    digits: String,
    plus: bool,
    words: bool,
    /// "double" or "triple" waiting for its digit.
    repeat: usize,
    /// Where the last digit said ends (a run that ends on "double" leaves that word out).
    digits_end: usize,
}

/// What a candidate's shape says about where to read it.
enum Shape {
    /// `+CC …` or `00CC …`: its own country code.
    International(String),
    /// A leading trunk 0: a UK-style national number.
    National,
    /// 10 digits, or 11 starting with 1: North American.
    NorthAmerican,
    /// 7–8 digits with no area code: a local number, believed only with context.
    Local,
}

fn shape(number: &str, digits: &str) -> Option<Shape> {
    let t = number.trim_start_matches('(');
    if let Some(rest) = t.strip_prefix('+') {
        return Some(Shape::International(format!("+{rest}")));
    }
    if digits.starts_with("00") && digits.len() >= 10 {
        return Some(Shape::International(format!("+{}", &digits[2..])));
    }
    if digits.starts_with('0') {
        return (9..=11).contains(&digits.len()).then_some(Shape::National);
    }
    match digits.len() {
        10 => Some(Shape::NorthAmerican),
        11 if digits.starts_with('1') => Some(Shape::NorthAmerican),
        7 | 8 => Some(Shape::Local),
        _ => None,
    }
}

impl Phones {
    pub(super) fn new() -> Self {
        Phones {
            candidate: re(
                r"(?P<number>(?:\+|(?-u:\b))\d[\d ().-]{5,20}\d|\+?\(\+?\d{2,5}\)\s?[\d .-]{5,14}\d)(?:(?P<extension>\s?(?i:x|ext\.?|extn\.?|extension)\s?\d{1,6})(?-u:\b)|(?-u:\b))",
            ),
            date_like: re(r"^\d{1,4}[./-]\d{1,2}[./-]\d{1,4}$"),
            local: re(r"^\d{3,4}[ -]?\d{4}$"),
            digit_word: re(
                r"(?-u:\b)(?:zero|oh|nought|one|two|three|four|five|six|seven|eight|nine)(?-u:\b)",
            ),
            talk: AhoCorasick::new(CONTEXT.iter().chain(NOT_A_PHONE))
                .expect("phone talk automaton builds"),
            spoken_token: re(
                r"(?-u:\b)(?:zero|oh|nought|one|two|three|four|five|six|seven|eight|nine|double|triple|plus|\d{1,4})(?-u:\b)",
            ),
        }
    }

    /// Numbers said as words in `lower` (ASCII lower case, so offsets are the text's): runs of
    /// digit words, "oh", "double"/"triple" and digit groups, apart by spaces, commas or
    /// hyphens only, with at least one word and 7 to 15 digits, "plus" allowed first. Scored
    /// as written numbers are; a run no country's plan reads is still taken with phone talk
    /// before it or when it is long (9 or more digits said one by one are a number read out).
    fn find_spoken(&self, lower: &str, known: &[String], found: &mut Vec<Finding>) {
        // Seven digits take three words at the least ("triple one, double two, double
        // three"), or digits written among them ("oh 7 9 1 1 …").
        let words = self.digit_word.find_iter(lower).take(3).count();
        let digits = lower.bytes().filter(u8::is_ascii_digit).count();
        if words == 0 || (words < 3 && digits < 4) {
            return;
        }
        let mut run = SpokenRun::default();
        let finish = |run: &mut SpokenRun, found: &mut Vec<Finding>| {
            let r = std::mem::take(run);
            if !r.words || !(7..=15).contains(&r.digits.len()) {
                return;
            }
            let number = if r.plus {
                format!("+{}", r.digits)
            } else {
                r.digits.clone()
            };
            let score = match self.score(&number, r.start, lower, known) {
                Scored::Read(score) => Some(score),
                Scored::TalkedOf => Some(TALKED_OF),
                Scored::Not => {
                    let talk = talk_in(&self.talk, window_before(lower, r.start));
                    (!talk.names_other() && (talk.phone.is_some() || r.digits.len() >= 9))
                        .then_some(TALKED_OF)
                }
            };
            if let Some(score) = score {
                found.push((EntityType::Phone, r.start, r.digits_end, score));
            }
        };
        for m in self.spoken_token.find_iter(lower) {
            let gap = &lower[run.end..m.start()];
            let joined = run.end > 0
                && gap.len() <= 3
                && gap.bytes().all(|b| matches!(b, b' ' | b',' | b'-'));
            if !joined {
                finish(&mut run, found);
            }
            let token = m.as_str();
            let first = run.digits.is_empty() && !run.plus;
            match token {
                "plus" if first => {
                    run.plus = true;
                    run.start = m.start();
                }
                "plus" => {
                    finish(&mut run, found);
                    run.plus = true;
                    run.start = m.start();
                }
                "double" | "triple" => {
                    if first {
                        run.start = m.start();
                    }
                    run.repeat = if token == "double" { 2 } else { 3 };
                }
                _ => {
                    if first && run.repeat == 0 {
                        run.start = m.start();
                    }
                    match digit_word(token) {
                        Some(d) => {
                            run.words = true;
                            for _ in 0..run.repeat.max(1) {
                                run.digits.push(d);
                            }
                        }
                        None => {
                            // A group of digits; "double 7" repeats a single digit.
                            let times = if token.len() == 1 {
                                run.repeat.max(1)
                            } else {
                                1
                            };
                            for _ in 0..times {
                                run.digits.push_str(token);
                            }
                        }
                    }
                    run.repeat = 0;
                    run.digits_end = m.end();
                }
            }
            run.end = m.end();
        }
        finish(&mut run, found);
    }

    /// Telephone numbers in `text`; `lower` is its ASCII lower case; `known` the caller's own
    /// numbers (E.164), found with full confidence.
    pub(super) fn find(&self, text: &str, lower: &str, known: &[String], found: &mut Vec<Finding>) {
        self.find_spoken(lower, known, found);
        if text.bytes().filter(u8::is_ascii_digit).count() < 7 {
            return;
        }
        for c in self.candidate.captures_iter(text) {
            let (Some(all), Some(n)) = (c.get(0), c.name("number")) else {
                continue;
            };
            // The candidate can run into the sentence after it ("123456. 2 pm") or start with
            // another number ("I'm 45 07911 …"): try it whole, then without a group at either
            // end, and keep the longest piece that is a number.
            // Pieces a plan reads come first; only then one that phone talk alone vouches for.
            let mut talked_of = None;
            let mut read = None;
            for (from, to) in pieces(n.as_str()) {
                match self.score(&n.as_str()[from..to], n.start() + from, lower, known) {
                    Scored::Read(score) => {
                        read = Some((from, to, score));
                        break;
                    }
                    Scored::TalkedOf if talked_of.is_none() => {
                        talked_of = Some((from, to, TALKED_OF));
                    }
                    _ => {}
                }
            }
            let Some((from, to, score)) = read.or(talked_of) else {
                continue;
            };
            let start = n.start() + from;
            let whole = to == n.as_str().len();
            let end = if whole && c.name("extension").is_some() {
                all.end()
            } else {
                n.start() + to
            };
            found.push((EntityType::Phone, start, end, score));
        }
    }

    /// How sure a candidate (without extension) at `start` is a telephone number, if it is one.
    /// How sure a candidate (without extension) at `start` is a telephone number: `Read` when
    /// a numbering plan reads it, `TalkedOf` when none does but a phone is talked of just
    /// before.
    fn score(&self, number: &str, start: usize, lower: &str, known: &[String]) -> Scored {
        self.score_inner(number, start, lower, known)
            .unwrap_or(Scored::Not)
    }

    fn score_inner(
        &self,
        number: &str,
        start: usize,
        lower: &str,
        known: &[String],
    ) -> Option<Scored> {
        if number.contains('(') != number.contains(')') && !number.starts_with("+44(0") {
            return None;
        }
        if self.date_like.is_match(number) || is_ipv4(number) || looks_like_ssn(number) {
            return None;
        }
        let digits: String = number.chars().filter(char::is_ascii_digit).collect();
        if !(7..=15).contains(&digits.len()) {
            return None;
        }
        let talk = talk_in(&self.talk, window_before(lower, start));
        if talk.names_other() {
            return None;
        }
        let context = talk.phone.is_some()
            || (lower.get(start..start + number.len()) == Some(number)
                && labelled_after(&lower[start + number.len()..]));
        // Where no plan the shape points to reads it, talk of a phone just before still makes
        // it one: the numbers of countries the shapes do not try (nine digits with no trunk
        // prefix, a country code without its plus, "555 70 45").
        // (Never with a full stop inside: "10.30 - 11.30" is a time, "1.500" a price.)
        let talked_of = if context && digits.len() <= 13 && !number.contains('.') {
            Scored::TalkedOf
        } else {
            Scored::Not
        };
        let Some(shape) = shape(number, &digits) else {
            return Some(talked_of);
        };
        if matches!(shape, Shape::Local) {
            // Only where a phone is being talked about; surer in the shape a local number is
            // written in ("555 0199").
            return Some(if !self.local.is_match(number) {
                talked_of
            } else if context {
                Scored::Read(0.8)
            } else {
                Scored::Not
            });
        }
        let cleaned = number.replace("(0)", "");
        // The first reading a plan finds possible, trying the shape's regions in turn.
        let possible = |text: &str, region: Option<Region>| {
            phone_patterns::prepare_to_parse(text, region);
            PHONE_NUMBER_UTIL
                .parse(text, region)
                .ok()
                .filter(|p| PHONE_NUMBER_UTIL.is_possible_number(p))
        };
        let read = match &shape {
            Shape::International(n) => {
                possible(&n.replace("(0)", "").replace(['(', ')'], ""), None)
            }
            Shape::National => [Region::GB, Region::AU, Region::NZ, Region::IE]
                .into_iter()
                .find_map(|r| possible(&cleaned, Some(r))),
            Shape::NorthAmerican => possible(&cleaned, Some(Region::US)),
            Shape::Local => None,
        };
        let Some(p) = read else {
            return Some(talked_of);
        };
        if !known.is_empty() && known.contains(&PhoneNumber::e164(&p)) {
            return Some(Scored::Read(1.0));
        }
        // Phone talk before it makes any possible number certain; without, a valid one (in
        // a range the plan has issued) is surer than a merely possible one.
        if context {
            return Some(Scored::Read(1.0));
        }
        Some(Scored::Read(if phone_patterns::is_valid_number(&p) {
            0.8
        } else {
            0.7
        }))
    }
}

/// What `Phones::score` makes of a candidate.
#[derive(Clone, Copy, PartialEq)]
enum Scored {
    /// A numbering plan reads it: this sure.
    Read(f32),
    /// No plan reads it, but a phone is talked of just before.
    TalkedOf,
    Not,
}

/// How sure a number only phone talk vouches for is.
const TALKED_OF: f32 = 0.75;

/// The byte ranges of `candidate` worth trying, longest first: the whole; cut at a full stop
/// that ends a sentence ("123456. 2 pm"); and without a short leading group of at most three
/// digits ("I'm 45 07911 …"). Long groups are never dropped, so a card number's digits are not
/// taken apart into a phone number.
fn pieces(candidate: &str) -> Vec<(usize, usize)> {
    let mut ends = vec![candidate.len()];
    if let Some(stop) = candidate.find(". ") {
        ends.push(stop);
    }
    let mut starts = vec![0];
    if let Some(space) = candidate.find(' ') {
        let lead = &candidate[..space];
        if lead.len() <= 3 && lead.bytes().all(|b| b.is_ascii_digit()) {
            starts.push(space + 1);
        }
    }
    let mut out = Vec::new();
    for &end in &ends {
        for &start in &starts {
            if start < end {
                let piece = candidate[start..end].trim_end_matches(['.', '-', ' ']);
                if piece.ends_with(|c: char| c.is_ascii_digit()) {
                    out.push((start, start + piece.len()));
                }
            }
        }
    }
    out.sort_by_key(|(a, b)| std::cmp::Reverse(b - a));
    out.dedup();
    out
}

/// Labels a signature block or a form puts right after a number ("530 91 21 office",
/// "934 399 966-Fax", "07700 900123 (mobile)").
const LABELS_AFTER: &[&str] = &[
    "office", "fax", "mobile", "cell", "home", "work", "tel", "phone", "landline", "direct",
];

/// Whether `after`, the text just after a number, opens with a phone's label that ends its
/// field (a comma, a bracket, a line's or the text's end): "-Office,", " fax\n", " (mobile)";
/// not "1234567 office supplies".
fn labelled_after(after: &str) -> bool {
    let rest = after.trim_start_matches([' ', '-', '(', '/']);
    if after.len() - rest.len() > 3 {
        return false;
    }
    LABELS_AFTER.iter().any(|label| {
        rest.strip_prefix(label).is_some_and(|end| {
            end.chars()
                .next()
                .is_none_or(|c| matches!(c, ',' | ')' | ';' | '\n' | '\r'))
        })
    })
}

/// The 40 bytes or so before `start`, where words saying what a number is stand.
fn window_before(lower: &str, start: usize) -> &str {
    let mut from = start.saturating_sub(40);
    while !lower.is_char_boundary(from) {
        from -= 1;
    }
    &lower[from..start]
}

/// Where the last phone word and the last other-reference word stand in `window`, each as
/// a word of its own (not "ring" inside "during"; a plural "s" allowed after it), found in
/// one pass over both lists.
fn talk_in(words: &AhoCorasick, window: &str) -> Talk {
    let mut talk = Talk::default();
    for m in words.find_overlapping_iter(window) {
        let (i, e) = (m.start(), m.end());
        let before = window[..i].chars().next_back();
        let after = window[e..].chars().next();
        let bounded = before.is_none_or(|c| !c.is_alphanumeric())
            && after.is_none_or(|c| !c.is_alphabetic() || c == 's');
        if !bounded {
            continue;
        }
        let last = if m.pattern().as_usize() < CONTEXT.len() {
            &mut talk.phone
        } else {
            &mut talk.other
        };
        *last = (*last).max(Some(i));
    }
    talk
}

/// What the words just before a number say it is.
#[derive(Default, Clone, Copy)]
struct Talk {
    /// Where the last word saying "telephone" starts.
    phone: Option<usize>,
    /// Where the last word saying "some other reference" starts.
    other: Option<usize>,
}

impl Talk {
    /// Some other reference is named nearer the number than any phone word.
    fn names_other(self) -> bool {
        self.other > self.phone
    }
}

fn is_ipv4(s: &str) -> bool {
    s.parse::<std::net::Ipv4Addr>().is_ok()
}

/// `123-45-6789`: the US social security number's grouping, left to that rule.
fn looks_like_ssn(s: &str) -> bool {
    let groups: Vec<usize> = s.split(['-', ' ']).map(str::len).collect();
    groups == [3, 2, 4]
}
