//! The claim writer: one thread that owns every booking-changing write. Requests queue on a
//! channel; the writer takes what is waiting (bounded batch), applies each in order inside one
//! write transaction (each sees the ones before it), commits once durably, and only then
//! answers each waiter. A refused request writes nothing.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot};

use super::ledger::{self, Change, Effect};
use super::BookingError;
use crate::store::Store;

/// Most requests in one transaction: bounds the latency a batch adds.
pub const MAX_BATCH: usize = 64;

struct Job {
    change: Change,
    reply: oneshot::Sender<Result<Effect, BookingError>>,
}

/// The handle requests are sent through. Cloning is cheap.
#[derive(Clone)]
pub struct ClaimWriter {
    tx: mpsc::Sender<Job>,
}

type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

impl ClaimWriter {
    /// Starts the writer thread. It stops when every handle is dropped.
    pub fn start(store: Store, clock: Clock) -> ClaimWriter {
        let (tx, mut rx) = mpsc::channel::<Job>(4096);
        std::thread::Builder::new()
            .name("claim-writer".into())
            .spawn(move || {
                let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
                while let Some(first) = rx.blocking_recv() {
                    batch.push(first);
                    while batch.len() < MAX_BATCH {
                        match rx.try_recv() {
                            Ok(job) => batch.push(job),
                            Err(_) => break,
                        }
                    }
                    run_batch(&store, &clock, &mut batch);
                }
            })
            .expect("the claim writer thread starts");
        ClaimWriter { tx }
    }

    /// Queues a change and waits until it is durably committed (or refused).
    pub async fn submit(&self, change: Change) -> Result<Effect, BookingError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Job { change, reply })
            .await
            .map_err(|_| BookingError::Unavailable)?;
        answer.await.map_err(|_| BookingError::Unavailable)?
    }
}

fn run_batch(store: &Store, clock: &Clock, batch: &mut Vec<Job>) {
    let now = clock();
    let mut w = match store.begin_write() {
        Ok(w) => w,
        Err(e) => {
            tracing::error!(error = %e, "claim writer could not open a transaction");
            for job in batch.drain(..) {
                let _ = job.reply.send(Err(BookingError::Unavailable));
            }
            return;
        }
    };
    let mut results = Vec::with_capacity(batch.len());
    let mut failed = false;
    for job in batch.iter() {
        let r = ledger::apply(&mut w, &job.change, now);
        if matches!(r, Err(BookingError::Store(_))) {
            // A storage failure can leave a half-applied change: the whole batch is abandoned.
            failed = true;
            break;
        }
        results.push(r);
    }
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
        return;
    }
    for (job, result) in batch.drain(..).zip(results) {
        let _ = job.reply.send(result);
    }
}
