//! A read-only copy of an hnsw_rs graph's links, and the HNSW search (greedy descent through
//! the upper layers, then a beam of `ef` candidates on layer 0) over it. hnsw_rs builds,
//! extends and saves the graph; this view answers queries, because hnsw_rs's own search
//! keeps its visited set in a SipHash map of `Arc` clones and allocates every candidate.
//! The walk compares the query with 8-bit copies of the vectors, laid out one after another
//! (a quarter of the memory traffic, which bounds the search at 100k passages), and the
//! beam's final candidates are re-ranked with the exact vectors.

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;

use hnsw_rs::hnsw::Point;
use hnsw_rs::prelude::{Distance, Hnsw};

use super::embed::{cosine, DIMENSIONS};

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
#[derive(Default, Clone)]
pub struct HnswView {
    points: Vec<Option<GraphPoint>>,
    /// Graph id `i`'s vector as `DIMENSIONS` signed bytes at `i * DIMENSIONS`, scaled so its
    /// largest component is ±127; `scales[i]` turns a byte dot product back into cosine.
    codes: Vec<i8>,
    scales: Vec<f32>,
    layer0: Vec<Box<[u32]>>,
    /// `upper[l - 1]`: links on layer `l` of the points that reach it.
    upper: Vec<HashMap<u32, Box<[u32]>>>,
    /// A point on the top layer, where every search starts, and that layer.
    entry: Option<u32>,
    top: usize,
}

impl HnswView {
    /// Copies the links of `graph` (one pass; no insert may run meanwhile). `ids` is the
    /// number of graph ids handed out so far.
    pub fn of<D: Distance<f32> + Send + Sync>(graph: &Hnsw<'static, f32, D>, ids: usize) -> Self {
        let mut view = HnswView::default();
        view.grow(ids);
        if graph.get_nb_point() == 0 {
            // (hnsw_rs's point iterator expects an entry point.)
            return view;
        }
        for point in graph.get_point_indexation() {
            view.read_point(point);
        }
        view
    }

    /// This view after `graph` gained the graph ids `added` (no insert may run meanwhile).
    /// An insert links the new point and changes only the links of the points it was linked
    /// to, so those are read again and everything else is copied.
    pub fn extended<D: Distance<f32> + Send + Sync>(
        &self,
        graph: &Hnsw<'static, f32, D>,
        ids: usize,
        added: &[usize],
    ) -> Self {
        let mut view = self.clone();
        view.grow(ids);
        if graph.get_nb_point() == 0 || added.is_empty() {
            return view;
        }
        let added: std::collections::HashSet<usize> = added.iter().copied().collect();
        let new_points: Vec<GraphPoint> = graph
            .get_point_indexation()
            .into_iter()
            .filter(|p| added.contains(&p.get_origin_id()))
            .collect();
        let mut touched = std::collections::HashSet::new();
        for point in new_points {
            touched.extend(view.read_point(point));
        }
        for id in touched {
            if let Some(Some(point)) = view.points.get(id as usize).cloned() {
                view.read_point(point);
            }
        }
        view
    }

    fn grow(&mut self, ids: usize) {
        if ids > self.points.len() {
            self.points.resize(ids, None);
            self.layer0.resize(ids, Box::default());
            self.codes.resize(ids * DIMENSIONS, 0);
            self.scales.resize(ids, 0.0);
        }
    }

    /// Records one point: its 8-bit copy, its links on every layer it reaches, and whether it
    /// is the new entry point. Returns the graph ids it links to.
    fn read_point(&mut self, point: GraphPoint) -> Vec<u32> {
        let id = point.get_origin_id();
        if id >= self.points.len() {
            return Vec::new();
        }
        let level = point.get_point_id().0 as usize;
        let mut linked = Vec::new();
        for (layer, links) in point.get_neighborhood_id().into_iter().enumerate() {
            if layer > level {
                break;
            }
            let links: Box<[u32]> = links.iter().map(|n| n.d_id as u32).collect();
            linked.extend_from_slice(&links);
            if layer == 0 {
                self.layer0[id] = links;
            } else {
                if self.upper.len() < layer {
                    self.upper.resize_with(layer, HashMap::new);
                }
                self.upper[layer - 1].insert(id as u32, links);
            }
        }
        // The lowest graph id on the top layer: the same entry however the view was built.
        let lower = self
            .entry
            .is_some_and(|e| level == self.top && (id as u32) < e);
        if self.entry.is_none() || level > self.top || lower {
            self.top = level;
            self.entry = Some(id as u32);
        }
        if self.points[id].is_none() && point.get_v().len() == DIMENSIONS {
            let (codes, scale) = quantise(point.get_v());
            self.codes[id * DIMENSIONS..(id + 1) * DIMENSIONS].copy_from_slice(&codes);
            self.scales[id] = scale;
        }
        self.points[id] = Some(point);
        linked
    }

