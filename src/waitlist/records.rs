//! The waiting list's stored shapes and tables: one entry per patient who asked for an
//! earlier time, what was offered them, and the shared check that REST and the voice agent
//! make before an entry is written.

use chrono::{DateTime, NaiveDate, Timelike, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::booking::intake::{self, AppointmentFields, REQUIRED};
use crate::booking::records::BookingSource;
use crate::booking::ClinicView;
use crate::domain::{AppointmentId, FieldError, PhoneNumber, ProviderId, ServiceId, Validation};
use crate::store::tables::TenantTable;

crate::store::codec::stored_as_json!(WaitlistEntry);

/// Entries, keyed by id (time-ordered: the order of joining).
pub const WAITLIST: TenantTable<WaitlistEntry> = TenantTable::new("waitlist_v1");
/// Number (E.164) → the entry most recently offered a time by text (a reply names only the
/// number).
pub const WAITLIST_OFFERS_BY_PHONE: TenantTable<uuid::Uuid> =
    TenantTable::new("waitlist_offers_by_phone_v1");

/// Most entries offered one freed time at once (the first YES takes it).
pub const OFFER_TO: usize = 3;

/// A part of the day as a request gives it, for the API document: one of
/// `PartOfDay::WORDS` in any letter case, or blank (any).
pub struct PartOfDayInput;

impl utoipa::PartialSchema for PartOfDayInput {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        // ASCII letters in either case (what `to_ascii_lowercase` folds), spaces around.
        let words: Vec<String> = PartOfDay::WORDS
            .iter()
            .map(|(w, _)| {
                w.chars()
                    .map(|c| match c {
                        ' ' => " ".to_string(),
                        c => format!("[{}{}]", c, c.to_ascii_uppercase()),
                    })
                    .collect()
            })
            .collect();
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some(format!(
                r"^[ \t\r\n]*(?:{})?[ \t\r\n]*$",
                words.join("|")
            )))
            .description(Some(
                "`morning`, `afternoon`, `evening` or `any` (the default)",
            ))
            .into()
    }
}

impl utoipa::ToSchema for PartOfDayInput {}

/// The part of the day a patient can come.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PartOfDay {
    Morning,
    Afternoon,
    Evening,
    #[default]
    Any,
}

impl PartOfDay {
    /// The words `parse` reads (in any letter case, spaces around allowed; blank is `Any`).
    pub const WORDS: [(&'static str, PartOfDay); 6] = [
        ("morning", PartOfDay::Morning),
        ("afternoon", PartOfDay::Afternoon),
        ("evening", PartOfDay::Evening),
        ("any", PartOfDay::Any),
        ("anytime", PartOfDay::Any),
        ("any time", PartOfDay::Any),
    ];

    pub fn parse(s: &str) -> Result<PartOfDay, String> {
        let word = s.trim().to_ascii_lowercase();
        if word.is_empty() {
            return Ok(PartOfDay::Any);
        }
        Self::WORDS
            .iter()
            .find(|(w, _)| *w == word)
            .map(|(_, part)| *part)
            .ok_or_else(|| "must be morning, afternoon, evening or any".into())
    }

    /// Whether a start at local hour `hour` is in this part of the day (morning before noon,
    /// afternoon noon to five, evening from five).
    pub fn contains(self, hour: u32) -> bool {
        match self {
            PartOfDay::Morning => hour < 12,
            PartOfDay::Afternoon => (12..17).contains(&hour),
            PartOfDay::Evening => hour >= 17,
            PartOfDay::Any => true,
        }
    }
}

/// Where an entry stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntryStatus {
    /// Waiting for a time that fits.
    Waiting,
    /// A freed time was texted to the patient and is held for them until the offer ends.
    Offered,
    /// The patient took an offered time.
    Booked,
    /// The latest date has passed.
    Expired,
}

/// A freed time texted to an entry's patient.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Offer {
    /// Whose hold keeps the time (one per freed time, shared by the entries offered it).
    pub holder: String,
    pub provider_id: ProviderId,
    pub service_id: Option<ServiceId>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub offered_at: DateTime<Utc>,
    /// A YES after this is told the time has gone.
    pub expires_at: DateTime<Utc>,
    /// The text that carried it.
    pub message_id: uuid::Uuid,
}

/// One patient waiting for an earlier time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WaitlistEntry {
    pub id: uuid::Uuid,
    pub patient_name: String,
    pub phone: PhoneNumber,
    pub service_id: Option<ServiceId>,
    /// `None`: any practitioner.
    pub provider_id: Option<ProviderId>,
    pub earliest_date: NaiveDate,
    pub latest_date: NaiveDate,
    pub time_of_day: PartOfDay,
    pub status: EntryStatus,
    pub offer: Option<Offer>,
    pub appointment_id: Option<AppointmentId>,
    /// Who put them on the list (the voice agent or staff).
    pub source: BookingSource,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl WaitlistEntry {
    /// Where it stands at `now` in the clinic's zone: past its latest date it has expired,
    /// and an offer past its end leaves it waiting again.
    pub fn status_at(&self, now: DateTime<Utc>, tz: Tz) -> EntryStatus {
        let today = now.with_timezone(&tz).date_naive();
        match self.status {
            EntryStatus::Booked => EntryStatus::Booked,
            _ if self.latest_date < today => EntryStatus::Expired,
            EntryStatus::Offered if self.offer.as_ref().is_none_or(|o| o.expires_at <= now) => {
                EntryStatus::Waiting
            }
            s => s,
        }
    }

    /// Whether a freed time fits what the patient asked for (and they are waiting).
    pub fn fits(&self, freed: &FreedTime, now: DateTime<Utc>, tz: Tz) -> bool {
        let local = freed.start.with_timezone(&tz);
        self.status_at(now, tz) == EntryStatus::Waiting
            && self.provider_id.is_none_or(|p| p == freed.provider_id)
            && self.service_id.is_none_or(|s| Some(s) == freed.service_id)
            && (self.earliest_date..=self.latest_date).contains(&local.date_naive())
            && self.time_of_day.contains(local.hour())
    }
}

