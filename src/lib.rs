//! Voxanne: the appliance behind a clinic's AI phone receptionist (library crate; the
//! `voxanne` binary is a thin wrapper over `cli::run`).
#![forbid(unsafe_code)]

/// mimalloc instead of the system allocator, for the binary and everything linking the
/// library (tests and benches measure what ships): under booking load glibc's malloc/free
/// (with `malloc_consolidate`) were about a fifth of the request threads' CPU.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod admin;
pub mod audit;
pub mod auth;
pub mod backup;
pub mod booking;
pub mod calendar;
pub mod calls;
pub mod check;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod delivery;
pub mod demo;
pub mod domain;
pub mod followup;
pub mod health;
pub mod http;
pub mod identity;
pub mod integrations;
pub mod metrics;
pub mod outbox;
pub mod pii;
pub mod schema;
pub mod search;
pub mod services;
pub mod speech;
pub mod startup;
pub mod store;
pub mod systemd;
pub mod telemetry;
pub mod vapi;
pub mod waitlist;
