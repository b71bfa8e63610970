//! After a call: the end-of-call report is scanned for personal data before anything is
//! stored; contact details go to contacts, identifiers and clinical sentences are encrypted,
//! and the call keeps only the redacted transcript and summary with per-type counts — all in
//! one write transaction, once per call however often the report is delivered.

pub mod tables;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::audit::{self, AuditEvent, Outcome};
use crate::auth::Caller;
use crate::calls::tables::{
    call_recency_key, CALLS, CALLS_BY_RECENCY, CLINICAL_NOTES, CONTACTS, CONTACTS_BY_EMAIL,
    CONTACTS_BY_PHONE, SECURE_IDENTIFIERS,
};
use crate::crypto::{CryptoError, Sealed, Vault};
use crate::domain::{OrgId, PhoneNumber};
use crate::pii::{self, Detector, Entity, EntityType, Known, Route};
use crate::store::OrgReads;
use crate::store::{OrgWrite, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("not found")]
    NotFound,
    #[error("the report has no call id")]
    NoCallId,
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EntityCount {
    #[serde(rename = "type")]
    pub kind: EntityType,
    pub count: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CallRecord {
    pub call_id: String,
    pub started_at: Option<String>,
    pub ended_at: Option<String>,
    pub ended_reason: Option<String>,
    pub booked: bool,
    pub transcript_redacted: String,
    pub summary_redacted: Option<String>,
    pub entities: Vec<EntityCount>,
    pub contact_id: Option<uuid::Uuid>,
    pub recorded_at: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ContactRecord {
    pub id: uuid::Uuid,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub address: Option<String>,
    pub postcode: Option<String>,
    pub call_ids: Vec<String>,
    pub updated_at: String,
    /// Appointments this person did not come to.
    #[serde(default)]
    pub no_shows: u32,
}

/// Counts a missed appointment on the patient's contact (made from the appointment's name
/// and number when the clinic has none yet), inside the caller's transaction. The claim
/// writer calls it when staff mark a no-show; contacts have no other writer than this domain.
pub fn count_no_show(
    org: &mut OrgWrite<'_>,
    phone: &PhoneNumber,
    name: &str,
    now: &str,
) -> Result<(), StoreError> {
    let key = phone.as_str().as_bytes();
    let mut contact = match org.get(&CONTACTS_BY_PHONE, key)? {
        Some(cid) => org.get(&CONTACTS, cid.as_bytes())?.unwrap_or_default(),
        None => ContactRecord::default(),
    };
    if contact.id.is_nil() {
        contact.id = uuid::Uuid::new_v4();
        contact.phone = Some(phone.as_str().to_string());
        contact.name = Some(name.to_string());
    }
    contact.no_shows += 1;
    contact.updated_at = now.to_string();
    org.put(&CONTACTS, contact.id.as_bytes(), &contact)?;
    org.put(&CONTACTS_BY_PHONE, key, &contact.id)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClinicalNoteRecord {
    pub id: uuid::Uuid,
    pub call_id: String,
    pub created_at: String,
    pub sealed: Sealed,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SecureIdentifierRecord {
    pub id: uuid::Uuid,
    pub call_id: String,
    pub created_at: String,
    pub sealed: Sealed,
}

/// Record kinds named in the ciphertexts' associated data.
pub const NOTE_KIND: &str = "clinical_note";
pub const IDENTIFIER_KIND: &str = "secure_identifier";

/// The fields of an end-of-call report the appliance uses (message-level first, then the
/// legacy top-level shapes).
#[derive(Debug, Clone, Default)]
pub struct CallReport {
    pub call_id: String,
    pub started_at: Option<String>,
    pub ended_at: Option<String>,
    pub ended_reason: Option<String>,
    pub transcript: String,
    pub summary: Option<String>,
    pub customer_number: Option<String>,
    pub customer_name: Option<String>,
}

fn text_at(v: &Value, pointer: &str) -> Option<String> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn messages_transcript(list: &Value) -> Option<String> {
    let lines: Vec<String> = list
        .as_array()?
        .iter()
        .filter_map(|m| {
            let who = match m.get("role").and_then(Value::as_str)? {
                "bot" | "assistant" => "AI",
                "user" => "User",
                _ => return None,
            };
            let text = m
                .get("message")
                .or_else(|| m.get("content"))
                .and_then(Value::as_str)?;
            Some(format!("{who}: {text}"))
        })
        .collect();
    (!lines.is_empty()).then(|| lines.join("\n"))
}

impl CallReport {
    /// Reads an `end-of-call-report` message object.
    pub fn read(message: &Value) -> Result<CallReport, CallError> {
        let call_id = text_at(message, "/call/id")
            .filter(|id| crate::domain::has_text(id))
            .ok_or(CallError::NoCallId)?;
        let transcript = text_at(message, "/artifact/transcript")
            .or_else(|| {
                message
                    .pointer("/artifact/messages")
                    .and_then(messages_transcript)
            })
            .or_else(|| text_at(message, "/transcript"))
            .or_else(|| message.get("messages").and_then(messages_transcript))
            .unwrap_or_default();
        Ok(CallReport {
            call_id,
            started_at: text_at(message, "/startedAt"),
            ended_at: text_at(message, "/endedAt"),
            ended_reason: text_at(message, "/endedReason"),
            transcript,
            summary: text_at(message, "/analysis/summary").or_else(|| text_at(message, "/summary")),
            customer_number: text_at(message, "/customer/number")
                .or_else(|| text_at(message, "/call/customer/number")),
            customer_name: text_at(message, "/customer/name")
                .or_else(|| text_at(message, "/call/customer/name")),
        })
    }
}

pub struct CallService {
    store: Store,
    vault: Arc<Vault>,
    detector: Arc<Detector>,
    bookings: Arc<dyn CallBookings>,
}

/// What the calls domain asks of the booking domain when filing a call, inside the filing's
/// transaction: was an appointment for this number booked on this call? (The booking domain
/// implements it; calls does not read appointments itself.)
pub trait CallBookings: Send + Sync {
    fn booked_on_call(
        &self,
        o: &OrgWrite<'_>,
        phone: &str,
        call_id: &str,
    ) -> Result<bool, StoreError>;
}

fn first_of(entities: &[Entity], kind: EntityType) -> Option<String> {
    entities
        .iter()
        .filter(|e| e.kind == kind)
        .max_by(|a, b| a.score.total_cmp(&b.score))
        .map(|e| e.text.clone())
}

/// What the detector found in a call's text, ready to be filed.
struct Findings<'a> {
    call_id: &'a str,
    /// The number the network gave for the caller, if it parsed.
    caller_phone: Option<&'a PhoneNumber>,
    /// The caller's name as Vapi knows it.
    caller_name: Option<&'a str>,
    region: &'a str,
    entities: &'a [Entity],
    /// The sentences that carry clinical content, to be sealed as one note.
    clinical_sentences: Vec<String>,
}

/// The caller's number: the network's, else the first number they said.
fn phone_of(
    caller_phone: Option<&PhoneNumber>,
    entities: &[Entity],
    region: &str,
) -> Option<String> {
    caller_phone.map(|p| p.as_str().to_string()).or_else(|| {
        first_of(entities, EntityType::Phone)
            .and_then(|p| PhoneNumber::parse(&p, region).ok())
            .map(|p| p.as_str().to_string())
    })
}

/// Files findings inside the caller's write transaction, the one way personal data from a call
/// is kept: contact details merged into the org's contact for the caller (by phone, else
/// email), each identifier sealed on its own, the clinical sentences sealed as one note; every
/// step audited by id. Returns the contact's id when there were contact details.
fn file_findings(
    o: &mut crate::store::OrgWrite<'_>,
    vault: &Vault,
    f: Findings<'_>,
    now: &str,
) -> Result<Option<uuid::Uuid>, CallError> {
    let phone = phone_of(f.caller_phone, f.entities, f.region);
    let email = first_of(f.entities, EntityType::Email).map(|e| e.to_lowercase());
    let name = f
        .caller_name
        .map(str::to_string)
        .or_else(|| first_of(f.entities, EntityType::Person));
    let address = first_of(f.entities, EntityType::Address);
    let postcode = first_of(f.entities, EntityType::Postcode);
    let existing = match (&phone, &email) {
        (Some(p), _) if o.get(&CONTACTS_BY_PHONE, p.as_bytes())?.is_some() => {
            o.get(&CONTACTS_BY_PHONE, p.as_bytes())?
        }
        (_, Some(e)) => o.get(&CONTACTS_BY_EMAIL, e.as_bytes())?,
        _ => None,
    };
    let has_details = phone.is_some()
        || email.is_some()
        || name.is_some()
        || address.is_some()
        || postcode.is_some();
    let contact_id = if has_details {
        let mut c = match existing {
            Some(id) => o.get(&CONTACTS, id.as_bytes())?.unwrap_or_default(),
            None => ContactRecord {
                id: uuid::Uuid::new_v4(),
                ..Default::default()
            },
        };
        if c.id.is_nil() {
            c.id = uuid::Uuid::new_v4();
        }
        c.phone = phone.or(c.phone);
        c.email = email.or(c.email);
        c.name = name.or(c.name);
        c.address = address.or(c.address);
        c.postcode = postcode.or(c.postcode);
        if !c.call_ids.iter().any(|id| id == f.call_id) {
            c.call_ids.push(f.call_id.to_string());
        }
        c.updated_at = now.to_string();
        o.put(&CONTACTS, c.id.as_bytes(), &c)?;
        if let Some(p) = &c.phone {
            o.put(&CONTACTS_BY_PHONE, p.as_bytes(), &c.id)?;
        }
        if let Some(e) = &c.email {
            o.put(&CONTACTS_BY_EMAIL, e.as_bytes(), &c.id)?;
        }
        audit::success(
            o,
            "system:call_intake",
            "contact_upserted",
            format!("contact:{}", c.id),
            Utc::now(),
        )?;
        Some(c.id)
    } else {
        None
    };

    for e in f
        .entities
        .iter()
        .filter(|e| e.kind.route() == Route::Identifier)
    {
        let id = uuid::Uuid::new_v4();
        let plain = serde_json::json!({"type": e.kind, "value": e.text}).to_string();
        let sealed = vault.seal(o, IDENTIFIER_KIND, &id.to_string(), plain.as_bytes(), now)?;
        o.put(
            &SECURE_IDENTIFIERS,
            id.as_bytes(),
            &SecureIdentifierRecord {
                id,
                call_id: f.call_id.to_string(),
                created_at: now.to_string(),
                sealed,
            },
        )?;
        audit::success(
            o,
            "system:call_intake",
            "identifier_stored",
            format!("identifier:{id} {}", e.kind.name()),
            Utc::now(),
        )?;
    }

    if !f.clinical_sentences.is_empty() {
        let id = uuid::Uuid::new_v4();
        let sealed = vault.seal(
            o,
            NOTE_KIND,
            &id.to_string(),
            f.clinical_sentences.join("\n").as_bytes(),
            now,
        )?;
        o.put(
            &CLINICAL_NOTES,
            id.as_bytes(),
            &ClinicalNoteRecord {
                id,
                call_id: f.call_id.to_string(),
                created_at: now.to_string(),
                sealed,
            },
        )?;
        audit::success(
            o,
            "system:call_intake",
            "clinical_note_created",
            format!("clinical_note:{id}"),
            Utc::now(),
        )?;
    }
    Ok(contact_id)
}

impl CallService {
    /// Files what a caller said into a voice-agent tool's free-text argument (a booking's
    /// notes, a cancel reason) the way a transcript is filed (`file_findings`), and returns
    /// the text to keep in its place: redacted. Text with no personal data in it is returned
    /// as it is, without a write.
    pub async fn file_spoken_text(
        &self,
        org: OrgId,
        call_id: Option<&str>,
        caller_number: Option<&str>,
        text: String,
        phone_region: &str,
    ) -> Result<String, CallError> {
        let caller_phone = caller_number.and_then(|n| PhoneNumber::parse(n, phone_region).ok());
        let known = Known {
            names: Vec::new(),
            phones: caller_phone
                .iter()
                .map(|p| p.as_str().to_string())
                .collect(),
        };
        let entities = self.detector.detect(&text, &known);
        if entities.is_empty() {
            return Ok(text);
        }
        let redacted = pii::redact(&text, &entities);
        let sentences = pii::clinical_sentences(&text, &entities);
        let vault = self.vault.clone();
        let call_id = call_id.unwrap_or("unknown").to_string();
        let region = phone_region.to_string();
        self.store
            .write(move |w| {
                let now = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
                file_findings(
                    &mut w.org(org),
                    &vault,
                    Findings {
                        call_id: &call_id,
                        caller_phone: caller_phone.as_ref(),
                        caller_name: None,
                        region: &region,
                        entities: &entities,
                        clinical_sentences: sentences,
                    },
                    &now,
                )
            })
            .await?;
        Ok(redacted)
    }

    pub fn new(
        store: Store,
        vault: Arc<Vault>,
        detector: Arc<Detector>,
        bookings: Arc<dyn CallBookings>,
    ) -> Self {
        Self {
            store,
            vault,
            detector,
            bookings,
        }
    }

    /// Files a call from its end-of-call report. A report for a call already filed changes
    /// nothing. Returns the call id.
    pub async fn ingest(
        &self,
        org: OrgId,
        report: CallReport,
        phone_region: &str,
    ) -> Result<String, CallError> {
        let caller_phone = report
            .customer_number
            .as_deref()
            .and_then(|n| PhoneNumber::parse(n, phone_region).ok());
        let known = Known {
            names: report.customer_name.iter().cloned().collect(),
            phones: caller_phone
                .iter()
                .map(|p| p.as_str().to_string())
                .collect(),
        };
        let in_transcript = self.detector.detect(&report.transcript, &known);
        let summary = report.summary.clone().unwrap_or_default();
        let in_summary = self.detector.detect(&summary, &known);
        let vault = self.vault.clone();
        let bookings = self.bookings.clone();
        let region = phone_region.to_string();
        self.store
            .write(move |w| {
                let now = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
                let call_key = report.call_id.as_bytes();
                if w.org(org).get(&CALLS, call_key)?.is_some() {
                    return Ok(report.call_id.clone());
                }
                let all: Vec<&Entity> = in_transcript.iter().chain(in_summary.iter()).collect();
                let mut counts: BTreeMap<EntityType, usize> = BTreeMap::new();
                for e in &all {
                    *counts.entry(e.kind).or_default() += 1;
                }

                let owned: Vec<Entity> = all.iter().map(|e| (*e).clone()).collect();
                let mut o = w.org(org);
                let sentences = {
                    let mut s = pii::clinical_sentences(&report.transcript, &in_transcript);
                    s.extend(pii::clinical_sentences(&summary, &in_summary));
                    s
                };
                let contact_id = file_findings(
                    &mut o,
                    &vault,
                    Findings {
                        call_id: &report.call_id,
                        caller_phone: caller_phone.as_ref(),
                        caller_name: report.customer_name.as_deref(),
                        region: &region,
                        entities: &owned,
                        clinical_sentences: sentences,
                    },
                    &now,
                )?;
                let phone = phone_of(caller_phone.as_ref(), &owned, &region);

                // Was something booked on this call?
                let booked = match &phone {
                    Some(p) => bookings.booked_on_call(&o, p, &report.call_id)?,
                    None => false,
                };
                let record = CallRecord {
                    call_id: report.call_id.clone(),
                    started_at: report.started_at.clone(),
                    ended_at: report.ended_at.clone(),
                    ended_reason: report.ended_reason.clone(),
                    booked,
                    transcript_redacted: pii::redact(&report.transcript, &in_transcript),
                    summary_redacted: report.summary.as_ref().map(|s| pii::redact(s, &in_summary)),
                    entities: counts
                        .into_iter()
                        .map(|(kind, count)| EntityCount { kind, count })
                        .collect(),
                    contact_id,
                    recorded_at: now.clone(),
                };
                o.put(&CALLS, call_key, &record)?;
                let filed = Utc::now();
                o.put(
                    &CALLS_BY_RECENCY,
                    &call_recency_key(filed, &record.call_id),
                    &filed,
                )?;
                audit::success(
                    &mut o,
                    "system:call_intake",
                    "call_recorded",
                    format!("call:{}", audit::caller_reference(&report.call_id)),
                    Utc::now(),
                )?;
                Ok::<_, CallError>(report.call_id.clone())
            })
            .await
    }

    pub async fn call(&self, org: OrgId, call_id: String) -> Result<CallRecord, CallError> {
        self.store
            .read(move |r| {
                r.org(org)
                    .require(&CALLS, call_id.as_bytes(), CallError::NotFound)
            })
            .await
    }

    /// The most recent `limit` filed calls, newest first (by when they were filed), read
    /// through the recency index.
    pub async fn recent(&self, org: OrgId, limit: usize) -> Result<Vec<CallRecord>, CallError> {
        self.store
            .read(move |r| {
                let o = r.org(org);
                let mut calls = Vec::new();
                for (key, _) in o.scan(&CALLS_BY_RECENCY, &[], None, limit)? {
                    let call_id = key.get(8..).unwrap_or_default();
                    if let Some(call) = o.get(&CALLS, call_id)? {
                        calls.push(call);
                    }
                }
                Ok(calls)
            })
            .await
    }

    pub async fn contacts(
        &self,
        org: OrgId,
        phone: Option<String>,
    ) -> Result<Vec<ContactRecord>, CallError> {
        self.store
            .read(move |r| {
                let o = r.org(org);
                Ok(match phone {
                    Some(p) => match o.get(&CONTACTS_BY_PHONE, p.as_bytes())? {
                        Some(id) => o.get(&CONTACTS, id.as_bytes())?.into_iter().collect(),
                        None => Vec::new(),
                    },
                    None => o
                        .scan(&CONTACTS, &[], None, 100_000)?
                        .into_iter()
                        .map(|(_, c)| c)
                        .collect(),
                })
            })
            .await
    }

    /// Notes (without content), optionally of one call.
    pub async fn notes(
        &self,
        org: OrgId,
        call_id: Option<String>,
    ) -> Result<Vec<ClinicalNoteRecord>, CallError> {
        self.store
            .read(move |r| {
                let list = r.org(org).scan(&CLINICAL_NOTES, &[], None, 100_000)?;
                Ok(list
                    .into_iter()
                    .map(|(_, n)| n)
                    .filter(|n| call_id.as_ref().is_none_or(|c| &n.call_id == c))
                    .collect())
            })
            .await
    }

    /// Decrypts one note and records who read it, in the same transaction.
    pub async fn read_note(
        &self,
        caller: Caller,
        id: uuid::Uuid,
    ) -> Result<(ClinicalNoteRecord, String), CallError> {
        let vault = self.vault.clone();
        let result = self
            .store
            .write(move |w| {
                let mut o = w.org(caller.org);
                let note = o.require(&CLINICAL_NOTES, id.as_bytes(), CallError::NotFound)?;
                let plain = vault.open_in(&o, NOTE_KIND, &id.to_string(), &note.sealed);
                let outcome = if plain.is_ok() {
                    Outcome::Success
                } else {
                    Outcome::Failure
                };
                audit::append(
                    &mut o,
                    AuditEvent::new(
                        caller.actor(),
                        "clinical_note_read",
                        format!("clinical_note:{id}"),
                        outcome,
                    ),
                    Utc::now(),
                )?;
                // The read is audited whether or not it succeeds; the entry commits either way.
                Ok::<_, CallError>((note, plain))
            })
            .await?;
        let (note, plain) = result;
        Ok((note, String::from_utf8_lossy(&plain?).into_owned()))
    }

    /// Crypto-shreds the org: destroys its data keys so its notes and identifiers can never be
    /// read again.
    pub async fn shred(&self, org: OrgId) -> Result<usize, CallError> {
        let vault = self.vault.clone();
        self.store
            .write(move |w| {
                let mut o = w.org(org);
                let n = vault.shred(&mut o)?;
                audit::success(
                    &mut o,
                    "system:cli",
                    "keys_shredded",
                    format!("org:{org}"),
                    Utc::now(),
                )?;
                Ok::<_, CallError>(n)
            })
            .await
    }
}

/// Seals the org's clinical notes and identifiers again under its current key version, in
/// the key rotation's transaction; returns how many.
pub fn reseal_in(vault: &Vault, o: &mut OrgWrite<'_>, now: &str) -> Result<usize, CallError> {
    let mut count = 0;
    for (k, mut n) in o.scan(&CLINICAL_NOTES, &[], None, usize::MAX)? {
        let plain = vault.open_in(o, NOTE_KIND, &n.id.to_string(), &n.sealed)?;
        n.sealed = vault.seal(o, NOTE_KIND, &n.id.to_string(), &plain, now)?;
        o.put(&CLINICAL_NOTES, &k, &n)?;
        count += 1;
    }
    for (k, mut s) in o.scan(&SECURE_IDENTIFIERS, &[], None, usize::MAX)? {
        let plain = vault.open_in(o, IDENTIFIER_KIND, &s.id.to_string(), &s.sealed)?;
        s.sealed = vault.seal(o, IDENTIFIER_KIND, &s.id.to_string(), &plain, now)?;
        o.put(&SECURE_IDENTIFIERS, &k, &s)?;
        count += 1;
    }
    Ok(count)
}
