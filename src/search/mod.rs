//! The clinic's knowledge base: documents and their passages in redb (the source of truth),
//! a per-org full-text index derived from them (rebuilt when missing, corrupt or stale), and
//! the answers the voice agent speaks from it, with a fixed safe answer for medical-advice or
//! urgent questions.

pub mod chunk;
pub mod embed;
pub mod fulltext;
pub mod hnsw_view;
pub mod install;
pub mod vector;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use chrono::{SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::audit;
use crate::auth::Caller;
use crate::config::SearchSettings;
use crate::domain::{FieldError, OrgId, Validation};
use crate::pii::{Detector, Known};
use crate::store::tables::{KB_CHUNKS, KB_DOCUMENTS, KB_STATE, KB_UNANSWERED, KB_VECTORS};
use crate::store::{OrgWrite, Store, StoreError};
use embed::{cosine, EmbedError, Embedder};
use fulltext::{FullTextError, IndexedPassage, OrgIndex};
use vector::VectorIndex;

#[derive(Debug, thiserror::Error)]
pub enum KbError {
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Index(#[from] FullTextError),
    #[error(transparent)]
    Embed(#[from] EmbedError),
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
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Unanswered {
    pub id: uuid::Uuid,
    pub at: String,
    pub question_redacted: String,
    pub reason: String,
}

/// One search result.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
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
    embedder: Option<Arc<Embedder>>,
    /// Opened once per org, however many requests ask at the same time.
    indexes: Mutex<HashMap<OrgId, Arc<tokio::sync::OnceCell<Arc<OrgSearch>>>>>,
    still_to_open: std::sync::atomic::AtomicUsize,
}

/// An org's two derived indexes.
struct OrgSearch {
    text: OrgIndex,
    /// Present when the embedding model is installed.
    vectors: Option<Arc<SavedVectors>>,
}

/// The org's vector graph, swapped whole on a rebuild, and saved under `dir` after changes:
/// one save runs at a time and changes made meanwhile are picked up by the next one.
struct SavedVectors {
    graph: std::sync::RwLock<Arc<VectorIndex>>,
    dir: PathBuf,
    save_wanted: std::sync::atomic::AtomicBool,
    saving: Mutex<()>,
}

impl SavedVectors {
    fn new(graph: VectorIndex, dir: PathBuf) -> SavedVectors {
        SavedVectors {
            graph: std::sync::RwLock::new(Arc::new(graph)),
            dir,
            save_wanted: std::sync::atomic::AtomicBool::new(false),
            saving: Mutex::new(()),
        }
    }

    fn current(&self) -> Arc<VectorIndex> {
        self.graph.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn replace(&self, graph: VectorIndex) {
        *self.graph.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(graph);
    }

    /// Saves the current graph now (blocking). A failed save is logged: the graph is rebuilt
    /// from redb at the next start instead.
    fn save(&self) {
        let _one_at_a_time = self.saving.lock().unwrap_or_else(|p| p.into_inner());
        if !self
            .save_wanted
            .swap(false, std::sync::atomic::Ordering::AcqRel)
        {
            return;
        }
        let graph = self.current();
        let started = std::time::Instant::now();
        match graph.save(&self.dir) {
            Ok(()) => tracing::debug!(
                passages = graph.len(),
                ms = started.elapsed().as_millis() as u64,
                "vector graph saved"
            ),
            Err(e) => {
                tracing::warn!(error = %e, "vector graph not saved; it will be rebuilt at start")
            }
        }
    }

    /// Asks for a save in the background; returns at once.
    fn save_soon(self: &Arc<Self>) {
        if !self
            .save_wanted
            .swap(true, std::sync::atomic::Ordering::AcqRel)
        {
            let this = self.clone();
            tokio::task::spawn_blocking(move || this.save());
        }
    }
}

/// The redb key of passage `i` of document `doc` (its `chunk_id` is `"{doc}-{i}"`).
pub fn chunk_key(doc: uuid::Uuid, i: u32) -> Vec<u8> {
    let mut k = doc.as_bytes().to_vec();
    k.extend_from_slice(&i.to_be_bytes());
    k
}

/// A new vector graph over every passage of the org in redb, embedding (and storing) the
/// vectors of passages saved while the model was absent.
fn build_vectors(
    store: &Store,
    org: OrgId,
    embedder: &Embedder,
    generation: u64,
) -> Result<VectorIndex, KbError> {
    let r = store.begin_read()?;
    let o = r.org(org);
    let mut with_vectors = Vec::new();
    let mut missing = Vec::new();
    for (k, c) in o.scan(&KB_CHUNKS, &[], None, usize::MAX)? {
        match o.get(&KB_VECTORS, &k)? {
            Some(v) => with_vectors.push((c.chunk_id, v)),
            None => missing.push((k, c)),
        }
    }
    drop(r);
    if !missing.is_empty() {
        let texts: Vec<&str> = missing.iter().map(|(_, c)| c.text.as_str()).collect();
        let computed = embed_batches(embedder, &texts)?;
        let w = store.begin_write()?;
        for ((k, _), v) in missing.iter().zip(&computed) {
            w.org(org).put(&KB_VECTORS, k, v)?;
        }
        w.commit()?;
        with_vectors.extend(missing.into_iter().map(|(_, c)| c.chunk_id).zip(computed));
    }
    Ok(VectorIndex::build(&with_vectors, generation))
}

/// Removes a document's passages and their vectors; returns the passages' ids.
fn remove_passages(o: &mut OrgWrite<'_>, doc: uuid::Uuid) -> Result<Vec<String>, KbError> {
    let mut removed = Vec::new();
    for (k, c) in o.scan(&KB_CHUNKS, doc.as_bytes(), None, usize::MAX)? {
        o.remove(&KB_CHUNKS, &k)?;
        o.remove(&KB_VECTORS, &k)?;
        removed.push(c.chunk_id);
    }
    Ok(removed)
}

/// Bumps the org's knowledge-base generation and audits the change; returns the generation.
fn record_change(
    o: &mut OrgWrite<'_>,
    caller: Caller,
    action: &'static str,
    doc: uuid::Uuid,
) -> Result<u64, KbError> {
    let mut state = o.get(&KB_STATE, b"state")?.unwrap_or_default();
    state.generation += 1;
    o.put(&KB_STATE, b"state", &state)?;
    audit::success(
        o,
        caller.actor(),
        action,
        format!("kb_document:{doc}"),
        Utc::now(),
    )?;
    Ok(state.generation)
}

/// Applies one document change to the org's vector graph (rebuilding it from redb when a
/// quarter of it is masked) and asks for it to be saved. Blocking.
fn apply_to_vectors(
    store: &Store,
    org: OrgId,
    search: &OrgSearch,
    embedder: Option<Arc<Embedder>>,
    removed: &[String],
    added: &[(String, Vec<f32>)],
    generation: u64,
) -> Result<(), KbError> {
    let (Some(saved), Some(embedder)) = (&search.vectors, embedder) else {
        return Ok(());
    };
    let graph = saved.current();
    graph.apply(removed, added, generation);
    if graph.needs_rebuild() {
        saved.replace(build_vectors(store, org, &embedder, generation)?);
    }
    saved.save_soon();
    Ok(())
}

/// Vectors for passages, embedded sixteen at a time.
fn embed_batches(e: &Embedder, texts: &[&str]) -> Result<Vec<Vec<f32>>, KbError> {
    let mut out = Vec::with_capacity(texts.len());
    for batch in texts.chunks(16) {
        out.extend(e.embed(batch)?);
    }
    Ok(out)
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
        embedder: Option<Arc<Embedder>>,
    ) -> Self {
        Self {
            store,
            data_dir,
            settings,
            detector,
            embedder,
            indexes: Mutex::new(HashMap::new()),
            still_to_open: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// Finishes any vector-graph save in progress and makes the ones still wanted, so a
    /// clean stop leaves every graph saved for the next start.
    pub async fn shutdown(&self) {
        let pending: Vec<Arc<SavedVectors>> = self
            .indexes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .filter_map(|cell| cell.get()?.vectors.clone())
            .collect();
        let _ = tokio::task::spawn_blocking(move || pending.iter().for_each(|v| v.save())).await;
    }

    /// Whether answers use semantic search (the embedding model is installed).
    pub fn semantic(&self) -> bool {
        self.embedder.is_some()
    }

    fn generation_file(&self, org: OrgId) -> PathBuf {
        fulltext::index_dir(&self.data_dir, &org.to_string()).with_extension("generation")
    }

    /// The org's indexes, opened on first use: the full-text one rebuilt from redb if missing,
    /// corrupt or stale; the vector graph built from the vectors in redb (embedding any
    /// passage stored while the model was absent).
    async fn index(&self, org: OrgId) -> Result<Arc<OrgSearch>, KbError> {
        let cell = self
            .indexes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(org)
            .or_default()
            .clone();
        cell.get_or_try_init(|| self.open_index(org)).await.cloned()
    }

    /// The clinics that have knowledge-base documents: the ones whose indexes are opened at
    /// start. Counts them as still to open until [`Self::open_all`] has opened them.
    pub async fn clinics_to_open(&self) -> Result<Vec<OrgId>, KbError> {
        let orgs = self
            .store
            .read(|r| {
                let mut with_documents = Vec::new();
                for key in r.global_keys(&crate::store::tables::ORGS)? {
                    if let Some(org) = OrgId::from_bytes(&key) {
                        if r.org(org).get(&KB_STATE, b"state")?.is_some() {
                            with_documents.push(org);
                        }
                    }
                }
                Ok::<_, KbError>(with_documents)
            })
            .await?;
        self.still_to_open
            .store(orgs.len(), std::sync::atomic::Ordering::Release);
        Ok(orgs)
    }

    /// Opens the indexes of `orgs` (loading or rebuilding them), so no caller waits for
    /// that; run in the background at start. Progress goes to the log.
    pub async fn open_all(&self, orgs: &[OrgId]) {
        for (i, org) in orgs.iter().enumerate() {
            if let Err(e) = self.index(*org).await {
                tracing::warn!(error = %e, "a clinic's knowledge-base indexes could not be opened");
            }
            self.still_to_open
                .fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
            tracing::info!(
                opened = i + 1,
                of = orgs.len(),
                "knowledge-base indexes opened"
            );
        }
    }

    /// How many clinics' indexes the start-up opening has still to open (`/readyz`).
    pub fn indexes_still_to_open(&self) -> usize {
        self.still_to_open
            .load(std::sync::atomic::Ordering::Acquire)
    }

    async fn open_index(&self, org: OrgId) -> Result<Arc<OrgSearch>, KbError> {
        let dir = fulltext::index_dir(&self.data_dir, &org.to_string());
        let vector_dir = vector::index_dir(&self.data_dir, &org.to_string());
        let gen_file = self.generation_file(org);
        let store = self.store.clone();
        let embedder = self.embedder.clone();
        let search = tokio::task::spawn_blocking(move || -> Result<Arc<OrgSearch>, KbError> {
            let (index, reset) = OrgIndex::open_or_reset(&dir)?;
            let r = store.begin_read()?;
            let o = r.org(org);
            let state = o.get(&KB_STATE, b"state")?.unwrap_or_default();
            let recorded: Option<u64> = std::fs::read_to_string(&gen_file)
                .ok()
                .and_then(|s| s.trim().parse().ok());
            let chunks: Vec<(Vec<u8>, KbChunk)> = o.scan(&KB_CHUNKS, &[], None, usize::MAX)?;
            if reset || recorded != Some(state.generation) || index.len() != chunks.len() as u64 {
                let docs: Vec<String> = chunks
                    .iter()
                    .map(|(_, c)| c.document_id.to_string())
                    .collect();
                let passages: Vec<IndexedPassage<'_>> = chunks
                    .iter()
                    .zip(docs.iter())
                    .map(|((_, c), d)| IndexedPassage {
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
            drop(r);
            let vectors = match &embedder {
                None => None,
                Some(e) => {
                    let saved = match VectorIndex::load(&vector_dir, state.generation) {
                        Some(graph) => {
                            tracing::info!(passages = graph.len(), "vector graph loaded");
                            SavedVectors::new(graph, vector_dir)
                        }
                        None => {
                            let started = std::time::Instant::now();
                            tracing::info!(
                                passages = chunks.len(),
                                "vector graph missing, stale or damaged: rebuilding from redb"
                            );
                            let graph = build_vectors(&store, org, e, state.generation)?;
                            tracing::info!(
                                passages = graph.len(),
                                ms = started.elapsed().as_millis() as u64,
                                "vector graph built from redb"
                            );
                            let saved = SavedVectors::new(graph, vector_dir);
                            saved
                                .save_wanted
                                .store(true, std::sync::atomic::Ordering::Release);
                            saved.save();
                            saved
                        }
                    };
                    Some(Arc::new(saved))
                }
            };
            Ok(Arc::new(OrgSearch {
                text: index,
                vectors,
            }))
        })
        .await
        .map_err(|_| KbError::Task)??;
        Ok(search)
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
        // Open (or build) the org's indexes before the change, so the change is applied to
        // them exactly once below.
        let search = self.index(caller.org).await?;
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
        let vectors = {
            let texts: Vec<String> = chunks.iter().map(|c| c.text.clone()).collect();
            let this_embedder = self.embedder.clone();
            tokio::task::spawn_blocking(move || -> Result<Vec<Vec<f32>>, KbError> {
                let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
                match this_embedder {
                    Some(e) => embed_batches(&e, &refs),
                    None => Ok(Vec::new()),
                }
            })
            .await
            .map_err(|_| KbError::Task)??
        };
        let stored_vectors = vectors.clone();
        let (generation, replaced) = self
            .store
            .write(move |w| {
                let mut o = w.org(caller.org);
                let mut doc = doc;
                let mut replaced = Vec::new();
                if let Some(old) = o.get(&KB_DOCUMENTS, id.as_bytes())? {
                    doc.created_at = old.created_at;
                    replaced = remove_passages(&mut o, id)?;
                } else if replace.is_some() {
                    return Err(KbError::NotFound);
                }
                o.put(&KB_DOCUMENTS, id.as_bytes(), &doc)?;
                for (i, c) in stored_chunks.iter().enumerate() {
                    o.put(&KB_CHUNKS, &chunk_key(id, i as u32), c)?;
                    if let Some(v) = stored_vectors.get(i) {
                        o.put(&KB_VECTORS, &chunk_key(id, i as u32), v)?;
                    }
                }
                let generation = record_change(&mut o, caller, "kb_document_saved", id)?;
                Ok((generation, replaced))
            })
            .await?;
        let added: Vec<(String, Vec<f32>)> = chunks
            .iter()
            .map(|c| c.chunk_id.clone())
            .zip(vectors)
            .collect();
        self.reindex(
            caller.org,
            search,
            replaced,
            added,
            generation,
            move |text| {
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
                text.replace_document(&doc_id, &passages)
            },
        )
        .await?;
        Ok(saved)
    }

    pub async fn delete_document(&self, caller: Caller, id: uuid::Uuid) -> Result<(), KbError> {
        let index = self.index(caller.org).await?;
        let generation = self
            .store
            .write(move |w| {
                let mut o = w.org(caller.org);
                if !o.remove(&KB_DOCUMENTS, id.as_bytes())? {
                    return Err(KbError::NotFound);
                }
                let removed = remove_passages(&mut o, id)?;
                let generation = record_change(&mut o, caller, "kb_document_deleted", id)?;
                Ok((generation, removed))
            })
            .await?;
        let (generation, removed) = generation;
        self.reindex(
            caller.org,
            index,
            removed,
            Vec::new(),
            generation,
            move |text| text.delete_document(&id.to_string()),
        )
        .await
    }

    /// Brings the org's two indexes up to a committed change: the vector graph (masking
    /// `removed`, inserting `added`), then the full-text index through `text_change`, then
    /// the recorded generation. Blocking work, off the async threads.
    async fn reindex(
        &self,
        org: OrgId,
        search: Arc<OrgSearch>,
        removed: Vec<String>,
        added: Vec<(String, Vec<f32>)>,
        generation: u64,
        text_change: impl FnOnce(&OrgIndex) -> Result<(), FullTextError> + Send + 'static,
    ) -> Result<(), KbError> {
        let gen_file = self.generation_file(org);
        let (store, embedder) = (self.store.clone(), self.embedder.clone());
        tokio::task::spawn_blocking(move || -> Result<(), KbError> {
            apply_to_vectors(&store, org, &search, embedder, &removed, &added, generation)?;
            text_change(&search.text)?;
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

    /// The best `k` passages of the org for `query`: BM25 and (with the model) nearest
    /// vectors, fused by weighted scores; `similarity` is the query–passage cosine.
    pub async fn search(&self, org: OrgId, query: &str, k: usize) -> Result<Vec<Hit>, KbError> {
        let started = std::time::Instant::now();
        let hits = self.search_unmeasured(org, query, k).await;
        metrics::histogram!(crate::observe::SEARCH).record(started.elapsed().as_secs_f64());
        hits
    }

    async fn search_unmeasured(
        &self,
        org: OrgId,
        query: &str,
        k: usize,
    ) -> Result<Vec<Hit>, KbError> {
        let query_vector = match &self.embedder {
            Some(e) => {
                let (e, q) = (e.clone(), query.to_string());
                Some(
                    tokio::task::spawn_blocking(move || e.embed_query(&q))
                        .await
                        .map_err(|_| KbError::Task)??,
                )
            }
            None => None,
        };
        self.search_embedded(org, query, query_vector, k).await
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
        let search = self.index(org).await?;
        let q = query.to_string();
        let k = k.clamp(1, 50);
        let (w_text, w_vector) = (
            self.settings.fusion_weight_text,
            self.settings.fusion_weight_vector,
        );
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || -> Result<Vec<Hit>, KbError> {
            let graph = search.vectors.as_ref().map(|saved| saved.current());
            // The two searches are independent: on two cores they take as long as the slower.
            let (text_ranked, vector_ranked) = rayon::join(
                || search.text.search(&q, 20),
                || match (&query_vector, &graph) {
                    (Some(qv), Some(graph)) => graph.search(qv, 20),
                    _ => Vec::new(),
                },
            );
            let text_ranked = text_ranked?;
            // Candidates: the union of both top-20 lists, each scored by weighted score
            // fusion: w_text × BM25 / best BM25 of this query + w_vector × cosine, computed in
            // memory against the graph's points (redb's copy only if the graph lacks one).
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
                        let in_graph = || graph.as_ref()?.similarity(qv, &chunk_id);
                        let sim = match similarity.or_else(in_graph) {
                            Some(s) => Some(s),
                            None => o
                                .get(&KB_VECTORS, &key)?
                                .map(|v| cosine(qv, &v).clamp(0.0, 1.0)),
                        };
                        (
                            w_text * bm25 / best_bm25 + w_vector * sim.unwrap_or(0.0),
                            sim,
                        )
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
            hits.truncate(k);
            Ok(hits)
        })
        .await
        .map_err(|_| KbError::Task)?
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

    /// Removes unanswered questions logged before `before`, in every clinic (retention);
    /// returns how many went. Their ids are time-ordered (UUIDv7), so only old keys are read.
    pub async fn prune_unanswered(&self, before: chrono::DateTime<Utc>) -> Result<usize, KbError> {
        let cutoff_ms = before.timestamp_millis().max(0) as u64;
        let orgs: Vec<OrgId> = self
            .store
            .read(|r| {
                Ok::<_, KbError>(
                    r.global_scan(&crate::store::tables::ORGS, usize::MAX)?
                        .into_iter()
                        .map(|(_, o)| o.id)
                        .collect(),
                )
            })
            .await?;
        self.store
            .write(move |w| {
                let mut removed = 0;
                for org in orgs {
                    let mut o = w.org(org);
                    let old: Vec<Vec<u8>> = o
                        .scan(&KB_UNANSWERED, &[], None, 10_000)?
                        .into_iter()
                        .take_while(|(_, u)| {
                            u.id.get_timestamp().is_some_and(|t| {
                                let (secs, nanos) = t.to_unix();
                                secs * 1000 + u64::from(nanos / 1_000_000) < cutoff_ms
                            })
                        })
                        .map(|(k, _)| k)
                        .collect();
                    for k in old {
                        removed += usize::from(o.remove(&KB_UNANSWERED, &k)?);
                    }
                }
                Ok::<_, KbError>(removed)
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
    fn spoken_answers_are_a_sentence_or_two_on_one_line() {
        let s = speakable("Opening hours. We are open\n9 to 5 on weekdays. On Saturdays we open 10 to 2. Sundays closed. Bank holidays vary by season and by practitioner availability, so please check.");
        assert!(!s.contains('\n'));
        assert!(s.starts_with("Opening hours. We are open 9 to 5 on weekdays."));
        assert!(s.chars().count() <= 320);
    }
}
