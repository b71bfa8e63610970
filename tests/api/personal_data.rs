//! The seeds' "Security & Compliance Redline": an end-of-call report is scanned before
//! anything is stored; contact details go to contacts, identifiers and clinical sentences are
//! encrypted (AES-256-GCM, bound to org and record), the call keeps only the redacted text,
//! and reading a note is audited.

use std::process::Command;

use redb::{ReadableTable, TableDefinition};
use reqwest::StatusCode;
use serde_json::{json, Value};
use voxanne::calls::tables::CLINICAL_NOTES;

use crate::helpers::*;

const SEED_LINE: &str = "My address is 123 Harley Street and I have a history of heart issues";

fn report(call_id: &str, transcript: &str) -> Value {
    let mut r: Value = serde_json::from_str(include_str!(
        "../fixtures/vapi/end-of-call-report.captured.json"
    ))
    .unwrap();
    let m = &mut r["message"];
    m["call"]["id"] = json!(call_id);
    m["artifact"]["transcript"] = json!(transcript);
    m["analysis"]["summary"] = json!("Caller gave an address and mentioned heart issues.");
    m["customer"]["number"] = json!("+447911123456");
    m["startedAt"] = json!("2026-11-20T10:00:00Z");
    m["endedAt"] = json!("2026-11-20T10:03:00Z");
    r
}

fn transcript() -> String {
    format!("AI: Thank you for calling, how can I help?\nUser: {SEED_LINE}.\nUser: My NHS number is 943 476 5919.\nAI: Thank you, someone will call you back.")
}

async fn file_report(app: &TestApp, key: &str, call_id: &str) {
    let r = app
        .post("/api/vapi", Some(key), report(call_id, &transcript()))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap(), json!({}));
}

