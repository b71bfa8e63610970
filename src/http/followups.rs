//! Routes for what happens after a call: leads, follow-up messages, the procedure catalogue,
//! SMS opt-outs, and the webhooks that report a call's end (the seeds' `call_ended`) and a
//! text's fate (Twilio).

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::ApiError;
use super::extract::{path_id, AgentCaller, ApiJson, OrgScope};
use super::openapi::OrgPath;
use super::AppState;
use crate::domain::FieldError;
use crate::followup::records::{
    FollowUpRecord, LeadRecord, LeadStatus, OptOutRecord, ProcedureRecord,
};
use crate::followup::{CallEnded, FollowUpError, LeadFilter, ProcedureInput};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_leads))
        .routes(routes!(get_lead, patch_lead))
        .routes(routes!(list_followups))
        .routes(routes!(list_procedures, create_procedure))
        .routes(routes!(replace_procedure, delete_procedure))
        .routes(routes!(list_opt_outs))
        .routes(routes!(call_ended))
        .routes(routes!(twilio_status))
        .routes(routes!(twilio_inbound))
}

impl From<FollowUpError> for ApiError {
    fn from(e: FollowUpError) -> Self {
        match e {
            FollowUpError::Invalid(f) => ApiError::Invalid(f),
            FollowUpError::NotFound => ApiError::NotFound,
            FollowUpError::Store(s) => s.into(),
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct LeadQuery {
    /// `new`, `contacted`, `booked` or `lost`.
    #[param(value_type = Option<LeadStatus>, inline)]
    status: Option<String>,
    /// A catalogue procedure name.
    procedure: Option<String>,
    /// Leads created at or after (RFC 3339).
    #[param(format = DateTime)]
    since: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub(crate) struct LeadList {
    pub(crate) leads: Vec<LeadRecord>,
}

/// The clinic's leads: callers who rang and did not book (admin, staff).
#[utoipa::path(
    get,
    path = "/api/orgs/{org}/leads",
    tag = "after the call",
    params(OrgPath, LeadQuery),
    security(("bearer" = ["admin", "staff"])),
    responses((status = 200, body = LeadList))
)]
async fn list_leads(
    State(state): State<AppState>,
    scope: OrgScope,
    Query(q): Query<LeadQuery>,
) -> Result<Json<LeadList>, ApiError> {
    let mut v = crate::domain::Validation::new();
    let status = v.check_opt("status", q.status.as_deref().map(LeadStatus::parse));
    let since = v.check_opt(
        "since",
        q.since.as_deref().map(|s| {
            DateTime::parse_from_rfc3339(s.trim())
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| "must be RFC 3339 with an offset".to_string())
        }),
    );
    v.finish().map_err(ApiError::Invalid)?;
    let leads = state
        .followups
        .leads(
            scope.org,
            LeadFilter {
                status,
                procedure: q.procedure,
                since,
            },
        )
        .await?;
    Ok(Json(LeadList { leads }))
}

/// One lead (admin, staff).
#[utoipa::path(
    get,
    path = "/api/orgs/{org}/leads/{lead_id}",
    tag = "after the call",
    params(OrgPath, ("lead_id" = uuid::Uuid, Path)),
    security(("bearer" = ["admin", "staff"])),
    responses((status = 200, body = LeadRecord))
)]
async fn get_lead(
    State(state): State<AppState>,
    scope: OrgScope,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<LeadRecord>, ApiError> {
    Ok(Json(state.followups.lead(scope.org, path_id(&id)?).await?))
}

#[derive(Deserialize, ToSchema)]
struct LeadPatch {
    /// `new`, `contacted`, `booked` or `lost`.
    #[schema(pattern = "^(new|contacted|booked|lost)$")]
    status: String,
}

/// Moves a lead on (admin, staff). A lead whose number books becomes `booked` by itself.
#[utoipa::path(
    patch,
    path = "/api/orgs/{org}/leads/{lead_id}",
    tag = "after the call",
    params(OrgPath, ("lead_id" = uuid::Uuid, Path)),
    security(("bearer" = ["admin", "staff"])),
    request_body = LeadPatch,
    responses((status = 200, body = LeadRecord))
)]
async fn patch_lead(
    State(state): State<AppState>,
    scope: OrgScope,
    Path((_, id)): Path<(String, String)>,
    ApiJson(b): ApiJson<LeadPatch>,
) -> Result<Json<LeadRecord>, ApiError> {
    let id: uuid::Uuid = path_id(&id)?;
    let status = LeadStatus::parse(b.status.trim())
        .map_err(|m| ApiError::Invalid(vec![FieldError::new("status", m)]))?;
    Ok(Json(
        state
            .followups
            .set_lead_status(scope.org, scope.caller.actor(), id, status)
            .await?,
    ))
}

