//! The staff console in a real browser: Debian's headless Chromium driven through WebDriver
//! (`chromedriver`, fantoccini) against the real server on 127.0.0.1. Sign in, the diary,
//! booking from the day view, a slot taken under the receptionist's feet, the clinical note a
//! clinician may open and reception may not (and the audit page showing the read), and one
//! clinic never seeing another's data. Screenshots of the main pages are written to
//! `target/tmp/console-screenshots/` (git-ignored) for a person to look at.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

/// A headless Chromium under its own chromedriver, ended with the test.
struct Browser {
    client: Client,
    driver: Child,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn browser() -> Browser {
    let port = free_port();
    let driver = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver (Debian package chromium-driver; .ci/run installs it)");
    let url = format!("http://127.0.0.1:{port}");
    // chromedriver answers /status once it listens; bounded wait.
    let http = reqwest::Client::new();
    let mut ready = false;
    for _ in 0..200 {
        if http
            .get(format!("{url}/status"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ready, "chromedriver did not start");
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900"],
        }),
    );
    // chromedriver speaks plain HTTP on loopback.
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&url)
        .await
        .expect("a Chromium session");
    Browser { client, driver }
}

impl Browser {
    async fn open(&self, app: &TestApp, path: &str) {
        self.client
            .goto(&format!("{}{path}", app.base))
            .await
            .unwrap();
    }

    async fn source(&self) -> String {
        self.client.source().await.unwrap()
    }

    async fn fill(&self, css: &str, text: &str) {
        let e = self.client.find(Locator::Css(css)).await.unwrap();
        e.clear().await.unwrap();
        e.send_keys(text).await.unwrap();
    }

    async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|_| panic!("no {css} on the page"))
            .click()
            .await
            .unwrap();
    }

    async fn click_link(&self, text: &str) {
        self.client
            .find(Locator::LinkText(text))
            .await
            .unwrap_or_else(|_| panic!("no link {text:?}"))
            .click()
            .await
            .unwrap();
    }

    /// Waits (bounded) until the page has `css`.
    async fn wait_for(&self, css: &str) {
        if self
            .client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .is_err()
        {
            let url = self.client.current_url().await.map(|u| u.to_string());
            panic!("{css} never appeared on {url:?}: {}", self.source().await);
        }
    }

    /// Waits (bounded) until the page says `text` (after a click that leaves a page with the
    /// same elements, an element alone would be found on the old page).
    async fn wait_for_text(&self, text: &str) {
        for _ in 0..200 {
            if self.source().await.contains(text) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the page never said {text:?}: {}", self.source().await);
    }

    async fn sign_in(&self, app: &TestApp, email: &str) {
        self.client.delete_all_cookies().await.unwrap();
        self.open(app, "/console/login").await;
        self.fill("input[name=email]", email).await;
        self.fill("input[name=password]", PASSWORD).await;
        self.click("form.card button[type=submit]").await;
        self.wait_for("header.top").await;
    }

    /// From the diary: "Book an appointment", the service, "Show free times"; the free time
    /// the page has chosen (`provider|start`).
    async fn free_times_for(&self, service_id: &str) -> String {
        self.click_link("Book an appointment").await;
        self.wait_for("select[name=service_id]").await;
        self.client
            .find(Locator::Css("select[name=service_id]"))
            .await
            .unwrap()
            .select_by_value(service_id)
            .await
            .unwrap();
        self.click("main form[method=get] button[type=submit]")
            .await;
        self.wait_for("input[name=slot]").await;
        self.client
            .find(Locator::Css("input[name=slot]:checked"))
            .await
            .unwrap()
            .attr("value")
            .await
            .unwrap()
            .unwrap()
    }

    async fn screenshot(&self, name: &str) {
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let png = self.client.screenshot().await.unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }
}

