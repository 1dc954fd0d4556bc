//! The group-commit writer: one thread owns a write connection; jobs from any thread are run in batches inside a
//! single `BEGIN IMMEDIATE … COMMIT`, each job in its own savepoint (a failing job rolls back only itself), and
//! every job's result is delivered only after the batch's COMMIT has returned (synchronous=FULL: durable).
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError};
use std::sync::Arc;
use std::thread;

use rusqlite::{Connection, Transaction};

use crate::{Store, VaultError};

/// Most jobs sharing one commit.
const MAX_BATCH: usize = 512;
/// Queue length before `submit` blocks (back-pressure).
const QUEUE: usize = 4096;

/// Why a submitted job did not produce its result.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriterError<E> {
    /// The job itself returned an error; its changes were rolled back, the rest of the batch was not affected.
    #[error(transparent)]
    Job(E),
    /// The batch could not be committed (e.g. disk full); nothing of this job was stored.
    #[error(transparent)]
    Storage(VaultError),
    /// The writer has stopped (the vault was locked or the thread died).
    #[error("the vault is locked")]
    Closed,
    /// The job panicked; its changes were rolled back.
    #[error("internal error while writing to the vault")]
    Panicked,
}

type Finish = Box<dyn FnOnce(Result<(), VaultError>) + Send>;

/// A queued job: either run inside the batch's transaction, or aborted with the storage error that stopped the
/// batch from starting.
trait Job: Send {
    fn run(self: Box<Self>, tx: &Transaction<'_>) -> (bool, Finish);
    fn abort(self: Box<Self>, err: VaultError);
}

struct Queued<F, D> {
    job: F,
    done: D,
}

impl<R, E, F, D> Job for Queued<F, D>
where
    F: FnOnce(&Transaction<'_>) -> Result<R, E> + Send + 'static,
    D: FnOnce(Result<R, WriterError<E>>) + Send + 'static,
    R: Send + 'static,
    E: Send + 'static,
{
    fn run(self: Box<Self>, tx: &Transaction<'_>) -> (bool, Finish) {
        let Queued { job, done } = *self;
        let outcome = catch_unwind(AssertUnwindSafe(|| job(tx)));
        let ok = matches!(outcome, Ok(Ok(_)));
        let finish: Finish = Box::new(move |commit: Result<(), VaultError>| {
            let result = match (outcome, commit) {
                (Err(_), _) => Err(WriterError::Panicked),
                (Ok(Err(e)), _) => Err(WriterError::Job(e)),
                (Ok(Ok(_)), Err(e)) => Err(WriterError::Storage(e)),
                (Ok(Ok(r)), Ok(())) => Ok(r),
            };
            done(result);
        });
        (ok, finish)
    }

    fn abort(self: Box<Self>, err: VaultError) {
        (self.done)(Err(WriterError::Storage(err)));
    }
}

/// A handle to the writer thread; cloneable. The thread stops when the last handle is dropped.
#[derive(Clone)]
pub struct Writer {
    /// `None` only while the last handle is being dropped.
    tx: Option<SyncSender<Box<dyn Job>>>,
    thread: Arc<std::sync::Mutex<Option<thread::JoinHandle<()>>>>,
}

impl Drop for Writer {
    /// The last handle closes the queue and waits for the thread to finish its batch and close its connection,
    /// so no database work outlives the vault handle (and none can race with the process exiting).
    fn drop(&mut self) {
        if Arc::strong_count(&self.thread) != 1 {
            return;
        }
        self.tx.take();
        let handle = self.thread.lock().ok().and_then(|mut h| h.take());
        if let Some(h) = handle {
            // Dropped from a job's callback on the writer thread itself: it ends once this batch is done.
            if h.thread().id() != thread::current().id() {
                let _ = h.join();
            }
        }
    }
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Writer")
    }
}

impl Writer {
    pub(crate) fn start(store: Store) -> Result<Writer, VaultError> {
        let (tx, rx) = mpsc::sync_channel::<Box<dyn Job>>(QUEUE);
        let handle = thread::Builder::new()
            .name("locket-writer".into())
            .spawn(move || run(store, rx))
            .map_err(|e| VaultError::Storage(format!("cannot start the writer thread: {e}")))?;
        Ok(Writer {
            tx: Some(tx),
            thread: Arc::new(std::sync::Mutex::new(Some(handle))),
        })
    }

