//! The durable outbox queue: jobs for outside services (confirmation email, calendar sync,
//! texts) are written in the same transaction as the change that causes them, and each
//! delivery's outcome is recorded back (the worker that delivers them is `crate::delivery`).
//! A slow or failing provider never slows or fails a booking; a disabled one leaves its jobs
//! queued and visible.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{AppointmentId, OrgId};
use crate::store::tables::GlobalTable;
use crate::store::{StoreError, StoreWrite};

/// Outbox jobs for external services, keyed `service ‖ next attempt ‖ job id`.
pub const OUTBOX: GlobalTable<OutboxJob> = GlobalTable::new("outbox_v1");

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum JobKind {
    /// Email the patient a confirmation link.
    ConfirmationEmail { appointment_id: AppointmentId },
    /// Create or update the appointment's calendar event.
    CalendarUpsert { appointment_id: AppointmentId },
    /// Remove the appointment's calendar event.
    CalendarDelete { appointment_id: AppointmentId },
    /// Text a follow-up message (decided when due: consent, quiet hours, window).
    Sms { followup_id: uuid::Uuid },
    /// Text the appointment's reminder, unless by then it is cancelled or has moved from
    /// `for_start`.
    Reminder {
        appointment_id: AppointmentId,
        for_start: DateTime<Utc>,
    },
    /// Offer a freed time to the clinic's waiting list (decided when due).
    WaitlistOffer {
        provider_id: crate::domain::ProviderId,
        service_id: Option<crate::domain::ServiceId>,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    },
}

/// The external services jobs are for; each has its own key range in the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Smtp,
    GoogleCalendar,
    Twilio,
}

impl Service {
    pub const ALL: [Service; 3] = [Service::Smtp, Service::GoogleCalendar, Service::Twilio];

