//! A labelled evaluation set for the PII detector, generated from templates we wrote (seeded,
//! so every run sees the same 600 utterances), and the scoring that turns detections into
//! precision, recall and F1 per entity type (a hit needs the right type and exact span).
//! Shared by the quality test (floors) and the `pii` bench (report).

use std::collections::BTreeMap;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use voxanne::pii::{Detector, EntityType, Known};

/// One utterance with the entities it contains: (type, start, end) in characters.
pub struct Labelled {
    pub text: String,
    pub spans: Vec<(EntityType, usize, usize)>,
}

const FIRST: &[&str] = &[
    "Sarah", "James", "Priya", "Oliver", "Emma", "Mohammed", "Grace", "Daniel", "Zoe", "Harry",
];
const LAST: &[&str] = &[
    "Connor", "Patel", "Okafor", "Smith", "Nowak", "Jones", "Kowalski", "Evans", "Murphy", "Lee",
];
const STREETS: &[&str] = &[
    "Harley Street",
    "Baker Street",
    "Kings Road",
    "Park Lane",
    "Church Avenue",
    "Mill Lane",
    "Station Road",
];
const POSTCODES: &[&str] = &[
    "SW1A 1AA", "W1G 9PF", "EC1A 1BB", "M1 1AE", "B33 8TH", "CR2 6XH", "DN55 1PT", "LS1 4AP",
];
const CONDITIONS: &[&str] = &[
    "heart issues",
    "asthma",
    "diabetes",
    "high blood pressure",
    "epilepsy",
    "psoriasis",
    "anxiety",
    "deviated septum",
];
const MEDICATIONS: &[&str] = &[
    "warfarin",
    "metformin",
    "sertraline",
    "ibuprofen",
    "levothyroxine",
    "omeprazole",
    "isotretinoin",
];
const ALLERGENS: &[&str] = &[
    "penicillin",
    "latex",
    "lidocaine",
    "nuts",
    "amoxicillin",
    "codeine",
];
const PROCEDURES: &[&str] = &[
    "rhinoplasty",
    "liquid rhinoplasty",
    "facelift",
    "breast augmentation",
    "botox",
    "lip fillers",
    "blepharoplasty",
];
const MONTHS: &[&str] = &["January", "March", "May", "July", "September", "November"];
const IBANS: &[&str] = &[
    "GB82 WEST 1234 5698 7654 32",
    "DE89370400440532013000",
    "GB33BUKB20201555555555",
];

fn nhs(rng: &mut StdRng) -> String {
    loop {
        let d: Vec<u32> = (0..9).map(|_| rng.gen_range(0..10)).collect();
        let sum: u32 = d.iter().zip((2..=10).rev()).map(|(x, w)| x * w).sum();
        let check = match 11 - (sum % 11) {
            11 => 0,
            10 => continue,
            c => c,
        };
        let s: String = d
            .iter()
            .map(|x| char::from_digit(*x, 10).unwrap())
            .collect();
        return format!("{} {} {}{}", &s[..3], &s[3..6], &s[6..9], check);
    }
}

fn card(rng: &mut StdRng) -> String {
    let mut d: Vec<u32> = vec![4];
    d.extend((0..14).map(|_| rng.gen_range(0..10)));
    let sum: u32 = d
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &x)| {
            if i % 2 == 0 {
                let y = x * 2;
                if y > 9 {
                    y - 9
                } else {
                    y
                }
            } else {
                x
            }
        })
        .sum();
    d.push((10 - sum % 10) % 10);
    let s: String = d
        .iter()
        .map(|x| char::from_digit(*x, 10).unwrap())
        .collect();
    format!("{} {} {} {}", &s[..4], &s[4..8], &s[8..12], &s[12..16])
}

fn nino(rng: &mut StdRng) -> String {
    let prefixes = ["AB", "CE", "HJ", "JK", "PR", "SW", "TW", "YZ"];
    format!(
        "{} {:02} {:02} {:02} {}",
        prefixes[rng.gen_range(0..prefixes.len())],
        rng.gen_range(10..99),
        rng.gen_range(10..99),
        rng.gen_range(10..99),
        ["A", "B", "C", "D"][rng.gen_range(0..4)]
    )
}

