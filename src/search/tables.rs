//! The knowledge base's tables: documents, their passages and vectors, the generation the
//! derived indexes are built from, and the questions the agent could not answer.

use crate::store::tables::TenantTable;

use super::{KbChunk, KbDocument, KbState, Unanswered};

crate::store::codec::stored_as_json!(KbDocument, KbChunk, KbState, Unanswered);

/// Knowledge-base documents, keyed by document id.
pub const KB_DOCUMENTS: TenantTable<KbDocument> = TenantTable::new("kb_documents_v1");
/// Their passages, keyed `document id ‖ passage number (4 bytes)`.
pub const KB_CHUNKS: TenantTable<KbChunk> = TenantTable::new("kb_chunks_v1");
/// Passage vectors (unit length, 384 floats), keyed like their passages.
pub const KB_VECTORS: TenantTable<Vec<f32>> = TenantTable::new("kb_vectors_v1");
/// The org's knowledge-base generation (single key `state`).
pub const KB_STATE: TenantTable<KbState> = TenantTable::new("kb_state_v1");
/// Questions the agent could not answer, keyed by UUIDv7 (oldest first).
pub const KB_UNANSWERED: TenantTable<Unanswered> = TenantTable::new("kb_unanswered_v1");
