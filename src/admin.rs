//! The operator's door into a running appliance: a Unix socket in the data dir (mode 0600,
//! so only the install's own user reaches it) taking one JSON request a line and answering
//! one JSON line. The command-line tools use it when a server holds the database, and open
//! the file themselves when none does.
//!
//! Requests: `{"command": "ping"}`, `{"command": "backup", "out": "/path/file.redb"}`,
//! `{"command": "org_create", "name": …, "email": …, "timezone"?: …}`,
//! `{"command": "org_delete", "org": …}`, `{"command": "audit_verify", "org"?: …}`,
//! `{"command": "keys_rotate" | "keys_shred", "org": …}`,
//! `{"command": "kb_put", "org": …, "title": …, "body": …, "source"?: …}`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

use crate::services::Services;

/// The socket's file name in the data dir.
pub const SOCKET: &str = "admin.sock";

/// Most bytes a request line may have (a knowledge-base document travels in one).
const MAX_REQUEST: usize = 4 * 1024 * 1024;

pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join(SOCKET)
}

/// Binds the socket (replacing a stale one) with mode 0600.
pub fn bind(data_dir: &Path) -> std::io::Result<UnixListener> {
    use std::os::unix::fs::PermissionsExt;
    let path = socket_path(data_dir);
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// Serves requests until `shutdown` resolves; the socket file is removed at the end.
pub async fn serve(
    listener: UnixListener,
    services: Arc<Services>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let services = services.clone();
                tokio::spawn(async move { answer(stream, &services).await });
            }
        }
    }
    let _ = std::fs::remove_file(socket_path(&services.settings.storage.data_dir));
}

async fn answer(stream: UnixStream, services: &Services) {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    let mut reader = BufReader::new(read.take(MAX_REQUEST as u64));
    let reply = match reader.read_line(&mut line).await {
        Ok(_) => match serde_json::from_str::<Value>(&line) {
            Ok(request) => handle(&request, services).await,
            Err(_) => json!({"ok": false, "error": "the request is not one line of JSON"}),
        },
        Err(_) => json!({"ok": false, "error": "the request could not be read"}),
    };
    let mut out = reply.to_string();
    out.push('\n');
    let _ = write.write_all(out.as_bytes()).await;
}

