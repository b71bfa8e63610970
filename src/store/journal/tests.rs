//! The journal's replay, background checkpoints and power cuts at every write.

use super::*;
use crate::store::power_cut::{Loss, PowerCutDisk};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn read_at(j: &impl StorageBackend, offset: u64, n: usize) -> Vec<u8> {
    let mut out = vec![0u8; n];
    j.read(offset, &mut out).unwrap();
    out
}

/// What was synced is read back after reopening, from the journal alone and after a
/// fold; what was not synced is gone; a torn record ends the replay.
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
    // Dropped without closing, as a process that dies.
    drop(j);
    let records = journal.after_cut(Loss::AllUnsynced, &mut rand::thread_rng());

    let j = JournalBackend::open(main.clone(), journal.clone(), 1 << 20).unwrap();
    assert_eq!(j.len().unwrap(), 3 * BLOCK);
    assert_eq!(read_at(&j, BLOCK + 5, 6), b"second");
    assert_eq!(read_at(&j, 2 * BLOCK, 5), [0; 5]);
    // Opening folded the journal into the file.
    assert_eq!(read_at(&main, 10, 5), b"first");
    drop(j);

    // The same journal again, on the file as it was, with the second record torn: the
    // replay keeps the first only.
    let main = PowerCutDisk::default();
    let journal = PowerCutDisk::with_image(records);
    let record = PREFIX_LEN + RECORD_HEAD as u64 + 8 + BLOCK;
    let second_end = SUPER_LEN + HEADER_LEN + 2 * record;
    journal.write(second_end - 100, &[0xAA; 100]).unwrap();
    let j = JournalBackend::open(main, journal, 1 << 20).unwrap();
    assert_eq!(read_at(&j, 10, 5), b"first");
    assert_eq!(read_at(&j, BLOCK + 5, 6), [0; 6]);
}

/// The database as the writes and lengths given so far make it: the contents of every block
/// that holds a byte other than zero, and the length.
#[derive(Clone, Default, PartialEq, Debug)]
struct Model {
    blocks: BTreeMap<u64, Vec<u8>>,
    len: u64,
}

impl Model {
    /// The whole block set to `value`.
    fn write(&mut self, block: u64, value: u8) {
        self.write_at(block, 0, &[value; BLOCK as usize]);
    }

    fn write_at(&mut self, block: u64, within: usize, bytes: &[u8]) {
        let b = self
            .blocks
            .entry(block)
            .or_insert_with(|| vec![0; BLOCK as usize]);
        b[within..within + bytes.len()].copy_from_slice(bytes);
        if b.iter().all(|x| *x == 0) {
            self.blocks.remove(&block);
        }
    }

    /// Blocks wholly past `len` go; the tail of a block it cuts reads as zeros.
    fn set_len(&mut self, len: u64) {
        self.blocks.retain(|b, _| b * BLOCK < len);
        if !len.is_multiple_of(BLOCK) {
            let cut = len / BLOCK;
            if self.blocks.contains_key(&cut) {
                let tail = vec![0; (BLOCK - len % BLOCK) as usize];
                self.write_at(cut, (len % BLOCK) as usize, &tail);
            }
        }
        self.len = len;
    }

    fn contents(&self, block: u64) -> Vec<u8> {
        self.blocks
            .get(&block)
            .cloned()
            .unwrap_or_else(|| vec![0; BLOCK as usize])
    }
}

/// Every whole block of `j`, as a model.
fn read_model(j: &impl StorageBackend) -> Model {
    let len = j.len().unwrap();
    let blocks = (0..len / BLOCK)
        .map(|b| (b, read_at(j, b * BLOCK, BLOCK as usize)))
        .filter(|(_, v)| v.iter().any(|x| *x != 0))
        .collect();
    Model { blocks, len }
}

