//! The appliance's schema: the one list of every domain's tables and of the migrations
//! between file versions, above the domains, for the store to migrate, back up, verify and
//! delete clinics with. A new table is declared in its domain and named here once.

use std::path::Path;

use crate::audit::{AUDIT_HEAD_BEFORE_6, AUDIT_LOG};
use crate::booking::tables::{
    APPOINTMENTS, APPOINTMENTS_BY_PHONE_BEFORE_7, APPOINTMENT_SLOTS_BEFORE_9, CLINIC_SETTINGS,
    CONFIRMATION_TOKENS, FEED_TOKENS, PROVIDERS, SERVICES, TOOL_CALL_EFFECTS,
};
use crate::calendar::GOOGLE_CONNECTIONS;
use crate::calls::tables::{
    CALLS, CALLS_BY_RECENCY, CLINICAL_NOTES, CONTACTS, CONTACTS_BY_EMAIL, CONTACTS_BY_PHONE,
    SECURE_IDENTIFIERS,
};
use crate::crypto::{ORG_KEYS, ORG_KEY_HEAD};
use crate::domain::OrgId;
use crate::followup::records::{
    FOLLOWUPS, FOLLOWUP_STATE, LEADS, LEADS_BY_CALL, LEADS_BY_PHONE, PROCEDURES, SMS_LAST_SENT,
    SMS_OPT_OUTS, SMS_SENDER_OPT_OUTS, SMS_TEXTED, TWILIO_MESSAGES,
};
use crate::identity::tables::{AGENT_KEYS, AGENT_KEY_INDEX, LOGIN_EMAILS, ORGS, USERS};
use crate::outbox::OUTBOX;
use crate::search::tables::{KB_CHUNKS, KB_DOCUMENTS, KB_STATE, KB_UNANSWERED, KB_VECTORS};
use crate::store::tables::{GlobalDef, Migration, Schema, TenantDef, META};
use crate::store::{Store, StoreError, StoreWrite};
use crate::waitlist::records::{WAITLIST, WAITLIST_OFFERS_BY_PHONE};

/// The schema this build reads and writes.
pub static SCHEMA: Schema = Schema {
    migrations: MIGRATIONS,
    tenant: every_tenant_table,
    global: every_global_table,
    forget_org_globals,
};

/// The schema version this build writes. Older files are migrated at start; newer ones refused.
pub const SCHEMA_VERSION: u64 = 14;

/// Opens (or creates) the database in `data_dir` with this build's schema.
pub fn open_store(data_dir: &Path) -> Result<Store, StoreError> {
    Store::open(data_dir, &SCHEMA)
}

/// The store as the install's settings say: with the write-ahead journal when it is on.
pub fn open_store_with(settings: &crate::config::StorageSettings) -> Result<Store, StoreError> {
    if settings.journal {
        Store::open_journalled(&settings.data_dir, &SCHEMA, settings.journal_limit_mb << 20)
    } else {
        Store::open(&settings.data_dir, &SCHEMA)
    }
}

/// Every tenant table of the current schema (deleting an org, backups).
fn every_tenant_table() -> Vec<TenantDef> {
    vec![
        // identity and audit
        USERS.def(),
        AGENT_KEYS.def(),
        AUDIT_LOG.def(),
        // booking
        CLINIC_SETTINGS.def(),
        SERVICES.def(),
        PROVIDERS.def(),
        APPOINTMENTS.def(),
        TOOL_CALL_EFFECTS.def(),
        // calls, contacts, sealed data and the keys that seal it
        CALLS.def(),
        CONTACTS.def(),
        CONTACTS_BY_PHONE.def(),
        CONTACTS_BY_EMAIL.def(),
        CLINICAL_NOTES.def(),
        SECURE_IDENTIFIERS.def(),
        ORG_KEYS.def(),
        ORG_KEY_HEAD.def(),
        CALLS_BY_RECENCY.def(),
        // knowledge base
        KB_DOCUMENTS.def(),
        KB_CHUNKS.def(),
        KB_VECTORS.def(),
        KB_STATE.def(),
        KB_UNANSWERED.def(),
        // after the call
        PROCEDURES.def(),
        FOLLOWUP_STATE.def(),
        LEADS.def(),
        LEADS_BY_CALL.def(),
        LEADS_BY_PHONE.def(),
        FOLLOWUPS.def(),
        SMS_OPT_OUTS.def(),
        SMS_LAST_SENT.def(),
        SMS_TEXTED.def(),
        // calendar
        GOOGLE_CONNECTIONS.def(),
        // waiting list
        WAITLIST.def(),
        WAITLIST_OFFERS_BY_PHONE.def(),
    ]
}

/// Every global table of the current schema.
fn every_global_table() -> Vec<GlobalDef> {
    vec![
        META.def(),
        ORGS.def(),
        LOGIN_EMAILS.def(),
        AGENT_KEY_INDEX.def(),
        CONFIRMATION_TOKENS.def(),
        FEED_TOKENS.def(),
        OUTBOX.def(),
        TWILIO_MESSAGES.def(),
        SMS_SENDER_OPT_OUTS.def(),
    ]
}

