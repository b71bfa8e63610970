//! Each clinic's derived indexes over its life: found and opened at start (or rebuilt from
//! redb when missing or stale), cached while the appliance runs, the vector graph saved
//! beside them.

use super::*;
use crate::store::OrgReads;

/// An org's two derived indexes.
pub(super) struct OrgSearch {
    pub(super) text: OrgIndex,
    /// Present when the embedding model is installed.
    pub(super) vectors: Option<Arc<SavedVectors>>,
    /// The generation the full-text index reflects, as recorded in its generation file.
    pub(super) text_generation: Mutex<super::generation::Reflected>,
}

impl OrgSearch {
    /// Notes that change `generation` reached the full-text index, and records the
    /// generation it now reflects in `file` when that moved (never past a change still on
    /// its way, so a stale index is rebuilt at the next start rather than trusted).
    pub(super) fn text_applied(&self, generation: u64, file: &std::path::Path) {
        let mut reflected = self
            .text_generation
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if reflected.applied(generation) {
            let _ = std::fs::write(file, reflected.generation().to_string());
        }
    }
}

/// A changed graph is saved once changes have stopped for this long…
pub(super) const SAVE_WHEN_QUIET: std::time::Duration = std::time::Duration::from_secs(2);
/// …or at the latest this long after its first unsaved change, however busy the import.
pub(super) const SAVE_AT_LATEST: std::time::Duration = std::time::Duration::from_secs(60);

/// The org's vector graph, swapped whole on a rebuild, and saved under `dir` after changes:
/// saves are coalesced (a bulk import writes the graph about once a minute and once at the
/// end, not once per document), one runs at a time, and changes made meanwhile are picked up
/// by the next one. A graph not yet saved when the process dies is rebuilt from the vectors
/// in redb at the next start.
pub(super) struct SavedVectors {
    pub(super) graph: std::sync::RwLock<Arc<VectorIndex>>,
    pub(super) dir: PathBuf,
    pub(super) save_wanted: std::sync::atomic::AtomicBool,
    pub(super) saving: Mutex<()>,
    last_change: Mutex<std::time::Instant>,
    /// Saves written by this install's knowledge base (all clinics).
    saves: Arc<std::sync::atomic::AtomicU64>,
}

impl SavedVectors {
    pub(super) fn new(
        graph: VectorIndex,
        dir: PathBuf,
        saves: Arc<std::sync::atomic::AtomicU64>,
    ) -> SavedVectors {
        SavedVectors {
            graph: std::sync::RwLock::new(Arc::new(graph)),
            dir,
            save_wanted: std::sync::atomic::AtomicBool::new(false),
            saving: Mutex::new(()),
            last_change: Mutex::new(std::time::Instant::now()),
            saves,
        }
    }

    pub(super) fn current(&self) -> Arc<VectorIndex> {
        self.graph.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub(super) fn replace(&self, graph: VectorIndex) {
        *self.graph.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(graph);
    }

    /// Saves the current graph now (blocking) if a save is wanted. A failed save is logged:
    /// the graph is rebuilt from redb at the next start instead.
    pub(super) fn save(&self) {
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
            Ok(()) => {
                self.saves
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tracing::debug!(
                    passages = graph.len(),
                    ms = started.elapsed().as_millis() as u64,
                    "vector graph saved"
                )
            }
            Err(e) => {
                tracing::warn!(error = %e, "vector graph not saved; it will be rebuilt at start")
            }
        }
    }

    /// Asks for a save once changes have paused ([`SAVE_WHEN_QUIET`], at most
    /// [`SAVE_AT_LATEST`] after the first unsaved change); returns at once.
    pub(super) fn save_soon(self: &Arc<Self>) {
        *self.last_change.lock().unwrap_or_else(|p| p.into_inner()) = std::time::Instant::now();
        if self
            .save_wanted
            .swap(true, std::sync::atomic::Ordering::AcqRel)
        {
            return;
        }
        let this = self.clone();
        tokio::spawn(async move {
            let first_change = std::time::Instant::now();
            loop {
                let quiet_for = this
                    .last_change
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .elapsed();
                if quiet_for >= SAVE_WHEN_QUIET || first_change.elapsed() >= SAVE_AT_LATEST {
                    break;
                }
                tokio::time::sleep(SAVE_WHEN_QUIET - quiet_for).await;
            }
            let _ = tokio::task::spawn_blocking(move || this.save()).await;
        });
    }
}

/// A new vector graph over every passage of the org in redb, embedding (and storing) the
/// vectors of passages saved while the model was absent.
pub(super) fn build_vectors(
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

impl KnowledgeBase {
    pub(super) fn generation_file(&self, org: OrgId) -> PathBuf {
        fulltext::index_dir(&self.data_dir, &org.to_string()).with_extension("generation")
    }

    /// The org's indexes, opened on first use: the full-text one rebuilt from redb if missing,
    /// corrupt or stale; the vector graph built from the vectors in redb (embedding any
    /// passage stored while the model was absent).
    pub(super) async fn index(&self, org: OrgId) -> Result<Arc<OrgSearch>, KbError> {
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
                for key in r.global_keys(&crate::identity::tables::ORGS)? {
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

    pub(super) async fn open_index(&self, org: OrgId) -> Result<Arc<OrgSearch>, KbError> {
        let dir = fulltext::index_dir(&self.data_dir, &org.to_string());
        let vector_dir = vector::index_dir(&self.data_dir, &org.to_string());
        let gen_file = self.generation_file(org);
        let store = self.store.clone();
        let embedder = self.embedder.clone();
        let saves = self.graph_saves.clone();
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
                            SavedVectors::new(graph, vector_dir, saves.clone())
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
                            let saved = SavedVectors::new(graph, vector_dir, saves.clone());
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
                text_generation: Mutex::new(super::generation::Reflected::at(state.generation)),
            }))
        })
        .await
        .map_err(|_| KbError::Task)??;
        Ok(search)
    }
}
