//! The clinic's records as FHIR R4 resources: providers as `Practitioner` and their `Schedule`,
//! services as `HealthcareService`, free and busy times as `Slot`, bookings as `Appointment`
//! and the patient a booking names as `Patient`; and the ids and versions they carry.

use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use std::sync::Arc;

use serde::Serialize;
use serde_json::{json, Value};

use super::BundleResource;

use crate::booking::records::{
    AppointmentRecord, AppointmentStatus, ProviderRecord, ServiceRecord,
};
use crate::booking::ClinicView;
use crate::booking::Slot;
use crate::domain::{AppointmentId, ProviderId, ServiceId};

/// The coding system of a service type: the clinic's own `HealthcareService` ids.
pub const SERVICE_SYSTEM: &str = "urn:voxanne:fhir:healthcare-service";
/// The identifier system a FHIR client's own appointment identifiers are kept under when it
/// gives none.
pub const DEFAULT_IDENTIFIER_SYSTEM: &str = "urn:voxanne:fhir:client";
/// Marks an appointment's retry key as a FHIR client's identifier (`If-None-Exist`).
const IDENTIFIER_PREFIX: &str = "fhir:";

/// An instant as FHIR writes one, in the clinic's zone with its offset.
pub fn instant(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz)
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// The R4 status of one of ours. A booking not yet confirmed by the patient is `pending`
/// (a participant has not accepted); a confirmed one `booked`.
pub fn status_code(s: AppointmentStatus) -> &'static str {
    match s {
        AppointmentStatus::Pending => "pending",
        AppointmentStatus::Confirmed => "booked",
        AppointmentStatus::Cancelled => "cancelled",
        AppointmentStatus::Completed => "fulfilled",
        AppointmentStatus::NoShow => "noshow",
    }
}

/// Ours for an R4 status a client may ask for or set; `None` for the ones we never hold.
pub fn status_from_code(code: &str) -> Option<AppointmentStatus> {
    Some(match code {
        "proposed" | "pending" => AppointmentStatus::Pending,
        "booked" => AppointmentStatus::Confirmed,
        "cancelled" => AppointmentStatus::Cancelled,
        "fulfilled" => AppointmentStatus::Completed,
        "noshow" => AppointmentStatus::NoShow,
        _ => return None,
    })
}

/// An appointment's version (`meta.versionId`, `ETag: W/"…"`): `AppointmentRecord::version`.
pub fn version(a: &AppointmentRecord) -> String {
    a.version()
}

/// The weak ETag of a version.
pub fn etag(version: &str) -> String {
    format!("W/\"{version}\"")
}

/// A FHIR client's identifier (`system|value`) as the retry key a booking is stored under.
pub fn identifier_key(system: &str, value: &str) -> String {
    format!("{IDENTIFIER_PREFIX}{system}|{value}")
}

/// The identifier a booking was made under by a FHIR client, if it was.
pub fn identifier_of(a: &AppointmentRecord) -> Option<(&str, &str)> {
    a.vapi_tool_call_id
        .as_deref()?
        .strip_prefix(IDENTIFIER_PREFIX)?
        .split_once('|')
}

/// `Practitioner/{id}` for a provider.
pub fn practitioner(p: &ProviderRecord) -> Value {
    json!({
        "resourceType": "Practitioner",
        "id": p.id.to_string(),
        "active": true,
        "name": [{"text": p.name}],
    })
}

/// `HealthcareService/{id}` for a service.
pub fn healthcare_service(s: &ServiceRecord) -> Value {
    let mut v = json!({
        "resourceType": "HealthcareService",
        "id": s.id.to_string(),
        "active": true,
        "name": s.name,
        "type": [service_concept(s)],
        "comment": format!("{} minutes", s.duration_minutes),
    });
    if let Some(procedure) = &s.procedure {
        v["extraDetails"] = json!(format!("Procedure: {procedure}"));
    }
    v
}

/// A service as a `CodeableConcept` of the clinic's services.
pub fn service_concept(s: &ServiceRecord) -> Value {
    json!({"coding": [{"system": SERVICE_SYSTEM, "code": s.id.to_string(), "display": s.name}]})
}

/// `Schedule/{id}`: one per provider, under the provider's id, listing its services.
pub fn schedule(p: &ProviderRecord, view: &ClinicView, horizon_end: DateTime<Utc>) -> Value {
    let services: Vec<Value> = view
        .services
        .iter()
        .filter(|s| p.service_ids.contains(&s.id))
        .map(service_concept)
        .collect();
    let mut v = json!({
        "resourceType": "Schedule",
        "id": p.id.to_string(),
        "active": true,
        "actor": [{"reference": format!("Practitioner/{}", p.id), "display": p.name}],
        "planningHorizon": {"end": instant(horizon_end, view.tz)},
    });
    if !services.is_empty() {
        v["serviceType"] = Value::Array(services);
    }
    v
}

/// Where a free slot's id comes from: the provider, the service its length is for (none: 30
/// minutes), and its start to the minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FreeSlotId {
    pub provider: ProviderId,
    pub service: Option<ServiceId>,
    pub start: DateTime<Utc>,
}

