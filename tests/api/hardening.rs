//! No single request can stop the appliance: extreme values are refused at both doors before
//! any arithmetic, the same input gets the same decision from REST and from the voice agent,
//! and a caller's own number is never a reason to refuse a booking.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

/// Holds the claim writer inside the change of a booking for `name` (through the writer's
/// test hook) until released, so a test can line up what queues behind it.
struct WriterGate {
    state: std::sync::Arc<(std::sync::Mutex<(bool, bool)>, std::sync::Condvar)>,
}

impl WriterGate {
    /// Installs the hook: a booking for `hold` waits at the gate; one for `panic_on` panics.
    fn install(app: &TestApp, hold: &'static str, panic_on: Option<&'static str>) -> WriterGate {
        let state = std::sync::Arc::new((
            std::sync::Mutex::new((false, false)),
            std::sync::Condvar::new(),
        ));
        let hook_state = state.clone();
        let installed = app
            .services
            .booking
            .writer()
            .inject_fault(Box::new(move |change| {
                let voxanne::booking::ledger::Change::Book(req) = change else {
                    return;
                };
                if req.patient.name == hold {
                    let (lock, cv) = &*hook_state;
                    let mut g = lock.lock().unwrap();
                    g.0 = true;
                    cv.notify_all();
                    while !g.1 {
                        g = cv.wait(g).unwrap();
                    }
                } else if Some(req.patient.name.as_str()) == panic_on {
                    panic!("injected fault");
                }
            }));
        assert!(installed);
        WriterGate { state }
    }

    /// Waits until the held booking has reached the writer.
    async fn reached(&self) {
        let state = self.state.clone();
        tokio::task::spawn_blocking(move || {
            let (lock, cv) = &*state;
            let mut g = lock.lock().unwrap();
            while !g.0 {
                g = cv.wait(g).unwrap();
            }
        })
        .await
        .unwrap();
    }

    fn release(&self) {
        let (lock, cv) = &*self.state;
        lock.lock().unwrap().1 = true;
        cv.notify_all();
    }
}

/// Dates no clinic can mean; each once reached the claim writer and stopped it.
const EXTREME_DATES: &[&str] = &["9999-12-31", "0001-01-01", "+262142-12-31", "-0001-01-01"];

