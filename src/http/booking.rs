//! Routes for clinic set-up (settings, services, providers, time off), availability,
//! appointments, and the public confirmation page.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Html;
use axum::Json;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::ApiError;
use super::extract::{path_id, ApiJson, OrgScope};
use super::openapi::OrgPath;
use super::AppState;
use crate::booking::intake::{self, AppointmentFields, DurationInput};
use crate::booking::ledger::BookRequest;
use crate::booking::records::{
    AppointmentRecord, AppointmentStatus, BookingSource, ClinicSettings, Patient, ProviderRecord,
    ServiceRecord,
};
use crate::booking::schedule::WeeklyHours;
use crate::booking::{local_instant, AppointmentFilter, NewProvider, NewService, Slot};
use crate::domain::{
    AppointmentId, FieldError, PhoneNumber, ProviderId, Role, ServiceId, Validation,
};

const SET_UP: &[Role] = &[Role::Admin, Role::Staff];
const READ: &[Role] = &[Role::Admin, Role::Staff, Role::Clinician];

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_settings, put_settings))
        .routes(routes!(create_service, list_services))
        .routes(routes!(create_provider, list_providers))
        .routes(routes!(get_provider))
        .routes(routes!(add_time_off))
        .routes(routes!(set_hours))
        .routes(routes!(availability))
        .routes(routes!(create_appointment, list_appointments))
        .routes(routes!(get_appointment))
        .routes(routes!(cancel_appointment))
        .routes(routes!(reschedule_appointment))
        .routes(routes!(confirm_appointment))
        .routes(routes!(complete_appointment))
        .routes(routes!(no_show_appointment))
        .routes(routes!(list_outbox))
        .routes(routes!(confirm))
        .routes(routes!(ics_feed))
}

/// An instant in the clinic's zone, RFC 3339 with its offset.
pub fn local_text(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).to_rfc3339()
}

/// A bookable slot; times in the clinic's zone.
#[derive(Serialize, ToSchema)]
struct SlotView {
    provider_id: ProviderId,
    start: String,
    end: String,
}

impl SlotView {
    fn new(s: &Slot, tz: Tz) -> SlotView {
        SlotView {
            provider_id: s.provider_id,
            start: local_text(s.start, tz),
            end: local_text(s.end, tz),
        }
    }
}

#[derive(Serialize, ToSchema)]
struct PatientView {
    name: String,
    phone: PhoneNumber,
    /// Whether the number is in a range the numbering plan lists as allocated.
    phone_allocated: bool,
    email: Option<String>,
}

/// An appointment; times in the clinic's zone.
#[derive(Serialize, ToSchema)]
struct AppointmentView {
    id: AppointmentId,
    status: AppointmentStatus,
    provider_id: ProviderId,
    service_id: Option<ServiceId>,
    start: String,
    end: String,
    patient: PatientView,
    notes: Option<String>,
    /// Why it was cancelled, when it was and a reason was given.
    cancel_reason: Option<String>,
    source: BookingSource,
    vapi_call_id: Option<String>,
    vapi_tool_call_id: Option<String>,
    confirmation_token: String,
    /// `not_configured`, `pending`, `synced`, `failed`, …
    calendar_sync: String,
    created_at: String,
    updated_at: String,
}

