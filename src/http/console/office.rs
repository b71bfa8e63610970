//! The console's back-office pages: calls and their clinical notes, leads and follow-up
//! texts, the knowledge base, the clinic's settings, people and keys, and the audit log.

use std::collections::HashMap;

use axum::extract::{Path, Query};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use maud::html;
use serde_json::{json, Value};

use super::views::{button_form, csrf_field, field, select, status_badge, Notice};
use super::{query_encode, Console, Directory, Posted, Signed};
use crate::domain::Role;

type Params = Query<HashMap<String, String>>;

pub(super) fn routes() -> Router<std::sync::Arc<Console>> {
    Router::new()
        .route("/console/calls", get(calls))
        .route("/console/calls/{call_id}", get(call))
        .route("/console/notes/{id}", get(note))
        .route("/console/leads", get(leads))
        .route("/console/leads/{id}", post(lead_status))
        .route("/console/kb", get(kb).post(kb_add))
        .route("/console/kb/{id}", get(kb_edit).post(kb_save))
        .route("/console/kb/{id}/delete", post(kb_delete))
        .route("/console/settings", get(settings).post(settings_save))
        .route("/console/settings/services", post(service_add))
        .route("/console/settings/providers", post(provider_add))
        .route(
            "/console/settings/providers/{id}/time-off",
            post(time_off_add),
        )
        .route("/console/settings/providers/{id}/hours", post(hours_save))
        .route("/console/settings/agent-keys", post(agent_key_add))
        .route(
            "/console/settings/agent-keys/{id}/revoke",
            post(agent_key_revoke),
        )
        .route("/console/settings/users", post(user_add))
        .route("/console/settings/users/{id}/delete", post(user_delete))
        .route("/console/audit", get(audit))
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or("")
}

// ----- calls and clinical notes -----

async fn calls(s: Signed) -> Response {
    let answer = s
        .get(&format!("/api/orgs/{}/calls?limit=100", s.org()))
        .await;
    if !answer.ok() {
        return s.problem(&answer, "Calls");
    }
    let list = answer.body["calls"].as_array().cloned().unwrap_or_default();
    s.page(
        StatusCode::OK,
        "Calls",
        html! {
            @if list.is_empty() { p { "No calls have been filed yet." } }
            @else {
                table {
                    thead { tr { th scope="col" { "Ended" } th scope="col" { "Summary (personal data removed)" } th scope="col" { "Personal data found" } th scope="col" { "Booked" } } }
                    tbody {
                        @for call in &list {
                            tr {
                                td { a href={"/console/calls/" (query_encode(text(call, "call_id")))} { (super::views::when(call["ended_at"].as_str().unwrap_or(text(call, "recorded_at")), s.timezone)) } }
                                td { (call["summary_redacted"].as_str().unwrap_or("—")) }
                                td { (entity_counts(&call["entities"])) }
                                td { @if call["booked"] == true { "Yes" } @else { "No" } }
                            }
                        }
                    }
                }
            }
        },
    )
}

fn entity_counts(v: &Value) -> String {
    let parts: Vec<String> = v
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| format!("{} {}", e["count"], text(e, "type").replace('_', " ")))
        .collect();
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join(", ")
    }
}

async fn call(Path(call_id): Path<String>, s: Signed) -> Response {
    let org = s.org();
    let answer = s
        .get(&format!("/api/orgs/{org}/calls/{}", query_encode(&call_id)))
        .await;
    if !answer.ok() {
        return s.problem(&answer, "Call");
    }
    let call = answer.body;
    let notes = if s.role() == Role::Staff {
        None
    } else {
        let n = s
            .get(&format!(
                "/api/orgs/{org}/clinical-notes?call_id={}",
                query_encode(&call_id)
            ))
            .await;
        Some(
            n.body["clinical_notes"]
                .as_array()
                .cloned()
                .unwrap_or_default(),
        )
    };
    s.page(
        StatusCode::OK,
        "Call",
        html! {
            dl {
                dt { "Ended" } dd { (super::views::when(call["ended_at"].as_str().unwrap_or(""), s.timezone)) }
                dt { "Why it ended" } dd { (call["ended_reason"].as_str().unwrap_or("—")) }
                dt { "Booked during the call" } dd { @if call["booked"] == true { "Yes" } @else { "No" } }
                dt { "Personal data found" } dd { (entity_counts(&call["entities"])) }
            }
            h2 { "Summary" }
            p { (call["summary_redacted"].as_str().unwrap_or("—")) }
            h2 { "Transcript (personal data removed)" }
            pre.transcript { (text(&call, "transcript_redacted")) }
            h2 { "Clinical notes" }
            @match notes {
                None => p { "Clinical notes are for clinicians and the clinic's admin." },
                Some(list) if list.is_empty() => p { "This call left no clinical note." },
                Some(list) => ul {
                    @for n in &list {
                        li { a href={"/console/notes/" (text(n, "id"))} { "Open the note of " (super::views::when(text(n, "created_at"), s.timezone)) } " (opening it is recorded in the audit log)" }
                    }
                },
            }
        },
    )
}

