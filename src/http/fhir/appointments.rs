//! FHIR `Appointment`: read and search the diary, create through the claim writer (a taken
//! time is 409 with alternatives; `If-None-Exist` on the identifier makes a retry safe), and
//! update and patch the status or the start (`If-Match` on the version).

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use serde_json::Value;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::directory::Paging;
use super::proposal::{self, PatientInput, Proposal};
use super::resources::{self, FreeSlotId};
use super::search::{date_range, reference_id, SearchQuery};
use super::{base_of, FhirCaller, FhirError, FhirResponse};
use crate::auth::Caller;
use crate::booking::ledger::BookRequest;
use crate::booking::records::{AppointmentRecord, AppointmentStatus, BookingSource};
use crate::booking::{AppointmentFilter, BookingError, ClinicView, Expected, Slot};
use crate::domain::{AppointmentId, ProviderId, Role, ServiceId};
use crate::http::extract::parse_body;
use crate::http::AppState;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(search_appointments, create_appointment))
        .routes(routes!(
            read_appointment,
            update_appointment,
            patch_appointment
        ))
}

/// An appointment with its version headers.
fn answer(a: &AppointmentRecord, view: &ClinicView, base: &str) -> FhirResponse {
    answer_with(resources::appointment(a, view), a, base)
}

/// `resource`, the appointment `a` as some caller may see it, with its version headers.
fn answer_with(resource: Value, a: &AppointmentRecord, base: &str) -> FhirResponse {
    let version = resources::version(a);
    FhirResponse::ok(resource)
        .with_header(header::ETAG, &resources::etag(&version))
        .with_header(header::LOCATION, &format!("{base}/Appointment/{}", a.id))
}

/// Free slots near a taken time, as the 409's alternatives.
fn alternatives(slots: &[Slot], service: Option<ServiceId>, view: &ClinicView) -> FhirError {
    FhirError::taken(
        slots
            .iter()
            .map(|s| {
                let id = FreeSlotId {
                    provider: s.provider_id,
                    service,
                    start: s.start,
                };
                (
                    format!("Slot/{}", id.encode()),
                    resources::instant(s.start, view.tz),
                    resources::instant(s.end, view.tz),
                )
            })
            .collect(),
    )
}

pub(super) fn booking_error(
    e: BookingError,
    service: Option<ServiceId>,
    view: &ClinicView,
) -> FhirError {
    match e {
        BookingError::Taken { alternatives: alt } => alternatives(&alt, service, view),
        e => e.into(),
    }
}

#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct AppointmentSearch {
    /// The appointment's id.
    #[param(rename = "_id")]
    id: Option<String>,
    /// Repeatable, each with a prefix (`ge2026-07-01`, `lt2026-07-02T12:00:00+01:00`), on the
    /// start; a date is the clinic's day.
    #[param(
        pattern = r"^(ge|gt|le|lt|eq)?[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|[+-][0-9]{2}:[0-9]{2}))?$"
    )]
    date: Option<String>,
    /// `Practitioner/{id}`: that provider's appointments.
    actor: Option<String>,
    /// `Patient/{id}`: every booking under that patient's phone number.
    patient: Option<String>,
    /// R4 statuses, comma-separated: pending, booked, cancelled, fulfilled, noshow.
    #[param(
        pattern = r"^(proposed|pending|booked|arrived|fulfilled|cancelled|noshow|entered-in-error|checked-in|waitlist)(,(proposed|pending|booked|arrived|fulfilled|cancelled|noshow|entered-in-error|checked-in|waitlist))*$"
    )]
    status: Option<String>,
    /// `system|value`: the appointment a client created under that identifier.
    identifier: Option<String>,
    /// `Appointment:actor` (or `Appointment:actor:Practitioner`): the practitioners too.
    #[param(rename = "_include", pattern = r"^Appointment:actor(:Practitioner)?$")]
    include: Option<String>,
}