/// Adds a user with `role`; returns their email and id.
pub async fn add_user(app: &TestApp, clinic: &Clinic, role: &str) -> (String, String) {
    let email = format!("{role}-{}@clinic.example", uuid::Uuid::new_v4().simple());
    let r = app
        .post(
            &format!("/api/orgs/{}/users", clinic.org_id),
            Some(&clinic.token),
            json!({"email": email, "password": PASSWORD, "role": role, "full_name": format!("A {role}")}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = r.json::<Value>().await.unwrap()["user_id"]
        .as_str()
        .unwrap()
        .to_string();
    (email, id)
}

/// Files an end-of-call report whose transcript carries a clinical sentence; returns the id
/// of the clinical note it left.
pub async fn file_a_call_with_a_note(app: &TestApp, clinic: &Clinic) -> String {
    let (_, key) = app.create_agent_key(clinic).await;
    let mut report: Value = serde_json::from_str(include_str!(
        "../fixtures/vapi/end-of-call-report.captured.json"
    ))
    .unwrap();
    let call_id = format!("call-{}", uuid::Uuid::new_v4().simple());
    let m = &mut report["message"];
    m["call"]["id"] = json!(call_id);
    m["artifact"]["transcript"] = json!(
        "AI: Thank you for calling, how can I help?\nUser: I take warfarin every day, is a rhinoplasty safe?\nAI: A clinician will call you back."
    );
    m["analysis"]["summary"] =
        json!("Caller asked whether rhinoplasty is safe with their medication.");
    m["customer"]["number"] = json!("+447911123456");
    let r = app.post("/api/vapi", Some(&key), report).await;
    assert_eq!(r.status(), StatusCode::OK);
    let notes: Value = app
        .get(
            &format!(
                "/api/orgs/{}/clinical-notes?call_id={call_id}",
                clinic.org_id
            ),
            Some(&clinic.token),
        )
        .await
        .json()
        .await
        .unwrap();
    notes["clinical_notes"][0]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn reception_signs_in_sees_the_day_and_books_even_when_a_slot_is_taken_meanwhile() {
    let app = spawn_app().await;
    let c = app.bookable_clinic("Harley Aesthetics").await;
    let tomorrow = date_in(1);
    let r = app
        .book_via_rest(&c, &c.smith, &tomorrow, "10:00", None)
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let (reception, _) = add_user(&app, &c.clinic, "staff").await;

    let b = browser().await;
    b.sign_in(&app, &reception).await;
    let page = b.source().await;
    assert!(page.contains("Today, "), "the diary opens on today");
    b.screenshot("diary-today").await;

    // The next day, with the appointment booked through the API.
    b.click_link("Later →").await;
    b.wait_for("section.day").await;
    let page = b.source().await;
    assert!(
        page.contains("Jane Doe") && page.contains("10:00"),
        "{page}"
    );
    assert!(page.contains("Dr Smith") && page.contains("pending"));
    b.screenshot("diary-day").await;

    // Book from the day view: service, the free times the rule engine offers, the patient.
    let first_slot = b.free_times_for(&c.service_id).await;
    b.fill("input[name=name]", "Priya Sharma").await;
    b.fill("input[name=phone]", "07700 900456").await;
    b.screenshot("book").await;
    b.click("main form[method=post] button[type=submit]").await;
    b.wait_for_text("Booked ").await;
    let page = b.source().await;
    assert!(
        page.contains("Booked ") && page.contains("Priya Sharma"),
        "{page}"
    );
    let listed = app.appointments(&c).await;
    assert!(listed
        .iter()
        .any(|a| a["patient"]["name"] == "Priya Sharma" && a["source"] == "staff"));

    // The conflict: the free time shown is taken by another booking before the form is sent.
    let shown = b.free_times_for(&c.service_id).await;
    assert_ne!(shown, first_slot, "the booked time is no longer offered");
    let (provider, start) = shown.split_once('|').unwrap();
    let r = app
        .post(
            &format!("/api/orgs/{}/appointments", c.clinic.org_id),
            Some(&c.clinic.token),
            json!({"provider_id": provider, "service_id": c.service_id, "start": start,
                   "patient": {"name": "Someone Else", "phone": "07700 900789"}}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    b.fill("input[name=name]", "Oliver Grant").await;
    b.fill("input[name=phone]", "07700 900321").await;
    b.click("main form[method=post] button[type=submit]").await;
    b.wait_for_text("That time has just been taken").await;
    let page = b.source().await;
    assert!(page.contains("That time has just been taken"), "{page}");
    assert!(page.contains("Free times instead"));
    b.screenshot("book-conflict").await;
    // The alternatives keep the patient's details; booking one of them works.
    b.click("main form[method=post] button[type=submit]").await;
    b.wait_for_text("Booked ").await;
    assert!(b.source().await.contains("Oliver Grant"));
    let listed = app.appointments(&c).await;
    let oliver = listed
        .iter()
        .find(|a| a["patient"]["name"] == "Oliver Grant")
        .expect("booked from an alternative");
    assert_ne!(oliver["start"].as_str(), Some(start));

    // The same day on a tablet held upright: everything still on the page, nothing hidden.
    b.client.set_window_size(820, 1180).await.unwrap();
    b.click_link("Diary").await;
    b.wait_for("section.day").await;
    assert!(b.source().await.contains("Sign out"));
    b.screenshot("diary-tablet").await;
}

#[tokio::test]
async fn a_clinician_opens_a_note_reception_cannot_and_the_audit_page_shows_the_read() {
    let app = spawn_app().await;
    let clinic = app
        .signup("Harley Aesthetics", "admin@harley.example")
        .await;
    let note_id = file_a_call_with_a_note(&app, &clinic).await;
    let (reception, _) = add_user(&app, &clinic, "staff").await;
    let (clinician, clinician_id) = add_user(&app, &clinic, "clinician").await;

    // Another clinic, with a call and a patient of its own.
    let other = app.signup("Other Clinic", "admin@other.example").await;
    let other_note = file_a_call_with_a_note(&app, &other).await;

    let b = browser().await;
    b.sign_in(&app, &reception).await;
    b.click_link("Calls").await;
    b.wait_for("main table").await;
    b.screenshot("calls").await;
    b.click("main table a").await;
    b.wait_for("pre.transcript").await;
    let page = b.source().await;
    assert!(
        page.contains("[MEDICATION]"),
        "the transcript is redacted: {page}"
    );
    assert!(!page.contains("warfarin"));
    assert!(page.contains("Clinical notes are for clinicians"));
    b.open(&app, &format!("/console/notes/{note_id}")).await;
    b.wait_for_text("Your role cannot do this").await;
    assert!(!b.source().await.contains("warfarin"));

    b.sign_in(&app, &clinician).await;
    b.click_link("Calls").await;
    b.wait_for("main table").await;
    b.click("main table a").await;
    b.wait_for("pre.transcript").await;
    b.click("main ul a").await;
    b.wait_for("pre.note").await;
    let page = b.source().await;
    assert!(
        page.contains("warfarin"),
        "the clinician reads the note: {page}"
    );
    b.screenshot("clinical-note").await;
    // Another clinic's note, by its id: not there for this clinic.
    b.open(&app, &format!("/console/notes/{other_note}")).await;
    b.wait_for_text("It may have been removed").await;
    assert!(!b.source().await.contains("warfarin"));

    b.sign_in(&app, &clinic.email).await;
    b.click_link("Audit log").await;
    b.wait_for("main table").await;
    let page = b.source().await;
    assert!(page.contains("clinical note read"), "{page}");
    assert!(page.contains(&format!("user:{clinician_id}")));
    b.click("main form button[type=submit]").await;
    b.wait_for_text("The chain holds").await;
    assert!(b.source().await.contains("The chain holds"));
    b.screenshot("audit").await;

    // Nothing of the other clinic anywhere in this clinic's pages.
    for page in [
        "/console/calls",
        "/console/leads",
        "/console/kb",
        "/console/audit",
        "/console/settings",
    ] {
        b.open(&app, page).await;
        let html = b.source().await;
        assert!(
            !html.contains("Other Clinic") && !html.contains(&other.org_id),
            "{page}"
        );
    }
    b.screenshot("settings").await;
}

/// How many requests the fake received at `path`.
async fn requests_to(server: &wiremock::MockServer, path: &str) -> usize {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == path)
        .count()
}

/// Google's consent page, played by the fake: checks what the appliance asked for and sends
/// the browser back to the appliance with a code and the same state.
struct ConsentPage {
    app_base: String,
    expected_redirect: String,
}

impl wiremock::Respond for ConsentPage {
    fn respond(&self, request: &wiremock::Request) -> wiremock::ResponseTemplate {
        let q: std::collections::HashMap<String, String> =
            request.url.query_pairs().into_owned().collect();
        let asked_right = q.get("client_id").map(String::as_str) == Some("harley-oauth-client")
            && q.get("response_type").map(String::as_str) == Some("code")
            && q.get("access_type").map(String::as_str) == Some("offline")
            && q.get("scope")
                .is_some_and(|s| s.contains("https://www.googleapis.com/auth/calendar"))
            && q.get("redirect_uri") == Some(&self.expected_redirect)
            && q.get("code_challenge_method").map(String::as_str) == Some("S256")
            && q.get("code_challenge").is_some_and(|c| c.len() == 43);
        if !asked_right {
            return wiremock::ResponseTemplate::new(400)
                .set_body_string("bad authorization request");
        }
        let state = q.get("state").cloned().unwrap_or_default();
        wiremock::ResponseTemplate::new(302).insert_header(
            "location",
            format!(
                "{}/console/calendar/callback?code=auth-code-1&state={state}&scope=calendar",
                self.app_base
            ),
        )
    }
}

#[tokio::test]
async fn an_admin_connects_the_clinics_google_calendar_and_appointments_reach_the_chosen_calendar()
{
    use wiremock::matchers::{body_string_contains, header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let google = MockServer::start().await;
    let public_url = "http://voxanne.harley.example";
    let g = google.uri();
    let app = spawn_app_with(|s| {
        s.server.public_url = public_url.into();
        s.google_calendar.enabled = false; // no install-wide calendar: only clinics' own
        s.google_calendar.client_id = "harley-oauth-client".into();
        s.google_calendar.client_secret = voxanne::config::Secret::new("harley-oauth-secret");
        s.google_calendar.base_url = g.clone();
        s.google_calendar.token_url = format!("{g}/token");
        s.google_calendar.auth_url = format!("{g}/o/oauth2/v2/auth");
        s.google_calendar.revoke_url = format!("{g}/revoke");
    })
    .await;
    Mock::given(method("GET"))
        .and(path("/o/oauth2/v2/auth"))
        .respond_with(ConsentPage {
            app_base: app.base.clone(),
            expected_redirect: format!("{public_url}/console/calendar/callback"),
        })
        .mount(&google)
        .await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains("grant_type=authorization_code"))
        .and(body_string_contains("code=auth-code-1"))
        .and(body_string_contains("client_secret=harley-oauth-secret"))
        .and(body_string_contains("redirect_uri=http%3A%2F%2Fvoxanne.harley.example%2Fconsole%2Fcalendar%2Fcallback"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "at-first", "refresh_token": "rt-harley-secret", "expires_in": 3600, "token_type": "Bearer"
        })))
        .mount(&google)
        .await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains("refresh_token=rt-harley-secret"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": "at-harley", "expires_in": 3600, "token_type": "Bearer"}),
        ))
        .mount(&google)
        .await;
    Mock::given(method("GET"))
        .and(path("/users/me/calendarList"))
        .and(header("authorization", "Bearer at-harley"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"items": [
            {"id": "front-desk@group.calendar.google.com", "summary": "Front desk", "primary": true},
            {"id": "dr-smith@group.calendar.google.com", "summary": "Dr Smith's diary"}
        ]})))
        .mount(&google)
        .await;
    Mock::given(method("POST"))
        .and(path(
            "/calendars/dr-smith%40group.calendar.google.com/events",
        ))
        .and(header("authorization", "Bearer at-harley"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "confirmed"})))
        .mount(&google)
        .await;
    Mock::given(method("POST"))
        .and(path("/revoke"))
        .and(body_string_contains("token=rt-harley-secret"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&google)
        .await;

    let c = app.bookable_clinic("Harley Aesthetics").await;
    // Another clinic on the same appliance that connects nothing.
    let other = app.bookable_clinic("Other Clinic").await;

    let b = browser().await;
    b.sign_in(&app, &c.clinic.email).await;
    b.click_link("Settings").await;
    b.wait_for("main section").await;
    b.click_link("Google Calendar connection").await;
    b.wait_for("main a.button").await;
    b.screenshot("calendar-not-connected").await;
    b.click_link("Connect Google Calendar").await;
    // Google's consent page (the fake) sends the browser straight back.
    b.wait_for("main form button[type=submit]").await;
    assert!(b.source().await.contains("Google has allowed access"));
    b.click("main form button[type=submit]").await;
    b.wait_for_text("Google Calendar connected").await;
    let page = b.source().await;
    assert!(page.contains("Front desk") && page.contains("Dr Smith's diary"));
    b.click("input[value='dr-smith@group.calendar.google.com']")
        .await;
    b.click("main form.card button[type=submit]").await;
    b.wait_for_text("New appointments will go to that calendar")
        .await;
    assert!(b
        .source()
        .await
        .contains("New appointments will go to that calendar"));
    b.screenshot("calendar-connected").await;

    // PKCE: the code was exchanged with the verifier whose S256 challenge the consent page saw.
    let requests = google.received_requests().await.unwrap();
    let challenge = requests
        .iter()
        .find(|r| r.url.path() == "/o/oauth2/v2/auth")
        .and_then(|r| {
            r.url
                .query_pairs()
                .find(|(k, _)| k == "code_challenge")
                .map(|(_, v)| v.into_owned())
        })
        .expect("the consent page was asked with a PKCE challenge");
    let verifier = requests
        .iter()
        .filter(|r| r.url.path() == "/token")
        .flat_map(|r| {
            form_urlencoded::parse(&r.body)
                .into_owned()
                .collect::<Vec<_>>()
        })
        .find(|(k, _)| k == "code_verifier")
        .map(|(_, v)| v)
        .expect("the code exchange sent a PKCE verifier");
    assert_eq!(
        voxanne::integrations::google::pkce_challenge(&verifier),
        challenge
    );

    // The clinic's refresh token is kept sealed: not in the database file as written.
    let file = std::fs::read(app.data_dir.join("voxanne.redb")).unwrap();
    assert!(
        !file.windows(16).any(|w| w == b"rt-harley-secret"),
        "the refresh token is on disk in the clear"
    );

    // The other clinic books first: it has no calendar and the install none, so its calendar
    // job waits, queued and visible, instead of going anywhere.
    let tomorrow = date_in(1);
    let r = app
        .book_via_rest(&other, &other.smith, &tomorrow, "11:00", None)
        .await;
    let other_id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();

    // A booking reaches the chosen calendar with the clinic's own credentials.
    let r = app
        .book_via_rest(&c, &c.smith, &tomorrow, "11:00", None)
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    crate::outbox::eventually("the event at the clinic's chosen calendar", || async {
        app.appointment(&c, &id).await["calendar_sync"] == "synced"
    })
    .await;
    assert_eq!(
        requests_to(
            &google,
            "/calendars/dr-smith%40group.calendar.google.com/events"
        )
        .await,
        1
    );
    assert_eq!(
        app.appointment(&other, &other_id).await["calendar_sync"],
        "pending"
    );
    let queue = app.outbox_jobs(&other.clinic).await;
    let waiting = queue
        .iter()
        .find(|j| j["kind"] == "calendar_upsert" && j["appointment_id"] == other_id.as_str())
        .expect("the other clinic's calendar job is still queued");
    assert_eq!(waiting["attempts"], 0);
    // Looked at (it was due before the first clinic's) and put off, not failed.
    let next: chrono::DateTime<chrono::Utc> = waiting["next_attempt_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(next > chrono::Utc::now() + chrono::Duration::minutes(5));

    // Disconnect: revoked at Google, forgotten here.
    b.open(&app, "/console/calendar").await;
    b.click("form.inline button.danger").await;
    b.wait_for_text("Google has withdrawn the appliance's access")
        .await;
    let page = b.source().await;
    assert!(
        page.contains("Google has withdrawn the appliance's access"),
        "{page}"
    );
    assert!(page.contains("Connect Google Calendar"));
    let revoked = requests_to(&google, "/revoke").await;
    assert_eq!(revoked, 1);
    let actions = app.audit_actions(&c.clinic).await;
    assert!(actions.contains(&"google_calendar_connected".to_string()));
    assert!(actions.contains(&"google_calendar_disconnected".to_string()));
}

#[tokio::test]
async fn reception_keeps_the_waiting_list_and_sees_a_callers_held_time_in_the_diary() {
    let app = spawn_app().await;
    let c = app.bookable_clinic("Harley Aesthetics").await;
    let (reception, _) = add_user(&app, &c.clinic, "staff").await;
    let tomorrow = date_in(1);
    // A caller is giving their details: the voice agent holds 11:00 tomorrow for them.
    let held = app
        .vapi_tool(
            &c.agent_key,
            "call-holding",
            "h-1",
            "hold_slot",
            json!({"appointment_date": tomorrow, "appointment_time": "11:00", "provider_name": "Dr Smith", "service": "rhinoplasty"}),
        )
        .await;
    assert!(held["result"].is_string(), "{held}");

    let b = browser().await;
    b.sign_in(&app, &reception).await;
    b.click_link("Later →").await;
    b.wait_for("section.day").await;
    let page = b.source().await;
    assert!(
        page.contains("for a caller giving their details") && page.contains("11:00"),
        "{page}"
    );
    b.screenshot("diary-held").await;

    // The waiting list: add a patient who wants an earlier time, see them, take them off.
    b.click_link("Waiting list").await;
    b.wait_for_text("Nobody is waiting.").await;
    b.fill("input[name=name]", "Amira Haddad").await;
    b.fill("input[name=phone]", "07911 123457").await;
    // A date field takes its value as the browser's locale writes dates: set it directly.
    b.client
        .execute(
            "document.querySelector('input[name=latest_date]').value = arguments[0];",
            vec![json!(date_in(14))],
        )
        .await
        .unwrap();
    b.click("section form.card button[type=submit]").await;
    b.wait_for_text("Added to the waiting list.").await;
    let page = b.source().await;
    assert!(
        page.contains("Amira Haddad") && page.contains("+447911123457"),
        "{page}"
    );
    assert!(page.contains("waiting"), "{page}");
    b.screenshot("waitlist").await;
    let listed = app.org_list(&c, "waitlist").await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["time_of_day"], "any");
    b.click("td.actions form button[type=submit]").await;
    b.wait_for_text("Removed from the waiting list.").await;
    assert!(app.org_list(&c, "waitlist").await.is_empty());
}
