//! The one way the detector's rules compile their own patterns.

use regex::Regex;

/// One of the detector's own patterns (constants, compiled once at start or, as
/// `LazyPattern`, when first needed; the unit tests build every one). Word boundaries in them
/// are written `(?-u:\b)`, the ASCII kind, where the text around may hold letters outside
/// ASCII: with a Unicode `\b` in a pattern, the regex crate's fast engine gives up at the
/// first byte outside ASCII (any accented name) and a slower one searches the text; a boundary
/// next to a letter outside ASCII is then checked in code where it matters. (A few address
/// patterns still end a code with a Unicode `\b`.)
///
/// The patterns read the scripts the detector is for (`latin_only`): `\p{L}` and `\p{Lu}` are
/// letters of the Latin script (`\p{Ll}` its small ones), `\d` is an ASCII digit.
pub(super) fn re(pattern: &str) -> Regex {
    Regex::new(&latin_only(pattern)).expect("built-in pattern compiles")
}

/// `pattern` with its letter classes narrowed to the Latin script (and the modifier letters
/// Latin-script spellings use: the ʻokina of "Hawaiʻi", the ʿ of a transliteration) and its
/// digits to ASCII. Unicode's whole classes cost: compiling them and building the lazy DFA's
/// states took most of the first thousand sentences' time, which is what a short run of
/// `voxanne pii detect` pays. On every evaluation set the detector's output was the same
/// after the narrowing.
///
/// Only the positive forms are narrowed: a negated class (`\D`, `\P{…}`, `[^\p…]`) would
/// widen instead, so the patterns hold none (checked in debug builds, which the tests run).
fn latin_only(pattern: &str) -> String {
    debug_assert!(
        ![r"\D", r"\P{", r"[^\p", r"[^\d"]
            .iter()
            .any(|negated| pattern.contains(negated)),
        "a negated class in a detector pattern"
    );
    pattern
        .replace(r"\p{Ll}", LATIN_SMALL)
        .replace(r"\p{Lu}", LATIN_CAPITAL)
        .replace(r"\p{L}", LATIN_LETTER)
        .replace(r"\d", "[0-9]")
}

/// A small letter of the Latin script.
const LATIN_SMALL: &str = r"[\p{Ll}&&\p{Latin}]";

/// A capital letter of the Latin script.
const LATIN_CAPITAL: &str = r"[\p{Lu}&&\p{Latin}]";

/// A letter of the Latin script, or of the spacing modifier letters (ʻ ʼ ʾ ʿ, script Common).
const LATIN_LETTER: &str = r"[\p{L}&&[\p{Latin}\x{2B0}-\x{2FF}]]";

/// A pattern compiled the first time it is asked for: one that only some texts need (the
/// lines under a street), so start-up does not pay for it.
pub(super) struct LazyPattern {
    pattern: String,
    compiled: std::sync::OnceLock<Regex>,
}

impl LazyPattern {
    pub(super) fn new(pattern: String) -> Self {
        LazyPattern {
            pattern,
            compiled: std::sync::OnceLock::new(),
        }
    }

    pub(super) fn get(&self) -> &Regex {
        self.compiled.get_or_init(|| re(&self.pattern))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_are_latin_and_digits_ascii() {
        let word = re(r"^\p{Lu}[\p{L}'-]*$");
        for latin in [
            "Łukasz",
            "Ødegård",
            "Nguyễn",
            "O'Neill",
            "Šťastný",
            "Hawaiʻi",
            "Saʿid",
        ] {
            assert!(word.is_match(latin), "{latin}");
        }
        for other in ["Αθήνα", "Москва", "Лукаш"] {
            assert!(!word.is_match(other), "{other}");
        }
        let number = re(r"^\d+$");
        assert!(number.is_match("0791"));
        assert!(!number.is_match("٠٧٩١"));
        assert!(!number.is_match("０７９１"));
    }
}