/// Past the limit, records go to the other region while the old one is written into the
/// file in the background; reads see the latest contents throughout (compared with a model
/// of what was written), across shrinks and regrows, and the file holds exactly that once
/// the journal is closed.
#[test]
fn background_checkpoints_keep_every_block_readable() {
    let (main, journal) = (PowerCutDisk::default(), PowerCutDisk::default());
    let limit = BLOCK * 16;
    let j = JournalBackend::open(main.clone(), journal.clone(), limit).unwrap();
    let mut model = Model::default();
    j.set_len(40 * BLOCK).unwrap();
    model.set_len(40 * BLOCK);
    for i in 1..=200u64 {
        let block = (i * 7) % 40;
        j.write(block * BLOCK, &[i as u8; BLOCK as usize]).unwrap();
        model.write(block, i as u8);
        j.sync_data().unwrap();
        // Read back while a checkpoint may be running.
        assert_eq!(read_model(&j), model, "after commit {i}");
        if i % 50 == 49 {
            // A shrink and a regrow: what lay past the shrink reads as zeros.
            j.set_len(30 * BLOCK).unwrap();
            j.set_len(40 * BLOCK).unwrap();
            model.set_len(30 * BLOCK);
            model.set_len(40 * BLOCK);
            assert_eq!(read_model(&j), model, "after the shrink at {i}");
            j.sync_data().unwrap();
        }
    }
    j.finish_checkpoint();
    assert!(j.checkpoints() >= 5, "{} checkpoints", j.checkpoints());
    j.close().unwrap();
    assert_eq!(read_model(&main), model);
    let j = JournalBackend::open(main, journal, limit).unwrap();
    assert_eq!(read_model(&j), model);
}

/// One run for the cut test: commits of two whole blocks and a few bytes of a third (a block
/// a record gives by its changed runs once the journal holds it), a shrink into a block now
/// and then, and
/// now and then a commit bigger than a region (which folds). Power goes at the `cut_at`-th write from the
/// start, if given. Returns the disks, the model at the last acknowledged sync and the model
/// with what was in flight at the cut, and the writes made.
fn cut_run(cut_at: Option<u64>) -> (PowerCutDisk, PowerCutDisk, Model, Model, u64) {
    let limit = BLOCK * 16;
    let main = PowerCutDisk::default();
    let journal = main.on_same_power(Vec::new());
    let j = JournalBackend::open(main.clone(), journal.clone(), limit).unwrap();
    let start = main.writes();
    if let Some(n) = cut_at {
        main.cut_after(n);
    }
    let mut acknowledged = Model::default();
    let mut current = Model::default();
    let mut rng = StdRng::seed_from_u64(7);
    'run: {
        current.set_len(24 * BLOCK);
        if j.set_len(24 * BLOCK).and_then(|()| j.sync_data()).is_err() {
            break 'run;
        }
        acknowledged = current.clone();
        for i in 1..=60u8 {
            let blocks: Vec<u64> = if i % 20 == 0 {
                (0..24).collect()
            } else {
                let b = rng.gen_range(0..24u64);
                vec![b, (b + 5) % 24]
            };
            for b in blocks {
                current.write(b, i);
                if j.write(b * BLOCK, &[i; BLOCK as usize]).is_err() {
                    break 'run;
                }
            }
            let (b, within) = (rng.gen_range(0..24u64), rng.gen_range(0..BLOCK - 16));
            current.write_at(b, within as usize, &[i; 9]);
            if j.write(b * BLOCK + within, &[i; 9]).is_err() {
                break 'run;
            }
            if i % 15 == 0 {
                // A cut into block 18, which keeps its first 100 bytes.
                current.set_len(18 * BLOCK + 100);
                current.set_len(24 * BLOCK);
                if j.set_len(18 * BLOCK + 100)
                    .and_then(|()| j.set_len(24 * BLOCK))
                    .is_err()
                {
                    break 'run;
                }
            }
            if j.sync_data().is_err() {
                break 'run;
            }
            acknowledged = current.clone();
        }
    }
    // A background checkpoint ends (its writes fail once the power is gone).
    j.finish_checkpoint();
    let writes = main.writes() - start;
    drop(j);
    (main, journal, acknowledged, current, writes)
}

