//! `spawn_app` and typed helpers named after the operations the tests perform.

use std::path::{Path, PathBuf};

use reqwest::{Client, Method, Response, StatusCode};
use serde_json::{json, Value};
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use voxanne::config::Settings;
use voxanne::startup::Application;

pub const PASSWORD: &str = "correct horse battery staple";

pub struct TestApp {
    pub base: String,
    /// The running appliance's services (for tests that reach inside, e.g. fault injection).
    pub services: voxanne::startup::Services,
    pub client: Client,
    pub data_dir: PathBuf,
    _tmp: Option<TempDir>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
}

/// A signed-up clinic: its org, its admin and the admin's token.
#[derive(Debug, Clone)]
pub struct Clinic {
    pub org_id: String,
    pub user_id: String,
    pub email: String,
    pub token: String,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let tmp = TempDir::new().expect("temp dir");
    let dir = tmp.path().to_path_buf();
    let mut app = spawn_app_in(&dir, tweak).await;
    app._tmp = Some(tmp);
    app
}

/// Starts a server on an existing data dir (for restart tests).
pub async fn spawn_app_in(dir: &Path, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_in_with_clock(dir, voxanne::clock::system(), tweak).await
}

/// Starts a server whose every service reads `clock` (quiet hours, windows, reminders).
pub async fn spawn_app_with_clock(
    clock: voxanne::clock::Clock,
    tweak: impl FnOnce(&mut Settings),
) -> TestApp {
    let tmp = TempDir::new().expect("temp dir");
    let dir = tmp.path().to_path_buf();
    let mut app = spawn_app_in_with_clock(&dir, clock, tweak).await;
    app._tmp = Some(tmp);
    app
}

pub async fn spawn_app_in_with_clock(
    dir: &Path,
    clock: voxanne::clock::Clock,
    tweak: impl FnOnce(&mut Settings),
) -> TestApp {
    let mut settings = Settings::for_data_dir(dir);
    tweak(&mut settings);
    let app = Application::build_with_clock(settings, clock)
        .await
        .expect("app builds");
    let base = format!("http://{}", app.local_addr());
    let services = app.services().clone();
    let (tx, rx) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        app.run_until(async {
            let _ = rx.await;
        })
        .await
        .expect("server runs");
    });
    TestApp {
        base,
        services,
        client: Client::new(),
        data_dir: dir.to_path_buf(),
        _tmp: None,
        shutdown: Some(tx),
        server: Some(server),
    }
}

