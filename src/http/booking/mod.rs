//! The booking routes, one file per audience — clinic set-up (`setup`), availability and
//! appointments (`appointments`), the public pages a patient or a calendar app opens
//! (`pages`) — and the views of booking records they answer with.

mod appointments;
mod pages;
mod setup;

pub(crate) use appointments::{AppointmentList, SlotList};
pub(crate) use setup::{ProviderList, ServiceList};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Html;
use axum::Json;
use chrono::{DateTime, NaiveDate, Utc};
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
    AppointmentRecord, AppointmentStatus, BookingSource, ClinicSettings, ProviderRecord,
    ServiceRecord,
};
use crate::booking::schedule::WeeklyHours;
use crate::booking::{local_instant, AppointmentFilter, NewProvider, NewService, Slot};
use crate::domain::{
    parse_clock_time, AppointmentId, ClockTime, Email, FieldError, FullName, PhoneInput,
    PhoneNumber, ProviderId, ServiceId, Validation,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(setup::router())
        .merge(appointments::router())
        .merge(pages::router())
}

/// An instant in the clinic's zone, RFC 3339 with its offset.
pub fn local_text(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).to_rfc3339()
}

/// A bookable slot; times in the clinic's zone.
#[derive(Serialize, Deserialize, ToSchema)]
pub(crate) struct SlotView {
    pub(crate) provider_id: ProviderId,
    #[schema(format = DateTime)]
    pub(crate) start: String,
    #[schema(format = DateTime)]
    pub(crate) end: String,
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

#[derive(Serialize, Deserialize, ToSchema)]
pub(crate) struct PatientView {
    pub(crate) name: String,
    pub(crate) phone: PhoneNumber,
    /// Whether the number is in a range the numbering plan lists as allocated.
    pub(crate) phone_allocated: bool,
    pub(crate) email: Option<String>,
    /// YYYY-MM-DD, when it was given at booking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) date_of_birth: Option<NaiveDate>,
}

/// An appointment; times in the clinic's zone.
#[derive(Serialize, Deserialize, ToSchema)]
pub(crate) struct AppointmentView {
    pub(crate) id: AppointmentId,
    pub(crate) status: AppointmentStatus,
    pub(crate) provider_id: ProviderId,
    pub(crate) service_id: Option<ServiceId>,
    #[schema(format = DateTime)]
    pub(crate) start: String,
    #[schema(format = DateTime)]
    pub(crate) end: String,
    pub(crate) patient: PatientView,
    pub(crate) notes: Option<String>,
    /// Why it was cancelled, when it was and a reason was given.
    pub(crate) cancel_reason: Option<String>,
    pub(crate) source: BookingSource,
    pub(crate) vapi_call_id: Option<String>,
    pub(crate) vapi_tool_call_id: Option<String>,
    pub(crate) confirmation_token: String,
    /// `not_configured`, `pending`, `synced`, `failed`, …
    pub(crate) calendar_sync: String,
    #[schema(format = DateTime)]
    pub(crate) created_at: String,
    #[schema(format = DateTime)]
    pub(crate) updated_at: String,
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
                date_of_birth: a.patient.date_of_birth,
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

#[derive(Serialize, Deserialize, ToSchema)]
pub(crate) struct ServiceView {
    pub(crate) id: ServiceId,
    pub(crate) name: String,
    pub(crate) duration_minutes: u32,
    pub(crate) buffer_before_minutes: u32,
    pub(crate) buffer_after_minutes: u32,
    pub(crate) procedure: Option<String>,
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

#[derive(Serialize, Deserialize, ToSchema)]
pub(crate) struct TimeOffView {
    #[schema(format = DateTime)]
    pub(crate) start: String,
    #[schema(format = DateTime)]
    pub(crate) end: String,
    pub(crate) reason: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub(crate) struct ProviderView {
    pub(crate) id: ProviderId,
    pub(crate) name: String,
    pub(crate) service_ids: Vec<ServiceId>,
    /// Day (`mon` … `sun`) → opening windows `[["09:00", "17:00"], …]`.
    #[schema(value_type = std::collections::BTreeMap<String, Vec<Vec<String>>>)]
    pub(crate) weekly_hours: serde_json::Map<String, serde_json::Value>,
    #[schema(value_type = std::collections::BTreeMap<String, Vec<Vec<String>>>)]
    pub(crate) breaks: serde_json::Map<String, serde_json::Value>,
    pub(crate) time_off: Vec<TimeOffView>,
    /// The provider's appointments as an iCalendar feed, at a secret URL.
    pub(crate) calendar_feed: String,
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
            .and_then(|t| parse_clock_time(t).ok_or_else(|| "must be HH:MM".to_string())),
    );
    v.finish()?;
    match (d, t) {
        (Some(d), Some(t)) => local_instant(tz, d, t).map_err(|m| vec![FieldError::new("time", m)]),
        _ => Err(vec![FieldError::new("start", "is required")]),
    }
}

/// A list filter's bound: any RFC 3339 instant, brought inside the accepted window around
/// `now` (nothing is booked outside it, so the answer is the same).
fn parse_filter_instant(s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let t = DateTime::parse_from_rfc3339(s.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            "must be RFC 3339 with an offset, e.g. 2026-01-17T14:00:00+00:00".to_string()
        })?;
    Ok(intake::clamp_to_window(t, now))
}

/// An RFC 3339 instant with its offset, inside the accepted window around `now`.
fn parse_instant(s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| "must be RFC 3339 with an offset, e.g. 2026-01-17T14:00:00+00:00".to_string())
        .and_then(|t| intake::instant_in_window(t, now))
}
