//! The voice agent's tools over `/api/vapi/tools`: speakable answers in the exact `results[]`
//! shape, the seeds' smoke test (concurrent callers for one slot), retry safety, the tolerant
//! reader, and HMAC signatures.

use chrono::{Datelike, NaiveDate};
use futures_like::join_all;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

mod futures_like {
    /// Runs futures concurrently on the test runtime and collects their outputs in order.
    pub async fn join_all<F: std::future::Future + Send + 'static>(
        futures: Vec<F>,
    ) -> Vec<F::Output>
    where
        F::Output: Send + 'static,
    {
        let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
        let mut out = Vec::with_capacity(handles.len());
        for h in handles {
            out.push(h.await.expect("task"));
        }
        out
    }
}

fn spoken_date(iso: &str) -> String {
    NaiveDate::parse_from_str(iso, "%Y-%m-%d")
        .unwrap()
        .format("%A %-d %B")
        .to_string()
}

fn book_args(date: &str, time: &str, name: &str) -> Value {
    json!({"appointment_date": date, "appointment_time": time, "provider_name": "Dr Smith", "service": "rhinoplasty", "patient_name": name})
}

#[tokio::test]
async fn a_vapi_booking_is_confirmed_in_a_sentence_and_stored_with_its_call_metadata() {
    let app = spawn_app().await;
    let c = app.bookable_clinic("Clinic").await;
    let day = date_in(3);
    let r = app
        .vapi_tool(
            &c.agent_key,
            "call-1",
            "tc-1",
            "book_appointment",
            book_args(&day, "2pm", "Jane Doe"),
        )
        .await;
    assert_eq!(
        r["result"],
        format!(
            "You're booked with Dr Smith on {} at 2 pm.",
            spoken_date(&day)
        ),
        "{r}"
    );
    assert_eq!(r["name"], "book_appointment");
    let stored = app.appointments(&c).await;
    assert_eq!(stored.len(), 1);
    let a = &stored[0];
    assert_eq!(a["id"], r["appointment_id"]);
    assert_eq!(a["source"], "vapi");
    assert_eq!(a["vapi_call_id"], "call-1");
    assert_eq!(a["vapi_tool_call_id"], "tc-1");
    assert_eq!(
        a["patient"]["phone"], "+447911123456",
        "the caller's number from the message"
    );
    assert_eq!(a["service_id"], c.service_id.as_str());
}

#[tokio::test]
async fn five_concurrent_calls_for_one_slot_yield_exactly_one_booking_and_four_offers() {
    let app = std::sync::Arc::new(spawn_app().await);
    let c = app.bookable_clinic("Clinic").await;
    let day = date_in(3);
    let calls = (0..5)
        .map(|i| {
            let (app, key, day) = (app.clone(), c.agent_key.clone(), day.clone());
            async move {
                app.vapi_tool(
                    &key,
                    &format!("call-{i}"),
                    &format!("tc-{i}"),
                    "book_appointment",
                    book_args(&day, "10:00", &format!("Caller {i}")),
                )
                .await
            }
        })
        .collect();
    let answers = join_all(calls).await;
    let booked: Vec<&Value> = answers
        .iter()
        .filter(|a| a.get("result").is_some())
        .collect();
    let refused: Vec<&Value> = answers
        .iter()
        .filter(|a| a.get("error").is_some())
        .collect();
    assert_eq!(booked.len(), 1, "{answers:?}");
    assert_eq!(refused.len(), 4);
    for r in refused {
        let sentence = r["error"].as_str().unwrap();
        assert!(
            sentence.starts_with("Sorry, 10 am was just taken. I can offer"),
            "{sentence}"
        );
        assert!(!r["alternatives"].as_array().unwrap().is_empty());
    }
    assert_eq!(app.appointments(&c).await.len(), 1);
}