/// Checks that every byte of `j`'s blocks holds what the last acknowledged sync gave it, or
/// what was in flight at the cut (a write the power cut may have torn, as a disk would; redb
/// never writes in place what its last durable commit reads).
fn assert_holds(j: &impl StorageBackend, acknowledged: &Model, current: &Model, what: &str) {
    let found = read_model(j);
    for b in 0..24u64 {
        let v = if found.len >= (b + 1) * BLOCK {
            found.contents(b)
        } else {
            vec![0; BLOCK as usize]
        };
        let (was, in_flight) = (acknowledged.contents(b), current.contents(b));
        let either = v
            .iter()
            .zip(was.iter().zip(&in_flight))
            .all(|(x, (a, c))| x == a || x == c);
        assert!(
            either,
            "{what}: block {b} holds neither what was acknowledged nor what was in flight \
             (first bytes {:?}, {:?}, {:?}; differs from the acknowledged at {:?}, from the \
             in flight at {:?})",
            &v[..4],
            &was[..4],
            &in_flight[..4],
            differences(&v, &was),
            differences(&v, &in_flight),
        );
    }
}

/// The first and last byte where two blocks differ.
fn differences(a: &[u8], b: &[u8]) -> Option<(usize, usize)> {
    let first = a.iter().zip(b).position(|(x, y)| x != y)?;
    let last = a.iter().zip(b).rposition(|(x, y)| x != y)?;
    Some((first, last))
}

/// Power lost at every write of a run that rotates, checkpoints in the background, folds
/// (commits bigger than a region) and shrinks, with each kind of loss; then power lost again
/// at a random write of the recovery that follows. The journal always opens, and every block
/// holds what its last acknowledged sync gave it, or the write in flight at the cut.
#[test]
fn a_cut_at_any_write_keeps_every_acknowledged_block() {
    let limit = BLOCK * 16;
    let (.., total_writes) = cut_run(None);
    assert!(total_writes > 60, "{total_writes} writes");
    let mut rng = StdRng::seed_from_u64(11);
    for cut in 1..=total_writes {
        for loss in [Loss::AllUnsynced, Loss::RandomSubset, Loss::TornLast] {
            let (main, journal, acknowledged, current, _) = cut_run(Some(cut));
            let images = (
                main.after_cut(loss, &mut rng),
                journal.after_cut(loss, &mut rng),
            );
            let disks = |(m, j): &(Vec<u8>, Vec<u8>)| {
                let main = PowerCutDisk::with_image(m.clone());
                let journal = main.on_same_power(j.clone());
                (main, journal)
            };
            let what = format!("cut at {cut}, {loss:?}");
            let (main, journal) = disks(&images);
            let j = JournalBackend::open(main, journal, limit)
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_holds(&j, &acknowledged, &current, &what);
            drop(j);
            // Power goes again during the recovery, at a random write of it.
            let (main, journal) = disks(&images);
            main.cut_after(rng.gen_range(1..40));
            let _ = JournalBackend::open(main.clone(), journal.clone(), limit);
            let images = (
                main.after_cut(loss, &mut rng),
                journal.after_cut(loss, &mut rng),
            );
            let (main, journal) = disks(&images);
            let j = JournalBackend::open(main, journal, limit)
                .unwrap_or_else(|e| panic!("{what}, then in the recovery: {e}"));
            assert_holds(
                &j,
                &acknowledged,
                &current,
                &format!("{what}, then in the recovery"),
            );
        }
    }
}

