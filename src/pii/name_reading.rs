//! One text as the name finder reads it: its words, what the name lists (`NameLists`) say of
//! each word, and what the text says around a place in it (a lead-in, a sentence's or a line's
//! start, a verb after, a firm's legal form, a speaker's label…).

use std::cell::Cell;
use std::collections::HashSet;

use rustc_hash::{FxHashMap, FxHashSet};

use super::addresses::LINE_MARKS;
use super::name_forms::{words, NameTests, Word};
use super::name_shape::{self, NameShape};
use super::name_words::{
    AUXILIARIES, FIRM_TAILS, FOLLOW_ONS, INSTITUTION_WORDS, KIN, LEGAL_FORMS_AFTER,
    LEGAL_FORMS_BEFORE, NOT_CALLED, PARTICLES, PERSON_VERBS, POSSESSED, SPEAKING_VERBS,
    STREET_ONLY, SUFFIXES, TITLES, TITLES_WITH_STOP,
};

const FIRST_NAMES: &str = include_str!("vocab/first_names.txt");
const SURNAMES: &str = include_str!("vocab/surnames.txt");
/// Given names of many origins the Census lists lack (`build_world_names.py`).
const FIRST_NAMES_WORLD: &str = include_str!("vocab/first_names_world.txt");
const COMMON_WORDS: &str = include_str!("vocab/common_words.txt");
const ENGLISH_NAMES: &str = include_str!("vocab/english_names.txt");
const COUNTRIES: &str = include_str!("vocab/countries.txt");
const COUNTRIES_IN_ENGLISH: &str = include_str!("vocab/countries_english.txt");

/// A surname this frequent (rank in the Census list) is a name even when it is also an
/// ordinary word ("Thomas Hall", "Joshua King"), after a given name.
pub(super) const FREQUENT_SURNAME: u32 = 2000;

/// The lists a text's words are looked up in, and the letter model.
pub(super) struct NameLists {
    pub(super) first: FxHashSet<&'static str>,
    /// Surname → its rank by frequency (0 is the most frequent).
    pub(super) last: FxHashMap<&'static str, u32>,
    common: FxHashSet<&'static str>,
    /// English words that are in the name lists or shaped like names ("lines", "staff").
    english: FxHashSet<&'static str>,
    /// Countries' names in Latin-script languages, lower case ("american samoa").
    countries: FxHashSet<&'static str>,
    /// The words of those names ("american", "samoa").
    country_words: FxHashSet<&'static str>,
    /// The countries' English names alone.
    countries_in_english: FxHashSet<&'static str>,
    street_words: HashSet<&'static str>,
    /// `TITLES` as a set: a title is asked about for nearly every word.
    titles: FxHashSet<&'static str>,
    shape: NameShape,
}

fn list(text: &'static str) -> impl Iterator<Item = &'static str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

impl NameLists {
    pub(super) fn new(street_words: HashSet<&'static str>) -> Self {
        NameLists {
            first: list(FIRST_NAMES).chain(list(FIRST_NAMES_WORLD)).collect(),
            last: list(SURNAMES).zip(0..).collect(),
            common: list(COMMON_WORDS).collect(),
            english: list(ENGLISH_NAMES).collect(),
            countries: list(COUNTRIES).collect(),
            // (Split as `words` reads a text.)
            country_words: list(COUNTRIES)
                .flat_map(|c| words(c).into_iter().map(move |w| &c[w.start..w.end]))
                .collect(),
            countries_in_english: list(COUNTRIES_IN_ENGLISH).collect(),
            street_words,
            titles: TITLES.iter().copied().collect(),
            shape: NameShape::new(),
        }
    }
}

/// A text, its ASCII lower case (same byte offsets), its words and the lists it is read with.
pub(super) struct Reading<'a> {
    pub(super) lists: &'a NameLists,
    pub(super) text: &'a str,
    pub(super) lower: &'a str,
    pub(super) words: Vec<Word>,
    /// Each word's letter score once computed (NaN: not yet): a word is asked about from every
    /// place in its run, and by the context model.
    scores: Vec<Cell<f32>>,
}

impl<'a> Reading<'a> {
    pub(super) fn new(lists: &'a NameLists, text: &'a str, lower: &'a str) -> Self {
        let words = words(text);
        let scores = vec![Cell::new(f32::NAN); words.len()];
        Reading {
            lists,
            text,
            lower,
            words,
            scores,
        }
    }

