//! The staff console: server-rendered pages under `/console/` for reception, clinicians and
//! the clinic's admin — sign-in, the diary, booking and changing appointments — behind a
//! session cookie, reading and changing data only through the JSON API (`api::Api`), so the
//! roles, org isolation, validation and audit trail are the API's own.

mod api;
mod calendar;
mod office;
mod session;
mod views;

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
    /// One-shot messages for the next page a session sees.
    notices: std::sync::Mutex<HashMap<String, Notice>>,
}

type Shared = State<Arc<Console>>;
type Peer = ConnectInfo<PeerAddr>;
type Fields = Form<HashMap<String, String>>;

/// The console's routes, reading through `api` (the API router, in process).
pub fn router(api: Api, idle: Duration, secure: bool, public_url: &str) -> Router {
    let console = Arc::new(Console {
        api,
        sessions: Sessions::new(idle),
        secure,
        public_host: host_of(public_url).map(str::to_string),
        notices: std::sync::Mutex::new(HashMap::new()),
    });
    Router::new()
        .route("/", get(|| async { Redirect::to("/console/") }))
        .route("/console", get(|| async { Redirect::to("/console/") }))
        .route("/console/assets/console.css", get(stylesheet))
        .route("/console/login", get(login_page).post(login))
        .route("/console/logout", post(logout))
        .route("/console/", get(diary))
        .route("/console/book", get(book_page).post(book))
        .route(
            "/console/appointments/{id}/reschedule",
            get(reschedule_page).post(reschedule),
        )
        .route(
            "/console/appointments/{id}/{action}",
            post(appointment_action),
        )
        .merge(office::routes())
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
        let clinic = me.body["org"]["name"].as_str().unwrap_or("").to_string();
        let timezone = me.body["org"]["timezone"]
            .as_str()
            .and_then(|t| t.parse().ok())
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

// ----- sign in and out -----

async fn login_page(State(console): Shared, headers: HeaderMap) -> Response {
    if console.sessions.find(&headers).is_some() {
        return Redirect::to("/console/").into_response();
    }
    login_form(&console, StatusCode::OK, None, "")
}

fn login_form(
    console: &Console,
    status: StatusCode,
    problem: Option<String>,
    email: &str,
) -> Response {
    let token = session::random_token();
    let notice = problem.map(Notice::Problem);
    let mut r = page(
        status,
        "Sign in",
        None,
        notice.as_ref(),
        html! {
            form.card method="post" action="/console/login" {
                (csrf_field(&token))
                (field("Email", "email", "email", email, true))
                (field("Password", "password", "password", "", true))
                button type="submit" { "Sign in" }
            }
            p.hint { "Forgotten your password? Ask the clinic's admin to set a new one." }
        },
    );
    r.headers_mut().insert(
        header::SET_COOKIE,
        session::set_cookie(session::LOGIN_COOKIE, &token, console.secure, Some(600)),
    );
    r
}

async fn login(
    State(console): Shared,
    ConnectInfo(peer): Peer,
    headers: HeaderMap,
    Form(form): Fields,
) -> Response {
    let email = form.get("email").cloned().unwrap_or_default();
    let expected = session::cookie(&headers, session::LOGIN_COOKIE).unwrap_or_default();
    let given = form.get("csrf").map(String::as_str).unwrap_or("");
    if expected.is_empty()
        || !session::same_token(given, &expected)
        || !console.same_origin(&headers)
    {
        return login_form(
            &console,
            StatusCode::FORBIDDEN,
            Some("The sign-in form had expired; sign in again.".into()),
            &email,
        );
    }
    let answer = console
        .api
        .call(
            Method::POST,
            "/api/auth/login",
            None,
            Some(json!({"email": email, "password": form.get("password").cloned().unwrap_or_default()})),
            &Browser::new(peer, &headers),
        )
        .await;
    if !answer.ok() {
        let message = match answer.status {
            StatusCode::TOO_MANY_REQUESTS => {
                "Too many attempts; wait a few minutes and try again.".to_string()
            }
            StatusCode::UNAUTHORIZED => {
                "That email and password do not match an account.".to_string()
            }
            _ => answer.message(),
        };
        return login_form(&console, answer.status, Some(message), &email);
    }
    let b = &answer.body;
    let (Some(token), Some(org), Some(role)) = (
        b["access_token"].as_str(),
        b["org_id"].as_str().and_then(|o| o.parse().ok()),
        serde_json::from_value::<Role>(b["role"].clone()).ok(),
    ) else {
        return login_form(
            &console,
            StatusCode::BAD_GATEWAY,
            Some("Sign-in failed; try again.".into()),
            &email,
        );
    };
    let expires = Duration::from_secs(b["expires_in"].as_u64().unwrap_or(3600));
    let session = console
        .sessions
        .start(token.to_string(), org, role, expires);
    let mut r = Redirect::to("/console/").into_response();
    let h = r.headers_mut();
    h.append(
        header::SET_COOKIE,
        session::set_cookie(session::SESSION_COOKIE, &session.id, console.secure, None),
    );
    h.append(
        header::SET_COOKIE,
        session::set_cookie(session::LOGIN_COOKIE, "", console.secure, Some(0)),
    );
    r
}

async fn logout(
    State(console): Shared,
    ConnectInfo(peer): Peer,
    headers: HeaderMap,
    Form(form): Fields,
) -> Response {
    if let Ok(signed) = Signed::posting(&console, &headers, peer, &form).await {
        console.sessions.end(&signed.session.id);
    }
    let mut r = Redirect::to("/console/login").into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        session::set_cookie(session::SESSION_COOKIE, "", console.secure, Some(0)),
    );
    r
}

