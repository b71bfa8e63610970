//! A write-ahead journal under redb, through its storage-backend extension point: each sync
//! (a durable commit) appends one checksummed, length-prefixed record of the blocks written
//! since the last one to a journal beside the database file and syncs that alone — one
//! sequential write where redb would write a dozen scattered pages. Reads are served from an
//! in-memory overlay of the journalled blocks. Once the journal passes its limit, new records
//! go to the journal's other region and a background checkpoint writes the frozen overlay into
//! the database file, syncs it and voids the old region; commits wait only when the new region
//! fills before that checkpoint ends. Opening replays every complete record of the valid
//! regions, oldest first, each up to its first torn or bad record, and folds them into the
//! file.
//!
//! The journal file: a superblock (magic, region size, CRC-32) in its first block, then two
//! regions of that size, each a header (magic, generation, sequence) and records (payload
//! length, CRC-32, payload as `record` writes it).

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use redb::{BackendError, StorageBackend};

pub use record::records_appended;
#[cfg(test)]
use record::CHANGED_RUNS;

mod record;
mod recovery;

/// The unit the overlay and the journal hold.
const BLOCK: u64 = 4096;
const SUPER_MAGIC: &[u8; 8] = b"VXJRNLSB";
const REGION_MAGIC: &[u8; 8] = b"VXJRNL03";
/// Regions of the second format: records of whole blocks only (replayed as before).
const V2_REGION_MAGIC: &[u8; 8] = b"VXJRNL02";
/// The first journal format: one region from offset 0, a header without a sequence.
const V1_MAGIC: &[u8; 8] = b"VXJRNL01";
const V1_HEADER_LEN: u64 = 16;
/// Regions start after the superblock's block.
const SUPER_LEN: u64 = BLOCK;
/// A region's header: magic, generation, sequence (which region is newer).
const HEADER_LEN: u64 = 24;
/// What voids a region: its whole header zeroed (a new header torn after its magic then
/// names no generation and no sequence of the old records).
const VOID_HEADER: [u8; HEADER_LEN as usize] = [0u8; HEADER_LEN as usize];
/// A record's prefix: payload length (u32), CRC-32 of the payload (u32).
const PREFIX_LEN: u64 = 8;
/// A record's payload before its blocks: generation, smallest length, final length, count.
const RECORD_HEAD: usize = 28;

type Blocks = BTreeMap<u64, Box<[u8]>>;

struct State<M, J> {
    main: Arc<M>,
    journal: J,
    /// Blocks written since the last rotation (journalled or not yet), by block number.
    overlay: Blocks,
    /// Blocks a background checkpoint is writing into the database file: read after the
    /// overlay and before the file until it ends.
    frozen: Option<Arc<Blocks>>,
    /// The smallest database length since the freeze: frozen blocks from there on are gone.
    frozen_cut: u64,
    /// Blocks written since the last sync.
    unsynced: std::collections::BTreeSet<u64>,
    /// What the overlay held at the last sync for the unsynced blocks it held then: the next
    /// record carries only the bytes that changed since (replayed over what the records
    /// before it gave that block).
    bases: Blocks,
    /// The database's length as redb sees it.
    len: u64,
    /// The smallest length since the last sync (a shrink then a grow must replay as both).
    smallest_len: u64,
    /// How much of the database file holds current contents (blocks past it, and not in an
    /// overlay, read as zeros until a checkpoint).
    main_len: u64,
    /// The size of each of the journal's two regions.
    region_len: u64,
    /// The region records go to (0 or 1).
    region: u64,
    generation: u64,
    sequence: u64,
    /// Where the next record goes.
    journal_end: u64,
    /// A rotation starts once the current region holds this many bytes.
    limit: u64,
    /// A background checkpoint failed: the next sync folds everything into the file itself.
    fold_next: bool,
    checkpoints: u64,
    checkpoint_thread: Option<JoinHandle<()>>,
    /// Removed once the last checkpoint at close has brought the file up to date (the
    /// journal is being switched off).
    remove_at_close: Option<PathBuf>,
}

struct Shared<M, J> {
    state: Mutex<State<M, J>>,
    /// Signalled when a background checkpoint ends.
    checkpoint_ended: Condvar,
}

/// The journal of the database file at `main`.
pub fn journal_path(main: &Path) -> PathBuf {
    let mut name = main.as_os_str().to_owned();
    name.push(".journal");
    PathBuf::from(name)
}