#[derive(Serialize, Deserialize, ToSchema)]
pub(crate) struct FollowUpList {
    pub(crate) followups: Vec<FollowUpRecord>,
}

/// The clinic's follow-up messages, as rendered and as they fared (admin, staff).
#[utoipa::path(
    get,
    path = "/api/orgs/{org}/followups",
    tag = "after the call",
    params(OrgPath),
    security(("bearer" = ["admin", "staff"])),
    responses((status = 200, body = FollowUpList))
)]
async fn list_followups(
    State(state): State<AppState>,
    scope: OrgScope,
) -> Result<Json<FollowUpList>, ApiError> {
    Ok(Json(FollowUpList {
        followups: state.followups.followups(scope.org).await?,
    }))
}

#[derive(Serialize, ToSchema)]
struct ProcedureList {
    procedures: Vec<ProcedureRecord>,
}

/// The clinic's procedure catalogue (the appliance's four defaults until it is edited).
#[utoipa::path(
    get,
    path = "/api/orgs/{org}/procedures",
    tag = "after the call",
    params(OrgPath),
    security(("bearer" = ["admin", "staff"])),
    responses((status = 200, body = ProcedureList))
)]
async fn list_procedures(
    State(state): State<AppState>,
    scope: OrgScope,
) -> Result<Json<ProcedureList>, ApiError> {
    Ok(Json(ProcedureList {
        procedures: state.followups.procedures(scope.org).await?,
    }))
}

#[derive(Deserialize, ToSchema)]
struct ProcedureBody {
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"[^\s\x00-\x1f\x7f-\x9f]|\uFEFF"
    )]
    name: String,
    /// Other names callers use (at most 50, each 1–100 characters).
    #[serde(default)]
    #[schema(schema_with = synonyms_schema)]
    synonyms: Vec<String>,
    /// A path (`/guides/…`, resolved against the clinic's public URL) or an http(s) URL.
    #[schema(max_length = 500, pattern = r"^\s*(/|https?://)")]
    guide_link: String,
    /// A minijinja template (it must parse); variables `patientName`, `procedure`, `pdfLink`,
    /// `bookingLink`, `clinicName`, `agentName`.
    #[schema(
        min_length = 1,
        max_length = 1600,
        pattern = r"[^\s\x00-\x1f\x7f-\x9f]|\uFEFF"
    )]
    sms_template: Option<String>,
    #[schema(
        min_length = 1,
        max_length = 60,
        pattern = r"[^\s\x00-\x1f\x7f-\x9f]|\uFEFF"
    )]
    agent_name: Option<String>,
}

/// A procedure's synonyms as `ProcedureInput::check` takes them.
fn synonyms_schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    super::openapi::nonblank_texts(50, 100)
}

impl From<ProcedureBody> for ProcedureInput {
    fn from(b: ProcedureBody) -> Self {
        ProcedureInput {
            name: b.name,
            synonyms: b.synonyms,
            guide_link: b.guide_link,
            sms_template: b.sms_template,
            agent_name: b.agent_name,
        }
    }
}

/// Adds a procedure (admin).
#[utoipa::path(
    post,
    path = "/api/orgs/{org}/procedures",
    tag = "after the call",
    params(OrgPath),
    security(("bearer" = ["admin"])),
    request_body = ProcedureBody,
    responses((status = 201, body = ProcedureRecord))
)]
async fn create_procedure(
    State(state): State<AppState>,
    scope: OrgScope,
    ApiJson(b): ApiJson<ProcedureBody>,
) -> Result<(StatusCode, Json<ProcedureRecord>), ApiError> {
    let p = state
        .followups
        .put_procedure(scope.org, scope.caller.actor(), None, b.into())
        .await?;
    Ok((StatusCode::CREATED, Json(p)))
}

