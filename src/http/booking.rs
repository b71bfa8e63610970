//! Routes for clinic set-up (settings, services, providers, time off), availability,
//! appointments, and the public confirmation page.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Html;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::ApiError;
use super::extract::{path_id, ApiJson, OrgScope};
use super::AppState;
use crate::booking::intake::{self, AppointmentFields, DurationInput};
use crate::booking::ledger::BookRequest;
use crate::booking::records::{
    AppointmentRecord, BookingSource, ClinicSettings, Patient, ProviderRecord, ServiceRecord,
};
use crate::booking::schedule::WeeklyHours;
use crate::booking::{local_instant, AppointmentFilter, NewProvider, NewService, Slot};
use crate::domain::{FieldError, PhoneNumber, ProviderId, Role, ServiceId, Validation};

const SET_UP: &[Role] = &[Role::Admin, Role::Staff];
const READ: &[Role] = &[Role::Admin, Role::Staff, Role::Clinician];

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/orgs/{org}/settings",
            get(get_settings).put(put_settings),
        )
        .route(
            "/api/orgs/{org}/services",
            post(create_service).get(list_services),
        )
        .route(
            "/api/orgs/{org}/providers",
            post(create_provider).get(list_providers),
        )
        .route("/api/orgs/{org}/providers/{provider_id}", get(get_provider))
        .route(
            "/api/orgs/{org}/providers/{provider_id}/time-off",
            post(add_time_off),
        )
        .route("/api/orgs/{org}/availability", get(availability))
        .route(
            "/api/orgs/{org}/appointments",
            post(create_appointment).get(list_appointments),
        )
        .route(
            "/api/orgs/{org}/appointments/{appointment_id}",
            get(get_appointment),
        )
        .route(
            "/api/orgs/{org}/appointments/{appointment_id}/cancel",
            post(cancel_appointment),
        )
        .route(
            "/api/orgs/{org}/appointments/{appointment_id}/reschedule",
            post(reschedule_appointment),
        )
        .route("/api/orgs/{org}/outbox", get(list_outbox))
        .route("/confirm/{token}", get(confirm))
        .route("/calendar/{file}", get(ics_feed))
}

/// An instant in the clinic's zone, RFC 3339 with its offset.
pub fn local_text(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).to_rfc3339()
}

pub fn slot_json(s: &Slot, tz: Tz) -> Value {
    json!({"provider_id": s.provider_id, "start": local_text(s.start, tz), "end": local_text(s.end, tz)})
}

pub fn appointment_json(a: &AppointmentRecord, tz: Tz) -> Value {
    json!({
        "id": a.id,
        "status": a.status,
        "provider_id": a.provider_id,
        "service_id": a.service_id,
        "start": local_text(a.start, tz),
        "end": local_text(a.end, tz),
        "patient": {"name": a.patient.name, "phone": a.patient.phone,
                    "phone_allocated": a.patient.phone.is_allocated(), "email": a.patient.email},
        "notes": a.notes,
        "source": a.source,
        "vapi_call_id": a.vapi_call_id,
        "vapi_tool_call_id": a.vapi_tool_call_id,
        "confirmation_token": a.confirmation_token,
        "calendar_sync": a.calendar_sync,
        "created_at": a.created_at,
        "updated_at": a.updated_at,
    })
}

fn service_json(s: &ServiceRecord) -> Value {
    json!({
        "id": s.id, "name": s.name, "duration_minutes": s.duration_minutes,
        "buffer_before_minutes": s.buffer_before_minutes, "buffer_after_minutes": s.buffer_after_minutes,
        "procedure": s.procedure,
    })
}

fn provider_json(p: &ProviderRecord, tz: Tz) -> Value {
    let time_off: Vec<Value> = p
        .time_off
        .iter()
        .map(|t| json!({"start": local_text(t.start, tz), "end": local_text(t.end, tz), "reason": t.reason}))
        .collect();
    json!({
        "id": p.id, "name": p.name, "service_ids": p.service_ids,
        "weekly_hours": p.weekly_hours.to_map(), "breaks": p.breaks.to_map(),
        "time_off": time_off,
        "calendar_feed": format!("/calendar/{}.ics", p.feed_token),
    })
}

