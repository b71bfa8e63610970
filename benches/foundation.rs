//! Costs every request pays before any clinic logic runs: verifying an access token,
//! authenticating an agent key against the store, an org-scoped read, and a durable write with
//! its audit entry. They bound how fast the voice agent's calls can be answered.

use std::hint::black_box;

use chrono::Utc;
use criterion::{criterion_group, criterion_main, Criterion};
use voxanne::audit::{self, AuditEvent, Outcome};
use voxanne::auth::tokens::TokenAuthority;
use voxanne::config::Settings;
use voxanne::domain::{OrgId, PhoneNumber, Role, UserId};
use voxanne::identity::SignupInput;
use voxanne::startup::Services;

/// JWT verification (HS256, issuer and expiry checks): paid by every staff request.
fn token_verify(c: &mut Criterion) {
    let tokens = TokenAuthority::new(&[7u8; 64], "voxanne", 60);
    let token = tokens
        .issue(UserId::new_random(), OrgId::new_random(), Role::Admin)
        .unwrap()
        .token;
    c.bench_function("token_verify", |b| {
        b.iter(|| tokens.verify(black_box(&token)).unwrap())
    });
}

/// Full credential checks through the store, as the HTTP extractors run them (agent key:
/// hash + index lookup + key record; token: JWT + user record), including the hop to a
/// blocking thread.
fn authenticate(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings::for_data_dir(dir.path());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let services = Services::open(&settings).unwrap();
    let (session, key) = rt.block_on(async {
        let input = SignupInput::parse(
            "Bench Clinic",
            "bench@clinic.example",
            "bench password 123",
            None,
            None,
        )
        .unwrap();
        let session = services.identity.signup(input).await.unwrap();
        let admin = services
            .identity
            .authenticate(&session.access_token)
            .await
            .unwrap();
        let key = services
            .identity
            .create_agent_key(admin, "bench")
            .await
            .unwrap();
        (session, key)
    });
    c.bench_function("authenticate_agent_key", |b| {
        b.iter(|| {
            rt.block_on(services.identity.authenticate(black_box(&key.secret)))
                .unwrap()
        })
    });
    c.bench_function("authenticate_access_token", |b| {
        b.iter(|| {
            rt.block_on(
                services
                    .identity
                    .authenticate(black_box(&session.access_token)),
            )
            .unwrap()
        })
    });
}

/// One durable write transaction appending an audit entry: the floor under every audited
/// change (fsync-bound).
fn audit_append_durable(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let store = voxanne::schema::open_store(dir.path()).unwrap();
    let org = OrgId::new_random();
    c.bench_function("audit_append_durable_commit", |b| {
        b.iter(|| {
            let w = store.begin_write().unwrap();
            audit::append(
                &mut w.org(org),
                AuditEvent::new("system", "bench", "target", Outcome::Success),
                Utc::now(),
            )
            .unwrap();
            w.commit().unwrap();
        })
    });
}

/// Normalising a caller's number to E.164 with validation: paid by every booking and by every
/// tool call that looks up the caller. Distinct numbers, as distinct callers bring.
fn phone_parse(c: &mut Criterion) {
    let numbers: Vec<String> = (0..1000)
        .map(|i| format!("+447400{:06}", (i * 7919) % 1_000_000))
        .collect();
    let mut i = 0;
    c.bench_function("phone_parse_e164_gb", |b| {
        b.iter(|| {
            i = (i + 1) % numbers.len();
            PhoneNumber::parse(black_box(&numbers[i]), "GB").unwrap()
        })
    });
    c.bench_function("phone_parse_national_gb", |b| {
        b.iter(|| PhoneNumber::parse(black_box("07911 123456"), "GB").unwrap())
    });
}

/// Reading a Vapi server message (a captured tool-calls payload) from the request body: every
/// tool call pays it before any clinic logic.
fn vapi_body_parse(c: &mut Criterion) {
    let body = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/vapi/tool-calls.captured.json"
    ))
    .unwrap();
    c.bench_function("vapi_body_parse_captured_tool_calls", |b| {
        b.iter(|| {
            voxanne::http::extract::parse_json::<serde_json::Value>(black_box(&body)).unwrap()
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50).measurement_time(std::time::Duration::from_secs(3));
    targets = token_verify, authenticate, audit_append_durable, phone_parse, vapi_body_parse
}
criterion_main!(benches);
