//! Which appointments each caller's number has, per org, kept in memory: built from the
//! stored appointments at start and extended by the claim writer after each commit, before it
//! answers the callers, so a claim's durable commit writes no index leaf for the number.

use std::collections::HashMap;
use std::sync::RwLock;

use crate::booking::tables::APPOINTMENTS;
use crate::domain::{AppointmentId, OrgId};
use crate::store::OrgReads;
use crate::store::{OrgWrite, StoreError};

type ByNumber = HashMap<String, Vec<AppointmentId>>;

#[derive(Default)]
pub struct PhoneIndex {
    orgs: RwLock<HashMap<OrgId, ByNumber>>,
}

impl PhoneIndex {
    /// Records a new booking (the writer calls it once per appointment it creates).
    pub fn add(&self, org: OrgId, phone: &str, id: AppointmentId) {
        let mut orgs = self.orgs.write().unwrap_or_else(|p| p.into_inner());
        orgs.entry(org)
            .or_default()
            .entry(phone.to_string())
            .or_default()
            .push(id);
    }

    /// Every (org, number, appointment), ordered: for comparing the index with one rebuilt
    /// from the store.
    pub fn snapshot(&self) -> Vec<(OrgId, String, AppointmentId)> {
        let orgs = self.orgs.read().unwrap_or_else(|p| p.into_inner());
        let mut all: Vec<_> = orgs
            .iter()
            .flat_map(|(org, numbers)| {
                numbers
                    .iter()
                    .flat_map(move |(n, ids)| ids.iter().map(move |id| (*org, n.clone(), *id)))
            })
            .collect();
        all.sort();
        all
    }

    /// The org's appointments booked for `phone` (E.164), in no particular order.
    pub fn ids(&self, org: OrgId, phone: &str) -> Vec<AppointmentId> {
        let orgs = self.orgs.read().unwrap_or_else(|p| p.into_inner());
        orgs.get(&org)
            .and_then(|numbers| numbers.get(phone))
            .cloned()
            .unwrap_or_default()
    }

    /// Forgets every number of a deleted org.
    pub fn forget_org(&self, org: OrgId) {
        let mut orgs = self.orgs.write().unwrap_or_else(|p| p.into_inner());
        orgs.remove(&org);
    }
}

/// Filing a call asks whether the caller's number booked on that call.
impl crate::calls::CallBookings for PhoneIndex {
    fn booked_on_call(
        &self,
        o: &OrgWrite<'_>,
        phone: &str,
        call_id: &str,
    ) -> Result<bool, StoreError> {
        for id in self.ids(o.org_id(), phone) {
            if o.get(&APPOINTMENTS, &id.as_bytes())?
                .is_some_and(|a| a.vapi_call_id.as_deref() == Some(call_id))
            {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::booking::records::{AppointmentRecord, AppointmentStatus, BookingSource, Patient};
    use crate::domain::{PhoneNumber, ProviderId};
    use crate::identity::records::OrgRecord;
    use crate::identity::tables::ORGS;

    pub(crate) fn appointment(org: OrgId, phone: &PhoneNumber) -> AppointmentRecord {
        let start = "2027-05-03T09:00:00Z".parse().unwrap();
        AppointmentRecord {
            id: AppointmentId::new_time_ordered(),
            org_id: org,
            provider_id: ProviderId::new_random(),
            service_id: None,
            start,
            end: start + chrono::Duration::minutes(30),
            buffer_before_minutes: 0,
            buffer_after_minutes: 0,
            status: AppointmentStatus::Pending,
            patient: Patient {
                name: "Test Caller".into(),
                phone: phone.clone(),
                email: None,
                date_of_birth: None,
            },
            notes: None,
            source: BookingSource::Staff,
            vapi_call_id: None,
            vapi_tool_call_id: None,
            confirmation_token: String::new(),
            calendar_sync: "pending".into(),
            created_at: String::new(),
            updated_at: String::new(),
            cancel_reason: None,
        }
    }

    /// Built at start from every org's appointments, across more than one page of them, and
    /// never mixing two orgs' numbers.
    #[test]
    fn the_index_built_at_start_holds_every_stored_appointment_by_org_and_number() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::schema::open_store(dir.path()).unwrap();
        let (a, b) = (OrgId::new_random(), OrgId::new_random());
        let one = PhoneNumber::parse("+447400100001", "GB").unwrap();
        let two = PhoneNumber::parse("+447400100002", "GB").unwrap();
        let mut expected: HashMap<(OrgId, String), Vec<AppointmentId>> = HashMap::new();
        let mut w = store.begin_write().unwrap();
        for org in [a, b] {
            let record = OrgRecord {
                id: org,
                name: "Clinic".into(),
                timezone: "Europe/London".into(),
                created_at: String::new(),
            };
            w.global_put(&ORGS, &org.as_bytes(), &record).unwrap();
        }
        for i in 0..2_500 {
            let (org, phone) = match i % 3 {
                0 => (a, &one),
                1 => (a, &two),
                _ => (b, &one),
            };
            let record = appointment(org, phone);
            w.org(org)
                .put(&APPOINTMENTS, &record.id.as_bytes(), &record)
                .unwrap();
            expected
                .entry((org, phone.as_str().to_string()))
                .or_default()
                .push(record.id);
        }
        w.commit().unwrap();

        let index = crate::booking::MemoryIndexes::build(&store).unwrap().phones;
        for ((org, phone), ids) in &expected {
            assert_eq!(&index.ids(*org, phone), ids, "{phone}");
        }
        assert!(index.ids(b, two.as_str()).is_empty());
        let later = AppointmentId::new_time_ordered();
        index.add(b, two.as_str(), later);
        assert_eq!(index.ids(b, two.as_str()), vec![later]);
        assert_eq!(
            index.ids(a, two.as_str()),
            expected[&(a, two.as_str().to_string())]
        );
    }
}