/// Carries out one request with `services`: the server's own when it comes through the
/// socket, or a command-line tool's when no server holds the database (the same code).
pub async fn handle(request: &Value, services: &Services) -> Value {
    let text = |k: &str| request.get(k).and_then(Value::as_str).map(str::to_string);
    match request.get("command").and_then(Value::as_str) {
        Some("ping") => json!({"ok": true}),
        Some("backup") => {
            let Some(out) = text("out") else {
                return json!({"ok": false, "error": "backup needs \"out\": the file to write"});
            };
            let store = services.store.clone();
            let now = (services.clock)();
            match tokio::task::spawn_blocking(move || {
                crate::backup::take(&store, Path::new(&out), now)
            })
            .await
            {
                Ok(Ok(manifest)) => json!({"ok": true, "manifest": manifest}),
                Ok(Err(e)) => json!({"ok": false, "error": e.to_string()}),
                Err(_) => json!({"ok": false, "error": "the backup task stopped"}),
            }
        }
        Some("org_create") => {
            let (Some(name), Some(email)) = (text("name"), text("email")) else {
                return json!({"ok": false, "error": "org_create needs \"name\" and \"email\""});
            };
            let password = crate::identity::one_time_password();
            let input = match crate::identity::SignupInput::parse(
                &name,
                &email,
                &password,
                text("timezone").as_deref(),
                text("full_name").as_deref(),
            ) {
                Ok(i) => i,
                Err(e) => return json!({"ok": false, "error": e.to_string()}),
            };
            match services.identity.signup(input).await {
                Ok(s) => {
                    json!({"ok": true, "org_id": s.org_id, "user_id": s.user_id, "password": password})
                }
                Err(e) => json!({"ok": false, "error": e.to_string()}),
            }
        }
        Some("audit_verify") => {
            let orgs = match text("org") {
                Some(raw) => match raw.parse::<crate::domain::OrgId>() {
                    Ok(o) => vec![o],
                    Err(_) => return json!({"ok": false, "error": "\"org\" is not an org id"}),
                },
                None => match services.identity.org_ids().await {
                    Ok(all) => all,
                    Err(e) => return json!({"ok": false, "error": e.to_string()}),
                },
            };
            let mut results = Vec::new();
            for org in orgs {
                match services.audit.verify(org).await {
                    Ok(v) => {
                        let mut line = serde_json::to_value(&v).unwrap_or_default();
                        line["org_id"] = json!(org);
                        results.push(line);
                    }
                    Err(e) => return json!({"ok": false, "error": e.to_string()}),
                }
            }
            json!({"ok": true, "results": results})
        }
        Some(command @ ("keys_rotate" | "keys_shred")) => {
            let Some(org) = text("org").and_then(|o| o.parse::<crate::domain::OrgId>().ok()) else {
                return json!({"ok": false, "error": "needs \"org\": an org id"});
            };
            let done = if command == "keys_shred" {
                services
                    .calls
                    .shred(org)
                    .await
                    .map(|n| json!({"ok": true, "keys_destroyed": n}))
            } else {
                services
                    .rotate_keys(org)
                    .await
                    .map(|n| json!({"ok": true, "re_encrypted": n}))
            };
            done.unwrap_or_else(|e| json!({"ok": false, "error": e.to_string()}))
        }
        Some("kb_put") => {
            let Some(org) = text("org").and_then(|o| o.parse::<crate::domain::OrgId>().ok()) else {
                return json!({"ok": false, "error": "kb_put needs \"org\": an org id"});
            };
            let (Some(title), Some(body)) = (text("title"), text("body")) else {
                return json!({"ok": false, "error": "kb_put needs \"title\" and \"body\""});
            };
            let caller = crate::auth::Caller {
                org,
                principal: crate::auth::Principal::System,
                role: crate::domain::Role::Admin,
            };
            match services
                .kb
                .put_document(caller, None, &title, &body, Vec::new(), text("source"))
                .await
            {
                Ok(d) => json!({"ok": true, "id": d.id, "chunks": d.chunks}),
                Err(e) => json!({"ok": false, "error": e.to_string()}),
            }
        }
        Some("org_delete") => {
            let Some(org) = text("org").and_then(|o| o.parse::<crate::domain::OrgId>().ok()) else {
                return json!({"ok": false, "error": "org_delete needs \"org\": an org id"});
            };
            match services.delete_org(org).await {
                Ok((keys, records)) => {
                    json!({"ok": true, "keys_destroyed": keys, "records_removed": records})
                }
                Err(e) => json!({"ok": false, "error": e}),
            }
        }
        _ => json!({"ok": false, "error": "unknown command"}),
    }
}

/// Longest a request may wait for the server's answer (a backup of a large database takes
/// a while; a server that never answers must not hang the operator's command).
const ANSWER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3600);

/// Sends one request to the server on `data_dir`; `None` when no server answers there.
pub async fn request(data_dir: &Path, body: &Value) -> Option<Result<Value, String>> {
    let stream = UnixStream::connect(socket_path(data_dir)).await.ok()?;
    let timeout = if body["command"] == "ping" {
        std::time::Duration::from_secs(10)
    } else {
        ANSWER_TIMEOUT
    };
    match tokio::time::timeout(timeout, exchange(stream, body)).await {
        Ok(answer) => Some(answer),
        Err(_) => Some(Err("the server did not answer on its admin socket".into())),
    }
}

async fn exchange(stream: UnixStream, body: &Value) -> Result<Value, String> {
    let (read, mut write) = stream.into_split();
    let mut line = body.to_string();
    line.push('\n');
    if write.write_all(line.as_bytes()).await.is_err() {
        return Err("the server closed the admin socket".into());
    }
    let mut answer = String::new();
    if BufReader::new(read).read_line(&mut answer).await.is_err() {
        return Err("the server closed the admin socket".into());
    }
    serde_json::from_str(&answer).map_err(|_| "the server's answer could not be read".into())
}
