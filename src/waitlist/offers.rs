//! Offers of freed times: a freed time is held for the clinic's `offer_minutes` and texted to
//! the first entries it fits that may be texted, in order of joining; the first YES to a text
//! that went out books it through the claim writer, and a later YES is told it has gone.

use chrono::{DateTime, Utc};

use super::records::{EntryStatus, FreedTime, Offer, WaitlistEntry, OFFER_TO};
use super::{WaitlistError, WaitlistService, WAITLIST, WAITLIST_OFFERS_BY_PHONE};
use crate::audit;
use crate::booking::holds::HoldRequest;
use crate::booking::ledger::BookRequest;
use crate::booking::records::{AppointmentRecord, BookingSource, ClinicSettings, Patient};
use crate::booking::tables::CLINIC_SETTINGS;
use crate::booking::{AppointmentFilter, BookingError, ClinicView};
use crate::domain::{AppointmentId, OrgId, PhoneNumber};
use crate::followup::records::{
    keyword_of, message_sent, queue_text, sender_key, withdraw_text, FollowUpPurpose,
    FollowUpRecord,
};
use crate::identity::tables::ORGS;
use crate::store::OrgReads;
use crate::store::StoreError;

/// What a YES found: the clinic and the entry whose offer it answers.
struct Answered {
    org: OrgId,
    entry: WaitlistEntry,
    offer: Offer,
}

impl WaitlistService {
    /// Offers a freed time (`holder` names the hold, one per freed time: a retried job finds
    /// its own hold again): to the first entries it fits whose number may be texted, one per
    /// number, in order of joining. The time is held for the clinic's `offer_minutes` through
    /// the claim writer and each is queued a text that lapses with the hold. Nothing is
    /// offered in the clinic's quiet hours (the entries wait for the next freed time) or when
    /// the time is no longer free; both are audited. Returns how many were offered it.
    pub async fn offer_freed(
        &self,
        org: OrgId,
        freed: FreedTime,
        holder: String,
    ) -> Result<usize, WaitlistError> {
        let view = match self.booking.clinic(org).await {
            Ok(v) => v,
            // The clinic is gone: nothing to offer.
            Err(BookingError::NotFound) => return Ok(0),
            Err(e) => return Err(e.into()),
        };
        let now = self.now();
        let tz = view.tz;
        let fitting: Vec<WaitlistEntry> = self
            .entries(org)
            .await?
            .into_iter()
            .filter(|e| e.fits(&freed, now, tz))
            .collect();
        if fitting.is_empty() {
            return Ok(0);
        }
        let install_from = self.install_from.clone();
        let chosen: Vec<WaitlistEntry> = self
            .store
            .read(move |r| {
                let mut chosen: Vec<WaitlistEntry> = Vec::new();
                for e in fitting {
                    if chosen.len() == OFFER_TO {
                        break;
                    }
                    let number = e.phone.as_str();
                    // One open offer per number: a YES answers the one it was sent.
                    let o = r.org(org);
                    let open_offer = match o.get(&WAITLIST_OFFERS_BY_PHONE, number.as_bytes())? {
                        Some(last) => o
                            .get(&WAITLIST, last.as_bytes())?
                            .is_some_and(|x| x.status_at(now, tz) == EntryStatus::Offered),
                        None => false,
                    };
                    if !open_offer
                        && chosen.iter().all(|c| c.phone != e.phone)
                        && crate::followup::due::may_text(r, org, number, &install_from)?
                    {
                        chosen.push(e);
                    }
                }
                Ok::<_, StoreError>(chosen)
            })
            .await?;
        if chosen.is_empty() {
            return Ok(0);
        }
        let settings = &view.settings;
        let quiet = crate::domain::QuietHours::new(
            &settings.quiet_hours_start,
            &settings.quiet_hours_end,
            tz,
        );
        if quiet.is_quiet(now) {
            self.audit_freed(org, "waitlist_offer_skipped", &freed, now)
                .await?;
            return Ok(0);
        }
        let hold = HoldRequest {
            org,
            holder: holder.clone(),
            provider_id: freed.provider_id,
            service_id: freed.service_id,
            start: freed.start,
            duration_minutes: freed
                .service_id
                .is_none()
                .then(|| (freed.end - freed.start).num_minutes().max(5) as u32),
            minutes: settings.offer_minutes,
        };
        let held = match self.booking.hold_slot(hold).await {
            Ok(h) => h,
            // Taken again, or no longer bookable (too soon, hours changed): nothing to offer.
            Err(
                BookingError::Taken { .. }
                | BookingError::Refused(_)
                | BookingError::Invalid(_)
                | BookingError::NotFound,
            ) => {
                self.audit_freed(org, "waitlist_offer_dropped", &freed, now)
                    .await?;
                return Ok(0);
            }
            Err(e) => return Err(e.into()),
        };
        let body = offer_text(&view, &freed, held.until);
        let count = chosen.len();
        self.store
            .write(move |w| {
                for chosen in chosen {
                    let id = chosen.id;
                    // Read again: a YES may have booked it meanwhile.
                    let Some(mut e) = w
                        .org(org)
                        .get(&WAITLIST, id.as_bytes())?
                        .filter(|e| e.status_at(now, tz) == EntryStatus::Waiting)
                    else {
                        continue;
                    };
                    let message_id = uuid::Uuid::now_v7();
                    e.status = EntryStatus::Offered;
                    e.offer = Some(Offer {
                        holder: holder.clone(),
                        provider_id: freed.provider_id,
                        service_id: freed.service_id,
                        start: freed.start,
                        end: freed.end,
                        offered_at: now,
                        expires_at: held.until,
                        message_id,
                    });
                    e.updated_at = now;
                    let mut message = FollowUpRecord::queued(
                        message_id,
                        FollowUpPurpose::WaitlistOffer,
                        e.phone.as_str().to_string(),
                        body.clone(),
                        "waitlist_offer".into(),
                        String::new(),
                        now,
                    );
                    message.expires_at = Some(held.until);
                    let mut o = w.org(org);
                    o.put(&WAITLIST, id.as_bytes(), &e)?;
                    o.put(&WAITLIST_OFFERS_BY_PHONE, e.phone.as_str().as_bytes(), &id)?;
                    audit::success(
                        &mut o,
                        "system:waitlist",
                        "waitlist_offered",
                        format!("waitlist:{id}"),
                        now,
                    )?;
                    queue_text(w, org, &message, "system:waitlist", now)?;
                }
                Ok::<_, WaitlistError>(())
            })
            .await?;
        self.outbox_wake.notify_one();
        Ok(count)
    }

