//! The staff console: server-rendered pages under `/console/` for reception, clinicians and
//! the clinic's admin, one module per area (sign-in, diary, booking, calls, leads, knowledge
//! base, settings, audit, calendar), behind a session cookie. This module holds what they
//! share: the routes, the signed-in request extractors and the origin check. Pages read and
//! change data only through the JSON API (`api::Api`), so the roles, org isolation,
//! validation and audit trail are the API's own.

mod api;
mod audit;
mod booking;
mod calendar;
mod calls;
mod diary;
mod directory;
mod kb;
mod leads;
mod session;
mod settings;
mod sign_in;
mod views;
mod waitlist;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::{Datelike, NaiveDate, TimeZone};
use maud::html;
use serde_json::{json, Value};

pub use api::Api;
use api::Browser;
use directory::{day_start, query_encode, today_in, Directory};
use session::{Session, Sessions};
use views::{button_form, csrf_field, field, page, select, status_badge, Notice, Viewer};

use crate::domain::Role;
use crate::http::tls::PeerAddr;

const STYLESHEET: &str = include_str!("console.css");

/// What the console's pages share.
pub struct Console {
    api: Api,
    sessions: Sessions,
    /// Cookies carry `Secure` (the appliance is reached over HTTPS).
    secure: bool,
    /// `server.public_url`'s host: forms from there are ours.
    public_host: Option<String>,
    /// The clinic's FHIR base URL, shown on the settings page.
    fhir_base: String,
    /// One-shot messages for the next page a session sees.
    notices: std::sync::Mutex<HashMap<String, Notice>>,
}

type Shared = State<Arc<Console>>;
type Params = Query<HashMap<String, String>>;
type Peer = ConnectInfo<PeerAddr>;
type Fields = Form<HashMap<String, String>>;

/// The console's routes, reading through `api` (the API router, in process).
pub fn router(api: Api, idle: Duration, secure: bool, public_url: &str) -> Router {
    let console = Arc::new(Console {
        api,
        sessions: Sessions::new(idle),
        secure,
        public_host: host_of(public_url).map(str::to_string),
        fhir_base: crate::http::fhir::base_url(public_url),
        notices: std::sync::Mutex::new(HashMap::new()),
    });
    Router::new()
        .route("/", get(|| async { Redirect::to("/console/") }))
        .route("/console", get(|| async { Redirect::to("/console/") }))
        .route("/console/assets/console.css", get(stylesheet))
        .route(
            "/console/login",
            get(sign_in::login_page).post(sign_in::login),
        )
        .route("/console/logout", post(sign_in::logout))
        .route("/console/", get(diary::diary))
        .route("/console/book", get(booking::book_page).post(booking::book))
        .route(
            "/console/appointments/{id}/reschedule",
            get(diary::reschedule_page).post(diary::reschedule),
        )
        .route(
            "/console/appointments/{id}/{action}",
            post(diary::appointment_action),
        )
        .route("/console/calls", get(calls::calls))
        .route("/console/calls/{call_id}", get(calls::call))
        .route("/console/notes/{id}", get(calls::note))
        .route("/console/leads", get(leads::leads))
        .route("/console/leads/{id}", post(leads::lead_status))
        .route(
            "/console/waitlist",
            get(waitlist::waitlist).post(waitlist::waitlist_add),
        )
        .route(
            "/console/waitlist/{id}/remove",
            post(waitlist::waitlist_remove),
        )
        .route("/console/kb", get(kb::kb).post(kb::kb_add))
        .route("/console/kb/{id}", get(kb::kb_edit).post(kb::kb_save))
        .route("/console/kb/{id}/delete", post(kb::kb_delete))
        .route(
            "/console/settings",
            get(settings::settings).post(settings::settings_save),
        )
        .route("/console/settings/services", post(settings::service_add))
        .route("/console/settings/providers", post(settings::provider_add))
        .route(
            "/console/settings/providers/{id}/time-off",
            post(settings::time_off_add),
        )
        .route(
            "/console/settings/providers/{id}/hours",
            post(settings::hours_save),
        )
        .route(
            "/console/settings/agent-keys",
            post(settings::agent_key_add),
        )
        .route(
            "/console/settings/agent-keys/{id}/revoke",
            post(settings::agent_key_revoke),
        )
        .route("/console/settings/users", post(settings::user_add))
        .route(
            "/console/settings/users/{id}/delete",
            post(settings::user_delete),
        )
        .route("/console/audit", get(audit::audit))
        .merge(calendar::routes())
        .with_state(console)
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
        .into_response()
}

