//! Each clinic's set-up as last read (org, zone, settings, services, providers), cached
//! until a set-up change forgets it.

use super::*;
use crate::store::OrgReads;

/// Everything a clinic needs to know to answer a caller, read in one snapshot.
pub struct ClinicView {
    pub org: OrgRecord,
    pub tz: Tz,
    pub settings: ClinicSettings,
    pub services: Vec<ServiceRecord>,
    pub providers: Vec<ProviderRecord>,
}

/// Each org's set-up as last read, so a tool call need not decode every provider again. Every
/// set-up change goes through this service and bumps the generation, and a view read before a
/// bump is never stored after it.
/// Per org: the generation and the view read at it, if any.
pub(super) type ViewMap = std::collections::HashMap<OrgId, (u64, Option<Arc<ClinicView>>)>;

#[derive(Default)]
pub(super) struct ViewCache {
    pub(super) inner: std::sync::Mutex<ViewMap>,
}

impl ViewCache {
    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, ViewMap> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
    pub(super) fn get(&self, org: OrgId) -> (u64, Option<Arc<ClinicView>>) {
        self.lock().get(&org).cloned().unwrap_or((0, None))
    }
    pub(super) fn put(&self, org: OrgId, generation: u64, view: Arc<ClinicView>) {
        let mut map = self.lock();
        let entry = map.entry(org).or_insert((0, None));
        if entry.0 == generation {
            entry.1 = Some(view);
        }
    }
    pub(super) fn forget(&self, org: OrgId) {
        let mut map = self.lock();
        let entry = map.entry(org).or_insert((0, None));
        entry.0 += 1;
        entry.1 = None;
    }
}

impl BookingService {
    /// The clinic's set-up (org, zone, settings, services, providers), cached until it changes.
    pub async fn clinic(&self, org: OrgId) -> Result<Arc<ClinicView>, BookingError> {
        let (generation, cached) = self.views.get(org);
        if let Some(view) = cached {
            return Ok(view);
        }
        let view = Arc::new(self.store.read(move |r| clinic_view(r, org)).await?);
        self.views.put(org, generation, view.clone());
        Ok(view)
    }

    /// The clinic's time zone.
    pub async fn zone(&self, org: OrgId) -> Result<Tz, BookingError> {
        Ok(self.clinic(org).await?.tz)
    }

    pub async fn provider(
        &self,
        org: OrgId,
        id: ProviderId,
    ) -> Result<ProviderRecord, BookingError> {
        self.store
            .read(move |r| {
                r.org(org)
                    .require(&PROVIDERS, &id.as_bytes(), BookingError::NotFound)
            })
            .await
    }
}

pub(super) fn clinic_view(r: &StoreRead, org: OrgId) -> Result<ClinicView, BookingError> {
    let record = r
        .global_get(&ORGS, &org.as_bytes())?
        .ok_or(BookingError::NotFound)?;
    let tz = org_zone(Some(record.clone()))?;
    let o = r.org(org);
    Ok(ClinicView {
        org: record,
        tz,
        settings: o.get(&CLINIC_SETTINGS, b"settings")?.unwrap_or_default(),
        services: o
            .scan(&SERVICES, &[], None, 10_000)?
            .into_iter()
            .map(|(_, s)| s)
            .collect(),
        providers: o
            .scan(&PROVIDERS, &[], None, 10_000)?
            .into_iter()
            .map(|(_, p)| p)
            .collect(),
    })
}
