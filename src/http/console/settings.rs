//! The clinic's settings (admin): booking and follow-up settings, services, providers with
//! their weekly hours, breaks and time off, agent keys (shown once) and users.

use super::*;
use crate::http::identity::{AgentKeyCreated, AgentKeyList, UserList};

/// The clinic settings the page edits: (field, label, input type). Every per-clinic setting
/// but `calendar_id`, which the Calendar page chooses.
pub(super) const SETTING_FIELDS: [(&str, &str, &str); 15] = [
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
        "Clinic's own SMS sender, E.164 (optional)",
        "tel",
    ),
    ("sms_help_text", "Reply to a texted HELP (optional)", "text"),
    (
        "caller_verification",
        "Callers prove who they are by: birth_date, birth_date_or_appointment, birth_date_or_code or birth_date_code_or_appointment",
        "text",
    ),
    (
        "public_url",
        "Clinic's website, where guide links like /guides/… point (optional)",
        "url",
    ),
    (
        "hold_minutes",
        "A time stays held for a caller giving their details for (minutes, 1–30)",
        "number",
    ),
    (
        "offer_minutes",
        "A freed time texted to the waiting list is held for a reply for (minutes, 5–240)",
        "number",
    ),
];

/// The rule engine's weekday keys, and how the form names them.
pub(super) const DAYS: [(&str, &str); 7] = [
    ("mon", "Monday"),
    ("tue", "Tuesday"),
    ("wed", "Wednesday"),
    ("thu", "Thursday"),
    ("fri", "Friday"),
    ("sat", "Saturday"),
    ("sun", "Sunday"),
];

pub(super) async fn settings(Query(q): Params, s: Signed) -> Response {
    let org = s.org();
    let current = s.get(&format!("/api/orgs/{org}/settings")).await;
    if !current.ok() {
        return s.problem(&current, "Settings");
    }
    let dir = Directory::load(&s).await;
    let keys = s
        .get(&format!("/api/orgs/{org}/agent-keys"))
        .await
        .read::<AgentKeyList>()
        .map(|l| l.agent_keys)
        .unwrap_or_default();
    let users = s
        .get(&format!("/api/orgs/{org}/users"))
        .await
        .read::<UserList>()
        .map(|l| l.users)
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
                p { "This clinic's own settings (the same as the API's settings of the clinic); the appliance's own settings are in its configuration file, set by whoever installed it." }
                form.card method="post" action="/console/settings" {
                    (csrf_field(&csrf))
                    @for (name, label, kind) in SETTING_FIELDS { (field(label, name, kind, &value(name), false)) }
                    button type="submit" { "Save settings" }
                }
            }
            section aria-labelledby="services" {
                h2 id="services" { "Services" }
                ul { @for sv in &dir.services { li { (sv.name) " — " (sv.duration_minutes) " min" } } }
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
                        @let hours = Value::Object(p.weekly_hours.clone());
                        @let breaks = Value::Object(p.breaks.clone());
                        summary { (p.name) }
                        p { "Weekly hours: " (hours_text(&hours)) }
                        p { "Breaks: " (hours_text(&breaks)) }
                        @if !p.time_off.is_empty() { p { "Time off: " @for t in &p.time_off { (super::views::when(&t.start, s.timezone)) " – " (super::views::when(&t.end, s.timezone)) "; " } } }
                        form.card method="post" action={"/console/settings/providers/" (p.id) "/hours"} {
                            (csrf_field(&csrf))
                            (hours_fields(&hours, &breaks))
                            button type="submit" { "Save hours" }
                        }
                        form.card method="post" action={"/console/settings/providers/" (p.id) "/time-off"} {
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
                            label.check { input type="checkbox" name={"service:" (sv.id)} value="on"; (sv.name) }
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
                            (k.name) " — made " (super::views::when(&k.created_at, s.timezone))
                            @if k.revoked_at.is_none() { " " (button_form(&format!("/console/settings/agent-keys/{}/revoke", k.id), &csrf, "Revoke", "danger")) }
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
            section aria-labelledby="fhir" {
                h2 id="fhir" { "FHIR" }
                p {
                    "Practice systems read this diary and book into it over FHIR R4 at "
                    code id="fhir-base" { (s.console.fhir_base) }
                    " with a staff sign-in's access token or a voice agent key (see the README)."
                }
            }
            section aria-labelledby="users" {
                h2 id="users" { "People" }
                table {
                    thead { tr { th scope="col" { "Email" } th scope="col" { "Name" } th scope="col" { "Role" } th scope="col" { "" } } }
                    tbody {
                        @for u in &users {
                            tr {
                                td { (u.email) }
                                td { (u.full_name.as_deref().unwrap_or("")) }
                                td { (u.role.as_str()) }
                                td { (button_form(&format!("/console/settings/users/{}/delete", u.user_id), &csrf, "Remove", "danger")) }
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
pub(super) fn hours_fields(hours: &Value, breaks: &Value) -> maud::Markup {
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
pub(super) fn hours_from_form(form: &HashMap<String, String>) -> (Value, Value) {
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

pub(super) fn hours_text(v: &Value) -> String {
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

pub(super) async fn settings_save(Posted { s, form }: Posted) -> Response {
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

pub(super) fn number(form: &HashMap<String, String>, key: &str) -> Value {
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

pub(super) async fn service_add(Posted { s, form }: Posted) -> Response {
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
pub(super) fn settled(s: &Signed, answer: super::api::Answer, done: &str) -> Response {
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

pub(super) async fn provider_add(Posted { s, form }: Posted) -> Response {
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

pub(super) async fn hours_save(Path(id): Path<String>, Posted { s, form }: Posted) -> Response {
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

pub(super) async fn time_off_add(Path(id): Path<String>, Posted { s, form }: Posted) -> Response {
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

pub(super) async fn agent_key_add(Posted { s, form }: Posted) -> Response {
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
    let secret = answer
        .read::<AgentKeyCreated>()
        .map(|k| k.key)
        .unwrap_or_default();
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

pub(super) async fn agent_key_revoke(Path(id): Path<String>, Posted { s, .. }: Posted) -> Response {
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

pub(super) async fn user_add(Posted { s, form }: Posted) -> Response {
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

pub(super) async fn user_delete(Path(id): Path<String>, Posted { s, .. }: Posted) -> Response {
    let answer = s
        .call(
            Method::DELETE,
            &format!("/api/orgs/{}/users/{}", s.org(), query_encode(&id)),
            None,
        )
        .await;
    settled(&s, answer, "Person removed; their sessions have ended.")
}
