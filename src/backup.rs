//! Backups an installer can trust: taken while the appliance runs (a snapshot of one read
//! transaction, see `store::snapshot`), described by a manifest beside the file (SHA-256,
//! entries per table, schema), checked (`verify`: the file is whole, every table reads, every
//! appointment and outbox job decodes, every clinic's audit chain verifies) and restored
//! into an empty data dir. The master key never goes into a backup: keep it apart (README).

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::booking::tables::APPOINTMENTS;
use crate::identity::tables::ORGS;
use crate::outbox::OUTBOX;
use crate::schema::{SCHEMA, SCHEMA_VERSION};
use crate::store::snapshot::{
    copy_file_durably, sync_dir_of, ReadOnlyFile, SnapshotError, TableCounts,
};
use crate::store::OrgReads;
use crate::store::{Store, StoreError, DATABASE_FILE};

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the backup is damaged: {0}")]
    Damaged(String),
    #[error("{0}")]
    Refused(String),
}

/// What sits beside a backup file (`FILE.manifest.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub file: String,
    pub sha256: String,
    pub bytes: u64,
    pub schema_version: u64,
    pub taken_at: DateTime<Utc>,
    pub tables: TableCounts,
}

/// What a verified backup holds.
#[derive(Debug, Clone, Serialize)]
pub struct Verified {
    pub manifest_checked: bool,
    pub schema_version: u64,
    pub orgs: usize,
    pub appointments: u64,
    pub entries: u64,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.to_path_buf(),
        source,
    }
}

pub fn manifest_path(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".manifest.json");
    PathBuf::from(name)
}

fn sha256_of(path: &Path) -> Result<(String, u64), BackupError> {
    let mut file = std::fs::File::open(path).map_err(io(path))?;
    let mut hasher = Sha256::new();
    let bytes = std::io::copy(&mut file, &mut hasher).map_err(io(path))?;
    Ok((hex::encode(hasher.finalize()), bytes))
}

/// Takes a backup of `store` to `out` (and its manifest) while the appliance runs.
pub fn take(store: &Store, out: &Path, now: DateTime<Utc>) -> Result<Manifest, BackupError> {
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    let tables = store.snapshot_to(out)?;
    let (sha256, bytes) = sha256_of(out)?;
    let manifest = Manifest {
        file: out
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        sha256,
        bytes,
        schema_version: store.schema_version()?,
        taken_at: now,
        tables,
    };
    let path = manifest_path(out);
    let text = serde_json::to_vec_pretty(&manifest).unwrap_or_default();
    let partial = path.with_extension("partial");
    std::fs::write(&partial, text).map_err(io(&partial))?;
    std::fs::File::open(&partial)
        .and_then(|f| f.sync_all())
        .map_err(io(&partial))?;
    std::fs::rename(&partial, &path).map_err(io(&path))?;
    sync_dir_of(&path)?;
    Ok(manifest)
}

