//! How much a word's letters look like a personal name's rather than an English or clinical
//! word's: a character n-gram model (log-odds of each 2-, 3- and 4-letter sequence) trained
//! from public name lists against English and clinical vocabulary by
//! `vocab/build_name_shape.py`, for names no list holds ("Zinnurova", "Omolabake").

const MODEL: &str = include_str!("vocab/name_shape.tsv");

/// A word scoring above this looks like a name: chosen on the world_dev set (about four in
/// five names no list holds pass, and about a third fewer place and street words than at 0).
pub(super) const LOOKS_LIKE_A_NAME: f32 = 0.2;

/// Weights are kept as sixteenths in one byte each.
const SCALE: f32 = 16.0;
/// Letters a-z, the word's start `^` and end `$`: 28 symbols, numbered from 1 so that
/// sequences of 2, 3 and 4 share one table indexed in base 29.
const BASE: usize = 29;

fn symbol(b: u8) -> Option<usize> {
    match b {
        b'a'..=b'z' => Some(usize::from(b - b'a') + 1),
        b'^' => Some(27),
        b'$' => Some(28),
        _ => None,
    }
}

fn index(gram: &[u8]) -> Option<usize> {
    gram.iter()
        .try_fold(0usize, |at, &b| Some(at * BASE + symbol(b)?))
}

pub(super) struct NameShape {
    /// Every sequence of 2 to 4 symbols → its weight in sixteenths (0: not in the model).
    weights: Vec<i8>,
}

impl NameShape {
    pub(super) fn new() -> Self {
        let mut weights = vec![0i8; BASE.pow(4)];
        for line in MODEL.lines().filter(|l| !l.starts_with('#')) {
            let Some((gram, weight)) = line.split_once('\t') else {
                continue;
            };
            let (Some(at), Ok(weight)) = (index(gram.as_bytes()), weight.parse::<f32>()) else {
                continue;
            };
            weights[at] = (weight * SCALE).round().clamp(-127.0, 127.0) as i8;
        }
        NameShape { weights }
    }

    /// The mean log-odds of `word`'s letter sequences: above 0 more like a name, below more
    /// like a word. Letters outside ASCII are read as their ASCII forms ("Očenáš" as
    /// "ocenas"), as the model was trained.
    pub(super) fn score(&self, word: &str) -> f32 {
        let folded;
        let word = if word.is_ascii() {
            word
        } else {
            folded = deunicode::deunicode(word);
            &folded
        };
        let mut framed = Vec::with_capacity(word.len() + 2);
        framed.push(b'^');
        framed.extend(
            word.bytes()
                .filter(u8::is_ascii_alphabetic)
                .map(|b| b.to_ascii_lowercase()),
        );
        framed.push(b'$');
        let mut sum = 0i32;
        let mut count = 0i32;
        for n in 2..=4 {
            for gram in framed.windows(n) {
                if let Some(at) = index(gram) {
                    sum += i32::from(self.weights[at]);
                    count += 1;
                }
            }
        }
        if count == 0 {
            return 0.0;
        }
        sum as f32 / count as f32 / SCALE
    }

    /// Whether `word` looks like a name.
    #[cfg(test)]
    pub(super) fn looks_like_a_name(&self, word: &str) -> bool {
        self.score(word) > LOOKS_LIKE_A_NAME
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_many_origins_score_above_ordinary_and_clinical_words() {
        let shape = NameShape::new();
        for name in [
            "Zinnurova",
            "Omolabake",
            "Tandrisdóttir",
            "Wiśniewska",
            "Okonkwo",
        ] {
            assert!(
                shape.looks_like_a_name(name),
                "{name}: {}",
                shape.score(name)
            );
        }
        for word in [
            "Could",
            "Appointment",
            "Thanks",
            "Rhinoplasty",
            "Tomorrow",
            "Swelling",
        ] {
            assert!(
                !shape.looks_like_a_name(word),
                "{word}: {}",
                shape.score(word)
            );
        }
    }
}
