//! Liveness and readiness probes.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics))
}

/// Prometheus metrics (text format), to clients in `server.metrics_from` only (others get
/// 404): request latency per route template, tool-call latency per tool, booking outcomes,
/// claim batch sizes and commit times, outbox depth, age and deliveries per service, search
/// and personal-data scan times, parts up, the last backup.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain", body = String))
)]
async fn metrics(
    State(state): State<AppState>,
    super::extract::ClientAddr(client): super::extract::ClientAddr,
) -> Result<axum::response::Response, super::error::ApiError> {
    use axum::response::IntoResponse;
    let allowed = state
        .settings
        .server
        .metrics_networks()
        .unwrap_or_default()
        .iter()
        .any(|n| n.contains(&client));
    if !allowed {
        return Err(super::error::ApiError::NotFound);
    }
    scrape_time_state(&state).await;
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        crate::metrics::handle().render(),
    )
        .into_response())
}

/// The state read when metrics are scraped: the writer's totals, the outbox per service, the
/// parts, the last backup.
async fn scrape_time_state(state: &AppState) {
    use crate::outbox::OUTBOX;
    use crate::outbox::{due_bound, OutboxJob, Service};
    let w = state.booking.writer().stats();
    metrics::counter!("voxanne_claim_batches_total").absolute(w.batches);
    metrics::counter!("voxanne_claims_total").absolute(w.changes);
    metrics::counter!("voxanne_writer_panics_total").absolute(w.panics);
    metrics::gauge!("voxanne_claim_writer_up").set(if state.booking.writer().is_running() {
        1.0
    } else {
        0.0
    });
    for (part, s) in state.health.states() {
        metrics::gauge!("voxanne_part_up", "part" => part).set(if s.down { 0.0 } else { 1.0 });
        metrics::counter!("voxanne_part_restarts_total", "part" => part).absolute(s.restarts);
    }
    // At most this many queued jobs are counted per service at a scrape.
    const COUNT_CAP: usize = 100_000;
    let now = chrono::Utc::now();
    let depths = state
        .store
        .read(move |r| {
            let mut out = Vec::new();
            for s in Service::ALL {
                let jobs: Vec<(Vec<u8>, OutboxJob)> = r.global_range(
                    &OUTBOX,
                    &due_bound(s, chrono::DateTime::<chrono::Utc>::MIN_UTC),
                    &due_bound(s, chrono::DateTime::<chrono::Utc>::MAX_UTC),
                    COUNT_CAP,
                )?;
                let oldest_due = jobs
                    .iter()
                    .filter(|(_, j)| j.next_attempt_at <= now)
                    .map(|(_, j)| (now - j.created_at).num_seconds().max(0))
                    .max()
                    .unwrap_or(0);
                let retrying = jobs.iter().filter(|(_, j)| j.attempts > 0).count();
                out.push((s.name(), jobs.len(), oldest_due, retrying));
            }
            Ok::<_, crate::store::StoreError>(out)
        })
        .await
        .unwrap_or_default();
    for (service, depth, age, retrying) in depths {
        metrics::gauge!("voxanne_outbox_depth", "service" => service).set(depth as f64);
        metrics::gauge!("voxanne_outbox_oldest_due_age_seconds", "service" => service)
            .set(age as f64);
        metrics::gauge!("voxanne_outbox_retrying", "service" => service).set(retrying as f64);
    }
    if let Some(b) = state.health.last_backup() {
        metrics::gauge!("voxanne_backup_last_ok").set(if b["ok"] == true { 1.0 } else { 0.0 });
        if let Some(at) = b["at"]
            .as_str()
            .and_then(|t| t.parse::<chrono::DateTime<chrono::Utc>>().ok())
        {
            metrics::gauge!("voxanne_backup_age_seconds")
                .set((chrono::Utc::now() - at).num_seconds().max(0) as f64);
        }
    }
}

/// The process answers.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct Liveness {
    /// Always `ok`.
    status: &'static str,
}

/// Liveness: the process is up and serving HTTP.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = Liveness)))]
async fn healthz() -> Json<Liveness> {
    Json(Liveness { status: "ok" })
}

/// Readiness: storage answers, the search indexes are open and no supervised part is down.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses(
        (status = 200, description = "Ready: `status`, `storage`, `search`, `deliveries` (email, sms, google_calendar: on or off), `backup` (the last scheduled one and `next_at`), `retention` (the last pass: `at` and what it removed)", body = Object),
        (status = 503, description = "Not ready: `status`, and `down` (parts that stopped), `storage` or `search`", body = Object),
    )
)]
async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let (status, Json(mut body)) = readiness(&state).await;
    // The last scheduled backup is reported, not a reason to stop taking calls.
    if let Some(backup) = state.health.last_backup() {
        body["backup"] = backup;
    }
    if let Some(retention) = state.health.last_retention() {
        body["retention"] = retention;
    }
    // Which deliveries this install makes (switched off, their jobs wait in the outbox).
    let s = &state.settings;
    body["deliveries"] = json!({
        "email": s.smtp.enabled,
        "sms": s.twilio.enabled,
        "google_calendar": s.google_calendar.enabled,
    });
    (status, Json(body))
}

async fn readiness(state: &AppState) -> (StatusCode, Json<Value>) {
    let mut search = if state.kb.semantic() {
        json!({"mode": "hybrid", "fulltext": "ok", "semantic": "ok"})
    } else {
        json!({"mode": "fulltext", "fulltext": "ok", "semantic": "unavailable: no embedding model is installed, answers come from full-text search only"})
    };
    let opening = state.kb.indexes_still_to_open();
    search["indexes"] = if opening == 0 {
        json!("open")
    } else {
        json!(format!("opening: {opening} clinic(s) to go"))
    };
    // Parts that stopped and are being restarted, and a claim writer that is not taking
    // changes, make the appliance not ready, by name.
    let mut down: Vec<&str> = state.health.down_parts();
    if !state.booking.writer().is_running() {
        down.push("booking_writer");
    }
    if !down.is_empty() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "not_ready", "down": down, "search": search})),
        );
    }
    match state.store.check().await {
        Ok(_) if opening > 0 => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({
                "status": "not_ready",
                "storage": "ok",
                "search": search,
            })),
        ),
        Ok(_) => (
            StatusCode::OK,
            Json(json!({
                "status": "ready",
                "storage": "ok",
                "search": search,
            })),
        ),
        _ => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "not_ready", "storage": "unavailable"})),
        ),
    }
}
