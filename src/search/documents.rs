//! A clinic's documents: added or replaced (chunked, embedded, written to redb and to both
//! indexes in step), deleted, listed.

use super::*;
use crate::store::OrgReads;

/// The redb key of passage `i` of document `doc` (its `chunk_id` is `"{doc}-{i}"`).
pub fn chunk_key(doc: uuid::Uuid, i: u32) -> Vec<u8> {
    let mut k = doc.as_bytes().to_vec();
    k.extend_from_slice(&i.to_be_bytes());
    k
}

/// Removes a document's passages and their vectors; returns the passages' ids.
pub(super) fn remove_passages(
    o: &mut OrgWrite<'_>,
    doc: uuid::Uuid,
) -> Result<Vec<String>, KbError> {
    let mut removed = Vec::new();
    for (k, c) in o.scan(&KB_CHUNKS, doc.as_bytes(), None, usize::MAX)? {
        o.remove(&KB_CHUNKS, &k)?;
        o.remove(&KB_VECTORS, &k)?;
        removed.push(c.chunk_id);
    }
    Ok(removed)
}

/// Bumps the org's knowledge-base generation and audits the change; returns the generation.
pub(super) fn record_change(
    o: &mut OrgWrite<'_>,
    caller: Caller,
    action: &'static str,
    doc: uuid::Uuid,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<u64, KbError> {
    let mut state = o.get(&KB_STATE, b"state")?.unwrap_or_default();
    state.generation += 1;
    o.put(&KB_STATE, b"state", &state)?;
    audit::success(o, caller.actor(), action, format!("kb_document:{doc}"), at)?;
    Ok(state.generation)
}

/// Applies one document change to the org's vector graph (rebuilding it from redb when a
/// quarter of it is masked) and asks for it to be saved. Blocking.
pub(super) fn apply_to_vectors(
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

/// Most characters in a document's body.
pub const BODY_MAX_CHARS: usize = 200_000;
/// Most tags on a document, and most characters in one.
pub const TAGS_MAX: usize = 20;
pub const TAG_MAX_CHARS: usize = 50;

/// Vectors for passages, one passage per encoder call (no padding to a batch's longest),
/// the passages shared among one thread per core so a document's passages use every core.
/// The threads are the caller's and scoped ones of its own, not rayon's pool, where a search
/// would queue behind a long import.
pub(super) fn embed_batches(e: &Embedder, texts: &[&str]) -> Result<Vec<Vec<f32>>, KbError> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, texts.len().max(1));
    let share = texts.len().div_ceil(threads).max(1);
    let mut parts = texts.chunks(share);
    let first = parts.next().unwrap_or_default();
    let results: Vec<Result<Vec<Vec<f32>>, EmbedError>> = std::thread::scope(|scope| {
        let others: Vec<_> = parts
            .map(|part| scope.spawn(move || e.embed(part)))
            .collect();
        let mut results = vec![e.embed(first)];
        results.extend(others.into_iter().map(|handle| {
            handle
                .join()
                .unwrap_or_else(|_| Err(EmbedError::Model("an embedding thread failed".into())))
        }));
        results
    });
    let mut out = Vec::with_capacity(texts.len());
    for part in results {
        out.extend(part?);
    }
    Ok(out)
}

impl KnowledgeBase {
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
            if !crate::domain::has_text(body) {
                Err("is required".to_string())
            } else if body.chars().count() > BODY_MAX_CHARS {
                Err("is too long (200,000 characters at most)".to_string())
            } else {
                Ok(())
            },
        );
        v.check(
            "tags",
            if tags.len() <= TAGS_MAX
                && tags
                    .iter()
                    .all(|t| crate::domain::has_text(t) && t.chars().count() <= TAG_MAX_CHARS)
            {
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
        let at = (self.clock)();
        let now = at.to_rfc3339_opts(SecondsFormat::Secs, true);
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
                let generation = record_change(&mut o, caller, "kb_document_saved", id, at)?;
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
        let at = (self.clock)();
        let generation = self
            .store
            .write(move |w| {
                let mut o = w.org(caller.org);
                if !o.remove(&KB_DOCUMENTS, id.as_bytes())? {
                    return Err(KbError::NotFound);
                }
                let removed = remove_passages(&mut o, id)?;
                let generation = record_change(&mut o, caller, "kb_document_deleted", id, at)?;
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
    pub(super) async fn reindex(
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
            search.text_applied(generation, &gen_file);
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
}