impl TestApp {
    /// Graceful shutdown; returns once the server (and its database) is closed.
    pub async fn stop(mut self) -> Option<TempDir> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.server.take() {
            h.await.expect("server task");
        }
        self._tmp.take()
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Response {
        let mut req = self
            .client
            .request(method, format!("{}{}", self.base, path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().await.expect("request sent")
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        self.request(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Response {
        self.request(Method::POST, path, token, Some(body)).await
    }

    pub async fn signup(&self, clinic_name: &str, email: &str) -> Clinic {
        let r = self
            .post(
                "/api/auth/signup",
                None,
                json!({"clinic_name": clinic_name, "email": email, "password": PASSWORD, "timezone": "Europe/London", "full_name": "Dr Admin"}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let b: Value = r.json().await.unwrap();
        Clinic {
            org_id: b["org_id"].as_str().unwrap().to_string(),
            user_id: b["user_id"].as_str().unwrap().to_string(),
            email: email.to_string(),
            token: b["access_token"].as_str().unwrap().to_string(),
        }
    }

    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.post(
            "/api/auth/login",
            None,
            json!({"email": email, "password": password}),
        )
        .await
    }

    /// Adds a user with `role` to the clinic and returns their id and a token of theirs.
    pub async fn add_user_token(&self, clinic: &Clinic, role: &str) -> (String, String) {
        let email = format!(
            "{role}-{}@{}",
            uuid::Uuid::new_v4().simple(),
            "clinic.example"
        );
        self.add_user(clinic, role, &email).await
    }

    /// Adds a user with `role` and `email` (password `PASSWORD`) to the clinic and returns
    /// their id and a token of theirs.
    pub async fn add_user(&self, clinic: &Clinic, role: &str, email: &str) -> (String, String) {
        let r = self
            .post(
                &format!("/api/orgs/{}/users", clinic.org_id),
                Some(&clinic.token),
                json!({"email": email, "password": PASSWORD, "role": role}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let user_id = r.json::<Value>().await.unwrap()["user_id"]
            .as_str()
            .unwrap()
            .to_string();
        let login: Value = self.login(email, PASSWORD).await.json().await.unwrap();
        (user_id, login["access_token"].as_str().unwrap().to_string())
    }

    pub async fn create_agent_key(&self, clinic: &Clinic) -> (String, String) {
        let r = self
            .post(
                &format!("/api/orgs/{}/agent-keys", clinic.org_id),
                Some(&clinic.token),
                json!({"name": "vapi"}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let b: Value = r.json().await.unwrap();
        (
            b["id"].as_str().unwrap().to_string(),
            b["key"].as_str().unwrap().to_string(),
        )
    }

    /// What `GET …/audit/verify` says of the clinic's chain.
    pub async fn audit_verify(&self, clinic: &Clinic) -> Value {
        self.get(
            &format!("/api/orgs/{}/audit/verify", clinic.org_id),
            Some(&clinic.token),
        )
        .await
        .json()
        .await
        .unwrap()
    }

    /// The clinic's outbox jobs (`GET …/outbox`).
    pub async fn outbox_jobs(&self, clinic: &Clinic) -> Vec<Value> {
        let r: Value = self
            .get(
                &format!("/api/orgs/{}/outbox", clinic.org_id),
                Some(&clinic.token),
            )
            .await
            .json()
            .await
            .unwrap();
        r["jobs"].as_array().unwrap().clone()
    }

    /// The actions of the clinic's audit chain, in order.
    pub async fn audit_actions(&self, clinic: &Clinic) -> Vec<String> {
        self.audit_entries(clinic)
            .await
            .iter()
            .map(|e| e["action"].as_str().unwrap().to_string())
            .collect()
    }

    pub async fn audit_entries(&self, clinic: &Clinic) -> Vec<Value> {
        let r = self
            .get(
                &format!("/api/orgs/{}/audit?limit=1000", clinic.org_id),
                Some(&clinic.token),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        r.json::<Value>().await.unwrap()["entries"]
            .as_array()
            .unwrap()
            .clone()
    }
}

/// Reads an error answer and checks it has the one JSON shape; returns its code.
pub async fn error_code(r: Response) -> String {
    let body: Value = r.json().await.expect("error bodies are JSON");
    assert!(
        body["message"].is_string(),
        "error body without message: {body}"
    );
    body["error"].as_str().expect("error code").to_string()
}

pub fn voxanne_bin() -> &'static str {
    env!("CARGO_BIN_EXE_voxanne")
}

/// A clinic ready to book: one 30-minute consultation, Dr Smith and Dr Patel working
/// 09:00–17:00 every day (lunch 12:00–13:00), no minimum notice, a year's horizon.
#[derive(Debug, Clone)]
pub struct BookableClinic {
    pub clinic: Clinic,
    pub service_id: String,
    pub smith: String,
    pub patel: String,
    pub agent_key: String,
}

/// A date `days` days from today in the test clinics' zone (Europe/London, as `signup` makes
/// them), as YYYY-MM-DD: the clinic's today, not UTC's, so the suite passes at any hour.
pub fn date_in(days: i64) -> String {
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::London)
        .date_naive();
    (today + chrono::Duration::days(days))
        .format("%Y-%m-%d")
        .to_string()
}

/// The instant (RFC 3339, UTC) of `time` on `date` on the test clinics' clock (Europe/London),
/// for requests that take instants (time off) beside ones that take the clinic's local times.
pub fn clinic_instant(date: &str, time: &str) -> String {
    let date = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap();
    let time = chrono::NaiveTime::parse_from_str(time, "%H:%M").unwrap();
    voxanne::booking::local_instant(chrono_tz::Europe::London, date, time)
        .unwrap()
        .to_rfc3339()
}

impl TestApp {
    pub async fn bookable_clinic(&self, name: &str) -> BookableClinic {
        let email = format!("admin-{}@clinic.example", uuid::Uuid::new_v4().simple());
        let clinic = self.signup(name, &email).await;
        let org = clinic.org_id.clone();
        let t = Some(clinic.token.as_str());
        let r = self
            .request(Method::PUT, &format!("/api/orgs/{org}/settings"), t, Some(json!({"min_notice_minutes": 0, "horizon_days": 365, "slot_step_minutes": 30, "phone_region": "GB"})))
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        let r = self
            .post(&format!("/api/orgs/{org}/services"), t, json!({"name": "Rhinoplasty consultation", "duration_minutes": 30, "procedure": "rhinoplasty"}))
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let service_id = r.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let week: serde_json::Map<String, Value> =
            ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
                .iter()
                .map(|d| (d.to_string(), json!([["09:00", "17:00"]])))
                .collect();
        let lunch: serde_json::Map<String, Value> = week
            .keys()
            .map(|d| (d.clone(), json!([["12:00", "13:00"]])))
            .collect();
        let mut ids = Vec::new();
        for doctor in ["Dr Smith", "Dr Patel"] {
            let r = self
                .post(&format!("/api/orgs/{org}/providers"), t, json!({"name": doctor, "service_ids": [service_id], "weekly_hours": week, "breaks": lunch}))
                .await;
            assert_eq!(r.status(), StatusCode::CREATED);
            ids.push(
                r.json::<Value>().await.unwrap()["id"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            );
        }
        let (_, agent_key) = self.create_agent_key(&clinic).await;
        BookableClinic {
            clinic,
            service_id,
            smith: ids[0].clone(),
            patel: ids[1].clone(),
            agent_key,
        }
    }

    /// Books over the staff REST API.
    pub async fn book_via_rest(
        &self,
        c: &BookableClinic,
        provider: &str,
        date: &str,
        time: &str,
        end_time: Option<&str>,
    ) -> Response {
        let mut body = json!({
            "provider_id": provider, "service_id": c.service_id, "date": date, "time": time,
            "patient": {"name": "Jane Doe", "phone": "07911 123456", "email": "jane@patient.example"},
            "notes": "first consultation",
        });
        if let Some(end) = end_time {
            body["start"] = json!(format!("{date}T{time}:00+00:00"));
            body["end"] = json!(format!("{date}T{end}:00+00:00"));
            body.as_object_mut().unwrap().remove("service_id");
        }
        self.post(
            &format!("/api/orgs/{}/appointments", c.clinic.org_id),
            Some(&c.clinic.token),
            body,
        )
        .await
    }

    /// Sends one Vapi tool call and returns the single `results[]` entry.
    pub async fn vapi_tool(
        &self,
        key: &str,
        call_id: &str,
        tool_call_id: &str,
        name: &str,
        arguments: Value,
    ) -> Value {
        self.vapi_tool_from(key, "+447911123456", call_id, tool_call_id, name, arguments)
            .await
    }

    /// As `vapi_tool`, from a caller whose number the network presents as `caller_number`.
    pub async fn vapi_tool_from(
        &self,
        key: &str,
        caller_number: &str,
        call_id: &str,
        tool_call_id: &str,
        name: &str,
        arguments: Value,
    ) -> Value {
        let body = json!({"message": {
            "type": "tool-calls",
            "call": {"id": call_id, "customer": {"number": caller_number}},
            "customer": {"number": caller_number},
            "toolCallList": [{"id": tool_call_id, "type": "function", "function": {"name": name, "arguments": arguments}}],
        }});
        let r = self.post("/api/vapi/tools", Some(key), body).await;
        assert_eq!(r.status(), StatusCode::OK);
        let v: Value = r.json().await.unwrap();
        let results = v["results"].as_array().expect("results array");
        assert_eq!(results.len(), 1);
        assert_eq!(results[0]["toolCallId"], tool_call_id);
        results[0].clone()
    }

    /// One appointment as staff read it (`GET /api/orgs/{org}/appointments/{id}`).
    pub async fn appointment(&self, c: &BookableClinic, id: &str) -> Value {
        let r = self
            .get(
                &format!("/api/orgs/{}/appointments/{id}", c.clinic.org_id),
                Some(&c.clinic.token),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        r.json().await.unwrap()
    }

    pub async fn appointments(&self, c: &BookableClinic) -> Vec<Value> {
        self.org_list(c, "appointments").await
    }

    /// A list of the clinic's as staff read it: `GET /api/orgs/{org}/{what}`, whose answer
    /// holds the list under the same name (`waitlist` answers `entries`).
    pub async fn org_list(&self, c: &BookableClinic, what: &str) -> Vec<Value> {
        let r = self
            .get(
                &format!("/api/orgs/{}/{what}", c.clinic.org_id),
                Some(&c.clinic.token),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK, "{what}");
        let key = if what == "waitlist" { "entries" } else { what };
        r.json::<Value>().await.unwrap()[key]
            .as_array()
            .unwrap()
            .clone()
    }

    /// Reads the clinic's settings, changes them with `edit` and puts them back; the status.
    pub async fn change_settings(
        &self,
        c: &BookableClinic,
        edit: impl FnOnce(&mut Value),
    ) -> StatusCode {
        let path = format!("/api/orgs/{}/settings", c.clinic.org_id);
        let mut settings: Value = self
            .get(&path, Some(&c.clinic.token))
            .await
            .json()
            .await
            .unwrap();
        edit(&mut settings);
        self.request(Method::PUT, &path, Some(&c.clinic.token), Some(settings))
            .await
            .status()
    }
}

/// The sentence of a tool answer (`result`, or `error` for a refusal).
pub fn said(answer: &Value) -> String {
    answer["result"]
        .as_str()
        .or(answer["error"].as_str())
        .unwrap_or_default()
        .to_string()
}
