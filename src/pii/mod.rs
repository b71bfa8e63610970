//! Personal data in free text: finding it (patterns, validators, vocabularies, context),
//! replacing it with placeholders, and picking out the sentences that carry clinical content.

mod addresses;
mod detector;
mod name_context;
mod name_forms;
mod name_reading;
mod name_shape;
mod name_words;
mod pattern;
mod people;
mod phones;
pub mod validators;

use serde::{Deserialize, Serialize};

pub use detector::{Detector, Known};

/// What a rule found, before overlaps are resolved: type, byte start, byte end, score.
type Finding = (EntityType, usize, usize, f32);

/// The kinds of personal data the detector reports (names are part of the CLI's contract).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum EntityType {
    Person,
    Email,
    Phone,
    Address,
    Postcode,
    DateOfBirth,
    Date,
    NhsNumber,
    Nino,
    Ssn,
    CardNumber,
    Iban,
    IpAddress,
    MedicalCondition,
    Medication,
    Allergy,
    Procedure,
}

/// Where a finding is routed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// Contact details: kept with the clinic's contacts.
    Contact,
    /// Identifiers: stored encrypted.
    Identifier,
    /// Clinical content: its sentence becomes an encrypted clinical note.
    Clinical,
    /// Only redacted.
    RedactOnly,
}

impl EntityType {
    pub const ALL: [EntityType; 17] = [
        EntityType::Person,
        EntityType::Email,
        EntityType::Phone,
        EntityType::Address,
        EntityType::Postcode,
        EntityType::DateOfBirth,
        EntityType::Date,
        EntityType::NhsNumber,
        EntityType::Nino,
        EntityType::Ssn,
        EntityType::CardNumber,
        EntityType::Iban,
        EntityType::IpAddress,
        EntityType::MedicalCondition,
        EntityType::Medication,
        EntityType::Allergy,
        EntityType::Procedure,
    ];

    pub fn name(&self) -> &'static str {
        match self {
            EntityType::Person => "person",
            EntityType::Email => "email",
            EntityType::Phone => "phone",
            EntityType::Address => "address",
            EntityType::Postcode => "postcode",
            EntityType::DateOfBirth => "date_of_birth",
            EntityType::Date => "date",
            EntityType::NhsNumber => "nhs_number",
            EntityType::Nino => "nino",
            EntityType::Ssn => "ssn",
            EntityType::CardNumber => "card_number",
            EntityType::Iban => "iban",
            EntityType::IpAddress => "ip_address",
            EntityType::MedicalCondition => "medical_condition",
            EntityType::Medication => "medication",
            EntityType::Allergy => "allergy",
            EntityType::Procedure => "procedure",
        }
    }

    /// `[PHONE]`, `[MEDICAL_CONDITION]`, …
    pub fn placeholder(&self) -> String {
        format!("[{}]", self.name().to_ascii_uppercase())
    }

    pub fn route(&self) -> Route {
        use EntityType::*;
        match self {
            Person | Email | Phone | Address | Postcode => Route::Contact,
            NhsNumber | Nino | Ssn | CardNumber | Iban | DateOfBirth => Route::Identifier,
            MedicalCondition | Medication | Allergy | Procedure => Route::Clinical,
            Date | IpAddress => Route::RedactOnly,
        }
    }
}

/// One finding. `start`/`end` count Unicode characters (end exclusive).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entity {
    #[serde(rename = "type")]
    pub kind: EntityType,
    pub start: usize,
    pub end: usize,
    pub score: f64,
    pub text: String,
}

/// `text` with every entity replaced by its placeholder.
pub fn redact(text: &str, entities: &[Entity]) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut sorted: Vec<&Entity> = entities.iter().collect();
    sorted.sort_by_key(|e| e.start);
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for e in sorted {
        if e.start < at || e.end > chars.len() {
            continue;
        }
        out.extend(&chars[at..e.start]);
        out.push_str(&e.kind.placeholder());
        at = e.end;
    }
    out.extend(&chars[at..]);
    out
}

/// The sentences (or transcript lines) of `text` that contain clinical entities, whole and
/// unredacted, in order.
pub fn clinical_sentences(text: &str, entities: &[Entity]) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut sentences = Vec::new();
    let mut start = 0;
    for (i, c) in chars.iter().enumerate() {
        if matches!(c, '.' | '!' | '?' | '\n') || i + 1 == chars.len() {
            sentences.push((start, i + 1));
            start = i + 1;
        }
    }
    sentences
        .into_iter()
        .filter(|(s, e)| {
            entities
                .iter()
                .any(|x| x.kind.route() == Route::Clinical && x.start >= *s && x.end <= *e)
        })
        .map(|(s, e)| chars[s..e].iter().collect::<String>().trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Reads extra vocabulary: one `type: term` a line (`#` comments and blank lines skipped);
/// types are medical_condition, medication, procedure and allergy.
pub fn read_extra_terms(text: &str) -> Result<Vec<(EntityType, String)>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (kind, term) = line
            .split_once(':')
            .ok_or_else(|| format!("line {}: expected `type: term`", n + 1))?;
        let kind = match kind.trim() {
            "medical_condition" => EntityType::MedicalCondition,
            "medication" => EntityType::Medication,
            "procedure" => EntityType::Procedure,
            "allergy" => EntityType::Allergy,
            _ => {
                return Err(format!(
                    "line {}: type must be medical_condition, medication, procedure or allergy",
                    n + 1
                ))
            }
        };
        if term.trim().is_empty() {
            return Err(format!("line {}: empty term", n + 1));
        }
        out.push((kind, term.trim().to_string()));
    }
    Ok(out)
}
