//! After the call: a caller who rang and did not book becomes a lead, and when the procedure
//! they asked about is known they are texted its guide and a way to book (the seeds' "Task 2"),
//! once per call however the end of the call is reported; the clinic's procedure catalogue,
//! SMS consent (opt-outs, quiet hours, one follow-up per number per window) and the leads'
//! progress. Messages travel through the durable outbox (`integrations::twilio`); what decides a
//! message when it falls due is here (`decide`).

pub mod catalogue;
pub mod due;
pub mod message;
pub mod records;

pub use due::{reminder_id, Decision};

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;

use crate::audit;
use crate::booking::phone_index::PhoneIndex;
use crate::booking::records::ClinicSettings;
use crate::booking::tables::{APPOINTMENTS, CLINIC_SETTINGS};
use crate::clock::Clock;
use crate::domain::{FieldError, OrgId, PhoneNumber, Validation};
use crate::followup::records::{
    FOLLOWUPS, FOLLOWUP_STATE, LEADS, LEADS_BY_CALL, LEADS_BY_PHONE, PROCEDURES, SMS_OPT_OUTS,
    SMS_TEXTED, TWILIO_MESSAGES,
};
use crate::identity::tables::ORGS;

use crate::store::OrgReads;
use crate::store::{OrgRead, OrgWrite, Store, StoreError};
use records::{
    FollowUpPurpose, FollowUpRecord, FollowUpStatus, LeadRecord, LeadStatus, OptOutRecord,
    ProcedureRecord,
};

#[derive(Debug, thiserror::Error)]
pub enum FollowUpError {
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The end of a call, however it was reported: Vapi's `end-of-call-report` or `status-update`
/// (`ended`), or the seeds' `call_ended` webhook.
#[derive(Debug, Clone, Default)]
pub struct CallEnded {
    pub call_id: String,
    /// The caller's number as the network gave it.
    pub caller_number: Option<String>,
    pub caller_name: Option<String>,
    /// The procedure as the assistant's analysis or the webhook named it.
    pub keyword: Option<String>,
    pub transcript: Option<String>,
}

/// What the end of a call led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallOutcome {
    /// The call booked: no lead, no message.
    Booked,
    /// A lead (new or already there), and the follow-up message if one was made.
    Lead {
        lead_id: uuid::Uuid,
        followup_id: Option<uuid::Uuid>,
    },
    /// No caller number and nothing to follow up.
    Nothing,
}

/// A change to a lead, from staff.
#[derive(Debug, Clone)]
pub struct LeadFilter {
    pub status: Option<LeadStatus>,
    pub procedure: Option<String>,
    pub since: Option<DateTime<Utc>>,
}

/// A procedure as staff send it.
#[derive(Debug, Clone)]
pub struct ProcedureInput {
    pub name: String,
    pub synonyms: Vec<String>,
    pub guide_link: String,
    pub sms_template: Option<String>,
    pub agent_name: Option<String>,
}

impl ProcedureInput {
    fn check(&self) -> Result<(), FollowUpError> {
        let mut v = Validation::new();
        let text = |s: &str, max: usize| {
            if !crate::domain::has_text(s) || s.chars().count() > max {
                Err(format!("must be 1 to {max} characters"))
            } else {
                Ok(())
            }
        };
        v.check("name", text(&self.name, 100));
        v.check(
            "synonyms",
            if self.synonyms.len() > 50 {
                Err("at most 50".to_string())
            } else {
                self.synonyms.iter().try_for_each(|s| text(s, 100))
            },
        );
        v.check(
            "guide_link",
            text(&self.guide_link, 500).and_then(|_| {
                let g = self.guide_link.trim();
                if g.starts_with('/') || g.starts_with("https://") || g.starts_with("http://") {
                    Ok(())
                } else {
                    Err("must be a path (/guides/…) or an http(s) URL".into())
                }
            }),
        );
        if let Some(t) = &self.sms_template {
            v.check("sms_template", message::check_template(t));
        }
        if let Some(a) = &self.agent_name {
            v.check("agent_name", text(a, 60));
        }
        v.finish().map_err(FollowUpError::Invalid)
    }
}

