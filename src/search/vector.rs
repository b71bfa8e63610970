//! One HNSW graph per org (hnsw_rs; dot product, which is cosine for our unit vectors) over
//! passage vectors kept in redb. The graph has no delete: removed passages are filtered at
//! search time (redb is checked), and the graph is rebuilt from redb when a quarter of it is
//! stale.

use std::sync::RwLock;

use hnsw_rs::prelude::{DistDot, Hnsw};

/// Build parameters (kept with the code: the graph is rebuilt from redb, never loaded stale).
pub const MAX_CONNECTIONS: usize = 16;
pub const EF_CONSTRUCTION: usize = 100;
pub const EF_SEARCH: usize = 64;
const MAX_LAYERS: usize = 16;

pub struct VectorIndex {
    graph: Hnsw<'static, f32, DistDot>,
    /// Graph id → passage id.
    ids: RwLock<Vec<String>>,
    stale: RwLock<usize>,
}

impl VectorIndex {
    pub fn build(passages: &[(String, Vec<f32>)]) -> VectorIndex {
        let graph = Hnsw::new(
            MAX_CONNECTIONS,
            passages.len().max(1024),
            MAX_LAYERS,
            EF_CONSTRUCTION,
            DistDot {},
        );
        // Insert on every core: the graph takes concurrent inserts.
        let data: Vec<(&[f32], usize)> = passages
            .iter()
            .enumerate()
            .map(|(i, (_, v))| (v.as_slice(), i))
            .collect();
        graph.parallel_insert_slice(&data);
        let ids = passages.iter().map(|(id, _)| id.clone()).collect();
        VectorIndex {
            graph,
            ids: RwLock::new(ids),
            stale: RwLock::new(0),
        }
    }

    pub fn insert(&self, passage_id: &str, vector: &[f32]) {
        let mut ids = self.ids.write().unwrap_or_else(|p| p.into_inner());
        let graph_id = ids.len();
        ids.push(passage_id.to_string());
        self.graph.insert_slice((vector, graph_id));
    }

    /// Notes that `n` passages in the graph no longer exist.
    pub fn mark_stale(&self, n: usize) {
        *self.stale.write().unwrap_or_else(|p| p.into_inner()) += n;
    }

    /// True once a quarter of the graph points at removed passages.
    pub fn needs_rebuild(&self) -> bool {
        let len = self.ids.read().unwrap_or_else(|p| p.into_inner()).len();
        let stale = *self.stale.read().unwrap_or_else(|p| p.into_inner());
        len > 0 && stale * 4 >= len
    }

    pub fn len(&self) -> usize {
        self.ids.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The nearest `k` passage ids (more are fetched so removed ones can be skipped later).
    pub fn search(&self, query: &[f32], k: usize) -> Vec<String> {
        if self.is_empty() {
            return Vec::new();
        }
        let found = self.graph.search(query, k, EF_SEARCH.max(k));
        let ids = self.ids.read().unwrap_or_else(|p| p.into_inner());
        found
            .into_iter()
            .filter_map(|n| ids.get(n.d_id).cloned())
            .collect()
    }
}
