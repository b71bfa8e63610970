//! After a booking commits, the outbox delivers: the confirmation email over SMTP and the
//! calendar event to the Google Calendar API (loopback fakes speaking both protocols), with
//! retries through an outage; a disabled service leaves its jobs queued and visible.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use wiremock::matchers::{body_string_contains, header, method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::fakes::smtp_server;
use crate::helpers::*;

/// Polls `check` until it holds, for at most ten seconds (delivery is asynchronous).
pub(crate) async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}

pub(crate) async fn google_fake(outage_requests: u64) -> MockServer {
    let google = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains("refresh_token=refresh-me"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": "access-1", "expires_in": 3600, "token_type": "Bearer"}),
        ))
        .mount(&google)
        .await;
    if outage_requests > 0 {
        Mock::given(method("POST"))
            .and(path_regex(r"^/calendars/[^/]+/events$"))
            .respond_with(ResponseTemplate::new(503))
            .up_to_n_times(outage_requests)
            .with_priority(1)
            .mount(&google)
            .await;
    }
    Mock::given(method("POST"))
        .and(path_regex(r"^/calendars/[^/]+/events$"))
        .and(header("authorization", "Bearer access-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "confirmed"})))
        .with_priority(5)
        .mount(&google)
        .await;
    Mock::given(method("DELETE"))
        .and(path_regex(r"^/calendars/[^/]+/events/[0-9a-f]{32}$"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&google)
        .await;
    google
}

pub(crate) fn enable_google(s: &mut voxanne::config::Settings, google: &MockServer) {
    s.google_calendar.enabled = true;
    s.google_calendar.base_url = google.uri();
    s.google_calendar.token_url = format!("{}/token", google.uri());
    s.google_calendar.client_id = "client".into();
    s.google_calendar.client_secret = voxanne::config::Secret::new("secret");
    s.google_calendar.refresh_token = voxanne::config::Secret::new("refresh-me");
    s.google_calendar.calendar_id = "clinic@group.calendar.google.com".into();
    s.outbox.retry_base_ms = 10;
    s.outbox.retry_max_ms = 50;
    s.outbox.poll_interval_ms = 20;
}

async fn calendar_sync(app: &TestApp, c: &BookableClinic, id: &str) -> String {
    let a = app.appointment(c, id).await;
    a["calendar_sync"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_booking_creates_its_calendar_event_with_an_id_derived_from_the_appointment() {
    let google = google_fake(0).await;
    let app = spawn_app_with(|s| enable_google(s, &google)).await;
    let c = app.bookable_clinic("Clinic").await;
    let a: Value = app
        .book_via_rest(&c, &c.smith, &date_in(3), "09:00", None)
        .await
        .json()
        .await
        .unwrap();
    let id = a["id"].as_str().unwrap().to_string();
    eventually("calendar sync", || async {
        calendar_sync(&app, &c, &id).await == "synced"
    })
    .await;
    let inserts: Vec<Value> = google
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method.as_str() == "POST" && r.url.path().ends_with("/events"))
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(inserts.len(), 1);
    assert_eq!(
        inserts[0]["id"],
        uuid::Uuid::parse_str(&id).unwrap().simple().to_string()
    );
    assert_eq!(inserts[0]["start"]["dateTime"], a["start"]);
    assert_eq!(inserts[0]["start"]["timeZone"], "Europe/London");
    assert!(inserts[0]["summary"]
        .as_str()
        .unwrap()
        .contains("Rhinoplasty consultation"));
    // Cancelling deletes the same event.
    app.post(
        &format!("/api/orgs/{}/appointments/{id}/cancel", c.clinic.org_id),
        Some(&c.clinic.token),
        json!({}),
    )
    .await;
    let event_path = format!("/events/{}", uuid::Uuid::parse_str(&id).unwrap().simple());
    eventually("calendar delete", || async {
        google
            .received_requests()
            .await
            .unwrap()
            .iter()
            .any(|r| r.method.as_str() == "DELETE" && r.url.path().ends_with(&event_path))
    })
    .await;
}

#[tokio::test]
async fn a_calendar_outage_neither_fails_the_booking_nor_loses_the_event() {
    let google = google_fake(3).await;
    let app = spawn_app_with(|s| enable_google(s, &google)).await;
    let c = app.bookable_clinic("Clinic").await;
    let r = app
        .book_via_rest(&c, &c.smith, &date_in(3), "10:00", None)
        .await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "the booking does not wait for the calendar"
    );
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    eventually("sync after the outage", || async {
        calendar_sync(&app, &c, &id).await == "synced"
    })
    .await;
    let attempts = google
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method.as_str() == "POST" && r.url.path().ends_with("/events"))
        .count();
    assert_eq!(
        attempts, 4,
        "three failures, then the insert that succeeded"
    );
    let queued = app.outbox_jobs(&c.clinic).await;
    let kinds: Vec<&str> = queued
        .iter()
        .map(|j| j["kind"].as_str().unwrap())
        // Each booking also queues its reminder text (Twilio, off here).
        .filter(|k| *k != "reminder")
        .collect();
    assert_eq!(
        kinds,
        ["confirmation_email"],
        "the calendar job is done; email (disabled here) waits"
    );
}

#[tokio::test]
async fn a_disabled_service_leaves_its_jobs_queued_and_visible() {
    let app = spawn_app().await;
    let c = app.bookable_clinic("Clinic").await;
    app.book_via_rest(&c, &c.smith, &date_in(3), "11:00", None)
        .await;
    let queued = app.outbox_jobs(&c.clinic).await;
    let kinds: Vec<&str> = queued
        .iter()
        .map(|j| j["kind"].as_str().unwrap())
        // Each booking also queues its reminder text (Twilio, off here).
        .filter(|k| *k != "reminder")
        .collect();
    assert_eq!(kinds.len(), 2);
    assert!(kinds.contains(&"confirmation_email") && kinds.contains(&"calendar_upsert"));
    let other = app.bookable_clinic("Other").await;
    let theirs = app.outbox_jobs(&other.clinic).await;
    assert!(theirs.is_empty(), "no other org's jobs");
}

#[tokio::test]
async fn the_confirmation_email_arrives_over_smtp_and_its_link_confirms() {
    let (port, mut inbox) = smtp_server().await;
    let app = spawn_app_with(|s| {
        s.smtp.enabled = true;
        s.smtp.host = "127.0.0.1".into();
        s.smtp.port = port;
        s.smtp.tls = "none".into();
        s.smtp.from = "Clinic <bookings@clinic.example>".into();
        s.server.public_url = "https://clinic.example".into();
        s.outbox.poll_interval_ms = 20;
    })
    .await;
    let c = app.bookable_clinic("Harley Clinic").await;
    let a: Value = app
        .book_via_rest(&c, &c.smith, &date_in(3), "14:00", None)
        .await
        .json()
        .await
        .unwrap();
    let mail = tokio::time::timeout(Duration::from_secs(10), inbox.recv())
        .await
        .expect("mail within 10 s")
        .unwrap();
    assert_eq!(mail.to, ["<jane@patient.example>"]);
    assert!(mail.from.contains("bookings@clinic.example"));
    assert!(mail
        .data
        .contains("Subject: Please confirm your appointment at Harley Clinic"));
    let token = a["confirmation_token"].as_str().unwrap();
    let link = format!("https://clinic.example/confirm/{token}");
    let body = mail.body_text();
    assert!(body.contains(&link), "{body}");
    assert!(body.contains("with Dr Smith") && body.contains("at 2 pm"));
    // Following the link (on our server) confirms once.
    let r = app.get(&format!("/confirm/{token}"), None).await;
    assert_eq!(r.status(), StatusCode::OK);
    let stored = app.appointment(&c, a["id"].as_str().unwrap()).await;
    assert_eq!(stored["status"], "confirmed");
}

#[tokio::test]
async fn each_provider_has_an_ics_feed_that_a_calendar_parser_reads() {
    let app = spawn_app().await;
    let c = app.bookable_clinic("Clinic").await;
    let day = date_in(3);
    let a: Value = app
        .book_via_rest(&c, &c.smith, &day, "09:00", None)
        .await
        .json()
        .await
        .unwrap();
    app.book_via_rest(&c, &c.patel, &day, "09:00", None).await;
    let provider: Value = app
        .get(
            &format!("/api/orgs/{}/providers/{}", c.clinic.org_id, c.smith),
            Some(&c.clinic.token),
        )
        .await
        .json()
        .await
        .unwrap();
    let feed = provider["calendar_feed"].as_str().unwrap();
    let r = app.get(feed, None).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/calendar"));
    let text = r.text().await.unwrap();
    let parsed: icalendar::Calendar = text.parse().expect("a valid iCalendar document");
    let events: Vec<&icalendar::Event> = parsed
        .components
        .iter()
        .filter_map(|c| c.as_event())
        .collect();
    assert_eq!(events.len(), 1, "only Dr Smith's appointment");
    use icalendar::Component;
    assert_eq!(
        events[0].get_uid(),
        Some(format!("{}@voxanne", a["id"].as_str().unwrap()).as_str())
    );
    assert!(text.contains("BEGIN:VCALENDAR") && text.contains("VERSION:2.0"));
    let unknown = app.get("/calendar/not-a-token.ics", None).await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}
