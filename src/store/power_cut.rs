//! A disk for power-cut tests: a redb storage backend held in memory that records every write
//! and sync, can lose power during a chosen write, and then says what a real disk could hold
//! after the cut — every write up to the last completed sync, plus none, some or all of the
//! writes after it (the one power failed during among them), the last one possibly torn.

use std::io;
use std::sync::{Arc, Mutex};

use rand::Rng;

/// One change the disk was asked for since its last sync.
#[derive(Debug, Clone)]
enum Pending {
    Write { offset: u64, data: Vec<u8> },
    SetLen(u64),
}

impl Pending {
    fn apply(&self, image: &mut Vec<u8>) {
        match self {
            Pending::Write { offset, data } => {
                let (at, end) = (*offset as usize, *offset as usize + data.len());
                if image.len() < end {
                    image.resize(end, 0);
                }
                image[at..end].copy_from_slice(data);
            }
            Pending::SetLen(len) => image.resize(*len as usize, 0),
        }
    }
}

#[derive(Debug, Default)]
struct State {
    /// What reads see: every write so far (the operating system's view).
    current: Vec<u8>,
    /// What survives any power cut: the image at the last completed sync.
    durable: Vec<u8>,
    /// Changes since the last sync, in the order they were made.
    pending: Vec<Pending>,
    syncs: u64,
}

/// The power several disks share (a database file and its journal lose it together).
#[derive(Debug, Default)]
struct Power {
    writes: u64,
    /// The write at which power is lost (it and everything after fail).
    cut_at_write: Option<u64>,
    cut: bool,
}

/// What a cut leaves of the writes made after the last completed sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loss {
    /// None of them reached the disk.
    AllUnsynced,
    /// Each reached it or not, independently.
    RandomSubset,
    /// All of them, in order, the last torn at a random byte.
    TornLast,
}

/// The disk; clones share it.
#[derive(Debug, Clone, Default)]
pub struct PowerCutDisk {
    state: Arc<Mutex<State>>,
    power: Arc<Mutex<Power>>,
}

fn power_lost() -> io::Error {
    io::Error::other("power lost")
}

impl PowerCutDisk {
    /// A disk holding `image`, all of it durable.
    pub fn with_image(image: Vec<u8>) -> PowerCutDisk {
        let state = State {
            current: image.clone(),
            durable: image,
            ..State::default()
        };
        PowerCutDisk {
            state: Arc::new(Mutex::new(state)),
            power: Arc::default(),
        }
    }