// ----- the diary -----

/// Providers and services of the clinic, by id, for names.
struct Directory {
    providers: Vec<Value>,
    services: Vec<Value>,
}

impl Directory {
    async fn load(s: &Signed) -> Directory {
        let org = s.org();
        let providers = s.get(&format!("/api/orgs/{org}/providers")).await;
        let services = s.get(&format!("/api/orgs/{org}/services")).await;
        Directory {
            providers: providers.body["providers"]
                .as_array()
                .cloned()
                .unwrap_or_default(),
            services: services.body["services"]
                .as_array()
                .cloned()
                .unwrap_or_default(),
        }
    }

    fn name(list: &[Value], id: &Value) -> String {
        list.iter()
            .find(|x| &x["id"] == id)
            .and_then(|x| x["name"].as_str())
            .unwrap_or("—")
            .to_string()
    }

    fn options(list: &[Value]) -> Vec<(String, String)> {
        list.iter()
            .map(|x| {
                (
                    x["id"].as_str().unwrap_or("").to_string(),
                    x["name"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    }
}

fn today_in(tz: chrono_tz::Tz) -> NaiveDate {
    chrono::Utc::now().with_timezone(&tz).date_naive()
}

/// The first instant of `day` in `tz`, RFC 3339 (UTC).
/// (Where a clock change skips midnight, the day starts at the first hour that exists.)
fn day_start(day: NaiveDate, tz: chrono_tz::Tz) -> String {
    (0..4)
        .filter_map(|h| day.and_hms_opt(h, 0, 0))
        .find_map(|t| tz.from_local_datetime(&t).earliest())
        .map(|t| t.with_timezone(&chrono::Utc).to_rfc3339())
        .unwrap_or_default()
}

fn query_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn diary(Query(q): Query<HashMap<String, String>>, s: Signed) -> Response {
    let tz = s.timezone;
    let today = today_in(tz);
    let day = q
        .get("date")
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        // Inside the API's window for dates (800 days ahead, ten years back), a week's end
        // included.
        .filter(|d| (-3650..=790).contains(&(*d - today).num_days()))
        .unwrap_or(today);
    let week = q.get("view").is_some_and(|v| v == "week");
    let (first, days) = if week {
        (
            day - chrono::Days::new(u64::from(day.weekday().num_days_from_monday())),
            7,
        )
    } else {
        (day, 1)
    };
    let last = first + chrono::Days::new(days);
    let org = s.org();
    let dir = Directory::load(&s).await;
    let list = s
        .get(&format!(
            "/api/orgs/{org}/appointments?from={}&to={}",
            query_encode(&day_start(first, tz)),
            query_encode(&day_start(last, tz))
        ))
        .await;
    if !list.ok() {
        return s.problem(&list, "Diary");
    }
    let mut appointments = list.body["appointments"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    appointments.sort_by(|a, b| a["start"].as_str().cmp(&b["start"].as_str()));
    let can_change = s.role() != Role::Clinician;
    let now = chrono::Utc::now();
    let csrf = s.session.csrf.clone();
    let title = if week {
        format!("Week of {}", first.format("%A %-d %B %Y"))
    } else if day == today {
        format!("Today, {}", day.format("%A %-d %B %Y"))
    } else {
        day.format("%A %-d %B %Y").to_string()
    };
    let (prev, next) = if week {
        (first - chrono::Days::new(7), first + chrono::Days::new(7))
    } else {
        (day - chrono::Days::new(1), day + chrono::Days::new(1))
    };
    let view = if week { "week" } else { "day" };
    let body = html! {
        nav.pager aria-label="Dates" {
            a href={"/console/?view=" (view) "&date=" (prev)} { "← Earlier" }
            a href={"/console/?view=" (view) "&date=" (today)} { "Today" }
            a href={"/console/?view=" (view) "&date=" (next)} { "Later →" }
            @if week {
                a href={"/console/?view=day&date=" (day)} { "Day view" }
            } @else {
                a href={"/console/?view=week&date=" (day)} { "Week view" }
            }
            form.inline method="get" action="/console/" {
                input type="hidden" name="view" value=(view);
                label { span { "Go to date" } input type="date" name="date" value=(day); }
                button type="submit" { "Go" }
            }
        }
        @if can_change {
            p { a.button href={"/console/book?date=" (day)} { "Book an appointment" } }
        }
        @for offset in 0..days {
            @let d = first + chrono::Days::new(offset);
            @let todays: Vec<&Value> = appointments.iter().filter(|a| a["start"].as_str().is_some_and(|t| t.starts_with(&d.to_string()))).collect();
            section.day aria-label=(d.format("%A %-d %B")) {
                @if week { h2 { (d.format("%A %-d %B")) } }
                @if dir.providers.is_empty() {
                    p { "No providers yet. An admin adds them under Settings." }
                }
                @for p in &dir.providers {
                    @let theirs: Vec<&&Value> = todays.iter().filter(|a| a["provider_id"] == p["id"]).collect();
                    div.provider {
                        h3 { (p["name"].as_str().unwrap_or("")) }
                        @if theirs.is_empty() {
                            p.empty { "Nothing booked." }
                        } @else {
                            table {
                                thead { tr { th scope="col" { "Time" } th scope="col" { "Patient" } th scope="col" { "Service" } th scope="col" { "Status" } @if can_change { th scope="col" { "Actions" } } } }
                                tbody {
                                    @for a in theirs {
                                        @let id = a["id"].as_str().unwrap_or("");
                                        @let status = a["status"].as_str().unwrap_or("");
                                        @let active = matches!(status, "pending" | "confirmed");
                                        @let started = a["start"].as_str().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok()).is_some_and(|t| t <= now);
                                        tr data-appointment=(id) {
                                            td { (views::clock(a["start"].as_str().unwrap_or(""))) "–" (views::clock(a["end"].as_str().unwrap_or(""))) }
                                            td { (a["patient"]["name"].as_str().unwrap_or("")) br; small { (a["patient"]["phone"].as_str().unwrap_or("")) } }
                                            td { (Directory::name(&dir.services, &a["service_id"])) }
                                            td { (status_badge(status)) }
                                            @if can_change {
                                                td.actions {
                                                    @if status == "pending" { (button_form(&format!("/console/appointments/{id}/confirm"), &csrf, "Confirm", "")) }
                                                    @if active && !started { a.button href={"/console/appointments/" (id) "/reschedule"} { "Reschedule" } }
                                                    @if active { (button_form(&format!("/console/appointments/{id}/cancel"), &csrf, "Cancel", "danger")) }
                                                    @if active && started {
                                                        (button_form(&format!("/console/appointments/{id}/complete"), &csrf, "Completed", ""))
                                                        (button_form(&format!("/console/appointments/{id}/no-show"), &csrf, "No-show", ""))
                                                    }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    s.page(StatusCode::OK, &title, body)
}

// ----- booking -----

async fn book_page(Query(q): Query<HashMap<String, String>>, s: Signed) -> Response {
    booking_form(&s, &q, StatusCode::OK, None, Vec::new()).await
}

/// The booking page: choose service, provider and day; the free times the rule engine
/// offers; the patient's details. `alternatives` (after a conflict) replace the free times.
async fn booking_form(
    s: &Signed,
    q: &HashMap<String, String>,
    status: StatusCode,
    notice: Option<Notice>,
    alternatives: Vec<Value>,
) -> Response {
    let dir = Directory::load(s).await;
    let org = s.org();
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
    let date = q
        .get("date")
        .filter(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").is_ok())
        .cloned()
        .unwrap_or_else(|| today_in(s.timezone).to_string());
    let service = get("service_id");
    let provider = get("provider_id");
    let mut slots = alternatives.clone();
    let mut slot_problem = None;
    if alternatives.is_empty() && !service.is_empty() {
        let mut path = format!(
            "/api/orgs/{org}/availability?service_id={}&date={}&days=1",
            query_encode(service),
            query_encode(&date)
        );
        if !provider.is_empty() {
            path.push_str(&format!("&provider_id={}", query_encode(provider)));
        }
        let a = s.get(&path).await;
        if a.ok() {
            slots = a.body["slots"].as_array().cloned().unwrap_or_default();
        } else {
            slot_problem = Some(a.message());
        }
    }
    let chosen_start = get("start");
    let body = html! {
        form.card method="get" action="/console/book" {
            (select("Service", "service_id", &Directory::options(&dir.services), service, true))
            (select("Provider", "provider_id", &Directory::options(&dir.providers), provider, false))
            (field("Day", "date", "date", &date, true))
            button type="submit" { "Show free times" }
        }
        @if let Some(p) = slot_problem { p.notice.problem role="alert" { (p) } }
        @if !service.is_empty() || !alternatives.is_empty() {
            form.card method="post" action="/console/book" {
                (csrf_field(&s.session.csrf))
                input type="hidden" name="service_id" value=(service);
                input type="hidden" name="date" value=(date);
                fieldset {
                    legend { @if alternatives.is_empty() { "Free times" } @else { "Free times instead" } }
                    @if slots.is_empty() {
                        p { "No free times that day. Try another day or provider." }
                    }
                    @for (i, slot) in slots.iter().enumerate() {
                        @let value = format!("{}|{}", slot["provider_id"].as_str().unwrap_or(""), slot["start"].as_str().unwrap_or(""));
                        label.slot {
                            input type="radio" name="slot" value=(value) required checked[(chosen_start.is_empty() && i == 0) || slot["start"].as_str() == Some(chosen_start)];
                            (views::when(slot["start"].as_str().unwrap_or(""), s.timezone)) " · " (Directory::name(&dir.providers, &slot["provider_id"]))
                        }
                    }
                }
                @if !slots.is_empty() {
                    fieldset {
                        legend { "Patient" }
                        (field("Full name", "name", "text", get("name"), true))
                        (field("Phone", "phone", "tel", get("phone"), true))
                        (field("Email (optional)", "email", "email", get("email"), false))
                        label { span { "Notes (optional)" } textarea name="notes" rows="3" { (get("notes")) } }
                    }
                    button type="submit" { "Book" }
                }
            }
        }
    };
    match notice {
        Some(n) => s.page_with(status, "Book an appointment", n, body),
        None => s.page(status, "Book an appointment", body),
    }
}

async fn book(Posted { s, form }: Posted) -> Response {
    let get = |k: &str| {
        form.get(k)
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    let (provider, start) = get("slot")
        .split_once('|')
        .map(|(p, t)| (p.to_string(), t.to_string()))
        .unwrap_or_default();
    if provider.is_empty() {
        return booking_form(
            &s,
            &form,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(Notice::Problem("Choose one of the free times.".into())),
            Vec::new(),
        )
        .await;
    }
    let mut body = json!({
        "provider_id": provider,
        "service_id": get("service_id"),
        "start": start,
        "patient": {"name": get("name"), "phone": get("phone")},
    });
    if !get("email").is_empty() {
        body["patient"]["email"] = json!(get("email"));
    }
    if !get("notes").is_empty() {
        body["notes"] = json!(get("notes"));
    }
    let answer = s
        .call(
            Method::POST,
            &format!("/api/orgs/{}/appointments", s.org()),
            Some(body),
        )
        .await;
    match answer.status {
        StatusCode::CREATED => {
            let day = s.day_of(&start);
            s.after(
                &format!("/console/?date={day}"),
                Notice::Done(format!(
                    "Booked {} for {}.",
                    views::when(&start, s.timezone),
                    get("name")
                )),
            )
        }
        StatusCode::CONFLICT => {
            let alternatives = answer.body["details"]["alternatives"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let message = if answer.body["error"] == "slot_taken" {
                "That time has just been taken. Choose one of the free times below instead."
                    .to_string()
            } else {
                answer.message()
            };
            booking_form(
                &s,
                &form,
                StatusCode::CONFLICT,
                Some(Notice::Problem(message)),
                alternatives,
            )
            .await
        }
        _ => {
            let mut message = answer.message();
            let fields = answer.field_errors();
            if !fields.is_empty() {
                message = format!("Check these details: {}.", fields.join("; "));
            }
            booking_form(
                &s,
                &form,
                answer.status,
                Some(Notice::Problem(message)),
                Vec::new(),
            )
            .await
        }
    }
}

// ----- changing an appointment -----

async fn appointment_action(
    Path((id, action)): Path<(String, String)>,
    Posted { s, .. }: Posted,
) -> Response {
    let (verb, done) = match action.as_str() {
        "confirm" => ("confirm", "Confirmed."),
        "cancel" => ("cancel", "Cancelled; the time is free again."),
        "complete" => ("complete", "Marked as completed."),
        "no-show" => ("no-show", "Marked as a no-show."),
        _ => {
            return s.page_with(
                StatusCode::NOT_FOUND,
                "Not found",
                Notice::Problem("There is no such action.".into()),
                html! {},
            )
        }
    };
    let path = format!(
        "/api/orgs/{}/appointments/{}/{verb}",
        s.org(),
        query_encode(&id)
    );
    let answer = s.call(Method::POST, &path, Some(json!({}))).await;
    if !answer.ok() {
        return s.problem(&answer, "The appointment was not changed");
    }
    let day = s.day_of(answer.body["start"].as_str().unwrap_or(""));
    s.after(&format!("/console/?date={day}"), Notice::Done(done.into()))
}

async fn reschedule_page(
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    s: Signed,
) -> Response {
    reschedule_form(&s, &id, &q, StatusCode::OK, None, Vec::new()).await
}

async fn reschedule_form(
    s: &Signed,
    id: &str,
    q: &HashMap<String, String>,
    status: StatusCode,
    notice: Option<Notice>,
    alternatives: Vec<Value>,
) -> Response {
    let org = s.org();
    let a = s
        .get(&format!(
            "/api/orgs/{org}/appointments/{}",
            query_encode(id)
        ))
        .await;
    if !a.ok() {
        return s.problem(&a, "Reschedule");
    }
    let appt = a.body;
    let date = q
        .get("date")
        .filter(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").is_ok())
        .cloned()
        .unwrap_or_else(|| s.day_of(appt["start"].as_str().unwrap_or("")));
    // Rescheduling keeps the provider: alternatives with another provider are not offered.
    let mut slots: Vec<Value> = alternatives
        .into_iter()
        .filter(|a| a["provider_id"] == appt["provider_id"])
        .collect();
    if slots.is_empty() {
        if let Some(service) = appt["service_id"].as_str() {
            let path = format!(
                "/api/orgs/{org}/availability?service_id={}&provider_id={}&date={}&days=1",
                query_encode(service),
                query_encode(appt["provider_id"].as_str().unwrap_or("")),
                query_encode(&date)
            );
            slots = s.get(&path).await.body["slots"]
                .as_array()
                .cloned()
                .unwrap_or_default();
        }
    }
    let body = html! {
        p { "Now: " strong { (views::when(appt["start"].as_str().unwrap_or(""), s.timezone)) } " for " (appt["patient"]["name"].as_str().unwrap_or("")) "." }
        form.card method="get" action={"/console/appointments/" (id) "/reschedule"} {
            (field("Day", "date", "date", &date, true))
            button type="submit" { "Show free times" }
        }
        form.card method="post" action={"/console/appointments/" (id) "/reschedule"} {
            (csrf_field(&s.session.csrf))
            fieldset {
                legend { "Move to" }
                @if slots.is_empty() { p { "No free times that day with this provider. Try another day." } }
                @for (i, slot) in slots.iter().enumerate() {
                    label.slot {
                        input type="radio" name="start" value=(slot["start"].as_str().unwrap_or("")) required checked[i == 0];
                        (views::when(slot["start"].as_str().unwrap_or(""), s.timezone))
                    }
                }
            }
            @if !slots.is_empty() { button type="submit" { "Move the appointment" } }
        }
    };
    match notice {
        Some(n) => s.page_with(status, "Reschedule", n, body),
        None => s.page(status, "Reschedule", body),
    }
}

async fn reschedule(Path(id): Path<String>, Posted { s, form }: Posted) -> Response {
    let start = form.get("start").cloned().unwrap_or_default();
    let path = format!(
        "/api/orgs/{}/appointments/{}/reschedule",
        s.org(),
        query_encode(&id)
    );
    let answer = s
        .call(Method::POST, &path, Some(json!({ "start": start })))
        .await;
    match answer.status {
        s2 if s2.is_success() => s.after(
            &format!("/console/?date={}", s.day_of(&start)),
            Notice::Done(format!("Moved to {}.", views::when(&start, s.timezone))),
        ),
        StatusCode::CONFLICT if answer.body["error"] == "slot_taken" => {
            let alternatives = answer.body["details"]["alternatives"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            // Free times on the day that was tried, if no alternative is with this provider.
            let tried = HashMap::from([("date".to_string(), s.day_of(&start))]);
            reschedule_form(
                &s,
                &id,
                &tried,
                StatusCode::CONFLICT,
                Some(Notice::Problem(
                    "That time has just been taken. Choose one of these instead.".into(),
                )),
                alternatives,
            )
            .await
        }
        _ => s.problem(&answer, "The appointment was not moved"),
    }
}
