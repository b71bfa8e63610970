//! A tolerant reader of Vapi server messages: the shapes real payloads, the spec and the docs
//! use, normalised into one list of tool calls plus what the message says about the call.
//!
//! Two readers give the same answer: `read_tool_message` reads a tool-call message straight
//! from the request body into typed fields, skipping the parts no tool uses (a real message's
//! `artifact`, `assistant`, …) without building them; `read` works on a parsed
//! `serde_json::Value` and takes every other message, and any tool-call message whose fields
//! have unexpected types.

use serde::Deserialize;
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
        .ok_or("expected a Vapi server message with its type: {\"message\": {\"type\": ...}}")?
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

/// The fields of a tool-call message that the tools read. Every field is optional, and a
/// JSON `null` counts as absent, as in `read`; anything else is skipped unread.
#[derive(Deserialize)]
struct TypedEnvelope<'a> {
    #[serde(borrow)]
    message: Option<TypedMessage<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TypedMessage<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    call: Option<TypedCall<'a>>,
    #[serde(borrow)]
    customer: Option<TypedCustomer<'a>>,
    tool_call_list: Option<Vec<TypedToolCall>>,
    tool_with_tool_call_list: Option<Vec<TypedWrappedCall>>,
    tool_calls: Option<Vec<TypedToolCall>>,
    function_call: Option<TypedToolCall>,
}

#[derive(Deserialize)]
struct TypedCall<'a> {
    id: Option<String>,
    #[serde(borrow)]
    customer: Option<TypedCustomer<'a>>,
}

#[derive(Deserialize)]
struct TypedCustomer<'a> {
    #[serde(borrow)]
    number: Option<std::borrow::Cow<'a, str>>,
}

#[derive(Deserialize)]
struct TypedWrappedCall {
    #[serde(rename = "toolCall")]
    tool_call: Option<TypedToolCall>,
}

#[derive(Deserialize, Default)]
struct TypedToolCall {
    id: Option<String>,
    name: Option<String>,
    function: Option<TypedFunction>,
    arguments: Option<Value>,
    parameters: Option<Value>,
}

#[derive(Deserialize)]
struct TypedFunction {
    name: Option<String>,
    arguments: Option<Value>,
    parameters: Option<Value>,
}

impl TypedToolCall {
    /// The same choices `tool_call` makes: the function's name before a bare `name`, and the
    /// arguments from the first of `function.arguments`, `arguments`, `parameters`,
    /// `function.parameters` that is present.
    fn into_tool_call(self) -> ToolCall {
        let (f_name, f_arguments, f_parameters) = match self.function {
            Some(f) => (f.name, f.arguments, f.parameters),
            None => (None, None, None),
        };
        let arguments = f_arguments
            .or(self.arguments)
            .or(self.parameters)
            .or(f_parameters);
        ToolCall {
            id: self.id.unwrap_or_default(),
            name: f_name.or(self.name).unwrap_or_default(),
            arguments: arguments_of(arguments.as_ref()),
        }
    }
}

fn non_empty(s: Option<std::borrow::Cow<'_, str>>) -> Option<String> {
    s.filter(|s| !s.is_empty()).map(|s| s.into_owned())
}

