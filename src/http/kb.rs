//! Routes for the knowledge base: documents, search, and the questions left unanswered.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::ApiError;
use super::extract::{path_id, ApiJson, OrgScope};
use super::openapi::OrgPath;
use super::AppState;
use crate::search::{Hit, KbDocument, KbError, Ranking, Unanswered};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(get_one, replace, remove))
        .routes(routes!(search))
        .routes(routes!(unanswered))
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

#[derive(Deserialize, ToSchema)]
struct DocumentBody {
    #[schema(value_type = crate::domain::FullName)]
    title: String,
    /// The text (up to 200,000 characters, not blank).
    #[schema(
        min_length = 1,
        max_length = 200_000,
        pattern = r"[^\s\x00-\x1f\x7f-\x9f]|\uFEFF"
    )]
    body: String,
    /// At most 20, each of 1–50 characters and not blank.
    #[serde(default)]
    #[schema(schema_with = tags_schema)]
    tags: Vec<String>,
    source: Option<String>,
}

/// A document's tags as `put_document` takes them.
fn tags_schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    super::openapi::nonblank_texts(crate::search::TAGS_MAX, crate::search::TAG_MAX_CHARS)
}

/// A knowledge-base document; `body` only when one document is read.
#[derive(Serialize, serde::Deserialize, ToSchema)]
pub(crate) struct DocumentView {
    pub(crate) id: uuid::Uuid,
    pub(crate) title: String,
    pub(crate) tags: Vec<String>,
    pub(crate) source: Option<String>,
    /// How many passages the document was cut into for search.
    pub(crate) chunks: usize,
    #[schema(format = DateTime)]
    pub(crate) created_at: String,
    #[schema(format = DateTime)]
    pub(crate) updated_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) body: Option<String>,
}

impl DocumentView {
    fn summary(d: KbDocument) -> DocumentView {
        let mut v = DocumentView::whole(d);
        v.body = None;
        v
    }

    fn whole(d: KbDocument) -> DocumentView {
        DocumentView {
            id: d.id,
            title: d.title,
            tags: d.tags,
            source: d.source,
            chunks: d.chunks,
            created_at: d.created_at,
            updated_at: d.updated_at,
            body: Some(d.body),
        }
    }
}

/// Adds a document (admin, staff).
#[utoipa::path(
    post,
    path = "/api/orgs/{org}/kb/documents",
    tag = "knowledge base",
    params(OrgPath),
    security(("bearer" = ["admin", "staff"])),
    request_body = DocumentBody,
    responses((status = 201, body = DocumentView))
)]
async fn create(
    State(state): State<AppState>,
    scope: OrgScope,
    ApiJson(b): ApiJson<DocumentBody>,
) -> Result<(StatusCode, Json<DocumentView>), ApiError> {
    let d = state
        .kb
        .put_document(scope.caller, None, &b.title, &b.body, b.tags, b.source)
        .await?;
    Ok((StatusCode::CREATED, Json(DocumentView::summary(d))))
}

/// Replaces a document (admin, staff).
#[utoipa::path(
    put,
    path = "/api/orgs/{org}/kb/documents/{document_id}",
    tag = "knowledge base",
    params(OrgPath, ("document_id" = uuid::Uuid, Path)),
    security(("bearer" = ["admin", "staff"])),
    request_body = DocumentBody,
    responses((status = 200, body = DocumentView))
)]
async fn replace(
    State(state): State<AppState>,
    scope: OrgScope,
    Path((_, id)): Path<(String, String)>,
    ApiJson(b): ApiJson<DocumentBody>,
) -> Result<Json<DocumentView>, ApiError> {
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
    Ok(Json(DocumentView::summary(d)))
}

#[derive(Serialize, serde::Deserialize, ToSchema)]
pub(crate) struct DocumentList {
    pub(crate) documents: Vec<DocumentView>,
}

/// The organisation's documents, without their bodies.
#[utoipa::path(
    get,
    path = "/api/orgs/{org}/kb/documents",
    tag = "knowledge base",
    params(OrgPath),
    security(("bearer" = ["admin", "staff", "clinician"])),
    responses((status = 200, body = DocumentList))
)]
async fn list(
    State(state): State<AppState>,
    scope: OrgScope,
) -> Result<Json<DocumentList>, ApiError> {
    let docs = state.kb.documents(scope.org).await?;
    Ok(Json(DocumentList {
        documents: docs.into_iter().map(DocumentView::summary).collect(),
    }))
}

