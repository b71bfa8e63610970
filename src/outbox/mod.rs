//! The durable outbox: jobs for external services (confirmation email, calendar sync) are
//! written in the same transaction as the booking change that causes them, then delivered by
//! a background worker with exponential backoff and jitter. A slow or failing provider never
//! slows or fails a booking; a disabled one leaves its jobs queued and visible.

pub mod google;
pub mod smtp;
mod worker;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{AppointmentId, OrgId};
use crate::store::tables::OUTBOX;
use crate::store::{StoreError, StoreWrite};

pub use worker::OutboxWorker;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum JobKind {
    /// Email the patient a confirmation link.
    ConfirmationEmail { appointment_id: AppointmentId },
    /// Create or update the appointment's calendar event.
    CalendarUpsert { appointment_id: AppointmentId },
    /// Remove the appointment's calendar event.
    CalendarDelete { appointment_id: AppointmentId },
}

/// The external services jobs are for; each has its own key range in the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Smtp,
    GoogleCalendar,
}

impl Service {
    pub const ALL: [Service; 2] = [Service::Smtp, Service::GoogleCalendar];

    pub fn name(&self) -> &'static str {
        match self {
            Service::Smtp => "smtp",
            Service::GoogleCalendar => "google_calendar",
        }
    }

    fn tag(&self) -> u8 {
        match self {
            Service::Smtp => 1,
            Service::GoogleCalendar => 2,
        }
    }
}

impl JobKind {
    pub fn service(&self) -> Service {
        match self {
            JobKind::ConfirmationEmail { .. } => Service::Smtp,
            JobKind::CalendarUpsert { .. } | JobKind::CalendarDelete { .. } => {
                Service::GoogleCalendar
            }
        }
    }
}

/// Outbox key: `service ‖ next attempt ‖ job id`, so a pass reads only the due jobs of the
/// services that are enabled.
pub fn job_key(service: Service, next_attempt_at: DateTime<Utc>, id: uuid::Uuid) -> Vec<u8> {
    let mut k = due_bound(service, next_attempt_at);
    k.extend_from_slice(id.as_bytes());
    k
}

/// Every job of `service` due before `t` sorts before this key.
pub fn due_bound(service: Service, t: DateTime<Utc>) -> Vec<u8> {
    let mut k = vec![service.tag()];
    k.extend_from_slice(&crate::booking::keys::instant_bytes(t));
    k
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutboxJob {
    pub id: uuid::Uuid,
    pub org_id: OrgId,
    #[serde(flatten)]
    pub kind: JobKind,
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    /// A short error code from the last failed attempt (never a provider's message body).
    pub last_error: Option<String>,
}

/// Queues a job inside the caller's transaction: it exists exactly when the change does.
pub fn enqueue(
    w: &mut StoreWrite,
    org: OrgId,
    kind: JobKind,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let job = OutboxJob {
        id: uuid::Uuid::now_v7(),
        org_id: org,
        kind,
        attempts: 0,
        next_attempt_at: now,
        created_at: now,
        last_error: None,
    };
    let key = job_key(job.kind.service(), job.next_attempt_at, job.id);
    w.global_put(&OUTBOX, &key, &job)
}

/// The calendar event id of an appointment: Google allows base32hex characters, which hex
/// digits are, so a retried insert names the same event and cannot duplicate it.
pub fn event_id(appointment: AppointmentId) -> String {
    format!("{:032x}", appointment.as_u128())
}
