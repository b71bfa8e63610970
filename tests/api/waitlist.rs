//! The waiting list: patients who want an earlier time join it (staff or the voice agent);
//! a cancellation texts the freed time to the first who fit, holds it for them, books it for
//! the first YES and tells a later YES it has gone; offers lapse, entries end after their
//! latest date, nothing is texted in quiet hours, and every step is audited.

use chrono::{Duration, TimeZone, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::followups::{
    enable_twilio, field, signed, texts, texts_at_any_hour, twilio_fake, TOKEN,
};
use crate::helpers::*;
use crate::outbox::eventually;

const SENDER: &str = "+447700900000";

async fn join(app: &TestApp, c: &BookableClinic, body: Value) -> reqwest::Response {
    app.post(
        &format!("/api/orgs/{}/waitlist", c.clinic.org_id),
        Some(&c.clinic.token),
        body,
    )
    .await
}

async fn entries(app: &TestApp, c: &BookableClinic) -> Vec<Value> {
    app.org_list(c, "waitlist").await
}

fn entry_of<'a>(list: &'a [Value], name: &str) -> &'a Value {
    list.iter()
        .find(|e| e["patient"]["name"] == name)
        .unwrap_or_else(|| panic!("{name} is not on the list: {list:?}"))
}

/// A text from `from` to the install's sender; the TwiML reply's text.
async fn text_in(app: &TestApp, from: &str, body: &str) -> String {
    let r = signed(
        app,
        "/api/webhooks/twilio/inbound",
        &[("From", from), ("To", SENDER), ("Body", body)],
        TOKEN,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.text().await.unwrap()
}

async fn cancel(app: &TestApp, c: &BookableClinic, id: &str) {
    let r = app
        .post(
            &format!("/api/orgs/{}/appointments/{id}/cancel", c.clinic.org_id),
            Some(&c.clinic.token),
            json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
}

async fn book_ten(app: &TestApp, c: &BookableClinic, day: &str) -> String {
    let r = app.book_via_rest(c, &c.smith, day, "10:00", None).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_cancellation_is_texted_to_the_waiting_list_and_the_first_yes_books_it() {
    let twilio = twilio_fake(0, 500).await;
    let app = spawn_app_with(|s| enable_twilio(s, &twilio)).await;
    let c = app.bookable_clinic("Harley Clinic").await;
    texts_at_any_hour(&app, &c, json!({})).await;
    let (day, until) = (date_in(3), date_in(10));
    let id = book_ten(&app, &c, &day).await;

    // Staff put Ann on the list; Bo asks the voice agent; Cy only wants afternoons.
    let r = join(
        &app,
        &c,
        json!({"patient": {"name": "Ann First", "phone": "07911 200111"},
        "service_id": c.service_id, "latest_date": until, "time_of_day": "morning"}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let ann: Value = r.json().await.unwrap();
    assert_eq!(ann["status"], "waiting");
    assert_eq!(ann["patient"]["phone"], "+447911200111");
    let bo = app
        .vapi_tool_from(
            &c.agent_key,
            "+447911200222",
            "call-bo",
            "bo-1",
            "join_waitlist",
            json!({"patient_name": "Bo Second", "service": "rhinoplasty", "latest_date": until}),
        )
        .await;
    assert!(
        bo["result"].as_str().unwrap().contains("waiting list"),
        "{bo}"
    );
    assert!(bo["waitlist_entry_id"].is_string());
    let r = join(
        &app,
        &c,
        json!({"patient": {"name": "Cy Third", "phone": "07911 200333"},
        "latest_date": until, "time_of_day": "afternoon"}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert!(texts(&twilio).await.is_empty());

    // The 10:00 is cancelled: Ann and Bo (in order of joining) are texted, Cy is not.
    cancel(&app, &c, &id).await;
    eventually("two offers at Twilio", || async {
        texts(&twilio).await.len() >= 2
    })
    .await;
    let sent = texts(&twilio).await;
    let mut to: Vec<&str> = sent.iter().map(|t| field(t, "To")).collect();
    to.sort();
    assert_eq!(to, vec!["+447911200111", "+447911200222"]);
    for t in &sent {
        let body = field(t, "Body");
        assert!(
            body.starts_with(
                "Harley Clinic: an earlier Rhinoplasty consultation appointment is free on"
            ),
            "{body}"
        );
        assert!(
            body.contains("at 10 am with Dr Smith") && body.contains("Reply YES by"),
            "{body}"
        );
        assert_eq!(field(t, "From"), SENDER);
    }
    let list = entries(&app, &c).await;
    for name in ["Ann First", "Bo Second"] {
        let e = entry_of(&list, name);
        assert_eq!(e["status"], "offered", "{e}");
        assert!(
            e["offer"]["start"].as_str().unwrap().contains("T10:00:00"),
            "{e}"
        );
        assert_eq!(e["offer"]["provider_id"], c.smith.as_str());
    }
    assert_eq!(entry_of(&list, "Cy Third")["status"], "waiting");

    // The freed time is held for them: staff cannot give it to someone else meanwhile.
    let r = app.book_via_rest(&c, &c.smith, &day, "10:00", None).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);

    // Bo answers first and is booked; Ann's later YES is told it has gone.
    let reply = text_in(&app, "+447911200222", "Yes please!").await;
    assert!(
        reply.contains("you&apos;re booked with Dr Smith on"),
        "{reply}"
    );
    let active: Vec<Value> = app
        .appointments(&c)
        .await
        .into_iter()
        .filter(|a| a["status"] != "cancelled")
        .collect();
    assert_eq!(active.len(), 1, "{active:?}");
    assert_eq!(active[0]["patient"]["phone"], "+447911200222");
    assert_eq!(active[0]["source"], "waitlist");
    assert_eq!(active[0]["status"], "pending");
    assert!(active[0]["start"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{day}T10:00")));
    let reply = text_in(&app, "+447911200111", "YES").await;
    assert!(reply.contains("that time has gone"), "{reply}");
    assert!(reply.contains("still on our waiting list"), "{reply}");
    // Bo's YES again (or Twilio delivering it twice): the same answer, still one booking.
    let reply = text_in(&app, "+447911200222", "YES").await;
    assert!(
        reply.contains("you&apos;re booked with Dr Smith on"),
        "{reply}"
    );

    let list = entries(&app, &c).await;
    let bo = entry_of(&list, "Bo Second");
    assert_eq!(bo["status"], "booked");
    assert_eq!(bo["appointment_id"], active[0]["id"]);
    assert_eq!(entry_of(&list, "Ann First")["status"], "waiting");
    assert!(entry_of(&list, "Ann First")["offer"].is_null());
    assert_eq!(entry_of(&list, "Cy Third")["status"], "waiting");

    let actions = app.audit_actions(&c.clinic).await;
    let count = |a: &str| actions.iter().filter(|x| x.as_str() == a).count();
    assert_eq!(count("waitlist_joined"), 3, "{actions:?}");
    assert_eq!(count("waitlist_offered"), 2, "{actions:?}");
    assert_eq!(count("waitlist_booked"), 1, "{actions:?}");
    assert_eq!(count("waitlist_offer_taken"), 1, "{actions:?}");
    assert_eq!(app.audit_verify(&c.clinic).await["ok"], true);
    // Personal data stays out of the audit trail.
    let trail = serde_json::to_string(&app.audit_entries(&c.clinic).await).unwrap();
    assert!(!trail.contains("200222") && !trail.contains("Bo Second"));
}

#[tokio::test]
async fn a_number_that_said_stop_is_passed_over_for_the_next_in_line() {
    let twilio = twilio_fake(0, 500).await;
    let app = spawn_app_with(|s| enable_twilio(s, &twilio)).await;
    let c = app.bookable_clinic("Clinic").await;
    texts_at_any_hour(&app, &c, json!({})).await;
    let (day, until) = (date_in(2), date_in(6));
    let id = book_ten(&app, &c, &day).await;
    for (name, phone) in [
        ("Ann First", "+447911200111"),
        ("Bo Second", "+447911200222"),
        ("Bo Second again", "+447911200222"),
    ] {
        let r = join(
            &app,
            &c,
            json!({"patient": {"name": name, "phone": phone}, "latest_date": until}),
        )
        .await;
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    // Ann texts STOP to the clinic's sender before anything is offered.
    let reply = text_in(&app, "+447911200111", "STOP").await;
    assert!(!reply.contains("<Message>"), "{reply}");
    cancel(&app, &c, &id).await;
    eventually("the offer at Twilio", || async {
        !texts(&twilio).await.is_empty()
    })
    .await;
    let list = entries(&app, &c).await;
    // Bo is offered the time once (one text per number), Ann not at all.
    assert_eq!(entry_of(&list, "Ann First")["status"], "waiting");
    assert_eq!(entry_of(&list, "Bo Second")["status"], "offered");
    assert_eq!(entry_of(&list, "Bo Second again")["status"], "waiting");
    let sent = texts(&twilio).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(field(&sent[0], "To"), "+447911200222");
    // Ann's YES opts her back in to texts; it books nothing, for no offer went to her.
    let reply = text_in(&app, "+447911200111", "YES").await;
    assert!(
        !reply.contains("booked") && !reply.contains("gone"),
        "{reply}"
    );
    assert!(app
        .appointments(&c)
        .await
        .iter()
        .all(|a| a["status"] == "cancelled"));
}

#[tokio::test]
async fn an_offer_lapses_after_offer_minutes_and_an_entry_ends_after_its_latest_date() {
    let twilio = twilio_fake(0, 500).await;
    let clock = voxanne::clock::ManualClock::new(Utc::now());
    let app = spawn_app_with_clock(clock.clock(), |s| enable_twilio(s, &twilio)).await;
    let c = app.bookable_clinic("Clinic").await;
    texts_at_any_hour(&app, &c, json!({"offer_minutes": 10})).await;
    let day = date_in(2);
    let id = book_ten(&app, &c, &day).await;
    let r = join(
        &app,
        &c,
        json!({"patient": {"name": "Ann First", "phone": "+447911200111"},
        "latest_date": date_in(5)}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    cancel(&app, &c, &id).await;
    eventually("the offer at Twilio", || async {
        texts(&twilio).await.len() == 1
    })
    .await;
    assert_eq!(
        entry_of(&entries(&app, &c).await, "Ann First")["status"],
        "offered"
    );

    // Eleven minutes later the offer has lapsed: the entry waits again, the time is free,
    // and a YES now is told the time has gone.
    clock.set(clock.now() + Duration::minutes(11));
    assert_eq!(
        entry_of(&entries(&app, &c).await, "Ann First")["status"],
        "waiting"
    );
    let reply = text_in(&app, "+447911200111", "yes").await;
    assert!(reply.contains("that time has gone"), "{reply}");
    assert!(app
        .appointments(&c)
        .await
        .iter()
        .all(|a| a["status"] == "cancelled"));
    let r = app.book_via_rest(&c, &c.smith, &day, "10:00", None).await;
    assert_eq!(r.status(), StatusCode::CREATED);

    // After its latest date the entry has ended.
    clock.set(clock.now() + Duration::days(6));
    assert_eq!(
        entry_of(&entries(&app, &c).await, "Ann First")["status"],
        "expired"
    );
}

#[tokio::test]
async fn nothing_is_offered_in_the_clinics_quiet_hours() {
    let twilio = twilio_fake(0, 500).await;
    // 23:00 in London tomorrow: inside the default quiet hours (21:00–08:00).
    let tomorrow = chrono_tz::Europe::London
        .from_local_datetime(
            &chrono::NaiveDate::parse_from_str(&date_in(1), "%Y-%m-%d")
                .unwrap()
                .and_hms_opt(23, 0, 0)
                .unwrap(),
        )
        .earliest()
        .unwrap()
        .with_timezone(&Utc);
    let clock = voxanne::clock::ManualClock::new(tomorrow);
    let app = spawn_app_with_clock(clock.clock(), |s| enable_twilio(s, &twilio)).await;
    let c = app.bookable_clinic("Clinic").await;
    let day = date_in(4);
    let id = book_ten(&app, &c, &day).await;
    let r = join(
        &app,
        &c,
        json!({"patient": {"name": "Ann First", "phone": "+447911200111"},
        "latest_date": date_in(8)}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    cancel(&app, &c, &id).await;
    eventually("the skipped offer in the audit trail", || async {
        app.audit_actions(&c.clinic)
            .await
            .iter()
            .any(|a| a == "waitlist_offer_skipped")
    })
    .await;
    assert!(texts(&twilio).await.is_empty());
    assert_eq!(
        entry_of(&entries(&app, &c).await, "Ann First")["status"],
        "waiting"
    );
    assert!(app
        .services
        .booking
        .holds(c.clinic.org_id.parse().unwrap())
        .is_empty());
}

#[tokio::test]
async fn the_waiting_list_refuses_bad_entries_and_staff_take_people_off_it() {
    let app = spawn_app().await;
    let c = app.bookable_clinic("Clinic").await;
    let until = date_in(10);
    let patient = json!({"name": "Ann First", "phone": "07911 200111"});
    for (body, field_name) in [
        (json!({"patient": patient}), "latest_date"),
        (
            json!({"patient": patient, "latest_date": "next week"}),
            "latest_date",
        ),
        (
            json!({"patient": patient, "latest_date": date_in(-1)}),
            "latest_date",
        ),
        (
            json!({"patient": patient, "latest_date": date_in(400)}),
            "latest_date",
        ),
        (
            json!({"patient": patient, "latest_date": until, "earliest_date": date_in(11)}),
            "earliest_date",
        ),
        (
            json!({"patient": {"name": "Ann", "phone": "12"}, "latest_date": until}),
            "patient.phone",
        ),
        (
            json!({"patient": {"name": "", "phone": "07911 200111"}, "latest_date": until}),
            "patient.name",
        ),
        (
            json!({"patient": patient, "latest_date": until, "service_id": uuid::Uuid::new_v4()}),
            "service_id",
        ),
        (
            json!({"patient": patient, "latest_date": until, "provider_id": "dr-who"}),
            "provider_id",
        ),
        (
            json!({"patient": patient, "latest_date": until, "time_of_day": "noon"}),
            "time_of_day",
        ),
    ] {
        let r = join(&app, &c, body.clone()).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let err: Value = r.json().await.unwrap();
        let fields: Vec<&str> = err["details"]["fields"]
            .as_array()
            .map(|f| f.iter().filter_map(|x| x["field"].as_str()).collect())
            .unwrap_or_default();
        assert!(fields.contains(&field_name), "{body}: {err}");
    }
    assert!(entries(&app, &c).await.is_empty());

    let r = join(
        &app,
        &c,
        json!({"patient": patient, "latest_date": until, "provider_id": c.patel}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Another clinic's staff neither see nor remove it.
    let other = app.bookable_clinic("Other").await;
    let path = format!("/api/orgs/{}/waitlist/{id}", c.clinic.org_id);
    let r = app
        .request(
            reqwest::Method::DELETE,
            &path,
            Some(&other.clinic.token),
            None,
        )
        .await;
    assert!(r.status().is_client_error() && r.status() != StatusCode::NO_CONTENT);
    assert!(entries(&app, &other).await.is_empty());
    let r = app
        .request(reqwest::Method::DELETE, &path, Some(&c.clinic.token), None)
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = app
        .request(reqwest::Method::DELETE, &path, Some(&c.clinic.token), None)
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(entries(&app, &c).await.is_empty());
    let actions = app.audit_actions(&c.clinic).await;
    assert!(
        actions.iter().any(|a| a == "waitlist_removed"),
        "{actions:?}"
    );
}
