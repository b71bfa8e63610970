//! Which spans each provider's active appointments hold, per org, kept in memory: built from the
//! stored appointments at start and changed only by the claim writer — its changes are seen by
//! the later changes of the same transaction and reach the index after the commit, before any
//! caller is answered — so a claim's durable commit writes no index leaf (schema 9). Times
//! held for calls in progress live here too, in memory only (a restart releases them).

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::RwLock;

use chrono::{DateTime, Duration, Utc};

use super::records::{AppointmentRecord, SlotEntry};
use super::schedule::Interval;
use crate::domain::{AppointmentId, OrgId, ProviderId, ServiceId};

/// One provider's active appointments by (start, id), each with the span it occupies
/// (buffers included).
type ProviderSlots = BTreeMap<(DateTime<Utc>, AppointmentId), Interval>;

/// Longest an appointment plus its buffers can reach before and after its start, in minutes;
/// bounds the slot-index walks for conflicts.
pub const MAX_LEAD: i64 = 4 * 60;
pub const MAX_TAIL: i64 = 16 * 60;

/// Sorts before every appointment id: with a start time, the bound of a range of starts.
const LOWEST_ID: AppointmentId = AppointmentId::LOWEST;

#[derive(Default)]
pub struct SlotIndex {
    orgs: RwLock<HashMap<OrgId, HashMap<ProviderId, ProviderSlots>>>,
    /// Times held for calls in progress, per org (a handful at most: one per call).
    holds: RwLock<HashMap<OrgId, Vec<SlotHold>>>,
    /// How many orgs hold times now: a claim when none does (nearly always) reads no lock.
    orgs_holding: AtomicUsize,
}

/// A time held for one call while its caller gives their details: taken for everyone else
/// until `until`, when the call books it, picks another time or ends.
#[derive(Debug, Clone, PartialEq)]
pub struct SlotHold {
    /// The hold's own id (in the appointments' id space, so it can stand among them).
    pub id: AppointmentId,
    pub org: OrgId,
    /// Who holds it: a Vapi call (its id) or a waiting-list offer (`waitlist:…`).
    pub holder: String,
    pub provider: ProviderId,
    pub service: Option<ServiceId>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// What it keeps from others (the appointment it stands for, buffers included).
    pub occupied: Interval,
    /// When it lapses on its own.
    pub until: DateTime<Utc>,
}

impl SlotHold {
    /// Whether it still holds its time at `now`.
    pub fn live(&self, now: DateTime<Utc>) -> bool {
        now < self.until
    }

    fn entry(&self) -> SlotEntry {
        SlotEntry {
            appointment_id: self.id,
            occupied: self.occupied,
        }
    }
}

/// One change a writer transaction makes to the index.
#[derive(Debug, Clone, PartialEq)]
enum SlotChange {
    Hold {
        org: OrgId,
        provider: ProviderId,
        start: DateTime<Utc>,
        entry: SlotEntry,
    },
    Release {
        org: OrgId,
        provider: ProviderId,
        start: DateTime<Utc>,
        id: AppointmentId,
    },
    PlaceHold(SlotHold),
    EndHold {
        org: OrgId,
        id: AppointmentId,
    },
}

impl SlotIndex {
    /// Forgets every slot of a deleted org.
    pub fn forget_org(&self, org: OrgId) {
        self.write().remove(&org);
        let mut held = self.write_holds();
        held.remove(&org);
        self.orgs_holding.store(held.len(), Ordering::Release);
    }

    fn write_holds(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<OrgId, Vec<SlotHold>>> {
        self.holds.write().unwrap_or_else(|p| p.into_inner())
    }

    /// The org's holds, lapsed ones included (they are cleared by the next hold placed).
    fn org_holds(&self, org: OrgId) -> Vec<SlotHold> {
        if self.orgs_holding.load(Ordering::Acquire) == 0 {
            return Vec::new();
        }
        let holds = self.holds.read().unwrap_or_else(|p| p.into_inner());
        holds.get(&org).cloned().unwrap_or_default()
    }

    /// The org's holds still live at `now`, in start order (for the diary).
    pub fn live_holds(&self, org: OrgId, now: DateTime<Utc>) -> Vec<SlotHold> {
        let mut live: Vec<SlotHold> = self
            .org_holds(org)
            .into_iter()
            .filter(|h| h.live(now))
            .collect();
        live.sort_by_key(|h| (h.start, h.id));
        live
    }

    /// Adds an appointment read from the store at start, if it holds its slot (pending or
    /// confirmed).
    pub fn add_stored(&self, a: &AppointmentRecord) {
        if a.status.is_active() {
            apply_one(&mut self.write(), SlotChange::held_by(a));
        }
    }

    fn write(
        &self,
    ) -> std::sync::RwLockWriteGuard<'_, HashMap<OrgId, HashMap<ProviderId, ProviderSlots>>> {
        self.orgs.write().unwrap_or_else(|p| p.into_inner())
    }

