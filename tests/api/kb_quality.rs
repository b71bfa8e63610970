//! Knowledge answers on text nobody here wrote: the small evaluation sets built from
//! Python's documentation (`tests/fixtures/kb_eval/`, see its README) scored through the HTTP
//! API against floors; a document's title decides between passages that say the same; one long
//! document does not fill the results; and a bulk import writes the vector graph once, not
//! once per document, and that graph is the one loaded at restart.

#[path = "../kb_eval/mod.rs"]
#[allow(dead_code)]
mod kb_eval;

use serde_json::Value;

use crate::helpers::*;
use crate::knowledge_base::{add_doc as add, model_dir};

/// Floors a little under what this build scores (BENCHMARKS.md has the figures).
const FAQ_FLOORS: kb_eval::Scores = kb_eval::Scores {
    recall_at_5: 0.95,
    // 0.932 / 0.950 with documents' openings read, 0.902 / 0.927 without: room for one
    // answer to move down one place (0.023 / 0.017), not for the openings to go.
    mrr_at_10: 0.905,
    ndcg_at_10: 0.93,
};
const LIBRARY_FLOORS: kb_eval::Scores = kb_eval::Scores {
    recall_at_5: 0.60,
    mrr_at_10: 0.52,
    ndcg_at_10: 0.52,
};

fn fixture(name: &str) -> kb_eval::Set {
    kb_eval::load(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/kb_eval")
            .join(name),
    )
}

fn reached(app: &TestApp, c: &Clinic) -> kb_eval::Clinic {
    kb_eval::Clinic {
        client: app.client.clone(),
        base: app.base.clone(),
        org: c.org_id.clone(),
        token: c.token.clone(),
    }
}

fn assert_at_least(set: &str, got: kb_eval::Scores, floor: kb_eval::Scores) {
    println!("{set}: {got}");
    assert!(
        got.recall_at_5 >= floor.recall_at_5
            && got.mrr_at_10 >= floor.mrr_at_10
            && got.ndcg_at_10 >= floor.ndcg_at_10,
        "{set}: {got} is under its floors ({floor})"
    );
}

#[tokio::test]
async fn questions_written_by_others_find_their_answers_above_the_floors() {
    let app = spawn_app_with(|s| s.search.model_dir = model_dir()).await;
    for (name, floors) in [
        ("python-faq-general", FAQ_FLOORS),
        ("python-library-small", LIBRARY_FLOORS),
    ] {
        let c = app.signup(name, &format!("admin@{name}.example")).await;
        let set = fixture(name);
        let clinic = reached(&app, &c);
        let (loaded, _) = clinic.import(&set, 2).await;
        let fused = clinic.score(&set, &loaded, None).await;
        let text = clinic.score(&set, &loaded, Some("text")).await;
        let vector = clinic.score(&set, &loaded, Some("vector")).await;
        // Each half alone, for the record (on these small sets fusion is within a few
        // hundredths of the vectors alone either way; BENCHMARKS.md has the larger sets).
        println!("{name}: text {text}\n{name}: vector {vector}");
        assert_at_least(name, fused, floors);
    }
}

