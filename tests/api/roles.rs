//! Each route admits only the roles it declares; the others get 403 `forbidden`.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn each_route_admits_only_its_roles() {
    let app = spawn_app().await;
    let clinic = app.signup("Clinic", "admin@clinic.example").await;
    let (_, staff) = app.add_user_token(&clinic, "staff").await;
    let (_, clinician) = app.add_user_token(&clinic, "clinician").await;
    let (_, agent) = app.create_agent_key(&clinic).await;
    let org = &clinic.org_id;
    let new_user = || json!({"email": format!("u{}@clinic.example", uuid::Uuid::new_v4().simple()), "password": PASSWORD, "role": "staff"});

    // (method, path, body, roles admitted)
    let routes: Vec<(Method, String, Option<serde_json::Value>, &[&str])> = vec![
        (
            Method::GET,
            "/api/me".into(),
            None,
            &["admin", "staff", "clinician"],
        ),
        (
            Method::GET,
            format!("/api/orgs/{org}/users"),
            None,
            &["admin"],
        ),
        (
            Method::POST,
            format!("/api/orgs/{org}/users"),
            Some(new_user()),
            &["admin"],
        ),
        (
            Method::GET,
            format!("/api/orgs/{org}/agent-keys"),
            None,
            &["admin"],
        ),
        (
            Method::POST,
            format!("/api/orgs/{org}/agent-keys"),
            Some(json!({"name": "k"})),
            &["admin"],
        ),
        (
            Method::GET,
            format!("/api/orgs/{org}/audit"),
            None,
            &["admin"],
        ),
        (
            Method::GET,
            format!("/api/orgs/{org}/audit/verify"),
            None,
            &["admin"],
        ),
        (
            Method::POST,
            "/api/vapi".into(),
            Some(json!({"message": {"type": "hang"}})),
            &["admin", "staff", "clinician", "agent"],
        ),
    ];
    let callers = [
        ("admin", &clinic.token),
        ("staff", &staff),
        ("clinician", &clinician),
        ("agent", &agent),
    ];
    for (method, path, body, admitted) in routes {
        for (role, token) in callers {
            let body = if path.ends_with("/users") && method == Method::POST {
                Some(new_user())
            } else {
                body.clone()
            };
            let r = app.request(method.clone(), &path, Some(token), body).await;
            let status = r.status();
            if admitted.contains(&role) {
                assert!(status.is_success(), "{role} {method} {path}: {status}");
            } else {
                assert_eq!(status, StatusCode::FORBIDDEN, "{role} {method} {path}");
                assert_eq!(error_code(r).await, "forbidden");
            }
        }
    }
}
