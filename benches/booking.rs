//! The booking core without HTTP: the claim transaction (decide + write + audit + durable
//! commit) alone and batched as the claim writer batches it, and the conflict check and a
//! day's availability for a provider that already has 10,000 appointments. These bound what
//! the HTTP load generator can reach. Beside them, the floor under all of it: bare redb on the
//! same disk doing BASELINES.md's claim (check a key is absent, insert it; 100,000 keys
//! already there) 1, 8 and 64 to a durable commit, with nothing of ours in the way; and
//! under that, the disk: 13 pages (a commit of a few bookings) written scattered or side by side,
//! then one `fdatasync`. And the journal's recovery: replaying and folding a full journal.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use chrono::{Duration, NaiveDate, NaiveTime, Utc};
use criterion::{criterion_group, criterion_main, Criterion};
use voxanne::auth::{Caller, Principal};
use voxanne::booking::ledger::{self, BookRequest, Change};
use voxanne::booking::records::{BookingSource, ClinicSettings, Patient};
use voxanne::booking::schedule::WeeklyHours;
use voxanne::booking::{local_instant, NewProvider, NewService};
use voxanne::config::Settings;
use voxanne::domain::{OrgId, PhoneNumber, ProviderId, Role, ServiceId};
use voxanne::followup::records::LeadsFollowBookings;
use voxanne::identity::SignupInput;
use voxanne::startup::Services;

struct Fixture {
    services: Services,
    org: OrgId,
    service: ServiceId,
    /// Claims rotate over these, so a long run stays inside the booking horizon.
    providers: Vec<ProviderId>,
    /// Parsed once: the writer receives requests already validated at the edge.
    /// Callers' numbers, parsed before measuring; each claim takes the next, so phone-index
    /// entries spread across the table as in a clinic.
    phones: Vec<PhoneNumber>,
    _dir: tempfile::TempDir,
}

fn fixture(rt: &tokio::runtime::Runtime, provider_count: usize) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let services = Services::open(&Settings::for_data_dir(dir.path())).unwrap();
    let (org, service, providers) = rt.block_on(async {
        let s = services
            .identity
            .signup(
                SignupInput::parse(
                    "Bench",
                    "bench@clinic.example",
                    "bench password 1",
                    Some("UTC"),
                    None,
                )
                .unwrap(),
            )
            .await
            .unwrap();
        let admin = Caller {
            org: s.org_id,
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
                    phone_region: "GB".into(),
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
                    buffer_after_minutes: 5,
                    procedure: None,
                },
            )
            .await
            .unwrap();
        let week: Vec<(String, Vec<[String; 2]>)> =
            ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
                .iter()
                .map(|d| {
                    (
                        d.to_string(),
                        vec![["00:00".to_string(), "24:00".to_string()]],
                    )
                })
                .collect();
        let hours =
            WeeklyHours::parse(week.iter().map(|(d, w)| (d.as_str(), w.as_slice()))).unwrap();
        let mut providers = Vec::new();
        for i in 0..provider_count {
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
        (s.org_id, svc.id, providers)
    });
    Fixture {
        services,
        org,
        service,
        providers,
        phones: (0..1024)
            .map(|i| PhoneNumber::parse(&format!("+447400{:06}", i * 977), "GB").unwrap())
            .collect(),
        _dir: dir,
    }
}

impl Fixture {
    /// The in-memory slot index the service's claim writer keeps (idle while a bench drives
    /// the ledger directly).
    fn slots(&self) -> &voxanne::booking::slot_index::SlotIndex {
        &self.services.booking.memory_indexes().slots
    }
}

fn request(f: &Fixture, slot: usize) -> Change {
    // Half-hourly (15 minutes + 5 minutes buffer, on the 15-minute grid) from tomorrow, 48 a day.
    let day = NaiveDate::from_ymd_opt(2027, 1, 1)
        .unwrap()
        .max(Utc::now().date_naive() + Duration::days(1))
        + Duration::days((slot / f.providers.len() / 48) as i64);
    let start = local_instant(chrono_tz::UTC, day, NaiveTime::MIN).unwrap()
        + Duration::minutes(30 * ((slot / f.providers.len()) % 48) as i64);
    Change::Book(Box::new(BookRequest {
        org: f.org,
        actor: "bench".into(),
        provider_id: f.providers[slot % f.providers.len()],
        service_id: Some(f.service),
        start,
        duration_minutes: None,
        patient: Patient {
            name: "Bench Patient".into(),
            phone: f.phones[slot % f.phones.len()].clone(),
            email: None,
            date_of_birth: None,
        },
        notes: None,
        source: BookingSource::Staff,
        vapi_call_id: None,
        vapi_tool_call_id: None,
        hold_key: None,
        retry_at_any_time: false,
    }))
}