    fn read<T>(&self, org: OrgId, provider: ProviderId, f: impl FnOnce(&ProviderSlots) -> T) -> T {
        let orgs = self.orgs.read().unwrap_or_else(|p| p.into_inner());
        let empty = ProviderSlots::new();
        f(orgs
            .get(&org)
            .and_then(|providers| providers.get(&provider))
            .unwrap_or(&empty))
    }

    /// The provider's active appointments whose occupied span overlaps `around`.
    ///
    /// A provider's active appointments never overlap one another (every claim is checked
    /// against them in the writer), so in start order their spans are disjoint and sorted:
    /// walking back from `around` the first entry that ends before it means every earlier one
    /// does too, and walking forward the first that starts after it means every later one
    /// does. The walks therefore read the few entries next to `around`.
    pub fn nearby(&self, org: OrgId, provider: ProviderId, around: Interval) -> Vec<SlotEntry> {
        self.read(org, provider, |slots| {
            // Saturating: the edges keep instants far from chrono's limits, and a stray one
            // only widens the walk.
            let earliest = around
                .start
                .checked_sub_signed(Duration::minutes(MAX_TAIL))
                .unwrap_or(DateTime::<Utc>::MIN_UTC);
            let latest = around
                .end
                .checked_add_signed(Duration::minutes(MAX_LEAD))
                .unwrap_or(DateTime::<Utc>::MAX_UTC);
            let middle = (around.start, LOWEST_ID);
            let mut found: Vec<SlotEntry> = slots
                .range((
                    Bound::Included((earliest, LOWEST_ID)),
                    Bound::Excluded(middle),
                ))
                .rev()
                .take_while(|(_, occupied)| occupied.end > around.start)
                .map(|((_, id), occupied)| SlotEntry {
                    appointment_id: *id,
                    occupied: *occupied,
                })
                .collect();
            found.reverse();
            found.extend(
                slots
                    .range((
                        Bound::Included(middle),
                        Bound::Excluded((latest, LOWEST_ID)),
                    ))
                    .take_while(|(_, occupied)| occupied.start < around.end)
                    .map(|((_, id), occupied)| SlotEntry {
                        appointment_id: *id,
                        occupied: *occupied,
                    }),
            );
            found.retain(|e| e.occupied.overlaps(&around));
            found
        })
    }

    /// The spans of the provider's active appointments, and of the times held at `now` (but
    /// for `for_holder`'s own), that start in `[from, to)`.
    pub fn starting_between(
        &self,
        org: OrgId,
        provider: ProviderId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        now: DateTime<Utc>,
        for_holder: Option<&str>,
    ) -> Vec<Interval> {
        if from >= to {
            return Vec::new();
        }
        let mut spans: Vec<Interval> = self.read(org, provider, |slots| {
            slots
                .range((from, LOWEST_ID)..(to, LOWEST_ID))
                .map(|(_, occupied)| *occupied)
                .collect()
        });
        let held = self.org_holds(org);
        let held = held.iter().filter(|h| {
            h.provider == provider
                && h.live(now)
                && (from..to).contains(&h.start)
                && Some(h.holder.as_str()) != for_holder
        });
        let before = spans.len();
        spans.extend(held.map(|h| h.occupied));
        if spans.len() > before {
            spans.sort_by_key(|i| i.start);
        }
        spans
    }

    /// Every held span, ordered: for comparing the index with one rebuilt from the store.
    pub fn snapshot(&self) -> Vec<(OrgId, ProviderId, DateTime<Utc>, AppointmentId, Interval)> {
        let orgs = self.orgs.read().unwrap_or_else(|p| p.into_inner());
        let mut all: Vec<_> = orgs
            .iter()
            .flat_map(|(org, providers)| {
                providers.iter().flat_map(move |(provider, slots)| {
                    slots
                        .iter()
                        .map(move |((start, id), span)| (*org, *provider, *start, *id, *span))
                })
            })
            .collect();
        all.sort_by_key(|(org, provider, start, id, _)| (*org, *provider, *start, *id));
        all
    }