/// Reads a tool-call (or legacy function-call) message straight from the request body.
/// `None` when the body is anything else — another message type, no message, a field of an
/// unexpected type, not JSON at all — and `read` on the parsed document decides.
pub fn read_tool_message(body: &[u8]) -> Option<ServerMessage> {
    let envelope: TypedEnvelope<'_> = serde_json::from_slice(body).ok()?;
    let message = envelope.message?;
    let call = CallContext {
        call_id: message
            .call
            .as_ref()
            .and_then(|c| c.id.clone())
            .filter(|s| !s.is_empty()),
        customer_number: non_empty(message.customer.and_then(|c| c.number))
            .or_else(|| non_empty(message.call.and_then(|c| c.customer).and_then(|c| c.number))),
    };
    match message.kind.as_deref() {
        Some("tool-calls") => {
            let calls = if let Some(list) = message.tool_call_list {
                list.into_iter()
                    .map(TypedToolCall::into_tool_call)
                    .collect()
            } else if let Some(list) = message.tool_with_tool_call_list {
                list.into_iter()
                    .map(|w| w.tool_call.unwrap_or_default().into_tool_call())
                    .collect()
            } else if let Some(list) = message.tool_calls {
                list.into_iter()
                    .map(TypedToolCall::into_tool_call)
                    .collect()
            } else {
                Vec::new()
            };
            Some(ServerMessage::ToolCalls { calls, call })
        }
        Some("function-call") => {
            let mut tool = message.function_call.unwrap_or_default().into_tool_call();
            if tool.id.is_empty() {
                tool.id = call.call_id.clone().unwrap_or_default();
            }
            Some(ServerMessage::FunctionCall { tool, call })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The body reader and the document reader agree on every tool-call shape, and the body
    /// reader leaves everything else to the document reader.
    #[test]
    fn the_body_reader_reads_tool_messages_as_the_document_reader_does() {
        let fixtures = [
            include_str!("../../tests/fixtures/vapi/tool-calls.captured.json"),
            include_str!("../../tests/fixtures/vapi/function-call.legacy.json"),
        ];
        let shapes = [
            json!({"message": {"type": "tool-calls", "toolCallList": [{"id": "a", "function": {"name": "book_appointment", "arguments": {"x": 1}}}]}}),
            json!({"message": {"type": "tool-calls", "call": {"id": "c1", "customer": {"number": "+14155550000"}}, "toolCallList": [{"id": "a", "function": {"name": "f", "arguments": "{\"x\": 1}"}}, {"id": "b", "name": "g", "parameters": {"y": 2}}]}}),
            json!({"message": {"type": "tool-calls", "customer": {"number": ""}, "call": {"id": "", "customer": {"number": "+14155550000"}}, "toolCallList": [{"id": "a", "function": {"name": null, "arguments": null}, "name": "n", "arguments": {"z": 3}}]}}),
            json!({"message": {"type": "tool-calls", "toolWithToolCallList": [{"toolCall": {"id": "a", "function": {"name": "book_appointment", "parameters": {"x": 1}}}}, {"name": "no call"}]}}),
            json!({"message": {"type": "tool-calls", "toolCalls": [{"id": "a", "function": {"name": "f", "arguments": "{not json"}}]}}),
            json!({"message": {"type": "tool-calls", "toolCallList": [{"id": "a", "function": {"name": "f", "arguments": "  "}}, {"id": "b", "function": {"name": "f", "arguments": 7}}]}}),
            json!({"message": {"type": "tool-calls"}}),
            json!({"message": {"type": "function-call", "call": {"id": "c9"}, "functionCall": {"name": "check_availability", "parameters": {"d": "x"}}}}),
            json!({"message": {"type": "function-call"}}),
        ];
        let mut bodies: Vec<String> = fixtures.iter().map(|f| f.to_string()).collect();
        bodies.extend(shapes.iter().map(|s| s.to_string()));
        for body in &bodies {
            let document: Value = serde_json::from_str(body).unwrap();
            let typed = read_tool_message(body.as_bytes()).expect("a tool message");
            assert_eq!(typed, read(&document).unwrap(), "{body}");
        }
        // Left to the document reader: other types, odd field types, no message, not JSON.
        for other in [
            json!({"message": {"type": "status-update", "status": "ended"}}).to_string(),
            include_str!("../../tests/fixtures/vapi/end-of-call-report.captured.json").to_string(),
            json!({"message": {"type": "tool-calls", "toolCallList": [{"id": 5}]}}).to_string(),
            json!({"message": {"type": "tool-calls", "call": "c1", "toolCallList": []}})
                .to_string(),
            json!({"nope": 1}).to_string(),
            "{\"message\": {\"type\": \"tool-calls\"}} trailing".to_string(),
            "not json".to_string(),
        ] {
            assert_eq!(read_tool_message(other.as_bytes()), None, "{other}");
        }
    }

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
