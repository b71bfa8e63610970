//! A journal record's payload, written and read: its head (generation, smallest and final
//! database length, block count), then each block written since the last sync, whole or, for a
//! block the journal already held, as the runs of bytes that changed since.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use super::{BLOCK, PREFIX_LEN, RECORD_HEAD};

/// Set in a record entry's block number when the entry holds runs of changed bytes (a run
/// count, then per run its start, length and bytes) rather than the whole block.
pub(super) const CHANGED_RUNS: u64 = 1 << 63;
/// Two changed runs closer than this many bytes are recorded as one (a run's head is 4 bytes).
const RUN_GAP: usize = 16;

/// Records appended and their bytes, by every journal of this process (for the load
/// generator: what a commit costs the journal).
static RECORDS: AtomicU64 = AtomicU64::new(0);
static RECORD_BYTES: AtomicU64 = AtomicU64::new(0);

/// How many records every journal of this process has appended, and how many bytes they took.
pub fn records_appended() -> (u64, u64) {
    (RECORDS.load(Relaxed), RECORD_BYTES.load(Relaxed))
}

/// Counts a record of `len` bytes appended and synced.
pub(super) fn appended(len: usize) {
    RECORDS.fetch_add(1, Relaxed);
    RECORD_BYTES.fetch_add(len as u64, Relaxed);
}

/// A record, prefix (payload length, CRC-32) and payload: `head` is the generation, the
/// smallest length since the last sync and the length now; `blocks` gives each of the `count`
/// blocks written since the last sync, its contents now and, for a block the overlay held at
/// the last sync, what it held then. Such a block goes in as its changed runs when they take
/// fewer bytes than the block.
pub(super) fn encode<'a>(
    head: [u64; 3],
    count: usize,
    blocks: impl Iterator<Item = (u64, &'a [u8], Option<&'a [u8]>)>,
) -> Vec<u8> {
    let mut record =
        Vec::with_capacity(PREFIX_LEN as usize + RECORD_HEAD + count * (8 + BLOCK as usize));
    record.extend_from_slice(&[0u8; PREFIX_LEN as usize]);
    for word in head {
        record.extend_from_slice(&word.to_le_bytes());
    }
    record.extend_from_slice(&(count as u32).to_le_bytes());
    let mut runs = Vec::new();
    for (n, now, before) in blocks {
        if let Some(before) = before {
            changed_runs(before, now, &mut runs);
            let size: usize = 2 + runs.iter().map(|r| 4 + r.len()).sum::<usize>();
            if size < BLOCK as usize {
                record.extend_from_slice(&(n | CHANGED_RUNS).to_le_bytes());
                record.extend_from_slice(&(runs.len() as u16).to_le_bytes());
                for run in &runs {
                    record.extend_from_slice(&(run.start as u16).to_le_bytes());
                    record.extend_from_slice(&(run.len() as u16).to_le_bytes());
                    record.extend_from_slice(&now[run.clone()]);
                }
                continue;
            }
        }
        record.extend_from_slice(&n.to_le_bytes());
        record.extend_from_slice(now);
    }
    let size = record.len() - PREFIX_LEN as usize;
    let crc = crc32fast::hash(&record[PREFIX_LEN as usize..]);
    record[..4].copy_from_slice(&(size as u32).to_le_bytes());
    record[4..8].copy_from_slice(&crc.to_le_bytes());
    record
}

/// One block of a record: its whole contents, or the runs (start, bytes) that changed.
pub(super) enum Entry<'a> {
    Whole(u64, &'a [u8]),
    Runs(u64, Vec<(usize, &'a [u8])>),
}

/// The `count` entries of a record's body, or None when it is malformed (a run past its
/// block, a body longer or shorter than its entries).
pub(super) fn parse_entries(body: &[u8], count: usize) -> Option<Vec<Entry<'_>>> {
    // (The count is the record's word: no more entries than the body could hold.)
    let mut entries = Vec::with_capacity(count.min(body.len() / 10));
    let mut at = 0usize;
    let take = |at: &mut usize, n: usize| -> Option<&[u8]> {
        let bytes = body.get(*at..at.checked_add(n)?)?;
        *at += n;
        Some(bytes)
    };
    for _ in 0..count {
        let tagged = u64::from_le_bytes(take(&mut at, 8)?.try_into().ok()?);
        let block = tagged & !CHANGED_RUNS;
        if tagged & CHANGED_RUNS == 0 {
            entries.push(Entry::Whole(block, take(&mut at, BLOCK as usize)?));
            continue;
        }
        let n_runs = u16::from_le_bytes(take(&mut at, 2)?.try_into().ok()?) as usize;
        let mut runs = Vec::with_capacity(n_runs);
        for _ in 0..n_runs {
            let head = take(&mut at, 4)?;
            let start = u16::from_le_bytes([head[0], head[1]]) as usize;
            let len = u16::from_le_bytes([head[2], head[3]]) as usize;
            if start + len > BLOCK as usize {
                return None;
            }
            runs.push((start, take(&mut at, len)?));
        }
        entries.push(Entry::Runs(block, runs));
    }
    (at == body.len()).then_some(entries)
}

/// The byte ranges where `now` differs from `before` (blocks of equal length), compared eight
/// bytes at a time; ranges closer than `RUN_GAP` are merged.
fn changed_runs(before: &[u8], now: &[u8], runs: &mut Vec<std::ops::Range<usize>>) {
    runs.clear();
    let words = before.chunks_exact(8).zip(now.chunks_exact(8));
    for (i, (a, b)) in words.enumerate() {
        if a == b {
            continue;
        }
        let start = i * 8;
        match runs.last_mut() {
            Some(last) if start - last.end < RUN_GAP => last.end = start + 8,
            _ => runs.push(start..start + 8),
        }
    }
}