fn ssn(rng: &mut StdRng) -> String {
    format!(
        "{:03}-{:02}-{:04}",
        rng.gen_range(1..666),
        rng.gen_range(1..99),
        rng.gen_range(1..9999)
    )
}

fn uk_mobile(rng: &mut StdRng) -> String {
    format!(
        "07{}{:02} {:06}",
        [4, 5, 7, 8, 9][rng.gen_range(0..5)],
        rng.gen_range(0..100),
        rng.gen_range(100_000..999_999)
    )
}

fn us_phone(rng: &mut StdRng) -> String {
    format!(
        "({}) {}-{:04}",
        [212, 415, 312, 617, 206][rng.gen_range(0..5)],
        rng.gen_range(201..999),
        rng.gen_range(0..9999)
    )
}

fn pick<'a>(rng: &mut StdRng, list: &[&'a str]) -> &'a str {
    list[rng.gen_range(0..list.len())]
}

/// Builds a text from pieces: plain strings, and labelled values.
struct Builder {
    text: String,
    chars: usize,
    spans: Vec<(EntityType, usize, usize)>,
}

impl Builder {
    fn new() -> Self {
        Self {
            text: String::new(),
            chars: 0,
            spans: Vec::new(),
        }
    }
    fn say(mut self, s: &str) -> Self {
        self.text.push_str(s);
        self.chars += s.chars().count();
        self
    }
    fn value(mut self, kind: EntityType, s: &str) -> Self {
        let n = s.chars().count();
        self.spans.push((kind, self.chars, self.chars + n));
        self.say(s)
    }
    fn done(self) -> Labelled {
        Labelled {
            text: self.text,
            spans: self.spans,
        }
    }
}

/// The evaluation set: `n` utterances from 22 templates, seeded. The last two are hard on
/// purpose: a reference number shaped like a phone number, and a bare first name.
pub fn generate(n: usize) -> Vec<Labelled> {
    use EntityType::*;
    let mut rng = StdRng::seed_from_u64(20261122);
    (0..n)
        .map(|i| {
            let name = format!("{} {}", pick(&mut rng, FIRST), pick(&mut rng, LAST));
            let b = Builder::new();
            match i % 22 {
                0 => b
                    .say("Hi, my name is ")
                    .value(Person, &name)
                    .say(" and I'd like to book a consultation."),
                1 => b
                    .say("You can call me on ")
                    .value(Phone, &uk_mobile(&mut rng))
                    .say(" any time after five."),
                2 => b
                    .say("My email is ")
                    .value(
                        Email,
                        &format!(
                            "{}.{}@example.co.uk",
                            pick(&mut rng, FIRST).to_lowercase(),
                            i
                        ),
                    )
                    .say(", thanks."),
                3 => b
                    .say("My address is ")
                    .value(
                        Address,
                        &format!("{} {}", rng.gen_range(1..300), pick(&mut rng, STREETS)),
                    )
                    .say(" and I have a history of ")
                    .value(MedicalCondition, pick(&mut rng, CONDITIONS)),
                4 => b
                    .say("The postcode is ")
                    .value(Postcode, pick(&mut rng, POSTCODES))
                    .say("."),
                5 => b
                    .say("My date of birth is ")
                    .value(
                        DateOfBirth,
                        &format!(
                            "{:02}/{:02}/19{}",
                            rng.gen_range(1..28),
                            rng.gen_range(1..12),
                            rng.gen_range(50..99)
                        ),
                    )
                    .say("."),
                6 => b
                    .say("I was born on ")
                    .value(
                        DateOfBirth,
                        &format!(
                            "{} {} 19{}",
                            rng.gen_range(1..28),
                            pick(&mut rng, MONTHS),
                            rng.gen_range(50..99)
                        ),
                    )
                    .say(", if that helps."),
                7 => b
                    .say("My NHS number is ")
                    .value(NhsNumber, &nhs(&mut rng))
                    .say("."),
                8 => b
                    .say("My national insurance number is ")
                    .value(Nino, &nino(&mut rng))
                    .say("."),
                9 => b
                    .say("My social security number is ")
                    .value(Ssn, &ssn(&mut rng))
                    .say("."),
                10 => b
                    .say("Can I pay with my card, it's ")
                    .value(CardNumber, &card(&mut rng))
                    .say("?"),
                11 => b
                    .say("The refund can go to IBAN ")
                    .value(Iban, pick(&mut rng, IBANS))
                    .say(" please."),
                12 => b
                    .say("I'm allergic to ")
                    .value(Allergy, pick(&mut rng, ALLERGENS))
                    .say(", so please note that."),
                13 => b
                    .say("I currently take ")
                    .value(Medication, pick(&mut rng, MEDICATIONS))
                    .say(" every morning."),
                14 => b
                    .say("I'm interested in ")
                    .value(Procedure, pick(&mut rng, PROCEDURES))
                    .say(" and want to know the price."),
                15 => b
                    .say("I had ")
                    .value(Procedure, pick(&mut rng, PROCEDURES))
                    .say(" last year but I also have ")
                    .value(MedicalCondition, pick(&mut rng, CONDITIONS))
                    .say("."),
                16 => b
                    .say("It's ")
                    .value(Person, &name)
                    .say(", my number is ")
                    .value(Phone, &us_phone(&mut rng))
                    .say("."),
                17 => b
                    .say("The appointment letter was dated ")
                    .value(
                        Date,
                        &format!("{} {} 2025", rng.gen_range(1..28), pick(&mut rng, MONTHS)),
                    )
                    .say("."),
                18 => b.say("I'd like to move my appointment to next week, is that possible?"),
                20 => b
                    .say("My order reference is ")
                    .say(&format!(
                        "401 {:03} {:04}",
                        rng.gen_range(200..999),
                        rng.gen_range(1000..9999)
                    ))
                    .say(", if you need it."),
                21 => b
                    .say("My friend ")
                    .value(Person, pick(&mut rng, FIRST))
                    .say(" recommended your clinic."),
                19 => b.say("Thanks so much, see you on Friday then."),
                _ => unreachable!(),
            }
            .done()
        })
        .collect()
}

