//! The voice agent's endpoints (`/api/vapi`, `/api/vapi/tools`): credential and optional HMAC
//! checks on the raw body, then the message goes to the voice agent. Tool failures are
//! answered 200 with a spoken `error`, as Vapi requires.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use hmac::{Hmac, Mac};
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::ApiError;
use super::extract::{parse_json, AgentCaller};
use super::AppState;
use crate::config::VapiSettings;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(server_url))
        .routes(routes!(tools_url))
}

/// Vapi's server URL: every server message of a call (`tool-calls`, `assistant-request`,
/// `status-update`, `end-of-call-report`, …). By Vapi's contract a message this appliance
/// cannot act on is still answered 200, with a spoken-friendly error in the tool result.
#[utoipa::path(
    post,
    path = "/api/vapi",
    tag = "voice agent",
    security(("bearer" = ["agent", "admin", "staff", "clinician"]), ("vapi_secret" = ["agent", "admin", "staff", "clinician"])),
    request_body(content = Object, description = "A Vapi server message (schema: `VapiServerMessage`)"),
    responses((status = 200, description = "The answer Vapi expects for the message type (`results` for tool calls)", body = Object))
)]
async fn server_url(
    state: State<AppState>,
    caller: AgentCaller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    server_message(state, caller, headers, body).await
}

/// The same as `/api/vapi`, for assistants whose tools have their own server URL.
#[utoipa::path(
    post,
    path = "/api/vapi/tools",
    tag = "voice agent",
    security(("bearer" = ["agent", "admin", "staff", "clinician"]), ("vapi_secret" = ["agent", "admin", "staff", "clinician"])),
    request_body(content = Object, description = "A Vapi server message (schema: `VapiServerMessage`)"),
    responses((status = 200, description = "The answer Vapi expects for the message type", body = Object))
)]
async fn tools_url(
    state: State<AppState>,
    caller: AgentCaller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    server_message(state, caller, headers, body).await
}

async fn server_message(
    State(state): State<AppState>,
    AgentCaller(caller): AgentCaller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let vapi = &state.settings.vapi;
    if !vapi.hmac_secret.is_empty() {
        let now = chrono::Utc::now().timestamp();
        if !signature_valid(vapi, &headers, &body, now) {
            tracing::warn!("vapi request with a missing or invalid signature");
            return Err(ApiError::Unauthorized);
        }
    }
    // Tool calls, the messages a caller waits on, are read straight from the body; anything
    // else (and any tool message with odd field types) is parsed as a whole document first.
    if let Some(message) = crate::vapi::envelope::read_tool_message(&body) {
        return Ok(Json(state.voice.handle_read(caller, message).await));
    }
    let envelope: Value = parse_json(&body)?;
    let answer = state
        .voice
        .handle(caller, &envelope)
        .await
        .map_err(ApiError::BadRequest)?;
    Ok(Json(answer))
}

/// The request body of both voice agent routes, as the document states it (JSON Schema the
/// model types cannot write: a report must name its call): an object with a `message` object
/// whose `type` is a string; an `end-of-call-report` also has `call.id`, not blank.
pub fn server_message_schema() -> Value {
    serde_json::json!({
        "type": "object",
        "description": "A Vapi server message: `{\"message\": {\"type\": …}}`",
        "required": ["message"],
        "properties": {
            "message": {
                "type": "object",
                "required": ["type"],
                "properties": {
                    "type": {
                        "type": "string",
                        "description": "`tool-calls`, `function-call`, `status-update`, `end-of-call-report`, …; any other is answered `{}`"
                    }
                },
                "anyOf": [
                    { "properties": { "type": { "not": { "const": "end-of-call-report" } } } },
                    {
                        "required": ["call"],
                        "properties": {
                            "call": {
                                "type": "object",
                                "required": ["id"],
                                "properties": { "id": { "type": "string", "pattern": crate::domain::NONBLANK_PATTERN } }
                            }
                        }
                    }
                ]
            }
        }
    })
}

/// Checks Vapi's HMAC: the configured payload format over the raw body and the timestamp
/// header, hex signature (an `sha256=` prefix allowed), compared in constant time, and the
/// timestamp (seconds or milliseconds) inside the replay window.
pub fn signature_valid(v: &VapiSettings, headers: &HeaderMap, body: &[u8], now_secs: i64) -> bool {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|h| h.to_str().ok())
            .map(str::trim)
    };
    let Some(signature) = header(&v.hmac_signature_header) else {
        return false;
    };
    let signature = signature.split_once('=').map_or(signature, |(_, s)| s);
    let Ok(signature) = hex::decode(signature) else {
        return false;
    };
    let timestamp = header(&v.hmac_timestamp_header).unwrap_or("");
    if v.hmac_payload_format.contains("{timestamp}") {
        let Ok(ts) = timestamp.parse::<i64>() else {
            return false;
        };
        let ts = if ts > 10_000_000_000 { ts / 1000 } else { ts };
        if (now_secs - ts).unsigned_abs() > v.hmac_replay_window_seconds {
            return false;
        }
    }
    let (before, after) = v
        .hmac_payload_format
        .split_once("{body}")
        .unwrap_or((v.hmac_payload_format.as_str(), ""));
    let before = before.replace("{timestamp}", timestamp);
    let after = after.replace("{timestamp}", timestamp);
    let secret = v.hmac_secret.expose().as_bytes();
    macro_rules! check {
        ($digest:ty) => {{
            let Ok(mut mac) = Hmac::<$digest>::new_from_slice(secret) else {
                return false;
            };
            mac.update(before.as_bytes());
            mac.update(body);
            mac.update(after.as_bytes());
            mac.verify_slice(&signature).is_ok()
        }};
    }
    match v.hmac_algorithm.as_str() {
        "sha512" => check!(sha2::Sha512),
        _ => check!(sha2::Sha256),
    }
}