/// Replaces a procedure (admin).
#[utoipa::path(
    put,
    path = "/api/orgs/{org}/procedures/{procedure_id}",
    tag = "after the call",
    params(OrgPath, ("procedure_id" = uuid::Uuid, Path)),
    security(("bearer" = ["admin"])),
    request_body = ProcedureBody,
    responses((status = 200, body = ProcedureRecord))
)]
async fn replace_procedure(
    State(state): State<AppState>,
    scope: OrgScope,
    Path((_, id)): Path<(String, String)>,
    ApiJson(b): ApiJson<ProcedureBody>,
) -> Result<Json<ProcedureRecord>, ApiError> {
    let id: uuid::Uuid = path_id(&id)?;
    Ok(Json(
        state
            .followups
            .put_procedure(scope.org, scope.caller.actor(), Some(id), b.into())
            .await?,
    ))
}

/// Removes a procedure (admin).
#[utoipa::path(
    delete,
    path = "/api/orgs/{org}/procedures/{procedure_id}",
    tag = "after the call",
    params(OrgPath, ("procedure_id" = uuid::Uuid, Path)),
    security(("bearer" = ["admin"])),
    responses((status = 204, description = "Removed"))
)]
async fn delete_procedure(
    State(state): State<AppState>,
    scope: OrgScope,
    Path((_, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let id: uuid::Uuid = path_id(&id)?;
    state
        .followups
        .delete_procedure(scope.org, scope.caller.actor(), id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
struct OptOutList {
    opt_outs: Vec<OptOutRecord>,
}

/// Numbers that asked not to be texted (admin, staff).
#[utoipa::path(
    get,
    path = "/api/orgs/{org}/sms/opt-outs",
    tag = "after the call",
    params(OrgPath),
    security(("bearer" = ["admin", "staff"])),
    responses((status = 200, body = OptOutList))
)]
async fn list_opt_outs(
    State(state): State<AppState>,
    scope: OrgScope,
) -> Result<Json<OptOutList>, ApiError> {
    Ok(Json(OptOutList {
        opt_outs: state.followups.opt_outs(scope.org).await?,
    }))
}

/// The seeds' `call_ended` event.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct CallEndedEvent {
    /// `call_ended`.
    event_type: Option<String>,
    /// 1 to 200 characters, not all spaces.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"[^\s\x00-\x1f\x7f-\x9f]|\uFEFF"
    )]
    call_id: String,
    patient_phone: Option<String>,
    patient_name: Option<String>,
    lead_id: Option<String>,
    /// The procedure the caller asked about.
    keyword: Option<String>,
    /// What the sender believes; the appliance decides from its own ledger.
    booking_confirmed: Option<bool>,
    call_duration: Option<f64>,
    transcript: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct CallEndedAnswer {
    /// `booked` (nothing to follow up), `lead` or `nothing`.
    outcome: &'static str,
    lead_id: Option<uuid::Uuid>,
    followup_id: Option<uuid::Uuid>,
}

/// The end of a call in the seeds' `call_ended` shape (agent key): the same rule as Vapi's
/// end-of-call report, once per call id.
#[utoipa::path(
    post,
    path = "/api/webhooks/call-ended",
    tag = "after the call",
    security(("bearer" = ["agent", "admin", "staff", "clinician"]), ("vapi_secret" = ["agent", "admin", "staff", "clinician"])),
    request_body = CallEndedEvent,
    responses((status = 200, body = CallEndedAnswer))
)]
async fn call_ended(
    State(state): State<AppState>,
    AgentCaller(caller): AgentCaller,
    ApiJson(e): ApiJson<CallEndedEvent>,
) -> Result<Json<CallEndedAnswer>, ApiError> {
    let _ = (
        &e.event_type,
        &e.lead_id,
        e.booking_confirmed,
        e.call_duration,
    );
    let call_id = e.call_id.trim();
    if !crate::domain::has_text(call_id) || e.call_id.chars().count() > 200 {
        return Err(ApiError::Invalid(vec![FieldError::new(
            "callId",
            "must be 1 to 200 characters",
        )]));
    }
    state.voice.call_over(caller.org, call_id).await;
    let outcome = state
        .followups
        .call_ended(
            caller.org,
            CallEnded {
                call_id: call_id.to_string(),
                caller_number: e.patient_phone,
                caller_name: e.patient_name,
                keyword: e.keyword,
                transcript: e.transcript,
            },
        )
        .await?;
    use crate::followup::CallOutcome;
    Ok(Json(match outcome {
        CallOutcome::Booked => CallEndedAnswer {
            outcome: "booked",
            lead_id: None,
            followup_id: None,
        },
        CallOutcome::Lead {
            lead_id,
            followup_id,
        } => CallEndedAnswer {
            outcome: "lead",
            lead_id: Some(lead_id),
            followup_id,
        },
        CallOutcome::Nothing => CallEndedAnswer {
            outcome: "nothing",
            lead_id: None,
            followup_id: None,
        },
    }))
}

