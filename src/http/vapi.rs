//! The voice agent's endpoint: authenticates Vapi's server messages and answers them in the
//! shape Vapi expects. Booking tools arrive with the booking chain; until then every tool call
//! gets a speakable `error` entry, never an HTTP error.

use axum::body::Bytes;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::error::ApiError;
use super::extract::{parse_json, AgentCaller};
use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/vapi", post(server_message))
        .route("/api/vapi/tools", post(server_message))
}

/// The tool calls of a `tool-calls` message as `(toolCallId, name)`, from `toolCallList`, or
/// from `toolWithToolCallList[].toolCall` when the list is absent.
fn tool_calls(message: &Value) -> Vec<(String, String)> {
    let name_of = |call: &Value| {
        call.pointer("/function/name")
            .or_else(|| call.get("name"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let id_of = |call: &Value| {
        call.get("id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    if let Some(list) = message.get("toolCallList").and_then(Value::as_array) {
        return list.iter().map(|c| (id_of(c), name_of(c))).collect();
    }
    if let Some(list) = message
        .get("toolWithToolCallList")
        .and_then(Value::as_array)
    {
        return list
            .iter()
            .filter_map(|t| t.get("toolCall"))
            .map(|c| (id_of(c), name_of(c)))
            .collect();
    }
    Vec::new()
}

const NOT_AVAILABLE: &str =
    "I can't do that over the phone yet. I can take a message and the clinic will call you back.";

async fn server_message(
    AgentCaller(_caller): AgentCaller,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let envelope: Value = parse_json(&body)?;
    let Some(message) = envelope.get("message").filter(|m| m.is_object()) else {
        return Err(ApiError::BadRequest(
            "expected a Vapi server message: {\"message\": {...}}",
        ));
    };
    let kind = message.get("type").and_then(Value::as_str).unwrap_or("");
    let answer = match kind {
        "tool-calls" => {
            let results: Vec<Value> = tool_calls(message)
                .into_iter()
                .map(|(id, name)| json!({"name": name, "toolCallId": id, "error": NOT_AVAILABLE}))
                .collect();
            json!({ "results": results })
        }
        "function-call" => json!({ "result": NOT_AVAILABLE }),
        _ => json!({}),
    };
    Ok(Json(answer))
}
