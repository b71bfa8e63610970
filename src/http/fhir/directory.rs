//! FHIR reads and searches of what the clinic offers and who it books: `Practitioner`,
//! `HealthcareService`, `Schedule`, `Slot` (free times from the rule engine, busy times from
//! the diary) and `Patient` (audited like a clinical note).

use axum::extract::{Path, RawQuery, State};
use chrono::{Duration, Utc};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::resources::{self, FreeSlotId, SERVICE_SYSTEM};
use super::search::{date_range, reference_id, token_code, SearchQuery};
use super::{base_of, searchset, searchset_page, FhirCaller, FhirError, FhirResponse};
use crate::booking::records::{AppointmentRecord, ServiceRecord};
use crate::booking::{intake, AppointmentFilter, BookingError, ClinicView};
use crate::domain::{AppointmentId, PhoneNumber, ProviderId, ServiceId};
use crate::http::AppState;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(search_practitioners))
        .routes(routes!(read_practitioner))
        .routes(routes!(search_healthcare_services))
        .routes(routes!(read_healthcare_service))
        .routes(routes!(search_schedules))
        .routes(routes!(read_schedule))
        .routes(routes!(search_slots))
        .routes(routes!(read_slot))
        .routes(routes!(search_patients))
        .routes(routes!(read_patient))
}

/// Longest span one slot search may cover (a client pages through longer ones by `start`).
pub const MAX_SLOT_SEARCH_DAYS: i64 = 31;
/// The span a slot search covers when it gives no end.
pub const DEFAULT_SLOT_SEARCH_DAYS: i64 = 14;

/// Paging parameters every search takes.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub(super) struct Paging {
    /// Matches per page (1–500, default 100).
    #[param(rename = "_count", minimum = 1, maximum = 500)]
    count: Option<u32>,
    /// Where the page starts among the matches (the `next` link sets it).
    #[param(rename = "_offset", minimum = 0, maximum = 1000000)]
    offset: Option<u32>,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct IdSearch {
    /// The resource's id.
    #[param(rename = "_id")]
    id: Option<String>,
}

fn parse_id<T: std::str::FromStr>(raw: &str) -> Result<T, FhirError> {
    raw.parse().map_err(|_| FhirError::not_found())
}

/// Whether an `_id` search admits `id`.
fn id_matches(query: &SearchQuery, id: &str) -> bool {
    let wanted = query.values("_id");
    wanted.is_empty() || wanted.contains(&id)
}

/// The searchset Bundle at `path` of the `items` an `_id` search admits (an item's id is
/// `id`), each as `resource` makes it.
fn id_searchset<'a, T: 'a>(
    state: &AppState,
    path: &str,
    query: &SearchQuery,
    items: impl IntoIterator<Item = &'a T>,
    id: impl Fn(&T) -> String,
    resource: impl Fn(&T) -> serde_json::Value,
) -> FhirResponse {
    let matches = items
        .into_iter()
        .filter(|t| id_matches(query, &id(t)))
        .map(resource)
        .collect();
    FhirResponse::ok(searchset(&base_of(state), path, query, matches, Vec::new()))
}

/// The one of `items` whose id (`id`) the path's `raw` names; 404 when none does or `raw`
/// is no id at all.
fn find_by_id<'a, T, I: std::str::FromStr + PartialEq>(
    items: &'a [T],
    raw: &str,
    id: impl Fn(&T) -> I,
) -> Result<&'a T, FhirError> {
    let wanted: I = parse_id(raw)?;
    items
        .iter()
        .find(|t| id(t) == wanted)
        .ok_or_else(FhirError::not_found)
}

/// Practitioners: the clinic's providers.
#[utoipa::path(
    get,
    path = "/fhir/r4/Practitioner",
    tag = "fhir",
    params(IdSearch, Paging),
    security(("bearer" = ["admin", "staff", "clinician", "agent"])),
    responses((status = 200, description = "A searchset Bundle of Practitioner", body = Object, content_type = "application/fhir+json"))
)]
async fn search_practitioners(
    State(state): State<AppState>,
    FhirCaller(caller): FhirCaller,
    RawQuery(raw): RawQuery,
) -> Result<FhirResponse, FhirError> {
    let query = SearchQuery::parse(raw.as_deref())?;
    let view = state.booking.clinic(caller.org).await?;
    Ok(id_searchset(
        &state,
        "/Practitioner",
        &query,
        &view.providers,
        |p| p.id.to_string(),
        resources::practitioner,
    ))
}

