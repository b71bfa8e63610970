//! The FHIR R4 face: a practice system reads the diary, finds a free slot, books it (a second
//! booking of the same time is refused with 409 and alternatives), moves and cancels it, holds
//! and books through Argonaut's operations, and sees what the voice agent booked; another
//! clinic sees none of it; every failure is an `OperationOutcome`.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

async fn fhir(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let mut req = app
        .client
        .request(method, format!("{}/fhir/r4{path}", app.base));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(b) = body {
        req = req
            .header("content-type", "application/fhir+json")
            .body(b.to_string());
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    let headers = r.headers().clone();
    assert_eq!(
        headers.get("content-type").unwrap(),
        "application/fhir+json",
        "{path}"
    );
    (status, headers, r.json().await.unwrap())
}

async fn get(app: &TestApp, path: &str, token: &str) -> (StatusCode, Value) {
    let (s, _, v) = fhir(app, Method::GET, path, Some(token), None, &[]).await;
    (s, v)
}

fn resources(bundle: &Value) -> Vec<Value> {
    assert_eq!(bundle["resourceType"], "Bundle");
    bundle["entry"]
        .as_array()
        .map(|e| e.iter().map(|e| e["resource"].clone()).collect())
        .unwrap_or_default()
}

/// The free slots of Dr Smith on `day` (the clinic's day).
async fn free_slots(app: &TestApp, c: &BookableClinic, day: &str) -> Vec<Value> {
    let (s, b) = get(
        app,
        &format!(
            "/Slot?schedule=Schedule/{}&start=ge{day}&start=lt{day}T23:59:00Z&status=free&service-type={}",
            c.smith, c.service_id
        ),
        &c.clinic.token,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    resources(&b)
}

fn new_appointment(slot: &Value, name: &str) -> Value {
    json!({
        "resourceType": "Appointment",
        "status": "booked",
        "slot": [{"reference": format!("Slot/{}", slot["id"].as_str().unwrap())}],
        "contained": [{"resourceType": "Patient", "id": "p", "name": [{"given": [name], "family": "Okafor"}],
                        "telecom": [{"system": "phone", "value": "07700 900123"}], "birthDate": "1985-03-03"}],
        "participant": [{"actor": {"reference": "#p"}, "status": "accepted"}],
    })
}

fn issue_codes(outcome: &Value) -> Vec<String> {
    assert_eq!(outcome["resourceType"], "OperationOutcome", "{outcome}");
    outcome["issue"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["code"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_practice_system_finds_a_slot_books_it_and_a_second_booking_of_that_time_is_refused_with_alternatives(
) {
    let app = spawn_app().await;
    let c = app.bookable_clinic("Harley Aesthetics").await;
    let day = date_in(3);
    let slots = free_slots(&app, &c, &day).await;
    assert_eq!(slots.len(), 14, "09:00–17:00 less lunch in 30-minute slots");
    assert!(slots
        .iter()
        .all(|s| s["status"] == "free"
            && s["schedule"]["reference"] == format!("Schedule/{}", c.smith)));
    let nine = &slots[0];
    assert!(nine["start"].as_str().unwrap().contains("T09:00:00"));
    // The slot reads back by its id while it is free.
    let (s, read) = get(
        &app,
        &format!("/Slot/{}", nine["id"].as_str().unwrap()),
        &c.clinic.token,
    )
    .await;
    assert_eq!((s, &read), (StatusCode::OK, nine));

    let (s, h, made) = fhir(
        &app,
        Method::POST,
        "/Appointment",
        Some(&c.clinic.token),
        Some(new_appointment(nine, "Amaka")),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{made}");
    let id = made["id"].as_str().unwrap().to_string();
    assert!(h["location"]
        .to_str()
        .unwrap()
        .ends_with(&format!("/fhir/r4/Appointment/{id}")));
    assert_eq!(
        h["etag"].to_str().unwrap(),
        format!("W/\"{}\"", made["meta"]["versionId"].as_str().unwrap())
    );
    assert_eq!(
        made["status"], "booked",
        "booked: made and confirmed for the patient"
    );
    assert_eq!(made["start"], nine["start"]);
    assert_eq!(
        made["participant"][1]["actor"]["reference"],
        format!("Practitioner/{}", c.smith)
    );
    // The same diary: the JSON API sees it, confirmed, with the patient as given.
    let rest = app.appointment(&c, &id).await;
    assert_eq!(rest["status"], "confirmed");
    assert_eq!(rest["patient"]["name"], "Amaka Okafor");
    assert_eq!(rest["patient"]["phone"], "+447700900123");

    // The slot is no longer free, and now shows as busy.
    let after = free_slots(&app, &c, &day).await;
    assert!(!after.iter().any(|s| s["start"] == nine["start"]));
    let (s, _) = get(
        &app,
        &format!("/Slot/{}", nine["id"].as_str().unwrap()),
        &c.clinic.token,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, busy) = get(
        &app,
        &format!(
            "/Slot?schedule=Schedule/{}&start=ge{day}&start=lt{day}T23:59:00Z&status=busy",
            c.smith
        ),
        &c.clinic.token,
    )
    .await;
    let busy = resources(&busy);
    assert_eq!(busy.len(), 1);
    assert_eq!(busy[0]["start"], nine["start"]);

    // A second client booking the same slot: 409, with free alternatives it can book.
    let (s, _, refused) = fhir(
        &app,
        Method::POST,
        "/Appointment",
        Some(&c.clinic.token),
        Some(new_appointment(nine, "Bola")),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(issue_codes(&refused)[0], "conflict");
    let offered: Vec<&str> = refused["issue"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["code"] == "informational")
        .map(|i| i["details"]["text"].as_str().unwrap())
        .collect();
    assert!(!offered.is_empty());
    for slot in &offered {
        let (s, free) = get(&app, &format!("/{slot}"), &c.clinic.token).await;
        assert_eq!(s, StatusCode::OK, "{slot} is offered but not free");
        assert_eq!(free["status"], "free");
    }
    assert_eq!(app.appointments(&c).await.len(), 1);
    assert_eq!(app.audit_verify(&c.clinic).await["ok"], true);
}

#[tokio::test]
async fn staff_move_and_cancel_through_put_and_patch_and_a_stale_version_changes_nothing() {
    let app = spawn_app().await;
    let c = app.bookable_clinic("Harley Aesthetics").await;
    let day = date_in(4);
    let slots = free_slots(&app, &c, &day).await;
    let (_, _, made) = fhir(
        &app,
        Method::POST,
        "/Appointment",
        Some(&c.clinic.token),
        Some(new_appointment(&slots[0], "Amaka")),
        &[],
    )
    .await;
    let id = made["id"].as_str().unwrap().to_string();
    let version = made["meta"]["versionId"].as_str().unwrap().to_string();
    let t = Some(c.clinic.token.as_str());

    // Move it to 10:00 with PUT; its end follows.
    let mut moved = made.clone();
    moved["start"] = slots[2]["start"].clone();
    moved["end"] = slots[2]["end"].clone();
    let etag = format!("W/\"{version}\"");
    let (s, h, now) = fhir(
        &app,
        Method::PUT,
        &format!("/Appointment/{id}"),
        t,
        Some(moved.clone()),
        &[("if-match", etag.as_str())],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{now}");
    assert_eq!(now["start"], slots[2]["start"]);
    assert_eq!(now["id"], id.as_str(), "the same appointment, moved");
    assert_ne!(now["meta"]["versionId"], version.as_str());
    assert_ne!(h["etag"].to_str().unwrap(), etag);

    // The old version again: 412, nothing changes.
    let mut back = made.clone();
    back["status"] = json!("cancelled");
    let (s, _, outcome) = fhir(
        &app,
        Method::PUT,
        &format!("/Appointment/{id}"),
        t,
        Some(back),
        &[("if-match", etag.as_str())],
    )
    .await;
    assert_eq!(s, StatusCode::PRECONDITION_FAILED);
    assert_eq!(issue_codes(&outcome)[0], "conflict");
    assert_eq!(app.appointment(&c, &id).await["status"], "confirmed");

    // Another booking at 11:00; moving ours onto it is 409 and ours stays at 10:00.
    let (_, _, other) = fhir(
        &app,
        Method::POST,
        "/Appointment",
        t,
        Some(new_appointment(&slots[4], "Bola")),
        &[],
    )
    .await;
    assert!(other["id"].is_string());
    let mut onto = now.clone();
    onto["start"] = slots[4]["start"].clone();
    onto.as_object_mut().unwrap().remove("end");
    let (s, _, _) = fhir(
        &app,
        Method::PUT,
        &format!("/Appointment/{id}"),
        t,
        Some(onto),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (_, kept) = get(&app, &format!("/Appointment/{id}"), &c.clinic.token).await;
    assert_eq!(kept["start"], slots[2]["start"]);

    // A merge patch of the start alone moves it (the end follows), and frees 10:00.
    let (s, _, patched) = fhir(
        &app,
        Method::PATCH,
        &format!("/Appointment/{id}"),
        t,
        Some(json!({"start": slots[6]["start"]})),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{patched}");
    assert_eq!(patched["start"], slots[6]["start"]);
    assert_eq!(patched["end"], slots[6]["end"]);
    assert!(free_slots(&app, &c, &day)
        .await
        .iter()
        .any(|s| s["start"] == slots[2]["start"]));
    // An outcome and a move in one change are refused before either happens.
    let (s, _, _) = fhir(
        &app,
        Method::PATCH,
        &format!("/Appointment/{id}"),
        t,
        Some(json!({"start": slots[8]["start"], "status": "noshow"})),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.appointment(&c, &id).await["start"].as_str().unwrap()[11..16],
        slots[6]["start"].as_str().unwrap()[11..16]
    );
    // A JSON Patch cancels it with a reason; its time is free again.
    let patch = json!([{"op": "replace", "path": "/status", "value": "cancelled"},
                       {"op": "add", "path": "/cancelationReason", "value": {"text": "patient is travelling"}}]);
    let (s, _, cancelled) = fhir(
        &app,
        Method::PATCH,
        &format!("/Appointment/{id}"),
        t,
        Some(patch),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{cancelled}");
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(
        cancelled["cancelationReason"]["text"],
        "patient is travelling"
    );
    assert_eq!(app.appointment(&c, &id).await["status"], "cancelled");
    let free = free_slots(&app, &c, &day).await;
    assert!(free.iter().any(|s| s["start"] == slots[6]["start"]));
    // A cancelled appointment cannot come back to booked.
    let (s, _, _) = fhir(
        &app,
        Method::PATCH,
        &format!("/Appointment/{id}"),
        t,
        Some(json!({"status": "booked"})),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(app.audit_verify(&c.clinic).await["ok"], true);
}

#[tokio::test]
async fn a_retried_create_with_the_same_identifier_books_once() {
    let app = spawn_app().await;
    let c = app.bookable_clinic("Harley Aesthetics").await;
    let slots = free_slots(&app, &c, &date_in(5)).await;
    let mut body = new_appointment(&slots[1], "Amaka");
    body["identifier"] = json!([{"system": "https://pms.example/appointments", "value": "A-1001"}]);
    let t = Some(c.clinic.token.as_str());
    let (s, _, first) = fhir(
        &app,
        Method::POST,
        "/Appointment",
        t,
        Some(body.clone()),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    // The retry names another time and carries the identifier in the body: the one made under
    // it comes back, nothing new.
    body["slot"] = json!([{"reference": format!("Slot/{}", slots[3]["id"].as_str().unwrap())}]);
    let (s, _, again) = fhir(
        &app,
        Method::POST,
        "/Appointment",
        t,
        Some(body.clone()),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(again["id"], first["id"]);
    // A conditional create names it in If-None-Exist alone.
    body.as_object_mut().unwrap().remove("identifier");
    let header = [(
        "if-none-exist",
        "identifier=https://pms.example/appointments|A-1001",
    )];
    let (s, _, conditional) = fhir(
        &app,
        Method::POST,
        "/Appointment",
        t,
        Some(body.clone()),
        &header,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(conditional["id"], first["id"]);
    assert_eq!(first["identifier"][0]["value"], "A-1001");
    assert_eq!(app.appointments(&c).await.len(), 1);
    // Another identifier books anew.
    let other = [(
        "if-none-exist",
        "identifier=https://pms.example/appointments|A-1002",
    )];
    let (s, _, second) = fhir(&app, Method::POST, "/Appointment", t, Some(body), &other).await;
    assert_eq!(s, StatusCode::CREATED);
    assert_ne!(second["id"], first["id"]);
    assert_eq!(app.appointments(&c).await.len(), 2);
    for search in [
        "identifier=https://pms.example/appointments|A-1001",
        "identifier=A-1001",
    ] {
        let (_, found) = get(&app, &format!("/Appointment?{search}"), &c.clinic.token).await;
        assert_eq!(found["total"], 1, "{search}");
        assert_eq!(resources(&found)[0]["id"], first["id"]);
    }
    let (_, none) = get(
        &app,
        "/Appointment?identifier=https://elsewhere.example|A-1001",
        &c.clinic.token,
    )
    .await;
    assert_eq!(none["total"], 0);
}

#[tokio::test]
async fn an_agent_key_books_but_is_told_nothing_about_patients_and_changes_nothing() {
    let app = spawn_app().await;
    let c = app.bookable_clinic("Harley Aesthetics").await;
    let slots = free_slots(&app, &c, &date_in(5)).await;
    let t = Some(c.clinic.token.as_str());
    let mut body = new_appointment(&slots[0], "Amaka");
    body["identifier"] = json!([{"system": "https://pms.example/appointments", "value": "A-7"}]);
    body["comment"] = json!("allergic to latex");
    let (_, _, staffs) = fhir(
        &app,
        Method::POST,
        "/Appointment",
        t,
        Some(body.clone()),
        &[],
    )
    .await;
    let id = staffs["id"].as_str().unwrap().to_string();
    assert_eq!(staffs["participant"][0]["actor"]["display"], "Amaka Okafor");

    let a = Some(c.agent_key.as_str());
    // Guessing the identifier returns the booking, but not whom it is for.
    let (s, _, replay) = fhir(&app, Method::POST, "/Appointment", a, Some(body), &[]).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(replay["id"], id.as_str());
    assert!(!replay.to_string().contains("Amaka"), "{replay}");
    assert!(!replay.to_string().contains("latex"), "{replay}");
    // Its own booking: answered the same way.
    let (s, _, own) = fhir(
        &app,
        Method::POST,
        "/Appointment",
        a,
        Some(new_appointment(&slots[2], "Bola")),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{own}");
    assert!(!own.to_string().contains("Bola"));
    // It cannot copy another booking's patient into a new one.
    let mut copy = new_appointment(&slots[4], "x");
    copy.as_object_mut().unwrap().remove("contained");
    copy["participant"] =
        json!([{"actor": {"reference": format!("Patient/{id}")}, "status": "accepted"}]);
    let (s, _, _) = fhir(
        &app,
        Method::POST,
        "/Appointment",
        a,
        Some(copy.clone()),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    // Staff can (a returning patient).
    let (s, _, returning) = fhir(&app, Method::POST, "/Appointment", t, Some(copy), &[]).await;
    assert_eq!(s, StatusCode::CREATED, "{returning}");
    assert_eq!(
        returning["participant"][0]["actor"]["display"],
        "Amaka Okafor"
    );
    // It changes no appointment.
    for method in [Method::PUT, Method::PATCH] {
        let (s, _, _) = fhir(
            &app,
            method.clone(),
            &format!("/Appointment/{id}"),
            a,
            Some(json!({"resourceType": "Appointment", "status": "cancelled"})),
            &[],
        )
        .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{method}");
    }
    assert_eq!(app.appointment(&c, &id).await["status"], "confirmed");
    assert_eq!(app.appointments(&c).await.len(), 3);
}

#[tokio::test]
async fn what_the_voice_agent_booked_is_seen_over_fhir_and_reading_the_patient_is_audited() {
    let app = spawn_app().await;
    let c = app.bookable_clinic("Harley Aesthetics").await;
    let day = date_in(2);
    let answer = app
        .vapi_tool(&c.agent_key, "call-fhir-1", "tc-1", "book_appointment", json!({
            "appointment_date": day, "appointment_time": "14:00", "provider_name": "Dr Patel",
            "service": "rhinoplasty", "patient_name": "Siobhan Nakamura", "date_of_birth": "1990-06-01"}))
        .await;
    let id = answer["appointment_id"]
        .as_str()
        .expect("booked")
        .to_string();
    let (s, found) = get(
        &app,
        &format!(
            "/Appointment?date={day}&actor=Practitioner/{}&_include=Appointment:actor",
            c.patel
        ),
        &c.clinic.token,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(found["total"], 1);
    let entries = found["entry"].as_array().unwrap();
    assert_eq!(entries[0]["resource"]["id"], id.as_str());
    assert_eq!(entries[0]["resource"]["status"], "pending");
    assert!(entries[0]["resource"]["start"]
        .as_str()
        .unwrap()
        .contains("T14:00:00"));
    assert_eq!(entries[1]["search"]["mode"], "include");
    assert_eq!(entries[1]["resource"]["name"][0]["text"], "Dr Patel");
    // Dr Smith's diary does not hold it.
    let (_, smith) = get(
        &app,
        &format!("/Appointment?actor=Practitioner/{}", c.smith),
        &c.clinic.token,
    )
    .await;
    assert_eq!(smith["total"], 0);

    assert!(!app
        .audit_actions(&c.clinic)
        .await
        .contains(&"patient_read".to_string()));
    let (s, patient) = get(&app, &format!("/Patient/{id}"), &c.clinic.token).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(patient["name"][0]["text"], "Siobhan Nakamura");
    assert_eq!(
        patient["telecom"][0]["value"], "+447911123456",
        "the caller's number"
    );
    assert_eq!(patient["birthDate"], "1990-06-01");
    let (_, by_phone) = get(&app, "/Patient?telephone=07911123456", &c.clinic.token).await;
    assert_eq!(by_phone["total"], 1);
    let reads = app
        .audit_entries(&c.clinic)
        .await
        .into_iter()
        .filter(|e| e["action"] == "patient_read")
        .collect::<Vec<_>>();
    assert_eq!(reads.len(), 2, "the read and the search each audited");
    assert!(reads
        .iter()
        .all(|e| e["target"] == format!("appointment:{id}")));
    // An agent key books but cannot read patients or the diary.
    let (s, _) = get(&app, &format!("/Patient/{id}"), &c.agent_key).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = get(&app, "/Appointment", &c.agent_key).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = get(&app, "/Slot", &c.agent_key).await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn find_hold_and_book_keep_the_held_time_from_everyone_else() {
    let app = spawn_app().await;
    let c = app.bookable_clinic("Harley Aesthetics").await;
    let day = date_in(6);
    let (s, found) = get(
        &app,
        &format!(
            "/Appointment/$find?start={day}&end={day}&provider=Practitioner/{}&service-type={}",
            c.smith, c.service_id
        ),
        &c.agent_key,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{found}");
    let proposed = resources(&found);
    assert_eq!(proposed.len(), 14);
    assert!(proposed.iter().all(|a| a["status"] == "proposed"));
    let t = Some(c.agent_key.as_str());
    let params = json!({"resourceType": "Parameters", "parameter": [{"name": "appt-resource", "resource": proposed[3]}]});
    let (s, _, held) = fhir(
        &app,
        Method::POST,
        "/Appointment/$hold",
        t,
        Some(params.clone()),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{held}");
    assert_eq!(held["status"], "pending");
    // Nobody else can book or hold it now: not staff, not the voice agent.
    let (s, _, _) = fhir(
        &app,
        Method::POST,
        "/Appointment/$hold",
        t,
        Some(params),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let time = &proposed[3]["start"].as_str().unwrap()[11..16];
    let r = app.book_via_rest(&c, &c.smith, &day, time, None).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(!free_slots(&app, &c, &day)
        .await
        .iter()
        .any(|s| s["start"] == proposed[3]["start"]));

    let mut book = held.clone();
    book["contained"] = json!([{"resourceType": "Patient", "id": "p", "name": [{"text": "Amaka Okafor"}], "telecom": [{"system": "phone", "value": "+44 7700 900123"}]}]);
    book["participant"]
        .as_array_mut()
        .unwrap()
        .push(json!({"actor": {"reference": "#p"}, "status": "accepted"}));
    let (s, _, booked) = fhir(&app, Method::POST, "/Appointment/$book", t, Some(book), &[]).await;
    assert_eq!(s, StatusCode::CREATED, "{booked}");
    assert_eq!(booked["start"], proposed[3]["start"]);
    assert_eq!(
        app.org_list(&c, "holds").await.len(),
        0,
        "the booking took the hold"
    );
    assert_eq!(app.appointments(&c).await.len(), 1);
}

#[tokio::test]
async fn another_clinics_resources_are_not_found_and_its_searches_find_nothing() {
    let app = spawn_app().await;
    let a = app.bookable_clinic("Harley Aesthetics").await;
    let b = app.bookable_clinic("Mayfair Skin").await;
    let slots = free_slots(&app, &a, &date_in(3)).await;
    let (_, _, made) = fhir(
        &app,
        Method::POST,
        "/Appointment",
        Some(&a.clinic.token),
        Some(new_appointment(&slots[0], "Amaka")),
        &[],
    )
    .await;
    let id = made["id"].as_str().unwrap();
    for path in [
        format!("/Appointment/{id}"),
        format!("/Patient/{id}"),
        format!("/Practitioner/{}", a.smith),
        format!("/Schedule/{}", a.smith),
        format!("/HealthcareService/{}", a.service_id),
        format!("/Slot/{}", slots[1]["id"].as_str().unwrap()),
        format!("/Slot/busy.{id}"),
    ] {
        let (s, outcome) = get(&app, &path, &b.clinic.token).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(issue_codes(&outcome)[0], "not-found");
    }
    for path in [
        format!("/Appointment?_id={id}"),
        format!("/Appointment?actor=Practitioner/{}", a.smith),
        format!("/Patient?_id={id}"),
        format!("/Slot?schedule=Schedule/{}", a.smith),
        format!("/Practitioner?_id={}", a.smith),
    ] {
        let (s, bundle) = get(&app, &path, &b.clinic.token).await;
        assert_eq!(s, StatusCode::OK, "{path}");
        assert_eq!(bundle["total"], 0, "{path}");
    }
    // Changing it from the other clinic: not found, and it stays as it was.
    let (s, _, _) = fhir(
        &app,
        Method::PATCH,
        &format!("/Appointment/{id}"),
        Some(&b.clinic.token),
        Some(json!({"status": "cancelled"})),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Booking the other clinic's slot names a slot this clinic does not have.
    let (s, _, outcome) = fhir(
        &app,
        Method::POST,
        "/Appointment",
        Some(&b.clinic.token),
        Some(new_appointment(&slots[1], "Bola")),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(outcome["issue"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["expression"][0] == "Appointment.slot"));
    assert_eq!(app.appointment(&a, id).await["status"], "confirmed");
    assert_eq!(app.appointments(&b).await.len(), 0);
}

#[tokio::test]
async fn bad_requests_answer_an_operation_outcome_and_change_nothing() {
    let app = spawn_app().await;
    let c = app.bookable_clinic("Harley Aesthetics").await;
    let t = Some(c.clinic.token.as_str());
    let slots = free_slots(&app, &c, &date_in(3)).await;
    let cases: Vec<(Method, String, Option<Value>, StatusCode, &str)> = vec![
        (
            Method::GET,
            "/Appointment".into(),
            None,
            StatusCode::UNAUTHORIZED,
            "login",
        ),
        (
            Method::GET,
            "/Slot?status=maybe".into(),
            None,
            StatusCode::BAD_REQUEST,
            "invalid",
        ),
        (
            Method::GET,
            "/Slot?start=tomorrow".into(),
            None,
            StatusCode::BAD_REQUEST,
            "invalid",
        ),
        (
            Method::GET,
            "/Slot?start=ge2026-01-01&start=lt2026-06-01".into(),
            None,
            StatusCode::BAD_REQUEST,
            "invalid",
        ),
        (
            Method::GET,
            "/Appointment?_count=0".into(),
            None,
            StatusCode::BAD_REQUEST,
            "invalid",
        ),
        (
            Method::GET,
            "/Appointment/not-an-id".into(),
            None,
            StatusCode::NOT_FOUND,
            "not-found",
        ),
        (
            Method::DELETE,
            "/Appointment/x".into(),
            None,
            StatusCode::METHOD_NOT_ALLOWED,
            "not-supported",
        ),
        (
            Method::POST,
            "/Appointment".into(),
            Some(json!({"resourceType": "Patient"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        ),
        (
            Method::POST,
            "/Appointment".into(),
            Some(
                json!({"resourceType": "Appointment", "status": "arrived", "slot": [{"reference": format!("Slot/{}", slots[0]["id"].as_str().unwrap())}]}),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        ),
        (
            Method::POST,
            "/Appointment".into(),
            Some(
                json!({"resourceType": "Appointment", "start": "2026-07-01T09:00:00", "participant": []}),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        ),
    ];
    for (method, path, body, status, code) in cases {
        let token = if status == StatusCode::UNAUTHORIZED {
            None
        } else {
            t
        };
        let (s, _, outcome) = fhir(&app, method.clone(), &path, token, body, &[]).await;
        assert_eq!(s, status, "{method} {path}: {outcome}");
        assert_eq!(issue_codes(&outcome)[0], code, "{method} {path}");
    }
    // Dates chrono reads but nothing can be computed at: no 5xx, nothing found.
    for path in [
        "/Slot?start=ge%2B262142-12-20".to_string(),
        "/Appointment/$find?start=%2B262142-12-20".to_string(),
        "/Appointment?date=lt-262000-01-01".to_string(),
    ] {
        let (s, bundle) = get(&app, &path, &c.clinic.token).await;
        assert_eq!(s, StatusCode::OK, "{path}: {bundle}");
        assert_eq!(bundle["total"], 0, "{path}");
    }
    let (s, _) = get(&app, "/Slot/1-0-1qv1ojrz", &c.clinic.token).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Malformed JSON, and a patient the booking rules refuse (no phone number).
    let r = app
        .client
        .post(format!("{}/fhir/r4/Appointment", app.base))
        .bearer_auth(&c.clinic.token)
        .header("content-type", "application/fhir+json")
        .body("{\"resourceType\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let mut no_phone = new_appointment(&slots[0], "Amaka");
    no_phone["contained"][0]
        .as_object_mut()
        .unwrap()
        .remove("telecom");
    let (s, _, outcome) = fhir(&app, Method::POST, "/Appointment", t, Some(no_phone), &[]).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        outcome["issue"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["expression"][0] == "Patient.telecom"),
        "{outcome}"
    );
    assert!(
        !outcome.to_string().contains("Amaka"),
        "no personal data in errors"
    );
    assert_eq!(app.appointments(&c).await.len(), 0);
}

#[tokio::test]
async fn the_capability_statement_lists_exactly_the_fhir_routes_the_server_answers() {
    let app = spawn_app().await;
    let (s, _, statement) = fhir(&app, Method::GET, "/metadata", None, None, &[]).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(statement["resourceType"], "CapabilityStatement");
    assert_eq!(statement["fhirVersion"], "4.0.1");
    let doc: Value = app
        .get("/api/openapi.json", None)
        .await
        .json()
        .await
        .unwrap();
    // Every documented FHIR operation, as the interaction it is.
    let mut documented: Vec<String> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let Some(rest) = path.strip_prefix("/fhir/r4/") else {
            continue;
        };
        if rest == "metadata" {
            continue;
        }
        let mut parts = rest.split('/');
        let kind = parts.next().unwrap();
        let second = parts.next();
        for method in item.as_object().unwrap().keys() {
            documented.push(match (method.as_str(), second) {
                ("get", None) => format!("{kind} search-type"),
                ("post", None) => format!("{kind} create"),
                ("get", Some("{id}")) => format!("{kind} read"),
                ("put", Some("{id}")) => format!("{kind} update"),
                ("patch", Some("{id}")) => format!("{kind} patch"),
                (_, Some(op)) => format!("{kind} {op}"),
                other => panic!("unexpected FHIR route {other:?}"),
            });
        }
    }
    let mut stated: Vec<String> = Vec::new();
    for r in statement["rest"][0]["resource"].as_array().unwrap() {
        let kind = r["type"].as_str().unwrap();
        for i in r["interaction"].as_array().into_iter().flatten() {
            stated.push(format!("{kind} {}", i["code"].as_str().unwrap()));
        }
        for o in r["operation"].as_array().into_iter().flatten() {
            stated.push(format!("{kind} ${}", o["name"].as_str().unwrap()));
        }
    }
    documented.sort();
    stated.sort();
    assert_eq!(stated, documented);
    for kind in [
        "Practitioner",
        "HealthcareService",
        "Schedule",
        "Slot",
        "Appointment",
        "Patient",
    ] {
        assert!(stated.contains(&format!("{kind} read")), "{kind}");
        assert!(stated.contains(&format!("{kind} search-type")), "{kind}");
    }
    // And each interaction it states answers (not 404 or 405) for a clinic's token.
    let c = app.bookable_clinic("Harley Aesthetics").await;
    for r in statement["rest"][0]["resource"].as_array().unwrap() {
        let kind = r["type"].as_str().unwrap();
        let (s, bundle) = get(&app, &format!("/{kind}?_count=1"), &c.clinic.token).await;
        assert_eq!(s, StatusCode::OK, "{kind}: {bundle}");
        for p in r["searchParam"].as_array().into_iter().flatten() {
            assert!(["token", "date", "reference"].contains(&p["type"].as_str().unwrap()));
        }
    }
}

#[tokio::test]
async fn a_long_search_pages_with_next_links() {
    let app = spawn_app().await;
    let c = app.bookable_clinic("Harley Aesthetics").await;
    let day = date_in(3);
    let path = format!("/Slot?start=ge{day}&start=lt{day}T23:59:00Z&status=free&_count=5");
    let (_, first) = get(&app, &path, &c.clinic.token).await;
    assert_eq!(
        first["total"], 28,
        "14 half-hours for each of the two doctors"
    );
    let mut seen: Vec<Value> = resources(&first);
    assert_eq!(seen.len(), 5);
    let mut next = first;
    while let Some(url) = next["link"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["relation"] == "next")
        .map(|l| l["url"].as_str().unwrap().to_string())
    {
        let path = url.split("/fhir/r4").nth(1).unwrap().to_string();
        let (s, page) = get(&app, &path, &c.clinic.token).await;
        assert_eq!(s, StatusCode::OK);
        seen.extend(resources(&page));
        next = page;
    }
    assert_eq!(seen.len(), 28);
    let starts: Vec<&str> = seen.iter().map(|s| s["start"].as_str().unwrap()).collect();
    let mut sorted = starts.clone();
    sorted.sort();
    assert_eq!(starts, sorted, "in start order across pages");
    let mut ids: Vec<&str> = seen.iter().map(|s| s["id"].as_str().unwrap()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 28, "no slot twice");
}

#[tokio::test]
async fn if_match_is_checked_by_the_claim_writer_so_a_change_made_in_between_is_caught() {
    use voxanne::auth::{Caller, Principal};
    use voxanne::booking::Expected;
    use voxanne::domain::Role;

    let app = spawn_app().await;
    let c = app.bookable_clinic("Harley Aesthetics").await;
    let day = date_in(4);
    let slots = free_slots(&app, &c, &day).await;
    let t = Some(c.clinic.token.as_str());
    let (_, _, made) = fhir(
        &app,
        Method::POST,
        "/Appointment",
        t,
        Some(new_appointment(&slots[0], "Amaka")),
        &[],
    )
    .await;
    let id: voxanne::domain::AppointmentId = made["id"].as_str().unwrap().parse().unwrap();
    let org: voxanne::domain::OrgId = c.clinic.org_id.parse().unwrap();
    let read_version = made["meta"]["versionId"].as_str().unwrap().to_string();
    // Someone moves it after that version was read, through the JSON API.
    let r = app
        .post(
            &format!("/api/orgs/{org}/appointments/{id}/reschedule"),
            t,
            json!({"start": slots[2]["start"]}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    // A cancellation on condition of the version read before: refused in the writer itself.
    let staff = Caller {
        org,
        principal: Principal::User(c.clinic.user_id.parse().unwrap()),
        role: Role::Admin,
    };
    let expected = Expected {
        org,
        id,
        version: read_version.clone(),
    };
    let refused = app
        .services
        .booking
        .cancel(staff, id, None, Some(&expected))
        .await;
    assert!(
        matches!(refused, Err(voxanne::booking::BookingError::Changed)),
        "{refused:?}"
    );
    assert_eq!(
        app.appointment(&c, &id.to_string()).await["status"],
        "confirmed"
    );
    // At the current version it goes through.
    let current = app.services.booking.appointment(org, id).await.unwrap();
    let expected = Expected {
        org,
        id,
        version: current.version(),
    };
    let cancelled = app
        .services
        .booking
        .cancel(staff, id, None, Some(&expected))
        .await
        .unwrap();
    assert_eq!(cancelled.status.as_str(), "cancelled");

    // Two clients moving one appointment from the same version at once: one wins, the other is
    // told it changed, and the appointment is where the winner put it.
    let (_, _, second) = fhir(
        &app,
        Method::POST,
        "/Appointment",
        t,
        Some(new_appointment(&slots[4], "Bola")),
        &[],
    )
    .await;
    let second_id = second["id"].as_str().unwrap().to_string();
    let etag = format!("W/\"{}\"", second["meta"]["versionId"].as_str().unwrap());
    let path = format!("/Appointment/{second_id}");
    let to = |slot: &Value| json!({"start": slot["start"]});
    let headers = [("if-match", etag.as_str())];
    let (first, other) = tokio::join!(
        fhir(&app, Method::PATCH, &path, t, Some(to(&slots[6])), &headers),
        fhir(&app, Method::PATCH, &path, t, Some(to(&slots[8])), &headers),
    );
    let mut statuses = [first.0, other.0];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::PRECONDITION_FAILED]);
    let winner = if first.0 == StatusCode::OK {
        &first.2
    } else {
        &other.2
    };
    let (_, now) = get(&app, &path, &c.clinic.token).await;
    assert_eq!(now["start"], winner["start"]);
}

/// Every FHIR operation the document lists (so a route added later is covered, or this test
/// says what it needs), called by another clinic with the first clinic's ids, slots and
/// practitioners: not found, nothing found, or refused — and the first clinic's diary,
/// holds and audit chain are as they were.
#[tokio::test]
async fn every_fhir_route_in_the_document_keeps_another_clinics_records_out_of_reach() {
    let app = spawn_app().await;
    let a = app.bookable_clinic("Harley Aesthetics").await;
    let b = app.bookable_clinic("Mayfair Skin").await;
    let slots = free_slots(&app, &a, &date_in(3)).await;
    let (_, _, made) = fhir(
        &app,
        Method::POST,
        "/Appointment",
        Some(&a.clinic.token),
        Some(new_appointment(&slots[0], "Amaka")),
        &[],
    )
    .await;
    let appointment = made["id"].as_str().unwrap().to_string();
    let slot = slots[1]["id"].as_str().unwrap().to_string();
    let audit_before = app.audit_entries(&a.clinic).await.len();
    let doc = crate::openapi::document(&app).await;
    let mut tried = 0;
    for (method, template) in crate::openapi::operations(&doc) {
        let Some(rest) = template.strip_prefix("/fhir/r4/") else {
            continue;
        };
        if rest == "metadata" {
            continue;
        }
        let kind = rest.split('/').next().unwrap();
        let id = match kind {
            "Appointment" | "Patient" => appointment.clone(),
            "Practitioner" | "Schedule" => a.smith.clone(),
            "HealthcareService" => a.service_id.clone(),
            "Slot" => slot.clone(),
            other => panic!("{other}: say which of the first clinic's ids to try"),
        };
        let path = template.replace("/fhir/r4", "").replace("{id}", &id);
        let path = match (method.as_str(), rest) {
            ("GET", "Slot") => format!("/Slot?schedule=Schedule/{}", a.smith),
            ("GET", "Appointment/$find") => format!("{path}?provider=Practitioner/{}", a.smith),
            ("GET", r) if !r.contains('/') => format!("{path}?_id={id}"),
            _ => path,
        };
        let body = match method.as_str() {
            "POST" => Some(new_appointment(&slots[1], "Bola")),
            "PUT" | "PATCH" => Some(json!({"resourceType": "Appointment", "status": "cancelled"})),
            _ => None,
        };
        let (status, _, answer) = fhir(
            &app,
            method.clone(),
            &path,
            Some(&b.clinic.token),
            body,
            &[],
        )
        .await;
        tried += 1;
        match status {
            StatusCode::NOT_FOUND | StatusCode::UNPROCESSABLE_ENTITY => {
                assert_eq!(
                    answer["resourceType"], "OperationOutcome",
                    "{method} {path}"
                )
            }
            StatusCode::OK => assert_eq!(answer["total"], 0, "{method} {path}: {answer}"),
            other => panic!("{method} {path}: {other} {answer}"),
        }
    }
    assert!(tried >= 15, "only {tried} FHIR operations");
    assert_eq!(
        app.appointment(&a, &appointment).await["status"],
        "confirmed"
    );
    assert_eq!(app.appointments(&a).await.len(), 1);
    assert_eq!(app.org_list(&a, "holds").await.len(), 0);
    assert_eq!(
        app.audit_entries(&a.clinic).await.len(),
        audit_before,
        "nothing happened in the first clinic"
    );
    assert_eq!(app.appointments(&b).await.len(), 0);
}
