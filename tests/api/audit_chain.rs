//! The audit chain verifies when intact and names the first broken entry when an entry is
//! edited directly in the redb file, removed, or cut off the end.

use std::process::Command;

use redb::{ReadableTable, TableDefinition};
use reqwest::StatusCode;
use serde_json::Value;
use voxanne::audit::AUDIT_LOG;
use voxanne::audit::{AuditEntry, Outcome};
use voxanne::store::codec::Stored;

use crate::helpers::*;

const AUDIT: TableDefinition<(u128, &[u8]), &[u8]> = TableDefinition::new(AUDIT_LOG.name());

/// A clinic with a few audited events, on a stopped server; returns the data dir and org.
async fn clinic_with_history() -> (tempfile::TempDir, Clinic) {
    let app = spawn_app().await;
    let clinic = app.signup("Clinic", "admin@clinic.example").await;
    app.add_user_token(&clinic, "staff").await; // user_added + login
    app.create_agent_key(&clinic).await;
    let v = app.audit_verify(&clinic).await;
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["entries"], 4);
    (app.stop().await.unwrap(), clinic)
}

fn org_u128(clinic: &Clinic) -> u128 {
    uuid::Uuid::parse_str(&clinic.org_id).unwrap().as_u128()
}

fn edit_file(dir: &std::path::Path, f: impl FnOnce(&mut redb::Table<(u128, &[u8]), &[u8]>)) {
    let db = redb::Database::open(dir.join("voxanne.redb")).unwrap();
    let tx = db.begin_write().unwrap();
    {
        let mut t = tx.open_table(AUDIT).unwrap();
        f(&mut t);
    }
    tx.commit().unwrap();
}

fn cli_verify(dir: &std::path::Path) -> (i32, Value) {
    let out = Command::new(voxanne_bin())
        .args(["audit", "verify", "--data-dir"])
        .arg(dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let line = stdout
        .lines()
        .next()
        .unwrap_or_else(|| panic!("no output: {stdout}"));
    (
        out.status.code().unwrap(),
        serde_json::from_str(line).unwrap(),
    )
}

#[tokio::test]
async fn verify_reports_ok_for_an_untouched_chain() {
    let (dir, _) = clinic_with_history().await;
    let (code, v) = cli_verify(dir.path());
    assert_eq!(code, 0);
    assert_eq!(v["ok"], true);
    assert_eq!(v["entries"], 4);
}

#[tokio::test]
async fn an_entry_edited_in_the_redb_file_is_detected_by_cli_and_http() {
    let (dir, clinic) = clinic_with_history().await;
    let org = org_u128(&clinic);
    edit_file(dir.path(), |t| {
        // Decoded and re-encoded in the stored layout, as someone editing the file would.
        let key = 2u64.to_be_bytes();
        let mut entry =
            AuditEntry::from_bytes(t.get((org, key.as_slice())).unwrap().unwrap().value()).unwrap();
        assert_eq!(entry.outcome, Outcome::Success);
        entry.outcome = Outcome::Denied;
        let bytes = entry.to_bytes().unwrap();
        t.insert((org, key.as_slice()), bytes.as_slice()).unwrap();
    });
    let (code, v) = cli_verify(dir.path());
    assert_eq!(code, 1);
    assert_eq!(v["ok"], false);
    assert_eq!(v["first_bad_seq"], 2);

    let app = spawn_app_in(dir.path(), |_| {}).await;
    let token: Value = app
        .login(&clinic.email, PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let r = app
        .get(
            &format!("/api/orgs/{}/audit/verify", clinic.org_id),
            token["access_token"].as_str(),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["first_bad_seq"], 2);
    app.stop().await;
}

#[tokio::test]
async fn a_removed_entry_is_detected() {
    let (dir, clinic) = clinic_with_history().await;
    let org = org_u128(&clinic);
    edit_file(dir.path(), |t| {
        t.remove((org, 3u64.to_be_bytes().as_slice())).unwrap();
    });
    let (code, v) = cli_verify(dir.path());
    assert_eq!(code, 1);
    assert_eq!(v["first_bad_seq"], 3);
}

#[tokio::test]
async fn a_cut_off_tail_is_detected() {
    let (dir, clinic) = clinic_with_history().await;
    let org = org_u128(&clinic);
    edit_file(dir.path(), |t| {
        t.remove((org, 4u64.to_be_bytes().as_slice())).unwrap();
    });
    let (code, v) = cli_verify(dir.path());
    assert_eq!(code, 1);
    assert_eq!(v["first_bad_seq"], 4);
}

#[tokio::test]
async fn entries_page_by_sequence_number_with_hash_links() {
    let app = spawn_app().await;
    let clinic = app.signup("Clinic", "admin@clinic.example").await;
    for _ in 0..3 {
        app.login(&clinic.email, PASSWORD).await;
    }
    let all = app.audit_entries(&clinic).await;
    assert_eq!(all.len(), 4);
    for pair in all.windows(2) {
        assert_eq!(pair[1]["prev_hash"], pair[0]["hash"]);
        assert_eq!(
            pair[1]["seq"].as_u64().unwrap(),
            pair[0]["seq"].as_u64().unwrap() + 1
        );
    }
    let page: Value = app
        .get(
            &format!("/api/orgs/{}/audit?after=2&limit=1", clinic.org_id),
            Some(&clinic.token),
        )
        .await
        .json()
        .await
        .unwrap();
    let page = page["entries"].as_array().unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0]["seq"], 3);
    // The file holds no emails in the audit table: entries name ids only.
    let db = redb::Database::open(app.data_dir.join("voxanne.redb"));
    assert!(
        db.is_err(),
        "the server holds the database open exclusively"
    );
    let text = serde_json::to_string(&all).unwrap();
    assert!(!text.contains("admin@clinic.example"));
}

#[tokio::test]
async fn a_file_from_before_schema_6_keeps_its_audit_head_through_the_upgrade() {
    let (dir, clinic) = clinic_with_history().await;
    let org = org_u128(&clinic);
    // Put the file back in the schema-5 layout: the head in its own table.
    {
        const HEAD_BEFORE_6: TableDefinition<(u128, &[u8]), &[u8]> =
            TableDefinition::new("audit_head_v1");
        const META: TableDefinition<&[u8], &[u8]> = TableDefinition::new("meta_v1");
        let db = redb::Database::open(dir.path().join("voxanne.redb")).unwrap();
        let tx = db.begin_write().unwrap();
        {
            let mut log = tx.open_table(AUDIT).unwrap();
            let head = log
                .remove((org, b"head".as_slice()))
                .unwrap()
                .expect("schema 6 keeps the head in the log")
                .value()
                .to_vec();
            let mut old = tx.open_table(HEAD_BEFORE_6).unwrap();
            old.insert((org, b"head".as_slice()), head.as_slice())
                .unwrap();
            let mut meta = tx.open_table(META).unwrap();
            meta.insert(b"schema_version".as_slice(), b"5".as_slice())
                .unwrap();
        }
        tx.commit().unwrap();
    }
    let (code, v) = cli_verify(dir.path());
    assert_eq!(
        (code, v["ok"].clone(), v["entries"].clone()),
        (0, true.into(), 4.into()),
        "{v}"
    );
    // The moved head still guards the tail.
    edit_file(dir.path(), |t| {
        t.remove((org, 4u64.to_be_bytes().as_slice())).unwrap();
    });
    let (code, v) = cli_verify(dir.path());
    assert_eq!(code, 1);
    assert_eq!(v["first_bad_seq"], 4);
}
