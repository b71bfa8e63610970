//! Data and the signing key survive a restart on the same data dir.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

#[tokio::test]
async fn data_tokens_and_keys_survive_a_restart() {
    let app = spawn_app().await;
    let clinic = app.signup("Clinic", "admin@clinic.example").await;
    let (_, agent_key) = app.create_agent_key(&clinic).await;
    let key_file = app.data_dir.join("keys/jwt-signing.key");
    let key_before = std::fs::read(&key_file).unwrap();
    let tmp = app.stop().await.unwrap();

    let app = spawn_app_in(tmp.path(), |_| {}).await;
    assert_eq!(
        std::fs::read(&key_file).unwrap(),
        key_before,
        "signing key unchanged"
    );
    // The token issued before the restart still works, as does the agent key.
    let me: Value = app
        .get("/api/me", Some(&clinic.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["org"]["id"], clinic.org_id.as_str());
    assert_eq!(
        app.login(&clinic.email, PASSWORD).await.status(),
        StatusCode::OK
    );
    let r = app
        .client
        .post(format!("{}/api/vapi", app.base))
        .header("x-vapi-secret", &agent_key)
        .json(&json!({"message": {"type": "status-update"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v = app.audit_verify(&clinic).await;
    assert_eq!(v["ok"], true);
    app.stop().await;
    drop(tmp);
}

#[tokio::test]
async fn a_second_server_on_the_same_data_dir_refuses_to_start() {
    let app = spawn_app().await;
    let settings = voxanne::config::Settings::for_data_dir(&app.data_dir);
    let second = voxanne::startup::Application::build(settings).await;
    let err = second.err().expect("second open refused").to_string();
    assert!(err.contains("in use"), "{err}");
}
