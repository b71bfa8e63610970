//! The words of a text as a name finder reads them, and the shapes a name takes in a run of
//! them: a title, given names, initials and particles, a surname, a suffix, and how sure the
//! words alone make it; and the street's name that looks like a person's.

use super::name_words::{ROAD_BEFORE_NAME, ROAD_JOINS};

#[derive(Debug, Clone, Copy)]
pub(super) struct Word {
    pub(super) start: usize,
    /// End of the name part (before a possessive 's).
    pub(super) end: usize,
    pub(super) capitalised: bool,
    /// A single capital letter, optionally followed by a full stop ("J.").
    pub(super) initial: bool,
}

/// Words: letters with inner apostrophes and hyphens; the byte range of each.
pub(super) fn words(text: &str) -> Vec<Word> {
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
            // An all-capitals word of two or more letters is an acronym ("AI", "SHA", "GELU's"),
            // not a name.
            // A contraction ("I'll", "Don't") is not a name either.
            capitalised: c.is_uppercase()
                && (single || text[i..name_end].chars().any(char::is_lowercase))
                && !text[i..name_end]
                    .split_once(['\'', '’'])
                    .is_some_and(|(_, after)| after.starts_with(char::is_lowercase)),
            initial,
        });
    }
    out
}

/// A name starting at the first of `run` (indexes into `words`): its byte span and how
/// sure the words alone make it.
pub(super) fn name_at(
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
        let end = if suffix_end.is_some() && core.last().is_some_and(|l| l.start == last.start) {
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
pub(super) type Test<'a> = &'a dyn Fn(&Word) -> bool;

#[derive(Clone, Copy)]
pub(super) struct NameTests<'a> {
    pub(super) is_title: Test<'a>,
    pub(super) is_suffix: Test<'a>,
    pub(super) is_first: Test<'a>,
    pub(super) is_last: Test<'a>,
    pub(super) is_common: Test<'a>,
    pub(super) is_street: Test<'a>,
    pub(super) street_only: Test<'a>,
    pub(super) frequent_surname: Test<'a>,
    pub(super) is_shaped: Test<'a>,
    pub(super) is_particle: Test<'a>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Strength {
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

impl Strength {
    /// The form's name, as the context model's features call it.
    pub(super) fn name(self) -> &'static str {
        match self {
            Strength::Titled => "Titled",
            Strength::Full => "Full",
            Strength::FullCommon => "FullCommon",
            Strength::FullCommonFrequent => "FullCommonFrequent",
            Strength::CommonGiven => "CommonGiven",
            Strength::Surnamed => "Surnamed",
            Strength::Shaped => "Shaped",
            Strength::Unlisted => "Unlisted",
            Strength::Given => "Given",
            Strength::Surname => "Surname",
            Strength::Unknown => "Unknown",
        }
    }
}

/// Whether the name starting at `s` is a street's or a ship's: a house number just before it
/// (three digits or more, or digits and a letter) when the name ends its line or sentence
/// ("8643 Manuel Rodríguez"), or a road's word of another language ("Av Tatiana Nogueira",
/// "Pasadizo de Viviana Salmerón", "USNV Mitchell").
pub(super) fn street_name_at(text: &str, lower: &str, s: usize) -> bool {
    let Some(before) = text[..s].strip_suffix(' ') else {
        return false;
    };
    let previous = |end: usize| {
        let from = text[..end]
            .rfind([' ', '\n', ',', '('])
            .map_or(0, |i| i + 1);
        (from, &lower[from..end])
    };
    let (from, word) = previous(before.len());
    // (Not a number among initials: "it's S M 3 Parin Losatapornpipit".)
    let after_initial = text[..from].strip_suffix(' ').is_some_and(|b| {
        let (_, w) = previous(b.len());
        w.len() == 1
    });
    // A house number has three digits or more, or a letter after its digits ("12b"), and the
    // name ends the line or is followed by a comma: "at 10 Anna will come", "call 2 John",
    // "1. John Smith" and "at 10am Anna" are not streets.
    let digits = word.bytes().take_while(u8::is_ascii_digit).count();
    let letters = &word[digits..];
    let house_number = (digits >= 3 && letters.is_empty())
        || (digits >= 1 && letters.len() == 1 && letters.bytes().all(|b| b.is_ascii_lowercase()));
    if house_number && !after_initial && ends_as_a_street(text, s) {
        return true;
    }
    let road = |w: &str| ROAD_BEFORE_NAME.contains(&w.trim_end_matches('.'));
    if road(word) {
        return true;
    }
    ROAD_JOINS.contains(&word)
        && text[..from]
            .strip_suffix(' ')
            .is_some_and(|b| road(previous(b.len()).1))
}

/// Whether the name at `s` runs to the end of its line or sentence, or to a comma, with only
/// capitalised words on the way (as a street's name does: "8643 Manuel Rodríguez, Olmué").
fn ends_as_a_street(text: &str, s: usize) -> bool {
    let rest = &text[s..];
    let end = rest
        .find(['\n', ',', '.', '!', '?', ';'])
        .unwrap_or(rest.len());
    rest[..end]
        .split_whitespace()
        .all(|w| w.starts_with(char::is_uppercase))
}
