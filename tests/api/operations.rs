//! Operating the appliance: backups taken while bookings go on, checked and restored into a
//! new data dir; scheduled backups; the operator's admin socket.

use std::process::Command;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::outbox::eventually;

fn voxanne(args: &[&str]) -> std::process::Output {
    Command::new(voxanne_bin()).args(args).output().unwrap()
}

/// Runs the command-line tool off the async threads, so the in-process server it talks to
/// keeps serving meanwhile.
async fn voxanne_serving(args: &[&str]) -> std::process::Output {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        voxanne(&args)
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn a_backup_taken_while_bookings_go_on_restores_every_acknowledged_booking() {
    let app = std::sync::Arc::new(spawn_app().await);
    let c = app.bookable_clinic("Clinic").await;
    let data_dir = app.data_dir.clone();
    let backups = tempfile::TempDir::new().unwrap();
    let file = backups.path().join("nightly.redb");

    // Four clients book distinct slots while the backup is taken.
    let acknowledged = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(
        String,
        std::time::Instant,
    )>::new()));
    let mut bookers = Vec::new();
    for client in 0..4 {
        let (app, c, acknowledged) = (app.clone(), c.clone(), acknowledged.clone());
        bookers.push(tokio::spawn(async move {
            for n in 0..12 {
                let day = 2 + n / 6;
                let hour = 9 + (n % 6);
                let provider = if client % 2 == 0 { &c.smith } else { &c.patel };
                let minute = if client < 2 { "00" } else { "30" };
                let r = app
                    .book_via_rest(
                        &c,
                        provider,
                        &date_in(day),
                        &format!("{hour:02}:{minute}"),
                        None,
                    )
                    .await;
                if r.status() == StatusCode::CREATED {
                    let id = r.json::<Value>().await.unwrap()["id"]
                        .as_str()
                        .unwrap()
                        .to_string();
                    acknowledged
                        .lock()
                        .unwrap()
                        .push((id, std::time::Instant::now()));
                }
            }
        }));
    }
    eventually("some bookings are acknowledged", || async {
        acknowledged.lock().unwrap().len() >= 8
    })
    .await;
    let started = std::time::Instant::now();
    let out = {
        let (file, dir) = (file.clone(), data_dir.clone());
        voxanne_serving(&[
            "backup",
            "--out",
            file.to_str().unwrap(),
            "--data-dir",
            dir.to_str().unwrap(),
        ])
        .await
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let manifest: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(manifest["sha256"].as_str().unwrap().len() == 64);
    for b in bookers {
        b.await.unwrap();
    }
    let before_backup: Vec<String> = acknowledged
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, at)| *at < started)
        .map(|(id, _)| id.clone())
        .collect();
    assert!(before_backup.len() >= 8);

    let out = voxanne(&["backup", "--verify", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verified: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(verified["verified"]["manifest_checked"], true);

    // Restore into a new, empty data dir with the install's master key; it starts, and every
    // booking acknowledged before the backup began is there.
    let restored = tempfile::TempDir::new().unwrap();
    let key = data_dir.join("keys/master.key");
    let out = voxanne(&[
        "restore",
        file.to_str().unwrap(),
        "--data-dir",
        restored.path().to_str().unwrap(),
        "--master-key",
        key.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A second restore into the same dir is refused.
    let again = voxanne(&[
        "restore",
        file.to_str().unwrap(),
        "--data-dir",
        restored.path().to_str().unwrap(),
    ]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("empty data dir"));
    // So is a restore beside a journal left without its database (it would be replayed over
    // the restored file).
    let stale = tempfile::TempDir::new().unwrap();
    std::fs::write(stale.path().join("voxanne.redb.journal"), b"left behind").unwrap();
    let beside_journal = voxanne(&[
        "restore",
        file.to_str().unwrap(),
        "--data-dir",
        stale.path().to_str().unwrap(),
    ]);
    assert!(!beside_journal.status.success());
    assert!(String::from_utf8_lossy(&beside_journal.stderr).contains("journal"));
    assert!(!stale.path().join("voxanne.redb").exists());

    let copy = spawn_app_in(restored.path(), |_| {}).await;
    let token: Value = copy
        .login(&c.clinic.email, PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().unwrap().to_string();
    let listed: Value = copy
        .get(
            &format!("/api/orgs/{}/appointments", c.clinic.org_id),
            Some(&token),
        )
        .await
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = listed["appointments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    for id in &before_backup {
        assert!(
            ids.contains(&id.as_str()),
            "booking {id} acknowledged before the backup is missing"
        );
    }
    let v: Value = copy
        .get(
            &format!("/api/orgs/{}/audit/verify", c.clinic.org_id),
            Some(&token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(copy.get("/readyz", None).await.status(), StatusCode::OK);
    // And the restored appliance passes the install check.
    let report = restored.path().join("check.json");
    let out = {
        let (base, dir, report) = (
            copy.base.clone(),
            restored.path().to_path_buf(),
            report.clone(),
        );
        voxanne_serving(&[
            "check",
            "--url",
            &base,
            "--data-dir",
            dir.to_str().unwrap(),
            "--report",
            report.to_str().unwrap(),
        ])
        .await
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn a_damaged_backup_fails_verification() {
    let app = spawn_app().await;
    app.bookable_clinic("Clinic").await;
    let backups = tempfile::TempDir::new().unwrap();
    let file = backups.path().join("b.redb");
    let dir = app.data_dir.clone();
    let out = tokio::task::spawn_blocking({
        let file = file.clone();
        move || {
            voxanne(&[
                "backup",
                "--out",
                file.to_str().unwrap(),
                "--data-dir",
                dir.to_str().unwrap(),
            ])
        }
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A backup never replaces a file: not another backup, not the live database.
    let before = std::fs::read(&file).unwrap();
    let live = app.data_dir.join("voxanne.redb");
    for target in [file.clone(), live.clone()] {
        let dir = app.data_dir.clone();
        let out = voxanne_serving(&[
            "backup",
            "--out",
            target.to_str().unwrap(),
            "--data-dir",
            dir.to_str().unwrap(),
        ])
        .await;
        assert!(!out.status.success());
        let said = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(said.contains("never replace"), "{said}");
    }
    assert_eq!(std::fs::read(&file).unwrap(), before);
    assert_eq!(app.get("/readyz", None).await.status(), StatusCode::OK);
    // One byte changed in the middle: the manifest's hash no longer matches.
    let mut bytes = std::fs::read(&file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&file, &bytes).unwrap();
    let out = voxanne(&["backup", "--verify", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("damaged"));
    // Without its manifest, a truncated file does not open.
    std::fs::remove_file(format!("{}.manifest.json", file.display())).unwrap();
    std::fs::write(&file, &bytes[..bytes.len() / 3]).unwrap();
    let out = voxanne(&["backup", "--verify", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
}

/// Scheduled backups are a task on the service clock with `[backup]` as configured: one at
/// start, one every `every_hours`, the newest `keep` kept, the last reported by `/readyz`; a
/// restart soon after a backup takes none, and the next falls due `every_hours` after it.
#[tokio::test]
async fn scheduled_backups_follow_every_hours_and_keep_on_the_service_clock_across_a_restart() {
    let start = chrono::Utc::now();
    let clock = voxanne::clock::ManualClock::new(start);
    let backups = tempfile::TempDir::new().unwrap();
    let data = tempfile::TempDir::new().unwrap();
    let dir = backups.path().to_path_buf();
    let configure = |s: &mut voxanne::config::Settings| {
        s.backup.dir = dir.clone();
        s.backup.every_hours = 6;
        s.backup.keep = 2;
    };
    let at = |hours: i64| voxanne::backup::scheduled_name(start + chrono::Duration::hours(hours));
    let files = || {
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.ends_with(".redb"))
            .collect();
        names.sort();
        names
    };
    let app = spawn_app_in_with_clock(data.path(), clock.clock(), configure).await;
    eventually("the backup taken at start", || async { files() == [at(0)] }).await;
    clock.set(start + chrono::Duration::hours(6));
    eventually("the six-hourly backup", || async {
        files() == [at(0), at(6)]
    })
    .await;
    clock.set(start + chrono::Duration::hours(12));
    eventually("the oldest backup pruned", || async {
        files() == [at(6), at(12)]
    })
    .await;
    let ready: Value = app.get("/readyz", None).await.json().await.unwrap();
    assert_eq!(ready["backup"]["ok"], true, "{ready}");
    assert_eq!(ready["backup"]["file"], at(12));
    let out = voxanne(&["backup", "--verify", dir.join(at(12)).to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A restart an hour later takes no backup (the newest is an hour old): the task says the
    // next is due six hours after the newest, and takes it when the clock gets there.
    app.stop().await;
    clock.set(start + chrono::Duration::hours(13));
    let app = spawn_app_in_with_clock(data.path(), clock.clock(), configure).await;
    let newest = voxanne::backup::newest_scheduled(&dir).unwrap();
    let due = newest + chrono::Duration::hours(6);
    eventually("the restarted task schedules the next backup", || async {
        let ready: Value = app.get("/readyz", None).await.json().await.unwrap();
        ready["backup"]["next_at"]
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .is_some_and(|t| t == due)
    })
    .await;
    assert_eq!(files(), [at(6), at(12)]);
    clock.set(start + chrono::Duration::hours(18));
    eventually("the backup six hours after the newest", || async {
        files() == [at(12), at(18)]
    })
    .await;
    app.stop().await;
}

#[tokio::test]
async fn the_admin_socket_creates_clinics_and_runs_the_operators_tools_while_serving() {
    let app = spawn_app_with(|s| s.auth.signup = voxanne::config::SignupPolicy::Closed).await;
    let dir = app.data_dir.clone();
    let out = voxanne_serving(&[
        "org",
        "create",
        "--name",
        "Second Clinic",
        "--email",
        "second@clinic.example",
        "--data-dir",
        dir.to_str().unwrap(),
    ])
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8(out.stdout).unwrap();
    let password = printed
        .lines()
        .find_map(|l| l.strip_prefix("one-time password: "))
        .unwrap();
    assert_eq!(
        app.login("second@clinic.example", password).await.status(),
        StatusCode::OK
    );
    // The offline tools work while the server runs: through the socket.
    let dir = app.data_dir.clone();
    let docs = tempfile::TempDir::new().unwrap();
    std::fs::write(
        docs.path().join("parking.md"),
        "# Parking\nThe car park is on level two.",
    )
    .unwrap();
    let org = {
        let login: Value = app
            .login("second@clinic.example", password)
            .await
            .json()
            .await
            .unwrap();
        (
            login["org_id"].as_str().unwrap().to_string(),
            login["access_token"].as_str().unwrap().to_string(),
        )
    };
    let outs = {
        let (dir, docs, org_id) = (dir.clone(), docs.path().to_path_buf(), org.0.clone());
        tokio::task::spawn_blocking(move || {
            let d = dir.to_str().unwrap();
            vec![
                voxanne(&["audit", "verify", "--data-dir", d]),
                voxanne(&[
                    "kb",
                    "import",
                    docs.to_str().unwrap(),
                    "--org",
                    &org_id,
                    "--data-dir",
                    d,
                ]),
                voxanne(&["keys", "rotate", "--org", &org_id, "--data-dir", d]),
            ]
        })
        .await
        .unwrap()
    };
    for out in &outs {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(String::from_utf8_lossy(&outs[0].stdout).contains("\"ok\":true"));
    let listed: Value = app
        .get(&format!("/api/orgs/{}/kb/documents", org.0), Some(&org.1))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["documents"][0]["title"], "Parking");
    // A request that is not JSON gets an error line, and the socket keeps serving.
    let answer = voxanne::admin::request(&app.data_dir, &json!({"command": "nonsense"}))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(answer["ok"], false);
    let pong = voxanne::admin::request(&app.data_dir, &json!({"command": "ping"}))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pong["ok"], true);
}

/// A command that runs as `nobody` (uid 65534): through `setpriv` when this test runs as
/// root, else through password-less `sudo`; `None` when neither can switch users here.
fn as_nobody() -> Option<Command> {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    if root {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"]);
        return Some(c);
    }
    let sudo = Command::new("sudo")
        .args(["-n", "true"])
        .output()
        .is_ok_and(|o| o.status.success());
    sudo.then(|| {
        let mut c = Command::new("sudo");
        c.args(["-n", "-u", "nobody", "--"]);
        c
    })
}

/// Says on the terminal (past the test harness's capture) that a check could not run here,
/// and why, so a skipped check is never mistaken for a passed one.
fn skipped_loudly(test: &str, why: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "\nSKIPPED {test}: {why}");
}

#[tokio::test]
async fn another_user_of_the_machine_is_refused_the_admin_socket_by_its_mode() {
    use std::os::unix::fs::PermissionsExt;
    let app = spawn_app().await;
    let socket = app.data_dir.join("admin.sock");
    let mode = std::fs::metadata(&socket).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    let name = "another_user_of_the_machine_is_refused_the_admin_socket_by_its_mode";
    if as_nobody().is_none() {
        skipped_loudly(
            name,
            "becoming another user needs root or password-less sudo; only the socket's mode was checked",
        );
        return;
    }
    // The client is the system's Python (a user's own, e.g. under a home directory, is not
    // reachable by `nobody`).
    let Some(python) = ["/usr/bin/python3", "/usr/local/bin/python3", "/bin/python3"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
    else {
        skipped_loudly(name, "no system python3 to act as the other user's client");
        return;
    };
    // Only the socket's own mode stands in the way: the data dir lets others pass through.
    std::fs::set_permissions(&app.data_dir, std::fs::Permissions::from_mode(0o711)).unwrap();
    let script = format!(
        "import socket,sys\ns=socket.socket(socket.AF_UNIX)\ntry:\n  s.connect('{}')\n  sys.exit(0)\nexcept PermissionError:\n  sys.exit(3)",
        socket.display()
    );
    let connect_as_nobody = || {
        let socket_script = script.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                as_nobody()
                    .unwrap()
                    .args([python, "-c", &socket_script])
                    .status()
                    .unwrap()
                    .code()
            })
            .await
            .unwrap()
        }
    };
    assert_eq!(
        connect_as_nobody().await,
        Some(3),
        "another user reached the socket"
    );
    // The same client does connect to a socket others may write to: the refusal above was
    // the socket's mode, not the way the check is run.
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o666)).unwrap();
    assert_eq!(connect_as_nobody().await, Some(0));
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o600)).unwrap();
    let pong = voxanne::admin::request(&app.data_dir, &json!({"command": "ping"}))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pong["ok"], true);
}

/// The value of the first sample of `metric` whose labels contain `labels`.
fn sample(text: &str, metric: &str, labels: &str) -> Option<f64> {
    text.lines()
        .filter(|l| l.starts_with(metric) && l.contains(labels))
        .find_map(|l| l.rsplit(' ').next()?.parse().ok())
}

#[tokio::test]
async fn metrics_time_tools_and_count_bookings_without_personal_data() {
    let app = spawn_app().await;
    let c = app.bookable_clinic("Clinic").await;
    let scrape = || async {
        let r = app.get("/metrics", None).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert!(r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain"));
        r.text().await.unwrap()
    };
    let before = scrape().await;
    let booked_before =
        sample(&before, "voxanne_bookings_total", "outcome=\"booked\"").unwrap_or(0.0);
    let body = json!({"message": {
        "type": "tool-calls",
        "call": {"id": "call-metrics", "customer": {"number": "+447911123456"}},
        "toolCallList": [{"id": "tc-metrics", "type": "function", "function": {"name": "book_appointment",
            "arguments": {"appointment_date": date_in(5), "appointment_time": "3pm", "provider_name": "Dr Smith",
                          "service": "rhinoplasty", "patient_name": "Veronica Quartermaine"}}}],
    }});
    let r = app.post("/api/vapi/tools", Some(&c.agent_key), body).await;
    assert_eq!(r.status(), StatusCode::OK);
    let timing = r.headers()["server-timing"].to_str().unwrap().to_string();
    assert!(timing.starts_with("app;dur="), "{timing}");
    let after = scrape().await;
    assert!(
        sample(&after, "voxanne_bookings_total", "outcome=\"booked\"").unwrap()
            >= booked_before + 1.0,
        "the booking counter moves"
    );
    assert!(
        sample(
            &after,
            "voxanne_tool_call_duration_seconds_count",
            "tool=\"book_appointment\""
        )
        .unwrap()
            >= 1.0
    );
    assert!(after.contains("voxanne_http_request_duration_seconds_bucket{method=\"POST\",route=\"/api/vapi/tools\",status=\"200\""));
    assert!(sample(&after, "voxanne_claim_batch_size_count", "").unwrap() >= 1.0);
    assert!(after.contains("voxanne_outbox_depth{service=\"twilio\"}"));
    assert!(after.contains("voxanne_part_up{part=\"outbox_worker\"} 1"));
    for secret in [
        "Veronica",
        "Quartermaine",
        "7911123456",
        "call-metrics",
        &c.clinic.org_id,
    ] {
        assert!(!after.contains(secret), "{secret} in /metrics");
    }

    // Only from `server.metrics_from`.
    let closed = spawn_app_with(|s| s.server.metrics_from = vec!["10.0.0.0/8".into()]).await;
    assert_eq!(
        closed.get("/metrics", None).await.status(),
        StatusCode::NOT_FOUND
    );
}

/// The recorder keeps each histogram sample until it is folded into its buckets; a running
/// server folds them on a schedule, so an appliance nobody scrapes does not grow with every
/// request. Here nothing reads `/metrics`, and the upkeep still runs.
#[tokio::test]
async fn a_server_nobody_scrapes_still_folds_its_metric_samples() {
    let app = spawn_app().await;
    for _ in 0..20 {
        assert_eq!(app.get("/healthz", None).await.status(), StatusCode::OK);
    }
    let before = voxanne::metrics::upkeeps();
    let deadline = voxanne::metrics::UPKEEP_EVERY * 5;
    let ran = tokio::time::timeout(deadline, async {
        while voxanne::metrics::upkeeps() <= before {
            tokio::task::yield_now().await;
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(ran.is_ok(), "no metrics upkeep within {deadline:?}");
}

/// A first run: `serve --demo` seeds a clinic with documents and prints requests that work
/// as printed, the knowledge-base question answered from the clinic's own document.
#[tokio::test]
async fn serve_demo_seeds_a_clinic_with_documents_and_prints_requests_that_work() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::TempDir::new().unwrap();
    let mut child = Command::new(voxanne_bin())
        .args(["serve", "--demo", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut printed = Vec::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let done = line.starts_with("voxanne listening on ");
        printed.push(line);
        if done {
            break;
        }
    }
    // The printed requests: `curl -s URL -H 'authorization: Bearer KEY' …` then `-d 'BODY'`.
    let requests: Vec<(String, String, String)> = printed
        .windows(2)
        .filter_map(|w| {
            let curl = w[0].trim().strip_prefix("curl -s ")?;
            let url = curl.split_whitespace().next()?.to_string();
            let key = curl
                .split("Bearer ")
                .nth(1)?
                .split('\'')
                .next()?
                .to_string();
            let body = w[1]
                .trim()
                .strip_prefix("-d '")?
                .strip_suffix('\'')?
                .to_string();
            Some((url, key, body))
        })
        .collect();
    assert_eq!(requests.len(), 2, "{printed:#?}");
    let client = reqwest::Client::new();
    let mut answers = Vec::new();
    for (url, key, body) in &requests {
        let r = client
            .post(url)
            .bearer_auth(key)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        answers.push(r.json::<Value>().await.unwrap()["results"][0].clone());
    }
    assert!(
        answers[0]["result"].as_str().unwrap().contains("I have"),
        "{}",
        answers[0]
    );
    assert_eq!(answers[1]["answered"], true, "{}", answers[1]);
    assert!(
        answers[1]["result"].as_str().unwrap().contains("swelling"),
        "{}",
        answers[1]
    );
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn model_install_checks_an_installed_model_and_leaves_it() {
    // The test run has the model (see the README's two commands); a copy of it is recognised
    // by its pinned sums, and a damaged copy is not.
    let source = crate::knowledge_base::model_dir();
    assert!(voxanne::search::install::installed(&source));
    let dir = tempfile::TempDir::new().unwrap();
    let model = dir.path().join("models/all-MiniLM-L6-v2");
    std::fs::create_dir_all(&model).unwrap();
    for f in ["config.json", "tokenizer.json", "model.safetensors"] {
        std::fs::copy(source.join(f), model.join(f)).unwrap();
    }
    let out = voxanne(&[
        "model",
        "install",
        "--data-dir",
        dir.path().to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("already installed"));
    std::fs::write(model.join("config.json"), b"{}").unwrap();
    assert!(!voxanne::search::install::installed(&model));
}

/// Runs `voxanne check` against the test server, with the GO criterion for the tool calls'
/// p95 that the test states (`[check] max_tool_call_p95_ms`, through the environment), and
/// optionally only some scenarios.
fn check(
    app: &TestApp,
    report: &std::path::Path,
    max_p95_ms: &str,
    scenario: &str,
) -> std::process::Output {
    Command::new(voxanne_bin())
        .args([
            "check",
            "--url",
            &app.base,
            "--data-dir",
            app.data_dir.to_str().unwrap(),
            "--report",
            report.to_str().unwrap(),
            "--scenario",
            scenario,
        ])
        .env("VOXANNE_CHECK__MAX_TOOL_CALL_P95_MS", max_p95_ms)
        .output()
        .unwrap()
}

/// A debug build on two shared cores is not what the seeds' 500 ms budget is about: the tests
/// of the scenarios give the tool calls this much, and one test holds the criterion itself.
const GENEROUS_P95_MS: &str = "10000";

#[tokio::test]
async fn voxanne_check_says_no_go_when_the_tool_calls_miss_the_configured_p95() {
    let app = std::sync::Arc::new(spawn_app().await);
    let dir = tempfile::TempDir::new().unwrap();
    let report_path = dir.path().join("report.json");
    let out = {
        let (app, report_path) = (app.clone(), report_path.clone());
        tokio::task::spawn_blocking(move || check(&app, &report_path, "0.001", "basic"))
            .await
            .unwrap()
    };
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&std::fs::read(&report_path).unwrap()).unwrap();
    assert_eq!(report["go"], false);
    let reasons = report["reasons"].to_string();
    assert!(
        reasons.contains("tool-call p95") && reasons.contains("0.001 ms"),
        "{reasons}"
    );
    // Every step itself passed: the criterion alone said NO-GO.
    assert!(report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["ok"] == true));
}

#[tokio::test]
async fn voxanne_check_says_go_on_a_healthy_appliance_and_leaves_nothing_behind() {
    let app = std::sync::Arc::new(spawn_app().await);
    let dir = tempfile::TempDir::new().unwrap();
    let report_path = dir.path().join("report.json");
    let out = {
        let (app, report_path) = (app.clone(), report_path.clone());
        tokio::task::spawn_blocking(move || check(&app, &report_path, GENEROUS_P95_MS, "all"))
            .await
            .unwrap()
    };
    let said = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{said}");
    assert!(said.contains("GO: every check passed"), "{said}");
    let report: Value = serde_json::from_slice(&std::fs::read(&report_path).unwrap()).unwrap();
    assert_eq!(report["go"], true);
    assert_eq!(report["server_errors"], 0);
    let scenarios: Vec<&str> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["scenario"].as_str().unwrap())
        .collect();
    for s in [
        "basic",
        "concurrent",
        "isolation",
        "error-handling",
        "email",
        "followup",
        "kb",
        "cleanup",
    ] {
        assert!(scenarios.contains(&s), "{s} missing");
    }
    assert!(report["p95_ms"].as_f64().unwrap() > 0.0);
    // SMTP is off here: the confirmation waits in the outbox, and the check does not wait.
    let steps = report["steps"].as_array().unwrap();
    assert!(steps
        .iter()
        .any(|s| s["name"] == "the confirmation email waits in the outbox (SMTP is off)"));
    // The throwaway clinics are gone.
    let orgs = app.services.identity.org_ids().await.unwrap();
    assert!(orgs.is_empty(), "{orgs:?}");
}

#[tokio::test]
async fn voxanne_check_says_no_go_naming_the_scenario_when_bookings_fail() {
    let app = std::sync::Arc::new(spawn_app().await);
    // A fault in the claim writer: every booking fails (the caller hears an apology).
    assert!(app
        .services
        .booking
        .writer()
        .inject_fault(Box::new(|change| {
            if matches!(change, voxanne::booking::ledger::Change::Book(_)) {
                panic!("injected fault");
            }
        })));
    let dir = tempfile::TempDir::new().unwrap();
    let report_path = dir.path().join("report.json");
    let out = {
        let (app, report_path) = (app.clone(), report_path.clone());
        tokio::task::spawn_blocking(move || check(&app, &report_path, GENEROUS_P95_MS, "basic"))
            .await
            .unwrap()
    };
    assert_eq!(out.status.code(), Some(1));
    let said = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(said.contains("NO-GO"), "{said}");
    let report: Value = serde_json::from_slice(&std::fs::read(&report_path).unwrap()).unwrap();
    assert_eq!(report["go"], false);
    let reasons = report["reasons"].to_string();
    assert!(
        reasons.contains("basic") && reasons.contains("booking success"),
        "{reasons}"
    );
}

/// Under systemd (`Type=notify`): READY=1 once the server listens, WATCHDOG=1 while it runs,
/// STOPPING=1 when it is told to stop.
#[test]
fn the_server_tells_systemd_it_is_ready_and_alive() {
    use std::io::{BufRead, BufReader};
    use std::os::unix::net::UnixDatagram;
    let dir = tempfile::TempDir::new().unwrap();
    let socket_path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    let mut child = Command::new(voxanne_bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .env("NOTIFY_SOCKET", &socket_path)
        .env("WATCHDOG_USEC", "200000")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut said = Vec::new();
    let mut buf = [0u8; 256];
    while !(said.iter().any(|s| s == "READY=1") && said.iter().any(|s| s == "WATCHDOG=1")) {
        let n = socket.recv(&mut buf).expect("systemd is told");
        said.push(String::from_utf8_lossy(&buf[..n]).to_string());
    }
    // READY comes before any watchdog ping, and after the listener is up.
    assert_eq!(said[0], "READY=1");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert!(lines.any(|l| l.unwrap().starts_with("voxanne listening on ")));
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    loop {
        let n = socket.recv(&mut buf).expect("systemd is told of the stop");
        if &buf[..n] == b"STOPPING=1" {
            break;
        }
    }
    assert!(child.wait().unwrap().success());
}

/// A certificate and key for `localhost`, as PEM files in `dir`.
fn certificate(
    dir: &std::path::Path,
    name: &str,
) -> (std::path::PathBuf, std::path::PathBuf, String) {
    let rcgen::CertifiedKey { cert, key_pair } =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (c, k) = (
        dir.join(format!("{name}.crt")),
        dir.join(format!("{name}.key")),
    );
    std::fs::write(&c, cert.pem()).unwrap();
    std::fs::write(&k, key_pair.serialize_pem()).unwrap();
    (c, k, cert.pem())
}

/// HTTPS served directly: a real TLS request with a certificate made here, plain HTTP
/// refused on that port, and a new certificate taken up on SIGHUP without a restart.
#[tokio::test]
async fn https_is_served_with_the_configured_certificate_and_reloaded_on_sighup() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::TempDir::new().unwrap();
    let (cert, key, first_pem) = certificate(dir.path(), "first");
    let mut child = Command::new(voxanne_bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .env("VOXANNE_SERVER__TLS_CERT_FILE", &cert)
        .env("VOXANNE_SERVER__TLS_KEY_FILE", &key)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = loop {
        let line = lines
            .next()
            .expect("the server prints its address")
            .unwrap();
        if let Some(rest) = line.strip_prefix("voxanne listening on ") {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    assert!(base.starts_with("https://"), "{base}");
    let addr: std::net::SocketAddr = base.trim_start_matches("https://").parse().unwrap();
    let client_trusting = |pem: &str| {
        reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).unwrap())
            .resolve("localhost", addr)
            .build()
            .unwrap()
    };
    let url = format!("https://localhost:{}/healthz", addr.port());
    let r = client_trusting(&first_pem).get(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // Plain HTTP to the TLS port gets no HTTP answer.
    let plain = reqwest::get(format!("http://{addr}/healthz")).await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());

    // A new certificate in the same files, then SIGHUP: new connections get it.
    let (_, _, second_pem) = certificate(dir.path(), "second");
    std::fs::copy(dir.path().join("second.crt"), &cert).unwrap();
    std::fs::copy(dir.path().join("second.key"), &key).unwrap();
    Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status()
        .unwrap();
    let second = client_trusting(&second_pem);
    eventually("the new certificate is served", || async {
        second
            .get(&url)
            .send()
            .await
            .is_ok_and(|r| r.status() == StatusCode::OK)
    })
    .await;
    assert!(client_trusting(&first_pem).get(&url).send().await.is_err());
    let _ = child.kill();
    let _ = child.wait();
}

/// Retention is a task on the service clock with `[retention]` as configured: a pass at start
/// and one a day after, each reported by `/readyz`. Old unanswered questions leave the review
/// list and newer ones stay, reminder jobs of appointments already past leave the outbox
/// (through the claim writer), and a booking's tool-call id is forgotten once it is older than
/// `tool_call_days`.
#[tokio::test]
async fn the_daily_retention_task_prunes_by_the_configured_days_on_the_service_clock() {
    let start = chrono::Utc::now();
    let clock = voxanne::clock::ManualClock::new(start);
    let app = spawn_app_with_clock(clock.clock(), |s| {
        s.retention.unanswered_days = 30;
        s.retention.tool_call_days = 30;
    })
    .await;
    // The pass of day `day`, once the task has made it.
    let pass = |day: i64| {
        let app = &app;
        async move {
            let at = start + chrono::Duration::days(day);
            let last = || async {
                let ready: Value = app.get("/readyz", None).await.json().await.unwrap();
                ready["retention"].clone()
            };
            eventually(&format!("the retention pass of day {day}"), || async {
                last().await["at"]
                    .as_str()
                    .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                    .is_some_and(|t| t == at)
            })
            .await;
            // The clock stands still, so no other pass follows until it is set again.
            let seen = last().await;
            let removed = |what: &str| seen[what].as_u64().unwrap();
            (
                removed("unanswered_removed"),
                removed("tool_calls_forgotten"),
                removed("reminders_dropped"),
            )
        }
    };
    assert_eq!(pass(0).await, (0, 0, 0));
    let c = app.bookable_clinic("Clinic").await;
    let org = &c.clinic.org_id;
    let ask = |call: &'static str, question: &'static str| {
        let (app, key) = (&app, &c.agent_key);
        async move {
            let asked = app
                .vapi_tool(
                    key,
                    call,
                    call,
                    "search_knowledge_base",
                    json!({ "query": question }),
                )
                .await;
            assert_eq!(asked["answered"], false, "{asked}");
        }
    };
    let unanswered = || async {
        app.get(
            &format!("/api/orgs/{org}/kb/unanswered"),
            Some(&c.clinic.token),
        )
        .await
        .json::<Value>()
        .await
        .unwrap()["unanswered"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| q["question_redacted"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let reminders = || async {
        let jobs: Value = app
            .get(&format!("/api/orgs/{org}/outbox"), Some(&c.clinic.token))
            .await
            .json()
            .await
            .unwrap();
        jobs["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|j| j["kind"] == "reminder")
            .count()
    };

    // Day 0: a question the clinic cannot answer, and two bookings by the voice agent, each
    // queueing its reminder; the second is cancelled, and its tool-call id is remembered so
    // that a late retry of the call finds it instead of booking again.
    ask("call-day-0", "do you validate parking tickets?").await;
    let mut booked = Vec::new();
    for (call, day, time) in [("call-a", 2, "2pm"), ("call-b", 3, "3pm")] {
        let b = app
            .vapi_tool(&c.agent_key, call, call, "book_appointment",
                json!({"appointment_date": date_in(day), "appointment_time": time, "provider_name": "Dr Smith",
                       "service": "rhinoplasty", "patient_name": "Jane Doe"}))
            .await;
        booked.push(b["appointment_id"].as_str().expect("booked").to_string());
    }
    let r = app
        .post(
            &format!("/api/orgs/{org}/appointments/{}/cancel", booked[1]),
            Some(&c.clinic.token),
            json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(unanswered().await.len(), 1);
    assert_eq!(reminders().await, 2);

    // Day 20: both appointments are past, so their reminders go; the question and the tool
    // call are younger than 30 days and stay.
    clock.set(start + chrono::Duration::days(20));
    assert_eq!(pass(20).await, (0, 0, 2));
    assert_eq!(reminders().await, 0);
    assert_eq!(unanswered().await.len(), 1);
    ask("call-day-20", "is there a cash machine nearby?").await;

    // Day 35: the day-0 question and tool call are older than 30 days and go; the day-20
    // question stays.
    clock.set(start + chrono::Duration::days(35));
    assert_eq!(pass(35).await, (1, 1, 0));
    let left = unanswered().await;
    assert_eq!(left.len(), 1);
    assert!(left[0].contains("cash machine"), "{left:?}");
}

/// The check's NO-GO names what is broken: an SMTP server that cannot be reached fails
/// `email`; a server whose org isolation is broken (a test-only fault) fails `isolation`.
#[tokio::test]
async fn voxanne_check_says_no_go_naming_email_or_isolation_when_they_are_broken() {
    for (fault, scenario) in [("smtp", "email"), ("isolation", "isolation")] {
        let app = std::sync::Arc::new(
            spawn_app_with(|s| {
                if fault == "smtp" {
                    s.smtp.enabled = true;
                    s.smtp.host = "127.0.0.1".into();
                    s.smtp.port = 1;
                    s.smtp.tls = "none".into();
                    s.smtp.from = "clinic@check.invalid".into();
                }
            })
            .await,
        );
        if fault == "isolation" {
            app.services.identity.inject_isolation_fault();
        }
        let dir = tempfile::TempDir::new().unwrap();
        let report_path = dir.path().join("report.json");
        let out = {
            let (app, report_path) = (app.clone(), report_path.clone());
            tokio::task::spawn_blocking(move || {
                check(&app, &report_path, GENEROUS_P95_MS, scenario)
            })
            .await
            .unwrap()
        };
        assert_eq!(
            out.status.code(),
            Some(1),
            "{fault}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: Value = serde_json::from_slice(&std::fs::read(&report_path).unwrap()).unwrap();
        let failed: Vec<&str> = report["steps"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["ok"] == false)
            .map(|s| s["scenario"].as_str().unwrap())
            .collect();
        assert!(
            !failed.is_empty() && failed.iter().all(|s| *s == scenario),
            "{fault}: {failed:?}"
        );
        assert!(report["reasons"]
            .to_string()
            .contains(&format!("{scenario}:")));
    }
}
