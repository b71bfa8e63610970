//! Envelope encryption of clinical content: AES-256-GCM under a data key per org and key
//! version, each data key wrapped by the install's master key (a file outside the database).
//! Associated data binds every ciphertext to its org, record kind, record id and key version,
//! so a ciphertext moved to another record or org does not decrypt.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::domain::OrgId;
use crate::store::tables::{TenantTable, META};
use crate::store::OrgReads;
use crate::store::{OrgRead, OrgWrite, StoreError, StoreWrite};

crate::store::codec::stored_as_json!(WrappedKey, KeyHead);

/// The org's wrapped data keys, keyed by version (4 big-endian bytes).
pub const ORG_KEYS: TenantTable<WrappedKey> = TenantTable::new("org_keys_v1");
/// The org's current key version (single key `current`).
pub const ORG_KEY_HEAD: TenantTable<KeyHead> = TenantTable::new("org_key_head_v1");

/// A data key is retired after this many encryptions, far below GCM's 2^32 random-nonce limit.
pub const ROTATE_AFTER: u64 = 1 << 30;
const KEY_HEAD: &[u8] = b"current";
const CHECK_PLAINTEXT: &[u8] = b"voxanne master key check";

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("the ciphertext does not belong to this record or was altered")]
    Tampered,
    #[error("no data key for this organisation (it may have been deleted)")]
    NoKey,
    #[error("the master key does not match this database; refusing to start")]
    WrongMasterKey,
    #[error("master key file {path}: {reason}")]
    KeyFile { path: String, reason: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A ciphertext as stored: key version, nonce and AES-GCM output (with its tag).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sealed {
    pub version: u32,
    pub nonce: String,
    pub ciphertext: String,
}

/// A wrapped data key, as stored per org and version.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WrappedKey {
    pub version: u32,
    pub nonce: String,
    pub wrapped: String,
    pub encryptions: u64,
    pub created_at: String,
}

/// The org's current key version.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyHead {
    pub version: u32,
}

fn version_key(v: u32) -> [u8; 4] {
    v.to_be_bytes()
}

fn aad(org: OrgId, kind: &str, record: &str, version: u32) -> Vec<u8> {
    let mut a = Vec::new();
    for part in [
        org.to_string().as_bytes(),
        kind.as_bytes(),
        record.as_bytes(),
        &version.to_be_bytes(),
    ] {
        a.extend_from_slice(&(part.len() as u32).to_be_bytes());
        a.extend_from_slice(part);
    }
    a
}

fn random_nonce() -> [u8; 12] {
    let mut n = [0u8; 12];
    rand::rngs::OsRng.fill_bytes(&mut n);
    n
}

/// The install's master key and the org data keys unwrapped so far.
pub struct Vault {
    master: Aes256Gcm,
    unwrapped: Mutex<HashMap<(OrgId, u32), [u8; 32]>>,
}

