//! Agent keys: random bearer secrets for the voice agent, stored only as SHA-256 hashes.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Every agent key starts with this, so a credential can be told from a JWT at a glance.
pub const PREFIX: &str = "vxk_";

/// A newly generated key: the secret (shown once) and its hash (stored).
pub struct NewAgentKey {
    pub secret: String,
    pub hash: [u8; 32],
}

pub fn generate() -> NewAgentKey {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let secret = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    let hash = hash(&secret);
    NewAgentKey { secret, hash }
}

/// 256 random bits need no slow hash: SHA-256 is enough to keep the secret off disk.
pub fn hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

pub fn looks_like_agent_key(credential: &str) -> bool {
    credential.starts_with(PREFIX)
}
