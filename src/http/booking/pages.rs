//! Public pages outside the API: the patient's confirmation link and each provider's
//! iCalendar feed at its secret URL.

use super::*;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(confirm))
        .routes(routes!(ics_feed))
}

/// A one-message page for the patient (values escaped by `maud`).
fn page(title: &str, body: &str) -> Html<String> {
    use maud::{html, DOCTYPE};
    Html(
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width";
                    title { (title) }
                }
                body style="font-family:sans-serif;max-width:32rem;margin:3rem auto" {
                    h1 { (title) }
                    p { (body) }
                }
            }
        }
        .into_string(),
    )
}

/// The patient's confirmation link (from the confirmation email): an HTML page.
#[utoipa::path(
    get,
    path = "/confirm/{token}",
    tag = "appointments",
    params(("token" = String, Path, description = "The appointment's confirmation token")),
    responses(
        (status = 200, description = "Confirmed", content_type = "text/html", body = String),
        (status = 404, description = "Unknown or used link", content_type = "text/html", body = String),
    )
)]
async fn confirm(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<(StatusCode, Html<String>), ApiError> {
    match state.booking.confirm(token).await? {
        Some(a) => {
            let tz = state.booking.zone(a.org_id).await?;
            let when = a.start.with_timezone(&tz).format("%A %-d %B %Y at %H:%M").to_string();
            Ok((StatusCode::OK, page("Appointment confirmed", &format!("Thank you. Your appointment on {when} is confirmed. We look forward to seeing you."))))
        }
        None => Ok((StatusCode::NOT_FOUND, page("Link not valid", "This confirmation link is unknown or has already been used. If you need to change your appointment, please call the clinic."))),
    }
}

/// A provider's appointments as iCalendar (RFC 5545), at a secret URL for calendar apps.
#[utoipa::path(
    get,
    path = "/calendar/{file}",
    tag = "appointments",
    params(("file" = String, Path, description = "`<feed token>.ics`, as in the provider's `calendar_feed`")),
    responses((status = 200, description = "The feed", content_type = "text/calendar", body = String))
)]
async fn ics_feed(
    State(state): State<AppState>,
    Path(file): Path<String>,
) -> Result<impl axum::response::IntoResponse, ApiError> {
    let token = file.strip_suffix(".ics").ok_or(ApiError::NotFound)?;
    let (provider, view, appointments) = state.booking.feed(token.to_string()).await?;
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/calendar; charset=utf-8",
            ),
            (axum::http::header::CACHE_CONTROL, "no-store"),
        ],
        ics_calendar(&provider, &view, &appointments),
    ))
}

/// A provider's appointments (not the cancelled ones) as an iCalendar file: tentative while
/// pending, confirmed once confirmed.
fn ics_calendar(
    provider: &ProviderRecord,
    view: &crate::booking::ClinicView,
    appointments: &[AppointmentRecord],
) -> String {
    use icalendar::{Calendar, Component, Event, EventLike, EventStatus};
    let mut calendar = Calendar::new();
    calendar.name(&format!("{} – {}", provider.name, view.org.name));
    for a in appointments
        .iter()
        .filter(|a| a.status != AppointmentStatus::Cancelled)
    {
        let service = a
            .service_id
            .and_then(|id| view.services.iter().find(|s| s.id == id))
            .map(|s| s.name.clone())
            .unwrap_or_else(|| "Appointment".into());
        calendar.push(
            Event::new()
                .uid(&format!("{}@voxanne", a.id))
                .summary(&format!("{service} – {}", a.patient.name))
                .starts(a.start)
                .ends(a.end)
                .status(if a.status == AppointmentStatus::Pending {
                    EventStatus::Tentative
                } else {
                    EventStatus::Confirmed
                })
                .done(),
        );
    }
    calendar.done().to_string()
}
