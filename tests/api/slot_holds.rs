//! A time held for a caller while they give their details: the voice agent holds it with
//! `hold_slot`, and until the call books it, picks another, lets it go, hangs up or the
//! clinic's `hold_minutes` pass, no other call, staff booking or console can take it.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

fn hold_args(day: &str, time: &str) -> Value {
    json!({"appointment_date": day, "appointment_time": time, "provider_name": "Dr Smith", "service": "rhinoplasty"})
}

/// Vapi's end-of-call report (as captured) for call `call_id`.
fn end_of_call_report(call_id: &str) -> Value {
    let mut r: Value = serde_json::from_str(include_str!(
        "../fixtures/vapi/end-of-call-report.captured.json"
    ))
    .unwrap();
    r["message"]["call"]["id"] = json!(call_id);
    r
}

async fn holds(app: &TestApp, c: &BookableClinic) -> Vec<Value> {
    app.org_list(c, "holds").await
}

/// Whether Dr Smith's free times on `day` include `time` (HH:MM), as staff see them.
async fn smith_free_at(app: &TestApp, c: &BookableClinic, day: &str, time: &str) -> bool {
    let r = app
        .get(
            &format!(
                "/api/orgs/{}/availability?date={day}&provider_id={}&service_id={}",
                c.clinic.org_id, c.smith, c.service_id
            ),
            Some(&c.clinic.token),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    body["slots"].as_array().unwrap().iter().any(|s| {
        s["start"]
            .as_str()
            .unwrap()
            .contains(&format!("T{time}:00"))
    })
}

#[tokio::test]
async fn of_two_calls_only_the_one_holding_a_time_can_book_it() {
    let app = spawn_app().await;
    let c = app.bookable_clinic("Clinic").await;
    let day = date_in(4);

    // Two calls ask to hold the same time at once: exactly one gets it.
    let (first, second) = tokio::join!(
        app.vapi_tool(
            &c.agent_key,
            "call-a",
            "a-1",
            "hold_slot",
            hold_args(&day, "10:00")
        ),
        app.vapi_tool(
            &c.agent_key,
            "call-b",
            "b-1",
            "hold_slot",
            hold_args(&day, "10:00")
        ),
    );
    let held: Vec<&Value> = [&first, &second]
        .into_iter()
        .filter(|a| a.get("result").is_some())
        .collect();
    assert_eq!(held.len(), 1, "{first} / {second}");
    let (holder, other) = if first.get("result").is_some() {
        ("call-a", "call-b")
    } else {
        ("call-b", "call-a")
    };
    assert!(
        said(held[0]).starts_with("I'm holding"),
        "{}",
        said(held[0])
    );
    let refused = if holder == "call-a" { &second } else { &first };
    assert!(said(refused).contains("was just taken"), "{refused}");
    assert!(refused["alternatives"]
        .as_array()
        .is_some_and(|a| !a.is_empty()));

    // Everyone else sees the time as taken: another call, staff over REST, the free times.
    let booked_by_other = app
        .vapi_tool(
            &c.agent_key,
            other,
            "o-2",
            "book_appointment",
            json!({"appointment_date": day, "appointment_time": "10:00", "provider_name": "Dr Smith",
                   "service": "rhinoplasty", "patient_name": "Sam Roe"}),
        )
        .await;
    assert!(
        booked_by_other.get("appointment_id").is_none(),
        "{booked_by_other}"
    );
    assert!(said(&booked_by_other).contains("was just taken"));
    let r = app.book_via_rest(&c, &c.smith, &day, "10:00", None).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(error_code(r).await, "slot_taken");
    assert!(!smith_free_at(&app, &c, &day, "10:00").await);
    let listed = holds(&app, &c).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["held_for"], "call");
    assert_eq!(listed[0]["provider_id"], c.smith.as_str());

    // To the call holding it, the time is still there to take.
    let own = app
        .vapi_tool(
            &c.agent_key,
            holder,
            "h-avail",
            "check_availability",
            json!({"appointment_date": day, "provider_name": "Dr Smith", "service": "rhinoplasty"}),
        )
        .await;
    assert!(
        own["slots"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["start"].as_str().unwrap().contains("T10:00:00")),
        "{own}"
    );

    // The holding call books it without naming the practitioner again; the hold becomes
    // the booking.
    let booked = app
        .vapi_tool(
            &c.agent_key,
            holder,
            "h-2",
            "book_appointment",
            json!({"appointment_date": day, "appointment_time": "10:00", "patient_name": "Jane Doe"}),
        )
        .await;
    let id = booked["appointment_id"]
        .as_str()
        .expect("booked")
        .to_string();
    let a = app.appointment(&c, &id).await;
    assert_eq!(a["provider_id"], c.smith.as_str());
    assert_eq!(a["service_id"], c.service_id.as_str());
    assert!(holds(&app, &c).await.is_empty());
    assert_eq!(app.appointments(&c).await.len(), 1);
}

