//! The redb file: opening it and running a schema's migrations, and the transaction handles
//! (global and org-scoped) through which every read and write goes. Nothing outside this
//! module builds a key that includes an org id, and nothing in it knows a domain: the tables
//! and migrations come from the schema it is opened with (`crate::schema`).

pub mod codec;
pub mod journal;
pub mod keys;
pub mod power_cut;
pub mod snapshot;
pub mod tables;

use std::cell::RefCell;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use codec::{CodecError, Stored};
use redb::{
    Database, ReadTransaction, ReadableDatabase, ReadableTable, TableHandle, WriteTransaction,
};

use crate::domain::OrgId;
use tables::{GlobalTable, Schema, TenantTable};

/// The file name of the database inside the data dir.
pub const DATABASE_FILE: &str = "voxanne.redb";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("storage engine error: {0}")]
    Engine(#[from] Box<redb::Error>),
    /// Only the position is kept: serde's message can quote the record, which may hold
    /// personal data, and this error is logged.
    #[error("stored record could not be encoded or decoded in table {table} (line {line}, column {column})")]
    Codec {
        table: &'static str,
        line: usize,
        column: usize,
    },
    #[error("the database is in use by another voxanne process")]
    InUse,
    #[error(
        "the database was written by a newer voxanne (schema {found}, this build knows {known})"
    )]
    NewerSchema { found: u64, known: u64 },
    #[error("could not prepare the data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("a storage task stopped unexpectedly")]
    TaskFailed,
}

macro_rules! engine_error_from {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                StoreError::Engine(Box::new(redb::Error::from(e)))
            }
        }
    )*};
}
engine_error_from!(
    redb::StorageError,
    redb::TableError,
    redb::TransactionError,
    redb::CommitError
);

impl From<redb::DatabaseError> for StoreError {
    fn from(e: redb::DatabaseError) -> Self {
        match e {
            redb::DatabaseError::DatabaseAlreadyOpen => StoreError::InUse,
            other => StoreError::Engine(Box::new(redb::Error::from(other))),
        }
    }
}

type Result<T, E = StoreError> = std::result::Result<T, E>;

fn codec_error(table: &'static str, e: CodecError) -> StoreError {
    StoreError::Codec {
        table,
        line: e.line,
        column: e.column,
    }
}

fn encode<V: Stored>(table: &'static str, value: &V) -> Result<Vec<u8>> {
    value.to_bytes().map_err(|e| codec_error(table, e))
}

fn decode<V: Stored>(table: &'static str, bytes: &[u8]) -> Result<V> {
    V::from_bytes(bytes).map_err(|e| codec_error(table, e))
}

/// A record of `table` from its stored bytes (what `get` does after reading them).
pub fn decode_record<V: Stored>(table: &TenantTable<V>, bytes: &[u8]) -> Result<V> {
    decode(table.name(), bytes)
}

/// The open database, shared by every request.
#[derive(Clone)]
pub struct Store {
    db: Arc<Database>,
    path: Arc<Path>,
    schema: &'static Schema,
}

impl Store {
    /// Opens (or creates) `voxanne.redb` in `data_dir` and runs the schema's pending
    /// migrations. Files written by a newer schema are refused.
    /// A journal left beside the file (by a start with `[storage] journal` on) is replayed,
    /// folded into the file and removed when the database closes.
    pub fn open(data_dir: &Path, schema: &'static Schema) -> Result<Store> {
        Self::open_in(data_dir, schema, None)
    }

    /// As `open`, with commits going to the write-ahead journal (`journal`), checkpointed into
    /// the file whenever it passes `limit_bytes`.
    pub fn open_journalled(
        data_dir: &Path,
        schema: &'static Schema,
        limit_bytes: u64,
    ) -> Result<Store> {
        Self::open_in(data_dir, schema, Some(limit_bytes))
    }

