//! Reading an `Appointment` a FHIR client sends (to create, hold or book) into what the
//! booking service takes: the provider, service and start from a `slot` reference or from
//! `start`/`end` and the participants, the patient from a contained `Patient` or an earlier
//! booking's, checked by the same rules as every other booking (`booking::intake`).

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::resources::{self, FreeSlotId, DEFAULT_IDENTIFIER_SYSTEM, SERVICE_SYSTEM};
use super::FhirError;
use crate::booking::intake::{self, AppointmentFields, CheckedFields, DurationInput};
use crate::booking::records::{AppointmentRecord, AppointmentStatus};
use crate::booking::ClinicView;
use crate::domain::{AppointmentId, FieldError, ProviderId, ServiceId, Validation};

/// Longest identifier (system and value together) a client may file a booking under.
const MAX_IDENTIFIER_CHARS: usize = 256;

/// What an `Appointment` from a client asks for.
#[derive(Debug, Clone)]
pub struct Proposal {
    pub provider: ProviderId,
    pub service: Option<ServiceId>,
    pub start: DateTime<Utc>,
    pub duration_minutes: Option<u32>,
    /// `pending` (proposed or pending) or `confirmed` (booked).
    pub status: AppointmentStatus,
    /// The client's identifier as a retry key (`resources::identifier_key`).
    pub identifier: Option<String>,
    /// `Patient/{id}`: an earlier booking whose patient this one is.
    pub patient_ref: Option<AppointmentId>,
}

/// The patient fields of a contained `Patient`, as given.
#[derive(Debug, Default, Clone)]
pub struct PatientInput {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub birth_date: Option<String>,
}

/// The `Appointment` in a body: the body itself, or a `Parameters` resource's `appt-resource`
/// (how Argonaut's `$hold` and `$book` carry it).
pub fn appointment_in(body: &Value) -> Result<&Value, FhirError> {
    let appointment = match body["resourceType"].as_str() {
        Some("Parameters") => body["parameter"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == "appt-resource"))
            .map(|p| &p["resource"])
            .ok_or_else(|| {
                FhirError::field("Parameters.parameter", "must hold an appt-resource")
            })?,
        _ => body,
    };
    if appointment["resourceType"] != "Appointment" {
        return Err(FhirError::field(
            "Appointment.resourceType",
            "must be Appointment",
        ));
    }
    Ok(appointment)
}

