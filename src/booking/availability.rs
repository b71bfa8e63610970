//! Free times: the slots a provider (or every provider of a service) can take over some
//! days, and the nearest alternatives to a slot just taken.

use super::*;

impl BookingService {
    /// Free slots from `date` for `days` days, for one provider or every provider of the
    /// service. Without a service, slots are 30 minutes with no buffers.
    pub async fn availability(
        &self,
        org: OrgId,
        service: Option<ServiceId>,
        provider: Option<ProviderId>,
        date: NaiveDate,
        days: u32,
    ) -> Result<Vec<Slot>, BookingError> {
        self.availability_for(org, service, provider, date, days, None)
            .await
    }

    /// As `availability`, as `holder` sees it: the times it holds itself are free to it.
    pub async fn availability_for(
        &self,
        org: OrgId,
        service: Option<ServiceId>,
        provider: Option<ProviderId>,
        date: NaiveDate,
        days: u32,
        holder: Option<String>,
    ) -> Result<Vec<Slot>, BookingError> {
        let now = self.now();
        let view = self.clinic(org).await?;
        let index = self.indexes.slots.clone();
        run_off_thread(move || {
            let o = OrgSlots {
                org,
                index: &index,
                holder: holder.as_deref(),
            };
            let (shape, candidates) = pick(&view, service, provider)?;
            let mut slots = Vec::new();
            for p in candidates {
                for d in 0..days.clamp(1, 31) {
                    let day = date + Duration::days(d.into());
                    slots.extend(offered_on(&o, &view, p, &shape, day, now)?);
                }
            }
            slots.sort_by_key(|s| (s.start, s.provider_id));
            Ok(slots)
        })
        .await
    }

    /// Up to three alternatives near `start`: the same provider nearest in time first, then
    /// other providers of the service at the asked time.
    pub async fn alternatives(
        &self,
        org: OrgId,
        service: Option<ServiceId>,
        provider: ProviderId,
        start: DateTime<Utc>,
    ) -> Result<Vec<Slot>, BookingError> {
        let now = self.now();
        let view = self.clinic(org).await?;
        let index = self.indexes.slots.clone();
        run_off_thread(move || {
            let o = OrgSlots {
                org,
                index: &index,
                holder: None,
            };
            let (shape, _) = pick(&view, service, Some(provider))?;
            let Some(me) = view.providers.iter().find(|p| p.id == provider) else {
                return Ok(Vec::new());
            };
            let day = start.with_timezone(&view.tz).date_naive();
            let mut same: Vec<Slot> = Vec::new();
            for d in 0..7 {
                same.extend(offered_on(
                    &o,
                    &view,
                    me,
                    &shape,
                    day + Duration::days(d),
                    now,
                )?);
                if same.len() >= 3 {
                    break;
                }
            }
            same.sort_by_key(|s| (s.start - start).num_seconds().abs());
            let mut out: Vec<Slot> = same.iter().take(2).cloned().collect();
            if let Some(sid) = service {
                for other in view
                    .providers
                    .iter()
                    .filter(|p| p.id != provider && p.service_ids.contains(&sid))
                {
                    if out.len() >= 3 {
                        break;
                    }
                    let slots = offered_on(&o, &view, other, &shape, day, now)?;
                    if let Some(s) = slots.into_iter().find(|s| s.start == start) {
                        out.push(s);
                    }
                }
            }
            for s in same.into_iter().skip(2) {
                if out.len() >= 3 {
                    break;
                }
                out.push(s);
            }
            Ok(out)
        })
        .await
    }
}

/// The slot shape and the providers to search, for an optional service and provider.
pub(super) fn pick(
    view: &ClinicView,
    service: Option<ServiceId>,
    provider: Option<ProviderId>,
) -> Result<(Shape, Vec<&ProviderRecord>), BookingError> {
    let service = match service {
        Some(id) => Some(
            view.services
                .iter()
                .find(|s| s.id == id)
                .ok_or(BookingError::NotFound)?,
        ),
        None => None,
    };
    let shape = service
        .map(|s| s.shape())
        .unwrap_or_else(|| Shape::minutes(30, 0, 0));
    let providers: Vec<&ProviderRecord> = view
        .providers
        .iter()
        .filter(|p| provider.is_none_or(|id| p.id == id))
        .filter(|p| service.is_none_or(|s| p.service_ids.contains(&s.id)))
        .collect();
    if provider.is_some() && providers.is_empty() {
        return Err(BookingError::NotFound);
    }
    Ok((shape, providers))
}

/// Runs a computation over the in-memory indexes on the blocking pool, off the async threads.
pub(super) async fn run_off_thread<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, BookingError> + Send + 'static,
) -> Result<T, BookingError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| BookingError::Store(crate::store::StoreError::TaskFailed))?
}

/// One org's view of the slot index.
pub(super) struct OrgSlots<'a> {
    pub(super) org: OrgId,
    pub(super) index: &'a slot_index::SlotIndex,
    /// Whose holds count as free (a call's own).
    pub(super) holder: Option<&'a str>,
}

/// One provider's free starts on one local day.
pub(super) fn offered_on(
    o: &OrgSlots<'_>,
    view: &ClinicView,
    p: &ProviderRecord,
    shape: &Shape,
    day: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Vec<Slot>, BookingError> {
    let day_start = local_instant(view.tz, day, NaiveTime::MIN)
        .unwrap_or_else(|_| Utc.from_utc_datetime(&day.and_time(NaiveTime::MIN)));
    let busy: Vec<Interval> = o.index.starting_between(
        o.org,
        p.id,
        day_start - Duration::minutes(MAX_TAIL),
        day_start + Duration::hours(26) + Duration::minutes(MAX_LEAD),
        now,
        o.holder,
    );
    let time_off = p.time_off_intervals();
    let cal = ProviderCalendar {
        tz: view.tz,
        hours: &p.weekly_hours,
        breaks: &p.breaks,
        time_off: &time_off,
    };
    Ok(cal
        .offered(shape, &view.settings.policy(), &busy, now, day)
        .into_iter()
        .map(|start| Slot {
            provider_id: p.id,
            start,
            end: start + shape.duration,
        })
        .collect())
}
