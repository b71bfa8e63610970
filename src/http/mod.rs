//! The HTTP edge: shared state, the router every route module is merged into, and the layers
//! around it (request ids, tracing without personal data, limits, timeouts, JSON errors).

pub(crate) mod audit;
pub mod booking;
pub(crate) mod calendar;
pub(crate) mod calls;
mod console;
pub mod error;
pub mod extract;
pub mod fhir;
pub(crate) mod followups;
pub(crate) mod identity;
pub(crate) mod kb;
pub mod openapi;
mod ops;
pub mod roles;
pub mod tls;
mod vapi;
pub(crate) mod waitlist;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::audit::AuditTrail;
use crate::booking::BookingService;
use crate::config::Settings;
use crate::identity::IdentityService;
use crate::store::Store;
use crate::vapi::VoiceAgent;

/// What every handler can reach: one shared `AppServices`, so the clone each request and
/// extractor takes is one reference count.
#[derive(Clone)]
pub struct AppState(Arc<AppServices>);

impl AppState {
    pub fn new(services: AppServices) -> AppState {
        AppState(Arc::new(services))
    }
}

impl std::ops::Deref for AppState {
    type Target = AppServices;

    fn deref(&self) -> &AppServices {
        &self.0
    }
}

/// The services behind the HTTP edge.
pub struct AppServices {
    pub identity: Arc<IdentityService>,
    pub audit: AuditTrail,
    pub booking: Arc<BookingService>,
    pub voice: Arc<VoiceAgent>,
    pub calls: Arc<crate::calls::CallService>,
    pub kb: Arc<crate::search::KnowledgeBase>,
    pub followups: Arc<crate::followup::FollowUpService>,
    pub waitlist: Arc<crate::waitlist::WaitlistService>,
    pub calendar: Arc<crate::calendar::CalendarService>,
    pub store: Store,
    pub settings: Arc<Settings>,
    pub health: Arc<crate::health::Health>,
    /// `server.trusted_proxies`, parsed (validated at start).
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

/// Every route, each registered once together with its entry in the OpenAPI document.
fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::frame())
        .merge(ops::router())
        .merge(identity::router())
        .merge(audit::router())
        .merge(booking::router())
        .merge(calendar::router())
        .merge(calls::router())
        .merge(kb::router())
        .merge(followups::router())
        .merge(waitlist::router())
        .merge(vapi::router())
        .merge(fhir::router())
        .routes(routes!(openapi::document))
}

/// The OpenAPI 3.1 document of every route `router` serves.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    openapi::finish(routes().split_for_parts().1)
}