    /// The word in ASCII lower case (letters outside ASCII as written).
    pub(super) fn key(&self, w: &Word) -> &'a str {
        &self.lower[w.start..w.end]
    }

    pub(super) fn is_title(&self, w: &Word) -> bool {
        let k = self.key(w);
        self.lists.titles.contains(k)
            && (!TITLES_WITH_STOP.contains(&k) || self.text[w.end..].starts_with('.'))
    }

    pub(super) fn is_suffix(&self, w: &Word) -> bool {
        SUFFIXES.contains(&self.key(w).trim_end_matches('.'))
    }

    /// A word with letters outside ASCII is looked up as the lists spell it too: the name
    /// lists ("Jérôme" as "jerome", "Łukasz" as "lukasz") and the common words alike ("Rosé"
    /// is the word "rose", not the name).
    fn looked_up(&self, w: &Word, has: &dyn Fn(&str) -> bool) -> bool {
        let k = self.key(w);
        has(k) || (!k.is_ascii() && has(&deunicode::deunicode(k).to_ascii_lowercase()))
    }

    /// In a list, whole or (joined by hyphens) every part of it.
    fn in_list(&self, w: &Word, has: &dyn Fn(&str) -> bool) -> bool {
        self.looked_up(w, &|k| has(k) || (k.contains('-') && k.split('-').all(has)))
    }

    pub(super) fn is_first(&self, w: &Word) -> bool {
        self.in_list(w, &|k| self.lists.first.contains(k))
    }

    /// In the surname list, or O'Connell, D'Angelo: a capital after the apostrophe (not
    /// "I'll").
    pub(super) fn is_last(&self, w: &Word) -> bool {
        self.in_list(w, &|k| self.lists.last.contains_key(k))
            || self.text[w.start..w.end]
                .split_once(['\'', '’'])
                .is_some_and(|(_, after)| after.starts_with(char::is_uppercase))
    }

    pub(super) fn frequent_surname(&self, w: &Word) -> bool {
        self.lists
            .last
            .get(self.key(w))
            .is_some_and(|&rank| rank < FREQUENT_SURNAME)
    }

    pub(super) fn is_common(&self, w: &Word) -> bool {
        self.looked_up(w, &|k| self.lists.common.contains(k))
    }

    /// How much the word's letters look like a name's (`name_shape`).
    pub(super) fn shape_score(&self, w: &Word) -> f32 {
        let Ok(at) = self.words.binary_search_by_key(&w.start, |x| x.start) else {
            return self.lists.shape.score(self.key(w));
        };
        if self.scores[at].get().is_nan() {
            self.scores[at].set(self.lists.shape.score(self.key(w)));
        }
        self.scores[at].get()
    }

    /// A capitalised word that is no ordinary word and is shaped like a name ("Zinnurova").
    pub(super) fn is_shaped(&self, w: &Word) -> bool {
        w.capitalised
            && !w.initial
            && !self.is_common(w)
            && self.shape_score(w) > name_shape::LOOKS_LIKE_A_NAME
    }

    pub(super) fn is_particle(&self, w: &Word) -> bool {
        let k = self.key(w);
        k.len() <= 5
            && if k.is_ascii() {
                PARTICLES.iter().any(|p| p.eq_ignore_ascii_case(k))
            } else {
                PARTICLES.contains(&k.to_lowercase().as_str())
            }
    }

    pub(super) fn is_street(&self, w: &Word) -> bool {
        self.lists.street_words.contains(&self.text[w.start..w.end])
    }

    pub(super) fn street_only(&self, w: &Word) -> bool {
        STREET_ONLY.contains(&&self.text[w.start..w.end])
    }

    /// A name, or a word that looks like one, that is no ordinary word.
    pub(super) fn name_like(&self, w: &Word) -> bool {
        !self.is_common(w) && (self.is_first(w) || self.is_last(w) || self.is_shaped(w))
    }

    /// An English word (a joined word is English when any part is: "Hand-off", "No-Go").
    pub(super) fn english(&self, w: &Word) -> bool {
        self.looked_up(w, &|k| k.split('-').any(|p| self.lists.english.contains(p)))
    }

    /// The word tests `name_at` reads a run with.
    pub(super) fn with_name_tests<T>(&self, f: impl FnOnce(NameTests) -> T) -> T {
        f(NameTests {
            is_title: &|w| self.is_title(w),
            is_suffix: &|w| self.is_suffix(w),
            is_first: &|w| self.is_first(w),
            is_last: &|w| self.is_last(w),
            is_common: &|w| self.is_common(w),
            is_street: &|w| self.is_street(w),
            street_only: &|w| self.street_only(w),
            frequent_surname: &|w| self.frequent_surname(w),
            is_shaped: &|w| self.is_shaped(w),
            is_particle: &|w| self.is_particle(w),
        })
    }

    /// What lies between two words: a name continues over spaces, and over a full stop only
    /// after a title or an initial ("Dr. Glen", "J. Jefferson").
    pub(super) fn joined(&self, a: &Word, b: &Word) -> bool {
        let gap = &self.text[a.end..b.start];
        gap == " " || ((a.initial || self.is_title(a)) && (gap == ". " || gap == "."))
    }

    /// Up to 24 bytes of lower case before `at`, without the spaces and commas just before.
    fn before(&self, at: usize) -> &'a str {
        let mut from = at.saturating_sub(24);
        while !self.lower.is_char_boundary(from) {
            from -= 1;
        }
        self.lower[from..at].trim_end_matches(|c: char| c.is_whitespace() || c == ',')
    }

    /// One of the lead-ins in `sets` ends just before `at`, at a word's start.
    pub(super) fn lead_in(&self, at: usize, sets: &[&[&str]]) -> bool {
        let b = self.before(at);
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
    }

    pub(super) fn sentence_start(&self, at: usize) -> bool {
        self.text[..at]
            .trim_end_matches([' ', '"', '\''])
            .chars()
            .next_back()
            .is_none_or(|c| matches!(c, '.' | '!' | '?' | '\n' | ':'))
    }

    /// A verb a person does, in lower case, right after `at` ("… called", "… is").
    pub(super) fn before_verb(&self, at: usize) -> bool {
        let Some(rest) = self.lower[at..].strip_prefix(' ') else {
            return false;
        };
        if !self.text[at + 1..].starts_with(|c: char| c.is_ascii_lowercase()) {
            return false;
        }
        let next: &str = rest
            .split(|c: char| !(c.is_ascii_alphabetic() || c == '\''))
            .next()
            .unwrap_or("");
        PERSON_VERBS.contains(&next) || (next.len() > 3 && next.ends_with("ed"))
    }

    /// "the", "in", "at", "near" or "to" just before `at`, and not "to" or "at" after a verb
    /// of speaking, with or without a name between ("spoke to Sarah", "shouted at Mark", "said
    /// Enes to Pablo").
    pub(super) fn after_place_word(&self, at: usize) -> bool {
        let b = self.lower[..at].trim_end();
        ["the", "in", "at", "near", "to"].iter().any(|p| {
            b.ends_with(p)
                && b[..b.len() - p.len()]
                    .chars()
                    .next_back()
                    .is_none_or(|c| !c.is_alphanumeric())
                && !(matches!(*p, "to" | "at") && self.after_speaking(b.len() - p.len()))
        })
    }

    /// A verb of speaking ends the text before `at`, or comes just before a
    /// capitalised word that does ("said Enes").
    fn after_speaking(&self, at: usize) -> bool {
        let mut before = self.text[..at].trim_end().rsplit(' ');
        let Some(last) = before.next() else {
            return false;
        };
        let verb = |w: &str| SPEAKING_VERBS.contains(&w.to_ascii_lowercase().as_str());
        verb(last) || (last.starts_with(char::is_uppercase) && before.next().is_some_and(verb))
    }

    /// The word just before `at` opens a sentence and asks about someone ("Could …").
    pub(super) fn after_auxiliary(&self, at: usize) -> bool {
        self.auxiliary_before(at, true)
    }

    /// As `after_auxiliary`, the auxiliary in lower case too (speech to text: "could dennis
    /// call me back?").
    pub(super) fn after_auxiliary_in_any_case(&self, at: usize) -> bool {
        self.auxiliary_before(at, false)
    }

    fn auxiliary_before(&self, at: usize, capitalised: bool) -> bool {
        let Some(before) = self.text[..at].strip_suffix(' ') else {
            return false;
        };
        let word_start = before
            .char_indices()
            .rev()
            .take_while(|(_, c)| c.is_ascii_alphabetic())
            .last()
            .map_or(before.len(), |(i, _)| i);
        AUXILIARIES.contains(&&self.lower[word_start..before.len()])
            && (!capitalised
                || self.text[word_start..].starts_with(|c: char| c.is_ascii_uppercase()))
            && self.sentence_start(word_start)
    }

    /// An organisation's word anywhere in the span ("… Hospital").
    pub(super) fn institution(&self, s: usize, e: usize) -> bool {
        self.words
            .iter()
            .filter(|w| w.start >= s && w.end <= e)
            .any(|w| INSTITUTION_WORDS.contains(&self.key(w)))
    }

    /// A firm's legal form just after the words or just before them ("Jensen AB", "CV Agustina
    /// Pranowo"), or run into them ("Bach ApS"); partners joined by "&" that a legal form or a
    /// possessive closes; words after them that name a firm ("… et Associés", "… and Sons").
    pub(super) fn firm(&self, s: usize, e: usize) -> bool {
        let text = self.text;
        let span = &text[s..e];
        let (first, last) = (
            span.split(' ').next().unwrap_or(""),
            span.rsplit(' ').next().unwrap_or(""),
        );
        // (Not a surname that is also a form: "Nguyen Cao Ky", "Maria Co".)
        let surname = self
            .lists
            .last
            .contains_key(last.to_ascii_lowercase().as_str());
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
        // A legal form as written, with a full stop or a bracket after it, or a sentence's
        // full stop after one that ends in its own ("S.N.C..").
        let legal_form = |word: &str| {
            LEGAL_FORMS_AFTER.contains(&word)
                || LEGAL_FORMS_AFTER.contains(&word.trim_end_matches(['.', ')']))
                || (word.len() > 2
                    && word.ends_with("..")
                    && LEGAL_FORMS_AFTER.contains(&&word[..word.len() - 1]))
        };
        let possessive = |rest: &str| rest.starts_with("'s") || rest.starts_with("’s");
        fn first_word(rest: &str) -> &str {
            let rest = rest.trim_start_matches(' ');
            &rest[..rest
                .find(|c: char| c.is_whitespace() || c == ',')
                .unwrap_or(rest.len())]
        }
        // Partners joined by an ampersand when a legal form or a possessive closes the pair
        // ("Ravn & Danielsen A/S", "Yahia & Salhi's"; not "Mr & Mrs Smith", "Antti & Sonja").
        let partner_before = previous == "&" && possessive(&text[e..]);
        let partner_after = next == "&" && {
            let rest = after[1..].trim_start_matches(' ');
            let partner = first_word(rest);
            partner.ends_with("'s")
                || partner.ends_with("’s")
                || legal_form(first_word(&rest[partner.len()..]))
        };
        // A name then "and Sons", "et Associés", "e figli"… as a whole word.
        let tail = FIRM_TAILS.iter().any(|tail| {
            after.starts_with(tail) && !after[tail.len()..].starts_with(char::is_alphanumeric)
        });
        partner_before
            || partner_after
            || tail
            || legal_form(next)
            || LEGAL_FORMS_BEFORE.contains(&previous)
    }

    /// "Fares's kid", "Tanya's daughter": the possessive of a person.
    fn possessed(&self, e: usize) -> bool {
        let Some(rest) = ["'s ", "’s ", "' "]
            .iter()
            .find_map(|p| self.lower[e..].strip_prefix(p))
        else {
            return false;
        };
        let next = rest
            .split(|c: char| !c.is_ascii_alphabetic())
            .next()
            .unwrap_or("");
        KIN.contains(&next) || POSSESSED.contains(&next)
    }

    /// Words after a name that say it is one ("… here", "… speaking", "Tanya's daughter").
    pub(super) fn follow_on(&self, at: usize) -> bool {
        FOLLOW_ONS.iter().any(|f| self.lower[at..].starts_with(f)) || self.possessed(at)
    }

    /// A name called out at a sentence's start: "Catherine, can I…".
    pub(super) fn vocative(&self, s: usize, e: usize) -> bool {
        self.sentence_start(s)
            && !NOT_CALLED.contains(&&self.lower[s..e])
            && self.text[e..].strip_prefix(", ").is_some_and(|rest| {
                rest.starts_with(|c: char| c.is_lowercase())
                    || rest
                        .strip_prefix('I')
                        .is_some_and(|r| !r.starts_with(char::is_alphabetic))
            })
    }

    /// A line's start, after the marks of a quoted or listed line (`LINE_MARKS`).
    pub(super) fn line_start(&self, at: usize) -> bool {
        self.text[..at]
            .trim_end_matches([' ', '\t'])
            .trim_end_matches(LINE_MARKS)
            .trim_end_matches([' ', '\t'])
            .chars()
            .next_back()
            .is_none_or(|c| c == '\n')
    }

    pub(super) fn line_end(&self, at: usize) -> bool {
        self.text[at..]
            .trim_start_matches([' ', '\t', ',', '.'])
            .chars()
            .next()
            .is_none_or(|c| c == '\n' || c == '\r')
    }

    /// A speaker's label: a name opening its line, then a colon and what they said ("Lucio:
    /// \"Who are you?\"").
    pub(super) fn speaker(&self, s: usize, e: usize) -> bool {
        self.line_start(s)
            && self.text[e..].strip_prefix(':').is_some_and(|said| {
                said.trim_start_matches(' ')
                    .starts_with(|c: char| c.is_alphabetic() || matches!(c, '"' | '“' | '\''))
            })
    }

    /// After `e`, past spaces, line breaks and line marks, a house number and a capitalised word:
    /// with the span on a line of its own, a letter's or a label's first line above its street.
    pub(super) fn above_street(&self, e: usize) -> bool {
        let below = self.text[e..]
            .trim_start_matches(|c: char| c.is_whitespace() || LINE_MARKS.contains(&c));
        let number = below.trim_start_matches(|c: char| c.is_ascii_digit());
        number.len() < below.len()
            && number
                .trim_start_matches(|c: char| c.is_ascii_lowercase())
                .strip_prefix(' ')
                .is_some_and(|street| street.starts_with(char::is_uppercase))
    }

    /// Whether the context model is asked about a candidate the rules turned down (its first
    /// word `start`, its words `span`): when its first word is a name or looks like one (an
    /// English word only if listed: not "Contact Juan"), one of its words is such a word and no
    /// English word ("Database Schema", "Total Lines" are no question), and it is not a
    /// country's name or part of one ("Anguilla", "Equatorial Guinea").
    pub(super) fn asked(&self, start: usize, span: &[Word]) -> bool {
        let head = &self.words[start];
        self.name_like(head)
            && (!self.english(head) || self.is_first(head) || self.is_last(head))
            && span.iter().any(|w| self.name_like(w) && !self.english(w))
            && self
                .in_country_name(start, start + span.len(), 2, 3)
                .is_none()
    }

    /// The words `from..to` (indices) within a country's name in a Latin-script language that
    /// starts at most `before` words before them and ends at most `after` words after ("Sierra
    /// Leone", "America" of "United States of America", "Georgia" of "Južná Georgia a Južné
    /// Sandwichove ostrovy"): the name's word range, if so.
    pub(super) fn in_country_name(
        &self,
        from: usize,
        to: usize,
        before: usize,
        after: usize,
    ) -> Option<(usize, usize)> {
        let words = &self.words;
        if from >= to || to > words.len() {
            return None;
        }
        // Only words of some country's name can be in one (a word outside ASCII is looked
        // for in full: its lower case need not split as the list's does).
        let country_word = |w: &Word| {
            let k = self.key(w);
            !k.is_ascii() || self.lists.country_words.contains(k)
        };
        if !words[from..to].iter().all(country_word) {
            return None;
        }
        (from.saturating_sub(before)..=from).find_map(|a| {
            (to..=(to + after).min(words.len()))
                .find(|&b| {
                    let (s, e) = (words[a].start, words[b - 1].end);
                    if self.text[s..e].is_ascii() {
                        self.lists.countries.contains(&self.lower[s..e])
                    } else {
                        self.lists
                            .countries
                            .contains(self.text[s..e].to_lowercase().as_str())
                    }
                })
                .map(|b| (a, b))
        })
    }

    /// Whether the words `a..b` are a country's English name.
    pub(super) fn english_country_name(&self, a: usize, b: usize) -> bool {
        let (s, e) = (self.words[a].start, self.words[b - 1].end);
        self.lists
            .countries_in_english
            .contains(self.text[s..e].to_lowercase().as_str())
    }
}
