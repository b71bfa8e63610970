//! Knowledge-base search costs: a fresh and a cached query embedding with the real model;
//! at 1k, 10k and 100k passages of synthetic data (BASELINES.md's "lowrank" vectors, texts
//! from a clinic vocabulary), the HNSW graph alone (build time, recall@10 against exact
//! search, latency, memory), BM25 alone, and the whole hybrid search as the service runs it
//! (both searches, the fusion, the passages read from redb) with the query vector already
//! known; and the time to build both indexes from redb, save the graph, and load it again at
//! a restart.
//!
//! Run: `cargo bench --bench search` (SEARCH_BENCH_MAX=10000 skips the 100k size;
//! SEARCH_BENCH_OPENING=0 ranks without documents' openings).

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use voxanne::config::SearchSettings;
use voxanne::domain::OrgId;
use voxanne::pii::Detector;
use voxanne::search::embed::{cosine, Embedder, Kernels, DIMENSIONS};
use voxanne::search::fulltext::{IndexedPassage, OrgIndex};
use voxanne::search::tables::{KB_CHUNKS, KB_STATE, KB_VECTORS};
use voxanne::search::vector::VectorIndex;
use voxanne::search::{chunk_key, KbChunk, KbState, KnowledgeBase};
use voxanne::store::Store;

const WORDS: &[&str] = &[
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

const TEXT_QUERIES: &[&str] = &[
    "how long does swelling last after rhinoplasty",
    "what is the price of a filler consultation",
    "is there parking at the clinic on saturday",
    "can I pay a deposit with finance",
];

fn model_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/models/all-MiniLM-L6-v2")
}

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

