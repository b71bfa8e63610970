//! The FHIR face against the JSON API on the same server: one provider's free slots over 14
//! days (`GET /fhir/r4/Slot` against `GET /api/orgs/{org}/availability`) and one booking
//! (`POST /fhir/r4/Appointment` from a slot against `POST /api/orgs/{org}/appointments`),
//! each from one keep-alive client, the two interleaved request by request so both see the
//! same machine. Prints p50/p99 per operation. The real server in process on a loopback port,
//! a real redb file with durable commits (the journal on, as installed). Bounded: a fixed
//! number of requests per operation.
//!
//! Run: `cargo bench --bench fhir` (FHIR_BENCH_N=100 for a quick run; default 400).

use std::time::{Duration, Instant};

use reqwest::Client;
use serde_json::{json, Value};
use voxanne::config::Settings;
use voxanne::startup::Application;

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{name:<44} n={:<4} p50 {:>6.2} ms  p99 {:>6.2} ms",
        samples.len(),
        percentile(&samples, 0.50),
        percentile(&samples, 0.99)
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: usize = std::env::var("FHIR_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400);
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings::for_data_dir(dir.path());
    let app = Application::build(settings).await.unwrap();
    let base = format!("http://{}", app.local_addr());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = rx.await;
    }));
    let client = Client::new();
    let call = |method: reqwest::Method, path: String, token: Option<&str>, body: Option<Value>| {
        let mut r = client.request(method, format!("{base}{path}"));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        if let Some(b) = body {
            r = r
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        r.send()
    };
    use reqwest::Method;
    let s: Value = call(Method::POST, "/api/auth/signup".into(), None, Some(json!({"clinic_name": "Bench", "email": "bench@clinic.example", "password": "bench password 1", "timezone": "Europe/London"}))).await.unwrap().json().await.unwrap();
    let org = s["org_id"].as_str().unwrap().to_string();
    let token = s["access_token"].as_str().unwrap().to_string();
    let t = Some(token.as_str());
    call(Method::PUT, format!("/api/orgs/{org}/settings"), t, Some(json!({"min_notice_minutes": 0, "horizon_days": 365, "slot_step_minutes": 30, "phone_region": "GB"}))).await.unwrap();
    let service: Value = call(
        Method::POST,
        format!("/api/orgs/{org}/services"),
        t,
        Some(json!({"name": "Consultation", "duration_minutes": 30})),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let service = service["id"].as_str().unwrap().to_string();
    let week: serde_json::Map<String, Value> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .map(|d| (d.to_string(), json!([["08:00", "20:00"]])))
        .collect();
    let mut providers = Vec::new();
    for name in ["Dr Rest", "Dr Fhir"] {
        let p: Value = call(
            Method::POST,
            format!("/api/orgs/{org}/providers"),
            t,
            Some(json!({"name": name, "service_ids": [service], "weekly_hours": week})),
        )
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        providers.push(p["id"].as_str().unwrap().to_string());
    }
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::London)
        .date_naive();
    let first = today + chrono::Duration::days(1);
    let last = first + chrono::Duration::days(14);

    // Searches: one provider, 14 days, every free slot in one answer.
    let json_search = format!(
        "/api/orgs/{org}/availability?provider_id={}&service_id={service}&date={first}&days=14",
        providers[0]
    );
    let fhir_search = format!(
        "/fhir/r4/Slot?schedule=Schedule/{}&service-type={service}&status=free&start=ge{first}&start=lt{last}&_count=500",
        providers[1]
    );
    let (mut json_times, mut fhir_times) = (Vec::new(), Vec::new());
    let mut sizes = (0, 0);
    let mut bytes = (0, 0);
    for _ in 0..n.min(400) {
        // Timed to the last byte of the answer; the client's own parsing is not the server's.
        let started = Instant::now();
        let body = call(Method::GET, json_search.clone(), t, None)
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        json_times.push(started.elapsed());
        let r: Value = serde_json::from_slice(&body).unwrap();
        sizes.0 = r["slots"].as_array().unwrap().len();
        bytes.0 = body.len();
        let started = Instant::now();
        let body = call(Method::GET, fhir_search.clone(), t, None)
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        fhir_times.push(started.elapsed());
        let r: Value = serde_json::from_slice(&body).unwrap();
        sizes.1 = r["entry"].as_array().unwrap().len();
        bytes.1 = body.len();
    }
    assert_eq!(
        sizes.0, sizes.1,
        "both searches find the same number of slots"
    );
    println!(
        "14 days of one provider: {} free slots; answers of {} bytes (JSON) and {} (FHIR)",
        sizes.0, bytes.0, bytes.1
    );
    report("JSON GET availability (14 days)", json_times);
    report("FHIR GET Slot (14 days)", fhir_times);

    // Bookings: each books the next free slot of its own provider.
    let slots: Value = call(
        Method::GET,
        format!("/api/orgs/{org}/availability?service_id={service}&date={first}&days=31"),
        t,
        None,
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let mut rest_free = Vec::new();
    let mut fhir_free = Vec::new();
    for s in slots["slots"].as_array().unwrap() {
        if s["provider_id"] == providers[0].as_str() {
            rest_free.push(s["start"].as_str().unwrap().to_string());
        } else {
            fhir_free.push(s["start"].as_str().unwrap().to_string());
        }
    }
    let count = n.min(rest_free.len()).min(fhir_free.len());
    let (mut json_times, mut fhir_times) = (Vec::new(), Vec::new());
    for i in 0..count {
        let body = json!({"provider_id": providers[0], "service_id": service, "start": rest_free[i],
                          "patient": {"name": "Jane Doe", "phone": "07911 123456"}});
        let started = Instant::now();
        let r = call(
            Method::POST,
            format!("/api/orgs/{org}/appointments"),
            t,
            Some(body),
        )
        .await
        .unwrap();
        assert_eq!(r.status(), 201);
        r.bytes().await.unwrap();
        json_times.push(started.elapsed());
        let body = json!({"resourceType": "Appointment", "status": "proposed", "start": fhir_free[i],
            "serviceType": [{"coding": [{"code": service}]}],
            "contained": [{"resourceType": "Patient", "id": "p", "name": [{"text": "Jane Doe"}], "telecom": [{"system": "phone", "value": "07911 123456"}]}],
            "participant": [{"actor": {"reference": format!("Practitioner/{}", providers[1])}, "status": "accepted"},
                            {"actor": {"reference": "#p"}, "status": "accepted"}]});
        let started = Instant::now();
        let r = call(Method::POST, "/fhir/r4/Appointment".into(), t, Some(body))
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        r.bytes().await.unwrap();
        fhir_times.push(started.elapsed());
    }
    report("JSON POST appointments", json_times);
    report("FHIR POST Appointment", fhir_times);
    let _ = tx.send(());
    let _ = server.await;
}
