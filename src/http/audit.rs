//! Routes for reading and verifying an org's audit chain.

use axum::extract::{Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::ApiError;
use super::extract::OrgScope;
use super::openapi::OrgPath;
use super::AppState;
use crate::audit::{AuditEntry, Verification};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(verify))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct PageQuery {
    /// Entries after this sequence number (default 0: from the start).
    #[param(minimum = 0)]
    after: Option<i64>,
    /// At most this many entries (1–1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<usize>,
}

#[derive(Serialize, serde::Deserialize, ToSchema)]
pub(crate) struct AuditPage {
    pub(crate) entries: Vec<AuditEntry>,
}

/// A page of the organisation's audit chain, oldest first (admin only).
#[utoipa::path(
    get,
    path = "/api/orgs/{org}/audit",
    tag = "audit",
    params(OrgPath, PageQuery),
    security(("bearer" = ["admin"])),
    responses((status = 200, body = AuditPage))
)]
async fn list(
    State(state): State<AppState>,
    scope: OrgScope,
    Query(q): Query<PageQuery>,
) -> Result<Json<AuditPage>, ApiError> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::Invalid(vec![crate::domain::FieldError::new(
            "limit",
            "is between 1 and 1000",
        )]));
    }
    let after = u64::try_from(q.after.unwrap_or(0)).map_err(|_| {
        ApiError::Invalid(vec![crate::domain::FieldError::new(
            "after",
            "must not be negative",
        )])
    })?;
    let entries = state.audit.page(scope.org, after, limit).await?;
    Ok(Json(AuditPage { entries }))
}

/// Walks the organisation's whole chain and says whether it holds (admin only).
#[utoipa::path(
    get,
    path = "/api/orgs/{org}/audit/verify",
    tag = "audit",
    params(OrgPath),
    security(("bearer" = ["admin"])),
    responses((status = 200, body = Verification))
)]
async fn verify(
    State(state): State<AppState>,
    scope: OrgScope,
) -> Result<Json<Verification>, ApiError> {
    Ok(Json(state.audit.verify(scope.org).await?))
}
