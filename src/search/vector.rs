//! One HNSW graph per org (hnsw_rs; cosine over unit vectors) over the passage vectors kept in
//! redb, saved under the data dir with its build parameters and the knowledge-base generation
//! it reflects, and loaded at start only when all of those match and its files are intact.
//! The graph has no delete: removed passages are masked at search time, and the graph is
//! rebuilt from redb once a quarter of it is masked.

use std::collections::HashMap;
use std::io::Read;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use hnsw_rs::prelude::{AnnT, Distance, Hnsw, HnswIo};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::embed::{cosine, DIMENSIONS};
use super::generation::Reflected;
use super::hnsw_view::HnswView;

/// Build parameters. A saved graph built with others is not loaded: it is rebuilt.
pub const MAX_CONNECTIONS: usize = 16;
pub const EF_CONSTRUCTION: usize = 100;
/// Candidate list at search time: recall@10 0.97–0.99 against exact search at 100,000
/// passages, 1.00 at 10,000 (BENCHMARKS.md has the trade-off measured at 24 to 64).
pub const EF_SEARCH: usize = 40;
const MAX_LAYERS: usize = 16;
/// A new graph's first points are inserted one at a time (see `VectorIndex::build`).
const SEQUENTIAL_START: usize = 1_000;
/// Bump when the saved layout changes.
const FORMAT: u32 = 1;

/// Cosine distance for unit vectors: `1 − a·b`, never below zero. Our own rather than
/// anndists' `DistDot`, whose scalar version asserts `a·b ≤ 1` (rounding on a passage and a
/// query with identical text can exceed it by an ulp and would panic the search) and sums
/// in one sequential chain the compiler cannot vectorise.
#[derive(Default, Clone, Copy)]
pub struct UnitCosine;

