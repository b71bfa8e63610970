//! argon2id password hashing, run off the async threads, with a bounded number at once.

use std::sync::Arc;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::domain::Password;

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("password hashing parameters are invalid")]
    Params,
    #[error("password hashing failed")]
    Hash,
    #[error("a hashing task stopped unexpectedly")]
    Task,
}

/// Hashes and checks passwords with argon2id. Each hash takes tens of milliseconds and
/// ~19 MiB, so at most one per core runs at a time.
#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    permits: Arc<Semaphore>,
    /// A hash of a random password: an unknown email is checked against it, so it costs the
    /// same as a wrong password.
    dummy_hash: Arc<String>,
}

impl PasswordHasher {
    pub fn new(memory_kib: u32, iterations: u32) -> Result<Self, PasswordError> {
        let params =
            Params::new(memory_kib, iterations, 1, None).map_err(|_| PasswordError::Params)?;
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let dummy = Password::candidate(&uuid::Uuid::new_v4().to_string());
        let dummy_hash = hash_blocking(&params, &dummy)?;
        Ok(Self {
            params,
            permits: Arc::new(Semaphore::new(cores)),
            dummy_hash: Arc::new(dummy_hash),
        })
    }

    /// A PHC string (`$argon2id$v=19$m=…`) with a fresh random salt.
    pub async fn hash(&self, password: Password) -> Result<String, PasswordError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| PasswordError::Task)?;
        let params = self.params.clone();
        tokio::task::spawn_blocking(move || hash_blocking(&params, &password))
            .await
            .map_err(|_| PasswordError::Task)?
    }

    /// Checks `candidate` against `phc`, or against the dummy hash when there is no account,
    /// so both paths cost the same. `false` for a missing account whatever the candidate.
    pub async fn verify(&self, candidate: Password, phc: Option<String>) -> bool {
        let Ok(_permit) = self.permits.acquire().await else {
            return false;
        };
        let known = phc.is_some();
        let phc = phc.unwrap_or_else(|| self.dummy_hash.as_ref().clone());
        let params = self.params.clone();
        let matched = tokio::task::spawn_blocking(move || {
            let Ok(parsed) = PasswordHash::new(&phc) else {
                return false;
            };
            argon2(&params)
                .verify_password(candidate.expose().as_bytes(), &parsed)
                .is_ok()
        })
        .await
        .unwrap_or(false);
        known && matched
    }
}

fn argon2(params: &Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
}

fn hash_blocking(params: &Params, password: &Password) -> Result<String, PasswordError> {
    let salt = SaltString::generate(&mut OsRng);
    argon2(params)
        .hash_password(password.expose().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| PasswordError::Hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_salted_and_verify() {
        let h = PasswordHasher::new(19_456, 2).unwrap();
        let pw = || Password::parse("a long enough password").unwrap();
        let a = h.hash(pw()).await.unwrap();
        let b = h.hash(pw()).await.unwrap();
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
        assert_ne!(a, b, "salts must differ");
        assert!(h.verify(pw(), Some(a.clone())).await);
        assert!(
            !h.verify(Password::candidate("wrong password!"), Some(a))
                .await
        );
        assert!(!h.verify(pw(), None).await);
    }
}
