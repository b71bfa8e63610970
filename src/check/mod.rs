//! `voxanne check`: the seeds' UAT run against a running appliance, as an installer runs it
//! after an install or an upgrade. It makes throwaway clinics through the admin socket,
//! drives the real HTTP API as Vapi and staff would, removes the clinics afterwards, and
//! decides GO or NO-GO: every step passed, no 5xx at all, and the booking success and
//! tool-call p95 of `[check]` (the seeds' ≥ 95 % and < 500 ms by default).

mod booking;
mod errors;
mod isolation;
mod kb;
mod messages;

use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{json, Value};

use crate::config::Settings;

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
    /// Whether the appliance sends email (its `/readyz` says): only then is delivery awaited.
    smtp_on: bool,
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
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Runs the scenarios against the appliance at `base` configured by `settings` (its data
/// dir and the `[check]` criteria for GO).
pub async fn run(base: &str, settings: &Settings, scenarios: &[&str], color: bool) -> Report {
    let criteria = &settings.check;
    let began = Instant::now();
    let mut c = Checker {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap_or_default(),
        base: base.trim_end_matches('/').to_string(),
        data_dir: settings.storage.data_dir.clone(),
        steps: Vec::new(),
        latencies: Vec::new(),
        server_errors: 0,
        bookings_expected: 0,
        bookings_made: 0,
        orgs: Vec::new(),
        color,
        smtp_on: false,
    };
    eprintln!(
        "{}",
        paint(color, "1", &format!("voxanne check against {}", c.base))
    );
    let started = Instant::now();
    let ready = c.send(reqwest::Method::GET, "/readyz", None, None).await;
    let ready_ok = matches!(ready, Ok((200, _)));
    // The appliance says whether it sends email; only then is a delivery awaited.
    c.smtp_on = matches!(&ready, Ok((_, v)) if v["deliveries"]["email"] == true);
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
    if success < criteria.min_booking_success {
        reasons.push(format!(
            "booking success {:.0} % (needs {} %)",
            success * 100.0,
            criteria.min_booking_success * 100.0
        ));
    }
    if p95 >= criteria.max_tool_call_p95_ms {
        reasons.push(format!(
            "tool-call p95 {p95:.0} ms (needs < {} ms)",
            criteria.max_tool_call_p95_ms
        ));
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
