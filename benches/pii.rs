//! PII detection speed on typical caller utterances (≤ 300 characters), the cost paid for
//! every transcript line before anything is stored; and the evaluation set's precision,
//! recall and F1 per type, printed for BENCHMARKS.md (the hand-written set, exact spans; the
//! generated `dev`, `check`, `third` and world sets, overlap rule).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use voxanne::pii::{Detector, Known};

#[path = "../tests/pii_eval/mod.rs"]
mod eval;

fn detect(c: &mut Criterion) {
    let detector = Detector::default();
    let known = Known::default();
    let set = eval::generate(600);
    println!("{}", eval::report(&eval::evaluate(&detector, &set)));
    let dev = eval::load("dev");
    for (name, labelled) in [
        ("dev", &dev),
        ("check", &eval::load("check")),
        ("third", &eval::load("third")),
        ("world_dev", &eval::load("world_dev")),
        ("world_check", &eval::load("world_check")),
        ("world_final", &eval::load("world_final")),
    ] {
        let scores = eval::evaluate_overlap(&detector, labelled);
        println!(
            "{name} (IoU >= 0.5)\n{}macro F1 {:.3}\n",
            eval::report(&scores),
            eval::macro_f1(&scores)
        );
    }
    let generated: Vec<&str> = dev.iter().map(|l| l.text.as_str()).collect();
    let utterances: Vec<&str> = set.iter().map(|l| l.text.as_str()).collect();
    let mut group = c.benchmark_group("pii");
    group.throughput(Throughput::Elements(utterances.len() as u64));
    group.bench_function("detect_600_utterances", |b| {
        b.iter(|| {
            for u in &utterances {
                black_box(detector.detect(black_box(u), &known));
            }
        })
    });
    group.throughput(Throughput::Elements(generated.len() as u64));
    group.bench_function("detect_3000_generated_dev_utterances", |b| {
        b.iter(|| {
            for u in &generated {
                black_box(detector.detect(black_box(u), &known));
            }
        })
    });
    group.finish();
    let seed = "My address is 123 Harley Street and I have a history of heart issues";
    c.bench_function("detect_seed_sentence", |b| {
        b.iter(|| detector.detect(black_box(seed), &known))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(3));
    targets = detect
}
criterion_main!(benches);
