//! The detector: candidate patterns, checksum validation, vocabularies matched with
//! Aho-Corasick, and context words that raise a finding's confidence (Presidio's approach: a
//! base score per pattern, +0.35 with context, floor 0.4, overlaps resolved by score).

use std::collections::HashSet;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::Regex;
use rlibphonenumber::{Region, PHONE_NUMBER_UTIL};

use super::validators;
use super::{Entity, EntityType};
use crate::domain::PhoneNumber;

const CONDITIONS: &str = include_str!("vocab/conditions.txt");
const MEDICATIONS: &str = include_str!("vocab/medications.txt");
const PROCEDURES: &str = include_str!("vocab/procedures.txt");
const ALLERGENS: &str = include_str!("vocab/allergens.txt");
const FIRST_NAMES: &str = include_str!("vocab/first_names.txt");

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
    phone: Regex,
    date: Regex,
    person_intro: Regex,
    titled_name: Regex,
    capitalised_pair: Regex,
    allergy_intro: Regex,
    vocab: AhoCorasick,
    vocab_kinds: Vec<Vocab>,
    first_names: HashSet<String>,
}

fn terms(list: &str) -> impl Iterator<Item = &str> {
    list.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("built-in pattern compiles")
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
                regex: re(r"(?i)\b[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}\b"),
                base: 0.95,
                validate: None,
                context: &["email", "e-mail"],
            },
            Rule {
                kind: EntityType::NhsNumber,
                regex: re(r"\b\d{3}[ -]?\d{3}[ -]?\d{4}\b"),
                base: 0.65,
                validate: Some(validators::nhs_number),
                context: &["nhs"],
            },
            Rule {
                kind: EntityType::Nino,
                regex: re(r"(?i)\b[a-z]{2} ?\d{2} ?\d{2} ?\d{2} ?[a-d]\b"),
                base: 0.85,
                validate: Some(validators::nino),
                context: &["national insurance", "ni number", "nino"],
            },
            Rule {
                kind: EntityType::Ssn,
                regex: re(r"\b\d{3}-\d{2}-\d{4}\b"),
                base: 0.7,
                validate: Some(validators::ssn),
                context: &["social security", "ssn"],
            },
            Rule {
                kind: EntityType::CardNumber,
                regex: re(r"\b(?:\d[ -]?){11,18}\d\b"),
                base: 0.6,
                validate: Some(validators::card_number),
                context: &["card", "visa", "mastercard", "amex", "debit", "credit"],
            },
            Rule {
                kind: EntityType::Iban,
                regex: re(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b"),
                base: 0.85,
                validate: Some(validators::iban),
                context: &["iban", "bank", "account"],
            },
            Rule {
                kind: EntityType::IpAddress,
                regex: re(r"\b(?:\d{1,3}\.){3}\d{1,3}\b"),
                base: 0.6,
                validate: Some(ipv4),
                context: &["ip", "address"],
            },
            Rule {
                kind: EntityType::Postcode,
                regex: re(
                    r"(?i)\b(?:gir ?0aa|[a-pr-uwyz](?:\d{1,2}|[a-hk-y]\d{1,2}|\d[a-hjkps-uw]|[a-hk-y]\d[abehmnprv-y]) ?\d[abd-hjlnp-uw-z]{2})\b",
                ),
                base: 0.6,
                validate: None,
                context: &["postcode", "post code", "zip"],
            },
            Rule {
                kind: EntityType::Address,
                regex: re(
                    r"\b\d{1,4}[A-Za-z]?,? (?:[A-Z][a-z]+ ){1,3}(?:Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Drive|Close|Court|Way|Place|Square|Crescent|Gardens|Terrace|Hill|Mews|Row|Walk|Park|Grove|Boulevard|Parade)\b",
                ),
                base: 0.65,
                validate: None,
                context: &["address", "live at", "lives at", "living at", "flat"],
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
        Detector {
            rules,
            phone: re(r"(?:\+\d|\(\d|\b\d)[\d ().-]{7,17}\d\b"),
            date: re(
                r"(?i)\b(?:\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}|\d{4}-\d{2}-\d{2}|\d{1,2}(?:st|nd|rd|th)?(?: of)? (?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*,? \d{4}|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]* \d{1,2}(?:st|nd|rd|th)?,? \d{4})\b",
            ),
            person_intro: re(
                r"(?i:my name is|my name's|name is|this is|i am|i'm|it's|patient is|calling for|speaking to|called) ((?-i:[A-Z][a-zA-Z'’-]+)(?: (?-i:[A-Z][a-zA-Z'’-]+)){0,2})",
            ),
            titled_name: re(
                r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Doctor|Prof)\.? (?:[A-Z][a-zA-Z'’-]+)(?: [A-Z][a-zA-Z'’-]+)?",
            ),
            capitalised_pair: re(r"\b([A-Z][a-z]+) ([A-Z][a-zA-Z'’-]+)\b"),
            allergy_intro: re(r"(?i)\b(?:allergic|allergy|allergies|reaction|react badly)\b"),
            vocab,
            vocab_kinds,
            first_names: terms(FIRST_NAMES).map(str::to_lowercase).collect(),
        }
    }

    /// Every finding in `text`, non-overlapping, in order.
    pub fn detect(&self, text: &str, known: &Known) -> Vec<Entity> {
        let started = std::time::Instant::now();
        let found = self.detect_unmeasured(text, known);
        metrics::histogram!(crate::observe::PII_SCAN).record(started.elapsed().as_secs_f64());
        found
    }

    fn detect_unmeasured(&self, text: &str, known: &Known) -> Vec<Entity> {
        let lower = text.to_ascii_lowercase();
        let mut found: Vec<(EntityType, usize, usize, f32)> = Vec::new();
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

        for rule in &self.rules {
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
        for m in self.phone.find_iter(text) {
            let candidate = m.as_str().trim_end_matches([')', '.', '-', ' ']);
            let parsed = [Region::GB, Region::US].into_iter().find_map(|region| {
                PHONE_NUMBER_UTIL
                    .parse(candidate, Some(region))
                    .ok()
                    .filter(|p| PHONE_NUMBER_UTIL.is_valid_number(p))
            });
            if let Some(p) = parsed {
                let e164 = PhoneNumber::e164(&p);
                let score = if known.phones.contains(&e164) {
                    1.0
                } else {
                    boost(
                        0.75,
                        context(
                            m.start(),
                            &[
                                "phone",
                                "my number",
                                "call me",
                                "mobile",
                                "reach me",
                                "ring me",
                            ],
                        ),
                    )
                };
                found.push((
                    EntityType::Phone,
                    m.start(),
                    m.start() + candidate.len(),
                    score,
                ));
            }
        }
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
        self.vocabulary(text, &lower, &mut found);

        // Highest score first, then longest; keep what does not overlap what is kept.
        found.sort_by(|a, b| {
            b.3.total_cmp(&a.3)
                .then((b.2 - b.1).cmp(&(a.2 - a.1)))
                .then(a.1.cmp(&b.1))
        });
        let mut kept: Vec<(EntityType, usize, usize, f32)> = Vec::new();
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

    fn people(
        &self,
        text: &str,
        lower: &str,
        known: &Known,
        found: &mut Vec<(EntityType, usize, usize, f32)>,
    ) {
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
        for c in self.person_intro.captures_iter(text) {
            if let Some(m) = c.get(1) {
                let first = m.as_str().split(' ').next().unwrap_or("").to_lowercase();
                let strong = c
                    .get(0)
                    .is_some_and(|w| w.as_str().to_lowercase().contains("name"));
                let score = if strong {
                    0.9
                } else if self.first_names.contains(&first) {
                    0.8
                } else {
                    0.45
                };
                found.push((EntityType::Person, m.start(), m.end(), score));
            }
        }
        for m in self.titled_name.find_iter(text) {
            found.push((EntityType::Person, m.start(), m.end(), 0.7));
        }
        for c in self.capitalised_pair.captures_iter(text) {
            if let (Some(all), Some(first)) = (c.get(0), c.get(1)) {
                if self.first_names.contains(&first.as_str().to_lowercase()) {
                    found.push((EntityType::Person, all.start(), all.end(), 0.65));
                }
            }
        }
    }

    fn vocabulary(
        &self,
        text: &str,
        lower: &str,
        found: &mut Vec<(EntityType, usize, usize, f32)>,
    ) {
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
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(EntityType, String)> {
        Detector::default()
            .detect(text, &Known::default())
            .into_iter()
            .map(|e| (e.kind, e.text))
            .collect()
    }

    fn has(text: &str, kind: EntityType, value: &str) -> bool {
        kinds(text).iter().any(|(k, t)| *k == kind && t == value)
    }

    #[test]
    fn the_seed_sentence_finds_the_address_and_the_condition() {
        let k = kinds("My address is 123 Harley Street and I have a history of heart issues");
        assert_eq!(
            k,
            vec![
                (EntityType::Address, "123 Harley Street".into()),
                (EntityType::MedicalCondition, "heart issues".into())
            ]
        );
    }

    #[test]
    fn identifiers_are_reported_only_when_their_checks_pass() {
        assert!(has(
            "my NHS number is 943 476 5919",
            EntityType::NhsNumber,
            "943 476 5919"
        ));
        assert!(!kinds("my NHS number is 401 023 2138")
            .iter()
            .any(|(k, _)| *k == EntityType::NhsNumber));
        assert!(has(
            "NI number AB 12 34 56 C",
            EntityType::Nino,
            "AB 12 34 56 C"
        ));
        assert!(!kinds("NI number GB 12 34 56 C")
            .iter()
            .any(|(k, _)| *k == EntityType::Nino));
        assert!(has("ssn 123-45-6789", EntityType::Ssn, "123-45-6789"));
        assert!(!kinds("ssn 666-45-6789")
            .iter()
            .any(|(k, _)| *k == EntityType::Ssn));
        assert!(has(
            "card 4111 1111 1111 1111 please",
            EntityType::CardNumber,
            "4111 1111 1111 1111"
        ));
        assert!(!kinds("card 4111 1111 1111 1112 please")
            .iter()
            .any(|(k, _)| *k == EntityType::CardNumber));
        assert!(has(
            "IBAN GB82 WEST 1234 5698 7654 32",
            EntityType::Iban,
            "GB82 WEST 1234 5698 7654 32"
        ));
        assert!(has(
            "from 192.168.10.20 today",
            EntityType::IpAddress,
            "192.168.10.20"
        ));
        assert!(!kinds("version 999.1.2.3")
            .iter()
            .any(|(k, _)| *k == EntityType::IpAddress));
    }

    #[test]
    fn uk_and_us_phone_numbers_and_emails() {
        assert!(has(
            "call me on 07911 123456",
            EntityType::Phone,
            "07911 123456"
        ));
        assert!(has(
            "my number is +44 20 7946 0958.",
            EntityType::Phone,
            "+44 20 7946 0958"
        ));
        assert!(has(
            "reach me at (415) 555-2671",
            EntityType::Phone,
            "(415) 555-2671"
        ));
        assert!(has(
            "email jane.doe@example.co.uk",
            EntityType::Email,
            "jane.doe@example.co.uk"
        ));
    }

    #[test]
    fn context_makes_a_date_a_date_of_birth_and_raises_scores() {
        assert!(has(
            "my date of birth is 12/03/1985",
            EntityType::DateOfBirth,
            "12/03/1985"
        ));
        assert!(has(
            "I was born on 3rd March 1990",
            EntityType::DateOfBirth,
            "3rd March 1990"
        ));
        assert!(has(
            "the letter dated 12/03/2024",
            EntityType::Date,
            "12/03/2024"
        ));
        let d = Detector::default();
        let with = d.detect("my NHS number is 943 476 5919", &Known::default());
        let without = d.detect("reference 943 476 5919", &Known::default());
        assert!(with[0].score > 0.8 && without.iter().all(|e| e.score < with[0].score));
    }

    #[test]
    fn names_postcodes_allergies_medications_and_procedures() {
        assert!(has(
            "Hi, my name is Sarah Connor",
            EntityType::Person,
            "Sarah Connor"
        ));
        assert!(has("I live at SW1A 1AA", EntityType::Postcode, "SW1A 1AA"));
        assert!(has(
            "I'm allergic to penicillin",
            EntityType::Allergy,
            "penicillin"
        ));
        assert!(has(
            "I take warfarin daily",
            EntityType::Medication,
            "warfarin"
        ));
        assert!(has(
            "interested in a liquid rhinoplasty",
            EntityType::Procedure,
            "liquid rhinoplasty"
        ));
        assert!(has(
            "I'm allergic to latex and nuts",
            EntityType::Allergy,
            "nuts"
        ));
        let known = Known {
            names: vec!["Jane Doe".into()],
            phones: vec![],
        };
        let found = Detector::default().detect("yes it's for jane doe", &known);
        assert_eq!(found[0].kind, EntityType::Person);
        assert_eq!(found[0].score, 1.0);
    }

    #[test]
    fn offsets_count_characters_not_bytes() {
        let text = "Zoë’s number: 07911 123456 — thanks";
        let found = Detector::default().detect(text, &Known::default());
        let phone = found.iter().find(|e| e.kind == EntityType::Phone).unwrap();
        let chars: Vec<char> = text.chars().collect();
        assert_eq!(
            chars[phone.start..phone.end].iter().collect::<String>(),
            "07911 123456"
        );
        assert_eq!(phone.start, 14);
    }

    #[test]
    fn ordinary_talk_is_left_alone() {
        assert!(kinds("I'd like to book an appointment for next week please").is_empty());
        assert!(kinds("Thanks, that's great, see you then.").is_empty());
    }
}

#[cfg(test)]
mod extra_terms {
    use super::*;

    #[test]
    fn a_clinic_can_add_its_own_terms() {
        let extra = crate::pii::read_extra_terms(
            "# ours\nprocedure: vampire facial\nmedication: tirzepatide\n",
        )
        .unwrap();
        let d = Detector::new(&extra);
        let found = d.detect(
            "Do you do the vampire facial? I'm on tirzepatide.",
            &Known::default(),
        );
        let kinds: Vec<EntityType> = found.iter().map(|e| e.kind).collect();
        assert_eq!(kinds, [EntityType::Procedure, EntityType::Medication]);
        assert!(crate::pii::read_extra_terms("gadget: thing").is_err());
        assert!(crate::pii::read_extra_terms("no colon here").is_err());
    }
}
