//! The isolation scenario: every `/api/orgs/{org}/…` operation of the API document
//! refused across clinics.

use super::*;

impl Checker {
    pub(super) async fn isolation(&mut self, a: &Clinic, b: &Clinic) {
        let started = Instant::now();
        let (_, doc) = match self
            .send(reqwest::Method::GET, "/api/openapi.json", None, None)
            .await
        {
            Ok(d) => d,
            Err(e) => {
                self.record("isolation", "the API document is served", started, Err(e));
                return;
            }
        };
        let mut refused = 0;
        let mut attempted = 0;
        let mut leaks = Vec::new();
        let paths: Vec<(String, Vec<String>)> = doc["paths"]
            .as_object()
            .map(|p| {
                p.iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            v.as_object()
                                .map(|m| m.keys().cloned().collect())
                                .unwrap_or_default(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        for (template, methods) in paths {
            if !template.starts_with("/api/orgs/{org}") {
                continue;
            }
            let path: String = template
                .split('/')
                .skip(1)
                .map(|s| {
                    if s == "{org}" {
                        b.org.clone()
                    } else if s.starts_with('{') {
                        uuid::Uuid::new_v4().to_string()
                    } else {
                        s.to_string()
                    }
                })
                .fold(String::new(), |acc, s| format!("{acc}/{s}"));
            for m in methods {
                let Ok(method) = reqwest::Method::from_bytes(m.to_uppercase().as_bytes()) else {
                    continue;
                };
                let body = matches!(m.as_str(), "post" | "put" | "patch").then(|| json!({}));
                attempted += 1;
                if let Ok((status, answer)) = self.send(method, &path, Some(&a.token), body).await {
                    if status == 403 {
                        refused += 1;
                    } else {
                        leaks.push(format!("{} {template}: HTTP {status}", m.to_uppercase()));
                    }
                    if answer.to_string().contains(&b.provider) {
                        leaks.push(format!("{template} named the other clinic's record"));
                    }
                }
            }
        }
        let r = if leaks.is_empty() && attempted > 0 {
            Ok(())
        } else {
            Err(leaks.join("; "))
        };
        self.record(
            "isolation",
            &format!("{refused}/{attempted} cross-clinic requests refused"),
            started,
            r,
        );
        let started = Instant::now();
        let r = self
            .tool(&b.agent_key, "check-isolation", "check-isolation-1", "book_appointment",
                json!({"appointment_date": "in 5 days", "appointment_time": "11am", "service": "rhinoplasty",
                       "provider_name": a.provider_name, "patient_name": "Other Clinic", "clinic_id": a.org}))
            .await
            .and_then(|v| if v["appointment_id"].is_string() { Err("booked into another clinic".into()) } else { Ok(()) });
        self.record(
            "isolation",
            "an agent key cannot book into another clinic",
            started,
            r,
        );
    }
}
