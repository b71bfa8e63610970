//! The assistant's tools and what they share: check_availability, book_appointment and
//! search_knowledge_base here, the tools about an existing booking in `existing`, holds in
//! `holds`, the waiting list in `waitlist`. Each returns
//! a sentence to say, in the clinic's time zone, never an id.

use chrono::{DateTime, Duration, NaiveDate, Timelike, Utc};
use chrono_tz::Tz;
use serde_json::{json, Map, Value};

use super::envelope::{CallContext, ToolCall};
use super::ToolAnswer;
use crate::auth::Caller;
use crate::booking::intake::{self, AppointmentFields, DurationInput};
use crate::booking::ledger::BookRequest;
use crate::booking::records::{AppointmentRecord, BookingSource, ProviderRecord, ServiceRecord};
use crate::booking::{local_instant, BookingError, BookingService, ClinicView, Slot};
use crate::domain::{FieldError, ProviderId};
use crate::speech::{join_words, resolve_date, resolve_time, say_date, say_time};

pub(super) const TRY_AGAIN: &str = "I'm sorry, I couldn't do that just now. I can try again in a moment, or take a message for the clinic.";

/// Runs one tool call with the agent's services.
pub async fn run(
    agent: &super::VoiceAgent,
    caller: Caller,
    tool: &ToolCall,
    call: &CallContext,
) -> ToolAnswer {
    let (booking, verifier) = (agent.booking.as_ref(), &agent.verifier);
    let Ok(args) = &tool.arguments else {
        return ToolAnswer::error(
            "I couldn't read the details of that request. Could you tell me them again?",
        );
    };
    let view = match booking.clinic(caller.org).await {
        Ok(v) => v,
        Err(_) => return ToolAnswer::error(TRY_AGAIN),
    };
    let ctx = Ctx {
        booking,
        calls: &agent.calls,
        caller,
        view: &view,
        args,
        call,
        tool_call_id: &tool.id,
        checks: &verifier.checks,
        texter: verifier.texter.as_ref(),
        waitlist: &agent.waitlist,
    };
    match tool.name.as_str() {
        "check_availability" => ctx.check_availability().await,
        "book_appointment" => ctx.book().await,
        "find_appointment" => ctx.find().await,
        "reschedule_appointment" => ctx.reschedule().await,
        "cancel_appointment" => ctx.cancel().await,
        "verify_caller" => ctx.verify_caller().await,
        "hold_slot" => ctx.hold_slot().await,
        "release_hold" => ctx.release_hold().await,
        "join_waitlist" => ctx.join_waitlist().await,
        "search_knowledge_base" => search_knowledge_base(&agent.kb, caller, args).await,
        "" => ToolAnswer::error("That request didn't say which tool to use."),
        _ => ToolAnswer::error(
            "I can't help with that request here. I can take a message for the clinic.",
        ),
    }
}

pub(super) struct Ctx<'a> {
    pub(super) booking: &'a BookingService,
    pub(super) calls: &'a crate::calls::CallService,
    pub(super) caller: Caller,
    pub(super) view: &'a ClinicView,
    pub(super) args: &'a Map<String, Value>,
    pub(super) call: &'a CallContext,
    pub(super) tool_call_id: &'a str,
    pub(super) checks: &'a std::sync::Mutex<super::verification::CallChecks>,
    pub(super) texter: Option<&'a super::verification::CodeTexter>,
    pub(super) waitlist: &'a crate::waitlist::WaitlistService,
}

fn time_of_day_matches(filter: Option<&str>, t: DateTime<Utc>, tz: Tz) -> bool {
    let h = t.with_timezone(&tz).hour();
    match filter.map(str::to_lowercase).as_deref() {
        Some("morning") => h < 12,
        Some("afternoon") => (12..17).contains(&h),
        Some("evening") => h >= 17,
        _ => true,
    }
}

fn normalise_name(s: &str) -> String {
    s.to_lowercase()
        .replace(['.', ','], " ")
        .split_whitespace()
        .filter(|w| !matches!(*w, "dr" | "doctor" | "mr" | "mrs" | "ms" | "miss" | "nurse"))
        .collect::<Vec<_>>()
        .join(" ")
}