#[tokio::test]
async fn a_documents_title_decides_between_passages_that_say_the_same() {
    let app = spawn_app_with(|s| s.search.model_dir = model_dir()).await;
    let c = app.signup("Clinic", "admin@clinic.example").await;
    let body = "Sleep with your head raised on two pillows for the first week. Avoid bending, \
                lifting and strenuous exercise for three weeks, and keep the dressing dry.";
    let nose = add(&app, &c, "Rhinoplasty aftercare", body).await;
    let face = add(&app, &c, "Facelift aftercare", body).await;
    let clinic = reached(&app, &c);
    for (question, wanted) in [
        ("What should I do after my rhinoplasty?", &nose),
        ("How do I look after myself following a facelift?", &face),
    ] {
        // The passages' vectors are the same (titles are not embedded: that measured worse
        // on one set, BENCHMARKS.md); the title is searched as words and breaks the tie.
        let hits = clinic.results(question, None, 2).await;
        assert_eq!(
            hits[0]["document_id"],
            wanted.as_str(),
            "{question}: {hits:?}"
        );
        assert_eq!(hits[0]["similarity"], hits[1]["similarity"]);
        assert!(hits[0]["score"].as_f64() > hits[1]["score"].as_f64());
    }
    // Each half alone: the words alone (no similarity computed) find the title's document
    // only; the meaning alone scores by similarity only and cannot tell the two apart.
    let question = "What should I do after my rhinoplasty?";
    let text = clinic.results(question, Some("text"), 2).await;
    // Only the title holds a word of the question that is not a stop word.
    assert_eq!(text.len(), 1, "{text:?}");
    assert_eq!(text[0]["document_id"], nose.as_str());
    assert!(text[0]["similarity"].is_null(), "{text:?}");
    let vector = clinic.results(question, Some("vector"), 2).await;
    assert_eq!(vector.len(), 2);
    for h in &vector {
        let (score, similarity) = (
            h["score"].as_f64().unwrap(),
            h["similarity"].as_f64().unwrap(),
        );
        assert!((score - similarity).abs() < 1e-6, "{h}");
    }
    assert_eq!(vector[0]["score"], vector[1]["score"]);
}

#[tokio::test]
async fn a_passage_is_read_with_the_opening_of_its_document() {
    let app = spawn_app_with(|s| s.search.model_dir = model_dir()).await;
    let c = app.signup("Clinic", "admin@clinic.example").await;
    // Two guides with the same title and the same second section; only their openings differ.
    let later = "# Going back to work\nMost people go back to a desk job after ten days \
                 and to heavy lifting after three weeks.";
    let nose = add(
        &app,
        &c,
        "Patient guide",
        &format!(
            "# After your rhinoplasty\nYour nose will be swollen and splinted for the first \
             week after rhinoplasty surgery.\n\n{later}"
        ),
    )
    .await;
    let parking = add(
        &app,
        &c,
        "Patient guide",
        &format!(
            "# Parking at the clinic\nThe car park behind the building has twelve spaces and \
             is free for patients.\n\n{later}"
        ),
    )
    .await;
    let hits = reached(&app, &c)
        .results("When can I go back to work after my rhinoplasty?", None, 4)
        .await;
    let later_of = |doc: &str| {
        hits.iter()
            .find(|h| {
                h["document_id"] == doc
                    && h["text"]
                        .as_str()
                        .is_some_and(|t| t.starts_with("Going back to work"))
            })
            .unwrap_or_else(|| panic!("the second section of {doc}: {hits:?}"))
    };
    let (on_subject, off_subject) = (later_of(&nose), later_of(&parking));
    // The same words, so the same cosine and the same BM25 (to within rounding): the
    // rhinoplasty guide's opening is what puts its copy clearly ahead.
    assert_eq!(on_subject["similarity"], off_subject["similarity"]);
    let score = |h: &Value| h["score"].as_f64().unwrap_or_default();
    assert!(
        score(on_subject) > score(off_subject) + 0.05,
        "{on_subject} against {off_subject}"
    );
}