/// One practitioner.
#[utoipa::path(
    get,
    path = "/fhir/r4/Practitioner/{id}",
    tag = "fhir",
    params(("id" = String, Path, description = "The provider's id")),
    security(("bearer" = ["admin", "staff", "clinician", "agent"])),
    responses((status = 200, description = "Practitioner", body = Object, content_type = "application/fhir+json"))
)]
async fn read_practitioner(
    State(state): State<AppState>,
    FhirCaller(caller): FhirCaller,
    Path(id): Path<String>,
) -> Result<FhirResponse, FhirError> {
    let view = state.booking.clinic(caller.org).await?;
    let p = find_by_id(&view.providers, &id, |p| p.id)?;
    Ok(FhirResponse::ok(resources::practitioner(p)))
}

/// Healthcare services: the clinic's bookable services.
#[utoipa::path(
    get,
    path = "/fhir/r4/HealthcareService",
    tag = "fhir",
    params(IdSearch, Paging),
    security(("bearer" = ["admin", "staff", "clinician", "agent"])),
    responses((status = 200, description = "A searchset Bundle of HealthcareService", body = Object, content_type = "application/fhir+json"))
)]
async fn search_healthcare_services(
    State(state): State<AppState>,
    FhirCaller(caller): FhirCaller,
    RawQuery(raw): RawQuery,
) -> Result<FhirResponse, FhirError> {
    let query = SearchQuery::parse(raw.as_deref())?;
    let view = state.booking.clinic(caller.org).await?;
    Ok(id_searchset(
        &state,
        "/HealthcareService",
        &query,
        &view.services,
        |s| s.id.to_string(),
        resources::healthcare_service,
    ))
}

/// One healthcare service.
#[utoipa::path(
    get,
    path = "/fhir/r4/HealthcareService/{id}",
    tag = "fhir",
    params(("id" = String, Path, description = "The service's id")),
    security(("bearer" = ["admin", "staff", "clinician", "agent"])),
    responses((status = 200, description = "HealthcareService", body = Object, content_type = "application/fhir+json"))
)]
async fn read_healthcare_service(
    State(state): State<AppState>,
    FhirCaller(caller): FhirCaller,
    Path(id): Path<String>,
) -> Result<FhirResponse, FhirError> {
    let view = state.booking.clinic(caller.org).await?;
    let s = find_by_id(&view.services, &id, |s| s.id)?;
    Ok(FhirResponse::ok(resources::healthcare_service(s)))
}

#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct ScheduleSearch {
    /// The schedule's id (the provider's).
    #[param(rename = "_id")]
    id: Option<String>,
    /// `Practitioner/{id}`: that provider's schedule.
    actor: Option<String>,
}

fn horizon_end(view: &ClinicView) -> chrono::DateTime<Utc> {
    Utc::now() + Duration::days(view.settings.horizon_days.into())
}

/// Schedules: one per provider, under the provider's id.
#[utoipa::path(
    get,
    path = "/fhir/r4/Schedule",
    tag = "fhir",
    params(ScheduleSearch, Paging),
    security(("bearer" = ["admin", "staff", "clinician", "agent"])),
    responses((status = 200, description = "A searchset Bundle of Schedule", body = Object, content_type = "application/fhir+json"))
)]
async fn search_schedules(
    State(state): State<AppState>,
    FhirCaller(caller): FhirCaller,
    RawQuery(raw): RawQuery,
) -> Result<FhirResponse, FhirError> {
    let query = SearchQuery::parse(raw.as_deref())?;
    let actors: Vec<&str> = query
        .values("actor")
        .into_iter()
        .map(|a| reference_id(a, "Practitioner").unwrap_or("-"))
        .collect();
    let view = state.booking.clinic(caller.org).await?;
    let end = horizon_end(&view);
    Ok(id_searchset(
        &state,
        "/Schedule",
        &query,
        view.providers
            .iter()
            .filter(|p| actors.is_empty() || actors.contains(&p.id.to_string().as_str())),
        |p| p.id.to_string(),
        |p| resources::schedule(p, &view, end),
    ))
}