#[tokio::test]
async fn a_hold_ends_when_the_caller_picks_another_time_lets_it_go_or_hangs_up() {
    let app = spawn_app().await;
    let c = app.bookable_clinic("Clinic").await;
    let day = date_in(4);

    // Picking another time moves the hold.
    app.vapi_tool(
        &c.agent_key,
        "call-a",
        "a-1",
        "hold_slot",
        hold_args(&day, "10:00"),
    )
    .await;
    let moved = app
        .vapi_tool(
            &c.agent_key,
            "call-a",
            "a-2",
            "hold_slot",
            hold_args(&day, "11:00"),
        )
        .await;
    assert!(said(&moved).starts_with("I'm holding"), "{moved}");
    assert!(smith_free_at(&app, &c, &day, "10:00").await);
    assert!(!smith_free_at(&app, &c, &day, "11:00").await);

    // Letting it go frees it.
    let released = app
        .vapi_tool(&c.agent_key, "call-a", "a-3", "release_hold", json!({}))
        .await;
    assert_eq!(released["released"], true, "{released}");
    assert!(smith_free_at(&app, &c, &day, "11:00").await);
    let again = app
        .vapi_tool(&c.agent_key, "call-a", "a-4", "release_hold", json!({}))
        .await;
    assert_eq!(again["released"], false);

    // Hanging up frees it: Vapi's status-update "ended", the end-of-call report, or the
    // call-ended webhook.
    for (n, end) in [
        json!({"message": {"type": "status-update", "status": "ended", "call": {"id": "call-b"}}}),
        end_of_call_report("call-c"),
    ]
    .into_iter()
    .enumerate()
    {
        let call = if n == 0 { "call-b" } else { "call-c" };
        app.vapi_tool(
            &c.agent_key,
            call,
            &format!("{call}-1"),
            "hold_slot",
            hold_args(&day, "14:00"),
        )
        .await;
        assert!(!smith_free_at(&app, &c, &day, "14:00").await, "{call}");
        let r = app.post("/api/vapi", Some(&c.agent_key), end).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert!(smith_free_at(&app, &c, &day, "14:00").await, "{call}");
    }
    app.vapi_tool(
        &c.agent_key,
        "call-d",
        "d-1",
        "hold_slot",
        hold_args(&day, "15:00"),
    )
    .await;
    let r = app
        .post(
            "/api/webhooks/call-ended",
            Some(&c.agent_key),
            json!({"eventType": "call_ended", "callId": "call-d", "bookingConfirmed": false}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK, "{:?}", r.text().await);
    assert!(smith_free_at(&app, &c, &day, "15:00").await);
    assert!(holds(&app, &c).await.is_empty());
}

#[tokio::test]
async fn a_hold_lapses_after_the_clinics_hold_minutes() {
    let clock = voxanne::clock::ManualClock::new(chrono::Utc::now());
    let app = spawn_app_with_clock(clock.clock(), |_| {}).await;
    let c = app.bookable_clinic("Clinic").await;
    let day = date_in(4);
    let mut was = Value::Null;
    let status = app
        .change_settings(&c, |s| {
            was = s["hold_minutes"].clone();
            s["hold_minutes"] = json!(3);
        })
        .await;
    assert_eq!((was, status), (json!(5), StatusCode::OK));
    let status = app
        .change_settings(&c, |s| s["hold_minutes"] = json!(31))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let held = app
        .vapi_tool(
            &c.agent_key,
            "call-a",
            "a-1",
            "hold_slot",
            hold_args(&day, "10:00"),
        )
        .await;
    assert!(said(&held).contains("for the next 3 minutes"), "{held}");
    clock.set(clock.now() + Duration::minutes(2));
    let r = app.book_via_rest(&c, &c.smith, &day, "10:00", None).await;
    assert_eq!(
        r.status(),
        StatusCode::CONFLICT,
        "still held after 2 minutes"
    );
    clock.set(clock.now() + Duration::minutes(1) + Duration::seconds(1));
    assert!(holds(&app, &c).await.is_empty());
    assert!(smith_free_at(&app, &c, &day, "10:00").await);
    let r = app.book_via_rest(&c, &c.smith, &day, "10:00", None).await;
    assert_eq!(r.status(), StatusCode::CREATED, "free once the hold lapsed");
}
