//! After-call follow-up load: the real server (in process, port 0, a real redb file) gets
//! Vapi end-of-call reports for calls that asked about rhinoplasty and did not book; a
//! loopback Twilio (a small HTTP server speaking the Messages API) notes when each text
//! arrives. Reports the webhook-to-Twilio latency (p50/p95/p99, one call at a time: the
//! seeds' "SMS within 5 seconds") and how many texts a second the outbox delivers when
//! reports arrive in a burst from 16 clients; and, one cancellation at a time, how long from
//! staff cancelling an appointment to the waiting list's offer of the freed time reaching
//! Twilio. Bounded: fixed counts and a time cap.
//!
//! Run: `cargo bench --bench followup_load` (FOLLOWUP_SCALE=0.2 for a quick run).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use voxanne::config::{Secret, Settings};
use voxanne::startup::Application;

const TIME_CAP: Duration = Duration::from_secs(120);
const CALLER: &str = "+447911123456";
/// Offers are numbered from here (far above any follow-up's number).
const OFFERS_FROM: usize = 1_000_000;

/// The loopback Twilio: each message's index (a follow-up's from "Hi N<i>,", a waiting-list
/// offer's from the last three digits of the number it goes to, plus `OFFERS_FROM`) and when
/// it arrived.
#[derive(Clone)]
struct Fake {
    arrived: mpsc::UnboundedSender<(usize, Instant)>,
    sids: Arc<Mutex<u64>>,
}

async fn messages(
    State(fake): State<Fake>,
    body: axum::body::Bytes,
) -> (axum::http::StatusCode, axum::Json<Value>) {
    let at = Instant::now();
    let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let body = form.get("Body").map(String::as_str).unwrap_or("");
    let index = if body.contains("Reply YES") {
        form.get("To")
            .and_then(|to| to.get(to.len().saturating_sub(3)..))
            .and_then(|n| n.parse::<usize>().ok())
            .map(|n| n + OFFERS_FROM)
    } else {
        body.strip_prefix("Hi N")
            .and_then(|rest| rest.split(',').next())
            .and_then(|n| n.parse().ok())
    };
    if let Some(i) = index {
        let _ = fake.arrived.send((i, at));
    }
    let sid = {
        let mut n = fake.sids.lock().unwrap();
        *n += 1;
        format!("SM{:032x}", *n)
    };
    (
        axum::http::StatusCode::CREATED,
        axum::Json(json!({"sid": sid, "status": "queued"})),
    )
}

fn report(i: usize) -> Value {
    json!({"message": {
        "type": "end-of-call-report",
        "endedReason": "customer-ended-call",
        "call": {"id": format!("load-call-{i}")},
        "customer": {"number": CALLER, "name": format!("N{i} Doe")},
        "artifact": {"transcript": "AI: How can I help?\nUser: I'm interested in rhinoplasty, I'll call back.\nAI: Of course."},
    }})
}