/// The clinic's appointments (admin, staff, clinician).
#[utoipa::path(
    get,
    path = "/fhir/r4/Appointment",
    tag = "fhir",
    params(AppointmentSearch, Paging),
    security(("bearer" = ["admin", "staff", "clinician"])),
    responses((status = 200, description = "A searchset Bundle of Appointment", body = Object, content_type = "application/fhir+json"))
)]
async fn search_appointments(
    State(state): State<AppState>,
    FhirCaller(caller): FhirCaller,
    RawQuery(raw): RawQuery,
) -> Result<FhirResponse, FhirError> {
    let query = SearchQuery::parse(raw.as_deref())?;
    let view = state.booking.clinic(caller.org).await?;
    let range = date_range(&query, "date", view.tz, state.booking.now())?;
    let mut statuses = Vec::new();
    for s in query.values("status") {
        match s {
            "pending" | "booked" | "cancelled" | "fulfilled" | "noshow" => {
                statuses.push(resources::status_from_code(s))
            }
            // Statuses we never hold match nothing.
            "proposed" | "arrived" | "entered-in-error" | "checked-in" | "waitlist" => {}
            _ => return Err(FhirError::bad_search("status", "is not an R4 status")),
        }
    }
    let mut filter = AppointmentFilter {
        from: range.from,
        to: range.to,
        ..AppointmentFilter::default()
    };
    let mut nothing = !query.values("status").is_empty() && statuses.is_empty();
    if let Some(actor) = query.single("actor")? {
        match reference_id(actor, "Practitioner").and_then(|id| id.parse::<ProviderId>().ok()) {
            Some(p) => filter.provider_id = Some(p),
            None => nothing = true,
        }
    }
    if let Some(patient) = query.single("patient")? {
        let booking = reference_id(patient, "Patient").and_then(|id| id.parse().ok());
        match booking {
            Some(id) => match state.booking.appointment(caller.org, id).await {
                Ok(a) => filter.phone = Some(a.patient.phone.as_str().to_string()),
                Err(BookingError::NotFound) => nothing = true,
                Err(e) => return Err(e.into()),
            },
            None => nothing = true,
        }
    }
    // `system|value`, or a value under any system.
    let identifier = query
        .single("identifier")?
        .map(|token| match token.split_once('|') {
            Some((system, value)) => (Some(system), value),
            None => (None, token),
        });
    let include = match query.single("_include")? {
        None => false,
        Some("Appointment:actor" | "Appointment:actor:Practitioner") => true,
        Some(_) => {
            return Err(FhirError::bad_search(
                "_include",
                "only Appointment:actor is supported",
            ))
        }
    };
    let list = if nothing {
        Vec::new()
    } else {
        state.booking.appointments(caller.org, filter).await?
    };
    let ids = query.values("_id");
    let matches: Vec<&AppointmentRecord> = list
        .iter()
        .filter(|a| ids.is_empty() || ids.contains(&a.id.to_string().as_str()))
        .filter(|a| statuses.is_empty() || statuses.contains(&Some(a.status)))
        .filter(|a| {
            identifier.is_none_or(|(system, value)| {
                resources::identifier_of(a)
                    .is_some_and(|(s, v)| v == value && system.is_none_or(|x| x == s))
            })
        })
        .collect();
    let page: Vec<&AppointmentRecord> = matches
        .iter()
        .skip(query.offset)
        .take(query.count)
        .copied()
        .collect();
    let mut included = Vec::new();
    if include {
        let mut seen: Vec<ProviderId> = Vec::new();
        for a in &page {
            if !seen.contains(&a.provider_id) {
                seen.push(a.provider_id);
                if let Some(p) = view.providers.iter().find(|p| p.id == a.provider_id) {
                    included.push(resources::practitioner(p));
                }
            }
        }
    }
    Ok(FhirResponse::ok(super::searchset_page(
        &base_of(&state),
        "/Appointment",
        &query,
        page.iter()
            .map(|a| resources::appointment(a, &view))
            .collect(),
        matches.len(),
        included,
    )))
}

/// One appointment (admin, staff, clinician).
#[utoipa::path(
    get,
    path = "/fhir/r4/Appointment/{id}",
    tag = "fhir",
    params(("id" = String, Path, description = "The appointment's id")),
    security(("bearer" = ["admin", "staff", "clinician"])),
    responses((status = 200, description = "Appointment", body = Object, content_type = "application/fhir+json"))
)]
async fn read_appointment(
    State(state): State<AppState>,
    FhirCaller(caller): FhirCaller,
    Path(id): Path<String>,
) -> Result<FhirResponse, FhirError> {
    let id: AppointmentId = id.parse().map_err(|_| FhirError::not_found())?;
    let a = state.booking.appointment(caller.org, id).await?;
    let view = state.booking.clinic(caller.org).await?;
    Ok(answer(&a, &view, &base_of(&state)))
}