/// Reads what `a` asks for in `view`'s clinic. Every field at fault is named; a reference to
/// another clinic's provider, service or slot is at fault like any unknown one.
pub fn read(
    a: &Value,
    view: &ClinicView,
    now: DateTime<Utc>,
) -> Result<(Proposal, PatientInput, Option<String>), FhirError> {
    let mut v = Validation::new();
    let status = match a.get("status").map(|s| s.as_str()) {
        None => Some(AppointmentStatus::Pending),
        Some(Some("proposed" | "pending")) => Some(AppointmentStatus::Pending),
        Some(Some("booked")) => Some(AppointmentStatus::Confirmed),
        Some(_) => v.check(
            "Appointment.status",
            Err("a new appointment is proposed, pending or booked".to_string()),
        ),
    };
    let mut provider: Option<ProviderId> = None;
    let mut service: Option<ServiceId> = None;
    let mut start: Option<DateTime<Utc>> = None;
    let mut patient_ref = None;
    let mut contained_ref = None;
    if let Some(slot) = a["slot"].as_array().and_then(|s| s.first()) {
        let id = slot["reference"]
            .as_str()
            .and_then(|r| super::search::reference_id(r, "Slot"))
            .and_then(FreeSlotId::decode)
            .filter(|s| view.providers.iter().any(|p| p.id == s.provider))
            .filter(|s| intake::instant_in_window(s.start, now).is_ok());
        match id {
            Some(s) => {
                provider = Some(s.provider);
                service = s.service;
                start = Some(s.start);
            }
            None => {
                v.check::<()>(
                    "Appointment.slot",
                    Err("must be a free slot of this clinic".into()),
                );
            }
        }
    }
    for (i, p) in a["participant"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let field = format!("Appointment.participant[{i}].actor");
        let Some(reference) = p["actor"]["reference"].as_str() else {
            continue;
        };
        if let Some(local) = reference.strip_prefix('#') {
            contained_ref = Some(local.to_string());
        } else if let Some(id) = super::search::reference_id(reference, "Practitioner") {
            match id.parse::<ProviderId>() {
                Ok(id) if view.providers.iter().any(|p| p.id == id) => {
                    if provider.is_some_and(|p| p != id) {
                        v.check::<()>(&field, Err("names another provider than the slot".into()));
                    }
                    provider = Some(id);
                }
                _ => {
                    v.check::<()>(&field, Err("is not a practitioner of this clinic".into()));
                }
            }
        } else if let Some(id) = super::search::reference_id(reference, "Patient") {
            match id.parse::<AppointmentId>() {
                Ok(id) => patient_ref = Some(id),
                Err(_) => {
                    v.check::<()>(&field, Err("is not a patient of this clinic".into()));
                }
            }
        } else if let Some(id) = super::search::reference_id(reference, "HealthcareService") {
            service = v.check(&field, known_service(id, view)).or(service);
        }
    }
    if let Some(codings) = a["serviceType"].as_array() {
        for c in codings
            .iter()
            .flat_map(|c| c["coding"].as_array().into_iter().flatten())
        {
            let ours = c["system"].as_str().is_none_or(|s| s == SERVICE_SYSTEM);
            if let (true, Some(code)) = (ours, c["code"].as_str()) {
                service = v
                    .check("Appointment.serviceType", known_service(code, view))
                    .or(service);
            }
        }
    }
    if let Some(s) = a.get("start") {
        let given = v.check(
            "Appointment.start",
            s.as_str()
                .ok_or_else(|| "must be an instant with its offset".to_string())
                .and_then(|s| parse_instant(s, now)),
        );
        if let (Some(from_slot), Some(given)) = (start, given) {
            if from_slot != given {
                v.check::<()>(
                    "Appointment.start",
                    Err("differs from the slot's start".into()),
                );
            }
        }
        start = start.or(given);
    }
    let end = a.get("end").and_then(|e| {
        v.check(
            "Appointment.end",
            e.as_str()
                .ok_or_else(|| "must be an instant with its offset".to_string())
                .and_then(|s| parse_instant(s, now)),
        )
    });
    let duration_minutes = match (start, end) {
        (Some(s), Some(e)) => v.check(
            "Appointment.end",
            intake::duration_minutes((e - s).num_minutes()),
        ),
        _ => None,
    };
    if provider.is_none() {
        v.check::<()>(
            "Appointment.participant",
            Err("must name a Practitioner of this clinic (or give a slot)".into()),
        );
    }
    if start.is_none() {
        v.check::<()>(
            "Appointment.start",
            Err("is required (or give a slot)".into()),
        );
    }
    let identifier = a["identifier"]
        .as_array()
        .and_then(|ids| ids.first())
        .map(|id| {
            let system = id["system"].as_str().unwrap_or(DEFAULT_IDENTIFIER_SYSTEM);
            let value = id["value"].as_str().unwrap_or_default();
            (system.to_string(), value.to_string())
        });
    let identifier = match identifier {
        Some((system, value)) => v.check("Appointment.identifier", identifier_key(&system, &value)),
        None => None,
    };
    let patient = contained_ref
        .as_deref()
        .map(|r| contained_patient(a, r))
        .unwrap_or_default();
    if contained_ref.is_some() && patient.name.is_none() && patient.phone.is_none() {
        v.check::<()>(
            "Appointment.contained",
            Err("must hold the Patient the participant refers to".into()),
        );
    }
    let comment = a["comment"].as_str().map(str::to_string);
    v.finish().map_err(FhirError::invalid)?;
    let (Some(provider), Some(start), Some(status)) = (provider, start, status) else {
        return Err(FhirError::field("Appointment", "is incomplete"));
    };
    Ok((
        Proposal {
            provider,
            service,
            start,
            duration_minutes: duration_minutes.or_else(|| service.is_none().then_some(30)),
            status,
            identifier,
            patient_ref,
        },
        patient,
        comment,
    ))
}

