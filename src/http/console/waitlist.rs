//! The waiting list: who is waiting for an earlier time and what they were offered, a form
//! to add someone, and a button to take them off.

use super::*;
use crate::http::waitlist::WaitlistList;

pub(super) async fn waitlist(s: Signed) -> Response {
    let org = s.org();
    let answer = s.get(&format!("/api/orgs/{org}/waitlist")).await;
    if !answer.ok() {
        return s.problem(&answer, "Waiting list");
    }
    let entries = answer
        .read::<WaitlistList>()
        .map(|l| l.entries)
        .unwrap_or_default();
    let dir = Directory::load(&s).await;
    let services = dir.service_options();
    let parts: Vec<(String, String)> = ["morning", "afternoon", "evening"]
        .iter()
        .map(|p| (p.to_string(), p.to_string()))
        .collect();
    let csrf = s.session.csrf.clone();
    let today = today_in(s.timezone);
    s.page(
        StatusCode::OK,
        "Waiting list",
        html! {
            p { "When a cancellation, a move or a no-show frees a time that fits, the first patients waiting for it (in the order they joined) are texted, the time is held for them, and the first to reply YES is booked." }
            @if entries.is_empty() { p.empty { "Nobody is waiting." } }
            @else {
                table {
                    thead { tr { th scope="col" { "Joined" } th scope="col" { "Patient" } th scope="col" { "For" } th scope="col" { "Dates" } th scope="col" { "Status" } th scope="col" { "Actions" } } }
                    tbody {
                        @for e in &entries {
                            @let status = serde_json::to_value(e.status).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
                            tr data-entry=(e.id) {
                                td { (super::views::when(&e.created_at, s.timezone)) }
                                td { (e.patient.name) br; small { (e.patient.phone.as_str()) } }
                                td {
                                    (dir.service_name(e.service_id).replace('—', "Any service"))
                                    br; small { @match e.provider_id { Some(p) => (dir.provider_name(p)), None => "any practitioner" } }
                                }
                                td { (e.earliest_date.format("%-d %b")) " – " (e.latest_date.format("%-d %b %Y")) br; small { (serde_json::to_value(e.time_of_day).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()) } }
                                td {
                                    (status_badge(&status))
                                    @if let Some(o) = &e.offer { br; small { (super::views::when(&o.start, s.timezone)) " with " (dir.provider_name(o.provider_id)) ", held until " (views::clock(&o.expires_at)) } }
                                }
                                td.actions { (button_form(&format!("/console/waitlist/{}/remove", e.id), &csrf, "Remove", "danger")) }
                            }
                        }
                    }
                }
            }
            section aria-labelledby="add" {
                h2 id="add" { "Add someone" }
                form.card method="post" action="/console/waitlist" {
                    (csrf_field(&csrf))
                    (field("Patient's full name", "name", "text", "", true))
                    (field("Mobile number", "phone", "tel", "", true))
                    (select("Service", "service_id", &services, "", false))
                    (select("Practitioner", "provider_id", &dir.provider_options(), "", false))
                    (field("From", "earliest_date", "date", &today.to_string(), false))
                    (field("Until", "latest_date", "date", "", true))
                    (select("Part of the day", "time_of_day", &parts, "", false))
                    button type="submit" { "Add to the waiting list" }
                }
            }
        },
    )
}

pub(super) async fn waitlist_add(Posted { s, form }: Posted) -> Response {
    let text = |k: &str| {
        form.get(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let body = json!({
        "patient": {"name": text("name").unwrap_or_default(), "phone": text("phone").unwrap_or_default()},
        "service_id": text("service_id"),
        "provider_id": text("provider_id"),
        "earliest_date": text("earliest_date"),
        "latest_date": text("latest_date").unwrap_or_default(),
        "time_of_day": text("time_of_day"),
    });
    let answer = s
        .call(
            Method::POST,
            &format!("/api/orgs/{}/waitlist", s.org()),
            Some(body),
        )
        .await;
    if !answer.ok() {
        return s.problem(&answer, "Nobody was added to the waiting list");
    }
    s.after(
        "/console/waitlist",
        Notice::Done("Added to the waiting list.".into()),
    )
}

pub(super) async fn waitlist_remove(Path(id): Path<String>, Posted { s, .. }: Posted) -> Response {
    let answer = s
        .call(
            Method::DELETE,
            &format!("/api/orgs/{}/waitlist/{}", s.org(), query_encode(&id)),
            None,
        )
        .await;
    if !answer.ok() {
        return s.problem(&answer, "Nobody was removed");
    }
    s.after(
        "/console/waitlist",
        Notice::Done("Removed from the waiting list.".into()),
    )
}
