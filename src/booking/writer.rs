//! The claim writer: one thread that owns every booking-changing write. Requests queue on a
//! channel; the writer takes what is waiting (bounded batch), applies each in order inside one
//! write transaction (each sees the ones before it), commits once durably, and only then
//! answers each waiter. A refused request writes nothing. A change that panics is answered
//! with an internal error and the rest of its batch is applied again without it; a panic
//! anywhere else in the loop costs that batch only, is counted, and the loop goes on.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot};

use super::claims::DecodedSetup;
use super::followers::BookingFollowers;
use super::ledger::{self, Change, Effect};
use super::BookingError;
use super::MemoryIndexes;
use crate::store::Store;

/// Most requests in one transaction: bounds the latency a batch adds.
pub const MAX_BATCH: usize = 64;

/// After a batch of at most this many changes (as when one caller books at a time) the writer keeps
/// looking for the next request for up to `LINGER` before it sleeps. Waking a sleeping thread
/// costs the sender a system call and, on a virtual machine, the request tens of microseconds,
/// and a lone caller's next change often comes sooner than that. After bigger batches the
/// writer sleeps as soon as the queue is empty, so that busy hours still gather requests into
/// batches (a writer that takes each request the moment it comes makes smaller batches, and
/// every booking then pays more of a commit's fixed cost).
const LINGER_AFTER_BATCH_OF: usize = 1;
const LINGER: std::time::Duration = std::time::Duration::from_micros(300);

struct Job {
    change: Change,
    reply: oneshot::Sender<Result<Effect, BookingError>>,
}

enum Message {
    Apply(Job),
    /// Finish what is queued before it, then stop and close the database handle.
    Stop,
}

/// What the writer has done since it started: how many transactions, how many changes in
/// them, and the time spent applying changes and committing (for the load generator and
/// BENCHMARKS.md: batch size and where a batch's time goes).
#[derive(Default)]
struct Counters {
    batches: AtomicU64,
    changes: AtomicU64,
    apply_micros: AtomicU64,
    commit_micros: AtomicU64,
    panics: AtomicU64,
}

/// A test's way to make chosen changes fail inside the writer (see `ClaimWriter::inject_fault`).
pub type FaultHook = Box<dyn Fn(&Change) + Send + Sync>;

/// A reading of the writer's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriterStats {
    pub batches: u64,
    pub changes: u64,
    pub apply_micros: u64,
    pub commit_micros: u64,
    /// Panics caught in the writer (each cost one change, or one batch).
    pub panics: u64,
}

/// The handle requests are sent through. Cloning is cheap.
#[derive(Clone)]
pub struct ClaimWriter {
    tx: mpsc::Sender<Message>,
    thread: Arc<std::sync::Mutex<Option<std::thread::JoinHandle<()>>>>,
    counters: Arc<Counters>,
    fault: Arc<OnceLock<FaultHook>>,
}

type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

