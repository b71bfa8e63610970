//! The caller's side of an existing booking: a call that presents the booking's number (caller
//! ID is easy to fake) hears nothing about the booking and changes nothing until the caller
//! proves who they are; three wrong tries lock the call, audited; the proof lasts as long as
//! the call. The spoken sentences never carry an id.

use chrono::NaiveDate;
use serde_json::{json, Value};

use crate::helpers::*;

fn spoken_date(iso: &str) -> String {
    NaiveDate::parse_from_str(iso, "%Y-%m-%d")
        .unwrap()
        .format("%A %-d %B")
        .to_string()
}

/// Books 09:00 on `day` with Dr Smith for Jane Doe (born 3 March 1985, when `born`) from the
/// helpers' caller number, in call `call`; returns the appointment id the agent got back.
async fn book(app: &TestApp, c: &BookableClinic, call: &str, day: &str, born: bool) -> String {
    let mut args = json!({"appointment_date": day, "appointment_time": "09:00", "provider_name": "Dr Smith",
                          "service": "rhinoplasty", "patient_name": "Jane Doe"});
    if born {
        args["date_of_birth"] = json!("the third of March 1985");
    }
    let booked = app
        .vapi_tool(
            &c.agent_key,
            call,
            &format!("{call}-book"),
            "book_appointment",
            args,
        )
        .await;
    booked["appointment_id"]
        .as_str()
        .expect("booked")
        .to_string()
}

/// Sets the clinic's `caller_verification` to `proofs`, the rest of its settings kept.
async fn accept_proofs(app: &TestApp, c: &BookableClinic, proofs: &str) {
    let status = app
        .change_settings(c, |s| s["caller_verification"] = json!(proofs))
        .await;
    assert_eq!(status, reqwest::StatusCode::OK);
}

#[tokio::test]
async fn a_spoofed_number_hears_nothing_cancels_nothing_and_is_locked_after_three_tries() {
    let app = spawn_app().await;
    let c = app.bookable_clinic("Clinic").await;
    let day = date_in(3);
    let id = book(&app, &c, "call-booking", &day, true).await;

    // Another call from the same number: it learns only that a booking exists.
    let call = "call-spoofed";
    let found = app
        .vapi_tool(&c.agent_key, call, "s-1", "find_appointment", json!({}))
        .await;
    let sentence = said(&found);
    assert!(
        sentence.contains("full name and date of birth"),
        "{sentence}"
    );
    assert!(
        !sentence.contains("Dr Smith") && !sentence.contains("9 am"),
        "{sentence}"
    );
    assert_eq!(found["verification_needed"], true);
    assert!(found.get("appointments").is_none(), "{found}");
    // With the id (guessed, or from elsewhere), cancelling and moving are refused.
    for (n, tool, args) in [
        (2, "cancel_appointment", json!({"appointment_id": id})),
        (
            3,
            "reschedule_appointment",
            json!({"appointment_id": id, "appointment_date": day, "appointment_time": "15:00"}),
        ),
    ] {
        let r = app
            .vapi_tool(&c.agent_key, call, &format!("s-{n}"), tool, args)
            .await;
        assert!(
            said(&r).starts_with("Before I can discuss or change a booking"),
            "{r}"
        );
    }
    // Three wrong tries lock the call; the right answer after that is refused too.
    for (n, name, born) in [
        (4, "Jane Doe", "4 March 1985"),
        (5, "Joan Doe", "3 March 1985"),
        (6, "Jane Doe", "1986-03-03"),
    ] {
        let r = app
            .vapi_tool(
                &c.agent_key,
                call,
                &format!("s-{n}"),
                "verify_caller",
                json!({"full_name": name, "date_of_birth": born}),
            )
            .await;
        assert!(r["error"].is_string(), "{r}");
    }
    let r = app
        .vapi_tool(
            &c.agent_key,
            call,
            "s-7",
            "verify_caller",
            json!({"full_name": "Jane Doe", "date_of_birth": "03/03/85"}),
        )
        .await;
    assert_eq!(r["verification_locked"], true, "{r}");
    let r = app
        .vapi_tool(
            &c.agent_key,
            call,
            "s-8",
            "cancel_appointment",
            json!({"appointment_id": id}),
        )
        .await;
    assert_eq!(r["verification_locked"], true, "{r}");
    // Nothing changed, and the tries are on the record (by call, never what was said).
    assert_eq!(app.appointment(&c, &id).await["status"], "pending");
    let entries = app.audit_entries(&c.clinic).await;
    let actions: Vec<&str> = entries
        .iter()
        .filter(|e| e["target"] == format!("call:{call}"))
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "caller_verification_failed",
            "caller_verification_failed",
            "caller_verification_locked"
        ]
    );
    assert!(!entries.iter().any(|e| e.to_string().contains("1985")));
}