/// A signed-in user's request: their session, who they are, and the API in their name.
pub(super) struct Signed {
    console: Arc<Console>,
    session: Session,
    browser: Browser,
    clinic: String,
    timezone: chrono_tz::Tz,
}

impl Signed {
    /// The session the request's cookie names, or the way to the sign-in page.
    async fn from(
        console: &Arc<Console>,
        headers: &HeaderMap,
        peer: PeerAddr,
    ) -> Result<Signed, Response> {
        let browser = Browser::new(peer, headers);
        let Some(session) = console.sessions.find(headers) else {
            return Err(Redirect::to("/console/login").into_response());
        };
        let me = console
            .api
            .call(Method::GET, "/api/me", Some(&session.token), None, &browser)
            .await;
        if me.status == StatusCode::UNAUTHORIZED {
            console.sessions.end(&session.id);
            return Err(Redirect::to("/console/login").into_response());
        }
        let me = me.read::<crate::http::identity::MeView>();
        let clinic = me.as_ref().map(|m| m.org.name.clone()).unwrap_or_default();
        let timezone = me
            .and_then(|m| m.org.timezone.parse().ok())
            .unwrap_or(chrono_tz::UTC);
        Ok(Signed {
            console: console.clone(),
            session,
            browser,
            clinic,
            timezone,
        })
    }

    /// `Signed::from` for a form: the CSRF field must match the session's token.
    async fn posting(
        console: &Arc<Console>,
        headers: &HeaderMap,
        peer: PeerAddr,
        form: &HashMap<String, String>,
    ) -> Result<Signed, Response> {
        let signed = Signed::from(console, headers, peer).await?;
        let given = form.get("csrf").map(String::as_str).unwrap_or("");
        if !session::same_token(given, &signed.session.csrf) || !console.same_origin(headers) {
            return Err(refused_form());
        }
        Ok(signed)
    }

    fn role(&self) -> Role {
        self.session.role
    }

    fn org(&self) -> String {
        self.session.org.to_string()
    }

    /// The clinic's day (YYYY-MM-DD) of an RFC 3339 time, whatever offset it was given in.
    fn day_of(&self, rfc3339: &str) -> String {
        chrono::DateTime::parse_from_rfc3339(rfc3339)
            .map(|t| t.with_timezone(&self.timezone).date_naive().to_string())
            .unwrap_or_default()
    }

    fn viewer(&self) -> Viewer<'_> {
        Viewer {
            role: self.session.role,
            csrf: &self.session.csrf,
            clinic: &self.clinic,
        }
    }

    async fn get(&self, path: &str) -> api::Answer {
        self.call(Method::GET, path, None).await
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> api::Answer {
        self.console
            .api
            .call(method, path, Some(&self.session.token), body, &self.browser)
            .await
    }

    /// The page in the console's frame, with a message left by the last change.
    fn page(&self, status: StatusCode, title: &str, body: maud::Markup) -> Response {
        let notice = self.take_notice();
        page(status, title, Some(&self.viewer()), notice.as_ref(), body)
    }

    fn page_with(
        &self,
        status: StatusCode,
        title: &str,
        notice: Notice,
        body: maud::Markup,
    ) -> Response {
        page(status, title, Some(&self.viewer()), Some(&notice), body)
    }

    /// After a change: back to `to`, with `notice` shown there.
    fn after(&self, to: &str, notice: Notice) -> Response {
        if let Ok(mut all) = self.console.notices.lock() {
            if all.len() > 10_000 {
                all.clear();
            }
            all.insert(self.session.id.clone(), notice);
        }
        Redirect::to(to).into_response()
    }

    fn take_notice(&self) -> Option<Notice> {
        self.console
            .notices
            .lock()
            .ok()
            .and_then(|mut all| all.remove(&self.session.id))
    }

    /// The page for an API refusal: what it said, and what to do.
    fn problem(&self, answer: &api::Answer, title: &str) -> Response {
        let status = match answer.status {
            s if s.is_client_error() => s,
            _ => StatusCode::BAD_GATEWAY,
        };
        let next = match answer.status {
            StatusCode::FORBIDDEN => "Your role cannot do this; ask the clinic's admin.",
            StatusCode::NOT_FOUND => "It may have been removed; go back and reload the list.",
            _ => "Go back, check the details and try again.",
        };
        self.page_with(
            status,
            title,
            Notice::Problem(answer.message()),
            html! { p { (next) } p { a href="/console/" { "Back to the diary" } } },
        )
    }
}

