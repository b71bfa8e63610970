//! The console's page frame and the small pieces its pages share (navigation, messages,
//! forms with their CSRF field, times in the clinic's zone), as `maud` markup: every value is
//! escaped by the template, and no page carries a script.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};

use crate::domain::Role;

/// The pages' policy: the stylesheet from here, no script at all, forms only to here.
const PAGE_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// Who is looking, for the frame: their role decides which sections are offered.
pub struct Viewer<'a> {
    pub role: Role,
    pub csrf: &'a str,
    pub clinic: &'a str,
}

/// A message carried to the next page (after a change) or shown with this one.
pub enum Notice {
    Done(String),
    Problem(String),
}

pub fn page(
    status: StatusCode,
    title: &str,
    viewer: Option<&Viewer>,
    notice: Option<&Notice>,
    body: Markup,
) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Voxanne" }
                link rel="stylesheet" href="/console/assets/console.css";
            }
            body {
                a.skip href="#main" { "Skip to content" }
                @if let Some(v) = viewer {
                    header.top {
                        span.brand { "Voxanne" }
                        span.clinic { (v.clinic) }
                        nav aria-label="Sections" {
                            ul {
                                li { a href="/console/" { "Diary" } }
                                @if v.role != Role::Clinician {
                                    li { a href="/console/book" { "Book" } }
                                }
                                li { a href="/console/calls" { "Calls" } }
                                @if v.role != Role::Clinician {
                                    li { a href="/console/leads" { "Leads" } }
                                    li { a href="/console/waitlist" { "Waiting list" } }
                                }
                                li { a href="/console/kb" { "Knowledge base" } }
                                @if v.role == Role::Admin {
                                    li { a href="/console/settings" { "Settings" } }
                                    li { a href="/console/audit" { "Audit log" } }
                                }
                            }
                        }
                        form.logout method="post" action="/console/logout" {
                            (csrf_field(v.csrf))
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main id="main" {
                    h1 { (title) }
                    @match notice {
                        Some(Notice::Done(m)) => p.notice.done role="status" { (m) },
                        Some(Notice::Problem(m)) => p.notice.problem role="alert" { (m) },
                        None => {},
                    }
                    (body)
                }
            }
        }
    };
    html_response(status, markup.into_string())
}

pub fn html_response(status: StatusCode, html: String) -> Response {
    let mut r = (status, html).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_POLICY),
    );
    // The browser names this origin on the console's own form posts (checked with the CSRF
    // token) and nothing to anyone else.
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    // Pages show patients' details: never kept by the browser or a proxy.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

pub fn csrf_field(token: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(token); }
}

/// A one-button form posting to `action` (with the CSRF field).
pub fn button_form(action: &str, csrf: &str, label: &str, class: &str) -> Markup {
    html! {
        form.inline method="post" action=(action) {
            (csrf_field(csrf))
            button type="submit" class=(class) { (label) }
        }
    }
}

/// `HH:MM` of an RFC 3339 time the API gave in the clinic's zone.
pub fn clock(rfc3339: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| t.format("%H:%M").to_string())
        .unwrap_or_else(|_| rfc3339.to_string())
}

/// `Tue 1 Dec, 09:30` of an RFC 3339 time, in the clinic's zone.
pub fn when(rfc3339: &str, tz: chrono_tz::Tz) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| t.with_timezone(&tz).format("%a %-d %b, %H:%M").to_string())
        .unwrap_or_else(|_| rfc3339.to_string())
}

/// One free time offered in a grid: the radio's value, its start (RFC 3339, the clinic's
/// zone) and the provider's name.
pub struct GridTime {
    pub value: String,
    pub start: String,
    pub provider: String,
}

/// The part of the day an `HH:MM` falls in.
fn part_of_day(clock: &str) -> &'static str {
    match clock.get(..2).and_then(|h| h.parse::<u32>().ok()) {
        Some(h) if h < 12 => "Morning",
        Some(h) if h < 17 => "Afternoon",
        _ => "Evening",
    }
}

/// Free times of one day as a compact grid: a row per provider and part of the day, one
/// radio (`name`) per time showing only its `HH:MM`; `chosen` (a value) or else the first is
/// selected.
pub fn time_grid(name: &str, times: &[GridTime], chosen: &str) -> Markup {
    let mut rows: Vec<(&str, &'static str, Vec<&GridTime>)> = Vec::new();
    for t in times {
        let part = part_of_day(&clock(&t.start));
        match rows
            .iter_mut()
            .find(|(p, d, _)| *p == t.provider.as_str() && *d == part)
        {
            Some((_, _, list)) => list.push(t),
            None => rows.push((t.provider.as_str(), part, vec![t])),
        }
    }
    let chosen = if times.iter().any(|t| t.value == chosen) {
        chosen
    } else {
        times.first().map_or("", |t| t.value.as_str())
    };
    html! {
        @for (provider, part, list) in &rows {
            div.grid-row {
                span.grid-label { (provider) " · " (part) }
                @for t in list {
                    label.chip {
                        input type="radio" name=(name) value=(t.value) required checked[t.value == chosen];
                        (clock(&t.start))
                    }
                }
            }
        }
    }
}

/// A label with its input, for forms (every field labelled).
pub fn field(label: &str, name: &str, kind: &str, value: &str, required: bool) -> Markup {
    html! {
        label {
            span { (label) }
            input type=(kind) name=(name) value=(value) required[required];
        }
    }
}

pub fn select(
    label: &str,
    name: &str,
    options: &[(String, String)],
    chosen: &str,
    required: bool,
) -> Markup {
    html! {
        label {
            span { (label) }
            select name=(name) required[required] {
                @if !required { option value="" { "Any" } }
                @for (value, text) in options {
                    option value=(value) selected[value == chosen] { (text) }
                }
            }
        }
    }
}

pub fn status_badge(status: &str) -> Markup {
    html! { span class={"badge " (status)} { (status.replace('_', " ")) } }
}
