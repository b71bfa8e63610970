//! Forged, expired and stale credentials are refused with 401; agent keys work on the voice
//! agent routes, as Bearer or `X-Vapi-Secret`, until revoked.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

fn signing_key(app: &TestApp) -> Vec<u8> {
    let text = std::fs::read_to_string(app.data_dir.join("keys/jwt-signing.key")).unwrap();
    hex::decode(text.trim()).unwrap()
}

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

fn claims(clinic: &Clinic, iss: &str, exp: u64) -> Value {
    json!({"sub": clinic.user_id, "org_id": clinic.org_id, "role": "admin", "iat": now(), "exp": exp, "iss": iss, "jti": "t"})
}

fn sign(alg: Algorithm, key: &[u8], claims: &Value) -> String {
    jsonwebtoken::encode(&Header::new(alg), claims, &EncodingKey::from_secret(key)).unwrap()
}

async fn me_status(app: &TestApp, token: &str) -> StatusCode {
    app.get("/api/me", Some(token)).await.status()
}

#[tokio::test]
async fn every_forged_or_stale_token_is_refused_with_401() {
    let app = spawn_app().await;
    let clinic = app.signup("Clinic", "admin@clinic.example").await;
    let key = signing_key(&app);
    assert_eq!(
        me_status(
            &app,
            &sign(
                Algorithm::HS256,
                &key,
                &claims(&clinic, "voxanne", now() + 600)
            )
        )
        .await,
        StatusCode::OK
    );

    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims(&clinic, "voxanne", now() + 600).to_string())
    );
    let forged = [
        ("alg none", unsigned),
        (
            "another algorithm",
            sign(
                Algorithm::HS512,
                &key,
                &claims(&clinic, "voxanne", now() + 600),
            ),
        ),
        (
            "bad signature",
            sign(
                Algorithm::HS256,
                b"some other install's key, 32 bytes+",
                &claims(&clinic, "voxanne", now() + 600),
            ),
        ),
        (
            "wrong issuer",
            sign(
                Algorithm::HS256,
                &key,
                &claims(&clinic, "someone-else", now() + 600),
            ),
        ),
        (
            "expired",
            sign(
                Algorithm::HS256,
                &key,
                &claims(&clinic, "voxanne", now() - 3600),
            ),
        ),
        ("garbage", "not.a.jwt".to_string()),
    ];
    for (case, token) in forged {
        let r = app.get("/api/me", Some(&token)).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{case}");
        assert_eq!(error_code(r).await, "unauthorized", "{case}");
    }
    let none = app.get("/api/me", None).await;
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_deleted_users_token_stops_working_at_once() {
    let app = spawn_app().await;
    let clinic = app.signup("Clinic", "admin@clinic.example").await;
    let (user_id, token) = app.add_user_token(&clinic, "staff").await;
    assert_eq!(me_status(&app, &token).await, StatusCode::OK);
    let r = app
        .request(
            reqwest::Method::DELETE,
            &format!("/api/orgs/{}/users/{user_id}", clinic.org_id),
            Some(&clinic.token),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(me_status(&app, &token).await, StatusCode::UNAUTHORIZED);
}

async fn vapi_status(app: &TestApp, header: (&str, String)) -> StatusCode {
    app.client
        .post(format!("{}/api/vapi/tools", app.base))
        .header(header.0, header.1)
        .json(&json!({"message": {"type": "status-update", "status": "in-progress"}}))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn agent_keys_work_as_bearer_or_vapi_secret_until_revoked() {
    let app = spawn_app().await;
    let clinic = app.signup("Clinic", "admin@clinic.example").await;
    let (key_id, key) = app.create_agent_key(&clinic).await;
    assert!(key.starts_with("vxk_") && key.len() > 40);

    assert_eq!(
        vapi_status(&app, ("authorization", format!("Bearer {key}"))).await,
        StatusCode::OK
    );
    assert_eq!(
        vapi_status(&app, ("x-vapi-secret", key.clone())).await,
        StatusCode::OK
    );
    assert_eq!(
        vapi_status(&app, ("x-vapi-secret", format!("{key}x"))).await,
        StatusCode::UNAUTHORIZED
    );
    let none = app
        .post(
            "/api/vapi/tools",
            None,
            json!({"message": {"type": "status-update"}}),
        )
        .await;
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);

    // The key is shown once: listing shows its name, never the key.
    let listed = app
        .get(
            &format!("/api/orgs/{}/agent-keys", clinic.org_id),
            Some(&clinic.token),
        )
        .await;
    let listed = listed.text().await.unwrap();
    assert!(listed.contains(&key_id) && !listed.contains(&key));

    let r = app
        .request(
            reqwest::Method::DELETE,
            &format!("/api/orgs/{}/agent-keys/{key_id}", clinic.org_id),
            Some(&clinic.token),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        vapi_status(&app, ("authorization", format!("Bearer {key}"))).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        vapi_status(&app, ("x-vapi-secret", key)).await,
        StatusCode::UNAUTHORIZED
    );

    let actions = app.audit_actions(&clinic).await;
    assert!(
        actions.contains(&"agent_key_created".into())
            && actions.contains(&"agent_key_revoked".into())
    );
}

#[tokio::test]
async fn the_key_file_is_private_and_unique_per_install() {
    let a = spawn_app().await;
    let b = spawn_app().await;
    assert_ne!(signing_key(&a), signing_key(&b));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(a.data_dir.join("keys/jwt-signing.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // A token of install A means nothing to install B, even for the same ids.
    let clinic = a.signup("Clinic", "admin@clinic.example").await;
    assert_eq!(me_status(&b, &clinic.token).await, StatusCode::UNAUTHORIZED);
}
