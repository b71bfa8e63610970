//! A second opinion on capitalised words the name rules turned down for want of context: a
//! logistic model over what the words are (name lists, letter shape, length) and what stands
//! around them (the function words and punctuation either side, the clues the rules read),
//! trained by `vocab/build_name_context.py` on the development sets' turned-down candidates.

use rustc_hash::FxHashMap;

const MODEL: &str = include_str!("vocab/name_context.tsv");

/// A turned-down candidate whose model probability reaches this is taken as a name: chosen on
/// the development sets (`build_name_context.py` prints what each threshold adds there).
pub(super) const TAKE_AT: f32 = 0.8;

/// English words that carry grammar rather than content: the model reads the word before and
/// after a candidate by itself only when it is one of these (any other word only by its
/// form), so that what it learns is how English puts a name in a sentence, not a template's
/// vocabulary.
const FUNCTION_WORDS: &[&str] = &[
    "to", "from", "at", "by", "with", "for", "of", "in", "on", "about", "than", "under", "like",
    "as", "into", "after", "before", "between", "without", "through", "over", "the", "a", "an",
    "this", "that", "these", "those", "my", "your", "his", "her", "our", "their", "its", "i",
    "you", "he", "she", "it", "we", "they", "me", "him", "us", "them", "who", "whom", "whose",
    "what", "which", "is", "was", "are", "were", "be", "been", "being", "has", "have", "had",
    "will", "would", "can", "could", "should", "may", "might", "must", "do", "does", "did",
    "shall", "and", "or", "but", "so", "if", "when", "while", "then", "because", "not", "no",
    "yes", "also", "just", "only", "even", "still", "said", "says", "say", "told", "tell", "tells",
    "asked", "ask", "asks", "called", "call", "calls", "named", "name", "names", "meet", "met",
    "see", "saw", "know", "knew", "thanks", "thank", "hi", "hello", "hey", "dear", "here", "there",
    "speaking", "please", "okay", "ok", "well", "oh", "let", "get", "got",
];

/// What the rules saw around a candidate, as `people.rs` reads it.
pub(super) struct Clues {
    pub(super) opening: bool,
    pub(super) led: bool,
    pub(super) followed: bool,
    pub(super) own_line: bool,
    pub(super) label: bool,
    pub(super) called: bool,
    pub(super) before_verb: bool,
    pub(super) person_lead_in: bool,
    pub(super) asked_about: bool,
}

/// One word of a candidate, as the lists and the letter model see it.
pub(super) struct WordFacts {
    pub(super) first: bool,
    pub(super) last: bool,
    pub(super) common: bool,
    pub(super) frequent: bool,
    /// An English word (`english_names.txt`).
    pub(super) english: bool,
    /// The letter model's log-odds of a name (`NameShape::score`).
    pub(super) shape: f32,
    pub(super) letters: usize,
    pub(super) ascii: bool,
}

/// One feature: its group ("word_before"), its value in the group ("to"; empty for a flag or a
/// number) and how much of it there is (1 for a flag). Its name in the model is
/// `group=value`, or `group` alone when the value is empty.
pub(super) type Feature = (&'static str, &'static str, f32);

pub(super) struct NameContext {
    /// (group, value) → weight.
    weights: FxHashMap<(&'static str, &'static str), f32>,
    bias: f32,
}

impl NameContext {
    pub(super) fn new() -> Self {
        let mut weights = FxHashMap::default();
        let mut bias = 0.0;
        for line in MODEL.lines().filter(|l| !l.starts_with('#')) {
            let Some((feature, weight)) = line.split_once('\t') else {
                continue;
            };
            let Ok(weight) = weight.parse::<f32>() else {
                continue;
            };
            if feature == "bias" {
                bias = weight;
            } else {
                weights.insert(feature.split_once('=').unwrap_or((feature, "")), weight);
            }
        }
        NameContext { weights, bias }
    }

    /// The probability that the candidate is a person's name.
    pub(super) fn probability(&self, features: &[Feature]) -> f32 {
        let sum: f32 = features
            .iter()
            .map(|&(group, value, x)| self.weights.get(&(group, value)).map_or(0.0, |w| w * x))
            .sum();
        1.0 / (1.0 + (-(self.bias + sum)).exp())
    }
}

/// A feature's name in the model: `group=value`, or `group` alone.
pub(super) fn feature_name((group, value, _): &Feature) -> String {
    if value.is_empty() {
        group.to_string()
    } else {
        format!("{group}={value}")
    }
}

/// How a neighbouring word reads: itself when it is a function word, else its form.
fn word_class(word: Option<&str>) -> &'static str {
    let Some(word) = word else {
        return "none";
    };
    if let Some(function) = FUNCTION_WORDS.iter().find(|f| f.eq_ignore_ascii_case(word)) {
        return function;
    }
    if word.starts_with(char::is_uppercase) {
        return "capitalised";
    }
    if word.starts_with(|c: char| c.is_ascii_digit()) {
        return "number";
    }
    let lower = |ending: &str| {
        word.len() >= ending.len()
            && word.is_char_boundary(word.len() - ending.len())
            && word[word.len() - ending.len()..].eq_ignore_ascii_case(ending)
    };
    if lower("ed") {
        "-ed"
    } else if lower("ing") {
        "-ing"
    } else if lower("s") {
        "-s"
    } else {
        "lower"
    }
}

