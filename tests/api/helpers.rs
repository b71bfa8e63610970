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
    let mut settings = Settings::for_data_dir(dir);
    tweak(&mut settings);
    let app = Application::build(settings).await.expect("app builds");
    let base = format!("http://{}", app.local_addr());
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

    /// Adds a user with `role` to the clinic and returns a token of theirs.
    pub async fn add_user_token(&self, clinic: &Clinic, role: &str) -> (String, String) {
        let email = format!(
            "{role}-{}@{}",
            uuid::Uuid::new_v4().simple(),
            "clinic.example"
        );
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
        let login: Value = self.login(&email, PASSWORD).await.json().await.unwrap();
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