/// Checks a backup file: against its manifest when there is one (hash, size, entries), then
/// by reading it: schema, every table, every appointment and outbox job decoded, every
/// clinic's audit chain verified.
pub fn verify(file: &Path) -> Result<Verified, BackupError> {
    let manifest: Option<Manifest> = match std::fs::read(manifest_path(file)) {
        Ok(bytes) => Some(
            serde_json::from_slice(&bytes)
                .map_err(|_| BackupError::Damaged("the manifest cannot be read".into()))?,
        ),
        Err(_) => None,
    };
    if let Some(m) = &manifest {
        let (sha256, bytes) = sha256_of(file)?;
        if sha256 != m.sha256 || bytes != m.bytes {
            return Err(BackupError::Damaged(
                "the file's contents differ from its manifest (SHA-256)".into(),
            ));
        }
    }
    let (store, counts) = ReadOnlyFile::open(file, &SCHEMA)
        .map_err(|e| BackupError::Damaged(format!("the file cannot be opened: {e}")))?;
    if let Some(m) = &manifest {
        if m.tables != counts {
            return Err(BackupError::Damaged(
                "the tables' entries differ from the manifest".into(),
            ));
        }
    }
    let schema_version = store
        .schema_version()
        .map_err(|e| BackupError::Damaged(e.to_string()))?;
    if schema_version > SCHEMA_VERSION {
        return Err(BackupError::Refused(format!(
            "the backup was written by a newer voxanne (schema {schema_version}, this build knows {SCHEMA_VERSION})"
        )));
    }
    let r = store.begin_read()?;
    let damaged = |e: StoreError| BackupError::Damaged(e.to_string());
    let orgs = r.global_scan(&ORGS, usize::MAX).map_err(damaged)?;
    // Every record is decoded, a batch at a time, so a large backup is read in little memory.
    const BATCH: usize = 10_000;
    let mut appointments = 0u64;
    for (_, org) in &orgs {
        let o = r.org(org.id);
        let v = crate::audit::verify(&o).map_err(damaged)?;
        if !v.ok {
            return Err(BackupError::Damaged(format!(
                "the audit chain of org {} does not verify (first bad entry {:?})",
                org.id, v.first_bad_seq
            )));
        }
        let mut after: Option<Vec<u8>> = None;
        loop {
            let page = o
                .scan(&APPOINTMENTS, &[], after.as_deref(), BATCH)
                .map_err(damaged)?;
            appointments += page.len() as u64;
            match page.last() {
                Some((k, _)) if page.len() == BATCH => after = Some(k.clone()),
                _ => break,
            }
        }
    }
    let mut from: Vec<u8> = Vec::new();
    loop {
        let page = r
            .global_range(&OUTBOX, &from, &[0xff; 64], BATCH)
            .map_err(damaged)?;
        match page.last() {
            Some((k, _)) if page.len() == BATCH => {
                from = k.clone();
                from.push(0);
            }
            _ => break,
        }
    }
    Ok(Verified {
        manifest_checked: manifest.is_some(),
        schema_version,
        orgs: orgs.len(),
        appointments,
        entries: counts.total(),
    })
}

/// Restores a verified backup into `data_dir`, which must hold no database yet. The master
/// key is not in a backup: put the install's key file in place before starting.
pub fn restore(file: &Path, data_dir: &Path) -> Result<Verified, BackupError> {
    let target = data_dir.join(DATABASE_FILE);
    if target.exists() {
        return Err(BackupError::Refused(format!(
            "{} already holds a database; restore into an empty data dir",
            data_dir.display()
        )));
    }
    // A journal left without its database would be replayed over the restored file.
    let journal = crate::store::journal::journal_path(&target);
    if journal.exists() {
        return Err(BackupError::Refused(format!(
            "{} holds a write-ahead journal without its database; restore into an empty data dir",
            data_dir.display()
        )));
    }
    let verified = verify(file)?;
    std::fs::create_dir_all(data_dir).map_err(io(data_dir))?;
    copy_file_durably(file, &target)?;
    Ok(verified)
}

/// Scheduled backups (`[backup] dir`, `every_hours`, `keep`): the newest `keep` files are
/// kept.
pub fn scheduled_name(now: DateTime<Utc>) -> String {
    format!("voxanne-{}.redb", now.format("%Y%m%dT%H%M%SZ"))
}

/// When the newest scheduled backup in `dir` was taken (from its name), if any.
pub fn newest_scheduled(dir: &Path) -> Option<DateTime<Utc>> {
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|n| {
            let stamp = n
                .strip_prefix("voxanne-")?
                .strip_suffix(".redb")?
                .to_string();
            chrono::NaiveDateTime::parse_from_str(&stamp, "%Y%m%dT%H%M%SZ")
                .ok()
                .map(|t| t.and_utc())
        })
        .max()
}

/// Removes scheduled backups (and their manifests) beyond the newest `keep`, and what a
/// failed scheduled backup left half-written.
pub fn prune(dir: &Path, keep: usize) -> Result<usize, BackupError> {
    for entry in std::fs::read_dir(dir).map_err(io(dir))?.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(".voxanne-") && name.ends_with(".partial") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("voxanne-") && n.ends_with(".redb"))
        })
        .collect();
    files.sort();
    let excess = files.len().saturating_sub(keep.max(1));
    for old in files.iter().take(excess) {
        std::fs::remove_file(old).map_err(io(old))?;
        let _ = std::fs::remove_file(manifest_path(old));
    }
    Ok(excess)
}