/// Reads `start` (RFC 3339 with offset) or `date` + `time` in the clinic's zone; either must
/// lie in the accepted window around `now` (`booking::intake`), the field named when not.
pub fn parse_start(
    start: Option<&str>,
    date: Option<&str>,
    time: Option<&str>,
    tz: Tz,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, Vec<FieldError>> {
    if let Some(s) = start {
        return parse_instant(s, now).map_err(|m| vec![FieldError::new("start", m)]);
    }
    let mut v = Validation::new();
    let today = now.with_timezone(&tz).date_naive();
    let d = v.check(
        "date",
        date.ok_or_else(|| "is required (or give start)".to_string())
            .and_then(|d| {
                NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d")
                    .map_err(|_| "must be YYYY-MM-DD".to_string())
            })
            .and_then(|d| intake::date_in_window(d, today)),
    );
    let t = v.check(
        "time",
        time.ok_or_else(|| "is required (or give start)".to_string())
            .and_then(|t| {
                NaiveTime::parse_from_str(t.trim(), "%H:%M")
                    .map_err(|_| "must be HH:MM".to_string())
            }),
    );
    v.finish()?;
    match (d, t) {
        (Some(d), Some(t)) => local_instant(tz, d, t).map_err(|m| vec![FieldError::new("time", m)]),
        _ => Err(vec![FieldError::new("start", "is required")]),
    }
}

/// An RFC 3339 instant with its offset, inside the accepted window around `now`.
fn parse_instant(s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| "must be RFC 3339 with an offset, e.g. 2026-01-17T14:00:00+00:00".to_string())
        .and_then(|t| intake::instant_in_window(t, now))
}

async fn get_settings(
    State(state): State<AppState>,
    scope: OrgScope,
) -> Result<Json<Value>, ApiError> {
    scope.require(READ)?;
    Ok(Json(json!(state.booking.settings(scope.org).await?)))
}

async fn put_settings(
    State(state): State<AppState>,
    scope: OrgScope,
    ApiJson(body): ApiJson<ClinicSettings>,
) -> Result<Json<Value>, ApiError> {
    scope.require(&[Role::Admin])?;
    Ok(Json(json!(
        state.booking.put_settings(scope.caller, body).await?
    )))
}

#[derive(Deserialize)]
struct ServiceBody {
    name: String,
    duration_minutes: u32,
    buffer_before_minutes: Option<u32>,
    buffer_after_minutes: Option<u32>,
    procedure: Option<String>,
}

async fn create_service(
    State(state): State<AppState>,
    scope: OrgScope,
    ApiJson(b): ApiJson<ServiceBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    scope.require(SET_UP)?;
    let s = state
        .booking
        .create_service(
            scope.caller,
            NewService {
                name: b.name,
                duration_minutes: b.duration_minutes,
                buffer_before_minutes: b.buffer_before_minutes.unwrap_or(0),
                buffer_after_minutes: b.buffer_after_minutes.unwrap_or(0),
                procedure: b.procedure,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(service_json(&s))))
}

async fn list_services(
    State(state): State<AppState>,
    scope: OrgScope,
) -> Result<Json<Value>, ApiError> {
    scope.require(READ)?;
    let view = state.booking.clinic(scope.org).await?;
    Ok(Json(
        json!({"services": view.services.iter().map(service_json).collect::<Vec<_>>()}),
    ))
}

type DayWindows = std::collections::BTreeMap<String, Vec<[String; 2]>>;

#[derive(Deserialize)]
struct ProviderBody {
    name: String,
    #[serde(default)]
    service_ids: Vec<String>,
    weekly_hours: DayWindows,
    #[serde(default)]
    breaks: DayWindows,
}

fn weekly(field: &str, days: &DayWindows) -> Result<WeeklyHours, String> {
    let _ = field;
    WeeklyHours::parse(days.iter().map(|(d, w)| (d.as_str(), w.as_slice())))
}

async fn create_provider(
    State(state): State<AppState>,
    scope: OrgScope,
    ApiJson(b): ApiJson<ProviderBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    scope.require(SET_UP)?;
    let mut v = Validation::new();
    let hours = v.check("weekly_hours", weekly("weekly_hours", &b.weekly_hours));
    let breaks = v.check("breaks", weekly("breaks", &b.breaks));
    let ids: Vec<Option<ServiceId>> = b
        .service_ids
        .iter()
        .map(|s| v.check("service_ids", s.parse::<ServiceId>()))
        .collect();
    v.finish().map_err(ApiError::Invalid)?;
    let p = state
        .booking
        .create_provider(
            scope.caller,
            NewProvider {
                name: b.name,
                service_ids: ids.into_iter().flatten().collect(),
                weekly_hours: hours.unwrap_or_default(),
                breaks: breaks.unwrap_or_default(),
            },
        )
        .await?;
    let tz = state.booking.zone(scope.org).await?;
    Ok((StatusCode::CREATED, Json(provider_json(&p, tz))))
}