/// The backend; redb owns it once the database is built on it.
pub struct JournalBackend<M, J> {
    shared: Arc<Shared<M, J>>,
}

impl<M, J> fmt::Debug for JournalBackend<M, J> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JournalBackend")
    }
}

fn corrupt(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

fn word(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap_or_default())
}

/// What one background checkpoint writes.
struct Checkpoint<M> {
    main: Arc<M>,
    blocks: Arc<Blocks>,
    /// The database length at the freeze.
    len: u64,
    /// How much of the file held current contents at the freeze.
    main_len: u64,
    /// The region whose records this makes void.
    old_region: u64,
}

impl<M: StorageBackend> Checkpoint<M> {
    /// Brings the database file to the frozen state and syncs it.
    fn write(&self) -> io::Result<()> {
        write_back(
            &*self.main,
            &self.blocks,
            self.main_len,
            self.len,
            CHECKPOINT_SYNC_EVERY,
        )
    }
}

/// A background checkpoint syncs the database file after every this many blocks it writes
/// (128 KiB), not once at the end: one sync of all of them (about 900 blocks at one client,
/// 5,700 at 64) kept the disk busy for 8-50 ms, and every commit's journal sync waited behind
/// it. In smaller pieces the commits' syncs get in between.
/// (The unit tests' checkpoints hold a few blocks: they sync every two, so that power is also
/// cut between these syncs.)
const CHECKPOINT_SYNC_EVERY: usize = if cfg!(test) { 2 } else { 32 };

/// Writes `blocks` into the file `main` (cut to `main_len` first, so what lay past it reads
/// as zeros, then set to `len`) and syncs it, and also after every `sync_every` blocks when
/// that is not 0.
fn write_back<M: StorageBackend>(
    main: &M,
    blocks: &Blocks,
    main_len: u64,
    len: u64,
    sync_every: usize,
) -> io::Result<()> {
    if main.len()? != main_len {
        main.set_len(main_len)?;
    }
    if main_len != len {
        main.set_len(len)?;
    }
    let mut written = 0;
    for (n, b) in blocks {
        let start = n * BLOCK;
        let end = (start + BLOCK).min(len);
        if start < end {
            main.write(start, &b[..(end - start) as usize])?;
            written += 1;
            if sync_every > 0 && written % sync_every == 0 {
                main.sync_data()?;
            }
        }
    }
    main.sync_data()
}