pub struct FollowUpService {
    store: Store,
    clock: Clock,
    /// Wakes the outbox worker when a message is queued.
    wake: Arc<tokio::sync::Notify>,
    phones: Arc<PhoneIndex>,
    /// The install's public URL (relative guide links; what Twilio signs).
    public_url: String,
}

/// A clinic's settings, name and zone, read inside a transaction.
pub(crate) struct Clinic {
    pub(crate) settings: ClinicSettings,
    pub(crate) name: String,
    pub(crate) tz: Tz,
}

pub(crate) fn clinic_from(
    settings: Option<ClinicSettings>,
    record: Option<crate::identity::records::OrgRecord>,
) -> Clinic {
    Clinic {
        settings: settings.unwrap_or_default(),
        tz: record
            .as_ref()
            .and_then(|o| o.timezone.parse().ok())
            .unwrap_or(chrono_tz::UTC),
        name: record.map(|o| o.name).unwrap_or_default(),
    }
}

/// The catalogue as stored, or the defaults while the clinic has never written it.
fn catalogue_of(stored: Vec<ProcedureRecord>, written: bool, org: OrgId) -> Vec<ProcedureRecord> {
    if written {
        stored
    } else {
        catalogue::defaults(org)
    }
}

fn read_catalogue(o: &OrgRead<'_>, org: OrgId) -> Result<Vec<ProcedureRecord>, StoreError> {
    let written = o.get(&FOLLOWUP_STATE, b"catalogue")?.is_some();
    let stored = o
        .scan(&PROCEDURES, &[], None, 1000)?
        .into_iter()
        .map(|(_, p)| p)
        .collect();
    Ok(catalogue_of(stored, written, org))
}

fn write_catalogue_view(o: &OrgWrite<'_>, org: OrgId) -> Result<Vec<ProcedureRecord>, StoreError> {
    let written = o.get(&FOLLOWUP_STATE, b"catalogue")?.is_some();
    let stored = o
        .scan(&PROCEDURES, &[], None, 1000)?
        .into_iter()
        .map(|(_, p)| p)
        .collect();
    Ok(catalogue_of(stored, written, org))
}

/// Before the first change to a clinic's catalogue, its defaults are stored under their ids.
fn materialise_catalogue(o: &mut OrgWrite<'_>, org: OrgId) -> Result<(), StoreError> {
    if o.get(&FOLLOWUP_STATE, b"catalogue")?.is_some() {
        return Ok(());
    }
    for p in catalogue::defaults(org) {
        o.put(&PROCEDURES, p.id.as_bytes(), &p)?;
    }
    o.put(&FOLLOWUP_STATE, b"catalogue", &serde_json::json!(true))
}

/// How far back a call's bookings are looked for (appointment ids are time-ordered).
const CALL_LOOKBACK_HOURS: i64 = 12;

/// Whether an active appointment was booked in call `call_id`: those of the caller's number,
/// then every appointment created in the last `CALL_LOOKBACK_HOURS` (a caller may book under
/// another number than the one they rang from).
fn booked_in_call(
    o: &OrgWrite<'_>,
    phones: &PhoneIndex,
    org: OrgId,
    phone: Option<&PhoneNumber>,
    call_id: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let in_call = |a: &crate::booking::records::AppointmentRecord| {
        a.status.is_active() && a.vapi_call_id.as_deref() == Some(call_id)
    };
    if let Some(p) = phone {
        for id in phones.ids(org, p.as_str()) {
            if o.get(&APPOINTMENTS, &id.as_bytes())?
                .is_some_and(|a| in_call(&a))
            {
                return Ok(true);
            }
        }
    }
    let since = (now - Duration::hours(CALL_LOOKBACK_HOURS))
        .timestamp_millis()
        .max(0) as u128;
    // A UUIDv7 starts with its 48-bit millisecond timestamp.
    let bound = ((since & 0xffff_ffff_ffff) << 80).to_be_bytes();
    Ok(o.scan(&APPOINTMENTS, &[], Some(&bound), 10_000)?
        .iter()
        .any(|(_, a)| in_call(a)))
}

/// `link` as the caller can open it: relative links resolved against the clinic's public URL.
fn absolute(link: &str, base: &str) -> String {
    if link.starts_with("http://") || link.starts_with("https://") {
        link.to_string()
    } else {
        format!(
            "{}/{}",
            base.trim_end_matches('/'),
            link.trim_start_matches('/')
        )
    }
}

