//! The knowledge-base evaluation command: for each set directory given (see
//! `tests/kb_eval/mod.rs` for the layout, `benches/kb_sets.py` to build them), starts the
//! appliance on a loopback port with a fresh data dir and the embedding model, signs up a
//! clinic, imports the set's documents through the documents API (reporting documents per
//! second), asks every question through `GET /kb/search` and prints recall@5, MRR@10 and
//! nDCG@10 for the fused ranking and for each half alone.
//!
//! `cargo run --release --example kb_eval -- DIR... [--clients N] [--dump DIR]
//! [--opening-weight W] [--text-weight W]` (`--dump` writes each half's first 50 passages per
//! question to `DIR/{set}.jsonl`; the weights override `[search] opening_passage_weight` and
//! `fusion_weight_text`) (model from
//! `VOXANNE_MODEL_DIR`, else `data/models/all-MiniLM-L6-v2`).

#[path = "../tests/kb_eval/mod.rs"]
#[allow(dead_code)]
mod eval;

use std::path::PathBuf;

use serde_json::{json, Value};
use voxanne::config::Settings;
use voxanne::startup::Application;

/// The value after `--name` in `args`, parsed.
/// The value after `--name` in `args`, parsed; exits with a message when it is missing or
/// does not parse, so that a run is never labelled with a value it did not use.
fn option<T: std::str::FromStr>(args: &[String], name: &str) -> Option<T> {
    let i = args.iter().position(|a| a == name)?;
    match args.get(i + 1).map(|v| v.parse()) {
        Some(Ok(v)) => Some(v),
        _ => {
            eprintln!("kb_eval: {name} needs a value of the right kind");
            std::process::exit(2);
        }
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let clients = option(&args, "--clients").unwrap_or(1);
    let opening_weight: Option<f32> = option(&args, "--opening-weight");
    let text_weight: Option<f32> = option(&args, "--text-weight");
    let sets: Vec<PathBuf> = args
        .iter()
        .enumerate()
        .filter(|(i, a)| {
            !a.starts_with("--")
                && (*i == 0
                    || !["--clients", "--dump", "--opening-weight", "--text-weight"]
                        .contains(&args[i - 1].as_str()))
        })
        .map(|(_, a)| PathBuf::from(a))
        .collect();
    if sets.is_empty() {
        eprintln!(
            "usage: kb_eval SET_DIR... [--clients N] [--dump DIR] [--opening-weight W] \
             [--text-weight W]"
        );
        std::process::exit(2);
    }
    let model = std::env::var_os("VOXANNE_MODEL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("data/models/all-MiniLM-L6-v2"));
    for dir in sets {
        let set = eval::load(&dir);
        let tmp = tempfile::TempDir::new().expect("a temp dir");
        let mut settings = Settings::for_data_dir(tmp.path());
        settings.search.model_dir = model.clone();
        if let Some(w) = opening_weight {
            settings.search.opening_passage_weight = w;
        }
        if let Some(w) = text_weight {
            settings.search.fusion_weight_text = w;
        }
        if let Err(e) = settings.validate() {
            eprintln!("kb_eval: {e}");
            std::process::exit(2);
        }
        let app = Application::build(settings)
            .await
            .expect("the appliance starts");
        let base = format!("http://{}", app.local_addr());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until(async {
            let _ = stopped.await;
        }));
        let client = reqwest::Client::new();
        let signup: Value = client
            .post(format!("{base}/api/auth/signup"))
            .json(
                &json!({"clinic_name": "Evaluation", "email": "eval@clinic.example",
                "password": "correct horse battery staple", "timezone": "Europe/London",
                "full_name": "Eval Admin"}),
            )
            .send()
            .await
            .expect("signup")
            .json()
            .await
            .expect("JSON");
        let clinic = eval::Clinic {
            client,
            base,
            org: signup["org_id"].as_str().unwrap_or_default().to_string(),
            token: signup["access_token"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        };
        let (loaded, took) = clinic.import(&set, clients).await;
        println!(
            "{}: {} documents imported in {:.1} s ({:.1}/s, {clients} client(s)), {} questions",
            set.name,
            set.documents.len(),
            took.as_secs_f64(),
            set.documents.len() as f64 / took.as_secs_f64(),
            set.questions.len()
        );
        if let Some(i) = args.iter().position(|a| a == "--dump") {
            // Both halves' first 50 passages per question, for trying rankings offline.
            let path = PathBuf::from(&args[i + 1]).join(format!("{}.jsonl", set.name));
            let mut out = String::new();
            for q in &set.questions {
                let mut halves = serde_json::Map::new();
                for only in ["text", "vector"] {
                    let hits: Vec<Value> = clinic
                        .results(&q.text, Some(only), 50)
                        .await
                        .into_iter()
                        .map(|h| {
                            let doc = h["document_id"].as_str().unwrap_or_default();
                            json!([
                                loaded.get(doc),
                                h["chunk_id"],
                                h["score"],
                                h["title"],
                                h["text"]
                            ])
                        })
                        .collect();
                    halves.insert(only.into(), Value::Array(hits));
                }
                let line = json!({"id": q.id, "q": q.text, "halves": halves, "relevant": set.judgements[&q.id]});
                out.push_str(&format!("{line}\n"));
            }
            std::fs::write(path, out).expect("dump written");
        }
        for (label, only) in [
            ("fused ", None),
            ("text  ", Some("text")),
            ("vector", Some("vector")),
        ] {
            let scores = clinic.score(&set, &loaded, only).await;
            println!("  {label}  {scores}");
        }
        let _ = stop.send(());
        let _ = server.await;
    }
}