#[tokio::test]
async fn one_long_document_does_not_fill_the_results() {
    let app = spawn_app_with(|s| s.search.model_dir = model_dir()).await;
    let c = app.signup("Clinic", "admin@clinic.example").await;
    // A long guide whose every passage is about fillers, and three short notes about them.
    let paragraph = "Dermal fillers smooth lines and restore volume; results from fillers \
                     last six to eighteen months depending on the filler and the area treated. ";
    let guide: String = (0..12)
        .map(|i| format!("# Fillers part {i}\n{}\n\n", paragraph.repeat(4)))
        .collect();
    let long = add(&app, &c, "The complete guide to dermal fillers", &guide).await;
    let mut short = Vec::new();
    for (title, body) in [
        (
            "Filler prices",
            "Lip filler costs 250 pounds; cheek filler 350 pounds.",
        ),
        (
            "Filler bookings",
            "Filler appointments are on Tuesdays and Thursdays.",
        ),
        (
            "Filler after-care",
            "Avoid make-up for a day after dermal fillers.",
        ),
    ] {
        short.push(add(&app, &c, title, body).await);
    }
    let hits = reached(&app, &c)
        .results("How long do dermal fillers last?", None, 5)
        .await;
    assert_eq!(hits.len(), 5);
    let first_four: std::collections::HashSet<&str> = hits[..4]
        .iter()
        .map(|h| h["document_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        first_four.len(),
        4,
        "each document's best passage comes before a second passage of any: {hits:?}"
    );
    assert_eq!(
        hits[0]["document_id"],
        long.as_str(),
        "the guide answers best"
    );
    assert!(short.iter().all(|d| first_four.contains(d.as_str())));
    assert_eq!(
        hits[4]["document_id"],
        long.as_str(),
        "then the guide's next passage"
    );
}

#[tokio::test]
async fn a_bulk_import_saves_the_vector_graph_once_and_that_graph_loads_at_restart() {
    let app = spawn_app_with(|s| s.search.model_dir = model_dir()).await;
    let c = app.signup("Clinic", "admin@clinic.example").await;
    let set = kb_eval::Set {
        name: "notes".into(),
        documents: (0..240)
            .map(|i| kb_eval::Document {
                id: format!("note-{i}"),
                title: format!("Note {i}"),
                body: format!("Treatment room {i} is on floor {} next to the lift.", i % 7),
            })
            .collect(),
        questions: Vec::new(),
        judgements: Default::default(),
    };
    let saves_before = app.services.kb.vector_graph_saves();
    let (loaded, _) = reached(&app, &c).import(&set, 4).await;
    assert_eq!(loaded.len(), 240);
    // The coalesced save follows once the import has paused.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while app.services.kb.vector_graph_saves() == saves_before {
        assert!(
            std::time::Instant::now() < deadline,
            "no save after the import"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // Once when the import paused, plus one a minute and one per pause of 2 s a slow
    // machine may add: far from one per document.
    let saves = app.services.kb.vector_graph_saves() - saves_before;
    assert!(
        saves <= 12,
        "{saves} graph saves for one import of 240 documents"
    );
    let question = "Which floor is treatment room 17 on?";
    let before = reached(&app, &c).results(question, None, 3).await;
    let dir = app.stop().await.unwrap();
    let vectors = dir.path().join("indexes").join(&c.org_id).join("vectors");
    let graph_files: Vec<String> = std::fs::read_dir(&vectors)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".hnsw.graph") || n.ends_with(".hnsw.data"))
        .collect();
    assert_eq!(graph_files.len(), 2, "one saved graph: {graph_files:?}");
    let meta: Value =
        serde_json::from_slice(&std::fs::read(vectors.join("graph.json")).unwrap()).unwrap();
    assert_eq!(
        meta["generation"], 240,
        "the saved graph holds every document"
    );

    let app = spawn_app_in(dir.path(), |s| s.search.model_dir = model_dir()).await;
    assert_eq!(reached(&app, &c).results(question, None, 3).await, before);
    assert_eq!(
        app.services.kb.vector_graph_saves(),
        0,
        "loaded as saved, not rebuilt and saved again"
    );
    app.stop().await;
    drop(dir);
}

#[tokio::test]
async fn a_half_that_does_not_exist_is_a_400_and_one_not_installed_a_409() {
    let app = spawn_app().await;
    let c = app.signup("Clinic", "admin@clinic.example").await;
    add(&app, &c, "Parking", "Parking is free behind the clinic.").await;
    let clinic = reached(&app, &c);
    for (only, status) in [("bogus", 400), ("vector", 409)] {
        let r = app
            .get(
                &format!("/api/orgs/{}/kb/search?q=parking&only={only}", c.org_id),
                Some(&c.token),
            )
            .await;
        assert_eq!(r.status(), status, "only={only}");
        let body: Value = r.json().await.unwrap();
        assert!(body["error"].is_string(), "{body}");
    }
    // Without the model the text half alone is what the fused search gives.
    let text = clinic.results("parking", Some("text"), 3).await;
    assert!(!text.is_empty());
    assert_eq!(text, clinic.results("parking", None, 3).await);
}