impl AppointmentView {
    fn new(a: AppointmentRecord, tz: Tz) -> AppointmentView {
        AppointmentView {
            id: a.id,
            status: a.status,
            provider_id: a.provider_id,
            service_id: a.service_id,
            start: local_text(a.start, tz),
            end: local_text(a.end, tz),
            patient: PatientView {
                phone_allocated: a.patient.phone.is_allocated(),
                name: a.patient.name,
                phone: a.patient.phone,
                email: a.patient.email,
            },
            notes: a.notes,
            cancel_reason: a.cancel_reason,
            source: a.source,
            vapi_call_id: a.vapi_call_id,
            vapi_tool_call_id: a.vapi_tool_call_id,
            confirmation_token: a.confirmation_token,
            calendar_sync: a.calendar_sync,
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
struct ServiceView {
    id: ServiceId,
    name: String,
    duration_minutes: u32,
    buffer_before_minutes: u32,
    buffer_after_minutes: u32,
    procedure: Option<String>,
}

impl From<ServiceRecord> for ServiceView {
    fn from(s: ServiceRecord) -> Self {
        ServiceView {
            id: s.id,
            name: s.name,
            duration_minutes: s.duration_minutes,
            buffer_before_minutes: s.buffer_before_minutes,
            buffer_after_minutes: s.buffer_after_minutes,
            procedure: s.procedure,
        }
    }
}

#[derive(Serialize, ToSchema)]
struct TimeOffView {
    start: String,
    end: String,
    reason: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct ProviderView {
    id: ProviderId,
    name: String,
    service_ids: Vec<ServiceId>,
    /// Day (`mon` … `sun`) → opening windows `[["09:00", "17:00"], …]`.
    #[schema(value_type = std::collections::BTreeMap<String, Vec<Vec<String>>>)]
    weekly_hours: serde_json::Map<String, serde_json::Value>,
    #[schema(value_type = std::collections::BTreeMap<String, Vec<Vec<String>>>)]
    breaks: serde_json::Map<String, serde_json::Value>,
    time_off: Vec<TimeOffView>,
    /// The provider's appointments as an iCalendar feed, at a secret URL.
    calendar_feed: String,
}

impl ProviderView {
    fn new(p: ProviderRecord, tz: Tz) -> ProviderView {
        ProviderView {
            id: p.id,
            weekly_hours: p.weekly_hours.to_map(),
            breaks: p.breaks.to_map(),
            time_off: p
                .time_off
                .into_iter()
                .map(|t| TimeOffView {
                    start: local_text(t.start, tz),
                    end: local_text(t.end, tz),
                    reason: t.reason,
                })
                .collect(),
            calendar_feed: format!("/calendar/{}.ics", p.feed_token),
            name: p.name,
            service_ids: p.service_ids,
        }
    }
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

/// The clinic's booking settings.
#[utoipa::path(
    get,
    path = "/api/orgs/{org}/settings",
    tag = "clinic set-up",
    params(OrgPath),
    security(("bearer" = [])),
    responses((status = 200, body = ClinicSettings))
)]
async fn get_settings(
    State(state): State<AppState>,
    scope: OrgScope,
) -> Result<Json<ClinicSettings>, ApiError> {
    scope.require(READ)?;
    Ok(Json(state.booking.settings(scope.org).await?))
}

/// Replaces the clinic's booking settings (admin only); fields left out take their defaults.
#[utoipa::path(
    put,
    path = "/api/orgs/{org}/settings",
    tag = "clinic set-up",
    params(OrgPath),
    security(("bearer" = [])),
    request_body = ClinicSettings,
    responses((status = 200, body = ClinicSettings))
)]
async fn put_settings(
    State(state): State<AppState>,
    scope: OrgScope,
    ApiJson(body): ApiJson<ClinicSettings>,
) -> Result<Json<ClinicSettings>, ApiError> {
    scope.require(&[Role::Admin])?;
    Ok(Json(state.booking.put_settings(scope.caller, body).await?))
}

#[derive(Deserialize, ToSchema)]
struct ServiceBody {
    name: String,
    duration_minutes: u32,
    buffer_before_minutes: Option<u32>,
    buffer_after_minutes: Option<u32>,
    procedure: Option<String>,
}

/// Adds a service (admin, staff).
#[utoipa::path(
    post,
    path = "/api/orgs/{org}/services",
    tag = "clinic set-up",
    params(OrgPath),
    security(("bearer" = [])),
    request_body = ServiceBody,
    responses((status = 201, body = ServiceView))
)]
async fn create_service(
    State(state): State<AppState>,
    scope: OrgScope,
    ApiJson(b): ApiJson<ServiceBody>,
) -> Result<(StatusCode, Json<ServiceView>), ApiError> {
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
    Ok((StatusCode::CREATED, Json(s.into())))
}

#[derive(Serialize, ToSchema)]
struct ServiceList {
    services: Vec<ServiceView>,
}

