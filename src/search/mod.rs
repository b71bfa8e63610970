//! The clinic's knowledge base: documents and their passages in redb (the source of truth),
//! a per-org full-text index derived from them (rebuilt when missing, corrupt or stale), and
//! the answers the voice agent speaks from it, with a fixed safe answer for medical-advice or
//! urgent questions.

pub mod chunk;
mod documents;
pub mod embed;
pub mod fulltext;
mod generation;
pub mod hnsw_view;
pub mod install;
mod lifecycle;
mod query;
pub use query::Ranking;
pub mod tables;
mod unanswered;
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
use crate::search::tables::{KB_CHUNKS, KB_DOCUMENTS, KB_STATE, KB_UNANSWERED, KB_VECTORS};
use crate::store::{OrgWrite, Store, StoreError};
use documents::embed_batches;
pub use documents::{chunk_key, BODY_MAX_CHARS, TAGS_MAX, TAG_MAX_CHARS};
use embed::{cosine, EmbedError, Embedder};
use fulltext::{FullTextError, IndexedPassage, OrgIndex};
use lifecycle::{build_vectors, OrgSearch, SavedVectors};
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
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
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
    /// When documents change and questions go unanswered (the service clock).
    clock: crate::clock::Clock,
    /// Opened once per org, however many requests ask at the same time.
    indexes: Mutex<HashMap<OrgId, Arc<tokio::sync::OnceCell<Arc<OrgSearch>>>>>,
    still_to_open: std::sync::atomic::AtomicUsize,
    /// Vector-graph saves written since start (all clinics).
    graph_saves: Arc<std::sync::atomic::AtomicU64>,
}

impl KnowledgeBase {
    pub fn new(
        store: Store,
        data_dir: PathBuf,
        settings: SearchSettings,
        detector: Arc<Detector>,
        embedder: Option<Arc<Embedder>>,
        clock: crate::clock::Clock,
    ) -> Self {
        Self {
            store,
            data_dir,
            settings,
            detector,
            embedder,
            clock,
            indexes: Mutex::new(HashMap::new()),
            still_to_open: std::sync::atomic::AtomicUsize::new(0),
            graph_saves: Arc::default(),
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

    /// How many times a clinic's vector graph has been written to disk since start.
    pub fn vector_graph_saves(&self) -> u64 {
        self.graph_saves.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether answers use semantic search (the embedding model is installed).
    pub fn semantic(&self) -> bool {
        self.embedder.is_some()
    }
}