#[tokio::test]
async fn extreme_dates_through_both_doors_are_refused_or_free_of_slots_and_another_clinic_still_books(
) {
    let app = spawn_app().await;
    let hostile = app.bookable_clinic("Hostile").await;
    let other = app.bookable_clinic("Other").await;
    let org = &hostile.clinic.org_id;
    for date in EXTREME_DATES {
        let r = app
            .post(
                &format!("/api/orgs/{org}/appointments"),
                Some(&hostile.clinic.token),
                json!({"provider_id": hostile.smith, "service_id": hostile.service_id,
                       "date": date, "time": "10:00",
                       "patient": {"name": "Jane Doe", "phone": "07911 123456"}}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{date}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], "invalid", "{date}: {body}");
        assert_eq!(body["details"]["fields"][0]["field"], "date", "{date}");

        let start = format!("{date}T10:00:00+00:00");
        let r = app
            .post(
                &format!("/api/orgs/{org}/appointments"),
                Some(&hostile.clinic.token),
                json!({"provider_id": hostile.smith, "service_id": hostile.service_id,
                       "start": start,
                       "patient": {"name": "Jane Doe", "phone": "07911 123456"}}),
            )
            .await;
        assert!(r.status().is_client_error(), "{start}: {}", r.status());

        let r = app
            .get(
                &format!("/api/orgs/{org}/availability?date={date}&days=7"),
                Some(&hostile.clinic.token),
            )
            .await;
        // A day outside the booking window has nothing free; one that is no date is refused.
        if r.status().is_success() {
            let body: Value = r.json().await.unwrap();
            assert_eq!(body["slots"], json!([]), "availability {date}");
        } else {
            assert_eq!(
                r.status(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "availability {date}"
            );
        }
        let r = app
            .get(
                &format!("/api/orgs/{org}/appointments?from={start}&to={start}"),
                Some(&hostile.clinic.token),
            )
            .await;
        assert!(r.status().is_success() || r.status().is_client_error());
    }
    for said in [
        "31 December 262142",
        "the 1st of January 0001",
        "9999-12-31",
    ] {
        for tool in ["book_appointment", "check_availability"] {
            let r = app
                .vapi_tool(
                    &hostile.agent_key,
                    "call-extreme",
                    &format!("tc-{tool}-{said}"),
                    tool,
                    json!({"appointment_date": said, "appointment_time": "10am",
                           "provider_name": "Dr Smith", "service": "rhinoplasty",
                           "patient_name": "Jane Doe"}),
                )
                .await;
            assert!(r["error"].is_string(), "{tool} {said}: {r}");
        }
    }
    // Nothing of the hostile clinic's was stored, and everyone else carries on.
    assert!(app.appointments(&hostile).await.is_empty());
    let r = app
        .book_via_rest(&other, &other.smith, &date_in(2), "10:00", None)
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = app.get("/readyz", None).await;
    assert_eq!(r.status(), StatusCode::OK);
}

/// A claim made to panic (by the writer's test hook) fails alone with a generic 500 carrying
/// the request id, while the claims queued beside it commit together in one transaction; the
/// appliance stays ready and keeps booking.
#[tokio::test]
async fn a_claim_that_panics_fails_alone_and_the_rest_of_its_batch_commits() {
    use std::sync::Arc;

    let app = Arc::new(spawn_app().await);
    let c = app.bookable_clinic("Clinic").await;
    let writer = app.services.booking.writer().clone();
    let gate = WriterGate::install(&app, "Gate Keeper", Some("Panic Please"));
    let day = date_in(3);
    let book = |name: &'static str, time: &'static str| {
        let (app, c, day) = (app.clone(), c.clone(), day.clone());
        tokio::spawn(async move {
            app.post(
                &format!("/api/orgs/{}/appointments", c.clinic.org_id),
                Some(&c.clinic.token),
                json!({"provider_id": c.smith, "service_id": c.service_id, "date": day,
                       "time": time, "patient": {"name": name, "phone": "07911 123456"}}),
            )
            .await
        })
    };
    let first = book("Gate Keeper", "09:00");
    gate.reached().await;
    let before = writer.stats();
    let batch: Vec<_> = [
        ("Ann One", "10:00"),
        ("Bea Two", "10:30"),
        ("Panic Please", "11:00"),
        ("Cat Three", "11:30"),
        ("Dee Four", "14:00"),
    ]
    .into_iter()
    .map(|(n, t)| book(n, t))
    .collect();
    // Wait (bounded) until all five wait in the writer's queue behind the held claim.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while writer.queued() < 5 {
        assert!(
            std::time::Instant::now() < deadline,
            "the claims never queued"
        );
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    gate.release();
    assert_eq!(first.await.unwrap().status(), StatusCode::CREATED);
    let mut statuses = Vec::new();
    for (i, h) in batch.into_iter().enumerate() {
        let r = h.await.unwrap();
        let status = r.status();
        if i == 2 {
            let request_id = r.headers()["x-request-id"].to_str().unwrap().to_string();
            let body: Value = r.json().await.unwrap();
            assert_eq!(body["error"], "internal");
            assert_eq!(body["request_id"], request_id.as_str());
            assert!(!body.to_string().contains("Panic Please"));
        }
        statuses.push(status);
    }
    assert_eq!(
        statuses,
        [201, 201, 500, 201, 201].map(|s| StatusCode::from_u16(s).unwrap())
    );
    let after = writer.stats();
    assert_eq!(after.panics - before.panics, 1);
    assert_eq!(
        after.batches - before.batches,
        2,
        "the held claim's transaction, then one for the four that did not panic"
    );
    let names: Vec<String> = app
        .appointments(&c)
        .await
        .iter()
        .map(|a| a["patient"]["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names.len(), 5, "{names:?}");
    assert!(!names.iter().any(|n| n == "Panic Please"));
    assert_eq!(app.get("/readyz", None).await.status(), StatusCode::OK);
    let r = app.book_via_rest(&c, &c.patel, &day, "15:00", None).await;
    assert_eq!(r.status(), StatusCode::CREATED);
}

/// +44 7700 900555 has a UK mobile's shape but lies in a range the metadata lists as
/// unallocated (Ofcom's drama numbers): the caller books by voice all the same.
#[tokio::test]
async fn a_caller_from_an_unallocated_range_books_by_voice() {
    let app = spawn_app().await;
    let c = app.bookable_clinic("Clinic").await;
    let r = app
        .vapi_tool_from(
            &c.agent_key,
            "+447700900555",
            "call-net",
            "tc-net",
            "book_appointment",
            json!({"appointment_date": date_in(4), "appointment_time": "10am",
               "provider_name": "Dr Smith", "service": "rhinoplasty", "patient_name": "Jane Doe"}),
        )
        .await;
    assert!(r["error"].is_null(), "{r}");
    let stored = app.appointments(&c).await;
    assert_eq!(stored[0]["patient"]["phone"], "+447700900555");
    assert_eq!(stored[0]["patient"]["phone_allocated"], false);
}

/// Each bad value gets the same decision at both doors: a 422 naming the field from REST, a
/// spoken error naming the same field from the voice agent; nothing is stored. The good
/// edge values are accepted by both.
#[tokio::test]
async fn the_same_bad_value_is_refused_by_rest_and_by_the_voice_agent() {
    let app = spawn_app().await;
    let c = app.bookable_clinic("Clinic").await;
    let long_notes = "n".repeat(2001);
    // (field, REST body change, tool argument change)
    let cases: Vec<(&str, Value, Value)> = vec![
        (
            "notes",
            json!({"notes": long_notes}),
            json!({"notes": long_notes}),
        ),
        (
            "duration_minutes",
            json!({"duration_minutes": 3}),
            json!({"duration_minutes": "3"}),
        ),
        (
            "duration_minutes",
            json!({"duration_minutes": 100000}),
            json!({"duration_minutes": 100000}),
        ),
        (
            "patient.email",
            json!({"patient": {"name": "Jane Doe", "phone": "07911 123456", "email": "not-an-address"}}),
            json!({"patient_email": "not-an-address"}),
        ),
        (
            "patient.phone",
            json!({"patient": {"name": "Jane Doe", "phone": "12"}}),
            json!({"patient_phone": "12"}),
        ),
        (
            "patient.name",
            json!({"patient": {"name": "  ", "phone": "07911 123456"}}),
            json!({"patient_name": "  "}),
        ),
        (
            "date",
            json!({"date": "9999-12-31"}),
            json!({"appointment_date": "9999-12-31"}),
        ),
    ];
    let day = date_in(5);
    for (i, (field, rest_change, tool_change)) in cases.into_iter().enumerate() {
        let mut body = json!({"provider_id": c.smith, "service_id": c.service_id, "date": day,
            "time": "10:00", "patient": {"name": "Jane Doe", "phone": "07911 123456"}});
        for (k, v) in rest_change.as_object().unwrap() {
            body[k] = v.clone();
        }
        let r = app
            .post(
                &format!("/api/orgs/{}/appointments", c.clinic.org_id),
                Some(&c.clinic.token),
                body,
            )
            .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "REST {field}");
        let b: Value = r.json().await.unwrap();
        assert_eq!(
            b["details"]["fields"][0]["field"], field,
            "REST {field}: {b}"
        );

        let mut args = json!({"appointment_date": day, "appointment_time": "10am",
            "provider_name": "Dr Smith", "service": "rhinoplasty", "patient_name": "Jane Doe"});
        for (k, v) in tool_change.as_object().unwrap() {
            args[k] = v.clone();
        }
        let r = app
            .vapi_tool(
                &c.agent_key,
                "call-doors",
                &format!("tc-{i}"),
                "book_appointment",
                args,
            )
            .await;
        assert!(r["error"].is_string(), "voice {field}: {r}");
        assert_eq!(r["field"], field, "voice {field}: {r}");
    }
    assert!(app.appointments(&c).await.is_empty());
    // The limits themselves are allowed at both doors.
    let notes = "n".repeat(2000);
    let r = app
        .post(
            &format!("/api/orgs/{}/appointments", c.clinic.org_id),
            Some(&c.clinic.token),
            json!({"provider_id": c.smith, "service_id": c.service_id, "date": day, "time": "10:00",
                   "duration_minutes": 60, "notes": notes,
                   "patient": {"name": "Jane Doe", "phone": "07911 123456"}}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = app
        .vapi_tool(&c.agent_key, "call-doors", "tc-ok", "book_appointment",
            json!({"appointment_date": date_in(6), "appointment_time": "10am", "provider_name": "Dr Smith",
                   "service": "rhinoplasty", "patient_name": "Jane Doe", "notes": notes, "duration_minutes": 5}))
        .await;
    assert!(r["error"].is_null(), "{r}");
}

#[tokio::test]
async fn pages_send_a_no_script_policy_and_no_answer_names_a_version() {
    let app = spawn_app().await;
    let r = app.get("/confirm/not-a-token", None).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let h = r.headers();
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
    assert!(
        !csp.contains("script-src"),
        "no script source is allowed: {csp}"
    );
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "no-referrer");
    for path in ["/healthz", "/readyz", "/confirm/x", "/nowhere"] {
        let r = app.get(path, None).await;
        assert!(r.headers().get("server").is_none(), "{path}");
        assert_eq!(r.headers()["x-content-type-options"], "nosniff", "{path}");
        let body = r.text().await.unwrap();
        assert!(!body.contains(env!("CARGO_PKG_VERSION")), "{path}: {body}");
    }
}

#[tokio::test]
async fn a_client_request_id_is_kept_only_when_it_is_safe() {
    let app = spawn_app().await;
    let send = |id: &'static str| {
        app.client
            .get(format!("{}/healthz", app.base))
            .header("x-request-id", id)
            .send()
    };
    let r = send("vapi-req.42_A").await.unwrap();
    assert_eq!(r.headers()["x-request-id"], "vapi-req.42_A");
    for unsafe_id in [
        "jane.doe@patient.example",
        "07911 123456",
        "a/b",
        &"x".repeat(65),
    ] {
        let id: &'static str = Box::leak(unsafe_id.to_string().into_boxed_str());
        let r = send(id).await.unwrap();
        let echoed = r.headers()["x-request-id"].to_str().unwrap();
        assert_ne!(echoed, unsafe_id);
        assert!(uuid::Uuid::parse_str(echoed).is_ok(), "{echoed}");
    }
}

/// Behind a trusted proxy, failed logins count against the client `X-Forwarded-For` names,
/// so one client's lockout does not lock out everyone behind the proxy; from an untrusted
/// peer the header is ignored, so a client cannot dodge its own lockout by inventing one.
#[tokio::test]
async fn forwarded_addresses_are_believed_only_from_trusted_proxies() {
    async fn fail_logins(app: &TestApp, forwarded: &str, times: usize) -> reqwest::Response {
        let mut last = None;
        for i in 0..times {
            let r = app
                .client
                .post(format!("{}/api/auth/login", app.base))
                .header("x-forwarded-for", forwarded)
                .json(&json!({"email": format!("nobody-{i}@clinic.example"), "password": "wrong password here"}))
                .send()
                .await
                .unwrap();
            last = Some(r);
        }
        last.unwrap()
    }
    let login_from = |app: &TestApp, forwarded: &'static str, email: String| {
        app.client
            .post(format!("{}/api/auth/login", app.base))
            .header("x-forwarded-for", forwarded)
            .json(&json!({"email": email, "password": PASSWORD}))
            .send()
    };

    let behind_proxy = spawn_app_with(|s| {
        s.server.trusted_proxies = vec!["127.0.0.1".into()];
        s.auth.login_max_failures_per_client = 3;
    })
    .await;
    let clinic = behind_proxy
        .signup("Proxied", "admin@proxied.example")
        .await;
    let r = fail_logins(&behind_proxy, "198.51.100.7, 203.0.113.5", 4).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(
        r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    let r = login_from(&behind_proxy, "203.0.113.5", clinic.email.clone())
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the locked client stays locked"
    );
    let r = login_from(&behind_proxy, "203.0.113.6", clinic.email.clone())
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "another client behind the proxy logs in"
    );

    let direct = spawn_app_with(|s| s.auth.login_max_failures_per_client = 3).await;
    let clinic = direct.signup("Direct", "admin@direct.example").await;
    fail_logins(&direct, "203.0.113.5", 4).await;
    let r = login_from(&direct, "203.0.113.99", clinic.email)
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "an invented X-Forwarded-For does not escape the peer's lockout"
    );
}