impl FollowUpService {
    pub fn new(
        store: Store,
        clock: Clock,
        wake: Arc<tokio::sync::Notify>,
        phones: Arc<PhoneIndex>,
        public_url: String,
    ) -> Self {
        Self {
            store,
            clock,
            wake,
            phones,
            public_url,
        }
    }

    /// Files the end of a call (see the module's rule). Idempotent per call id: a second or
    /// later report adds at most what the first could not know (the procedure, and then the
    /// one message), never a second lead or message.
    pub async fn call_ended(
        &self,
        org: OrgId,
        ended: CallEnded,
    ) -> Result<CallOutcome, FollowUpError> {
        let now = (self.clock)();
        let phones = self.phones.clone();
        let public_url = self.public_url.clone();
        let outcome = self
            .store
            .write(move |w| {
                let org_record = w.global_get(&ORGS, &org.as_bytes())?;
                let mut o = w.org(org);
                let clinic = clinic_from(o.get(&CLINIC_SETTINGS, b"settings")?, org_record);
                let phone = ended
                    .caller_number
                    .as_deref()
                    .and_then(|n| PhoneNumber::parse(n, &clinic.settings.phone_region).ok());

                // Did this call book? The ledger's word, not the caller's: any active
                // appointment made in this call, under whatever number.
                if booked_in_call(&o, &phones, org, phone.as_ref(), &ended.call_id, now)? {
                    return Ok(CallOutcome::Booked);
                }

                let catalogue = write_catalogue_view(&o, org)?;
                let procedure = ended
                    .keyword
                    .as_deref()
                    .and_then(|k| catalogue::named(&catalogue, k))
                    .or_else(|| {
                        let turns = catalogue::caller_turns(ended.transcript.as_deref()?);
                        catalogue::Matcher::new(&catalogue)
                            .best(&turns)
                            .map(|i| &catalogue[i])
                    })
                    .cloned();

                let existing = o.get(&LEADS_BY_CALL, ended.call_id.as_bytes())?;
                let mut lead = match existing {
                    Some(id) => match o.get(&LEADS, id.as_bytes())? {
                        Some(l) => l,
                        None => return Ok(CallOutcome::Nothing),
                    },
                    None => {
                        if phone.is_none() && procedure.is_none() {
                            return Ok(CallOutcome::Nothing);
                        }
                        let lead = LeadRecord {
                            id: uuid::Uuid::now_v7(),
                            call_id: ended.call_id.clone(),
                            phone: phone.as_ref().map(|p| p.as_str().to_string()),
                            name: ended.caller_name.clone().filter(|n| !n.trim().is_empty()),
                            procedure: None,
                            status: LeadStatus::New,
                            followup_id: None,
                            created_at: now,
                            updated_at: now,
                        };
                        o.put(&LEADS_BY_CALL, ended.call_id.as_bytes(), &lead.id)?;
                        if let Some(p) = &phone {
                            o.put(&LEADS_BY_PHONE, p.as_str().as_bytes(), &lead.id)?;
                        }
                        audit::success(
                            &mut o,
                            "system:call_intake",
                            "lead_created",
                            format!("lead:{}", lead.id),
                            now,
                        )?;
                        lead
                    }
                };
                if lead.procedure.is_none() {
                    lead.procedure = procedure.as_ref().map(|p| p.name.clone());
                }
                if lead.name.is_none() {
                    lead.name = ended.caller_name.clone().filter(|n| !n.trim().is_empty());
                }
                if let (None, Some(p)) = (&lead.phone, &phone) {
                    lead.phone = Some(p.as_str().to_string());
                    o.put(&LEADS_BY_PHONE, p.as_str().as_bytes(), &lead.id)?;
                }
                lead.updated_at = now;

                if let (None, Some(procedure), Some(to)) = (lead.followup_id, &procedure, &phone) {
                    let base = clinic
                        .settings
                        .public_url
                        .clone()
                        .unwrap_or_else(|| public_url.clone());
                    let agent = procedure
                        .agent_name
                        .clone()
                        .unwrap_or_else(|| catalogue::DEFAULT_AGENT.to_string());
                    let guide = absolute(&procedure.guide_link, &base);
                    let booking_link = clinic.settings.booking_link.clone();
                    let (template_name, source) = match &procedure.sms_template {
                        Some(t) => (procedure.name.clone(), t.as_str()),
                        None => ("default".to_string(), message::DEFAULT_TEMPLATE),
                    };
                    let body = message::render(
                        source,
                        &message::Variables {
                            patient_name: lead.name.clone(),
                            procedure: Some(procedure.name.clone()),
                            pdf_link: Some(guide.clone()),
                            booking_link: booking_link.clone(),
                            clinic_name: Some(clinic.name.clone()).filter(|n| !n.is_empty()),
                            agent_name: Some(agent.clone()),
                        },
                    );
                    let mut followup = FollowUpRecord::queued(
                        uuid::Uuid::now_v7(),
                        FollowUpPurpose::CallFollowUp,
                        to.as_str().to_string(),
                        body,
                        template_name,
                        agent,
                        now,
                    );
                    followup.lead_id = Some(lead.id);
                    followup.call_id = Some(ended.call_id.clone());
                    followup.procedure = Some(procedure.name.clone());
                    followup.guide_link = Some(guide);
                    followup.booking_link = booking_link;
                    lead.followup_id = Some(followup.id);
                    records::queue_text(w, org, &followup, "system:call_intake", now)?;
                    o = w.org(org);
                }
                o.put(&LEADS, lead.id.as_bytes(), &lead)?;
                Ok::<_, FollowUpError>(CallOutcome::Lead {
                    lead_id: lead.id,
                    followup_id: lead.followup_id,
                })
            })
            .await?;
        if matches!(
            outcome,
            CallOutcome::Lead {
                followup_id: Some(_),
                ..
            }
        ) {
            self.wake.notify_one();
        }
        Ok(outcome)
    }

