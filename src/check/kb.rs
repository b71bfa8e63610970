//! The knowledge-base scenario: a question answered from the clinic's own document.

use super::*;

impl Checker {
    pub(super) async fn kb(&mut self, a: &Clinic) {
        let started = Instant::now();
        let (status, _) = self
            .send(reqwest::Method::POST, &format!("/api/orgs/{}/kb/documents", a.org), Some(&a.token),
                Some(json!({"title": "Check parking", "body": "Patients can park in the Marylebone check car park on level two, free for the first hour."})))
            .await
            .unwrap_or((0, Value::Null));
        let r = if status == 201 {
            Ok(())
        } else {
            Err(format!("HTTP {status}"))
        };
        self.record("kb", "a document is added", started, r);
        let started = Instant::now();
        let r = self
            .tool(
                &a.agent_key,
                "check-kb",
                "check-kb-1",
                "search_knowledge_base",
                json!({"query": "where can I park?"}),
            )
            .await
            .and_then(|v| {
                if v["answered"] == true
                    && v["result"]
                        .as_str()
                        .is_some_and(|s| s.contains("level two"))
                {
                    Ok(())
                } else {
                    Err(format!("not answered from the document: {}", v["result"]))
                }
            });
        self.record(
            "kb",
            "a question is answered from the clinic's own document",
            started,
            r,
        );
    }
}