    fn apply(&self, changes: Vec<SlotChange>) {
        if changes.is_empty() {
            return;
        }
        let is_hold =
            |c: &SlotChange| matches!(c, SlotChange::PlaceHold(_) | SlotChange::EndHold { .. });
        if !changes.iter().any(is_hold) {
            let mut orgs = self.write();
            for change in changes {
                apply_one(&mut orgs, change);
            }
            return;
        }
        let (holds, slots): (Vec<SlotChange>, Vec<SlotChange>) =
            changes.into_iter().partition(is_hold);
        if !slots.is_empty() {
            let mut orgs = self.write();
            for change in slots {
                apply_one(&mut orgs, change);
            }
        }
        if !holds.is_empty() {
            let mut held = self.write_holds();
            for change in holds {
                match change {
                    SlotChange::PlaceHold(h) => held.entry(h.org).or_default().push(h),
                    SlotChange::EndHold { org, id } => {
                        if let Some(list) = held.get_mut(&org) {
                            list.retain(|h| h.id != id);
                            if list.is_empty() {
                                held.remove(&org);
                            }
                        }
                    }
                    _ => {}
                }
            }
            self.orgs_holding.store(held.len(), Ordering::Release);
        }
    }
}

fn apply_one(orgs: &mut HashMap<OrgId, HashMap<ProviderId, ProviderSlots>>, change: SlotChange) {
    match change {
        SlotChange::Hold {
            org,
            provider,
            start,
            entry,
        } => {
            orgs.entry(org)
                .or_default()
                .entry(provider)
                .or_default()
                .insert((start, entry.appointment_id), entry.occupied);
        }
        SlotChange::Release {
            org,
            provider,
            start,
            id,
        } => {
            if let Some(slots) = orgs.get_mut(&org).and_then(|p| p.get_mut(&provider)) {
                slots.remove(&(start, id));
            }
        }
        SlotChange::PlaceHold(_) | SlotChange::EndHold { .. } => {}
    }
}

impl SlotChange {
    fn held_by(a: &AppointmentRecord) -> SlotChange {
        SlotChange::Hold {
            org: a.org_id,
            provider: a.provider_id,
            start: a.start,
            entry: SlotEntry {
                appointment_id: a.id,
                occupied: a.occupied(),
            },
        }
    }
}

/// The index as one write transaction sees it: what was committed before it, plus the slots
/// its own earlier changes took and released. `committed` hands those changes to the index
/// once the transaction is durable; dropped instead (the commit failed), they never reach it.
pub struct PendingSlots<'a> {
    index: &'a SlotIndex,
    changes: Vec<SlotChange>,
}

impl<'a> PendingSlots<'a> {
    pub fn new(index: &'a SlotIndex) -> Self {
        PendingSlots {
            index,
            changes: Vec::new(),
        }
    }

    /// What keeps `around` from a claim, with this transaction's changes so far: the
    /// provider's active appointments that overlap it (as `SlotIndex::nearby`) and the times
    /// held there at `now`, except those held for `for_holder` (a call's own hold does not
    /// keep it out).
    pub fn nearby(
        &self,
        org: OrgId,
        provider: ProviderId,
        around: Interval,
        now: DateTime<Utc>,
        for_holder: Option<&str>,
    ) -> Vec<SlotEntry> {
        let mut found = self.appointments_nearby(org, provider, around);
        found.extend(
            self.holds(org)
                .into_iter()
                .filter(|h| {
                    h.provider == provider
                        && h.live(now)
                        && h.occupied.overlaps(&around)
                        && Some(h.holder.as_str()) != for_holder
                })
                .map(|h| h.entry()),
        );
        found
    }

    /// The org's holds as this transaction sees them (lapsed ones included).
    pub fn holds(&self, org: OrgId) -> Vec<SlotHold> {
        let mut holds = self.index.org_holds(org);
        for change in &self.changes {
            match change {
                SlotChange::PlaceHold(h) if h.org == org => holds.push(h.clone()),
                SlotChange::EndHold { org: o, id } if *o == org => holds.retain(|h| h.id != *id),
                _ => {}
            }
        }
        holds
    }

    /// The hold now keeps its time (a call's earlier hold should be ended first).
    pub fn place_hold(&mut self, hold: SlotHold) {
        self.changes.push(SlotChange::PlaceHold(hold));
    }

    /// The hold no longer keeps its time (booked, replaced, released, lapsed).
    pub fn end_hold(&mut self, hold: &SlotHold) {
        self.changes.push(SlotChange::EndHold {
            org: hold.org,
            id: hold.id,
        });
    }