/// One provider's schedule.
#[utoipa::path(
    get,
    path = "/fhir/r4/Schedule/{id}",
    tag = "fhir",
    params(("id" = String, Path, description = "The provider's id")),
    security(("bearer" = ["admin", "staff", "clinician", "agent"])),
    responses((status = 200, description = "Schedule", body = Object, content_type = "application/fhir+json"))
)]
async fn read_schedule(
    State(state): State<AppState>,
    FhirCaller(caller): FhirCaller,
    Path(id): Path<String>,
) -> Result<FhirResponse, FhirError> {
    let view = state.booking.clinic(caller.org).await?;
    let p = find_by_id(&view.providers, &id, |p| p.id)?;
    Ok(FhirResponse::ok(resources::schedule(
        p,
        &view,
        horizon_end(&view),
    )))
}

#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct SlotSearch {
    /// `Schedule/{id}`: one provider's slots (default: every provider's).
    schedule: Option<String>,
    /// Repeatable, each with a prefix: `ge2026-07-01`, `lt2026-07-15T12:00:00+01:00`. A date is
    /// the clinic's day. Default: from now for 14 days; at most 31 days per search.
    #[param(
        pattern = r"^(ge|gt|le|lt|eq)?[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|[+-][0-9]{2}:[0-9]{2}))?$"
    )]
    start: Option<String>,
    /// `free`, `busy`, or both comma-separated (default both).
    #[param(pattern = r"^(free|busy)(,(free|busy))*$")]
    status: Option<String>,
    /// A `HealthcareService` id (optionally `system|id`): slots long enough for it.
    #[param(rename = "service-type")]
    service_type: Option<String>,
}

/// Free and busy slots: free ones from the rule engine (hours, breaks, time off, notice,
/// horizon, every booking and hold), busy ones from the diary.
#[utoipa::path(
    get,
    path = "/fhir/r4/Slot",
    tag = "fhir",
    params(SlotSearch, Paging),
    security(("bearer" = ["admin", "staff", "clinician", "agent"])),
    responses((status = 200, description = "A searchset Bundle of Slot", body = Object, content_type = "application/fhir+json"))
)]
async fn search_slots(
    State(state): State<AppState>,
    FhirCaller(caller): FhirCaller,
    RawQuery(raw): RawQuery,
) -> Result<FhirResponse, FhirError> {
    let query = SearchQuery::parse(raw.as_deref())?;
    let view = state.booking.clinic(caller.org).await?;
    let matches = slots(&state, &view, &query).await?;
    Ok(FhirResponse::ok(searchset(
        &base_of(&state),
        "/Slot",
        &query,
        matches,
        Vec::new(),
    )))
}