    /// The vector of a graph id.
    pub fn vector(&self, id: usize) -> Option<&[f32]> {
        Some(self.points.get(id)?.as_ref()?.get_v())
    }

    /// Exact cosine distance to a graph id.
    fn distance(&self, query: &[f32], id: u32) -> f32 {
        match self.vector(id as usize) {
            Some(v) => (1.0 - cosine(query, v)).max(0.0),
            None => f32::INFINITY,
        }
    }

    /// Approximate cosine distance from the 8-bit copy (what the walk uses).
    fn rough_distance(&self, query: &[f32], id: u32) -> f32 {
        let id = id as usize;
        match (
            self.codes.get(id * DIMENSIONS..(id + 1) * DIMENSIONS),
            self.scales.get(id),
        ) {
            (Some(codes), Some(&scale)) if scale > 0.0 && query.len() == DIMENSIONS => {
                1.0 - byte_dot(query, codes) * scale
            }
            _ => f32::INFINITY,
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
        let mut entry_distance = self.rough_distance(query, entry);
        // Greedy descent: on each upper layer, move to a closer neighbour while there is one.
        for layer in self.upper.iter().take(self.top).rev() {
            loop {
                let closer = layer
                    .get(&entry)
                    .into_iter()
                    .flat_map(|links| links.iter())
                    .map(|&n| (n, self.rough_distance(query, n)))
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
                let dn = self.rough_distance(query, n);
                if nearest.len() < ef || nearest.peek().is_some_and(|w| dn < w.0 .0) {
                    candidates.push(Reverse((Dist(dn), n)));
                    nearest.push((Dist(dn), n));
                    if nearest.len() > ef {
                        nearest.pop();
                    }
                }
            }
        }
        // Re-rank the beam with the exact vectors.
        let mut found: Vec<(usize, f32)> = nearest
            .into_iter()
            .filter(|(_, id)| keep(*id as usize))
            .map(|(_, id)| (id as usize, self.distance(query, id)))
            .collect();
        found.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        found.truncate(k);
        found
    }
}

/// A unit vector as signed bytes scaled so its largest component is ±127, and the factor
/// that turns `byte_dot` back into its dot product.
fn quantise(v: &[f32]) -> (Vec<i8>, f32) {
    let max = v.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    if max == 0.0 {
        return (vec![0; v.len()], 0.0);
    }
    let to_byte = 127.0 / max;
    let codes = v
        .iter()
        .map(|x| (x * to_byte).round().clamp(-127.0, 127.0) as i8)
        .collect();
    (codes, max / 127.0)
}

/// Dot product of a query and an 8-bit code, before scaling. Eight running sums, as in
/// `cosine`, so it vectorises.
fn byte_dot(query: &[f32], codes: &[i8]) -> f32 {
    let mut sums = [0.0f32; 8];
    for (q, c) in query.chunks_exact(8).zip(codes.chunks_exact(8)) {
        for i in 0..8 {
            sums[i] += q[i] * c[i] as f32;
        }
    }
    sums.iter().sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_eight_bit_copy_keeps_the_cosine_within_a_percent() {
        let a: Vec<f32> = (0..DIMENSIONS)
            .map(|i| (i * 37 % 101) as f32 - 50.0)
            .collect();
        let b: Vec<f32> = (0..DIMENSIONS)
            .map(|i| (i * 53 % 97) as f32 - 40.0)
            .collect();
        let unit = |v: &[f32]| {
            let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            v.iter().map(|x| x / n).collect::<Vec<f32>>()
        };
        let (a, b) = (unit(&a), unit(&b));
        let (codes, scale) = quantise(&b);
        let exact = cosine(&a, &b);
        assert!((byte_dot(&a, &codes) * scale - exact).abs() < 0.01);
        let (own, own_scale) = quantise(&a);
        assert!((byte_dot(&a, &own) * own_scale - 1.0).abs() < 0.01);
    }
}
