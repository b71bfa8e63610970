//! The appointment indexes kept in memory (slots by provider, appointments by number):
//! built from one read of every org's appointments at start, then kept by the claim writer.

use super::*;
use crate::store::OrgReads;

/// The indexes over the stored appointments that live in memory: built with one read of every
/// org's appointments at start, and kept up to date by the claim writer after each commit.
#[derive(Clone)]
pub struct MemoryIndexes {
    pub phones: Arc<PhoneIndex>,
    pub slots: Arc<slot_index::SlotIndex>,
}

/// What the in-memory indexes hold, in a comparable form.
#[derive(Debug, PartialEq)]
pub struct IndexSnapshot {
    pub slots: Vec<(OrgId, ProviderId, DateTime<Utc>, AppointmentId, Interval)>,
    pub phones: Vec<(OrgId, String, AppointmentId)>,
}

impl MemoryIndexes {
    /// The indexes' contents now.
    pub fn snapshot(&self) -> IndexSnapshot {
        IndexSnapshot {
            slots: self.slots.snapshot(),
            phones: self.phones.snapshot(),
        }
    }

    /// Reads every org's appointments once, a page at a time.
    pub fn build(store: &Store) -> Result<MemoryIndexes, crate::store::StoreError> {
        const PAGE: usize = 1024;
        let indexes = MemoryIndexes {
            phones: Arc::default(),
            slots: Arc::default(),
        };
        let r = store.begin_read()?;
        let mut appointments = 0usize;
        for key in r.global_keys(&ORGS)? {
            let Some(org) = OrgId::from_bytes(&key) else {
                continue;
            };
            let mut after: Option<Vec<u8>> = None;
            loop {
                let page = r
                    .org(org)
                    .scan(&APPOINTMENTS, &[], after.as_deref(), PAGE)?;
                let full = page.len() == PAGE;
                appointments += page.len();
                for (key, a) in page {
                    indexes.phones.add(org, a.patient.phone.as_str(), a.id);
                    indexes.slots.add_stored(&a);
                    after = Some(key);
                }
                if !full {
                    break;
                }
            }
        }
        tracing::info!(appointments, "appointment indexes built");
        Ok(indexes)
    }
}
