//! Answering a question: BM25 and vector search side by side, fused, and a short spoken
//! answer (or a referral to a clinician for medical advice and urgent questions).

use super::*;
use crate::store::OrgReads;

/// Questions the agent must not answer from documents: medical advice and anything urgent.
pub(super) const SAFETY_PHRASES: &[&str] = &[
    "emergency",
    "bleeding",
    "can't breathe",
    "cannot breathe",
    "chest pain",
    "severe pain",
    "fainted",
    "unconscious",
    "allergic reaction",
    "swollen throat",
    "infection",
    "infected",
    "fever",
    "pus",
    "numbness",
    "should i take",
    "can i take",
    "is it safe",
    "dose",
    "dosage",
    "stop taking",
    "mix with",
    "overdose",
    "suicid",
];

pub(super) fn needs_a_clinician(question: &str) -> bool {
    let q = question.to_lowercase();
    SAFETY_PHRASES.iter().any(|p| q.contains(p))
}

/// The first sentence or two of a passage, on one line.
pub(super) fn speakable(text: &str) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = String::new();
    for s in flat.split_inclusive(['.', '!', '?']) {
        if out.chars().count() + s.chars().count() > 320 && !out.is_empty() {
            break;
        }
        out.push_str(s);
        if out.chars().count() > 160 {
            break;
        }
    }
    out.trim().to_string()
}

/// Which ranking a search uses: the two halves fused (what callers get), or one half alone
/// (for measuring what each contributes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Ranking {
    #[default]
    Fused,
    /// BM25 over titles and passages only.
    Text,
    /// Nearest passage vectors only (needs the embedding model).
    Vector,
}

/// `hits` (best first) with each document's best passage ahead of any document's second:
/// several passages of one long document do not push other documents out of the top.
pub(super) fn one_document_each_first(hits: Vec<Hit>) -> Vec<Hit> {
    let mut seen = std::collections::HashSet::new();
    let (firsts, repeats): (Vec<Hit>, Vec<Hit>) =
        hits.into_iter().partition(|h| seen.insert(h.document_id));
    firsts.into_iter().chain(repeats).collect()
}

/// A passage's vector score: its own cosine `passage` and `weight` × the cosine of its
/// document's first passage (`opening`, the passage itself for a first passage), over
/// `1 + weight` so that it stays on the cosine's scale. A document's opening says what the
/// document is about; a later passage that matches a question is likelier the answer when the
/// document as a whole is on its subject. Without the opening's cosine, the passage's alone.
pub(super) fn with_opening(passage: f32, opening: Option<f32>, weight: f32) -> f32 {
    match opening {
        Some(opening) => (passage + weight * opening) / (1.0 + weight),
        None => passage,
    }
}

impl KnowledgeBase {
    /// The best `k` passages of the org for `query`: BM25 and (with the model) nearest
    /// vectors, fused by weighted scores; `similarity` is the query–passage cosine.
    pub async fn search(&self, org: OrgId, query: &str, k: usize) -> Result<Vec<Hit>, KbError> {
        self.search_ranked(org, query, k, Ranking::Fused).await
    }

    /// [`Self::search`] with the ranking chosen.
    pub async fn search_ranked(
        &self,
        org: OrgId,
        query: &str,
        k: usize,
        ranking: Ranking,
    ) -> Result<Vec<Hit>, KbError> {
        let started = std::time::Instant::now();
        let query_vector = match (&self.embedder, ranking) {
            (Some(e), Ranking::Fused | Ranking::Vector) => {
                let (e, q) = (e.clone(), query.to_string());
                Some(
                    tokio::task::spawn_blocking(move || e.embed_query(&q))
                        .await
                        .map_err(|_| KbError::Task)??,
                )
            }
            _ => None,
        };
        let hits = self.rank(org, query, query_vector, k, ranking).await;
        metrics::histogram!(crate::metrics::SEARCH).record(started.elapsed().as_secs_f64());
        hits
    }

    /// [`Self::search`] once the query's vector is known (`None` without the model): both
    /// index searches, the fusion and the passages read from redb.
    pub async fn search_embedded(
        &self,
        org: OrgId,
        query: &str,
        query_vector: Option<Arc<Vec<f32>>>,
        k: usize,
    ) -> Result<Vec<Hit>, KbError> {
        self.rank(org, query, query_vector, k, Ranking::Fused).await
    }