/// Passages of 60 words: one in ten from the clinic words the queries use, the rest from
/// 3,000 other words with a skewed (Zipf-like) frequency, so a query word occurs in about a
/// quarter of the passages — far more than in a real clinic's documents.
fn clinic_texts(n: usize) -> Vec<String> {
    let mut rng = StdRng::seed_from_u64(3);
    (0..n)
        .map(|_| {
            (0..60)
                .map(|_| {
                    if rng.gen_bool(0.1) {
                        WORDS[rng.gen_range(0..WORDS.len())].to_string()
                    } else {
                        let u: f64 = rng.gen();
                        format!("w{}", (3000.0 * u * u * u) as usize)
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
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

/// The process's resident memory (Linux), for a before/after difference.
fn resident_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

/// Runs `f` `count` times (bounded) and returns each run's time.
fn timed(count: usize, mut f: impl FnMut(usize)) -> Vec<Duration> {
    (0..count)
        .map(|i| {
            let started = Instant::now();
            f(i);
            started.elapsed()
        })
        .collect()
}

fn report(what: &str, latencies: &[Duration]) {
    let mut sorted = latencies.to_vec();
    sorted.sort();
    let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e3;
    let mean = sorted.iter().sum::<Duration>().as_secs_f64() / sorted.len() as f64;
    println!(
        "{what}: p50 {:.3} ms, p99 {:.3} ms, {:.0} queries/s on one thread",
        at(0.5),
        at(0.99),
        1.0 / mean
    );
}

fn embedding(c: &mut Criterion) {
    let dir = model_dir();
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
    report(
        "query embedding, fresh text each time",
        &timed(300, |i| {
            black_box(e.embed(&[&format!("{} [{i}]", questions[i % 3])]).unwrap());
        }),
    );
    c.bench_function("embed_query_cached", |b| {
        b.iter(|| black_box(e.embed_query(questions[0]).unwrap()))
    });
    // A passage as an import embeds it: about 700 characters (the chunker's size), ~160 tokens.
    let passage = "After a rhinoplasty most swelling settles within two to three weeks, though \
        the tip of the nose can stay slightly firm for several months. Keep your head raised \
        on two pillows for the first week, avoid glasses resting on the bridge for six weeks, \
        and do not blow your nose for ten days. Bruising around the eyes usually fades after \
        ten to fourteen days; cold compresses help in the first two days. Most patients return \
        to desk work after one to two weeks and to sport after six. Your surgeon will remove \
        the splint at the one-week review and see you again at three and twelve months.";
    report(
        "passage embedding (700 characters), fresh text each time",
        &timed(100, |i| {
            black_box(e.embed(&[&format!("{passage} ({i})")]).unwrap());
        }),
    );
    // What CPUs without AVX-512 VNNI run (lowered to what this one has).
    for kernels in [Kernels::Avx2, Kernels::Plain] {
        report(
            &format!("query embedding, {kernels:?} kernels"),
            &timed(100, |i| {
                black_box(
                    e.embed_with_kernels(&format!("{} ({i})", questions[i % 3]), kernels)
                        .unwrap(),
                );
            }),
        );
        report(
            &format!("passage embedding (700 characters), {kernels:?} kernels"),
            &timed(20, |i| {
                black_box(
                    e.embed_with_kernels(&format!("{passage} ({i})"), kernels)
                        .unwrap(),
                );
            }),
        );
    }
}

/// The whole hybrid search through the service over `n` passages written to a real redb
/// file, plus the index build from redb, the graph save and the load at a restart.
fn hybrid(n: usize, vectors: &[Vec<f32>], texts: &[String], queries: &[Vec<f32>]) {
    let dir = model_dir();
    if !Embedder::present(&dir) {
        eprintln!("embedding model not installed: skipping the hybrid bench");
        return;
    }
    let embedder = Arc::new(Embedder::load(&dir).unwrap());
    let data = tempfile::tempdir().unwrap();
    let org = OrgId::from_u128(0x5EED);
    let store = voxanne::schema::open_store(data.path()).unwrap();
    {
        let w = store.begin_write().unwrap();
        let mut o = w.org(org);
        // Documents of four passages each, so that ranking reads documents' openings.
        for (i, (text, v)) in texts.iter().zip(vectors).enumerate() {
            let (doc, passage) = (uuid::Uuid::from_u128(i as u128 / 4 + 1), i as u32 % 4);
            let chunk = KbChunk {
                chunk_id: format!("{doc}-{passage}"),
                document_id: doc,
                title: "FAQ".into(),
                text: text.clone(),
            };
            o.put(&KB_CHUNKS, &chunk_key(doc, passage), &chunk).unwrap();
            o.put(&KB_VECTORS, &chunk_key(doc, passage), v).unwrap();
        }
        o.put(&KB_STATE, b"state", &KbState { generation: 1 })
            .unwrap();
        w.commit().unwrap();
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    // SEARCH_BENCH_OPENING=0 ranks without documents' openings, for an A/B in one build.
    let settings = SearchSettings {
        opening_passage_weight: std::env::var("SEARCH_BENCH_OPENING")
            .ok()
            .and_then(|w| w.parse().ok())
            .unwrap_or(SearchSettings::default().opening_passage_weight),
        ..SearchSettings::default()
    };
    let open = |store: Store| {
        KnowledgeBase::new(
            store,
            data.path().to_path_buf(),
            settings.clone(),
            Arc::new(Detector::new(&[])),
            Some(embedder.clone()),
            voxanne::clock::system(),
        )
    };
    let kb = open(store.clone());
    let query = |i: usize| {
        (
            TEXT_QUERIES[i % TEXT_QUERIES.len()],
            queries[i % queries.len()].clone(),
        )
    };
    let search = |kb: &KnowledgeBase, i: usize| {
        let (text, vector) = query(i);
        runtime
            .block_on(kb.search_embedded(org, text, Some(Arc::new(vector)), 5))
            .unwrap()
    };
    let started = Instant::now();
    assert!(!search(&kb, 0).is_empty());
    println!(
        "indexes n={n}: both built from redb and the graph saved in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    let latencies = timed(2_000, |i| {
        black_box(search(&kb, i));
    });
    report(
        &format!("hybrid n={n} (k=5, query vector known)"),
        &latencies,
    );
    drop(kb);
    let kb = open(store);
    let started = Instant::now();
    assert!(!search(&kb, 0).is_empty());
    println!(
        "indexes n={n}: opened at a restart (graph loaded, checksums checked) in {:.2} s",
        started.elapsed().as_secs_f64()
    );
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
        let rss_before = resident_bytes();
        let started = Instant::now();
        let graph = VectorIndex::build(&passages, 1);
        let build = started.elapsed();
        let graph_bytes = resident_bytes().saturating_sub(rss_before);
        println!(
            "hnsw n={n}: build {:.2} s (M {}, ef_construction {}), resident memory +{:.0} MiB",
            build.as_secs_f64(),
            voxanne::search::vector::MAX_CONNECTIONS,
            voxanne::search::vector::EF_CONSTRUCTION,
            graph_bytes as f64 / (1024.0 * 1024.0)
        );
        let exact: Vec<Vec<String>> = queries
            .iter()
            .map(|q| {
                exact_top(&data, q, 10)
                    .into_iter()
                    .map(|i| i.to_string())
                    .collect()
            })
            .collect();
        for ef in [24, 32, 40, 48, 64] {
            let mut recall = 0.0;
            for (q, exact) in queries.iter().zip(&exact) {
                recall += graph
                    .search_with_ef(q, 10, ef)
                    .iter()
                    .filter(|f| exact.contains(&f.passage_id))
                    .count() as f64
                    / 10.0;
            }
            report(
                &format!(
                    "hnsw n={n} ef {ef} (k=10, recall@10 {:.3})",
                    recall / queries.len() as f64
                ),
                &timed(2_000, |i| {
                    black_box(graph.search_with_ef(&queries[i % queries.len()], 10, ef));
                }),
            );
        }
        let started = Instant::now();
        graph.apply(&[], &[("added".into(), queries[0].clone())], 2);
        println!(
            "hnsw n={n}: one passage added and searchable in {:.1} ms",
            started.elapsed().as_secs_f64() * 1e3
        );
        let mut qi = 0usize;
        c.bench_function(&format!("hnsw_search_{n}"), |b| {
            b.iter(|| {
                qi = (qi + 1) % queries.len();
                black_box(graph.search(&queries[qi], 10))
            })
        });
        drop(graph);

        let dir = tempfile::tempdir().unwrap();
        let index = OrgIndex::open(dir.path()).unwrap();
        let texts = clinic_texts(n);
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
        report(
            &format!("bm25 n={n} (k=20)"),
            &timed(2_000, |i| {
                black_box(
                    index
                        .search(TEXT_QUERIES[i % TEXT_QUERIES.len()], 20)
                        .unwrap(),
                );
            }),
        );
        c.bench_function(&format!("bm25_search_{n}"), |b| {
            b.iter(|| {
                black_box(
                    index
                        .search("how long does swelling last after rhinoplasty", 20)
                        .unwrap(),
                )
            })
        });
        drop(index);
        hybrid(n, &data, &texts, &queries);
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(3));
    targets = embedding, vectors_and_text
}
criterion_main!(benches);
