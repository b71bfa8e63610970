//! Booking from the console: the free times the rule engine offers, and after a conflict
//! the alternatives, with the patient's details kept.

use super::*;
use crate::http::booking::{SlotList, SlotView};

pub(super) async fn book_page(Query(q): Query<HashMap<String, String>>, s: Signed) -> Response {
    booking_form(&s, &q, StatusCode::OK, None, Vec::new()).await
}

/// The booking page: choose service, provider and day; the free times the rule engine
/// offers; the patient's details. `alternatives` (after a conflict) replace the free times.
pub(super) async fn booking_form(
    s: &Signed,
    q: &HashMap<String, String>,
    status: StatusCode,
    notice: Option<Notice>,
    alternatives: Vec<SlotView>,
) -> Response {
    let dir = Directory::load(s).await;
    let org = s.org();
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
    let date = q
        .get("date")
        .filter(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").is_ok())
        .cloned()
        .unwrap_or_else(|| today_in(s.timezone).to_string());
    let service = get("service_id");
    let provider = get("provider_id");
    let offered_instead = !alternatives.is_empty();
    let mut slots = alternatives;
    let mut slot_problem = None;
    if !offered_instead && !service.is_empty() {
        let mut path = format!(
            "/api/orgs/{org}/availability?service_id={}&date={}&days=1",
            query_encode(service),
            query_encode(&date)
        );
        if !provider.is_empty() {
            path.push_str(&format!("&provider_id={}", query_encode(provider)));
        }
        let a = s.get(&path).await;
        if a.ok() {
            slots = a.read::<SlotList>().map(|l| l.slots).unwrap_or_default();
        } else {
            slot_problem = Some(a.message());
        }
    }
    let chosen_start = get("start");
    let body = html! {
        form.card method="get" action="/console/book" {
            (select("Service", "service_id", &dir.service_options(), service, true))
            (select("Provider", "provider_id", &dir.provider_options(), provider, false))
            (field("Day", "date", "date", &date, true))
            button type="submit" { "Show free times" }
        }
        @if let Some(p) = slot_problem { p.notice.problem role="alert" { (p) } }
        @if !service.is_empty() || offered_instead {
            form.card method="post" action="/console/book" {
                (csrf_field(&s.session.csrf))
                input type="hidden" name="service_id" value=(service);
                input type="hidden" name="date" value=(date);
                fieldset {
                    legend { @if offered_instead { "Free times instead" } @else { "Free times" } }
                    @if slots.is_empty() {
                        p { "No free times that day. Try another day or provider." }
                    }
                    @if offered_instead {
                        @for (i, slot) in slots.iter().enumerate() {
                            @let value = format!("{}|{}", slot.provider_id, slot.start);
                            label.slot {
                                input type="radio" name="slot" value=(value) required checked[(chosen_start.is_empty() && i == 0) || slot.start == chosen_start];
                                (views::when(&slot.start, s.timezone)) " · " (dir.provider_name(slot.provider_id))
                            }
                        }
                    } @else {
                        @let times: Vec<views::GridTime> = slots.iter().map(|slot| views::GridTime {
                            value: format!("{}|{}", slot.provider_id, slot.start),
                            start: slot.start.clone(),
                            provider: dir.provider_name(slot.provider_id).to_string(),
                        }).collect();
                        @let chosen = times.iter().find(|t| t.start == chosen_start).map(|t| t.value.clone()).unwrap_or_default();
                        (views::time_grid("slot", &times, &chosen))
                    }
                }
                @if !slots.is_empty() {
                    fieldset {
                        legend { "Patient" }
                        (field("Full name", "name", "text", get("name"), true))
                        (field("Phone", "phone", "tel", get("phone"), true))
                        (field("Email (optional)", "email", "email", get("email"), false))
                        (field("Date of birth (optional; the patient proves who they are with it on the phone)", "date_of_birth", "date", get("date_of_birth"), false))
                        label { span { "Notes (optional)" } textarea name="notes" rows="3" { (get("notes")) } }
                    }
                    button type="submit" { "Book" }
                }
            }
        }
    };
    match notice {
        Some(n) => s.page_with(status, "Book an appointment", n, body),
        None => s.page(status, "Book an appointment", body),
    }
}

pub(super) async fn book(Posted { s, form }: Posted) -> Response {
    let get = |k: &str| {
        form.get(k)
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    let (provider, start) = get("slot")
        .split_once('|')
        .map(|(p, t)| (p.to_string(), t.to_string()))
        .unwrap_or_default();
    if provider.is_empty() {
        return booking_form(
            &s,
            &form,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(Notice::Problem("Choose one of the free times.".into())),
            Vec::new(),
        )
        .await;
    }
    let mut body = json!({
        "provider_id": provider,
        "service_id": get("service_id"),
        "start": start,
        "patient": {"name": get("name"), "phone": get("phone")},
    });
    if !get("email").is_empty() {
        body["patient"]["email"] = json!(get("email"));
    }
    if !get("date_of_birth").is_empty() {
        body["patient"]["date_of_birth"] = json!(get("date_of_birth"));
    }
    if !get("notes").is_empty() {
        body["notes"] = json!(get("notes"));
    }
    let answer = s
        .call(
            Method::POST,
            &format!("/api/orgs/{}/appointments", s.org()),
            Some(body),
        )
        .await;
    match answer.status {
        StatusCode::CREATED => {
            let day = s.day_of(&start);
            s.after(
                &format!("/console/?date={day}"),
                Notice::Done(format!(
                    "Booked {} for {}.",
                    views::when(&start, s.timezone),
                    get("name")
                )),
            )
        }
        StatusCode::CONFLICT => {
            let alternatives = answer.alternatives();
            let message = if answer.body["error"] == "slot_taken" {
                "That time has just been taken. Choose one of the free times below instead."
                    .to_string()
            } else {
                answer.message()
            };
            booking_form(
                &s,
                &form,
                StatusCode::CONFLICT,
                Some(Notice::Problem(message)),
                alternatives,
            )
            .await
        }
        _ => {
            let mut message = answer.message();
            let fields = answer.field_errors();
            if !fields.is_empty() {
                message = format!("Check these details: {}.", fields.join("; "));
            }
            booking_form(
                &s,
                &form,
                answer.status,
                Some(Notice::Problem(message)),
                Vec::new(),
            )
            .await
        }
    }
}