    /// Another disk holding `image`, on the same power as this one: a write to either counts
    /// towards the cut, and the cut takes both.
    pub fn on_same_power(&self, image: Vec<u8>) -> PowerCutDisk {
        PowerCutDisk {
            power: self.power.clone(),
            ..PowerCutDisk::with_image(image)
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn power(&self) -> std::sync::MutexGuard<'_, Power> {
        self.power.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes made so far (on every disk of this power).
    pub fn writes(&self) -> u64 {
        self.power().writes
    }

    /// Syncs completed so far.
    pub fn syncs(&self) -> u64 {
        self.lock().syncs
    }

    /// Loses power at the `n`-th write from now: that write and every operation after it fail.
    pub fn cut_after(&self, n: u64) {
        let mut p = self.power();
        p.cut_at_write = Some(p.writes + n.max(1));
    }

    /// Loses power now.
    pub fn cut_now(&self) {
        self.power().cut = true;
    }

    /// Whether power has been lost.
    pub fn is_cut(&self) -> bool {
        self.power().cut
    }

    /// What the disk holds after the cut, as `loss` leaves the writes since the last sync.
    pub fn after_cut(&self, loss: Loss, rng: &mut impl Rng) -> Vec<u8> {
        let s = self.lock();
        let mut image = s.durable.clone();
        match loss {
            Loss::AllUnsynced => {}
            Loss::RandomSubset => {
                for p in &s.pending {
                    if rng.gen_bool(0.5) {
                        p.apply(&mut image);
                    }
                }
            }
            Loss::TornLast => {
                if let Some((last, before)) = s.pending.split_last() {
                    for p in before {
                        p.apply(&mut image);
                    }
                    match last {
                        Pending::Write { offset, data } if !data.is_empty() => {
                            let kept = rng.gen_range(0..data.len());
                            Pending::Write {
                                offset: *offset,
                                data: data[..kept].to_vec(),
                            }
                            .apply(&mut image);
                        }
                        other => other.apply(&mut image),
                    }
                }
            }
        }
        image
    }
}

impl redb::StorageBackend for PowerCutDisk {
    fn len(&self) -> Result<u64, io::Error> {
        let s = self.lock();
        if self.is_cut() {
            return Err(power_lost());
        }
        Ok(s.current.len() as u64)
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), io::Error> {
        let s = self.lock();
        if self.is_cut() {
            return Err(power_lost());
        }
        let (at, end) = (offset as usize, offset as usize + out.len());
        if end > s.current.len() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "read past the end",
            ));
        }
        out.copy_from_slice(&s.current[at..end]);
        Ok(())
    }

    fn set_len(&self, len: u64) -> Result<(), io::Error> {
        let mut s = self.lock();
        if self.is_cut() {
            return Err(power_lost());
        }
        let change = Pending::SetLen(len);
        change.apply(&mut s.current);
        s.pending.push(change);
        Ok(())
    }

    fn sync_data(&self) -> Result<(), io::Error> {
        let mut s = self.lock();
        if self.is_cut() {
            return Err(power_lost());
        }
        let pending = std::mem::take(&mut s.pending);
        for p in &pending {
            p.apply(&mut s.durable);
        }
        s.syncs += 1;
        Ok(())
    }

    fn write(&self, offset: u64, data: &[u8]) -> Result<(), io::Error> {
        let mut s = self.lock();
        {
            let mut p = self.power();
            if p.cut {
                return Err(power_lost());
            }
            p.writes += 1;
            if p.cut_at_write.is_some_and(|at| p.writes >= at) {
                // The write power failed during: it may have reached the disk, all, none or
                // part of it, like any other write since the last sync.
                p.cut = true;
                s.pending.push(Pending::Write {
                    offset,
                    data: data.to_vec(),
                });
                return Err(power_lost());
            }
        }
        let change = Pending::Write {
            offset,
            data: data.to_vec(),
        };
        change.apply(&mut s.current);
        s.pending.push(change);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use redb::StorageBackend;

    /// Unsynced writes are lost or kept as the chosen loss says; synced ones always stay.
    #[test]
    fn a_cut_keeps_what_was_synced_and_loses_as_told() {
        let disk = PowerCutDisk::with_image(vec![0; 8]);
        disk.write(0, &[1, 1]).unwrap();
        disk.sync_data().unwrap();
        disk.write(2, &[2, 2]).unwrap();
        disk.write(4, &[3, 3, 3, 3]).unwrap();
        disk.cut_after(1);
        assert!(disk.write(0, &[9]).is_err() && disk.is_cut());
        assert!(disk.sync_data().is_err());
        let mut rng = rand::thread_rng();
        assert_eq!(
            disk.after_cut(Loss::AllUnsynced, &mut rng),
            vec![1, 1, 0, 0, 0, 0, 0, 0]
        );
        // The write power failed during is the last one: torn, it keeps none of its one byte.
        let torn = disk.after_cut(Loss::TornLast, &mut rng);
        assert_eq!(torn, vec![1, 1, 2, 2, 3, 3, 3, 3]);
        let (mut kept_cut_write, mut lost_cut_write) = (false, false);
        for _ in 0..40 {
            let some = disk.after_cut(Loss::RandomSubset, &mut rng);
            assert!(some[0] == 1 || some[0] == 9, "{some:?}");
            kept_cut_write |= some[0] == 9;
            lost_cut_write |= some[0] == 1;
            assert_eq!(some[1], 1);
            assert!(some[2..4] == [0, 0] || some[2..4] == [2, 2]);
        }
        assert!(kept_cut_write && lost_cut_write);
    }
}
