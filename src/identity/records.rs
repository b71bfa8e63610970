//! The stored shapes of orgs, users and agent keys, and their index entries.

use serde::{Deserialize, Serialize};

use crate::domain::{AgentKeyId, Email, OrgId, Role, UserId};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrgRecord {
    pub id: OrgId,
    pub name: String,
    pub timezone: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserRecord {
    pub id: UserId,
    pub org_id: OrgId,
    pub email: Email,
    pub full_name: Option<String>,
    pub role: Role,
    pub password_hash: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EmailIndexEntry {
    pub org_id: OrgId,
    pub user_id: UserId,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AgentKeyRecord {
    pub id: AgentKeyId,
    pub name: String,
    /// SHA-256 of the secret, hex.
    pub key_hash: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AgentKeyIndexEntry {
    pub org_id: OrgId,
    pub key_id: AgentKeyId,
}