/// Books what `p` asks for through the claim writer, for `patient`; a `booked` status is then
/// confirmed for the patient. Answers 201 with the appointment, or 200 with the one made
/// earlier under the same identifier.
pub(super) async fn place(
    state: &AppState,
    caller: Caller,
    view: &ClinicView,
    p: Proposal,
    patient: PatientInput,
    comment: Option<String>,
    hold_key: Option<String>,
) -> Result<FhirResponse, FhirError> {
    let now = state.booking.now();
    if caller.role == Role::Agent && p.patient_ref.is_some() {
        return Err(FhirError::field(
            "Appointment.participant",
            "an agent key gives the patient as a contained Patient",
        ));
    }
    let earlier = match p.patient_ref {
        Some(id) => Some(
            state
                .booking
                .read_patients(caller, vec![id])
                .await?
                .into_iter()
                .next()
                .ok_or_else(|| {
                    FhirError::field("Appointment.participant", "is not a patient of this clinic")
                })?,
        ),
        None => None,
    };
    let fields = proposal::check_patient(
        &patient,
        earlier.as_ref(),
        comment.as_deref(),
        p.duration_minutes,
        view,
        now,
    )?;
    let request = BookRequest {
        org: caller.org,
        actor: caller.actor(),
        provider_id: p.provider,
        service_id: p.service,
        start: p.start,
        duration_minutes: fields.duration_minutes,
        patient: fields.patient(),
        notes: fields.notes,
        source: BookingSource::Staff,
        vapi_call_id: None,
        vapi_tool_call_id: p.identifier.clone(),
        hold_key,
        retry_at_any_time: true,
    };
    let (a, replayed) = state
        .booking
        .book(request)
        .await
        .map_err(|e| booking_error(e, p.service, view))?;
    let made = if replayed || p.status != AppointmentStatus::Confirmed {
        a
    } else {
        state
            .booking
            .confirm_as(a.confirmation_token.clone(), Some(caller.actor()), None)
            .await?
            .unwrap_or(a)
    };
    let status = if replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let mut resource = resources::appointment(&made, view);
    if caller.role == Role::Agent {
        // An agent key reads no diary: it is told what it booked, not who the booking (or a
        // replayed one, made under the same identifier by someone else) is for.
        resource = resources::without_patient_details(resource);
    }
    Ok(answer_with(resource, &made, &base_of(state)).with_status(status))
}

/// Reads a body as JSON (400 when it is not, 422 naming the element when it is no object).
pub(super) fn body_json(body: &Bytes) -> Result<Value, FhirError> {
    parse_body::<Value>(body).map_err(FhirError::from)
}

/// The identifier an `If-None-Exist` header searches for (`identifier=system|value`).
fn if_none_exist(headers: &HeaderMap) -> Result<Option<String>, FhirError> {
    let Some(value) = headers.get("if-none-exist") else {
        return Ok(None);
    };
    let bad = || {
        FhirError::new(
            StatusCode::BAD_REQUEST,
            "not-supported",
            "If-None-Exist takes identifier=system|value",
        )
    };
    let text = value.to_str().map_err(|_| bad())?;
    let text = text.trim().trim_start_matches('?');
    let query = SearchQuery::parse(Some(text)).map_err(|_| bad())?;
    let token = query
        .single("identifier")
        .map_err(|_| bad())?
        .ok_or_else(bad)?;
    let (system, value) = token.split_once('|').ok_or_else(bad)?;
    proposal::identifier_key(system, value)
        .map(Some)
        .map_err(|_| bad())
}