impl Ctx<'_> {
    pub(super) fn text(&self, key: &str) -> Option<String> {
        match self.args.get(key)? {
            Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    pub(super) fn tz(&self) -> Tz {
        self.view.tz
    }

    pub(super) fn today(&self) -> NaiveDate {
        self.booking.now().with_timezone(&self.tz()).date_naive()
    }

    pub(super) fn provider_name(&self, id: ProviderId) -> String {
        self.view
            .providers
            .iter()
            .find(|p| p.id == id)
            .map(|p| p.name.clone())
            .unwrap_or_else(|| "the practitioner".into())
    }

    pub(super) fn when(&self, t: DateTime<Utc>) -> String {
        let local = t.with_timezone(&self.tz());
        format!(
            "{} at {}",
            say_date(local.date_naive()),
            say_time(local.time())
        )
    }

    fn date_arg(&self) -> Result<NaiveDate, ToolAnswer> {
        let Some(raw) = self.text("appointment_date") else {
            return Err(ToolAnswer::error(
                "I need a date for that, such as tomorrow or the 17th of January.",
            ));
        };
        let date = resolve_date(&raw, self.today()).map_err(|_| {
            ToolAnswer::error(
                "I didn't catch the date. Could you say it again, for example Friday the 17th?",
            )
        })?;
        intake::date_in_window(date, self.today()).map_err(|_| {
            ToolAnswer::error(
                "That date is too far away for me to book. Could we pick a date in the next year or so?",
            )
            .with("field", json!("date"))
        })
    }

    pub(super) fn start_arg(&self) -> Result<DateTime<Utc>, ToolAnswer> {
        let date = self.date_arg()?;
        let Some(raw) = self.text("appointment_time") else {
            return Err(ToolAnswer::error("I need a time for that, such as 2 pm."));
        };
        let time = resolve_time(&raw).map_err(|_| {
            ToolAnswer::error(
                "I didn't catch the time. Could you say it again, for example 2:30 pm?",
            )
        })?;
        local_instant(self.tz(), date, time).map_err(|_| ToolAnswer::error("That time doesn't exist on that day because the clocks change. Could we pick another time?"))
    }

    pub(super) fn service_arg(&self) -> Result<Option<&ServiceRecord>, ToolAnswer> {
        let Some(wanted) = self.text("service") else {
            return Ok(None);
        };
        let w = wanted.to_lowercase();
        let matches = |s: &&ServiceRecord| {
            let name = s.name.to_lowercase();
            let proc_ = s.procedure.as_deref().unwrap_or("").to_lowercase();
            name == w
                || proc_ == w
                || name.contains(&w)
                || w.contains(&name)
                || (!proc_.is_empty() && (w.contains(&proc_) || proc_.contains(&w)))
        };
        match self.view.services.iter().find(matches) {
            Some(s) => Ok(Some(s)),
            None => {
                let names: Vec<String> = self
                    .view
                    .services
                    .iter()
                    .take(5)
                    .map(|s| s.name.clone())
                    .collect();
                Err(ToolAnswer::error(if names.is_empty() {
                    "I couldn't find that treatment at this clinic.".to_string()
                } else {
                    format!(
                        "I couldn't find that treatment. We offer {}.",
                        join_words(&names, "and")
                    )
                }))
            }
        }
    }

    pub(super) fn provider_arg(&self) -> Result<Option<&ProviderRecord>, ToolAnswer> {
        let not_found = || {
            let names: Vec<String> = self
                .view
                .providers
                .iter()
                .take(5)
                .map(|p| p.name.clone())
                .collect();
            ToolAnswer::error(format!(
                "I couldn't find that practitioner at this clinic. We have {}.",
                join_words(&names, "and")
            ))
        };
        if let Some(raw) = self.text("provider_id") {
            let id: ProviderId = raw.parse().map_err(|_| not_found())?;
            return self
                .view
                .providers
                .iter()
                .find(|p| p.id == id)
                .map(Some)
                .ok_or_else(not_found);
        }
        if let Some(raw) = self.text("provider_name") {
            let wanted = normalise_name(&raw);
            if wanted.is_empty() {
                return Err(not_found());
            }
            return self
                .view
                .providers
                .iter()
                .find(|p| {
                    let n = normalise_name(&p.name);
                    n == wanted || n.split(' ').any(|part| part == wanted) || n.contains(&wanted)
                })
                .map(Some)
                .ok_or_else(not_found);
        }
        Ok(None)
    }

    /// "9 am, 9:30 am or 10 am with Dr Smith, or 2 pm with Dr Patel" (dates said when they
    /// differ from `day`).
    fn offer_words(&self, slots: &[Slot], day: Option<NaiveDate>) -> String {
        let mut groups: Vec<(ProviderId, Vec<String>)> = Vec::new();
        for s in slots {
            let local = s.start.with_timezone(&self.tz());
            let mut words = say_time(local.time());
            if day != Some(local.date_naive()) {
                words = format!("{words} on {}", say_date(local.date_naive()));
            }
            match groups.iter_mut().find(|(p, _)| *p == s.provider_id) {
                Some((_, list)) => list.push(words),
                None => groups.push((s.provider_id, vec![words])),
            }
        }
        let parts: Vec<String> = groups
            .iter()
            .map(|(p, times)| {
                format!(
                    "{} with {}",
                    join_words(times, "or"),
                    self.provider_name(*p)
                )
            })
            .collect();
        // Each practitioner's times already use "or": groups are set apart by ", or".
        match parts.split_last() {
            Some((last, init)) if !init.is_empty() => format!("{}, or {last}", init.join(", ")),
            _ => parts.join(""),
        }
    }

    fn slots_json(&self, slots: &[Slot]) -> Value {
        json!(slots
            .iter()
            .take(20)
            .map(|s| json!({"provider_id": s.provider_id, "provider_name": self.provider_name(s.provider_id), "start": s.start.with_timezone(&self.tz()).to_rfc3339()}))
            .collect::<Vec<_>>())
    }

    async fn check_availability(&self) -> ToolAnswer {
        let date = match self.date_arg() {
            Ok(d) => d,
            Err(a) => return a,
        };
        let (service, provider) = match (self.service_arg(), self.provider_arg()) {
            (Ok(s), Ok(p)) => (s, p),
            (Err(a), _) | (_, Err(a)) => return a,
        };
        let part = self.text("time_of_day");
        let find = |from: NaiveDate, days: u32| {
            self.booking.availability_for(
                self.caller.org,
                service.map(|s| s.id),
                provider.map(|p| p.id),
                from,
                days,
                self.call.call_id.clone(),
            )
        };
        let slots = match find(date, 1).await {
            Ok(s) => s
                .into_iter()
                .filter(|s| time_of_day_matches(part.as_deref(), s.start, self.tz()))
                .collect::<Vec<_>>(),
            Err(_) => return ToolAnswer::error(TRY_AGAIN),
        };
        let said = say_date(date);
        if slots.is_empty() {
            let later = find(date + Duration::days(1), 14)
                .await
                .unwrap_or_default()
                .into_iter()
                .find(|s| time_of_day_matches(part.as_deref(), s.start, self.tz()));
            let sentence = match &later {
                Some(s) => format!(
                    "Sorry, there's nothing free on {said}. The next free time is {} with {}.",
                    self.when(s.start),
                    self.provider_name(s.provider_id)
                ),
                None => format!("Sorry, there's nothing free on {said} or in the two weeks after."),
            };
            return ToolAnswer::ok(sentence).with("date", json!(date)).with(
                "slots",
                self.slots_json(&later.into_iter().collect::<Vec<_>>()),
            );
        }
        // A few times per practitioner, spread over the day.
        let mut spoken: Vec<Slot> = Vec::new();
        let mut providers: Vec<ProviderId> = slots.iter().map(|s| s.provider_id).collect();
        providers.dedup();
        providers.sort();
        providers.dedup();
        for p in providers.iter().take(3) {
            let mine: Vec<&Slot> = slots.iter().filter(|s| s.provider_id == *p).collect();
            let step = (mine.len() / 3).max(1);
            spoken.extend(mine.iter().step_by(step).take(3).map(|s| (*s).clone()));
        }
        ToolAnswer::ok(format!(
            "On {said} I have {}.",
            self.offer_words(&spoken, Some(date))
        ))
        .with("date", json!(date))
        .with("slots", self.slots_json(&slots))
    }

    async fn book(&self) -> ToolAnswer {
        if let Some(clinic) = self.text("clinic_id") {
            if clinic != self.caller.org.to_string() {
                let _ = self
                    .booking
                    .record_other_org_attempt(self.caller, &clinic)
                    .await;
                return ToolAnswer::error("I can only book appointments at this clinic.");
            }
        }
        // The caller's details first (the agent asks for a missing name before anything else).
        let (name, phone, email, notes, duration, birth) = (
            self.text("patient_name"),
            self.text("patient_phone"),
            self.text("patient_email"),
            self.text("notes"),
            self.text("duration_minutes"),
            self.text("date_of_birth"),
        );
        let fields = match intake::check_fields(
            &AppointmentFields {
                name: name.as_deref(),
                phone: phone.as_deref(),
                caller_number: self.call.customer_number.as_deref(),
                email: email.as_deref(),
                notes: notes.as_deref(),
                duration: duration.as_deref().map(DurationInput::Text),
                date_of_birth: birth.as_deref(),
                today: self.today(),
            },
            &self.view.settings.phone_region,
        ) {
            Ok(f) => f,
            Err(errors) => return spoken_field_error(&errors),
        };
        let start = match self.start_arg() {
            Ok(s) => s,
            Err(a) => return a,
        };
        let notes = match self.spoken_text(fields.notes.clone()).await {
            Ok(n) => n,
            Err(a) => return a,
        };
        let (mut service, provider) = match (self.service_arg(), self.provider_arg()) {
            (Ok(s), Ok(p)) => (s, p),
            (Err(a), _) | (_, Err(a)) => return a,
        };
        // The time this call holds is booked as it was held, unless the caller says otherwise.
        let held = self.held().filter(|h| h.start == start);
        if let (None, Some(h)) = (service, &held) {
            service = self.view.services.iter().find(|s| Some(s.id) == h.service);
        }
        let provider = provider.or_else(|| {
            let h = held.as_ref()?;
            self.view.providers.iter().find(|p| p.id == h.provider)
        });
        let provider = match provider {
            Some(p) => p,
            None => match self.pick_provider(service, start).await {
                Some(p) => p,
                None => return ToolAnswer::error("There's no practitioner set up for that treatment. I can take a message for the clinic."),
            },
        };
        let req = BookRequest {
            org: self.caller.org,
            actor: self.caller.actor(),
            provider_id: provider.id,
            service_id: service.map(|s| s.id),
            start,
            duration_minutes: if service.is_none() {
                Some(fields.duration_minutes.unwrap_or(30))
            } else {
                fields.duration_minutes
            },
            patient: fields.patient(),
            notes,
            source: BookingSource::Vapi,
            vapi_call_id: self.call.call_id.clone(),
            vapi_tool_call_id: Some(self.tool_call_id.to_string()).filter(|s| !s.is_empty()),
            hold_key: self.call.call_id.clone(),
            retry_at_any_time: false,
        };
        match self.booking.book(req).await {
            Ok((a, _replayed)) => ToolAnswer::ok(format!(
                "You're booked with {} on {}.",
                provider.name,
                self.when(a.start)
            ))
            .with("appointment_id", json!(a.id))
            .with("status", json!(a.status))
            .with(
                "start",
                json!(a.start.with_timezone(&self.tz()).to_rfc3339()),
            ),
            Err(e) => self.refusal(e, start, None),
        }
    }

    /// With no practitioner named: the first who offers the service and is free then, else the
    /// first who offers it (the booking is then refused with alternatives).
    pub(super) async fn pick_provider(
        &self,
        service: Option<&ServiceRecord>,
        start: DateTime<Utc>,
    ) -> Option<&ProviderRecord> {
        let offering: Vec<&ProviderRecord> = self
            .view
            .providers
            .iter()
            .filter(|p| service.is_none_or(|s| p.service_ids.contains(&s.id)))
            .collect();
        let day = start.with_timezone(&self.tz()).date_naive();
        if let Ok(slots) = self
            .booking
            .availability_for(
                self.caller.org,
                service.map(|s| s.id),
                None,
                day,
                1,
                self.call.call_id.clone(),
            )
            .await
        {
            if let Some(free) = slots.iter().find(|s| s.start == start) {
                return offering.iter().copied().find(|p| p.id == free.provider_id);
            }
        }
        offering.first().copied()
    }

    pub(super) fn refusal(
        &self,
        e: BookingError,
        start: DateTime<Utc>,
        keeping: Option<&AppointmentRecord>,
    ) -> ToolAnswer {
        let kept = keeping
            .map(|a| {
                format!(
                    " Your appointment on {} stays as it is.",
                    self.when(a.start)
                )
            })
            .unwrap_or_default();
        let time = say_time(start.with_timezone(&self.tz()).time());
        match e {
            BookingError::Taken { alternatives } if alternatives.is_empty() => {
                ToolAnswer::error(format!(
                    "Sorry, {time} was just taken and I can't see another free time nearby.{kept}"
                ))
            }
            BookingError::Taken { alternatives } => {
                let day = start.with_timezone(&self.tz()).date_naive();
                ToolAnswer::error(format!(
                    "Sorry, {time} was just taken. I can offer {}.{kept}",
                    self.offer_words(&alternatives, Some(day))
                ))
                .with("alternatives", self.slots_json(&alternatives))
            }
            BookingError::Refused(r) => ToolAnswer::error(format!(
                "Sorry, I can't book {}: {}. Would another time suit?{kept}",
                self.when(start),
                r.reason()
            ))
            .with("reason", json!(r.code())),
            BookingError::NotFound => {
                ToolAnswer::error("I couldn't find that appointment or practitioner.")
            }
            BookingError::NotActive => {
                ToolAnswer::error("That appointment has already been cancelled or has taken place.")
            }
            BookingError::Invalid(fields) => {
                let what = fields
                    .first()
                    .map(|f| format!("the {} {}", f.field.replace('_', " "), f.message))
                    .unwrap_or_default();
                ToolAnswer::error(format!("I couldn't do that: {what}."))
            }
            _ => ToolAnswer::error(TRY_AGAIN),
        }
    }

    /// Free text the caller gave (notes, a cancel reason), filed like a transcript: contact
    /// details to the contact, clinical content sealed, and the text kept redacted.
    pub(super) async fn spoken_text(
        &self,
        text: Option<String>,
    ) -> Result<Option<String>, ToolAnswer> {
        let Some(text) = text else {
            return Ok(None);
        };
        self.calls
            .file_spoken_text(
                self.caller.org,
                self.call.call_id.as_deref(),
                self.call.customer_number.as_deref(),
                text,
                &self.view.settings.phone_region,
            )
            .await
            .map(Some)
            .map_err(|e| {
                tracing::error!(error = %e, "filing a tool's free text failed");
                ToolAnswer::error(TRY_AGAIN)
            })
    }
}

/// What the voice agent says when a field of the shared check fails: a question the caller can
/// answer, never the raw value.
pub(super) fn spoken_field_error(errors: &[FieldError]) -> ToolAnswer {
    let Some(first) = errors.first() else {
        return ToolAnswer::error(TRY_AGAIN);
    };
    let missing = first.message == intake::REQUIRED;
    ToolAnswer::error(match (first.field.as_str(), missing) {
        ("patient.name", true) => "I need the patient's full name to book. Could you tell me?",
        ("patient.name", false) => "I didn't catch the name. Could you say it again?",
        ("patient.phone", true) => {
            "I need a phone number to book. What's the best number to reach you?"
        }
        ("patient.phone", false) => {
            "That phone number doesn't sound right. Could you say it again, digit by digit?"
        }
        ("patient.email", _) => {
            "That email address doesn't sound right. Could you spell it for me?"
        }
        ("notes", _) => {
            "That note is too long for me to keep. Could you give me a shorter version?"
        }
        ("reason", _) => {
            "That's more than I can note down. Could you give me the reason in a sentence?"
        }
        ("patient.date_of_birth", _) => {
            "I didn't catch the date of birth. Could you say it again, with the day, the month and the year?"
        }
        ("duration_minutes", _) => {
            "Appointments can last between 5 minutes and 12 hours. How long should it be?"
        }
        _ => "I couldn't use one of those details. Could you say them again?",
    })
    .with("field", json!(first.field))
}

/// Answers a question from the clinic's own documents, with the passage ids for the record.
async fn search_knowledge_base(
    kb: &crate::search::KnowledgeBase,
    caller: Caller,
    args: &Map<String, Value>,
) -> ToolAnswer {
    let Some(query) = args
        .get("query")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|q| !q.is_empty())
    else {
        return ToolAnswer::error("I didn't catch the question. Could you ask it again?");
    };
    match kb.answer(caller.org, query).await {
        Ok(a) => ToolAnswer::ok(a.sentence)
            .with("passage_ids", json!(a.passages))
            .with("answered", json!(a.answered)),
        Err(_) => ToolAnswer::error(TRY_AGAIN),
    }
}