/// Reads Twilio's form body after checking `X-Twilio-Signature` against the configured
/// public URL (what Twilio called, even behind a proxy) and the auth token.
fn signed_form(
    state: &AppState,
    headers: &HeaderMap,
    path: &str,
    body: &[u8],
) -> Result<Vec<(String, String)>, ApiError> {
    let params: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
    let url = format!(
        "{}{path}",
        state.settings.server.public_url.trim_end_matches('/')
    );
    let signature = headers
        .get("x-twilio-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if crate::integrations::twilio::signature_valid(
        state.settings.twilio.auth_token.expose(),
        &url,
        &params,
        signature,
    ) {
        Ok(params)
    } else {
        tracing::warn!(path, "twilio webhook with a missing or invalid signature");
        Err(ApiError::Forbidden(
            "the request's Twilio signature is not valid",
        ))
    }
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Twilio's delivery report for a message (`MessageSid`, `MessageStatus`, `ErrorCode`),
/// form-encoded and signed.
#[utoipa::path(
    post,
    path = "/api/webhooks/twilio/status",
    tag = "after the call",
    params(("X-Twilio-Signature" = String, Header, description = "Twilio's signature of the request")),
    request_body(content = Object, content_type = "application/x-www-form-urlencoded"),
    responses((status = 204, description = "Recorded (or not ours)"))
)]
async fn twilio_status(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let params = signed_form(&state, &headers, "/api/webhooks/twilio/status", &body)?;
    let (Some(sid), Some(status)) = (
        param(&params, "MessageSid"),
        param(&params, "MessageStatus"),
    ) else {
        return Err(ApiError::BadRequest(
            "MessageSid and MessageStatus are required",
        ));
    };
    state
        .followups
        .message_status(
            sid.to_string(),
            status,
            param(&params, "ErrorCode").map(str::to_string),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A text to one of the clinic's numbers (`From`, `To`, `Body`), form-encoded and signed:
/// STOP/START/HELP keywords; answered with TwiML.
#[utoipa::path(
    post,
    path = "/api/webhooks/twilio/inbound",
    tag = "after the call",
    params(("X-Twilio-Signature" = String, Header, description = "Twilio's signature of the request")),
    request_body(content = Object, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "TwiML", content_type = "text/xml", body = String))
)]
async fn twilio_inbound(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let params = signed_form(&state, &headers, "/api/webhooks/twilio/inbound", &body)?;
    let (from, to, text) = (
        param(&params, "From").unwrap_or(""),
        param(&params, "To").unwrap_or(""),
        param(&params, "Body").unwrap_or(""),
    );
    // A YES may take a time offered from the waiting list; it is also Twilio's opt-in word,
    // which the follow-up service records whatever became of the offer.
    let offer_reply = match state.waitlist.reply(from, to, text).await {
        Ok(reply) => reply,
        Err(e) => {
            tracing::warn!(error = %e, "answering a YES to a waiting-list offer failed");
            Some("Sorry, we couldn't take that time just now. Please call the clinic.".into())
        }
    };
    let reply = state.followups.inbound(from, to, text).await?;
    let reply = offer_reply.or(reply);
    let twiml = match reply {
        Some(message) => format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Message>{}</Message></Response>",
            xml_escape(&message)
        ),
        None => "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>".to_string(),
    };
    Ok(([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], twiml).into_response())
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}
