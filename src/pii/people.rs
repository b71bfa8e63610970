//! Finding people's names in free text: the US Census name lists (plus our own given names),
//! titles, initials and suffixes, and the words around a name that say one is coming.
//!
//! Span convention: a title ("Dr.", "Mrs") and a suffix ("Jr.", "MD") belong to the name and
//! are inside its span, as in "Dr. Glen O'Connell MD"; a possessive "'s" is outside it.

use std::collections::HashSet;

use rustc_hash::{FxHashMap, FxHashSet};

use super::addresses::LINE_MARKS;
use super::name_context::{self, Clues, NameContext, WordFacts};
use super::name_forms::{name_at, street_name_at, words, NameTests, Strength, Word};
use super::name_shape::{self, NameShape};
use super::name_words::{
    calendar_word, ANY_LEAD_IN, AUXILIARIES, FOLLOW_ONS, INSTITUTION_WORDS, KIN, LEGAL_FORMS_AFTER,
    LEGAL_FORMS_BEFORE, LOWER_CASE_LEAD_INS, NAME_LEAD_INS, NOT_CALLED, PARTICLES, PERSON_LEAD_INS,
    PERSON_VERBS, PLACE_AFTER, PLACE_BEFORE, POSSESSED, STREET_ONLY, STRONG_LEAD_INS, SUFFIXES,
    TITLES, TITLES_WITH_STOP, UNIT_WORDS,
};
use super::{EntityType, Finding};

const FIRST_NAMES: &str = include_str!("vocab/first_names.txt");
const SURNAMES: &str = include_str!("vocab/surnames.txt");
const COMMON_WORDS: &str = include_str!("vocab/common_words.txt");
const ENGLISH_NAMES: &str = include_str!("vocab/english_names.txt");
const COUNTRIES: &str = include_str!("vocab/countries.txt");

/// Most words looked at for one name (title, given names, initials, surname, suffix): long
/// runs of capitalised words are read a window at a time.
const MAX_RUN: usize = 8;

/// A surname this frequent (rank in the Census list) is a name even when it is also an
/// ordinary word ("Thomas Hall", "Joshua King"), after a given name.
const FREQUENT_SURNAME: u32 = 2000;

/// A name the context model takes scores this: under every rule's score, so a finding the
/// rules are sure of wins an overlap.
const CONTEXT_MODEL_SCORE: f32 = 0.55;

/// A candidate the rules turned down: its byte span and the context model's features.
pub type TurnedDown = (usize, usize, Vec<(String, f32)>);

pub(super) struct People {
    first: FxHashSet<&'static str>,
    /// Surname → its rank by frequency (0 is the most frequent).
    last: FxHashMap<&'static str, u32>,
    common: FxHashSet<&'static str>,
    /// English words that are in the name lists or shaped like names ("lines", "staff").
    english: FxHashSet<&'static str>,
    /// Countries' names in Latin-script languages, lower case ("american samoa").
    countries: FxHashSet<&'static str>,
    street_words: HashSet<&'static str>,
    /// `TITLES` as a set: a title is asked about for nearly every word.
    titles: FxHashSet<&'static str>,
    shape: NameShape,
    context: NameContext,
}

