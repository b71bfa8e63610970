//! Load generator: the real server (in process, port 0, a real redb file with durable
//! commits) driven by real HTTP clients, one keep-alive HTTP/1.1 connection each, booking
//! through the Vapi tool endpoint. Reports
//! p50/p95/p99 and throughput at 1, 4, 16 and 64 clients on distinct slots, the 5-way
//! contention case, and the HTTP floor (`GET /healthz`) at 1 and 64 clients. Bounded: a fixed number of bookings per level and a time cap.
//!
//! Run: `cargo bench --bench booking_load` (LOAD_SCALE=0.2 for a quick run; LOAD_LEVELS=64 runs
//! only the 64-client booking level, e.g. under a profiler; LOAD_JOURNAL=0 turns the journal off;
//! LOAD_LOG=1 logs as the binary does, to stderr).

use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use reqwest::Client;
use serde_json::{json, Value};
use tokio::sync::oneshot;
use voxanne::config::Settings;
use voxanne::startup::Application;

const PROVIDERS: usize = 24;
const TIME_CAP: Duration = Duration::from_secs(60);

struct Target {
    base: String,
    key: String,
    providers: Vec<String>,
    booking: Arc<voxanne::booking::BookingService>,
}

async fn setup(dir: &std::path::Path) -> (Target, oneshot::Sender<()>) {
    let mut settings = Settings::for_data_dir(dir);
    settings.server.request_timeout_ms = 60_000;
    // The write-ahead journal (`[storage] journal`) is on, as in an install; LOAD_JOURNAL=0
    // commits straight into the redb file.
    settings.storage.journal = !std::env::var("LOAD_JOURNAL").is_ok_and(|v| v == "0");
    let app = Application::build(settings).await.unwrap();
    let base = format!("http://{}", app.local_addr());
    let booking = app.services().booking.clone();
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = rx.await;
    }));
    let client = Client::builder()
        .pool_max_idle_per_host(128)
        .build()
        .unwrap();
    let post = |path: &str, token: Option<&str>, body: Value| {
        let mut r = client.post(format!("{base}{path}")).json(&body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send()
    };
    let s: Value = post("/api/auth/signup", None, json!({"clinic_name": "Load", "email": "load@clinic.example", "password": "load test password"})).await.unwrap().json().await.unwrap();
    let (org, token) = (
        s["org_id"].as_str().unwrap().to_string(),
        s["access_token"].as_str().unwrap().to_string(),
    );
    client
        .put(format!("{base}/api/orgs/{org}/settings"))
        .bearer_auth(&token)
        .json(&json!({"min_notice_minutes": 0, "horizon_days": 730, "slot_step_minutes": 15, "phone_region": "GB"}))
        .send()
        .await
        .unwrap();
    let svc: Value = post(
        &format!("/api/orgs/{org}/services"),
        Some(&token),
        json!({"name": "Consultation", "duration_minutes": 15}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let week: serde_json::Map<String, Value> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .map(|d| (d.to_string(), json!([["08:00", "20:00"]])))
        .collect();
    let mut providers = Vec::new();
    for i in 0..PROVIDERS {
        let p: Value = post(&format!("/api/orgs/{org}/providers"), Some(&token), json!({"name": format!("Dr Load {i}"), "service_ids": [svc["id"]], "weekly_hours": week})).await.unwrap().json().await.unwrap();
        providers.push(p["id"].as_str().unwrap().to_string());
    }
    let k: Value = post(
        &format!("/api/orgs/{org}/agent-keys"),
        Some(&token),
        json!({"name": "load"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    (
        Target {
            base,
            key: k["key"].as_str().unwrap().to_string(),
            providers,
            booking,
        },
        tx,
    )
}

/// Slot `n` → (provider, date, time): 48 quarter hours a day per provider.
fn slot(t: &Target, n: usize, day_offset: usize) -> (String, String, String) {
    let provider = &t.providers[n % PROVIDERS];
    let rest = n / PROVIDERS;
    let (day, q) = (day_offset + rest / 48, rest % 48);
    let date = (chrono::Utc::now().date_naive() + chrono::Duration::days(1 + day as i64))
        .format("%Y-%m-%d")
        .to_string();
    (
        provider.clone(),
        date,
        format!("{:02}:{:02}", 8 + q / 4, (q % 4) * 15),
    )
}

/// One client's keep-alive HTTP/1.1 connection to the server (bare hyper: no pool, no
/// redirects, so the generator takes less of the CPU it shares with the server).
struct Connection {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    authority: String,
    authorization: String,
}

impl Connection {
    async fn open(t: &Target) -> Connection {
        let authority = t.base.trim_start_matches("http://").to_string();
        let stream = tokio::net::TcpStream::connect(&authority).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(connection);
        Connection {
            sender,
            authority,
            authorization: format!("Bearer {}", t.key),
        }
    }

    /// `GET path`, body read and dropped.
    async fn get(&mut self, path: &str) {
        let request = hyper::Request::get(path)
            .header("host", &self.authority)
            .body(Full::new(Bytes::new()))
            .unwrap();
        let response = self.sender.send_request(request).await.unwrap();
        assert!(response.status().is_success());
        response.into_body().collect().await.unwrap();
    }

    async fn post_json<T: serde::de::DeserializeOwned>(&mut self, path: &str, body: Vec<u8>) -> T {
        let request = hyper::Request::post(path)
            .header("host", &self.authority)
            .header("authorization", &self.authorization)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .unwrap();
        let response = self.sender.send_request(request).await.unwrap();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        serde_json::from_slice(&bytes).unwrap()
    }
}

/// The body of the tool call that books slot `n`: every caller has their own number, so
/// phone-index entries land across the table as they would in a clinic, not side by side.
fn booking_body(t: &Target, n: usize, day_offset: usize, tag: &str) -> Vec<u8> {
    let (provider, date, time) = slot(t, n, day_offset);
    let caller_number = format!("+447400{:06}", (n * 7919) % 1_000_000);
    let body = json!({"message": {"type": "tool-calls", "call": {"id": format!("{tag}-{n}")}, "customer": {"number": caller_number},
        "toolCallList": [{"id": format!("{tag}-tc-{n}"), "type": "function", "function": {"name": "book_appointment",
            "arguments": {"appointment_date": date, "appointment_time": time, "provider_id": provider, "service": "Consultation", "patient_name": format!("Caller {n}")}}}]}});
    serde_json::to_vec(&body).unwrap()
}

/// The parts of a tool-call answer the generator reads: whether the first call has a
/// `result` (booked) rather than an `error`.
#[derive(serde::Deserialize)]
struct ToolAnswers {
    results: Vec<ToolResult>,
}

#[derive(serde::Deserialize)]
struct ToolResult {
    result: Option<serde::de::IgnoredAny>,
}

/// Sends one prepared booking; returns its latency and whether it booked.
async fn book(c: &mut Connection, body: Vec<u8>) -> (Duration, bool) {
    let started = Instant::now();
    let answer: ToolAnswers = c.post_json("/api/vapi/tools", body).await;
    (
        started.elapsed(),
        answer.results.first().is_some_and(|r| r.result.is_some()),
    )
}

/// What each client sends, over and over: a booking (on its own slot) or `GET /healthz`.
#[derive(Clone, Copy)]
enum Load {
    Book { day_offset: usize },
    Healthz,
}

/// `clients` clients, each on its own connection, together sending `total` requests (or until
/// the time cap). Booking bodies are prepared before the clock starts (as pgbench prepares its
/// statements), so the generator spends less of the two cores it shares with the server.
/// Returns every latency (sorted), how many bookings succeeded, and the seconds taken.
async fn drive(
    t: Arc<Target>,
    clients: usize,
    total: usize,
    load: Load,
) -> (Vec<Duration>, usize, f64) {
    let tag = format!("l{clients}");
    let mut prepared: Vec<Vec<Vec<u8>>> = (0..clients)
        .map(|c| match load {
            Load::Book { day_offset } => (c..total)
                .step_by(clients)
                .map(|n| booking_body(&t, n, day_offset, &tag))
                .collect(),
            Load::Healthz => Vec::new(),
        })
        .collect();
    let mut connections = Vec::new();
    for _ in 0..clients {
        connections.push(Connection::open(&t).await);
    }
    let started = Instant::now();
    let mut handles = Vec::new();
    for (c, mut conn) in connections.into_iter().enumerate() {
        let mut bodies = std::mem::take(&mut prepared[c]).into_iter();
        handles.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut ok = 0;
            let mut n = c;
            while n < total && started.elapsed() < TIME_CAP {
                let (d, success) = match load {
                    Load::Book { .. } => book(&mut conn, bodies.next().unwrap()).await,
                    Load::Healthz => {
                        let at = Instant::now();
                        conn.get("/healthz").await;
                        (at.elapsed(), true)
                    }
                };
                lat.push(d);
                ok += success as usize;
                n += clients;
            }
            (lat, ok)
        }));
    }
    let mut all = Vec::new();
    let mut ok = 0;
    for h in handles {
        let (l, o) = h.await.unwrap();
        all.extend(l);
        ok += o;
    }
    all.sort();
    (all, ok, started.elapsed().as_secs_f64())
}

/// The HTTP floor: `GET /healthz` (no auth, no store) through the same server and clients, so
/// what the bookings cost above plain HTTP on these two cores can be read off.
async fn http_floor(t: Arc<Target>, clients: usize, total: usize) {
    let (all, _, secs) = drive(t, clients, total, Load::Healthz).await;
    println!(
        "| {clients} | {} | {:.0} | {:.2} | {:.2} | {:.2} |",
        all.len(),
        all.len() as f64 / secs,
        pct(&all, 0.5),
        pct(&all, 0.95),
        pct(&all, 0.99)
    );
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

async fn level(t: Arc<Target>, clients: usize, total: usize, day_offset: usize) -> usize {
    let writer_before = t.booking.writer_stats();
    let journal_before = voxanne::store::journal::records_appended();
    let (all, ok, secs) = drive(t.clone(), clients, total, Load::Book { day_offset }).await;
    let w = t.booking.writer_stats();
    let journal = voxanne::store::journal::records_appended();
    let (records, record_bytes) = (journal.0 - journal_before.0, journal.1 - journal_before.1);
    let (batches, changes) = (
        (w.batches - writer_before.batches).max(1) as f64,
        (w.changes - writer_before.changes) as f64,
    );
    let apply_ms = (w.apply_micros - writer_before.apply_micros) as f64 / 1000.0;
    let commit_ms = (w.commit_micros - writer_before.commit_micros) as f64 / 1000.0;
    println!(
        "| {clients} | {} | {ok} | {:.0} | {:.2} | {:.2} | {:.2} | {:.1} | {:.0} | {:.0} | {:.0} % | {} |",
        all.len(),
        all.len() as f64 / secs,
        pct(&all, 0.5),
        pct(&all, 0.95),
        pct(&all, 0.99),
        changes / batches,
        apply_ms * 1000.0 / batches,
        commit_ms * 1000.0 / batches,
        (apply_ms + commit_ms) / (secs * 1000.0) * 100.0,
        match records {
            0 => "-".to_string(),
            r => format!("{:.1}", record_bytes as f64 / r as f64 / 1024.0),
        },
    );
    all.len()
}

async fn contention(t: Arc<Target>, rounds: usize, day_offset: usize) {
    let mut lat = Vec::new();
    let mut single_winner = 0;
    let mut connections = Vec::new();
    for _ in 0..5 {
        connections.push(Connection::open(&t).await);
    }
    for r in 0..rounds {
        let mut hs = Vec::new();
        for (c, mut conn) in connections.drain(..).enumerate() {
            let t = t.clone();
            hs.push(tokio::spawn(async move {
                let body = booking_body(&t, r, day_offset, &format!("c{c}"));
                let answer = book(&mut conn, body).await;
                (answer, conn)
            }));
        }
        let mut winners = 0;
        for h in hs {
            let ((d, ok), conn) = h.await.unwrap();
            connections.push(conn);
            lat.push(d);
            winners += ok as usize;
        }
        single_winner += (winners == 1) as usize;
    }
    lat.sort();
    println!(
        "5-way contention: {rounds} rounds, exactly one winner in {single_winner}; all answers p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms",
        pct(&lat, 0.5),
        pct(&lat, 0.95),
        pct(&lat, 0.99)
    );
}

fn main() {
    let scale: f64 = std::env::var("LOAD_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    // Which booking levels to run (client counts, comma-separated); unset: all of them, then
    // the contention case and the HTTP floor.
    let only: Option<Vec<usize>> = std::env::var("LOAD_LEVELS")
        .ok()
        .map(|s| s.split(',').filter_map(|c| c.trim().parse().ok()).collect());
    let n = |x: usize| ((x as f64) * scale).max(10.0) as usize;
    // LOAD_LOG=1 installs the log subscriber the `voxanne` binary runs with (stderr, default
    // levels), so each request's span is paid for as in an install; unset, no subscriber.
    if std::env::var("LOAD_LOG").is_ok_and(|v| v == "1") {
        voxanne::telemetry::init();
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let (target, stop) = setup(dir.path()).await;
        let t = Arc::new(target);
        // Warm-up (connections, caches), on days no measured level uses.
        level(t.clone(), 4, n(400), 600).await;
        println!("| clients | bookings | booked | per second | p50 ms | p95 ms | p99 ms | claims per commit | apply µs per commit | commit µs | writer busy | journal KiB per record |");
        println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
        let mut day = 0;
        for (clients, total) in [(1, n(2000)), (4, n(4000)), (16, n(8000)), (64, n(16000))] {
            if only.as_ref().is_some_and(|o| !o.contains(&clients)) {
                continue;
            }
            level(t.clone(), clients, total, day).await;
            day += total / (PROVIDERS * 48) + 1;
        }
        if only.is_some() {
            let _ = stop.send(());
            return;
        }
        contention(t.clone(), n(200), day + 1).await;
        println!();
        println!("HTTP floor, GET /healthz:");
        println!("| clients | requests | per second | p50 ms | p95 ms | p99 ms |");
        println!("|---|---|---|---|---|---|");
        for (clients, total) in [(1, n(2000)), (64, n(16000))] {
            http_floor(t.clone(), clients, total).await;
        }
        let _ = stop.send(());
    });
}
