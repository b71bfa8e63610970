//! The per-org, append-only, hash-chained audit log: appending inside the caller's write
//! transaction, reading pages of it, and verifying the chain.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::OrgId;
use crate::store::tables::TenantTable;
use crate::store::OrgReads;
use crate::store::{OrgRead, OrgWrite, StoreError};

crate::store::codec::stored_as_json!(AuditHead);

/// The audit chain, keyed by sequence number (8 big-endian bytes; every sequence number is
/// below 2^56, so every entry's key starts with a zero byte).
pub const AUDIT_LOG: TenantTable<AuditEntry> = TenantTable::new("audit_log_v1");
/// The audit chain's head (single key `head`), which lets verification notice a cut-off
/// tail. It lives in the chain's own table, where `head` sorts right after the newest entry:
/// an append rewrites one leaf of one B-tree instead of two (schema 6).
pub const AUDIT_HEAD: TenantTable<AuditHead> = TenantTable::new("audit_log_v1");
/// Where the head was kept before schema 6; only the migration to 6 reads it.
pub(crate) const AUDIT_HEAD_BEFORE_6: TenantTable<AuditHead> = TenantTable::new("audit_head_v1");

/// Schema 6: every org's audit head moves from its own table to key `head` of the log.
pub(crate) fn move_heads_into_the_log(w: &mut crate::store::StoreWrite) -> Result<(), StoreError> {
    let old = AUDIT_HEAD_BEFORE_6.def();
    let heads = w.every_row(old)?;
    w.put_rows(AUDIT_HEAD.def(), &heads)?;
    w.delete_table(old)
}

/// The `prev_hash` of the first entry of every chain.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";
const HEAD_KEY: &[u8] = b"head";

/// How an audited action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Denied,
    Failure,
}

impl Outcome {
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Denied => "denied",
            Outcome::Failure => "failure",
        }
    }
}

/// A reference the caller supplied (a call id, a clinic id), as it may go into a target: kept
/// when it looks like an id (1–64 letters, digits, `.`, `_`, `-`), else replaced by a short
/// digest, so free text (a name, a number) never lands in the chain yet equal references
/// still match.
pub fn caller_reference(text: &str) -> String {
    let id_like = (1..=64).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if id_like {
        text.to_string()
    } else {
        let digest = Sha256::digest(text.as_bytes());
        format!("sha256:{}", hex::encode(&digest[..8]))
    }
}

/// What happened, before it is placed in the chain. Holds ids, never personal data.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub actor: String,
    pub action: &'static str,
    pub target: String,
    pub outcome: Outcome,
}

impl AuditEvent {
    pub fn new(
        actor: impl Into<String>,
        action: &'static str,
        target: impl Into<String>,
        outcome: Outcome,
    ) -> Self {
        Self {
            actor: actor.into(),
            action,
            target: target.into(),
            outcome,
        }
    }
}

/// One link of the chain as stored and as served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub seq: u64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub outcome: Outcome,
    pub prev_hash: String,
    pub hash: String,
}

/// Audit entries are stored in a compact layout (`store::codec`): the two hashes as 32 raw
/// bytes each instead of 64 hex characters, no field names. Every audited change appends one.
/// An entry whose hashes are not lower-case hex SHA-256 (none are written so) and entries
/// written before as JSON are stored and read as JSON.
impl crate::store::codec::Stored for AuditEntry {
    fn to_bytes(&self) -> Result<Vec<u8>, crate::store::codec::CodecError> {
        match (raw_hash(&self.prev_hash), raw_hash(&self.hash)) {
            (Some(prev_hash), Some(hash)) => crate::store::codec::compact_bytes(
                crate::store::codec::tags::AUDIT_ENTRY,
                &CompactAuditEntry {
                    seq: self.seq,
                    at: &self.at,
                    actor: &self.actor,
                    action: &self.action,
                    target: &self.target,
                    outcome: self.outcome,
                    prev_hash,
                    hash,
                },
            ),
            _ => crate::store::codec::json_bytes(self),
        }
    }

