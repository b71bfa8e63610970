//! Scenario 2 (Live Booking Chain), the seeds' eight cases, over the staff REST API.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

#[tokio::test]
async fn a_booking_is_stored_pending_with_a_confirmation_token() {
    let app = spawn_app().await;
    let c = app.bookable_clinic("Clinic").await;
    let day = date_in(3);
    let r = app.book_via_rest(&c, &c.smith, &day, "09:00", None).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let a: Value = r.json().await.unwrap();
    assert_eq!(a["status"], "pending");
    assert_eq!(a["provider_id"], c.smith.as_str());
    assert!(a["start"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{day}T09:00:00")));
    assert!(a["end"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{day}T09:30:00")));
    assert!(a["confirmation_token"].as_str().unwrap().len() >= 32);
    assert_eq!(a["calendar_sync"], "pending");
}

#[tokio::test]
async fn an_overlapping_booking_is_409_with_alternatives_and_the_first_is_unchanged() {
    let app = spawn_app().await;
    let c = app.bookable_clinic("Clinic").await;
    let day = date_in(3);
    let first: Value = app
        .book_via_rest(&c, &c.smith, &day, "09:00", Some("09:30"))
        .await
        .json()
        .await
        .unwrap();
    let r = app
        .book_via_rest(&c, &c.smith, &day, "09:15", Some("09:45"))
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "slot_taken");
    let alternatives = body["details"]["alternatives"].as_array().unwrap();
    assert!(
        !alternatives.is_empty() && alternatives.len() <= 3,
        "{body}"
    );
    let stored = app.appointments(&c).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["id"], first["id"]);
    assert_eq!(stored[0]["start"], first["start"]);
    assert_eq!(stored[0]["end"], first["end"]);
}

#[tokio::test]
async fn adjacent_bookings_both_succeed() {
    let app = spawn_app().await;
    let c = app.bookable_clinic("Clinic").await;
    let day = date_in(3);
    assert_eq!(
        app.book_via_rest(&c, &c.smith, &day, "10:00", Some("10:30"))
            .await
            .status(),
        StatusCode::CREATED
    );
    assert_eq!(
        app.book_via_rest(&c, &c.smith, &day, "10:30", Some("11:00"))
            .await
            .status(),
        StatusCode::CREATED
    );
    assert_eq!(app.appointments(&c).await.len(), 2);
}

#[tokio::test]
async fn booking_for_another_clinic_is_403_and_audited() {
    let app = spawn_app().await;
    let a = app.bookable_clinic("Clinic A").await;
    let b = app.bookable_clinic("Clinic B").await;
    let day = date_in(3);
    // A's token on B's route.
    let r = app
        .post(&format!("/api/orgs/{}/appointments", b.clinic.org_id), Some(&a.clinic.token), json!({"provider_id": b.smith, "service_id": b.service_id, "date": day, "time": "09:00", "patient": {"name": "X", "phone": "07911123456"}}))
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // A's own route naming B as the clinic.
    let r = app
        .post(&format!("/api/orgs/{}/appointments", a.clinic.org_id), Some(&a.clinic.token), json!({"provider_id": a.smith, "service_id": a.service_id, "date": day, "time": "09:00", "clinic_id": b.clinic.org_id, "patient": {"name": "X", "phone": "07911123456"}}))
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // B's provider under A's org is simply unknown.
    let r = app.book_via_rest(&a, &b.smith, &day, "09:00", None).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(app.appointments(&a).await.is_empty());
    assert!(app.appointments(&b).await.is_empty());
    let actions = app.audit_actions(&a.clinic).await;
    assert!(actions.contains(&"cross_org_denied".into()));
    assert!(actions.contains(&"booking_cross_org_denied".into()));
}

#[tokio::test]
async fn two_concurrent_requests_for_one_slot_yield_one_booking_and_one_409() {
    let app = spawn_app().await;
    let c = app.bookable_clinic("Clinic").await;
    let day = date_in(3);
    let (r1, r2) = tokio::join!(
        app.book_via_rest(&c, &c.smith, &day, "11:00", None),
        app.book_via_rest(&c, &c.smith, &day, "11:00", None)
    );
    let mut statuses = [r1.status(), r2.status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::CREATED, StatusCode::CONFLICT]);
    assert_eq!(app.appointments(&c).await.len(), 1);
}

#[tokio::test]
async fn an_unknown_provider_is_404() {
    let app = spawn_app().await;
    let c = app.bookable_clinic("Clinic").await;
    let unknown = uuid::Uuid::new_v4().to_string();
    let r = app
        .book_via_rest(&c, &unknown, &date_in(3), "09:00", None)
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_code(r).await, "not_found");
}