/// Milliseconds from `sent` until message `index` reached the loopback Twilio (others that
/// arrive meanwhile are passed over).
async fn millis_until(
    arrived: &mut mpsc::UnboundedReceiver<(usize, Instant)>,
    index: usize,
    sent: Instant,
) -> f64 {
    loop {
        let (n, at) = tokio::time::timeout(Duration::from_secs(10), arrived.recv())
            .await
            .expect("the text reaches Twilio")
            .unwrap();
        if n == index {
            return (at - sent).as_secs_f64() * 1000.0;
        }
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let scale: f64 = std::env::var("FOLLOWUP_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let (sequential, burst) = (
        ((200.0 * scale) as usize).max(10),
        ((2000.0 * scale) as usize).max(50),
    );

    let (tx, mut arrived) = mpsc::unbounded_channel();
    let fake = Fake {
        arrived: tx,
        sids: Arc::default(),
    };
    let twilio = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let twilio_url = format!("http://{}", twilio.local_addr().unwrap());
    tokio::spawn(async move {
        let app = Router::new()
            .route("/2010-04-01/Accounts/{sid}/Messages.json", post(messages))
            .with_state(fake);
        axum::serve(twilio, app).await.unwrap();
    });

    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::for_data_dir(dir.path());
    settings.twilio.enabled = true;
    settings.twilio.base_url = twilio_url;
    settings.twilio.account_sid = "AC0123456789abcdef0123456789abcdef".into();
    settings.twilio.auth_token = Secret::new("load-token");
    settings.twilio.from_number = "+447700900000".into();
    let app = Application::build(settings).await.unwrap();
    let base = format!("http://{}", app.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();
    let s: Value = client
        .post(format!("{base}/api/auth/signup"))
        .json(&json!({"clinic_name": "Load", "email": "load@clinic.example", "password": "load test password"}))
        .send().await.unwrap().json().await.unwrap();
    let (org, token) = (
        s["org_id"].as_str().unwrap().to_string(),
        s["access_token"].as_str().unwrap().to_string(),
    );
    client
        .put(format!("{base}/api/orgs/{org}/settings"))
        .bearer_auth(&token)
        .json(&json!({"quiet_hours_start": "00:00", "quiet_hours_end": "00:00", "followup_window_days": 0}))
        .send().await.unwrap();
    let key: Value = client
        .post(format!("{base}/api/orgs/{org}/agent-keys"))
        .bearer_auth(&token)
        .json(&json!({"name": "load"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = key["key"].as_str().unwrap().to_string();
    let deadline = Instant::now() + TIME_CAP;

    // One call at a time: from sending the report to the text reaching Twilio.
    let mut latencies = Vec::with_capacity(sequential);
    for i in 0..sequential {
        let sent = Instant::now();
        let r = client
            .post(format!("{base}/api/vapi"))
            .bearer_auth(&key)
            .json(&report(i))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
        latencies.push(millis_until(&mut arrived, i, sent).await);
        if Instant::now() > deadline {
            break;
        }
    }
    latencies.sort_by(f64::total_cmp);
    println!("| phase | texts | per second | p50 ms | p95 ms | p99 ms |");
    println!("|---|---|---|---|---|---|");
    println!(
        "| one call at a time, report → Twilio | {} | – | {:.1} | {:.1} | {:.1} |",
        latencies.len(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.95),
        percentile(&latencies, 0.99)
    );

    // A burst from 16 clients: how fast the outbox drains.
    let started = Instant::now();
    let sends: Arc<Mutex<HashMap<usize, Instant>>> = Arc::default();
    let mut tasks = Vec::new();
    for worker in 0..16 {
        let (client, base, key, sends) = (client.clone(), base.clone(), key.clone(), sends.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = sequential + worker;
            while i < sequential + burst {
                sends.lock().unwrap().insert(i, Instant::now());
                let r = client
                    .post(format!("{base}/api/vapi"))
                    .bearer_auth(&key)
                    .json(&report(i))
                    .send()
                    .await
                    .unwrap();
                assert!(r.status().is_success());
                i += 16;
            }
        }));
    }
    let mut burst_latencies = Vec::with_capacity(burst);
    while burst_latencies.len() < burst && Instant::now() < deadline {
        let Ok(Some((n, at))) = tokio::time::timeout(Duration::from_secs(10), arrived.recv()).await
        else {
            break;
        };
        if let Some(sent) = sends.lock().unwrap().get(&n) {
            burst_latencies.push((at - *sent).as_secs_f64() * 1000.0);
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    for t in tasks {
        t.await.unwrap();
    }
    burst_latencies.sort_by(f64::total_cmp);
    println!(
        "| burst of {burst} from 16 clients | {} | {:.0} | {:.1} | {:.1} | {:.1} |",
        burst_latencies.len(),
        burst_latencies.len() as f64 / elapsed,
        percentile(&burst_latencies, 0.5),
        percentile(&burst_latencies, 0.95),
        percentile(&burst_latencies, 0.99)
    );

    let offers = cancellations_to_offers(&client, &base, &org, &token, &mut arrived, scale).await;
    println!(
        "| one cancellation at a time, cancel → waiting-list offer at Twilio | {} | – | {:.1} | {:.1} | {:.1} |",
        offers.len(),
        percentile(&offers, 0.5),
        percentile(&offers, 0.95),
        percentile(&offers, 0.99)
    );
    let _ = stop.send(());
}

/// One round at a time: a booking, a patient joining the waiting list for its day and part of
/// day, then the booking cancelled; the time from sending the cancellation to the offer's
/// text reaching Twilio, in milliseconds, sorted.
async fn cancellations_to_offers(
    client: &reqwest::Client,
    base: &str,
    org: &str,
    token: &str,
    arrived: &mut mpsc::UnboundedReceiver<(usize, Instant)>,
    scale: f64,
) -> Vec<f64> {
    let rounds = ((100.0 * scale) as usize).clamp(10, 999);
    let post = |path: String, body: Value| {
        client
            .post(format!("{base}{path}"))
            .bearer_auth(token)
            .json(&body)
            .send()
    };
    client
        .put(format!("{base}/api/orgs/{org}/settings"))
        .bearer_auth(token)
        .json(&json!({"quiet_hours_start": "00:00", "quiet_hours_end": "00:00", "min_notice_minutes": 0,
                      "horizon_days": 365, "slot_step_minutes": 30, "offer_minutes": 30}))
        .send().await.unwrap();
    let service: Value = post(
        format!("/api/orgs/{org}/services"),
        json!({"name": "Consultation", "duration_minutes": 30}),
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
    let provider: Value = post(
        format!("/api/orgs/{org}/providers"),
        json!({"name": "Dr Load", "service_ids": [service["id"]], "weekly_hours": week}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let today = chrono::Utc::now().date_naive();
    let deadline = Instant::now() + TIME_CAP;
    let mut latencies = Vec::with_capacity(rounds);
    for i in 0..rounds {
        // 24 half-hours a day from 08:00, from the day after tomorrow.
        let day = (today + chrono::Duration::days(2 + (i / 24) as i64)).to_string();
        let time = format!("{:02}:{:02}", 8 + (i % 24) / 2, (i % 2) * 30);
        let part = if (i % 24) / 2 + 8 < 12 {
            "morning"
        } else if (i % 24) / 2 + 8 < 17 {
            "afternoon"
        } else {
            "evening"
        };
        let booked: Value = post(
            format!("/api/orgs/{org}/appointments"),
            json!({
            "provider_id": provider["id"], "service_id": service["id"], "date": day, "time": time,
            "patient": {"name": "Bea Booked", "phone": "+447911123456"}}),
        )
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        let joined = post(
            format!("/api/orgs/{org}/waitlist"),
            json!({
            "patient": {"name": "Wai Ting", "phone": format!("+447911200{i:03}")},
            "earliest_date": day, "latest_date": day, "time_of_day": part}),
        )
        .await
        .unwrap();
        assert!(joined.status().is_success());
        let id = booked["id"].as_str().expect("booked").to_string();
        let sent = Instant::now();
        let r = post(
            format!("/api/orgs/{org}/appointments/{id}/cancel"),
            json!({}),
        )
        .await
        .unwrap();
        assert!(r.status().is_success());
        latencies.push(millis_until(arrived, OFFERS_FROM + i, sent).await);
        if Instant::now() > deadline {
            break;
        }
    }
    latencies.sort_by(f64::total_cmp);
    latencies
}