    fn open_in(data_dir: &Path, schema: &'static Schema, journal: Option<u64>) -> Result<Store> {
        std::fs::create_dir_all(data_dir).map_err(|source| StoreError::DataDir {
            path: data_dir.to_path_buf(),
            source,
        })?;
        let path = data_dir.join(DATABASE_FILE);
        let journal_file = journal::journal_path(&path);
        let db = if journal.is_some() || journal_file.exists() {
            let file = |p: &Path| -> Result<redb::backends::FileBackend> {
                let f = std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create(true)
                    .truncate(false)
                    .open(p)
                    .map_err(|source| StoreError::DataDir {
                        path: p.to_path_buf(),
                        source,
                    })?;
                Ok(redb::backends::FileBackend::new(f)?)
            };
            // The journal is replayed before redb takes its own lock on the file, so it is
            // locked first: a second process never replays or checkpoints under a running one.
            let journal_backend = {
                let f = std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create(true)
                    .truncate(false)
                    .open(&journal_file)
                    .map_err(|source| StoreError::DataDir {
                        path: journal_file.clone(),
                        source,
                    })?;
                f.try_lock().map_err(|_| StoreError::InUse)?;
                redb::backends::FileBackend::new(f)?
            };
            let backend = journal::JournalBackend::open(
                file(&path)?,
                journal_backend,
                journal.unwrap_or(64 << 20),
            )
            .map_err(|source| StoreError::DataDir {
                path: journal_file.clone(),
                source,
            })?;
            let backend = match journal {
                Some(_) => backend,
                None => backend.remove_at_close(journal_file),
            };
            Database::builder().create_with_backend(backend)?
        } else {
            Database::create(&path)?
        };
        let store = Store {
            db: Arc::new(db),
            path: path.into(),
            schema,
        };
        store.migrate()?;
        Ok(store)
    }

    /// Opens (or creates) the database on another storage backend (redb's extension point:
    /// the power-cut tests' recording disk, later a journal), named `label` where a path is
    /// shown, and runs the schema's pending migrations as `open` does.
    pub fn open_with_backend(
        backend: impl redb::StorageBackend,
        label: &Path,
        schema: &'static Schema,
    ) -> Result<Store> {
        let db = Database::builder().create_with_backend(backend)?;
        let store = Store {
            db: Arc::new(db),
            path: label.into(),
            schema,
        };
        store.migrate()?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema this store was opened with.
    pub fn schema(&self) -> &'static Schema {
        self.schema
    }

    /// Applies every migration step newer than the file's schema version, in order, in one
    /// write transaction.
    fn migrate(&self) -> Result<()> {
        let mut w = self.begin_write()?;
        // META may not exist yet on a new file: opening it in a write transaction creates it.
        let found = w
            .global_get(&tables::META, b"schema_version")?
            .and_then(|v| v.as_u64())
            .unwrap_or(0);
        let known = self.schema.version();
        if found > known {
            return Err(StoreError::NewerSchema { found, known });
        }
        for step in self.schema.migrations.iter().filter(|m| m.version > found) {
            (step.apply)(&mut w)?;
            w.global_put(
                &tables::META,
                b"schema_version",
                &serde_json::json!(step.version),
            )?;
            tracing::info!(version = step.version, step = step.name, "storage migrated");
        }
        w.commit()
    }

    /// The schema version recorded in the file.
    pub fn schema_version(&self) -> Result<u64> {
        let r = self.begin_read()?;
        Ok(r.global_get(&tables::META, b"schema_version")?
            .and_then(|v| v.as_u64())
            .unwrap_or(0))
    }

    /// Readiness: a read transaction opens and the schema version is readable.
    pub async fn check(&self) -> Result<u64> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.schema_version())
            .await
            .map_err(|_| StoreError::TaskFailed)?
    }

    pub fn begin_read(&self) -> Result<StoreRead> {
        Ok(StoreRead {
            txn: self.db.begin_read()?,
        })
    }

    /// A write transaction with durable (fsync'd) commit.
    pub fn begin_write(&self) -> Result<StoreWrite> {
        Ok(StoreWrite::new(self.db.begin_write()?, self.schema))
    }

    /// Runs `f` in a read transaction on a blocking thread.
    pub async fn read<T, E, F>(&self, f: F) -> std::result::Result<T, E>
    where
        F: FnOnce(&StoreRead) -> std::result::Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let store = self.clone();
        tokio::task::spawn_blocking(move || {
            let r = store.begin_read()?;
            f(&r)
        })
        .await
        .map_err(|_| E::from(StoreError::TaskFailed))?
    }

    /// Runs `f` in a write transaction on a blocking thread; commits durably if `f` returns
    /// `Ok`, and writes nothing if it returns `Err`.
    pub async fn write<T, E, F>(&self, f: F) -> std::result::Result<T, E>
    where
        F: FnOnce(&mut StoreWrite) -> std::result::Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let store = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut w = store.begin_write()?;
            let out = f(&mut w)?;
            w.commit()?;
            Ok(out)
        })
        .await
        .map_err(|_| E::from(StoreError::TaskFailed))?
    }
}