async fn list_providers(
    State(state): State<AppState>,
    scope: OrgScope,
) -> Result<Json<Value>, ApiError> {
    scope.require(READ)?;
    let view = state.booking.clinic(scope.org).await?;
    Ok(Json(
        json!({"providers": view.providers.iter().map(|p| provider_json(p, view.tz)).collect::<Vec<_>>()}),
    ))
}

async fn get_provider(
    State(state): State<AppState>,
    scope: OrgScope,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    scope.require(READ)?;
    let p = state.booking.provider(scope.org, path_id(&id)?).await?;
    let tz = state.booking.zone(scope.org).await?;
    Ok(Json(provider_json(&p, tz)))
}

#[derive(Deserialize)]
struct TimeOffBody {
    start: String,
    end: String,
    reason: Option<String>,
}

async fn add_time_off(
    State(state): State<AppState>,
    scope: OrgScope,
    Path((_, id)): Path<(String, String)>,
    ApiJson(b): ApiJson<TimeOffBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    scope.require(SET_UP)?;
    let provider: ProviderId = path_id(&id)?;
    let tz = state.booking.zone(scope.org).await?;
    let now = state.booking.now();
    let mut v = Validation::new();
    let start = v.check("start", parse_instant(&b.start, now));
    let end = v.check("end", parse_instant(&b.end, now));
    v.finish().map_err(ApiError::Invalid)?;
    let (Some(start), Some(end)) = (start, end) else {
        return Err(ApiError::Internal);
    };
    let p = state
        .booking
        .add_time_off(scope.caller, provider, start, end, b.reason)
        .await?;
    Ok((StatusCode::CREATED, Json(provider_json(&p, tz))))
}

#[derive(Deserialize)]
struct AvailabilityQuery {
    service_id: Option<String>,
    provider_id: Option<String>,
    date: Option<String>,
    days: Option<u32>,
}

async fn availability(
    State(state): State<AppState>,
    scope: OrgScope,
    Query(q): Query<AvailabilityQuery>,
) -> Result<Json<Value>, ApiError> {
    scope.require(READ)?;
    let tz = state.booking.zone(scope.org).await?;
    let mut v = Validation::new();
    let service = v.check_opt(
        "service_id",
        q.service_id
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(str::parse::<ServiceId>),
    );
    let provider = v.check_opt(
        "provider_id",
        q.provider_id
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(str::parse::<ProviderId>),
    );
    let today = state.booking.now().with_timezone(&tz).date_naive();
    let date = match q.date.as_deref() {
        Some(d) => v.check(
            "date",
            NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .map_err(|_| "must be YYYY-MM-DD".to_string())
                .and_then(|d| intake::date_in_window(d, today)),
        ),
        None => Some(today),
    };
    let days = q.days.unwrap_or(1);
    v.check(
        "days",
        if (1..=31).contains(&days) {
            Ok(())
        } else {
            Err("must be between 1 and 31".to_string())
        },
    );
    v.finish().map_err(ApiError::Invalid)?;
    let date = date.ok_or(ApiError::Internal)?;
    let slots = state
        .booking
        .availability(scope.org, service, provider, date, days)
        .await?;
    Ok(Json(
        json!({"slots": slots.iter().map(|s| slot_json(s, tz)).collect::<Vec<_>>()}),
    ))
}

#[derive(Deserialize)]
struct PatientBody {
    name: String,
    phone: String,
    email: Option<String>,
}

#[derive(Deserialize)]
struct AppointmentBody {
    provider_id: String,
    service_id: Option<String>,
    start: Option<String>,
    end: Option<String>,
    date: Option<String>,
    time: Option<String>,
    patient: PatientBody,
    notes: Option<String>,
    duration_minutes: Option<i64>,
    clinic_id: Option<String>,
}

