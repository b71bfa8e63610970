//! A tolerant reader of Vapi server messages: the shapes real payloads, the spec and the docs
//! use, normalised into one list of tool calls plus what the message says about the call.

use serde_json::{Map, Value};

/// One tool invocation, whatever shape it arrived in.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    /// `Err` when the arguments could not be read as a JSON object.
    pub arguments: Result<Map<String, Value>, ()>,
}

/// What the message says about the phone call (message-level fields win over the embedded,
/// possibly stale, `call` object).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallContext {
    pub call_id: Option<String>,
    pub customer_number: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ServerMessage {
    ToolCalls {
        calls: Vec<ToolCall>,
        call: CallContext,
    },
    /// The legacy single-function shape, answered `{"result": …}`.
    FunctionCall { tool: ToolCall, call: CallContext },
    /// Any other type (status-update, end-of-call-report, …): answered `{}` for now.
    Other { kind: String },
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn arguments_of(v: Option<&Value>) -> Result<Map<String, Value>, ()> {
    match v {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m.clone()),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(Map::new()),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(m)) => Ok(m),
            _ => Err(()),
        },
        Some(_) => Err(()),
    }
}

fn first<'a>(v: &'a Value, pointers: &[&str]) -> Option<&'a Value> {
    pointers
        .iter()
        .find_map(|p| v.pointer(p).filter(|x| !x.is_null()))
}

fn tool_call(entry: &Value, base: &str) -> ToolCall {
    let at = |suffixes: &[&str]| -> Vec<String> {
        suffixes.iter().map(|s| format!("{base}{s}")).collect()
    };
    let args_paths = at(&[
        "/function/arguments",
        "/arguments",
        "/parameters",
        "/function/parameters",
    ]);
    let args_refs: Vec<&str> = args_paths.iter().map(String::as_str).collect();
    let name = first(
        entry,
        &at(&["/function/name", "/name"])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    )
    .and_then(Value::as_str)
    .unwrap_or("")
    .to_string();
    let id = first(
        entry,
        &at(&["/id"]).iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .and_then(Value::as_str)
    .unwrap_or("")
    .to_string();
    ToolCall {
        id,
        name,
        arguments: arguments_of(first(entry, &args_refs)),
    }
}

/// Reads `{"message": {...}}`. `Err` when there is no message object at all.
pub fn read(envelope: &Value) -> Result<ServerMessage, &'static str> {
    let message = envelope
        .get("message")
        .filter(|m| m.is_object())
        .ok_or("expected a Vapi server message: {\"message\": {...}}")?;
    let call = CallContext {
        call_id: str_at(message, "/call/id").map(str::to_string),
        customer_number: str_at(message, "/customer/number")
            .or_else(|| str_at(message, "/call/customer/number"))
            .map(str::to_string),
    };
    let kind = message
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    match kind.as_str() {
        "tool-calls" => {
            let calls = if let Some(list) = message.get("toolCallList").and_then(Value::as_array) {
                list.iter().map(|e| tool_call(e, "")).collect()
            } else if let Some(list) = message
                .get("toolWithToolCallList")
                .and_then(Value::as_array)
            {
                list.iter().map(|e| tool_call(e, "/toolCall")).collect()
            } else if let Some(list) = message.get("toolCalls").and_then(Value::as_array) {
                list.iter().map(|e| tool_call(e, "")).collect()
            } else {
                Vec::new()
            };
            Ok(ServerMessage::ToolCalls { calls, call })
        }
        "function-call" => {
            let f = message.get("functionCall").cloned().unwrap_or(Value::Null);
            let mut tool = tool_call(&f, "");
            if tool.id.is_empty() {
                tool.id = call.call_id.clone().unwrap_or_default();
            }
            Ok(ServerMessage::FunctionCall { tool, call })
        }
        _ => Ok(ServerMessage::Other { kind }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn only_call(m: ServerMessage) -> ToolCall {
        match m {
            ServerMessage::ToolCalls { mut calls, .. } => {
                assert_eq!(calls.len(), 1);
                calls.remove(0)
            }
            other => panic!("not tool calls: {other:?}"),
        }
    }

    #[test]
    fn arguments_arrive_as_object_string_or_alternative_keys() {
        let shapes = [
            json!({"message": {"type": "tool-calls", "toolCallList": [{"id": "a", "function": {"name": "book_appointment", "arguments": {"x": 1}}}]}}),
            json!({"message": {"type": "tool-calls", "toolCallList": [{"id": "a", "function": {"name": "book_appointment", "arguments": "{\"x\": 1}"}}]}}),
            json!({"message": {"type": "tool-calls", "toolCallList": [{"id": "a", "name": "book_appointment", "arguments": {"x": 1}}]}}),
            json!({"message": {"type": "tool-calls", "toolCallList": [{"id": "a", "name": "book_appointment", "parameters": {"x": 1}}]}}),
            json!({"message": {"type": "tool-calls", "toolWithToolCallList": [{"toolCall": {"id": "a", "function": {"name": "book_appointment", "parameters": {"x": 1}}}}]}}),
            json!({"message": {"type": "tool-calls", "toolWithToolCallList": [{"toolCall": {"id": "a", "name": "book_appointment", "parameters": "{\"x\":1}"}}]}}),
        ];
        for s in shapes {
            let c = only_call(read(&s).unwrap());
            assert_eq!(c.id, "a", "{s}");
            assert_eq!(c.name, "book_appointment", "{s}");
            assert_eq!(c.arguments.unwrap().get("x"), Some(&json!(1)), "{s}");
        }
    }

    #[test]
    fn unreadable_arguments_are_marked_not_dropped() {
        let m = json!({"message": {"type": "tool-calls", "toolCallList": [{"id": "a", "function": {"name": "f", "arguments": "{not json"}}]}});
        assert!(only_call(read(&m).unwrap()).arguments.is_err());
    }

    #[test]
    fn the_caller_number_comes_from_the_message() {
        let m = json!({"message": {"type": "tool-calls", "call": {"id": "c1", "customer": {"number": "+14155550000"}}, "customer": {"number": "+14155552671"}, "toolCallList": []}});
        match read(&m).unwrap() {
            ServerMessage::ToolCalls { call, .. } => {
                assert_eq!(call.call_id.as_deref(), Some("c1"));
                assert_eq!(call.customer_number.as_deref(), Some("+14155552671"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn legacy_function_calls_and_other_types_are_recognised() {
        let legacy: Value = serde_json::from_str(include_str!(
            "../../tests/fixtures/vapi/function-call.legacy.json"
        ))
        .unwrap();
        match read(&legacy).unwrap() {
            ServerMessage::FunctionCall { tool, .. } => {
                assert_eq!(tool.name, "check_availability");
                assert_eq!(tool.arguments.unwrap()["appointment_date"], "2026-01-17");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            read(&json!({"message": {"type": "hang"}})).unwrap(),
            ServerMessage::Other {
                kind: "hang".into()
            }
        );
        assert!(read(&json!({"nope": 1})).is_err());
    }
}