    fn from_bytes(bytes: &[u8]) -> Result<Self, crate::store::codec::CodecError> {
        match crate::store::codec::from_compact::<CompactAuditEntry<String>>(
            crate::store::codec::tags::AUDIT_ENTRY,
            bytes,
        ) {
            Some(compact) => {
                let c = compact?;
                Ok(AuditEntry {
                    seq: c.seq,
                    at: c.at,
                    actor: c.actor,
                    action: c.action,
                    target: c.target,
                    outcome: c.outcome,
                    prev_hash: hex::encode(c.prev_hash),
                    hash: hex::encode(c.hash),
                })
            }
            None => crate::store::codec::from_json(bytes),
        }
    }
}

/// The audit entry's compact layout (order is the layout); `S` is `&str` when writing.
#[derive(Serialize, Deserialize)]
struct CompactAuditEntry<S> {
    seq: u64,
    at: S,
    actor: S,
    action: S,
    target: S,
    outcome: Outcome,
    prev_hash: [u8; 32],
    hash: [u8; 32],
}

/// The 32 bytes a lower-case hex SHA-256 spells, if that is what `hex_text` is.
fn raw_hash(hex_text: &str) -> Option<[u8; 32]> {
    let mut raw = [0u8; 32];
    hex::decode_to_slice(hex_text, &mut raw).ok()?;
    (hex::encode(raw) == hex_text).then_some(raw)
}

/// The last link, kept apart so that a removed tail is noticed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditHead {
    pub seq: u64,
    pub hash: String,
}

/// The result of walking one org's chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Verification {
    pub ok: bool,
    pub entries: u64,
    pub head: String,
    /// The first sequence number at which the chain does not hold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_bad_seq: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// A sequence number's key. Below 2^56 (never reached), its first byte is zero.
fn seq_key(seq: u64) -> [u8; 8] {
    seq.to_be_bytes()
}

/// SHA-256 over a length-prefixed encoding of the org and every field but the hash itself.
fn entry_hash(org: OrgId, e: &AuditEntry) -> String {
    let mut h = Sha256::new();
    let mut field = |bytes: &[u8]| {
        h.update((bytes.len() as u64).to_be_bytes());
        h.update(bytes);
    };
    field(&org.as_bytes());
    field(&e.seq.to_be_bytes());
    field(e.at.as_bytes());
    field(e.actor.as_bytes());
    field(e.action.as_bytes());
    field(e.target.as_bytes());
    field(e.outcome.as_str().as_bytes());
    field(e.prev_hash.as_bytes());
    hex::encode(h.finalize())
}

/// Appends `event` to the org's chain inside the caller's transaction: it commits or vanishes
/// together with the change it records.
pub fn append(
    w: &mut OrgWrite<'_>,
    event: AuditEvent,
    at: DateTime<Utc>,
) -> Result<AuditEntry, StoreError> {
    let head = w.get(&AUDIT_HEAD, HEAD_KEY)?;
    let (seq, prev_hash) = match head {
        Some(h) => (h.seq + 1, h.hash),
        None => (1, GENESIS_HASH.to_string()),
    };
    let mut entry = AuditEntry {
        seq,
        at: at.to_rfc3339_opts(SecondsFormat::Micros, true),
        actor: event.actor,
        action: event.action.to_string(),
        target: event.target,
        outcome: event.outcome,
        prev_hash,
        hash: String::new(),
    };
    entry.hash = entry_hash(w.org_id(), &entry);
    w.put(&AUDIT_LOG, &seq_key(seq), &entry)?;
    w.put(
        &AUDIT_HEAD,
        HEAD_KEY,
        &AuditHead {
            seq,
            hash: entry.hash.clone(),
        },
    )?;
    Ok(entry)
}

/// Appends a successful action: the common case of `append`.
pub fn success(
    w: &mut OrgWrite<'_>,
    actor: impl Into<String>,
    action: &'static str,
    target: impl Into<String>,
    at: DateTime<Utc>,
) -> Result<AuditEntry, StoreError> {
    append(
        w,
        AuditEvent::new(actor, action, target, Outcome::Success),
        at,
    )
}

/// Up to `limit` entries with `seq > after`, oldest first.
pub fn page(r: &OrgRead<'_>, after: u64, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
    let after_key = seq_key(after);
    // Entry keys all start with a zero byte; the head's key (`head`) does not.
    let rows = r.scan(
        &AUDIT_LOG,
        &[0],
        if after == 0 { None } else { Some(&after_key) },
        limit,
    )?;
    Ok(rows.into_iter().map(|(_, e)| e).collect())
}

