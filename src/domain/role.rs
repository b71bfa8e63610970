//! What a caller may do: the four roles of API.md.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Staff,
    Clinician,
    Agent,
}

impl Role {
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Staff => "staff",
            Role::Clinician => "clinician",
            Role::Agent => "agent",
        }
    }

    /// Roles a person can hold (an admin may create them); `agent` belongs to agent keys only.
    pub fn parse_user_role(s: &str) -> Result<Role, String> {
        match s.parse::<Role>()? {
            Role::Agent => Err("agent is not a user role; create an agent key instead".into()),
            r => Ok(r),
        }
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "admin" => Ok(Role::Admin),
            "staff" => Ok(Role::Staff),
            "clinician" => Ok(Role::Clinician),
            "agent" => Ok(Role::Agent),
            _ => Err("must be one of admin, staff, clinician".into()),
        }
    }
}