    /// Stops the writer thread and waits until it has closed its connection. Fails if other handles exist.
    pub(crate) fn shutdown(self) -> Result<(), VaultError> {
        if Arc::strong_count(&self.thread) != 1 {
            return Err(VaultError::Storage(
                "the vault is in use elsewhere in this app; close it there first".into(),
            ));
        }
        // The last handle: dropping it closes the queue and joins the thread.
        drop(self);
        Ok(())
    }

    /// Runs `job` in the next batch and calls `done` with its result after the batch committed (or failed).
    /// `done` runs on the writer thread: keep it short (e.g. send on a channel).
    pub fn submit_then<R, E, F, D>(&self, job: F, done: D)
    where
        F: FnOnce(&Transaction<'_>) -> Result<R, E> + Send + 'static,
        D: FnOnce(Result<R, WriterError<E>>) + Send + 'static,
        R: Send + 'static,
        E: Send + 'static,
    {
        let boxed: Box<dyn Job> = Box::new(Queued { job, done });
        let sent = match &self.tx {
            Some(tx) => tx.send(boxed).map_err(|mpsc::SendError(job)| job),
            None => Err(boxed),
        };
        if let Err(job) = sent {
            // The writer thread is gone (vault locked): nothing was run.
            job.abort(VaultError::Storage("the vault is locked".into()));
        }
    }

    /// Runs `job` in the next batch and blocks until the batch has committed durably.
    pub fn submit<R, E, F>(&self, job: F) -> Result<R, WriterError<E>>
    where
        F: FnOnce(&Transaction<'_>) -> Result<R, E> + Send + 'static,
        R: Send + 'static,
        E: Send + 'static,
    {
        let (tx, rx) = mpsc::sync_channel(1);
        self.submit_then(job, move |r| {
            let _ = tx.send(r);
        });
        rx.recv().unwrap_or(Err(WriterError::Closed))
    }
}

fn run(mut store: Store, rx: Receiver<Box<dyn Job>>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(j) => batch.push(j),
                Err(TryRecvError::Empty) | Err(TryRecvError::Disconnected) => break,
            }
        }
        run_batch(store.conn_mut(), batch);
    }
}

fn run_batch(conn: &mut Connection, batch: Vec<Box<dyn Job>>) {
    let tx = match conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => {
            let err = VaultError::from(e);
            for job in batch {
                job.abort(clone_err(&err));
            }
            return;
        }
    };
    let mut finishers = Vec::with_capacity(batch.len());
    for job in batch {
        if let Err(e) = exec_cached(&tx, "SAVEPOINT job") {
            job.abort(VaultError::from(e));
            continue;
        }
        let (ok, finish) = job.run(&tx);
        let end = if ok {
            exec_cached(&tx, "RELEASE job")
        } else {
            exec_cached(&tx, "ROLLBACK TO job").and_then(|()| exec_cached(&tx, "RELEASE job"))
        };
        if let Err(e) = end {
            // The savepoint machinery failed: abandon the whole batch rather than commit something partial.
            let err = VaultError::from(e);
            finishers.push(finish);
            let _ = tx.rollback();
            for f in finishers {
                f(Err(clone_err(&err)));
            }
            return;
        }
        finishers.push(finish);
    }
    let commit = tx.commit().map_err(VaultError::from);
    for f in finishers {
        f(match &commit {
            Ok(()) => Ok(()),
            Err(e) => Err(clone_err(e)),
        });
    }
}

/// Runs a statement without results through the statement cache (these run twice per job: parsing them each
/// time was a measurable share of the writer's time).
fn exec_cached(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

fn clone_err(e: &VaultError) -> VaultError {
    match e {
        VaultError::DiskFull(s) => VaultError::DiskFull(s.clone()),
        VaultError::ReadOnly(s) => VaultError::ReadOnly(s.clone()),
        other => VaultError::Storage(other.to_string()),
    }
}
