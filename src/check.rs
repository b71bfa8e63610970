//! `voxanne check`: the seeds' UAT run against a running appliance, as an installer runs it
//! after an install or an upgrade. It makes throwaway clinics through the admin socket,
//! drives the real HTTP API as Vapi and staff would, removes the clinics afterwards, and
//! decides GO or NO-GO on the seeds' criteria: booking success ≥ 95 %, tool-call p95 below
//! 500 ms, no 5xx at all, every cross-clinic attempt refused, a contested slot booked once.

use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{json, Value};

/// The scenarios, in the order they run.
pub const SCENARIOS: &[&str] = &[
    "basic",
    "concurrent",
    "isolation",
    "error-handling",
    "email",
    "followup",
    "kb",
];

#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub scenario: &'static str,
    pub name: String,
    pub ok: bool,
    pub ms: f64,
    /// Why a step failed (never a caller's data: the check makes up its own).
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub go: bool,
    pub reasons: Vec<String>,
    pub steps: Vec<Step>,
    pub tool_calls: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub bookings_expected: usize,
    pub bookings_made: usize,
    pub server_errors: usize,
    pub duration_s: f64,
}

struct Clinic {
    org: String,
    token: String,
    agent_key: String,
    provider: String,
    provider_name: String,
    service: String,
}

struct Checker {
    http: reqwest::Client,
    base: String,
    data_dir: std::path::PathBuf,
    steps: Vec<Step>,
    latencies: Vec<f64>,
    server_errors: usize,
    bookings_expected: usize,
    bookings_made: usize,
    orgs: Vec<String>,
    color: bool,
}