    // ---- what staff read and change ----------------------------------------------------

    pub async fn leads(
        &self,
        org: OrgId,
        filter: LeadFilter,
    ) -> Result<Vec<LeadRecord>, FollowUpError> {
        Ok(self
            .all_of(org, &LEADS)
            .await?
            .into_iter()
            .filter(|l: &LeadRecord| filter.status.is_none_or(|s| l.status == s))
            .filter(|l| {
                filter.procedure.as_deref().is_none_or(|p| {
                    l.procedure
                        .as_deref()
                        .is_some_and(|lp| lp.eq_ignore_ascii_case(p))
                })
            })
            .filter(|l| filter.since.is_none_or(|s| l.created_at >= s))
            .collect())
    }

    pub async fn lead(&self, org: OrgId, id: uuid::Uuid) -> Result<LeadRecord, FollowUpError> {
        self.store
            .read(move |r| {
                r.org(org)
                    .require(&LEADS, id.as_bytes(), FollowUpError::NotFound)
            })
            .await
    }

    pub async fn set_lead_status(
        &self,
        org: OrgId,
        actor: String,
        id: uuid::Uuid,
        status: LeadStatus,
    ) -> Result<LeadRecord, FollowUpError> {
        let now = (self.clock)();
        self.store
            .write(move |w| {
                let mut o = w.org(org);
                let mut lead = o.require(&LEADS, id.as_bytes(), FollowUpError::NotFound)?;
                lead.status = status;
                lead.updated_at = now;
                o.put(&LEADS, id.as_bytes(), &lead)?;
                audit::success(&mut o, actor, "lead_status_set", format!("lead:{id}"), now)?;
                Ok(lead)
            })
            .await
    }

    /// Every record of one of the org's tables, in key order.
    async fn all_of<V>(
        &self,
        org: OrgId,
        table: &'static crate::store::tables::TenantTable<V>,
    ) -> Result<Vec<V>, FollowUpError>
    where
        V: crate::store::codec::Stored + Send + 'static,
    {
        self.store
            .read(move |r| {
                Ok(r.org(org)
                    .scan(table, &[], None, 100_000)?
                    .into_iter()
                    .map(|(_, v)| v)
                    .collect())
            })
            .await
    }

    pub async fn followups(&self, org: OrgId) -> Result<Vec<FollowUpRecord>, FollowUpError> {
        self.all_of(org, &FOLLOWUPS).await
    }