/// Precision, recall and F1 of one type.
#[derive(Debug, Clone, Copy, Default)]
pub struct Score {
    pub tp: usize,
    pub fp: usize,
    pub fn_: usize,
}

impl Score {
    pub fn precision(&self) -> f64 {
        if self.tp + self.fp == 0 {
            1.0
        } else {
            self.tp as f64 / (self.tp + self.fp) as f64
        }
    }
    pub fn recall(&self) -> f64 {
        if self.tp + self.fn_ == 0 {
            1.0
        } else {
            self.tp as f64 / (self.tp + self.fn_) as f64
        }
    }
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
}

/// Runs the detector over the set; a detection counts when type and span match exactly.
pub fn evaluate(detector: &Detector, set: &[Labelled]) -> BTreeMap<EntityType, Score> {
    let mut scores: BTreeMap<EntityType, Score> = BTreeMap::new();
    for item in set {
        let found: Vec<(EntityType, usize, usize)> = detector
            .detect(&item.text, &Known::default())
            .into_iter()
            .map(|e| (e.kind, e.start, e.end))
            .collect();
        for f in &found {
            let s = scores.entry(f.0).or_default();
            if item.spans.contains(f) {
                s.tp += 1
            } else {
                s.fp += 1
            }
        }
        for l in &item.spans {
            if !found.contains(l) {
                scores.entry(l.0).or_default().fn_ += 1;
            }
        }
    }
    scores
}

/// The table as Markdown.
pub fn report(scores: &BTreeMap<EntityType, Score>) -> String {
    let mut out = String::from("| type | precision | recall | F1 | found right / wrong / missed |\n|---|---|---|---|---|\n");
    let mut total = Score::default();
    for (k, s) in scores {
        total.tp += s.tp;
        total.fp += s.fp;
        total.fn_ += s.fn_;
        out.push_str(&format!(
            "| {} | {:.2} | {:.2} | {:.2} | {} / {} / {} |\n",
            k.name(),
            s.precision(),
            s.recall(),
            s.f1(),
            s.tp,
            s.fp,
            s.fn_
        ));
    }
    out.push_str(&format!(
        "| all (micro) | {:.2} | {:.2} | {:.2} | {} / {} / {} |\n",
        total.precision(),
        total.recall(),
        total.f1(),
        total.tp,
        total.fp,
        total.fn_
    ));
    out
}