/// With `max_in_flight` requests being served, one more is answered 503 with `Retry-After`
/// at once rather than queued; once the first finishes the next is served.
#[tokio::test]
async fn load_beyond_the_in_flight_limit_is_shed_with_retry_after() {
    use std::sync::Arc;

    let app = Arc::new(spawn_app_with(|s| s.server.max_in_flight = 1).await);
    let c = app.bookable_clinic("Clinic").await;
    let gate = WriterGate::install(&app, "Slow Claim", None);
    let held = {
        let (app, c) = (app.clone(), c.clone());
        tokio::spawn(async move {
            app.post(
                &format!("/api/orgs/{}/appointments", c.clinic.org_id),
                Some(&c.clinic.token),
                json!({"provider_id": c.smith, "service_id": c.service_id, "date": date_in(2),
                       "time": "09:00", "patient": {"name": "Slow Claim", "phone": "07911 123456"}}),
            )
            .await
        })
    };
    gate.reached().await;
    let r = app.get("/healthz", None).await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.headers()["retry-after"], "1");
    assert_eq!(error_code(r).await, "overloaded");
    gate.release();
    assert_eq!(held.await.unwrap().status(), StatusCode::CREATED);
    assert_eq!(app.get("/healthz", None).await.status(), StatusCode::OK);
}