/// A journal on empty disks, two blocks long, its first block all sevens and synced.
type TestJournal = JournalBackend<PowerCutDisk, PowerCutDisk>;
fn journal_holding_sevens() -> (PowerCutDisk, PowerCutDisk, TestJournal) {
    let (main, journal) = (PowerCutDisk::default(), PowerCutDisk::default());
    let j = JournalBackend::open(main.clone(), journal.clone(), 1 << 20).unwrap();
    j.set_len(2 * BLOCK).unwrap();
    j.write(0, &[7; BLOCK as usize]).unwrap();
    j.sync_data().unwrap();
    (main, journal, j)
}

/// A block the journal holds already goes into the next record as the bytes that changed, and
/// comes back whole after a replay; a replay of regions written before records carried runs
/// reads them as before.
#[test]
fn a_small_change_to_a_journalled_block_is_recorded_as_its_changed_bytes() {
    let (main, journal, j) = journal_holding_sevens();
    let whole_end = j.lock().journal_end;
    j.write(100, b"changed").unwrap();
    j.write(3000, b"and here").unwrap();
    j.sync_data().unwrap();
    let runs_len = j.lock().journal_end - whole_end;
    assert!(
        runs_len < 100,
        "a record of 15 changed bytes took {runs_len} bytes"
    );
    drop(j);
    let images = (
        main.after_cut(Loss::AllUnsynced, &mut rand::thread_rng()),
        journal.after_cut(Loss::AllUnsynced, &mut rand::thread_rng()),
    );
    let mut expected = vec![7u8; BLOCK as usize];
    expected[100..107].copy_from_slice(b"changed");
    expected[3000..3008].copy_from_slice(b"and here");
    let j = JournalBackend::open(
        PowerCutDisk::with_image(images.0.clone()),
        PowerCutDisk::with_image(images.1.clone()),
        1 << 20,
    )
    .unwrap();
    assert_eq!(read_at(&j, 0, BLOCK as usize), expected);
    drop(j);

    // The same journal with its region marked as the format before runs (whose records hold
    // whole blocks only, in the same layout): still replayed in full, as each entry says
    // what it holds.
    let mut old = images.1.clone();
    let region = SUPER_LEN as usize;
    old[region..region + 8].copy_from_slice(V2_REGION_MAGIC);
    let j = JournalBackend::open(
        PowerCutDisk::with_image(images.0),
        PowerCutDisk::with_image(old),
        1 << 20,
    )
    .unwrap();
    assert_eq!(read_at(&j, 0, BLOCK as usize), expected);
}

/// A cut into a journalled block (a length not a multiple of the block), a grow, and the same
/// bytes written back: the record holds the block whole, so the replay gives the bytes back,
/// not the zeros the cut left.
#[test]
fn a_block_cut_short_and_written_back_replays_whole() {
    let (main, journal, j) = journal_holding_sevens();
    j.set_len(100).unwrap();
    j.set_len(2 * BLOCK).unwrap();
    j.write(100, &[7; BLOCK as usize - 100]).unwrap();
    j.sync_data().unwrap();
    assert_eq!(read_at(&j, 0, BLOCK as usize), vec![7; BLOCK as usize]);
    drop(j);
    let main = PowerCutDisk::with_image(main.after_cut(Loss::AllUnsynced, &mut rand::thread_rng()));
    let journal =
        PowerCutDisk::with_image(journal.after_cut(Loss::AllUnsynced, &mut rand::thread_rng()));
    let j = JournalBackend::open(main, journal, 1 << 20).unwrap();
    assert_eq!(read_at(&j, 0, BLOCK as usize), vec![7; BLOCK as usize]);
}