impl Vault {
    /// Reads the master key from `VOXANNE_MASTER_KEY` (hex) if set, else from `path`, creating
    /// a new random key file (mode 0600) when there is none.
    pub fn load_or_create(path: &Path) -> Result<Vault, CryptoError> {
        let err = |reason: String| CryptoError::KeyFile {
            path: path.display().to_string(),
            reason,
        };
        let hex_key = match std::env::var("VOXANNE_MASTER_KEY") {
            Ok(v) if !v.trim().is_empty() => v,
            _ if path.exists() => std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?,
            _ => {
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| err(e.to_string()))?;
                }
                let mut k = [0u8; 32];
                rand::rngs::OsRng.fill_bytes(&mut k);
                let text = hex::encode(k);
                crate::auth::tokens::write_private_file(path, text.as_bytes())
                    .map_err(|e| err(e.to_string()))?;
                text
            }
        };
        let bytes = hex::decode(hex_key.trim()).map_err(|_| err("not hex".into()))?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| err("must be 32 bytes (64 hex digits)".into()))?;
        Ok(Vault {
            master: Aes256Gcm::new(&Key::<Aes256Gcm>::from(key)),
            unwrapped: Mutex::new(HashMap::new()),
        })
    }

    /// On first use records a check value; afterwards refuses a master key that cannot read it
    /// (writes nothing in that case).
    pub fn check_against(&self, w: &mut StoreWrite) -> Result<(), CryptoError> {
        match w.global_get(&META, b"master_key_check")? {
            Some(v) => {
                let sealed: Sealed =
                    serde_json::from_value(v).map_err(|_| CryptoError::WrongMasterKey)?;
                let plain = self
                    .open_with(&self.master, &sealed, b"master-check")
                    .map_err(|_| CryptoError::WrongMasterKey)?;
                if plain != CHECK_PLAINTEXT {
                    return Err(CryptoError::WrongMasterKey);
                }
                Ok(())
            }
            None => {
                let sealed = self.seal_with(&self.master, 0, CHECK_PLAINTEXT, b"master-check");
                w.global_put(
                    &META,
                    b"master_key_check",
                    &serde_json::to_value(sealed).unwrap_or_default(),
                )?;
                Ok(())
            }
        }
    }

    fn seal_with(&self, cipher: &Aes256Gcm, version: u32, plain: &[u8], aad: &[u8]) -> Sealed {
        let nonce = random_nonce();
        let ct = cipher
            .encrypt(&Nonce::from(nonce), Payload { msg: plain, aad })
            .unwrap_or_default();
        Sealed {
            version,
            nonce: STANDARD.encode(nonce),
            ciphertext: STANDARD.encode(ct),
        }
    }

    fn open_with(
        &self,
        cipher: &Aes256Gcm,
        sealed: &Sealed,
        aad: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let nonce = STANDARD
            .decode(&sealed.nonce)
            .map_err(|_| CryptoError::Tampered)?;
        let ct = STANDARD
            .decode(&sealed.ciphertext)
            .map_err(|_| CryptoError::Tampered)?;
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| CryptoError::Tampered)?;
        cipher
            .decrypt(&Nonce::from(nonce), Payload { msg: &ct, aad })
            .map_err(|_| CryptoError::Tampered)
    }

    fn wrap_aad(org: OrgId, version: u32) -> Vec<u8> {
        aad(org, "data_key", "", version)
    }

    fn unwrap_key(&self, org: OrgId, k: &WrappedKey) -> Result<[u8; 32], CryptoError> {
        if let Some(key) = self
            .unwrapped
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&(org, k.version))
        {
            return Ok(*key);
        }
        let sealed = Sealed {
            version: k.version,
            nonce: k.nonce.clone(),
            ciphertext: k.wrapped.clone(),
        };
        let raw = self.open_with(&self.master, &sealed, &Self::wrap_aad(org, k.version))?;
        let key: [u8; 32] = raw.try_into().map_err(|_| CryptoError::Tampered)?;
        self.unwrapped
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert((org, k.version), key);
        Ok(key)
    }

    /// Starts a new key version for the org (the first one, or a rotation).
    pub fn new_version(&self, w: &mut OrgWrite<'_>, now: &str) -> Result<u32, CryptoError> {
        let version = w.get(&ORG_KEY_HEAD, KEY_HEAD)?.map_or(1, |h| h.version + 1);
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        let sealed = self.seal_with(
            &self.master,
            version,
            &key,
            &Self::wrap_aad(w.org_id(), version),
        );
        w.put(
            &ORG_KEYS,
            &version_key(version),
            &WrappedKey {
                version,
                nonce: sealed.nonce,
                wrapped: sealed.ciphertext,
                encryptions: 0,
                created_at: now.to_string(),
            },
        )?;
        w.put(&ORG_KEY_HEAD, KEY_HEAD, &KeyHead { version })?;
        Ok(version)
    }

    /// Encrypts `plain` for one record, inside the caller's transaction (the key's use count
    /// is kept there; a new version starts automatically well before GCM's nonce limit).
    pub fn seal(
        &self,
        w: &mut OrgWrite<'_>,
        kind: &str,
        record: &str,
        plain: &[u8],
        now: &str,
    ) -> Result<Sealed, CryptoError> {
        let version = match w.get(&ORG_KEY_HEAD, KEY_HEAD)? {
            Some(h) => h.version,
            None => self.new_version(w, now)?,
        };
        let mut wrapped = w
            .get(&ORG_KEYS, &version_key(version))?
            .ok_or(CryptoError::NoKey)?;
        let version = if wrapped.encryptions >= ROTATE_AFTER {
            let v = self.new_version(w, now)?;
            wrapped = w
                .get(&ORG_KEYS, &version_key(v))?
                .ok_or(CryptoError::NoKey)?;
            v
        } else {
            version
        };
        let key = self.unwrap_key(w.org_id(), &wrapped)?;
        wrapped.encryptions += 1;
        w.put(&ORG_KEYS, &version_key(version), &wrapped)?;
        let cipher = Aes256Gcm::new(&Key::<Aes256Gcm>::from(key));
        Ok(self.seal_with(
            &cipher,
            version,
            plain,
            &aad(w.org_id(), kind, record, version),
        ))
    }

    /// Decrypts a record's ciphertext; fails with `Tampered` if it belongs elsewhere.
    pub fn open(
        &self,
        r: &OrgRead<'_>,
        kind: &str,
        record: &str,
        sealed: &Sealed,
    ) -> Result<Vec<u8>, CryptoError> {
        let wrapped = r
            .get(&ORG_KEYS, &version_key(sealed.version))?
            .ok_or(CryptoError::NoKey)?;
        let key = self.unwrap_key(r.org_id(), &wrapped)?;
        let cipher = Aes256Gcm::new(&Key::<Aes256Gcm>::from(key));
        self.open_with(
            &cipher,
            sealed,
            &aad(r.org_id(), kind, record, sealed.version),
        )
    }

    /// `open` inside a write transaction (for re-encryption).
    pub fn open_in(
        &self,
        w: &OrgWrite<'_>,
        kind: &str,
        record: &str,
        sealed: &Sealed,
    ) -> Result<Vec<u8>, CryptoError> {
        let wrapped = w
            .get(&ORG_KEYS, &version_key(sealed.version))?
            .ok_or(CryptoError::NoKey)?;
        let key = self.unwrap_key(w.org_id(), &wrapped)?;
        let cipher = Aes256Gcm::new(&Key::<Aes256Gcm>::from(key));
        self.open_with(
            &cipher,
            sealed,
            &aad(w.org_id(), kind, record, sealed.version),
        )
    }

    /// Destroys every data key of the org: its ciphertexts can never be read again.
    pub fn shred(&self, w: &mut OrgWrite<'_>) -> Result<usize, CryptoError> {
        let versions = w.scan(&ORG_KEYS, &[], None, usize::MAX)?;
        for (k, _) in &versions {
            w.remove(&ORG_KEYS, k)?;
        }
        w.remove(&ORG_KEY_HEAD, KEY_HEAD)?;
        self.unwrapped
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|(o, _), _| *o != w.org_id());
        Ok(versions.len())
    }
}