    pub async fn opt_outs(&self, org: OrgId) -> Result<Vec<OptOutRecord>, FollowUpError> {
        self.all_of(org, &SMS_OPT_OUTS).await
    }

    pub async fn procedures(&self, org: OrgId) -> Result<Vec<ProcedureRecord>, FollowUpError> {
        self.store
            .read(move |r| Ok(read_catalogue(&r.org(org), org)?))
            .await
    }

    /// Adds (`id` none) or replaces a procedure of the clinic's catalogue.
    pub async fn put_procedure(
        &self,
        org: OrgId,
        actor: String,
        id: Option<uuid::Uuid>,
        input: ProcedureInput,
    ) -> Result<ProcedureRecord, FollowUpError> {
        input.check()?;
        let now = (self.clock)();
        self.store
            .write(move |w| {
                let mut o = w.org(org);
                materialise_catalogue(&mut o, org)?;
                let id = match id {
                    Some(id) if o.get(&PROCEDURES, id.as_bytes())?.is_some() => id,
                    Some(_) => return Err(FollowUpError::NotFound),
                    None => uuid::Uuid::now_v7(),
                };
                let others = write_catalogue_view(&o, org)?;
                let clash = others
                    .iter()
                    .any(|p| p.id != id && p.name.trim().eq_ignore_ascii_case(input.name.trim()));
                if clash {
                    return Err(FollowUpError::Invalid(vec![FieldError::new(
                        "name",
                        "another procedure has this name",
                    )]));
                }
                let p = ProcedureRecord {
                    id,
                    name: input.name.trim().to_string(),
                    synonyms: input
                        .synonyms
                        .iter()
                        .map(|s| s.trim().to_string())
                        .collect(),
                    guide_link: input.guide_link.trim().to_string(),
                    sms_template: input.sms_template,
                    agent_name: input.agent_name.map(|a| a.trim().to_string()),
                };
                o.put(&PROCEDURES, id.as_bytes(), &p)?;
                audit::success(
                    &mut o,
                    actor,
                    "procedure_saved",
                    format!("procedure:{id}"),
                    now,
                )?;
                Ok(p)
            })
            .await
    }

    pub async fn delete_procedure(
        &self,
        org: OrgId,
        actor: String,
        id: uuid::Uuid,
    ) -> Result<(), FollowUpError> {
        let now = (self.clock)();
        self.store
            .write(move |w| {
                let mut o = w.org(org);
                materialise_catalogue(&mut o, org)?;
                if !o.remove(&PROCEDURES, id.as_bytes())? {
                    return Err(FollowUpError::NotFound);
                }
                audit::success(
                    &mut o,
                    actor,
                    "procedure_deleted",
                    format!("procedure:{id}"),
                    now,
                )?;
                Ok(())
            })
            .await
    }

    // ---- what Twilio tells us ------------------------------------------------------------