fn claims(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let f = fixture(&rt, 32);
    let next = AtomicUsize::new(0);
    // The claim writer's providers and services kept decoded between transactions.
    let mut decoded = ledger::DecodedSetup::default();
    c.bench_function("claim_1_per_durable_commit", |b| {
        b.iter(|| {
            let mut w = f.services.store.begin_write().unwrap();
            let mut scope =
                ledger::TransactionScope::new(f.slots(), &LeadsFollowBookings, &mut decoded);
            let effect = ledger::apply_in(
                &mut w,
                &mut scope,
                &request(&f, next.fetch_add(1, Ordering::Relaxed)),
                Utc::now(),
            )
            .unwrap();
            w.commit().unwrap();
            scope.committed();
            black_box(effect);
        })
    });
    c.bench_function("claim_64_per_durable_commit", |b| {
        b.iter(|| {
            // As the claim writer does: one transaction scope (set-up reads, pending slots).
            let mut w = f.services.store.begin_write().unwrap();
            let mut scope =
                ledger::TransactionScope::new(f.slots(), &LeadsFollowBookings, &mut decoded);
            for _ in 0..64 {
                ledger::apply_in(
                    &mut w,
                    &mut scope,
                    &request(&f, next.fetch_add(1, Ordering::Relaxed)),
                    Utc::now(),
                )
                .unwrap();
            }
            w.commit().unwrap();
            scope.committed();
        })
    });
}

fn busy_provider(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let f = fixture(&rt, 1);
    let mut decoded = ledger::DecodedSetup::default();
    for chunk in 0..20 {
        let mut w = f.services.store.begin_write().unwrap();
        let mut scope =
            ledger::TransactionScope::new(f.slots(), &LeadsFollowBookings, &mut decoded);
        for i in 0..500 {
            ledger::apply_in(
                &mut w,
                &mut scope,
                &request(&f, chunk * 500 + i),
                Utc::now(),
            )
            .unwrap();
        }
        w.commit().unwrap();
        scope.committed();
    }
    // A slot in the middle of the booked range: refused as taken.
    let taken = request(&f, 5_000);
    c.bench_function("conflict_check_with_10k_appointments", |b| {
        b.iter(|| {
            let mut w = f.services.store.begin_write().unwrap();
            let mut scope =
                ledger::TransactionScope::new(f.slots(), &LeadsFollowBookings, &mut decoded);
            let refused = ledger::apply_in(&mut w, &mut scope, &taken, Utc::now());
            assert!(refused.is_err());
            drop(w);
        })
    });
    let day = match &taken {
        Change::Book(r) => r.start.date_naive(),
        _ => unreachable!(),
    };
    c.bench_function("availability_day_with_10k_appointments", |b| {
        b.iter(|| {
            rt.block_on(f.services.booking.availability(
                f.org,
                Some(f.service),
                Some(f.providers[0]),
                day,
                1,
            ))
            .unwrap()
        })
    });
}

/// Spreads consecutive numbers over the whole `u64` range, each to its own value (an odd
/// multiplier): keys and file offsets that land far apart, as distinct slots' do.
fn spread(n: u64) -> u64 {
    n.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// BASELINES.md's redb row on this machine: one table of slot keys, 100,000 claimed already;
/// a claim reads its key (must be absent) and inserts it. Keys are spread over the table, as
/// distinct slots of many providers are. Then the same with the journal under redb
/// (`store::journal`, 64 MiB before a checkpoint): each commit one appended record and one
/// `fdatasync` of the journal instead of its pages at their places.
fn redb_floor(c: &mut Criterion) {
    use redb::backends::FileBackend;
    use redb::ReadableTable;
    use voxanne::store::journal::JournalBackend;
    const SLOTS: redb::TableDefinition<u64, &[u8]> = redb::TableDefinition::new("slots");
    let file = |dir: &tempfile::TempDir, name: &str| {
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(dir.path().join(name))
            .unwrap();
        FileBackend::new(f).unwrap()
    };
    for journal in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let db = if journal {
            let backend = JournalBackend::open(
                file(&dir, "floor.redb"),
                file(&dir, "floor.journal"),
                64 << 20,
            )
            .unwrap();
            redb::Database::builder()
                .create_with_backend(backend)
                .unwrap()
        } else {
            redb::Database::create(dir.path().join("floor.redb")).unwrap()
        };
        let claim = [7u8; 48];
        let w = db.begin_write().unwrap();
        {
            let mut t = w.open_table(SLOTS).unwrap();
            for n in 0..100_000u64 {
                t.insert(spread(n), &claim[..]).unwrap();
            }
        }
        w.commit().unwrap();
        let next = AtomicU64::new(100_000);
        let name = if journal {
            "redb_journal_floor"
        } else {
            "redb_floor"
        };
        for per_commit in [1u64, 8, 64] {
            c.bench_function(
                &format!("{name}_{per_commit}_claims_per_durable_commit"),
                |b| {
                    b.iter(|| {
                        let w = db.begin_write().unwrap();
                        {
                            let mut t = w.open_table(SLOTS).unwrap();
                            for _ in 0..per_commit {
                                let key = spread(next.fetch_add(1, Ordering::Relaxed));
                                assert!(t.get(key).unwrap().is_none());
                                t.insert(key, &claim[..]).unwrap();
                            }
                        }
                        w.commit().unwrap();
                    })
                },
            );
        }
    }
}