/// The clinic's services.
#[utoipa::path(
    get,
    path = "/api/orgs/{org}/services",
    tag = "clinic set-up",
    params(OrgPath),
    security(("bearer" = [])),
    responses((status = 200, body = ServiceList))
)]
async fn list_services(
    State(state): State<AppState>,
    scope: OrgScope,
) -> Result<Json<ServiceList>, ApiError> {
    scope.require(READ)?;
    let view = state.booking.clinic(scope.org).await?;
    Ok(Json(ServiceList {
        services: view.services.iter().cloned().map(Into::into).collect(),
    }))
}

type DayWindows = std::collections::BTreeMap<String, Vec<[String; 2]>>;

#[derive(Deserialize, ToSchema)]
struct ProviderBody {
    name: String,
    #[serde(default)]
    service_ids: Vec<String>,
    /// Day (`mon` … `sun`) → opening windows `[["09:00", "17:00"], …]`.
    #[schema(value_type = std::collections::BTreeMap<String, Vec<Vec<String>>>)]
    weekly_hours: DayWindows,
    #[serde(default)]
    #[schema(value_type = std::collections::BTreeMap<String, Vec<Vec<String>>>)]
    breaks: DayWindows,
}

fn weekly(field: &str, days: &DayWindows) -> Result<WeeklyHours, String> {
    let _ = field;
    WeeklyHours::parse(days.iter().map(|(d, w)| (d.as_str(), w.as_slice())))
}

/// Adds a provider with their weekly hours (admin, staff).
#[utoipa::path(
    post,
    path = "/api/orgs/{org}/providers",
    tag = "clinic set-up",
    params(OrgPath),
    security(("bearer" = [])),
    request_body = ProviderBody,
    responses((status = 201, body = ProviderView))
)]
async fn create_provider(
    State(state): State<AppState>,
    scope: OrgScope,
    ApiJson(b): ApiJson<ProviderBody>,
) -> Result<(StatusCode, Json<ProviderView>), ApiError> {
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
    Ok((StatusCode::CREATED, Json(ProviderView::new(p, tz))))
}

#[derive(Serialize, ToSchema)]
struct ProviderList {
    providers: Vec<ProviderView>,
}

/// The clinic's providers.
#[utoipa::path(
    get,
    path = "/api/orgs/{org}/providers",
    tag = "clinic set-up",
    params(OrgPath),
    security(("bearer" = [])),
    responses((status = 200, body = ProviderList))
)]
async fn list_providers(
    State(state): State<AppState>,
    scope: OrgScope,
) -> Result<Json<ProviderList>, ApiError> {
    scope.require(READ)?;
    let view = state.booking.clinic(scope.org).await?;
    let tz = view.tz;
    Ok(Json(ProviderList {
        providers: view
            .providers
            .iter()
            .cloned()
            .map(|p| ProviderView::new(p, tz))
            .collect(),
    }))
}

/// One provider.
#[utoipa::path(
    get,
    path = "/api/orgs/{org}/providers/{provider_id}",
    tag = "clinic set-up",
    params(OrgPath, ("provider_id" = uuid::Uuid, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = ProviderView))
)]
async fn get_provider(
    State(state): State<AppState>,
    scope: OrgScope,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<ProviderView>, ApiError> {
    scope.require(READ)?;
    let p = state.booking.provider(scope.org, path_id(&id)?).await?;
    let tz = state.booking.zone(scope.org).await?;
    Ok(Json(ProviderView::new(p, tz)))
}

#[derive(Deserialize, ToSchema)]
struct TimeOffBody {
    /// RFC 3339 with an offset.
    start: String,
    /// RFC 3339 with an offset.
    end: String,
    reason: Option<String>,
}

/// Blocks a provider's time (admin, staff).
#[utoipa::path(
    post,
    path = "/api/orgs/{org}/providers/{provider_id}/time-off",
    tag = "clinic set-up",
    params(OrgPath, ("provider_id" = uuid::Uuid, Path)),
    security(("bearer" = [])),
    request_body = TimeOffBody,
    responses((status = 201, body = ProviderView))
)]
async fn add_time_off(
    State(state): State<AppState>,
    scope: OrgScope,
    Path((_, id)): Path<(String, String)>,
    ApiJson(b): ApiJson<TimeOffBody>,
) -> Result<(StatusCode, Json<ProviderView>), ApiError> {
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
    Ok((StatusCode::CREATED, Json(ProviderView::new(p, tz))))
}

