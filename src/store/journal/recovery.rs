//! Opening a journal: what its superblock says, and the replay of its valid regions' records
//! (oldest first, each up to its first torn or bad record) that is folded into the database
//! file before the journal starts afresh.

use std::io;

use redb::StorageBackend;

use super::record::{parse_entries, Entry};
use super::{
    word, write_back, State, BLOCK, HEADER_LEN, PREFIX_LEN, RECORD_HEAD, REGION_MAGIC, SUPER_LEN,
    SUPER_MAGIC, V1_HEADER_LEN, V1_MAGIC, V2_REGION_MAGIC, VOID_HEADER,
};

impl<M: StorageBackend, J: StorageBackend> State<M, J> {
    /// The region size a valid superblock names.
    fn superblock(&self) -> io::Result<Option<u64>> {
        if self.journal.len()? < 20 {
            return Ok(None);
        }
        let mut sb = [0u8; 20];
        self.journal.read(0, &mut sb)?;
        let crc = u32::from_le_bytes(sb[16..20].try_into().unwrap_or_default());
        let region_len = word(&sb, 8);
        let valid = &sb[..8] == SUPER_MAGIC
            && crc32fast::hash(&sb[..16]) == crc
            && region_len >= BLOCK * 16
            && region_len.is_multiple_of(BLOCK);
        Ok(valid.then_some(region_len))
    }

    /// Replays what the journal holds (the valid regions, the older first, or a journal of the
    /// first format), folds it into the database file, voids the old regions, and starts the
    /// journal afresh: a superblock for this region size, both regions' space written out,
    /// a new generation in region 0.
    pub(super) fn recover(&mut self) -> io::Result<()> {
        let journal_len = self.journal.len()?;
        let mut magic = [0u8; 8];
        if journal_len >= 8 {
            self.journal.read(0, &mut magic)?;
        }
        let mut old_headers = Vec::new();
        if &magic == V1_MAGIC && journal_len >= V1_HEADER_LEN {
            let mut header = [0u8; V1_HEADER_LEN as usize];
            self.journal.read(0, &mut header)?;
            self.replay_region(V1_HEADER_LEN, journal_len, word(&header, 8))?;
            old_headers.push((0, 0));
        } else if let Some(region_len) = self.superblock()? {
            let mut regions = Vec::new();
            for region in 0..2 {
                let start = SUPER_LEN + region * region_len;
                if start + HEADER_LEN > journal_len {
                    continue;
                }
                let mut header = [0u8; HEADER_LEN as usize];
                self.journal.read(start, &mut header)?;
                if &header[..8] == REGION_MAGIC || &header[..8] == V2_REGION_MAGIC {
                    regions.push((word(&header, 16), start, word(&header, 8)));
                    old_headers.push((word(&header, 16), start));
                    self.sequence = self.sequence.max(word(&header, 16));
                }
            }
            regions.sort_unstable();
            for (_, start, generation) in regions {
                let end = (start + region_len).min(journal_len);
                self.replay_region(start + HEADER_LEN, end, generation)?;
            }
        }
        // What was replayed may have been read from the operating system's cache only (a
        // process that died before its sync): made durable before the file changes for it.
        if !old_headers.is_empty() {
            self.journal.sync_data()?;
        }
        if !self.overlay.is_empty() || self.main_len != self.len || self.main.len()? != self.len {
            write_back(&*self.main, &self.overlay, self.main_len, self.len, 0)?;
            self.overlay.clear();
            self.main_len = self.len;
        }
        self.unsynced.clear();
        self.bases.clear();
        self.smallest_len = self.len;
        self.frozen_cut = self.len;
        // Voided oldest first, each durably before the next: a cut between them leaves the
        // newer region alone, which replays over the folded file to what it already holds (the
        // older alone would take blocks back to older contents).
        old_headers.sort_unstable();
        for (_, at) in old_headers {
            self.journal.write(at, &VOID_HEADER)?;
            self.journal.sync_data()?;
        }
        if self.superblock()? != Some(self.region_len) {
            let mut sb = [0u8; 20];
            sb[..8].copy_from_slice(SUPER_MAGIC);
            sb[8..16].copy_from_slice(&self.region_len.to_le_bytes());
            let crc = crc32fast::hash(&sb[..16]);
            sb[16..].copy_from_slice(&crc.to_le_bytes());
            self.journal.write(0, &sb)?;
        }
        // Written out now, so appending a record changes no file size and its sync writes no
        // metadata.
        let target = self.region_start(2);
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
        let region_1 = self.region_start(1);
        self.journal.write(region_1, &VOID_HEADER)?;
        self.region = 0;
        self.start_generation()
    }