/// One row of a tenant table, raw: (org, local key, stored bytes).
pub type RawRow = (u128, Vec<u8>, Vec<u8>);

impl StoreWrite {
    /// Every row of a tenant table, raw, for migrations.
    pub fn every_row(&mut self, def: tables::TenantDef) -> Result<Vec<RawRow>> {
        self.with_tenant(def, |t| {
            let mut rows = Vec::new();
            for item in t.iter()? {
                let (k, v) = item?;
                let (org, key) = k.value();
                rows.push((org, key.to_vec(), v.value().to_vec()));
            }
            Ok(rows)
        })
    }

    /// Writes raw rows into a tenant table (migrations only).
    pub fn put_rows(&mut self, def: tables::TenantDef, rows: &[RawRow]) -> Result<()> {
        self.with_tenant(def, |t| {
            for (org, key, value) in rows {
                t.insert((*org, key.as_slice()), value.as_slice())?;
            }
            Ok(())
        })
    }

    /// Creates tables that do not exist yet (migrations only).
    pub fn create_tables(
        &mut self,
        global: &[tables::GlobalDef],
        tenant: &[tables::TenantDef],
    ) -> Result<()> {
        for def in global {
            self.with_global(*def, |_| Ok(()))?;
        }
        for def in tenant {
            self.with_tenant(*def, |_| Ok(()))?;
        }
        Ok(())
    }
}

// ---- shared read helpers over any readable tenant or global table ---------------------------

type TenantKey = (u128, &'static [u8]);

fn tenant_get<V: Stored>(
    table: &impl ReadableTable<TenantKey, &'static [u8]>,
    name: &'static str,
    org: u128,
    key: &[u8],
) -> Result<Option<V>> {
    match table.get((org, key))? {
        Some(guard) => decode(name, guard.value()).map(Some),
        None => Ok(None),
    }
}

fn tenant_scan<V: Stored>(
    table: &impl ReadableTable<TenantKey, &'static [u8]>,
    name: &'static str,
    org: u128,
    prefix: &[u8],
    after: Option<&[u8]>,
    limit: usize,
) -> Result<Vec<(Vec<u8>, V)>> {
    let start = match after {
        Some(k) => Bound::Excluded((org, k)),
        None => Bound::Included((org, prefix)),
    };
    let mut out = Vec::new();
    for item in table.range::<(u128, &[u8])>((start, Bound::Unbounded))? {
        if out.len() >= limit {
            break;
        }
        let (k, v) = item?;
        let (key_org, local) = k.value();
        if key_org != org || !local.starts_with(prefix) {
            break;
        }
        out.push((local.to_vec(), decode(name, v.value())?));
    }
    Ok(out)
}

fn global_get_in<V: Stored>(
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    name: &'static str,
    key: &[u8],
) -> Result<Option<V>> {
    match table.get(key)? {
        Some(guard) => decode(name, guard.value()).map(Some),
        None => Ok(None),
    }
}

// ---- read transactions ----------------------------------------------------------------------

/// A consistent snapshot of the whole database.
pub struct StoreRead {
    txn: ReadTransaction,
}

impl StoreRead {
    /// The read handle of one org: it can only name keys of that org.
    pub fn org(&self, org: OrgId) -> OrgRead<'_> {
        OrgRead {
            org,
            txn: &self.txn,
        }
    }

    pub fn global_get<V: Stored>(&self, table: &GlobalTable<V>, key: &[u8]) -> Result<Option<V>> {
        let t = self.txn.open_table(table.def())?;
        global_get_in(&t, table.name(), key)
    }

    /// How many entries a global table holds.
    pub fn global_count<V>(&self, table: &GlobalTable<V>) -> Result<u64> {
        use redb::ReadableTableMetadata;
        let t = self.txn.open_table(table.def())?;
        Ok(t.len()?)
    }

    /// Up to `limit` entries of a global table, in key order.
    pub fn global_scan<V: Stored>(
        &self,
        table: &GlobalTable<V>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, V)>> {
        let t = self.txn.open_table(table.def())?;
        let mut out = Vec::new();
        for item in t.iter()?.take(limit) {
            let (k, v) = item?;
            out.push((k.value().to_vec(), decode(table.name(), v.value())?));
        }
        Ok(out)
    }

    /// Up to `limit` entries of a global table with keys in `[from, to)`.
    pub fn global_range<V: Stored>(
        &self,
        table: &GlobalTable<V>,
        from: &[u8],
        to: &[u8],
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, V)>> {
        let t = self.txn.open_table(table.def())?;
        let mut out = Vec::new();
        for item in t.range::<&[u8]>(from..to)?.take(limit) {
            let (k, v) = item?;
            out.push((k.value().to_vec(), decode(table.name(), v.value())?));
        }
        Ok(out)
    }

    /// Every key of a global table (for install-wide tools such as `audit verify`).
    pub fn global_keys<V>(&self, table: &GlobalTable<V>) -> Result<Vec<Vec<u8>>> {
        let t = self.txn.open_table(table.def())?;
        let mut keys = Vec::new();
        for item in t.iter()? {
            keys.push(item?.0.value().to_vec());
        }
        Ok(keys)
    }
}