/// The global entries that belong to `org`: its org record and every index entry naming it.
fn forget_org_globals(w: &mut StoreWrite, org: OrgId) -> Result<usize, StoreError> {
    let mut removed = usize::from(w.global_remove(&ORGS, &org.as_bytes())?);
    removed += w.global_retain(&LOGIN_EMAILS, |e| e.org_id != org)?;
    removed += w.global_retain(&AGENT_KEY_INDEX, |e| e.org_id != org)?;
    removed += w.global_retain(&CONFIRMATION_TOKENS, |e| e.org_id != org)?;
    removed += w.global_retain(&FEED_TOKENS, |e| e.0 != org)?;
    removed += w.global_retain(&OUTBOX, |j| j.org_id != org)?;
    removed += w.global_retain(&TWILIO_MESSAGES, |m| m.org_id != org)?;
    Ok(removed)
}

/// Ordered schema steps. Append only; never edit a released step.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "create identity and audit tables",
        apply: |w| {
            w.create_tables(
                &[
                    META.def(),
                    ORGS.def(),
                    LOGIN_EMAILS.def(),
                    AGENT_KEY_INDEX.def(),
                ],
                &[
                    USERS.def(),
                    AGENT_KEYS.def(),
                    AUDIT_LOG.def(),
                    AUDIT_HEAD_BEFORE_6.def(),
                ],
            )
        },
    },
    Migration {
        version: 2,
        name: "create booking tables",
        apply: |w| {
            w.create_tables(
                &[CONFIRMATION_TOKENS.def(), FEED_TOKENS.def()],
                &[
                    CLINIC_SETTINGS.def(),
                    SERVICES.def(),
                    PROVIDERS.def(),
                    APPOINTMENTS.def(),
                    APPOINTMENT_SLOTS_BEFORE_9.def(),
                    APPOINTMENTS_BY_PHONE_BEFORE_7.def(),
                    TOOL_CALL_EFFECTS.def(),
                ],
            )
        },
    },
    Migration {
        version: 3,
        name: "create the outbox",
        apply: |w| w.create_tables(&[OUTBOX.def()], &[]),
    },
    Migration {
        version: 4,
        name: "create call, contact, clinical-note and key tables",
        apply: |w| {
            w.create_tables(
                &[],
                &[
                    CALLS.def(),
                    CONTACTS.def(),
                    CONTACTS_BY_PHONE.def(),
                    CONTACTS_BY_EMAIL.def(),
                    CLINICAL_NOTES.def(),
                    SECURE_IDENTIFIERS.def(),
                    ORG_KEYS.def(),
                    ORG_KEY_HEAD.def(),
                ],
            )
        },
    },
    Migration {
        version: 5,
        name: "create knowledge-base tables",
        apply: |w| {
            w.create_tables(
                &[],
                &[
                    KB_DOCUMENTS.def(),
                    KB_CHUNKS.def(),
                    KB_VECTORS.def(),
                    KB_STATE.def(),
                    KB_UNANSWERED.def(),
                ],
            )
        },
    },
    Migration {
        version: 6,
        name: "keep each audit chain's head in the chain's own table",
        apply: crate::audit::move_heads_into_the_log,
    },
    Migration {
        version: 7,
        name: "drop the stored phone index (kept in memory, built from the appointments)",
        apply: |w| w.delete_table(APPOINTMENTS_BY_PHONE_BEFORE_7.def()),
    },
    Migration {
        version: 8,
        // Nothing to rewrite: older JSON records keep reading. The version moves so that an
        // older build, which reads only JSON, refuses the file instead of misreading it.
        name: "appointments, audit entries and outbox jobs are written in compact layouts",
        apply: |_| Ok(()),
    },
    Migration {
        version: 9,
        name: "drop the stored slot index (kept in memory, built from the appointments)",
        apply: |w| w.delete_table(APPOINTMENT_SLOTS_BEFORE_9.def()),
    },
    Migration {
        version: 10,
        name: "create lead, follow-up, procedure and SMS consent tables",
        apply: |w| {
            w.create_tables(
                &[TWILIO_MESSAGES.def()],
                &[
                    PROCEDURES.def(),
                    FOLLOWUP_STATE.def(),
                    LEADS.def(),
                    LEADS_BY_CALL.def(),
                    LEADS_BY_PHONE.def(),
                    FOLLOWUPS.def(),
                    SMS_OPT_OUTS.def(),
                    SMS_LAST_SENT.def(),
                    SMS_TEXTED.def(),
                ],
            )
        },
    },
    Migration {
        version: 11,
        name: "create the table of clinics' own Google Calendar connections",
        apply: |w| w.create_tables(&[], &[GOOGLE_CONNECTIONS.def()]),
    },
    Migration {
        version: 12,
        name: "index filed calls by when they were filed",
        apply: crate::calls::tables::index_calls_by_recency,
    },
    Migration {
        version: 13,
        name: "create the table of opt-outs per sender and number",
        apply: |w| w.create_tables(&[SMS_SENDER_OPT_OUTS.def()], &[]),
    },
    Migration {
        version: 14,
        name: "create the waiting list's tables",
        apply: |w| w.create_tables(&[], &[WAITLIST.def(), WAITLIST_OFFERS_BY_PHONE.def()]),
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use redb::TableHandle;

    #[test]
    fn the_schema_version_is_the_newest_step() {
        assert_eq!(SCHEMA.version(), SCHEMA_VERSION);
    }

    #[test]
    fn every_table_is_listed_once() {
        let mut names: Vec<String> = every_tenant_table()
            .iter()
            .map(|d| d.name().to_string())
            .collect();
        names.extend(every_global_table().iter().map(|d| d.name().to_string()));
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count);
    }
}