#[tokio::test]
async fn a_verified_call_finds_moves_and_cancels_and_forgets_it_when_the_call_ends() {
    let app = spawn_app().await;
    let c = app.bookable_clinic("Clinic").await;
    let day = date_in(3);
    let id = book(&app, &c, "call-booking", &day, true).await;
    let call = "call-verified";
    let r = app
        .vapi_tool(
            &c.agent_key,
            call,
            "v-1",
            "verify_caller",
            json!({"full_name": "jane doe", "date_of_birth": "03/03/1985"}),
        )
        .await;
    assert_eq!(r["verified"], true, "{r}");
    let found = app
        .vapi_tool(&c.agent_key, call, "v-2", "find_appointment", json!({}))
        .await;
    assert_eq!(
        said(&found),
        format!(
            "I can see one upcoming appointment: with Dr Smith on {} at 9 am.",
            spoken_date(&day)
        )
    );
    assert_eq!(found["appointments"][0]["appointment_id"], id);
    let moved = app
        .vapi_tool(
            &c.agent_key,
            call,
            "v-3",
            "reschedule_appointment",
            json!({"appointment_id": id, "appointment_date": day, "appointment_time": "3:30pm"}),
        )
        .await;
    assert_eq!(
        said(&moved),
        format!(
            "Done. Your appointment with Dr Smith is now on {} at 3:30 pm.",
            spoken_date(&day)
        )
    );
    // The call ends: a later message on the same call id has to prove it again.
    let r = app
        .post(
            "/api/vapi",
            Some(&c.agent_key),
            json!({"message": {"type": "status-update", "status": "ended", "call": {"id": call}}}),
        )
        .await;
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    let r = app
        .vapi_tool(
            &c.agent_key,
            call,
            "v-4",
            "cancel_appointment",
            json!({"appointment_id": id}),
        )
        .await;
    assert_eq!(r["verification_needed"], true, "{r}");
    let again = "call-verified-again";
    let r = app
        .vapi_tool(
            &c.agent_key,
            again,
            "v-5",
            "verify_caller",
            json!({"full_name": "Jane Doe", "date_of_birth": "1985-03-03"}),
        )
        .await;
    assert_eq!(r["verified"], true, "{r}");
    let cancelled = app
        .vapi_tool(
            &c.agent_key,
            again,
            "v-6",
            "cancel_appointment",
            json!({"appointment_id": id}),
        )
        .await;
    assert_eq!(
        said(&cancelled),
        format!(
            "Your appointment with Dr Smith on {} at 3:30 pm is cancelled.",
            spoken_date(&day)
        )
    );
    let entries = app.audit_entries(&c.clinic).await;
    assert_eq!(
        entries
            .iter()
            .filter(|e| e["action"] == "caller_verified")
            .count(),
        2
    );
    // Another clinic's agent cannot touch this appointment, verified or not.
    let other = app.bookable_clinic("Other").await;
    let r = app
        .vapi_tool(
            &other.agent_key,
            "call-x",
            "x-1",
            "cancel_appointment",
            json!({"appointment_id": id}),
        )
        .await;
    assert!(r["error"].is_string());
}

