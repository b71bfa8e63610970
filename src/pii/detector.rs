//! The detector: candidate patterns, checksum validation, vocabularies matched with
//! Aho-Corasick, and context words that raise a finding's confidence (Presidio's approach: a
//! base score per pattern, +0.35 with context, floor 0.4, overlaps resolved by score).

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::Regex;

use super::addresses::Addresses;
use super::people::{Finding, People};
use super::phones::Phones;
use super::validators;
use super::{Entity, EntityType};

const CONDITIONS: &str = include_str!("vocab/conditions.txt");
const MEDICATIONS: &str = include_str!("vocab/medications.txt");
const PROCEDURES: &str = include_str!("vocab/procedures.txt");
const ALLERGENS: &str = include_str!("vocab/allergens.txt");

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

/// One of the detector's own patterns (constants, compiled once at start; the unit tests
/// build every one).
pub(super) fn re(pattern: &str) -> Regex {
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
                r"(?i)\b(?:\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}|\d{4}-\d{2}-\d{2}|\d{1,2}(?:st|nd|rd|th)?(?: of)? (?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*,? \d{4}|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]* \d{1,2}(?:st|nd|rd|th)?,? \d{4})\b",
            ),
            allergy_intro: re(r"(?i)\b(?:allergic|allergy|allergies|reaction|react badly)\b"),
            vocab,
            vocab_kinds,
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
        found.retain(|f| {
            f.0 != EntityType::Person
                || f.3 >= 1.0
                || !clinical.iter().any(|&(s, e)| f.1 < e && s < f.2)
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

    fn found(text: &str, kind: EntityType) -> Vec<String> {
        kinds(text)
            .into_iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, t)| t)
            .collect()
    }

    #[test]
    fn names_with_titles_initials_suffixes_and_in_signatures() {
        let person = |t: &str| found(t, EntityType::Person);
        assert_eq!(
            person("Dr. Glen O'Connell MD called"),
            ["Dr. Glen O'Connell MD"]
        );
        assert_eq!(
            person("Contact Kathryn J. Jefferson today"),
            ["Kathryn J. Jefferson"]
        );
        assert_eq!(person("I saw Mrs Hood yesterday"), ["Mrs Hood"]);
        assert_eq!(person("Thanks,\nSian Woods"), ["Sian Woods"]);
        assert_eq!(person("Was that you?\nAbdul"), ["Abdul"]);
        assert_eq!(person("I think Sarah's appointment moved"), ["Sarah"]);
        assert_eq!(
            person("Mohammed Bowen-Simpson rang"),
            ["Mohammed Bowen-Simpson"]
        );
        assert_eq!(person("Tell Derrick that I'm late"), ["Derrick"]);
        // Speech-to-text in lower case: only after a lead-in or before "here".
        assert_eq!(person("hi it's brad lynn here"), ["brad lynn"]);
        assert_eq!(person("yes, alyssa speaking"), ["alyssa"]);
        assert!(person("i'm on warfarin and i'm sorry").is_empty());
    }

    #[test]
    fn a_name_that_is_an_ordinary_word_needs_context() {
        let person = |t: &str| found(t, EntityType::Person);
        assert!(person("Will you call me back?").is_empty());
        assert!(person("Hope you are well. May I book for Monday?").is_empty());
        assert!(person("Grace period is fine").is_empty());
        assert_eq!(person("Yes this is Will Jones"), ["Will Jones"]);
        assert_eq!(person("Thanks, Joshua King"), ["Joshua King"]);
        assert_eq!(person("My sister Hope might come too"), ["Hope"]);
        assert_eq!(person("Grace Kelly booked for Tuesday."), ["Grace Kelly"]);
        assert!(person("Mark my appointment as urgent please").is_empty());
        assert!(person("May I speak to someone about prices?").is_empty());
        // A given name opening a sentence that goes on in lower case.
        assert_eq!(person("Robert called about his appointment."), ["Robert"]);
        for t in [
            "In London we have two clinics.",
            "It's June 3rd, 2025",
            "Major bruising is rare.",
            "Patience is needed after a facelift.",
            "Olive oil helps the skin",
        ] {
            assert!(person(t).is_empty(), "{t}: {:?}", person(t));
        }
        assert_eq!(
            found("It's June 3rd, 2025", EntityType::Date),
            ["June 3rd, 2025"]
        );
        // A street is not a person.
        assert!(person("Is the Harley Street clinic open?").is_empty());
        assert!(person("It's on Neil Oval near the station").is_empty());
    }

    #[test]
    fn a_drug_or_treatment_name_is_not_a_person() {
        let text = "Could Pamela call me back? It's about Allegra.";
        assert_eq!(found(text, EntityType::Person), ["Pamela"]);
        assert_eq!(found(text, EntityType::Medication), ["Allegra"]);
        for t in [
            "I'd like Juvederm on Friday",
            "Is Restylane better than Sculptra?",
            "I'm on Ozempic at the moment",
            "Dysport or Xeomin, whichever",
        ] {
            assert!(found(t, EntityType::Person).is_empty(), "{t}");
        }
    }

    #[test]
    fn phone_numbers_in_every_written_form_with_extensions() {
        for (text, number) in [
            ("call (555) 555-0199 today", "(555) 555-0199"),
            ("call 555-555-0199 today", "555-555-0199"),
            ("call 555.555.0199 today", "555.555.0199"),
            ("call +1-555-555-0199 today", "+1-555-555-0199"),
            ("call 001-555-555-0199 today", "001-555-555-0199"),
            ("call +44 (0)20 7946 0958 today", "+44 (0)20 7946 0958"),
            ("call +44(0)1134960000 today", "+44(0)1134960000"),
            ("call 07911 123456 today", "07911 123456"),
            ("call 555-555-0199 x123 today", "555-555-0199 x123"),
            ("call 555-555-0199 ext. 123 today", "555-555-0199 ext. 123"),
            ("call (510)369-2606x909 today", "(510)369-2606x909"),
            ("call 5555550199 today", "5555550199"),
        ] {
            assert_eq!(found(text, EntityType::Phone), [number], "{text}");
        }
        // A possible number from a range not yet allocated is still a phone number.
        assert_eq!(
            found("ring 07700 900123", EntityType::Phone),
            ["07700 900123"]
        );
        // Look-alikes are left to their own rules.
        assert!(found("My order reference is 401 234 5678", EntityType::Phone).is_empty());
        assert!(found("ssn 123-45-6789", EntityType::Phone).is_empty());
        assert!(found("on 12.03.2024 at 10.30", EntityType::Phone).is_empty());
        assert!(found("from 172.31.94.157", EntityType::Phone).is_empty());
        // A local number without an area code only where a phone is being talked about.
        assert_eq!(
            found("my number is 555 0199", EntityType::Phone),
            ["555 0199"]
        );
        assert!(found("it costs 555 0199 points", EntityType::Phone).is_empty());
    }

    #[test]
    fn addresses_are_one_span_across_commas_and_lines() {
        let address = |t: &str| found(t, EntityType::Address);
        assert_eq!(
            address("Send it to 58683 Mitchell Parks Suite 907\nLake Laura, MT 87630 thanks"),
            ["58683 Mitchell Parks Suite 907\nLake Laura, MT 87630"]
        );
        assert_eq!(
            address("I live at 12 Baker Street, London W1U 6TE."),
            ["12 Baker Street, London W1U 6TE"]
        );
        assert_eq!(
            address("Flat 2\n14 Acacia Avenue\nReading\nRG1 4AB"),
            ["Flat 2\n14 Acacia Avenue\nReading\nRG1 4AB"]
        );
        assert_eq!(
            address("Studio 6\nNeil Oval\nPort Janet\nB7E 9EP"),
            ["Studio 6\nNeil Oval\nPort Janet\nB7E 9EP"]
        );
        assert_eq!(
            address("at 1600 Pennsylvania Avenue NW, Washington, DC 20500"),
            ["1600 Pennsylvania Avenue NW, Washington, DC 20500"]
        );
        assert_eq!(
            address("write to PO Box 123, Springfield, IL 62704"),
            ["PO Box 123, Springfield, IL 62704"]
        );
        assert_eq!(
            address("PSC 1234, Box 5678\nAPO AA 12345"),
            ["PSC 1234, Box 5678\nAPO AA 12345"]
        );
        assert_eq!(
            address("I'm at 5/97 Donna Bypass, West Kevin, NT, 8095."),
            ["5/97 Donna Bypass, West Kevin, NT, 8095"]
        );
        assert!(address("It's on Baker Street").is_empty());
    }

    #[test]
    fn grouped_cards_spaced_ibans_and_both_ip_versions() {
        assert_eq!(
            found("card 4111-1111-1111-1111", EntityType::CardNumber),
            ["4111-1111-1111-1111"]
        );
        assert_eq!(
            found("amex 3782 822463 10005", EntityType::CardNumber),
            ["3782 822463 10005"]
        );
        assert_eq!(
            found("iban DE89 3704 0044 0532 0130 00", EntityType::Iban),
            ["DE89 3704 0044 0532 0130 00"]
        );
        assert_eq!(
            found("from 2001:db8::8a2e:370:7334 today", EntityType::IpAddress),
            ["2001:db8::8a2e:370:7334"]
        );
        assert_eq!(
            found(
                "from b6d3:1854:fc66:2a38:c486:9190:a15d:1150.",
                EntityType::IpAddress
            ),
            ["b6d3:1854:fc66:2a38:c486:9190:a15d:1150"]
        );
        assert!(found("at 10:30:00 sharp", EntityType::IpAddress).is_empty());
    }

    #[test]
    fn an_address_or_number_stops_where_it_ends() {
        let text = "It's 12 Baker Street, 07911 123456 is my mobile";
        assert_eq!(found(text, EntityType::Address), ["12 Baker Street"]);
        assert_eq!(found(text, EntityType::Phone), ["07911 123456"]);
        let text = "I'm at 12 Baker Street. Thanks Sarah, OK";
        assert_eq!(found(text, EntityType::Address), ["12 Baker Street"]);
        assert_eq!(
            found("I live at 12 Baker Street.", EntityType::Address),
            ["12 Baker Street"]
        );
        assert_eq!(
            found("I live at 12 Baker St. in town", EntityType::Address),
            ["12 Baker St."]
        );
        assert_eq!(
            found("Call me on 07911 123456. 2 pm is best", EntityType::Phone),
            ["07911 123456"]
        );
        assert_eq!(
            found("I'm 45 07911 123456", EntityType::Phone),
            ["07911 123456"]
        );
        assert!(found("Parking is on Level 3 Car Park", EntityType::Address).is_empty());
        // Times and ranges are not local numbers, whatever word they sit in.
        for t in [
            "Is the clinic open during 9.00 - 17.30?",
            "Can you call me back 10.30 - 11.30?",
            "the cancellation fee is 1500 2000",
        ] {
            assert!(found(t, EntityType::Phone).is_empty(), "{t}");
        }
        assert_eq!(
            found("IP:2001:db8::1 was blocked", EntityType::IpAddress),
            ["2001:db8::1"]
        );
    }

    #[test]
    fn names_end_where_they_end_and_places_and_drugs_are_not_names() {
        let person = |t: &str| found(t, EntityType::Person);
        assert_eq!(person("Tell Derrick I called"), ["Derrick"]);
        assert_eq!(person("Thanks John I'll ring you"), ["John"]);
        for t in [
            "it's Allegra",
            "this is Allegra",
            "I'm on Yasmin",
            "Is the Chelsea clinic open?",
            "Is the Victoria branch open?",
            "I'm in Kent this week",
        ] {
            assert!(person(t).is_empty(), "{t}: {:?}", person(t));
        }
        // A long run of names is read a window at a time, each name found once.
        let many = "Sarah Jones and ".repeat(500);
        assert_eq!(person(&many).len(), 500);
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
