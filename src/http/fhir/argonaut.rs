//! Argonaut Scheduling's operations on `Appointment`: `$find` (open times as proposed
//! Appointments), `$hold` (the same holds the voice agent places) and `$book` (a held time or
//! any other, booked as `POST Appointment` books).

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use chrono::Duration;
use serde_json::{json, Value};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::appointments::{body_json, booking_error, place};
use super::directory::{free_slots, Paging, DEFAULT_SLOT_SEARCH_DAYS, MAX_SLOT_SEARCH_DAYS};
use super::proposal;
use super::resources::{self, FreeSlotId, SERVICE_SYSTEM};
use super::search::{date_range, reference_id, token_code, SearchQuery};
use super::{base_of, searchset, FhirCaller, FhirError, FhirResponse};
use crate::booking::holds::HoldRequest;
use crate::booking::{ClinicView, Slot};
use crate::domain::{AppointmentId, ServiceId};
use crate::http::AppState;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(find))
        .routes(routes!(hold))
        .routes(routes!(book))
}

#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct FindParams {
    /// The earliest start (an instant with its offset, or a date: the clinic's day); default now.
    #[param(
        pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|[+-][0-9]{2}:[0-9]{2}))?$"
    )]
    start: Option<String>,
    /// The latest end (as `start`); default 14 days after it, at most 31.
    #[param(
        pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|[+-][0-9]{2}:[0-9]{2}))?$"
    )]
    end: Option<String>,
    /// `Practitioner/{id}`: with this provider only.
    provider: Option<String>,
    /// A `HealthcareService` id (optionally `system|id`): times long enough for it.
    #[param(rename = "service-type")]
    service_type: Option<String>,
    /// Argonaut's name for `service-type`.
    #[param(rename = "visit-type")]
    visit_type: Option<String>,
}

/// Argonaut `$find`: open times as proposed Appointments (each naming its free slot, which
/// `POST Appointment` or `$book` takes), in start order (admin, staff, clinician, agent).
#[utoipa::path(
    get,
    path = "/fhir/r4/Appointment/$find",
    tag = "fhir",
    params(FindParams, Paging),
    security(("bearer" = ["admin", "staff", "clinician", "agent"])),
    responses((status = 200, description = "A searchset Bundle of proposed Appointment", body = Object, content_type = "application/fhir+json"))
)]
async fn find(
    State(state): State<AppState>,
    FhirCaller(caller): FhirCaller,
    RawQuery(raw): RawQuery,
) -> Result<FhirResponse, FhirError> {
    let query = SearchQuery::parse(raw.as_deref())?;
    let view = state.booking.clinic(caller.org).await?;
    let from =
        bound(&query, "start", &view, false, state.booking.now())?.unwrap_or(state.booking.now());
    let to = bound(&query, "end", &view, true, state.booking.now())?
        .unwrap_or(from + Duration::days(DEFAULT_SLOT_SEARCH_DAYS));
    if to - from > Duration::days(MAX_SLOT_SEARCH_DAYS) {
        return Err(FhirError::bad_search(
            "end",
            "a search covers at most 31 days; search the next days with a later start",
        ));
    }
    let provider = match query.single("provider")? {
        None => None,
        Some(p) => match reference_id(p, "Practitioner").and_then(|id| id.parse().ok()) {
            Some(p) => Some(p),
            None => {
                return Err(FhirError::bad_search(
                    "provider",
                    "is not a practitioner of this clinic",
                ))
            }
        },
    };
    let service_type = match query.single("service-type")? {
        Some(s) => Some(s),
        None => query.single("visit-type")?,
    };
    let service = match service_type {
        None => None,
        Some(t) => Some(
            token_code(t, SERVICE_SYSTEM)
                .and_then(|id| id.parse::<ServiceId>().ok())
                .and_then(|id| view.services.iter().find(|s| s.id == id))
                .ok_or_else(|| {
                    FhirError::bad_search("service-type", "is not a service of this clinic")
                })?,
        ),
    };
    let slots = if to > from {
        free_slots(&state, &view, provider, service, from, to).await?
    } else {
        Vec::new()
    };
    let matches = slots
        .iter()
        .filter(|s| s.end <= to)
        .map(|s| proposed(s, service.map(|x| x.id), &view))
        .collect();
    Ok(FhirResponse::ok(searchset(
        &base_of(&state),
        "/Appointment/$find",
        &query,
        matches,
        Vec::new(),
    )))
}