#[tokio::test]
async fn without_a_date_of_birth_on_file_the_name_and_the_appointments_time_verify_if_the_clinic_accepts_them(
) {
    let app = spawn_app().await;
    let c = app.bookable_clinic("Clinic").await;
    let day = date_in(4);
    let id = book(&app, &c, "call-booking", &day, false).await;
    let r = app
        .vapi_tool(
            &c.agent_key,
            "call-b",
            "b-1",
            "verify_caller",
            json!({"full_name": "Jane Doe", "appointment_date": day, "appointment_time": "9am"}),
        )
        .await;
    assert_eq!(r["verified"], true, "{r}");
    // A clinic that accepts only the date of birth leaves such a booking to its reception.
    accept_proofs(&app, &c, "birth_date").await;
    let r = app
        .vapi_tool(
            &c.agent_key,
            "call-c",
            "c-1",
            "verify_caller",
            json!({"full_name": "Jane Doe", "appointment_date": day, "appointment_time": "9am"}),
        )
        .await;
    assert!(r["error"].is_string(), "{r}");
    let r = app
        .vapi_tool(
            &c.agent_key,
            "call-c",
            "c-2",
            "cancel_appointment",
            json!({"appointment_id": id}),
        )
        .await;
    assert_eq!(r["verification_needed"], true, "{r}");
    // The call that booked may change what it booked.
    let r = app
        .vapi_tool(
            &c.agent_key,
            "call-booking",
            "b-2",
            "cancel_appointment",
            json!({"appointment_id": id}),
        )
        .await;
    assert_eq!(r["status"], "cancelled", "{r}");
}

/// Id-shaped text: a UUID, or a run of 8 or more hex digits or of 6 or more digits.
fn id_shaped(text: &str) -> Option<String> {
    text.split(|c: char| !c.is_ascii_alphanumeric() && c != '-')
        .find(|w| {
            let hex = w.chars().filter(|c| c.is_ascii_hexdigit()).count();
            let digits = w.chars().filter(|c| c.is_ascii_digit()).count();
            (w.len() >= 32 && w.contains('-') && hex >= 32)
                || (w.len() >= 8 && hex == w.len() && digits > 0)
                || digits >= 6
        })
        .map(str::to_string)
}

#[tokio::test]
async fn no_tool_speaks_an_id() {
    let app = spawn_app().await;
    let c = app.bookable_clinic("Clinic").await;
    let day = date_in(5);
    let other_day = date_in(6);
    let id = book(&app, &c, "call-ids", &day, true).await;
    let provider = c.smith.clone();
    let calls: Vec<(&str, Value)> = vec![
        ("check_availability", json!({"appointment_date": day})),
        (
            "check_availability",
            json!({"appointment_date": day, "provider_id": provider}),
        ),
        (
            "book_appointment",
            json!({"appointment_date": day, "appointment_time": "09:00", "provider_id": provider, "patient_name": "Sam Roe"}),
        ),
        (
            "book_appointment",
            json!({"appointment_date": other_day, "appointment_time": "11:00", "provider_id": provider, "patient_name": "Sam Roe", "date_of_birth": "3/3/1990"}),
        ),
        ("find_appointment", json!({})),
        (
            "verify_caller",
            json!({"full_name": "Jane Doe", "date_of_birth": "1985-03-03"}),
        ),
        ("find_appointment", json!({})),
        (
            "reschedule_appointment",
            json!({"appointment_id": id, "appointment_date": day, "appointment_time": "10:00"}),
        ),
        (
            "reschedule_appointment",
            json!({"appointment_id": id, "appointment_date": other_day, "appointment_time": "11:00"}),
        ),
        ("cancel_appointment", json!({"appointment_id": id})),
        (
            "cancel_appointment",
            json!({"appointment_id": uuid::Uuid::new_v4()}),
        ),
        (
            "search_knowledge_base",
            json!({"query": "where do I park?"}),
        ),
        (
            "hold_slot",
            json!({"appointment_date": other_day, "appointment_time": "14:00", "provider_id": provider}),
        ),
        (
            "hold_slot",
            json!({"appointment_date": other_day, "appointment_time": "14:00", "provider_id": provider}),
        ),
        ("release_hold", json!({})),
        ("release_hold", json!({})),
        (
            "join_waitlist",
            json!({"patient_name": "Sam Roe", "latest_date": other_day}),
        ),
        ("join_waitlist", json!({"patient_name": "Sam Roe"})),
        ("no_such_tool", json!({})),
    ];
    for (n, (tool, args)) in calls.into_iter().enumerate() {
        // Some from the call that booked, some from another call, for both kinds of answer.
        let call = if n % 2 == 0 { "call-ids" } else { "call-other" };
        let answer = app
            .vapi_tool(&c.agent_key, call, &format!("ids-{n}"), tool, args)
            .await;
        let sentence = said(&answer);
        assert!(!sentence.is_empty(), "{tool}: {answer}");
        assert_eq!(id_shaped(&sentence), None, "{tool} said an id: {sentence}");
    }
    assert_eq!(
        id_shaped("appointment id 01a23d48-1a0d-7000-8000-000000000000"),
        Some("01a23d48-1a0d-7000-8000-000000000000".into())
    );
}

