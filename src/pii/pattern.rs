//! The one way the detector's rules compile their own patterns.

use regex::Regex;

/// One of the detector's own patterns (constants, compiled once at start; the unit tests
/// build every one). Word boundaries in them are written `(?-u:\b)`, the ASCII kind: with a
/// Unicode `\b` anywhere in a pattern, the regex crate's fast engine gives up at the first
/// byte outside ASCII (any accented name) and a slower one searches the text; a boundary next
/// to a letter outside ASCII is then checked in code where it matters.
pub(super) fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("built-in pattern compiles")
}

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
