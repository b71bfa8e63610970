//! The appliance's acceptance tests: the real server on 127.0.0.1:0 over a real redb file in a
//! temp dir, driven by a real HTTP client. One binary, a module per feature.

mod fakes;
mod fhir;
mod followups;
mod helpers;

mod audit_chain;
mod bad_input;
mod booking_chain;
mod caller_verification;
mod config_cli;
mod console;
mod console_browser;
mod crash;
mod cross_org;
mod docs;
mod hardening;
mod identity_handshake;
mod kb_quality;
mod knowledge_base;
mod layering;
mod one_write_path;
mod openapi;
mod operations;
mod outbox;
mod personal_data;
mod pii_quality;
mod power_cut;
mod readers;
mod restart;
mod roles;
mod slot_holds;
mod store_isolation;
mod tokens;
mod vapi_tools;
mod waitlist;
