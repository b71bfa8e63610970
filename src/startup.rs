//! The one start-up seam: builds every service from settings, binds the listener (port 0
//! works) and serves until a shutdown future resolves. Tests and `main` use the same path.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::config::Settings;
use crate::delivery::OutboxWorker;
use crate::http::{self, AppServices, AppState};
pub use crate::services::{Services, StartupError};

/// A built appliance with its listener bound.
pub struct Application {
    listener: TcpListener,
    /// The certificate when HTTPS is served directly (`server.tls_cert_file`).
    tls: Option<crate::http::tls::Certificate>,
    /// The operator's socket, bound with the listener (none if it could not be).
    admin: Option<tokio::net::UnixListener>,
    services: Services,
    local_addr: SocketAddr,
}

impl Application {
    pub async fn build(settings: Settings) -> Result<Application, StartupError> {
        Self::build_with_clock(settings, crate::clock::system()).await
    }

    /// As `build`, with the clock every service reads.
    pub async fn build_with_clock(
        settings: Settings,
        clock: crate::clock::Clock,
    ) -> Result<Application, StartupError> {
        let services =
            tokio::task::spawn_blocking(move || Services::open_with_clock(&settings, clock))
                .await
                .map_err(|_| StartupError::Identity("start-up task failed".into()))??;
        Self::with_services(services).await
    }

