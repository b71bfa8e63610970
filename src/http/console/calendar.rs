//! The console's Google Calendar page: connect the clinic's own calendar (Google's consent
//! page and back), choose which of its calendars appointments go to, disconnect.
//!
//! Google sends the admin back with a cross-site navigation, which carries no `SameSite=Strict`
//! cookie; so the way back lands on a page that needs no session and holds Google's code and
//! state in a form, and the admin's press of "Finish" (same-site, with the session) completes
//! the connection through the API, which checks the state was issued to that same admin.

use std::collections::HashMap;

use axum::extract::Query;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::html;
use serde_json::json;

use super::views::{button_form, csrf_field, page, Notice};
use super::{Console, Posted, Signed};
use crate::booking::records::ClinicSettings;
use crate::calendar::ConnectionStatus;
use crate::http::calendar::{Authorization, CalendarList, Disconnected};

pub(super) fn routes() -> Router<std::sync::Arc<Console>> {
    Router::new()
        .route("/console/calendar", get(calendar))
        .route("/console/calendar/connect", get(connect))
        .route("/console/calendar/callback", get(callback))
        .route("/console/calendar/finish", post(finish))
        .route("/console/calendar/select", post(select))
        .route("/console/calendar/disconnect", post(disconnect))
}

async fn calendar(s: Signed) -> Response {
    let org = s.org();
    let status = s.get(&format!("/api/orgs/{org}/calendar/google")).await;
    let Some(state) = status.read::<ConnectionStatus>() else {
        return s.problem(&status, "Google Calendar");
    };
    let (connected, available) = (state.connected, state.available);
    let (calendars, listing_problem) = if connected {
        let a = s
            .get(&format!("/api/orgs/{org}/calendar/google/calendars"))
            .await;
        match a.read::<CalendarList>() {
            Some(list) => (list.calendars, None),
            None => (Vec::new(), Some(a.message())),
        }
    } else {
        (Vec::new(), None)
    };
    let chosen = s
        .get(&format!("/api/orgs/{org}/settings"))
        .await
        .read::<ClinicSettings>()
        .and_then(|c| c.calendar_id)
        .unwrap_or_default();
    let csrf = s.session.csrf.clone();
    s.page(
        StatusCode::OK,
        "Google Calendar",
        html! {
            @if connected {
                p { "The clinic's own Google Calendar is connected (since "
                    (super::views::when(state.connected_at.as_deref().unwrap_or(""), s.timezone)) "). New and changed appointments are written to the calendar chosen below." }
                @if let Some(p) = listing_problem { p.notice.problem role="alert" { (p) " Try again in a minute; if it goes on, disconnect and connect again." } }
                @if !calendars.is_empty() {
                    form.card method="post" action="/console/calendar/select" {
                        (csrf_field(&csrf))
                        fieldset {
                            legend { "Appointments go to" }
                            @for c in &calendars {
                                @let id = c.id.as_str();
                                label.slot {
                                    input type="radio" name="calendar_id" value=(id) required checked[id == chosen || (chosen.is_empty() && c.primary)];
                                    (c.summary)
                                    @if c.primary { " (main calendar)" }
                                }
                            }
                        }
                        button type="submit" { "Use this calendar" }
                    }
                }
                (button_form("/console/calendar/disconnect", &csrf, "Disconnect Google Calendar", "danger"))
            } @else if available {
                p { "Connect the clinic's Google Calendar so that every appointment booked by phone or here appears in it. You will be taken to Google to allow it, and brought back here." }
                p { a.button href="/console/calendar/connect" { "Connect Google Calendar" } }
            } @else {
                p { "This appliance has no Google sign-in configured. Ask whoever installed it to set " code { "[google_calendar] client_id" } " and " code { "client_secret" } " (a Google Cloud OAuth client)." }
            }
            p { a href="/console/settings" { "Back to settings" } }
        },
    )
}