async fn create_appointment(
    State(state): State<AppState>,
    scope: OrgScope,
    ApiJson(b): ApiJson<AppointmentBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    scope.require(SET_UP)?;
    if let Some(clinic) = b.clinic_id.as_deref() {
        if clinic.trim() != scope.org.to_string() {
            state
                .booking
                .record_other_org_attempt(scope.caller, clinic.trim())
                .await?;
            return Err(ApiError::Forbidden(
                "that clinic belongs to another organisation",
            ));
        }
    }
    let tz = state.booking.zone(scope.org).await?;
    let settings = state.booking.settings(scope.org).await?;
    let now = state.booking.now();
    let mut v = Validation::new();
    let provider_id = match b.provider_id.parse::<ProviderId>() {
        Ok(p) => p,
        Err(_) => return Err(ApiError::NotFound),
    };
    let service_id = v.check_opt(
        "service_id",
        b.service_id.as_deref().map(str::parse::<ServiceId>),
    );
    let start = match parse_start(
        b.start.as_deref(),
        b.date.as_deref(),
        b.time.as_deref(),
        tz,
        now,
    ) {
        Ok(s) => Some(s),
        Err(fields) => {
            for f in fields {
                v.check::<()>(&f.field, Err(f.message));
            }
            None
        }
    };
    let end = v.check_opt("end", b.end.as_deref().map(|e| parse_instant(e, now)));
    // A length is given as `duration_minutes` or as an end; the end's error names `end`.
    let duration = match (start, end) {
        (Some(s), Some(e)) => v
            .check("end", intake::duration_minutes((e - s).num_minutes()))
            .map(|m| DurationInput::Minutes(m.into())),
        _ => b.duration_minutes.map(DurationInput::Minutes),
    };
    let fields = intake::check_fields(
        &AppointmentFields {
            name: Some(&b.patient.name),
            phone: Some(&b.patient.phone),
            caller_number: None,
            email: b.patient.email.as_deref(),
            notes: b.notes.as_deref(),
            duration,
        },
        &settings.phone_region,
    );
    let fields = match fields {
        Ok(f) => Some(f),
        Err(errors) => {
            for f in errors {
                v.check::<()>(&f.field, Err(f.message));
            }
            None
        }
    };
    v.finish().map_err(ApiError::Invalid)?;
    let (Some(start), Some(fields)) = (start, fields) else {
        return Err(ApiError::Internal);
    };
    let (appointment, _) = state
        .booking
        .book(BookRequest {
            org: scope.org,
            actor: scope.caller.actor(),
            provider_id,
            service_id,
            start,
            duration_minutes: fields.duration_minutes,
            patient: Patient {
                name: fields.name.as_str().to_string(),
                phone: fields.phone,
                email: fields.email.map(|e| e.as_str().to_string()),
            },
            notes: fields.notes,
            source: BookingSource::Staff,
            vapi_call_id: None,
            vapi_tool_call_id: None,
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(appointment_json(&appointment, tz)),
    ))
}

#[derive(Deserialize)]
struct ListQuery {
    from: Option<String>,
    to: Option<String>,
    provider_id: Option<String>,
    phone: Option<String>,
}

async fn list_appointments(
    State(state): State<AppState>,
    scope: OrgScope,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    scope.require(READ)?;
    let tz = state.booking.zone(scope.org).await?;
    let settings = state.booking.settings(scope.org).await?;
    let now = state.booking.now();
    let mut v = Validation::new();
    let instant = |s: &str| parse_instant(s, now);
    let from = v.check_opt("from", q.from.as_deref().map(instant));
    let to = v.check_opt("to", q.to.as_deref().map(instant));
    let provider_id = v.check_opt(
        "provider_id",
        q.provider_id.as_deref().map(str::parse::<ProviderId>),
    );
    let phone = v.check_opt(
        "phone",
        q.phone
            .as_deref()
            .map(|p| PhoneNumber::parse(p, &settings.phone_region)),
    );
    v.finish().map_err(ApiError::Invalid)?;
    let list = state
        .booking
        .appointments(
            scope.org,
            AppointmentFilter {
                from,
                to,
                provider_id,
                phone: phone.map(|p| p.as_str().to_string()),
            },
        )
        .await?;
    Ok(Json(
        json!({"appointments": list.iter().map(|a| appointment_json(a, tz)).collect::<Vec<_>>()}),
    ))
}

async fn get_appointment(
    State(state): State<AppState>,
    scope: OrgScope,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    scope.require(READ)?;
    let a = state.booking.appointment(scope.org, path_id(&id)?).await?;
    let tz = state.booking.zone(scope.org).await?;
    Ok(Json(appointment_json(&a, tz)))
}

