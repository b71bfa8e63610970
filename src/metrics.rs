//! What the appliance counts and times, for `GET /metrics` (Prometheus text format): the
//! recorder, the metric names, and the state read at scrape time (writer, outbox, parts,
//! backups). Labels carry route templates, tool names, outcomes and services only — never a
//! number, a name or an id.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub const HTTP_REQUEST: &str = "voxanne_http_request_duration_seconds";
pub const TOOL_CALL: &str = "voxanne_tool_call_duration_seconds";
pub const BOOKINGS: &str = "voxanne_bookings_total";
pub const CLAIM_BATCH: &str = "voxanne_claim_batch_size";
pub const CLAIM_COMMIT: &str = "voxanne_claim_commit_seconds";
pub const OUTBOX_DELIVERIES: &str = "voxanne_outbox_deliveries_total";
pub const SEARCH: &str = "voxanne_search_duration_seconds";
pub const PII_SCAN: &str = "voxanne_pii_scan_duration_seconds";

/// The tools the voice agent knows; any other name is counted as `other`.
pub const TOOLS: &[&str] = &[
    "check_availability",
    "book_appointment",
    "find_appointment",
    "reschedule_appointment",
    "cancel_appointment",
    "verify_caller",
    "hold_slot",
    "release_hold",
    "join_waitlist",
    "search_knowledge_base",
];

/// A tool name fit for a label.
pub fn tool_label(name: &str) -> &'static str {
    TOOLS
        .iter()
        .find(|t| **t == name)
        .copied()
        .unwrap_or("other")
}

/// The process's recorder, installed once (every server in a process shares it).
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let seconds = [
            0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
        ];
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &seconds)
            .and_then(|b| {
                b.set_buckets_for_metric(
                    Matcher::Full(CLAIM_BATCH.into()),
                    &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0],
                )
            })
            .map(|b| b.build_recorder())
            .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
        let handle = recorder.handle();
        // Another recorder already installed (a test harness): ours still renders, empty.
        let _ = ::metrics::set_global_recorder(recorder);
        handle
    })
}

/// How often a running server folds recorded histogram samples into their buckets.
pub const UPKEEP_EVERY: Duration = Duration::from_secs(2);

static UPKEEPS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Folds every histogram's recorded samples into its buckets (the recorder otherwise keeps
/// each sample until `/metrics` is next rendered).
pub fn upkeep() {
    handle().run_upkeep();
    UPKEEPS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

/// How many upkeeps this process has run.
pub fn upkeeps() -> u64 {
    UPKEEPS.load(std::sync::atomic::Ordering::Relaxed)
}

/// Times `elapsed` into histogram `name` with `labels`.
pub fn time(name: &'static str, labels: &[(&'static str, String)], elapsed: Duration) {
    let labels: Vec<::metrics::Label> = labels
        .iter()
        .map(|(k, v)| ::metrics::Label::new(*k, v.clone()))
        .collect();
    ::metrics::histogram!(name, labels).record(elapsed.as_secs_f64());
}