async fn note(Path(id): Path<String>, s: Signed) -> Response {
    let answer = s
        .get(&format!(
            "/api/orgs/{}/clinical-notes/{}",
            s.org(),
            query_encode(&id)
        ))
        .await;
    if !answer.ok() {
        return s.problem(&answer, "Clinical note");
    }
    let n = answer.body;
    s.page(
        StatusCode::OK,
        "Clinical note",
        html! {
            p.hint { "Your reading of this note has been recorded in the audit log. This page is not kept by the browser." }
            p { "From call " a href={"/console/calls/" (query_encode(text(&n, "call_id")))} { (text(&n, "call_id")) } ", " (super::views::when(text(&n, "created_at"), s.timezone)) "." }
            pre.note { (text(&n, "text")) }
        },
    )
}

// ----- leads and follow-ups -----

const LEAD_STATUSES: [&str; 4] = ["new", "contacted", "booked", "lost"];

async fn leads(Query(q): Params, s: Signed) -> Response {
    let org = s.org();
    let status = q.get("status").cloned().unwrap_or_default();
    let procedure = q.get("procedure").cloned().unwrap_or_default();
    let mut path = format!("/api/orgs/{org}/leads?");
    if !status.is_empty() {
        path.push_str(&format!("status={}&", query_encode(&status)));
    }
    if !procedure.is_empty() {
        path.push_str(&format!("procedure={}&", query_encode(&procedure)));
    }
    let answer = s.get(&path).await;
    if !answer.ok() {
        return s.problem(&answer, "Leads");
    }
    let leads = answer.body["leads"].as_array().cloned().unwrap_or_default();
    let followups = s.get(&format!("/api/orgs/{org}/followups")).await.body["followups"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let statuses: Vec<(String, String)> = LEAD_STATUSES
        .iter()
        .map(|x| (x.to_string(), x.to_string()))
        .collect();
    let csrf = s.session.csrf.clone();
    s.page(
        StatusCode::OK,
        "Leads to ring back",
        html! {
            form.card.filters method="get" action="/console/leads" {
                (select("Status", "status", &statuses, &status, false))
                (field("Procedure", "procedure", "text", &procedure, false))
                button type="submit" { "Filter" }
            }
            @if leads.is_empty() { p { "No leads match. Leads appear when a caller hangs up without booking." } }
            @else {
                table {
                    thead { tr { th scope="col" { "When" } th scope="col" { "Caller" } th scope="col" { "Procedure" } th scope="col" { "Text message" } th scope="col" { "Status" } } }
                    tbody {
                        @for l in &leads {
                            @let fu = followups.iter().find(|f| f["lead_id"] == l["id"]);
                            tr {
                                td { (super::views::when(text(l, "created_at"), s.timezone)) }
                                td { (l["name"].as_str().unwrap_or("—")) br; small { (l["phone"].as_str().unwrap_or("")) } }
                                td { (l["procedure"].as_str().unwrap_or("—")) }
                                td { @match fu { Some(f) => { (status_badge(text(f, "status"))) @if let Some(r) = f["reason"].as_str() { br; small { (r) } } }, None => "—" } }
                                td {
                                    form.inline method="post" action={"/console/leads/" (text(l, "id"))} {
                                        (csrf_field(&csrf))
                                        label { span.visually-hidden { "Status" }
                                            select name="status" {
                                                @for st in LEAD_STATUSES { option value=(st) selected[l["status"] == st] { (st) } }
                                            }
                                        }
                                        button type="submit" { "Save" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

async fn lead_status(Path(id): Path<String>, Posted { s, form }: Posted) -> Response {
    let status = form.get("status").cloned().unwrap_or_default();
    let answer = s
        .call(
            Method::PATCH,
            &format!("/api/orgs/{}/leads/{}", s.org(), query_encode(&id)),
            Some(json!({ "status": status })),
        )
        .await;
    if !answer.ok() {
        return s.problem(&answer, "The lead was not changed");
    }
    s.after(
        "/console/leads",
        Notice::Done(format!("Lead marked {status}.")),
    )
}

// ----- knowledge base -----

async fn kb(Query(q): Params, s: Signed) -> Response {
    let org = s.org();
    let docs = s.get(&format!("/api/orgs/{org}/kb/documents")).await;
    if !docs.ok() {
        return s.problem(&docs, "Knowledge base");
    }
    let docs = docs.body["documents"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let question = q.get("q").cloned().unwrap_or_default();
    let results = if question.trim().is_empty() {
        None
    } else {
        let a = s
            .get(&format!(
                "/api/orgs/{org}/kb/search?q={}&k=5",
                query_encode(&question)
            ))
            .await;
        Some(a)
    };
    let unanswered = if s.role() == Role::Clinician {
        Vec::new()
    } else {
        s.get(&format!("/api/orgs/{org}/kb/unanswered")).await.body["unanswered"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    let can_write = s.role() != Role::Clinician;
    let csrf = s.session.csrf.clone();
    s.page(
        StatusCode::OK,
        "Knowledge base",
        html! {
            section aria-labelledby="try" {
                h2 id="try" { "Try a question" }
                form.card method="get" action="/console/kb" {
                    (field("A question a caller might ask", "q", "search", &question, true))
                    button type="submit" { "Ask" }
                }
                @if let Some(a) = &results {
                    @if !a.ok() { p.notice.problem role="alert" { (a.message()) } }
                    @else {
                        @let hits = a.body["results"].as_array().cloned().unwrap_or_default();
                        @if hits.is_empty() { p { "Nothing in the documents answers this; the voice agent would say it does not know." } }
                        ol.results {
                            @for h in &hits {
                                li {
                                    strong { (text(h, "title")) }
                                    " — similarity " (format!("{:.2}", h["similarity"].as_f64().unwrap_or(0.0)))
                                    ", score " (format!("{:.2}", h["score"].as_f64().unwrap_or(0.0)))
                                    p { (text(h, "text")) }
                                }
                            }
                        }
                    }
                }
            }
            section aria-labelledby="docs" {
                h2 id="docs" { "Documents" }
                @if docs.is_empty() { p { "No documents yet." } }
                ul {
                    @for d in &docs {
                        li {
                            a href={"/console/kb/" (text(d, "id"))} { (text(d, "title")) }
                            " (" (d["chunks"]) " passages)"
                            @if can_write { " " (button_form(&format!("/console/kb/{}/delete", text(d, "id")), &csrf, "Delete", "danger")) }
                        }
                    }
                }
                @if can_write {
                    h3 { "Add a document" }
                    form.card method="post" action="/console/kb" {
                        (csrf_field(&csrf))
                        (field("Title", "title", "text", "", true))
                        label { span { "Text" } textarea name="body" rows="8" required {} }
                        (field("Tags (comma-separated, optional)", "tags", "text", "", false))
                        button type="submit" { "Add" }
                    }
                }
            }
            @if !unanswered.is_empty() {
                section aria-labelledby="unanswered" {
                    h2 id="unanswered" { "Questions the agent could not answer" }
                    ul {
                        @for u in &unanswered {
                            li { (text(u, "question_redacted")) " — " small { (super::views::when(text(u, "at"), s.timezone)) } }
                        }
                    }
                }
            }
        },
    )
}

fn document_body(form: &HashMap<String, String>) -> Value {
    let tags: Vec<String> = form
        .get("tags")
        .map(|t| {
            t.split(',')
                .map(|x| x.trim().to_string())
                .filter(|x| !x.is_empty())
                .collect()
        })
        .unwrap_or_default();
    json!({
        "title": form.get("title").cloned().unwrap_or_default(),
        "body": form.get("body").cloned().unwrap_or_default(),
        "tags": tags,
    })
}

async fn kb_add(Posted { s, form }: Posted) -> Response {
    let answer = s
        .call(
            Method::POST,
            &format!("/api/orgs/{}/kb/documents", s.org()),
            Some(document_body(&form)),
        )
        .await;
    if !answer.ok() {
        return s.problem(&answer, "The document was not added");
    }
    s.after(
        "/console/kb",
        Notice::Done("Document added; the voice agent can use it now.".into()),
    )
}

async fn kb_edit(Path(id): Path<String>, s: Signed) -> Response {
    let answer = s
        .get(&format!(
            "/api/orgs/{}/kb/documents/{}",
            s.org(),
            query_encode(&id)
        ))
        .await;
    if !answer.ok() {
        return s.problem(&answer, "Document");
    }
    let d = answer.body;
    let tags = d["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    let can_write = s.role() != Role::Clinician;
    s.page(
        StatusCode::OK,
        text(&d, "title"),
        html! {
            @if can_write {
                form.card method="post" action={"/console/kb/" (id)} {
                    (csrf_field(&s.session.csrf))
                    (field("Title", "title", "text", text(&d, "title"), true))
                    label { span { "Text" } textarea name="body" rows="14" required { (text(&d, "body")) } }
                    (field("Tags (comma-separated, optional)", "tags", "text", &tags, false))
                    button type="submit" { "Save" }
                }
            } @else {
                pre.document { (text(&d, "body")) }
            }
            p { a href="/console/kb" { "Back to the knowledge base" } }
        },
    )
}

async fn kb_save(Path(id): Path<String>, Posted { s, form }: Posted) -> Response {
    let answer = s
        .call(
            Method::PUT,
            &format!("/api/orgs/{}/kb/documents/{}", s.org(), query_encode(&id)),
            Some(document_body(&form)),
        )
        .await;
    if !answer.ok() {
        return s.problem(&answer, "The document was not saved");
    }
    s.after("/console/kb", Notice::Done("Document saved.".into()))
}

async fn kb_delete(Path(id): Path<String>, Posted { s, .. }: Posted) -> Response {
    let answer = s
        .call(
            Method::DELETE,
            &format!("/api/orgs/{}/kb/documents/{}", s.org(), query_encode(&id)),
            None,
        )
        .await;
    if !answer.ok() {
        return s.problem(&answer, "The document was not deleted");
    }
    s.after("/console/kb", Notice::Done("Document deleted.".into()))
}

// ----- settings: the clinic, services, providers, keys, users -----

/// The clinic settings the page edits: (field, label, input type).
const SETTING_FIELDS: [(&str, &str, &str); 10] = [
    (
        "min_notice_minutes",
        "Minimum notice for a booking (minutes)",
        "number",
    ),
    (
        "horizon_days",
        "How far ahead callers can book (days)",
        "number",
    ),
    ("slot_step_minutes", "Start times every (minutes)", "number"),
    (
        "phone_region",
        "Phone numbers without +code are from (country code, e.g. GB)",
        "text",
    ),
    ("quiet_hours_start", "No texts from (HH:MM)", "text"),
    ("quiet_hours_end", "No texts until (HH:MM)", "text"),
    (
        "reminder_hours_before",
        "Reminder text before an appointment (hours)",
        "number",
    ),
    (
        "followup_window_days",
        "At most one follow-up text per number every (days)",
        "number",
    ),
    ("booking_link", "Booking link in follow-up texts", "url"),
    (
        "sms_from",
        "Clinic's own SMS sender (E.164, optional)",
        "tel",
    ),
];

/// The rule engine's weekday keys, and how the form names them.
const DAYS: [(&str, &str); 7] = [
    ("mon", "Monday"),
    ("tue", "Tuesday"),
    ("wed", "Wednesday"),
    ("thu", "Thursday"),
    ("fri", "Friday"),
    ("sat", "Saturday"),
    ("sun", "Sunday"),
];

async fn settings(Query(q): Params, s: Signed) -> Response {
    let org = s.org();
    let current = s.get(&format!("/api/orgs/{org}/settings")).await;
    if !current.ok() {
        return s.problem(&current, "Settings");
    }
    let dir = Directory::load(&s).await;
    let keys = s.get(&format!("/api/orgs/{org}/agent-keys")).await.body["agent_keys"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let users = s.get(&format!("/api/orgs/{org}/users")).await.body["users"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let new_key = q.contains_key("key_shown");
    let csrf = s.session.csrf.clone();
    let cfg = current.body;
    let value = |k: &str| match &cfg[k] {
        Value::String(v) => v.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let roles: Vec<(String, String)> = ["staff", "clinician", "admin"]
        .iter()
        .map(|r| (r.to_string(), r.to_string()))
        .collect();
    s.page(
        StatusCode::OK,
        "Settings",
        html! {
            @if new_key { p.notice.done role="status" { "The key was shown once above; it cannot be shown again." } }
            section aria-labelledby="clinic" {
                h2 id="clinic" { "Clinic" }
                form.card method="post" action="/console/settings" {
                    (csrf_field(&csrf))
                    @for (name, label, kind) in SETTING_FIELDS { (field(label, name, kind, &value(name), false)) }
                    button type="submit" { "Save settings" }
                }
            }
            section aria-labelledby="services" {
                h2 id="services" { "Services" }
                ul { @for sv in &dir.services { li { (text(sv, "name")) " — " (sv["duration_minutes"]) " min" } } }
                form.card method="post" action="/console/settings/services" {
                    (csrf_field(&csrf))
                    (field("Name", "name", "text", "", true))
                    (field("Length (minutes)", "duration_minutes", "number", "30", true))
                    (field("Gap before (minutes)", "buffer_before_minutes", "number", "0", false))
                    (field("Gap after (minutes)", "buffer_after_minutes", "number", "0", false))
                    button type="submit" { "Add service" }
                }
            }
            section aria-labelledby="providers" {
                h2 id="providers" { "Providers" }
                @for p in &dir.providers {
                    details {
                        summary { (text(p, "name")) }
                        p { "Weekly hours: " (hours_text(&p["weekly_hours"])) }
                        p { "Breaks: " (hours_text(&p["breaks"])) }
                        @let off = p["time_off"].as_array().cloned().unwrap_or_default();
                        @if !off.is_empty() { p { "Time off: " @for t in &off { (super::views::when(text(t, "start"), s.timezone)) " – " (super::views::when(text(t, "end"), s.timezone)) "; " } } }
                        form.card method="post" action={"/console/settings/providers/" (text(p, "id")) "/hours"} {
                            (csrf_field(&csrf))
                            (hours_fields(&p["weekly_hours"], &p["breaks"]))
                            button type="submit" { "Save hours" }
                        }
                        form.card method="post" action={"/console/settings/providers/" (text(p, "id")) "/time-off"} {
                            (csrf_field(&csrf))
                            (field("Time off from", "start", "datetime-local", "", true))
                            (field("Until", "end", "datetime-local", "", true))
                            (field("Reason (optional)", "reason", "text", "", false))
                            button type="submit" { "Add time off" }
                        }
                    }
                }
                form.card method="post" action="/console/settings/providers" {
                    (csrf_field(&csrf))
                    h3 { "Add a provider" }
                    (field("Name", "name", "text", "", true))
                    fieldset {
                        legend { "Services they give" }
                        @for sv in &dir.services {
                            label.check { input type="checkbox" name={"service:" (text(sv, "id"))} value="on"; (text(sv, "name")) }
                        }
                    }
                    (hours_fields(&Value::Null, &Value::Null))
                    button type="submit" { "Add provider" }
                }
            }
            section aria-labelledby="keys" {
                h2 id="keys" { "Voice agent keys" }
                ul {
                    @for k in &keys {
                        li {
                            (text(k, "name")) " — made " (super::views::when(text(k, "created_at"), s.timezone))
                            @if k["revoked_at"].is_null() { " " (button_form(&format!("/console/settings/agent-keys/{}/revoke", text(k, "id")), &csrf, "Revoke", "danger")) }
                            @else { " (revoked)" }
                        }
                    }
                }
                form.card method="post" action="/console/settings/agent-keys" {
                    (csrf_field(&csrf))
                    (field("Name (e.g. Vapi production)", "name", "text", "", true))
                    button type="submit" { "Create a key" }
                }
            }
            section aria-labelledby="users" {
                h2 id="users" { "People" }
                table {
                    thead { tr { th scope="col" { "Email" } th scope="col" { "Name" } th scope="col" { "Role" } th scope="col" { "" } } }
                    tbody {
                        @for u in &users {
                            tr {
                                td { (text(u, "email")) }
                                td { (u["full_name"].as_str().unwrap_or("")) }
                                td { (text(u, "role")) }
                                td { (button_form(&format!("/console/settings/users/{}/delete", text(u, "user_id")), &csrf, "Remove", "danger")) }
                            }
                        }
                    }
                }
                form.card method="post" action="/console/settings/users" {
                    (csrf_field(&csrf))
                    (field("Email", "email", "email", "", true))
                    (field("Full name", "full_name", "text", "", false))
                    (field("First password (they can be given it in person)", "password", "password", "", true))
                    (select("Role", "role", &roles, "staff", true))
                    button type="submit" { "Add person" }
                }
            }
            p { a href="/console/calendar" { "Google Calendar connection" } }
        },
    )
}

/// The weekly-hours and daily-break fields of a provider form: the provider's current hours
/// (one window a day), or for a new provider nine to five on weekdays.
fn hours_fields(hours: &Value, breaks: &Value) -> maud::Markup {
    let window = |v: &Value, d: &str, i: usize| v[d][0][i].as_str().map(str::to_string);
    let new = hours.is_null();
    let first_break = DAYS
        .iter()
        .find_map(|(d, _)| window(breaks, d, 0).zip(window(breaks, d, 1)));
    html! {
        fieldset {
            legend { "Weekly hours (leave a day empty when they do not work)" }
            @for (i, (d, day)) in DAYS.iter().enumerate() {
                @let from = if new { (i < 5).then(|| "09:00".to_string()) } else { window(hours, d, 0) };
                @let to = if new { (i < 5).then(|| "17:00".to_string()) } else { window(hours, d, 1) };
                div.day-hours {
                    span { (day) }
                    label { span.visually-hidden { (day) " from" } input type="time" name={(d) ":from"} value=[from]; }
                    label { span.visually-hidden { (day) " until" } input type="time" name={(d) ":to"} value=[to]; }
                }
            }
        }
        fieldset {
            legend { "Daily break on working days (optional)" }
            div.day-hours {
                label { span { "From" } input type="time" name="break:from" value=[first_break.as_ref().map(|b| b.0.clone())]; }
                label { span { "Until" } input type="time" name="break:to" value=[first_break.as_ref().map(|b| b.1.clone())]; }
            }
        }
    }
}

/// The hours and breaks a provider form gives, as the API takes them.
fn hours_from_form(form: &HashMap<String, String>) -> (Value, Value) {
    let field = |k: &str| form.get(k).map(|v| v.trim()).unwrap_or("");
    let daily_break = (field("break:from"), field("break:to"));
    let mut hours = serde_json::Map::new();
    let mut breaks = serde_json::Map::new();
    for (d, _) in DAYS {
        let (from, to) = (field(&format!("{d}:from")), field(&format!("{d}:to")));
        if !from.is_empty() && !to.is_empty() {
            hours.insert(d.to_string(), json!([[from, to]]));
            if !daily_break.0.is_empty() && !daily_break.1.is_empty() {
                breaks.insert(d.to_string(), json!([[daily_break.0, daily_break.1]]));
            }
        }
    }
    (Value::Object(hours), Value::Object(breaks))
}

fn hours_text(v: &Value) -> String {
    let parts: Vec<String> = v
        .as_object()
        .into_iter()
        .flatten()
        .map(|(day, windows)| {
            let w: Vec<String> = windows
                .as_array()
                .into_iter()
                .flatten()
                .map(|pair| {
                    format!(
                        "{}–{}",
                        pair[0].as_str().unwrap_or(""),
                        pair[1].as_str().unwrap_or("")
                    )
                })
                .collect();
            format!("{day} {}", w.join(", "))
        })
        .collect();
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join("; ")
    }
}

async fn settings_save(Posted { s, form }: Posted) -> Response {
    let path = format!("/api/orgs/{}/settings", s.org());
    let current = s.get(&path).await;
    if !current.ok() {
        return s.problem(&current, "Settings were not saved");
    }
    let mut cfg = current.body;
    for (name, _, kind) in SETTING_FIELDS {
        let Some(v) = form.get(name).map(|v| v.trim()) else {
            continue;
        };
        cfg[name] = match (kind, v) {
            // An emptied optional field clears it; an emptied number or text keeps its value.
            (_, "") if cfg[name].is_null() || matches!(kind, "url" | "tel") => Value::Null,
            (_, "") => continue,
            ("number", v) => v
                .parse::<i64>()
                .map(Value::from)
                .unwrap_or_else(|_| json!(v)),
            (_, v) => json!(v),
        };
    }
    let answer = s.call(Method::PUT, &path, Some(cfg)).await;
    if !answer.ok() {
        let fields = answer.field_errors();
        let message = if fields.is_empty() {
            answer.message()
        } else {
            format!("Check these settings: {}.", fields.join("; "))
        };
        return s.after("/console/settings", Notice::Problem(message));
    }
    s.after("/console/settings", Notice::Done("Settings saved.".into()))
}

fn number(form: &HashMap<String, String>, key: &str) -> Value {
    form.get(key)
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .map(|v| {
            v.parse::<i64>()
                .map(Value::from)
                .unwrap_or_else(|_| json!(v))
        })
        .unwrap_or(Value::Null)
}

async fn service_add(Posted { s, form }: Posted) -> Response {
    let mut body = json!({
        "name": form.get("name").cloned().unwrap_or_default(),
        "duration_minutes": number(&form, "duration_minutes"),
    });
    for k in ["buffer_before_minutes", "buffer_after_minutes"] {
        let v = number(&form, k);
        if !v.is_null() {
            body[k] = v;
        }
    }
    let answer = s
        .call(
            Method::POST,
            &format!("/api/orgs/{}/services", s.org()),
            Some(body),
        )
        .await;
    settled(&s, answer, "Service added.")
}

/// Back to the settings page with what the API said.
fn settled(s: &Signed, answer: super::api::Answer, done: &str) -> Response {
    if answer.ok() {
        return s.after("/console/settings", Notice::Done(done.into()));
    }
    let fields = answer.field_errors();
    let message = if fields.is_empty() {
        answer.message()
    } else {
        format!("Check these details: {}.", fields.join("; "))
    };
    s.after("/console/settings", Notice::Problem(message))
}

async fn provider_add(Posted { s, form }: Posted) -> Response {
    let services: Vec<&str> = form
        .keys()
        .filter_map(|k| k.strip_prefix("service:"))
        .collect();
    let (hours, breaks) = hours_from_form(&form);
    let body = json!({
        "name": form.get("name").cloned().unwrap_or_default(),
        "service_ids": services,
        "weekly_hours": hours,
        "breaks": breaks,
    });
    let answer = s
        .call(
            Method::POST,
            &format!("/api/orgs/{}/providers", s.org()),
            Some(body),
        )
        .await;
    settled(&s, answer, "Provider added.")
}

async fn hours_save(Path(id): Path<String>, Posted { s, form }: Posted) -> Response {
    let (hours, breaks) = hours_from_form(&form);
    let answer = s
        .call(
            Method::PUT,
            &format!(
                "/api/orgs/{}/providers/{}/hours",
                s.org(),
                query_encode(&id)
            ),
            Some(json!({ "weekly_hours": hours, "breaks": breaks })),
        )
        .await;
    settled(&s, answer, "Hours saved; new bookings follow them.")
}

async fn time_off_add(Path(id): Path<String>, Posted { s, form }: Posted) -> Response {
    // The form gives local date-times; the API wants instants with the clinic's offset.
    let instant = |k: &str| {
        form.get(k)
            .and_then(|v| chrono::NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M").ok())
            .and_then(|t| chrono::TimeZone::from_local_datetime(&s.timezone, &t).earliest())
            .map(|t| t.to_rfc3339())
            .unwrap_or_default()
    };
    let mut body = json!({ "start": instant("start"), "end": instant("end") });
    if let Some(r) = form.get("reason").filter(|r| !r.trim().is_empty()) {
        body["reason"] = json!(r);
    }
    let answer = s
        .call(
            Method::POST,
            &format!(
                "/api/orgs/{}/providers/{}/time-off",
                s.org(),
                query_encode(&id)
            ),
            Some(body),
        )
        .await;
    settled(
        &s,
        answer,
        "Time off added; those hours are no longer offered.",
    )
}

async fn agent_key_add(Posted { s, form }: Posted) -> Response {
    let answer = s
        .call(
            Method::POST,
            &format!("/api/orgs/{}/agent-keys", s.org()),
            Some(json!({"name": form.get("name").cloned().unwrap_or_default()})),
        )
        .await;
    if !answer.ok() {
        return settled(&s, answer, "");
    }
    // Shown once, on this answer only; never stored by the console.
    let secret = answer.body["secret"]
        .as_str()
        .or_else(|| answer.body["key"].as_str())
        .unwrap_or("")
        .to_string();
    s.page(
        StatusCode::CREATED,
        "New voice agent key",
        html! {
            p { "Copy this key into Vapi now. It is shown this once and cannot be shown again." }
            p { code.secret { (secret) } }
            p { a href="/console/settings?key_shown=1" { "Back to settings" } }
        },
    )
}

async fn agent_key_revoke(Path(id): Path<String>, Posted { s, .. }: Posted) -> Response {
    let answer = s
        .call(
            Method::DELETE,
            &format!("/api/orgs/{}/agent-keys/{}", s.org(), query_encode(&id)),
            None,
        )
        .await;
    settled(
        &s,
        answer,
        "Key revoked; the voice agent can no longer use it.",
    )
}

async fn user_add(Posted { s, form }: Posted) -> Response {
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    let mut body = json!({"email": get("email"), "password": get("password"), "role": get("role")});
    if !get("full_name").trim().is_empty() {
        body["full_name"] = json!(get("full_name"));
    }
    let answer = s
        .call(
            Method::POST,
            &format!("/api/orgs/{}/users", s.org()),
            Some(body),
        )
        .await;
    settled(&s, answer, "Person added; they can sign in now.")
}

async fn user_delete(Path(id): Path<String>, Posted { s, .. }: Posted) -> Response {
    let answer = s
        .call(
            Method::DELETE,
            &format!("/api/orgs/{}/users/{}", s.org(), query_encode(&id)),
            None,
        )
        .await;
    settled(&s, answer, "Person removed; their sessions have ended.")
}

// ----- audit log -----

async fn audit(Query(q): Params, s: Signed) -> Response {
    let org = s.org();
    let verification = s.get(&format!("/api/orgs/{org}/audit/verify")).await;
    if !verification.ok() {
        return s.problem(&verification, "Audit log");
    }
    let total = verification.body["entries"].as_u64().unwrap_or(0);
    // Newest first, a hundred a page: page 0 is the latest hundred.
    let pages = total.div_ceil(100).max(1);
    let at = q
        .get("page")
        .and_then(|p| p.parse::<u64>().ok())
        .unwrap_or(0)
        .min(pages - 1);
    let upper = total - (at * 100).min(total);
    let after = upper.saturating_sub(100);
    let limit = (upper - after).max(1);
    let page = s
        .get(&format!(
            "/api/orgs/{org}/audit?after={after}&limit={limit}"
        ))
        .await;
    let mut entries = page.body["entries"].as_array().cloned().unwrap_or_default();
    entries.reverse();
    let verify = q.contains_key("verify");
    // Who each `user:<id>` is, for people reading the log (the entry keeps the id).
    let people: HashMap<String, String> = s.get(&format!("/api/orgs/{org}/users")).await.body
        ["users"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|u| {
            (
                format!("user:{}", text(u, "user_id")),
                text(u, "email").to_string(),
            )
        })
        .collect();
    s.page(
        StatusCode::OK,
        "Audit log",
        html! {
            form.inline method="get" action="/console/audit" {
                input type="hidden" name="verify" value="1";
                button type="submit" { "Verify chain" }
            }
            nav.pager aria-label="Pages" {
                @if at > 0 { a href={"/console/audit?page=" (at - 1)} { "← Newer" } }
                span { "Entries " (after + 1) "–" (upper) " of " (total) }
                @if at + 1 < pages { a href={"/console/audit?page=" (at + 1)} { "Older →" } }
            }
            @if verify {
                @if verification.body["ok"] == true {
                    p.notice.done role="status" { "The chain holds: " (total) " entries, each sealed to the one before." }
                } @else {
                    p.notice.problem role="alert" { "The chain does not hold from entry " (verification.body["first_bad_seq"]) ". Keep this appliance as it is and contact support." }
                }
            }
            table {
                thead { tr { th scope="col" { "#" } th scope="col" { "When" } th scope="col" { "Who" } th scope="col" { "What" } th scope="col" { "On" } th scope="col" { "Outcome" } } }
                tbody {
                    @for e in &entries {
                        tr {
                            td { (e["seq"]) }
                            td { (super::views::when(text(e, "at"), s.timezone)) }
                            td {
                                @match people.get(text(e, "actor")) {
                                    Some(email) => { (email) br; small { (text(e, "actor")) } },
                                    None => (text(e, "actor")),
                                }
                            }
                            td { (text(e, "action").replace('_', " ")) }
                            td { (text(e, "target")) }
                            td { (status_badge(text(e, "outcome"))) }
                        }
                    }
                }
            }
        },
    )
}
