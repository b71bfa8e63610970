//! Finding people's names in free text: the US Census name lists (plus our own given names and
//! given names of many origins), titles, initials and suffixes, and the words around a name
//! that say one is coming.
//!
//! Span convention: a title ("Dr.", "Mrs") and a suffix ("Jr.", "MD") belong to the name and
//! are inside its span, as in "Dr. Glen O'Connell MD"; a possessive "'s" is outside it.

use std::collections::HashSet;

use super::name_context::{self, Clues, NameContext, WordFacts};
use super::name_forms::{name_at, street_name_at, Strength, Word};
use super::name_reading::{NameLists, Reading, FREQUENT_SURNAME};
use super::name_shape;
use super::name_words::{
    calendar_word, ANY_LEAD_IN, KIN, LOWER_CASE_LEAD_INS, NAME_LEAD_INS, NOT_CALLED,
    PERSON_LEAD_INS, PLACE_AFTER, PLACE_BEFORE, STRONG_LEAD_INS, UNIT_WORDS,
};
use super::{EntityType, Finding};

/// Most words looked at for one name (title, given names, initials, surname, suffix): long
/// runs of capitalised words are read a window at a time.
const MAX_RUN: usize = 8;

/// A name the context model takes scores this: under every rule's score, so a finding the
/// rules are sure of wins an overlap.
const CONTEXT_MODEL_SCORE: f32 = 0.55;

/// A candidate the rules turned down: its byte span and the context model's features.
pub type TurnedDown = (usize, usize, Vec<(String, f32)>);

pub(super) struct People {
    lists: NameLists,
    context: NameContext,
}

impl People {
    pub(super) fn new(street_words: HashSet<&'static str>) -> Self {
        People {
            lists: NameLists::new(street_words),
            context: NameContext::new(),
        }
    }

    /// Names in `text`; `lower` is its ASCII lower case (same byte offsets).
    pub(super) fn find(&self, text: &str, lower: &str, found: &mut Vec<Finding>) {
        self.find_noting(text, lower, found, None);
    }