    pub fn name(&self) -> &'static str {
        match self {
            Service::Smtp => "smtp",
            Service::GoogleCalendar => "google_calendar",
            Service::Twilio => "twilio",
        }
    }

    fn tag(&self) -> u8 {
        match self {
            Service::Smtp => 1,
            Service::GoogleCalendar => 2,
            Service::Twilio => 3,
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
            JobKind::Sms { .. } | JobKind::Reminder { .. } | JobKind::WaitlistOffer { .. } => {
                Service::Twilio
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
    k.extend_from_slice(&crate::store::keys::instant_bytes(t));
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

/// Outbox jobs are stored in a compact layout (`store::codec`); every booking queues one.
/// Jobs written before as JSON still read.
impl crate::store::codec::Stored for OutboxJob {
    fn to_bytes(&self) -> Result<Vec<u8>, crate::store::codec::CodecError> {
        let (kind, appointment_id) = match self.kind {
            JobKind::ConfirmationEmail { appointment_id } => (0u8, appointment_id),
            JobKind::CalendarUpsert { appointment_id } => (1, appointment_id),
            JobKind::CalendarDelete { appointment_id } => (2, appointment_id),
            JobKind::Reminder {
                appointment_id,
                for_start,
            } => {
                return crate::store::codec::compact_bytes(
                    crate::store::codec::tags::REMINDER_JOB,
                    &CompactReminderJob {
                        id: self.id,
                        org_id: self.org_id,
                        appointment_id,
                        for_start: for_start.into(),
                        attempts: self.attempts,
                        next_attempt_at: self.next_attempt_at.into(),
                        created_at: self.created_at.into(),
                        last_error: self.last_error.clone(),
                    },
                )
            }
            // Follow-up texts and offers are few: they keep the JSON layout.
            JobKind::Sms { .. } | JobKind::WaitlistOffer { .. } => {
                return crate::store::codec::json_bytes(self)
            }
        };
        crate::store::codec::compact_bytes(
            crate::store::codec::tags::OUTBOX_JOB,
            &CompactOutboxJob {
                id: self.id,
                org_id: self.org_id,
                kind,
                appointment_id,
                attempts: self.attempts,
                next_attempt_at: self.next_attempt_at.into(),
                created_at: self.created_at.into(),
                last_error: self.last_error.clone(),
            },
        )
    }

    fn from_bytes(bytes: &[u8]) -> Result<Self, crate::store::codec::CodecError> {
        if let Some(reminder) = crate::store::codec::from_compact::<CompactReminderJob>(
            crate::store::codec::tags::REMINDER_JOB,
            bytes,
        ) {
            let r = reminder?;
            return Ok(OutboxJob {
                id: r.id,
                org_id: r.org_id,
                kind: JobKind::Reminder {
                    appointment_id: r.appointment_id,
                    for_start: r.for_start.try_into()?,
                },
                attempts: r.attempts,
                next_attempt_at: r.next_attempt_at.try_into()?,
                created_at: r.created_at.try_into()?,
                last_error: r.last_error,
            });
        }
        let compact = match crate::store::codec::from_compact::<CompactOutboxJob>(
            crate::store::codec::tags::OUTBOX_JOB,
            bytes,
        ) {
            Some(compact) => compact?,
            None => return crate::store::codec::from_json(bytes),
        };
        let appointment_id = compact.appointment_id;
        let kind = match compact.kind {
            0 => JobKind::ConfirmationEmail { appointment_id },
            1 => JobKind::CalendarUpsert { appointment_id },
            2 => JobKind::CalendarDelete { appointment_id },
            other => {
                return Err(crate::store::codec::CodecError {
                    line: 0,
                    column: other.into(),
                })
            }
        };
        Ok(OutboxJob {
            id: compact.id,
            org_id: compact.org_id,
            kind,
            attempts: compact.attempts,
            next_attempt_at: compact.next_attempt_at.try_into()?,
            created_at: compact.created_at.try_into()?,
            last_error: compact.last_error,
        })
    }
}

/// The outbox job's compact layout (order is the layout); `kind` is 0 confirmation email,
/// 1 calendar upsert, 2 calendar delete.
#[derive(Serialize, Deserialize)]
struct CompactOutboxJob {
    id: uuid::Uuid,
    org_id: OrgId,
    kind: u8,
    appointment_id: AppointmentId,
    attempts: u32,
    next_attempt_at: crate::store::codec::StoredInstant,
    created_at: crate::store::codec::StoredInstant,
    last_error: Option<String>,
}

/// A reminder job's compact layout (order is the layout).
#[derive(Serialize, Deserialize)]
struct CompactReminderJob {
    id: uuid::Uuid,
    org_id: OrgId,
    appointment_id: AppointmentId,
    for_start: crate::store::codec::StoredInstant,
    attempts: u32,
    next_attempt_at: crate::store::codec::StoredInstant,
    created_at: crate::store::codec::StoredInstant,
    last_error: Option<String>,
}

/// Queues a job inside the caller's transaction: it exists exactly when the change does.
pub fn enqueue(
    w: &mut StoreWrite,
    org: OrgId,
    kind: JobKind,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    enqueue_at(w, org, kind, now, now)
}

/// As `enqueue`, for a job that falls due at `due`.
pub fn enqueue_at(
    w: &mut StoreWrite,
    org: OrgId,
    kind: JobKind,
    due: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let job = OutboxJob {
        id: uuid::Uuid::now_v7(),
        org_id: org,
        kind,
        attempts: 0,
        next_attempt_at: due,
        created_at: now,
        last_error: None,
    };
    let key = job_key(job.kind.service(), job.next_attempt_at, job.id);
    w.global_put(&OUTBOX, &key, &job)
}

/// What the worker learned from one delivery attempt: the job leaves the queue, or comes back
/// later with its attempt counted; a calendar job may also change its appointment's
/// `calendar_sync`. Recorded in one transaction by whoever owns appointment records (the
/// claim writer, through `DeliveryLedger`), since the worker writes no appointment itself.
#[derive(Debug, Clone)]
pub struct DeliveryRecord {
    pub org: OrgId,
    /// The job's key as it was queued.
    pub done_key: Vec<u8>,
    /// The job again, when it is to be retried.
    pub retry: Option<OutboxJob>,
    /// The appointment whose calendar state is now this ("synced", "failed").
    pub calendar_sync: Option<(AppointmentId, &'static str)>,
    /// What the delivery means to the domain that queued the job (what became of a text
    /// message), written in the same transaction.
    pub effect: Option<Arc<dyn DeliveryEffect>>,
}

/// A domain's record of what a delivery meant, applied inside the transaction that records
/// the delivery, so the outbox needs to know no domain.
pub trait DeliveryEffect: std::fmt::Debug + Send + Sync {
    fn apply(&self, w: &mut StoreWrite, org: OrgId) -> Result<(), StoreError>;
}

/// The outbox half of a delivery record, inside the caller's transaction.
pub fn requeue(w: &mut StoreWrite, d: &DeliveryRecord) -> Result<(), StoreError> {
    w.global_remove(&OUTBOX, &d.done_key)?;
    if let Some(j) = &d.retry {
        w.global_put(
            &OUTBOX,
            &job_key(j.kind.service(), j.next_attempt_at, j.id),
            j,
        )?;
    }
    if let Some(effect) = &d.effect {
        effect.apply(w, d.org)?;
    }
    Ok(())
}

/// Records delivery outcomes durably; `false` when it could not (the job then stays due and
/// is attempted again, so delivery stays at-least-once).
pub trait DeliveryLedger: Send + Sync {
    fn record(
        &self,
        d: DeliveryRecord,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send + '_>>;
}

/// The calendar event id of an appointment: Google allows base32hex characters, which hex
/// digits are, so a retried insert names the same event and cannot duplicate it.
pub fn event_id(appointment: AppointmentId) -> String {
    format!("{:032x}", appointment.as_u128())
}

#[cfg(test)]
mod compact_layout_tests {
    use super::*;
    use crate::store::codec::Stored;

    #[test]
    fn jobs_of_every_kind_round_trip_and_older_json_still_reads() {
        let appointment_id = AppointmentId::new_random();
        let now: DateTime<Utc> = "2027-03-28T09:00:00.5Z".parse().unwrap();
        for kind in [
            JobKind::ConfirmationEmail { appointment_id },
            JobKind::CalendarUpsert { appointment_id },
            JobKind::CalendarDelete { appointment_id },
            JobKind::Reminder {
                appointment_id,
                for_start: now + chrono::Duration::days(3),
            },
            JobKind::Sms {
                followup_id: uuid::Uuid::now_v7(),
            },
        ] {
            let job = OutboxJob {
                id: uuid::Uuid::now_v7(),
                org_id: OrgId::new_random(),
                kind: kind.clone(),
                attempts: 3,
                next_attempt_at: now,
                created_at: now - chrono::Duration::minutes(5),
                last_error: Some("http_503".into()),
            };
            let bytes = job.to_bytes().unwrap();
            let expected_tag = match kind {
                JobKind::Reminder { .. } => Some(crate::store::codec::tags::REMINDER_JOB),
                JobKind::Sms { .. } => None,
                _ => Some(crate::store::codec::tags::OUTBOX_JOB),
            };
            if let Some(tag) = expected_tag {
                assert_eq!(bytes[0], tag);
            }
            let json = serde_json::to_vec(&job).unwrap();
            for stored in [bytes, json] {
                let back = OutboxJob::from_bytes(&stored).unwrap();
                assert_eq!(back.kind, kind);
                assert_eq!(
                    serde_json::to_value(&back).unwrap(),
                    serde_json::to_value(&job).unwrap()
                );
            }
        }
    }
}
