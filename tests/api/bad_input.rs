//! Bad input gets the documented 4xx in the one JSON error shape, never a 5xx.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

async fn raw_post(
    app: &TestApp,
    path: &str,
    body: Vec<u8>,
    token: Option<&str>,
) -> reqwest::Response {
    let mut req = app
        .client
        .post(format!("{}{path}", app.base))
        .header("content-type", "application/json")
        .body(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn malformed_json_is_400_and_wrong_types_are_422_naming_the_field() {
    let app = spawn_app().await;
    for body in [&b"{"[..], b"", b"not json", b"{\"email\": }", b"\xff\xfe{}"] {
        let r = raw_post(&app, "/api/auth/signup", body.to_vec(), None).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{body:?}");
        assert_eq!(error_code(r).await, "bad_request");
    }
    // A good document followed by anything else is refused too, and nothing is created.
    let signup = json!({"clinic_name": "Trailing", "email": "trailing@clinic.example", "password": PASSWORD});
    let mut trailing = serde_json::to_vec(&signup).unwrap();
    trailing.extend_from_slice(b" {\"more\": 1}");
    let r = raw_post(&app, "/api/auth/signup", trailing, None).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(r).await, "bad_request");
    let r = app.post("/api/auth/signup", None, signup).await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "the refused signup created nothing"
    );
    let r = app
        .post(
            "/api/auth/signup",
            None,
            json!({"clinic_name": 42, "email": "a@b.example", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["details"]["fields"][0]["field"], "clinic_name");
    assert_eq!(
        body["details"]["fields"][0]["message"],
        "has the wrong type"
    );

    let r = app
        .post(
            "/api/auth/signup",
            None,
            json!({"email": "a@b.example", "password": PASSWORD}),
        )
        .await;
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["details"]["fields"][0]["field"], "clinic_name");
    assert_eq!(body["details"]["fields"][0]["message"], "is required");

    for body in [json!(null), json!([]), json!("text"), json!(7)] {
        let r = app.post("/api/auth/signup", None, body.clone()).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    }
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let app = spawn_app_with(|s| s.server.max_body_bytes = 4096).await;
    let big =
        json!({"clinic_name": "x".repeat(10_000), "email": "a@b.example", "password": PASSWORD});
    let r = app.post("/api/auth/signup", None, big).await;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error_code(r).await, "payload_too_large");
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_the_error_shape() {
    let app = spawn_app().await;
    let r = app.get("/api/nothing-here", None).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_code(r).await, "not_found");
    let r = app
        .request(Method::DELETE, "/api/auth/signup", None, None)
        .await;
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(error_code(r).await, "method_not_allowed");
    let clinic = app.signup("Clinic", "admin@clinic.example").await;
    let r = app
        .get("/api/orgs/not-a-uuid/users", Some(&clinic.token))
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = app
        .get(
            &format!("/api/orgs/{}/audit?after=minus-one", clinic.org_id),
            Some(&clinic.token),
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(r).await, "bad_request");
    for header in ["Basic abc", "Bearer", "Bearer    ", "bearer x.y.z"] {
        let r = app
            .client
            .get(format!("{}/api/me", app.base))
            .header("authorization", header)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{header}");
    }
}

#[tokio::test]
async fn unicode_edge_cases_are_accepted_or_refused_but_never_500() {
    let app = spawn_app().await;
    let names = [
        "Clínica Estética Zoë 美容",
        "\u{202E}RTL override",
        "zero\u{200B}width",
        "emoji 💉💆‍♀️",
        "nul\u{0000}byte",
        "combining e\u{0301}\u{0301}\u{0301}",
    ];
    for (i, name) in names.iter().enumerate() {
        let r = app
            .post(
                "/api/auth/signup",
                None,
                json!({"clinic_name": name, "email": format!("u{i}@clinic.example"), "password": format!("pässwörd-🔑-{i}-long"), "full_name": name}),
            )
            .await;
        let status = r.status();
        assert!(
            status == StatusCode::CREATED || status == StatusCode::UNPROCESSABLE_ENTITY,
            "{name:?}: {status}"
        );
    }
    // Emails with non-ASCII local parts or lone surrogates never cause a 5xx.
    for email in [
        "üser@clinic.example",
        "a@b",
        "\u{FFFF}@x.example",
        "a@[127.0.0.1]",
    ] {
        let r = app
            .post(
                "/api/auth/signup",
                None,
                json!({"clinic_name": "C", "email": email, "password": PASSWORD}),
            )
            .await;
        assert!(
            r.status().is_client_error() || r.status() == StatusCode::CREATED,
            "{email}: {}",
            r.status()
        );
        let r = app.login(email, PASSWORD).await;
        assert!(
            r.status().is_client_error() || r.status().is_success(),
            "{email}"
        );
    }
}