    /// Applies the records from `start` up to `end` that belong to `generation`, in order, up
    /// to the first torn, bad or foreign one.
    fn replay_region(&mut self, start: u64, end: u64, generation: u64) -> io::Result<()> {
        self.generation = generation;
        let mut at = start;
        while at + PREFIX_LEN <= end {
            let mut prefix = [0u8; PREFIX_LEN as usize];
            self.journal.read(at, &mut prefix)?;
            let size = u32::from_le_bytes(prefix[..4].try_into().unwrap_or_default()) as u64;
            let crc = u32::from_le_bytes(prefix[4..].try_into().unwrap_or_default());
            if size < RECORD_HEAD as u64 || at + PREFIX_LEN + size > end {
                // (An empty sync's record is exactly the head.)
                break;
            }
            let mut payload = vec![0u8; size as usize];
            self.journal.read(at + PREFIX_LEN, &mut payload)?;
            if crc32fast::hash(&payload) != crc || !self.apply_record(&payload) {
                break;
            }
            at += PREFIX_LEN + size;
        }
        Ok(())
    }

    /// Applies one record (generation, the smallest length since the sync before it, the
    /// length at its sync, then per block its number and its contents or its changed runs) to
    /// the overlay: shrink to the smallest length (what lay past it reads as zeros again), the
    /// blocks, then the final length. False when it belongs to another generation or is
    /// malformed (then nothing of it is applied).
    pub(super) fn apply_record(&mut self, payload: &[u8]) -> bool {
        if word(payload, 0) != self.generation {
            return false;
        }
        let (smallest, len) = (word(payload, 8), word(payload, 16));
        let count = u32::from_le_bytes(payload[24..28].try_into().unwrap_or_default()) as usize;
        // (A smallest length past the current one is a grow: the file may have been cut to a
        // later, smaller length by a fold whose sync the power did not wait for.)
        if smallest > len {
            return false;
        }
        let Some(entries) = parse_entries(&payload[RECORD_HEAD..], count) else {
            return false;
        };
        // A block given as changed runs must be one the overlay holds once the shrink is
        // applied: checked before anything changes.
        let first_gone = smallest.div_ceil(BLOCK);
        let mut whole = std::collections::BTreeSet::new();
        for entry in &entries {
            match entry {
                Entry::Whole(block, _) => {
                    whole.insert(*block);
                }
                Entry::Runs(block, _) => {
                    if !whole.contains(block)
                        && (*block >= first_gone || !self.overlay.contains_key(block))
                    {
                        return false;
                    }
                }
            }
        }
        self.set_len_in_memory(smallest);
        self.set_len_in_memory(len);
        for entry in entries {
            match entry {
                Entry::Whole(block, contents) => {
                    self.overlay.insert(block, contents.into());
                }
                Entry::Runs(block, runs) => {
                    if let Some(b) = self.overlay.get_mut(&block) {
                        for (start, bytes) in runs {
                            b[start..start + bytes.len()].copy_from_slice(bytes);
                        }
                    }
                }
            }
        }
        self.unsynced.clear();
        self.bases.clear();
        self.smallest_len = self.len;
        true
    }
}