/// A signed-in user's page request (`Signed::from` as an extractor): without a live session
/// the answer is the way to the sign-in page.
impl axum::extract::FromRequestParts<Arc<Console>> for Signed {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        console: &Arc<Console>,
    ) -> Result<Self, Self::Rejection> {
        let peer = peer_of(&parts.extensions)
            .ok_or_else(|| StatusCode::INTERNAL_SERVER_ERROR.into_response())?;
        Signed::from(console, &parts.headers, peer).await
    }
}

/// A signed-in user's form: the session, and the fields once its CSRF token has matched.
pub(super) struct Posted {
    s: Signed,
    form: HashMap<String, String>,
}

impl axum::extract::FromRequest<Arc<Console>> for Posted {
    type Rejection = Response;

    async fn from_request(
        req: axum::extract::Request,
        console: &Arc<Console>,
    ) -> Result<Self, Self::Rejection> {
        let peer = peer_of(req.extensions())
            .ok_or_else(|| StatusCode::INTERNAL_SERVER_ERROR.into_response())?;
        let headers = req.headers().clone();
        let Form(form) = Fields::from_request(req, console)
            .await
            .map_err(|_| refused_form())?;
        let s = Signed::posting(console, &headers, peer, &form).await?;
        Ok(Posted { s, form })
    }
}

/// The browser's address (the server always records it).
fn peer_of(extensions: &axum::http::Extensions) -> Option<PeerAddr> {
    extensions.get::<ConnectInfo<PeerAddr>>().map(|c| c.0)
}

/// The host part of an `http(s)://host[:port]/…` URL.
fn host_of(url: &str) -> Option<&str> {
    url.strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .and_then(|rest| rest.split('/').next())
        .filter(|h| !h.is_empty())
}

impl Console {
    /// Where a form came from, by `Origin` (or `Referer`): this appliance as the browser
    /// reached it (`Host`, or `X-Forwarded-Host` from a proxy in front), or as
    /// `server.public_url` names it. `None` when the browser said neither.
    fn origin_is_ours(&self, headers: &HeaderMap) -> Option<bool> {
        let from = headers
            .get(header::ORIGIN)
            .or_else(|| headers.get(header::REFERER))
            .and_then(|h| h.to_str().ok())?;
        let Some(from) = host_of(from) else {
            return Some(false);
        };
        let named = |name: header::HeaderName| {
            headers
                .get_all(name)
                .iter()
                .filter_map(|h| h.to_str().ok())
                .any(|h| h.split(',').any(|h| h.trim() == from))
        };
        Some(
            named(header::HOST)
                || named(header::HeaderName::from_static("x-forwarded-host"))
                || self.public_host.as_deref() == Some(from),
        )
    }

    /// A form is refused when the browser names another site as its origin (a second check
    /// after the CSRF token and the `SameSite=Strict` cookie).
    pub(super) fn same_origin(&self, headers: &HeaderMap) -> bool {
        self.origin_is_ours(headers) != Some(false)
    }
}

pub(super) fn refused_form() -> Response {
    page(
        StatusCode::FORBIDDEN,
        "This form has expired",
        None,
        Some(&Notice::Problem(
            "The form was not sent from this console session, so nothing was changed.".into(),
        )),
        html! { p { a href="/console/" { "Open the console again" } " and repeat what you were doing." } },
    )
}