/// Walks the whole chain: every seq in order from 1, every `prev_hash` the hash before it,
/// every hash recomputed, and the head matching the last entry.
pub fn verify(r: &OrgRead<'_>) -> Result<Verification, StoreError> {
    const BATCH: usize = 1024;
    let org = r.org_id();
    let mut expected_seq = 1u64;
    let mut prev = GENESIS_HASH.to_string();
    let broken = |seq: u64, entries: u64, head: &str, problem| Verification {
        ok: false,
        entries,
        head: head.to_string(),
        first_bad_seq: Some(seq),
        problem: Some(String::from(problem)),
    };
    loop {
        let after = expected_seq - 1;
        let batch = page(r, after, BATCH)?;
        let n = batch.len();
        for e in batch {
            let counted = expected_seq - 1;
            if e.seq != expected_seq {
                return Ok(broken(expected_seq, counted, &prev, "entry missing"));
            }
            if e.prev_hash != prev {
                return Ok(broken(
                    e.seq,
                    counted,
                    &prev,
                    "previous hash does not match",
                ));
            }
            if entry_hash(org, &e) != e.hash {
                return Ok(broken(e.seq, counted, &prev, "entry altered"));
            }
            prev = e.hash;
            expected_seq += 1;
        }
        if n < BATCH {
            break;
        }
    }
    let entries = expected_seq - 1;
    match r.get(&AUDIT_HEAD, HEAD_KEY)? {
        None if entries == 0 => {}
        Some(h) if h.seq == entries && h.hash == prev => {}
        Some(h) if h.seq < entries => {
            return Ok(broken(
                h.seq + 1,
                entries,
                &prev,
                "entries after the recorded head",
            ))
        }
        _ => {
            return Ok(broken(
                entries + 1,
                entries,
                &prev,
                "entries missing at the end",
            ))
        }
    }
    Ok(Verification {
        ok: true,
        entries,
        head: prev,
        first_bad_seq: None,
        problem: None,
    })
}

/// Reading and verifying audit chains for the HTTP edge and the command line.
#[derive(Clone)]
pub struct AuditTrail {
    store: crate::store::Store,
}

impl AuditTrail {
    pub fn new(store: crate::store::Store) -> Self {
        Self { store }
    }

    pub async fn page(
        &self,
        org: OrgId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        self.store
            .read(move |r| page(&r.org(org), after, limit))
            .await
    }

    pub async fn verify(&self, org: OrgId) -> Result<Verification, StoreError> {
        self.store.read(move |r| verify(&r.org(org))).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::codec::Stored;

    fn entry(prev_hash: &str) -> AuditEntry {
        let mut e = AuditEntry {
            seq: 41,
            at: "2027-03-28T09:00:00.000001Z".into(),
            actor: "agent_key:front-desk".into(),
            action: "appointment_booked".into(),
            target: "appointment:0190c0de-0000-7000-8000-000000000001".into(),
            outcome: Outcome::Success,
            prev_hash: prev_hash.into(),
            hash: String::new(),
        };
        e.hash = entry_hash(OrgId::new_random(), &e);
        e
    }

    #[test]
    fn entries_round_trip_through_the_compact_layout_with_raw_hashes() {
        let e = entry(GENESIS_HASH);
        let bytes = e.to_bytes().unwrap();
        assert_eq!(bytes[0], crate::store::codec::tags::AUDIT_ENTRY);
        assert!(bytes.len() < 200, "{}", bytes.len());
        assert_eq!(AuditEntry::from_bytes(&bytes).unwrap(), e);
        let json = serde_json::to_vec(&e).unwrap();
        assert_eq!(AuditEntry::from_bytes(&json).unwrap(), e);
    }

    #[test]
    fn an_entry_whose_hash_is_not_lower_case_hex_is_kept_as_json() {
        let e = entry(&GENESIS_HASH.replace('0', "A"));
        let bytes = e.to_bytes().unwrap();
        assert_eq!(bytes[0], b'{');
        assert_eq!(AuditEntry::from_bytes(&bytes).unwrap(), e);
    }
}
