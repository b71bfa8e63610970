//! Finding people's names in free text: the US Census name lists (plus our own given names),
//! titles, initials and suffixes, and the words around a name that say one is coming.
//!
//! Span convention: a title ("Dr.", "Mrs") and a suffix ("Jr.", "MD") belong to the name and
//! are inside its span, as in "Dr. Glen O'Connell MD"; a possessive "'s" is outside it.

use std::collections::{HashMap, HashSet};

use super::name_shape::NameShape;
use super::name_words::{
    calendar_word, ANY_LEAD_IN, AUXILIARIES, FOLLOW_ONS, INSTITUTION_WORDS, KIN,
    LOWER_CASE_LEAD_INS, NAME_LEAD_INS, PARTICLES, PERSON_LEAD_INS, PERSON_VERBS, STREET_ONLY,
    STRONG_LEAD_INS, SUFFIXES, TITLES,
};
use super::EntityType;

const FIRST_NAMES: &str = include_str!("vocab/first_names.txt");
const SURNAMES: &str = include_str!("vocab/surnames.txt");
const COMMON_WORDS: &str = include_str!("vocab/common_words.txt");

/// A finding before overlaps are resolved: type, byte start, byte end, score.
pub(super) type Finding = (EntityType, usize, usize, f32);

/// Most words looked at for one name (title, given names, initials, surname, suffix): long
/// runs of capitalised words are read a window at a time.
const MAX_RUN: usize = 8;

/// A surname this frequent (rank in the Census list) is a name even when it is also an
/// ordinary word ("Thomas Hall", "Joshua King"), after a given name.
const FREQUENT_SURNAME: u32 = 2000;

pub(super) struct People {
    first: HashSet<&'static str>,
    /// Surname → its rank by frequency (0 is the most frequent).
    last: HashMap<&'static str, u32>,
    common: HashSet<&'static str>,
    street_words: HashSet<&'static str>,
    shape: NameShape,
}

fn list(text: &'static str) -> impl Iterator<Item = &'static str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

#[derive(Debug, Clone, Copy)]
struct Word {
    start: usize,
    /// End of the name part (before a possessive 's).
    end: usize,
    capitalised: bool,
    /// A single capital letter, optionally followed by a full stop ("J.").
    initial: bool,
}

/// Words: letters with inner apostrophes and hyphens; the byte range of each.
fn words(text: &str) -> Vec<Word> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if !c.is_alphabetic() {
            continue;
        }
        let mut end = i + c.len_utf8();
        while let Some(&(j, d)) = chars.peek() {
            if d.is_alphabetic() {
                end = j + d.len_utf8();
                chars.next();
            } else if matches!(d, '\'' | '’' | '-') {
                // Inner only: the next character must be a letter.
                let after = text[j + d.len_utf8()..].chars().next();
                if after.is_some_and(char::is_alphabetic) {
                    chars.next();
                } else {
                    break;
                }
            } else {
                break;
            }
        }
        let mut name_end = end;
        for tail in ["'s", "’s"] {
            if text[i..end].ends_with(tail) && end - i > tail.len() + 1 {
                name_end = end - tail.len();
            }
        }
        let single = end - i == c.len_utf8();
        let initial = single && c.is_uppercase() && bytes.get(end) == Some(&b'.')
            || single && c.is_ascii_uppercase() && c != 'I' && c != 'A';
        out.push(Word {
            start: i,
            end: name_end,
            // An all-capitals word of two or more letters is an acronym ("AI", "SHA"), not a name.
            // A contraction ("I'll", "Don't") is not a name either.
            capitalised: c.is_uppercase()
                && (single || text[i..end].chars().any(char::is_lowercase))
                && !text[i..name_end]
                    .split_once(['\'', '’'])
                    .is_some_and(|(_, after)| after.starts_with(char::is_lowercase)),
            initial,
        });
    }
    out
}

