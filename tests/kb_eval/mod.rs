//! Knowledge-base evaluation sets (documents, questions, graded judgements) loaded into a
//! running appliance through its HTTP API and scored there: recall@5, MRR@10 and nDCG@10,
//! for the fused ranking and for each half alone (`?only=text|vector`).
//!
//! A set is a directory with `corpus.jsonl` (`{"id","title","body"}` per line),
//! `queries.jsonl` (`{"id","text"}`) and `qrels.tsv` (`query id, document id, grade`).
//! `benches/kb_sets.py` builds the larger ones from Debian's documentation packages; small
//! ones live under `tests/fixtures/kb_eval/`. Judgements are per document: a result list is
//! read as the documents of its passages in order, and a document met again further down
//! gains nothing the second time.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Debug, Deserialize)]
pub struct Document {
    pub id: String,
    pub title: String,
    pub body: String,
}

#[derive(Debug, Deserialize)]
pub struct Question {
    pub id: String,
    pub text: String,
}

pub struct Set {
    pub name: String,
    pub documents: Vec<Document>,
    pub questions: Vec<Question>,
    /// Question id → (document id → grade).
    pub judgements: HashMap<String, HashMap<String, u32>>,
}

fn lines<T: serde::de::DeserializeOwned>(path: &Path) -> Vec<T> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e} (build it with benches/kb_sets.py)", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

pub fn load(dir: &Path) -> Set {
    let mut judgements: HashMap<String, HashMap<String, u32>> = HashMap::new();
    let qrels = std::fs::read_to_string(dir.join("qrels.tsv")).expect("qrels.tsv");
    for line in qrels.lines().filter(|l| !l.trim().is_empty()) {
        let mut f = line.split('\t');
        let (q, d, g) = (f.next(), f.next(), f.next());
        if let (Some(q), Some(d), Some(g)) = (q, d, g) {
            let grade = g.trim().parse().expect("a whole-number grade");
            judgements
                .entry(q.to_string())
                .or_default()
                .insert(d.to_string(), grade);
        }
    }
    let questions: Vec<Question> = lines(&dir.join("queries.jsonl"));
    Set {
        name: dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        documents: lines(&dir.join("corpus.jsonl")),
        questions: questions
            .into_iter()
            .filter(|q| judgements.contains_key(&q.id))
            .collect(),
        judgements,
    }
}

/// One clinic of a running appliance, reached over HTTP.
pub struct Clinic {
    pub client: reqwest::Client,
    pub base: String,
    pub org: String,
    pub token: String,
}

/// The appliance's document ids → the set's.
pub type Loaded = HashMap<String, String>;

impl Clinic {
    /// Adds every document of `set` through `POST /kb/documents`, `clients` at a time;
    /// returns the id map and how long it took.
    pub async fn import(&self, set: &Set, clients: usize) -> (Loaded, Duration) {
        let started = Instant::now();
        let mut loaded = Loaded::new();
        let url = format!("{}/api/orgs/{}/kb/documents", self.base, self.org);
        let mut next = set.documents.iter();
        let mut running = tokio::task::JoinSet::new();
        loop {
            while running.len() < clients.max(1) {
                let Some(d) = next.next() else { break };
                let (client, url, token) = (self.client.clone(), url.clone(), self.token.clone());
                let (id, body) = (d.id.clone(), json!({"title": d.title, "body": d.body}));
                running.spawn(async move {
                    let r = client
                        .post(url)
                        .bearer_auth(token)
                        .json(&body)
                        .send()
                        .await
                        .expect("the appliance answers");
                    assert_eq!(r.status(), reqwest::StatusCode::CREATED, "document {id}");
                    let v: Value = r.json().await.expect("JSON");
                    (v["id"].as_str().unwrap_or_default().to_string(), id)
                });
            }
            match running.join_next().await {
                Some(done) => {
                    let (ours, theirs) = done.expect("an import task");
                    loaded.insert(ours, theirs);
                }
                None => break,
            }
        }
        (loaded, started.elapsed())
    }

