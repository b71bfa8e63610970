//! Routes for reading and verifying an org's audit chain.

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::ApiError;
use super::extract::OrgScope;
use super::AppState;
use crate::domain::Role;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/orgs/{org}/audit", get(list))
        .route("/api/orgs/{org}/audit/verify", get(verify))
}

#[derive(Deserialize)]
struct PageQuery {
    after: Option<u64>,
    limit: Option<usize>,
}

async fn list(
    State(state): State<AppState>,
    scope: OrgScope,
    Query(q): Query<PageQuery>,
) -> Result<Json<Value>, ApiError> {
    scope.require(&[Role::Admin])?;
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let entries = state
        .audit
        .page(scope.org, q.after.unwrap_or(0), limit)
        .await?;
    Ok(Json(json!({ "entries": entries })))
}

async fn verify(State(state): State<AppState>, scope: OrgScope) -> Result<Json<Value>, ApiError> {
    scope.require(&[Role::Admin])?;
    let v = state.audit.verify(scope.org).await?;
    Ok(Json(
        serde_json::to_value(v).map_err(|_| ApiError::Internal)?,
    ))
}