    pub async fn with_services(services: Services) -> Result<Application, StartupError> {
        let addr = services.settings.listen_addr();
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartupError::Bind { addr, source })?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| StartupError::Bind { addr, source })?;
        let server = &services.settings.server;
        let tls = if server.tls_cert_file.as_os_str().is_empty() {
            None
        } else {
            Some(
                crate::http::tls::Certificate::open(&server.tls_cert_file, &server.tls_key_file)
                    .map_err(StartupError::Tls)?,
            )
        };
        let admin = match crate::admin::bind(&services.settings.storage.data_dir) {
            Ok(listener) => Some(listener),
            Err(e) => {
                tracing::warn!(error = %e, "the admin socket could not be opened; offline commands need the server stopped");
                None
            }
        };
        Ok(Application {
            listener,
            tls,
            admin,
            services,
            local_addr,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub fn port(&self) -> u16 {
        self.local_addr.port()
    }

    pub fn services(&self) -> &Services {
        &self.services
    }

    /// Serves until `shutdown` resolves, then finishes the requests in flight and returns.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartupError> {
        let s = self.services;
        // The routes first: one that declares a role that does not exist stops the start.
        let app = http::router(AppState::new(AppServices {
            identity: s.identity.clone(),
            audit: s.audit.clone(),
            booking: s.booking.clone(),
            voice: s.voice.clone(),
            calls: s.calls.clone(),
            kb: s.kb.clone(),
            followups: s.followups.clone(),
            waitlist: s.waitlist.clone(),
            calendar: s.calendar.clone(),
            store: s.store.clone(),
            trusted_proxies: s.settings.server.proxy_networks().unwrap_or_default(),
            settings: s.settings.clone(),
            health: s.health.clone(),
        }))
        .map_err(StartupError::Routes)?;
        let (stop_worker, worker_stopped) = tokio::sync::watch::channel(false);
        // The operator's socket, and scheduled backups, stop with the outbox worker.
        let admin = self.admin.map(|listener| {
            let mut stopped = worker_stopped.clone();
            tokio::spawn(crate::admin::serve(
                listener,
                Arc::new(s.clone()),
                async move {
                    let _ = stopped.wait_for(|stop| *stop).await;
                },
            ))
        });
        let retention = {
            let mut stopped = worker_stopped.clone();
            tokio::spawn(retention(s.clone(), async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            }))
        };
        let scheduled = (!s.settings.backup.dir.as_os_str().is_empty()).then(|| {
            let mut stopped = worker_stopped.clone();
            tokio::spawn(scheduled_backups(s.clone(), async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            }))
        });
        // The outbox worker is restarted if it ever panics; `/readyz` names it while it is down.
        let worker = tokio::spawn(crate::health::supervise(
            s.health.clone(),
            "outbox_worker",
            std::time::Duration::from_secs(1),
            {
                let (store, settings, wake, clock, google, vault, waitlist) = (
                    s.store.clone(),
                    s.settings.clone(),
                    s.outbox_wake.clone(),
                    s.clock.clone(),
                    s.google.clone(),
                    s.vault.clone(),
                    s.waitlist.clone(),
                );
                let ledger: Arc<dyn crate::outbox::DeliveryLedger> =
                    Arc::new(s.booking.writer().clone());
                move || {
                    let worker = OutboxWorker::new(
                        store.clone(),
                        settings.clone(),
                        wake.clone(),
                        ledger.clone(),
                        clock.clone(),
                        google.clone(),
                        vault.clone(),
                    )
                    .with_waitlist(waitlist.clone());
                    let mut stopped = worker_stopped.clone();
                    worker.run(async move {
                        let _ = stopped.wait_for(|stop| *stop).await;
                    })
                }
            },
        ));
        let booking = s.booking.clone();
        let kb = s.kb.clone();
        // Load (or rebuild) every clinic's knowledge-base indexes now, not on a caller's time.
        let to_open = kb.clinics_to_open().await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "knowledge-base indexes will open on first use");
            Vec::new()
        });
        // Supervised like the outbox worker: a panic while opening marks the part down in
        // `/readyz`, and the opening starts again (clinics already open come from the cache).
        let opening = tokio::spawn(crate::health::supervise(
            s.health.clone(),
            "kb_index_opener",
            std::time::Duration::from_secs(1),
            {
                let kb = kb.clone();
                let first = std::sync::Arc::new(std::sync::Mutex::new(Some(to_open)));
                move || {
                    let (kb, first) = (kb.clone(), first.clone());
                    async move {
                        let listed = first.lock().unwrap_or_else(|p| p.into_inner()).take();
                        let orgs = match listed {
                            Some(orgs) => orgs,
                            None => kb.clinics_to_open().await.unwrap_or_default(),
                        };
                        kb.open_all(&orgs).await
                    }
                }
            },
        ));
        // Under systemd: ready now; the watchdog is fed while the claim writer runs.
        crate::systemd::notify("READY=1");
        let watchdog = crate::systemd::watchdog_interval().map(|every| {
            let booking = booking.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(every).await;
                    if booking.writer().is_running() {
                        crate::systemd::notify("WATCHDOG=1");
                    }
                }
            })
        });
        // Histogram samples are folded into their buckets on a schedule, not only when
        // `/metrics` is read: an appliance nobody scrapes keeps no growing list of samples.
        let metrics_upkeep = tokio::spawn(async move {
            let mut every = tokio::time::interval(crate::metrics::UPKEEP_EVERY);
            loop {
                every.tick().await;
                crate::metrics::upkeep();
            }
        });
        let served = match self.tls {
            Some(certificate) => {
                certificate.reload_on_hangup();
                let listener = crate::http::tls::TlsListener::new(self.listener, &certificate)
                    .map_err(StartupError::Serve)?;
                serve_on(listener, app, shutdown).await
            }
            None => serve_on(self.listener, app, shutdown).await,
        };
        crate::systemd::notify("STOPPING=1");
        if let Some(w) = watchdog {
            w.abort();
        }
        metrics_upkeep.abort();
        let _ = stop_worker.send(true);
        let _ = worker.await;
        for task in [admin, scheduled, Some(retention)].into_iter().flatten() {
            let _ = task.await;
        }
        booking.shutdown().await;
        // Opening cannot be cut short (it runs on a blocking thread holding the database);
        // a stop waits for it, which is long only while a large graph is being rebuilt.
        let _ = opening.await;
        kb.shutdown().await;
        served
    }
}

/// Retention, at start and then once a day by the service clock: unanswered questions older
/// than `[retention] unanswered_days`, tool-call ids older than `tool_call_days`, and
/// reminder jobs whose appointment start has passed (they would send nothing; kept otherwise
/// while Twilio is off), go.
async fn retention(s: Services, shutdown: impl Future<Output = ()>) {
    tokio::pin!(shutdown);
    loop {
        let now = (s.clock)();
        let pass = prune_once(&s, now).await;
        s.health.record_retention(pass);
        tokio::select! {
            _ = &mut shutdown => break,
            _ = crate::clock::wait_until(&s.clock, now + chrono::Duration::days(1)) => {}
        }
    }
}

