//! Structured logging set-up. Log lines carry ids and routes, never personal data.

use tracing_subscriber::EnvFilter;

/// Installs a subscriber writing to stderr: JSON lines when `VOXANNE_LOG_FORMAT=json`,
/// human-readable otherwise; level from `RUST_LOG` (default: ours at `info`, other crates'
/// at `warn`, so hnsw_rs or tantivy do not fill the log with their progress lines).
pub const DEFAULT_LOG_LEVELS: &str = "warn,voxanne=info";

pub fn init() {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_LOG_LEVELS));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let json = std::env::var("VOXANNE_LOG_FORMAT").is_ok_and(|v| v == "json");
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