/// The slots a search asks for, in start order.
async fn slots(
    state: &AppState,
    view: &ClinicView,
    query: &SearchQuery,
) -> Result<Vec<resources::SlotResource>, FhirError> {
    let tz = view.tz;
    let now = state.booking.now();
    let statuses = query.values("status");
    if statuses.iter().any(|s| !matches!(*s, "free" | "busy")) {
        return Err(FhirError::bad_search("status", "must be free or busy"));
    }
    let want = |s: &str| statuses.is_empty() || statuses.contains(&s);
    // Every parameter is checked before any of them can make the answer empty.
    let range = date_range(query, "start", tz, state.booking.now())?;
    let service_token = query.single("service-type")?;
    let provider = match query.single("schedule")? {
        None => None,
        Some(s) => match reference_id(s, "Schedule").and_then(|id| id.parse().ok()) {
            Some(p) => Some(p),
            None => return Ok(Vec::new()),
        },
    };
    let service = match service_token {
        None => None,
        Some(t) => {
            match token_code(t, SERVICE_SYSTEM).and_then(|id| id.parse::<ServiceId>().ok()) {
                Some(id) => match view.services.iter().find(|s| s.id == id) {
                    Some(s) => Some(s),
                    None => return Ok(Vec::new()),
                },
                None => return Ok(Vec::new()),
            }
        }
    };
    if provider.is_some_and(|p: ProviderId| !view.providers.iter().any(|x| x.id == p)) {
        return Ok(Vec::new());
    }
    let from = range.from.unwrap_or(now);
    let to = range
        .to
        .unwrap_or(from + Duration::days(DEFAULT_SLOT_SEARCH_DAYS));
    if to <= from {
        return Ok(Vec::new());
    }
    if to - from > Duration::days(MAX_SLOT_SEARCH_DAYS) {
        return Err(FhirError::bad_search(
            "start",
            "a slot search covers at most 31 days; search the next days with a later start",
        ));
    }
    let mut found: Vec<(chrono::DateTime<Utc>, resources::SlotResource)> = Vec::new();
    if want("free") {
        let mut slots = resources::FreeSlotWriter::new(service, tz);
        found.extend(
            free_slots(state, view, provider, service, from, to)
                .await?
                .into_iter()
                .map(|s| (s.start, slots.write(&s))),
        );
    }
    if want("busy") {
        let filter = AppointmentFilter {
            from: Some(from),
            to: Some(to),
            provider_id: provider,
            phone: None,
        };
        let booked = state.booking.appointments(view.org.id, filter).await?;
        found.extend(
            booked
                .iter()
                .filter(|a| a.status.is_active() && a.start >= from)
                .filter(|a| service.is_none_or(|s| a.service_id == Some(s.id)))
                .map(|a| (a.start, resources::busy_slot(a, tz))),
        );
    }
    found.sort_by_key(|a| a.0);
    Ok(found.into_iter().map(|(_, v)| v).collect())
}

/// The free slots starting in `[from, to)`.
pub(super) async fn free_slots(
    state: &AppState,
    view: &ClinicView,
    provider: Option<ProviderId>,
    service: Option<&ServiceRecord>,
    from: chrono::DateTime<Utc>,
    to: chrono::DateTime<Utc>,
) -> Result<Vec<crate::booking::Slot>, FhirError> {
    let tz = view.tz;
    let today = state.booking.now().with_timezone(&tz).date_naive();
    let first = from.with_timezone(&tz).date_naive();
    let last = (to - Duration::seconds(1)).with_timezone(&tz).date_naive();
    // Days outside the booking window have nothing free and are never computed over.
    let first = first.max(today - Duration::days(1));
    if intake::date_in_window(first, today).is_err() {
        return Ok(Vec::new());
    }
    let mut last = last;
    while last > first && intake::date_in_window(last, today).is_err() {
        last -= Duration::days(1);
    }
    let days = ((last - first).num_days() + 1).clamp(1, 31) as u32;
    let found = match state
        .booking
        .availability(view.org.id, service.map(|s| s.id), provider, first, days)
        .await
    {
        Ok(found) => found,
        Err(BookingError::NotFound) => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    Ok(found
        .into_iter()
        .filter(|s| s.start >= from && s.start < to)
        .collect())
}

/// One slot: a free one while it is still free, a busy one while its appointment holds it.
#[utoipa::path(
    get,
    path = "/fhir/r4/Slot/{id}",
    tag = "fhir",
    params(("id" = String, Path, description = "A slot's id, as a search answered it")),
    security(("bearer" = ["admin", "staff", "clinician", "agent"])),
    responses((status = 200, description = "Slot", body = Object, content_type = "application/fhir+json"))
)]
async fn read_slot(
    State(state): State<AppState>,
    FhirCaller(caller): FhirCaller,
    Path(id): Path<String>,
) -> Result<FhirResponse, FhirError> {
    let view = state.booking.clinic(caller.org).await?;
    if let Some(appointment) = resources::busy_slot_appointment(&id) {
        let a = state
            .booking
            .appointment(caller.org, appointment)
            .await
            .map_err(|_| FhirError::not_found())?;
        if !a.status.is_active() {
            return Err(FhirError::not_found());
        }
        return Ok(FhirResponse::ok(resources::busy_slot(&a, view.tz)));
    }
    let slot = free_slot(&state, &view, &id).await?;
    let service = slot
        .1
        .and_then(|id| view.services.iter().find(|s| s.id == id));
    Ok(FhirResponse::ok(resources::free_slot(
        &slot.0, service, view.tz,
    )))
}