/// One retention pass as of `now`: what it removed, for `/readyz` (a step that failed is
/// logged and counted as nothing removed).
async fn prune_once(s: &Services, now: chrono::DateTime<chrono::Utc>) -> serde_json::Value {
    let count = |what: &str, outcome: Result<usize, String>| match outcome {
        Ok(n) => {
            if n > 0 {
                tracing::info!(removed = n, what, "retention");
            }
            n
        }
        Err(e) => {
            tracing::warn!(error = %e, what, "a retention step failed");
            0
        }
    };
    let days = s.settings.retention.unanswered_days;
    let unanswered = if days > 0 {
        let before = now - chrono::Duration::days(days.into());
        let outcome = s.kb.prune_unanswered(before).await;
        count("unanswered questions", outcome.map_err(|e| e.to_string()))
    } else {
        0
    };
    let tool_call_days = s.settings.retention.tool_call_days;
    let tool_calls = if tool_call_days > 0 {
        let before = now - chrono::Duration::days(tool_call_days.into());
        let outcome = s.booking.forget_old_tool_calls(before).await;
        count("tool-call ids", outcome.map_err(|e| e.to_string()))
    } else {
        0
    };
    let outcome = s.booking.drop_past_reminders(now).await;
    let reminders = count("past reminder jobs", outcome.map_err(|e| e.to_string()));
    serde_json::json!({
        "at": now,
        "unanswered_removed": unanswered,
        "tool_calls_forgotten": tool_calls,
        "reminders_dropped": reminders,
    })
}

/// Serves `app` on `listener` (plain or TLS) until `shutdown` resolves.
async fn serve_on<L>(
    listener: L,
    app: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartupError>
where
    L: axum::serve::Listener<Addr = SocketAddr>,
    crate::http::tls::PeerAddr:
        for<'a> axum::extract::connect_info::Connected<axum::serve::IncomingStream<'a, L>>,
{
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<crate::http::tls::PeerAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
    .map_err(StartupError::Serve)
}

/// Takes a backup into `[backup] dir` at start and every `every_hours` by the service clock,
/// keeping the newest `keep`; the last outcome is shown by `/readyz`.
async fn scheduled_backups(s: Services, shutdown: impl Future<Output = ()>) {
    let every = chrono::Duration::hours(s.settings.backup.every_hours.max(1) as i64);
    tokio::pin!(shutdown);
    // A restart (or a crash loop) takes no backup while the newest is recent enough, so
    // restarts never rotate the good backups out.
    // (A newest backup named in the future, after the clock was set back, waits one
    // interval from now, not from that name.)
    let started = (s.clock)();
    let mut due = crate::backup::newest_scheduled(&s.settings.backup.dir)
        .map(|newest| (newest + every).min(started + every))
        .unwrap_or(started);
    loop {
        s.health.backup_due(due);
        tokio::select! {
            _ = &mut shutdown => break,
            _ = crate::clock::wait_until(&s.clock, due) => {}
        }
        let (store, dir, keep) = (
            s.store.clone(),
            s.settings.backup.dir.clone(),
            s.settings.backup.keep,
        );
        let now = (s.clock)();
        let taken = tokio::task::spawn_blocking(move || {
            let out = dir.join(crate::backup::scheduled_name(now));
            let manifest = crate::backup::take(&store, &out, now)?;
            crate::backup::prune(&dir, keep)?;
            Ok::<_, crate::backup::BackupError>(manifest)
        })
        .await;
        let outcome = match taken {
            Ok(Ok(m)) => {
                serde_json::json!({"ok": true, "at": m.taken_at, "file": m.file, "bytes": m.bytes})
            }
            Ok(Err(e)) => {
                tracing::error!(error = %e, "scheduled backup failed");
                serde_json::json!({"ok": false, "at": now, "error": e.to_string()})
            }
            Err(_) => {
                serde_json::json!({"ok": false, "at": now, "error": "the backup task stopped"})
            }
        };
        s.health.record_backup(outcome);
        due = now + every;
    }
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown requested; finishing requests in flight");
}
