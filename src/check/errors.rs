//! The error-handling scenario: bad JSON, an unknown provider, no credential, a date out of
//! range and an unknown tool each get a clear 4xx.

use super::*;

impl Checker {
    pub(super) async fn error_handling(&mut self, a: &Clinic) {
        let soon = (chrono::Utc::now() + chrono::Duration::days(5))
            .format("%Y-%m-%d")
            .to_string();
        let cases: Vec<(&str, reqwest::RequestBuilder, u16)> = vec![
            ("malformed JSON is 400", self.http.post(format!("{}/api/orgs/{}/appointments", self.base, a.org)).bearer_auth(&a.token).header("content-type", "application/json").body("{\"provider_id\":"), 400),
            ("an unknown provider is 404", self.http.post(format!("{}/api/orgs/{}/appointments", self.base, a.org)).bearer_auth(&a.token)
                .json(&json!({"provider_id": uuid::Uuid::new_v4(), "service_id": a.service, "date": soon, "time": "10:00", "patient": {"name": "X", "phone": "07700 900123"}})), 404),
            ("no credential is 401", self.http.get(format!("{}/api/orgs/{}/appointments", self.base, a.org)), 401),
            ("an out-of-range date is 422", self.http.post(format!("{}/api/orgs/{}/appointments", self.base, a.org)).bearer_auth(&a.token)
                .json(&json!({"provider_id": a.provider, "service_id": a.service, "date": "9999-12-31", "time": "10:00", "patient": {"name": "X", "phone": "07700 900123"}})), 422),
        ];
        for (name, request, expected) in cases {
            let started = Instant::now();
            let r = match request.send().await {
                Ok(r) => {
                    let status = r.status().as_u16();
                    if status >= 500 {
                        self.server_errors += 1;
                    }
                    let shaped = r
                        .json::<Value>()
                        .await
                        .is_ok_and(|b| b["error"].is_string() && b["message"].is_string());
                    if status == expected && shaped {
                        Ok(())
                    } else {
                        Err(format!("HTTP {status}"))
                    }
                }
                Err(e) => Err(format!("no answer: {e}")),
            };
            self.record("error-handling", name, started, r);
        }
        let started = Instant::now();
        let r = self
            .tool(
                &a.agent_key,
                "check-errors",
                "check-errors-1",
                "teleport_patient",
                json!({}),
            )
            .await
            .and_then(|v| {
                if v.get("error").is_some() {
                    Ok(())
                } else {
                    Err("an unknown tool was not refused".into())
                }
            });
        self.record(
            "error-handling",
            "an unknown tool gets a spoken refusal",
            started,
            r,
        );
    }
}
