//! Access tokens: HS256 JWTs signed with the install's own key (kept in the data dir, 0600).

use std::io::Write;
use std::path::Path;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::domain::{OrgId, Role, UserId};

/// Where the signing key lives inside the data dir.
pub const SIGNING_KEY_FILE: &str = "keys/jwt-signing.key";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub org_id: String,
    pub role: Role,
    pub iat: u64,
    pub exp: u64,
    pub iss: String,
    pub jti: String,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("token rejected")]
    Rejected,
    #[error("token could not be signed")]
    Signing,
    #[error("signing key file {path}: {reason}")]
    KeyFile { path: String, reason: String },
}

/// A freshly issued token and how long it lives, in seconds.
pub struct IssuedToken {
    pub token: String,
    pub expires_in: u64,
}

/// Issues and verifies this install's tokens. Only HS256 is accepted, with our issuer.
#[derive(Clone)]
pub struct TokenAuthority {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    ttl_seconds: u64,
}

impl TokenAuthority {
    pub fn new(secret: &[u8], issuer: &str, ttl_minutes: u64) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[issuer]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "sub"]);
        validation.leeway = 5;
        validation.validate_exp = true;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            issuer: issuer.to_string(),
            ttl_seconds: ttl_minutes * 60,
        }
    }

    pub fn issue(&self, user: UserId, org: OrgId, role: Role) -> Result<IssuedToken, TokenError> {
        let now = jsonwebtoken::get_current_timestamp();
        let claims = Claims {
            sub: user.to_string(),
            org_id: org.to_string(),
            role,
            iat: now,
            exp: now + self.ttl_seconds,
            iss: self.issuer.clone(),
            jti: uuid::Uuid::new_v4().to_string(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|_| TokenError::Signing)?;
        Ok(IssuedToken {
            token,
            expires_in: self.ttl_seconds,
        })
    }

    /// The claims of a token we issued that has not expired; anything else is `Rejected`
    /// (the reason is not told to the caller).
    pub fn verify(&self, token: &str) -> Result<(UserId, OrgId, Role), TokenError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| TokenError::Rejected)?;
        let c = data.claims;
        let user = c.sub.parse::<UserId>().map_err(|_| TokenError::Rejected)?;
        let org = c
            .org_id
            .parse::<OrgId>()
            .map_err(|_| TokenError::Rejected)?;
        Ok((user, org, c.role))
    }
}

/// Reads the install's signing key, or creates a new random one (mode 0600) on first start.
pub fn load_or_create_signing_key(data_dir: &Path) -> Result<Vec<u8>, TokenError> {
    let path = data_dir.join(SIGNING_KEY_FILE);
    let key_err = |reason: String| TokenError::KeyFile {
        path: path.display().to_string(),
        reason,
    };
    if path.exists() {
        let text = std::fs::read_to_string(&path).map_err(|e| key_err(e.to_string()))?;
        let bytes = hex::decode(text.trim()).map_err(|_| key_err("not hex".into()))?;
        if bytes.len() < 32 {
            return Err(key_err("shorter than 32 bytes".into()));
        }
        return Ok(bytes);
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| key_err(e.to_string()))?;
    }
    let mut bytes = vec![0u8; 64];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    write_private_file(&path, hex::encode(&bytes).as_bytes())
        .map_err(|e| key_err(e.to_string()))?;
    Ok(bytes)
}

/// Creates `path` readable and writable by its owner only; fails if it already exists.
pub fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}
