//! The layering guard: the library's source is parsed (syn) and every `crate::…`, `super::…`
//! and `self::…` path outside test code becomes an edge between top-level modules, and
//! between sibling modules of one folder. The suite fails on an import cycle, and on a module
//! importing one of a higher layer (the README's architecture section names the layers).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// The layers, lowest first: a module may use its own layer and those below it.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "foundation",
        &[
            "domain",
            "clock",
            "config",
            "metrics",
            "health",
            "systemd",
            "telemetry",
            "speech",
        ],
    ),
    (
        "infrastructure",
        &[
            "store",
            "auth",
            "audit",
            "crypto",
            "outbox",
            "integrations",
            "pii",
        ],
    ),
    (
        "domains",
        &[
            "identity", "booking", "calls", "followup", "search", "calendar", "waitlist",
        ],
    ),
    (
        "composition",
        &["schema", "services", "delivery", "vapi", "backup"],
    ),
    (
        "edge",
        &["http", "admin", "check", "demo", "startup", "cli"],
    ),
];

fn layer_of(module: &str) -> Option<(usize, &'static str)> {
    LAYERS
        .iter()
        .enumerate()
        .find(|(_, (_, members))| members.contains(&module))
        .map(|(i, (name, _))| (i, *name))
}

/// One use of another module: from the file `file`, module path `from` reaches `to`.
#[derive(Debug, Clone)]
struct Edge {
    file: PathBuf,
    to: Vec<String>,
}

/// Collects the module paths one file names, skipping `#[cfg(test)]` items.
struct PathCollector {
    module: Vec<String>,
    found: Vec<Vec<String>>,
}

fn is_test_only(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg")
            && a.meta
                .require_list()
                .map(|l| l.tokens.to_string().contains("test"))
                .unwrap_or(false)
    })
}

impl PathCollector {
    /// `crate::a::b`, `super::a`, `self::a` as an absolute module path.
    fn resolve(&self, segments: &[String]) -> Option<Vec<String>> {
        let (first, rest) = segments.split_first()?;
        match first.as_str() {
            "crate" => Some(rest.to_vec()),
            "super" => {
                let mut base = self.module.clone();
                base.pop()?;
                let mut rest = rest.to_vec();
                while rest.first().map(String::as_str) == Some("super") {
                    base.pop()?;
                    rest.remove(0);
                }
                base.extend(rest);
                Some(base)
            }
            "self" => {
                let mut base = self.module.clone();
                base.extend(rest.iter().cloned());
                Some(base)
            }
            _ => None,
        }
    }

    fn record(&mut self, segments: Vec<String>) {
        if let Some(path) = self.resolve(&segments) {
            self.found.push(path);
        }
    }

    fn use_tree(&mut self, prefix: Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                let mut next = prefix;
                next.push(p.ident.to_string());
                self.use_tree(next, &p.tree);
            }
            syn::UseTree::Name(n) => {
                let mut path = prefix;
                if n.ident != "self" {
                    path.push(n.ident.to_string());
                }
                self.record(path);
            }
            syn::UseTree::Rename(r) => {
                let mut path = prefix;
                path.push(r.ident.to_string());
                self.record(path);
            }
            syn::UseTree::Glob(_) => self.record(prefix),
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    self.use_tree(prefix.clone(), t);
                }
            }
        }
    }
}

impl<'ast> Visit<'ast> for PathCollector {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        let attrs = match item {
            syn::Item::Mod(m) => &m.attrs,
            syn::Item::Fn(f) => &f.attrs,
            syn::Item::Impl(i) => &i.attrs,
            syn::Item::Use(u) => &u.attrs,
            syn::Item::Const(c) => &c.attrs,
            syn::Item::Static(s) => &s.attrs,
            syn::Item::Struct(s) => &s.attrs,
            syn::Item::Enum(e) => &e.attrs,
            syn::Item::Trait(t) => &t.attrs,
            syn::Item::Macro(m) => &m.attrs,
            _ => return syn::visit::visit_item(self, item),
        };
        if is_test_only(attrs) {
            return;
        }
        if let syn::Item::Use(u) = item {
            self.use_tree(Vec::new(), &u.tree);
            return;
        }
        syn::visit::visit_item(self, item);
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        self.record(segments);
        syn::visit::visit_path(self, path);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        // Macro bodies are token streams: paths in them are found by reading the tokens.
        let text = mac.tokens.to_string().replace(' ', "");
        for (at, _) in text.match_indices("crate::") {
            let segments: Vec<String> = text[at..]
                .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .next()
                .unwrap_or("")
                .split("::")
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            self.record(segments);
        }
        syn::visit::visit_macro(self, mac);
    }
}

fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap();
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap();
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" && stem != "main" {
        parts.push(stem.to_string());
    }
    parts
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every module's uses of other modules: (file's module path, edge).
fn uses(src: &Path) -> Vec<(Vec<String>, Edge)> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let mut all = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let parsed = syn::parse_file(&text)
            .unwrap_or_else(|e| panic!("{} does not parse: {e}", file.display()));
        let module = module_path(src, &file);
        let mut collector = PathCollector {
            module: module.clone(),
            found: Vec::new(),
        };
        collector.visit_file(&parsed);
        for to in collector.found {
            all.push((
                module.clone(),
                Edge {
                    file: file.clone(),
                    to,
                },
            ));
        }
    }
    all
}