#[tokio::test]
async fn staff_give_the_date_of_birth_at_booking_and_the_caller_proves_it_on_the_phone() {
    let app = spawn_app().await;
    let c = app.bookable_clinic("Clinic").await;
    let org = &c.clinic.org_id;
    let body = |born: &str| {
        json!({"provider_id": c.smith, "service_id": c.service_id, "date": date_in(2), "time": "11:00",
               "patient": {"name": "Jane Doe", "phone": "07911 123456", "date_of_birth": born}})
    };
    // A date of birth in the future is refused by name, and nothing is booked.
    let r = app
        .post(
            &format!("/api/orgs/{org}/appointments"),
            Some(&c.clinic.token),
            body("2999-01-01"),
        )
        .await;
    assert_eq!(r.status(), reqwest::StatusCode::UNPROCESSABLE_ENTITY);
    let e: Value = r.json().await.unwrap();
    assert_eq!(
        e["details"]["fields"][0]["field"], "patient.date_of_birth",
        "{e}"
    );
    let r = app
        .post(
            &format!("/api/orgs/{org}/appointments"),
            Some(&c.clinic.token),
            body("1985-03-03"),
        )
        .await;
    assert_eq!(r.status(), reqwest::StatusCode::CREATED);
    let a: Value = r.json().await.unwrap();
    assert_eq!(a["patient"]["date_of_birth"], "1985-03-03");
    let r = app
        .vapi_tool(
            &c.agent_key,
            "call-p",
            "p-1",
            "verify_caller",
            json!({"full_name": "Jane Doe", "date_of_birth": "the 3rd of March 1985"}),
        )
        .await;
    assert_eq!(r["verified"], true, "{r}");
}

#[tokio::test]
async fn a_code_texted_to_the_bookings_number_through_twilio_verifies_the_call_once() {
    use crate::followups::{enable_twilio, field, texts, twilio_fake};
    let twilio = twilio_fake(0, 500).await;
    let app = spawn_app_with(|s| enable_twilio(s, &twilio)).await;
    let c = app.bookable_clinic("Clinic").await;
    accept_proofs(&app, &c, "birth_date_or_code").await;
    let id = book(&app, &c, "call-booking", &date_in(3), false).await;
    let call = "call-code";
    // Nothing said yet: a code goes to the booking's number, and is not spoken.
    let r = app
        .vapi_tool(&c.agent_key, call, "k-1", "verify_caller", json!({}))
        .await;
    assert_eq!(r["code_sent"], true, "{r}");
    let sent = texts(&twilio).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(field(&sent[0], "To"), "+447911123456");
    let body = field(&sent[0], "Body").to_string();
    let code: String = body.chars().filter(char::is_ascii_digit).collect();
    assert_eq!(code.len(), 6, "{body}");
    assert!(!said(&r).contains(&code));
    // A wrong code is a failed try; the right one verifies, once.
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let r = app
        .vapi_tool(
            &c.agent_key,
            call,
            "k-2",
            "verify_caller",
            json!({"code": wrong}),
        )
        .await;
    assert_eq!(r["tries_left"], 2, "{r}");
    let spoken = code
        .chars()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join(" ");
    let r = app
        .vapi_tool(
            &c.agent_key,
            call,
            "k-3",
            "verify_caller",
            json!({"code": spoken}),
        )
        .await;
    assert_eq!(r["verified"], true, "{r}");
    // Used once: read again on the same call it is a failed try.
    let r = app
        .vapi_tool(
            &c.agent_key,
            call,
            "k-3b",
            "verify_caller",
            json!({"code": code}),
        )
        .await;
    assert_eq!(r["tries_left"], 1, "{r}");
    // The code belonged to that call, and was used: on another call it proves nothing.
    let r = app
        .vapi_tool(
            &c.agent_key,
            "call-replay",
            "k-4",
            "verify_caller",
            json!({"code": code}),
        )
        .await;
    assert_eq!(r["tries_left"], 2, "{r}");
    let r = app
        .vapi_tool(
            &c.agent_key,
            call,
            "k-5",
            "cancel_appointment",
            json!({"appointment_id": id}),
        )
        .await;
    assert_eq!(r["status"], "cancelled", "{r}");
}

