//! The detector: candidate patterns, checksum validation, vocabularies matched with
//! Aho-Corasick, and context words that raise a finding's confidence (Presidio's approach: a
//! base score per pattern, +0.35 with context, floor 0.4, overlaps resolved by score).

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::Regex;

use super::addresses::Addresses;
use super::pattern::re;
use super::people::{People, TurnedDown};
use super::phones::Phones;
use super::validators;
use super::Finding;
use super::{Entity, EntityType};

const CONDITIONS: &str = include_str!("../vocab/conditions.txt");
const MEDICATIONS: &str = include_str!("../vocab/medications.txt");
const PROCEDURES: &str = include_str!("../vocab/procedures.txt");
const ALLERGENS: &str = include_str!("../vocab/allergens.txt");

/// How far before a match context words are looked for, in bytes.
const CONTEXT_WINDOW: usize = 48;

/// Names and numbers the appliance already knows belong to the caller (from the Vapi message).
#[derive(Debug, Clone, Default)]
pub struct Known {
    pub names: Vec<String>,
    pub phones: Vec<String>,
}

type Validator = fn(&str) -> bool;

struct Rule {
    kind: EntityType,
    regex: Regex,
    base: f32,
    validate: Option<Validator>,
    context: &'static [&'static str],
    /// The fewest digits a match holds: text with fewer is not searched.
    digits: usize,
}

#[derive(Clone, Copy, PartialEq)]
enum Vocab {
    Condition,
    Medication,
    Procedure,
    Allergen,
}

pub struct Detector {
    rules: Vec<Rule>,
    phones: Phones,
    addresses: Addresses,
    people: People,
    ipv6: Regex,
    date: Regex,
    allergy_intro: Regex,
    vocab: AhoCorasick,
    vocab_kinds: Vec<Vocab>,
}