#[tokio::test]
async fn vapi_messages_of_any_type_are_answered_and_tool_calls_get_one_result_each() {
    let app = spawn_app().await;
    let clinic = app.signup("Clinic", "admin@clinic.example").await;
    let (_, key) = app.create_agent_key(&clinic).await;
    let tool_calls: Value =
        serde_json::from_str(include_str!("../fixtures/vapi/tool-calls.captured.json")).unwrap();
    let r = app.post("/api/vapi/tools", Some(&key), tool_calls).await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    let results = body["results"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["toolCallId"], "call_mrf9");
    assert!(!results[0]["error"].as_str().unwrap().contains('\n'));

    for kind in ["status-update", "speech-update", "some-future-type"] {
        let r = app
            .post(
                "/api/vapi",
                Some(&key),
                json!({"message": {"type": kind, "extra": [1, 2]}}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK, "{kind}");
        assert_eq!(r.json::<Value>().await.unwrap(), json!({}));
    }
    // A call report must say which call it is; without an id it is refused, changing nothing.
    let r = app
        .post(
            "/api/vapi",
            Some(&key),
            json!({"message": {"type": "end-of-call-report"}}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = app
        .post("/api/vapi", Some(&key), json!({"not": "a message"}))
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

/// What the document calls invalid the API refuses, and what it calls valid it takes: an
/// audit page `after` below zero or beyond a 64-bit signed integer, and a cancel whose optional
/// body is missing or JSON null (and refused when it is white space alone).
#[tokio::test]
async fn the_audit_cursor_and_the_optional_cancel_body_are_taken_as_documented() {
    let app = spawn_app().await;
    let c = app.bookable_clinic("Clinic").await;
    let org = &c.clinic.org_id;
    for (after, status) in [
        ("0", StatusCode::OK),
        ("9223372036854775807", StatusCode::OK),
        ("-1", StatusCode::UNPROCESSABLE_ENTITY),
        ("9223372036854775808", StatusCode::BAD_REQUEST),
    ] {
        let r = app
            .get(
                &format!("/api/orgs/{org}/audit?after={after}"),
                Some(&c.clinic.token),
            )
            .await;
        assert_eq!(r.status(), status, "after={after}");
    }
    // White space alone is not JSON (and not "no body"): refused, and the booking stays.
    for (body, status) in [
        ("", StatusCode::OK),
        ("null", StatusCode::OK),
        ("\r", StatusCode::BAD_REQUEST),
    ] {
        let r = app
            .book_via_rest(&c, &c.smith, &date_in(2), "10:00", None)
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let id = r.json::<serde_json::Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let r = app
            .client
            .post(format!(
                "{}/api/orgs/{org}/appointments/{id}/cancel",
                app.base
            ))
            .bearer_auth(&c.clinic.token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), status, "body {body:?}");
    }
}

/// A whole number written with a fraction is the integer JSON Schema says it is; an array is
/// no body of this API, even where every field has a default.
#[tokio::test]
async fn whole_numbers_with_a_fraction_are_integers_and_an_array_is_no_body() {
    let app = spawn_app().await;
    let c = app.bookable_clinic("Clinic").await;
    let org = &c.clinic.org_id;
    let r = app
        .post(
            &format!("/api/orgs/{org}/services"),
            Some(&c.clinic.token),
            json!({"name": "Filler review", "duration_minutes": 45.0, "buffer_after_minutes": 1e1}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let made: Value = r.json().await.unwrap();
    assert_eq!(
        (
            made["duration_minutes"].clone(),
            made["buffer_after_minutes"].clone()
        ),
        (json!(45), json!(10))
    );
    let r = app
        .post(
            &format!("/api/orgs/{org}/services"),
            Some(&c.clinic.token),
            json!({"name": "Filler review", "duration_minutes": 45.5}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let before = app.change_settings(&c, |_| {}).await;
    assert_eq!(before, StatusCode::OK);
    let r = app
        .request(
            Method::PUT,
            &format!("/api/orgs/{org}/settings"),
            Some(&c.clinic.token),
            Some(json!([])),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_code(r).await, "invalid");
}
