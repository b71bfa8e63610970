//! A read-only copy of an hnsw_rs graph's links, and the HNSW search (greedy descent through
//! the upper layers, then a beam of `ef` candidates on layer 0) over it. hnsw_rs builds,
//! extends and saves the graph; this view answers queries, because hnsw_rs's own search
//! keeps its visited set in a SipHash map of `Arc` clones and allocates every candidate,
//! which costs several times the distance computations themselves (BENCHMARKS.md).

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;

use hnsw_rs::hnsw::Point;
use hnsw_rs::prelude::{Distance, Hnsw};

use super::embed::cosine;

pub type GraphPoint = Arc<Point<'static, f32>>;

/// A distance that orders totally (NaN never occurs for unit vectors, but must not panic).
#[derive(Clone, Copy, PartialEq)]
struct Dist(f32);

impl Eq for Dist {}

impl PartialOrd for Dist {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Dist {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// The graph as graph ids (hnsw_rs's data ids) and their links, layer by layer.
#[derive(Default)]
pub struct HnswView {
    points: Vec<Option<GraphPoint>>,
    layer0: Vec<Box<[u32]>>,
    /// `upper[l - 1]`: links on layer `l` of the points that reach it.
    upper: Vec<HashMap<u32, Box<[u32]>>>,
    /// A point on the top layer, where every search starts.
    entry: Option<u32>,
}

impl HnswView {
    /// Copies the links of `graph` (one pass; no insert may run meanwhile). `ids` is the
    /// number of graph ids handed out so far.
    pub fn of<D: Distance<f32> + Send + Sync>(graph: &Hnsw<'static, f32, D>, ids: usize) -> Self {
        let mut view = HnswView {
            points: vec![None; ids],
            layer0: vec![Box::default(); ids],
            upper: Vec::new(),
            entry: None,
        };
        if graph.get_nb_point() == 0 {
            // (hnsw_rs's point iterator expects an entry point.)
            return view;
        }
        let mut top = 0usize;
        for point in graph.get_point_indexation() {
            let id = point.get_origin_id();
            if id >= ids {
                continue;
            }
            let level = point.get_point_id().0 as usize;
            for (layer, links) in point.get_neighborhood_id().into_iter().enumerate() {
                if layer > level {
                    break;
                }
                let links: Box<[u32]> = links.iter().map(|n| n.d_id as u32).collect();
                if layer == 0 {
                    view.layer0[id] = links;
                } else {
                    if view.upper.len() < layer {
                        view.upper.resize_with(layer, HashMap::new);
                    }
                    view.upper[layer - 1].insert(id as u32, links);
                }
            }
            if view.entry.is_none() || level > top {
                top = level;
                view.entry = Some(id as u32);
            }
            view.points[id] = Some(point);
        }
        view.upper.truncate(top);
        view
    }

    /// The vector of a graph id.
    pub fn vector(&self, id: usize) -> Option<&[f32]> {
        Some(self.points.get(id)?.as_ref()?.get_v())
    }

    fn distance(&self, query: &[f32], id: u32) -> f32 {
        match self.vector(id as usize) {
            Some(v) => (1.0 - cosine(query, v)).max(0.0),
            None => f32::INFINITY,
        }
    }

    /// The `k` nearest graph ids that pass `keep`, nearest first, with their distances.
    /// Points that fail `keep` are still walked through, only not returned.
    pub fn search(
        &self,
        query: &[f32],
        k: usize,
        ef: usize,
        keep: impl Fn(usize) -> bool,
    ) -> Vec<(usize, f32)> {
        let Some(mut entry) = self.entry else {
            return Vec::new();
        };
        let mut entry_distance = self.distance(query, entry);
        // Greedy descent: on each upper layer, move to a closer neighbour while there is one.
        for layer in self.upper.iter().rev() {
            loop {
                let closer = layer
                    .get(&entry)
                    .into_iter()
                    .flat_map(|links| links.iter())
                    .map(|&n| (n, self.distance(query, n)))
                    .filter(|(_, d)| *d < entry_distance)
                    .min_by(|a, b| a.1.total_cmp(&b.1));
                match closer {
                    Some((n, d)) => (entry, entry_distance) = (n, d),
                    None => break,
                }
            }
        }
        // Beam search on layer 0.
        let ef = ef.max(k);
        let mut visited = vec![0u64; self.layer0.len().div_ceil(64)];
        let mut mark = |id: u32| {
            let (word, bit) = (id as usize / 64, 1u64 << (id % 64));
            match visited.get_mut(word) {
                Some(w) if *w & bit == 0 => {
                    *w |= bit;
                    true
                }
                _ => false,
            }
        };
        mark(entry);
        let mut candidates = BinaryHeap::with_capacity(ef * 4);
        let mut nearest: BinaryHeap<(Dist, u32)> = BinaryHeap::with_capacity(ef + 1);
        candidates.push(Reverse((Dist(entry_distance), entry)));
        nearest.push((Dist(entry_distance), entry));
        while let Some(Reverse((Dist(d), c))) = candidates.pop() {
            if nearest.len() >= ef && nearest.peek().is_some_and(|w| d > w.0 .0) {
                break;
            }
            let Some(links) = self.layer0.get(c as usize) else {
                continue;
            };
            for &n in links.iter() {
                if !mark(n) {
                    continue;
                }
                let dn = self.distance(query, n);
                if nearest.len() < ef || nearest.peek().is_some_and(|w| dn < w.0 .0) {
                    candidates.push(Reverse((Dist(dn), n)));
                    nearest.push((Dist(dn), n));
                    if nearest.len() > ef {
                        nearest.pop();
                    }
                }
            }
        }
        let mut found: Vec<(usize, f32)> = nearest
            .into_iter()
            .map(|(Dist(d), id)| (id as usize, d))
            .filter(|(id, _)| keep(*id))
            .collect();
        found.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        found.truncate(k);
        found
    }
}
