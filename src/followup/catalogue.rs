//! A clinic's procedure catalogue: the appliance's defaults (the seeds' four guides) until the
//! clinic edits it, and the matcher that names the procedure a caller asked about.
//!
//! Matching reads the caller's own turns of the transcript (lines starting `User:`; the whole
//! text when it has no speaker labels), finds every catalogue phrase (names and synonyms) as
//! whole words, case-insensitively, preferring the longest phrase at a position ("liquid
//! rhinoplasty" is not "rhinoplasty"), and names the procedure mentioned most often (the
//! first mentioned on a tie). Negations are not read: "I don't want a nose job" still names
//! rhinoplasty. A negation reader that is right most of the time would send the wrong guide,
//! or none, some of the time; a guide the caller did not need costs less than a lead lost.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use super::records::ProcedureRecord;
use crate::domain::OrgId;

/// The outbound agent who signs follow-ups unless the procedure names another.
pub const DEFAULT_AGENT: &str = "sarah_outbound";

/// The seeds' four procedures, with the words callers use for them.
pub fn defaults(org: OrgId) -> Vec<ProcedureRecord> {
    let entries: [(&str, &[&str], &str); 4] = [
        (
            "Rhinoplasty",
            &["nose job", "nose reshaping", "nose surgery", "rhino"],
            "/guides/rhinoplasty-guide.pdf",
        ),
        (
            "Liquid Rhinoplasty",
            &[
                "liquid rhino",
                "non-surgical rhinoplasty",
                "non surgical nose job",
                "filler nose job",
            ],
            "/guides/liquid-rhino-guide.pdf",
        ),
        (
            "Facelift",
            &["face lift", "face-lift", "rhytidectomy"],
            "/guides/facelift-guide.pdf",
        ),
        (
            "Breast Augmentation",
            &[
                "boob job",
                "breast enlargement",
                "breast implants",
                "breast aug",
            ],
            "/guides/breast-aug-guide.pdf",
        ),
    ];
    entries
        .iter()
        .map(|(name, synonyms, guide)| ProcedureRecord {
            id: default_id(org, name),
            name: name.to_string(),
            synonyms: synonyms.iter().map(|s| s.to_string()).collect(),
            guide_link: guide.to_string(),
            sms_template: None,
            agent_name: None,
        })
        .collect()
}

/// A default procedure's id: the same for a clinic every time it is listed, until the
/// catalogue is first written (then it is stored under this id).
fn default_id(org: OrgId, name: &str) -> uuid::Uuid {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("procedure:{org}:{name}"));
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// The caller's words: their turns of a transcript with speaker labels, else all of it.
pub fn caller_turns(transcript: &str) -> String {
    let labelled = transcript.lines().any(|l| {
        let l = l.trim_start();
        l.starts_with("User:") || l.starts_with("AI:") || l.starts_with("Customer:")
    });
    if !labelled {
        return transcript.to_string();
    }
    transcript
        .lines()
        .filter_map(|l| {
            let l = l.trim_start();
            l.strip_prefix("User:")
                .or_else(|| l.strip_prefix("Customer:"))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Finds the procedures named in a text.
pub struct Matcher {
    automaton: Option<AhoCorasick>,
    /// Pattern index → procedure index.
    owner: Vec<usize>,
}

impl Matcher {
    pub fn new(catalogue: &[ProcedureRecord]) -> Matcher {
        let mut phrases = Vec::new();
        let mut owner = Vec::new();
        for (i, p) in catalogue.iter().enumerate() {
            for phrase in std::iter::once(&p.name).chain(p.synonyms.iter()) {
                let phrase = phrase.trim();
                if !phrase.is_empty() {
                    phrases.push(phrase.to_string());
                    owner.push(i);
                }
            }
        }
        let automaton = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostLongest)
            .build(&phrases)
            .ok();
        Matcher { automaton, owner }
    }

    /// The index (in the catalogue given to `new`) of the procedure `text` names most often.
    pub fn best(&self, text: &str) -> Option<usize> {
        let automaton = self.automaton.as_ref()?;
        let bytes = text.as_bytes();
        let word = |i: usize| bytes.get(i).is_some_and(|b| b.is_ascii_alphanumeric());
        let mut counts: Vec<(usize, usize, usize)> = Vec::new(); // (procedure, count, first)
        for m in automaton.find_iter(text) {
            if (m.start() > 0 && word(m.start() - 1)) || word(m.end()) {
                continue;
            }
            let p = self.owner[m.pattern().as_usize()];
            match counts.iter_mut().find(|c| c.0 == p) {
                Some(c) => c.1 += 1,
                None => counts.push((p, 1, m.start())),
            }
        }
        counts
            .into_iter()
            .max_by(|a, b| a.1.cmp(&b.1).then(b.2.cmp(&a.2)))
            .map(|c| c.0)
    }
}

/// The catalogue entry named `keyword` (a name or synonym, any case), as the seeds' webhook
/// and Vapi's structured data give it.
pub fn named<'a>(catalogue: &'a [ProcedureRecord], keyword: &str) -> Option<&'a ProcedureRecord> {
    let k = keyword.trim();
    catalogue
        .iter()
        .find(|p| {
            p.name.eq_ignore_ascii_case(k) || p.synonyms.iter().any(|s| s.eq_ignore_ascii_case(k))
        })
        .or_else(|| Matcher::new(catalogue).best(k).map(|i| &catalogue[i]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Option<String> {
        let c = defaults(OrgId::new_random());
        Matcher::new(&c).best(text).map(|i| c[i].name.clone())
    }

    #[test]
    fn the_longest_phrase_wins_and_words_must_be_whole() {
        assert_eq!(
            names("I'm interested in rhinoplasty").as_deref(),
            Some("Rhinoplasty")
        );
        assert_eq!(
            names("what does liquid rhinoplasty cost").as_deref(),
            Some("Liquid Rhinoplasty")
        );
        assert_eq!(
            names("thinking about a NOSE JOB").as_deref(),
            Some("Rhinoplasty")
        );
        assert_eq!(names("a facelift, maybe").as_deref(), Some("Facelift"));
        assert_eq!(names("rhinos at the zoo"), None);
        assert_eq!(names("just a check-up"), None);
    }

    #[test]
    fn the_procedure_named_most_often_wins() {
        assert_eq!(
            names("a facelift or a nose job? the nose job, the nose job for sure").as_deref(),
            Some("Rhinoplasty")
        );
    }

    #[test]
    fn only_the_callers_turns_count() {
        let t = "AI: We also do facelifts and rhinoplasty.\nUser: I'd like to ask about breast implants.";
        assert_eq!(caller_turns(t), " I'd like to ask about breast implants.");
        assert_eq!(
            names(&caller_turns(t)).as_deref(),
            Some("Breast Augmentation")
        );
    }

    #[test]
    fn a_keyword_is_found_by_name_or_synonym() {
        let c = defaults(OrgId::new_random());
        assert_eq!(named(&c, "Rhinoplasty").unwrap().name, "Rhinoplasty");
        assert_eq!(
            named(&c, "liquid rhino").unwrap().name,
            "Liquid Rhinoplasty"
        );
        assert!(named(&c, "tattoo removal").is_none());
    }
}
