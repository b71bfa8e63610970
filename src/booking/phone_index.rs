//! Which appointments each caller's number has, per org, kept in memory: built from the
//! stored appointments at start and extended by the claim writer after each commit, before it
//! answers the callers, so a claim's durable commit writes no index leaf for the number.

use std::collections::HashMap;
use std::sync::RwLock;

use crate::domain::{AppointmentId, OrgId};
use crate::store::tables::{APPOINTMENTS, ORGS};
use crate::store::{Store, StoreError};

type ByNumber = HashMap<String, Vec<AppointmentId>>;

#[derive(Default)]
pub struct PhoneIndex {
    orgs: RwLock<HashMap<OrgId, ByNumber>>,
}

impl PhoneIndex {
    /// Reads every org's appointments once (at start).
    pub fn build(store: &Store) -> Result<PhoneIndex, StoreError> {
        let r = store.begin_read()?;
        let mut orgs: HashMap<OrgId, ByNumber> = HashMap::new();
        let mut appointments = 0usize;
        for key in r.global_keys(&ORGS)? {
            let Some(org) = OrgId::from_bytes(&key) else {
                continue;
            };
            let numbers = orgs.entry(org).or_default();
            for (_, a) in r.org(org).scan(&APPOINTMENTS, &[], None, usize::MAX)? {
                numbers
                    .entry(a.patient.phone.as_str().to_string())
                    .or_default()
                    .push(a.id);
                appointments += 1;
            }
        }
        tracing::info!(appointments, "phone index built");
        Ok(PhoneIndex {
            orgs: RwLock::new(orgs),
        })
    }

    pub fn add(&self, org: OrgId, phone: &str, id: AppointmentId) {
        let mut orgs = self.orgs.write().unwrap_or_else(|p| p.into_inner());
        let ids = orgs
            .entry(org)
            .or_default()
            .entry(phone.to_string())
            .or_default();
        if !ids.contains(&id) {
            ids.push(id);
        }
    }

    /// The org's appointments booked for `phone` (E.164), oldest first.
    pub fn ids(&self, org: OrgId, phone: &str) -> Vec<AppointmentId> {
        let orgs = self.orgs.read().unwrap_or_else(|p| p.into_inner());
        orgs.get(&org)
            .and_then(|numbers| numbers.get(phone))
            .cloned()
            .unwrap_or_default()
    }
}