fn list(text: &'static str) -> impl Iterator<Item = &'static str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

impl People {
    pub(super) fn new(street_words: HashSet<&'static str>) -> Self {
        People {
            first: list(FIRST_NAMES).collect(),
            last: list(SURNAMES).zip(0..).collect(),
            common: list(COMMON_WORDS).collect(),
            english: list(ENGLISH_NAMES).collect(),
            countries: list(COUNTRIES).collect(),
            street_words,
            titles: TITLES.iter().copied().collect(),
            shape: NameShape::new(),
            context: NameContext::new(),
        }
    }

    /// Names in `text`; `lower` is its ASCII lower case (same byte offsets).
    pub(super) fn find(&self, text: &str, lower: &str, found: &mut Vec<Finding>) {
        self.find_noting(text, lower, found, None);
    }

    /// As `find`, and every candidate the rules turned down and the context model was asked
    /// about (`asked`) is noted in `notes` with its features, whether or not the span is used in
    /// the end (for training the model).
    pub(super) fn find_noting(
        &self,
        text: &str,
        lower: &str,
        found: &mut Vec<Finding>,
        mut notes: Option<&mut Vec<TurnedDown>>,
    ) {
        let words = words(text);
        let key = |w: &Word| -> &str { &lower[w.start..w.end] };
        let is_title = |w: &Word| {
            let k = key(w);
            self.titles.contains(k)
                && (!TITLES_WITH_STOP.contains(&k) || text[w.end..].starts_with('.'))
        };
        let is_suffix = |w: &Word| SUFFIXES.contains(&key(w).trim_end_matches('.'));
        // A word with letters outside ASCII is looked up as the lists spell it too: the name
        // lists ("Jérôme" as "jerome", "Łukasz" as "lukasz") and the common words alike ("Rosé"
        // is the word "rose", not the name).
        let looked_up = |w: &Word, has: &dyn Fn(&str) -> bool| {
            let k = key(w);
            has(k) || (!k.is_ascii() && has(&deunicode::deunicode(k).to_ascii_lowercase()))
        };
        let in_list = |w: &Word, has: &dyn Fn(&str) -> bool| {
            looked_up(w, &|k| has(k) || (k.contains('-') && k.split('-').all(has)))
        };
        let is_first = |w: &Word| in_list(w, &|k| self.first.contains(k));
        // O'Connell, D'Angelo: a capital after the apostrophe (not "I'll").
        let is_last = |w: &Word| {
            in_list(w, &|k| self.last.contains_key(k))
                || text[w.start..w.end]
                    .split_once(['\'', '’'])
                    .is_some_and(|(_, after)| after.starts_with(char::is_uppercase))
        };
        let frequent_surname = |w: &Word| {
            self.last
                .get(key(w))
                .is_some_and(|&rank| rank < FREQUENT_SURNAME)
        };
        let is_common = |w: &Word| looked_up(w, &|k| self.common.contains(k));
        // A capitalised word that is no ordinary word and is shaped like a name ("Zinnurova").
        // Each word's letters are scored once (NaN: not yet): a word is asked about from every
        // place in its run, and by the context model.
        let scores: Vec<std::cell::Cell<f32>> = vec![std::cell::Cell::new(f32::NAN); words.len()];
        let shape_score = |w: &Word| {
            let Ok(at) = words.binary_search_by_key(&w.start, |x| x.start) else {
                return self.shape.score(key(w));
            };
            if scores[at].get().is_nan() {
                scores[at].set(self.shape.score(key(w)));
            }
            scores[at].get()
        };
        let is_shaped = |w: &Word| {
            w.capitalised
                && !w.initial
                && !is_common(w)
                && shape_score(w) > name_shape::LOOKS_LIKE_A_NAME
        };
        let is_particle = |w: &Word| {
            let k = key(w);
            k.len() <= 5
                && if k.is_ascii() {
                    PARTICLES.iter().any(|p| p.eq_ignore_ascii_case(k))
                } else {
                    PARTICLES.contains(&k.to_lowercase().as_str())
                }
        };
        let is_street = |w: &Word| self.street_words.contains(&text[w.start..w.end]);
        let street_only = |w: &Word| STREET_ONLY.contains(&&text[w.start..w.end]);
        // What lies between two words: a name continues over spaces, and over a full stop
        // only after a title or an initial ("Dr. Glen", "J. Jefferson").
        let joined = |a: &Word, b: &Word| {
            let gap = &text[a.end..b.start];
            gap == " " || ((a.initial || is_title(a)) && (gap == ". " || gap == "."))
        };
        let before = |at: usize| {
            let mut from = at.saturating_sub(24);
            while !lower.is_char_boundary(from) {
                from -= 1;
            }
            lower[from..at].trim_end_matches(|c: char| c.is_whitespace() || c == ',')
        };
        let lead_in = |at: usize, sets: &[&[&str]]| {
            let b = before(at);
            let Some(&last) = b.as_bytes().last() else {
                return false;
            };
            // The last byte first: most lead-ins end otherwise, and need no comparison.
            sets.iter().flat_map(|set| set.iter()).any(|l| {
                l.as_bytes().last() == Some(&last)
                    && b.ends_with(l)
                    && b[..b.len() - l.len()]
                        .chars()
                        .next_back()
                        .is_none_or(|c| !c.is_alphanumeric())
            })
        };
        let sentence_start = |at: usize| {
            text[..at]
                .trim_end_matches([' ', '"', '\''])
                .chars()
                .next_back()
                .is_none_or(|c| matches!(c, '.' | '!' | '?' | '\n' | ':'))
        };
        let before_verb = |at: usize| {
            let Some(rest) = lower[at..].strip_prefix(' ') else {
                return false;
            };
            if !text[at + 1..].starts_with(|c: char| c.is_ascii_lowercase()) {
                return false;
            }
            let next: &str = rest
                .split(|c: char| !(c.is_ascii_alphabetic() || c == '\''))
                .next()
                .unwrap_or("");
            PERSON_VERBS.contains(&next) || (next.len() > 3 && next.ends_with("ed"))
        };
        let after_place_word = |at: usize| {
            let b = lower[..at].trim_end();
            ["the", "in", "at", "near", "to"].iter().any(|p| {
                b.ends_with(p)
                    && b[..b.len() - p.len()]
                        .chars()
                        .next_back()
                        .is_none_or(|c| !c.is_alphanumeric())
            })
        };
        // The word just before `at` opens a sentence and asks about someone ("Could …").
        let after_auxiliary = |at: usize| {
            let Some(before) = text[..at].strip_suffix(' ') else {
                return false;
            };
            let word_start = before
                .char_indices()
                .rev()
                .take_while(|(_, c)| c.is_ascii_alphabetic())
                .last()
                .map_or(before.len(), |(i, _)| i);
            AUXILIARIES.contains(&&lower[word_start..before.len()])
                && text[word_start..].starts_with(|c: char| c.is_ascii_uppercase())
                && sentence_start(word_start)
        };
        // An organisation's word anywhere in the span ("… Hospital").
        let institution = |s: usize, e: usize| {
            words
                .iter()
                .filter(|w| w.start >= s && w.end <= e)
                .any(|w| INSTITUTION_WORDS.contains(&key(w)))
        };
        // A firm's legal form just after the words or just before them ("Jensen AB", "CV
        // Agustina Pranowo"), or run into them ("Bach ApS").
        let firm = |s: usize, e: usize| {
            let span = &text[s..e];
            let (first, last) = (
                span.split(' ').next().unwrap_or(""),
                span.rsplit(' ').next().unwrap_or(""),
            );
            // (Not a surname that is also a form: "Nguyen Cao Ky", "Maria Co".)
            let surname = self.last.contains_key(last.to_ascii_lowercase().as_str());
            if span.contains(' ')
                && ((LEGAL_FORMS_AFTER.contains(&last) && !surname)
                    || LEGAL_FORMS_BEFORE.contains(&first))
            {
                return true;
            }
            let after = text[e..].trim_start_matches(' ');
            let next = &after[..after
                .find(|c: char| c.is_whitespace() || c == ',')
                .unwrap_or(after.len())];
            let previous = text[..s]
                .trim_end()
                .rsplit(char::is_whitespace)
                .next()
                .unwrap_or("");
            LEGAL_FORMS_AFTER.contains(&next)
                || LEGAL_FORMS_AFTER.contains(&next.trim_end_matches(['.', ')']))
                || LEGAL_FORMS_BEFORE.contains(&previous)
        };
        // "Fares's kid", "Tanya's daughter": the possessive of a person.
        let possessed = |e: usize| {
            let Some(rest) = ["'s ", "’s ", "' "]
                .iter()
                .find_map(|p| lower[e..].strip_prefix(p))
            else {
                return false;
            };
            let next = rest
                .split(|c: char| !c.is_ascii_alphabetic())
                .next()
                .unwrap_or("");
            KIN.contains(&next) || POSSESSED.contains(&next)
        };
        let follow_on =
            |at: usize| FOLLOW_ONS.iter().any(|f| lower[at..].starts_with(f)) || possessed(at);
        // A name called out at a sentence's start: "Catherine, can I…".
        let vocative = |s: usize, e: usize| {
            sentence_start(s)
                && !NOT_CALLED.contains(&&lower[s..e])
                && text[e..].strip_prefix(", ").is_some_and(|rest| {
                    rest.starts_with(|c: char| c.is_lowercase())
                        || rest
                            .strip_prefix('I')
                            .is_some_and(|r| !r.starts_with(char::is_alphabetic))
                })
        };
        // A line's start, after the marks of a quoted or listed line (`LINE_MARKS`).
        let line_start = |at: usize| {
            text[..at]
                .trim_end_matches([' ', '\t'])
                .trim_end_matches(LINE_MARKS)
                .trim_end_matches([' ', '\t'])
                .chars()
                .next_back()
                .is_none_or(|c| c == '\n')
        };
        let line_end = |at: usize| {
            text[at..]
                .trim_start_matches([' ', '\t', ',', '.'])
                .chars()
                .next()
                .is_none_or(|c| c == '\n' || c == '\r')
        };

        // A speaker's label: a name opening its line, then a colon and what they said
        // ("Lucio: \"Who are you?\"").
        let speaker = |s: usize, e: usize| {
            line_start(s)
                && text[e..].strip_prefix(':').is_some_and(|said| {
                    said.trim_start_matches(' ')
                        .starts_with(|c: char| c.is_alphabetic() || matches!(c, '"' | '“' | '\''))
                })
        };
        // Whether the context model is asked about a candidate the rules turned down (its
        // first word `start`, its words `span`): when its first word is a name or looks like
        // one (an English word only if listed: not "Contact Juan"), one of its words is such a
        // word and no English word ("Database Schema", "Total Lines" are no question), and it
        // is not a country's name or part of one ("Anguilla", "Equatorial Guinea").
        let name_like = |w: &Word| !is_common(w) && (is_first(w) || is_last(w) || is_shaped(w));
        // (A joined word is English when any part is: "Hand-off", "No-Go".)
        let english = |w: &Word| looked_up(w, &|k| k.split('-').any(|p| self.english.contains(p)));
        let asked = |start: usize, span: &[Word]| {
            let head = &words[start];
            let end = start + span.len();
            let country = || {
                (start.saturating_sub(2)..=start).any(|a| {
                    (end..=(end + 3).min(words.len())).any(|b| {
                        let (from, to) = (words[a].start, words[b - 1].end);
                        if text[from..to].is_ascii() {
                            self.countries.contains(&lower[from..to])
                        } else {
                            self.countries
                                .contains(text[from..to].to_lowercase().as_str())
                        }
                    })
                })
            };
            name_like(head)
                && (!english(head) || is_first(head) || is_last(head))
                && span.iter().any(|w| name_like(w) && !english(w))
                && !country()
        };
        // Names turned down alone, which a name beside them may take ("said Antti to Sonja",
        // "Tarja, Ville and Aino"); and the names taken.
        let mut held: Vec<(usize, usize, usize)> = Vec::new();
        let mut taken_spans: Vec<(usize, usize)> = Vec::new();
        let first_found = found.len();
        let mut i = 0;
        while i < words.len() {
            let w = &words[i];
            // A title in lower case, written short with its full stop, before a capitalised name
            // ("dr. Laras Widiastuti") opens the name as a capitalised one does ("miss London"
            // does not).
            let lower_title = !w.capitalised
                && is_title(w)
                && text[w.end..].starts_with('.')
                && words
                    .get(i + 1)
                    .is_some_and(|n| n.capitalised && joined(w, n));
            if !w.capitalised && !lower_title {
                // Lower case: only straight after a lead-in or a title ("i'm brad lynn",
                // "mrs smith"), or before "here" / "speaking".
                let titled = is_title(w)
                    && words.get(i + 1).is_some_and(|n| {
                        joined(w, n)
                            && !n.capitalised
                            && (is_first(n) || frequent_surname(n))
                            && !is_common(n)
                    });
                let given = is_first(w) && !is_common(w);
                let after_name = |k: usize| {
                    let mut j = k + 1;
                    while j < words.len()
                        && j < k + 3
                        && joined(&words[j - 1], &words[j])
                        && !words[j].capitalised
                        && is_last(&words[j])
                        && !is_common(&words[j])
                    {
                        j += 1;
                    }
                    j
                };
                if titled
                    || (given
                        && (lead_in(w.start, LOWER_CASE_LEAD_INS)
                            || follow_on(words[after_name(i) - 1].end)))
                {
                    let from = if titled { i + 1 } else { i };
                    let j = after_name(from);
                    found.push((EntityType::Person, w.start, words[j - 1].end, 0.75));
                    i = j;
                    continue;
                }
                i += 1;
                continue;
            }
            // The run of capitalised words joined to this one.
            let mut run = vec![i];
            while let Some(&k) = run.last() {
                if run.len() == MAX_RUN {
                    break;
                }
                // Suffixes join even in capitals ("MD", "PhD"); particles when a capitalised
                // word follows them ("de la Fleche").
                let particle_then_name = |p: usize| {
                    let mut q = p;
                    while q < words.len() && q < p + 2 && is_particle(&words[q]) {
                        q += 1;
                    }
                    q > p
                        && q < words.len()
                        && words[q].capitalised
                        && (p..q).all(|r| joined(&words[r], &words[r + 1]))
                };
                if k + 1 < words.len()
                    && !UNIT_WORDS.contains(&key(&words[k + 1]))
                    && (words[k + 1].capitalised
                        || is_suffix(&words[k + 1])
                        || particle_then_name(k + 1))
                    && joined(&words[k], &words[k + 1])
                {
                    run.push(k + 1);
                } else {
                    break;
                }
            }
            let run_end = *run.last().unwrap_or(&i);
            let mut taken = None;
            let mut model_taken = None;
            for (pos, &start) in run.iter().enumerate() {
                // A name starts with a capital, not with its particle.
                if !(words[start].capitalised || (pos == 0 && lower_title)) {
                    continue;
                }
                // "South Deanna", "Port Lucy", "Lake Louise": a place.
                let place_word = |k: usize| PLACE_BEFORE.contains(&key(&words[k]));
                if (pos > 0 && place_word(run[pos - 1]))
                    || (run.len() > pos + 1 && place_word(start))
                {
                    continue;
                }
                if let Some(span) = name_at(
                    &words,
                    &run[pos..],
                    NameTests {
                        is_title: &is_title,
                        is_suffix: &is_suffix,
                        is_first: &is_first,
                        is_last: &is_last,
                        is_common: &is_common,
                        is_street: &is_street,
                        street_only: &street_only,
                        frequent_surname: &frequent_surname,
                        is_shaped: &is_shaped,
                        is_particle: &is_particle,
                    },
                ) {
                    let (s, e, strength) = span;
                    let head = &words[start];
                    if strength != Strength::CommonGiven {
                        held.push((s, e, start));
                    }
                    let label = speaker(s, e)
                        && !NOT_CALLED.contains(&key(head))
                        && (is_first(head) || is_shaped(head) || strength != Strength::Surname);
                    let called = vocative(s, e);
                    let opening = sentence_start(words[start].start);
                    let led = lead_in(words[start].start, ANY_LEAD_IN);
                    let strong = lead_in(words[start].start, &[STRONG_LEAD_INS]);
                    let followed = follow_on(e);
                    let own_line = line_start(words[start].start) && line_end(e);
                    // A letter's or label's first line, with the street's number below it.
                    let above_street = own_line && {
                        let below = text[e..].trim_start_matches(|c: char| {
                            c.is_whitespace() || LINE_MARKS.contains(&c)
                        });
                        let number = below.trim_start_matches(|c: char| c.is_ascii_digit());
                        number.len() < below.len()
                            && number
                                .trim_start_matches(|c: char| c.is_ascii_lowercase())
                                .strip_prefix(' ')
                                .is_some_and(|street| street.starts_with(char::is_uppercase))
                    };
                    let person_lead_in = lead_in(words[start].start, &[PERSON_LEAD_INS, KIN]);
                    let ruled = match strength {
                        Strength::Titled | Strength::Full => {
                            if led || followed {
                                Some(0.9)
                            } else {
                                Some(0.8)
                            }
                        }
                        Strength::FullCommon => {
                            if led || followed || own_line || !opening || label {
                                Some(0.75)
                            } else {
                                None
                            }
                        }
                        // At a sentence's opening only before a verb, and never "Will …"/"May …"
                        // ("In London we…", "Will Jordan clinic…").
                        Strength::FullCommonFrequent => {
                            let modal = ["will", "may", "can"].contains(&key(&words[start]));
                            if led
                                || followed
                                || own_line
                                || !opening
                                || label
                                || (!modal && before_verb(e))
                            {
                                Some(0.75)
                            } else {
                                None
                            }
                        }
                        // A name that is also a month, a day or a word needs a kinship word or
                        // "my name is" ("my sister Hope"; not "it's June").
                        Strength::CommonGiven => {
                            if !calendar_word(key(&words[start]))
                                && lead_in(words[start].start, &[NAME_LEAD_INS, KIN])
                            {
                                Some(0.7)
                            } else {
                                continue;
                            }
                        }
                        // Title-case headings ("Booking Chain") look like these: only with a
                        // follow-on, a label, a strong or person's lead-in, or another lead-in
                        // when the name is on a line of its own or its first word looks like a
                        // name ("for Entertainment Weekly" is a magazine).
                        Strength::Surnamed => {
                            if followed
                                || label
                                || strong
                                || person_lead_in
                                || (led && (own_line || is_shaped(&words[start])))
                            {
                                Some(0.75)
                            } else if is_shaped(&words[start])
                                && (own_line || (!opening && before_verb(e)))
                            {
                                // "Can Lovro Kolić come…": a given name shaped like one.
                                Some(0.7)
                            } else {
                                None
                            }
                        }
                        // "the Chelsea clinic", "I'm in Kent": a place, not a person.
                        Strength::Given if after_place_word(words[start].start) => continue,
                        Strength::Given => {
                            if strong {
                                Some(0.85)
                            } else if led || followed || own_line || !opening || label || called {
                                Some(0.7)
                            } else if before_verb(e) {
                                // "Robert called about …": a sentence that starts with a given
                                // name and goes on in lower case.
                                Some(0.6)
                            } else {
                                None
                            }
                        }
                        // Words no list holds, shaped like a name: where a name is expected
                        // ("this is Afruza Zinnurova", "Sinikka Mäkinen speaking", a line of
                        // its own, "Can Oto Očenáš come…").
                        Strength::Shaped => {
                            if led || followed || own_line || label || (!opening && before_verb(e))
                            {
                                Some(0.7)
                            } else {
                                None
                            }
                        }
                        // Capitalised words no list holds and not shaped like names either:
                        // by rule only where the caller says outright a name comes ("this is …",
                        // "… speaking").
                        Strength::Unlisted => {
                            let asked_about = after_auxiliary(words[start].start) && before_verb(e);
                            if strong
                                || followed
                                || person_lead_in
                                || above_street
                                || (own_line && led)
                                || asked_about
                            {
                                Some(0.65)
                            } else {
                                None
                            }
                        }
                        Strength::Surname | Strength::Unknown => {
                            if strong || (strength == Strength::Surname && person_lead_in) {
                                Some(0.65)
                            } else if is_shaped(&words[start])
                                && (person_lead_in
                                    || followed
                                    || label
                                    || called
                                    || above_street
                                    || (own_line && led)
                                    || (after_auxiliary(words[start].start) && before_verb(e)))
                            {
                                // "Tell Jędrzej …", "Mofifoluwa here", "Thanks,\nGönen",
                                // "Could Ilkka call me back?"
                                Some(0.6)
                            } else {
                                None
                            }
                        }
                    };
                    // An organisation is not a person ("referred by Royal Free Hospital").
                    if institution(s, e) || firm(s, e) {
                        continue;
                    }
                    let span_words = &words[start..words.partition_point(|w| w.end <= e)];
                    let score = match ruled {
                        Some(score) => score,
                        None if !asked(start, span_words) => continue,
                        // (Once the model has a span in this run, a later one would not be
                        // used: it is judged only for training notes.)
                        None if model_taken.is_some() && notes.is_none() => continue,
                        None => {
                            let tail = &span_words[span_words.len() - 1];
                            let facts = |w: &Word| WordFacts {
                                first: is_first(w),
                                last: is_last(w),
                                common: is_common(w),
                                frequent: frequent_surname(w),
                                english: english(w),
                                shape: shape_score(w),
                                letters: text[w.start..w.end].chars().count(),
                                ascii: text[w.start..w.end].is_ascii(),
                            };
                            let neighbour = |k: Option<usize>| {
                                k.and_then(|k| words.get(k)).map(|w| &text[w.start..w.end])
                            };
                            let after = words.partition_point(|w| w.start < e);
                            let features = name_context::features(
                                text,
                                (s, e),
                                strength.name(),
                                span_words.len(),
                                &facts(&words[start]),
                                &facts(tail),
                                &Clues {
                                    opening,
                                    led,
                                    followed,
                                    own_line,
                                    label,
                                    called,
                                    before_verb: before_verb(e),
                                    person_lead_in,
                                    asked_about: after_auxiliary(words[start].start)
                                        && before_verb(e),
                                },
                                [
                                    neighbour(start.checked_sub(1)),
                                    neighbour(start.checked_sub(2)),
                                ],
                                neighbour(Some(after)),
                            );
                            let take = self.context.probability(&features) >= name_context::TAKE_AT;
                            if let Some(notes) = notes.as_deref_mut() {
                                let named = features
                                    .iter()
                                    .map(|f| (name_context::feature_name(f), f.2))
                                    .collect();
                                notes.push((s, e, named));
                            }
                            // Taken only if the rules take nothing later in the run ("Ask
                            // Sigrún": the rules take "Sigrún").
                            if take && model_taken.is_none() {
                                model_taken = Some((s, e));
                            }
                            continue;
                        }
                    };
                    found.push((EntityType::Person, s, e, score));
                    taken_spans.push((s, e));
                    taken = Some(e);
                    break;
                }
            }
            if let (None, Some((s, e))) = (taken, model_taken) {
                found.push((EntityType::Person, s, e, CONTEXT_MODEL_SCORE));
                taken_spans.push((s, e));
                taken = Some(e);
            }
            i = match taken {
                Some(e) => i + words[i..].partition_point(|w| w.start < e),
                None => run_end + 1,
            };
        }
        // A name found that is something else on a second look, unless the words around it
        // say a person (a strong or person's lead-in, a kinship word, a follow-on, a speaker's
        // label): a street's or a ship's name (`street_name_at`), a town ("Orlagh Ville"), a
        // title alone ("Sr" of "Sr. Juan"), two surnames joined and nothing else
        // ("Harrison-Williams", a firm; a given name among them counts only if it is not a
        // frequent surname too).
        let not_a_person = |s: usize, e: usize| {
            // (Words are in order: the span's are one slice of them.)
            let from = words.partition_point(|w| w.start < s);
            let span_words = &words[from..from + words[from..].partition_point(|w| w.end <= e)];
            let Some(head) = span_words.first() else {
                return false;
            };
            if span_words.len() == 1 && is_title(head) {
                return true;
            }
            let said_to_be_a_person = lead_in(s, &[STRONG_LEAD_INS, PERSON_LEAD_INS, KIN])
                || follow_on(e)
                || speaker(s, e);
            if said_to_be_a_person || is_title(head) {
                return false;
            }
            let place_after = span_words.len() > 1
                && span_words
                    .last()
                    .is_some_and(|w| PLACE_AFTER.contains(&key(w)));
            let joined_surnames = span_words.len() == 1 && {
                let joined = key(head);
                joined.contains('-')
                    && joined.split('-').all(|p| self.last.contains_key(p))
                    && !joined.split('-').any(|p| {
                        self.first.contains(p)
                            && self
                                .last
                                .get(p)
                                .is_none_or(|&rank| rank >= FREQUENT_SURNAME)
                    })
            };
            place_after || joined_surnames || street_name_at(text, lower, s)
        };
        let mut k = first_found;
        while k < found.len() {
            let (s, e) = (found[k].1, found[k].2);
            if not_a_person(s, e) {
                found.remove(k);
                taken_spans.retain(|&t| t != (s, e));
            } else {
                k += 1;
            }
        }
        // A name turned down alone (a listed given name or a word shaped like one, no family
        // word) is one when it stands in a list with a name taken: joined to it by "and" or
        // "&", or by "to", "or" or a comma when it is a listed given name (a town follows a
        // name after a comma too, and "drive Anna to London").
        // The link between two spans, if any: `Some(true)` when any name may follow it,
        // `Some(false)` when only a listed given name may.
        let link = |a: usize, b: usize| match lower.get(a..b)? {
            " and " | ", and " | " & " => Some(true),
            ", " | " or " | " to " => Some(false),
            _ => None,
        };
        let mut added = !taken_spans.is_empty();
        while added {
            added = false;
            for &(s, e, head) in &held {
                let free = taken_spans.iter().all(|&(ts, te)| e <= ts || s >= te);
                let Some(any) = taken_spans
                    .iter()
                    .filter_map(|&(ts, te)| if te <= s { link(te, s) } else { link(e, ts) })
                    .max()
                else {
                    continue;
                };
                // The words themselves are asked about only once a link is there.
                let head = &words[head];
                let given = is_first(head);
                if free
                    && (given || (any && is_shaped(head)))
                    && !is_common(head)
                    && !calendar_word(key(head))
                    && !NOT_CALLED.contains(&key(head))
                    && !KIN.contains(&key(head))
                    && !institution(s, e)
                    && !firm(s, e)
                    && !not_a_person(s, e)
                {
                    found.push((EntityType::Person, s, e, 0.6));
                    taken_spans.push((s, e));
                    added = true;
                }
            }
        }
    }
}