impl ClaimWriter {
    /// Starts the writer thread. It stops when every handle is dropped.
    /// `committed` is woken after every commit (the outbox worker waits on it); `indexes`
    /// learn each transaction's bookings (numbers, and slots taken and released) after its
    /// commit, before its callers are answered.
    pub fn start(
        store: Store,
        clock: Clock,
        committed: Arc<tokio::sync::Notify>,
        indexes: MemoryIndexes,
        followers: Arc<dyn BookingFollowers>,
    ) -> ClaimWriter {
        let (tx, mut rx) = mpsc::channel::<Message>(4096);
        let counters = Arc::new(Counters::default());
        let fault: Arc<OnceLock<FaultHook>> = Arc::default();
        let parts = WriterParts {
            store,
            clock,
            counters: counters.clone(),
            indexes,
            followers,
            fault: fault.clone(),
            decoded: Mutex::new(DecodedSetup::default()),
        };
        let thread = std::thread::Builder::new()
            .name("claim-writer".into())
            .spawn(move || {
                let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
                let mut stopping = false;
                let mut linger = false;
                while !stopping {
                    match next_message(&mut rx, linger) {
                        Some(Message::Apply(job)) => batch.push(job),
                        Some(Message::Stop) | None => break,
                    }
                    while batch.len() < MAX_BATCH {
                        match rx.try_recv() {
                            Ok(Message::Apply(job)) => batch.push(job),
                            Ok(Message::Stop) => {
                                stopping = true;
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                    linger = batch.len() <= LINGER_AFTER_BATCH_OF;
                    let ran = catch_unwind(AssertUnwindSafe(|| run_batch(&parts, &mut batch)));
                    match ran {
                        Ok(true) => committed.notify_one(),
                        Ok(false) => {}
                        Err(_) => {
                            // Outside any one change (commit, index update): the batch's
                            // waiters are answered "unavailable" as their replies drop.
                            parts.counters.panics.fetch_add(1, Ordering::Relaxed);
                            tracing::error!("claim writer recovered from a panic; batch abandoned");
                            batch.clear();
                            committed.notify_one();
                        }
                    }
                }
                // Anything sent after the stop is refused rather than left waiting.
                rx.close();
                while let Ok(Message::Apply(job)) = rx.try_recv() {
                    let _ = job.reply.send(Err(BookingError::Unavailable));
                }
            })
            .expect("the claim writer thread starts");
        ClaimWriter {
            tx,
            thread: Arc::new(std::sync::Mutex::new(Some(thread))),
            counters,
            fault,
        }
    }

    /// Runs `hook` on the writer thread before each change is applied; a panic in it is a
    /// panic inside that change. For tests of the writer's fault isolation: set once.
    #[doc(hidden)]
    pub fn inject_fault(&self, hook: FaultHook) -> bool {
        self.fault.set(hook).is_ok()
    }

    /// Whether the writer thread is still taking changes (it stops only when told to).
    pub fn is_running(&self) -> bool {
        self.thread
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .is_some_and(|h| !h.is_finished())
    }

    /// Changes waiting for the writer.
    pub fn queued(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
    }

    pub fn stats(&self) -> WriterStats {
        let c = &self.counters;
        WriterStats {
            batches: c.batches.load(Ordering::Relaxed),
            changes: c.changes.load(Ordering::Relaxed),
            apply_micros: c.apply_micros.load(Ordering::Relaxed),
            commit_micros: c.commit_micros.load(Ordering::Relaxed),
            panics: c.panics.load(Ordering::Relaxed),
        }
    }

    /// Stops the writer after the changes already queued, and waits until it has closed its
    /// handle on the database.
    pub async fn stop(&self) {
        let _ = self.tx.send(Message::Stop).await;
        let handle = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(h) = handle {
            let _ = tokio::task::spawn_blocking(move || h.join()).await;
        }
    }

    /// Queues a change and waits until it is durably committed (or refused).
    pub async fn submit(&self, change: Change) -> Result<Effect, BookingError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Message::Apply(Job { change, reply }))
            .await
            .map_err(|_| BookingError::Unavailable)?;
        answer.await.map_err(|_| BookingError::Unavailable)?
    }
}

/// The outbox worker records its outcomes through the writer, so appointment records have one
/// writer.
impl crate::outbox::DeliveryLedger for ClaimWriter {
    fn record(
        &self,
        d: crate::outbox::DeliveryRecord,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send + '_>> {
        Box::pin(async move {
            self.submit(ledger::Change::Delivery(Box::new(d)))
                .await
                .is_ok()
        })
    }
}

/// The writer's next message: looked for without sleeping for up to `LINGER` when `linger`
/// (with `yield_now` between looks, which lets a thread waiting for the same CPU run; on an
/// otherwise idle machine it is a busy wait of at most `LINGER`), then waited for asleep.
fn next_message(rx: &mut mpsc::Receiver<Message>, linger: bool) -> Option<Message> {
    if linger {
        let until = Instant::now() + LINGER;
        loop {
            match rx.try_recv() {
                Ok(message) => return Some(message),
                Err(mpsc::error::TryRecvError::Disconnected) => return None,
                Err(mpsc::error::TryRecvError::Empty) if Instant::now() >= until => break,
                Err(mpsc::error::TryRecvError::Empty) => std::thread::yield_now(),
            }
        }
    }
    rx.blocking_recv()
}

/// Applies and commits one batch; tells whether anything was committed. A change that panics
/// is answered alone and the transaction is begun again without it.
fn run_batch(parts: &WriterParts, batch: &mut Vec<Job>) -> bool {
    loop {
        match try_batch(parts, batch) {
            Attempt::Done(committed) => return committed,
            Attempt::Panicked(at) => {
                parts.counters.panics.fetch_add(1, Ordering::Relaxed);
                tracing::error!("a claim panicked in the writer; it alone is refused");
                let job = batch.remove(at);
                let _ = job.reply.send(Err(BookingError::Internal));
                if batch.is_empty() {
                    return false;
                }
            }
        }
    }
}

enum Attempt {
    /// The batch was answered; whether anything was committed.
    Done(bool),
    /// The change at this position panicked; nothing was committed or answered.
    Panicked(usize),
}

/// What the writer thread works with.
struct WriterParts {
    store: Store,
    clock: Clock,
    counters: Arc<Counters>,
    indexes: MemoryIndexes,
    followers: Arc<dyn BookingFollowers>,
    fault: Arc<OnceLock<FaultHook>>,
    /// Set-up records decoded by earlier batches (only this thread takes it).
    decoded: Mutex<DecodedSetup>,
}

fn try_batch(parts: &WriterParts, batch: &mut Vec<Job>) -> Attempt {
    let WriterParts {
        store,
        clock,
        counters,
        indexes,
        followers,
        fault,
        decoded,
    } = parts;
    let started = Instant::now();
    let now = clock();
    let mut w = match store.begin_write() {
        Ok(w) => w,
        Err(e) => {
            tracing::error!(error = %e, "claim writer could not open a transaction");
            for job in batch.drain(..) {
                let _ = job.reply.send(Err(BookingError::Unavailable));
            }
            return Attempt::Done(false);
        }
    };
    let mut results = Vec::with_capacity(batch.len());
    let mut failed = false;
    let mut decoded = decoded.lock().unwrap_or_else(|p| p.into_inner());
    let mut scope = ledger::TransactionScope::new(&indexes.slots, followers.as_ref(), &mut decoded);
    for (at, job) in batch.iter().enumerate() {
        // The transaction and scope are dropped (aborted) when a change panics, so nothing
        // it half-wrote is kept.
        let applied = catch_unwind(AssertUnwindSafe(|| {
            if let Some(hook) = fault.get() {
                hook(&job.change);
            }
            ledger::apply_in(&mut w, &mut scope, &job.change, now)
        }));
        let r = match applied {
            Ok(r) => r,
            Err(_) => return Attempt::Panicked(at),
        };
        if matches!(r, Err(BookingError::Store(_))) {
            // A storage failure can leave a half-applied change: the whole batch is abandoned.
            failed = true;
            break;
        }
        results.push(r);
    }
    let applied = Instant::now();
    if !failed {
        if let Err(e) = w.commit() {
            tracing::error!(error = %e, "claim batch commit failed");
            failed = true;
        }
    }
    if failed {
        for job in batch.drain(..) {
            let _ = job.reply.send(Err(BookingError::Unavailable));
        }
        return Attempt::Done(false);
    }
    counters.batches.fetch_add(1, Ordering::Relaxed);
    counters
        .changes
        .fetch_add(batch.len() as u64, Ordering::Relaxed);
    counters
        .apply_micros
        .fetch_add((applied - started).as_micros() as u64, Ordering::Relaxed);
    let commit = applied.elapsed();
    counters
        .commit_micros
        .fetch_add(commit.as_micros() as u64, Ordering::Relaxed);
    metrics::histogram!(crate::metrics::CLAIM_BATCH).record(batch.len() as f64);
    metrics::histogram!(crate::metrics::CLAIM_COMMIT).record(commit.as_secs_f64());
    scope.committed();
    for result in &results {
        match result {
            Ok(Effect::Booked {
                appointment,
                replayed: false,
            }) => indexes.phones.add(
                appointment.org_id,
                appointment.patient.phone.as_str(),
                appointment.id,
            ),
            Ok(Effect::OrgDeleted { org, .. }) => {
                indexes.phones.forget_org(*org);
                indexes.slots.forget_org(*org);
            }
            _ => {}
        }
    }
    for (job, result) in batch.drain(..).zip(results) {
        let _ = job.reply.send(result);
    }
    Attempt::Done(true)
}
