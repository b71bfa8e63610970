//! One write path for appointments: random sequences of bookings (both doors), cancels,
//! reschedules, confirmations and calendar-sync outcomes, after each of which the in-memory
//! slot and phone indexes equal a rebuild from the redb file.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use serde_json::{json, Value};
use voxanne::booking::MemoryIndexes;

use crate::helpers::*;
use crate::outbox::{enable_google, eventually, google_fake};

const TIMES: [&str; 6] = ["09:00", "09:30", "10:00", "10:30", "14:00", "14:30"];

fn assert_indexes_match_a_rebuild(app: &TestApp, seed: u64, step: usize, what: &str) {
    let live = app.services.booking.memory_indexes().snapshot();
    let rebuilt = MemoryIndexes::build(&app.services.store)
        .expect("indexes rebuild from the file")
        .snapshot();
    assert_eq!(live, rebuilt, "seed {seed}, step {step} ({what})");
}

#[tokio::test]
async fn the_in_memory_indexes_always_equal_a_rebuild_from_the_file() {
    let google = google_fake(0).await;
    let app = spawn_app_with(|s| enable_google(s, &google)).await;
    let c = app.bookable_clinic("Clinic").await;
    let org = c.clinic.org_id.clone();
    let mut ids: Vec<String> = Vec::new();
    for seed in 1..=3u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        for step in 0..30 {
            let day = date_in(rng.gen_range(2..5));
            let time = TIMES[rng.gen_range(0..TIMES.len())];
            let provider = if rng.gen_bool(0.5) {
                &c.smith
            } else {
                &c.patel
            };
            let pick = |rng: &mut StdRng, ids: &Vec<String>| {
                (!ids.is_empty()).then(|| ids[rng.gen_range(0..ids.len())].clone())
            };
            let what = match rng.gen_range(0..5) {
                0 => {
                    let r = app.book_via_rest(&c, provider, &day, time, None).await;
                    assert!(
                        [StatusCode::CREATED, StatusCode::CONFLICT].contains(&r.status()),
                        "{}",
                        r.status()
                    );
                    if r.status() == StatusCode::CREATED {
                        ids.push(
                            r.json::<Value>().await.unwrap()["id"]
                                .as_str()
                                .unwrap()
                                .into(),
                        );
                    }
                    "book over REST"
                }
                1 => {
                    let r = app
                        .vapi_tool(
                            &c.agent_key,
                            &format!("call-{seed}-{step}"),
                            &format!("tc-{seed}-{step}"),
                            "book_appointment",
                            json!({"appointment_date": day, "appointment_time": time,
                                   "provider_name": if provider == &c.smith { "Dr Smith" } else { "Dr Patel" },
                                   "service": "rhinoplasty", "patient_name": "Jane Doe"}),
                        )
                        .await;
                    if let Some(id) = r["appointment_id"].as_str() {
                        ids.push(id.into());
                    }
                    "book by voice"
                }
                2 => {
                    let Some(id) = pick(&mut rng, &ids) else {
                        continue;
                    };
                    let r = app
                        .post(
                            &format!("/api/orgs/{org}/appointments/{id}/cancel"),
                            Some(&c.clinic.token),
                            json!({}),
                        )
                        .await;
                    assert!(r.status().is_success() || r.status() == StatusCode::CONFLICT);
                    "cancel"
                }
                3 => {
                    let Some(id) = pick(&mut rng, &ids) else {
                        continue;
                    };
                    let r = app
                        .post(
                            &format!("/api/orgs/{org}/appointments/{id}/reschedule"),
                            Some(&c.clinic.token),
                            json!({"date": day, "time": time}),
                        )
                        .await;
                    assert!(
                        r.status().is_client_error() || r.status().is_success(),
                        "{}",
                        r.status()
                    );
                    "reschedule"
                }
                _ => {
                    let Some(id) = pick(&mut rng, &ids) else {
                        continue;
                    };
                    let a = app.appointment(&c, &id).await;
                    let token = a["confirmation_token"].as_str().unwrap();
                    let r = app.get(&format!("/confirm/{token}"), None).await;
                    assert!(r.status().is_success() || r.status() == StatusCode::NOT_FOUND);
                    "confirm"
                }
            };
            assert_indexes_match_a_rebuild(&app, seed, step, what);
        }
    }
    // The calendar outcomes went through the writer too: every booking's event is synced, and
    // the indexes still match.
    assert!(!ids.is_empty());
    eventually("calendar sync of every booking", || async {
        app.appointments(&c)
            .await
            .iter()
            .all(|a| a["calendar_sync"] == "synced")
    })
    .await;
    assert_indexes_match_a_rebuild(&app, 0, 0, "after the calendar outcomes");
}

/// Deleting a clinic while the server runs (the operator's `org delete`, through the admin
/// socket) goes through the claim writer: nothing of the clinic stays in the in-memory slot
/// and phone indexes or the cached set-up views, and the other clinic keeps all of its own.
#[tokio::test]
async fn deleting_a_clinic_leaves_nothing_of_it_in_memory_and_spares_the_other() {
    let app = spawn_app().await;
    let doomed = app.bookable_clinic("Doomed Clinic").await;
    let kept = app.bookable_clinic("Kept Clinic").await;
    let day = date_in(3);
    for c in [&doomed, &kept] {
        let r = app.book_via_rest(c, &c.smith, &day, "09:00", None).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        // Availability reads (and caches) the clinic's set-up view.
        let r = app
            .get(
                &format!(
                    "/api/orgs/{}/availability?date={day}&service_id={}",
                    c.clinic.org_id, c.service_id
                ),
                Some(&c.clinic.token),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
    }
    let org = |c: &BookableClinic| c.clinic.org_id.parse::<voxanne::domain::OrgId>().unwrap();
    let booking = &app.services.booking;
    assert!(booking.remembers(org(&doomed)) && booking.remembers(org(&kept)));

    // The command talks to this server's admin socket: run it off the test's runtime thread.
    let mut command = std::process::Command::new(voxanne_bin());
    command
        .args(["org", "delete", "--yes", "--org", &doomed.clinic.org_id])
        .arg("--data-dir")
        .arg(&app.data_dir);
    let out = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    assert!(
        !booking.remembers(org(&doomed)),
        "the deleted clinic is still in memory"
    );
    assert!(booking.remembers(org(&kept)));
    assert_indexes_match_a_rebuild(&app, 0, 0, "after deleting a clinic");
    // The kept clinic's booking still holds its slot; the deleted clinic is gone.
    let r = app
        .book_via_rest(&kept, &kept.smith, &day, "09:00", None)
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    // Its admin's token finds no one any more.
    let me = app
        .get("/api/me", Some(&doomed.clinic.token))
        .await
        .status();
    assert!(me.is_client_error(), "{me}");
}