    async fn rank(
        &self,
        org: OrgId,
        query: &str,
        query_vector: Option<Arc<Vec<f32>>>,
        k: usize,
        ranking: Ranking,
    ) -> Result<Vec<Hit>, KbError> {
        let search = self.index(org).await?;
        let q = query.to_string();
        let k = k.clamp(1, 50);
        let (w_text, w_vector) = match ranking {
            Ranking::Fused => (
                self.settings.fusion_weight_text,
                self.settings.fusion_weight_vector,
            ),
            Ranking::Text => (1.0, 0.0),
            Ranking::Vector => (0.0, 1.0),
        };
        let w_opening = self.settings.opening_passage_weight;
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || -> Result<Vec<Hit>, KbError> {
            let graph = search.vectors.as_ref().map(|saved| saved.current());
            // The two searches are independent: on two cores they take as long as the slower.
            let (text_ranked, vector_ranked) = rayon::join(
                || match ranking {
                    Ranking::Vector => Ok(Vec::new()),
                    _ => search.text.search(&q, 20),
                },
                || match (&query_vector, &graph) {
                    (Some(qv), Some(graph)) => graph.search(qv, 20),
                    _ => Vec::new(),
                },
            );
            let text_ranked = text_ranked?;
            // Candidates: the union of both top-20 lists, each scored by weighted score
            // fusion: w_text × BM25 / best BM25 of this query + w_vector × the passage's
            // cosine read with its document's opening (`with_opening`), computed in memory
            // against the graph's points (redb's copy only if the graph lacks one).
            let best_bm25 = text_ranked
                .first()
                .map_or(1.0, |(_, s)| s.max(f32::EPSILON));
            let mut candidates: Vec<(String, f32, Option<f32>)> = text_ranked
                .into_iter()
                .map(|(id, bm25)| (id, bm25, None))
                .collect();
            for near in vector_ranked {
                match candidates.iter_mut().find(|c| c.0 == near.passage_id) {
                    Some(c) => c.2 = Some(near.similarity),
                    None => candidates.push((near.passage_id, 0.0, Some(near.similarity))),
                }
            }
            let r = store.begin_read()?;
            let o = r.org(org);
            let mut hits = Vec::with_capacity(candidates.len());
            // Each document's opening cosine, looked up once however many of its passages are
            // candidates (and not at all when its first passage is one).
            let mut openings: std::collections::HashMap<uuid::Uuid, Option<f32>> =
                std::collections::HashMap::new();
            for (chunk_id, bm25, similarity) in candidates {
                let Some((doc, idx)) = chunk_id.rsplit_once('-') else {
                    continue;
                };
                let (Ok(doc), Ok(idx)) = (doc.parse::<uuid::Uuid>(), idx.parse::<u32>()) else {
                    continue;
                };
                let key = chunk_key(doc, idx);
                // Only passages redb still has: a deleted one never comes back.
                let Some(c) = o.get(&KB_CHUNKS, &key)? else {
                    continue;
                };
                let (score, similarity) = match &query_vector {
                    Some(qv) => {
                        // A passage's cosine, from the graph's copy of its vector (redb's only
                        // if the graph lacks it).
                        let cosine_of =
                            |chunk_id: &str, key: &[u8]| -> Result<Option<f32>, KbError> {
                                match graph.as_ref().and_then(|g| g.similarity(qv, chunk_id)) {
                                    Some(s) => Ok(Some(s)),
                                    None => Ok(o
                                        .get(&KB_VECTORS, key)?
                                        .map(|v| cosine(qv, &v).clamp(0.0, 1.0))),
                                }
                            };
                        let sim = match similarity {
                            Some(s) => Some(s),
                            None => cosine_of(&chunk_id, &key)?,
                        };
                        let opening = match idx {
                            _ if w_opening == 0.0 || sim.is_none() => None,
                            0 => *openings.entry(doc).or_insert(sim),
                            _ => match openings.get(&doc) {
                                Some(&known) => known,
                                None => {
                                    let found = cosine_of(&format!("{doc}-0"), &chunk_key(doc, 0))?;
                                    *openings.entry(doc).or_insert(found)
                                }
                            },
                        };
                        let vector_score = with_opening(sim.unwrap_or(0.0), opening, w_opening);
                        (w_text * bm25 / best_bm25 + w_vector * vector_score, sim)
                    }
                    None => (bm25, None),
                };
                hits.push(Hit {
                    document_id: doc,
                    chunk_id,
                    title: c.title,
                    text: c.text,
                    score,
                    similarity,
                });
            }
            hits.sort_by(|a, b| {
                b.score
                    .total_cmp(&a.score)
                    .then(a.chunk_id.cmp(&b.chunk_id))
            });
            let mut hits = one_document_each_first(hits);
            hits.truncate(k);
            Ok(hits)
        })
        .await
        .map_err(|_| KbError::Task)?
    }

    /// What the voice agent says for `question`.
    pub async fn answer(&self, org: OrgId, question: &str) -> Result<SpokenAnswer, KbError> {
        if needs_a_clinician(question) {
            self.log_unanswered(org, question, "medical_or_urgent")
                .await?;
            return Ok(SpokenAnswer {
                sentence: self.settings.safety_answer.clone(),
                passages: Vec::new(),
                answered: false,
            });
        }
        let hits = self.search(org, question, 3).await?;
        let relevant: Vec<&Hit> = hits
            .iter()
            .filter(|h| match h.similarity {
                Some(s) => s >= self.settings.min_similarity,
                None => !self.semantic() && h.score >= self.settings.min_bm25_score,
            })
            .collect();
        match relevant.first() {
            Some(best) => Ok(SpokenAnswer {
                sentence: speakable(&best.text),
                passages: relevant.iter().map(|h| h.chunk_id.clone()).collect(),
                answered: true,
            }),
            None => {
                self.log_unanswered(org, question, "no_relevant_passage")
                    .await?;
                Ok(SpokenAnswer {
                    sentence: "I'm sorry, I don't have that information. I can take a message and someone from the clinic will get back to you.".into(),
                    passages: Vec::new(),
                    answered: false,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medical_advice_and_urgent_questions_are_recognised() {
        assert!(needs_a_clinician("Can I take ibuprofen after my filler?"));
        assert!(needs_a_clinician("My nose is bleeding after the surgery"));
        assert!(!needs_a_clinician(
            "What are your opening hours on Saturday?"
        ));
        assert!(!needs_a_clinician(
            "How much is a rhinoplasty consultation?"
        ));
    }

    #[test]
    fn a_later_passage_ranks_by_its_documents_opening_too() {
        // Two passages with the same cosine: the one whose document opens on the question's
        // subject ranks first; a first passage counts its own cosine once more.
        let on_subject = with_opening(0.6, Some(0.7), 0.5);
        let off_subject = with_opening(0.6, Some(0.1), 0.5);
        assert!(on_subject > off_subject);
        assert!((with_opening(0.6, Some(0.6), 0.5) - 0.6).abs() < 1e-6);
        assert_eq!(with_opening(0.6, None, 0.5), 0.6);
        assert_eq!(with_opening(0.6, Some(0.9), 0.0), 0.6);
    }

    #[test]
    fn each_documents_best_passage_comes_before_any_second_passage() {
        let (a, b, c) = (
            uuid::Uuid::from_u128(1),
            uuid::Uuid::from_u128(2),
            uuid::Uuid::from_u128(3),
        );
        let hit = |doc: uuid::Uuid, n: u32| Hit {
            document_id: doc,
            chunk_id: format!("{doc}-{n}"),
            title: String::new(),
            text: String::new(),
            score: 0.0,
            similarity: None,
        };
        let ranked = vec![
            hit(a, 0),
            hit(a, 1),
            hit(a, 2),
            hit(b, 0),
            hit(c, 4),
            hit(b, 1),
        ];
        let order: Vec<String> = one_document_each_first(ranked)
            .into_iter()
            .map(|h| h.chunk_id)
            .collect();
        let wanted: Vec<String> = [(a, 0), (b, 0), (c, 4), (a, 1), (a, 2), (b, 1)]
            .iter()
            .map(|(d, n)| format!("{d}-{n}"))
            .collect();
        assert_eq!(order, wanted);
    }

    #[test]
    fn spoken_answers_are_a_sentence_or_two_on_one_line() {
        let s = speakable("Opening hours. We are open\n9 to 5 on weekdays. On Saturdays we open 10 to 2. Sundays closed. Bank holidays vary by season and by practitioner availability, so please check.");
        assert!(!s.contains('\n'));
        assert!(s.starts_with("Opening hours. We are open 9 to 5 on weekdays."));
        assert!(s.chars().count() <= 320);
    }
}
