//! Which knowledge-base generation a derived index reflects when changes, committed in
//! order, reach it out of order (concurrent requests apply their changes side by side).

use std::collections::BTreeSet;

/// The highest generation up to which every change has been applied, and the ones applied
/// ahead of a change still on its way.
#[derive(Debug, Default)]
pub struct Reflected {
    upto: u64,
    ahead: BTreeSet<u64>,
}

impl Reflected {
    /// An index that reflects every change up to `generation`.
    pub fn at(generation: u64) -> Reflected {
        Reflected {
            upto: generation,
            ahead: BTreeSet::new(),
        }
    }

    pub fn generation(&self) -> u64 {
        self.upto
    }

    /// Notes that change `generation` is applied; true when that moved [`Self::generation`].
    pub fn applied(&mut self, generation: u64) -> bool {
        let before = self.upto;
        if generation > self.upto {
            self.ahead.insert(generation);
        }
        while self.ahead.remove(&(self.upto + 1)) {
            self.upto += 1;
        }
        self.upto != before
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generation_counts_only_once_every_change_before_it_is_applied() {
        let mut r = Reflected::at(4);
        assert!(!r.applied(6), "5 is still on its way");
        assert_eq!(r.generation(), 4);
        assert!(!r.applied(3), "already reflected");
        assert!(r.applied(5));
        assert_eq!(r.generation(), 6);
        assert!(r.applied(7));
        assert_eq!(r.generation(), 7);
    }
}