/// A new appointment: from a free `slot`, or from `start` (and `end`) with a `Practitioner`
/// participant; the patient as a contained `Patient` (name, phone, email, birth date) or an
/// earlier booking's `Patient/{id}`. `proposed` or `pending` books it pending the patient's
/// confirmation; `booked` books and confirms it. 201 with `Location`; the same identifier
/// again (or `If-None-Exist: identifier=…` of one made) answers 200 with the one made; a taken
/// time is 409 listing free alternatives (admin, staff, agent).
#[utoipa::path(
    post,
    path = "/fhir/r4/Appointment",
    tag = "fhir",
    security(("bearer" = ["admin", "staff", "agent"])),
    request_body(content = Object, content_type = "application/fhir+json", description = "An Appointment"),
    responses(
        (status = 201, description = "The Appointment made", body = Object, content_type = "application/fhir+json"),
        (status = 200, description = "The Appointment made earlier under the same identifier", body = Object, content_type = "application/fhir+json")
    )
)]
async fn create_appointment(
    State(state): State<AppState>,
    FhirCaller(caller): FhirCaller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<FhirResponse, FhirError> {
    let body = body_json(&body)?;
    let a = proposal::appointment_in(&body)?;
    let view = state.booking.clinic(caller.org).await?;
    let (mut p, patient, comment) = proposal::read(a, &view, state.booking.now())?;
    if let Some(key) = if_none_exist(&headers)? {
        p.identifier = Some(key);
    }
    place(&state, caller, &view, p, patient, comment, None).await
}

/// What `PUT` and `PATCH` of appointment `id` start from: the appointment as it is, the version
/// the client read (`If-Match`; 412 when the appointment is no longer at it), and the clinic.
async fn change_base(
    state: &AppState,
    org: crate::domain::OrgId,
    id: AppointmentId,
    headers: &HeaderMap,
) -> Result<
    (
        AppointmentRecord,
        Option<Expected>,
        std::sync::Arc<ClinicView>,
    ),
    FhirError,
> {
    let current = state.booking.appointment(org, id).await?;
    let expected = check_version(headers, &current)?;
    let view = state.booking.clinic(org).await?;
    Ok((current, expected, view))
}

/// The version `If-Match` names, checked against the current one (412 at once when it is
/// not); the claim writer checks it again as it applies the change (`Expected`), so a change
/// made in between is caught too.
fn check_version(
    headers: &HeaderMap,
    current: &AppointmentRecord,
) -> Result<Option<Expected>, FhirError> {
    let Some(wanted) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let wanted = wanted.to_str().unwrap_or_default().trim();
    let wanted = wanted.trim_start_matches("W/").trim_matches('"');
    if wanted == resources::version(current) {
        Ok(Some(Expected {
            org: current.org_id,
            id: current.id,
            version: wanted.to_string(),
        }))
    } else {
        Err(FhirError::version_conflict())
    }
}

/// Makes `current` what `desired` says, each change through the claim writer: a new start
/// moves it (atomically, or nothing changes), `cancelled` cancels it (with
/// `cancelationReason.text`), `booked` confirms a pending one, `fulfilled`/`noshow` record the
/// outcome. Other elements are the booking's own and are not changed here.
async fn change(
    state: &AppState,
    caller: Caller,
    view: &ClinicView,
    current: AppointmentRecord,
    desired: &Value,
    mut expected: Option<Expected>,
) -> Result<AppointmentRecord, FhirError> {
    if desired["resourceType"] != "Appointment" {
        return Err(FhirError::field(
            "Appointment.resourceType",
            "must be Appointment",
        ));
    }
    if desired
        .get("id")
        .is_some_and(|id| id.as_str() != Some(&current.id.to_string()))
    {
        return Err(FhirError::new(
            StatusCode::BAD_REQUEST,
            "invalid",
            "the resource's id must be the one in the URL",
        ));
    }
    let status = match desired.get("status") {
        None => current.status,
        Some(s) => s
            .as_str()
            .and_then(resources::status_from_code)
            .ok_or_else(|| {
                FhirError::field(
                    "Appointment.status",
                    "must be pending, booked, cancelled, fulfilled or noshow",
                )
            })?,
    };
    let now = state.booking.now();
    let read_instant = |name: &str| -> Result<Option<chrono::DateTime<chrono::Utc>>, FhirError> {
        match desired.get(name) {
            None => Ok(None),
            Some(v) => v
                .as_str()
                .and_then(|s| chrono::DateTime::parse_from_rfc3339(s.trim()).ok())
                .map(|t| t.with_timezone(&chrono::Utc))
                .ok_or_else(|| {
                    FhirError::field(
                        &format!("Appointment.{name}"),
                        "must be an instant with its offset",
                    )
                })
                .and_then(|t| {
                    crate::booking::intake::instant_in_window(t, now)
                        .map(Some)
                        .map_err(|m| FhirError::field(&format!("Appointment.{name}"), m))
                }),
        }
    };
    let start = read_instant("start")?.unwrap_or(current.start);
    // An end left as it was (a patch of the start alone) follows the start; a new one must
    // keep the length.
    if let Some(end) = read_instant("end")?.filter(|e| *e != current.end) {
        if end - start != current.end - current.start {
            return Err(FhirError::field(
                "Appointment.end",
                "the length follows the service; move the start instead",
            ));
        }
    }
    let reason = desired["cancelationReason"]["text"]
        .as_str()
        .map(str::to_string);
    let reason = crate::booking::intake::optional_text(
        reason.as_deref(),
        crate::booking::intake::REASON_MAX_CHARS,
    )
    .map_err(|m| FhirError::field("Appointment.cancelationReason", m))?;
    // Everything asked is checked before anything is changed.
    let moved = start != current.start;
    match (current.status, status) {
        (_, AppointmentStatus::Cancelled) => {}
        (from, to) if from == to => {}
        (AppointmentStatus::Pending, AppointmentStatus::Confirmed) => {}
        (_, AppointmentStatus::Completed | AppointmentStatus::NoShow) if moved => {
            return Err(FhirError::field(
                "Appointment.status",
                "record the outcome and move the start in separate changes",
            ))
        }
        (_, AppointmentStatus::Completed | AppointmentStatus::NoShow) => {}
        _ => {
            return Err(FhirError::new(
                StatusCode::CONFLICT,
                "business-rule",
                "an appointment cannot go back to that status",
            ))
        }
    }
    let service = current.service_id;
    let mut a = current;
    if status == AppointmentStatus::Cancelled {
        if a.status != AppointmentStatus::Cancelled {
            a = state
                .booking
                .cancel(caller, a.id, reason, expected.as_ref())
                .await?;
        }
        return Ok(a);
    }
    if moved {
        a = state
            .booking
            .reschedule(caller, a.id, start, None, None, expected.as_ref())
            .await
            .map_err(|e| booking_error(e, service, view))?;
        // A status asked with the move is applied to the moved appointment, on condition that
        // nothing else changed it since (when the client named a version).
        if let Some(e) = expected.as_mut() {
            e.version = a.version();
        }
    }
    match (a.status, status) {
        (from, to) if from == to => {}
        (AppointmentStatus::Pending, AppointmentStatus::Confirmed) => {
            a = state
                .booking
                .confirm_as(
                    a.confirmation_token.clone(),
                    Some(caller.actor()),
                    expected.as_ref(),
                )
                .await?
                .ok_or_else(|| {
                    FhirError::new(StatusCode::CONFLICT, "conflict", "it is no longer pending")
                })?;
        }
        (_, to) => {
            a = state
                .booking
                .set_outcome(caller, a.id, to, expected.as_ref())
                .await?;
        }
    }
    Ok(a)
}

/// Changes an appointment's status or start (see `change`); `If-Match: W/"{versionId}"` refuses
/// with 412 when it changed since (admin, staff).
#[utoipa::path(
    put,
    path = "/fhir/r4/Appointment/{id}",
    tag = "fhir",
    params(("id" = String, Path, description = "The appointment's id")),
    security(("bearer" = ["admin", "staff"])),
    request_body(content = Object, content_type = "application/fhir+json", description = "The Appointment as it should be"),
    responses((status = 200, description = "The Appointment as it now is", body = Object, content_type = "application/fhir+json"))
)]
async fn update_appointment(
    State(state): State<AppState>,
    FhirCaller(caller): FhirCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<FhirResponse, FhirError> {
    let id: AppointmentId = id.parse().map_err(|_| FhirError::not_found())?;
    let desired = body_json(&body)?;
    let (current, expected, view) = change_base(&state, caller.org, id, &headers).await?;
    let a = change(&state, caller, &view, current, &desired, expected).await?;
    Ok(answer(&a, &view, &base_of(&state)))
}

/// Changes an appointment by a JSON Patch (RFC 6902, an array) or a merge patch (RFC 7396,
/// an object) of its resource; then as `PUT` (admin, staff).
#[utoipa::path(
    patch,
    path = "/fhir/r4/Appointment/{id}",
    tag = "fhir",
    params(("id" = String, Path, description = "The appointment's id")),
    security(("bearer" = ["admin", "staff"])),
    request_body(content = Object, content_type = "application/json-patch+json", description = "A JSON Patch array, or a merge-patch object"),
    responses((status = 200, description = "The Appointment as it now is", body = Object, content_type = "application/fhir+json"))
)]
async fn patch_appointment(
    State(state): State<AppState>,
    FhirCaller(caller): FhirCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<FhirResponse, FhirError> {
    let id: AppointmentId = id.parse().map_err(|_| FhirError::not_found())?;
    let patch: Value = crate::http::extract::parse_json(&body).map_err(FhirError::from)?;
    let (current, expected, view) = change_base(&state, caller.org, id, &headers).await?;
    let mut desired = resources::appointment(&current, &view);
    match &patch {
        Value::Array(_) => {
            let ops: json_patch::Patch = serde_json::from_value(patch)
                .map_err(|_| FhirError::field("Patch", "must be JSON Patch operations"))?;
            json_patch::patch(&mut desired, &ops)
                .map_err(|_| FhirError::field("Patch", "does not apply to this appointment"))?;
        }
        Value::Object(_) => json_patch::merge(&mut desired, &patch),
        _ => {
            return Err(FhirError::field(
                "Patch",
                "must be a JSON Patch array or a merge-patch object",
            ))
        }
    }
    let a = change(&state, caller, &view, current, &desired, expected).await?;
    Ok(answer(&a, &view, &base_of(&state)))
}
