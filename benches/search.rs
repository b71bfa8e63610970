//! Knowledge-base search costs: a fresh and a cached query embedding with the real model, the
//! HNSW graph (build time, search latency and recall@10 against exact search) and the BM25
//! index at 1k, 10k and 100k passages of synthetic data. A hybrid search costs one of each
//! plus the fusion of two 20-item lists.
//!
//! Run: `cargo bench --bench search` (SEARCH_BENCH_MAX=10000 skips the 100k size).

use std::hint::black_box;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use voxanne::search::embed::{cosine, Embedder, DIMENSIONS};
use voxanne::search::fulltext::{IndexedPassage, OrgIndex};
use voxanne::search::vector::VectorIndex;

fn normal(rng: &mut StdRng) -> f32 {
    // Box-Muller.
    let (u1, u2): (f32, f32) = (rng.gen_range(f32::EPSILON..1.0), rng.gen());
    (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
}

/// Vectors shaped like text embeddings (BASELINES.md's "lowrank"): sixteen shared directions
/// plus noise, normalised.
fn lowrank(n: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut rng = StdRng::seed_from_u64(7);
    let dirs: Vec<Vec<f32>> = (0..16)
        .map(|_| (0..DIMENSIONS).map(|_| normal(&mut rng)).collect())
        .collect();
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let z: Vec<f32> = (0..16).map(|_| normal(&mut rng)).collect();
            let mut v: Vec<f32> = (0..DIMENSIONS)
                .map(|d| {
                    dirs.iter().zip(&z).map(|(a, zk)| zk * a[d]).sum::<f32>()
                        + 0.1 * normal(&mut rng)
                })
                .collect();
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            v.iter_mut().for_each(|x| *x /= norm);
            v
        })
        .collect()
}

fn exact_top(data: &[Vec<f32>], q: &[f32], k: usize) -> Vec<usize> {
    let mut scored: Vec<(usize, f32)> = data
        .iter()
        .enumerate()
        .map(|(i, v)| (i, cosine(q, v)))
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1));
    scored.into_iter().take(k).map(|(i, _)| i).collect()
}

fn embedding(c: &mut Criterion) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/models/all-MiniLM-L6-v2");
    if !Embedder::present(&dir) {
        eprintln!("embedding model not installed (run .ci/fetch-model.sh): skipping the embedding benches");
        return;
    }
    let e = Embedder::load(&dir).unwrap();
    let questions = [
        "How long does the swelling last after a rhinoplasty?",
        "Can I book a nose job consult?",
        "What time do you open on Saturday?",
    ];
    let mut i = 0usize;
    c.bench_function("embed_query_fresh", |b| {
        b.iter(|| {
            i += 1;
            // A different text each time, so the cache never answers.
            black_box(e.embed(&[&format!("{} ({i})", questions[i % 3])]).unwrap())
        })
    });
    c.bench_function("embed_query_cached", |b| {
        b.iter(|| black_box(e.embed_query(questions[0]).unwrap()))
    });
}

fn vectors_and_text(c: &mut Criterion) {
    let max: usize = std::env::var("SEARCH_BENCH_MAX")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let queries = lowrank(200, 99);
    for n in [1_000usize, 10_000, 100_000]
        .into_iter()
        .filter(|n| *n <= max)
    {
        let data = lowrank(n, 1);
        let passages: Vec<(String, Vec<f32>)> = data
            .iter()
            .enumerate()
            .map(|(i, v)| (i.to_string(), v.clone()))
            .collect();
        let started = Instant::now();
        let graph = VectorIndex::build(&passages);
        let build = started.elapsed();
        let mut recall = 0.0;
        for q in &queries {
            let exact: Vec<String> = exact_top(&data, q, 10)
                .into_iter()
                .map(|i| i.to_string())
                .collect();
            let found = graph.search(q, 10);
            recall += found.iter().filter(|f| exact.contains(f)).count() as f64 / 10.0;
        }
        println!(
            "hnsw n={n}: build {:.2} s, recall@10 {:.3} (ef {})",
            build.as_secs_f64(),
            recall / queries.len() as f64,
            voxanne::search::vector::EF_SEARCH
        );
        let mut qi = 0usize;
        c.bench_function(&format!("hnsw_search_{n}"), |b| {
            b.iter(|| {
                qi = (qi + 1) % queries.len();
                black_box(graph.search(&queries[qi], 10))
            })
        });

        let dir = tempfile::tempdir().unwrap();
        let index = OrgIndex::open(dir.path()).unwrap();
        let words = [
            "rhinoplasty",
            "swelling",
            "consultation",
            "price",
            "filler",
            "lips",
            "parking",
            "hours",
            "saturday",
            "facelift",
            "recovery",
            "botox",
            "finance",
            "cancel",
            "deposit",
            "aftercare",
            "bruising",
            "splint",
            "weeks",
            "clinic",
        ];
        let mut rng = StdRng::seed_from_u64(3);
        let texts: Vec<String> = (0..n)
            .map(|_| {
                (0..60)
                    .map(|_| words[rng.gen_range(0..words.len())])
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        let ids: Vec<String> = (0..n).map(|i| i.to_string()).collect();
        let indexed: Vec<IndexedPassage<'_>> = texts
            .iter()
            .zip(&ids)
            .map(|(t, id)| IndexedPassage {
                chunk_id: id,
                document_id: id,
                title: "FAQ",
                text: t,
            })
            .collect();
        index.rebuild(&indexed).unwrap();
        c.bench_function(&format!("bm25_search_{n}"), |b| {
            b.iter(|| {
                black_box(
                    index
                        .search("how long does swelling last after rhinoplasty", 20)
                        .unwrap(),
                )
            })
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(3));
    targets = embedding, vectors_and_text
}
criterion_main!(benches);