/// The types the generated sets label, in the order reports list them.
pub const SCORED: [EntityType; 8] = [
    EntityType::Person,
    EntityType::Email,
    EntityType::Phone,
    EntityType::Address,
    EntityType::CardNumber,
    EntityType::Ssn,
    EntityType::Iban,
    EntityType::IpAddress,
];

/// One of the generated sets (`dev` or `check`, written by `generate.py`).
pub fn load(name: &str) -> Vec<Labelled> {
    let path = format!("{}/tests/pii_eval/{name}.jsonl", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
            let spans = v["spans"]
                .as_array()
                .expect("spans")
                .iter()
                .map(|s| {
                    let kind: EntityType =
                        serde_json::from_value(s[0].clone()).expect("a known type");
                    let at = |i: usize| s[i].as_u64().expect("an offset") as usize;
                    (kind, at(1), at(2))
                })
                .collect();
            Labelled {
                text: v["text"].as_str().expect("text").to_string(),
                spans,
            }
        })
        .collect()
}

fn iou(a: (usize, usize), b: (usize, usize)) -> f64 {
    let inter = a.1.min(b.1).saturating_sub(a.0.max(b.0));
    let union = a.1.max(b.1) - a.0.min(b.0);
    if union == 0 {
        0.0
    } else {
        inter as f64 / union as f64
    }
}

/// What one utterance's detections and labels come to under the overlap rule: a detection of
/// a scored type is right when it has the label's type and overlaps one unmatched label by
/// IoU ≥ 0.5 (each label matched once); detections of other types are not scored.
pub struct Judged {
    pub right: Vec<(EntityType, usize, usize)>,
    pub wrong: Vec<(EntityType, usize, usize)>,
    pub missed: Vec<(EntityType, usize, usize)>,
}

pub fn judge(detector: &Detector, item: &Labelled) -> Judged {
    let found: Vec<(EntityType, usize, usize)> = detector
        .detect(&item.text, &Known::default())
        .into_iter()
        .filter(|e| SCORED.contains(&e.kind))
        .map(|e| (e.kind, e.start, e.end))
        .collect();
    let mut used = vec![false; item.spans.len()];
    let mut judged = Judged {
        right: Vec::new(),
        wrong: Vec::new(),
        missed: Vec::new(),
    };
    for f in found {
        let hit = item
            .spans
            .iter()
            .enumerate()
            .position(|(i, l)| !used[i] && l.0 == f.0 && iou((l.1, l.2), (f.1, f.2)) >= 0.5);
        match hit {
            Some(i) => {
                used[i] = true;
                judged.right.push(f);
            }
            None => judged.wrong.push(f),
        }
    }
    for (i, l) in item.spans.iter().enumerate() {
        if !used[i] {
            judged.missed.push(*l);
        }
    }
    judged
}

/// Per-type scores over a set under the overlap rule (see `judge`).
pub fn evaluate_overlap(detector: &Detector, set: &[Labelled]) -> BTreeMap<EntityType, Score> {
    let mut scores: BTreeMap<EntityType, Score> =
        SCORED.iter().map(|k| (*k, Score::default())).collect();
    for item in set {
        let j = judge(detector, item);
        for f in j.right {
            scores.entry(f.0).or_default().tp += 1;
        }
        for f in j.wrong {
            scores.entry(f.0).or_default().fp += 1;
        }
        for l in j.missed {
            scores.entry(l.0).or_default().fn_ += 1;
        }
    }
    scores
}

/// The mean of the per-type F1 scores.
pub fn macro_f1(scores: &BTreeMap<EntityType, Score>) -> f64 {
    scores.values().map(Score::f1).sum::<f64>() / scores.len().max(1) as f64
}
