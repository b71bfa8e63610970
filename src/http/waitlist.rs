//! Routes for the waiting list (join, list, leave) and for the times held for calls in
//! progress, which the diary shows.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::booking::local_text;
use super::error::ApiError;
use super::extract::{path_id, ApiJson, OrgScope};
use super::openapi::OrgPath;
use super::AppState;
use crate::booking::records::BookingSource;
use crate::domain::{AppointmentId, FieldError, PhoneNumber, ProviderId, ServiceId};
use crate::waitlist::records::{check_entry, EntryFields, EntryStatus, PartOfDay, WaitlistEntry};
use crate::waitlist::WaitlistError;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(join_waitlist, list_waitlist))
        .routes(routes!(leave_waitlist))
        .routes(routes!(list_holds))
}

impl From<WaitlistError> for ApiError {
    fn from(e: WaitlistError) -> Self {
        match e {
            WaitlistError::Invalid(fields) => ApiError::Invalid(fields),
            WaitlistError::NotFound => ApiError::NotFound,
            WaitlistError::Store(e) => e.into(),
            WaitlistError::Booking(e) => e.into(),
        }
    }
}

#[derive(Deserialize, ToSchema)]
struct WaitlistPatientBody {
    #[schema(value_type = crate::domain::FullName)]
    name: String,
    /// National (the clinic's region) or international form.
    #[schema(value_type = crate::domain::PhoneInput)]
    phone: String,
}

#[derive(Deserialize, ToSchema)]
struct WaitlistBody {
    patient: WaitlistPatientBody,
    /// A service of the clinic; none: any.
    #[schema(format = Uuid)]
    service_id: Option<String>,
    /// A practitioner of the clinic (offering the service); none: any.
    #[schema(format = Uuid)]
    provider_id: Option<String>,
    /// YYYY-MM-DD in the clinic's zone, not after `latest_date`; none: today.
    #[schema(format = Date)]
    earliest_date: Option<String>,
    /// YYYY-MM-DD in the clinic's zone, from today to the clinic's booking horizon.
    #[schema(format = Date)]
    latest_date: String,
    /// `morning`, `afternoon`, `evening` or `any` (the default).
    #[schema(value_type = Option<crate::waitlist::records::PartOfDayInput>)]
    time_of_day: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub(crate) struct WaitlistPatientView {
    pub(crate) name: String,
    pub(crate) phone: PhoneNumber,
}

/// A freed time texted to the entry's patient; times in the clinic's zone.
#[derive(Serialize, Deserialize, ToSchema)]
pub(crate) struct OfferView {
    pub(crate) provider_id: ProviderId,
    #[schema(format = DateTime)]
    pub(crate) start: String,
    #[schema(format = DateTime)]
    pub(crate) end: String,
    /// A YES after this is told the time has gone.
    #[schema(format = DateTime)]
    pub(crate) expires_at: String,
}

/// One patient waiting for an earlier time.
#[derive(Serialize, Deserialize, ToSchema)]
pub(crate) struct WaitlistEntryView {
    pub(crate) id: uuid::Uuid,
    pub(crate) patient: WaitlistPatientView,
    pub(crate) service_id: Option<ServiceId>,
    pub(crate) provider_id: Option<ProviderId>,
    pub(crate) earliest_date: NaiveDate,
    pub(crate) latest_date: NaiveDate,
    pub(crate) time_of_day: PartOfDay,
    pub(crate) status: EntryStatus,
    /// While the status is `offered`.
    pub(crate) offer: Option<OfferView>,
    /// Once the status is `booked`.
    pub(crate) appointment_id: Option<AppointmentId>,
    #[schema(format = DateTime)]
    pub(crate) created_at: String,
}

impl WaitlistEntryView {
    fn new(e: WaitlistEntry, tz: chrono_tz::Tz) -> WaitlistEntryView {
        WaitlistEntryView {
            id: e.id,
            patient: WaitlistPatientView {
                name: e.patient_name,
                phone: e.phone,
            },
            service_id: e.service_id,
            provider_id: e.provider_id,
            earliest_date: e.earliest_date,
            latest_date: e.latest_date,
            time_of_day: e.time_of_day,
            offer: e
                .offer
                .filter(|_| e.status == EntryStatus::Offered)
                .map(|o| OfferView {
                    provider_id: o.provider_id,
                    start: local_text(o.start, tz),
                    end: local_text(o.end, tz),
                    expires_at: local_text(o.expires_at, tz),
                }),
            status: e.status,
            appointment_id: e.appointment_id,
            created_at: local_text(e.created_at, tz),
        }
    }
}

#[derive(Serialize, Deserialize, ToSchema)]
pub(crate) struct WaitlistList {
    pub(crate) entries: Vec<WaitlistEntryView>,
}

/// Reads an optional id field: a malformed one is a field error.
fn optional_id<T: std::str::FromStr>(
    field: &str,
    raw: Option<&str>,
    errors: &mut Vec<FieldError>,
) -> Option<T> {
    let raw = raw.map(str::trim).filter(|r| !r.is_empty())?;
    match raw.parse() {
        Ok(id) => Some(id),
        Err(_) => {
            errors.push(FieldError::new(field, "must be a UUID"));
            None
        }
    }
}

fn optional_date(
    field: &str,
    raw: Option<&str>,
    errors: &mut Vec<FieldError>,
) -> Option<NaiveDate> {
    let raw = raw.map(str::trim).filter(|r| !r.is_empty())?;
    match NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            errors.push(FieldError::new(field, "must be a date (YYYY-MM-DD)"));
            None
        }
    }
}

