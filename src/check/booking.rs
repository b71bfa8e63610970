//! Booking scenarios: a natural-language booking by tool call (`basic`), and five callers
//! for one slot (`concurrent`): one booking, four offers, the slot held once.

use super::*;

impl Checker {
    pub(super) async fn basic(&mut self, a: &Clinic) {
        let started = Instant::now();
        let r = self
            .tool(
                &a.agent_key,
                "check-basic",
                "check-basic-1",
                "check_availability",
                json!({"appointment_date": "in 3 days", "service": "rhinoplasty"}),
            )
            .await
            .and_then(|r| {
                if r["result"].as_str().is_some_and(|s| s.contains("I have")) {
                    Ok(())
                } else {
                    Err(format!("no slots offered: {}", r["result"]))
                }
            });
        self.record(
            "basic",
            "the agent offers slots for \"in 3 days\"",
            started,
            r,
        );
        let started = Instant::now();
        self.bookings_expected += 1;
        let r = self
            .tool(&a.agent_key, "check-basic", "check-basic-2", "book_appointment",
                json!({"appointment_date": "in 3 days", "appointment_time": "2pm", "service": "rhinoplasty",
                       "provider_name": a.provider_name, "patient_name": "Check Patient"}))
            .await;
        let booked = match &r {
            Ok(v) if v["appointment_id"].is_string() => {
                self.bookings_made += 1;
                Ok(v["appointment_id"].as_str().unwrap_or_default().to_string())
            }
            Ok(v) => Err(format!("not booked: {}", v["result"])),
            Err(e) => Err(e.clone()),
        };
        self.record(
            "basic",
            "a booking in natural language (\"2pm in 3 days\")",
            started,
            booked.clone().map(|_| ()),
        );
        if let Ok(id) = booked {
            let started = Instant::now();
            let r = self
                .get(&format!("/api/orgs/{}/appointments/{id}", a.org), &a.token)
                .await
                .and_then(|(s, v)| {
                    if s == 200 && v["source"] == "vapi" {
                        Ok(())
                    } else {
                        Err(format!("HTTP {s}"))
                    }
                });
            self.record("basic", "staff see the booking", started, r);
        }
    }

    pub(super) async fn concurrent(&mut self, a: &Clinic) {
        let started = Instant::now();
        let mut calls = Vec::new();
        for i in 0..5 {
            let body = json!({"message": {
                "type": "tool-calls",
                "call": {"id": format!("check-race-{i}"), "customer": {"number": format!("+44770090012{i}")}},
                "toolCallList": [{"id": format!("check-race-tool-{i}"), "type": "function", "function": {"name": "book_appointment",
                    "arguments": {"appointment_date": "in 4 days", "appointment_time": "10am", "service": "rhinoplasty",
                                  "provider_name": a.provider_name, "patient_name": format!("Racer {i}")}}}],
            }});
            let (http, url, key) = (
                self.http.clone(),
                format!("{}/api/vapi/tools", self.base),
                a.agent_key.clone(),
            );
            calls.push(tokio::spawn(async move {
                let t = Instant::now();
                let r = http.post(url).bearer_auth(key).json(&body).send().await;
                let ms = t.elapsed().as_secs_f64() * 1000.0;
                match r {
                    Ok(r) => (
                        r.status().as_u16(),
                        r.json::<Value>().await.unwrap_or(Value::Null),
                        ms,
                    ),
                    Err(_) => (0, Value::Null, ms),
                }
            }));
        }
        let mut booked = 0;
        let mut offered = 0;
        for c in calls {
            let Ok((status, answer, ms)) = c.await else {
                continue;
            };
            self.latencies.push(ms);
            if status >= 500 {
                self.server_errors += 1;
            }
            let result = &answer["results"][0];
            if result["appointment_id"].is_string() {
                booked += 1;
            } else if result["error"]
                .as_str()
                .or(result["result"].as_str())
                .is_some_and(|s| s.contains("was just taken. I can offer"))
            {
                offered += 1;
            }
        }
        self.bookings_expected += 1;
        self.bookings_made += booked.min(1);
        let r = if booked == 1 && offered == 4 {
            Ok(())
        } else {
            Err(format!(
                "{booked} booked and {offered} offered other times (expected 1 and 4)"
            ))
        };
        self.record(
            "concurrent",
            "5 callers for one slot: one booking, four offers",
            started,
            r,
        );
        let started = Instant::now();
        let r = self
            .get(
                &format!(
                    "/api/orgs/{}/appointments?provider_id={}",
                    a.org, a.provider
                ),
                &a.token,
            )
            .await
            .and_then(|(s, v)| {
                let at_ten = v["appointments"]
                    .as_array()
                    .map(|l| {
                        l.iter()
                            .filter(|x| {
                                x["start"].as_str().is_some_and(|t| t.contains("T10:00:00"))
                            })
                            .count()
                    })
                    .unwrap_or(0);
                if s == 200 && at_ten == 1 {
                    Ok(())
                } else {
                    Err(format!("{at_ten} appointments hold the slot"))
                }
            });
        self.record("concurrent", "atomicity: the slot is held once", started, r);
    }
}
