//! Scenario 3 (Smart Answer Loop): the clinic's own passages come back for its callers'
//! questions, never another clinic's; changes show at once; the index survives being deleted
//! or corrupted; and the voice agent speaks the answer, or a safe fixed one for medical advice.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

// Floors this build meets on tests/fixtures/kb_eval (see BENCHMARKS.md for the numbers).
const FULLTEXT_TOP1_FLOOR: f64 = 0.8;
const FULLTEXT_RECALL5_FLOOR: f64 = 0.85;
const HYBRID_TOP1_FLOOR: f64 = 0.9;
const HYBRID_RECALL5_FLOOR: f64 = 0.95;

pub(crate) async fn add_doc(app: &TestApp, c: &Clinic, title: &str, body: &str) -> String {
    let r = app
        .post(
            &format!("/api/orgs/{}/kb/documents", c.org_id),
            Some(&c.token),
            json!({"title": title, "body": body, "tags": ["faq"]}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let v: Value = r.json().await.unwrap();
    assert!(v["chunks"].as_u64().unwrap() >= 1);
    v["id"].as_str().unwrap().to_string()
}

async fn search(app: &TestApp, c: &Clinic, q: &str) -> Vec<Value> {
    let r = app
        .get(
            &format!("/api/orgs/{}/kb/search?q={}&k=5", c.org_id, urlencode(q)),
            Some(&c.token),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json::<Value>().await.unwrap()["results"]
        .as_array()
        .unwrap()
        .clone()
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn load_eval_clinic(app: &TestApp, c: &Clinic) -> Value {
    let set: Value = serde_json::from_str(include_str!("../fixtures/kb_eval/clinic.json")).unwrap();
    for d in set["documents"].as_array().unwrap() {
        add_doc(
            app,
            c,
            d["title"].as_str().unwrap(),
            d["body"].as_str().unwrap(),
        )
        .await;
    }
    set
}

#[tokio::test]
async fn the_clinics_own_passage_answers_its_question() {
    let app = spawn_app().await;
    let c = app.signup("Clinic", "admin@clinic.example").await;
    load_eval_clinic(&app, &c).await;
    let results = search(
        &app,
        &c,
        "How long does the swelling last after a rhinoplasty?",
    )
    .await;
    assert_eq!(results[0]["title"], "Rhinoplasty aftercare");
    assert!(results[0]["text"].as_str().unwrap().contains("two weeks"));
    assert!(results[0]["score"].as_f64().unwrap() > 0.0);
}

/// Top-1 and recall@5 of the evaluation set against a running server.
async fn evaluate(app: &TestApp, c: &Clinic, set: &Value) -> (f64, f64) {
    let questions = set["questions"].as_array().unwrap();
    let (mut hits, mut firsts) = (0, 0);
    for q in questions {
        let results = search(app, c, q["q"].as_str().unwrap()).await;
        if results.iter().take(5).any(|r| r["title"] == q["expect"]) {
            hits += 1;
        }
        if results.first().is_some_and(|r| r["title"] == q["expect"]) {
            firsts += 1;
        }
    }
    let n = questions.len() as f64;
    (firsts as f64 / n, hits as f64 / n)
}

#[tokio::test]
async fn retrieval_quality_on_the_evaluation_set_stays_above_its_floor() {
    let app = spawn_app().await;
    let c = app.signup("Clinic", "admin@clinic.example").await;
    let set = load_eval_clinic(&app, &c).await;
    let (top1, recall) = evaluate(&app, &c, &set).await;
    println!("full text only: top-1 {top1:.2}, recall@5 {recall:.2}");
    assert!(top1 >= FULLTEXT_TOP1_FLOOR, "top-1 {top1:.2}");
    assert!(recall >= FULLTEXT_RECALL5_FLOOR, "recall@5 {recall:.2}");
}

#[tokio::test]
async fn a_clinic_never_sees_another_clinics_passages_even_for_identical_text() {
    let app = spawn_app().await;
    let a = app.signup("Clinic A", "admin@a.example").await;
    let b = app.signup("Clinic B", "admin@b.example").await;
    let a_doc = add_doc(
        &app,
        &a,
        "Prices",
        "A rhinoplasty consultation costs 150 pounds at this clinic.",
    )
    .await;
    let b_doc = add_doc(
        &app,
        &b,
        "Prices",
        "A rhinoplasty consultation costs 250 pounds at this clinic.",
    )
    .await;
    let ra = search(&app, &a, "rhinoplasty consultation cost").await;
    let rb = search(&app, &b, "rhinoplasty consultation cost").await;
    assert!(ra.iter().all(|r| r["document_id"] == a_doc.as_str()) && !ra.is_empty());
    assert!(rb.iter().all(|r| r["document_id"] == b_doc.as_str()) && !rb.is_empty());
    assert!(ra[0]["text"].as_str().unwrap().contains("150"));
    // B's document id under A's org is not found; A's token on B's org is forbidden.
    let r = app
        .request(
            Method::DELETE,
            &format!("/api/orgs/{}/kb/documents/{b_doc}", a.org_id),
            Some(&a.token),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = app
        .get(
            &format!("/api/orgs/{}/kb/search?q=rhinoplasty", b.org_id),
            Some(&a.token),
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn replacing_and_deleting_show_at_once() {
    let app = spawn_app().await;
    let c = app.signup("Clinic", "admin@clinic.example").await;
    let id = add_doc(
        &app,
        &c,
        "Opening hours",
        "We are open until 5pm on weekdays.",
    )
    .await;
    assert!(search(&app, &c, "open until").await[0]["text"]
        .as_str()
        .unwrap()
        .contains("5pm"));
    let r = app
        .request(
            Method::PUT,
            &format!("/api/orgs/{}/kb/documents/{id}", c.org_id),
            Some(&c.token),
            Some(json!({"title": "Opening hours", "body": "We are open until 7pm on weekdays."})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let results = search(&app, &c, "open until").await;
    assert_eq!(results.len(), 1);
    assert!(results[0]["text"].as_str().unwrap().contains("7pm"));
    let r = app
        .request(
            Method::DELETE,
            &format!("/api/orgs/{}/kb/documents/{id}", c.org_id),
            Some(&c.token),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(search(&app, &c, "open until").await.is_empty());
}

#[tokio::test]
async fn a_deleted_or_corrupted_index_is_rebuilt_with_the_same_results() {
    let app = spawn_app().await;
    let c = app.signup("Clinic", "admin@clinic.example").await;
    load_eval_clinic(&app, &c).await;
    let before = search(&app, &c, "Where can I park my car?").await;
    let dir = app.stop().await.unwrap();
    let index_dir = dir.path().join("indexes").join(&c.org_id).join("fulltext");
    assert!(index_dir.exists());

    std::fs::remove_dir_all(&index_dir).unwrap();
    let app = spawn_app_in(dir.path(), |_| {}).await;
    assert_eq!(
        search(&app, &c, "Where can I park my car?").await,
        before,
        "rebuilt from redb"
    );
    app.stop().await;

    for entry in std::fs::read_dir(&index_dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_file() {
            std::fs::write(&p, b"not an index file").unwrap();
        }
    }
    let app = spawn_app_in(dir.path(), |_| {}).await;
    let after = search(&app, &c, "Where can I park my car?").await;
    assert_eq!(after.len(), before.len());
    assert_eq!(after[0]["chunk_id"], before[0]["chunk_id"]);
    app.stop().await;
    drop(dir);
}

#[tokio::test]
async fn the_voice_agent_speaks_the_answer_or_a_safe_one_and_logs_what_it_could_not_answer() {
    let app = spawn_app().await;
    let c = app.signup("Clinic", "admin@clinic.example").await;
    let (_, key) = app.create_agent_key(&c).await;
    load_eval_clinic(&app, &c).await;
    let r = app
        .vapi_tool(
            &key,
            "call-kb",
            "kb-1",
            "search_knowledge_base",
            json!({"query": "What time do you open on Saturday?"}),
        )
        .await;
    let said = r["result"].as_str().unwrap();
    assert!(said.contains("Saturdays from 10am to 2pm"), "{said}");
    assert!(!said.contains('\n'));
    assert!(r["passage_ids"][0].as_str().unwrap().ends_with("-0"));

    let r = app.vapi_tool(&key, "call-kb", "kb-2", "search_knowledge_base", json!({"query": "My nose is bleeding after surgery, my name is Sarah Connor, what should I do?"})).await;
    assert!(
        r["result"]
            .as_str()
            .unwrap()
            .contains("not able to give medical advice"),
        "{r}"
    );
    let r = app
        .vapi_tool(
            &key,
            "call-kb",
            "kb-3",
            "search_knowledge_base",
            json!({"query": "Do you sell gift vouchers for xylophones?"}),
        )
        .await;
    assert!(
        r["result"]
            .as_str()
            .unwrap()
            .contains("don't have that information"),
        "{r}"
    );

    let logged: Value = app
        .get(
            &format!("/api/orgs/{}/kb/unanswered", c.org_id),
            Some(&c.token),
        )
        .await
        .json()
        .await
        .unwrap();
    let logged = logged["unanswered"].as_array().unwrap();
    assert_eq!(logged.len(), 2);
    assert_eq!(logged[0]["reason"], "medical_or_urgent");
    let q = logged[0]["question_redacted"].as_str().unwrap();
    assert!(q.contains("[PERSON]") && !q.contains("Sarah"), "{q}");
    assert_eq!(logged[1]["reason"], "no_relevant_passage");
}

/// The real embedding model: from `VOXANNE_MODEL_DIR` when set, else where `voxanne model
/// install` puts it with this repo's `config.toml` (and any `VOXANNE_*` settings), as the
/// README says.
pub(crate) fn model_dir() -> std::path::PathBuf {
    let dir = match std::env::var_os("VOXANNE_MODEL_DIR") {
        Some(dir) => std::path::PathBuf::from(dir),
        None => {
            let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
            let settings = voxanne::config::Settings::load(
                &repo.join("config.toml"),
                false,
                &Default::default(),
            )
            .expect("the repo's config.toml loads");
            let dir = settings.search.model_dir;
            if dir.is_relative() {
                repo.join(dir)
            } else {
                dir
            }
        }
    };
    assert!(
        voxanne::search::embed::Embedder::present(&dir),
        "the embedding model is not in {}: run `cargo run --release -- model install` (or set VOXANNE_MODEL_DIR)",
        dir.display()
    );
    dir
}

#[test]
fn paraphrases_embed_close_together_and_unrelated_questions_apart() {
    let e = voxanne::search::embed::Embedder::load(&model_dir()).unwrap();
    let v = e
        .embed(&[
            "Do you offer rhinoplasty consultations?",
            "Can I book a nose job consult?",
            "What are your opening hours on Saturday?",
        ])
        .unwrap();
    assert_eq!(v[0].len(), voxanne::search::embed::DIMENSIONS);
    let cos = voxanne::search::embed::cosine;
    assert!((cos(&v[0], &v[0]) - 1.0).abs() < 1e-4, "unit length");
    let close = cos(&v[0], &v[1]);
    let far = cos(&v[0], &v[2]).max(cos(&v[1], &v[2]));
    println!("paraphrase {close:.3}, unrelated {far:.3}");
    assert!(
        close > far + 0.25,
        "paraphrase {close:.3} vs unrelated {far:.3}"
    );
    // The same text embeds the same alone or in a batch (no padding leaks into the mean).
    let alone = e.embed(&["Can I book a nose job consult?"]).unwrap();
    assert!(cos(&alone[0], &v[1]) > 0.999);
}

/// The encoder runs the model's linear maps in 8 bits: its vectors must still be the f32
/// model's, with the kernels of this CPU and with those other CPUs run (AVX2, plain loops).
/// The reference vectors were computed by candle's f32 BERT before the switch
/// (`tests/fixtures/encoder/minilm_reference.json`): short and long texts, accents, a text cut
/// at 256 tokens.
#[test]
fn the_encoder_gives_the_f32_models_vectors_to_within_a_cosine_of_0_995_on_every_path() {
    use voxanne::search::embed::Kernels;
    let e = voxanne::search::embed::Embedder::load(&model_dir()).unwrap();
    let reference: Value =
        serde_json::from_str(include_str!("../fixtures/encoder/minilm_reference.json")).unwrap();
    let cases = reference["cases"].as_array().unwrap();
    assert!(cases.len() >= 7);
    for kernels in [Kernels::Avx512Vnni, Kernels::Avx2, Kernels::Plain] {
        let mut lowest = 1.0f32;
        for case in cases {
            let text = case["text"].as_str().unwrap();
            let expected: Vec<f32> = case["vector"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap() as f32)
                .collect();
            let got = e.embed_with_kernels(text, kernels).unwrap();
            lowest = lowest.min(voxanne::search::embed::cosine(&got, &expected));
        }
        println!(
            "{kernels:?} (this CPU: {:?}): lowest cosine {lowest:.5}",
            Kernels::detect()
        );
        assert!(
            lowest >= 0.995,
            "{kernels:?}: lowest cosine to the f32 model {lowest:.4}"
        );
    }
}

#[tokio::test]
async fn with_the_model_close_paraphrases_score_above_0_7_and_hybrid_ranking_is_used() {
    let app = spawn_app_with(|s| s.search.model_dir = model_dir()).await;
    let c = app.signup("Clinic", "admin@clinic.example").await;
    let set = load_eval_clinic(&app, &c).await;
    let r = app
        .get(
            &format!(
                "/api/orgs/{}/kb/search?q={}",
                c.org_id,
                urlencode("How long do swelling and bruising take to settle after a rhinoplasty?")
            ),
            Some(&c.token),
        )
        .await;
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["mode"], "hybrid");
    let top = &body["results"][0];
    assert_eq!(top["title"], "Rhinoplasty aftercare");
    let sim = top["similarity"].as_f64().unwrap();
    println!("similarity {sim:.3}");
    assert!(sim > 0.7, "similarity {sim:.3}");
    // A paraphrase with no shared words still finds its passage.
    let results = search(&app, &c, "Is a nose job consult expensive?").await;
    assert!(
        results
            .iter()
            .take(3)
            .any(|r| r["title"] == "Consultation prices" || r["title"] == "Rhinoplasty aftercare"),
        "{results:?}"
    );
    // Fusion against each method alone, on the same set.
    let (hybrid_top1, hybrid_recall) = evaluate(&app, &c, &set).await;
    app.stop().await;
    let mut alone = Vec::new();
    for (text, vector) in [(1.0, 0.0), (0.0, 1.0)] {
        let app = spawn_app_with(|s| {
            s.search.model_dir = model_dir();
            s.search.fusion_weight_text = text;
            s.search.fusion_weight_vector = vector;
        })
        .await;
        let c = app.signup("Clinic", "admin@clinic.example").await;
        load_eval_clinic(&app, &c).await;
        alone.push(evaluate(&app, &c, &set).await);
        app.stop().await;
    }
    println!("top-1 / recall@5: text {:.2}/{:.2}, vector {:.2}/{:.2}, hybrid {hybrid_top1:.2}/{hybrid_recall:.2}", alone[0].0, alone[0].1, alone[1].0, alone[1].1);
    assert!(
        hybrid_top1 >= HYBRID_TOP1_FLOOR,
        "hybrid top-1 {hybrid_top1:.2}"
    );
    assert!(
        hybrid_recall >= HYBRID_RECALL5_FLOOR,
        "hybrid recall@5 {hybrid_recall:.2}"
    );
    assert!(
        hybrid_recall >= alone[0].1 && hybrid_recall >= alone[1].1,
        "fusion is at least as good as either alone at recall@5"
    );
    let app = spawn_app_with(|s| s.search.model_dir = model_dir()).await;
    let ready: Value = app.get("/readyz", None).await.json().await.unwrap();
    assert_eq!(ready["search"]["mode"], "hybrid");
    assert_eq!(
        ready["search"]["indexes"], "open",
        "no clinic has documents yet"
    );
}

/// The saved vector graph's description: the generation it reflects and its file name.
fn saved_graph(data_dir: &std::path::Path, org: &str) -> (u64, String) {
    let meta: Value = serde_json::from_slice(
        &std::fs::read(
            data_dir
                .join("indexes")
                .join(org)
                .join("vectors/graph.json"),
        )
        .expect("a saved vector graph"),
    )
    .unwrap();
    (
        meta["generation"].as_u64().unwrap(),
        meta["basename"].as_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn the_vector_graph_is_saved_loaded_at_restart_and_rebuilt_when_damaged_or_missing() {
    let question = "Is a nose job consult expensive?";
    let app = spawn_app_with(|s| s.search.model_dir = model_dir()).await;
    let c = app.signup("Clinic", "admin@clinic.example").await;
    let set = load_eval_clinic(&app, &c).await;
    let documents = set["documents"].as_array().unwrap().len() as u64;
    let before = search(&app, &c, question).await;
    let dir = app.stop().await.unwrap();
    let (generation, first_save) = saved_graph(dir.path(), &c.org_id);
    assert_eq!(generation, documents, "a clean stop leaves the graph saved");

    // Restart: the saved graph is loaded (same file, not rebuilt) and answers the same.
    let app = spawn_app_in(dir.path(), |s| s.search.model_dir = model_dir()).await;
    assert_eq!(search(&app, &c, question).await, before);
    assert_eq!(saved_graph(dir.path(), &c.org_id).1, first_save);
    // A change after the load reaches the loaded graph and the next save.
    add_doc(
        &app,
        &c,
        "Gift vouchers",
        "Gift vouchers for any treatment can be bought at reception or over the phone.",
    )
    .await;
    let found = search(&app, &c, "Can I buy someone a present voucher?").await;
    assert_eq!(found[0]["title"], "Gift vouchers");
    let before = search(&app, &c, question).await;
    app.stop().await;
    let (generation, second_save) = saved_graph(dir.path(), &c.org_id);
    assert_eq!(generation, documents + 1);
    assert_ne!(second_save, first_save);

    // A damaged graph file is noticed (checksum) and the graph rebuilt from redb.
    let vectors = dir.path().join("indexes").join(&c.org_id).join("vectors");
    let graph_file = vectors.join(format!("{second_save}.hnsw.graph"));
    let mut bytes = std::fs::read(&graph_file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x5A;
    std::fs::write(&graph_file, bytes).unwrap();
    let app = spawn_app_in(dir.path(), |s| s.search.model_dir = model_dir()).await;
    assert_eq!(search(&app, &c, question).await, before);
    assert_ne!(saved_graph(dir.path(), &c.org_id).1, second_save, "rebuilt");
    app.stop().await;

    // A missing graph is rebuilt at start, before any question is asked.
    std::fs::remove_dir_all(&vectors).unwrap();
    {
        let mut settings = voxanne::config::Settings::for_data_dir(dir.path());
        settings.search.model_dir = model_dir();
        let services = voxanne::startup::Services::open(&settings).unwrap();
        let to_open = services.kb.clinics_to_open().await.unwrap();
        assert_eq!(to_open.len(), 1);
        assert_eq!(services.kb.indexes_still_to_open(), 1);
        services.kb.open_all(&to_open).await;
        assert_eq!(services.kb.indexes_still_to_open(), 0);
        assert!(vectors.join("graph.json").exists());
        services.kb.shutdown().await;
        // The claim writer holds the database until it is stopped.
        services.booking.shutdown().await;
    }
    let app = spawn_app_in(dir.path(), |s| s.search.model_dir = model_dir()).await;
    assert_eq!(search(&app, &c, question).await, before);
    app.stop().await;
    drop(dir);
}