/// Reads of one org's records.
pub struct OrgRead<'a> {
    org: OrgId,
    txn: &'a ReadTransaction,
}

/// Reads of one org's records, alike in a read transaction (`OrgRead`) and a write
/// transaction (`OrgWrite`): code that only reads takes `&impl OrgReads`.
pub trait OrgReads {
    /// The org every key of this handle belongs to.
    fn org_id(&self) -> OrgId;

    fn get<V: Stored>(&self, table: &TenantTable<V>, key: &[u8]) -> Result<Option<V>>;

    /// Records whose local key starts with `prefix`, in key order, after `after` if given.
    fn scan<V: Stored>(
        &self,
        table: &TenantTable<V>,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, V)>>;

    /// A record that must be there: `missing` (the caller's "not found") when it is not.
    fn require<V: Stored, E: From<StoreError>>(
        &self,
        table: &TenantTable<V>,
        key: &[u8],
        missing: E,
    ) -> std::result::Result<V, E> {
        self.get(table, key)?.ok_or(missing)
    }
}

impl OrgReads for OrgRead<'_> {
    fn org_id(&self) -> OrgId {
        self.org
    }

    fn get<V: Stored>(&self, table: &TenantTable<V>, key: &[u8]) -> Result<Option<V>> {
        let t = self.txn.open_table(table.def())?;
        tenant_get(&t, table.name(), self.org.as_u128(), key)
    }

    fn scan<V: Stored>(
        &self,
        table: &TenantTable<V>,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, V)>> {
        let t = self.txn.open_table(table.def())?;
        tenant_scan(&t, table.name(), self.org.as_u128(), prefix, after, limit)
    }
}

// ---- write transactions ---------------------------------------------------------------------

type Handle<'txn, K> = redb::Table<'txn, K, &'static [u8]>;
type TenantHandle<'txn> = Handle<'txn, TenantKey>;
type GlobalHandle<'txn> = Handle<'txn, &'static [u8]>;
/// Named open handles of one key shape.
type Handles<'txn, K> = RefCell<Vec<(String, Handle<'txn, K>)>>;

/// The tables a write transaction has opened, kept open until it commits. Opening a redb
/// table looks it up in the catalogue and closing it writes its root back; once per table per
/// transaction instead of once per read or write (the claim writer's batches touch the same
/// five tables for every claim).
struct OpenTables<'txn> {
    tenant: Handles<'txn, TenantKey>,
    global: Handles<'txn, &'static [u8]>,
}

