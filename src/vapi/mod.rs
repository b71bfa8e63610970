//! The voice agent's side of the appliance: reads Vapi server messages, runs the tools the
//! assistant calls against the clinic's booking service, and answers each call with one
//! speakable sentence (plus structured fields), never an HTTP error.

pub mod envelope;
mod existing;
mod holds;
mod tools;
pub mod verification;
mod waitlist;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use crate::auth::Caller;
use crate::booking::BookingService;
use crate::domain::OrgId;
use envelope::{ServerMessage, ToolCall};

/// A tool's answer: a sentence for the caller (`result`) or for a failure (`error`), plus
/// fields for the assistant and the logs.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolAnswer {
    pub ok: bool,
    pub sentence: String,
    pub fields: serde_json::Map<String, Value>,
}

impl ToolAnswer {
    pub fn ok(sentence: impl Into<String>) -> Self {
        Self {
            ok: true,
            sentence: one_line(sentence.into()),
            fields: Default::default(),
        }
    }
    pub fn error(sentence: impl Into<String>) -> Self {
        Self {
            ok: false,
            sentence: one_line(sentence.into()),
            fields: Default::default(),
        }
    }
    pub fn with(mut self, key: &str, value: Value) -> Self {
        self.fields.insert(key.to_string(), value);
        self
    }

    fn to_result(&self, call: &ToolCall) -> Value {
        let mut entry = json!({"name": call.name, "toolCallId": call.id});
        entry[if self.ok { "result" } else { "error" }] = Value::String(self.sentence.clone());
        for (k, v) in &self.fields {
            entry[k] = v.clone();
        }
        entry
    }
}

/// Vapi shows `result`/`error` to the model as one line.
fn one_line(s: String) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Remembers recent answers by (org, toolCallId) so a redelivered call gets the same answer.
/// Changes are also idempotent in the booking ledger itself, which survives restarts.
struct AnswerMemory {
    capacity: usize,
    order: VecDeque<(OrgId, String)>,
    answers: HashMap<(OrgId, String), ToolAnswer>,
}

impl AnswerMemory {
    fn get(&self, key: &(OrgId, String)) -> Option<ToolAnswer> {
        self.answers.get(key).cloned()
    }
    fn put(&mut self, key: (OrgId, String), answer: ToolAnswer) {
        if self.answers.insert(key.clone(), answer).is_none() {
            self.order.push_back(key);
            while self.order.len() > self.capacity {
                if let Some(old) = self.order.pop_front() {
                    self.answers.remove(&old);
                }
            }
        }
    }
}

pub struct VoiceAgent {
    booking: Arc<BookingService>,
    calls: Arc<crate::calls::CallService>,
    kb: Arc<crate::search::KnowledgeBase>,
    followups: Arc<crate::followup::FollowUpService>,
    waitlist: Arc<crate::waitlist::WaitlistService>,
    memory: Mutex<AnswerMemory>,
    /// Who has proved what on each call in progress, and how codes are texted.
    verifier: verification::Verifier,
}

impl VoiceAgent {
    pub fn new(
        booking: Arc<BookingService>,
        calls: Arc<crate::calls::CallService>,
        kb: Arc<crate::search::KnowledgeBase>,
        followups: Arc<crate::followup::FollowUpService>,
        waitlist: Arc<crate::waitlist::WaitlistService>,
        texter: Option<verification::CodeTexter>,
    ) -> Self {
        Self {
            booking,
            calls,
            kb,
            followups,
            waitlist,
            memory: Mutex::new(AnswerMemory {
                capacity: 10_000,
                order: VecDeque::new(),
                answers: HashMap::new(),
            }),
            verifier: verification::Verifier {
                checks: Mutex::new(verification::CallChecks::default()),
                texter,
            },
        }
    }

    /// A call has ended: what its caller proved is forgotten and the time it held, if any,
    /// is free again.
    pub async fn call_over(&self, org: OrgId, call_id: &str) {
        self.verifier
            .checks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .forget(org, call_id);
        if let Err(e) = self.booking.release_hold(org, call_id).await {
            // The hold still lapses on its own at its time.
            tracing::warn!(error = %e, "releasing an ended call's hold failed");
        }
    }