impl FreeSlotId {
    /// `{provider}-{service or 0}-{minute}`, each in base 36 (at most 57 characters, inside
    /// FHIR's 64).
    pub fn encode(&self) -> String {
        let mut id = FreeSlotId::prefix(self.provider, self.service);
        id.push_str(&base36((self.start.timestamp() / 60).max(0) as u128));
        id
    }

    /// What the ids of one provider's slots for one service start with.
    fn prefix(provider: ProviderId, service: Option<ServiceId>) -> String {
        format!(
            "{}-{}-",
            base36(provider.as_u128()),
            service.map_or("0".to_string(), |s| base36(s.as_u128())),
        )
    }

    pub fn decode(id: &str) -> Option<FreeSlotId> {
        let mut parts = id.split('-');
        let (p, s, t) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let provider = ProviderId::from_u128(from_base36(p)?);
        let service = match s {
            "0" => None,
            s => Some(ServiceId::from_u128(from_base36(s)?)),
        };
        let minute = i64::try_from(from_base36(t)?).ok()?;
        let start = DateTime::from_timestamp(minute.checked_mul(60)?, 0)?;
        Some(FreeSlotId {
            provider,
            service,
            start,
        })
    }
}

/// The id of the busy slot an appointment keeps.
pub fn busy_slot_id(a: AppointmentId) -> String {
    format!("busy.{a}")
}

/// The appointment behind a busy slot's id.
pub fn busy_slot_appointment(id: &str) -> Option<AppointmentId> {
    id.strip_prefix("busy.")?.parse().ok()
}

fn base36(mut n: u128) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

fn from_base36(s: &str) -> Option<u128> {
    if s.is_empty() || s.len() > 25 {
        return None;
    }
    let mut n: u128 = 0;
    for c in s.bytes() {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'z' => c - b'a' + 10,
            _ => return None,
        };
        n = n.checked_mul(36)?.checked_add(d.into())?;
    }
    Some(n)
}

/// A `Slot`, written as it is serialised: a search answers hundreds, and a value tree per
/// slot was most of a search's time.
#[derive(Debug, Clone, Serialize)]
pub struct SlotResource {
    #[serde(rename = "resourceType")]
    resource_type: &'static str,
    id: String,
    schedule: Reference,
    status: &'static str,
    start: String,
    end: String,
    #[serde(rename = "serviceType", skip_serializing_if = "Option::is_none")]
    service_type: Option<Arc<Value>>,
}

/// A reference, shared by every slot of one schedule.
#[derive(Debug, Clone, Serialize)]
pub struct Reference {
    reference: Arc<str>,
}

impl BundleResource for SlotResource {
    fn kind(&self) -> &str {
        self.resource_type
    }
    fn id(&self) -> &str {
        &self.id
    }
}

/// Writes the free `Slot`s of one search: what every slot of a provider shares (its id's
/// start, its schedule's reference, the service) is made once, not once per slot.
pub struct FreeSlotWriter<'a> {
    service: Option<&'a ServiceRecord>,
    service_type: Option<Arc<Value>>,
    tz: Tz,
    /// Per provider: the ids' start and the schedule's reference.
    providers: Vec<(ProviderId, String, Arc<str>)>,
}

impl<'a> FreeSlotWriter<'a> {
    pub fn new(service: Option<&'a ServiceRecord>, tz: Tz) -> Self {
        FreeSlotWriter {
            service,
            service_type: service.map(|s| Arc::new(json!([service_concept(s)]))),
            tz,
            providers: Vec::new(),
        }
    }

    pub fn write(&mut self, s: &Slot) -> SlotResource {
        let i = match self.providers.iter().position(|p| p.0 == s.provider_id) {
            Some(i) => i,
            None => {
                self.providers.push((
                    s.provider_id,
                    FreeSlotId::prefix(s.provider_id, self.service.map(|x| x.id)),
                    Arc::from(format!("Schedule/{}", s.provider_id)),
                ));
                self.providers.len() - 1
            }
        };
        let (_, prefix, schedule) = &self.providers[i];
        let mut id = String::with_capacity(prefix.len() + 6);
        id.push_str(prefix);
        id.push_str(&base36((s.start.timestamp() / 60).max(0) as u128));
        SlotResource {
            resource_type: "Slot",
            id,
            schedule: Reference {
                reference: schedule.clone(),
            },
            status: "free",
            start: instant(s.start, self.tz),
            end: instant(s.end, self.tz),
            service_type: self.service_type.clone(),
        }
    }
}

/// One free `Slot`.
pub fn free_slot(s: &Slot, service: Option<&ServiceRecord>, tz: Tz) -> SlotResource {
    FreeSlotWriter::new(service, tz).write(s)
}

/// The busy `Slot` an active appointment keeps (its own times, without buffers).
pub fn busy_slot(a: &AppointmentRecord, tz: Tz) -> SlotResource {
    SlotResource {
        resource_type: "Slot",
        id: busy_slot_id(a.id),
        schedule: Reference {
            reference: Arc::from(format!("Schedule/{}", a.provider_id)),
        },
        status: "busy",
        start: instant(a.start, tz),
        end: instant(a.end, tz),
        service_type: None,
    }
}