/// A time a cancelled, moved or missed appointment left free.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FreedTime {
    pub provider_id: ProviderId,
    pub service_id: Option<ServiceId>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// A request to join the list, as REST or the voice agent received it.
#[derive(Debug, Clone, Copy, Default)]
pub struct EntryFields<'a> {
    pub name: Option<&'a str>,
    pub phone: Option<&'a str>,
    /// The number the network presented for the call (voice agent): used when none is given.
    pub caller_number: Option<&'a str>,
    pub service_id: Option<ServiceId>,
    pub provider_id: Option<ProviderId>,
    pub earliest_date: Option<NaiveDate>,
    pub latest_date: Option<NaiveDate>,
    pub time_of_day: Option<&'a str>,
}

/// A checked request to join the list.
#[derive(Debug, Clone)]
pub struct NewEntry {
    pub patient_name: String,
    pub phone: PhoneNumber,
    pub service_id: Option<ServiceId>,
    pub provider_id: Option<ProviderId>,
    pub earliest_date: NaiveDate,
    pub latest_date: NaiveDate,
    pub time_of_day: PartOfDay,
}

/// The one check REST and the voice agent share: the patient's name and number (as for a
/// booking), a service and practitioner of this clinic (the practitioner offering the
/// service), dates from today to no later than the clinic books ahead, earliest before latest.
pub fn check_entry(
    f: &EntryFields<'_>,
    view: &ClinicView,
    today: NaiveDate,
) -> Result<NewEntry, Vec<FieldError>> {
    let mut errors = Vec::new();
    let patient = intake::check_fields(
        &AppointmentFields {
            name: f.name,
            phone: f.phone,
            caller_number: f.caller_number,
            today,
            ..Default::default()
        },
        &view.settings.phone_region,
    )
    .map_err(|e| errors.extend(e))
    .ok();
    let mut v = Validation::new();
    let service = v.check_opt(
        "service_id",
        f.service_id.map(|id| {
            view.services
                .iter()
                .find(|s| s.id == id)
                .map(|s| s.id)
                .ok_or_else(|| "is not a service of this clinic".to_string())
        }),
    );
    let provider = v.check_opt(
        "provider_id",
        f.provider_id
            .map(|id| match view.providers.iter().find(|p| p.id == id) {
                None => Err("is not a practitioner of this clinic".to_string()),
                Some(p) if service.is_some_and(|s| !p.service_ids.contains(&s)) => {
                    Err("does not offer that service".to_string())
                }
                Some(p) => Ok(p.id),
            }),
    );
    let last_day = today + chrono::Duration::days(view.settings.horizon_days.into());
    let latest = v.check(
        "latest_date",
        match f.latest_date {
            None => Err(REQUIRED.to_string()),
            Some(d) if d < today => Err("is in the past".to_string()),
            Some(d) if d > last_day => Err(format!(
                "is more than {} days ahead (the clinic's booking horizon)",
                view.settings.horizon_days
            )),
            Some(d) => Ok(d),
        },
    );
    let earliest = v.check(
        "earliest_date",
        match (f.earliest_date, latest) {
            (Some(e), Some(l)) if e > l => Err("is after the latest date".to_string()),
            (Some(e), _) => Ok(e.max(today)),
            (None, _) => Ok(today),
        },
    );
    let part = v.check(
        "time_of_day",
        f.time_of_day.map_or(Ok(PartOfDay::Any), PartOfDay::parse),
    );
    if let Err(e) = v.finish() {
        errors.extend(e);
    }
    match (patient, latest, earliest, part) {
        (Some(p), Some(latest), Some(earliest), Some(part)) if errors.is_empty() => Ok(NewEntry {
            patient_name: p.name.as_str().to_string(),
            phone: p.phone,
            service_id: service,
            provider_id: provider,
            earliest_date: earliest,
            latest_date: latest,
            time_of_day: part,
        }),
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The document's part-of-day pattern admits exactly what `PartOfDay::parse` reads.
    #[test]
    fn the_part_of_day_pattern_and_parsing_agree() {
        use utoipa::PartialSchema;
        let schema = serde_json::to_value(PartOfDayInput::schema()).unwrap();
        let pattern = regex::Regex::new(schema["pattern"].as_str().unwrap()).unwrap();
        for v in [
            "morning",
            "Morning",
            " EVENING ",
            "any time",
            "Anytime",
            "",
            "  ",
            "afternoon\n",
            "noon",
            "any  time",
            "mornings",
            "morn ing",
            "x",
        ] {
            assert_eq!(pattern.is_match(v), PartOfDay::parse(v).is_ok(), "{v:?}");
        }
    }
}
