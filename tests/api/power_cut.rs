//! Power cuts under concurrent bookings, on the redb file alone and with the journal under it
//! (`store::journal`), in turn: the claim writer books on recording disks that lose power at a
//! random write; the disk is then left as a real one could
//! be (unsynced writes all lost, some kept, or all kept with the last torn), and the database is
//! opened again. It always opens, every booking the writer acknowledged is there, no two active
//! bookings of a practitioner overlap, and the audit chain verifies.
//!
//! `POWER_CUTS` sets how many cuts (default 60, each loss kind in turn; `benches/power_cuts.sh`
//! runs 10,000); `POWER_CUT_SEED` replays a run (the seed is printed).

use std::path::Path;
use std::sync::Arc;

use chrono::{Duration, NaiveTime, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use voxanne::auth::{Caller, Principal};
use voxanne::booking::ledger::BookRequest;
use voxanne::booking::records::{BookingSource, ClinicSettings, Patient};
use voxanne::booking::schedule::WeeklyHours;
use voxanne::booking::{AppointmentFilter, BookingService, MemoryIndexes, NewProvider, NewService};
use voxanne::config::Settings;
use voxanne::domain::{AppointmentId, OrgId, PhoneNumber, ProviderId, Role, ServiceId};
use voxanne::followup::records::LeadsFollowBookings;
use voxanne::identity::SignupInput;
use voxanne::startup::Services;
use voxanne::store::journal::JournalBackend;
use voxanne::store::power_cut::{Loss, PowerCutDisk};
use voxanne::store::Store;

/// The clinic every cut starts from: its database file as it stood after set-up.
struct Clinic {
    image: Vec<u8>,
    org: OrgId,
    service: ServiceId,
    providers: [ProviderId; 2],
}

async fn clinic() -> Clinic {
    let dir = tempfile::tempdir().unwrap();
    let services = Services::open(&Settings::for_data_dir(dir.path())).unwrap();
    let s = services
        .identity
        .signup(
            SignupInput::parse(
                "Power Cut Clinic",
                "admin@power-cut.example",
                "power cut password",
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
                horizon_days: 30,
                slot_step_minutes: 15,
                ..ClinicSettings::default()
            },
        )
        .await
        .unwrap();
    let service = services
        .booking
        .create_service(
            admin,
            NewService {
                name: "Consultation".into(),
                duration_minutes: 30,
                buffer_before_minutes: 0,
                buffer_after_minutes: 0,
                procedure: None,
            },
        )
        .await
        .unwrap();
    let all_day = [["00:00".to_string(), "24:00".to_string()]];
    let week = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let hours = WeeklyHours::parse(week.iter().map(|d| (*d, &all_day[..]))).unwrap();
    let mut providers = Vec::new();
    for name in ["Dr Volt", "Dr Ampere"] {
        let p = services
            .booking
            .create_provider(
                admin,
                NewProvider {
                    name: name.into(),
                    service_ids: vec![service.id],
                    weekly_hours: hours.clone(),
                    breaks: WeeklyHours::default(),
                },
            )
            .await
            .unwrap();
        providers.push(p.id);
    }
    services.booking.shutdown().await;
    drop(services);
    let image = std::fs::read(dir.path().join("voxanne.redb")).unwrap();
    Clinic {
        image,
        org: s.org_id,
        service: service.id,
        providers: [providers[0], providers[1]],
    }
}

/// The disks a round runs on: the database file, and its journal when the journal is on;
/// both lose power together.
struct Disks {
    main: PowerCutDisk,
    journal: Option<PowerCutDisk>,
}

/// A journal this small checkpoints every few commits, so cuts also fall inside checkpoints.
const JOURNAL_LIMIT: u64 = 256 * 1024;

impl Disks {
    fn new(image: Vec<u8>, journal: bool) -> Disks {
        let main = PowerCutDisk::with_image(image);
        let journal = journal.then(|| main.on_same_power(Vec::new()));
        Disks { main, journal }
    }

    /// What a real pair of disks could hold after the cut.
    fn after_cut(&self, loss: Loss, rng: &mut StdRng) -> Disks {
        let main = PowerCutDisk::with_image(self.main.after_cut(loss, rng));
        let journal = self
            .journal
            .as_ref()
            .map(|j| main.on_same_power(j.after_cut(loss, rng)));
        Disks { main, journal }
    }
}

fn open(disks: &Disks) -> Result<(Store, BookingService), String> {
    let label = Path::new("power-cut disk");
    let store = match &disks.journal {
        None => Store::open_with_backend(disks.main.clone(), label, &voxanne::schema::SCHEMA),
        Some(journal) => {
            let backend = JournalBackend::open(disks.main.clone(), journal.clone(), JOURNAL_LIMIT)
                .map_err(|e| format!("the journal did not replay: {e}"))?;
            Store::open_with_backend(backend, label, &voxanne::schema::SCHEMA)
        }
    }
    .map_err(|e| format!("the database did not open: {e}"))?;
    let indexes =
        MemoryIndexes::build(&store).map_err(|e| format!("the indexes did not build: {e}"))?;
    let booking = BookingService::new(
        store.clone(),
        Arc::new(tokio::sync::Notify::new()),
        indexes,
        voxanne::clock::system(),
        Arc::new(LeadsFollowBookings),
    );
    Ok((store, booking))
}

/// Four callers book at once, two by two on the same practitioner's times (so claims
/// contend), until the power goes at a random write. Returns the bookings acknowledged.
async fn book_until_the_cut(
    c: &Clinic,
    booking: &Arc<BookingService>,
    day: i64,
) -> Vec<AppointmentId> {
    let first = (Utc::now() + Duration::days(day))
        .date_naive()
        .and_time(NaiveTime::from_hms_opt(8, 0, 0).unwrap())
        .and_utc();
    let mut callers = tokio::task::JoinSet::new();
    for caller in 0..4usize {
        let booking = booking.clone();
        let (org, service, provider) = (c.org, c.service, c.providers[caller % 2]);
        callers.spawn(async move {
            let mut acknowledged = Vec::new();
            for k in 0..6i64 {
                let request = BookRequest {
                    org,
                    actor: format!("caller:{caller}"),
                    provider_id: provider,
                    service_id: Some(service),
                    start: first + Duration::minutes(30 * k),
                    duration_minutes: None,
                    patient: Patient {
                        name: format!("Caller {caller}"),
                        phone: PhoneNumber::parse(&format!("+4477009001{caller:02}"), "GB")
                            .unwrap(),
                        email: None,
                        date_of_birth: None,
                    },
                    notes: None,
                    source: BookingSource::Staff,
                    vapi_call_id: None,
                    vapi_tool_call_id: None,
                    hold_key: None,
                    retry_at_any_time: false,
                };
                if let Ok((a, _)) = booking.book(request).await {
                    acknowledged.push(a.id);
                }
            }
            acknowledged
        });
    }
    let mut acknowledged = Vec::new();
    while let Some(done) = callers.join_next().await {
        acknowledged.extend(done.unwrap());
    }
    acknowledged
}

/// What must hold after the database is opened again.
async fn check_after_the_cut(c: &Clinic, acknowledged: &[AppointmentId], disks: &Disks) {
    let (store, booking) = open(disks).unwrap_or_else(|e| panic!("{e}"));
    for id in acknowledged {
        let a = booking
            .appointment(c.org, *id)
            .await
            .unwrap_or_else(|e| panic!("acknowledged booking {id} lost: {e:?}"));
        assert!(
            a.status.is_active(),
            "acknowledged booking {id} is {:?}",
            a.status
        );
    }
    let mut all = booking
        .appointments(c.org, AppointmentFilter::default())
        .await
        .unwrap();
    all.retain(|a| a.status.is_active());
    all.sort_by_key(|a| (a.provider_id, a.start));
    for pair in all.windows(2) {
        if pair[0].provider_id == pair[1].provider_id {
            assert!(
                pair[0].end <= pair[1].start,
                "{} overlaps {}",
                pair[0].id,
                pair[1].id
            );
        }
    }
    let org = c.org;
    let verification = store
        .read(move |r| voxanne::audit::verify(&r.org(org)))
        .await
        .unwrap();
    assert!(
        verification.ok,
        "the audit chain breaks at {:?}",
        verification.first_bad_seq
    );
    booking.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_booking_survives_a_power_cut_at_any_write() {
    let cuts: usize = std::env::var("POWER_CUTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let seed: u64 = std::env::var("POWER_CUT_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(rand::random);
    println!("power cuts: {cuts}, seed {seed} (POWER_CUT_SEED={seed} replays this run)");
    let mut rng = StdRng::seed_from_u64(seed);
    let c = clinic().await;

    // How many writes a whole round makes with the power on, with and without the journal:
    // cuts fall anywhere in it.
    let mut round_writes = [0u64; 2];
    for (journal, writes) in round_writes.iter_mut().enumerate() {
        let disks = Disks::new(c.image.clone(), journal == 1);
        let (_, booking) = open(&disks).unwrap();
        let before = disks.main.writes();
        let booking = Arc::new(booking);
        let all = book_until_the_cut(&c, &booking, 1).await;
        booking.shutdown().await;
        assert_eq!(
            all.len(),
            12,
            "with the power on, each contended time is booked once"
        );
        *writes = disks.main.writes() - before;
        assert!(*writes > 0);
    }

    let losses = [Loss::AllUnsynced, Loss::RandomSubset, Loss::TornLast];
    // Per mode (file alone, journal): cuts inside a round, rounds that lost a booking.
    let (mut cut_mid_round, mut lost_some) = ([0usize; 2], [0usize; 2]);
    for round in 0..cuts {
        // Journal off and on in turn; the loss kinds rotate within each.
        let journal = round % 2 == 1;
        let disks = Disks::new(c.image.clone(), journal);
        let (_, booking) = open(&disks).unwrap();
        let booking = Arc::new(booking);
        disks
            .main
            .cut_after(rng.gen_range(1..=round_writes[journal as usize] + 2));
        let acknowledged = book_until_the_cut(&c, &booking, 1 + (round % 20) as i64).await;
        booking.shutdown().await;
        drop(booking);
        let mode = journal as usize;
        if disks.main.is_cut() {
            cut_mid_round[mode] += 1;
        } else {
            disks.main.cut_now();
        }
        if acknowledged.len() < 12 {
            lost_some[mode] += 1;
        }
        let after = disks.after_cut(losses[(round / 2) % 3], &mut rng);
        check_after_the_cut(&c, &acknowledged, &after).await;
    }
    println!(
        "{cuts} cuts (half with the journal), {} writes a round without it and {} with: \
         {:?} fell mid-round and {:?} cost bookings that were never acknowledged (file \
         alone, journal); every acknowledged one stayed",
        round_writes[0], round_writes[1], cut_mid_round, lost_some
    );
    // In each mode the cuts did fall inside the rounds, and took bookings with them.
    for mode in 0..2 {
        let rounds = cuts / 2 + (mode == 0 && cuts % 2 == 1) as usize;
        assert!(
            cut_mid_round[mode] * 2 > rounds,
            "mode {mode}: {} of {rounds} cuts fell mid-round",
            cut_mid_round[mode]
        );
        assert!(lost_some[mode] > 0, "mode {mode}: no cut cost a booking");
    }
}
