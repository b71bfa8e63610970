//! Routes for filed calls, contacts and clinical notes (decrypting a note is audited).

use axum::extract::{Path, Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::ApiError;
use super::extract::{path_id, OrgScope};
use super::openapi::OrgPath;
use super::AppState;
use crate::calls::{CallError, ContactRecord, EntityCount};
use crate::crypto::CryptoError;
use crate::domain::PhoneNumber;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_calls))
        .routes(routes!(get_call))
        .routes(routes!(contacts))
        .routes(routes!(list_notes))
        .routes(routes!(read_note))
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

/// A filed call: the transcript and summary with personal data replaced by placeholders.
#[derive(Serialize, Deserialize, ToSchema)]
pub(crate) struct CallView {
    pub(crate) call_id: String,
    pub(crate) started_at: Option<String>,
    pub(crate) ended_at: Option<String>,
    pub(crate) ended_reason: Option<String>,
    pub(crate) booked: bool,
    pub(crate) transcript_redacted: String,
    pub(crate) summary_redacted: Option<String>,
    /// How many of each kind of personal data the call held.
    pub(crate) entities: Vec<EntityCount>,
    pub(crate) contact_id: Option<uuid::Uuid>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct CallListQuery {
    /// At most this many calls (1–500, default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<usize>,
}

/// A filed call in a list: no transcript.
#[derive(Serialize, Deserialize, ToSchema)]
pub(crate) struct CallHeading {
    pub(crate) call_id: String,
    pub(crate) started_at: Option<String>,
    pub(crate) ended_at: Option<String>,
    pub(crate) ended_reason: Option<String>,
    pub(crate) booked: bool,
    pub(crate) summary_redacted: Option<String>,
    pub(crate) entities: Vec<EntityCount>,
    pub(crate) recorded_at: String,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub(crate) struct CallList {
    pub(crate) calls: Vec<CallHeading>,
}

/// The most recently filed calls, newest first, with their redacted summaries (admin, staff,
/// clinician).
#[utoipa::path(
    get,
    path = "/api/orgs/{org}/calls",
    tag = "calls",
    params(OrgPath, CallListQuery),
    security(("bearer" = ["admin", "staff", "clinician"])),
    responses((status = 200, body = CallList))
)]
async fn list_calls(
    State(state): State<AppState>,
    scope: OrgScope,
    Query(q): Query<CallListQuery>,
) -> Result<Json<CallList>, ApiError> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::Invalid(vec![crate::domain::FieldError::new(
            "limit",
            "is between 1 and 500",
        )]));
    }
    let calls = state.calls.recent(scope.org, limit).await?;
    Ok(Json(CallList {
        calls: calls
            .into_iter()
            .map(|c| CallHeading {
                call_id: c.call_id,
                started_at: c.started_at,
                ended_at: c.ended_at,
                ended_reason: c.ended_reason,
                booked: c.booked,
                summary_redacted: c.summary_redacted,
                entities: c.entities,
                recorded_at: c.recorded_at,
            })
            .collect(),
    }))
}

/// One filed call (admin, staff, clinician).
#[utoipa::path(
    get,
    path = "/api/orgs/{org}/calls/{call_id}",
    tag = "calls",
    params(OrgPath, ("call_id" = String, Path, description = "Vapi's call id")),
    security(("bearer" = ["admin", "staff", "clinician"])),
    responses((status = 200, body = CallView))
)]
async fn get_call(
    State(state): State<AppState>,
    scope: OrgScope,
    Path((_, call_id)): Path<(String, String)>,
) -> Result<Json<CallView>, ApiError> {
    let c = state.calls.call(scope.org, call_id).await?;
    Ok(Json(CallView {
        call_id: c.call_id,
        started_at: c.started_at,
        ended_at: c.ended_at,
        ended_reason: c.ended_reason,
        booked: c.booked,
        transcript_redacted: c.transcript_redacted,
        summary_redacted: c.summary_redacted,
        entities: c.entities,
        contact_id: c.contact_id,
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ContactQuery {
    /// Only the contact with this number.
    #[param(value_type = Option<crate::domain::PhoneInput>, inline)]
    phone: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct ContactList {
    contacts: Vec<ContactRecord>,
}

/// Contact details taken from calls (admin, staff).
#[utoipa::path(
    get,
    path = "/api/orgs/{org}/contacts",
    tag = "calls",
    params(OrgPath, ContactQuery),
    security(("bearer" = ["admin", "staff"])),
    responses((status = 200, body = ContactList))
)]
async fn contacts(
    State(state): State<AppState>,
    scope: OrgScope,
    Query(q): Query<ContactQuery>,
) -> Result<Json<ContactList>, ApiError> {
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
    Ok(Json(ContactList {
        contacts: state.calls.contacts(scope.org, phone).await?,
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct NotesQuery {
    /// Only the notes of this call.
    call_id: Option<String>,
}

/// A clinical note's heading; its text is read one note at a time.
#[derive(Serialize, Deserialize, ToSchema)]
pub(crate) struct NoteHeading {
    pub(crate) id: uuid::Uuid,
    pub(crate) call_id: String,
    #[schema(format = DateTime)]
    pub(crate) created_at: String,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub(crate) struct NoteList {
    pub(crate) clinical_notes: Vec<NoteHeading>,
}

/// The organisation's encrypted clinical notes, headings only (admin, clinician).
#[utoipa::path(
    get,
    path = "/api/orgs/{org}/clinical-notes",
    tag = "calls",
    params(OrgPath, NotesQuery),
    security(("bearer" = ["admin", "clinician"])),
    responses((status = 200, body = NoteList))
)]
async fn list_notes(
    State(state): State<AppState>,
    scope: OrgScope,
    Query(q): Query<NotesQuery>,
) -> Result<Json<NoteList>, ApiError> {
    let notes = state.calls.notes(scope.org, q.call_id).await?;
    Ok(Json(NoteList {
        clinical_notes: notes
            .into_iter()
            .map(|n| NoteHeading {
                id: n.id,
                call_id: n.call_id,
                created_at: n.created_at,
            })
            .collect(),
    }))
}

/// A decrypted clinical note.
#[derive(Serialize, Deserialize, ToSchema)]
pub(crate) struct NoteView {
    pub(crate) id: uuid::Uuid,
    pub(crate) call_id: String,
    #[schema(format = DateTime)]
    pub(crate) created_at: String,
    pub(crate) text: String,
}

/// Decrypts one clinical note; the reading is audited (admin, clinician).
#[utoipa::path(
    get,
    path = "/api/orgs/{org}/clinical-notes/{note_id}",
    tag = "calls",
    params(OrgPath, ("note_id" = uuid::Uuid, Path)),
    security(("bearer" = ["admin", "clinician"])),
    responses((status = 200, body = NoteView))
)]
async fn read_note(
    State(state): State<AppState>,
    scope: OrgScope,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<NoteView>, ApiError> {
    let (note, text) = state.calls.read_note(scope.caller, path_id(&id)?).await?;
    Ok(Json(NoteView {
        id: note.id,
        call_id: note.call_id,
        created_at: note.created_at,
        text,
    }))
}
