//! The join_waitlist tool: a caller who found no time that suits asks to be told when an
//! earlier one comes free; checked exactly as the REST route checks it.

use serde_json::json;

use super::tools::{spoken_field_error, Ctx, TRY_AGAIN};
use super::ToolAnswer;
use crate::booking::records::BookingSource;
use crate::speech::{resolve_date, say_date};
use crate::waitlist::records::{check_entry, EntryFields};

impl Ctx<'_> {
    fn date_said(&self, key: &str) -> Result<Option<chrono::NaiveDate>, ToolAnswer> {
        let Some(raw) = self.text(key) else {
            return Ok(None);
        };
        resolve_date(&raw, self.today()).map(Some).map_err(|_| {
            ToolAnswer::error(
                "I didn't catch that date. Could you say it again, for example the 17th of January?",
            )
            .with("field", json!(key))
        })
    }

    pub(super) async fn join_waitlist(&self) -> ToolAnswer {
        let (service, provider) = match (self.service_arg(), self.provider_arg()) {
            (Ok(s), Ok(p)) => (s, p),
            (Err(a), _) | (_, Err(a)) => return a,
        };
        let (earliest, latest) = match (
            self.date_said("earliest_date"),
            self.date_said("latest_date"),
        ) {
            (Ok(e), Ok(l)) => (e, l),
            (Err(a), _) | (_, Err(a)) => return a,
        };
        let (name, phone, part) = (
            self.text("patient_name"),
            self.text("patient_phone"),
            self.text("time_of_day"),
        );
        let checked = check_entry(
            &EntryFields {
                name: name.as_deref(),
                phone: phone.as_deref(),
                caller_number: self.call.customer_number.as_deref(),
                service_id: service.map(|s| s.id),
                provider_id: provider.map(|p| p.id),
                earliest_date: earliest,
                latest_date: latest,
                time_of_day: part.as_deref(),
            },
            self.view,
            self.today(),
        );
        let new = match checked {
            Ok(n) => n,
            Err(errors) => {
                let first = errors.first().map(|e| e.field.as_str()).unwrap_or("");
                return match first {
                    "latest_date" => ToolAnswer::error(
                        "Until what date could you come in? It needs to be within the dates we book, for example by the end of next month.",
                    )
                    .with("field", json!("latest_date")),
                    "earliest_date" => ToolAnswer::error(
                        "The first date you could come needs to be before the last one. From when could you come in?",
                    )
                    .with("field", json!("earliest_date")),
                    "time_of_day" => ToolAnswer::error(
                        "Would mornings, afternoons, evenings or any time suit you?",
                    )
                    .with("field", json!("time_of_day")),
                    "provider_id" => ToolAnswer::error(
                        "That practitioner doesn't offer that treatment. Shall I put you down for anyone who does?",
                    )
                    .with("field", json!("provider_id")),
                    _ => spoken_field_error(&errors),
                };
            }
        };
        let (from, until) = (new.earliest_date, new.latest_date);
        let what = match (service, provider) {
            (Some(s), Some(p)) => format!("{} with {}", s.name, p.name),
            (Some(s), None) => s.name.clone(),
            (None, Some(p)) => format!("an appointment with {}", p.name),
            (None, None) => "an appointment".to_string(),
        };
        match self
            .waitlist
            .join(self.caller.org, new, BookingSource::Vapi, self.caller.actor())
            .await
        {
            Ok(entry) => ToolAnswer::ok(format!(
                "I've put you on the waiting list for {what} between {} and {}. If a time comes free we'll text you, and you can reply YES to take it.",
                say_date(from),
                say_date(until)
            ))
            .with("waitlist_entry_id", json!(entry.id)),
            Err(_) => ToolAnswer::error(TRY_AGAIN),
        }
    }
}