async fn notes(app: &TestApp, clinic: &Clinic, token: &str) -> Vec<Value> {
    let r = app
        .get(
            &format!("/api/orgs/{}/clinical-notes", clinic.org_id),
            Some(token),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json::<Value>().await.unwrap()["clinical_notes"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn the_seed_case_is_redacted_routed_encrypted_and_audited() {
    let app = spawn_app().await;
    let clinic = app.signup("Clinic", "admin@clinic.example").await;
    let (_, key) = app.create_agent_key(&clinic).await;
    file_report(&app, &key, "call-seed").await;

    let call: Value = app
        .get(
            &format!("/api/orgs/{}/calls/call-seed", clinic.org_id),
            Some(&clinic.token),
        )
        .await
        .json()
        .await
        .unwrap();
    let redacted = call["transcript_redacted"].as_str().unwrap();
    assert!(
        redacted
            .contains("User: My address is [ADDRESS] and I have a history of [MEDICAL_CONDITION]."),
        "{redacted}"
    );
    assert!(
        redacted.contains("My NHS number is [NHS_NUMBER]."),
        "{redacted}"
    );
    assert!(
        !redacted.contains("Harley") && !redacted.contains("heart") && !redacted.contains("5919")
    );
    assert_eq!(
        call["summary_redacted"],
        "Caller gave an address and mentioned [MEDICAL_CONDITION]."
    );
    let counts: Vec<(String, u64)> = call["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_string(),
                e["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(
        counts.contains(&("address".into(), 1))
            && counts.contains(&("medical_condition".into(), 2))
            && counts.contains(&("nhs_number".into(), 1)),
        "{counts:?}"
    );

    let contacts: Value = app
        .get(
            &format!("/api/orgs/{}/contacts?phone=07911123456", clinic.org_id),
            Some(&clinic.token),
        )
        .await
        .json()
        .await
        .unwrap();
    let contact = &contacts["contacts"][0];
    assert_eq!(contact["address"], "123 Harley Street");
    assert_eq!(contact["phone"], "+447911123456");

    let listed = notes(&app, &clinic, &clinic.token).await;
    assert_eq!(listed.len(), 1);
    assert!(
        listed[0].get("text").is_none(),
        "listing carries no content"
    );
    let id = listed[0]["id"].as_str().unwrap();
    let note: Value = app
        .get(
            &format!("/api/orgs/{}/clinical-notes/{id}", clinic.org_id),
            Some(&clinic.token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(note["text"].as_str().unwrap().contains(SEED_LINE), "{note}");
    assert!(
        !note["text"].as_str().unwrap().contains("NHS number"),
        "identifiers are not clinical notes"
    );

    let actions = app.audit_actions(&clinic).await;
    for a in [
        "contact_upserted",
        "identifier_stored",
        "clinical_note_created",
        "call_recorded",
        "clinical_note_read",
    ] {
        assert!(
            actions.contains(&a.to_string()),
            "{a} missing from {actions:?}"
        );
    }
}

#[tokio::test]
async fn nothing_clinical_or_identifying_is_on_disk_in_plaintext() {
    let app = spawn_app().await;
    let clinic = app.signup("Clinic", "admin@clinic.example").await;
    let (_, key) = app.create_agent_key(&clinic).await;
    file_report(&app, &key, "call-disk").await;
    let dir = app.stop().await.unwrap();
    let mut bytes = Vec::new();
    for entry in walk(dir.path()) {
        bytes.extend(std::fs::read(entry).unwrap());
    }
    // The redacted transcript is stored (its harmless lines are readable); the raw one is not.
    let raw = transcript();
    for secret in [
        "heart issues",
        "943 476 5919",
        "9434765919",
        SEED_LINE,
        raw.as_str(),
    ] {
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret:?} found on disk"
        );
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[tokio::test]
async fn a_repeated_report_stores_nothing_twice() {
    let app = spawn_app().await;
    let clinic = app.signup("Clinic", "admin@clinic.example").await;
    let (_, key) = app.create_agent_key(&clinic).await;
    file_report(&app, &key, "call-twice").await;
    file_report(&app, &key, "call-twice").await;
    assert_eq!(notes(&app, &clinic, &clinic.token).await.len(), 1);
    let contacts: Value = app
        .get(
            &format!("/api/orgs/{}/contacts", clinic.org_id),
            Some(&clinic.token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(contacts["contacts"].as_array().unwrap().len(), 1);
    assert_eq!(contacts["contacts"][0]["call_ids"], json!(["call-twice"]));
    let recorded = app
        .audit_entries(&clinic)
        .await
        .iter()
        .filter(|e| e["action"] == "call_recorded")
        .count();
    assert_eq!(recorded, 1);
}

#[tokio::test]
async fn only_admins_and_clinicians_read_clinical_notes() {
    let app = spawn_app().await;
    let clinic = app.signup("Clinic", "admin@clinic.example").await;
    let (_, key) = app.create_agent_key(&clinic).await;
    file_report(&app, &key, "call-roles").await;
    let (_, staff) = app.add_user_token(&clinic, "staff").await;
    let (_, clinician) = app.add_user_token(&clinic, "clinician").await;
    let id = notes(&app, &clinic, &clinic.token).await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/api/orgs/{}/clinical-notes/{id}", clinic.org_id);
    assert_eq!(
        app.get(&path, Some(&clinician)).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.get(&path, Some(&staff)).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get(&path, Some(&key)).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get(
            &format!("/api/orgs/{}/clinical-notes", clinic.org_id),
            Some(&staff)
        )
        .await
        .status(),
        StatusCode::FORBIDDEN
    );
    // Another org's admin cannot read it either.
    let other = app.signup("Other", "admin@other.example").await;
    assert_eq!(
        app.get(&path, Some(&other.token)).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get(
            &format!("/api/orgs/{}/clinical-notes/{id}", other.org_id),
            Some(&other.token)
        )
        .await
        .status(),
        StatusCode::NOT_FOUND
    );
    let reads = app
        .audit_entries(&clinic)
        .await
        .iter()
        .filter(|e| e["action"] == "clinical_note_read")
        .count();
    assert_eq!(reads, 1, "the clinician's read is audited");
}

const NOTES: TableDefinition<(u128, &[u8]), &[u8]> = TableDefinition::new(CLINICAL_NOTES.name());

#[tokio::test]
async fn a_ciphertext_moved_to_another_record_or_org_does_not_decrypt() {
    let app = spawn_app().await;
    let a = app.signup("Clinic A", "admin@a.example").await;
    let b = app.signup("Clinic B", "admin@b.example").await;
    let (_, key_a) = app.create_agent_key(&a).await;
    let (_, key_b) = app.create_agent_key(&b).await;
    file_report(&app, &key_a, "call-a1").await;
    file_report(&app, &key_a, "call-a2").await;
    file_report(&app, &key_b, "call-b1").await;
    let ids_a: Vec<String> = notes(&app, &a, &a.token)
        .await
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_string())
        .collect();
    let id_b = notes(&app, &b, &b.token).await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let dir = app.stop().await.unwrap();

    let org = |c: &Clinic| uuid::Uuid::parse_str(&c.org_id).unwrap().as_u128();
    let key = |id: &str| uuid::Uuid::parse_str(id).unwrap().as_bytes().to_vec();
    {
        let db = redb::Database::open(dir.path().join("voxanne.redb")).unwrap();
        let tx = db.begin_write().unwrap();
        {
            let mut t = tx.open_table(NOTES).unwrap();
            let first: Value = serde_json::from_slice(
                t.get((org(&a), key(&ids_a[0]).as_slice()))
                    .unwrap()
                    .unwrap()
                    .value(),
            )
            .unwrap();
            // Note A0's ciphertext pasted into note A1, and into B's note.
            for (o, id) in [(org(&a), &ids_a[1]), (org(&b), &id_b)] {
                let mut target: Value = serde_json::from_slice(
                    t.get((o, key(id).as_slice())).unwrap().unwrap().value(),
                )
                .unwrap();
                target["sealed"] = first["sealed"].clone();
                let bytes = serde_json::to_vec(&target).unwrap();
                t.insert((o, key(id).as_slice()), bytes.as_slice()).unwrap();
            }
        }
        tx.commit().unwrap();
    }
    let app = spawn_app_in(dir.path(), |_| {}).await;
    let token = |c: &Clinic| c.token.clone();
    let ok = app
        .get(
            &format!("/api/orgs/{}/clinical-notes/{}", a.org_id, ids_a[0]),
            Some(&token(&a)),
        )
        .await;
    assert_eq!(ok.status(), StatusCode::OK, "the original still reads");
    for (c, id) in [(&a, &ids_a[1]), (&b, &id_b)] {
        let r = app
            .get(
                &format!("/api/orgs/{}/clinical-notes/{id}", c.org_id),
                Some(&token(c)),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CONFLICT);
        let body: Value = r.json().await.unwrap();
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("cannot be decrypted"),
            "{body}"
        );
    }
    app.stop().await;
    drop(dir);
}

#[tokio::test]
async fn a_wrong_master_key_stops_start_up_and_changes_nothing() {
    let app = spawn_app().await;
    let clinic = app.signup("Clinic", "admin@clinic.example").await;
    let (_, key) = app.create_agent_key(&clinic).await;
    file_report(&app, &key, "call-key").await;
    let dir = app.stop().await.unwrap();
    let key_file = dir.path().join("keys/master.key");
    let right_key = std::fs::read(&key_file).unwrap();
    std::fs::write(&key_file, "11".repeat(32)).unwrap();
    let settings = voxanne::config::Settings::for_data_dir(dir.path());
    let err = voxanne::startup::Application::build(settings)
        .await
        .err()
        .expect("start-up refused")
        .to_string();
    assert!(err.contains("master key does not match"), "{err}");
    assert_eq!(
        std::fs::read(&key_file).unwrap(),
        "11".repeat(32).as_bytes(),
        "the key file is not replaced"
    );
    // With the right key back, everything still reads.
    std::fs::write(&key_file, right_key).unwrap();
    let app = spawn_app_in(dir.path(), |_| {}).await;
    let id = notes(&app, &clinic, &clinic.token).await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let note: Value = app
        .get(
            &format!("/api/orgs/{}/clinical-notes/{id}", clinic.org_id),
            Some(&clinic.token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(note["text"].as_str().unwrap().contains(SEED_LINE));
    app.stop().await;
    drop(dir);
}

#[tokio::test]
async fn rotation_keeps_notes_readable_and_shredding_makes_them_unreadable() {
    let app = spawn_app().await;
    let clinic = app.signup("Clinic", "admin@clinic.example").await;
    let (_, key) = app.create_agent_key(&clinic).await;
    file_report(&app, &key, "call-rot").await;
    let id = notes(&app, &clinic, &clinic.token).await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let dir = app.stop().await.unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(voxanne_bin())
            .args(args)
            .arg("--data-dir")
            .arg(dir.path())
            .arg("--org")
            .arg(&clinic.org_id)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&["keys", "rotate"]);
    let app = spawn_app_in(dir.path(), |_| {}).await;
    let path = format!("/api/orgs/{}/clinical-notes/{id}", clinic.org_id);
    let note: Value = app
        .get(&path, Some(&clinic.token))
        .await
        .json()
        .await
        .unwrap();
    assert!(note["text"].as_str().unwrap().contains(SEED_LINE));
    app.stop().await;
    run(&["keys", "shred", "--yes"]);
    let app = spawn_app_in(dir.path(), |_| {}).await;
    let r = app.get(&path, Some(&clinic.token)).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(r.text().await.unwrap().contains("keys have been destroyed"));
    app.stop().await;
}

#[test]
fn pii_detect_reads_and_writes_json_lines_with_character_offsets() {
    use std::io::Write;
    let mut child = Command::new(voxanne_bin())
        .args(["pii", "detect"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(
            "{\"text\": \"Zoë here, call me on 07911 123456\"}\n{\"text\": \"nothing to see\"}\n"
                .as_bytes(),
        )
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    // "Zoë" is read as "Zoe" in the name lists, and "here" after it says it is a name.
    let name = &lines[0]["entities"][0];
    assert_eq!(name["type"], "person");
    assert_eq!(name["text"], "Zoë");
    assert_eq!((&name["start"], &name["end"]), (&json!(0), &json!(3)));
    let e = &lines[0]["entities"][1];
    assert_eq!(e["type"], "phone");
    assert_eq!(e["text"], "07911 123456");
    assert_eq!(e["start"], 21);
    assert_eq!(e["end"], 33);
    assert_eq!(lines[1], json!({"entities": []}));
}

#[tokio::test]
async fn deleting_an_org_shreds_its_keys_and_removes_its_data_only() {
    let app = spawn_app().await;
    let doomed = app.bookable_clinic("Doomed Clinic").await;
    let kept = app.bookable_clinic("Kept Clinic").await;
    for c in [&doomed, &kept] {
        file_report(&app, &c.agent_key, &format!("call-{}", c.clinic.org_id)).await;
        assert_eq!(
            app.book_via_rest(c, &c.smith, &date_in(3), "09:00", None)
                .await
                .status(),
            StatusCode::CREATED
        );
    }
    let kept_note = notes(&app, &kept.clinic, &kept.clinic.token).await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let dir = app.stop().await.unwrap();
    let out = Command::new(voxanne_bin())
        .args([
            "org",
            "delete",
            "--yes",
            "--org",
            &doomed.clinic.org_id,
            "--data-dir",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("data key version(s) destroyed"));

    let app = spawn_app_in(dir.path(), |_| {}).await;
    assert_eq!(
        app.login(&doomed.clinic.email, PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get("/api/me", Some(&doomed.clinic.token))
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let r = app
        .post(
            "/api/vapi",
            Some(&doomed.agent_key),
            json!({"message": {"type": "status-update"}}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // The other clinic is untouched.
    let note: Value = app
        .get(
            &format!(
                "/api/orgs/{}/clinical-notes/{kept_note}",
                kept.clinic.org_id
            ),
            Some(&kept.clinic.token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(note["text"].as_str().unwrap().contains(SEED_LINE));
    assert_eq!(app.appointments(&kept).await.len(), 1);
    let v: Value = app
        .get(
            &format!("/api/orgs/{}/audit/verify", kept.clinic.org_id),
            Some(&kept.clinic.token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["ok"], true);
    app.stop().await;
    // Only the kept org is left for the audit verifier to walk.
    let out = Command::new(voxanne_bin())
        .args(["audit", "verify", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 1);
    assert!(text.contains(&kept.clinic.org_id) && !text.contains(&doomed.clinic.org_id));
}

/// What a caller says into the voice agent's free-text arguments (a booking's notes, a cancel
/// reason) is filed like a transcript: the appointment keeps the redacted text, the address
/// goes to the caller's contact, the clinical sentence is sealed as a note of the call, and
/// neither is anywhere on disk in plain text.
#[tokio::test]
async fn notes_and_a_cancel_reason_told_to_the_voice_agent_are_redacted_and_their_clinical_content_sealed(
) {
    let app = spawn_app().await;
    let c = app.bookable_clinic("Clinic").await;
    let mut args = json!({"appointment_date": date_in(3), "appointment_time": "2pm", "provider_name": "Dr Smith", "service": "rhinoplasty", "patient_name": "Jane Doe"});
    args["notes"] = json!(SEED_LINE);
    let booked = app
        .vapi_tool(&c.agent_key, "call-notes", "tc-1", "book_appointment", args)
        .await;
    let id = booked["appointment_id"]
        .as_str()
        .expect("booked")
        .to_string();
    let a = app.appointment(&c, &id).await;
    assert_eq!(
        a["notes"],
        "My address is [ADDRESS] and I have a history of [MEDICAL_CONDITION]"
    );

    let cancelled = app
        .vapi_tool(
            &c.agent_key,
            "call-notes",
            "tc-2",
            "cancel_appointment",
            json!({"appointment_id": id, "reason": "My heart issues came back"}),
        )
        .await;
    assert_eq!(cancelled["status"], "cancelled", "{cancelled}");
    let a = app.appointment(&c, &id).await;
    assert_eq!(a["cancel_reason"], "My [MEDICAL_CONDITION] came back");

    let contacts: Value = app
        .get(
            &format!("/api/orgs/{}/contacts?phone=07911123456", c.clinic.org_id),
            Some(&c.clinic.token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(contacts["contacts"][0]["address"], "123 Harley Street");

    let listed = notes(&app, &c.clinic, &c.clinic.token).await;
    assert_eq!(listed.len(), 2, "{listed:?}");
    let mut texts = Vec::new();
    for n in &listed {
        assert_eq!(n["call_id"], "call-notes");
        let note: Value = app
            .get(
                &format!(
                    "/api/orgs/{}/clinical-notes/{}",
                    c.clinic.org_id,
                    n["id"].as_str().unwrap()
                ),
                Some(&c.clinic.token),
            )
            .await
            .json()
            .await
            .unwrap();
        texts.push(note["text"].as_str().unwrap().to_string());
    }
    texts.sort();
    assert_eq!(
        texts,
        vec![
            SEED_LINE.to_string(),
            "My heart issues came back".to_string()
        ]
    );

    let dir = app.stop().await.unwrap();
    let mut bytes = Vec::new();
    for entry in walk(dir.path()) {
        bytes.extend(std::fs::read(entry).unwrap());
    }
    // The address is a contact detail (kept in the contact, as from transcripts); the
    // clinical words and the sentence as said are nowhere.
    for secret in ["heart issues", SEED_LINE] {
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret:?} found on disk"
        );
    }
}