async fn connect(s: Signed) -> Response {
    let a = s
        .call(
            Method::POST,
            &format!("/api/orgs/{}/calendar/google/authorize", s.org()),
            Some(json!({})),
        )
        .await;
    match a.read::<Authorization>() {
        Some(auth) => Redirect::to(&auth.authorization_url).into_response(),
        None => s.problem(&a, "Google Calendar"),
    }
}

/// Where Google sends the admin back (no session cookie arrives with it).
async fn callback(Query(q): Query<HashMap<String, String>>) -> Response {
    let code = q.get("code").cloned().unwrap_or_default();
    let state = q.get("state").cloned().unwrap_or_default();
    if code.is_empty() || state.is_empty() {
        let why = q
            .get("error")
            .map(String::as_str)
            .unwrap_or("no code came back");
        return page(
            StatusCode::BAD_REQUEST,
            "Google Calendar was not connected",
            None,
            Some(&Notice::Problem(format!(
                "Google did not give access ({why}); nothing has changed."
            ))),
            html! { p { a href="/console/calendar" { "Back to the Google Calendar page" } " to try again." } },
        );
    }
    page(
        StatusCode::OK,
        "Finish connecting Google Calendar",
        None,
        None,
        html! {
            p { "Google has allowed access. Finish to keep the connection for the clinic." }
            form.card method="post" action="/console/calendar/finish" {
                input type="hidden" name="code" value=(code);
                input type="hidden" name="state" value=(state);
                button type="submit" autofocus { "Finish connecting" }
            }
        },
    )
}

async fn finish(
    s: Signed,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    // No CSRF token can ride on Google's way back, so the browser must name the origin, and
    // it must be ours; the API then checks the state was issued to this admin.
    if s.console.origin_is_ours(&headers) != Some(true) {
        return super::refused_form();
    }
    let body = json!({
        "code": form.get("code").cloned().unwrap_or_default(),
        "state": form.get("state").cloned().unwrap_or_default(),
    });
    let a = s
        .call(
            Method::POST,
            &format!("/api/orgs/{}/calendar/google/callback", s.org()),
            Some(body),
        )
        .await;
    if !a.ok() {
        return s.after("/console/calendar", Notice::Problem(a.message()));
    }
    s.after(
        "/console/calendar",
        Notice::Done("Google Calendar connected. Choose the calendar appointments go to.".into()),
    )
}

async fn select(Posted { s, form }: Posted) -> Response {
    let path = format!("/api/orgs/{}/settings", s.org());
    let current = s.get(&path).await;
    let Some(mut settings) = current.read::<ClinicSettings>() else {
        return s.problem(&current, "Google Calendar");
    };
    settings.calendar_id = form.get("calendar_id").filter(|c| !c.is_empty()).cloned();
    let a = s.call(Method::PUT, &path, Some(json!(settings))).await;
    if !a.ok() {
        return s.after("/console/calendar", Notice::Problem(a.message()));
    }
    s.after(
        "/console/calendar",
        Notice::Done("New appointments will go to that calendar.".into()),
    )
}

async fn disconnect(Posted { s, .. }: Posted) -> Response {
    let a = s
        .call(
            Method::DELETE,
            &format!("/api/orgs/{}/calendar/google", s.org()),
            None,
        )
        .await;
    if !a.ok() {
        return s.after("/console/calendar", Notice::Problem(a.message()));
    }
    // The calendar chosen from the clinic's account means nothing to the install's account.
    let path = format!("/api/orgs/{}/settings", s.org());
    if let Some(mut settings) = s.get(&path).await.read::<ClinicSettings>() {
        if settings.calendar_id.take().is_some() {
            s.call(Method::PUT, &path, Some(json!(settings))).await;
        }
    }
    let notice = if a.read::<Disconnected>().is_some_and(|d| d.revoked) {
        "Disconnected; Google has withdrawn the appliance's access."
    } else {
        "Disconnected here, but Google could not be told; remove the appliance's access in your Google account settings."
    };
    s.after("/console/calendar", Notice::Done(notice.into()))
}
