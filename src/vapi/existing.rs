//! The tools about a booking that already exists: verify_caller, find_appointment,
//! reschedule_appointment and cancel_appointment. A call hears about a booking, or changes
//! it, only once the caller has proved they are its patient (or when the call made it).

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::tools::{spoken_field_error, Ctx, TRY_AGAIN};
use super::verification::{self, CallCheck, Said};
use super::ToolAnswer;
use crate::audit::Outcome;
use crate::booking::intake;
use crate::booking::records::{AppointmentRecord, CallerProof};
use crate::booking::AppointmentFilter;
use crate::domain::{AppointmentId, FieldError};
use crate::speech::{join_words, resolve_birth_date};

/// What the agent must ask for, by the clinic's accepted proofs.
fn what_to_ask(accepted: CallerProof) -> &'static str {
    match accepted {
        CallerProof::BirthDateOrCode => {
            "your full name and date of birth, or I can text a code to the number on the booking"
        }
        CallerProof::BirthDateCodeOrAppointment => {
            "your full name and date of birth (or, if you didn't give us one, the day and time of the appointment), or I can text a code to the number on the booking"
        }
        CallerProof::BirthDate => "your full name and date of birth",
        CallerProof::BirthDateOrAppointment => {
            "your full name and date of birth (or, if you didn't give us a date of birth, the day and time of the appointment)"
        }
    }
}

