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
        (status = 200, description = "Ready: `status`, `storage`, `search`", body = Object),
        (status = 503, description = "Not ready: `status`, and `down` (parts that stopped), `storage` or `search`", body = Object),
    )
)]
async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let (status, Json(mut body)) = readiness(&state).await;
    // The last scheduled backup is reported, not a reason to stop taking calls.
    if let Some(backup) = state.health.last_backup() {
        body["backup"] = backup;
    }
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