#[tokio::test]
async fn booking_without_a_credential_is_401() {
    let app = spawn_app().await;
    let c = app.bookable_clinic("Clinic").await;
    let r = app
        .post(&format!("/api/orgs/{}/appointments", c.clinic.org_id), None, json!({"provider_id": c.smith, "date": date_in(3), "time": "09:00", "patient": {"name": "X", "phone": "07911123456"}}))
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = app
        .post(
            "/api/vapi/tools",
            None,
            json!({"message": {"type": "tool-calls", "toolCallList": []}}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn every_metadata_field_is_stored_and_returned() {
    let app = spawn_app().await;
    let c = app.bookable_clinic("Clinic").await;
    let day = date_in(4);
    let created: Value = app
        .book_via_rest(&c, &c.patel, &day, "14:00", None)
        .await
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap();
    let fetched = app.appointment(&c, id).await;
    assert_eq!(fetched, created);
    assert_eq!(fetched["patient"]["name"], "Jane Doe");
    assert_eq!(
        fetched["patient"]["phone"], "+447911123456",
        "normalised to E.164"
    );
    assert_eq!(fetched["patient"]["email"], "jane@patient.example");
    assert_eq!(fetched["service_id"], c.service_id.as_str());
    assert_eq!(fetched["notes"], "first consultation");
    assert_eq!(fetched["source"], "staff");
    let by_phone: Value = app
        .get(
            &format!(
                "/api/orgs/{}/appointments?phone=%2B447911123456",
                c.clinic.org_id
            ),
            Some(&c.clinic.token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(by_phone["appointments"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn cancel_frees_the_slot_and_reschedule_moves_atomically() {
    let app = spawn_app().await;
    let c = app.bookable_clinic("Clinic").await;
    let day = date_in(5);
    let org = &c.clinic.org_id;
    let t = Some(c.clinic.token.as_str());
    let a: Value = app
        .book_via_rest(&c, &c.smith, &day, "09:00", None)
        .await
        .json()
        .await
        .unwrap();
    let b: Value = app
        .book_via_rest(&c, &c.smith, &day, "10:00", None)
        .await
        .json()
        .await
        .unwrap();
    // Moving A onto B's time is refused with alternatives; A keeps its time.
    let r = app
        .post(
            &format!(
                "/api/orgs/{org}/appointments/{}/reschedule",
                a["id"].as_str().unwrap()
            ),
            t,
            json!({"date": day, "time": "10:00"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let still: Value = app
        .get(
            &format!("/api/orgs/{org}/appointments/{}", a["id"].as_str().unwrap()),
            t,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(still["start"], a["start"]);
    // Moving A to 11:00 frees 09:00.
    let r = app
        .post(
            &format!(
                "/api/orgs/{org}/appointments/{}/reschedule",
                a["id"].as_str().unwrap()
            ),
            t,
            json!({"date": day, "time": "11:00"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let moved: Value = r.json().await.unwrap();
    assert_eq!(moved["id"], a["id"]);
    assert!(moved["start"].as_str().unwrap().contains("T11:00"));
    assert_eq!(
        app.book_via_rest(&c, &c.smith, &day, "09:00", None)
            .await
            .status(),
        StatusCode::CREATED
    );
    // Cancelling B frees 10:00.
    let r = app
        .post(
            &format!(
                "/api/orgs/{org}/appointments/{}/cancel",
                b["id"].as_str().unwrap()
            ),
            t,
            json!({"reason": "patient request"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "cancelled");
    assert_eq!(
        app.book_via_rest(&c, &c.smith, &day, "10:00", None)
            .await
            .status(),
        StatusCode::CREATED
    );
    let actions = app.audit_actions(&c.clinic).await;
    for expected in [
        "appointment_booked",
        "appointment_rescheduled",
        "appointment_cancelled",
    ] {
        assert!(actions.contains(&expected.to_string()), "{expected}");
    }
}

#[tokio::test]
async fn times_outside_hours_in_the_break_or_off_grid_are_422_with_the_reason() {
    let app = spawn_app().await;
    let c = app.bookable_clinic("Clinic").await;
    let day = date_in(3);
    for (time, reason) in [
        ("08:00", "outside_hours"),
        ("12:00", "during_break"),
        ("09:10", "off_grid"),
        ("16:45", "outside_hours"),
    ] {
        let r = app.book_via_rest(&c, &c.smith, &day, time, None).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{time}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["details"]["reason"], reason, "{time}");
    }
    // Time off.
    let r = app
        .post(&format!("/api/orgs/{}/providers/{}/time-off", c.clinic.org_id, c.smith), Some(&c.clinic.token), json!({"start": clinic_instant(&day, "14:00"), "end": clinic_instant(&day, "16:00"), "reason": "training"}))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = app.book_via_rest(&c, &c.smith, &day, "14:30", None).await;
    assert_eq!(
        r.json::<Value>().await.unwrap()["details"]["reason"],
        "time_off"
    );
    assert!(app.appointments(&c).await.is_empty());
}

#[tokio::test]
async fn availability_offers_exactly_what_can_be_booked() {
    let app = spawn_app().await;
    let c = app.bookable_clinic("Clinic").await;
    let day = date_in(6);
    app.book_via_rest(&c, &c.smith, &day, "09:30", None).await;
    let r = app
        .get(
            &format!(
                "/api/orgs/{}/availability?service_id={}&provider_id={}&date={day}",
                c.clinic.org_id, c.service_id, c.smith
            ),
            Some(&c.clinic.token),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let slots: Vec<String> = r.json::<Value>().await.unwrap()["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["start"].as_str().unwrap()[11..16].to_string())
        .collect();
    // 09:00–12:00 and 13:00–17:00 in 30-minute steps, less the booked 09:30.
    let expected: Vec<String> = [
        "09:00", "10:00", "10:30", "11:00", "11:30", "13:00", "13:30", "14:00", "14:30", "15:00",
        "15:30", "16:00", "16:30",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(slots, expected);
    // Every offered slot books; then none is offered.
    for s in &slots {
        assert_eq!(
            app.book_via_rest(&c, &c.smith, &day, s, None)
                .await
                .status(),
            StatusCode::CREATED,
            "{s}"
        );
    }
    let r = app
        .get(
            &format!(
                "/api/orgs/{}/availability?service_id={}&provider_id={}&date={day}",
                c.clinic.org_id, c.service_id, c.smith
            ),
            Some(&c.clinic.token),
        )
        .await;
    assert!(r.json::<Value>().await.unwrap()["slots"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn the_confirmation_link_confirms_once() {
    let app = spawn_app().await;
    let c = app.bookable_clinic("Clinic").await;
    let a: Value = app
        .book_via_rest(&c, &c.smith, &date_in(3), "09:00", None)
        .await
        .json()
        .await
        .unwrap();
    let token = a["confirmation_token"].as_str().unwrap();
    // A token naming the same appointment with another secret part changes nothing.
    let mut forged = token.to_string();
    let last = if forged.ends_with('A') { "B" } else { "A" };
    forged.replace_range(forged.len() - 1.., last);
    let r = app.get(&format!("/confirm/{forged}"), None).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = app.get(&format!("/confirm/{token}"), None).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("confirmed"));
    let again = app.get(&format!("/confirm/{token}"), None).await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
    assert!(again.text().await.unwrap().contains("already been used"));
    let unknown = app.get("/confirm/not-a-real-token", None).await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let stored = app.appointment(&c, a["id"].as_str().unwrap()).await;
    assert_eq!(stored["status"], "confirmed");
}

#[tokio::test]
async fn a_confirmation_link_issued_before_tokens_carried_their_route_still_confirms() {
    use voxanne::booking::records::{AppointmentRecord, ConfirmationIndexEntry};
    use voxanne::booking::tables::{APPOINTMENTS, CONFIRMATION_TOKENS};
    use voxanne::domain::{AppointmentId, OrgId};
    use voxanne::store::OrgReads;

    let app = spawn_app().await;
    let c = app.bookable_clinic("Clinic").await;
    let a: Value = app
        .book_via_rest(&c, &c.smith, &date_in(3), "09:00", None)
        .await
        .json()
        .await
        .unwrap();
    // Rewrite the booking as an earlier version stored it: 24 random bytes as the token and
    // a row in the global token index.
    let tmp = app.stop().await.unwrap();
    let org: OrgId = c.clinic.org_id.parse().unwrap();
    let id: AppointmentId = a["id"].as_str().unwrap().parse().unwrap();
    let legacy = "q1w2e3r4t5y6u7i8o9p0a1s2d3f4g5h6".to_string();
    {
        let store = voxanne::schema::open_store(tmp.path()).unwrap();
        let mut w = store.begin_write().unwrap();
        let mut o = w.org(org);
        let mut record: AppointmentRecord = o.get(&APPOINTMENTS, &id.as_bytes()).unwrap().unwrap();
        record.confirmation_token = legacy.clone();
        o.put(&APPOINTMENTS, &id.as_bytes(), &record).unwrap();
        w.global_put(
            &CONFIRMATION_TOKENS,
            legacy.as_bytes(),
            &ConfirmationIndexEntry {
                org_id: org,
                appointment_id: id,
            },
        )
        .unwrap();
        w.commit().unwrap();
    }
    let app = spawn_app_in(tmp.path(), |_| {}).await;
    let r = app.get(&format!("/confirm/{legacy}"), None).await;
    assert_eq!(r.status(), StatusCode::OK);
    let stored = app.appointment(&c, &id.to_string()).await;
    assert_eq!(stored["status"], "confirmed");
    app.stop().await;
    drop(tmp);
}

/// The next two local dates (from tomorrow) on which London's clocks change.
fn next_clock_changes() -> Vec<chrono::NaiveDate> {
    use chrono::{Offset, TimeZone};
    let tz = chrono_tz::Europe::London;
    let offset_at_noon = |d: chrono::NaiveDate| {
        tz.from_utc_datetime(&d.and_hms_opt(12, 0, 0).unwrap())
            .offset()
            .fix()
    };
    let mut out = Vec::new();
    let mut d = chrono::Utc::now().with_timezone(&tz).date_naive() + chrono::Duration::days(1);
    while out.len() < 2 {
        if offset_at_noon(d) != offset_at_noon(d - chrono::Duration::days(1)) {
            out.push(d);
        }
        d += chrono::Duration::days(1);
    }
    out
}

#[tokio::test]
async fn nine_am_on_clock_change_days_is_nine_am_local_and_books() {
    let app = spawn_app().await;
    let c = app.bookable_clinic("Clinic").await;
    let r = app
        .request(reqwest::Method::PUT, &format!("/api/orgs/{}/settings", c.clinic.org_id), Some(&c.clinic.token), Some(json!({"min_notice_minutes": 0, "horizon_days": 730, "slot_step_minutes": 30, "phone_region": "GB"})))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    for day in next_clock_changes() {
        let day = day.format("%Y-%m-%d").to_string();
        let r = app
            .get(
                &format!(
                    "/api/orgs/{}/availability?service_id={}&provider_id={}&date={day}",
                    c.clinic.org_id, c.service_id, c.smith
                ),
                Some(&c.clinic.token),
            )
            .await;
        let slots: Vec<String> = r.json::<Value>().await.unwrap()["slots"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["start"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(slots.len(), 14, "{day}: {slots:?}");
        assert!(
            slots[0].starts_with(&format!("{day}T09:00:00")),
            "{day}: {slots:?}"
        );
        let mut unique = slots.clone();
        unique.dedup();
        assert_eq!(unique, slots);
        let booked: Value = app
            .book_via_rest(&c, &c.smith, &day, "09:00", None)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(booked["start"], slots[0], "{day}");
    }
}

/// The slot index lives in memory (schema 9). After a restart it is rebuilt from the stored
/// appointments: a held slot is still refused, a cancelled or moved one is free again, and
/// availability agrees. A file from schema 8 loses its stored slot table in the upgrade.
#[tokio::test]
async fn slots_held_before_a_restart_stay_held_and_freed_ones_stay_free() {
    let app = spawn_app().await;
    let c = app.bookable_clinic("Clinic").await;
    let day = date_in(5);
    let org = c.clinic.org_id.clone();
    let t = c.clinic.token.clone();
    let mut ids = Vec::new();
    for time in ["09:00", "10:00", "11:00"] {
        let r = app.book_via_rest(&c, &c.smith, &day, time, None).await;
        assert_eq!(r.status(), StatusCode::CREATED, "{time}");
        ids.push(
            r.json::<Value>().await.unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let r = app
        .post(
            &format!("/api/orgs/{org}/appointments/{}/cancel", ids[1]),
            Some(&t),
            json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .post(
            &format!("/api/orgs/{org}/appointments/{}/reschedule", ids[2]),
            Some(&t),
            json!({"date": day, "time": "14:00"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let tmp = app.stop().await.unwrap();

    // Put the file back at schema 8, with the stored slot table that schema had.
    const SLOTS: redb::TableDefinition<(u128, &[u8]), &[u8]> =
        redb::TableDefinition::new("appointment_slots_v1");
    const META: redb::TableDefinition<&[u8], &[u8]> = redb::TableDefinition::new("meta_v1");
    let file = tmp.path().join("voxanne.redb");
    {
        let db = redb::Database::open(&file).unwrap();
        let tx = db.begin_write().unwrap();
        tx.open_table(SLOTS).unwrap();
        tx.open_table(META)
            .unwrap()
            .insert(b"schema_version".as_slice(), b"8".as_slice())
            .unwrap();
        tx.commit().unwrap();
    }

    let app = spawn_app_in(tmp.path(), |_| {}).await;
    for (time, expected) in [
        ("09:00", StatusCode::CONFLICT),
        ("14:00", StatusCode::CONFLICT),
        ("10:00", StatusCode::CREATED),
        ("11:00", StatusCode::CREATED),
    ] {
        let r = app.book_via_rest(&c, &c.smith, &day, time, None).await;
        assert_eq!(r.status(), expected, "{time}");
    }
    let offered: Vec<String> = app
        .get(
            &format!(
                "/api/orgs/{org}/availability?service_id={}&provider_id={}&date={day}",
                c.service_id, c.smith
            ),
            Some(&t),
        )
        .await
        .json::<Value>()
        .await
        .unwrap()["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["start"].as_str().unwrap()[11..16].to_string())
        .collect();
    for taken in ["09:00", "10:00", "11:00", "14:00"] {
        assert!(
            !offered.contains(&taken.to_string()),
            "{taken}: {offered:?}"
        );
    }
    assert!(offered.contains(&"09:30".to_string()), "{offered:?}");
    app.stop().await;

    let db = redb::Database::open(&file).unwrap();
    let tx = redb::ReadableDatabase::begin_read(&db).unwrap();
    let names: Vec<String> = tx
        .list_tables()
        .unwrap()
        .map(|t| redb::TableHandle::name(&t).to_string())
        .collect();
    assert!(
        !names.contains(&"appointment_slots_v1".to_string()),
        "{names:?}"
    );
    assert!(names.contains(&"appointments_v1".to_string()), "{names:?}");
}

#[tokio::test]
async fn time_off_given_after_a_booking_is_seen_by_the_next_claim() {
    let app = spawn_app().await;
    let c = app.bookable_clinic("Clinic").await;
    let day = date_in(3);
    // The claim writer reads Dr Smith's record for this booking and keeps it decoded.
    let r = app.book_via_rest(&c, &c.smith, &day, "10:00", None).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = app
        .post(&format!("/api/orgs/{}/providers/{}/time-off", c.clinic.org_id, c.smith), Some(&c.clinic.token), json!({"start": clinic_instant(&day, "14:00"), "end": clinic_instant(&day, "16:00"), "reason": "training"}))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    // The next claim reads the changed record, not the one it kept.
    let r = app.book_via_rest(&c, &c.smith, &day, "14:30", None).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.json::<Value>().await.unwrap()["details"]["reason"],
        "time_off"
    );
    let r = app.book_via_rest(&c, &c.smith, &day, "16:00", None).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(app.appointments(&c).await.len(), 2);
}