#[tokio::test]
async fn sixty_four_concurrent_callers_over_sixteen_slots_make_sixteen_bookings_without_overlap() {
    let app = std::sync::Arc::new(spawn_app().await);
    let c = app.bookable_clinic("Clinic").await;
    let day = date_in(4);
    let times = [
        "09:00", "09:30", "10:00", "10:30", "11:00", "11:30", "13:00", "13:30", "14:00", "14:30",
        "15:00", "15:30", "16:00", "16:30",
    ];
    // 14 slots with Dr Smith and 2 with Dr Patel: 16 in all, 4 callers each.
    let slots: Vec<(String, &str)> = times
        .iter()
        .map(|t| ("Dr Smith".to_string(), *t))
        .chain([
            ("Dr Patel".to_string(), "09:00"),
            ("Dr Patel".to_string(), "09:30"),
        ])
        .collect();
    let calls = (0..64)
        .map(|i| {
            let (app, key, day) = (app.clone(), c.agent_key.clone(), day.clone());
            let (doctor, time) = slots[i % 16].clone();
            async move {
                let args = json!({"appointment_date": day, "appointment_time": time, "provider_name": doctor, "service": "rhinoplasty", "patient_name": format!("Caller {i}"), "patient_phone": format!("+4479111{:05}", i)});
                app.vapi_tool(&key, &format!("call-{i}"), &format!("tc-{i}"), "book_appointment", args).await
            }
        })
        .collect();
    let answers = join_all(calls).await;
    assert_eq!(
        answers.iter().filter(|a| a.get("result").is_some()).count(),
        16
    );
    let stored = app.appointments(&c).await;
    assert_eq!(stored.len(), 16);
    let mut keys: Vec<(String, String)> = stored
        .iter()
        .map(|a| {
            (
                a["provider_id"].as_str().unwrap().to_string(),
                a["start"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 16, "no two bookings share a provider and start");
    let mut tokens: Vec<&str> = stored
        .iter()
        .map(|a| a["confirmation_token"].as_str().unwrap())
        .collect();
    tokens.sort();
    tokens.dedup();
    assert_eq!(tokens.len(), 16, "confirmation tokens are distinct");
    // The claim writer batched these: each booking has its audit entry and the chain holds.
    let audit = |path: String| {
        let (app, token) = (app.clone(), c.clinic.token.clone());
        async move {
            app.get(&path, Some(&token))
                .await
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let org = &c.clinic.org_id;
    let verified = audit(format!("/api/orgs/{org}/audit/verify")).await;
    assert_eq!(verified["ok"], true, "{verified}");
    let entries = audit(format!("/api/orgs/{org}/audit?limit=500")).await;
    let booked = entries["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "appointment_booked")
        .count();
    assert_eq!(booked, 16);
}

#[tokio::test]
async fn redelivery_and_retries_return_the_existing_booking() {
    let app = spawn_app().await;
    let c = app.bookable_clinic("Clinic").await;
    let day = date_in(3);
    let first = app
        .vapi_tool(
            &c.agent_key,
            "call-9",
            "tc-a",
            "book_appointment",
            book_args(&day, "11:00", "Jane Doe"),
        )
        .await;
    // Vapi delivers the same tool call again.
    let again = app
        .vapi_tool(
            &c.agent_key,
            "call-9",
            "tc-a",
            "book_appointment",
            book_args(&day, "11:00", "Jane Doe"),
        )
        .await;
    assert_eq!(first, again);
    // The model calls the tool again after a timeout, with a new toolCallId.
    let retry = app
        .vapi_tool(
            &c.agent_key,
            "call-9",
            "tc-b",
            "book_appointment",
            book_args(&day, "11:00", "Jane Doe"),
        )
        .await;
    assert_eq!(retry["appointment_id"], first["appointment_id"], "{retry}");
    assert!(retry.get("result").is_some());
    assert_eq!(app.appointments(&c).await.len(), 1);
    // Another caller for the same time is refused.
    let other = app
        .vapi_tool(
            &c.agent_key,
            "call-10",
            "tc-c",
            "book_appointment",
            book_args(&day, "11:00", "John Roe"),
        )
        .await;
    assert!(other.get("error").is_some());
}

/// How many appointments staff find for the test caller's number (+44 7911 123456).
async fn booked_for_caller(app: &TestApp, org: &str, token: &str) -> usize {
    let r = app
        .get(
            &format!("/api/orgs/{org}/appointments?phone=07911123456"),
            Some(token),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json::<Value>().await.unwrap()["appointments"]
        .as_array()
        .unwrap()
        .len()
}

#[tokio::test]
async fn a_booking_call_delivered_again_after_a_restart_finds_its_booking_even_if_moved_or_cancelled(
) {
    let app = spawn_app().await;
    let c = app.bookable_clinic("Clinic").await;
    let (org, t) = (c.clinic.org_id.clone(), c.clinic.token.clone());
    let day = date_in(3);
    let book = |tc: &'static str, time: &'static str| {
        let (app, key, day) = (&app, c.agent_key.clone(), day.clone());
        async move {
            app.vapi_tool(
                &key,
                "call-1",
                tc,
                "book_appointment",
                book_args(&day, time, "Jane Doe"),
            )
            .await
        }
    };
    let stays = book("tc-stays", "09:00").await;
    let moved = book("tc-moved", "11:00").await;
    let cancelled = book("tc-cancelled", "14:00").await;
    let id = |v: &Value| v["appointment_id"].as_str().unwrap().to_string();
    let r = app
        .post(
            &format!("/api/orgs/{org}/appointments/{}/reschedule", id(&moved)),
            Some(&t),
            json!({"date": day, "time": "16:00"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .post(
            &format!("/api/orgs/{org}/appointments/{}/cancel", id(&cancelled)),
            Some(&t),
            json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    // A restart forgets the answers kept in memory; the ledger still knows each call.
    let tmp = app.stop().await.unwrap();
    let app = spawn_app_in(tmp.path(), |_| {}).await;
    for (tc, time, first) in [
        ("tc-stays", "09:00", &stays),
        ("tc-moved", "11:00", &moved),
        ("tc-cancelled", "14:00", &cancelled),
    ] {
        let again = app
            .vapi_tool(
                &c.agent_key,
                "call-1",
                tc,
                "book_appointment",
                book_args(&day, time, "Jane Doe"),
            )
            .await;
        assert_eq!(
            again["appointment_id"], first["appointment_id"],
            "{tc}: {again}"
        );
    }
    let all = app.appointments(&c).await;
    assert_eq!(all.len(), 3, "no booking was made twice");
    // The caller's number still finds all three after the restart (the phone index is
    // rebuilt from the stored appointments), and a booking made now is found at once.
    assert_eq!(booked_for_caller(&app, &org, &t).await, 3);
    let new = app
        .vapi_tool(
            &c.agent_key,
            "call-2",
            "tc-new",
            "book_appointment",
            book_args(&date_in(4), "10:00", "Jane Doe"),
        )
        .await;
    assert!(new.get("result").is_some(), "{new}");
    assert_eq!(booked_for_caller(&app, &org, &t).await, 4);
    let active: Vec<&str> = all
        .iter()
        .filter(|a| a["status"] != "cancelled")
        .map(|a| a["start"].as_str().unwrap())
        .collect();
    assert_eq!(active.len(), 2);
    assert!(active.iter().all(|s| !s.contains("T11:00")), "{active:?}");
    app.stop().await;
    drop(tmp);
}

#[tokio::test]
async fn several_calls_in_one_message_are_answered_in_order_and_arguments_may_be_strings() {
    let app = spawn_app().await;
    let c = app.bookable_clinic("Clinic").await;
    let day = date_in(3);
    let body = json!({"message": {"type": "tool-calls", "call": {"id": "call-m"}, "customer": {"number": "+447911123456"},
    "toolCallList": [
        {"id": "x1", "type": "function", "function": {"name": "check_availability", "arguments": format!("{{\"appointment_date\": \"{day}\", \"provider_name\": \"Smith\", \"time_of_day\": \"afternoon\"}}")}},
        {"id": "x2", "type": "function", "function": {"name": "book_appointment", "arguments": book_args(&day, "13:00", "Jane Doe").to_string()}},
        {"id": "x3", "type": "function", "function": {"name": "no_such_tool", "arguments": {}}},
        {"id": "x4", "type": "function", "function": {"name": "book_appointment", "arguments": {}}},
    ]}});
    let r = app.post("/api/vapi/tools", Some(&c.agent_key), body).await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    let results = v["results"].as_array().unwrap();
    let ids: Vec<&str> = results
        .iter()
        .map(|r| r["toolCallId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["x1", "x2", "x3", "x4"]);
    let availability = results[0]["result"].as_str().unwrap();
    assert!(
        availability.starts_with(&format!("On {} I have 1 pm", spoken_date(&day))),
        "{availability}"
    );
    assert!(
        availability.contains("with Dr Smith") && !availability.contains(" am "),
        "{availability}"
    );
    assert!(
        !availability.contains("Dr Patel"),
        "only the practitioner asked for: {availability}"
    );
    assert!(results[1]["result"]
        .as_str()
        .unwrap()
        .starts_with("You're booked"));
    assert!(results[2]["error"].is_string());
    assert!(
        results[3]["error"].as_str().unwrap().contains("name"),
        "{}",
        results[3]
    );
    for r in results {
        let text = r
            .get("result")
            .or(r.get("error"))
            .unwrap()
            .as_str()
            .unwrap();
        assert!(!text.contains('\n'));
    }
}

#[tokio::test]
async fn relative_dates_are_resolved_in_the_clinic_and_said_back() {
    let app = spawn_app().await;
    let c = app.bookable_clinic("Clinic").await;
    // The clinic's tomorrow, read before and after the call: across midnight either is right.
    let london_tomorrow = || {
        chrono::Utc::now()
            .with_timezone(&chrono_tz::Europe::London)
            .date_naive()
            + chrono::Duration::days(1)
    };
    let before = london_tomorrow();
    let r = app
        .vapi_tool(
            &c.agent_key,
            "call-r",
            "tc-r",
            "check_availability",
            json!({"appointment_date": "tomorrow"}),
        )
        .await;
    let after = london_tomorrow();
    let result = r["result"].as_str().unwrap();
    let said_one_of = [before, after].map(|d| d.format("%A %-d %B").to_string());
    assert!(said_one_of.iter().any(|s| result.contains(s)), "{r}");
    let tomorrow = if result.contains(&said_one_of[0]) {
        before
    } else {
        after
    };
    assert_eq!(r["date"], tomorrow.to_string());
    // "next Monday": the first Monday after today.
    let today = tomorrow - chrono::Duration::days(1);
    let ahead = match (7 - today.weekday().num_days_from_monday() as i64) % 7 {
        0 => 7,
        n => n,
    };
    let next = today + chrono::Duration::days(ahead);
    let r = app
        .vapi_tool(
            &c.agent_key,
            "call-r",
            "tc-r2",
            "check_availability",
            json!({"appointment_date": "next Monday"}),
        )
        .await;
    assert_eq!(r["date"], next.to_string(), "{r}");
}

#[tokio::test]
async fn the_legacy_function_call_shape_gets_a_result_string() {
    let app = spawn_app().await;
    let c = app.bookable_clinic("Clinic").await;
    let mut legacy: Value =
        serde_json::from_str(include_str!("../fixtures/vapi/function-call.legacy.json")).unwrap();
    legacy["message"]["functionCall"]["parameters"] =
        json!(format!("{{ \"appointment_date\": \"{}\"}}", date_in(3)));
    let r = app.post("/api/vapi", Some(&c.agent_key), legacy).await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert!(v["result"].as_str().unwrap().starts_with("On "), "{v}");
}

#[tokio::test]
async fn with_an_hmac_secret_only_signed_fresh_requests_are_accepted() {
    let app =
        spawn_app_with(|s| s.vapi.hmac_secret = voxanne::config::Secret::new("shared-secret"))
            .await;
    let clinic = app.signup("Clinic", "admin@clinic.example").await;
    let (_, key) = app.create_agent_key(&clinic).await;
    let body = json!({"message": {"type": "status-update", "status": "in-progress"}}).to_string();
    let sign = |ts: i64| {
        use hmac::Mac;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"shared-secret").unwrap();
        mac.update(format!("{ts}.{body}").as_bytes());
        hex::encode(mac.finalize().into_bytes())
    };
    let send = |sig: Option<String>, ts: i64| {
        let mut req = app
            .client
            .post(format!("{}/api/vapi", app.base))
            .header("x-vapi-secret", &key)
            .header("content-type", "application/json")
            .body(body.clone());
        if let Some(s) = sig {
            req = req
                .header("x-signature", s)
                .header("x-timestamp", ts.to_string());
        }
        req.send()
    };
    let now = chrono::Utc::now().timestamp();
    assert_eq!(
        send(Some(sign(now)), now).await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(
        send(Some(sign(now * 1000)), now * 1000)
            .await
            .unwrap()
            .status(),
        StatusCode::OK,
        "milliseconds accepted"
    );
    assert_eq!(
        send(None, now).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        send(Some(sign(now)), now + 1).await.unwrap().status(),
        StatusCode::UNAUTHORIZED,
        "signature over another timestamp"
    );
    assert_eq!(
        send(Some(sign(now - 3600)), now - 3600)
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED,
        "replayed"
    );
    assert_eq!(
        send(Some("00".repeat(32)), now).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_taken_slot_is_answered_with_ranked_alternatives_in_one_sentence() {
    let app = spawn_app().await;
    let c = app.bookable_clinic("Clinic").await;
    let day = date_in(3);
    assert_eq!(
        app.book_via_rest(&c, &c.smith, &day, "14:00", None)
            .await
            .status(),
        StatusCode::CREATED
    );
    let r = app
        .vapi_tool(
            &c.agent_key,
            "call-t",
            "tc-t",
            "book_appointment",
            book_args(&day, "2pm", "John Roe"),
        )
        .await;
    assert_eq!(r["error"], "Sorry, 2 pm was just taken. I can offer 1:30 pm or 2:30 pm with Dr Smith, or 2 pm with Dr Patel.");
    let alternatives = r["alternatives"].as_array().unwrap();
    assert_eq!(alternatives.len(), 3);
    assert_eq!(alternatives[2]["provider_name"], "Dr Patel");
}
