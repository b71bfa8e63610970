//! Routes for a clinic's own Google Calendar connection (admin): start the OAuth consent,
//! finish it with Google's code, list the account's calendars, disconnect. Which calendar the
//! appointments go to stays the clinic setting `calendar_id`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::ApiError;
use super::extract::{ApiJson, OrgScope};
use super::openapi::OrgPath;
use super::AppState;
use crate::calendar::{CalendarError, ConnectionStatus};
use crate::integrations::google::CalendarEntry;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(status, disconnect))
        .routes(routes!(authorize))
        .routes(routes!(callback))
        .routes(routes!(calendars))
}

impl From<CalendarError> for ApiError {
    fn from(e: CalendarError) -> Self {
        match e {
            CalendarError::NotConfigured => ApiError::Conflict(
                "no Google OAuth client is configured on this appliance ([google_calendar] client_id)".into(),
            ),
            CalendarError::BadState => ApiError::Conflict(
                "this connection attempt is unknown, expired or belongs to someone else; start again".into(),
            ),
            CalendarError::NotConnected => {
                ApiError::Conflict("the clinic has not connected a Google Calendar".into())
            }
            CalendarError::Google(code) => {
                ApiError::Upstream(format!("Google refused or could not be reached ({code})"))
            }
            CalendarError::Crypto(e) => {
                tracing::error!(error = %e, "calendar token could not be opened");
                ApiError::Internal
            }
            CalendarError::Store(e) => e.into(),
        }
    }
}

/// Whether the clinic has connected its own Google Calendar (admin).
#[utoipa::path(
    get,
    path = "/api/orgs/{org}/calendar/google",
    tag = "calendar",
    params(OrgPath),
    security(("bearer" = ["admin"])),
    responses((status = 200, body = ConnectionStatus))
)]
async fn status(
    State(state): State<AppState>,
    scope: OrgScope,
) -> Result<Json<ConnectionStatus>, ApiError> {
    Ok(Json(state.calendar.status(scope.org).await?))
}

#[derive(Serialize, serde::Deserialize, ToSchema)]
pub(crate) struct Authorization {
    /// Google's consent page; it comes back to `/console/calendar/callback`.
    pub(crate) authorization_url: String,
}

/// Starts connecting the clinic's Google Calendar: the consent page to send the admin to
/// (admin). The `state` in it is theirs alone, for ten minutes.
#[utoipa::path(
    post,
    path = "/api/orgs/{org}/calendar/google/authorize",
    tag = "calendar",
    params(OrgPath),
    security(("bearer" = ["admin"])),
    responses((status = 200, body = Authorization))
)]
async fn authorize(
    State(state): State<AppState>,
    scope: OrgScope,
) -> Result<Json<Authorization>, ApiError> {
    Ok(Json(Authorization {
        authorization_url: state.calendar.authorize(scope.caller)?,
    }))
}

#[derive(Deserialize, ToSchema)]
struct CallbackBody {
    /// The authorization code Google returned.
    #[schema(min_length = 1, max_length = 2048, pattern = "^[\\x21-\\x7e]+$")]
    code: String,
    /// The state Google returned (from `authorize`).
    #[schema(min_length = 1, max_length = 256, pattern = "^[\\x21-\\x7e]+$")]
    state: String,
}

#[derive(Serialize, ToSchema)]
struct Connected {
    connected: bool,
}

/// Finishes connecting: Google's code is exchanged and the clinic's refresh token kept,
/// encrypted with the clinic's key (admin who started it).
#[utoipa::path(
    post,
    path = "/api/orgs/{org}/calendar/google/callback",
    tag = "calendar",
    params(OrgPath),
    security(("bearer" = ["admin"])),
    request_body = CallbackBody,
    responses((status = 200, body = Connected))
)]
async fn callback(
    State(state): State<AppState>,
    scope: OrgScope,
    ApiJson(b): ApiJson<CallbackBody>,
) -> Result<Json<Connected>, ApiError> {
    if b.code.is_empty() || b.code.len() > 2048 || b.state.len() > 256 {
        return Err(ApiError::BadRequest(
            "the code or state is not one Google gives",
        ));
    }
    state
        .calendar
        .complete(scope.caller, &b.code, &b.state)
        .await?;
    Ok(Json(Connected { connected: true }))
}

#[derive(Serialize, serde::Deserialize, ToSchema)]
pub(crate) struct CalendarList {
    pub(crate) calendars: Vec<CalendarEntry>,
}

/// The calendars of the connected account the clinic can write to (admin).
#[utoipa::path(
    get,
    path = "/api/orgs/{org}/calendar/google/calendars",
    tag = "calendar",
    params(OrgPath),
    security(("bearer" = ["admin"])),
    responses((status = 200, body = CalendarList))
)]
async fn calendars(
    State(state): State<AppState>,
    scope: OrgScope,
) -> Result<Json<CalendarList>, ApiError> {
    Ok(Json(CalendarList {
        calendars: state.calendar.calendars(scope.org).await?,
    }))
}

#[derive(Serialize, serde::Deserialize, ToSchema)]
pub(crate) struct Disconnected {
    /// Google confirmed the token is revoked (the connection is forgotten either way).
    pub(crate) revoked: bool,
}

/// Disconnects the clinic's calendar: the token is revoked at Google and forgotten (admin).
#[utoipa::path(
    delete,
    path = "/api/orgs/{org}/calendar/google",
    tag = "calendar",
    params(OrgPath),
    security(("bearer" = ["admin"])),
    responses((status = 200, body = Disconnected))
)]
async fn disconnect(
    State(state): State<AppState>,
    scope: OrgScope,
) -> Result<(StatusCode, Json<Disconnected>), ApiError> {
    let revoked = state.calendar.disconnect(scope.caller).await?;
    Ok((StatusCode::OK, Json(Disconnected { revoked })))
}
