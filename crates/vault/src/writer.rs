//! The group-commit writer: one thread owns a write connection; jobs from any thread are run in batches inside a
//! single `BEGIN IMMEDIATE … COMMIT`, each job in its own savepoint (a failing job rolls back only itself), and
//! every job's result is delivered only after the batch's COMMIT has returned (synchronous=FULL: durable).
//!
//! A savepoint per job is not free: SQLite copies every page a job touches into the savepoint's journal
//! first, and the hot pages (the newest audit events and their indexes) are the same for every job. Jobs that
//! may safely run twice ([`Writer::submit_then_repeatable`], e.g. an audited redemption) therefore share one
//! savepoint per run of consecutive such jobs; if any of them fails, that savepoint is rolled back and each of
//! them is run again in its own savepoint, so a failing job still rolls back only itself.
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError};
use std::sync::Arc;
use std::thread;

use rusqlite::{Connection, Transaction};

use crate::anchor::BatchHook;
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

/// A queued job that may be run again after its changes were rolled back: it keeps the outcome of its
/// latest attempt, delivered once the batch's fate is known.
trait RepeatableJob: Send {
    /// Runs the job (again), replacing the outcome of any earlier attempt; `true` if it succeeded.
    fn attempt(&mut self, tx: &Transaction<'_>) -> bool;
    /// The delivery of the latest attempt's outcome.
    fn finish(self: Box<Self>) -> Finish;
    fn abort(self: Box<Self>, err: VaultError);
}

struct Repeatable<F, D, R, E> {
    job: F,
    done: D,
    outcome: Option<std::thread::Result<Result<R, E>>>,
}

impl<R, E, F, D> RepeatableJob for Repeatable<F, D, R, E>
where
    F: Fn(&Transaction<'_>) -> Result<R, E> + Send + 'static,
    D: FnOnce(Result<R, WriterError<E>>) + Send + 'static,
    R: Send + 'static,
    E: Send + 'static,
{
    fn attempt(&mut self, tx: &Transaction<'_>) -> bool {
        let outcome = catch_unwind(AssertUnwindSafe(|| (self.job)(tx)));
        let ok = matches!(outcome, Ok(Ok(_)));
        self.outcome = Some(outcome);
        ok
    }

    fn finish(self: Box<Self>) -> Finish {
        let Repeatable { done, outcome, .. } = *self;
        Box::new(move |commit: Result<(), VaultError>| {
            done(match outcome {
                Some(outcome) => deliver(outcome, commit),
                // Not attempted: the batch was abandoned before its turn.
                None => Err(WriterError::Storage(commit.err().unwrap_or_else(abandoned))),
            })
        })
    }

    fn abort(self: Box<Self>, err: VaultError) {
        (self.done)(Err(WriterError::Storage(err)));
    }
}

/// What a job's caller gets, from the job's outcome and the batch's commit.
fn deliver<R, E>(
    outcome: std::thread::Result<Result<R, E>>,
    commit: Result<(), VaultError>,
) -> Result<R, WriterError<E>> {
    match (outcome, commit) {
        (Err(_), _) => Err(WriterError::Panicked),
        (Ok(Err(e)), _) => Err(WriterError::Job(e)),
        (Ok(Ok(_)), Err(e)) => Err(WriterError::Storage(e)),
        (Ok(Ok(r)), Ok(())) => Ok(r),
    }
}

/// An entry of the writer's queue.
enum Queue {
    Once(Box<dyn Job>),
    Repeatable(Box<dyn RepeatableJob>),
}

impl Queue {
    fn abort(self, err: VaultError) {
        match self {
            Queue::Once(j) => j.abort(err),
            Queue::Repeatable(j) => j.abort(err),
        }
    }
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
        let finish: Finish = Box::new(move |commit: Result<(), VaultError>| done(deliver(outcome, commit)));
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
    tx: Option<SyncSender<Queue>>,
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
    /// Starts the writer thread on `store`; `hook` (the freshness anchor) runs around every batch.
    pub(crate) fn start(store: Store, hook: Option<BatchHook>) -> Result<Writer, VaultError> {
        let (tx, rx) = mpsc::sync_channel::<Queue>(QUEUE);
        let handle = thread::Builder::new()
            .name("locket-writer".into())
            .spawn(move || run(store, rx, hook))
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
        self.send(Queue::Once(Box::new(Queued { job, done })));
    }

    /// Like [`Writer::submit_then`], for a job that may be run more than once: after a rollback of its changes
    /// (when a job sharing its savepoint failed) it runs again. It must have no effect outside `tx`.
    pub fn submit_then_repeatable<R, E, F, D>(&self, job: F, done: D)
    where
        F: Fn(&Transaction<'_>) -> Result<R, E> + Send + 'static,
        D: FnOnce(Result<R, WriterError<E>>) + Send + 'static,
        R: Send + 'static,
        E: Send + 'static,
    {
        self.send(Queue::Repeatable(Box::new(Repeatable {
            job,
            done,
            outcome: None,
        })));
    }

    fn send(&self, boxed: Queue) {
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

    /// [`Writer::submit`] for a job that may run more than once (see [`Writer::submit_then_repeatable`]).
    pub fn submit_repeatable<R, E, F>(&self, job: F) -> Result<R, WriterError<E>>
    where
        F: Fn(&Transaction<'_>) -> Result<R, E> + Send + 'static,
        R: Send + 'static,
        E: Send + 'static,
    {
        let (tx, rx) = mpsc::sync_channel(1);
        self.submit_then_repeatable(job, move |r| {
            let _ = tx.send(r);
        });
        rx.recv().unwrap_or(Err(WriterError::Closed))
    }
}

fn run(mut store: Store, rx: Receiver<Queue>, mut hook: Option<BatchHook>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(j) => batch.push(j),
                Err(TryRecvError::Empty) | Err(TryRecvError::Disconnected) => break,
            }
        }
        run_batch(store.conn_mut(), batch, hook.as_mut());
    }
    if let Some(h) = hook.as_mut() {
        h.close();
    }
}

/// Runs one batch. With a hook (the freshness anchor), the hook runs after the jobs inside the transaction and
/// again after COMMIT, before any job's caller hears of the batch (see `crate::anchor`).
fn run_batch(conn: &mut Connection, batch: Vec<Queue>, mut hook: Option<&mut BatchHook>) {
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
    let mut group: Vec<Box<dyn RepeatableJob>> = Vec::new();
    let mut failed = None;
    for item in batch {
        if failed.is_some() {
            // The batch is being abandoned: nothing more runs.
            match item {
                Queue::Once(j) => j.abort(abandoned()),
                Queue::Repeatable(j) => finishers.push(j.finish()),
            }
            continue;
        }
        match item {
            Queue::Repeatable(j) => group.push(j),
            Queue::Once(job) => {
                if let Err(e) = run_group(&tx, std::mem::take(&mut group), &mut finishers) {
                    failed = Some(e);
                    job.abort(abandoned());
                    continue;
                }
                if let Err(e) = Savepoint::Job.begin(&tx) {
                    job.abort(VaultError::from(e));
                    continue;
                }
                let (ok, finish) = job.run(&tx);
                finishers.push(finish);
                if let Err(e) = Savepoint::Job.end(&tx, ok) {
                    failed = Some(e);
                }
            }
        }
    }
    if failed.is_none() {
        if let Err(e) = run_group(&tx, group, &mut finishers) {
            failed = Some(e);
        }
    } else {
        finishers.extend(group.into_iter().map(|j| j.finish()));
    }
    let mut pending = None;
    if failed.is_none() {
        if let Some(h) = hook.as_deref_mut() {
            match h.before_commit(&tx) {
                Ok(p) => pending = p,
                Err(e) => failed = Some(e),
            }
        }
    }
    if let Some(e) = failed {
        // The savepoint machinery (or the anchor's bookkeeping) failed: abandon the whole batch rather than
        // commit something partial.
        let err = VaultError::from(e);
        let _ = tx.rollback();
        for f in finishers {
            f(Err(clone_err(&err)));
        }
        return;
    }
    let commit = tx.commit().map_err(VaultError::from);
    if let (Ok(()), Some(h), Some(p)) = (&commit, hook, pending) {
        h.after_commit(p);
    }
    for f in finishers {
        f(match &commit {
            Ok(()) => Ok(()),
            Err(e) => Err(clone_err(e)),
        });
    }
}

/// Runs consecutive repeatable jobs under one savepoint; if any fails, rolls them all back and runs each again
/// in its own savepoint. Their finishers are pushed in order. An error means the savepoint machinery failed
/// (the caller abandons the batch); the group's finishers are pushed all the same.
fn run_group(
    tx: &Transaction<'_>,
    mut group: Vec<Box<dyn RepeatableJob>>,
    finishers: &mut Vec<Finish>,
) -> rusqlite::Result<()> {
    let result = run_group_jobs(tx, &mut group);
    finishers.extend(group.into_iter().map(|j| j.finish()));
    result
}

fn run_group_jobs(tx: &Transaction<'_>, group: &mut [Box<dyn RepeatableJob>]) -> rusqlite::Result<()> {
    match group {
        [] => return Ok(()),
        [_] => {}
        _ => {
            Savepoint::Jobs.begin(tx)?;
            let all_ok = group.iter_mut().all(|j| j.attempt(tx));
            Savepoint::Jobs.end(tx, all_ok)?;
            if all_ok {
                return Ok(());
            }
        }
    }
    for job in group.iter_mut() {
        Savepoint::Job.begin(tx)?;
        let ok = job.attempt(tx);
        Savepoint::Job.end(tx, ok)?;
    }
    Ok(())
}

/// The savepoints of a batch: one per job, or one shared by a run of repeatable jobs.
#[derive(Clone, Copy)]
enum Savepoint {
    Job,
    Jobs,
}

impl Savepoint {
    fn begin(self, tx: &Transaction<'_>) -> rusqlite::Result<()> {
        exec_cached(
            tx,
            match self {
                Savepoint::Job => "SAVEPOINT job",
                Savepoint::Jobs => "SAVEPOINT jobs",
            },
        )
    }

    /// Releases the savepoint, keeping its changes if `keep`, else rolling them back first.
    fn end(self, tx: &Transaction<'_>, keep: bool) -> rusqlite::Result<()> {
        let (rollback, release) = match self {
            Savepoint::Job => ("ROLLBACK TO job", "RELEASE job"),
            Savepoint::Jobs => ("ROLLBACK TO jobs", "RELEASE jobs"),
        };
        if !keep {
            exec_cached(tx, rollback)?;
        }
        exec_cached(tx, release)
    }
}

/// What a job gets that never ran because its batch was abandoned.
fn abandoned() -> VaultError {
    VaultError::Storage("the batch was abandoned".into())
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
