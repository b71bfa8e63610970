//! Crash safety: a real `voxanne serve` process under concurrent booking load is killed with
//! SIGKILL; after a restart on the same data dir every acknowledged booking is there and no
//! two active bookings of a provider overlap. Several rounds, bounded in count.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use tokio::sync::Notify;

use crate::helpers::*;

struct Server {
    child: Child,
    base: String,
}

fn start_server(dir: &std::path::Path, journal: bool) -> Server {
    let mut child = Command::new(voxanne_bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .env("VOXANNE_STORAGE__JOURNAL", journal.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("voxanne starts");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let base = loop {
        let line = lines.next().expect("server printed its address").unwrap();
        if let Some(rest) = line.strip_prefix("voxanne listening on ") {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines.by_ref() {});
    Server { child, base }
}

async fn post(client: &Client, url: String, token: &str, body: Value) -> Value {
    let r = client
        .post(url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    r.json().await.unwrap()
}

#[tokio::test]
async fn acknowledged_bookings_survive_sigkill_under_load() {
    sigkill_rounds(false).await;
}

/// The same with the write-ahead journal on; then a start with it off replays what the journal
/// holds, and a clean stop folds it into the database file and removes it.
#[tokio::test]
async fn acknowledged_bookings_survive_sigkill_under_load_with_the_journal() {
    let left = sigkill_rounds(true).await;
    let journal = left.dir.path().join("voxanne.redb.journal");
    assert!(journal.exists(), "the journal was not used");
    let client = Client::new();
    let server = start_server(left.dir.path(), false);
    let replayed = listed_ids(&client, &server.base, &left.org, &left.token).await;
    assert_eq!(
        replayed, left.ids,
        "the journal's bookings were not replayed"
    );
    stop_cleanly(server);
    assert!(
        !journal.exists(),
        "the journal was not folded in and removed"
    );
    // The database file alone now holds them.
    let server = start_server(left.dir.path(), false);
    let folded = listed_ids(&client, &server.base, &left.org, &left.token).await;
    assert_eq!(folded, left.ids, "the folded file lost bookings");
    stop_cleanly(server);
}

fn stop_cleanly(mut server: Server) {
    let pid = server.child.id().to_string();
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let _ = server.child.wait();
}

/// What the rounds leave: the data dir, the clinic, and the ids its last listing held.
struct Left {
    dir: tempfile::TempDir,
    org: String,
    token: String,
    ids: std::collections::BTreeSet<String>,
}

async fn listed_ids(
    client: &Client,
    base: &str,
    org: &str,
    token: &str,
) -> std::collections::BTreeSet<String> {
    let listed: Value = client
        .get(format!("{base}/api/orgs/{org}/appointments"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    listed["appointments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect()
}

async fn sigkill_rounds(journal: bool) -> Left {
    let dir = tempfile::tempdir().unwrap();
    let client = Client::new();
    let server = start_server(dir.path(), journal);
    let base = server.base.clone();
    let signup: Value = client
        .post(format!("{base}/api/auth/signup"))
        .json(&json!({"clinic_name": "Crash Clinic", "email": "admin@crash.example", "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let org = signup["org_id"].as_str().unwrap().to_string();
    let token = signup["access_token"].as_str().unwrap().to_string();
    let r = client.put(format!("{base}/api/orgs/{org}/settings")).bearer_auth(&token).json(&json!({"min_notice_minutes": 0, "horizon_days": 365, "slot_step_minutes": 30, "phone_region": "GB"})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let week: serde_json::Map<String, Value> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .map(|d| (d.to_string(), json!([["09:00", "17:00"]])))
        .collect();
    let mut providers = Vec::new();
    for name in ["Dr Smith", "Dr Patel"] {
        let p = post(
            &client,
            format!("{base}/api/orgs/{org}/providers"),
            &token,
            json!({"name": name, "weekly_hours": week}),
        )
        .await;
        providers.push(p["id"].as_str().unwrap().to_string());
    }
    let mut server = server;

    let acknowledged: Arc<Mutex<Vec<String>>> = Arc::default();
    for round in 0..3 {
        let acks_this_round = Arc::new(AtomicUsize::new(0));
        let enough = Arc::new(Notify::new());
        let mut tasks = Vec::new();
        for worker in 0..16usize {
            let (client, base, org, token, providers) = (
                client.clone(),
                server.base.clone(),
                org.clone(),
                token.clone(),
                providers.clone(),
            );
            let (acknowledged, acks, enough) = (
                acknowledged.clone(),
                acks_this_round.clone(),
                enough.clone(),
            );
            tasks.push(tokio::spawn(async move {
                for i in 0..40usize {
                    // Spread over 30 days x 16 times x 2 providers, with deliberate collisions.
                    let n = (round * 7919 + worker * 131 + i * 17) % 960;
                    let (day, rest) = (n / 32, n % 32);
                    let (provider, time) = (&providers[rest % 2], rest / 2);
                    let date = date_in(1 + day as i64);
                    let time = format!("{:02}:{:02}", 9 + time / 2, (time % 2) * 30);
                    let body = json!({
                        "provider_id": provider,
                        "start": format!("{date}T{time}:00+00:00"),
                        "end": format!("{date}T{}:00+00:00", add_30(&time)),
                        "patient": {"name": format!("Patient {worker}-{i}"), "phone": "07911 123456"},
                    });
                    let sent = client.post(format!("{base}/api/orgs/{org}/appointments")).bearer_auth(&token).json(&body).send().await;
                    let Ok(r) = sent else { return };
                    if r.status() == StatusCode::CREATED {
                        let Ok(v) = r.json::<Value>().await else { return };
                        acknowledged.lock().unwrap().push(v["id"].as_str().unwrap().to_string());
                        if acks.fetch_add(1, Ordering::SeqCst) + 1 == 40 {
                            enough.notify_one();
                        }
                    }
                }
            }));
        }
        // Kill while the workers are still sending (or once they are all done).
        let all_done = async {
            for t in tasks.iter_mut() {
                let _ = t.await;
            }
        };
        tokio::select! {
            _ = enough.notified() => {},
            _ = all_done => {},
        }
        server.child.kill().expect("SIGKILL");
        server.child.wait().unwrap();
        for t in tasks {
            t.abort();
        }

        server = start_server(dir.path(), journal);
        let listed: Value = client
            .get(format!("{}/api/orgs/{org}/appointments", server.base))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let stored = listed["appointments"].as_array().unwrap();
        let ids: std::collections::HashSet<&str> =
            stored.iter().map(|a| a["id"].as_str().unwrap()).collect();
        let acked = acknowledged.lock().unwrap().clone();
        assert!(
            acks_this_round.load(Ordering::SeqCst) > 0,
            "round {round} acknowledged nothing"
        );
        for id in &acked {
            assert!(
                ids.contains(id.as_str()),
                "round {round}: acknowledged booking {id} lost"
            );
        }
        let mut by_provider: std::collections::HashMap<&str, Vec<(String, String)>> =
            Default::default();
        for a in stored {
            by_provider
                .entry(a["provider_id"].as_str().unwrap())
                .or_default()
                .push((
                    a["start"].as_str().unwrap().to_string(),
                    a["end"].as_str().unwrap().to_string(),
                ));
        }
        for list in by_provider.values_mut() {
            list.sort();
            for w in list.windows(2) {
                assert!(w[0].1 <= w[1].0, "round {round}: overlap {w:?}");
            }
        }
    }
    let ids = listed_ids(&client, &server.base, &org, &token).await;
    let _ = server.child.kill();
    let _ = server.child.wait();
    Left {
        dir,
        org,
        token,
        ids,
    }
}

fn add_30(hhmm: &str) -> String {
    let (h, m) = hhmm.split_once(':').unwrap();
    let total = h.parse::<u32>().unwrap() * 60 + m.parse::<u32>().unwrap() + 30;
    format!("{:02}:{:02}", total / 60, total % 60)
}