fn paint(color: bool, code: &str, text: &str) -> String {
    if color {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

impl Checker {
    fn record(
        &mut self,
        scenario: &'static str,
        name: &str,
        started: Instant,
        result: Result<(), String>,
    ) {
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        let ok = result.is_ok();
        let mark = if ok {
            paint(self.color, "32", "pass")
        } else {
            paint(self.color, "31", "FAIL")
        };
        eprintln!(
            "  [{mark}] {scenario}: {name} ({ms:.0} ms){}",
            result
                .as_ref()
                .err()
                .map(|e| format!(" — {e}"))
                .unwrap_or_default()
        );
        self.steps.push(Step {
            scenario,
            name: name.to_string(),
            ok,
            ms,
            detail: result.err(),
        });
    }

    async fn send(
        &mut self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Result<(u16, Value), String> {
        let mut r = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        if let Some(b) = body {
            r = r.json(&b);
        }
        let response = r.send().await.map_err(|e| format!("no answer: {e}"))?;
        let status = response.status().as_u16();
        if status >= 500 {
            self.server_errors += 1;
        }
        let body = response.json::<Value>().await.unwrap_or(Value::Null);
        Ok((status, body))
    }

    /// A staff read.
    async fn get(&mut self, path: &str, token: &str) -> Result<(u16, Value), String> {
        self.send(reqwest::Method::GET, path, Some(token), None)
            .await
    }

    /// One Vapi tool call; returns the result entry, timing it.
    async fn tool(
        &mut self,
        key: &str,
        call_id: &str,
        tool_id: &str,
        name: &str,
        args: Value,
    ) -> Result<Value, String> {
        let body = json!({"message": {
            "type": "tool-calls",
            "call": {"id": call_id, "customer": {"number": "+447700900123"}},
            "toolCallList": [{"id": tool_id, "type": "function", "function": {"name": name, "arguments": args}}],
        }});
        let started = Instant::now();
        let (status, answer) = self
            .send(
                reqwest::Method::POST,
                "/api/vapi/tools",
                Some(key),
                Some(body),
            )
            .await?;
        self.latencies
            .push(started.elapsed().as_secs_f64() * 1000.0);
        if status != 200 {
            return Err(format!("HTTP {status}"));
        }
        answer["results"][0]
            .as_object()
            .map(|o| Value::Object(o.clone()))
            .ok_or_else(|| "no result for the tool call".into())
    }

    async fn admin(&self, body: Value) -> Result<Value, String> {
        match crate::admin::request(&self.data_dir, &body).await {
            Some(Ok(v)) if v["ok"] == true => Ok(v),
            Some(Ok(v)) => Err(v["error"].as_str().unwrap_or("refused").to_string()),
            Some(Err(e)) => Err(e),
            None => Err(format!(
                "no appliance answers on {} (is it running on this data dir?)",
                crate::admin::socket_path(&self.data_dir).display()
            )),
        }
    }

    /// A throwaway clinic: made through the admin socket, set up over HTTP.
    async fn clinic(&mut self, label: &str) -> Result<Clinic, String> {
        let email = format!("check-{}@check.invalid", uuid::Uuid::new_v4().simple());
        let made = self
            .admin(json!({"command": "org_create", "name": format!("voxanne check {label}"), "email": email, "timezone": "Europe/London"}))
            .await?;
        let org = made["org_id"].as_str().unwrap_or_default().to_string();
        self.orgs.push(org.clone());
        let (_, login) = self
            .send(
                reqwest::Method::POST,
                "/api/auth/login",
                None,
                Some(json!({"email": email, "password": made["password"]})),
            )
            .await?;
        let token = login["access_token"]
            .as_str()
            .ok_or("the new admin could not sign in")?
            .to_string();
        let t = Some(token.as_str());
        let (status, _) = self
            .send(reqwest::Method::PUT, &format!("/api/orgs/{org}/settings"), t,
                Some(json!({"min_notice_minutes": 0, "horizon_days": 365, "slot_step_minutes": 30, "reminder_hours_before": 0})))
            .await?;
        if status != 200 {
            return Err(format!("settings: HTTP {status}"));
        }
        let (_, service) = self
            .send(reqwest::Method::POST, &format!("/api/orgs/{org}/services"), t,
                Some(json!({"name": "Check consultation", "duration_minutes": 30, "procedure": "rhinoplasty"})))
            .await?;
        let service = service["id"]
            .as_str()
            .ok_or("the service was not created")?
            .to_string();
        let week: serde_json::Map<String, Value> =
            ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
                .iter()
                .map(|d| (d.to_string(), json!([["09:00", "17:00"]])))
                .collect();
        let provider_name = format!("Dr Check {label}");
        let (_, provider) = self
            .send(
                reqwest::Method::POST,
                &format!("/api/orgs/{org}/providers"),
                t,
                Some(
                    json!({"name": provider_name, "service_ids": [service], "weekly_hours": week}),
                ),
            )
            .await?;
        let provider = provider["id"]
            .as_str()
            .ok_or("the provider was not created")?
            .to_string();
        let (_, key) = self
            .send(
                reqwest::Method::POST,
                &format!("/api/orgs/{org}/agent-keys"),
                t,
                Some(json!({"name": "voxanne check"})),
            )
            .await?;
        let agent_key = key["key"]
            .as_str()
            .ok_or("the agent key was not created")?
            .to_string();
        Ok(Clinic {
            org,
            token,
            agent_key,
            provider,
            provider_name,
            service,
        })
    }

    async fn basic(&mut self, a: &Clinic) {
        let started = Instant::now();
        let r = self
            .tool(
                &a.agent_key,
                "check-basic",
                "check-basic-1",
                "check_availability",
                json!({"appointment_date": "in 3 days", "service": "rhinoplasty"}),
            )
            .await
            .and_then(|r| {
                if r["result"].as_str().is_some_and(|s| s.contains("I have")) {
                    Ok(())
                } else {
                    Err(format!("no slots offered: {}", r["result"]))
                }
            });
        self.record(
            "basic",
            "the agent offers slots for \"in 3 days\"",
            started,
            r,
        );
        let started = Instant::now();
        self.bookings_expected += 1;
        let r = self
            .tool(&a.agent_key, "check-basic", "check-basic-2", "book_appointment",
                json!({"appointment_date": "in 3 days", "appointment_time": "2pm", "service": "rhinoplasty",
                       "provider_name": a.provider_name, "patient_name": "Check Patient"}))
            .await;
        let booked = match &r {
            Ok(v) if v["appointment_id"].is_string() => {
                self.bookings_made += 1;
                Ok(v["appointment_id"].as_str().unwrap_or_default().to_string())
            }
            Ok(v) => Err(format!("not booked: {}", v["result"])),
            Err(e) => Err(e.clone()),
        };
        self.record(
            "basic",
            "a booking in natural language (\"2pm in 3 days\")",
            started,
            booked.clone().map(|_| ()),
        );
        if let Ok(id) = booked {
            let started = Instant::now();
            let r = self
                .get(&format!("/api/orgs/{}/appointments/{id}", a.org), &a.token)
                .await
                .and_then(|(s, v)| {
                    if s == 200 && v["source"] == "vapi" {
                        Ok(())
                    } else {
                        Err(format!("HTTP {s}"))
                    }
                });
            self.record("basic", "staff see the booking", started, r);
        }
    }

    async fn concurrent(&mut self, a: &Clinic) {
        let started = Instant::now();
        let mut calls = Vec::new();
        for i in 0..5 {
            let body = json!({"message": {
                "type": "tool-calls",
                "call": {"id": format!("check-race-{i}"), "customer": {"number": format!("+44770090012{i}")}},
                "toolCallList": [{"id": format!("check-race-tool-{i}"), "type": "function", "function": {"name": "book_appointment",
                    "arguments": {"appointment_date": "in 4 days", "appointment_time": "10am", "service": "rhinoplasty",
                                  "provider_name": a.provider_name, "patient_name": format!("Racer {i}")}}}],
            }});
            let (http, url, key) = (
                self.http.clone(),
                format!("{}/api/vapi/tools", self.base),
                a.agent_key.clone(),
            );
            calls.push(tokio::spawn(async move {
                let t = Instant::now();
                let r = http.post(url).bearer_auth(key).json(&body).send().await;
                let ms = t.elapsed().as_secs_f64() * 1000.0;
                match r {
                    Ok(r) => (
                        r.status().as_u16(),
                        r.json::<Value>().await.unwrap_or(Value::Null),
                        ms,
                    ),
                    Err(_) => (0, Value::Null, ms),
                }
            }));
        }
        let mut booked = 0;
        let mut offered = 0;
        for c in calls {
            let Ok((status, answer, ms)) = c.await else {
                continue;
            };
            self.latencies.push(ms);
            if status >= 500 {
                self.server_errors += 1;
            }
            let result = &answer["results"][0];
            if result["appointment_id"].is_string() {
                booked += 1;
            } else if result["error"]
                .as_str()
                .or(result["result"].as_str())
                .is_some_and(|s| s.contains("was just taken. I can offer"))
            {
                offered += 1;
            }
        }
        self.bookings_expected += 1;
        self.bookings_made += booked.min(1);
        let r = if booked == 1 && offered == 4 {
            Ok(())
        } else {
            Err(format!(
                "{booked} booked and {offered} offered other times (expected 1 and 4)"
            ))
        };
        self.record(
            "concurrent",
            "5 callers for one slot: one booking, four offers",
            started,
            r,
        );
        let started = Instant::now();
        let r = self
            .get(
                &format!(
                    "/api/orgs/{}/appointments?provider_id={}",
                    a.org, a.provider
                ),
                &a.token,
            )
            .await
            .and_then(|(s, v)| {
                let at_ten = v["appointments"]
                    .as_array()
                    .map(|l| {
                        l.iter()
                            .filter(|x| {
                                x["start"].as_str().is_some_and(|t| t.contains("T10:00:00"))
                            })
                            .count()
                    })
                    .unwrap_or(0);
                if s == 200 && at_ten == 1 {
                    Ok(())
                } else {
                    Err(format!("{at_ten} appointments hold the slot"))
                }
            });
        self.record("concurrent", "atomicity: the slot is held once", started, r);
    }

    async fn isolation(&mut self, a: &Clinic, b: &Clinic) {
        let started = Instant::now();
        let (_, doc) = match self
            .send(reqwest::Method::GET, "/api/openapi.json", None, None)
            .await
        {
            Ok(d) => d,
            Err(e) => {
                self.record("isolation", "the API document is served", started, Err(e));
                return;
            }
        };
        let mut refused = 0;
        let mut attempted = 0;
        let mut leaks = Vec::new();
        let paths: Vec<(String, Vec<String>)> = doc["paths"]
            .as_object()
            .map(|p| {
                p.iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            v.as_object()
                                .map(|m| m.keys().cloned().collect())
                                .unwrap_or_default(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        for (template, methods) in paths {
            if !template.starts_with("/api/orgs/{org}") {
                continue;
            }
            let path: String = template
                .split('/')
                .skip(1)
                .map(|s| {
                    if s == "{org}" {
                        b.org.clone()
                    } else if s.starts_with('{') {
                        uuid::Uuid::new_v4().to_string()
                    } else {
                        s.to_string()
                    }
                })
                .fold(String::new(), |acc, s| format!("{acc}/{s}"));
            for m in methods {
                let Ok(method) = reqwest::Method::from_bytes(m.to_uppercase().as_bytes()) else {
                    continue;
                };
                let body = matches!(m.as_str(), "post" | "put" | "patch").then(|| json!({}));
                attempted += 1;
                if let Ok((status, answer)) = self.send(method, &path, Some(&a.token), body).await {
                    if status == 403 {
                        refused += 1;
                    } else {
                        leaks.push(format!("{} {template}: HTTP {status}", m.to_uppercase()));
                    }
                    if answer.to_string().contains(&b.provider) {
                        leaks.push(format!("{template} named the other clinic's record"));
                    }
                }
            }
        }
        let r = if leaks.is_empty() && attempted > 0 {
            Ok(())
        } else {
            Err(leaks.join("; "))
        };
        self.record(
            "isolation",
            &format!("{refused}/{attempted} cross-clinic requests refused"),
            started,
            r,
        );
        let started = Instant::now();
        let r = self
            .tool(&b.agent_key, "check-isolation", "check-isolation-1", "book_appointment",
                json!({"appointment_date": "in 5 days", "appointment_time": "11am", "service": "rhinoplasty",
                       "provider_name": a.provider_name, "patient_name": "Other Clinic", "clinic_id": a.org}))
            .await
            .and_then(|v| if v["appointment_id"].is_string() { Err("booked into another clinic".into()) } else { Ok(()) });
        self.record(
            "isolation",
            "an agent key cannot book into another clinic",
            started,
            r,
        );
    }

    async fn error_handling(&mut self, a: &Clinic) {
        let soon = (chrono::Utc::now() + chrono::Duration::days(5))
            .format("%Y-%m-%d")
            .to_string();
        let cases: Vec<(&str, reqwest::RequestBuilder, u16)> = vec![
            ("malformed JSON is 400", self.http.post(format!("{}/api/orgs/{}/appointments", self.base, a.org)).bearer_auth(&a.token).header("content-type", "application/json").body("{\"provider_id\":"), 400),
            ("an unknown provider is 404", self.http.post(format!("{}/api/orgs/{}/appointments", self.base, a.org)).bearer_auth(&a.token)
                .json(&json!({"provider_id": uuid::Uuid::new_v4(), "service_id": a.service, "date": soon, "time": "10:00", "patient": {"name": "X", "phone": "07700 900123"}})), 404),
            ("no credential is 401", self.http.get(format!("{}/api/orgs/{}/appointments", self.base, a.org)), 401),
            ("an out-of-range date is 422", self.http.post(format!("{}/api/orgs/{}/appointments", self.base, a.org)).bearer_auth(&a.token)
                .json(&json!({"provider_id": a.provider, "service_id": a.service, "date": "9999-12-31", "time": "10:00", "patient": {"name": "X", "phone": "07700 900123"}})), 422),
        ];
        for (name, request, expected) in cases {
            let started = Instant::now();
            let r = match request.send().await {
                Ok(r) => {
                    let status = r.status().as_u16();
                    if status >= 500 {
                        self.server_errors += 1;
                    }
                    let shaped = r
                        .json::<Value>()
                        .await
                        .is_ok_and(|b| b["error"].is_string() && b["message"].is_string());
                    if status == expected && shaped {
                        Ok(())
                    } else {
                        Err(format!("HTTP {status}"))
                    }
                }
                Err(e) => Err(format!("no answer: {e}")),
            };
            self.record("error-handling", name, started, r);
        }
        let started = Instant::now();
        let r = self
            .tool(
                &a.agent_key,
                "check-errors",
                "check-errors-1",
                "teleport_patient",
                json!({}),
            )
            .await
            .and_then(|v| {
                if v.get("error").is_some() {
                    Ok(())
                } else {
                    Err("an unknown tool was not refused".into())
                }
            });
        self.record(
            "error-handling",
            "an unknown tool gets a spoken refusal",
            started,
            r,
        );
    }

    async fn email(&mut self, a: &Clinic) {
        let started = Instant::now();
        let day = (chrono::Utc::now() + chrono::Duration::days(6))
            .format("%Y-%m-%d")
            .to_string();
        self.bookings_expected += 1;
        let booked = self
            .send(reqwest::Method::POST, &format!("/api/orgs/{}/appointments", a.org), Some(&a.token),
                Some(json!({"provider_id": a.provider, "service_id": a.service, "date": day, "time": "15:00",
                            "patient": {"name": "Check Patient", "phone": "07700 900123", "email": "patient@check.invalid"}})))
            .await;
        let token = match booked {
            Ok((201, v)) => {
                self.bookings_made += 1;
                Ok((
                    v["id"].as_str().unwrap_or_default().to_string(),
                    v["confirmation_token"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                ))
            }
            Ok((s, _)) => Err(format!("HTTP {s}")),
            Err(e) => Err(e),
        };
        let queued = match &token {
            Ok((id, _)) => self
                .get(&format!("/api/orgs/{}/outbox", a.org), &a.token)
                .await
                .and_then(|(_, v)| {
                    let found = v["jobs"].as_array().is_some_and(|jobs| {
                        jobs.iter().any(|j| {
                            j["kind"] == "confirmation_email" && j["appointment_id"] == id.as_str()
                        })
                    });
                    if found {
                        Ok(())
                    } else {
                        Err("no confirmation email queued".into())
                    }
                }),
            Err(e) => Err(e.clone()),
        };
        self.record(
            "email",
            "a booking with an email queues its confirmation",
            started,
            queued,
        );
        // Delivered, or at least not failing: with SMTP configured the job leaves the queue;
        // a job that has failed an attempt means the clinic's emails are not going out.
        if let Ok((id, _)) = &token {
            let started = Instant::now();
            let mut outcome =
                Err("the confirmation email is neither delivered nor tried".to_string());
            for _ in 0..20 {
                let jobs = self
                    .get(&format!("/api/orgs/{}/outbox", a.org), &a.token)
                    .await
                    .map(|(_, v)| v["jobs"].as_array().cloned().unwrap_or_default());
                let job = jobs.as_ref().ok().and_then(|jobs| {
                    jobs.iter()
                        .find(|j| {
                            j["kind"] == "confirmation_email" && j["appointment_id"] == id.as_str()
                        })
                        .cloned()
                });
                match job {
                    None => {
                        outcome = Ok(());
                        break;
                    }
                    Some(j) if j["attempts"].as_u64().unwrap_or(0) > 0 => {
                        outcome = Err(format!(
                            "the confirmation email could not be sent ({})",
                            j["last_error"].as_str().unwrap_or("no reason")
                        ));
                        break;
                    }
                    // Queued and never tried: SMTP is switched off on this install.
                    Some(_) => outcome = Ok(()),
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            self.record(
                "email",
                "the confirmation email is sent (or SMTP is off)",
                started,
                outcome,
            );
        }
        let started = Instant::now();
        let confirmed = match token {
            Ok((id, token)) => {
                let page = self
                    .http
                    .get(format!("{}/confirm/{token}", self.base))
                    .send()
                    .await;
                match page {
                    Ok(p) if p.status().as_u16() == 200 => self
                        .get(&format!("/api/orgs/{}/appointments/{id}", a.org), &a.token)
                        .await
                        .and_then(|(_, v)| {
                            if v["status"] == "confirmed" {
                                Ok(())
                            } else {
                                Err(format!("status {}", v["status"]))
                            }
                        }),
                    Ok(p) => Err(format!("HTTP {}", p.status().as_u16())),
                    Err(e) => Err(format!("no answer: {e}")),
                }
            }
            Err(e) => Err(e),
        };
        self.record(
            "email",
            "the confirmation link confirms",
            started,
            confirmed,
        );
    }

    async fn followup(&mut self, a: &Clinic) {
        let started = Instant::now();
        let report = json!({"message": {
            "type": "end-of-call-report",
            "endedReason": "customer-ended-call",
            "call": {"id": "check-followup"},
            "customer": {"number": "+447700900123", "name": "Check Caller"},
            "artifact": {"transcript": "AI: How can I help?\nUser: I'd like to know about rhinoplasty, I have to go.\nAI: Of course."},
        }});
        let r = match self
            .send(
                reqwest::Method::POST,
                "/api/vapi",
                Some(&a.agent_key),
                Some(report),
            )
            .await
        {
            Ok((200, _)) => self
                .get(&format!("/api/orgs/{}/followups", a.org), &a.token)
                .await
                .and_then(|(_, v)| {
                    let f = v["followups"]
                        .as_array()
                        .and_then(|l| l.iter().find(|f| f["call_id"] == "check-followup").cloned());
                    match f {
                        Some(f)
                            if f["procedure"] == "Rhinoplasty"
                                && f["body"]
                                    .as_str()
                                    .is_some_and(|b| b.contains("rhinoplasty-guide.pdf")) =>
                        {
                            Ok(())
                        }
                        Some(f) => Err(format!(
                            "the follow-up is not the rhinoplasty guide ({})",
                            f["status"]
                        )),
                        None => Err("no follow-up for a call that did not book".into()),
                    }
                }),
            Ok((s, _)) => Err(format!("HTTP {s}")),
            Err(e) => Err(e),
        };
        self.record(
            "followup",
            "a call that did not book gets the guide's text queued",
            started,
            r,
        );
    }

    async fn kb(&mut self, a: &Clinic) {
        let started = Instant::now();
        let (status, _) = self
            .send(reqwest::Method::POST, &format!("/api/orgs/{}/kb/documents", a.org), Some(&a.token),
                Some(json!({"title": "Check parking", "body": "Patients can park in the Marylebone check car park on level two, free for the first hour."})))
            .await
            .unwrap_or((0, Value::Null));
        let r = if status == 201 {
            Ok(())
        } else {
            Err(format!("HTTP {status}"))
        };
        self.record("kb", "a document is added", started, r);
        let started = Instant::now();
        let r = self
            .tool(
                &a.agent_key,
                "check-kb",
                "check-kb-1",
                "search_knowledge_base",
                json!({"query": "where can I park?"}),
            )
            .await
            .and_then(|v| {
                if v["answered"] == true
                    && v["result"]
                        .as_str()
                        .is_some_and(|s| s.contains("level two"))
                {
                    Ok(())
                } else {
                    Err(format!("not answered from the document: {}", v["result"]))
                }
            });
        self.record(
            "kb",
            "a question is answered from the clinic's own document",
            started,
            r,
        );
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Runs the scenarios against the appliance at `base` whose data dir is `data_dir`.
pub async fn run(base: &str, data_dir: &Path, scenarios: &[&str], color: bool) -> Report {
    let began = Instant::now();
    let mut c = Checker {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap_or_default(),
        base: base.trim_end_matches('/').to_string(),
        data_dir: data_dir.to_path_buf(),
        steps: Vec::new(),
        latencies: Vec::new(),
        server_errors: 0,
        bookings_expected: 0,
        bookings_made: 0,
        orgs: Vec::new(),
        color,
    };
    eprintln!(
        "{}",
        paint(color, "1", &format!("voxanne check against {}", c.base))
    );
    let started = Instant::now();
    let ready = c.send(reqwest::Method::GET, "/readyz", None, None).await;
    let ready_ok = matches!(ready, Ok((200, _)));
    c.record(
        "setup",
        "the appliance is ready",
        started,
        if ready_ok {
            Ok(())
        } else {
            Err(format!("{ready:?}"))
        },
    );
    let started = Instant::now();
    let clinics = match (c.clinic("A").await, c.clinic("B").await) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    c.record(
        "setup",
        "two throwaway clinics are made",
        started,
        clinics.as_ref().map(|_| ()).map_err(|e| e.clone()),
    );
    if let Ok((a, b)) = &clinics {
        for s in scenarios {
            match *s {
                "basic" => c.basic(a).await,
                "concurrent" => c.concurrent(a).await,
                "isolation" => c.isolation(a, b).await,
                "error-handling" => c.error_handling(a).await,
                "email" => c.email(a).await,
                "followup" => c.followup(a).await,
                "kb" => c.kb(a).await,
                _ => {}
            }
        }
    }
    for org in c.orgs.clone() {
        let started = Instant::now();
        let r = c
            .admin(json!({"command": "org_delete", "org": org}))
            .await
            .map(|_| ());
        c.record("cleanup", "a throwaway clinic is removed", started, r);
    }
    let mut sorted = c.latencies.clone();
    sorted.sort_by(f64::total_cmp);
    let (p50, p95) = (percentile(&sorted, 0.5), percentile(&sorted, 0.95));
    let mut reasons = Vec::new();
    let failed: Vec<String> = c
        .steps
        .iter()
        .filter(|s| !s.ok)
        .map(|s| format!("{}: {}", s.scenario, s.name))
        .collect();
    if !failed.is_empty() {
        reasons.push(format!("failed: {}", failed.join("; ")));
    }
    let success = if c.bookings_expected == 0 {
        1.0
    } else {
        c.bookings_made as f64 / c.bookings_expected as f64
    };
    if success < 0.95 {
        reasons.push(format!(
            "booking success {:.0} % (needs 95 %)",
            success * 100.0
        ));
    }
    if p95 >= 500.0 {
        reasons.push(format!("tool-call p95 {p95:.0} ms (needs < 500 ms)"));
    }
    if c.server_errors > 0 {
        reasons.push(format!("{} server error(s) (needs none)", c.server_errors));
    }
    let report = Report {
        go: reasons.is_empty(),
        reasons,
        steps: c.steps,
        tool_calls: sorted.len(),
        p50_ms: p50,
        p95_ms: p95,
        bookings_expected: c.bookings_expected,
        bookings_made: c.bookings_made,
        server_errors: c.server_errors,
        duration_s: began.elapsed().as_secs_f64(),
    };
    let passed = report.steps.iter().filter(|s| s.ok).count();
    eprintln!(
        "\n{} steps, {} passed; tool calls p50 {:.1} ms, p95 {:.1} ms; {} server errors; {:.1} s",
        report.steps.len(),
        passed,
        report.p50_ms,
        report.p95_ms,
        report.server_errors,
        report.duration_s
    );
    if report.go {
        eprintln!("{}", paint(color, "1;32", "GO: every check passed"));
    } else {
        eprintln!(
            "{}",
            paint(
                color,
                "1;31",
                &format!("NO-GO: {}", report.reasons.join(" | "))
            )
        );
    }
    report
}