self_cell::self_cell!(
    struct WriteCell {
        owner: WriteTransaction,
        #[not_covariant]
        dependent: OpenTables,
    }
);

/// Runs `f` on the handle of `def` among `open`, opening it in `txn` first if needed.
fn with_open<'txn, K: redb::Key + 'static, R>(
    txn: &'txn WriteTransaction,
    open: &Handles<'txn, K>,
    def: redb::TableDefinition<'static, K, &'static [u8]>,
    f: impl FnOnce(&mut Handle<'txn, K>) -> Result<R>,
) -> Result<R> {
    let mut tables = open.borrow_mut();
    let at = match tables.iter().position(|(name, _)| name == def.name()) {
        Some(at) => at,
        None => {
            tables.push((def.name().to_string(), txn.open_table(def)?));
            tables.len() - 1
        }
    };
    f(&mut tables[at].1)
}

/// One write transaction. Dropped without `commit`, it writes nothing.
pub struct StoreWrite {
    cell: WriteCell,
    schema: &'static Schema,
}

impl StoreWrite {
    fn new(txn: WriteTransaction, schema: &'static Schema) -> StoreWrite {
        StoreWrite {
            cell: WriteCell::new(txn, |_| OpenTables {
                tenant: RefCell::new(Vec::new()),
                global: RefCell::new(Vec::new()),
            }),
            schema,
        }
    }

    /// Runs `f` on the open handle of a tenant table, opening it on first use. Every caller's
    /// `f` is a leaf operation (it never reaches for another table), so the borrow is never
    /// nested.
    fn with_tenant<R>(
        &self,
        def: tables::TenantDef,
        f: impl FnOnce(&mut TenantHandle<'_>) -> Result<R>,
    ) -> Result<R> {
        self.cell
            .with_dependent(|txn, open| with_open(txn, &open.tenant, def, f))
    }

    /// As `with_tenant`, for a global table.
    fn with_global<R>(
        &self,
        def: tables::GlobalDef,
        f: impl FnOnce(&mut GlobalHandle<'_>) -> Result<R>,
    ) -> Result<R> {
        self.cell
            .with_dependent(|txn, open| with_open(txn, &open.global, def, f))
    }

    /// Deletes a table (migrations only); the open handles are closed first.
    pub fn delete_table(&mut self, def: tables::TenantDef) -> Result<()> {
        self.cell.with_dependent(|txn, open| {
            open.tenant.borrow_mut().clear();
            open.global.borrow_mut().clear();
            txn.delete_table(def)?;
            Ok(())
        })
    }

    /// The write handle of one org: it can only name keys of that org.
    pub fn org(&self, org: OrgId) -> OrgWrite<'_> {
        OrgWrite { org, w: self }
    }

    pub fn commit(self) -> Result<()> {
        // The open tables close (writing their roots back) before the commit.
        self.cell.into_owner().commit()?;
        Ok(())
    }

    pub fn global_get<V: Stored>(&self, table: &GlobalTable<V>, key: &[u8]) -> Result<Option<V>> {
        self.with_global(table.def(), |t| global_get_in(t, table.name(), key))
    }

    pub fn global_put<V: Stored>(
        &mut self,
        table: &GlobalTable<V>,
        key: &[u8],
        value: &V,
    ) -> Result<()> {
        let bytes = encode(table.name(), value)?;
        self.with_global(table.def(), |t| {
            t.insert(key, bytes.as_slice())?;
            Ok(())
        })
    }

    /// Keeps only the entries of a global table whose value passes `keep`; returns how many
    /// were removed.
    pub fn global_retain<V: Stored>(
        &mut self,
        table: &GlobalTable<V>,
        keep: impl Fn(&V) -> bool,
    ) -> Result<usize> {
        self.with_global(table.def(), |t| {
            let mut doomed = Vec::new();
            for item in t.iter()? {
                let (k, v) = item?;
                let value: V = decode(table.name(), v.value())?;
                if !keep(&value) {
                    doomed.push(k.value().to_vec());
                }
            }
            for k in &doomed {
                t.remove(k.as_slice())?;
            }
            Ok(doomed.len())
        })
    }

    /// Removes a key; tells whether it was there.
    pub fn global_remove<V>(&mut self, table: &GlobalTable<V>, key: &[u8]) -> Result<bool> {
        self.with_global(table.def(), |t| Ok(t.remove(key)?.is_some()))
    }
}

impl Store {
    /// Removes every record of `org` in a write transaction of its own. This is the store's
    /// level: with services running, a clinic is deleted through the claim writer, which
    /// also forgets it in memory.
    pub fn purge_org(&self, org: OrgId) -> Result<usize> {
        let mut w = self.begin_write()?;
        let removed = w.purge_org(org)?;
        w.commit()?;
        Ok(removed)
    }
}

impl StoreWrite {
    /// Removes every record of `org` in this transaction: all its keys in every tenant table
    /// of the schema and the global entries that point at it. Returns how many entries went.
    /// (Encrypted data should be crypto-shredded first; in-memory indexes are the caller's.)
    pub fn purge_org(&mut self, org: OrgId) -> Result<usize> {
        let schema = self.schema;
        let mut removed = 0;
        let prefix = org.as_u128();
        for def in (schema.tenant)() {
            removed += self.with_tenant(def, |t| {
                let keys: Vec<Vec<u8>> = t
                    .range::<(u128, &[u8])>((Bound::Included((prefix, &[][..])), Bound::Unbounded))?
                    .map_while(|item| match item {
                        Ok((k, _)) if k.value().0 == prefix => Some(Ok(k.value().1.to_vec())),
                        Ok(_) => None,
                        Err(e) => Some(Err(e)),
                    })
                    .collect::<std::result::Result<_, _>>()?;
                for k in &keys {
                    t.remove((prefix, k.as_slice()))?;
                }
                Ok(keys.len())
            })?;
        }
        removed += (schema.forget_org_globals)(self, org)?;
        Ok(removed)
    }
}

/// Reads and writes of one org's records inside a write transaction.
pub struct OrgWrite<'a> {
    org: OrgId,
    w: &'a StoreWrite,
}

impl OrgReads for OrgWrite<'_> {
    fn org_id(&self) -> OrgId {
        self.org
    }

    fn get<V: Stored>(&self, table: &TenantTable<V>, key: &[u8]) -> Result<Option<V>> {
        let org = self.org.as_u128();
        self.w
            .with_tenant(table.def(), |t| tenant_get(t, table.name(), org, key))
    }

    fn scan<V: Stored>(
        &self,
        table: &TenantTable<V>,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, V)>> {
        let org = self.org.as_u128();
        self.w.with_tenant(table.def(), |t| {
            tenant_scan(t, table.name(), org, prefix, after, limit)
        })
    }
}

