//! The seeds' "Task 2: Contextual Memory Hand-off": a caller who hangs up before booking
//! becomes a lead and is texted the guide for the procedure they asked about and a way to
//! book, once per call, through a loopback Twilio that speaks its Messages API; consent,
//! quiet hours and Twilio's own reports decide what is sent and what it became.

use reqwest::StatusCode;
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::*;
use crate::outbox::eventually;

const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
pub(crate) const TOKEN: &str = "twilio-auth-token";
const CALLER: &str = "+447911123456";
pub(crate) const MESSAGES: &str =
    "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages.json";

/// A loopback Twilio: `failures` answers of `failure_status` first, then 201 with a sid.
pub(crate) async fn twilio_fake(failures: u64, failure_status: u16) -> MockServer {
    let twilio = MockServer::start().await;
    if failures > 0 {
        Mock::given(method("POST"))
            .and(path(MESSAGES))
            .respond_with(ResponseTemplate::new(failure_status).set_body_json(
                json!({"code": 20500, "message": "Internal Server Error", "status": failure_status}),
            ))
            .up_to_n_times(failures)
            .with_priority(1)
            .mount(&twilio)
            .await;
    }
    Mock::given(method("POST"))
        .and(path(MESSAGES))
        .respond_with(ResponseTemplate::new(201).set_body_json(
            json!({"sid": "SM0123456789abcdef0123456789abcdef", "status": "queued"}),
        ))
        .with_priority(5)
        .mount(&twilio)
        .await;
    twilio
}

/// A loopback Twilio that refuses every message for good with `code` and `message`.
async fn twilio_refusing(code: u32, message: &str) -> MockServer {
    let twilio = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(MESSAGES))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "code": code, "message": message,
            "more_info": format!("https://www.twilio.com/docs/errors/{code}"), "status": 400})))
        .mount(&twilio)
        .await;
    twilio
}

pub(crate) fn enable_twilio(s: &mut voxanne::config::Settings, twilio: &MockServer) {
    s.twilio.enabled = true;
    s.twilio.base_url = twilio.uri();
    s.twilio.account_sid = ACCOUNT.into();
    s.twilio.auth_token = voxanne::config::Secret::new(TOKEN);
    s.twilio.from_number = "+447700900000".into();
    s.outbox.retry_base_ms = 10;
    s.outbox.retry_max_ms = 50;
    s.outbox.poll_interval_ms = 20;
}

/// The form fields of every message Twilio received.
pub(crate) async fn texts(twilio: &MockServer) -> Vec<Vec<(String, String)>> {
    twilio
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == MESSAGES)
        .map(|r| form_urlencoded::parse(&r.body).into_owned().collect())
        .collect()
}

pub(crate) fn field<'a>(form: &'a [(String, String)], name: &str) -> &'a str {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

/// Vapi's end-of-call report for a call in which the caller said `said`.
fn report(call_id: &str, said: &str, name: Option<&str>) -> Value {
    let mut r: Value = serde_json::from_str(include_str!(
        "../fixtures/vapi/end-of-call-report.captured.json"
    ))
    .unwrap();
    let m = &mut r["message"];
    m["call"]["id"] = json!(call_id);
    m["artifact"]["transcript"] = json!(format!(
        "AI: Thank you for calling, how can I help?\nUser: {said}\nAI: Of course."
    ));
    m["analysis"]["summary"] = json!("The caller asked about a treatment.");
    m["customer"]["number"] = json!(CALLER);
    m["customer"]["name"] = name.map_or(Value::Null, |n| json!(n));
    r
}

async fn end_call(app: &TestApp, key: &str, body: Value) {
    let r = app.post("/api/vapi", Some(key), body).await;
    assert_eq!(r.status(), StatusCode::OK);
}

async fn list(app: &TestApp, c: &BookableClinic, what: &str) -> Vec<Value> {
    let r = app
        .get(
            &format!("/api/orgs/{}/{what}", c.clinic.org_id),
            Some(&c.clinic.token),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK, "{what}");
    let key = what.rsplit('/').next().unwrap().replace('-', "_");
    r.json::<Value>().await.unwrap()[key.as_str()]
        .as_array()
        .unwrap()
        .clone()
}