    fn appointments_nearby(
        &self,
        org: OrgId,
        provider: ProviderId,
        around: Interval,
    ) -> Vec<SlotEntry> {
        let mut found = self.index.nearby(org, provider, around);
        for change in &self.changes {
            match change {
                SlotChange::Hold {
                    org: o,
                    provider: p,
                    entry,
                    ..
                } if *o == org && *p == provider && entry.occupied.overlaps(&around) => {
                    found.push(entry.clone())
                }
                SlotChange::Release {
                    org: o,
                    provider: p,
                    id,
                    ..
                } if *o == org && *p == provider => found.retain(|e| e.appointment_id != *id),
                _ => {}
            }
        }
        found
    }

    /// The appointment now holds its slot.
    pub fn hold(&mut self, a: &AppointmentRecord) {
        self.changes.push(SlotChange::held_by(a));
    }

    /// The appointment no longer holds the slot it held (cancelled, or about to move).
    pub fn release(&mut self, a: &AppointmentRecord) {
        self.changes.push(SlotChange::Release {
            org: a.org_id,
            provider: a.provider_id,
            start: a.start,
            id: a.id,
        });
    }

    /// The transaction is durable: its changes reach the index.
    pub fn committed(self) {
        self.index.apply(self.changes);
    }
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    use super::*;

    fn entry_at(start: DateTime<Utc>, before: i64, length: i64, after: i64) -> SlotEntry {
        SlotEntry {
            appointment_id: AppointmentId::new_random(),
            occupied: Interval::new(
                start - Duration::minutes(before),
                start + Duration::minutes(length + after),
            ),
        }
    }

    /// The walks find exactly what filtering every entry finds, for bookings of every length
    /// (up to 12 hours, buffers up to 4 hours before and after) packed without overlaps, some
    /// committed and some only pending in a transaction, and asked-about spans anywhere
    /// around them.
    #[test]
    fn nearby_entries_are_exactly_the_overlapping_ones_committed_or_pending() {
        let index = SlotIndex::default();
        let (org, provider) = (OrgId::new_random(), ProviderId::new_random());
        let mut rng = StdRng::seed_from_u64(7);
        let day: DateTime<Utc> = "2027-05-03T00:00:00Z".parse().unwrap();
        let mut all = Vec::new();
        let mut committed = Vec::new();
        let mut pending = PendingSlots::new(&index);
        let mut free_from = day;
        while free_from < day + Duration::days(6) {
            let gap = rng.gen_range(0..6) * 15;
            let before = rng.gen_range(0..=240);
            let length = rng.gen_range(1..=48) * 15;
            let after = rng.gen_range(0..=240);
            let start = free_from + Duration::minutes(gap + before);
            let entry = entry_at(start, before, length, after);
            free_from = entry.occupied.end;
            if rng.gen_bool(0.5) {
                committed.push(SlotChange::Hold {
                    org,
                    provider,
                    start,
                    entry: entry.clone(),
                });
            } else {
                pending.changes.push(SlotChange::Hold {
                    org,
                    provider,
                    start,
                    entry: entry.clone(),
                });
            }
            all.push(entry);
        }
        index.apply(committed);
        let mut checked_non_empty = 0;
        for _ in 0..2000 {
            let start = day + Duration::minutes(rng.gen_range(0..6 * 24 * 60));
            let around = Interval::new(start, start + Duration::minutes(rng.gen_range(1..=600)));
            let mut found: Vec<AppointmentId> = pending
                .nearby(org, provider, around, day, None)
                .iter()
                .map(|e| e.appointment_id)
                .collect();
            let mut expected: Vec<AppointmentId> = all
                .iter()
                .filter(|e| e.occupied.overlaps(&around))
                .map(|e| e.appointment_id)
                .collect();
            found.sort();
            expected.sort();
            assert_eq!(found, expected, "around {around:?}");
            checked_non_empty += usize::from(!expected.is_empty());
        }
        assert!(checked_non_empty > 1000, "most probes meet bookings");
        // Another provider and another org see none of it.
        let everything = Interval::new(day, day + Duration::days(7));
        assert!(pending
            .nearby(org, ProviderId::new_random(), everything, day, None)
            .is_empty());
        assert!(pending
            .nearby(OrgId::new_random(), provider, everything, day, None)
            .is_empty());
    }

    fn appointment(org: OrgId, provider: ProviderId, start: &str) -> AppointmentRecord {
        let mut a = crate::booking::phone_index::tests::appointment(
            org,
            &crate::domain::PhoneNumber::parse("+447400100001", "GB").unwrap(),
        );
        a.provider_id = provider;
        a.start = start.parse().unwrap();
        a.end = a.start + Duration::minutes(30);
        a
    }

