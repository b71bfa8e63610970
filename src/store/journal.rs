//! A write-ahead journal under redb, through its storage-backend extension point: each sync
//! (a durable commit) appends one checksummed, length-prefixed record of the blocks written
//! since the last one to a journal beside the database file and syncs that alone — one
//! sequential write where redb would write a dozen scattered pages. Reads are served from an
//! in-memory overlay of the journalled blocks; a checkpoint, once the journal passes its limit,
//! writes the overlay into the database file, syncs it, and starts a new journal generation.
//! Opening replays every complete record of the current generation in order and stops at the
//! first torn or bad one.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use redb::{BackendError, StorageBackend};

/// The unit the overlay and the journal hold.
const BLOCK: u64 = 4096;
const MAGIC: &[u8; 8] = b"VXJRNL01";
/// The journal's header: magic, then the generation its records belong to.
const HEADER_LEN: u64 = 16;
/// A record's prefix: payload length (u32), CRC-32 of the payload (u32).
const PREFIX_LEN: u64 = 8;

struct State<M, J> {
    main: M,
    journal: J,
    /// Blocks written since the last checkpoint, by block number (journalled or not yet).
    overlay: BTreeMap<u64, Box<[u8]>>,
    /// Blocks written since the last sync.
    unsynced: std::collections::BTreeSet<u64>,
    /// The database's length as redb sees it.
    len: u64,
    /// The smallest length since the last sync (a shrink then a grow must replay as both).
    smallest_len: u64,
    /// The database file's own length (blocks past it read as zeros until a checkpoint).
    main_len: u64,
    generation: u64,
    /// Where the next record goes.
    journal_end: u64,
    /// A checkpoint starts once the journal holds this many bytes.
    limit: u64,
    checkpoints: u64,
    /// Removed once the last checkpoint at close has brought the file up to date (the
    /// journal is being switched off).
    remove_at_close: Option<PathBuf>,
}

/// The journal of the database file at `main`.
pub fn journal_path(main: &Path) -> PathBuf {
    let mut name = main.as_os_str().to_owned();
    name.push(".journal");
    PathBuf::from(name)
}

/// The backend; redb owns it once the database is built on it.
pub struct JournalBackend<M, J> {
    state: Mutex<State<M, J>>,
}

impl<M, J> fmt::Debug for JournalBackend<M, J> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JournalBackend")
    }
}