impl Ctx<'_> {
    fn call_id(&self) -> Option<&str> {
        self.call.call_id.as_deref().filter(|c| !c.is_empty())
    }

    fn check(&self) -> CallCheck {
        match self.call_id() {
            Some(call) => self
                .checks
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(self.caller.org, call),
            None => CallCheck::default(),
        }
    }

    fn accepted(&self) -> CallerProof {
        self.view.settings.caller_verification
    }

    /// The refusal before a caller has proved who they are.
    fn ask_to_verify(&self) -> ToolAnswer {
        ToolAnswer::error(format!(
            "Before I can discuss or change a booking, I need to check it's you: could you tell me {}?",
            what_to_ask(self.accepted())
        ))
        .with("verification_needed", json!(true))
    }

    fn locked(&self) -> ToolAnswer {
        ToolAnswer::error(
            "I'm sorry, I can't check who's calling on this call any more. The clinic's reception can help with your booking.",
        )
        .with("verification_locked", json!(true))
    }

    /// The number the network presented for the call: the only number whose bookings a call
    /// can ask about (a number the caller says would let anyone ask about anyone's).
    fn calling_number(&self) -> Option<crate::domain::PhoneNumber> {
        self.call.customer_number.as_deref().and_then(|n| {
            crate::domain::PhoneNumber::parse(n, &self.view.settings.phone_region).ok()
        })
    }

    /// The caller's upcoming active bookings under the calling number.
    async fn upcoming(&self) -> Result<Vec<AppointmentRecord>, ToolAnswer> {
        let Some(phone) = self.calling_number() else {
            return Err(ToolAnswer::error(
                "I can't see the number you're calling from, so I can't look up a booking. The clinic's reception can help.",
            ));
        };
        let filter = AppointmentFilter {
            from: Some(self.booking.now()),
            phone: Some(phone.as_str().to_string()),
            ..Default::default()
        };
        match self.booking.appointments(self.caller.org, filter).await {
            Ok(l) => Ok(l.into_iter().filter(|a| a.status.is_active()).collect()),
            Err(_) => Err(ToolAnswer::error(TRY_AGAIN)),
        }
    }

    async fn audit_check(&self, action: &'static str, outcome: Outcome) {
        if let Some(call) = self.call_id() {
            if let Err(e) = self
                .booking
                .record_caller_check(self.caller, action, call, outcome)
                .await
            {
                tracing::error!(error = %e, action, "auditing a caller check failed");
            }
        }
    }

    pub(super) async fn verify_caller(&self) -> ToolAnswer {
        let Some(call) = self.call_id() else {
            return ToolAnswer::error(
                "I can't check who's calling on this line. The clinic's reception can help with your booking.",
            );
        };
        if self.check().locked() {
            return self.locked();
        }
        let bookings = match self.upcoming().await {
            Ok(b) => b,
            Err(a) => return a,
        };
        let number_locked = self.calling_number().is_some_and(|n| {
            self.checks
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .number_locked(self.caller.org, &n)
        });
        if number_locked {
            return self.locked();
        }
        if bookings.is_empty() {
            return ToolAnswer::ok(
                "I can't find an upcoming booking under the number you're calling from.",
            );
        }
        let date_of_birth = match self.text("date_of_birth") {
            Some(said) => match resolve_birth_date(&said, self.today()) {
                Ok(d) => Some(d),
                Err(_) => {
                    return spoken_field_error(&[FieldError::new(
                        "patient.date_of_birth",
                        "is not a date",
                    )])
                }
            },
            None => None,
        };
        let appointment_start: Option<DateTime<Utc>> =
            match (self.text("appointment_date"), self.text("appointment_time")) {
                (Some(_), Some(_)) => match self.start_arg() {
                    Ok(s) => Some(s),
                    Err(a) => return a,
                },
                _ => None,
            };
        if let Some(code) = self.text("code") {
            let proved = self
                .checks
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .code_read(self.caller.org, call, &code);
            return match proved {
                Some(phone) => {
                    self.verified(call, verification::Proved::Number(phone))
                        .await
                }
                None => self.failed(call).await,
            };
        }
        let said = Said {
            name: self.text("full_name"),
            date_of_birth,
            appointment_start,
        };
        let nothing_said =
            said.name.is_none() && said.date_of_birth.is_none() && said.appointment_start.is_none();
        if let (true, true, Some(texter)) =
            (nothing_said, self.accepted().accepts_code(), self.texter)
        {
            return self.text_code(texter, call, &bookings[0]).await;
        }
        if said.name.is_none() || (said.date_of_birth.is_none() && said.appointment_start.is_none())
        {
            return ToolAnswer::error(format!(
                "To check it's you, I need {}.",
                what_to_ask(self.accepted())
            ))
            .with("verification_needed", json!(true));
        }
        if let Some(proved) = verification::proves(&said, &bookings, self.accepted()) {
            return self.verified(call, proved).await;
        }
        self.failed(call).await
    }

    async fn verified(&self, call: &str, proved: verification::Proved) -> ToolAnswer {
        self.checks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .verified(self.caller.org, call, proved);
        self.audit_check("caller_verified", Outcome::Success).await;
        ToolAnswer::ok("Thank you, that's confirmed. How can I help with your booking?")
            .with("verified", json!(true))
    }

    /// Texts a one-time code to the booking's number, for the caller to read back.
    async fn text_code(
        &self,
        texter: &verification::CodeTexter,
        call: &str,
        booking: &AppointmentRecord,
    ) -> ToolAnswer {
        let to = booking.patient.phone.clone();
        let (this_call, this_number) = {
            let checks = self.checks.lock().unwrap_or_else(|p| p.into_inner());
            (
                checks.get(self.caller.org, call).codes_sent,
                checks.counted(self.caller.org, &to, "code"),
            )
        };
        if this_call >= verification::CODES_PER_CALL || this_number >= verification::NUMBER_CODES {
            return ToolAnswer::error(
                "I've already texted codes to that number. Could you tell me your full name and date of birth instead?",
            );
        }
        let code = verification::new_code();
        let clinic = if self.view.org.name.is_empty() {
            "the clinic".to_string()
        } else {
            self.view.org.name.clone()
        };
        let body = format!(
            "Your code for {clinic} is {code}. Read it to the receptionist on your call; it works only on that call."
        );
        let from = self
            .view
            .settings
            .sms_from
            .clone()
            .or_else(|| Some(texter.install_from.clone()).filter(|s| !s.is_empty()));
        match texter.twilio.send(to.as_str(), from.as_deref(), &body).await {
            Ok(_) => {
                self.checks
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .code_sent(self.caller.org, call, code, to);
                ToolAnswer::ok(
                    "I've texted a six-digit code to the number on the booking. Could you read it to me?",
                )
                .with("code_sent", json!(true))
            }
            Err(_) => ToolAnswer::error(
                "I couldn't text a code just now. Could you tell me your full name and date of birth instead?",
            ),
        }
    }

    /// Counts a failed try: the call is locked after the third.
    async fn failed(&self, call: &str) -> ToolAnswer {
        let Some(number) = self.calling_number() else {
            return ToolAnswer::error(TRY_AGAIN);
        };
        let after = self
            .checks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .failed(self.caller.org, call, &number);
        if after.locked() {
            self.audit_check("caller_verification_locked", Outcome::Denied)
                .await;
            return self.locked();
        }
        self.audit_check("caller_verification_failed", Outcome::Failure)
            .await;
        ToolAnswer::error(format!(
            "I'm sorry, that doesn't match what we have. Could you tell me {} again?",
            what_to_ask(self.accepted())
        ))
        .with("verification_needed", json!(true))
        .with(
            "tries_left",
            json!(verification::MAX_TRIES.saturating_sub(after.failures)),
        )
    }

    fn appointment_arg(&self) -> Result<AppointmentId, ToolAnswer> {
        self.text("appointment_id")
            .and_then(|id| id.parse().ok())
            .ok_or_else(|| ToolAnswer::error("I need to look the appointment up first: I can find it from your phone number."))
    }

    /// The appointment named by the arguments, when this call may act on it; otherwise the
    /// same refusal whether or not it exists.
    async fn appointment_for_caller(&self) -> Result<AppointmentRecord, ToolAnswer> {
        let id = self.appointment_arg()?;
        let check = self.check();
        if check.locked() {
            return Err(self.locked());
        }
        match self.booking.appointment(self.caller.org, id).await {
            Ok(a) if check.may_act_on(&a, self.call_id()) => Ok(a),
            Ok(_) | Err(crate::booking::BookingError::NotFound) => Err(self.ask_to_verify()),
            Err(_) => Err(ToolAnswer::error(TRY_AGAIN)),
        }
    }

    pub(super) async fn find(&self) -> ToolAnswer {
        let list = match self.upcoming().await {
            Ok(l) => l,
            Err(a) => return a,
        };
        if list.is_empty() {
            return ToolAnswer::ok(
                "I can't find any upcoming appointments under the number you're calling from.",
            )
            .with("appointments", json!([]));
        }
        let check = self.check();
        if check.locked() {
            return self.locked();
        }
        let mine: Vec<&AppointmentRecord> = list
            .iter()
            .filter(|a| check.may_act_on(a, self.call_id()))
            .collect();
        if mine.is_empty() {
            return ToolAnswer::ok(format!(
                "I can see a booking under this number. Before I can tell you about it, I need to check it's you: could you tell me {}?",
                what_to_ask(self.accepted())
            ))
            .with("verification_needed", json!(true));
        }
        let found: Vec<Value> = mine
            .iter()
            .map(|a| json!({"appointment_id": a.id, "provider_name": self.provider_name(a.provider_id), "start": a.start.with_timezone(&self.tz()).to_rfc3339(), "status": a.status}))
            .collect();
        let spoken: Vec<String> = mine
            .iter()
            .take(3)
            .map(|a| {
                format!(
                    "with {} on {}",
                    self.provider_name(a.provider_id),
                    self.when(a.start)
                )
            })
            .collect();
        let count = if mine.len() == 1 {
            "one upcoming appointment".to_string()
        } else {
            format!("{} upcoming appointments", mine.len())
        };
        ToolAnswer::ok(format!(
            "I can see {count}: {}.",
            join_words(&spoken, "and")
        ))
        .with("appointments", json!(found))
    }

    pub(super) async fn reschedule(&self) -> ToolAnswer {
        let current = match self.appointment_for_caller().await {
            Ok(a) => a,
            Err(a) => return a,
        };
        let start = match self.start_arg() {
            Ok(s) => s,
            Err(a) => return a,
        };
        let tool_call = Some(self.tool_call_id.to_string()).filter(|s| !s.is_empty());
        match self
            .booking
            .reschedule(
                self.caller,
                current.id,
                start,
                tool_call,
                self.call.call_id.clone(),
                None,
            )
            .await
        {
            Ok(a) => ToolAnswer::ok(format!(
                "Done. Your appointment with {} is now on {}.",
                self.provider_name(a.provider_id),
                self.when(a.start)
            ))
            .with("appointment_id", json!(a.id))
            .with(
                "start",
                json!(a.start.with_timezone(&self.tz()).to_rfc3339()),
            ),
            Err(e) => self.refusal(e, start, Some(&current)),
        }
    }

    pub(super) async fn cancel(&self) -> ToolAnswer {
        let current = match self.appointment_for_caller().await {
            Ok(a) => a,
            Err(a) => return a,
        };
        let reason =
            match intake::optional_text(self.text("reason").as_deref(), intake::REASON_MAX_CHARS) {
                Ok(r) => r,
                Err(m) => return spoken_field_error(&[FieldError::new("reason", m)]),
            };
        let reason = match self.spoken_text(reason).await {
            Ok(r) => r,
            Err(a) => return a,
        };
        match self
            .booking
            .cancel(self.caller, current.id, reason, None)
            .await
        {
            Ok(a) => ToolAnswer::ok(format!(
                "Your appointment with {} on {} is cancelled.",
                self.provider_name(a.provider_id),
                self.when(a.start)
            ))
            .with("appointment_id", json!(a.id))
            .with("status", json!(a.status)),
            Err(e) => self.refusal(e, self.booking.now(), None),
        }
    }
}
