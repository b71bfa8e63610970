//! Housekeeping through the claim writer (reminder jobs past their start, tool-call ids old
//! enough to forget), the clinic's outbox listing, and the audit entry for another clinic's
//! attempt.

use super::*;
use crate::store::OrgReads;

impl BookingService {
    /// Drops reminder jobs whose appointment start has passed (they would send nothing),
    /// through the claim writer like every outbox outcome; returns how many.
    pub async fn drop_past_reminders(&self, now: DateTime<Utc>) -> Result<usize, BookingError> {
        use crate::outbox::{due_bound, job_key, DeliveryRecord, JobKind, OutboxJob, Service};
        let stale: Vec<OutboxJob> = self
            .store
            .read(move |r| {
                Ok::<_, BookingError>(
                    r.global_range(
                        &crate::outbox::OUTBOX,
                        &due_bound(Service::Twilio, DateTime::<Utc>::MIN_UTC),
                        &due_bound(Service::Twilio, DateTime::<Utc>::MAX_UTC),
                        100_000,
                    )?
                    .into_iter()
                    .map(|(_, j)| j)
                    .filter(|j| matches!(j.kind, JobKind::Reminder { for_start, .. } if for_start < now))
                    .collect(),
                )
            })
            .await?;
        let n = stale.len();
        for job in stale {
            self.writer
                .submit(Change::Delivery(Box::new(DeliveryRecord {
                    org: job.org_id,
                    done_key: job_key(job.kind.service(), job.next_attempt_at, job.id),
                    retry: None,
                    calendar_sync: None,
                    effect: None,
                })))
                .await?;
        }
        Ok(n)
    }

    /// Retention: forgets the tool calls whose appointments were created before `before`
    /// (their ids are time-ordered); Vapi retries a tool call within seconds, never months.
    /// Through the claim writer, which owns the table. Returns how many went.
    pub async fn forget_old_tool_calls(
        &self,
        before: DateTime<Utc>,
    ) -> Result<usize, BookingError> {
        use crate::booking::tables::TOOL_CALL_EFFECTS;
        use crate::identity::tables::ORGS;
        let cutoff_ms = before.timestamp_millis().max(0) as u64;
        let old: Vec<(OrgId, Vec<String>)> = self
            .store
            .read(move |r| {
                let mut out = Vec::new();
                for (_, org) in r.global_scan(&ORGS, usize::MAX)? {
                    let ids: Vec<String> = r
                        .org(org.id)
                        .scan(&TOOL_CALL_EFFECTS, &[], None, usize::MAX)?
                        .into_iter()
                        .filter(|(_, appointment)| {
                            uuid::Uuid::from_u128(appointment.as_u128())
                                .get_timestamp()
                                .is_some_and(|t| {
                                    let (secs, nanos) = t.to_unix();
                                    secs * 1000 + u64::from(nanos / 1_000_000) < cutoff_ms
                                })
                        })
                        .map(|(k, _)| String::from_utf8_lossy(&k).into_owned())
                        .collect();
                    if !ids.is_empty() {
                        out.push((org.id, ids));
                    }
                }
                Ok::<_, BookingError>(out)
            })
            .await?;
        let mut n = 0;
        for (org, ids) in old {
            for chunk in ids.chunks(1000) {
                n += chunk.len();
                self.writer
                    .submit(Change::ForgetToolCalls {
                        org,
                        tool_call_ids: chunk.to_vec(),
                    })
                    .await?;
            }
        }
        Ok(n)
    }

    /// The org's outbox jobs still queued (delivered ones are removed).
    pub async fn outbox(&self, org: OrgId) -> Result<Vec<crate::outbox::OutboxJob>, BookingError> {
        self.store
            .read(move |r| {
                Ok(r.global_scan(&crate::outbox::OUTBOX, 100_000)?
                    .into_iter()
                    .map(|(_, j)| j)
                    .filter(|j: &crate::outbox::OutboxJob| j.org_id == org)
                    .collect())
            })
            .await
    }

    /// Audits a booking attempt that named another clinic.
    pub async fn record_other_org_attempt(
        &self,
        caller: Caller,
        named: &str,
    ) -> Result<(), BookingError> {
        let target = format!("org:{} booking", audit::caller_reference(named));
        self.store
            .write(move |w| {
                audit::append(
                    &mut w.org(caller.org),
                    AuditEvent::new(
                        caller.actor(),
                        "booking_cross_org_denied",
                        target,
                        Outcome::Denied,
                    ),
                    Utc::now(),
                )?;
                Ok::<_, BookingError>(())
            })
            .await
    }

    /// Audits a step of a caller's proof of who they are on a call (`caller_verified`,
    /// `caller_verification_failed`, `caller_verification_locked`); the target is the call,
    /// never what the caller said.
    pub async fn record_caller_check(
        &self,
        caller: Caller,
        action: &'static str,
        call_id: &str,
        outcome: Outcome,
    ) -> Result<(), BookingError> {
        let target = format!("call:{}", audit::caller_reference(call_id));
        let at = self.now();
        self.store
            .write(move |w| {
                audit::append(
                    &mut w.org(caller.org),
                    AuditEvent::new(caller.actor(), action, target, outcome),
                    at,
                )?;
                Ok::<_, BookingError>(())
            })
            .await
    }
}