/// The test clinic's settings as `bookable_clinic` makes them, with quiet hours off (so a
/// test texts whatever the hour it runs at) and `extra` on top.
pub(crate) async fn texts_at_any_hour(app: &TestApp, c: &BookableClinic, extra: Value) {
    let mut settings = json!({"min_notice_minutes": 0, "horizon_days": 365, "slot_step_minutes": 30,
                              "phone_region": "GB", "quiet_hours_start": "00:00", "quiet_hours_end": "00:00"});
    for (k, v) in extra.as_object().unwrap() {
        settings[k] = v.clone();
    }
    let r = app
        .request(
            reqwest::Method::PUT,
            &format!("/api/orgs/{}/settings", c.clinic.org_id),
            Some(&c.clinic.token),
            Some(settings),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
}

async fn wait_for_texts(twilio: &MockServer, n: usize) -> Vec<Vec<(String, String)>> {
    eventually(&format!("{n} text(s) at Twilio"), || async {
        texts(twilio).await.len() >= n
    })
    .await;
    texts(twilio).await
}

#[tokio::test]
async fn a_caller_who_asked_about_rhinoplasty_and_hung_up_is_texted_its_guide_once() {
    let twilio = twilio_fake(0, 500).await;
    let app = spawn_app_with(|s| enable_twilio(s, &twilio)).await;
    let c = app.bookable_clinic("Harley Aesthetics").await;
    texts_at_any_hour(
        &app,
        &c,
        json!({"booking_link": "https://harley.example/book", "public_url": "https://harley.example"}),
    )
    .await;

    let started = std::time::Instant::now();
    end_call(
        &app,
        &c.agent_key,
        report(
            "call-rhino",
            "I'm interested in rhinoplasty but I have to go, sorry.",
            Some("Jane Doe"),
        ),
    )
    .await;
    let sent = wait_for_texts(&twilio, 1).await;
    let latency = started.elapsed();
    let text = &sent[0];
    assert_eq!(field(text, "To"), CALLER);
    assert_eq!(field(text, "From"), "+447700900000");
    assert!(field(text, "StatusCallback").ends_with("/api/webhooks/twilio/status"));
    let body = field(text, "Body");
    assert!(body.starts_with("Hi Jane,"), "{body}");
    assert!(body.contains("about Rhinoplasty"), "{body}");
    assert!(
        body.contains("https://harley.example/guides/rhinoplasty-guide.pdf"),
        "{body}"
    );
    assert!(body.contains("https://harley.example/book"), "{body}");
    assert!(body.ends_with("- Sarah from Harley Aesthetics"), "{body}");
    eprintln!("end-of-call report to Twilio: {latency:?}");

    let leads = list(&app, &c, "leads").await;
    assert_eq!(leads.len(), 1);
    assert_eq!(leads[0]["procedure"], "Rhinoplasty");
    assert_eq!(leads[0]["phone"], CALLER);
    assert_eq!(leads[0]["name"], "Jane Doe");
    assert_eq!(leads[0]["call_id"], "call-rhino");
    eventually("the lead is contacted", || async {
        list(&app, &c, "leads").await[0]["status"] == "contacted"
    })
    .await;
    let followups = list(&app, &c, "followups").await;
    assert_eq!(followups.len(), 1);
    let f = &followups[0];
    assert_eq!(f["status"], "sent");
    assert_eq!(f["agent_name"], "sarah_outbound");
    assert_eq!(f["channel"], "sms");
    assert_eq!(f["twilio_sid"], "SM0123456789abcdef0123456789abcdef");
    assert_eq!(f["body"], body);
    assert_eq!(f["encoding"], "GSM-7");
    assert_eq!(f["length"], body.chars().count());
    assert_eq!(f["segments"], 2);

    // The same call reported again, by Vapi's status update and by the seeds' webhook: one
    // lead, one text.
    end_call(
        &app,
        &c.agent_key,
        report("call-rhino", "rhinoplasty", Some("Jane Doe")),
    )
    .await;
    end_call(
        &app,
        &c.agent_key,
        json!({"message": {"type": "status-update", "status": "ended", "call": {"id": "call-rhino"}, "customer": {"number": CALLER}}}),
    )
    .await;
    let r = app
        .post(
            "/api/webhooks/call-ended",
            Some(&c.agent_key),
            json!({"eventType": "call_ended", "callId": "call-rhino", "patientPhone": CALLER, "patientName": "Jane Doe",
                   "leadId": "lead_xyz_789", "keyword": "Rhinoplasty", "bookingConfirmed": false, "callDuration": 245,
                   "transcript": "interested in rhinoplasty... hung up"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["outcome"], "lead");
    assert_eq!(list(&app, &c, "leads").await.len(), 1);
    assert_eq!(list(&app, &c, "followups").await.len(), 1);
    assert_eq!(texts(&twilio).await.len(), 1);

    let actions = app.audit_actions(&c.clinic).await;
    for a in ["lead_created", "sms_queued", "sms_sent"] {
        assert!(
            actions.contains(&a.to_string()),
            "{a} missing from {actions:?}"
        );
    }
}

#[tokio::test]
async fn a_call_that_booked_is_not_followed_up_and_a_later_booking_books_the_lead() {
    let twilio = twilio_fake(0, 500).await;
    let app = spawn_app_with(|s| enable_twilio(s, &twilio)).await;
    let c = app.bookable_clinic("Clinic").await;
    texts_at_any_hour(&app, &c, json!({})).await;
    // Booked during the call: no lead, no text.
    let booked = app
        .vapi_tool_from(&c.agent_key, CALLER, "call-booked", "tc-1", "book_appointment",
            json!({"appointment_date": date_in(3), "appointment_time": "2pm", "provider_name": "Dr Smith", "service": "rhinoplasty", "patient_name": "Jane Doe"}))
        .await;
    assert!(booked["appointment_id"].is_string(), "{booked}");
    end_call(
        &app,
        &c.agent_key,
        report("call-booked", "I'd like a rhinoplasty consultation", None),
    )
    .await;
    assert!(list(&app, &c, "leads").await.is_empty());
    assert!(list(&app, &c, "followups").await.is_empty());

    // Another caller asks about a facelift without booking (and without a name): a lead and
    // a text that greets them plainly; when that number books, the lead is booked.
    let mut r = report("call-later", "How much is a facelift?", None);
    r["message"]["customer"]["number"] = json!("+447911123999");
    end_call(&app, &c.agent_key, r).await;
    let sent = wait_for_texts(&twilio, 1).await;
    let body = field(&sent[0], "Body");
    assert!(body.starts_with("Hi there,"), "{body}");
    assert!(
        body.contains("/guides/facelift-guide.pdf") && !body.contains("{{"),
        "{body}"
    );
    let r = app
        .post(
            &format!("/api/orgs/{}/appointments", c.clinic.org_id),
            Some(&c.clinic.token),
            json!({"provider_id": c.patel, "service_id": c.service_id, "date": date_in(4), "time": "10:00",
                   "patient": {"name": "Sam Lee", "phone": "07911 123999"}}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let leads = list(&app, &c, "leads").await;
    assert_eq!(leads.len(), 1);
    assert_eq!(leads[0]["status"], "booked");
}

#[tokio::test]
async fn liquid_rhinoplasty_gets_its_own_guide_and_a_call_without_a_procedure_is_a_lead_without_a_text(
) {
    let twilio = twilio_fake(0, 500).await;
    let app = spawn_app_with(|s| enable_twilio(s, &twilio)).await;
    let c = app.bookable_clinic("Clinic").await;
    texts_at_any_hour(&app, &c, json!({"followup_window_days": 0})).await;
    end_call(
        &app,
        &c.agent_key,
        report("call-liquid", "Is liquid rhinoplasty painful?", Some("Amy")),
    )
    .await;
    let sent = wait_for_texts(&twilio, 1).await;
    assert!(field(&sent[0], "Body").contains("/guides/liquid-rhino-guide.pdf"));
    assert!(!field(&sent[0], "Body").contains("/guides/rhinoplasty-guide.pdf"));

    end_call(
        &app,
        &c.agent_key,
        report("call-vague", "What are your opening hours?", None),
    )
    .await;
    let leads = list(&app, &c, "leads").await;
    assert_eq!(leads.len(), 2);
    let vague = leads.iter().find(|l| l["call_id"] == "call-vague").unwrap();
    assert_eq!(vague["procedure"], Value::Null);
    assert_eq!(vague["followup_id"], Value::Null);
    assert_eq!(list(&app, &c, "followups").await.len(), 1);
}

#[tokio::test]
async fn twilio_errors_retry_or_fail_with_twilios_code() {
    // 500 twice, then accepted: one text, sent once.
    let twilio = twilio_fake(2, 500).await;
    let app = spawn_app_with(|s| enable_twilio(s, &twilio)).await;
    let c = app.bookable_clinic("Clinic").await;
    texts_at_any_hour(&app, &c, json!({"followup_window_days": 0})).await;
    end_call(
        &app,
        &c.agent_key,
        report("call-retry", "a nose job please", None),
    )
    .await;
    eventually("the text is sent after two 500s", || async {
        list(&app, &c, "followups").await[0]["status"] == "sent"
    })
    .await;
    assert_eq!(texts(&twilio).await.len(), 3);

    // A permanent refusal: failed, with Twilio's code and message (numbers masked).
    let refusing = twilio_refusing(
        21211,
        "The 'To' number +447911123456 is not a valid phone number.",
    )
    .await;
    let app = spawn_app_with(|s| enable_twilio(s, &refusing)).await;
    let c = app.bookable_clinic("Clinic").await;
    texts_at_any_hour(&app, &c, json!({})).await;
    end_call(
        &app,
        &c.agent_key,
        report("call-refused", "a facelift", None),
    )
    .await;
    eventually("the text fails", || async {
        list(&app, &c, "followups").await[0]["status"] == "failed"
    })
    .await;
    let f = &list(&app, &c, "followups").await[0];
    assert_eq!(f["error_code"], "21211");
    assert_eq!(
        f["error_message"],
        "The 'To' number [number] is not a valid phone number."
    );
    assert_eq!(texts(&refusing).await.len(), 1);
}

/// Signs a Twilio webhook the way Twilio does, for the public URL the appliance is told of.
pub(crate) fn signed(
    app: &TestApp,
    path: &str,
    params: &[(&str, &str)],
    token: &str,
) -> reqwest::RequestBuilder {
    let url = format!("http://127.0.0.1:8080{path}");
    let owned: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let signature = voxanne::integrations::twilio::sign(token, &url, &owned);
    app.client
        .post(format!("{}{path}", app.base))
        .header("x-twilio-signature", signature)
        .form(&owned)
}

#[tokio::test]
async fn status_callbacks_need_twilios_signature_and_stop_and_start_are_honoured() {
    let twilio = twilio_fake(0, 500).await;
    let app = spawn_app_with(|s| enable_twilio(s, &twilio)).await;
    let c = app.bookable_clinic("Clinic").await;
    texts_at_any_hour(&app, &c, json!({"followup_window_days": 0})).await;
    end_call(&app, &c.agent_key, report("call-1", "rhinoplasty", None)).await;
    wait_for_texts(&twilio, 1).await;
    eventually("sent", || async {
        list(&app, &c, "followups").await[0]["status"] == "sent"
    })
    .await;
    let status = [
        ("MessageSid", "SM0123456789abcdef0123456789abcdef"),
        ("MessageStatus", "delivered"),
        ("AccountSid", ACCOUNT),
    ];
    // A wrong signature: 403, nothing changes.
    let r = signed(
        &app,
        "/api/webhooks/twilio/status",
        &status,
        "not-the-token",
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(list(&app, &c, "followups").await[0]["status"], "sent");
    // Twilio's own signature: delivered.
    let r = signed(&app, "/api/webhooks/twilio/status", &status, TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(list(&app, &c, "followups").await[0]["status"], "delivered");
    // A late "sent" does not move it back.
    let late = [("MessageSid", status[0].1), ("MessageStatus", "sent")];
    signed(&app, "/api/webhooks/twilio/status", &late, TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(list(&app, &c, "followups").await[0]["status"], "delivered");

    // STOP: opted out, and the next call's text is not sent.
    let stop = [("From", CALLER), ("To", "+447700900000"), ("Body", "Stop")];
    let r = signed(&app, "/api/webhooks/twilio/inbound", &stop, TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/xml"));
    assert!(r.text().await.unwrap().contains("<Response"));
    let opt_outs = list(&app, &c, "sms/opt-outs").await;
    assert_eq!(opt_outs.len(), 1);
    assert_eq!(opt_outs[0]["phone"], CALLER);
    assert_eq!(opt_outs[0]["source"], "keyword");
    end_call(&app, &c.agent_key, report("call-2", "a facelift", None)).await;
    eventually("the second text is suppressed", || async {
        list(&app, &c, "followups")
            .await
            .iter()
            .any(|f| f["call_id"] == "call-2" && f["status"] == "suppressed")
    })
    .await;
    assert_eq!(texts(&twilio).await.len(), 1);

    // HELP is answered with TwiML; START opts back in and the next call is texted again.
    let help = [("From", CALLER), ("To", "+447700900000"), ("Body", "help")];
    let r = signed(&app, "/api/webhooks/twilio/inbound", &help, TOKEN)
        .send()
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("<Message>"));
    let start = [("From", CALLER), ("To", "+447700900000"), ("Body", "START")];
    signed(&app, "/api/webhooks/twilio/inbound", &start, TOKEN)
        .send()
        .await
        .unwrap();
    assert!(list(&app, &c, "sms/opt-outs").await.is_empty());
    end_call(
        &app,
        &c.agent_key,
        report("call-3", "breast augmentation", None),
    )
    .await;
    let sent = wait_for_texts(&twilio, 2).await;
    assert!(field(&sent[1], "Body").contains("/guides/breast-aug-guide.pdf"));
}

#[tokio::test]
async fn a_text_due_in_quiet_hours_goes_at_eight_in_the_morning_local_time() {
    use chrono::TimeZone;
    let twilio = twilio_fake(0, 500).await;
    // 22:30 in London on a winter evening.
    let evening = chrono_tz::Europe::London
        .with_ymd_and_hms(2026, 12, 1, 22, 30, 0)
        .unwrap()
        .with_timezone(&chrono::Utc);
    let clock = voxanne::clock::ManualClock::new(evening);
    let app = spawn_app_with_clock(clock.clock(), |s| enable_twilio(s, &twilio)).await;
    let c = app.bookable_clinic("Clinic").await;
    end_call(&app, &c.agent_key, report("call-late", "a nose job", None)).await;
    let morning = chrono_tz::Europe::London
        .with_ymd_and_hms(2026, 12, 2, 8, 0, 0)
        .unwrap()
        .with_timezone(&chrono::Utc);
    // Held in the outbox until 08:00, nothing sent.
    eventually("the job is held until the morning", || async {
        let r = app
            .get(
                &format!("/api/orgs/{}/outbox", c.clinic.org_id),
                Some(&c.clinic.token),
            )
            .await;
        let jobs: Value = r.json().await.unwrap();
        jobs["jobs"].as_array().unwrap().iter().any(|j| {
            j["kind"] == "sms"
                && j["next_attempt_at"]
                    .as_str()
                    .and_then(|t| t.parse::<chrono::DateTime<chrono::Utc>>().ok())
                    == Some(morning)
        })
    })
    .await;
    assert!(texts(&twilio).await.is_empty());
    clock.set(morning);
    wait_for_texts(&twilio, 1).await;
    eventually("sent at eight", || async {
        list(&app, &c, "followups").await[0]["sent_at"]
            .as_str()
            .and_then(|t| t.parse::<chrono::DateTime<chrono::Utc>>().ok())
            == Some(morning)
    })
    .await;
}

#[tokio::test]
async fn texts_queued_while_twilio_is_off_are_sent_once_after_a_restart() {
    let twilio = twilio_fake(0, 500).await;
    let app = spawn_app().await;
    let c = app.bookable_clinic("Clinic").await;
    texts_at_any_hour(&app, &c, json!({"followup_window_days": 0})).await;
    for (i, procedure) in ["rhinoplasty", "facelift", "breast augmentation"]
        .iter()
        .enumerate()
    {
        let mut r = report(&format!("call-{i}"), procedure, None);
        r["message"]["customer"]["number"] = json!(format!("+44791112345{i}"));
        end_call(&app, &c.agent_key, r).await;
    }
    let followups = list(&app, &c, "followups").await;
    assert_eq!(followups.len(), 3);
    assert!(followups.iter().all(|f| f["status"] == "queued"));
    let dir = app.stop().await.unwrap();

    let app = spawn_app_in(dir.path(), |s| enable_twilio(s, &twilio)).await;
    wait_for_texts(&twilio, 3).await;
    eventually("all three sent", || async {
        list(&app, &c, "followups")
            .await
            .iter()
            .all(|f| f["status"] == "sent")
    })
    .await;
    let sent = texts(&twilio).await;
    let mut to: Vec<&str> = sent.iter().map(|t| field(t, "To")).collect();
    to.sort();
    to.dedup();
    assert_eq!(to.len(), 3, "each number texted exactly once");
    drop(dir);
}

#[tokio::test]
async fn the_procedure_catalogue_starts_with_the_four_guides_the_admin_edits_it_and_staff_read_it()
{
    let app = spawn_app().await;
    let c = app.bookable_clinic("Clinic").await;
    let procedures = list(&app, &c, "procedures").await;
    let mut names: Vec<&str> = procedures
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "Breast Augmentation",
            "Facelift",
            "Liquid Rhinoplasty",
            "Rhinoplasty"
        ]
    );
    let facelift = procedures.iter().find(|p| p["name"] == "Facelift").unwrap();
    let id = facelift["id"].as_str().unwrap();
    let org = &c.clinic.org_id;
    // A bad template is refused; a good one is kept, with the clinic's own agent.
    let r = app
        .request(reqwest::Method::PUT, &format!("/api/orgs/{org}/procedures/{id}"), Some(&c.clinic.token),
            Some(json!({"name": "Facelift", "synonyms": ["face lift"], "guide_link": "/guides/facelift-guide.pdf", "sms_template": "Hi {{ patientName "})))
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = app
        .request(reqwest::Method::PUT, &format!("/api/orgs/{org}/procedures/{id}"), Some(&c.clinic.token),
            Some(json!({"name": "Facelift", "synonyms": ["face lift", "mini lift"], "guide_link": "https://cdn.example/facelift.pdf",
                        "sms_template": "Hello {{ patientName }}, your {{ procedure }} guide: {{ pdfLink }} — {{ agentName }}", "agent_name": "emma_outbound"})))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .post(&format!("/api/orgs/{org}/procedures"), Some(&c.clinic.token),
            json!({"name": "Lip Filler", "synonyms": ["lip fillers", "lip injections"], "guide_link": "/guides/lips.pdf"}))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let names: Vec<String> = list(&app, &c, "procedures")
        .await
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names.len(), 5);
    // Staff may read, not write.
    let (_, staff) = app.add_user_token(&c.clinic, "staff").await;
    let r = app
        .get(&format!("/api/orgs/{org}/procedures"), Some(&staff))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.json::<Value>().await.unwrap()["procedures"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
    let r = app
        .post(
            &format!("/api/orgs/{org}/procedures"),
            Some(&staff),
            json!({"name": "X", "guide_link": "/x.pdf"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // The edited template is used.
    end_call(
        &app,
        &c.agent_key,
        report(
            "call-mini",
            "thinking about a mini lift",
            Some("Rose Tyler"),
        ),
    )
    .await;
    let f = &list(&app, &c, "followups").await[0];
    assert_eq!(
        f["body"],
        "Hello Rose, your Facelift guide: https://cdn.example/facelift.pdf — Emma"
    );
    assert_eq!(f["template"], "Facelift");
    assert_eq!(f["agent_name"], "emma_outbound");
}

/// The outbox's reminder jobs, as `(due, for_start)`.
async fn reminder_jobs(app: &TestApp, c: &BookableClinic) -> Vec<(String, String)> {
    let r = app
        .get(
            &format!("/api/orgs/{}/outbox", c.clinic.org_id),
            Some(&c.clinic.token),
        )
        .await;
    let jobs: Value = r.json().await.unwrap();
    jobs["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["kind"] == "reminder")
        .map(|j| {
            (
                j["next_attempt_at"].as_str().unwrap().to_string(),
                j["for_start"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn utc(t: &str) -> chrono::DateTime<chrono::Utc> {
    t.parse().unwrap()
}

#[tokio::test]
async fn reminders_are_queued_with_the_booking_dropped_when_it_is_cancelled_and_moved_with_it() {
    use chrono::TimeZone;
    let twilio = twilio_fake(0, 500).await;
    let london = chrono_tz::Europe::London;
    let monday_noon = london
        .with_ymd_and_hms(2026, 12, 7, 12, 0, 0)
        .unwrap()
        .with_timezone(&chrono::Utc);
    let clock = voxanne::clock::ManualClock::new(monday_noon);
    let app = spawn_app_with_clock(clock.clock(), |s| enable_twilio(s, &twilio)).await;
    let c = app.bookable_clinic("Clinic").await;
    let book = |date: &'static str, time: &'static str, phone: &'static str| {
        let (app, c) = (&app, &c);
        async move {
            let r = app
                .post(
                    &format!("/api/orgs/{}/appointments", c.clinic.org_id),
                    Some(&c.clinic.token),
                    json!({"provider_id": c.smith, "service_id": c.service_id, "date": date, "time": time,
                           "patient": {"name": "Jane Doe", "phone": phone}}),
                )
                .await;
            assert_eq!(r.status(), StatusCode::CREATED);
            r.json::<Value>().await.unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    // Thursday 14:00: the reminder is due Wednesday 14:00.
    let kept = book("2026-12-10", "14:00", "07911 123456").await;
    // Thursday 09:00: 24 hours before is fine too (09:00 is outside quiet hours).
    let cancelled = book("2026-12-10", "09:00", "07911 123457").await;
    // Friday 10:00, to be moved to Saturday 16:00.
    let moved = book("2026-12-11", "10:00", "07911 123458").await;
    let jobs = reminder_jobs(&app, &c).await;
    assert_eq!(jobs.len(), 3, "{jobs:?}");
    assert!(jobs
        .iter()
        .any(|(due, _)| utc(due) == utc("2026-12-09T14:00:00Z")));

    let org = &c.clinic.org_id;
    let r = app
        .post(
            &format!("/api/orgs/{org}/appointments/{cancelled}/cancel"),
            Some(&c.clinic.token),
            json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .post(
            &format!("/api/orgs/{org}/appointments/{moved}/reschedule"),
            Some(&c.clinic.token),
            json!({"date": "2026-12-12", "time": "16:00"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(reminder_jobs(&app, &c).await.len(), 4);

    // Wednesday 09:00: the cancelled appointment's reminder falls due and sends nothing.
    clock.set(utc("2026-12-09T09:00:00Z"));
    eventually(
        "the cancelled appointment's reminder leaves the queue",
        || async { reminder_jobs(&app, &c).await.len() == 3 },
    )
    .await;
    assert!(texts(&twilio).await.is_empty());
    // Wednesday 14:00: the kept appointment's reminder goes.
    clock.set(utc("2026-12-09T14:00:00Z"));
    let sent = wait_for_texts(&twilio, 1).await;
    assert_eq!(field(&sent[0], "To"), "+447911123456");
    let body = field(&sent[0], "Body");
    assert!(
        body.contains("Dr Smith") && body.contains("Thursday 10 December") && body.contains("2 pm"),
        "{body}"
    );
    // Friday 10:00 passes the old start's reminder: nothing; Friday 16:00 the moved one goes.
    clock.set(utc("2026-12-10T10:00:00Z"));
    eventually("the stale reminder leaves the queue", || async {
        reminder_jobs(&app, &c).await.len() == 1
    })
    .await;
    assert_eq!(texts(&twilio).await.len(), 1);
    clock.set(utc("2026-12-11T16:00:00Z"));
    let sent = wait_for_texts(&twilio, 2).await;
    assert_eq!(field(&sent[1], "To"), "+447911123458");
    assert!(field(&sent[1], "Body").contains("Saturday 12 December"));
    // Twilio has the text a moment before its outcome is recorded.
    eventually("both reminders recorded as sent", || async {
        let reminders: Vec<Value> = list(&app, &c, "followups")
            .await
            .into_iter()
            .filter(|f| f["purpose"] == "reminder")
            .collect();
        reminders.len() == 2 && reminders.iter().all(|f| f["status"] == "sent")
    })
    .await;
    let _ = kept;
}

#[tokio::test]
async fn a_reminder_that_would_fall_in_quiet_hours_goes_at_the_last_allowed_minute_before() {
    use chrono::TimeZone;
    let twilio = twilio_fake(0, 500).await;
    let now = chrono_tz::Europe::London
        .with_ymd_and_hms(2026, 12, 7, 12, 0, 0)
        .unwrap()
        .with_timezone(&chrono::Utc);
    let clock = voxanne::clock::ManualClock::new(now);
    let app = spawn_app_with_clock(clock.clock(), |s| enable_twilio(s, &twilio)).await;
    let c = app.bookable_clinic("Clinic").await;
    let org = &c.clinic.org_id;
    // Hours from 07:00 so an early appointment exists.
    let week: serde_json::Map<String, Value> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .map(|d| (d.to_string(), json!([["07:00", "17:00"]])))
        .collect();
    let r = app
        .post(
            &format!("/api/orgs/{org}/providers"),
            Some(&c.clinic.token),
            json!({"name": "Dr Early", "service_ids": [c.service_id], "weekly_hours": week}),
        )
        .await;
    let early = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app
        .post(&format!("/api/orgs/{org}/appointments"), Some(&c.clinic.token),
            json!({"provider_id": early, "service_id": c.service_id, "date": "2026-12-10", "time": "07:00",
                   "patient": {"name": "Jane Doe", "phone": "07911 123456"}}))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    // 24 hours before is 07:00 Wednesday, inside quiet hours (21:00–08:00): it goes at 20:59
    // on Tuesday instead.
    let jobs = reminder_jobs(&app, &c).await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(utc(&jobs[0].0), utc("2026-12-08T20:59:00Z"));
}

#[tokio::test]
async fn staff_record_outcomes_once_the_appointment_has_started_and_no_shows_are_counted() {
    use chrono::TimeZone;
    let now = chrono_tz::Europe::London
        .with_ymd_and_hms(2026, 12, 7, 12, 0, 0)
        .unwrap()
        .with_timezone(&chrono::Utc);
    let clock = voxanne::clock::ManualClock::new(now);
    let app = spawn_app_with_clock(clock.clock(), |_| {}).await;
    let c = app.bookable_clinic("Clinic").await;
    let org = &c.clinic.org_id;
    let mut ids = Vec::new();
    for time in ["14:00", "15:00"] {
        let r = app
            .post(&format!("/api/orgs/{org}/appointments"), Some(&c.clinic.token),
                json!({"provider_id": c.smith, "service_id": c.service_id, "date": "2026-12-08", "time": time,
                       "patient": {"name": "Jane Doe", "phone": "07911 123456"}}))
            .await;
        ids.push(
            r.json::<Value>().await.unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    // Not before it has started.
    let r = app
        .post(
            &format!("/api/orgs/{org}/appointments/{}/complete", ids[0]),
            Some(&c.clinic.token),
            json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    clock.set(utc("2026-12-08T16:00:00Z"));
    let r = app
        .post(
            &format!("/api/orgs/{org}/appointments/{}/complete", ids[0]),
            Some(&c.clinic.token),
            json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "completed");
    let r = app
        .post(
            &format!("/api/orgs/{org}/appointments/{}/no-show", ids[1]),
            Some(&c.clinic.token),
            json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "no_show");
    // A finished appointment's outcome does not change, and cannot be cancelled.
    let r = app
        .post(
            &format!("/api/orgs/{org}/appointments/{}/no-show", ids[0]),
            Some(&c.clinic.token),
            json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let contacts: Value = app
        .get(
            &format!("/api/orgs/{org}/contacts?phone=07911123456"),
            Some(&c.clinic.token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(contacts["contacts"][0]["no_shows"], 1);
    let actions = app.audit_actions(&c.clinic).await;
    assert!(
        actions.contains(&"appointment_completed".to_string())
            && actions.contains(&"appointment_no_show".to_string())
    );
}

#[tokio::test]
async fn a_number_that_cannot_take_texts_is_not_texted_and_the_followup_says_why() {
    let twilio = twilio_fake(0, 500).await;
    let app = spawn_app_with(|s| enable_twilio(s, &twilio)).await;
    let c = app.bookable_clinic("Clinic").await;
    texts_at_any_hour(&app, &c, json!({})).await;
    // A possible UK mobile number from a range the numbering plan lists as unallocated.
    let mut r = report("call-unallocated", "a nose job", None);
    r["message"]["customer"]["number"] = json!("+447700900555");
    end_call(&app, &c.agent_key, r).await;
    eventually("the follow-up is suppressed", || async {
        list(&app, &c, "followups").await[0]["status"] == "suppressed"
    })
    .await;
    let f = &list(&app, &c, "followups").await[0];
    assert_eq!(
        f["reason"],
        "not sent: the number is not in an allocated range"
    );
    assert!(texts(&twilio).await.is_empty());
    // The lead is still there for staff to call.
    assert_eq!(list(&app, &c, "leads").await[0]["phone"], "+447700900555");
}

#[tokio::test]
async fn a_call_that_booked_under_another_number_is_not_followed_up() {
    let twilio = twilio_fake(0, 500).await;
    let app = spawn_app_with(|s| enable_twilio(s, &twilio)).await;
    let c = app.bookable_clinic("Clinic").await;
    // The caller rings from their mobile and books for their landline.
    let booked = app
        .vapi_tool_from(&c.agent_key, CALLER, "call-other-number", "tc-1", "book_appointment",
            json!({"appointment_date": date_in(3), "appointment_time": "2pm", "provider_name": "Dr Smith",
                   "service": "rhinoplasty", "patient_name": "Jane Doe", "patient_phone": "020 7946 0123"}))
        .await;
    assert!(booked["appointment_id"].is_string(), "{booked}");
    end_call(
        &app,
        &c.agent_key,
        report("call-other-number", "rhinoplasty please", None),
    )
    .await;
    assert!(list(&app, &c, "leads").await.is_empty());
    assert!(list(&app, &c, "followups").await.is_empty());
}

#[tokio::test]
async fn a_text_held_overnight_is_not_sent_once_the_caller_has_booked() {
    use chrono::TimeZone;
    let twilio = twilio_fake(0, 500).await;
    let evening = chrono_tz::Europe::London
        .with_ymd_and_hms(2026, 12, 1, 22, 30, 0)
        .unwrap()
        .with_timezone(&chrono::Utc);
    let clock = voxanne::clock::ManualClock::new(evening);
    let app = spawn_app_with_clock(clock.clock(), |s| enable_twilio(s, &twilio)).await;
    let c = app.bookable_clinic("Clinic").await;
    end_call(
        &app,
        &c.agent_key,
        report("call-evening", "a nose job", None),
    )
    .await;
    // Later that evening the caller books online with staff.
    let r = app
        .post(&format!("/api/orgs/{}/appointments", c.clinic.org_id), Some(&c.clinic.token),
            json!({"provider_id": c.smith, "service_id": c.service_id, "date": "2026-12-04", "time": "10:00",
                   "patient": {"name": "Jane Doe", "phone": "07911 123456"}}))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(list(&app, &c, "leads").await[0]["status"], "booked");
    clock.set(utc("2026-12-02T08:00:00Z"));
    eventually("the held text is dropped", || async {
        list(&app, &c, "followups")
            .await
            .iter()
            .any(|f| f["purpose"] == "call_follow_up" && f["status"] == "suppressed")
    })
    .await;
    let f = list(&app, &c, "followups")
        .await
        .into_iter()
        .find(|f| f["purpose"] == "call_follow_up")
        .unwrap();
    assert_eq!(f["reason"], "the caller has booked since");
    assert!(texts(&twilio).await.is_empty());
}

#[tokio::test]
async fn a_reminder_moved_away_and_back_is_sent_once_and_stop_to_a_reminder_opts_out() {
    use chrono::TimeZone;
    let twilio = twilio_fake(0, 500).await;
    let now = chrono_tz::Europe::London
        .with_ymd_and_hms(2026, 12, 7, 12, 0, 0)
        .unwrap()
        .with_timezone(&chrono::Utc);
    let clock = voxanne::clock::ManualClock::new(now);
    let app = spawn_app_with_clock(clock.clock(), |s| enable_twilio(s, &twilio)).await;
    let c = app.bookable_clinic("Clinic").await;
    let org = &c.clinic.org_id;
    let r = app
        .post(&format!("/api/orgs/{org}/appointments"), Some(&c.clinic.token),
            json!({"provider_id": c.smith, "service_id": c.service_id, "date": "2026-12-10", "time": "14:00",
                   "patient": {"name": "Jane Doe", "phone": "07911 123456"}}))
        .await;
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    for (date, time) in [("2026-12-11", "14:00"), ("2026-12-10", "14:00")] {
        let r = app
            .post(
                &format!("/api/orgs/{org}/appointments/{id}/reschedule"),
                Some(&c.clinic.token),
                json!({"date": date, "time": time}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
    }
    clock.set(utc("2026-12-09T14:00:00Z"));
    wait_for_texts(&twilio, 1).await;
    eventually("both jobs for the start are done", || async {
        reminder_jobs(&app, &c).await.len() == 1
    })
    .await;
    assert_eq!(texts(&twilio).await.len(), 1);
    // The patient answers the reminder (sent from the install's shared number) with STOP.
    let stop = [("From", CALLER), ("To", "+447700900000"), ("Body", "STOP")];
    let r = signed(&app, "/api/webhooks/twilio/inbound", &stop, TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(list(&app, &c, "sms/opt-outs").await.len(), 1);
}

/// A STOP to the install's shared sender from a number no clinic has texted yet holds for that
/// sender and number (as it does at Twilio and the carriers): the first call from the number
/// afterwards gets no text. START lifts it.
#[tokio::test]
async fn a_stop_from_a_number_never_texted_holds_for_the_sender_and_start_lifts_it() {
    let twilio = twilio_fake(0, 500).await;
    let app = spawn_app_with(|s| enable_twilio(s, &twilio)).await;
    let c = app.bookable_clinic("Clinic").await;
    texts_at_any_hour(&app, &c, json!({"followup_window_days": 0})).await;
    let stop = [("From", CALLER), ("To", "+447700900000"), ("Body", "STOP")];
    let r = signed(&app, "/api/webhooks/twilio/inbound", &stop, TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    end_call(
        &app,
        &c.agent_key,
        report("call-after-stop", "rhinoplasty", None),
    )
    .await;
    eventually("the text is suppressed", || async {
        list(&app, &c, "followups").await.iter().any(|f| {
            f["call_id"] == "call-after-stop"
                && f["status"] == "suppressed"
                && f["reason"] == "the number has opted out of texts"
        })
    })
    .await;
    assert!(texts(&twilio).await.is_empty());
    let start = [("From", CALLER), ("To", "+447700900000"), ("Body", "START")];
    signed(&app, "/api/webhooks/twilio/inbound", &start, TOKEN)
        .send()
        .await
        .unwrap();
    end_call(
        &app,
        &c.agent_key,
        report("call-after-start", "a facelift", None),
    )
    .await;
    let sent = wait_for_texts(&twilio, 1).await;
    assert_eq!(field(&sent[0], "To"), CALLER);
}

/// Twilio's 21610 (the number unsubscribed from this sender) holds for the sender: another
/// clinic texting from the install's shared number does not text the number either.
#[tokio::test]
async fn twilios_unsubscribed_answer_stops_every_clinic_on_that_sender() {
    let unsubscribed = twilio_refusing(21610, "Attempt to send to unsubscribed recipient").await;
    let app = spawn_app_with(|s| enable_twilio(s, &unsubscribed)).await;
    let first = app.bookable_clinic("First").await;
    let second = app.bookable_clinic("Second").await;
    for c in [&first, &second] {
        texts_at_any_hour(&app, c, json!({})).await;
    }
    end_call(
        &app,
        &first.agent_key,
        report("call-first", "a facelift", None),
    )
    .await;
    eventually("the first clinic's text fails as unsubscribed", || async {
        list(&app, &first, "followups").await[0]["error_code"] == "21610"
    })
    .await;
    end_call(
        &app,
        &second.agent_key,
        report("call-second", "a facelift", None),
    )
    .await;
    eventually("the second clinic's text is suppressed", || async {
        list(&app, &second, "followups").await[0]["status"] == "suppressed"
    })
    .await;
    assert_eq!(texts(&unsubscribed).await.len(), 1);
}