    /// The set's document ids of the first 10 results for `question`, in order.
    pub async fn ranked(&self, loaded: &Loaded, question: &str, only: Option<&str>) -> Vec<String> {
        self.results(question, only, 10)
            .await
            .iter()
            .map(|h| {
                let id = h["document_id"].as_str().unwrap_or_default();
                loaded.get(id).cloned().unwrap_or_default()
            })
            .collect()
    }

    /// The first `k` results for `question` as the API returns them.
    pub async fn results(&self, question: &str, only: Option<&str>, k: usize) -> Vec<Value> {
        let k = k.to_string();
        let mut query = vec![("q", question), ("k", k.as_str())];
        if let Some(only) = only {
            query.push(("only", only));
        }
        let r = self
            .client
            .get(format!("{}/api/orgs/{}/kb/search", self.base, self.org))
            .bearer_auth(&self.token)
            .query(&query)
            .send()
            .await
            .expect("the appliance answers");
        assert_eq!(r.status(), reqwest::StatusCode::OK);
        let v: Value = r.json().await.expect("JSON");
        v["results"].as_array().cloned().unwrap_or_default()
    }

    /// The set's scores for one ranking (`only`: `None` fused, `Some("text")`, `Some("vector")`).
    pub async fn score(&self, set: &Set, loaded: &Loaded, only: Option<&str>) -> Scores {
        let mut total = Scores::default();
        for q in &set.questions {
            let ranked = self.ranked(loaded, &q.text, only).await;
            total.add(&score_one(&ranked, &set.judgements[&q.id]));
        }
        total.mean(set.questions.len())
    }
}

#[derive(Debug, Default, Clone, Copy)]
pub struct Scores {
    pub recall_at_5: f64,
    pub mrr_at_10: f64,
    pub ndcg_at_10: f64,
}

impl Scores {
    fn add(&mut self, o: &Scores) {
        self.recall_at_5 += o.recall_at_5;
        self.mrr_at_10 += o.mrr_at_10;
        self.ndcg_at_10 += o.ndcg_at_10;
    }

    fn mean(self, n: usize) -> Scores {
        let n = n.max(1) as f64;
        Scores {
            recall_at_5: self.recall_at_5 / n,
            mrr_at_10: self.mrr_at_10 / n,
            ndcg_at_10: self.ndcg_at_10 / n,
        }
    }
}

impl std::fmt::Display for Scores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "R@5 {:.3}  MRR@10 {:.3}  nDCG@10 {:.3}",
            self.recall_at_5, self.mrr_at_10, self.ndcg_at_10
        )
    }
}

/// One question's scores: `ranked` is the documents of the results in order (repeats gain
/// nothing), `relevant` the judged documents and their grades.
pub fn score_one(ranked: &[String], relevant: &HashMap<String, u32>) -> Scores {
    let mut seen = std::collections::HashSet::new();
    let gains: Vec<f64> = ranked
        .iter()
        .take(10)
        .map(|d| {
            let first_time = seen.insert(d.clone());
            match relevant.get(d) {
                Some(&g) if first_time && g > 0 => g as f64,
                _ => 0.0,
            }
        })
        .collect();
    let wanted = relevant.values().filter(|&&g| g > 0).count().max(1) as f64;
    let found_in_5 = gains.iter().take(5).filter(|&&g| g > 0.0).count() as f64;
    let mrr = gains
        .iter()
        .position(|&g| g > 0.0)
        .map_or(0.0, |i| 1.0 / (i as f64 + 1.0));
    let dcg = |gs: &[f64]| -> f64 {
        gs.iter()
            .enumerate()
            .map(|(i, g)| (2f64.powf(*g) - 1.0) / (i as f64 + 2.0).log2())
            .sum()
    };
    let mut ideal: Vec<f64> = relevant.values().map(|&g| g as f64).collect();
    ideal.sort_by(|a, b| b.total_cmp(a));
    ideal.truncate(10);
    let best = dcg(&ideal);
    Scores {
        recall_at_5: found_in_5 / wanted,
        mrr_at_10: mrr,
        ndcg_at_10: if best > 0.0 { dcg(&gains) / best } else { 0.0 },
    }
}