impl<M: StorageBackend, J: StorageBackend> JournalBackend<M, J> {
    /// Opens the database file `main` with its journal `journal` (empty for a new one):
    /// replays the journal's complete records, folds them into the file and starts the journal
    /// afresh; a rotation starts whenever a region passes `limit` bytes.
    pub fn open(main: M, journal: J, limit: u64) -> io::Result<Self> {
        let main_len = main.len()?;
        let limit = limit.max(BLOCK * 16);
        let mut state = State {
            main: Arc::new(main),
            journal,
            overlay: Blocks::new(),
            frozen: None,
            frozen_cut: main_len,
            unsynced: Default::default(),
            bases: Blocks::new(),
            len: main_len,
            smallest_len: main_len,
            main_len,
            region_len: (limit + limit / 4).next_multiple_of(BLOCK),
            region: 0,
            generation: 0,
            sequence: 0,
            journal_end: SUPER_LEN + HEADER_LEN,
            limit,
            fold_next: false,
            checkpoints: 0,
            checkpoint_thread: None,
            remove_at_close: None,
        };
        state.recover()?;
        Ok(JournalBackend {
            shared: Arc::new(Shared {
                state: Mutex::new(state),
                checkpoint_ended: Condvar::new(),
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State<M, J>> {
        self.shared.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn wait_for_checkpoint<'a>(
        &'a self,
        mut s: MutexGuard<'a, State<M, J>>,
    ) -> MutexGuard<'a, State<M, J>> {
        while s.frozen.is_some() {
            s = self
                .shared
                .checkpoint_ended
                .wait(s)
                .unwrap_or_else(|p| p.into_inner());
        }
        s
    }

    /// Checkpoints ended so far (background ones and folds).
    pub fn checkpoints(&self) -> u64 {
        self.lock().checkpoints
    }

    /// Waits until no background checkpoint is running.
    pub fn finish_checkpoint(&self) {
        drop(self.wait_for_checkpoint(self.lock()));
    }

    /// At close, after the last checkpoint, removes the journal file at `path`.
    pub fn remove_at_close(self, path: PathBuf) -> Self {
        self.lock().remove_at_close = Some(path);
        self
    }

    /// One record of every block written since the last sync, appended and synced; then a
    /// rotation once the region passes the limit. A record the region has no room for is
    /// not written: everything is folded into the database file instead.
    fn sync(&self) -> io::Result<()> {
        let mut s = self.lock();
        if s.fold_next {
            return self.wait_for_checkpoint(s).fold_all();
        }
        let record = s.record();
        let region_start = s.region_start(s.region);
        if s.journal_end + record.len() as u64 > region_start + s.region_len {
            return self.wait_for_checkpoint(s).fold_all();
        }
        s.journal.write(s.journal_end, &record)?;
        s.journal.sync_data()?;
        record::appended(record.len());
        s.unsynced.clear();
        s.bases.clear();
        s.journal_end += record.len() as u64;
        s.smallest_len = s.len;
        if s.journal_end - region_start > s.limit && s.frozen.is_none() {
            // The commit is durable already; a rotation that fails is tried at the next sync.
            let _ = self.rotate(&mut s);
        }
        Ok(())
    }

    /// Starts a new generation in the other region, freezes the overlay and starts the
    /// background checkpoint that writes it into the database file.
    fn rotate(&self, s: &mut State<M, J>) -> io::Result<()> {
        let old_region = s.region;
        s.region = 1 - old_region;
        if let Err(e) = s.start_generation() {
            // Records keep going to the old region; the other's header, if it was written,
            // heads no records and is newer, so a replay finds nothing in it.
            s.region = old_region;
            return Err(e);
        }
        let blocks = Arc::new(std::mem::take(&mut s.overlay));
        s.frozen = Some(blocks.clone());
        s.frozen_cut = s.len;
        let job = Checkpoint {
            main: s.main.clone(),
            blocks,
            len: s.len,
            main_len: s.main_len,
            old_region,
        };
        let shared = self.shared.clone();
        let spawned = std::thread::Builder::new()
            .name("journal-checkpoint".into())
            .spawn(move || {
                // A panic is a failed checkpoint too: commits waiting for its end must not
                // wait forever.
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job.write()))
                    .unwrap_or_else(|_| Err(io::Error::other("the checkpoint panicked")));
                shared.end_checkpoint(job, result);
            });
        match spawned {
            Ok(handle) => {
                s.checkpoint_thread = Some(handle);
                Ok(())
            }
            Err(e) => {
                // Both regions now hold records the file lacks: the next sync folds.
                if let Some(frozen) = s.frozen.take() {
                    s.overlay = Arc::unwrap_or_clone(frozen);
                }
                s.fold_next = true;
                Err(e)
            }
        }
    }
}

impl<M: StorageBackend, J: StorageBackend> Shared<M, J> {
    /// Takes a background checkpoint's result: on success the file holds the frozen blocks
    /// and the old region is voided; on failure the frozen blocks go back under the newer
    /// ones and the next sync folds everything into the file itself.
    fn end_checkpoint(&self, job: Checkpoint<M>, result: io::Result<()>) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match result {
            Ok(()) => {
                s.main_len = job.len.min(s.frozen_cut);
                // Made durable by the journal's next sync; replayed before that, the old
                // records would only write again what the file now holds.
                let old_header = s.region_start(job.old_region);
                let _ = s.journal.write(old_header, &VOID_HEADER);
                s.checkpoints += 1;
            }
            Err(_) => {
                let cut = s.frozen_cut;
                for (n, b) in job.blocks.iter() {
                    if n * BLOCK < cut {
                        s.overlay.entry(*n).or_insert_with(|| b.clone());
                    }
                }
                s.fold_next = true;
            }
        }
        s.frozen = None;
        self.checkpoint_ended.notify_all();
    }
}

impl<M: StorageBackend, J: StorageBackend> State<M, J> {
    fn region_start(&self, region: u64) -> u64 {
        SUPER_LEN + region * self.region_len
    }

