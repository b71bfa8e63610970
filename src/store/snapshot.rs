//! Copies of the database file made while it is in use: one read transaction's snapshot
//! written table by table into a new redb file, every table's entries counted again in the
//! copy, made durable and renamed into place; and opening such a copy to read it.

use std::io::Write;
use std::path::{Path, PathBuf};

use redb::{
    Database, ReadOnlyDatabase, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableError,
};

use super::tables::{self, Schema};
use super::{Store, StoreError, StoreRead};

/// What a copy holds: each table's name and number of entries.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TableCounts(pub Vec<(String, u64)>);

impl TableCounts {
    pub fn total(&self) -> u64 {
        self.0.iter().map(|(_, n)| n).sum()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("table {table}: {found} entries in the copy, {expected} in the snapshot")]
    Mismatch {
        table: String,
        expected: u64,
        found: u64,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SnapshotError + '_ {
    move |source| SnapshotError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn engine<E: Into<redb::Error>>(e: E) -> SnapshotError {
    SnapshotError::Store(StoreError::Engine(Box::new(e.into())))
}

/// Makes `path`'s directory entry durable (a rename is only kept once its directory is).
pub fn sync_dir_of(path: &Path) -> Result<(), SnapshotError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir))
}

macro_rules! copy_tables {
    ($read:expr, $write:expr, $defs:expr, $counts:expr) => {
        for def in $defs {
            let source = match $read.open_table(def) {
                Ok(t) => t,
                Err(TableError::TableDoesNotExist(_)) => continue,
                Err(e) => return Err(engine(e)),
            };
            let mut target = $write.open_table(def).map_err(engine)?;
            let mut n = 0u64;
            for item in source.iter().map_err(engine)? {
                let (k, v) = item.map_err(engine)?;
                target.insert(k.value(), v.value()).map_err(engine)?;
                n += 1;
            }
            $counts.push((redb::TableHandle::name(&def).to_string(), n));
        }
    };
}

macro_rules! count_tables {
    ($read:expr, $defs:expr, $counts:expr) => {
        for def in $defs {
            match $read.open_table(def) {
                Ok(t) => $counts.push((
                    redb::TableHandle::name(&def).to_string(),
                    t.len().map_err(engine)?,
                )),
                Err(TableError::TableDoesNotExist(_)) => continue,
                Err(e) => return Err(engine(e)),
            }
        }
    };
}

/// Every table of a schema, in a fixed order.
fn all_tables(schema: &Schema) -> (Vec<tables::GlobalDef>, Vec<tables::TenantDef>) {
    ((schema.global)(), (schema.tenant)())
}

/// Counts every table's entries in an open database.
fn counts_of(db: &impl ReadableDatabase, schema: &Schema) -> Result<TableCounts, SnapshotError> {
    let (global, tenant) = all_tables(schema);
    let read = db.begin_read().map_err(engine)?;
    let mut counts = Vec::new();
    count_tables!(read, global, counts);
    count_tables!(read, tenant, counts);
    Ok(TableCounts(counts))
}

impl Store {
    /// Writes a copy of the database as of one moment to `out` while writers go on: the
    /// copy is built beside `out`, checked table by table, made durable and linked into
    /// place, so `out` is either absent or whole. An existing `out` is never replaced, and
    /// a copy that fails half-way is removed.
    pub fn snapshot_to(&self, out: &Path) -> Result<TableCounts, SnapshotError> {
        if out.exists() {
            return Err(SnapshotError::Io {
                path: out.to_path_buf(),
                source: std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    "a file is already there; backups never replace a file",
                ),
            });
        }
        let file_name = out
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "backup.redb".into());
        let partial = out.with_file_name(format!(".{file_name}.partial"));
        let _ = std::fs::remove_file(&partial);
        let result = self.copy_into(&partial, out);
        if result.is_err() {
            let _ = std::fs::remove_file(&partial);
        }
        result
    }

    fn copy_into(&self, partial: &Path, out: &Path) -> Result<TableCounts, SnapshotError> {
        let (global, tenant) = all_tables(self.schema);
        let read = self.db.begin_read().map_err(engine)?;
        let mut copied = Vec::new();
        {
            let copy = Database::create(partial).map_err(engine)?;
            let write = copy.begin_write().map_err(engine)?;
            copy_tables!(read, write, global.clone(), copied);
            copy_tables!(read, write, tenant.clone(), copied);
            write.commit().map_err(engine)?;
        }
        drop(read);
        let check = ReadOnlyDatabase::open(partial).map_err(engine)?;
        let found = counts_of(&check, self.schema)?;
        drop(check);
        for ((table, expected), (_, got)) in copied.iter().zip(found.0.iter()) {
            if expected != got {
                return Err(SnapshotError::Mismatch {
                    table: table.clone(),
                    expected: *expected,
                    found: *got,
                });
            }
        }
        std::fs::File::open(partial)
            .and_then(|f| f.sync_all())
            .map_err(io(partial))?;
        place_without_replacing(partial, out)?;
        Ok(TableCounts(copied))
    }
}

/// A database file opened read-only, as it is: no migration, not a byte written (a backup
/// being checked keeps its hash).
pub struct ReadOnlyFile {
    db: ReadOnlyDatabase,
}

impl ReadOnlyFile {
    /// Opens a copy and counts the entries of every table `schema` names.
    pub fn open(
        path: &Path,
        schema: &Schema,
    ) -> Result<(ReadOnlyFile, TableCounts), SnapshotError> {
        let db = ReadOnlyDatabase::open(path).map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => SnapshotError::Store(StoreError::InUse),
            other => engine(other),
        })?;
        let counts = counts_of(&db, schema)?;
        Ok((ReadOnlyFile { db }, counts))
    }

    pub fn begin_read(&self) -> Result<StoreRead, SnapshotError> {
        Ok(StoreRead {
            txn: self.db.begin_read().map_err(engine)?,
        })
    }

    pub fn schema_version(&self) -> Result<u64, SnapshotError> {
        Ok(self
            .begin_read()?
            .global_get(&tables::META, b"schema_version")?
            .and_then(|v| v.as_u64())
            .unwrap_or(0))
    }
}

/// Moves a finished file into place only if nothing is there (a hard link fails when the
/// target exists, unlike a rename), then makes the directory entry durable.
fn place_without_replacing(partial: &Path, target: &Path) -> Result<(), SnapshotError> {
    std::fs::hard_link(partial, target).map_err(io(target))?;
    let _ = std::fs::remove_file(partial);
    sync_dir_of(target)
}

/// Copies `from` to `to` durably (a restore's file copy): written beside `to` (mode 0600),
/// synced, placed only if `to` does not exist by then.
pub fn copy_file_durably(from: &Path, to: &Path) -> Result<(), SnapshotError> {
    use std::os::unix::fs::OpenOptionsExt;
    let partial = to.with_extension("partial");
    let _ = std::fs::remove_file(&partial);
    let result = (|| {
        let mut src = std::fs::File::open(from).map_err(io(from))?;
        let mut dst = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&partial)
            .map_err(io(&partial))?;
        std::io::copy(&mut src, &mut dst).map_err(io(&partial))?;
        dst.flush().map_err(io(&partial))?;
        dst.sync_all().map_err(io(&partial))?;
        place_without_replacing(&partial, to)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result
}