/// A `$find` bound: a date is its day's first instant (or, for the end, the next day's).
fn bound(
    query: &SearchQuery,
    name: &str,
    view: &ClinicView,
    end: bool,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, FhirError> {
    let Some(v) = query.single(name)? else {
        return Ok(None);
    };
    let range = date_range(
        &SearchQuery::parse(Some(&format!("d={}", urlencode(v))))?,
        "d",
        view.tz,
        now,
    )
    .map_err(|_| FhirError::bad_search(name, "must be a date or an instant with its offset"))?;
    Ok(if end { range.to } else { range.from })
}

fn urlencode(v: &str) -> String {
    form_urlencoded::byte_serialize(v.as_bytes()).collect()
}

/// An open time as a proposed Appointment, under its slot's id.
fn proposed(s: &Slot, service: Option<ServiceId>, view: &ClinicView) -> Value {
    let slot = FreeSlotId {
        provider: s.provider_id,
        service,
        start: s.start,
    }
    .encode();
    let mut practitioner = json!({
        "actor": {"reference": format!("Practitioner/{}", s.provider_id)},
        "required": "required",
        "status": "needs-action",
    });
    if let Some(p) = view.providers.iter().find(|p| p.id == s.provider_id) {
        practitioner["actor"]["display"] = json!(p.name);
    }
    let mut v = json!({
        "resourceType": "Appointment",
        "id": slot,
        "status": "proposed",
        "start": resources::instant(s.start, view.tz),
        "end": resources::instant(s.end, view.tz),
        "minutesDuration": (s.end - s.start).num_minutes(),
        "slot": [{"reference": format!("Slot/{slot}")}],
        "participant": [practitioner],
    });
    if let Some(service) = service.and_then(|id| view.services.iter().find(|x| x.id == id)) {
        v["serviceType"] = json!([resources::service_concept(service)]);
    }
    v
}

/// Argonaut `$hold`: keeps a proposed Appointment's time from everyone else for the clinic's
/// `hold_minutes` (the same holds the voice agent places); answers the held Appointment, whose
/// id `$book` takes (admin, staff, agent).
#[utoipa::path(
    post,
    path = "/fhir/r4/Appointment/$hold",
    tag = "fhir",
    security(("bearer" = ["admin", "staff", "agent"])),
    request_body(content = Object, content_type = "application/fhir+json", description = "An Appointment, or Parameters with appt-resource"),
    responses((status = 200, description = "The held Appointment (status pending)", body = Object, content_type = "application/fhir+json"))
)]
async fn hold(
    State(state): State<AppState>,
    FhirCaller(caller): FhirCaller,
    body: Bytes,
) -> Result<FhirResponse, FhirError> {
    let body = body_json(&body)?;
    let a = proposal::appointment_in(&body)?;
    let view = state.booking.clinic(caller.org).await?;
    let (p, _, _) = proposal::read(a, &view, state.booking.now())?;
    let request = HoldRequest {
        org: caller.org,
        holder: format!("fhir:{}", uuid::Uuid::new_v4()),
        provider_id: p.provider,
        service_id: p.service,
        start: p.start,
        duration_minutes: p.duration_minutes,
        minutes: view.settings.hold_minutes,
    };
    let held = state
        .booking
        .hold_slot(request)
        .await
        .map_err(|e| booking_error(e, p.service, &view))?;
    let mut v = proposed(
        &Slot {
            provider_id: held.provider,
            start: held.start,
            end: held.end,
        },
        held.service,
        &view,
    );
    v["id"] = json!(held.id.to_string());
    v["status"] = json!("pending");
    v["comment"] = json!(format!(
        "Held until {}",
        resources::instant(held.until, view.tz)
    ));
    Ok(FhirResponse::ok(v))
}

/// Argonaut `$book`: books an Appointment with its patient (as `POST Appointment` takes them);
/// when its id is a live `$hold`, the held time is booked and the hold ends (admin, staff,
/// agent).
#[utoipa::path(
    post,
    path = "/fhir/r4/Appointment/$book",
    tag = "fhir",
    security(("bearer" = ["admin", "staff", "agent"])),
    request_body(content = Object, content_type = "application/fhir+json", description = "An Appointment, or Parameters with appt-resource"),
    responses(
        (status = 201, description = "The Appointment made", body = Object, content_type = "application/fhir+json"),
        (status = 200, description = "The Appointment made earlier under the same identifier", body = Object, content_type = "application/fhir+json")
    )
)]
async fn book(
    State(state): State<AppState>,
    FhirCaller(caller): FhirCaller,
    body: Bytes,
) -> Result<FhirResponse, FhirError> {
    let body = body_json(&body)?;
    let a = proposal::appointment_in(&body)?;
    let view = state.booking.clinic(caller.org).await?;
    let now = state.booking.now();
    let held = a["id"]
        .as_str()
        .and_then(|id| id.parse::<AppointmentId>().ok())
        .and_then(|id| {
            state
                .booking
                .holds(caller.org)
                .into_iter()
                .find(|h| h.id == id && h.holder.starts_with("fhir:") && h.live(now))
        });
    // A held time is booked as it was held.
    let mut a = a.clone();
    if let Some(h) = &held {
        a["start"] = json!(resources::instant(h.start, view.tz));
        a["end"] = json!(resources::instant(h.end, view.tz));
        a.as_object_mut().map(|o| o.remove("slot"));
    }
    let (mut p, patient, comment) = proposal::read(&a, &view, now)?;
    if let Some(h) = &held {
        p.provider = h.provider;
        p.service = h.service;
        p.duration_minutes = Some(((h.end - h.start).num_minutes()).max(0) as u32);
    }
    place(
        &state,
        caller,
        &view,
        p,
        patient,
        comment,
        held.map(|h| h.holder),
    )
    .await
}
