//! Calls as filed (redacted summary and transcript, entity counts) and the clinical notes
//! of a call (admin and clinicians; each read audited by the API).

use super::*;
use crate::calls::EntityCount;
use crate::http::calls::{CallList, CallView, NoteList, NoteView};

pub(super) async fn calls(s: Signed) -> Response {
    let answer = s
        .get(&format!("/api/orgs/{}/calls?limit=100", s.org()))
        .await;
    if !answer.ok() {
        return s.problem(&answer, "Calls");
    }
    let list = answer
        .read::<CallList>()
        .map(|l| l.calls)
        .unwrap_or_default();
    s.page(
        StatusCode::OK,
        "Calls",
        html! {
            @if list.is_empty() { p { "No calls have been filed yet." } }
            @else {
                table {
                    thead { tr { th scope="col" { "Ended" } th scope="col" { "Summary (personal data removed)" } th scope="col" { "Personal data found" } th scope="col" { "Booked" } } }
                    tbody {
                        @for call in &list {
                            tr {
                                td { a href={"/console/calls/" (query_encode(&call.call_id))} { (super::views::when(call.ended_at.as_deref().unwrap_or(&call.recorded_at), s.timezone)) } }
                                td { (call.summary_redacted.as_deref().unwrap_or("—")) }
                                td { (entity_counts(&call.entities)) }
                                td { @if call.booked { "Yes" } @else { "No" } }
                            }
                        }
                    }
                }
            }
        },
    )
}

pub(super) fn entity_counts(counts: &[EntityCount]) -> String {
    let parts: Vec<String> = counts
        .iter()
        .map(|e| {
            // The kind as the API names it (`date_of_birth`), in words.
            let kind = serde_json::to_value(e.kind).unwrap_or_default();
            format!(
                "{} {}",
                e.count,
                kind.as_str().unwrap_or("").replace('_', " ")
            )
        })
        .collect();
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join(", ")
    }
}

pub(super) async fn call(Path(call_id): Path<String>, s: Signed) -> Response {
    let org = s.org();
    let answer = s
        .get(&format!("/api/orgs/{org}/calls/{}", query_encode(&call_id)))
        .await;
    let Some(call) = answer.read::<CallView>() else {
        return s.problem(&answer, "Call");
    };
    let notes = if s.role() == Role::Staff {
        None
    } else {
        let n = s
            .get(&format!(
                "/api/orgs/{org}/clinical-notes?call_id={}",
                query_encode(&call_id)
            ))
            .await;
        Some(
            n.read::<NoteList>()
                .map(|l| l.clinical_notes)
                .unwrap_or_default(),
        )
    };
    s.page(
        StatusCode::OK,
        "Call",
        html! {
            dl {
                dt { "Ended" } dd { (super::views::when(call.ended_at.as_deref().unwrap_or(""), s.timezone)) }
                dt { "Why it ended" } dd { (call.ended_reason.as_deref().unwrap_or("—")) }
                dt { "Booked during the call" } dd { @if call.booked { "Yes" } @else { "No" } }
                dt { "Personal data found" } dd { (entity_counts(&call.entities)) }
            }
            h2 { "Summary" }
            p { (call.summary_redacted.as_deref().unwrap_or("—")) }
            h2 { "Transcript (personal data removed)" }
            pre.transcript { (call.transcript_redacted) }
            h2 { "Clinical notes" }
            @match notes {
                None => p { "Clinical notes are for clinicians and the clinic's admin." },
                Some(list) if list.is_empty() => p { "This call left no clinical note." },
                Some(list) => ul {
                    @for n in &list {
                        li { a href={"/console/notes/" (n.id)} { "Open the note of " (super::views::when(&n.created_at, s.timezone)) } " (opening it is recorded in the audit log)" }
                    }
                },
            }
        },
    )
}

pub(super) async fn note(Path(id): Path<String>, s: Signed) -> Response {
    let answer = s
        .get(&format!(
            "/api/orgs/{}/clinical-notes/{}",
            s.org(),
            query_encode(&id)
        ))
        .await;
    let Some(n) = answer.read::<NoteView>() else {
        return s.problem(&answer, "Clinical note");
    };
    s.page(
        StatusCode::OK,
        "Clinical note",
        html! {
            p.hint { "Your reading of this note has been recorded in the audit log. This page is not kept by the browser." }
            p { "From call " a href={"/console/calls/" (query_encode(&n.call_id))} { (n.call_id) } ", " (super::views::when(&n.created_at, s.timezone)) "." }
            pre.note { (n.text) }
        },
    )
}
