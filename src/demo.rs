//! `serve --demo`: seeds one demo clinic on first start and prints how to use it.

use std::path::Path;

use crate::auth::tokens::write_private_file;
use crate::auth::{Caller, Principal};
use crate::domain::Role;
use crate::identity::{IdentityError, SignupInput};
use crate::startup::Services;

/// Where the demo clinic's credentials are written (mode 0600) on first start.
pub const CREDENTIALS_FILE: &str = "demo-credentials.txt";
pub const DEMO_ADMIN_EMAIL: &str = "admin@demo-clinic.example";

/// Creates the demo clinic unless the data dir has it, and returns the text to print.
pub async fn seed(services: &Services, data_dir: &Path) -> Result<String, IdentityError> {
    let file = data_dir.join(CREDENTIALS_FILE);
    if file.exists() {
        return Ok(format!(
            "Demo clinic already seeded; its credentials are in {} (readable by this user only).",
            file.display()
        ));
    }
    let password = format!("demo-{}", uuid::Uuid::new_v4().simple());
    let input = SignupInput::parse(
        "Harley Street Aesthetics (demo)",
        DEMO_ADMIN_EMAIL,
        &password,
        Some("Europe/London"),
        Some("Demo Admin"),
    )?;
    let session = services.identity.signup(input).await?;
    let admin = Caller {
        org: session.org_id,
        principal: Principal::User(session.user_id),
        role: Role::Admin,
    };
    let key = services
        .identity
        .create_agent_key(admin, "demo voice agent")
        .await?;
    let text = format!(
        "Demo clinic seeded.\n  org_id:       {}\n  admin email:  {}\n  admin password: {}\n  admin token:  {}\n  agent key:    {}\n",
        session.org_id, DEMO_ADMIN_EMAIL, password, session.access_token, key.secret
    );
    write_private_file(&file, text.as_bytes())
        .map_err(|_| IdentityError::Internal("writing demo credentials"))?;
    Ok(text)
}
