//! A clinic's set-up as the booking service changes it: booking settings, services,
//! providers with their weekly hours, breaks and time off. Each change forgets the cached
//! view of the clinic.

use super::*;
use crate::store::OrgReads;
use crate::store::StoreWrite;

impl BookingService {
    /// The clinic's booking settings, from the cached set-up view.
    pub async fn settings(&self, org: OrgId) -> Result<ClinicSettings, BookingError> {
        Ok(self.clinic(org).await?.settings.clone())
    }

    pub async fn put_settings(
        &self,
        caller: Caller,
        s: ClinicSettings,
    ) -> Result<ClinicSettings, BookingError> {
        let mut v = crate::domain::Validation::new();
        v.check(
            "min_notice_minutes",
            if s.min_notice_minutes <= 60 * 24 * 30 {
                Ok(())
            } else {
                Err("is at most 43200".into())
            },
        );
        v.check(
            "horizon_days",
            if (1..=730).contains(&s.horizon_days) {
                Ok(())
            } else {
                Err("must be between 1 and 730".into())
            },
        );
        v.check(
            "slot_step_minutes",
            if (5..=240).contains(&s.slot_step_minutes) {
                Ok(())
            } else {
                Err("must be between 5 and 240".into())
            },
        );
        v.check(
            "phone_region",
            crate::domain::phone::region(&s.phone_region)
                .map(|_| ())
                .ok_or_else(|| "must be a country code such as GB or US".to_string()),
        );
        for (field, value) in [
            ("quiet_hours_start", &s.quiet_hours_start),
            ("quiet_hours_end", &s.quiet_hours_end),
        ] {
            v.check(
                field,
                chrono::NaiveTime::parse_from_str(value.trim(), "%H:%M")
                    .map(|_| ())
                    .map_err(|_| "must be HH:MM".to_string()),
            );
        }
        v.check(
            "followup_window_days",
            if s.followup_window_days <= 365 {
                Ok(())
            } else {
                Err("is at most 365".into())
            },
        );
        v.check(
            "reminder_hours_before",
            if s.reminder_hours_before <= 24 * 14 {
                Ok(())
            } else {
                Err("is at most 336".into())
            },
        );
        v.check(
            "hold_minutes",
            if (1..=holds::MAX_HOLD_MINUTES).contains(&s.hold_minutes) {
                Ok(())
            } else {
                Err(format!("must be between 1 and {}", holds::MAX_HOLD_MINUTES))
            },
        );
        v.check(
            "offer_minutes",
            if (5..=holds::MAX_OFFER_MINUTES).contains(&s.offer_minutes) {
                Ok(())
            } else {
                Err(format!(
                    "must be between 5 and {}",
                    holds::MAX_OFFER_MINUTES
                ))
            },
        );
        for (field, value) in [
            ("booking_link", &s.booking_link),
            ("public_url", &s.public_url),
        ] {
            v.check(
                field,
                match value {
                    Some(u)
                        if !(u.starts_with("https://") || u.starts_with("http://"))
                            || u.chars().count() > 500 =>
                    {
                        Err("must be an http(s) URL".to_string())
                    }
                    _ => Ok(()),
                },
            );
        }
        v.check(
            "sms_help_text",
            match &s.sms_help_text {
                Some(t) if !crate::domain::has_text(t) || t.chars().count() > 320 => {
                    Err("must be 1 to 320 characters".to_string())
                }
                _ => Ok(()),
            },
        );
        // A sender is a phone number (kept in E.164, as Twilio names it in inbound webhooks)
        // or an alphanumeric sender id (1–11 letters, digits and spaces, at least one letter).
        let sms_from = v.check(
            "sms_from",
            match s.sms_from.as_deref().map(str::trim) {
                None => Ok(None),
                Some(t) if t.starts_with('+') || t.starts_with(|c: char| c.is_ascii_digit()) => {
                    crate::domain::PhoneNumber::parse(t, &s.phone_region)
                        .map(|p| Some(p.as_str().to_string()))
                }
                Some(t)
                    if (1..=11).contains(&t.len())
                        && t.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ')
                        && t.chars().any(|c| c.is_ascii_alphabetic()) =>
                {
                    Ok(Some(t.to_string()))
                }
                Some(_) => Err(
                    "must be a phone number or an alphanumeric sender id of up to 11 characters"
                        .to_string(),
                ),
            },
        );
        v.finish().map_err(BookingError::Invalid)?;
        let mut s = s;
        s.sms_from = sms_from.flatten();
        self.write_setup(caller, move |w| {
            w.org(caller.org).put(&CLINIC_SETTINGS, b"settings", &s)?;
            Ok((s, "settings_changed", format!("org:{}", caller.org)))
        })
        .await
    }