#[derive(Deserialize, ToSchema)]
struct HoursBody {
    /// Day (`mon` … `sun`) → opening windows `[["09:00", "17:00"], …]`; a day left out is not
    /// worked.
    #[schema(value_type = std::collections::BTreeMap<String, Vec<Vec<String>>>)]
    weekly_hours: DayWindows,
    #[serde(default)]
    #[schema(value_type = std::collections::BTreeMap<String, Vec<Vec<String>>>)]
    breaks: DayWindows,
}

/// Replaces a provider's weekly hours and breaks; booked appointments stay (admin, staff).
#[utoipa::path(
    put,
    path = "/api/orgs/{org}/providers/{provider_id}/hours",
    tag = "clinic set-up",
    params(OrgPath, ("provider_id" = uuid::Uuid, Path)),
    security(("bearer" = [])),
    request_body = HoursBody,
    responses((status = 200, body = ProviderView))
)]
async fn set_hours(
    State(state): State<AppState>,
    scope: OrgScope,
    Path((_, id)): Path<(String, String)>,
    ApiJson(b): ApiJson<HoursBody>,
) -> Result<Json<ProviderView>, ApiError> {
    scope.require(SET_UP)?;
    let provider: ProviderId = path_id(&id)?;
    let tz = state.booking.zone(scope.org).await?;
    let mut v = Validation::new();
    let hours = v.check("weekly_hours", weekly("weekly_hours", &b.weekly_hours));
    let breaks = v.check("breaks", weekly("breaks", &b.breaks));
    v.finish().map_err(ApiError::Invalid)?;
    let (Some(hours), Some(breaks)) = (hours, breaks) else {
        return Err(ApiError::Internal);
    };
    let p = state
        .booking
        .set_hours(scope.caller, provider, hours, breaks)
        .await?;
    Ok(Json(ProviderView::new(p, tz)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct AvailabilityQuery {
    /// Slots long enough for this service.
    service_id: Option<String>,
    /// Only this provider's slots.
    provider_id: Option<String>,
    /// The first day (YYYY-MM-DD, the clinic's zone; default today).
    date: Option<String>,
    /// How many days (1–31, default 1).
    days: Option<u32>,
}

#[derive(Serialize, ToSchema)]
struct SlotList {
    slots: Vec<SlotView>,
}

/// Bookable slots.
#[utoipa::path(
    get,
    path = "/api/orgs/{org}/availability",
    tag = "appointments",
    params(OrgPath, AvailabilityQuery),
    security(("bearer" = [])),
    responses((status = 200, body = SlotList))
)]
async fn availability(
    State(state): State<AppState>,
    scope: OrgScope,
    Query(q): Query<AvailabilityQuery>,
) -> Result<Json<SlotList>, ApiError> {
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
    Ok(Json(SlotList {
        slots: slots.iter().map(|s| SlotView::new(s, tz)).collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
struct PatientBody {
    name: String,
    /// National (the clinic's region) or international form.
    phone: String,
    email: Option<String>,
}

#[derive(Deserialize, ToSchema)]
struct AppointmentBody {
    provider_id: String,
    service_id: Option<String>,
    /// RFC 3339 with an offset; or give `date` and `time`.
    start: Option<String>,
    /// RFC 3339 with an offset; or give `duration_minutes`, or let the service decide.
    end: Option<String>,
    /// YYYY-MM-DD in the clinic's zone.
    date: Option<String>,
    /// HH:MM in the clinic's zone.
    time: Option<String>,
    patient: PatientBody,
    notes: Option<String>,
    duration_minutes: Option<i64>,
    /// When given, it must be this organisation.
    clinic_id: Option<String>,
}

/// Books a slot. One booking wins a contested slot; the others get 409 `slot_taken` with
/// alternatives (admin, staff).
#[utoipa::path(
    post,
    path = "/api/orgs/{org}/appointments",
    tag = "appointments",
    params(OrgPath),
    security(("bearer" = [])),
    request_body = AppointmentBody,
    responses((status = 201, body = AppointmentView))
)]
async fn create_appointment(
    State(state): State<AppState>,
    scope: OrgScope,
    ApiJson(b): ApiJson<AppointmentBody>,
) -> Result<(StatusCode, Json<AppointmentView>), ApiError> {
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
        Json(AppointmentView::new(appointment, tz)),
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Appointments starting at or after (RFC 3339).
    from: Option<String>,
    /// Appointments starting before (RFC 3339).
    to: Option<String>,
    provider_id: Option<String>,
    /// The patient's phone number.
    phone: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct AppointmentList {
    appointments: Vec<AppointmentView>,
}

/// The clinic's appointments.
#[utoipa::path(
    get,
    path = "/api/orgs/{org}/appointments",
    tag = "appointments",
    params(OrgPath, ListQuery),
    security(("bearer" = [])),
    responses((status = 200, body = AppointmentList))
)]
async fn list_appointments(
    State(state): State<AppState>,
    scope: OrgScope,
    Query(q): Query<ListQuery>,
) -> Result<Json<AppointmentList>, ApiError> {
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
    Ok(Json(AppointmentList {
        appointments: list
            .into_iter()
            .map(|a| AppointmentView::new(a, tz))
            .collect(),
    }))
}

/// One appointment.
#[utoipa::path(
    get,
    path = "/api/orgs/{org}/appointments/{appointment_id}",
    tag = "appointments",
    params(OrgPath, ("appointment_id" = uuid::Uuid, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = AppointmentView))
)]
async fn get_appointment(
    State(state): State<AppState>,
    scope: OrgScope,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<AppointmentView>, ApiError> {
    scope.require(READ)?;
    let a = state.booking.appointment(scope.org, path_id(&id)?).await?;
    let tz = state.booking.zone(scope.org).await?;
    Ok(Json(AppointmentView::new(a, tz)))
}

#[derive(Deserialize, Default, ToSchema)]
struct CancelBody {
    reason: Option<String>,
}

/// Cancels an appointment and frees its slot (admin, staff). The body is optional.
#[utoipa::path(
    post,
    path = "/api/orgs/{org}/appointments/{appointment_id}/cancel",
    tag = "appointments",
    params(OrgPath, ("appointment_id" = uuid::Uuid, Path)),
    security(("bearer" = [])),
    request_body = CancelBody,
    responses((status = 200, body = AppointmentView))
)]
async fn cancel_appointment(
    State(state): State<AppState>,
    scope: OrgScope,
    Path((_, id)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Json<AppointmentView>, ApiError> {
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
    Ok(Json(AppointmentView::new(a, tz)))
}

#[derive(Deserialize, ToSchema)]
struct RescheduleBody {
    /// RFC 3339 with an offset; or give `date` and `time`.
    start: Option<String>,
    date: Option<String>,
    time: Option<String>,
}

/// Moves an appointment to another start, atomically: the new slot is claimed and the old
/// one freed in one write, or nothing changes (admin, staff).
#[utoipa::path(
    post,
    path = "/api/orgs/{org}/appointments/{appointment_id}/reschedule",
    tag = "appointments",
    params(OrgPath, ("appointment_id" = uuid::Uuid, Path)),
    security(("bearer" = [])),
    request_body = RescheduleBody,
    responses((status = 200, body = AppointmentView))
)]
async fn reschedule_appointment(
    State(state): State<AppState>,
    scope: OrgScope,
    Path((_, id)): Path<(String, String)>,
    ApiJson(b): ApiJson<RescheduleBody>,
) -> Result<Json<AppointmentView>, ApiError> {
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
    Ok(Json(AppointmentView::new(a, tz)))
}