/// Puts a patient on the waiting list: when a cancellation, move or no-show frees a time
/// that fits, they are texted an offer to take it by replying YES (admin, staff).
#[utoipa::path(
    post,
    path = "/api/orgs/{org}/waitlist",
    tag = "waiting list",
    params(OrgPath),
    security(("bearer" = ["admin", "staff"])),
    request_body = WaitlistBody,
    responses((status = 201, body = WaitlistEntryView))
)]
async fn join_waitlist(
    State(state): State<AppState>,
    scope: OrgScope,
    ApiJson(b): ApiJson<WaitlistBody>,
) -> Result<(StatusCode, Json<WaitlistEntryView>), ApiError> {
    let view = state.waitlist.clinic(scope.org).await?;
    let today = state.waitlist.today(scope.org).await?;
    let mut errors = Vec::new();
    let service_id = optional_id::<ServiceId>("service_id", b.service_id.as_deref(), &mut errors);
    let provider_id =
        optional_id::<ProviderId>("provider_id", b.provider_id.as_deref(), &mut errors);
    let earliest_date = optional_date("earliest_date", b.earliest_date.as_deref(), &mut errors);
    let latest_date = optional_date("latest_date", Some(&b.latest_date), &mut errors);
    if b.latest_date.trim().is_empty() {
        errors.push(FieldError::new("latest_date", "is required"));
    }
    let checked = check_entry(
        &EntryFields {
            name: Some(&b.patient.name),
            phone: Some(&b.patient.phone),
            caller_number: None,
            service_id,
            provider_id,
            earliest_date,
            latest_date,
            time_of_day: b.time_of_day.as_deref(),
        },
        &view,
        today,
    );
    let new = match checked {
        Ok(new) if errors.is_empty() => new,
        Ok(_) => return Err(ApiError::Invalid(errors)),
        Err(more) => {
            errors.extend(more);
            return Err(ApiError::Invalid(errors));
        }
    };
    let entry = state
        .waitlist
        .join(scope.org, new, BookingSource::Staff, scope.caller.actor())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(WaitlistEntryView::new(entry, view.tz)),
    ))
}

/// The waiting list in order of joining, each entry with where it stands: `waiting`,
/// `offered` (a freed time was texted and is held for them), `booked` or `expired` (admin,
/// staff).
#[utoipa::path(
    get,
    path = "/api/orgs/{org}/waitlist",
    tag = "waiting list",
    params(OrgPath),
    security(("bearer" = ["admin", "staff"])),
    responses((status = 200, body = WaitlistList))
)]
async fn list_waitlist(
    State(state): State<AppState>,
    scope: OrgScope,
) -> Result<Json<WaitlistList>, ApiError> {
    let tz = state.booking.zone(scope.org).await?;
    let entries = state.waitlist.entries(scope.org).await?;
    Ok(Json(WaitlistList {
        entries: entries
            .into_iter()
            .map(|e| WaitlistEntryView::new(e, tz))
            .collect(),
    }))
}

/// Takes a patient off the waiting list (admin, staff).
#[utoipa::path(
    delete,
    path = "/api/orgs/{org}/waitlist/{entry_id}",
    tag = "waiting list",
    params(OrgPath, ("entry_id" = uuid::Uuid, Path)),
    security(("bearer" = ["admin", "staff"])),
    responses((status = 204))
)]
async fn leave_waitlist(
    State(state): State<AppState>,
    scope: OrgScope,
    Path((_, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state
        .waitlist
        .remove(scope.org, path_id(&id)?, scope.caller.actor())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A time held now for a call in progress or a waiting-list offer: taken for everyone else
/// until `held_until`; times in the clinic's zone.
#[derive(Serialize, Deserialize, ToSchema)]
pub(crate) struct HoldView {
    pub(crate) provider_id: ProviderId,
    pub(crate) service_id: Option<ServiceId>,
    #[schema(format = DateTime)]
    pub(crate) start: String,
    #[schema(format = DateTime)]
    pub(crate) end: String,
    #[schema(format = DateTime)]
    pub(crate) held_until: String,
    /// `call` (the voice agent, while the caller gives their details) or `waitlist` (a
    /// freed time offered by text).
    pub(crate) held_for: String,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub(crate) struct HoldList {
    pub(crate) holds: Vec<HoldView>,
}

/// The times held now, in start order (admin, staff, clinician). Holds live in memory: a
/// restart releases them.
#[utoipa::path(
    get,
    path = "/api/orgs/{org}/holds",
    tag = "appointments",
    params(OrgPath),
    security(("bearer" = ["admin", "staff", "clinician"])),
    responses((status = 200, body = HoldList))
)]
async fn list_holds(
    State(state): State<AppState>,
    scope: OrgScope,
) -> Result<Json<HoldList>, ApiError> {
    let tz = state.booking.zone(scope.org).await?;
    Ok(Json(HoldList {
        holds: state
            .booking
            .holds(scope.org)
            .into_iter()
            .map(|h| HoldView {
                provider_id: h.provider,
                service_id: h.service,
                start: local_text(h.start, tz),
                end: local_text(h.end, tz),
                held_until: local_text(h.until, tz),
                held_for: if h.holder.starts_with("waitlist:") {
                    "waitlist".into()
                } else {
                    "call".into()
                },
            })
            .collect(),
    }))
}
