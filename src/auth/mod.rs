//! Credentials: password hashing, access tokens, agent keys, login throttling, and the
//! authenticated `Caller` they produce.

pub mod agent_key;
pub mod password;
pub mod throttle;
pub mod tokens;

use crate::domain::{AgentKeyId, OrgId, Role, UserId};

/// Who is calling: a person's account or an agent key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Principal {
    User(UserId),
    AgentKey(AgentKeyId),
    /// The appliance itself, acting for an operator at the command line.
    System,
}

/// An authenticated caller, always bound to exactly one org.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    pub org: OrgId,
    pub principal: Principal,
    pub role: Role,
}

impl Caller {
    /// The audit log's name for this caller (ids only).
    pub fn actor(&self) -> String {
        match self.principal {
            Principal::User(id) => format!("user:{id}"),
            Principal::AgentKey(id) => format!("agent_key:{id}"),
            Principal::System => "system:cli".into(),
        }
    }

    pub fn user_id(&self) -> Option<UserId> {
        match self.principal {
            Principal::User(id) => Some(id),
            Principal::AgentKey(_) | Principal::System => None,
        }
    }
}