    /// As `find`, and every candidate the rules turned down and the context model was asked
    /// about (`Reading::asked`) is noted in `notes` with its features, whether or not the span
    /// is used in the end (for training the model).
    pub(super) fn find_noting(
        &self,
        text: &str,
        lower: &str,
        found: &mut Vec<Finding>,
        mut notes: Option<&mut Vec<TurnedDown>>,
    ) {
        let r = Reading::new(&self.lists, text, lower);
        let words = &r.words;
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
                && r.is_title(w)
                && text[w.end..].starts_with('.')
                && words
                    .get(i + 1)
                    .is_some_and(|n| n.capitalised && r.joined(w, n));
            if !w.capitalised && !lower_title {
                i = match lower_case_name(&r, i) {
                    Some((s, e, next)) => {
                        found.push((EntityType::Person, s, e, 0.75));
                        next
                    }
                    None => i + 1,
                };
                continue;
            }
            let run = run_from(&r, i);
            let run_end = *run.last().unwrap_or(&i);
            let mut taken = None;
            let mut model_taken = None;
            // The run's whole span when the rules turned it down as a name of unlisted or
            // name-shaped words: a given name the rules take at its end takes the words before
            // it too ("called Daoudi Hocine", "a huge Merzougui Mounir fan": family name first).
            let mut surname_first: Option<(usize, usize)> = None;
            for (pos, &start) in run.iter().enumerate() {
                // A name starts with a capital, not with its particle.
                if !(words[start].capitalised || (pos == 0 && lower_title)) {
                    continue;
                }
                // "South Deanna", "Port Lucy", "Lake Louise": a place.
                let place_word = |k: usize| PLACE_BEFORE.contains(&r.key(&words[k]));
                if (pos > 0 && place_word(run[pos - 1]))
                    || (run.len() > pos + 1 && place_word(start))
                {
                    continue;
                }
                let Some((s, e, strength)) =
                    r.with_name_tests(|tests| name_at(words, &run[pos..], tests))
                else {
                    continue;
                };
                let head = &words[start];
                if strength != Strength::CommonGiven {
                    held.push((s, e, start));
                }
                let own_line = r.line_start(head.start) && r.line_end(e);
                let around = Around {
                    label: r.speaker(s, e)
                        && !NOT_CALLED.contains(&r.key(head))
                        && (r.is_first(head) || r.is_shaped(head) || strength != Strength::Surname),
                    called: r.vocative(s, e),
                    opening: r.sentence_start(head.start),
                    led: r.lead_in(head.start, ANY_LEAD_IN),
                    strong: r.lead_in(head.start, &[STRONG_LEAD_INS]),
                    followed: r.follow_on(e),
                    own_line,
                    above_street: own_line && r.above_street(e),
                    person_lead_in: r.lead_in(head.start, &[PERSON_LEAD_INS, KIN]),
                };
                let ruled = match rule(&r, strength, start, e, &around) {
                    Ruled::Take(score) => Some(score),
                    Ruled::TurnedDown => None,
                    Ruled::Skip => continue,
                };
                // An organisation is not a person ("referred by Royal Free Hospital").
                if r.institution(s, e) || r.firm(s, e) {
                    continue;
                }
                if pos == 0
                    && ruled.is_none()
                    && matches!(strength, Strength::Shaped | Strength::Unlisted)
                    && !r.english(head)
                    && (r.is_last(head) || r.is_shaped(head))
                {
                    surname_first = Some((s, e));
                }
                let s = match surname_first {
                    Some((whole_s, whole_e))
                        if pos > 0
                            && whole_e == e
                            && ruled.is_some()
                            && strength == Strength::Given =>
                    {
                        whole_s
                    }
                    _ => s,
                };
                let span_words = &words[start..words.partition_point(|w| w.end <= e)];
                let score = match ruled {
                    Some(score) => score,
                    None if !r.asked(start, span_words) => continue,
                    // (Once the model has a span in this run, a later one would not be used: it
                    // is judged only for training notes.)
                    None if model_taken.is_some() && notes.is_none() => continue,
                    None => {
                        let features =
                            model_features(&r, (s, e), start, span_words, strength, &around);
                        let take = self.context.probability(&features) >= name_context::TAKE_AT;
                        if let Some(notes) = notes.as_deref_mut() {
                            let named = features
                                .iter()
                                .map(|f| (name_context::feature_name(f), f.2))
                                .collect();
                            notes.push((s, e, named));
                        }
                        // Taken only if the rules take nothing later in the run ("Ask Sigrún":
                        // the rules take "Sigrún").
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
        second_look(&r, first_found, found, &mut taken_spans);
        list_pass(&r, &held, found, &mut taken_spans);
        join_parts(&r, first_found, found);
    }
}

/// Two names found side by side that are one person's (from `first_found` on): a one-word
/// part after a name with only a space between ("Siti Bilir" and "Akça"; not a title), and
/// where a name is expected a family name, a comma, then a given name that
/// no list goes on after ("Patient: Nowak, Zofia", "referred by Kiška, Viltė"; not "Nowak,
/// Zofia and Piotr").
fn join_parts(r: &Reading, first_found: usize, found: &mut Vec<Finding>) {
    let mut people: Vec<usize> = (first_found..found.len())
        .filter(|&k| found[k].0 == EntityType::Person)
        .collect();
    people.sort_by_key(|&k| found[k].1);
    let one_word = |s: usize, e: usize| r.words.iter().find(|w| w.start == s && w.end == e);
    let mut gone = Vec::new();
    for pair in people.windows(2) {
        let (a, b) = (found[pair[0]], found[pair[1]]);
        let Some(gap) = r.text.get(a.2..b.1) else {
            continue;
        };
        let part = gap == " " && one_word(b.1, b.2).is_some_and(|w| !r.is_title(w));
        // Where a name is expected: a form's field (after a label or at a line's start) or
        // after a lead-in ("I'm", "referred by", "contact").
        let before = r.text[..a.1].trim_end_matches([' ', '\t']);
        let expected =
            before.is_empty() || before.ends_with([':', '\n']) || r.lead_in(a.1, ANY_LEAD_IN);
        // A list goes on after it: "and", "or", "&", or a comma and another given name.
        let after = &r.lower[b.2..];
        let next_given = r
            .words
            .iter()
            .find(|w| w.start == b.2 + 2)
            .is_some_and(|w| w.capitalised && r.is_first(w) && r.key(w) != "i");
        let list_goes_on = (after.starts_with(", ") && next_given)
            || [" and ", " or ", " & ", " y ", " et ", " und "]
                .iter()
                .any(|j| after.starts_with(j));
        let inverted = gap == ", "
            && expected
            && !list_goes_on
            && one_word(a.1, a.2).is_some_and(|w| !r.is_first(w))
            && one_word(b.1, b.2).is_some_and(|w| r.is_first(w));
        if part || inverted {
            found[pair[1]] = (EntityType::Person, a.1, b.2, a.3.max(b.3));
            gone.push(pair[0]);
        }
    }
    gone.sort_unstable();
    for k in gone.into_iter().rev() {
        found.remove(k);
    }
}

/// What the text says around a candidate, as the rules read it.
struct Around {
    /// A speaker's label ("Aino: …").
    label: bool,
    /// Called out at a sentence's start ("Catherine, can I…").
    called: bool,
    /// At a sentence's opening.
    opening: bool,
    /// Any lead-in before it.
    led: bool,
    /// A lead-in that says outright a name comes ("this is", "my name is").
    strong: bool,
    /// A follow-on after it ("… here", "Tanya's daughter").
    followed: bool,
    /// On a line of its own.
    own_line: bool,
    /// On a line of its own with a street's number below (a letter's head).
    above_street: bool,
    /// A lead-in that says a person, or a kinship word, before it.
    person_lead_in: bool,
}

/// What the rules make of a candidate.
enum Ruled {
    /// A name, this sure.
    Take(f32),
    /// Not by rule: the context model may be asked.
    TurnedDown,
    /// Not a name starting at this word: neither the firm tests nor the context model are asked,
    /// and the run's next word is tried.
    Skip,
}

/// How sure the rules are of a name of `strength` whose first word is `start` and whose span
/// ends at `e`, with `around` what stands around it.
fn rule(r: &Reading, strength: Strength, start: usize, e: usize, around: &Around) -> Ruled {
    let head = &r.words[start];
    let Around {
        label,
        called,
        opening,
        led,
        strong,
        followed,
        own_line,
        above_street,
        person_lead_in,
    } = *around;
    let take_if = |yes: bool, score: f32| {
        if yes {
            Ruled::Take(score)
        } else {
            Ruled::TurnedDown
        }
    };
    match strength {
        Strength::Titled | Strength::Full => Ruled::Take(if led || followed { 0.9 } else { 0.8 }),
        Strength::FullCommon => take_if(led || followed || own_line || !opening || label, 0.75),
        // At a sentence's opening only before a verb, and never "Will …"/"May …" ("In London
        // we…", "Will Jordan clinic…").
        Strength::FullCommonFrequent => {
            let modal = ["will", "may", "can"].contains(&r.key(head));
            take_if(
                led || followed || own_line || !opening || label || (!modal && r.before_verb(e)),
                0.75,
            )
        }
        // A name that is also a month, a day or a word needs a kinship word, "my name is" or a
        // question about its bearer ("my sister Hope"; not "it's June").
        Strength::CommonGiven => {
            // Or asked about: "Could Joy call me back?"
            let asked = r.after_auxiliary(head.start) && r.before_verb(e);
            if !calendar_word(r.key(head))
                && (r.lead_in(head.start, &[NAME_LEAD_INS, KIN]) || asked)
            {
                Ruled::Take(0.7)
            } else {
                Ruled::Skip
            }
        }
        // Title-case headings ("Booking Chain") look like these: only with a follow-on, a
        // label, a strong or person's lead-in, or another lead-in when the name is on a line of
        // its own or its first word looks like a name ("for Entertainment Weekly" is a
        // magazine).
        Strength::Surnamed => {
            if followed
                || label
                || strong
                || person_lead_in
                || (led && (own_line || r.is_shaped(head)))
            {
                Ruled::Take(0.75)
            } else {
                // "Can Lovro Kolić come…": a given name shaped like one.
                take_if(
                    r.is_shaped(head) && (own_line || (!opening && r.before_verb(e))),
                    0.7,
                )
            }
        }
        // "the Chelsea clinic", "I'm in Kent": a place, not a person.
        Strength::Given if r.after_place_word(head.start) => Ruled::Skip,
        Strength::Given => {
            if strong {
                Ruled::Take(0.85)
            } else if led || followed || own_line || !opening || label || called {
                Ruled::Take(0.7)
            } else {
                // "Robert called about …": a sentence that starts with a given name and goes on
                // in lower case.
                take_if(r.before_verb(e), 0.6)
            }
        }
        // Words no list holds, shaped like a name: where a name is expected ("this is Afruza
        // Zinnurova", "Sinikka Mäkinen speaking", a line of its own, "Can Oto Očenáš come…").
        Strength::Shaped => take_if(
            led || followed || own_line || label || (!opening && r.before_verb(e)),
            0.7,
        ),
        // Capitalised words no list holds and not shaped like names either: by rule only where
        // the caller says outright a name comes ("this is …", "… speaking").
        Strength::Unlisted => {
            let asked_about = r.after_auxiliary(head.start) && r.before_verb(e);
            take_if(
                strong
                    || followed
                    || person_lead_in
                    || above_street
                    || (own_line && led)
                    || asked_about,
                0.65,
            )
        }
        Strength::Surname | Strength::Unknown => {
            if strong || (strength == Strength::Surname && person_lead_in) {
                Ruled::Take(0.65)
            } else {
                // "Tell Jędrzej …", "Mofifoluwa here", "Thanks,\nGönen", "Could Ilkka call me
                // back?"
                take_if(
                    r.is_shaped(head)
                        && (person_lead_in
                            || followed
                            || label
                            || called
                            || above_street
                            || (own_line && led)
                            || (r.after_auxiliary(head.start) && r.before_verb(e))),
                    0.6,
                )
            }
        }
    }
}

/// The context model's features for the span `(s, e)`, its words `span_words` from the word
/// `start` on.
fn model_features(
    r: &Reading,
    (s, e): (usize, usize),
    start: usize,
    span_words: &[Word],
    strength: Strength,
    around: &Around,
) -> Vec<name_context::Feature> {
    let words = &r.words;
    let tail = &span_words[span_words.len() - 1];
    let facts = |w: &Word| WordFacts {
        first: r.is_first(w),
        last: r.is_last(w),
        common: r.is_common(w),
        frequent: r.frequent_surname(w),
        english: r.english(w),
        shape: r.shape_score(w),
        letters: r.text[w.start..w.end].chars().count(),
        ascii: r.text[w.start..w.end].is_ascii(),
    };
    let neighbour = |k: Option<usize>| {
        k.and_then(|k| words.get(k))
            .map(|w| &r.text[w.start..w.end])
    };
    let after = words.partition_point(|w| w.start < e);
    name_context::features(
        r.text,
        (s, e),
        strength.name(),
        span_words.len(),
        &facts(&words[start]),
        &facts(tail),
        &Clues {
            opening: around.opening,
            led: around.led,
            followed: around.followed,
            own_line: around.own_line,
            label: around.label,
            called: around.called,
            before_verb: r.before_verb(e),
            person_lead_in: around.person_lead_in,
            asked_about: r.after_auxiliary(words[start].start) && r.before_verb(e),
        },
        [
            neighbour(start.checked_sub(1)),
            neighbour(start.checked_sub(2)),
        ],
        neighbour(Some(after)),
    )
}

/// A name in lower case from the word `i`: only straight after a lead-in or a title ("i'm
/// brad lynn", "mrs smith"), or before "here" / "speaking". Its span and the word after it.
fn lower_case_name(r: &Reading, i: usize) -> Option<(usize, usize, usize)> {
    let words = &r.words;
    let w = &words[i];
    // A family name after a given name or a title: listed, or shaped like a name and no
    // English word ("anvar otabekov here", "ms. demirel").
    let family = |n: &Word| {
        n.end - n.start > 1
            && !r.is_common(n)
            && (r.is_last(n) || (!r.english(n) && r.shape_score(n) > name_shape::LOOKS_LIKE_A_NAME))
    };
    // (A family name no list holds only after a title that no number stands before: "5 ms
    // query" is a time.)
    let after_number = r.text[..w.start]
        .trim_end()
        .ends_with(|c: char| c.is_ascii_digit());
    let titled = r.is_title(w)
        && words.get(i + 1).is_some_and(|n| {
            r.joined(w, n)
                && !n.capitalised
                && (r.is_first(n)
                    || r.frequent_surname(n)
                    || (family(n) && !r.english(n) && !after_number && n.end - n.start > 2))
                && !r.is_common(n)
        });
    let given = r.is_first(w) && !r.is_common(w);
    // A lower-case initial with its full stop ("carla l. weber").
    let initial = |k: usize| {
        let n = &words[k];
        n.end - n.start == 1
            && r.text[n.start..].starts_with(|c: char| c.is_ascii_lowercase())
            && r.text[n.end..].starts_with('.')
    };
    let after_name = |k: usize| {
        let mut j = k + 1;
        while j < words.len()
            && j < k + 4
            && r.joined(&words[j - 1], &words[j])
            && !words[j].capitalised
        {
            if family(&words[j]) {
                j += 1;
            } else if initial(j)
                && words.get(j + 1).is_some_and(|n| {
                    !n.capitalised && &r.text[words[j].end..n.start] == ". " && family(n)
                })
            {
                j += 2;
            } else {
                break;
            }
        }
        j
    };
    // "could dennis call me back?": a question about someone, as speech to text writes it.
    let asked =
        r.after_auxiliary_in_any_case(w.start) && r.before_verb(words[after_name(i) - 1].end);
    if titled
        || (given
            && (r.lead_in(w.start, LOWER_CASE_LEAD_INS)
                || asked
                || r.follow_on(words[after_name(i) - 1].end)))
    {
        let from = if titled { i + 1 } else { i };
        let j = after_name(from);
        return Some((w.start, words[j - 1].end, j));
    }
    None
}

/// The run of capitalised words joined to the word `i` (at most `MAX_RUN`): suffixes join even
/// in capitals ("MD", "PhD"); particles when a capitalised word follows them ("de la Fleche").
fn run_from(r: &Reading, i: usize) -> Vec<usize> {
    let words = &r.words;
    let mut run = vec![i];
    while let Some(&k) = run.last() {
        if run.len() == MAX_RUN {
            break;
        }
        let particle_then_name = |p: usize| {
            let mut q = p;
            while q < words.len() && q < p + 2 && r.is_particle(&words[q]) {
                q += 1;
            }
            q > p
                && q < words.len()
                && words[q].capitalised
                && (p..q).all(|r2| r.joined(&words[r2], &words[r2 + 1]))
        };
        if k + 1 < words.len()
            && !UNIT_WORDS.contains(&r.key(&words[k + 1]))
            && (words[k + 1].capitalised || r.is_suffix(&words[k + 1]) || particle_then_name(k + 1))
            && r.joined(&words[k], &words[k + 1])
        {
            run.push(k + 1);
        } else {
            break;
        }
    }
    run
}

/// A name found (from `first_found` on) that is something else on a second look, unless the
/// words around it say a person (a strong or person's lead-in, a kinship word, a follow-on, a
/// speaker's label): a street's or a ship's name (`street_name_at`), a town ("Orlagh Ville"),
/// a title alone ("Sr" of "Sr. Juan"), two surnames joined and nothing else
/// ("Harrison-Williams", a firm; a given name among them counts only if it is not a frequent
/// surname too). Such names are taken out of `found` and `taken_spans`.
fn second_look(
    r: &Reading,
    first_found: usize,
    found: &mut Vec<Finding>,
    taken_spans: &mut Vec<(usize, usize)>,
) {
    let mut k = first_found;
    while k < found.len() {
        let (s, e) = (found[k].1, found[k].2);
        if not_a_person(r, s, e) {
            found.remove(k);
            taken_spans.retain(|&t| t != (s, e));
        } else {
            k += 1;
        }
    }
}

/// Whether the span `(s, e)` is something else on a second look (`second_look`).
fn not_a_person(r: &Reading, s: usize, e: usize) -> bool {
    let lists = r.lists;
    let words = &r.words;
    // (Words are in order: the span's are one slice of them.)
    let from = words.partition_point(|w| w.start < s);
    let span_words = &words[from..from + words[from..].partition_point(|w| w.end <= e)];
    let Some(head) = span_words.first() else {
        return false;
    };
    if span_words.len() == 1 && r.is_title(head) {
        return true;
    }
    let said_to_be_a_person =
        r.lead_in(s, &[STRONG_LEAD_INS, PERSON_LEAD_INS, KIN]) || r.follow_on(e) || r.speaker(s, e);
    if said_to_be_a_person || r.is_title(head) {
        return false;
    }
    let place_after = span_words.len() > 1
        && span_words
            .last()
            .is_some_and(|w| PLACE_AFTER.contains(&r.key(w)));
    let joined_surnames = span_words.len() == 1 && {
        let joined = r.key(head);
        joined.contains('-')
            && joined.split('-').all(|p| lists.last.contains_key(p))
            && !joined.split('-').any(|p| {
                lists.first.contains(p)
                    && lists
                        .last
                        .get(p)
                        .is_none_or(|&rank| rank >= FREQUENT_SURNAME)
            })
    };
    // A country's name or a part of one. A name that is a country's whole name stays a
    // person when it is a given name ("Chad", "Jordan"), or when its words are all names and
    // the country is so called only in another language ("Eben Solomon", "Nam Phi"; not "Sierra
    // Leone").
    let to = from + span_words.len();
    let country = r.in_country_name(from, to, 4, 5).is_some_and(|(a, b)| {
        let whole = a == from && b == to;
        let names = span_words.iter().all(|w| r.is_first(w) || r.is_last(w));
        !(whole
            && ((span_words.len() == 1 && r.is_first(head))
                || (names && !r.english_country_name(a, b))))
    });
    place_after || joined_surnames || country || street_name_at(r.text, r.lower, s)
}

/// A name turned down alone (`held`: a listed given name or a word shaped like one, no family
/// word) is one when it stands in a list with a name taken: joined to it by "and" or "&", or by
/// "to", "or" or a comma when it is a listed given name (a town follows a name after a comma
/// too, and "drive Anna to London").
fn list_pass(
    r: &Reading,
    held: &[(usize, usize, usize)],
    found: &mut Vec<Finding>,
    taken_spans: &mut Vec<(usize, usize)>,
) {
    // The link between two spans, if any: `Some(true)` when any name may follow it,
    // `Some(false)` when only a listed given name may.
    let link = |a: usize, b: usize| match r.lower.get(a..b)? {
        " and " | ", and " | " & " => Some(true),
        ", " | " or " | " to " => Some(false),
        _ => None,
    };
    let mut added = !taken_spans.is_empty();
    while added {
        added = false;
        for &(s, e, head) in held {
            let free = taken_spans.iter().all(|&(ts, te)| e <= ts || s >= te);
            let Some(any) = taken_spans
                .iter()
                .filter_map(|&(ts, te)| if te <= s { link(te, s) } else { link(e, ts) })
                .max()
            else {
                continue;
            };
            // The words themselves are asked about only once a link is there.
            let head = &r.words[head];
            let given = r.is_first(head);
            if free
                && (given || (any && r.is_shaped(head)))
                && !r.is_common(head)
                && !calendar_word(r.key(head))
                && !NOT_CALLED.contains(&r.key(head))
                && !KIN.contains(&r.key(head))
                && !r.institution(s, e)
                && !r.firm(s, e)
                && !not_a_person(r, s, e)
            {
                found.push((EntityType::Person, s, e, 0.6));
                taken_spans.push((s, e));
                added = true;
            }
        }
    }
}