    /// A status callback for message `sid`: moves its follow-up forward (never back: a late
    /// `sent` does not undo `delivered`). Unknown sids change nothing.
    pub async fn message_status(
        &self,
        sid: String,
        status: &str,
        error_code: Option<String>,
    ) -> Result<bool, FollowUpError> {
        let Some(status) = FollowUpStatus::from_twilio(status) else {
            return Ok(false);
        };
        let now = (self.clock)();
        self.store
            .write(move |w| {
                let Some(entry) = w.global_get(&TWILIO_MESSAGES, sid.as_bytes())? else {
                    return Ok(false);
                };
                let mut o = w.org(entry.org_id);
                let Some(mut f) = o.get(&FOLLOWUPS, entry.followup_id.as_bytes())? else {
                    return Ok(false);
                };
                let rank = |s: FollowUpStatus| match s {
                    FollowUpStatus::Queued => 0,
                    FollowUpStatus::Sent => 1,
                    _ => 2,
                };
                if rank(status) <= rank(f.status) && status != f.status {
                    return Ok(false);
                }
                f.status = status;
                f.updated_at = now;
                if let Some(code) = error_code.filter(|c| !c.is_empty()) {
                    if code == "21610" {
                        records::opt_out(&mut o, &f.to, "twilio_21610", now)?;
                    }
                    f.error_code = Some(code);
                }
                o.put(&FOLLOWUPS, f.id.as_bytes(), &f)?;
                audit::success(
                    &mut o,
                    "system:twilio",
                    "sms_status",
                    format!(
                        "followup:{} {}",
                        f.id,
                        serde_json::to_value(status)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_string))
                            .unwrap_or_default()
                    ),
                    now,
                )?;
                Ok(true)
            })
            .await
    }

    /// A text from a caller to `to`: STOP-like words opt the number out of every clinic that
    /// texts from `to` (or, with the install's shared number, every clinic that has texted or
    /// has a lead for the number), START-like words opt it back in, HELP-like words get the
    /// clinic's help text. Returns the reply to send, if any.
    pub async fn inbound(
        &self,
        from: &str,
        to: &str,
        body: &str,
    ) -> Result<Option<String>, FollowUpError> {
        let word = records::keyword_of(body);
        enum Keyword {
            Stop,
            Start,
            Help,
        }
        let keyword = match word.as_str() {
            "STOP" | "STOPALL" | "UNSUBSCRIBE" | "CANCEL" | "END" | "QUIT" => Keyword::Stop,
            "START" | "YES" | "UNSTOP" => Keyword::Start,
            "HELP" | "INFO" => Keyword::Help,
            _ => return Ok(None),
        };
        let Ok(phone) = PhoneNumber::parse(from, "GB") else {
            return Ok(None);
        };
        let phone = phone.as_str().to_string();
        let to = to.trim().to_string();
        let to_for_record = to.clone();
        let now = (self.clock)();
        // Which clinics this number is to.
        let (orgs, help) = {
            let phone = phone.clone();
            self.store
                .read(move |r| {
                    let mut by_sender = Vec::new();
                    let mut by_history = Vec::new();
                    let mut help = None;
                    for (_, org) in r.global_scan(&ORGS, 100_000)? {
                        let o = r.org(org.id);
                        let settings: ClinicSettings =
                            o.get(&CLINIC_SETTINGS, b"settings")?.unwrap_or_default();
                        if settings.sms_from.as_deref() == Some(to.as_str()) {
                            by_sender.push(org.id);
                            help = help.or(settings
                                .sms_help_text
                                .clone()
                                .map(|h| (org.name.clone(), h)));
                        } else if settings.sms_from.is_none()
                            && (o.get(&LEADS_BY_PHONE, phone.as_bytes())?.is_some()
                                || o.get(&SMS_TEXTED, phone.as_bytes())?.is_some())
                        {
                            by_history.push(org.id);
                            help = help.or(Some((
                                org.name.clone(),
                                settings.sms_help_text.clone().unwrap_or_default(),
                            )));
                        }
                    }
                    let orgs = if by_sender.is_empty() {
                        by_history
                    } else {
                        by_sender
                    };
                    Ok::<_, FollowUpError>((orgs, help))
                })
                .await?
        };
        match keyword {
            Keyword::Help => Ok(Some(match help {
                Some((_, text)) if !text.trim().is_empty() => text,
                Some((name, _)) => format!("{name}: reply STOP to stop texts, START to get them again. For anything else, please call the clinic."),
                None => "Reply STOP to stop texts, START to get them again.".into(),
            })),
            Keyword::Stop | Keyword::Start => {
                let stop = matches!(keyword, Keyword::Stop);
                let sender = to_for_record;
                self.store
                    .write(move |w| {
                        // For the sender and the number, whoever texts from it and whether or
                        // not anyone had texted the number yet.
                        if !sender.is_empty() {
                            if stop {
                                records::sender_opt_out(w, &sender, &phone, "keyword", now)?;
                            } else {
                                w.global_remove(
                                    &records::SMS_SENDER_OPT_OUTS,
                                    &records::sender_key(&sender, &phone),
                                )?;
                            }
                        }
                        for org in orgs {
                            let mut o = w.org(org);
                            if stop {
                                records::opt_out(&mut o, &phone, "keyword", now)?;
                            } else if o.remove(&SMS_OPT_OUTS, phone.as_bytes())? {
                                audit::success(&mut o, "system:sms", "sms_opt_in", "source:keyword", now)?;
                            }
                        }
                        Ok::<_, FollowUpError>(())
                    })
                    .await?;
                Ok(None)
            }
        }
    }
}
