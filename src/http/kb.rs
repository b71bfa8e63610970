//! Routes for the knowledge base: documents, search, and the questions left unanswered.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::ApiError;
use super::extract::{path_id, ApiJson, OrgScope};
use super::AppState;
use crate::domain::Role;
use crate::search::{KbDocument, KbError};

const WRITE: &[Role] = &[Role::Admin, Role::Staff];
const READ: &[Role] = &[Role::Admin, Role::Staff, Role::Clinician];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/orgs/{org}/kb/documents", post(create).get(list))
        .route(
            "/api/orgs/{org}/kb/documents/{document_id}",
            get(get_one).put(replace).delete(remove),
        )
        .route("/api/orgs/{org}/kb/search", get(search))
        .route("/api/orgs/{org}/kb/unanswered", get(unanswered))
}

impl From<KbError> for ApiError {
    fn from(e: KbError) -> Self {
        match e {
            KbError::Invalid(f) => ApiError::Invalid(f),
            KbError::NotFound => ApiError::NotFound,
            KbError::Store(s) => s.into(),
            other => {
                tracing::error!(error = %other, "knowledge-base failure");
                ApiError::Internal
            }
        }
    }
}

#[derive(Deserialize)]
struct DocumentBody {
    title: String,
    body: String,
    #[serde(default)]
    tags: Vec<String>,
    source: Option<String>,
}

fn summary(d: &KbDocument) -> Value {
    json!({"id": d.id, "title": d.title, "tags": d.tags, "source": d.source, "chunks": d.chunks, "created_at": d.created_at, "updated_at": d.updated_at})
}

async fn create(
    State(state): State<AppState>,
    scope: OrgScope,
    ApiJson(b): ApiJson<DocumentBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    scope.require(WRITE)?;
    let d = state
        .kb
        .put_document(scope.caller, None, &b.title, &b.body, b.tags, b.source)
        .await?;
    Ok((StatusCode::CREATED, Json(summary(&d))))
}

async fn replace(
    State(state): State<AppState>,
    scope: OrgScope,
    Path((_, id)): Path<(String, String)>,
    ApiJson(b): ApiJson<DocumentBody>,
) -> Result<Json<Value>, ApiError> {
    scope.require(WRITE)?;
    let d = state
        .kb
        .put_document(
            scope.caller,
            Some(path_id(&id)?),
            &b.title,
            &b.body,
            b.tags,
            b.source,
        )
        .await?;
    Ok(Json(summary(&d)))
}

async fn list(State(state): State<AppState>, scope: OrgScope) -> Result<Json<Value>, ApiError> {
    scope.require(READ)?;
    let docs = state.kb.documents(scope.org).await?;
    Ok(Json(
        json!({"documents": docs.iter().map(summary).collect::<Vec<_>>()}),
    ))
}

async fn get_one(
    State(state): State<AppState>,
    scope: OrgScope,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    scope.require(READ)?;
    let id: uuid::Uuid = path_id(&id)?;
    let docs = state.kb.documents(scope.org).await?;
    let d = docs
        .into_iter()
        .find(|d| d.id == id)
        .ok_or(ApiError::NotFound)?;
    let mut v = summary(&d);
    v["body"] = json!(d.body);
    Ok(Json(v))
}

async fn remove(
    State(state): State<AppState>,
    scope: OrgScope,
    Path((_, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    scope.require(WRITE)?;
    state
        .kb
        .delete_document(scope.caller, path_id(&id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct SearchQuery {
    q: String,
    k: Option<usize>,
}

async fn search(
    State(state): State<AppState>,
    scope: OrgScope,
    Query(q): Query<SearchQuery>,
) -> Result<Json<Value>, ApiError> {
    scope.require(READ)?;
    if q.q.trim().is_empty() {
        return Err(ApiError::Invalid(vec![crate::domain::FieldError::new(
            "q",
            "is required",
        )]));
    }
    let hits = state.kb.search(scope.org, &q.q, q.k.unwrap_or(5)).await?;
    let results: Vec<Value> = hits
        .iter()
        .map(|h| json!({"document_id": h.document_id, "chunk_id": h.chunk_id, "title": h.title, "text": h.text, "score": h.score, "similarity": h.similarity}))
        .collect();
    let mode = if state.kb.semantic() {
        "hybrid"
    } else {
        "fulltext"
    };
    Ok(Json(json!({"results": results, "mode": mode})))
}

async fn unanswered(
    State(state): State<AppState>,
    scope: OrgScope,
) -> Result<Json<Value>, ApiError> {
    scope.require(WRITE)?;
    Ok(Json(
        json!({"unanswered": state.kb.unanswered(scope.org).await?}),
    ))
}