/// Confirms an appointment on the patient's behalf (they confirmed by phone), as their
/// confirmation link would: `pending` → `confirmed` through the claim writer; 409 when it is not
/// pending (admin, staff).
#[utoipa::path(
    post,
    path = "/api/orgs/{org}/appointments/{appointment_id}/confirm",
    tag = "appointments",
    params(OrgPath, ("appointment_id" = String, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = AppointmentView))
)]
async fn confirm_appointment(
    State(state): State<AppState>,
    scope: OrgScope,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<AppointmentView>, ApiError> {
    scope.require(SET_UP)?;
    let id = id
        .parse::<AppointmentId>()
        .map_err(|_| ApiError::NotFound)?;
    let tz = state.booking.zone(scope.org).await?;
    let current = state.booking.appointment(scope.org, id).await?;
    if current.status != AppointmentStatus::Pending {
        return Err(ApiError::Conflict(
            "only a pending appointment can be confirmed".into(),
        ));
    }
    match state
        .booking
        .confirm_as(current.confirmation_token, Some(scope.caller.actor()))
        .await?
    {
        Some(a) => Ok(Json(AppointmentView::new(a, tz))),
        None => Err(ApiError::Conflict(
            "only a pending appointment can be confirmed".into(),
        )),
    }
}

/// Records that the appointment happened, once its start has passed (admin, staff).
#[utoipa::path(
    post,
    path = "/api/orgs/{org}/appointments/{appointment_id}/complete",
    tag = "appointments",
    params(OrgPath, ("appointment_id" = uuid::Uuid, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = AppointmentView))
)]
async fn complete_appointment(
    state: State<AppState>,
    scope: OrgScope,
    id: Path<(String, String)>,
) -> Result<Json<AppointmentView>, ApiError> {
    set_outcome(state, scope, id, AppointmentStatus::Completed).await
}