fn known_service(id: &str, view: &ClinicView) -> Result<ServiceId, String> {
    id.parse::<ServiceId>()
        .ok()
        .filter(|id| view.services.iter().any(|s| s.id == *id))
        .ok_or_else(|| "is not a service of this clinic".to_string())
}

fn parse_instant(s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let t = DateTime::parse_from_rfc3339(s.trim())
        .map_err(|_| "must be an instant with its offset".to_string())?
        .with_timezone(&Utc);
    intake::instant_in_window(t, now)
}

/// The retry key for a client's identifier: both parts non-blank and short.
pub fn identifier_key(system: &str, value: &str) -> Result<String, String> {
    if value.trim().is_empty() || system.trim().is_empty() {
        return Err("needs a system and a value".into());
    }
    if system.chars().count() + value.chars().count() > MAX_IDENTIFIER_CHARS {
        return Err(format!(
            "is too long ({MAX_IDENTIFIER_CHARS} characters at most)"
        ));
    }
    Ok(resources::identifier_key(system.trim(), value.trim()))
}

/// The contained `Patient` with local id `id`.
fn contained_patient(a: &Value, id: &str) -> PatientInput {
    let Some(p) = a["contained"].as_array().and_then(|c| {
        c.iter()
            .find(|r| r["resourceType"] == "Patient" && r["id"].as_str() == Some(id))
    }) else {
        return PatientInput::default();
    };
    let name = p["name"].as_array().and_then(|n| n.first()).and_then(|n| {
        n["text"].as_str().map(str::to_string).or_else(|| {
            let given: Vec<&str> = n["given"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let family = n["family"].as_str();
            let whole: Vec<&str> = given.into_iter().chain(family).collect();
            (!whole.is_empty()).then(|| whole.join(" "))
        })
    });
    let telecom = |system: &str| {
        p["telecom"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|t| t["system"] == system)
            .and_then(|t| t["value"].as_str())
            .map(str::to_string)
    };
    PatientInput {
        name,
        phone: telecom("phone"),
        email: telecom("email"),
        birth_date: p["birthDate"].as_str().map(str::to_string),
    }
}

/// Checks the patient and comment with the rules every booking is checked by; the fields at
/// fault are named as FHIR elements.
pub fn check_patient(
    patient: &PatientInput,
    earlier: Option<&AppointmentRecord>,
    comment: Option<&str>,
    duration: Option<u32>,
    view: &ClinicView,
    now: DateTime<Utc>,
) -> Result<CheckedFields, FhirError> {
    let earlier_dob = earlier
        .and_then(|a| a.patient.date_of_birth)
        .map(|d| d.format("%Y-%m-%d").to_string());
    let fields = AppointmentFields {
        name: patient
            .name
            .as_deref()
            .or(earlier.map(|a| a.patient.name.as_str())),
        phone: patient
            .phone
            .as_deref()
            .or(earlier.map(|a| a.patient.phone.as_str())),
        caller_number: None,
        email: patient
            .email
            .as_deref()
            .or(earlier.and_then(|a| a.patient.email.as_deref())),
        notes: comment,
        duration: duration.map(|m| DurationInput::Minutes(m.into())),
        date_of_birth: patient.birth_date.as_deref().or(earlier_dob.as_deref()),
        today: now.with_timezone(&view.tz).date_naive(),
    };
    intake::check_fields(&fields, &view.settings.phone_region).map_err(|errors| {
        FhirError::invalid(
            errors
                .into_iter()
                .map(|f| FieldError::new(element(&f.field), f.message))
                .collect(),
        )
    })
}

/// The FHIR element a booking field is given in.
fn element(field: &str) -> String {
    match field {
        "patient.name" => "Patient.name".into(),
        "patient.phone" => "Patient.telecom".into(),
        "patient.email" => "Patient.telecom".into(),
        "patient.date_of_birth" => "Patient.birthDate".into(),
        "patient" => "Appointment.participant".into(),
        "notes" => "Appointment.comment".into(),
        "duration_minutes" => "Appointment.end".into(),
        other => format!("Appointment.{other}"),
    }
}
