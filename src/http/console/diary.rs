//! The diary: a day or a week per provider in the clinic's zone, with each appointment's
//! status and what can be done to it (confirm, cancel, completed, no-show, reschedule), and
//! the times held for callers or waiting-list offers.

use super::*;
use crate::booking::records::AppointmentStatus;
use crate::http::booking::{AppointmentList, AppointmentView, SlotList, SlotView};
use crate::http::waitlist::{HoldList, HoldView};

pub(super) async fn diary(Query(q): Query<HashMap<String, String>>, s: Signed) -> Response {
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
    let mut appointments = list
        .read::<AppointmentList>()
        .map(|l| l.appointments)
        .unwrap_or_default();
    appointments.sort_by(|a, b| a.start.cmp(&b.start));
    let holds = s
        .get(&format!("/api/orgs/{org}/holds"))
        .await
        .read::<HoldList>()
        .map(|l| l.holds)
        .unwrap_or_default();
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
            @let todays: Vec<&AppointmentView> = appointments.iter().filter(|a| a.start.starts_with(&d.to_string())).collect();
            section.day aria-label=(d.format("%A %-d %B")) {
                @if week { h2 { (d.format("%A %-d %B")) } }
                @if dir.providers.is_empty() {
                    p { "No providers yet. An admin adds them under Settings." }
                }
                @for p in &dir.providers {
                    @let theirs: Vec<&&AppointmentView> = todays.iter().filter(|a| a.provider_id == p.id).collect();
                    @let held: Vec<&HoldView> = holds.iter().filter(|h| h.provider_id == p.id && h.start.starts_with(&d.to_string())).collect();
                    div.provider {
                        h3 { (p.name) }
                        @for h in &held {
                            p.held data-hold=(h.start) {
                                (status_badge("held")) " " (views::clock(&h.start)) "–" (views::clock(&h.end))
                                @if h.held_for == "waitlist" { " offered to the waiting list" } @else { " for a caller giving their details" }
                                ", until " (views::clock(&h.held_until))
                            }
                        }
                        @if theirs.is_empty() {
                            p.empty { "Nothing booked." }
                        } @else {
                            table {
                                thead { tr { th scope="col" { "Time" } th scope="col" { "Patient" } th scope="col" { "Service" } th scope="col" { "Status" } @if can_change { th scope="col" { "Actions" } } } }
                                tbody {
                                    @for a in theirs {
                                        @let id = a.id.to_string();
                                        @let status = a.status.as_str();
                                        @let active = a.status.is_active();
                                        @let started = chrono::DateTime::parse_from_rfc3339(&a.start).ok().is_some_and(|t| t <= now);
                                        tr data-appointment=(id) {
                                            td { (views::clock(&a.start)) "–" (views::clock(&a.end)) }
                                            td { (a.patient.name) br; small { (a.patient.phone.as_str()) } }
                                            td { (dir.service_name(a.service_id)) }
                                            td { (status_badge(status)) }
                                            @if can_change {
                                                td.actions {
                                                    @if a.status == AppointmentStatus::Pending { (button_form(&format!("/console/appointments/{id}/confirm"), &csrf, "Confirm", "")) }
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

pub(super) async fn appointment_action(
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
    let start = answer
        .read::<AppointmentView>()
        .map(|a| a.start)
        .unwrap_or_default();
    let day = s.day_of(&start);
    s.after(&format!("/console/?date={day}"), Notice::Done(done.into()))
}

pub(super) async fn reschedule_page(
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    s: Signed,
) -> Response {
    reschedule_form(&s, &id, &q, StatusCode::OK, None, Vec::new()).await
}

pub(super) async fn reschedule_form(
    s: &Signed,
    id: &str,
    q: &HashMap<String, String>,
    status: StatusCode,
    notice: Option<Notice>,
    alternatives: Vec<SlotView>,
) -> Response {
    let org = s.org();
    let a = s
        .get(&format!(
            "/api/orgs/{org}/appointments/{}",
            query_encode(id)
        ))
        .await;
    let Some(appt) = a.read::<AppointmentView>() else {
        return s.problem(&a, "Reschedule");
    };
    let date = q
        .get("date")
        .filter(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").is_ok())
        .cloned()
        .unwrap_or_else(|| s.day_of(&appt.start));
    // Rescheduling keeps the provider: alternatives with another provider are not offered.
    let mut slots: Vec<SlotView> = alternatives
        .into_iter()
        .filter(|a| a.provider_id == appt.provider_id)
        .collect();
    if slots.is_empty() {
        if let Some(service) = appt.service_id {
            let path = format!(
                "/api/orgs/{org}/availability?service_id={service}&provider_id={}&date={}&days=1",
                appt.provider_id,
                query_encode(&date)
            );
            slots = s
                .get(&path)
                .await
                .read::<SlotList>()
                .map(|l| l.slots)
                .unwrap_or_default();
        }
    }
    let body = html! {
        p { "Now: " strong { (views::when(&appt.start, s.timezone)) } " for " (appt.patient.name) "." }
        form.card method="get" action={"/console/appointments/" (id) "/reschedule"} {
            (field("Day", "date", "date", &date, true))
            button type="submit" { "Show free times" }
        }
        form.card method="post" action={"/console/appointments/" (id) "/reschedule"} {
            (csrf_field(&s.session.csrf))
            fieldset {
                legend { "Move to" }
                @if slots.is_empty() { p { "No free times that day with this provider. Try another day." } }
                @let times: Vec<views::GridTime> = slots.iter().map(|slot| views::GridTime {
                    value: slot.start.clone(),
                    start: slot.start.clone(),
                    provider: "Free times".into(),
                }).collect();
                (views::time_grid("start", &times, ""))
            }
            @if !slots.is_empty() { button type="submit" { "Move the appointment" } }
        }
    };
    match notice {
        Some(n) => s.page_with(status, "Reschedule", n, body),
        None => s.page(status, "Reschedule", body),
    }
}

pub(super) async fn reschedule(Path(id): Path<String>, Posted { s, form }: Posted) -> Response {
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
            let alternatives = answer.alternatives();
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