    /// Answers one server message. `Err` only when the body is not a server message at all.
    pub async fn handle(&self, caller: Caller, envelope: &Value) -> Result<Value, &'static str> {
        match envelope::read(envelope)? {
            ServerMessage::Other { kind } if kind == "end-of-call-report" => {
                let message = envelope.get("message").cloned().unwrap_or_default();
                let report = crate::calls::CallReport::read(&message)
                    .map_err(|_| "the end-of-call report has no call id")?;
                let region = self
                    .booking
                    .settings(caller.org)
                    .await
                    .map(|s| s.phone_region)
                    .unwrap_or_else(|_| "GB".into());
                let ended = crate::followup::CallEnded {
                    call_id: report.call_id.clone(),
                    caller_number: report.customer_number.clone(),
                    caller_name: report.customer_name.clone(),
                    keyword: procedure_in(&message),
                    transcript: Some(report.transcript.clone()).filter(|t| !t.is_empty()),
                };
                self.call_over(caller.org, &report.call_id).await;
                if let Err(e) = self.calls.ingest(caller.org, report, &region).await {
                    tracing::error!(error = %e, "filing a call failed");
                    return Err("the call could not be filed; please deliver it again");
                }
                self.follow_up(caller, ended).await
            }
            ServerMessage::Other { kind } if kind == "status-update" => {
                let message = envelope.get("message").cloned().unwrap_or_default();
                let ended = message.get("status").and_then(Value::as_str) == Some("ended");
                let call_id = message.pointer("/call/id").and_then(Value::as_str);
                match (ended, call_id) {
                    (true, Some(call_id)) if !call_id.is_empty() => {
                        self.call_over(caller.org, call_id).await;
                        let number = message
                            .pointer("/customer/number")
                            .or_else(|| message.pointer("/call/customer/number"))
                            .and_then(Value::as_str)
                            .map(str::to_string);
                        self.follow_up(
                            caller,
                            crate::followup::CallEnded {
                                call_id: call_id.to_string(),
                                caller_number: number,
                                ..Default::default()
                            },
                        )
                        .await
                    }
                    _ => Ok(json!({})),
                }
            }
            message => Ok(self.handle_read(caller, message).await),
        }
    }

    /// The after-call rule for a call that ended (lead, and a follow-up text when the
    /// procedure is known and nothing was booked).
    pub async fn follow_up(
        &self,
        caller: Caller,
        ended: crate::followup::CallEnded,
    ) -> Result<Value, &'static str> {
        match self.followups.call_ended(caller.org, ended).await {
            Ok(_) => Ok(json!({})),
            Err(e) => {
                tracing::error!(error = %e, "the after-call follow-up failed");
                Err("the end of the call could not be filed; please deliver it again")
            }
        }
    }

    /// Answers a server message that has been read (`envelope::read_tool_message` reads tool
    /// calls straight from the body): one result per tool call, `{"result": …}` for the legacy
    /// shape, `{}` for any other type.
    pub async fn handle_read(&self, caller: Caller, message: ServerMessage) -> Value {
        match message {
            ServerMessage::ToolCalls { calls, call } => {
                let mut results = Vec::with_capacity(calls.len());
                for tool in &calls {
                    let answer = self.answer(caller, tool, &call).await;
                    results.push(answer.to_result(tool));
                }
                json!({ "results": results })
            }
            ServerMessage::FunctionCall { tool, call } => {
                let answer = self.answer(caller, &tool, &call).await;
                json!({ "result": answer.sentence })
            }
            ServerMessage::Other { .. } => json!({}),
        }
    }

    async fn answer(
        &self,
        caller: Caller,
        tool: &ToolCall,
        call: &envelope::CallContext,
    ) -> ToolAnswer {
        let key = (caller.org, tool.id.clone());
        if !tool.id.is_empty() {
            let remembered = self
                .memory
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(&key);
            if let Some(a) = remembered {
                return a;
            }
        }
        let started = std::time::Instant::now();
        let answer = tools::run(self, caller, tool, call).await;
        metrics::histogram!(
            crate::metrics::TOOL_CALL,
            "tool" => crate::metrics::tool_label(&tool.name),
            "outcome" => if answer.ok { "ok" } else { "error" },
        )
        .record(started.elapsed().as_secs_f64());
        if !tool.id.is_empty() {
            self.memory
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .put(key, answer.clone());
        }
        answer
    }
}

/// The procedure the assistant's analysis named (`analysis.structuredData.procedure`, or
/// `keyword`, `treatment`, `procedureOfInterest`), if any.
fn procedure_in(message: &Value) -> Option<String> {
    let data = message.pointer("/analysis/structuredData")?;
    ["procedure", "keyword", "treatment", "procedureOfInterest"]
        .iter()
        .find_map(|k| data.get(*k).and_then(Value::as_str))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}