/// The names of the child modules of `dir` (files and folders).
fn children(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter_map(|p| {
                    if p.is_dir() {
                        p.file_name().map(|n| n.to_string_lossy().into_owned())
                    } else if p.extension().is_some_and(|e| e == "rs") {
                        p.file_stem()
                            .map(|n| n.to_string_lossy().into_owned())
                            .filter(|n| n != "mod" && n != "lib" && n != "main")
                    } else {
                        None
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

type Graph = BTreeMap<String, BTreeMap<String, PathBuf>>;

/// The strongly connected components with more than one member (Tarjan).
fn cycles(graph: &Graph) -> Vec<Vec<String>> {
    struct State<'g> {
        graph: &'g Graph,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        next: usize,
        found: Vec<Vec<String>>,
    }
    fn connect<'g>(s: &mut State<'g>, v: &'g str) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on_stack.insert(v);
        if let Some(targets) = s.graph.get(v) {
            for w in targets.keys() {
                let w = w.as_str();
                if !s.index.contains_key(w) {
                    connect(s, w);
                    let lw = s.low[w];
                    let lv = s.low[v];
                    s.low.insert(v, lv.min(lw));
                } else if s.on_stack.contains(w) {
                    let iw = s.index[w];
                    let lv = s.low[v];
                    s.low.insert(v, lv.min(iw));
                }
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.found.push(component);
            }
        }
    }
    let mut state = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        found: Vec::new(),
    };
    let nodes: Vec<&str> = graph.keys().map(String::as_str).collect();
    for v in nodes {
        if !state.index.contains_key(v) {
            connect(&mut state, v);
        }
    }
    state.found
}

fn describe(graph: &Graph, component: &[String]) -> String {
    let mut lines = Vec::new();
    for from in component {
        for (to, file) in &graph[from] {
            if component.contains(to) {
                lines.push(format!("  {from} -> {to} (in {})", file.display()));
            }
        }
    }
    lines.join("\n")
}

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Top-level module → the top-level modules it uses.
fn top_level_graph(src: &Path) -> Graph {
    let tops = children(src);
    let mut graph = Graph::new();
    for top in &tops {
        graph.entry(top.clone()).or_default();
    }
    for (from, edge) in uses(src) {
        let (Some(a), Some(b)) = (from.first(), edge.to.first()) else {
            continue;
        };
        if a != b && tops.contains(a) && tops.contains(b) {
            graph
                .entry(a.clone())
                .or_default()
                .entry(b.clone())
                .or_insert(edge.file);
        }
    }
    graph
}

#[test]
fn no_import_cycle_between_top_level_modules() {
    let graph = top_level_graph(&src_dir());
    let found = cycles(&graph);
    let report: Vec<String> = found.iter().map(|c| describe(&graph, c)).collect();
    assert!(
        found.is_empty(),
        "import cycles between top-level modules:\n{}",
        report.join("\n\n")
    );
}

#[test]
fn no_import_cycle_between_sibling_modules_of_a_folder() {
    let src = src_dir();
    let all = uses(&src);
    let mut failures = Vec::new();
    let mut folders = vec![src.clone()];
    let mut i = 0;
    while i < folders.len() {
        for child in children(&folders[i]) {
            let path = folders[i].join(&child);
            if path.is_dir() {
                folders.push(path);
            }
        }
        i += 1;
    }
    for folder in folders.iter().skip(1) {
        let parent = module_path(&src, &folder.join("mod.rs"));
        let siblings = children(folder);
        let mut graph = Graph::new();
        for (from, edge) in &all {
            let depth = parent.len();
            if from.len() <= depth || edge.to.len() <= depth || from[..depth] != parent[..] {
                continue;
            }
            if edge.to[..depth] != parent[..] {
                continue;
            }
            let (a, b) = (&from[depth], &edge.to[depth]);
            if a != b && siblings.contains(a) && siblings.contains(b) {
                graph
                    .entry(a.clone())
                    .or_default()
                    .entry(b.clone())
                    .or_insert(edge.file.clone());
            }
        }
        for component in cycles(&graph) {
            failures.push(format!(
                "in {}:\n{}",
                folder.display(),
                describe(&graph, &component)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "import cycles between sibling modules:\n{}",
        failures.join("\n\n")
    );
}

#[test]
fn no_module_uses_one_of_a_higher_layer() {
    let src = src_dir();
    let graph = top_level_graph(&src);
    let mut unplaced = Vec::new();
    let mut upward = Vec::new();
    for (from, targets) in &graph {
        let Some((from_layer, from_name)) = layer_of(from) else {
            unplaced.push(from.clone());
            continue;
        };
        for (to, file) in targets {
            if let Some((to_layer, to_name)) = layer_of(to) {
                if to_layer > from_layer {
                    upward.push(format!(
                        "  {from} ({from_name}) uses {to} ({to_name}) in {}",
                        file.display()
                    ));
                }
            }
        }
    }
    assert!(
        unplaced.is_empty(),
        "modules in no layer (add them to LAYERS in tests/api/layering.rs and the README): {unplaced:?}"
    );
    assert!(
        upward.is_empty(),
        "modules using a higher layer:\n{}",
        upward.join("\n")
    );
}

#[test]
fn the_store_names_no_domain() {
    let graph = top_level_graph(&src_dir());
    let store_uses: Vec<&String> = graph["store"].keys().collect();
    assert_eq!(
        store_uses,
        vec!["domain"],
        "store/ may use only domain types"
    );
}
