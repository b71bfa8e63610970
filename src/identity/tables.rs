//! The identity domain's tables: clinics, their users and agent keys, and the install-wide
//! indexes that find an org from a login email or an agent key.

use crate::store::tables::{GlobalTable, TenantTable};

use super::records::{AgentKeyIndexEntry, AgentKeyRecord, EmailIndexEntry, OrgRecord, UserRecord};

crate::store::codec::stored_as_json!(
    OrgRecord,
    EmailIndexEntry,
    AgentKeyIndexEntry,
    UserRecord,
    AgentKeyRecord,
);

/// Every org, keyed by its id's 16 big-endian bytes.
pub const ORGS: GlobalTable<OrgRecord> = GlobalTable::new("orgs_v1");
/// Login email (lower case) → the org and user it belongs to.
pub const LOGIN_EMAILS: GlobalTable<EmailIndexEntry> = GlobalTable::new("login_emails_v1");
/// SHA-256 of an agent key → the org and key record it belongs to.
pub const AGENT_KEY_INDEX: GlobalTable<AgentKeyIndexEntry> = GlobalTable::new("agent_key_index_v1");
/// Users of an org, keyed by user id.
pub const USERS: TenantTable<UserRecord> = TenantTable::new("users_v1");
/// Agent keys of an org (hash only), keyed by key id.
pub const AGENT_KEYS: TenantTable<AgentKeyRecord> = TenantTable::new("agent_keys_v1");