    /// Starts a new generation in the current region: a header naming a fresh random
    /// generation and the next sequence number (records of an older generation still in the
    /// region fail the check and end a replay). Synced.
    fn start_generation(&mut self) -> io::Result<()> {
        let start = self.region_start(self.region);
        let generation = rand::random::<u64>() | 1;
        self.sequence += 1;
        let mut header = [0u8; HEADER_LEN as usize];
        header[..8].copy_from_slice(REGION_MAGIC);
        header[8..16].copy_from_slice(&generation.to_le_bytes());
        header[16..].copy_from_slice(&self.sequence.to_le_bytes());
        // The record after the header is zeroed, so a replay of this generation stops there
        // even where an old record of the same length once began.
        self.journal
            .write(start + HEADER_LEN, &[0u8; PREFIX_LEN as usize])?;
        self.journal.write(start, &header)?;
        self.journal.sync_data()?;
        self.generation = generation;
        self.journal_end = start + HEADER_LEN;
        Ok(())
    }

    /// Brings the database file up to date with everything written (synced or not), syncs
    /// it, voids the other region and starts a new generation in this one. No background
    /// checkpoint may be running.
    fn fold_all(&mut self) -> io::Result<()> {
        write_back(&*self.main, &self.overlay, self.main_len, self.len, 0)?;
        self.overlay.clear();
        self.unsynced.clear();
        self.bases.clear();
        self.main_len = self.len;
        self.smallest_len = self.len;
        self.frozen_cut = self.len;
        // Until the new generation is written, the old records could undo the fold.
        self.fold_next = true;
        // The other region is void, durably, before this one's records go: a stale region
        // replayed without the newer records after it would undo what the file now holds.
        let other = self.region_start(1 - self.region);
        self.journal.write(other, &VOID_HEADER)?;
        self.journal.sync_data()?;
        self.start_generation()?;
        self.fold_next = false;
        self.checkpoints += 1;
        Ok(())
    }

    /// A frozen block still part of the database.
    fn frozen_block(&self, n: u64) -> Option<&[u8]> {
        match &self.frozen {
            Some(frozen) if n * BLOCK < self.frozen_cut => frozen.get(&n).map(|b| &**b),
            _ => None,
        }
    }

    fn set_len_in_memory(&mut self, len: u64) {
        self.smallest_len = self.smallest_len.min(len);
        if len < self.len {
            // Blocks wholly past the end go; the tail of the last one reads as zeros again.
            let first_gone = len.div_ceil(BLOCK);
            self.overlay.split_off(&first_gone);
            self.unsynced.split_off(&first_gone);
            self.bases.split_off(&first_gone);
            if !len.is_multiple_of(BLOCK) {
                let block = len / BLOCK;
                if !self.overlay.contains_key(&block) {
                    if let Some(b) = self.frozen_block(block).map(Box::from) {
                        self.overlay.insert(block, b);
                    }
                }
                // Recorded whole: a replay zeroes the tail before any runs, so runs taken
                // against the contents before the cut would leave out tail bytes that were
                // written back as they were.
                self.bases.remove(&block);
                if let Some(b) = self.overlay.get_mut(&block) {
                    b[(len % BLOCK) as usize..].fill(0);
                    self.unsynced.insert(block);
                }
            }
            self.main_len = self.main_len.min(len);
            self.frozen_cut = self.frozen_cut.min(len);
        }
        self.len = len;
    }

    /// The current contents of block `n` (overlay, frozen blocks, the database file, zeros).
    fn block(&self, n: u64) -> io::Result<Box<[u8]>> {
        if let Some(b) = self
            .overlay
            .get(&n)
            .map(|b| &**b)
            .or_else(|| self.frozen_block(n))
        {
            return Ok(b.into());
        }
        let mut b = vec![0u8; BLOCK as usize].into_boxed_slice();
        let start = n * BLOCK;
        if start < self.main_len {
            let end = (start + BLOCK).min(self.main_len);
            self.main.read(start, &mut b[..(end - start) as usize])?;
        }
        Ok(b)
    }

