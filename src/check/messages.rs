//! Scenarios of what leaves the appliance after a call or a booking: the confirmation
//! email and its link (`email`), and the guide's text queued for a caller who did not book
//! (`followup`).

use super::*;

impl Checker {
    pub(super) async fn email(&mut self, a: &Clinic) {
        let started = Instant::now();
        let day = (chrono::Utc::now() + chrono::Duration::days(6))
            .format("%Y-%m-%d")
            .to_string();
        self.bookings_expected += 1;
        let booked = self
            .send(reqwest::Method::POST, &format!("/api/orgs/{}/appointments", a.org), Some(&a.token),
                Some(json!({"provider_id": a.provider, "service_id": a.service, "date": day, "time": "15:00",
                            "patient": {"name": "Check Patient", "phone": "07700 900123", "email": "patient@check.invalid"}})))
            .await;
        let token = match booked {
            Ok((201, v)) => {
                self.bookings_made += 1;
                Ok((
                    v["id"].as_str().unwrap_or_default().to_string(),
                    v["confirmation_token"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                ))
            }
            Ok((s, _)) => Err(format!("HTTP {s}")),
            Err(e) => Err(e),
        };
        let queued = match &token {
            Ok((id, _)) => self
                .get(&format!("/api/orgs/{}/outbox", a.org), &a.token)
                .await
                .and_then(|(_, v)| {
                    let found = v["jobs"].as_array().is_some_and(|jobs| {
                        jobs.iter().any(|j| {
                            j["kind"] == "confirmation_email" && j["appointment_id"] == id.as_str()
                        })
                    });
                    if found {
                        Ok(())
                    } else {
                        Err("no confirmation email queued".into())
                    }
                }),
            Err(e) => Err(e.clone()),
        };
        self.record(
            "email",
            "a booking with an email queues its confirmation",
            started,
            queued,
        );
        // With SMTP on, the job must leave the queue (delivered) without a failed attempt;
        // with SMTP off it stays queued by design, and there is nothing to wait for.
        if let Ok((id, _)) = &token {
            let started = Instant::now();
            let outcome = if self.smtp_on {
                self.email_delivered(a, id).await
            } else {
                Ok(())
            };
            let name = if self.smtp_on {
                "the confirmation email is sent"
            } else {
                "the confirmation email waits in the outbox (SMTP is off)"
            };
            self.record("email", name, started, outcome);
        }
        let started = Instant::now();
        let confirmed = match token {
            Ok((id, token)) => {
                let page = self
                    .http
                    .get(format!("{}/confirm/{token}", self.base))
                    .send()
                    .await;
                match page {
                    Ok(p) if p.status().as_u16() == 200 => self
                        .get(&format!("/api/orgs/{}/appointments/{id}", a.org), &a.token)
                        .await
                        .and_then(|(_, v)| {
                            if v["status"] == "confirmed" {
                                Ok(())
                            } else {
                                Err(format!("status {}", v["status"]))
                            }
                        }),
                    Ok(p) => Err(format!("HTTP {}", p.status().as_u16())),
                    Err(e) => Err(format!("no answer: {e}")),
                }
            }
            Err(e) => Err(e),
        };
        self.record(
            "email",
            "the confirmation link confirms",
            started,
            confirmed,
        );
    }

    pub(super) async fn followup(&mut self, a: &Clinic) {
        let started = Instant::now();
        let report = json!({"message": {
            "type": "end-of-call-report",
            "endedReason": "customer-ended-call",
            "call": {"id": "check-followup"},
            "customer": {"number": "+447700900123", "name": "Check Caller"},
            "artifact": {"transcript": "AI: How can I help?\nUser: I'd like to know about rhinoplasty, I have to go.\nAI: Of course."},
        }});
        let r = match self
            .send(
                reqwest::Method::POST,
                "/api/vapi",
                Some(&a.agent_key),
                Some(report),
            )
            .await
        {
            Ok((200, _)) => self
                .get(&format!("/api/orgs/{}/followups", a.org), &a.token)
                .await
                .and_then(|(_, v)| {
                    let f = v["followups"]
                        .as_array()
                        .and_then(|l| l.iter().find(|f| f["call_id"] == "check-followup").cloned());
                    match f {
                        Some(f)
                            if f["procedure"] == "Rhinoplasty"
                                && f["body"]
                                    .as_str()
                                    .is_some_and(|b| b.contains("rhinoplasty-guide.pdf")) =>
                        {
                            Ok(())
                        }
                        Some(f) => Err(format!(
                            "the follow-up is not the rhinoplasty guide ({})",
                            f["status"]
                        )),
                        None => Err("no follow-up for a call that did not book".into()),
                    }
                }),
            Ok((s, _)) => Err(format!("HTTP {s}")),
            Err(e) => Err(e),
        };
        self.record(
            "followup",
            "a call that did not book gets the guide's text queued",
            started,
            r,
        );
    }

    /// Waits (up to five seconds) until the appointment's confirmation email has left the
    /// outbox; a failed attempt ends the wait with the server's reason.
    async fn email_delivered(&mut self, a: &Clinic, id: &str) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let jobs = self
                .get(&format!("/api/orgs/{}/outbox", a.org), &a.token)
                .await
                .map(|(_, v)| v["jobs"].as_array().cloned().unwrap_or_default())?;
            let job = jobs
                .iter()
                .find(|j| j["kind"] == "confirmation_email" && j["appointment_id"] == id);
            match job {
                None => return Ok(()),
                Some(j) if j["attempts"].as_u64().unwrap_or(0) > 0 => {
                    return Err(format!(
                        "the confirmation email could not be sent ({})",
                        j["last_error"].as_str().unwrap_or("no reason")
                    ))
                }
                Some(_) if Instant::now() >= deadline => {
                    return Err("the confirmation email was not tried within 5 s".into())
                }
                Some(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }
}