    async fn audit_freed(
        &self,
        org: OrgId,
        action: &'static str,
        freed: &FreedTime,
        now: DateTime<Utc>,
    ) -> Result<(), WaitlistError> {
        let target = format!(
            "provider:{} {}",
            freed.provider_id,
            freed.start.to_rfc3339()
        );
        self.store
            .write(move |w| {
                audit::success(&mut w.org(org), "system:waitlist", action, target, now)?;
                Ok(())
            })
            .await
    }

    /// A text from `from` to the sender `to`: a YES (the first word) answering an offer whose
    /// text went to that number takes the time — booked through the claim writer for the
    /// first who answers — and is answered with what happened. `None` when the text is not a
    /// YES or answers no offer (other keywords, and YES as an opt-in, are the follow-up
    /// service's).
    pub async fn reply(
        &self,
        from: &str,
        to: &str,
        body: &str,
    ) -> Result<Option<String>, WaitlistError> {
        if keyword_of(body) != "YES" {
            return Ok(None);
        }
        let Ok(phone) = PhoneNumber::parse(from, "GB") else {
            return Ok(None);
        };
        let Some(Answered { org, entry, offer }) = self.answered(phone, to).await? else {
            return Ok(None);
        };
        let view = self.booking.clinic(org).await?;
        let now = self.now();
        // A repeated YES from a patient it booked: the same answer (and the entry booked, if
        // an earlier answer could not record it).
        if let Some(a) = self.booked_at_offer(org, &entry, &offer).await? {
            self.settle(org, entry.id, &offer.holder, Some(a.id), now)
                .await?;
            return Ok(Some(booked_text(&view, &a)));
        }
        // Taken by another YES, or lapsed: gone, and the patient stays on the list.
        if entry.status != EntryStatus::Offered || offer.expires_at <= now {
            self.settle(org, entry.id, &offer.holder, None, now).await?;
            return Ok(Some(gone_text(&view)));
        }
        let req = BookRequest {
            org,
            actor: "patient:sms".into(),
            provider_id: offer.provider_id,
            service_id: offer.service_id,
            start: offer.start,
            duration_minutes: offer
                .service_id
                .is_none()
                .then(|| (offer.end - offer.start).num_minutes().max(5) as u32),
            patient: Patient {
                name: entry.patient_name.clone(),
                phone: entry.phone.clone(),
                email: None,
                date_of_birth: None,
            },
            notes: None,
            source: BookingSource::Waitlist,
            vapi_call_id: None,
            vapi_tool_call_id: None,
            hold_key: Some(offer.holder.clone()),
            retry_at_any_time: false,
        };
        match self.booking.book(req).await {
            Ok((a, _)) => {
                self.settle(org, entry.id, &offer.holder, Some(a.id), now)
                    .await?;
                Ok(Some(booked_text(&view, &a)))
            }
            Err(
                BookingError::Taken { .. }
                | BookingError::Refused(_)
                | BookingError::Invalid(_)
                | BookingError::NotFound,
            ) => {
                // The same YES twice at once: the first booked it for this patient.
                if let Some(a) = self.booked_at_offer(org, &entry, &offer).await? {
                    self.settle(org, entry.id, &offer.holder, Some(a.id), now)
                        .await?;
                    return Ok(Some(booked_text(&view, &a)));
                }
                self.settle(org, entry.id, &offer.holder, None, now).await?;
                Ok(Some(gone_text(&view)))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The offer a YES from `phone` to the sender `to` answers: among clinics that text from
    /// `to`, the entry last offered a time by a text to the number that went out (still open,
    /// taken by another, lapsed or booked), an open offer before the rest, the newest first.
    async fn answered(
        &self,
        phone: PhoneNumber,
        to: &str,
    ) -> Result<Option<Answered>, WaitlistError> {
        let sender = to.trim().to_string();
        let install_from = self.install_from.clone();
        let now = self.now();
        let found = self
            .store
            .read(move |r| {
                let number = phone.as_str();
                // (clinic texts from `to` as its own sender, the answered offer)
                let mut best: Option<(bool, Answered)> = None;
                for (_, org) in r.global_scan(&ORGS, 100_000)? {
                    let o = r.org(org.id);
                    let Some(id) = o.get(&WAITLIST_OFFERS_BY_PHONE, number.as_bytes())? else {
                        continue;
                    };
                    let Some(entry) = o.get(&WAITLIST, id.as_bytes())? else {
                        continue;
                    };
                    let Some(offer) = entry.offer.clone() else {
                        continue;
                    };
                    let settings: ClinicSettings =
                        o.get(&CLINIC_SETTINGS, b"settings")?.unwrap_or_default();
                    let same = |a: &str| sender_key(a, "") == sender_key(&sender, "");
                    let own_sender = settings.sms_from.as_deref().is_some_and(same);
                    // Without a sender of its own the clinic texts from the install's (or, with
                    // none configured, from Twilio's messaging service: any of its numbers).
                    let install_sender = settings.sms_from.is_none()
                        && (install_from.is_empty() || same(&install_from));
                    if !(own_sender || install_sender) || !message_sent(&o, offer.message_id)? {
                        continue;
                    }
                    let rank = |own: bool, e: &WaitlistEntry, o: &Offer| {
                        (
                            own,
                            e.status == EntryStatus::Offered && o.expires_at > now,
                            o.offered_at,
                        )
                    };
                    let better = best.as_ref().is_none_or(|(own, b)| {
                        rank(*own, &b.entry, &b.offer) < rank(own_sender, &entry, &offer)
                    });
                    if better {
                        best = Some((
                            own_sender,
                            Answered {
                                org: org.id,
                                entry,
                                offer,
                            },
                        ));
                    }
                }
                Ok::<_, StoreError>(best.map(|(_, a)| a))
            })
            .await?;
        Ok(found)
    }

    /// The patient's active appointment at the offered time, if they have one (booked by an
    /// earlier YES to it).
    async fn booked_at_offer(
        &self,
        org: OrgId,
        entry: &WaitlistEntry,
        offer: &Offer,
    ) -> Result<Option<AppointmentRecord>, WaitlistError> {
        let theirs = self
            .booking
            .appointments(
                org,
                AppointmentFilter {
                    from: Some(offer.start),
                    to: Some(offer.end),
                    provider_id: Some(offer.provider_id),
                    phone: Some(entry.phone.as_str().to_string()),
                },
            )
            .await?;
        Ok(theirs
            .into_iter()
            .find(|a| a.status.is_active() && a.start == offer.start))
    }

    /// Ends an entry's offer of the time `holder` held. Booked (`appointment`): the entry is
    /// booked, and the others offered the same time wait again. Not booked: the entry waits
    /// again, if it is still offered that time (a late or repeated YES changes nothing else).
    /// The offer stays on the entry as its last, so a later YES to it is told it has gone.
    async fn settle(
        &self,
        org: OrgId,
        id: uuid::Uuid,
        holder: &str,
        appointment: Option<AppointmentId>,
        now: DateTime<Utc>,
    ) -> Result<(), WaitlistError> {
        let holder = holder.to_string();
        self.store
            .write(move |w| {
                let mut o = w.org(org);
                let offered_this = |e: &WaitlistEntry| {
                    e.status == EntryStatus::Offered
                        && e.offer.as_ref().is_some_and(|x| x.holder == holder)
                };
                let mut changed: Vec<(WaitlistEntry, &'static str)> = Vec::new();
                let Some(mut e) = o.get(&WAITLIST, id.as_bytes())? else {
                    return Ok(());
                };
                match appointment {
                    Some(a) if e.appointment_id == Some(a) => return Ok(()),
                    Some(a) => {
                        e.status = EntryStatus::Booked;
                        e.appointment_id = Some(a);
                        changed.push((e, "waitlist_booked"));
                        for (_, other) in o.scan(&WAITLIST, &[], None, usize::MAX)? {
                            if other.id != id && offered_this(&other) {
                                changed.push((other, "waitlist_offer_taken"));
                            }
                        }
                    }
                    None if offered_this(&e) => changed.push((e, "waitlist_offer_missed")),
                    None => return Ok(()),
                }
                for (mut e, action) in changed {
                    if action != "waitlist_booked" {
                        e.status = EntryStatus::Waiting;
                    }
                    // A text of this offer not sent yet will not be.
                    if let Some(offer) = &e.offer {
                        withdraw_text(&mut o, offer.message_id, now)?;
                    }
                    e.updated_at = now;
                    o.put(&WAITLIST, e.id.as_bytes(), &e)?;
                    let actor = if action == "waitlist_offer_taken" {
                        "system:waitlist"
                    } else {
                        "patient:sms"
                    };
                    audit::success(&mut o, actor, action, format!("waitlist:{}", e.id), now)?;
                }
                Ok(())
            })
            .await
    }
}

fn clinic_name(view: &ClinicView) -> &str {
    if view.org.name.is_empty() {
        "The clinic"
    } else {
        &view.org.name
    }
}

fn when(view: &ClinicView, t: DateTime<Utc>) -> String {
    let local = t.with_timezone(&view.tz);
    format!(
        "{} at {}",
        crate::speech::say_date(local.date_naive()),
        crate::speech::say_time(local.time())
    )
}

fn provider_name(view: &ClinicView, id: crate::domain::ProviderId) -> String {
    view.providers
        .iter()
        .find(|p| p.id == id)
        .map(|p| p.name.clone())
        .unwrap_or_else(|| "the practitioner".into())
}

/// The offer text: the time, who with, and until when a YES takes it.
fn offer_text(view: &ClinicView, freed: &FreedTime, until: DateTime<Utc>) -> String {
    let service = freed
        .service_id
        .and_then(|s| view.services.iter().find(|x| x.id == s))
        .map(|s| format!("{} appointment", s.name))
        .unwrap_or_else(|| "appointment".into());
    format!(
        "{}: an earlier {service} is free on {} with {}. Reply YES by {} to take it. Reply STOP to stop texts.",
        clinic_name(view),
        when(view, freed.start),
        provider_name(view, freed.provider_id),
        crate::speech::say_time(until.with_timezone(&view.tz).time()),
    )
}

fn booked_text(view: &ClinicView, a: &AppointmentRecord) -> String {
    format!(
        "{}: you're booked with {} on {}. To change it, please call us.",
        clinic_name(view),
        provider_name(view, a.provider_id),
        when(view, a.start)
    )
}

fn gone_text(view: &ClinicView) -> String {
    format!(
        "{}: sorry, that time has gone. You're still on our waiting list and we'll text you if another comes up.",
        clinic_name(view)
    )
}