    fn write(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        let end = offset + data.len() as u64;
        if end > self.len {
            return Err(corrupt("write past the end"));
        }
        let mut at = offset;
        while at < end {
            let n = at / BLOCK;
            let within = (at % BLOCK) as usize;
            let take = ((BLOCK as usize) - within).min((end - at) as usize);
            let src = &data[(at - offset) as usize..(at - offset) as usize + take];
            let replaced = if within == 0 && take == BLOCK as usize {
                self.overlay.insert(n, src.into())
            } else {
                let mut b = self.block(n)?;
                b[within..within + take].copy_from_slice(src);
                self.overlay.insert(n, b)
            };
            // The first change since the last sync to a block the overlay held: what it held
            // is what the next record's runs are taken against.
            if let Some(before) = replaced {
                if !self.unsynced.contains(&n) {
                    self.bases.insert(n, before);
                }
            }
            self.unsynced.insert(n);
            at += take as u64;
        }
        Ok(())
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> io::Result<()> {
        let end = offset + out.len() as u64;
        if end > self.len {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "read past the end",
            ));
        }
        let mut at = offset;
        while at < end {
            let n = at / BLOCK;
            let within = (at % BLOCK) as usize;
            let take = ((BLOCK as usize) - within).min((end - at) as usize);
            let dst = &mut out[(at - offset) as usize..(at - offset) as usize + take];
            match self
                .overlay
                .get(&n)
                .map(|b| &**b)
                .or_else(|| self.frozen_block(n))
            {
                Some(b) => dst.copy_from_slice(&b[within..within + take]),
                None => {
                    let main_end = self.main_len.min(at + take as u64);
                    let from_main = main_end.saturating_sub(at) as usize;
                    if from_main > 0 {
                        self.main.read(at, &mut dst[..from_main])?;
                    }
                    dst[from_main..].fill(0);
                }
            }
            at += take as u64;
        }
        Ok(())
    }

    /// The record of every block written since the last sync: prefix, then payload (a block
    /// the overlay held at the last sync given by the bytes that changed since, `record`).
    fn record(&self) -> Vec<u8> {
        let zeros = [0u8; BLOCK as usize];
        let blocks = self.unsynced.iter().map(|n| {
            let now = self.overlay.get(n).map_or(&zeros[..], |b| &**b);
            (*n, now, self.bases.get(n).map(|b| &**b))
        });
        record::encode(
            [self.generation, self.smallest_len, self.len],
            self.unsynced.len(),
            blocks,
        )
    }
}

impl<M: StorageBackend, J: StorageBackend> StorageBackend for JournalBackend<M, J> {
    fn len(&self) -> Result<u64, io::Error> {
        Ok(self.lock().len)
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), io::Error> {
        self.lock().read(offset, out)
    }

    fn set_len(&self, len: u64) -> Result<(), io::Error> {
        // A length change is journalled with the next record, like a write.
        self.lock().set_len_in_memory(len);
        Ok(())
    }

    fn sync_data(&self) -> Result<(), io::Error> {
        self.sync()
    }

    fn write(&self, offset: u64, data: &[u8]) -> Result<(), io::Error> {
        self.lock().write(offset, data)
    }

    fn close(&self) -> Result<(), io::Error> {
        let mut s = self.wait_for_checkpoint(self.lock());
        let thread = s.checkpoint_thread.take();
        drop(s);
        if let Some(thread) = thread {
            let _ = thread.join();
        }
        let mut s = self.lock();
        let folded = s.fold_all();
        let journal_closed = s.journal.close();
        // The journal goes only once everything it held is in the synced file.
        let removed = match (&folded, s.remove_at_close.take()) {
            (Ok(()), Some(path)) => std::fs::remove_file(&path),
            _ => Ok(()),
        };
        let main_closed = s.main.close();
        folded.and(journal_closed).and(removed).and(main_closed)
    }

    // The database file's locks keep a second process out, as without the journal (taken
    // without holding the state, as they may block).
    fn try_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        let main = self.lock().main.clone();
        main.try_lock_range(start, end)
    }

    fn try_lock_shared_range(
        &self,
        start: Bound<u64>,
        end: Bound<u64>,
    ) -> Result<bool, BackendError> {
        let main = self.lock().main.clone();
        main.try_lock_shared_range(start, end)
    }

    fn lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        let main = self.lock().main.clone();
        main.lock_range(start, end)
    }

    fn lock_shared_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        let main = self.lock().main.clone();
        main.lock_shared_range(start, end)
    }

    fn unlock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        let main = self.lock().main.clone();
        main.unlock_range(start, end)
    }

    fn query_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        let main = self.lock().main.clone();
        main.query_lock_range(start, end)
    }
}

#[cfg(test)]
mod tests;