impl People {
    pub(super) fn new(street_words: HashSet<&'static str>) -> Self {
        People {
            first: list(FIRST_NAMES).collect(),
            last: list(SURNAMES).zip(0..).collect(),
            common: list(COMMON_WORDS).collect(),
            street_words,
            shape: NameShape::new(),
        }
    }

    /// Names in `text`; `lower` is its ASCII lower case (same byte offsets).
    pub(super) fn find(&self, text: &str, lower: &str, found: &mut Vec<Finding>) {
        let words = words(text);
        let key = |w: &Word| -> &str { &lower[w.start..w.end] };
        let is_title = |w: &Word| TITLES.contains(&key(w));
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
        // A capitalised word no list holds that is shaped like a name ("Zinnurova").
        // Scored once a word (0 not yet, 1 no, 2 yes): a word is asked about from every
        // place in its run.
        let shaped: Vec<std::cell::Cell<u8>> = vec![std::cell::Cell::new(0); words.len()];
        let is_shaped = |w: &Word| {
            if !w.capitalised || w.initial || is_common(w) {
                return false;
            }
            let Ok(at) = words.binary_search_by_key(&w.start, |x| x.start) else {
                return false;
            };
            if shaped[at].get() == 0 {
                shaped[at].set(1 + u8::from(self.shape.looks_like_a_name(key(w))));
            }
            shaped[at].get() == 2
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
            sets.iter().flat_map(|set| set.iter()).any(|l| {
                b.ends_with(l)
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
        let follow_on = |at: usize| FOLLOW_ONS.iter().any(|f| lower[at..].starts_with(f));
        let line_start = |at: usize| {
            text[..at]
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

        let mut i = 0;
        while i < words.len() {
            let w = &words[i];
            if !w.capitalised {
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
            for (pos, &start) in run.iter().enumerate() {
                // A name starts with a capital, not with its particle.
                if !words[start].capitalised {
                    continue;
                }
                if let Some(span) = self.name_at(
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
                    let opening = sentence_start(words[start].start);
                    let led = lead_in(words[start].start, ANY_LEAD_IN);
                    let strong = lead_in(words[start].start, &[STRONG_LEAD_INS]);
                    let followed = follow_on(e);
                    let own_line = line_start(words[start].start) && line_end(e);
                    let person_lead_in = lead_in(words[start].start, &[PERSON_LEAD_INS, KIN]);
                    let score = match strength {
                        Strength::Titled | Strength::Full => {
                            if led || followed {
                                0.9
                            } else {
                                0.8
                            }
                        }
                        Strength::FullCommon => {
                            if led || followed || own_line || !opening {
                                0.75
                            } else {
                                continue;
                            }
                        }
                        // At a sentence's opening only before a verb, and never "Will …"/"May …"
                        // ("In London we…", "Will Jordan clinic…").
                        Strength::FullCommonFrequent => {
                            let modal = ["will", "may", "can"].contains(&key(&words[start]));
                            if led || followed || own_line || !opening || (!modal && before_verb(e))
                            {
                                0.75
                            } else {
                                continue;
                            }
                        }
                        // A name that is also a month, a day or a word needs a kinship word or
                        // "my name is" ("my sister Hope"; not "it's June").
                        Strength::CommonGiven => {
                            if !calendar_word(key(&words[start]))
                                && lead_in(words[start].start, &[NAME_LEAD_INS, KIN])
                            {
                                0.7
                            } else {
                                continue;
                            }
                        }
                        // Title-case headings ("Booking Chain") look like these: only with a
                        // lead-in or a follow-on.
                        Strength::Surnamed => {
                            if led || followed {
                                0.75
                            } else if is_shaped(&words[start])
                                && (own_line || (!opening && before_verb(e)))
                            {
                                // "Can Lovro Kolić come…": a given name shaped like one.
                                0.7
                            } else {
                                continue;
                            }
                        }
                        // "the Chelsea clinic", "I'm in Kent": a place, not a person.
                        Strength::Given if after_place_word(words[start].start) => continue,
                        Strength::Given => {
                            if strong {
                                0.85
                            } else if led || followed || own_line || !opening {
                                0.7
                            } else if before_verb(e) {
                                // "Robert called about …": a sentence that starts with a given
                                // name and goes on in lower case.
                                0.6
                            } else {
                                continue;
                            }
                        }
                        // Words no list holds, shaped like a name: where a name is expected
                        // ("this is Afruza Zinnurova", "Sinikka Mäkinen speaking", a line of
                        // its own, "Can Oto Očenáš come…").
                        Strength::Shaped => {
                            if led || followed || own_line || (!opening && before_verb(e)) {
                                0.7
                            } else {
                                continue;
                            }
                        }
                        // Capitalised words no list holds and not shaped like names either:
                        // only where the caller says outright a name comes ("this is …",
                        // "… speaking").
                        Strength::Unlisted => {
                            let asked_about = after_auxiliary(words[start].start) && before_verb(e);
                            if strong
                                || followed
                                || person_lead_in
                                || (own_line && led)
                                || asked_about
                            {
                                0.65
                            } else {
                                continue;
                            }
                        }
                        Strength::Surname | Strength::Unknown => {
                            if strong {
                                0.65
                            } else if is_shaped(&words[start])
                                && (person_lead_in
                                    || followed
                                    || (own_line && led)
                                    || (after_auxiliary(words[start].start) && before_verb(e)))
                            {
                                // "Tell Jędrzej …", "Mofifoluwa here", "Thanks,\nGönen",
                                // "Could Ilkka call me back?"
                                0.6
                            } else {
                                continue;
                            }
                        }
                    };
                    // An organisation is not a person ("referred by Royal Free Hospital").
                    if institution(s, e) {
                        continue;
                    }
                    found.push((EntityType::Person, s, e, score));
                    taken = Some(e);
                    break;
                }
            }
            i = match taken {
                Some(e) => i + words[i..].partition_point(|w| w.start < e),
                None => run_end + 1,
            };
        }
    }

    /// A name starting at the first of `run` (indexes into `words`): its byte span and how
    /// sure the words alone make it.
    fn name_at(
        &self,
        words: &[Word],
        run: &[usize],
        t: NameTests<'_>,
    ) -> Option<(usize, usize, Strength)> {
        let first = &words[run[0]];
        let mut core = run;
        let titled = (t.is_title)(first);
        if titled {
            core = &run[1..];
        }
        // Suffixes close a name; drop them from the core.
        let mut suffix_end = None;
        while core.len() > 1 && (t.is_suffix)(&words[core[core.len() - 1]]) {
            suffix_end.get_or_insert(words[core[core.len() - 1]].end);
            core = &core[..core.len() - 1];
        }
        // Four name words, and up to two particles among them ("Joep P. van de Kooij").
        let core: Vec<&Word> = core.iter().take(6).map(|&k| &words[k]).collect();
        let head = core.first()?;
        let span = |last: &Word, strength| {
            let end = if suffix_end.is_some() && core.last().is_some_and(|l| l.start == last.start)
            {
                suffix_end.unwrap_or(last.end)
            } else {
                last.end
            };
            Some((first.start, end, strength))
        };
        if head.initial && !titled {
            return None;
        }
        if titled {
            if (t.is_common)(head) && !(t.is_first)(head) && !(t.is_last)(head) {
                return None;
            }
            // Up to three name words after the title, and particles among them ("Dr. Maria
            // de la Cruz"); a name ends on a capitalised word, never on "de".
            let last = core
                .iter()
                .take(5)
                .rposition(|w| {
                    (!(t.is_common)(w) || (t.is_last)(w)) && (w.capitalised || !(t.is_particle)(w))
                })
                .map(|k| core[k])?;
            return span(last, Strength::Titled);
        }
        // Given name, optional middle names or initials, surname.
        if core.len() >= 2 {
            let middles_ok = |k: usize| {
                core[1..k].iter().all(|m| {
                    m.initial
                        || (t.is_first)(m)
                        || (t.is_last)(m)
                        || (t.is_shaped)(m)
                        || (t.is_particle)(m)
                })
            };
            let surname = |w: &Word| {
                // A particle in capitals can be a surname ("Anna Du", "Jean Le").
                !w.initial
                    && w.capitalised
                    && !(t.street_only)(w)
                    && (!(t.is_common)(w) || (t.frequent_surname)(w))
                    && (!(t.is_street)(w) || (t.is_last)(w))
            };
            let Some(k) = (1..core.len())
                .rev()
                .find(|&k| surname(core[k]) && middles_ok(k))
            else {
                // No surname after it ("Tell Derrick I called"): the given name alone, unless
                // the next word makes it a street ("Neil Oval").
                return ((t.is_first)(head) && !(t.is_common)(head) && !(t.is_street)(core[1]))
                    .then_some((first.start, head.end, Strength::Given));
            };
            let last = core[k];
            let head_given = (t.is_first)(head);
            let head_common = (t.is_common)(head);
            if head_given && !head_common {
                return span(last, Strength::Full);
            }
            if (t.is_last)(last) && !(t.is_common)(last) {
                if head_given && (t.frequent_surname)(last) && !(t.is_street)(last) {
                    return span(last, Strength::FullCommonFrequent);
                }
                if head_given {
                    return span(last, Strength::FullCommon);
                }
                if !head_common && !(t.is_street)(last) {
                    return span(last, Strength::Surnamed);
                }
            }
            // Given name and surname both shaped like names, or one listed and the other
            // shaped ("Latreche Anissa"), neither a street word.
            let named = |w: &Word| {
                ((t.is_first)(w) || (t.is_last)(w) || (t.is_shaped)(w))
                    && !(t.is_common)(w)
                    && !(t.is_street)(w)
            };
            if named(head) && named(last) && ((t.is_shaped)(head) || (t.is_shaped)(last)) {
                return span(last, Strength::Shaped);
            }
            let plain = |w: &Word| !(t.is_common)(w) && !(t.is_street)(w);
            if plain(head) && plain(last) {
                return span(last, Strength::Unlisted);
            }
            return None;
        }
        if (t.is_first)(head) && !(t.is_common)(head) {
            return span(head, Strength::Given);
        }
        if (t.is_common)(head) {
            return (t.is_first)(head).then_some((first.start, head.end, Strength::CommonGiven));
        }
        if (t.is_last)(head) {
            return span(head, Strength::Surname);
        }
        span(head, Strength::Unknown)
    }
}

type Test<'a> = &'a dyn Fn(&Word) -> bool;

#[derive(Clone, Copy)]
struct NameTests<'a> {
    is_title: Test<'a>,
    is_suffix: Test<'a>,
    is_first: Test<'a>,
    is_last: Test<'a>,
    is_common: Test<'a>,
    is_street: Test<'a>,
    street_only: Test<'a>,
    frequent_surname: Test<'a>,
    is_shaped: Test<'a>,
    is_particle: Test<'a>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Strength {
    /// After a title: "Dr. Miller", "Mrs Jane Hood".
    Titled,
    /// A given name that is no ordinary word, then a surname: "Kathryn J. Jefferson".
    Full,
    /// A given name that is also an ordinary word, then a listed surname: "Will Jones".
    FullCommon,
    /// As `FullCommon` with a frequent surname that is no street word: "Grace Kelly".
    FullCommonFrequent,
    /// A given name that is also an ordinary word, alone: "Hope" (after "my sister").
    CommonGiven,
    /// A word in no given-name list, then a listed surname: "Callum O'Sullivan".
    Surnamed,
    /// Two or more words shaped like names, not all listed: "Afruza Zinnurova".
    Shaped,
    /// Two or more capitalised words in no list, not all shaped like names: "Ratchanon
    /// Pothanun".
    Unlisted,
    /// A given name alone: "Derrick".
    Given,
    /// A surname alone: "Jefferson".
    Surname,
    /// A capitalised word in no list.
    Unknown,
}
