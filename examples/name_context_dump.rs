//! The candidates the name rules turned down on the evaluation sets, with the context model's
//! features, one JSON line each (`{"set", "line", "start", "end", "features"}`, offsets in
//! characters): the input of `src/pii/vocab/build_name_context.py`, which trains the model.
//! `prose:PATH` reads the lines of a knowledge-base corpus instead (prose others wrote, about
//! software: `benches/kb_sets.py`), and `"text"` then holds the candidate (null otherwise).
//! Candidates inside what the detector finds of another kind (an address, a date) are left
//! out: that finding wins the overlap whatever the model says.
//! `cargo run --release --example name_context_dump -- others_dev world_dev dev > FILE`

#[path = "../tests/pii_eval/mod.rs"]
#[allow(dead_code)]
mod eval;

use voxanne::pii::{Detector, EntityType, Known};

fn main() {
    let detector = Detector::default();
    for name in std::env::args().skip(1) {
        let texts: Vec<String> = match name.strip_prefix("prose:") {
            Some(path) => prose_lines(path),
            None => eval::load(&name)
                .into_iter()
                .map(|item| item.text)
                .collect(),
        };
        for (line, text) in texts.iter().enumerate() {
            // What else the detector finds wins an overlap with a name the model takes, so a
            // candidate inside an address or a date is no question for the model.
            let others: Vec<(usize, usize)> = detector
                .detect(text, &Known::default())
                .iter()
                .filter(|f| f.kind != EntityType::Person)
                .map(|f| (f.start, f.end))
                .collect();
            for (s, e, features) in detector.turned_down_names(text) {
                let (s, e) = (text[..s].chars().count(), text[..e].chars().count());
                if others.iter().any(|&(a, b)| s < b && a < e) {
                    continue;
                }
                let features: serde_json::Map<String, serde_json::Value> = features
                    .into_iter()
                    .map(|(k, v)| (k, serde_json::json!(v)))
                    .collect();
                println!(
                    "{}",
                    serde_json::json!({
                        "set": name,
                        "line": line,
                        "start": s,
                        "end": e,
                        "text": name.starts_with("prose:").then(|| text.chars().skip(s).take(e - s).collect::<String>()),
                        "features": features,
                    })
                );
            }
        }
    }
}

/// The lines of a knowledge-base corpus (`benches/kb_sets.py`'s `corpus.jsonl`: each
/// document's title and body), as prose that others wrote.
fn prose_lines(path: &str) -> Vec<String> {
    let corpus = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    corpus
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .flat_map(|doc| {
            let mut lines = vec![doc["title"].as_str().unwrap_or("").to_string()];
            lines.extend(
                doc["body"]
                    .as_str()
                    .unwrap_or("")
                    .lines()
                    .map(str::to_string),
            );
            lines
        })
        .filter(|l| !l.trim().is_empty())
        .collect()
}