/// Records that the patient did not come, once the start has passed; counted on their
/// contact (admin, staff).
#[utoipa::path(
    post,
    path = "/api/orgs/{org}/appointments/{appointment_id}/no-show",
    tag = "appointments",
    params(OrgPath, ("appointment_id" = uuid::Uuid, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = AppointmentView))
)]
async fn no_show_appointment(
    state: State<AppState>,
    scope: OrgScope,
    id: Path<(String, String)>,
) -> Result<Json<AppointmentView>, ApiError> {
    set_outcome(state, scope, id, AppointmentStatus::NoShow).await
}

async fn set_outcome(
    State(state): State<AppState>,
    scope: OrgScope,
    Path((_, id)): Path<(String, String)>,
    status: AppointmentStatus,
) -> Result<Json<AppointmentView>, ApiError> {
    scope.require(SET_UP)?;
    let a = state
        .booking
        .set_outcome(scope.caller, path_id(&id)?, status)
        .await?;
    let tz = state.booking.zone(scope.org).await?;
    Ok(Json(AppointmentView::new(a, tz)))
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>{title}</title></head><body style=\"font-family:sans-serif;max-width:32rem;margin:3rem auto\"><h1>{title}</h1><p>{body}</p></body></html>"
    ))
}

/// The patient's confirmation link (from the confirmation email): an HTML page.
#[utoipa::path(
    get,
    path = "/confirm/{token}",
    tag = "appointments",
    params(("token" = String, Path, description = "The appointment's confirmation token")),
    responses(
        (status = 200, description = "Confirmed", content_type = "text/html", body = String),
        (status = 404, description = "Unknown or used link", content_type = "text/html", body = String),
    )
)]
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

#[derive(Serialize, ToSchema)]
struct OutboxList {
    /// Queued and finished deliveries (emails, calendar events) with their state.
    #[schema(value_type = Vec<Object>)]
    jobs: Vec<crate::outbox::OutboxJob>,
}

/// The clinic's outbound deliveries (admin, staff).
#[utoipa::path(
    get,
    path = "/api/orgs/{org}/outbox",
    tag = "appointments",
    params(OrgPath),
    security(("bearer" = [])),
    responses((status = 200, body = OutboxList))
)]
async fn list_outbox(
    State(state): State<AppState>,
    scope: OrgScope,
) -> Result<Json<OutboxList>, ApiError> {
    scope.require(SET_UP)?;
    let jobs = state.booking.outbox(scope.org).await?;
    Ok(Json(OutboxList { jobs }))
}

/// A provider's appointments as iCalendar (RFC 5545), at a secret URL for calendar apps.
#[utoipa::path(
    get,
    path = "/calendar/{file}",
    tag = "appointments",
    params(("file" = String, Path, description = "`<feed token>.ics`, as in the provider's `calendar_feed`")),
    responses((status = 200, description = "The feed", content_type = "text/calendar", body = String))
)]
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