fn terms(list: &str) -> impl Iterator<Item = &str> {
    list.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

fn ipv4(s: &str) -> bool {
    s.parse::<std::net::Ipv4Addr>().is_ok()
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'\'' || b >= 0x80
}

impl Default for Detector {
    fn default() -> Self {
        Self::new(&[])
    }
}

impl Detector {
    /// The built-in rules and vocabularies, plus a clinic's own terms (`(type, term)`, for
    /// conditions, medications, procedures or allergens).
    pub fn new(extra_terms: &[(EntityType, String)]) -> Self {
        let rules = vec![
            Rule {
                kind: EntityType::Email,
                regex: re(r"(?i)(?-u:\b)[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}(?-u:\b)"),
                base: 0.95,
                validate: None,
                context: &["email", "e-mail"],
                digits: 0,
            },
            Rule {
                kind: EntityType::NhsNumber,
                regex: re(r"(?-u:\b)\d{3}[ -]?\d{3}[ -]?\d{4}(?-u:\b)"),
                base: 0.65,
                validate: Some(validators::nhs_number),
                context: &["nhs"],
                digits: 10,
            },
            Rule {
                kind: EntityType::Nino,
                regex: re(r"(?i)(?-u:\b)[a-z]{2} ?\d{2} ?\d{2} ?\d{2} ?[a-d](?-u:\b)"),
                base: 0.85,
                validate: Some(validators::nino),
                context: &["national insurance", "ni number", "nino"],
                digits: 6,
            },
            Rule {
                kind: EntityType::Ssn,
                regex: re(r"(?-u:\b)\d{3}-\d{2}-\d{4}(?-u:\b)"),
                base: 0.7,
                validate: Some(validators::ssn),
                context: &["social security", "ssn"],
                digits: 9,
            },
            Rule {
                kind: EntityType::CardNumber,
                regex: re(r"(?-u:\b)(?:\d[ -]?){11,18}\d(?-u:\b)"),
                base: 0.6,
                validate: Some(validators::card_number),
                context: &["card", "visa", "mastercard", "amex", "debit", "credit"],
                digits: 12,
            },
            Rule {
                kind: EntityType::Iban,
                regex: re(
                    r"(?-u:\b)[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?-u:\b)",
                ),
                base: 0.85,
                validate: Some(validators::iban),
                context: &["iban", "bank", "account"],
                digits: 2,
            },
            Rule {
                kind: EntityType::IpAddress,
                regex: re(r"(?-u:\b)(?:\d{1,3}\.){3}\d{1,3}(?-u:\b)"),
                base: 0.6,
                validate: Some(ipv4),
                context: &["ip", "address"],
                digits: 4,
            },
            Rule {
                kind: EntityType::Postcode,
                regex: re(
                    r"(?i)(?-u:\b)(?:gir ?0aa|[a-pr-uwyz](?:\d{1,2}|[a-hk-y]\d{1,2}|\d[a-hjkps-uw]|[a-hk-y]\d[abehmnprv-y]) ?\d[abd-hjlnp-uw-z]{2})(?-u:\b)",
                ),
                base: 0.6,
                validate: None,
                context: &["postcode", "post code", "zip"],
                digits: 1,
            },
        ];
        let mut patterns: Vec<String> = Vec::new();
        let mut vocab_kinds = Vec::new();
        for (list, kind) in [
            (CONDITIONS, Vocab::Condition),
            (MEDICATIONS, Vocab::Medication),
            (PROCEDURES, Vocab::Procedure),
            (ALLERGENS, Vocab::Allergen),
        ] {
            for t in terms(list) {
                patterns.push(t.to_lowercase());
                vocab_kinds.push(kind);
            }
        }
        for (kind, term) in extra_terms {
            let v = match kind {
                EntityType::MedicalCondition => Vocab::Condition,
                EntityType::Medication => Vocab::Medication,
                EntityType::Procedure => Vocab::Procedure,
                EntityType::Allergy => Vocab::Allergen,
                _ => continue,
            };
            patterns.push(term.trim().to_lowercase());
            vocab_kinds.push(v);
        }
        let vocab = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostLongest)
            .build(&patterns)
            .expect("vocabulary automaton builds");
        let addresses = Addresses::new();
        let people = People::new(addresses.suffixes().clone());
        Detector {
            rules,
            phones: Phones::new(),
            addresses,
            people,
            ipv6: re(r"[0-9A-Fa-f]{0,4}:[0-9A-Fa-f:.]{4,}"),
            date: re(
                r"(?i)(?-u:\b)(?:\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}|\d{4}-\d{2}-\d{2}|\d{1,2}(?:st|nd|rd|th)?(?: of)? (?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*,? \d{4}|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]* \d{1,2}(?:st|nd|rd|th)?,? \d{4})(?-u:\b)",
            ),
            allergy_intro: re(
                r"(?i)(?-u:\b)(?:allergic|allergy|allergies|reaction|react badly)(?-u:\b)",
            ),
            vocab,
            vocab_kinds,
        }
    }

    /// Every finding in `text`, non-overlapping, in order.
    pub fn detect(&self, text: &str, known: &Known) -> Vec<Entity> {
        let started = std::time::Instant::now();
        let found = self.detect_unmeasured(text, known);
        metrics::histogram!(crate::metrics::PII_SCAN).record(started.elapsed().as_secs_f64());
        found
    }

    /// Every capitalised candidate the name rules turned down for want of context and the
    /// context model was asked about, with the features it judged it by (also those a rule's
    /// take later in the run or a second look would overrule): for training that model
    /// (`examples/name_context_dump.rs`), not a detection.
    #[doc(hidden)]
    pub fn turned_down_names(&self, text: &str) -> Vec<TurnedDown> {
        let lower = text.to_ascii_lowercase();
        let mut notes = Vec::new();
        self.people
            .find_noting(text, &lower, &mut Vec::new(), Some(&mut notes));
        notes
    }

    fn detect_unmeasured(&self, text: &str, known: &Known) -> Vec<Entity> {
        let lower = text.to_ascii_lowercase();
        let mut found: Vec<Finding> = Vec::new();
        let context = |start: usize, words: &[&str]| {
            let mut from = start.saturating_sub(CONTEXT_WINDOW);
            while !lower.is_char_boundary(from) {
                from -= 1;
            }
            let window = &lower[from..start];
            words.iter().any(|w| window.contains(w))
        };
        let boost = |base: f32, has: bool| {
            if has {
                (base + 0.35).clamp(0.4, 1.0)
            } else {
                base
            }
        };

        let digits = text.bytes().filter(u8::is_ascii_digit).count();
        for rule in self.rules.iter().filter(|r| digits >= r.digits) {
            for m in rule.regex.find_iter(text) {
                if let Some(ok) = rule.validate {
                    if !ok(m.as_str()) {
                        continue;
                    }
                }
                let mut base = rule.base;
                if rule.kind == EntityType::CardNumber
                    && (m.as_str().starts_with('0') || text[..m.start()].ends_with('+'))
                {
                    base = 0.3;
                }
                found.push((
                    rule.kind,
                    m.start(),
                    m.end(),
                    boost(base, context(m.start(), rule.context)),
                ));
            }
        }
        self.phones.find(text, &lower, &known.phones, &mut found);
        self.addresses.find(text, &lower, &mut found);
        self.ipv6(text, &mut found);
        for m in self.date.find_iter(text) {
            let dob = context(m.start(), &["born", "birth", "dob", "d.o.b", "birthday"]);
            let kind = if dob {
                EntityType::DateOfBirth
            } else {
                EntityType::Date
            };
            found.push((kind, m.start(), m.end(), if dob { 0.95 } else { 0.6 }));
        }
        self.people(text, &lower, known, &mut found);
        let before_vocabulary = found.len();
        self.vocabulary(text, &lower, &mut found);
        // A drug, condition or treatment is never a person ("it's Allegra"), whatever the
        // lead-in; only a name the caller is known by outranks it.
        let clinical: Vec<(usize, usize)> = found[before_vocabulary..]
            .iter()
            .map(|f| (f.1, f.2))
            .collect();
        // A name that runs into one ("dr khan mounjaro refill") keeps what comes before it.
        for f in found.iter_mut() {
            if f.0 != EntityType::Person || f.3 >= 1.0 {
                continue;
            }
            if let Some(&(s, _)) = clinical
                .iter()
                .find(|&&(s, e)| f.1 < s && s < f.2 && e >= f.2)
            {
                f.2 = f.1 + text[f.1..s].trim_end_matches([' ', ',', '-']).len();
            }
        }
        found.retain(|f| {
            f.0 != EntityType::Person
                || f.3 >= 1.0
                || !clinical.iter().any(|&(s, e)| f.1 < e && s < f.2)
        });
        // A postcode is part of the address that holds it, however sure the words before it
        // make the code alone ("Zipa\nSW1A 1AA" under a street).
        let addresses: Vec<(usize, usize)> = found
            .iter()
            .filter(|f| f.0 == EntityType::Address)
            .map(|f| (f.1, f.2))
            .collect();
        found.retain(|f| {
            f.0 != EntityType::Postcode || !addresses.iter().any(|&(s, e)| s <= f.1 && f.2 <= e)
        });

        // Highest score first, then longest; keep what does not overlap what is kept.
        found.sort_by(|a, b| {
            b.3.total_cmp(&a.3)
                .then((b.2 - b.1).cmp(&(a.2 - a.1)))
                .then(a.1.cmp(&b.1))
        });
        let mut kept: Vec<Finding> = Vec::new();
        for f in found {
            if kept.iter().all(|k| f.2 <= k.1 || f.1 >= k.2) {
                kept.push(f);
            }
        }
        kept.sort_by_key(|k| k.1);
        let mut char_at = 0usize;
        let mut byte_at = 0usize;
        let mut to_char = |byte: usize| {
            char_at += text[byte_at..byte].chars().count();
            byte_at = byte;
            char_at
        };
        kept.into_iter()
            .map(|(kind, s, e, score)| {
                let start = to_char(s);
                let end = to_char(e);
                Entity {
                    kind,
                    start,
                    end,
                    score: (f64::from(score) * 100.0).round() / 100.0,
                    text: text[s..e].to_string(),
                }
            })
            .collect()
    }

    fn people(&self, text: &str, lower: &str, known: &Known, found: &mut Vec<Finding>) {
        for name in known
            .names
            .iter()
            .map(|n| n.trim())
            .filter(|n| n.len() >= 3)
        {
            let needle = name.to_ascii_lowercase();
            let mut from = 0;
            while let Some(i) = lower[from..].find(&needle) {
                let s = from + i;
                let e = s + needle.len();
                let bounded = (s == 0 || !is_word_byte(lower.as_bytes()[s - 1]))
                    && (e == lower.len() || !is_word_byte(lower.as_bytes()[e]));
                if bounded {
                    found.push((EntityType::Person, s, e, 1.0));
                }
                from = e;
            }
        }
        self.people.find(text, lower, found);
    }

    /// IPv6 addresses (std's parser decides; times like 10:30:00 are not addresses).
    fn ipv6(&self, text: &str, found: &mut Vec<Finding>) {
        if !text.contains(':') {
            return;
        }
        for m in self.ipv6.find_iter(text) {
            let mut s = m.start();
            let mut candidate = m.as_str();
            // "IP:2001:db8::1": the label's colon is not part of the address (a leading "::"
            // is).
            if candidate.starts_with(':') && !candidate.starts_with("::") {
                s += 1;
                candidate = &candidate[1..];
            }
            if text[..s]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_ascii_hexdigit() || c == '.')
            {
                continue;
            }
            let candidate = candidate.trim_end_matches(['.', ':']);
            let hex = candidate.chars().filter(char::is_ascii_hexdigit).count();
            if hex >= 4 && candidate.parse::<std::net::Ipv6Addr>().is_ok() {
                found.push((EntityType::IpAddress, s, s + candidate.len(), 0.85));
            }
        }
    }

    fn vocabulary(&self, text: &str, lower: &str, found: &mut Vec<Finding>) {
        let bytes = text.as_bytes();
        let allergy_spans: Vec<usize> = self
            .allergy_intro
            .find_iter(lower)
            .map(|m| m.end())
            .collect();
        for m in self.vocab.find_iter(text) {
            let (s, e) = (m.start(), m.end());
            let bounded = (s == 0 || !is_word_byte(bytes[s - 1]))
                && (e == bytes.len() || !is_word_byte(bytes[e]));
            if !bounded {
                continue;
            }
            let kind = self.vocab_kinds[m.pattern().as_usize()];
            // An allergy: a medication or allergen shortly after "allergic to" in the same sentence.
            let after_allergy = allergy_spans
                .iter()
                .any(|&a| a <= s && s - a <= 60 && !lower[a..s].contains(['.', '?', '!']));
            let (entity, score) = match kind {
                Vocab::Medication | Vocab::Allergen if after_allergy => (EntityType::Allergy, 0.9),
                Vocab::Medication => (EntityType::Medication, 0.8),
                Vocab::Allergen => continue,
                Vocab::Condition => (EntityType::MedicalCondition, 0.8),
                Vocab::Procedure => (EntityType::Procedure, 0.8),
            };
            found.push((entity, s, e, score));
        }
    }
}

#[cfg(test)]
mod tests;