#[derive(Deserialize, Default)]
struct CancelBody {
    reason: Option<String>,
}

async fn cancel_appointment(
    State(state): State<AppState>,
    scope: OrgScope,
    Path((_, id)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    scope.require(SET_UP)?;
    let body: CancelBody = if body.iter().all(u8::is_ascii_whitespace) {
        CancelBody::default()
    } else {
        super::extract::parse_json(&body)?
    };
    let reason = intake::optional_text(body.reason.as_deref(), intake::REASON_MAX_CHARS)
        .map_err(|m| ApiError::Invalid(vec![FieldError::new("reason", m)]))?;
    let a = state
        .booking
        .cancel(scope.caller, path_id(&id)?, reason)
        .await?;
    let tz = state.booking.zone(scope.org).await?;
    Ok(Json(appointment_json(&a, tz)))
}

#[derive(Deserialize)]
struct RescheduleBody {
    start: Option<String>,
    date: Option<String>,
    time: Option<String>,
}

async fn reschedule_appointment(
    State(state): State<AppState>,
    scope: OrgScope,
    Path((_, id)): Path<(String, String)>,
    ApiJson(b): ApiJson<RescheduleBody>,
) -> Result<Json<Value>, ApiError> {
    scope.require(SET_UP)?;
    let tz = state.booking.zone(scope.org).await?;
    let start = parse_start(
        b.start.as_deref(),
        b.date.as_deref(),
        b.time.as_deref(),
        tz,
        state.booking.now(),
    )
    .map_err(ApiError::Invalid)?;
    let a = state
        .booking
        .reschedule(scope.caller, path_id(&id)?, start, None)
        .await?;
    Ok(Json(appointment_json(&a, tz)))
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>{title}</title></head><body style=\"font-family:sans-serif;max-width:32rem;margin:3rem auto\"><h1>{title}</h1><p>{body}</p></body></html>"
    ))
}

async fn confirm(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<(StatusCode, Html<String>), ApiError> {
    match state.booking.confirm(token).await? {
        Some(a) => {
            let tz = state.booking.zone(a.org_id).await?;
            let when = a.start.with_timezone(&tz).format("%A %-d %B %Y at %H:%M").to_string();
            Ok((StatusCode::OK, page("Appointment confirmed", &format!("Thank you. Your appointment on {when} is confirmed. We look forward to seeing you."))))
        }
        None => Ok((StatusCode::NOT_FOUND, page("Link not valid", "This confirmation link is unknown or has already been used. If you need to change your appointment, please call the clinic."))),
    }
}

async fn list_outbox(
    State(state): State<AppState>,
    scope: OrgScope,
) -> Result<Json<Value>, ApiError> {
    scope.require(SET_UP)?;
    let jobs = state.booking.outbox(scope.org).await?;
    Ok(Json(json!({ "jobs": jobs })))
}

/// A provider's appointments as iCalendar (RFC 5545), at a secret URL for calendar apps.
async fn ics_feed(
    State(state): State<AppState>,
    Path(file): Path<String>,
) -> Result<impl axum::response::IntoResponse, ApiError> {
    use crate::booking::records::AppointmentStatus;
    use icalendar::{Calendar, Component, Event, EventLike, EventStatus};
    let token = file.strip_suffix(".ics").ok_or(ApiError::NotFound)?;
    let (provider, view, appointments) = state.booking.feed(token.to_string()).await?;
    let mut calendar = Calendar::new();
    calendar.name(&format!("{} – {}", provider.name, view.org.name));
    for a in appointments
        .iter()
        .filter(|a| a.status != AppointmentStatus::Cancelled)
    {
        let service = a
            .service_id
            .and_then(|id| view.services.iter().find(|s| s.id == id))
            .map(|s| s.name.clone())
            .unwrap_or_else(|| "Appointment".into());
        calendar.push(
            Event::new()
                .uid(&format!("{}@voxanne", a.id))
                .summary(&format!("{service} – {}", a.patient.name))
                .starts(a.start)
                .ends(a.end)
                .status(if a.status == AppointmentStatus::Pending {
                    EventStatus::Tentative
                } else {
                    EventStatus::Confirmed
                })
                .done(),
        );
    }
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/calendar; charset=utf-8",
            ),
            (axum::http::header::CACHE_CONTROL, "no-store"),
        ],
        calendar.done().to_string(),
    ))
}
