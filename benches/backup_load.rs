//! An online backup of a large database while bookings go on: the database is filled with
//! BACKUP_ROWS appointments (default 1,000,000; written straight into the table in large
//! transactions, as setup), then 8 clients book through the claim writer for a few seconds
//! alone and again while `backup::take` copies the file. Reports the backup's time and size
//! and the booking p50/p99 without and with a backup running.
//!
//! Run: `cargo bench --bench backup_load` (BACKUP_ROWS=100000 for a quick run).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use voxanne::auth::{Caller, Principal};
use voxanne::booking::ledger::BookRequest;
use voxanne::booking::records::{
    AppointmentRecord, AppointmentStatus, BookingSource, ClinicSettings, ConfirmationToken, Patient,
};
use voxanne::booking::schedule::WeeklyHours;
use voxanne::booking::tables::APPOINTMENTS;
use voxanne::booking::{NewProvider, NewService};
use voxanne::config::Settings;
use voxanne::domain::{AppointmentId, PhoneNumber, ProviderId, Role};
use voxanne::identity::SignupInput;
use voxanne::startup::Services;

const CLIENTS: usize = 8;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Books from `CLIENTS` tasks until `stop`; returns each booking's latency in ms.
async fn book_until(
    services: &Services,
    org: voxanne::domain::OrgId,
    providers: &[ProviderId],
    next_slot: &Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
) -> Vec<f64> {
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let (booking, providers, next_slot, stop) = (
            services.booking.clone(),
            providers.to_vec(),
            next_slot.clone(),
            stop.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let phone = PhoneNumber::parse(&format!("+44740000{:04}", c), "GB").unwrap();
            // Midnight two days ahead: every start lands on the 15-minute grid.
            let base = (Utc::now() + chrono::Duration::days(2))
                .date_naive()
                .and_hms_opt(0, 0, 0)
                .unwrap()
                .and_utc();
            let mut latencies = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let n = next_slot.fetch_add(1, Ordering::Relaxed);
                let provider = providers[n % providers.len()];
                let start = base + chrono::Duration::minutes(15 * (n / providers.len()) as i64);
                let started = Instant::now();
                let r = booking
                    .book(BookRequest {
                        org,
                        actor: "bench".into(),
                        provider_id: provider,
                        service_id: None,
                        start: start.with_timezone(&Utc),
                        duration_minutes: Some(15),
                        patient: Patient {
                            name: "Bench Patient".into(),
                            phone: phone.clone(),
                            email: None,
                            date_of_birth: None,
                        },
                        notes: None,
                        source: BookingSource::Staff,
                        vapi_call_id: None,
                        vapi_tool_call_id: None,
                        hold_key: None,
                        retry_at_any_time: false,
                    })
                    .await;
                match r {
                    Ok(_) => latencies.push(started.elapsed().as_secs_f64() * 1000.0),
                    Err(e) if latencies.is_empty() => {
                        eprintln!("booking refused: {e:?}");
                        break;
                    }
                    Err(_) => {}
                }
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort_by(f64::total_cmp);
    all
}

#[tokio::main]
async fn main() {
    let rows: usize = std::env::var("BACKUP_ROWS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let services = Services::open(&Settings::for_data_dir(dir.path())).unwrap();
    let s = services
        .identity
        .signup(
            SignupInput::parse(
                "Backup bench",
                "bench@clinic.example",
                "bench password 1",
                Some("UTC"),
                None,
            )
            .unwrap(),
        )
        .await
        .unwrap();
    let org = s.org_id;
    let admin = Caller {
        org,
        principal: Principal::User(s.user_id),
        role: Role::Admin,
    };
    services
        .booking
        .put_settings(
            admin,
            ClinicSettings {
                min_notice_minutes: 0,
                horizon_days: 730,
                slot_step_minutes: 15,
                ..ClinicSettings::default()
            },
        )
        .await
        .unwrap();
    let svc = services
        .booking
        .create_service(
            admin,
            NewService {
                name: "Consultation".into(),
                duration_minutes: 15,
                buffer_before_minutes: 0,
                buffer_after_minutes: 0,
                procedure: None,
            },
        )
        .await
        .unwrap();
    let week: Vec<(String, Vec<[String; 2]>)> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .map(|d| {
            (
                d.to_string(),
                vec![["00:00".to_string(), "24:00".to_string()]],
            )
        })
        .collect();
    let hours = WeeklyHours::parse(week.iter().map(|(d, w)| (d.as_str(), w.as_slice()))).unwrap();
    let mut providers = Vec::new();
    for i in 0..16 {
        let p = services
            .booking
            .create_provider(
                admin,
                NewProvider {
                    name: format!("Dr Bench {i}"),
                    service_ids: vec![svc.id],
                    weekly_hours: hours.clone(),
                    breaks: WeeklyHours::default(),
                },
            )
            .await
            .unwrap();
        providers.push(p.id);
    }

    // Setup: `rows` past appointments of a provider the bookings never use.
    let filled = Instant::now();
    let old_provider = ProviderId::new_random();
    let phone = PhoneNumber::parse("+447400123456", "GB").unwrap();
    let first = Utc.with_ymd_and_hms(2020, 1, 1, 9, 0, 0).unwrap();
    let mut written = 0;
    while written < rows {
        let batch = (rows - written).min(20_000);
        let store = services.store.clone();
        let phone = phone.clone();
        tokio::task::spawn_blocking(move || {
            let w = store.begin_write().unwrap();
            {
                let mut o = w.org(org);
                for i in written..written + batch {
                    let id = AppointmentId::new_time_ordered();
                    let start = first + chrono::Duration::minutes(15 * i as i64);
                    let a = AppointmentRecord {
                        id,
                        org_id: org,
                        provider_id: old_provider,
                        service_id: None,
                        start,
                        end: start + chrono::Duration::minutes(15),
                        buffer_before_minutes: 0,
                        buffer_after_minutes: 0,
                        status: AppointmentStatus::Completed,
                        patient: Patient {
                            name: "Past Patient".into(),
                            phone: phone.clone(),
                            email: None,
                            date_of_birth: None,
                        },
                        notes: None,
                        source: BookingSource::Staff,
                        vapi_call_id: None,
                        vapi_tool_call_id: None,
                        confirmation_token: ConfirmationToken::issue(org, id),
                        calendar_sync: "synced".into(),
                        created_at: start.to_rfc3339(),
                        updated_at: start.to_rfc3339(),
                        cancel_reason: None,
                    };
                    o.put(&APPOINTMENTS, &id.as_bytes(), &a).unwrap();
                }
            }
            w.commit().unwrap();
        })
        .await
        .unwrap();
        written += batch;
    }
    let fill_s = filled.elapsed().as_secs_f64();

    let next_slot = Arc::new(AtomicUsize::new(0));
    // Bookings alone, for as long as the backup will take (at least 3 s).
    let stop = Arc::new(AtomicBool::new(false));
    let timer = {
        let stop = stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(3)).await;
            stop.store(true, Ordering::Relaxed);
        })
    };
    let alone = book_until(&services, org, &providers, &next_slot, stop).await;
    timer.await.unwrap();

    // Bookings while the backup runs.
    let out = dir.path().join("backups/backup.redb");
    let stop = Arc::new(AtomicBool::new(false));
    let backup = {
        let (store, out, stop) = (services.store.clone(), out.clone(), stop.clone());
        tokio::task::spawn_blocking(move || {
            let t = Instant::now();
            let m = voxanne::backup::take(&store, &out, Utc::now()).unwrap();
            stop.store(true, Ordering::Relaxed);
            (t.elapsed().as_secs_f64(), m)
        })
    };
    let during = book_until(&services, org, &providers, &next_slot, stop).await;
    let (backup_s, manifest) = backup.await.unwrap();
    let db_bytes = std::fs::metadata(services.store.path()).unwrap().len();
    println!("| appointments | fill s | backup s | backup MB (database MB) | entries copied | bookings alone p50 / p99 ms | bookings during backup p50 / p99 ms (n) |");
    println!("|---|---|---|---|---|---|---|");
    println!(
        "| {rows} | {fill_s:.1} | {backup_s:.1} | {:.0} ({:.0}) | {} | {:.2} / {:.2} | {:.2} / {:.2} ({}) |",
        manifest.bytes as f64 / 1e6,
        db_bytes as f64 / 1e6,
        manifest.tables.total(),
        percentile(&alone, 0.5),
        percentile(&alone, 0.99),
        percentile(&during, 0.5),
        percentile(&during, 0.99),
        during.len()
    );
    services.booking.shutdown().await;
}