    pub async fn create_service(
        &self,
        caller: Caller,
        input: NewService,
    ) -> Result<ServiceRecord, BookingError> {
        let mut v = crate::domain::Validation::new();
        let name = v.check("name", crate::domain::FullName::parse(&input.name));
        v.check(
            "duration_minutes",
            if (5..=720).contains(&input.duration_minutes) {
                Ok(())
            } else {
                Err("must be between 5 and 720".into())
            },
        );
        v.check(
            "buffer_before_minutes",
            if input.buffer_before_minutes <= 240 {
                Ok(())
            } else {
                Err("is at most 240".into())
            },
        );
        v.check(
            "buffer_after_minutes",
            if input.buffer_after_minutes <= 240 {
                Ok(())
            } else {
                Err("is at most 240".into())
            },
        );
        let procedure = v.check_opt(
            "procedure",
            input
                .procedure
                .as_deref()
                .map(crate::domain::FullName::parse),
        );
        v.finish().map_err(BookingError::Invalid)?;
        let record = ServiceRecord {
            id: ServiceId::new_random(),
            name: name.map(|n| n.as_str().to_string()).unwrap_or_default(),
            duration_minutes: input.duration_minutes,
            buffer_before_minutes: input.buffer_before_minutes,
            buffer_after_minutes: input.buffer_after_minutes,
            procedure: procedure.map(|p| p.as_str().to_string()),
            created_at: stamp(self.now()),
        };
        self.write_setup(caller, move |w| {
            w.org(caller.org)
                .put(&SERVICES, &record.id.as_bytes(), &record)?;
            let target = format!("service:{}", record.id);
            Ok((record, "service_created", target))
        })
        .await
    }

    pub async fn create_provider(
        &self,
        caller: Caller,
        input: NewProvider,
    ) -> Result<ProviderRecord, BookingError> {
        let mut v = crate::domain::Validation::new();
        let name = v.check("name", crate::domain::FullName::parse(&input.name));
        v.finish().map_err(BookingError::Invalid)?;
        let record = ProviderRecord {
            id: ProviderId::new_random(),
            name: name.map(|n| n.as_str().to_string()).unwrap_or_default(),
            service_ids: input.service_ids,
            weekly_hours: input.weekly_hours,
            breaks: input.breaks,
            time_off: Vec::new(),
            feed_token: crate::domain::random_secret(24),
            created_at: stamp(self.now()),
        };
        self.write_setup(caller, move |w| {
            let org = w.org(caller.org);
            for s in &record.service_ids {
                if org.get(&SERVICES, &s.as_bytes())?.is_none() {
                    return Err(BookingError::Invalid(vec![FieldError::new(
                        "service_ids",
                        "names a service this clinic does not have",
                    )]));
                }
            }
            w.global_put(
                &FEED_TOKENS,
                record.feed_token.as_bytes(),
                &(caller.org, record.id),
            )?;
            w.org(caller.org)
                .put(&PROVIDERS, &record.id.as_bytes(), &record)?;
            let target = format!("provider:{}", record.id);
            Ok((record, "provider_created", target))
        })
        .await
    }

    /// Replaces a provider's weekly hours and breaks (appointments already booked stay; new
    /// ones follow the new hours).
    pub async fn set_hours(
        &self,
        caller: Caller,
        provider: ProviderId,
        weekly_hours: WeeklyHours,
        breaks: WeeklyHours,
    ) -> Result<ProviderRecord, BookingError> {
        self.change_provider(caller, provider, "provider_hours_changed", move |p| {
            p.weekly_hours = weekly_hours;
            p.breaks = breaks;
        })
        .await
    }

    /// Adds time off. Goes through the claim writer's transaction order like any write, so a
    /// claim committed after it sees it.
    pub async fn add_time_off(
        &self,
        caller: Caller,
        provider: ProviderId,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        reason: Option<String>,
    ) -> Result<ProviderRecord, BookingError> {
        if end <= start {
            return Err(BookingError::Invalid(vec![FieldError::new(
                "end",
                "must be after start",
            )]));
        }
        self.change_provider(caller, provider, "time_off_added", move |p| {
            p.time_off.push(TimeOffRecord { start, end, reason })
        })
        .await
    }

    /// One change to a provider's record, audited as `action`, in one write; the clinic's
    /// cached set-up is dropped after it.
    pub(super) async fn change_provider(
        &self,
        caller: Caller,
        provider: ProviderId,
        action: &'static str,
        change: impl FnOnce(&mut ProviderRecord) + Send + 'static,
    ) -> Result<ProviderRecord, BookingError> {
        self.write_setup(caller, move |w| {
            let mut org = w.org(caller.org);
            let mut p = org.require(&PROVIDERS, &provider.as_bytes(), BookingError::NotFound)?;
            change(&mut p);
            org.put(&PROVIDERS, &provider.as_bytes(), &p)?;
            Ok((p, action, format!("provider:{provider}")))
        })
        .await
    }

    /// One set-up write: `change` writes its records and names the audit action and target;
    /// the audit entry goes in the same transaction, and the clinic's cached set-up is
    /// forgotten once it has committed.
    async fn write_setup<T: Send + 'static>(
        &self,
        caller: Caller,
        change: impl FnOnce(&mut StoreWrite) -> Result<(T, &'static str, String), BookingError>
            + Send
            + 'static,
    ) -> Result<T, BookingError> {
        self.store
            .write(move |w| {
                let (out, action, target) = change(w)?;
                audit::success(
                    &mut w.org(caller.org),
                    caller.actor(),
                    action,
                    target,
                    Utc::now(),
                )?;
                Ok(out)
            })
            .await
            .inspect(|_| self.views.forget(caller.org))
    }
}