impl Distance<f32> for UnitCosine {
    fn eval(&self, a: &[f32], b: &[f32]) -> f32 {
        (1.0 - cosine(a, b)).max(0.0)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum VectorIndexError {
    #[error("vector index file error: {0}")]
    Io(#[from] std::io::Error),
    #[error("vector index could not be written: {0}")]
    Save(String),
}

/// Where an org's graph is saved.
pub fn index_dir(data_dir: &Path, org: &str) -> PathBuf {
    data_dir.join("indexes").join(org).join("vectors")
}

/// What is saved beside the graph files, and checked before they are loaded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct BuildParameters {
    format: u32,
    dimensions: usize,
    max_connections: usize,
    ef_construction: usize,
    max_layers: usize,
    distance: String,
}

impl BuildParameters {
    fn current() -> BuildParameters {
        BuildParameters {
            format: FORMAT,
            dimensions: DIMENSIONS,
            max_connections: MAX_CONNECTIONS,
            ef_construction: EF_CONSTRUCTION,
            max_layers: MAX_LAYERS,
            distance: "unit-cosine".into(),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct SavedGraph {
    parameters: BuildParameters,
    generation: u64,
    /// hnsw_rs writes `{basename}.hnsw.graph` and `{basename}.hnsw.data`.
    basename: String,
    graph_sha256: String,
    data_sha256: String,
    /// Graph id → passage id, `None` where the passage was removed.
    passages: Vec<Option<String>>,
}

const META_FILE: &str = "graph.json";

/// Graph id ↔ passage id, with the removed ones masked.
#[derive(Default)]
struct Passages {
    by_graph_id: Vec<Option<String>>,
    graph_id: HashMap<String, usize>,
    removed: usize,
}

impl Passages {
    fn from_ids(by_graph_id: Vec<Option<String>>) -> Passages {
        let graph_id = by_graph_id
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.clone().map(|p| (p, i)))
            .collect();
        let removed = by_graph_id.iter().filter(|p| p.is_none()).count();
        Passages {
            by_graph_id,
            graph_id,
            removed,
        }
    }

    fn remove(&mut self, passage_id: &str) {
        if let Some(i) = self.graph_id.remove(passage_id) {
            self.by_graph_id[i] = None;
            self.removed += 1;
        }
    }
}

/// One nearest passage and its cosine similarity to the query.
#[derive(Debug, Clone, PartialEq)]
pub struct Nearest {
    pub passage_id: String,
    pub similarity: f32,
}

pub struct VectorIndex {
    graph: Hnsw<'static, f32, UnitCosine>,
    passages: RwLock<Passages>,
    /// The graph's links and points (vectors shared, not copied) as searches read them;
    /// replaced after every change.
    view: RwLock<Arc<HnswView>>,
    /// The knowledge-base generation the graph reflects (every change up to it applied).
    generation: RwLock<Reflected>,
    /// Changes and saves take turns, so a save never sees half a change.
    changing: Mutex<()>,
}

impl VectorIndex {
    /// A new graph over `passages` (the first `SEQUENTIAL_START` in order, the rest on every
    /// core), reflecting `generation`.
    pub fn build(passages: &[(String, Vec<f32>)], generation: u64) -> VectorIndex {
        let graph = Hnsw::new(
            MAX_CONNECTIONS,
            passages.len().max(1024),
            MAX_LAYERS,
            EF_CONSTRUCTION,
            UnitCosine,
        );
        let data: Vec<(&[f32], usize)> = passages
            .iter()
            .enumerate()
            .map(|(i, (_, v))| (v.as_slice(), i))
            .collect();
        // The first points one by one: inserted side by side into a small graph, two points
        // can miss each other and one be left with no link a search can follow (measured with
        // every point inserted side by side: 1 build in ~4,000 of 11 passages, 1 in ~300 of
        // 60, 1 in ~60 of 200). Once the graph has a core built in order, the rest go in on
        // every core, in tenths, so a long rebuild reports its progress.
        let (first, rest) = data.split_at(data.len().min(SEQUENTIAL_START));
        for point in first {
            graph.insert_slice(*point);
        }
        let tenth = rest.len().div_ceil(10).max(1);
        for (i, part) in rest.chunks(tenth).enumerate() {
            graph.parallel_insert_slice(&part.to_vec());
            if data.len() >= 10_000 {
                tracing::info!(
                    inserted = (first.len() + i * tenth + part.len()),
                    of = data.len(),
                    "building the vector graph"
                );
            }
        }
        VectorIndex::over(
            graph,
            Passages::from_ids(passages.iter().map(|(id, _)| Some(id.clone())).collect()),
            generation,
        )
    }

    fn over(
        graph: Hnsw<'static, f32, UnitCosine>,
        passages: Passages,
        generation: u64,
    ) -> VectorIndex {
        let index = VectorIndex {
            graph,
            passages: RwLock::new(passages),
            view: RwLock::new(Arc::new(HnswView::default())),
            generation: RwLock::new(Reflected::at(generation)),
            changing: Mutex::new(()),
        };
        index.refresh_view();
        index
    }

    /// Copies the graph's links for searching (one pass over the graph; callers hold
    /// `changing` or own the index alone).
    fn refresh_view(&self) {
        let ids = self
            .passages
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .by_graph_id
            .len();
        let view = Arc::new(HnswView::of(&self.graph, ids));
        *self.view.write().unwrap_or_else(|p| p.into_inner()) = view;
    }

    fn current_view(&self) -> Arc<HnswView> {
        self.view.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Cosine similarity of `query` and a live passage in the graph.
    pub fn similarity(&self, query: &[f32], passage_id: &str) -> Option<f32> {
        let graph_id = *self
            .passages
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .graph_id
            .get(passage_id)?;
        let view = self.current_view();
        Some(cosine(query, view.vector(graph_id)?).clamp(0.0, 1.0))
    }

    /// Applies one document change: `removed` passages are masked, `added` ones inserted
    /// (a passage id that is both is replaced). The graph then reflects `generation` once
    /// every change before it is applied too, so a graph saved while an earlier change is
    /// still on its way never claims to hold it.
    pub fn apply(&self, removed: &[String], added: &[(String, Vec<f32>)], generation: u64) {
        let _turn = self.changing.lock().unwrap_or_else(|p| p.into_inner());
        {
            let mut p = self.passages.write().unwrap_or_else(|p| p.into_inner());
            for id in removed.iter().chain(added.iter().map(|(id, _)| id)) {
                p.remove(id);
            }
        }
        for (id, v) in added {
            let graph_id = {
                let mut p = self.passages.write().unwrap_or_else(|p| p.into_inner());
                let graph_id = p.by_graph_id.len();
                // Masked until the point is in the graph.
                p.by_graph_id.push(None);
                graph_id
            };
            self.graph.insert_slice((v, graph_id));
            let mut p = self.passages.write().unwrap_or_else(|p| p.into_inner());
            p.by_graph_id[graph_id] = Some(id.clone());
            p.graph_id.insert(id.clone(), graph_id);
        }
        if !added.is_empty() {
            let first_new = self
                .passages
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .by_graph_id
                .len()
                - added.len();
            let new_ids: Vec<usize> = (first_new..first_new + added.len()).collect();
            let view = Arc::new(self.current_view().extended(
                &self.graph,
                first_new + added.len(),
                &new_ids,
            ));
            *self.view.write().unwrap_or_else(|p| p.into_inner()) = view;
        }
        self.generation
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .applied(generation);
    }

    /// True once a quarter of the graph points at removed passages.
    pub fn needs_rebuild(&self) -> bool {
        let p = self.passages.read().unwrap_or_else(|p| p.into_inner());
        !p.by_graph_id.is_empty() && p.removed * 4 >= p.by_graph_id.len()
    }

    /// Live passages in the graph.
    pub fn len(&self) -> usize {
        self.passages
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .graph_id
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn generation(&self) -> u64 {
        self.generation
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .generation()
    }

    /// The nearest `k` live passages, best first, with their cosine similarity.
    pub fn search(&self, query: &[f32], k: usize) -> Vec<Nearest> {
        self.search_with_ef(query, k, EF_SEARCH)
    }

    /// [`Self::search`] with another candidate-list size (benches compare recall and speed).
    pub fn search_with_ef(&self, query: &[f32], k: usize, ef: usize) -> Vec<Nearest> {
        let p = self.passages.read().unwrap_or_else(|p| p.into_inner());
        if p.graph_id.is_empty() || query.len() != DIMENSIONS {
            return Vec::new();
        }
        let view = self.current_view();
        let live = |graph_id: usize| matches!(p.by_graph_id.get(graph_id), Some(Some(_)));
        // Masked points still take places in the beam: widen it by their share.
        let masked = p.by_graph_id.len() - p.graph_id.len();
        let ef = ef.max(k) + ef.max(k) * masked / p.by_graph_id.len().max(1);
        view.search(query, k, ef, live)
            .into_iter()
            .filter_map(|(graph_id, distance)| {
                Some(Nearest {
                    passage_id: p.by_graph_id.get(graph_id)?.clone()?,
                    similarity: (1.0 - distance).clamp(0.0, 1.0),
                })
            })
            .collect()
    }

    /// Writes the graph to `dir` under a fresh name, then switches `graph.json` to it in one
    /// rename and removes the files of earlier saves. A crash at any point leaves either the
    /// previous save or this one.
    pub fn save(&self, dir: &Path) -> Result<(), VectorIndexError> {
        let _turn = self.changing.lock().unwrap_or_else(|p| p.into_inner());
        std::fs::create_dir_all(dir)?;
        if self.graph.get_nb_point() == 0 {
            // hnsw_rs cannot dump a graph without points (a new clinic's), and there is
            // nothing to keep: remove any earlier save, so a start rebuilds (from nothing).
            return remove_saved(dir, None);
        }
        let generation = self.generation();
        let basename = format!("g{generation}-{}", uuid::Uuid::new_v4().simple());
        self.graph
            .file_dump(dir, &basename)
            .map_err(|e| VectorIndexError::Save(e.to_string()))?;
        let (graph_file, data_file) = files(dir, &basename);
        for f in [&graph_file, &data_file] {
            std::fs::File::open(f)?.sync_all()?;
        }
        let meta = SavedGraph {
            parameters: BuildParameters::current(),
            generation,
            basename: basename.clone(),
            graph_sha256: sha256_of(&graph_file)?,
            data_sha256: sha256_of(&data_file)?,
            passages: self
                .passages
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .by_graph_id
                .clone(),
        };
        let tmp = dir.join(format!("{META_FILE}.tmp"));
        std::fs::write(
            &tmp,
            serde_json::to_vec(&meta).map_err(|e| VectorIndexError::Save(e.to_string()))?,
        )?;
        std::fs::File::open(&tmp)?.sync_all()?;
        std::fs::rename(&tmp, dir.join(META_FILE))?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        remove_saved(dir, Some(&basename))
    }

    /// The graph saved in `dir`, if it was built with today's parameters, reflects
    /// `generation`, and its files are the ones written (checksums match). `None` means
    /// "rebuild from redb": missing, stale, other parameters or corrupt.
    pub fn load(dir: &Path, generation: u64) -> Option<VectorIndex> {
        let meta: SavedGraph = serde_json::from_slice(&std::fs::read(dir.join(META_FILE)).ok()?)
            .map_err(|_| tracing::warn!("saved vector graph description unreadable"))
            .ok()?;
        if meta.parameters != BuildParameters::current() || meta.generation != generation {
            return None;
        }
        let (graph_file, data_file) = files(dir, &meta.basename);
        if sha256_of(&graph_file).ok()? != meta.graph_sha256
            || sha256_of(&data_file).ok()? != meta.data_sha256
        {
            tracing::warn!("saved vector graph files do not match their checksums");
            return None;
        }
        // The loaded graph borrows its reader for its whole life; one small reader per load
        // is kept for the life of the process (the data itself is owned by the graph).
        let reader: &'static HnswIo = Box::leak(Box::new(HnswIo::new(dir, &meta.basename)));
        let graph = catch_unwind(AssertUnwindSafe(|| {
            reader.load_hnsw_with_dist::<f32, UnitCosine>(UnitCosine)
        }))
        .ok()?
        .ok()?;
        if graph.get_nb_point() != meta.passages.len() {
            tracing::warn!("saved vector graph does not match its passage list");
            return None;
        }
        Some(VectorIndex::over(
            graph,
            Passages::from_ids(meta.passages),
            generation,
        ))
    }
}

/// Removes the graph files in `dir` but those of `keep` (all of them and the description
/// when there is nothing to keep).
fn remove_saved(dir: &Path, keep: Option<&str>) -> Result<(), VectorIndexError> {
    if keep.is_none() {
        match std::fs::remove_file(dir.join(META_FILE)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
            _ => {}
        }
    }
    for entry in std::fs::read_dir(dir)?.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let graph_file = name.ends_with(".hnsw.graph") || name.ends_with(".hnsw.data");
        if graph_file && !keep.is_some_and(|k| name.starts_with(&format!("{k}."))) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    Ok(())
}

fn files(dir: &Path, basename: &str) -> (PathBuf, PathBuf) {
    (
        dir.join(format!("{basename}.hnsw.graph")),
        dir.join(format!("{basename}.hnsw.data")),
    )
}

fn sha256_of(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(seed: u64) -> Vec<f32> {
        // A deterministic spread of directions.
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut v: Vec<f32> = (0..DIMENSIONS)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x % 2000) as f32 / 1000.0 - 1.0
            })
            .collect();
        let n = v.iter().map(|a| a * a).sum::<f32>().sqrt();
        v.iter_mut().for_each(|a| *a /= n);
        v
    }

    fn corpus(n: u64) -> Vec<(String, Vec<f32>)> {
        (0..n).map(|i| (format!("p{i}"), unit(i))).collect()
    }

    #[test]
    fn every_passage_of_a_rebuilt_graph_can_be_reached() {
        // A clinic's knowledge base is often a few dozen passages. A rebuild (damaged or
        // missing graph file) must reach every one of them: with all points inserted side by
        // side, about 1 build in 300 of 60 passages left one that no search could reach.
        for round in 0..200u64 {
            let passages: Vec<(String, Vec<f32>)> = (0..60)
                .map(|i| (format!("p{i}"), unit(round * 1000 + i)))
                .collect();
            let index = VectorIndex::build(&passages, 1);
            let found = index.search_with_ef(&unit(round * 1000 + 1), 60, 70);
            assert_eq!(
                found.len(),
                60,
                "round {round}: a passage no search can reach"
            );
        }
    }

    #[test]
    fn a_new_clinics_empty_graph_saves_as_nothing_and_leaves_no_earlier_save_behind() {
        let dir = tempfile::TempDir::new().unwrap();
        VectorIndex::build(&corpus(20), 1).save(dir.path()).unwrap();
        assert!(VectorIndex::load(dir.path(), 1).is_some());
        VectorIndex::build(&[], 2).save(dir.path()).unwrap();
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
        assert!(left.is_empty(), "{} files left", left.len());
        assert!(VectorIndex::load(dir.path(), 1).is_none());
        assert!(VectorIndex::load(dir.path(), 2).is_none());
    }

    #[test]
    fn a_passage_is_its_own_nearest_neighbour_with_similarity_one() {
        let index = VectorIndex::build(&corpus(200), 1);
        let found = index.search(&unit(17), 3);
        assert_eq!(found[0].passage_id, "p17");
        assert!((found[0].similarity - 1.0).abs() < 1e-4);
        assert!(found[1].similarity < found[0].similarity);
    }

    #[test]
    fn the_search_finds_what_exact_search_finds() {
        let data = corpus(1500);
        let index = VectorIndex::build(&data, 1);
        let mut hits = 0;
        for q in 0..50u64 {
            let query = unit(10_000 + q);
            let mut exact: Vec<(f32, &str)> = data
                .iter()
                .map(|(id, v)| (cosine(&query, v), id.as_str()))
                .collect();
            exact.sort_by(|a, b| b.0.total_cmp(&a.0));
            let found = index.search_with_ef(&query, 10, 64);
            assert_eq!(found.len(), 10);
            assert!(found.windows(2).all(|w| w[0].similarity >= w[1].similarity));
            hits += exact[..10]
                .iter()
                .filter(|(_, id)| found.iter().any(|f| f.passage_id == *id))
                .count();
        }
        // Uniform random directions are the hardest case for any graph index.
        assert!(
            hits as f64 / 500.0 >= 0.9,
            "recall@10 {}",
            hits as f64 / 500.0
        );
    }

    #[test]
    fn removed_and_replaced_passages_never_come_back() {
        let index = VectorIndex::build(&corpus(200), 1);
        index.apply(&["p17".into()], &[("p3".into(), unit(1003))], 2);
        assert!(index
            .search(&unit(17), 10)
            .iter()
            .all(|n| n.passage_id != "p17"));
        // p3 now has its new vector: the old one finds nothing called p3 at similarity 1.
        let old = index.search(&unit(3), 10);
        assert!(old
            .iter()
            .all(|n| n.passage_id != "p3" || n.similarity < 0.99));
        assert_eq!(index.search(&unit(1003), 1)[0].passage_id, "p3");
        assert!((index.similarity(&unit(1003), "p3").unwrap() - 1.0).abs() < 1e-4);
        assert_eq!(index.similarity(&unit(17), "p17"), None);
        assert_eq!(index.len(), 199);
        assert_eq!(index.generation(), 2);
    }

    #[test]
    fn an_empty_graph_answers_nothing_and_takes_its_first_passages() {
        let index = VectorIndex::build(&[], 1);
        assert!(index.search(&unit(1), 5).is_empty());
        assert_eq!(index.similarity(&unit(1), "p1"), None);
        index.apply(&[], &corpus(3), 2);
        assert_eq!(index.search(&unit(1), 1)[0].passage_id, "p1");
    }

    #[test]
    fn the_view_extended_passage_by_passage_matches_one_read_afresh() {
        let index = VectorIndex::build(&corpus(300), 1);
        for i in 0..60u64 {
            index.apply(&[], &[(format!("n{i}"), unit(20_000 + i))], 2 + i);
        }
        let afresh = HnswView::of(&index.graph, 360);
        let extended = index.current_view();
        for q in (0..20u64).map(|i| unit(30_000 + i)).chain([unit(20_005)]) {
            assert_eq!(
                extended.search(&q, 10, 40, |_| true),
                afresh.search(&q, 10, 40, |_| true)
            );
        }
        assert_eq!(index.search(&unit(20_005), 1)[0].passage_id, "n5");
    }

    #[test]
    fn a_change_applied_ahead_of_an_earlier_one_is_not_claimed_until_that_one_lands() {
        let index = VectorIndex::build(&corpus(10), 1);
        index.apply(&[], &[("late".into(), unit(500))], 3);
        assert_eq!(index.generation(), 1, "change 2 is not in the graph yet");
        index.apply(&[], &[("early".into(), unit(400))], 2);
        assert_eq!(index.generation(), 3);
    }

    #[test]
    fn a_quarter_removed_asks_for_a_rebuild() {
        let index = VectorIndex::build(&corpus(8), 1);
        index.apply(&["p0".into()], &[], 2);
        assert!(!index.needs_rebuild());
        index.apply(&["p1".into()], &[], 3);
        assert!(index.needs_rebuild());
    }

    #[test]
    fn a_saved_graph_loads_with_the_same_answers_and_takes_changes() {
        let dir = tempfile::tempdir().unwrap();
        let index = VectorIndex::build(&corpus(300), 5);
        index.apply(&["p9".into()], &[], 6);
        index.save(dir.path()).unwrap();
        let loaded = VectorIndex::load(dir.path(), 6).expect("loads");
        for q in [unit(4), unit(9), unit(5000)] {
            assert_eq!(index.search(&q, 10), loaded.search(&q, 10));
        }
        loaded.apply(&[], &[("new".into(), unit(7000))], 7);
        assert_eq!(loaded.search(&unit(7000), 1)[0].passage_id, "new");
        let exact = cosine(&unit(4), &unit(8));
        assert!((loaded.similarity(&unit(4), "p8").unwrap() - exact.clamp(0.0, 1.0)).abs() < 1e-6);
        assert!((loaded.similarity(&unit(7000), "new").unwrap() - 1.0).abs() < 1e-4);
        // Saving again leaves one set of files.
        loaded.save(dir.path()).unwrap();
        let graphs = std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".hnsw.graph")
            })
            .count();
        assert_eq!(graphs, 1);
        assert!(VectorIndex::load(dir.path(), 7).is_some());
    }

    #[test]
    fn a_stale_missing_or_damaged_save_is_not_loaded() {
        let dir = tempfile::tempdir().unwrap();
        assert!(VectorIndex::load(dir.path(), 1).is_none());
        let index = VectorIndex::build(&corpus(100), 3);
        index.save(dir.path()).unwrap();
        assert!(VectorIndex::load(dir.path(), 4).is_none(), "stale");
        assert!(VectorIndex::load(dir.path(), 3).is_some());
        for entry in std::fs::read_dir(dir.path()).unwrap() {
            let path = entry.unwrap().path();
            if path.to_string_lossy().ends_with(".hnsw.graph") {
                let mut bytes = std::fs::read(&path).unwrap();
                let mid = bytes.len() / 2;
                bytes[mid] ^= 0xFF;
                std::fs::write(&path, bytes).unwrap();
            }
        }
        assert!(VectorIndex::load(dir.path(), 3).is_none(), "damaged");
        std::fs::write(dir.path().join(META_FILE), b"{ not json").unwrap();
        assert!(VectorIndex::load(dir.path(), 3).is_none(), "unreadable");
    }
}