/// Recovery after a cut with a full journal: a 64 MiB-limit journal holding just under 64 MiB
/// of records (commits of 64 4 KiB blocks scattered over 1,024 places of a 128 MiB database
/// file, none yet checkpointed; a block's first record holds it whole, each later one the 256
/// bytes that changed, as booking commits mostly rewrite the same few hundred blocks), left as a killed process leaves it; each iteration
/// opens copies of the two files: the replay of every record, the fold into the database file
/// and its `fdatasync`.
fn journal_recovery(c: &mut Criterion) {
    use redb::backends::FileBackend;
    use redb::StorageBackend;
    use voxanne::store::journal::{records_appended, JournalBackend};
    const LIMIT: u64 = 64 << 20;
    const BLOCK: u64 = 4096;
    const DATABASE: u64 = 128 << 20;
    let file = |path: &std::path::Path| {
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .unwrap();
        FileBackend::new(f).unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let (main, journal) = (dir.path().join("db"), dir.path().join("db.journal"));
    {
        let db = file(&main);
        db.set_len(DATABASE).unwrap();
        db.sync_data().unwrap();
    }
    let j = JournalBackend::open(file(&main), file(&journal), LIMIT).unwrap();
    // The largest record: 64 blocks whole.
    let largest = 8 + 28 + 64 * (8 + BLOCK);
    let (records_before, bytes_before) = records_appended();
    let mut n = 0u64;
    while records_appended().1 - bytes_before < LIMIT - 4 * largest {
        for _ in 0..64 {
            let at = spread(n) % 1024 * (DATABASE / BLOCK / 1024) * BLOCK;
            let within = (n * 37) % (BLOCK - 256);
            j.write(at + within, &[(n % 251) as u8 + 1; 256]).unwrap();
            n += 1;
        }
        j.sync_data().unwrap();
    }
    let (records, bytes) = records_appended();
    eprintln!(
        "journal_recovery: {} records, {:.1} MiB",
        records - records_before,
        (bytes - bytes_before) as f64 / (1 << 20) as f64
    );
    assert_eq!(
        j.checkpoints(),
        0,
        "the journal was checkpointed while filling"
    );
    // Dropped without closing: the journal stays full, as after a cut.
    drop(j);
    let mut group = c.benchmark_group("journal");
    group.sample_size(10);
    group.bench_function("journal_recovery_64_mib", |b| {
        b.iter_batched(
            || {
                let work = tempfile::tempdir().unwrap();
                std::fs::copy(&main, work.path().join("db")).unwrap();
                std::fs::copy(&journal, work.path().join("db.journal")).unwrap();
                work
            },
            |work| {
                let j = JournalBackend::open(
                    file(&work.path().join("db")),
                    file(&work.path().join("db.journal")),
                    LIMIT,
                )
                .unwrap();
                assert_eq!(j.checkpoints(), 0);
                work
            },
            criterion::BatchSize::PerIteration,
        )
    });
    group.finish();
}

/// What the disk charges for a durable write: 1 or 13 pages (a redb commit of one booking
/// writes 11, of a few bookings 13–16), each at its own place in a 64 MiB file or all side by side, then one
/// `fdatasync`. The file is written in full first, so no write allocates blocks.
fn disk_floor(c: &mut Criterion) {
    use std::os::unix::fs::FileExt;
    const PAGE: u64 = 4096;
    const PAGES: u64 = 16 * 1024;
    let dir = tempfile::tempdir().unwrap();
    let file = std::fs::File::create(dir.path().join("disk_floor")).unwrap();
    let mib = vec![1u8; 1 << 20];
    for i in 0..((PAGES * PAGE) >> 20) {
        file.write_all_at(&mib, i << 20).unwrap();
    }
    file.sync_all().unwrap();
    let page = [2u8; PAGE as usize];
    let run = [3u8; 13 * PAGE as usize];
    let next = AtomicU64::new(1);
    let place = |n: u64| (spread(n) >> 40) % (PAGES - 16) * PAGE;
    for pages in [1u64, 13] {
        c.bench_function(
            &format!("disk_{pages}_scattered_pages_then_fdatasync"),
            |b| {
                b.iter(|| {
                    for _ in 0..pages {
                        let at = place(next.fetch_add(1, Ordering::Relaxed));
                        file.write_all_at(&page, at).unwrap();
                    }
                    file.sync_data().unwrap();
                })
            },
        );
    }
    c.bench_function("disk_13_pages_side_by_side_then_fdatasync", |b| {
        b.iter(|| {
            file.write_all_at(&run, place(next.fetch_add(1, Ordering::Relaxed)))
                .unwrap();
            file.sync_data().unwrap();
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(3));
    targets = claims, busy_provider, redb_floor, disk_floor, journal_recovery
}
criterion_main!(benches);