/// Deeply nested JSON and floods of headers are refused before any handler runs, and the
/// server answers normally afterwards.
#[tokio::test]
async fn deep_json_and_header_floods_are_refused_cleanly() {
    let app = spawn_app().await;
    let c = app.bookable_clinic("Clinic").await;
    // The voice agent's messages are read as free JSON first: the reader's depth limit holds.
    let deep = format!(
        "{{\"message\": {{\"type\": \"tool-calls\", \"x\": {}{}}}}}",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    for path in ["/api/vapi/tools", "/api/vapi", "/api/auth/signup"] {
        let r = app
            .client
            .post(format!("{}{path}", app.base))
            .bearer_auth(&c.agent_key)
            .header("content-type", "application/json")
            .body(deep.clone())
            .send()
            .await
            .unwrap();
        // The voice agent's routes answer every message 200 (Vapi's contract), the others 4xx.
        assert!(
            r.status().is_client_error() || (path.starts_with("/api/vapi") && r.status() == 200),
            "{path}: {}",
            r.status()
        );
    }
    let mut flood = app.client.get(format!("{}/healthz", app.base));
    for i in 0..200 {
        flood = flood.header(format!("x-flood-{i}"), "1");
    }
    // A connection refused outright is also a refusal; an answer must be a 4xx.
    if let Ok(r) = flood.send().await {
        assert!(r.status().is_client_error(), "{}", r.status());
    }
    let big = "x".repeat(128 * 1024);
    let r = app
        .client
        .get(format!("{}/healthz", app.base))
        .header("x-big", big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    assert_eq!(error_code(r).await, "headers_too_large");
    assert_eq!(app.get("/readyz", None).await.status(), StatusCode::OK);
}

/// Item 10: signups are limited per client address and per email (429 with `Retry-After`),
/// and a header the client sets itself does not open a new allowance.
#[tokio::test]
async fn signups_beyond_the_limits_are_429_with_retry_after() {
    let app = spawn_app_with(|s| {
        s.auth.signup_max_per_client = 3;
        s.auth.signup_max_per_email = 2;
    })
    .await;
    let signup = |email: &str, forwarded: Option<&str>| {
        let mut r = app
            .client
            .post(format!("{}/api/auth/signup", app.base))
            .json(&json!({"clinic_name": "Clinic", "email": email, "password": PASSWORD}));
        if let Some(f) = forwarded {
            r = r.header("x-forwarded-for", f);
        }
        r.send()
    };
    // Per email: the second attempt for a taken address is 409, the third is held back.
    assert_eq!(
        signup("one@clinic.example", None).await.unwrap().status(),
        StatusCode::CREATED
    );
    assert_eq!(
        signup("one@clinic.example", None).await.unwrap().status(),
        StatusCode::CONFLICT
    );
    // Per client: the third attempt from this address is the last one allowed.
    assert_eq!(
        signup("two@clinic.example", None).await.unwrap().status(),
        StatusCode::CREATED
    );
    for (email, forwarded) in [
        ("three@clinic.example", None),
        ("four@clinic.example", Some("203.0.113.9")),
    ] {
        let r = signup(email, forwarded).await.unwrap();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "{email}");
        let wait: u64 = r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(wait >= 1);
        assert_eq!(error_code(r).await, "rate_limited");
    }
    // Nothing was created by the refused attempts.
    assert_eq!(
        app.login("three@clinic.example", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

/// Item 10: with `[auth] signup = "closed"` nobody creates a clinic over HTTP; the operator
/// does with `voxanne org create`, and its admin signs in with the password it printed.
#[tokio::test]
async fn closed_signup_refuses_http_and_the_operator_creates_clinics_from_the_cli() {
    use voxanne::config::SignupPolicy;
    let app = spawn_app_with(|s| s.auth.signup = SignupPolicy::Closed).await;
    let r = app
        .post(
            "/api/auth/signup",
            None,
            json!({"clinic_name": "Clinic", "email": "admin@clinic.example", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let body: Value = r.json().await.unwrap();
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("voxanne org create"));
    let dir = app.stop().await.unwrap();

    let out = std::process::Command::new(voxanne_bin())
        .args([
            "org",
            "create",
            "--name",
            "Harley Aesthetics",
            "--email",
            "owner@clinic.example",
        ])
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8(out.stdout).unwrap();
    let password = printed
        .lines()
        .find_map(|l| l.strip_prefix("one-time password: "))
        .expect("the password is printed")
        .to_string();
    assert!(password.len() >= 20);

    let app = spawn_app_in(dir.path(), |s| s.auth.signup = SignupPolicy::Closed).await;
    let r = app.login("owner@clinic.example", &password).await;
    assert_eq!(r.status(), StatusCode::OK);
    let session: Value = r.json().await.unwrap();
    assert_eq!(session["role"], "admin");
    assert!(printed.contains(session["org_id"].as_str().unwrap()));
}