/// The whole API with its layers; `Err` names a route that declares a role that does not
/// exist (a defect of the build, refused at start rather than locking the route).
pub fn router(state: AppState) -> Result<Router, String> {
    let (api, doc) = routes().split_for_parts();
    let doc = openapi::finish(doc);
    let roles = Arc::new(roles::RouteRoles::from_document(
        &serde_json::to_value(&doc).map_err(|e| e.to_string())?,
    )?);
    let rendered = openapi::render(&doc);
    let capabilities = fhir::Capabilities(Arc::new(fhir::capability_statement(
        &serde_json::from_str(&rendered).map_err(|e| e.to_string())?,
        &fhir::base_url(&state.settings.server.public_url),
        &chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    )?));
    let doc = openapi::RenderedDocument(rendered.into());
    let max_body = state.settings.server.max_body_bytes;
    let in_flight = Arc::new(tokio::sync::Semaphore::new(
        state.settings.server.max_in_flight,
    ));
    let timeout = Duration::from_millis(state.settings.server.request_timeout_ms);
    let idle = Duration::from_secs(state.settings.console.idle_minutes * 60);
    let state_public_url = state.settings.server.public_url.clone();
    let secure = state.settings.server.public_url.starts_with("https://")
        || !state.settings.server.tls_cert_file.as_os_str().is_empty();
    // Layers given to a `Router` wrap each route, and each `layer` call adds one more boxed
    // service that every request clones and whose future it allocates: so each group of
    // layers below is one `ServiceBuilder` stack, one `layer` call. A stack lists its layers
    // outermost first (the reverse of successive `layer` calls).
    let api: Router = api
        .fallback(|| async { error::ApiError::NotFound })
        .with_state(state)
        .layer(
            ServiceBuilder::new()
                .layer(DefaultBodyLimit::max(max_body))
                .layer(axum::Extension(roles))
                .layer(axum::Extension(capabilities))
                .layer(axum::Extension(doc)),
        );
    // The staff console's pages read and change data through the API router itself.
    let pages = console::router(
        console::Api::new(api.clone()),
        idle,
        secure,
        &state_public_url,
    );
    Ok(api.merge(pages).layer(
        ServiceBuilder::new()
            .layer(middleware::from_fn(screen_headers))
            .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
            .layer(PropagateRequestIdLayer::x_request_id())
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(|req: &Request<Body>| {
                        // Method, route template and request id only: never the raw path or
                        // query, which can carry phone numbers.
                        let route = req
                            .extensions()
                            .get::<MatchedPath>()
                            .map(|m| m.as_str().to_string())
                            .unwrap_or_else(|| "unmatched".into());
                        let request_id = req
                            .headers()
                            .get("x-request-id")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("");
                        tracing::info_span!("request", method = %req.method(), route, request_id)
                    })
                    .on_response(DefaultOnResponse::new().level(Level::INFO)),
            )
            .layer(middleware::from_fn(move |req: Request, next: Next| {
                admit_and_finish(in_flight.clone(), req, next)
            }))
            .layer(CatchPanicLayer::custom(|_| {
                tracing::error!("request handler panicked");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }))
            .layer(TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                timeout,
            )),
    ))
}

/// Most header bytes (names and values) a request may carry; the HTTP server itself bounds
/// what it reads, this bounds what reaches the handlers.
const MAX_HEADER_BYTES: usize = 16 * 1024;

/// The first thing a request meets (one layer, one boxed future): more than
/// `MAX_HEADER_BYTES` of headers is answered 431 before anything reads them, and a client's
/// `x-request-id` is kept only when it is a short run of letters, digits, `.`, `_` and `-`
/// (what a proxy or Vapi sends); anything else (personal data, log-injection text, kilobytes,
/// several values) is dropped, so a fresh id is made for the request.
async fn screen_headers(mut req: Request, next: Next) -> Response {
    let size: usize = req
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if size > MAX_HEADER_BYTES {
        return finish(
            error::ErrorBody::new("headers_too_large", "the request's headers are too large")
                .into_response(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE),
        );
    }
    let safe = |v: &[u8]| {
        (1..=64).contains(&v.len())
            && v.iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    };
    let mut ids = req.headers().get_all("x-request-id").iter();
    let keep = match (ids.next(), ids.next()) {
        (Some(id), None) => safe(id.as_bytes()),
        (None, _) => true,
        _ => false,
    };
    if !keep {
        req.headers_mut().remove("x-request-id");
    }
    next.run(req).await
}