/// An `Appointment`; its patient is `Patient/{appointment id}` (the patient as this booking
/// recorded them).
pub fn appointment(a: &AppointmentRecord, view: &ClinicView) -> Value {
    let tz = view.tz;
    let version = version(a);
    let provider = view.providers.iter().find(|p| p.id == a.provider_id);
    let service = a
        .service_id
        .and_then(|id| view.services.iter().find(|s| s.id == id));
    let participant_status = if a.status == AppointmentStatus::Pending {
        "needs-action"
    } else {
        "accepted"
    };
    let mut practitioner = json!({
        "actor": {"reference": format!("Practitioner/{}", a.provider_id)},
        "required": "required",
        "status": "accepted",
    });
    if let Some(p) = provider {
        practitioner["actor"]["display"] = json!(p.name);
    }
    let mut v = json!({
        "resourceType": "Appointment",
        "id": a.id.to_string(),
        "meta": {"versionId": version, "lastUpdated": a.updated_at},
        "status": status_code(a.status),
        "start": instant(a.start, tz),
        "end": instant(a.end, tz),
        "minutesDuration": (a.end - a.start).num_minutes(),
        "created": a.created_at,
        "participant": [
            {
                "actor": {"reference": format!("Patient/{}", a.id), "display": a.patient.name},
                "required": "required",
                "status": participant_status,
            },
            practitioner,
        ],
    });
    if let Some(s) = service {
        v["serviceType"] = json!([service_concept(s)]);
    }
    if let Some((system, value)) = identifier_of(a) {
        v["identifier"] = json!([{"system": system, "value": value}]);
    }
    if let Some(notes) = a.notes.as_deref().filter(|n| !n.trim().is_empty()) {
        v["comment"] = json!(notes);
    }
    if let Some(reason) = a.cancel_reason.as_deref().filter(|r| !r.trim().is_empty()) {
        v["cancelationReason"] = json!({"text": reason});
    }
    v
}

/// An `Appointment` without what it says about its patient (the name shown beside the
/// patient's reference, the comment, the reason for a cancellation).
pub fn without_patient_details(mut a: Value) -> Value {
    if let Some(participants) = a["participant"].as_array_mut() {
        for p in participants {
            let is_patient = p["actor"]["reference"]
                .as_str()
                .is_some_and(|r| r.starts_with("Patient/"));
            if is_patient {
                if let Some(actor) = p["actor"].as_object_mut() {
                    actor.remove("display");
                }
            }
        }
    }
    if let Some(o) = a.as_object_mut() {
        o.remove("comment");
        o.remove("cancelationReason");
    }
    a
}

/// The `Patient` a booking names, under the booking's id: name, telephone, email and birth
/// date as the booking recorded them.
pub fn patient(a: &AppointmentRecord) -> Value {
    let mut telecom = vec![json!({"system": "phone", "value": a.patient.phone.as_str()})];
    if let Some(email) = &a.patient.email {
        telecom.push(json!({"system": "email", "value": email}));
    }
    let mut v = json!({
        "resourceType": "Patient",
        "id": a.id.to_string(),
        "name": [{"text": a.patient.name}],
        "telecom": telecom,
    });
    if let Some(d) = a.patient.date_of_birth {
        v["birthDate"] = json!(d.format("%Y-%m-%d").to_string());
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_free_slot_id_reads_back_as_what_it_was_made_from_and_fits_fhirs_64_characters() {
        let id = FreeSlotId {
            provider: ProviderId::from_u128(u128::MAX),
            service: Some(ServiceId::from_u128(u128::MAX - 7)),
            start: DateTime::from_timestamp(1_800_000_000 / 60 * 60, 0).unwrap(),
        };
        let text = id.encode();
        assert!(text.len() <= 64, "{text}");
        assert!(text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.'));
        assert_eq!(FreeSlotId::decode(&text), Some(id));
        let without = FreeSlotId {
            service: None,
            ..id
        };
        assert_eq!(FreeSlotId::decode(&without.encode()), Some(without));
    }

    #[test]
    fn slot_ids_that_were_not_made_here_are_refused() {
        for bad in [
            "",
            "a-b",
            "a-b-c-d",
            "A-0-1",
            "zzzzzzzzzzzzzzzzzzzzzzzzzz-0-1",
            "1-0-",
        ] {
            assert_eq!(FreeSlotId::decode(bad), None, "{bad}");
        }
        assert!(busy_slot_appointment("busy.not-a-uuid").is_none());
    }

    #[test]
    fn every_status_a_booking_can_have_maps_back_to_itself() {
        for s in [
            AppointmentStatus::Pending,
            AppointmentStatus::Confirmed,
            AppointmentStatus::Cancelled,
            AppointmentStatus::Completed,
            AppointmentStatus::NoShow,
        ] {
            assert_eq!(status_from_code(status_code(s)), Some(s));
        }
        assert_eq!(status_from_code("arrived"), None);
    }
}