/// A record that gives a block by its changed runs when the overlay does not hold that block,
/// or whose runs run past their block, is refused whole: nothing of it is applied.
#[test]
fn a_record_of_runs_for_a_block_not_held_is_refused() {
    let (main, journal) = (PowerCutDisk::default(), PowerCutDisk::default());
    let j = JournalBackend::open(main, journal, 1 << 20).unwrap();
    j.set_len(4 * BLOCK).unwrap();
    j.write(0, &[1; BLOCK as usize]).unwrap();
    j.sync_data().unwrap();
    let mut s = j.lock();
    let payload = |entries: &[u8], count: u32, gen: u64| {
        let mut p = Vec::new();
        p.extend_from_slice(&gen.to_le_bytes());
        p.extend_from_slice(&(4 * BLOCK).to_le_bytes());
        p.extend_from_slice(&(4 * BLOCK).to_le_bytes());
        p.extend_from_slice(&count.to_le_bytes());
        p.extend_from_slice(entries);
        p
    };
    let runs = |block: u64, start: u16, bytes: &[u8]| {
        let mut e = (block | CHANGED_RUNS).to_le_bytes().to_vec();
        e.extend_from_slice(&1u16.to_le_bytes());
        e.extend_from_slice(&start.to_le_bytes());
        e.extend_from_slice(&(bytes.len() as u16).to_le_bytes());
        e.extend_from_slice(bytes);
        e
    };
    let generation = s.generation;
    // Block 0 is held, block 2 is not: the whole record is refused, block 0 unchanged.
    let mut both = runs(0, 10, b"x");
    both.extend(runs(2, 10, b"y"));
    assert!(!s.apply_record(&payload(&both, 2, generation)));
    assert_eq!(s.overlay[&0][10], 1);
    // A run past the end of its block.
    assert!(!s.apply_record(&payload(&runs(0, 4090, b"too long"), 1, generation)));
    // A count that leaves bytes over.
    assert!(!s.apply_record(&payload(&runs(0, 10, b"x"), 0, generation)));
    // And a well-formed one is applied.
    assert!(s.apply_record(&payload(&runs(0, 10, b"x"), 1, generation)));
    assert_eq!(s.overlay[&0][10], b'x');
    assert_eq!(s.overlay[&0][11], 1);
}

/// A journal of the first format (one region, no superblock) is replayed and rewritten.
#[test]
fn a_journal_of_the_first_format_is_replayed() {
    let generation = 12345u64;
    let mut payload = Vec::new();
    payload.extend_from_slice(&generation.to_le_bytes());
    payload.extend_from_slice(&0u64.to_le_bytes());
    payload.extend_from_slice(&BLOCK.to_le_bytes());
    payload.extend_from_slice(&1u32.to_le_bytes());
    payload.extend_from_slice(&0u64.to_le_bytes());
    let mut block = vec![0u8; BLOCK as usize];
    block[..6].copy_from_slice(b"old v1");
    payload.extend_from_slice(&block);
    let mut image = V1_MAGIC.to_vec();
    image.extend_from_slice(&generation.to_le_bytes());
    image.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    image.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    image.extend_from_slice(&payload);
    let main = PowerCutDisk::default();
    let journal = PowerCutDisk::with_image(image);
    let j = JournalBackend::open(main.clone(), journal.clone(), 1 << 20).unwrap();
    assert_eq!(read_at(&j, 0, 6), b"old v1");
    assert_eq!(read_at(&main, 0, 6), b"old v1");
    drop(j);
    let j = JournalBackend::open(main, journal, 2 << 20).unwrap();
    assert_eq!(read_at(&j, 0, 6), b"old v1");
}

/// A journal opened with another limit (another region size) still replays in full.
#[test]
fn another_limit_replays_what_the_journal_holds() {
    let (main, journal) = (PowerCutDisk::default(), PowerCutDisk::default());
    let j = JournalBackend::open(main.clone(), journal.clone(), BLOCK * 16).unwrap();
    j.set_len(20 * BLOCK).unwrap();
    for i in 0..40u64 {
        j.write((i % 20) * BLOCK, &[i as u8 + 1; 16]).unwrap();
        j.sync_data().unwrap();
    }
    j.finish_checkpoint();
    drop(j);
    let main = PowerCutDisk::with_image(main.after_cut(Loss::AllUnsynced, &mut rand::thread_rng()));
    let journal =
        PowerCutDisk::with_image(journal.after_cut(Loss::AllUnsynced, &mut rand::thread_rng()));
    let j = JournalBackend::open(main, journal, BLOCK * 64).unwrap();
    for b in 0..20u64 {
        assert_eq!(
            read_at(&j, b * BLOCK, 1)[0],
            (b + 20) as u8 + 1,
            "block {b}"
        );
    }
}