/// Around the handlers (one layer, one boxed future): at most `server.max_in_flight` requests
/// are served at once, and one more is answered 503 with `Retry-After` at once, so a burst
/// costs the callers beyond the limit a retry instead of making every caller wait in an
/// unbounded queue. A handler's answer has its errors put in the one JSON shape
/// (`json_error`); every answer leaves through `finish`.
async fn admit_and_finish(
    in_flight: Arc<tokio::sync::Semaphore>,
    req: Request,
    next: Next,
) -> Response {
    let request_id = req.headers().get("x-request-id").cloned();
    let fhir = req.uri().path().starts_with(fhir::FHIR_PREFIX);
    match in_flight.try_acquire_owned() {
        Ok(_permit) => {
            let started = std::time::Instant::now();
            let route = req
                .extensions()
                .get::<MatchedPath>()
                .map(|m| m.as_str().to_string())
                .unwrap_or_else(|| "unmatched".into());
            // Methods a client invents would each make a new series: they count as `other`.
            let method = match *req.method() {
                axum::http::Method::GET => "GET",
                axum::http::Method::POST => "POST",
                axum::http::Method::PUT => "PUT",
                axum::http::Method::PATCH => "PATCH",
                axum::http::Method::DELETE => "DELETE",
                axum::http::Method::HEAD => "HEAD",
                axum::http::Method::OPTIONS => "OPTIONS",
                _ => "other",
            }
            .to_string();
            let mut response = next.run(req).await;
            let elapsed = started.elapsed();
            // How long the voice agent's answer took, for Vapi's call logs and proxies.
            if route.starts_with("/api/vapi") {
                if let Ok(v) = header::HeaderValue::from_str(&format!(
                    "app;dur={:.2}",
                    elapsed.as_secs_f64() * 1000.0
                )) {
                    response.headers_mut().insert("server-timing", v);
                }
            }
            crate::metrics::time(
                crate::metrics::HTTP_REQUEST,
                &[
                    ("method", method),
                    ("route", route),
                    ("status", response.status().as_u16().to_string()),
                ],
                elapsed,
            );
            finish(json_error(response, request_id.as_ref(), fhir))
        }
        Err(_) => {
            let mut r = if fhir {
                fhir::FhirError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "transient",
                    "the server is busy; try again in a second",
                )
                .into_response()
            } else {
                error::ErrorBody::new("overloaded", "the server is busy; try again in a second")
                    .into_response(StatusCode::SERVICE_UNAVAILABLE)
            };
            r.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
            finish(r)
        }
    }
}

/// Every answer: no MIME sniffing, no referrer; pages (HTML) also a policy that runs no
/// script at all and cannot be framed.
fn finish(mut response: Response) -> Response {
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    let h = response.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        header::HeaderValue::from_static("nosniff"),
    );
    if !h.contains_key(header::REFERRER_POLICY) {
        h.insert(
            header::REFERRER_POLICY,
            header::HeaderValue::from_static("no-referrer"),
        );
    }
    // A page that set its own policy (the console's) keeps it.
    if html && !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            header::HeaderValue::from_static(
                "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
            ),
        );
        h.insert(
            header::X_FRAME_OPTIONS,
            header::HeaderValue::from_static("DENY"),
        );
    }
    response
}

/// Any error answer that is not already our JSON shape (axum rejections, 405, timeouts,
/// panics) is rewritten into it — on the FHIR routes into an `OperationOutcome` — and 5xx
/// bodies are always the generic one.
fn json_error(
    response: Response,
    request_id: Option<&header::HeaderValue>,
    fhir: bool,
) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    if fhir {
        let outcome = response
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(fhir::FHIR_JSON.as_bytes()));
        if outcome && !status.is_server_error() {
            return response;
        }
        let mut rewritten = fhir::outcome_for_status(status).into_response();
        for name in [
            header::RETRY_AFTER,
            header::ALLOW,
            header::HeaderName::from_static("x-request-id"),
        ] {
            if let Some(v) = response.headers().get(&name) {
                rewritten.headers_mut().insert(name, v.clone());
            }
        }
        return rewritten;
    }
    // Pages we render ourselves (JSON, HTML) stay; bare or plain-text errors from the
    // framework are rewritten.
    let ours = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| {
            v.as_bytes().starts_with(b"application/json") || v.as_bytes().starts_with(b"text/html")
        });
    if ours && !status.is_server_error() {
        return response;
    }
    let (code, message) = error::error_body(status);
    let mut body = error::ErrorBody::new(code, message);
    // A server error names the request id, so a clinic can quote it and we can find the log.
    if status.is_server_error() {
        body.request_id = request_id.and_then(|v| v.to_str().ok()).map(str::to_string);
    }
    let mut rewritten = body.into_response(status);
    for name in [header::RETRY_AFTER, header::ALLOW] {
        if let Some(v) = response.headers().get(&name) {
            rewritten.headers_mut().insert(name, v.clone());
        }
    }
    if let Some(v) = response.headers().get("x-request-id") {
        rewritten.headers_mut().insert("x-request-id", v.clone());
    }
    rewritten
}
