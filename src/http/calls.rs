//! Routes for filed calls, contacts and clinical notes (decrypting a note is audited).

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::ApiError;
use super::extract::{path_id, OrgScope};
use super::AppState;
use crate::calls::CallError;
use crate::crypto::CryptoError;
use crate::domain::{PhoneNumber, Role};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/orgs/{org}/calls/{call_id}", get(get_call))
        .route("/api/orgs/{org}/contacts", get(contacts))
        .route("/api/orgs/{org}/clinical-notes", get(list_notes))
        .route("/api/orgs/{org}/clinical-notes/{note_id}", get(read_note))
}

impl From<CallError> for ApiError {
    fn from(e: CallError) -> Self {
        match e {
            CallError::NotFound => ApiError::NotFound,
            CallError::NoCallId => ApiError::BadRequest("the report has no call id"),
            CallError::Crypto(CryptoError::Tampered) => ApiError::Conflict(
                "this note cannot be decrypted: its ciphertext does not belong to this record or was altered".into(),
            ),
            CallError::Crypto(CryptoError::NoKey) => ApiError::Conflict(
                "this note cannot be decrypted: the organisation's keys have been destroyed".into(),
            ),
            CallError::Crypto(other) => {
                tracing::error!(error = %other, "decryption set-up failed");
                ApiError::Internal
            }
            CallError::Store(e) => e.into(),
        }
    }
}

async fn get_call(
    State(state): State<AppState>,
    scope: OrgScope,
    Path((_, call_id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    scope.require(&[Role::Admin, Role::Staff, Role::Clinician])?;
    let c = state.calls.call(scope.org, call_id).await?;
    Ok(Json(json!({
        "call_id": c.call_id, "started_at": c.started_at, "ended_at": c.ended_at,
        "ended_reason": c.ended_reason, "booked": c.booked,
        "transcript_redacted": c.transcript_redacted, "summary_redacted": c.summary_redacted,
        "entities": c.entities, "contact_id": c.contact_id,
    })))
}

#[derive(Deserialize)]
struct ContactQuery {
    phone: Option<String>,
}

async fn contacts(
    State(state): State<AppState>,
    scope: OrgScope,
    Query(q): Query<ContactQuery>,
) -> Result<Json<Value>, ApiError> {
    scope.require(&[Role::Admin, Role::Staff])?;
    let region = state.booking.settings(scope.org).await?.phone_region;
    let phone = match q.phone.as_deref() {
        Some(p) => Some(
            PhoneNumber::parse(p, &region)
                .map_err(|m| ApiError::Invalid(vec![crate::domain::FieldError::new("phone", m)]))?
                .as_str()
                .to_string(),
        ),
        None => None,
    };
    Ok(Json(
        json!({ "contacts": state.calls.contacts(scope.org, phone).await? }),
    ))
}

#[derive(Deserialize)]
struct NotesQuery {
    call_id: Option<String>,
}

async fn list_notes(
    State(state): State<AppState>,
    scope: OrgScope,
    Query(q): Query<NotesQuery>,
) -> Result<Json<Value>, ApiError> {
    scope.require(&[Role::Admin, Role::Clinician])?;
    let notes = state.calls.notes(scope.org, q.call_id).await?;
    let list: Vec<Value> = notes
        .iter()
        .map(|n| json!({"id": n.id, "call_id": n.call_id, "created_at": n.created_at}))
        .collect();
    Ok(Json(json!({ "clinical_notes": list })))
}

async fn read_note(
    State(state): State<AppState>,
    scope: OrgScope,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    scope.require(&[Role::Admin, Role::Clinician])?;
    let (note, text) = state.calls.read_note(scope.caller, path_id(&id)?).await?;
    Ok(Json(
        json!({"id": note.id, "call_id": note.call_id, "created_at": note.created_at, "text": text}),
    ))
}