impl OrgWrite<'_> {
    /// The record under `key` as `read` makes it from its stored bytes (`decode_record` is the
    /// plain way): for a caller that keeps records it decoded before and tells from the bytes
    /// whether one is still current.
    pub fn get_via<V: Stored, T>(
        &self,
        table: &TenantTable<V>,
        key: &[u8],
        read: impl FnOnce(&[u8]) -> Result<T>,
    ) -> Result<Option<T>> {
        let org = self.org.as_u128();
        self.w.with_tenant(table.def(), |t| {
            let got = t.get((org, key))?;
            got.map(|guard| read(guard.value())).transpose()
        })
    }

    pub fn put<V: Stored>(&mut self, table: &TenantTable<V>, key: &[u8], value: &V) -> Result<()> {
        let bytes = encode(table.name(), value)?;
        let org = self.org.as_u128();
        self.w.with_tenant(table.def(), |t| {
            t.insert((org, key), bytes.as_slice())?;
            Ok(())
        })
    }

    /// Removes a key of this org; tells whether it was there.
    pub fn remove<V>(&mut self, table: &TenantTable<V>, key: &[u8]) -> Result<bool> {
        let org = self.org.as_u128();
        self.w
            .with_tenant(table.def(), |t| Ok(t.remove((org, key))?.is_some()))
    }
}