/// A disk whose writes fail while `failing` is set (a full or failing database disk).
#[derive(Debug, Clone, Default)]
struct FailingDisk {
    disk: PowerCutDisk,
    failing: Arc<std::sync::atomic::AtomicBool>,
}

impl StorageBackend for FailingDisk {
    fn len(&self) -> io::Result<u64> {
        self.disk.len()
    }
    fn read(&self, offset: u64, out: &mut [u8]) -> io::Result<()> {
        self.disk.read(offset, out)
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        self.disk.set_len(len)
    }
    fn sync_data(&self) -> io::Result<()> {
        self.disk.sync_data()
    }
    fn write(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        if self.failing.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(io::Error::other("the disk refuses writes"));
        }
        self.disk.write(offset, data)
    }
}

/// A background checkpoint that fails (the database disk refusing writes) loses nothing: its
/// blocks stay readable, the next sync folds everything itself (and fails while the disk
/// does), and once the disk writes again the file ends up holding every block.
#[test]
fn a_failed_checkpoint_is_folded_at_the_next_sync() {
    let main = FailingDisk::default();
    let journal = PowerCutDisk::default();
    let limit = BLOCK * 16;
    let j = JournalBackend::open(main.clone(), journal, limit).unwrap();
    let mut model = Model::default();
    j.set_len(30 * BLOCK).unwrap();
    model.set_len(30 * BLOCK);
    j.sync_data().unwrap();
    main.failing
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let mut refused = 0;
    for i in 1..=40u8 {
        let block = (i as u64 * 11) % 30;
        j.write(block * BLOCK, &[i; BLOCK as usize]).unwrap();
        model.write(block, i);
        // Records still go to the journal until a fold is needed; a fold fails.
        refused += j.sync_data().is_err() as u32;
        j.finish_checkpoint();
        assert_eq!(read_model(&j), model, "after commit {i}");
    }
    assert!(refused > 0, "no sync needed the failing disk");
    assert_eq!(j.checkpoints(), 0);
    main.failing
        .store(false, std::sync::atomic::Ordering::SeqCst);
    j.write(0, &[99; BLOCK as usize]).unwrap();
    model.write(0, 99);
    j.sync_data().unwrap();
    assert!(j.checkpoints() >= 1);
    assert_eq!(read_model(&j), model);
    j.close().unwrap();
    assert_eq!(read_model(&main), model);
}

/// A background checkpoint syncs the database file after every `CHECKPOINT_SYNC_EVERY` blocks
/// it writes and once at the end, so commits' journal syncs are not queued behind one long
/// sync; every block arrives whole.
#[test]
fn a_checkpoint_syncs_the_file_in_pieces() {
    let main = PowerCutDisk::default();
    let blocks: Blocks = (0..7u64)
        .map(|n| (n, vec![n as u8 + 1; BLOCK as usize].into_boxed_slice()))
        .collect();
    let job = Checkpoint {
        main: Arc::new(main.clone()),
        blocks: Arc::new(blocks),
        len: 7 * BLOCK,
        main_len: 0,
        old_region: 0,
    };
    job.write().unwrap();
    // 7 blocks, a sync after every 2 (the tests' interval) and one at the end.
    assert_eq!(CHECKPOINT_SYNC_EVERY, 2);
    assert_eq!(main.syncs(), 4);
    for n in 0..7u64 {
        assert_eq!(
            read_at(&main, n * BLOCK, BLOCK as usize),
            vec![n as u8 + 1; BLOCK as usize]
        );
    }
}
