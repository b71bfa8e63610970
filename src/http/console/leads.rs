//! Leads: callers who did not book, with filters, the state of their follow-up texts, and
//! their status changed by staff.

use super::*;
use crate::followup::records::FollowUpRecord;
use crate::http::followups::{FollowUpList, LeadList};

/// A text's status as the API writes it (`queued`, `sent`, …).
fn followup_status(f: &FollowUpRecord) -> String {
    serde_json::to_value(f.status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

pub(super) const LEAD_STATUSES: [&str; 4] = ["new", "contacted", "booked", "lost"];

pub(super) async fn leads(Query(q): Params, s: Signed) -> Response {
    let org = s.org();
    let status = q.get("status").cloned().unwrap_or_default();
    let procedure = q.get("procedure").cloned().unwrap_or_default();
    let mut path = format!("/api/orgs/{org}/leads?");
    if !status.is_empty() {
        path.push_str(&format!("status={}&", query_encode(&status)));
    }
    if !procedure.is_empty() {
        path.push_str(&format!("procedure={}&", query_encode(&procedure)));
    }
    let answer = s.get(&path).await;
    if !answer.ok() {
        return s.problem(&answer, "Leads");
    }
    let leads = answer
        .read::<LeadList>()
        .map(|l| l.leads)
        .unwrap_or_default();
    let followups = s
        .get(&format!("/api/orgs/{org}/followups"))
        .await
        .read::<FollowUpList>()
        .map(|l| l.followups)
        .unwrap_or_default();
    let statuses: Vec<(String, String)> = LEAD_STATUSES
        .iter()
        .map(|x| (x.to_string(), x.to_string()))
        .collect();
    let csrf = s.session.csrf.clone();
    s.page(
        StatusCode::OK,
        "Leads to ring back",
        html! {
            form.card.filters method="get" action="/console/leads" {
                (select("Status", "status", &statuses, &status, false))
                (field("Procedure", "procedure", "text", &procedure, false))
                button type="submit" { "Filter" }
            }
            @if leads.is_empty() { p { "No leads match. Leads appear when a caller hangs up without booking." } }
            @else {
                table {
                    thead { tr { th scope="col" { "When" } th scope="col" { "Caller" } th scope="col" { "Procedure" } th scope="col" { "Text message" } th scope="col" { "Status" } } }
                    tbody {
                        @for l in &leads {
                            @let fu = followups.iter().find(|f| f.lead_id == Some(l.id));
                            tr {
                                td { (super::views::when(&l.created_at.to_rfc3339(), s.timezone)) }
                                td { (l.name.as_deref().unwrap_or("—")) br; small { (l.phone.as_deref().unwrap_or("")) } }
                                td { (l.procedure.as_deref().unwrap_or("—")) }
                                td { @match fu { Some(f) => { (status_badge(&followup_status(f))) @if let Some(r) = &f.reason { br; small { (r) } } }, None => "—" } }
                                td {
                                    form.inline method="post" action={"/console/leads/" (l.id)} {
                                        (csrf_field(&csrf))
                                        label { span.visually-hidden { "Status" }
                                            select name="status" {
                                                @for st in LEAD_STATUSES { option value=(st) selected[l.status.as_str() == st] { (st) } }
                                            }
                                        }
                                        button type="submit" { "Save" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

pub(super) async fn lead_status(Path(id): Path<String>, Posted { s, form }: Posted) -> Response {
    let status = form.get("status").cloned().unwrap_or_default();
    let answer = s
        .call(
            Method::PATCH,
            &format!("/api/orgs/{}/leads/{}", s.org(), query_encode(&id)),
            Some(json!({ "status": status })),
        )
        .await;
    if !answer.ok() {
        return s.problem(&answer, "The lead was not changed");
    }
    s.after(
        "/console/leads",
        Notice::Done(format!("Lead marked {status}.")),
    )
}
