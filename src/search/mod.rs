//! The clinic's knowledge base: documents and their passages in redb (the source of truth),
//! a per-org full-text index derived from them (rebuilt when missing, corrupt or stale), and
//! the answers the voice agent speaks from it, with a fixed safe answer for medical-advice or
//! urgent questions.

pub mod chunk;
pub mod fulltext;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use chrono::{SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::audit::{self, AuditEvent, Outcome};
use crate::auth::Caller;
use crate::config::SearchSettings;
use crate::domain::{FieldError, OrgId, Validation};
use crate::pii::{Detector, Known};
use crate::store::tables::{KB_CHUNKS, KB_DOCUMENTS, KB_STATE, KB_UNANSWERED};
use crate::store::{Store, StoreError};
use fulltext::{FullTextError, IndexedPassage, OrgIndex};

#[derive(Debug, thiserror::Error)]
pub enum KbError {
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Index(#[from] FullTextError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("a search task stopped unexpectedly")]
    Task,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KbDocument {
    pub id: uuid::Uuid,
    pub title: String,
    pub body: String,
    pub tags: Vec<String>,
    pub source: Option<String>,
    pub chunks: usize,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KbChunk {
    pub chunk_id: String,
    pub document_id: uuid::Uuid,
    pub title: String,
    pub text: String,
}

/// The org's knowledge-base generation: bumped with every change, and recorded beside the
/// index once the index has caught up, so a stale index is noticed at open.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct KbState {
    pub generation: u64,
}

/// A question the agent could not answer, for staff to review (personal data redacted).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Unanswered {
    pub id: uuid::Uuid,
    pub at: String,
    pub question_redacted: String,
    pub reason: String,
}

/// One search result.
#[derive(Debug, Clone, Serialize)]
pub struct Hit {
    pub document_id: uuid::Uuid,
    pub chunk_id: String,
    pub title: String,
    pub text: String,
    pub score: f32,
    /// Cosine similarity of query and passage; `None` while no embedding model is installed.
    pub similarity: Option<f32>,
}

/// What the voice agent says for a question.
#[derive(Debug, Clone)]
pub struct SpokenAnswer {
    pub sentence: String,
    pub passages: Vec<String>,
    pub answered: bool,
}

pub struct KnowledgeBase {
    store: Store,
    data_dir: PathBuf,
    settings: SearchSettings,
    detector: Arc<Detector>,
    indexes: Mutex<HashMap<OrgId, Arc<OrgIndex>>>,
}

fn chunk_key(doc: uuid::Uuid, i: u32) -> Vec<u8> {
    let mut k = doc.as_bytes().to_vec();
    k.extend_from_slice(&i.to_be_bytes());
    k
}

/// Questions the agent must not answer from documents: medical advice and anything urgent.
const SAFETY_PHRASES: &[&str] = &[
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

fn needs_a_clinician(question: &str) -> bool {
    let q = question.to_lowercase();
    SAFETY_PHRASES.iter().any(|p| q.contains(p))
}

/// The first sentence or two of a passage, on one line.
fn speakable(text: &str) -> String {
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

impl KnowledgeBase {
    pub fn new(
        store: Store,
        data_dir: PathBuf,
        settings: SearchSettings,
        detector: Arc<Detector>,
    ) -> Self {
        Self {
            store,
            data_dir,
            settings,
            detector,
            indexes: Mutex::new(HashMap::new()),
        }
    }

    fn generation_file(&self, org: OrgId) -> PathBuf {
        fulltext::index_dir(&self.data_dir, &org.to_string()).with_extension("generation")
    }

    /// The org's index, opened (and rebuilt from redb if missing, corrupt or stale) on first use.
    async fn index(&self, org: OrgId) -> Result<Arc<OrgIndex>, KbError> {
        if let Some(i) = self
            .indexes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&org)
        {
            return Ok(i.clone());
        }
        let dir = fulltext::index_dir(&self.data_dir, &org.to_string());
        let gen_file = self.generation_file(org);
        let store = self.store.clone();
        let index = tokio::task::spawn_blocking(move || -> Result<Arc<OrgIndex>, KbError> {
            let (index, reset) = OrgIndex::open_or_reset(&dir)?;
            let r = store.begin_read()?;
            let o = r.org(org);
            let state = o.get(&KB_STATE, b"state")?.unwrap_or_default();
            let recorded: Option<u64> = std::fs::read_to_string(&gen_file)
                .ok()
                .and_then(|s| s.trim().parse().ok());
            let chunks: Vec<KbChunk> = o
                .scan(&KB_CHUNKS, &[], None, usize::MAX)?
                .into_iter()
                .map(|(_, c)| c)
                .collect();
            if reset || recorded != Some(state.generation) || index.len() != chunks.len() as u64 {
                let docs: Vec<String> = chunks.iter().map(|c| c.document_id.to_string()).collect();
                let passages: Vec<IndexedPassage<'_>> = chunks
                    .iter()
                    .zip(docs.iter())
                    .map(|(c, d)| IndexedPassage {
                        chunk_id: &c.chunk_id,
                        document_id: d,
                        title: &c.title,
                        text: &c.text,
                    })
                    .collect();
                index.rebuild(&passages)?;
                let _ = std::fs::write(&gen_file, state.generation.to_string());
                tracing::info!(
                    passages = passages.len(),
                    reset,
                    "knowledge-base index rebuilt"
                );
            }
            Ok(Arc::new(index))
        })
        .await
        .map_err(|_| KbError::Task)??;
        self.indexes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(org, index.clone());
        Ok(index)
    }

    /// Adds a document (or replaces `replace`), chunked, in redb and then in the index.
    pub async fn put_document(
        &self,
        caller: Caller,
        replace: Option<uuid::Uuid>,
        title: &str,
        body: &str,
        tags: Vec<String>,
        source: Option<String>,
    ) -> Result<KbDocument, KbError> {
        let mut v = Validation::new();
        let title = v.check(
            "title",
            crate::domain::FullName::parse(title).map(|t| t.as_str().to_string()),
        );
        v.check(
            "body",
            if body.trim().is_empty() {
                Err("is required".to_string())
            } else if body.len() > 200_000 {
                Err("is too long (200,000 bytes at most)".to_string())
            } else {
                Ok(())
            },
        );
        v.check(
            "tags",
            if tags.len() <= 20 && tags.iter().all(|t| !t.trim().is_empty() && t.len() <= 50) {
                Ok(())
            } else {
                Err("at most 20 tags of up to 50 characters".to_string())
            },
        );
        v.finish().map_err(KbError::Invalid)?;
        let title = title.unwrap_or_default();
        let passages = chunk::passages(body);
        let now = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
        let id = replace.unwrap_or_else(uuid::Uuid::new_v4);
        let chunks: Vec<KbChunk> = passages
            .iter()
            .enumerate()
            .map(|(i, p)| KbChunk {
                chunk_id: format!("{id}-{i}"),
                document_id: id,
                title: title.clone(),
                text: p.text.clone(),
            })
            .collect();
        let doc = KbDocument {
            id,
            title,
            body: body.to_string(),
            tags,
            source,
            chunks: chunks.len(),
            created_at: now.clone(),
            updated_at: now,
        };
        let (saved, stored_chunks) = (doc.clone(), chunks.clone());
        let generation = self
            .store
            .write(move |w| {
                let mut o = w.org(caller.org);
                let mut doc = doc;
                if let Some(old) = o.get(&KB_DOCUMENTS, id.as_bytes())? {
                    doc.created_at = old.created_at;
                    for (k, _) in o.scan(&KB_CHUNKS, id.as_bytes(), None, usize::MAX)? {
                        o.remove(&KB_CHUNKS, &k)?;
                    }
                } else if replace.is_some() {
                    return Err(KbError::NotFound);
                }
                o.put(&KB_DOCUMENTS, id.as_bytes(), &doc)?;
                for (i, c) in stored_chunks.iter().enumerate() {
                    o.put(&KB_CHUNKS, &chunk_key(id, i as u32), c)?;
                }
                let mut state = o.get(&KB_STATE, b"state")?.unwrap_or_default();
                state.generation += 1;
                o.put(&KB_STATE, b"state", &state)?;
                audit::append(
                    &mut o,
                    AuditEvent::new(
                        caller.actor(),
                        "kb_document_saved",
                        format!("kb_document:{id}"),
                        Outcome::Success,
                    ),
                    Utc::now(),
                )?;
                Ok(state.generation)
            })
            .await?;
        let index = self.index(caller.org).await?;
        let gen_file = self.generation_file(caller.org);
        tokio::task::spawn_blocking(move || -> Result<(), KbError> {
            let doc_id = id.to_string();
            let passages: Vec<IndexedPassage<'_>> = chunks
                .iter()
                .map(|c| IndexedPassage {
                    chunk_id: &c.chunk_id,
                    document_id: &doc_id,
                    title: &c.title,
                    text: &c.text,
                })
                .collect();
            index.replace_document(&doc_id, &passages)?;
            let _ = std::fs::write(gen_file, generation.to_string());
            Ok(())
        })
        .await
        .map_err(|_| KbError::Task)??;
        Ok(saved)
    }

    pub async fn delete_document(&self, caller: Caller, id: uuid::Uuid) -> Result<(), KbError> {
        let generation = self
            .store
            .write(move |w| {
                let mut o = w.org(caller.org);
                if !o.remove(&KB_DOCUMENTS, id.as_bytes())? {
                    return Err(KbError::NotFound);
                }
                for (k, _) in o.scan(&KB_CHUNKS, id.as_bytes(), None, usize::MAX)? {
                    o.remove(&KB_CHUNKS, &k)?;
                }
                let mut state = o.get(&KB_STATE, b"state")?.unwrap_or_default();
                state.generation += 1;
                o.put(&KB_STATE, b"state", &state)?;
                audit::append(
                    &mut o,
                    AuditEvent::new(
                        caller.actor(),
                        "kb_document_deleted",
                        format!("kb_document:{id}"),
                        Outcome::Success,
                    ),
                    Utc::now(),
                )?;
                Ok(state.generation)
            })
            .await?;
        let index = self.index(caller.org).await?;
        let gen_file = self.generation_file(caller.org);
        tokio::task::spawn_blocking(move || -> Result<(), KbError> {
            index.delete_document(&id.to_string())?;
            let _ = std::fs::write(gen_file, generation.to_string());
            Ok(())
        })
        .await
        .map_err(|_| KbError::Task)?
    }

    pub async fn documents(&self, org: OrgId) -> Result<Vec<KbDocument>, KbError> {
        self.store
            .read(move |r| {
                Ok(r.org(org)
                    .scan(&KB_DOCUMENTS, &[], None, 100_000)?
                    .into_iter()
                    .map(|(_, d)| d)
                    .collect())
            })
            .await
    }

    /// The best `k` passages of the org for `query`.
    pub async fn search(&self, org: OrgId, query: &str, k: usize) -> Result<Vec<Hit>, KbError> {
        let index = self.index(org).await?;
        let q = query.to_string();
        let k = k.clamp(1, 50);
        let found = tokio::task::spawn_blocking(move || index.search(&q, k))
            .await
            .map_err(|_| KbError::Task)??;
        self.store
            .read(move |r| {
                let o = r.org(org);
                let mut hits = Vec::with_capacity(found.len());
                for (chunk_id, score) in found {
                    let Some((doc, idx)) = chunk_id.rsplit_once('-') else {
                        continue;
                    };
                    let (Ok(doc), Ok(idx)) = (doc.parse::<uuid::Uuid>(), idx.parse::<u32>()) else {
                        continue;
                    };
                    // Only passages redb still has: a deleted one never comes back.
                    if let Some(c) = o.get(&KB_CHUNKS, &chunk_key(doc, idx))? {
                        hits.push(Hit {
                            document_id: doc,
                            chunk_id,
                            title: c.title,
                            text: c.text,
                            score,
                            similarity: None,
                        });
                    }
                }
                Ok(hits)
            })
            .await
    }

    async fn log_unanswered(
        &self,
        org: OrgId,
        question: &str,
        reason: &str,
    ) -> Result<(), KbError> {
        let found = self.detector.detect(question, &Known::default());
        let record = Unanswered {
            id: uuid::Uuid::now_v7(),
            at: Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
            question_redacted: crate::pii::redact(question, &found),
            reason: reason.to_string(),
        };
        self.store
            .write(move |w| {
                w.org(org)
                    .put(&KB_UNANSWERED, record.id.as_bytes(), &record)?;
                Ok::<_, KbError>(())
            })
            .await
    }

    pub async fn unanswered(&self, org: OrgId) -> Result<Vec<Unanswered>, KbError> {
        self.store
            .read(move |r| {
                Ok(r.org(org)
                    .scan(&KB_UNANSWERED, &[], None, 10_000)?
                    .into_iter()
                    .map(|(_, u)| u)
                    .collect())
            })
            .await
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
            .filter(|h| h.score >= self.settings.min_bm25_score)
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
    fn spoken_answers_are_a_sentence_or_two_on_one_line() {
        let s = speakable("Opening hours. We are open\n9 to 5 on weekdays. On Saturdays we open 10 to 2. Sundays closed. Bank holidays vary by season and by practitioner availability, so please check.");
        assert!(!s.contains('\n'));
        assert!(s.starts_with("Opening hours. We are open 9 to 5 on weekdays."));
        assert!(s.chars().count() <= 320);
    }
}
