//! The one way the detector's rules compile their own patterns.

use regex::Regex;

/// One of the detector's own patterns (constants, compiled once at start; the unit tests
/// build every one).
pub(super) fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("built-in pattern compiles")
}