fn corrupt(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

impl<M: StorageBackend, J: StorageBackend> JournalBackend<M, J> {
    /// Opens the database file `main` with its journal `journal` (empty for a new one),
    /// replaying the journal's complete records; a checkpoint starts when the journal passes
    /// `limit` bytes.
    pub fn open(main: M, journal: J, limit: u64) -> io::Result<Self> {
        let main_len = main.len()?;
        let mut state = State {
            main,
            journal,
            overlay: BTreeMap::new(),
            unsynced: Default::default(),
            len: main_len,
            smallest_len: main_len,
            main_len,
            generation: 0,
            journal_end: HEADER_LEN,
            limit: limit.max(BLOCK * 16),
            checkpoints: 0,
            remove_at_close: None,
        };
        state.replay()?;
        Ok(JournalBackend {
            state: Mutex::new(state),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State<M, J>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Checkpoints run so far.
    pub fn checkpoints(&self) -> u64 {
        self.lock().checkpoints
    }

    /// At close, after the last checkpoint, removes the journal file at `path`.
    pub fn remove_at_close(self, path: PathBuf) -> Self {
        self.lock().remove_at_close = Some(path);
        self
    }
}

impl<M: StorageBackend, J: StorageBackend> State<M, J> {
    /// Reads the journal: a header of another generation's magic (or none) starts a fresh
    /// journal; otherwise every record whose checksum holds is applied to the overlay in order,
    /// up to the first that does not.
    fn replay(&mut self) -> io::Result<()> {
        let journal_len = self.journal.len()?;
        let mut header = [0u8; HEADER_LEN as usize];
        let valid = journal_len >= HEADER_LEN && {
            self.journal.read(0, &mut header)?;
            &header[..8] == MAGIC
        };
        if !valid {
            // New, or its header torn during a checkpoint (after which the database file
            // already held everything): a fresh generation.
            return self.start_generation();
        }
        self.generation = u64::from_le_bytes(header[8..16].try_into().unwrap_or_default());
        let mut at = HEADER_LEN;
        while at + PREFIX_LEN <= journal_len {
            let mut prefix = [0u8; PREFIX_LEN as usize];
            self.journal.read(at, &mut prefix)?;
            let size = u32::from_le_bytes(prefix[..4].try_into().unwrap_or_default()) as u64;
            let crc = u32::from_le_bytes(prefix[4..].try_into().unwrap_or_default());
            if size < 28 || at + PREFIX_LEN + size > journal_len {
                // (28: generation, smallest and final length, block count — an empty sync's
                // record is exactly that.)
                break;
            }
            let mut payload = vec![0u8; size as usize];
            self.journal.read(at + PREFIX_LEN, &mut payload)?;
            if crc32fast::hash(&payload) != crc || !self.apply_record(&payload) {
                break;
            }
            at += PREFIX_LEN + size;
        }
        self.journal_end = at;
        Ok(())
    }

    /// Applies one record (generation, the smallest length since the sync before it, the
    /// length at its sync, then block number and contents per block) to the overlay: shrink to
    /// the smallest length (what lay past it reads as zeros again), the blocks, then the final
    /// length. False when it belongs to another generation or is malformed.
    fn apply_record(&mut self, payload: &[u8]) -> bool {
        let word = |i: usize| u64::from_le_bytes(payload[i..i + 8].try_into().unwrap_or_default());
        if word(0) != self.generation {
            return false;
        }
        let (smallest, len) = (word(8), word(16));
        let count = u32::from_le_bytes(payload[24..28].try_into().unwrap_or_default()) as usize;
        let body = &payload[28..];
        if body.len() != count * (8 + BLOCK as usize) || smallest > len || smallest > self.len {
            return false;
        }
        self.set_len_in_memory(smallest);
        self.set_len_in_memory(len);
        for entry in body.chunks_exact(8 + BLOCK as usize) {
            let block = u64::from_le_bytes(entry[..8].try_into().unwrap_or_default());
            self.overlay.insert(block, entry[8..].into());
        }
        self.unsynced.clear();
        self.smallest_len = self.len;
        true
    }

    /// Starts a new generation: a header naming a fresh random generation (records of any
    /// older one, still in the file after it, fail the check and end a replay), with the
    /// journal's space written out first up to past its limit, so appending a record changes
    /// no file size and its sync writes no metadata. Synced.
    fn start_generation(&mut self) -> io::Result<()> {
        let target = self.limit + self.limit / 4;
        let mut at = self.journal.len()?;
        if at < target {
            self.journal.set_len(target)?;
            let zeros = vec![0u8; 1 << 20];
            while at < target {
                let n = (target - at).min(zeros.len() as u64);
                self.journal.write(at, &zeros[..n as usize])?;
                at += n;
            }
        }
        let generation = rand::random::<u64>() | 1;
        let mut header = [0u8; HEADER_LEN as usize];
        header[..8].copy_from_slice(MAGIC);
        header[8..].copy_from_slice(&generation.to_le_bytes());
        // The record after the header is zeroed, so a replay of this generation stops there
        // even where an old record of the same length once began.
        self.journal
            .write(HEADER_LEN, &[0u8; PREFIX_LEN as usize])?;
        self.journal.write(0, &header)?;
        self.journal.sync_data()?;
        self.generation = generation;
        self.journal_end = HEADER_LEN;
        Ok(())
    }

    fn set_len_in_memory(&mut self, len: u64) {
        self.smallest_len = self.smallest_len.min(len);
        if len < self.len {
            // Blocks wholly past the end go; the tail of the last one reads as zeros again.
            let first_gone = len.div_ceil(BLOCK);
            self.overlay.split_off(&first_gone);
            self.unsynced.split_off(&first_gone);
            if !len.is_multiple_of(BLOCK) {
                let block = len / BLOCK;
                if let Some(b) = self.overlay.get_mut(&block) {
                    b[(len % BLOCK) as usize..].fill(0);
                    self.unsynced.insert(block);
                }
            }
            self.main_len = self.main_len.min(len);
        }
        self.len = len;
    }

    /// The current contents of block `n` (overlay, else the database file, else zeros).
    fn block(&self, n: u64) -> io::Result<Box<[u8]>> {
        if let Some(b) = self.overlay.get(&n) {
            return Ok(b.clone());
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
            if within == 0 && take == BLOCK as usize {
                self.overlay.insert(n, src.into());
            } else {
                let mut b = self.block(n)?;
                b[within..within + take].copy_from_slice(src);
                self.overlay.insert(n, b);
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
            match self.overlay.get(&n) {
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

    /// One record of every block written since the last sync, appended and synced.
    fn sync(&mut self) -> io::Result<()> {
        let blocks = std::mem::take(&mut self.unsynced);
        let mut payload = Vec::with_capacity(28 + blocks.len() * (8 + BLOCK as usize));
        payload.extend_from_slice(&self.generation.to_le_bytes());
        payload.extend_from_slice(&self.smallest_len.to_le_bytes());
        payload.extend_from_slice(&self.len.to_le_bytes());
        payload.extend_from_slice(&(blocks.len() as u32).to_le_bytes());
        for n in &blocks {
            payload.extend_from_slice(&n.to_le_bytes());
            match self.overlay.get(n) {
                Some(b) => payload.extend_from_slice(b),
                None => payload.extend_from_slice(&[0u8; BLOCK as usize]),
            }
        }
        let mut record = Vec::with_capacity(PREFIX_LEN as usize + payload.len());
        record.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        record.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
        record.extend_from_slice(&payload);
        if let Err(e) = self
            .journal
            .write(self.journal_end, &record)
            .and_then(|()| self.journal.sync_data())
        {
            // Not durable: the blocks go into the next record instead.
            self.unsynced.extend(blocks);
            return Err(e);
        }
        self.journal_end += record.len() as u64;
        self.smallest_len = self.len;
        if self.journal_end > self.limit {
            self.checkpoint()?;
        }
        Ok(())
    }

    /// Brings the database file up to date (its length, every overlay block), syncs it, then
    /// starts a new journal generation, which makes the old records void.
    fn checkpoint(&mut self) -> io::Result<()> {
        // Past `main_len` the file may hold bytes of a length since shrunk: cut them off
        // before growing, so what redb reads there is zeros.
        if self.main.len()? != self.main_len {
            self.main.set_len(self.main_len)?;
        }
        if self.main_len != self.len {
            self.main.set_len(self.len)?;
        }
        for (n, b) in &self.overlay {
            let start = n * BLOCK;
            let end = (start + BLOCK).min(self.len);
            if start < end {
                self.main.write(start, &b[..(end - start) as usize])?;
            }
        }
        self.main.sync_data()?;
        self.main_len = self.len;
        self.overlay.clear();
        self.start_generation()?;
        self.checkpoints += 1;
        Ok(())
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
        let mut s = self.lock();
        // A length change is journalled with the next record, like a write.
        s.set_len_in_memory(len);
        Ok(())
    }

    fn sync_data(&self) -> Result<(), io::Error> {
        self.lock().sync()
    }

    fn write(&self, offset: u64, data: &[u8]) -> Result<(), io::Error> {
        self.lock().write(offset, data)
    }

    fn close(&self) -> Result<(), io::Error> {
        let mut s = self.lock();
        let folded = if s.overlay.is_empty() {
            Ok(())
        } else {
            s.checkpoint()
        };
        let journal_closed = s.journal.close();
        // The journal goes only once everything it held is in the synced file.
        let removed = match (&folded, s.remove_at_close.take()) {
            (Ok(()), Some(path)) => std::fs::remove_file(&path),
            _ => Ok(()),
        };
        let main_closed = s.main.close();
        folded.and(journal_closed).and(removed).and(main_closed)
    }

    // The database file's locks keep a second process out, as without the journal.
    fn try_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.lock().main.try_lock_range(start, end)
    }

    fn try_lock_shared_range(
        &self,
        start: Bound<u64>,
        end: Bound<u64>,
    ) -> Result<bool, BackendError> {
        self.lock().main.try_lock_shared_range(start, end)
    }

    fn lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.lock().main.lock_range(start, end)
    }

    fn lock_shared_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.lock().main.lock_shared_range(start, end)
    }

    fn unlock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.lock().main.unlock_range(start, end)
    }

    fn query_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.lock().main.query_lock_range(start, end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::power_cut::PowerCutDisk;

    /// What was synced is read back after reopening, from the journal alone and after a
    /// checkpoint; what was not synced is gone; a torn record ends the replay.
    #[test]
    fn synced_writes_come_back_and_a_torn_record_ends_the_replay() {
        let (main, journal) = (PowerCutDisk::default(), PowerCutDisk::default());
        let j = JournalBackend::open(main.clone(), journal.clone(), 1 << 20).unwrap();
        j.set_len(3 * BLOCK).unwrap();
        j.write(10, b"first").unwrap();
        j.sync_data().unwrap();
        j.write(BLOCK + 5, b"second").unwrap();
        j.sync_data().unwrap();
        j.write(2 * BLOCK, b"never synced").unwrap();
        drop(j);

        let j = JournalBackend::open(main.clone(), journal.clone(), 1 << 20).unwrap();
        assert_eq!(j.len().unwrap(), 3 * BLOCK);
        let mut out = [0u8; 6];
        j.read(BLOCK + 5, &mut out).unwrap();
        assert_eq!(&out, b"second");
        let mut out = [0u8; 5];
        j.read(2 * BLOCK, &mut out).unwrap();
        assert_eq!(out, [0; 5]);
        drop(j);

        // Tear the second record (one block each): the replay keeps the first only.
        let record = PREFIX_LEN + 28 + 8 + BLOCK;
        journal
            .write(HEADER_LEN + 2 * record - 100, &[0xAA; 100])
            .unwrap();
        let j = JournalBackend::open(main.clone(), journal.clone(), 1 << 20).unwrap();
        let mut out = [0u8; 5];
        j.read(10, &mut out).unwrap();
        assert_eq!(&out, b"first");
        let mut out = [0u8; 6];
        j.read(BLOCK + 5, &mut out).unwrap();
        assert_eq!(out, [0; 6]);

        // A checkpoint puts it into the database file and voids the old records.
        j.write(20, b"checkpointed").unwrap();
        j.lock().checkpoint().unwrap();
        drop(j);
        let mut out = [0u8; 12];
        main.read(20, &mut out).unwrap();
        assert_eq!(&out, b"checkpointed");
        let j = JournalBackend::open(main, journal, 1 << 20).unwrap();
        let mut out = [0u8; 5];
        j.read(10, &mut out).unwrap();
        assert_eq!(&out, b"first");
    }
}
