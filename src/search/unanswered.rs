//! Questions the agent could not answer: logged for the clinic to review, pruned by age.

use super::*;
use crate::store::OrgReads;

impl KnowledgeBase {
    pub(super) async fn log_unanswered(
        &self,
        org: OrgId,
        question: &str,
        reason: &str,
    ) -> Result<(), KbError> {
        let found = self.detector.detect(question, &Known::default());
        let now = (self.clock)();
        // The id carries the service clock's time: retention prunes by it.
        let stamp = uuid::Timestamp::from_unix(
            uuid::NoContext,
            now.timestamp().max(0) as u64,
            now.timestamp_subsec_nanos(),
        );
        let record = Unanswered {
            id: uuid::Uuid::new_v7(stamp),
            at: now.to_rfc3339_opts(SecondsFormat::Secs, true),
            question_redacted: crate::pii::redact(question, &found),
            reason: reason.to_string(),
        };
        self.store
            .write(move |w| {
                w.org(org)
                    .put(&KB_UNANSWERED, record.id.as_bytes(), &record)?;
                Ok::<_, KbError>(())
            })
            .await
    }

    /// Removes unanswered questions logged before `before`, in every clinic (retention);
    /// returns how many went. Their ids are time-ordered (UUIDv7), so only old keys are read.
    pub async fn prune_unanswered(&self, before: chrono::DateTime<Utc>) -> Result<usize, KbError> {
        let cutoff_ms = before.timestamp_millis().max(0) as u64;
        let orgs: Vec<OrgId> = self
            .store
            .read(|r| {
                Ok::<_, KbError>(
                    r.global_scan(&crate::identity::tables::ORGS, usize::MAX)?
                        .into_iter()
                        .map(|(_, o)| o.id)
                        .collect(),
                )
            })
            .await?;
        self.store
            .write(move |w| {
                let mut removed = 0;
                for org in orgs {
                    let mut o = w.org(org);
                    let old: Vec<Vec<u8>> = o
                        .scan(&KB_UNANSWERED, &[], None, 10_000)?
                        .into_iter()
                        .take_while(|(_, u)| {
                            u.id.get_timestamp().is_some_and(|t| {
                                let (secs, nanos) = t.to_unix();
                                secs * 1000 + u64::from(nanos / 1_000_000) < cutoff_ms
                            })
                        })
                        .map(|(k, _)| k)
                        .collect();
                    for k in old {
                        removed += usize::from(o.remove(&KB_UNANSWERED, &k)?);
                    }
                }
                Ok::<_, KbError>(removed)
            })
            .await
    }

    pub async fn unanswered(&self, org: OrgId) -> Result<Vec<Unanswered>, KbError> {
        self.store
            .read(move |r| {
                Ok(r.org(org)
                    .scan(&KB_UNANSWERED, &[], None, 10_000)?
                    .into_iter()
                    .map(|(_, u)| u)
                    .collect())
            })
            .await
    }
}
