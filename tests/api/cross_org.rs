//! Scenario 4 (Security Aggressor), first half: a token of one clinic gets 403 on every route
//! of another, the attempt is audited in the caller's org, and nothing of the other org leaks.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn a_token_of_another_org_is_forbidden_everywhere_and_audited() {
    let app = spawn_app().await;
    let a = app.signup("Clinic A", "admin@a.example").await;
    let b = app.signup("Clinic B", "admin@b.example").await;
    let (b_key_id, _) = app.create_agent_key(&b).await;
    let b_org = &b.org_id;
    let attempts = vec![
        (Method::GET, format!("/api/orgs/{b_org}/users"), None),
        (
            Method::POST,
            format!("/api/orgs/{b_org}/users"),
            Some(json!({"email": "spy@a.example", "password": PASSWORD, "role": "admin"})),
        ),
        (Method::GET, format!("/api/orgs/{b_org}/agent-keys"), None),
        (
            Method::POST,
            format!("/api/orgs/{b_org}/agent-keys"),
            Some(json!({"name": "spy"})),
        ),
        (
            Method::DELETE,
            format!("/api/orgs/{b_org}/agent-keys/{b_key_id}"),
            None,
        ),
        (Method::GET, format!("/api/orgs/{b_org}/audit"), None),
        (Method::GET, format!("/api/orgs/{b_org}/audit/verify"), None),
    ];
    let n = attempts.len();
    for (method, path, body) in attempts {
        let r = app
            .request(method.clone(), &path, Some(&a.token), body)
            .await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{method} {path}");
        let text = r.text().await.unwrap();
        assert!(
            !text.contains("admin@b.example") && !text.contains(&b_key_id),
            "leak: {text}"
        );
    }

    let denials: Vec<serde_json::Value> = app
        .audit_entries(&a)
        .await
        .into_iter()
        .filter(|e| e["action"] == "cross_org_denied")
        .collect();
    assert_eq!(denials.len(), n);
    for d in &denials {
        assert_eq!(d["actor"], format!("user:{}", a.user_id));
        assert_eq!(d["outcome"], "denied");
        let target = d["target"].as_str().unwrap();
        assert!(
            target.contains(b_org.as_str()) && target.contains("/api/orgs/{org}/"),
            "{target}"
        );
    }
    // B's log knows nothing of A, and B's key still exists.
    let b_entries = app.audit_entries(&b).await;
    assert!(b_entries
        .iter()
        .all(|e| !e.to_string().contains(&a.user_id)));
    let keys = app
        .get(&format!("/api/orgs/{b_org}/agent-keys"), Some(&b.token))
        .await
        .text()
        .await
        .unwrap();
    assert!(keys.contains(&b_key_id) && !keys.contains("spy"));
    assert!(keys.contains(r#""revoked_at":null"#));
}

#[tokio::test]
async fn another_orgs_record_id_under_your_own_org_is_simply_not_found() {
    let app = spawn_app().await;
    let a = app.signup("Clinic A", "admin@a.example").await;
    let b = app.signup("Clinic B", "admin@b.example").await;
    let (b_key_id, b_key) = app.create_agent_key(&b).await;
    let (b_staff_id, _) = app.add_user_token(&b, "staff").await;
    for path in [
        format!("/api/orgs/{}/agent-keys/{b_key_id}", a.org_id),
        format!("/api/orgs/{}/users/{b_staff_id}", a.org_id),
    ] {
        let r = app
            .request(Method::DELETE, &path, Some(&a.token), None)
            .await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
    }
    // B's key still works.
    let r = app
        .client
        .post(format!("{}/api/vapi", app.base))
        .header("x-vapi-secret", b_key)
        .json(&json!({"message": {"type": "status-update"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

/// Scenario 4, generated: every method of every `/api/orgs/{org}/…` route the OpenAPI
/// document lists (so a route added later is covered without editing this test) refuses a
/// token of another organisation with 403, and each attempt leaves one `cross_org_denied`
/// entry in the caller's own chain naming the actor, the route template, the attempted org
/// and the client's address.
#[tokio::test]
async fn every_org_route_in_the_document_refuses_another_orgs_token_and_audits_it() {
    let app = spawn_app().await;
    let a = app.signup("Clinic A", "admin@a.example").await;
    let b = app.signup("Clinic B", "admin@b.example").await;
    let doc = crate::openapi::document(&app).await;
    let mut attempted: Vec<String> = Vec::new();
    for (method, template) in crate::openapi::operations(&doc) {
        if !template.starts_with("/api/orgs/{org}") {
            continue;
        }
        let path = crate::openapi::concrete(&template, &b.org_id);
        let body = (method == Method::POST || method == Method::PUT).then(|| json!({}));
        let r = app
            .request(method.clone(), &path, Some(&a.token), body)
            .await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{method} {template}");
        assert_eq!(error_code(r).await, "forbidden");
        attempted.push(format!("{method} {template}"));
    }
    assert!(attempted.len() >= 30, "only {} org routes", attempted.len());

    let denials: Vec<String> = app
        .audit_entries(&a)
        .await
        .into_iter()
        .filter(|e| e["action"] == "cross_org_denied")
        .map(|d| {
            assert_eq!(d["actor"], format!("user:{}", a.user_id));
            assert_eq!(d["outcome"], "denied");
            d["target"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(denials.len(), attempted.len());
    for (target, route) in denials.iter().zip(&attempted) {
        assert_eq!(
            target,
            &format!("org:{} {route} from 127.0.0.1", b.org_id),
            "audit entries follow the attempts in order"
        );
    }
    // Nothing happened in B: its chain holds its signup alone and still verifies.
    let b_entries = app.audit_entries(&b).await;
    assert_eq!(b_entries.len(), 1, "{b_entries:?}");
    let v: serde_json::Value = app
        .get(
            &format!("/api/orgs/{}/audit/verify", b.org_id),
            Some(&b.token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["ok"], true);
}
