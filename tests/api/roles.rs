//! Each operation admits exactly the roles it declares: the roles are the scopes of the
//! operation's security requirement in the API document (written beside each route), and every
//! operation of the document is called with each role's credential and with none, so a route
//! added later is covered without this file changing.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

/// The roles an operation declares: the scopes of all its security requirements.
pub(crate) fn declared_roles(operation: &Value) -> BTreeSet<String> {
    operation["security"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .flat_map(|requirement| requirement.values())
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect()
}

/// The refusals that mean "not your role", as opposed to a refusal for another reason
/// (a Twilio signature, a clinic of another org).
fn refused_for_role(message: &str) -> bool {
    message == "your role does not allow this"
        || message == "agent keys work on the voice agent and FHIR scheduling routes only"
}

/// An error answer as `{error, message}`: the API's own shape, or a FHIR route's
/// `OperationOutcome` (its first issue's code and diagnostics).
fn error_of(answer: Value) -> Value {
    if answer["resourceType"] == "OperationOutcome" {
        let issue = &answer["issue"][0];
        return json!({"error": issue["code"], "message": issue["diagnostics"]});
    }
    answer
}

#[tokio::test]
async fn every_operation_of_the_document_admits_exactly_the_roles_it_declares() {
    let app = spawn_app().await;
    let clinic = app.signup("Clinic", "admin@clinic.example").await;
    let (_, staff) = app.add_user_token(&clinic, "staff").await;
    let (_, clinician) = app.add_user_token(&clinic, "clinician").await;
    let (_, agent) = app.create_agent_key(&clinic).await;
    let callers = [
        ("admin", clinic.token.as_str()),
        ("staff", staff.as_str()),
        ("clinician", clinician.as_str()),
        ("agent", agent.as_str()),
    ];
    let doc: Value = app
        .get("/api/openapi.json", None)
        .await
        .json()
        .await
        .unwrap();

    let mut with_roles = 0;
    let mut public = Vec::new();
    for (template, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            // A path item's other keys (`parameters`, `summary`, …) are not operations.
            if ![
                "get", "put", "post", "delete", "patch", "head", "options", "trace",
            ]
            .contains(&method.as_str())
            {
                continue;
            }
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let path: String = template
                .split('/')
                .map(|segment| match segment {
                    "{org}" => clinic.org_id.clone(),
                    s if s.starts_with('{') => uuid::Uuid::new_v4().to_string(),
                    s => s.to_string(),
                })
                .collect::<Vec<_>>()
                .join("/");
            let body =
                matches!(method, Method::POST | Method::PUT | Method::PATCH).then(|| json!({}));
            let op = format!("{method} {template}");
            let roles = declared_roles(operation);
            if roles.is_empty() {
                // A public operation: whatever it refuses, it is never for the caller's role.
                let r = app
                    .request(method.clone(), &path, Some(&clinic.token), body.clone())
                    .await;
                let status = r.status();
                assert!(!status.is_server_error(), "{op}: {status}");
                if status == StatusCode::FORBIDDEN {
                    let answer = error_of(r.json().await.unwrap());
                    let message = answer["message"].as_str().unwrap_or_default();
                    assert!(
                        !refused_for_role(message),
                        "{op} declares no role but refused one"
                    );
                }
                public.push(template.clone());
                continue;
            }
            with_roles += 1;
            let r = app.request(method.clone(), &path, None, body.clone()).await;
            assert_eq!(
                r.status(),
                StatusCode::UNAUTHORIZED,
                "{op} without a credential"
            );
            for (role, token) in callers {
                let r = app
                    .request(method.clone(), &path, Some(token), body.clone())
                    .await;
                let status = r.status();
                let answer = error_of(r.json().await.unwrap_or(Value::Null));
                let message = answer["message"].as_str().unwrap_or_default().to_string();
                if roles.contains(role) {
                    assert!(
                        !status.is_server_error()
                            && status != StatusCode::UNAUTHORIZED
                            && !(status == StatusCode::FORBIDDEN && refused_for_role(&message)),
                        "{op} declares {role} but answered {status} {message}"
                    );
                } else {
                    assert_eq!(
                        status,
                        StatusCode::FORBIDDEN,
                        "{op} does not declare {role}"
                    );
                    assert_eq!(answer["error"], "forbidden", "{op} for {role}");
                    assert!(refused_for_role(&message), "{op} for {role}: {message}");
                }
            }
        }
    }
    // Every clinic's record sits behind a role: no operation under /api/orgs/ is public.
    let open: Vec<&String> = public
        .iter()
        .filter(|p| p.starts_with("/api/orgs/"))
        .collect();
    assert!(
        open.is_empty(),
        "operations of a clinic that declare no role: {open:?}"
    );
    assert!(with_roles > 0 && !public.is_empty());
}

#[tokio::test]
async fn a_role_is_refused_before_its_body_is_read_and_nothing_changes() {
    let app = spawn_app().await;
    let clinic = app.signup("Clinic", "admin@clinic.example").await;
    let (_, clinician) = app.add_user_token(&clinic, "clinician").await;
    let org = &clinic.org_id;
    // A clinician's malformed and well-formed attempts to add a user are the same 403.
    for body in [
        json!({"email": 7}),
        json!({"email": "x@clinic.example", "password": PASSWORD, "role": "admin"}),
    ] {
        let r = app
            .post(&format!("/api/orgs/{org}/users"), Some(&clinician), body)
            .await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert_eq!(error_code(r).await, "forbidden");
    }
    let users: Value = app
        .get(&format!("/api/orgs/{org}/users"), Some(&clinic.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(users["users"].as_array().unwrap().len(), 2, "{users}");
}
