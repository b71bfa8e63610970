//! The stored shapes of clinic set-up (settings, services, providers) and appointments.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::schedule::{Interval, Policy, Shape, WeeklyHours};
use crate::domain::{AppointmentId, OrgId, PhoneNumber, ProviderId, ServiceId};

/// Per-clinic booking settings, set by its admin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClinicSettings {
    /// Minutes between now and the earliest bookable start.
    pub min_notice_minutes: u32,
    /// Days ahead that can be booked.
    pub horizon_days: u32,
    /// Slot grid, in minutes.
    pub slot_step_minutes: u32,
    /// Region for phone numbers given without a country code (ISO 3166 alpha-2).
    pub phone_region: String,
    /// This clinic's Google calendar (else the install's default).
    pub calendar_id: Option<String>,
}

impl Default for ClinicSettings {
    fn default() -> Self {
        Self {
            min_notice_minutes: 60,
            horizon_days: 90,
            slot_step_minutes: 15,
            phone_region: "GB".into(),
            calendar_id: None,
        }
    }
}

impl ClinicSettings {
    pub fn policy(&self) -> Policy {
        Policy {
            min_notice: Duration::minutes(self.min_notice_minutes.into()),
            horizon: Duration::days(self.horizon_days.into()),
            step: Duration::minutes(self.slot_step_minutes.max(5).into()),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServiceRecord {
    pub id: ServiceId,
    pub name: String,
    pub duration_minutes: u32,
    pub buffer_before_minutes: u32,
    pub buffer_after_minutes: u32,
    pub procedure: Option<String>,
    pub created_at: String,
}

impl ServiceRecord {
    pub fn shape(&self) -> Shape {
        Shape::minutes(
            self.duration_minutes,
            self.buffer_before_minutes,
            self.buffer_after_minutes,
        )
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TimeOffRecord {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProviderRecord {
    pub id: ProviderId,
    pub name: String,
    pub service_ids: Vec<ServiceId>,
    pub weekly_hours: WeeklyHours,
    pub breaks: WeeklyHours,
    pub time_off: Vec<TimeOffRecord>,
    /// Secret for the provider's ICS feed URL.
    pub feed_token: String,
    pub created_at: String,
}

impl ProviderRecord {
    pub fn time_off_intervals(&self) -> Vec<Interval> {
        self.time_off
            .iter()
            .map(|t| Interval::new(t.start, t.end))
            .collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppointmentStatus {
    Pending,
    Confirmed,
    Cancelled,
    Completed,
    NoShow,
}

impl AppointmentStatus {
    /// Whether the appointment holds its slot.
    pub fn is_active(&self) -> bool {
        matches!(
            self,
            AppointmentStatus::Pending | AppointmentStatus::Confirmed
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Patient {
    pub name: String,
    pub phone: PhoneNumber,
    pub email: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BookingSource {
    Vapi,
    Staff,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AppointmentRecord {
    pub id: AppointmentId,
    pub org_id: OrgId,
    pub provider_id: ProviderId,
    pub service_id: Option<ServiceId>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub buffer_before_minutes: u32,
    pub buffer_after_minutes: u32,
    pub status: AppointmentStatus,
    pub patient: Patient,
    pub notes: Option<String>,
    pub source: BookingSource,
    pub vapi_call_id: Option<String>,
    pub vapi_tool_call_id: Option<String>,
    pub confirmation_token: String,
    pub calendar_sync: String,
    pub created_at: String,
    pub updated_at: String,
    pub cancel_reason: Option<String>,
}

impl AppointmentRecord {
    /// The time this appointment keeps its provider busy, buffers included.
    pub fn occupied(&self) -> Interval {
        Interval::new(
            self.start - Duration::minutes(self.buffer_before_minutes.into()),
            self.end + Duration::minutes(self.buffer_after_minutes.into()),
        )
    }
}

/// Slot index entry: one active appointment of a provider, keyed by provider and start.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SlotEntry {
    pub appointment_id: AppointmentId,
    pub occupied: Interval,
}

/// Confirmation token → its appointment (global: the confirm link carries no org).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConfirmationIndexEntry {
    pub org_id: OrgId,
    pub appointment_id: AppointmentId,
}