/// One document with its body.
#[utoipa::path(
    get,
    path = "/api/orgs/{org}/kb/documents/{document_id}",
    tag = "knowledge base",
    params(OrgPath, ("document_id" = uuid::Uuid, Path)),
    security(("bearer" = ["admin", "staff", "clinician"])),
    responses((status = 200, body = DocumentView))
)]
async fn get_one(
    State(state): State<AppState>,
    scope: OrgScope,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<DocumentView>, ApiError> {
    let id: uuid::Uuid = path_id(&id)?;
    let docs = state.kb.documents(scope.org).await?;
    let d = docs
        .into_iter()
        .find(|d| d.id == id)
        .ok_or(ApiError::NotFound)?;
    Ok(Json(DocumentView::whole(d)))
}

/// Deletes a document and its passages (admin, staff).
#[utoipa::path(
    delete,
    path = "/api/orgs/{org}/kb/documents/{document_id}",
    tag = "knowledge base",
    params(OrgPath, ("document_id" = uuid::Uuid, Path)),
    security(("bearer" = ["admin", "staff"])),
    responses((status = 204, description = "Deleted"))
)]
async fn remove(
    State(state): State<AppState>,
    scope: OrgScope,
    Path((_, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state
        .kb
        .delete_document(scope.caller, path_id(&id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct SearchQuery {
    /// The question or words to look for.
    #[param(min_length = 1, pattern = r"[^\s\x00-\x1f\x7f-\x9f]|\uFEFF")]
    q: String,
    /// How many passages (1–50, default 5).
    #[param(minimum = 1, maximum = 50)]
    k: Option<usize>,
    /// One half alone, for measuring what each contributes: `text` (BM25) or `vector`
    /// (meaning; 409 while no embedding model is installed). Omitted: both fused, as the
    /// voice agent gets.
    #[param(inline)]
    only: Option<OnlyHalf>,
}

/// The half a search may be limited to.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
enum OnlyHalf {
    Text,
    Vector,
}

#[derive(Serialize, serde::Deserialize, ToSchema)]
pub(crate) struct SearchResults {
    pub(crate) results: Vec<Hit>,
    /// `hybrid` (full text and meaning) or `fulltext` (no embedding model installed).
    pub(crate) mode: String,
}

/// Searches the organisation's documents.
#[utoipa::path(
    get,
    path = "/api/orgs/{org}/kb/search",
    tag = "knowledge base",
    params(OrgPath, SearchQuery),
    security(("bearer" = ["admin", "staff", "clinician"])),
    responses(
        (status = 200, body = SearchResults),
        (status = 409, description = "`only=vector` while no embedding model is installed")
    )
)]
async fn search(
    State(state): State<AppState>,
    scope: OrgScope,
    Query(q): Query<SearchQuery>,
) -> Result<Json<SearchResults>, ApiError> {
    if !crate::domain::has_text(&q.q) {
        return Err(ApiError::Invalid(vec![crate::domain::FieldError::new(
            "q",
            "is required",
        )]));
    }
    let k = q.k.unwrap_or(5);
    if !(1..=50).contains(&k) {
        return Err(ApiError::Invalid(vec![crate::domain::FieldError::new(
            "k",
            "is between 1 and 50",
        )]));
    }
    let ranking = match q.only {
        None => Ranking::Fused,
        Some(OnlyHalf::Text) => Ranking::Text,
        Some(OnlyHalf::Vector) if state.kb.semantic() => Ranking::Vector,
        Some(OnlyHalf::Vector) => {
            return Err(ApiError::Conflict(
                "only=vector needs the embedding model, which is not installed".into(),
            ))
        }
    };
    let results = state.kb.search_ranked(scope.org, &q.q, k, ranking).await?;
    let mode = if state.kb.semantic() {
        "hybrid"
    } else {
        "fulltext"
    };
    Ok(Json(SearchResults {
        results,
        mode: mode.to_string(),
    }))
}

#[derive(Serialize, serde::Deserialize, ToSchema)]
pub(crate) struct UnansweredList {
    pub(crate) unanswered: Vec<Unanswered>,
}

/// Questions the voice agent could not answer from the documents (admin, staff).
#[utoipa::path(
    get,
    path = "/api/orgs/{org}/kb/unanswered",
    tag = "knowledge base",
    params(OrgPath),
    security(("bearer" = ["admin", "staff"])),
    responses((status = 200, body = UnansweredList))
)]
async fn unanswered(
    State(state): State<AppState>,
    scope: OrgScope,
) -> Result<Json<UnansweredList>, ApiError> {
    Ok(Json(UnansweredList {
        unanswered: state.kb.unanswered(scope.org).await?,
    }))
}