/// The mark just before `s` (a space, a number, a comma, a line's start…).
fn mark_before(text: &str, s: usize) -> &'static str {
    if text[..s]
        .strip_suffix(' ')
        .is_some_and(|b| b.ends_with(|c: char| c.is_ascii_digit()))
    {
        return "number";
    }
    match text[..s].chars().next_back() {
        None => "start",
        Some(' ') => "space",
        Some('\n') => "newline",
        Some(',') => "comma",
        Some(':') => "colon",
        Some('"' | '“' | '\'') => "quote",
        Some('(') => "bracket",
        Some(_) => "other",
    }
}

/// The mark just after `e` (a possessive, a question mark, the text's end…).
fn mark_after(text: &str, e: usize) -> &'static str {
    let rest = &text[e..];
    if rest.starts_with("'s") || rest.starts_with("’s") {
        return "possessive";
    }
    match rest.chars().next() {
        None => "end",
        Some(' ') => "space",
        Some('\n') => "newline",
        Some('?') => "question",
        Some('.') if rest[1..].trim().is_empty() => "end",
        Some('.') => "stop",
        Some('!') => "exclamation",
        Some(',') => "comma",
        Some(':') => "colon",
        Some(';') => "semicolon",
        Some('"' | '”' | '\'') => "quote",
        Some(')') => "bracket",
        Some(_) => "other",
    }
}

/// The features of the candidate `text[s..e]`: `form` is the rules' name for its shape
/// (`Strength`), `words` how many words it has, `head` and `tail` its first and last words,
/// `before` the two words before it (nearest first) and `after` the word after it.
#[allow(clippy::too_many_arguments)]
pub(super) fn features(
    text: &str,
    (s, e): (usize, usize),
    form: &'static str,
    words: usize,
    head: &WordFacts,
    tail: &WordFacts,
    clues: &Clues,
    before: [Option<&str>; 2],
    after: Option<&str>,
) -> Vec<Feature> {
    let mut out: Vec<Feature> = Vec::with_capacity(40);
    let mut flag = |group: &'static str, on: bool| {
        if on {
            out.push((group, "", 1.0));
        }
    };
    for (w, [given, surname, common, frequent, english, shaped, short, accented]) in [
        (
            head,
            [
                "head.given",
                "head.surname",
                "head.common",
                "head.frequent",
                "head.english",
                "head.shaped",
                "head.short",
                "head.accented",
            ],
        ),
        (
            tail,
            [
                "tail.given",
                "tail.surname",
                "tail.common",
                "tail.frequent",
                "tail.english",
                "tail.shaped",
                "tail.short",
                "tail.accented",
            ],
        ),
    ] {
        flag(given, w.first);
        flag(surname, w.last);
        flag(common, w.common);
        flag(frequent, w.frequent);
        flag(english, w.english);
        flag(shaped, w.shape > super::name_shape::LOOKS_LIKE_A_NAME);
        flag(short, w.letters <= 3);
        flag(accented, !w.ascii);
    }
    flag("opening", clues.opening);
    flag("led", clues.led);
    flag("followed", clues.followed);
    flag("own_line", clues.own_line);
    flag("label", clues.label);
    flag("called", clues.called);
    flag("before_verb", clues.before_verb);
    flag("person_lead_in", clues.person_lead_in);
    flag("asked_about", clues.asked_about);
    out.push(("form", form, 1.0));
    out.push(("words", ["1", "2", "3", "4"][words.clamp(1, 4) - 1], 1.0));
    out.push(("mark_before", mark_before(text, s), 1.0));
    out.push(("mark_after", mark_after(text, e), 1.0));
    out.push(("word_before", word_class(before[0]), 1.0));
    out.push(("second_before", word_class(before[1]), 1.0));
    out.push(("word_after", word_class(after), 1.0));
    out.push(("head.shape", "", head.shape.clamp(-3.0, 3.0)));
    out.push(("tail.shape", "", tail.shape.clamp(-3.0, 3.0)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_neighbour_is_read_by_itself_only_when_it_is_a_function_word() {
        assert_eq!(word_class(Some("To")), "to");
        assert_eq!(word_class(Some("shouted")), "-ed");
        assert_eq!(word_class(Some("Cautionary")), "capitalised");
        assert_eq!(word_class(Some("boogie")), "lower");
        assert_eq!(word_class(None), "none");
    }

    #[test]
    fn the_marks_either_side_are_read_from_the_text() {
        let text = "Why is Pranata so impulsive? Ask Kim's team.";
        let s = text.find("Pranata").unwrap();
        assert_eq!(mark_before(text, s), "space");
        assert_eq!(mark_after(text, s + "Pranata".len()), "space");
        let k = text.find("Kim").unwrap();
        assert_eq!(mark_after(text, k + 3), "possessive");
        assert_eq!(mark_before("Anna", 0), "start");
        assert_eq!(mark_before("93 Krvavi most", 3), "number");
        assert_eq!(mark_after("Thanks, Anna.", 12), "end");
    }
}
