//! What the personal-data detector got wrong on one of the evaluation sets, for tuning (a
//! diagnostic, not a test): `cargo run --example pii_misses -- dev:person` prints the set's
//! scores, then up to 60 (or `PII_MISSES_MAX`) missed or wrong spans of that type (any type when it is left out)
//! with what the detector found in the same text (`dev:person:wrong` or `…:missed` shows
//! only those). Sets: dev, check, third, world_dev, world_check, world_final, others_dev,
//! others_check (`tests/pii_eval/`).

#[path = "../tests/pii_eval/mod.rs"]
#[allow(dead_code)]
mod eval;

use voxanne::pii::{Detector, Known};

fn main() {
    let Some(what) = std::env::args().nth(1) else {
        eprintln!("usage: pii_misses SET[:TYPE]   e.g. dev:person, check:address, third");
        std::process::exit(2);
    };
    let mut parts = what.split(':');
    let set = parts.next().unwrap_or("");
    let kind = parts.next().unwrap_or("");
    let only = parts.next().unwrap_or("").to_uppercase();
    let detector = Detector::default();
    let set = eval::load(set);
    let scores = eval::evaluate_overlap(&detector, &set);
    println!(
        "{}macro F1 {:.3}",
        eval::report(&scores),
        eval::macro_f1(&scores)
    );
    let most: usize = std::env::var("PII_MISSES_MAX")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let mut shown = 0;
    for item in &set {
        let j = eval::judge(&detector, item);
        let chars: Vec<char> = item.text.chars().collect();
        let span = |s: usize, e: usize| chars[s..e].iter().collect::<String>();
        for (label, list) in [("MISSED", &j.missed), ("WRONG", &j.wrong)] {
            if !only.is_empty() && only != label {
                continue;
            }
            for (k, s, e) in list
                .iter()
                .filter(|f| kind.is_empty() || f.0.name() == kind)
            {
                if shown < most {
                    println!("{label} {} {:?} in {:?}", k.name(), span(*s, *e), item.text);
                    let found = detector.detect(&item.text, &Known::default());
                    println!(
                        "    found {:?}",
                        found
                            .iter()
                            .map(|f| (f.kind.name(), f.text.as_str()))
                            .collect::<Vec<_>>()
                    );
                }
                shown += 1;
            }
        }
    }
    println!("{shown} misses and wrong spans in all");
}
