//! Scenario 1 (Identity Handshake): signup creates the org, the token carries `org_id`, the
//! profile is linked to the org, and the user sees their own org via `/api/me`.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

fn claims_of(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("JWT has a payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url payload");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

#[tokio::test]
async fn signup_creates_org_and_admin_whose_token_carries_the_org() {
    let app = spawn_app().await;
    let r = app
        .post(
            "/api/auth/signup",
            None,
            json!({"clinic_name": "Harley Aesthetics", "email": "Owner@Harley.example", "password": PASSWORD, "timezone": "Europe/London", "full_name": "Dr Owner"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    let claims = claims_of(body["access_token"].as_str().unwrap());
    assert_eq!(claims["org_id"], body["org_id"]);
    assert_eq!(claims["sub"], body["user_id"]);
    assert_eq!(claims["role"], "admin");
    assert_eq!(claims["iss"], "voxanne");
    for c in ["iat", "exp", "jti"] {
        assert!(!claims[c].is_null(), "claim {c} missing");
    }

    let me: Value = app
        .get("/api/me", body["access_token"].as_str())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["user_id"], body["user_id"]);
    assert_eq!(me["email"], "owner@harley.example");
    assert_eq!(me["full_name"], "Dr Owner");
    assert_eq!(me["role"], "admin");
    assert_eq!(me["org"]["id"], body["org_id"]);
    assert_eq!(me["org"]["name"], "Harley Aesthetics");
    assert_eq!(me["org"]["timezone"], "Europe/London");
}

#[tokio::test]
async fn login_returns_a_working_token_and_wrong_or_unknown_credentials_get_the_same_401() {
    let app = spawn_app().await;
    let clinic = app.signup("Clinic", "admin@clinic.example").await;

    let ok = app.login("ADMIN@clinic.example", PASSWORD).await;
    assert_eq!(ok.status(), StatusCode::OK);
    let ok: Value = ok.json().await.unwrap();
    assert_eq!(ok["org_id"], clinic.org_id.as_str());
    assert_eq!(ok["user_id"], clinic.user_id.as_str());
    let me = app.get("/api/me", ok["access_token"].as_str()).await;
    assert_eq!(me.status(), StatusCode::OK);

    let wrong = app.login("admin@clinic.example", "not the password").await;
    let unknown = app.login("nobody@clinic.example", "not the password").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    let wrong: Value = wrong.json().await.unwrap();
    let unknown: Value = unknown.json().await.unwrap();
    assert_eq!(wrong, unknown, "an unknown email must be indistinguishable");
}

#[tokio::test]
async fn a_duplicate_email_is_a_conflict_and_creates_nothing() {
    let app = spawn_app().await;
    let first = app.signup("First", "same@clinic.example").await;
    let r = app
        .post(
            "/api/auth/signup",
            None,
            json!({"clinic_name": "Second", "email": " SAME@clinic.example ", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(error_code(r).await, "conflict");
    // Still the first clinic's admin.
    let login: Value = app
        .login("same@clinic.example", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(login["org_id"], first.org_id.as_str());
}

#[tokio::test]
async fn signup_validation_names_each_bad_field() {
    let app = spawn_app().await;
    let r = app
        .post(
            "/api/auth/signup",
            None,
            json!({"clinic_name": "  ", "email": "not-an-email", "password": "short", "timezone": "Mars/Base"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid");
    let fields: Vec<&str> = body["details"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["clinic_name", "email", "password", "timezone"]);
    assert!(
        !body.to_string().contains("not-an-email"),
        "errors must not echo input"
    );
}

#[tokio::test]
async fn admin_adds_staff_and_clinicians_who_can_log_in() {
    let app = spawn_app().await;
    let clinic = app.signup("Clinic", "admin@clinic.example").await;
    for role in ["staff", "clinician", "admin"] {
        let (user_id, token) = app.add_user_token(&clinic, role).await;
        let me: Value = app.get("/api/me", Some(&token)).await.json().await.unwrap();
        assert_eq!(me["user_id"], user_id.as_str());
        assert_eq!(me["role"], role);
        assert_eq!(me["org"]["id"], clinic.org_id.as_str());
    }
    let bad_role = app
        .post(
            &format!("/api/orgs/{}/users", clinic.org_id),
            Some(&clinic.token),
            json!({"email": "x@clinic.example", "password": PASSWORD, "role": "agent"}),
        )
        .await;
    assert_eq!(bad_role.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let actions = app.audit_actions(&clinic).await;
    assert_eq!(actions.iter().filter(|a| *a == "user_added").count(), 3);
    assert_eq!(actions[0], "signup");
}

#[tokio::test]
async fn repeated_failed_logins_are_rate_limited_and_audited() {
    let app = spawn_app_with(|s| s.auth.login_max_failures_per_email = 3).await;
    let clinic = app.signup("Clinic", "admin@clinic.example").await;
    for _ in 0..3 {
        let r = app.login("admin@clinic.example", "wrong password!").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    // Locked now, even with the right password.
    let r = app.login("admin@clinic.example", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().get("retry-after").is_some());
    assert_eq!(error_code(r).await, "rate_limited");
    // Another account from elsewhere is unaffected by this email's lockout.
    let actions = app.audit_actions(&clinic).await;
    assert_eq!(actions.iter().filter(|a| *a == "login_failed").count(), 3);
    assert!(actions.contains(&"login_locked".to_string()));
    assert!(actions.contains(&"login_rate_limited".to_string()));
}

#[tokio::test]
async fn one_client_address_guessing_many_emails_is_rate_limited() {
    let app = spawn_app_with(|s| s.auth.login_max_failures_per_client = 4).await;
    for i in 0..4 {
        let r = app
            .login(&format!("guess{i}@clinic.example"), "whatever password")
            .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let r = app
        .login("guess-next@clinic.example", "whatever password")
        .await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
}