    /// A transaction's holds and releases are seen by its own later changes at once, and by
    /// the index only after `committed`; dropped (a failed commit), they never arrive.
    #[test]
    fn pending_changes_reach_the_index_only_when_committed() {
        let index = SlotIndex::default();
        let (org, provider) = (OrgId::new_random(), ProviderId::new_random());
        let nine = appointment(org, provider, "2027-05-03T09:00:00Z");
        let ten = appointment(org, provider, "2027-05-03T10:00:00Z");
        let morning = Interval::new(
            "2027-05-03T08:00:00Z".parse().unwrap(),
            "2027-05-03T12:00:00Z".parse().unwrap(),
        );
        let ids = |entries: Vec<SlotEntry>| -> Vec<AppointmentId> {
            entries.iter().map(|e| e.appointment_id).collect()
        };

        let mut failed = PendingSlots::new(&index);
        failed.hold(&nine);
        assert_eq!(
            ids(failed.nearby(org, provider, morning, nine.start, None)),
            vec![nine.id]
        );
        drop(failed);
        assert!(index.nearby(org, provider, morning).is_empty());

        let mut first = PendingSlots::new(&index);
        first.hold(&nine);
        first.hold(&ten);
        first.committed();
        assert_eq!(
            ids(index.nearby(org, provider, morning)),
            vec![nine.id, ten.id]
        );
        assert_eq!(
            index.starting_between(org, provider, nine.start, ten.start, nine.start, None),
            vec![nine.occupied()]
        );

        let mut second = PendingSlots::new(&index);
        second.release(&nine);
        assert_eq!(
            ids(second.nearby(org, provider, morning, nine.start, None)),
            vec![ten.id]
        );
        assert_eq!(
            ids(index.nearby(org, provider, morning)),
            vec![nine.id, ten.id]
        );
        second.committed();
        assert_eq!(ids(index.nearby(org, provider, morning)), vec![ten.id]);
    }

    /// A hold keeps its span from every claim but its holder's, in the transaction that places
    /// it and, once committed, in the index's free-time reads; a lapsed hold keeps nothing.
    #[test]
    fn a_hold_keeps_its_time_from_all_but_its_holder_until_it_lapses() {
        let index = SlotIndex::default();
        let (org, provider) = (OrgId::new_random(), ProviderId::new_random());
        let now: DateTime<Utc> = "2027-05-03T08:00:00Z".parse().unwrap();
        let start: DateTime<Utc> = "2027-05-03T10:00:00Z".parse().unwrap();
        let span = Interval::new(start, start + Duration::minutes(30));
        let hold = SlotHold {
            id: AppointmentId::new_time_ordered(),
            org,
            holder: "call-1".into(),
            provider,
            service: None,
            start,
            end: span.end,
            occupied: span,
            until: now + Duration::minutes(5),
        };
        let mut placing = PendingSlots::new(&index);
        placing.place_hold(hold.clone());
        let seen = |p: &PendingSlots<'_>, at: DateTime<Utc>, holder: Option<&str>| {
            p.nearby(org, provider, span, at, holder)
                .iter()
                .map(|e| e.appointment_id)
                .collect::<Vec<_>>()
        };
        assert_eq!(seen(&placing, now, Some("call-2")), vec![hold.id]);
        assert_eq!(seen(&placing, now, None), vec![hold.id]);
        assert!(seen(&placing, now, Some("call-1")).is_empty());
        assert!(
            index.live_holds(org, now).is_empty(),
            "not before the commit"
        );
        placing.committed();

        let day = start - Duration::hours(10);
        let free_time_reads =
            |at| index.starting_between(org, provider, day, day + Duration::days(1), at, None);
        assert_eq!(free_time_reads(now), vec![span]);
        assert_eq!(index.live_holds(org, now), vec![hold.clone()]);
        assert!(index.snapshot().is_empty(), "holds are not appointments");
        // Lapsed: nothing kept, for claims and free times alike.
        let later = hold.until;
        assert!(free_time_reads(later).is_empty());
        assert!(seen(&PendingSlots::new(&index), later, None).is_empty());
        // Ended in a transaction: gone once it commits.
        let mut ending = PendingSlots::new(&index);
        ending.end_hold(&hold);
        assert!(seen(&ending, now, None).is_empty());
        assert_eq!(index.live_holds(org, now).len(), 1);
        ending.committed();
        assert!(index.live_holds(org, now).is_empty());
    }
}