/// The free slot a slot id names, while it is free; its service.
pub(super) async fn free_slot(
    state: &AppState,
    view: &ClinicView,
    id: &str,
) -> Result<(crate::booking::Slot, Option<ServiceId>), FhirError> {
    let wanted = FreeSlotId::decode(id)
        .filter(|w| intake::instant_in_window(w.start, state.booking.now()).is_ok())
        .ok_or_else(FhirError::not_found)?;
    let service = match wanted.service {
        Some(s) => Some(
            view.services
                .iter()
                .find(|x| x.id == s)
                .ok_or_else(FhirError::not_found)?,
        ),
        None => None,
    };
    let found = free_slots(
        state,
        view,
        Some(wanted.provider),
        service,
        wanted.start,
        wanted.start + Duration::minutes(1),
    )
    .await?;
    let slot = found
        .into_iter()
        .find(|s| s.start == wanted.start)
        .ok_or_else(FhirError::not_found)?;
    Ok((slot, wanted.service))
}

#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct PatientSearch {
    /// The patient's id (a booking's).
    #[param(rename = "_id")]
    id: Option<String>,
    /// The patient's phone number, national or international.
    telephone: Option<String>,
}

/// Patients as their bookings recorded them (one per booking, under the booking's id); each
/// one returned is audited (admin, staff, clinician).
#[utoipa::path(
    get,
    path = "/fhir/r4/Patient",
    tag = "fhir",
    params(PatientSearch, Paging),
    security(("bearer" = ["admin", "staff", "clinician"])),
    responses((status = 200, description = "A searchset Bundle of Patient", body = Object, content_type = "application/fhir+json"))
)]
async fn search_patients(
    State(state): State<AppState>,
    FhirCaller(caller): FhirCaller,
    RawQuery(raw): RawQuery,
) -> Result<FhirResponse, FhirError> {
    let query = SearchQuery::parse(raw.as_deref())?;
    let view = state.booking.clinic(caller.org).await?;
    let mut filter = AppointmentFilter::default();
    if let Some(phone) = query.single("telephone")? {
        match PhoneNumber::parse(phone, &view.settings.phone_region) {
            Ok(p) => filter.phone = Some(p.as_str().to_string()),
            Err(_) => return Err(FhirError::bad_search("telephone", "must be a phone number")),
        }
    }
    let ids: Vec<AppointmentId> = state
        .booking
        .appointments(caller.org, filter)
        .await?
        .into_iter()
        .filter(|a| id_matches(&query, &a.id.to_string()))
        .map(|a| a.id)
        .collect();
    // Only the page shown is read (and audited).
    let total = ids.len();
    let page: Vec<AppointmentId> = ids
        .into_iter()
        .skip(query.offset)
        .take(query.count)
        .collect();
    let read = state.booking.read_patients(caller, page).await?;
    Ok(FhirResponse::ok(searchset_page(
        &base_of(&state),
        "/Patient",
        &query,
        read.iter().map(resources::patient).collect(),
        total,
        Vec::new(),
    )))
}

/// One patient as a booking recorded them; the reading is audited (admin, staff, clinician).
#[utoipa::path(
    get,
    path = "/fhir/r4/Patient/{id}",
    tag = "fhir",
    params(("id" = String, Path, description = "The booking's id")),
    security(("bearer" = ["admin", "staff", "clinician"])),
    responses((status = 200, description = "Patient", body = Object, content_type = "application/fhir+json"))
)]
async fn read_patient(
    State(state): State<AppState>,
    FhirCaller(caller): FhirCaller,
    Path(id): Path<String>,
) -> Result<FhirResponse, FhirError> {
    let id: AppointmentId = parse_id(&id)?;
    let read: Vec<AppointmentRecord> = state.booking.read_patients(caller, vec![id]).await?;
    let a = read.first().ok_or_else(FhirError::not_found)?;
    Ok(FhirResponse::ok(resources::patient(a)))
}