/// Booking under a patient's number with made-up details, then proving those details, opens
/// only the booking just made: the patient's own booking stays closed to that caller.
#[tokio::test]
async fn a_booking_made_under_the_patients_number_does_not_unlock_the_patients_booking() {
    let app = spawn_app().await;
    let c = app.bookable_clinic("Clinic").await;
    let day = date_in(3);
    let jane = book(&app, &c, "call-jane", &day, true).await;
    // The impostor calls with Jane's number shown and books under it as someone else.
    let call = "call-impostor";
    let other_day = date_in(4);
    let booked = app
        .vapi_tool(&c.agent_key, call, "i-1", "book_appointment",
            json!({"appointment_date": other_day, "appointment_time": "10:00", "provider_name": "Dr Smith",
                   "service": "rhinoplasty", "patient_name": "Mallory Roe", "date_of_birth": "1970-01-01"}))
        .await;
    assert!(booked["appointment_id"].is_string(), "{booked}");
    // On a later call they prove the made-up details: that proves Mallory, not Jane.
    let later = "call-impostor-later";
    let r = app
        .vapi_tool(
            &c.agent_key,
            later,
            "i-2",
            "verify_caller",
            json!({"full_name": "Mallory Roe", "date_of_birth": "1970-01-01"}),
        )
        .await;
    assert_eq!(r["verified"], true, "{r}");
    let found = app
        .vapi_tool(&c.agent_key, later, "i-3", "find_appointment", json!({}))
        .await;
    let listed: Vec<&str> = found["appointments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["appointment_id"].as_str().unwrap())
        .collect();
    assert!(!listed.contains(&jane.as_str()), "{found}");
    let r = app
        .vapi_tool(
            &c.agent_key,
            later,
            "i-4",
            "cancel_appointment",
            json!({"appointment_id": jane}),
        )
        .await;
    assert_eq!(r["verification_needed"], true, "{r}");
    // An id that exists and one that does not get the same answer.
    let missing = app
        .vapi_tool(
            &c.agent_key,
            later,
            "i-5",
            "cancel_appointment",
            json!({"appointment_id": uuid::Uuid::new_v4()}),
        )
        .await;
    assert_eq!(said(&r), said(&missing));
    assert_eq!(app.appointment(&c, &jane).await["status"], "pending");
}

/// Hanging up and calling again gives three fresh tries, but the number itself only six in a
/// day: after that no call from it can prove anything by phone.
#[tokio::test]
async fn calling_again_does_not_give_unlimited_tries_for_one_number() {
    let app = spawn_app().await;
    let c = app.bookable_clinic("Clinic").await;
    book(&app, &c, "call-booking", &date_in(3), true).await;
    for (call, tries) in [("call-1", 3), ("call-2", 3)] {
        for n in 0..tries {
            app.vapi_tool(
                &c.agent_key,
                call,
                &format!("{call}-{n}"),
                "verify_caller",
                json!({"full_name": "Jane Doe", "date_of_birth": format!("{}/1/1980", n + 1)}),
            )
            .await;
        }
    }
    let r = app
        .vapi_tool(
            &c.agent_key,
            "call-3",
            "call-3-0",
            "verify_caller",
            json!({"full_name": "Jane Doe", "date_of_birth": "1985-03-03"}),
        )
        .await;
    assert_eq!(r["verification_locked"], true, "{r}");
}
