//! Group commit: writes that arrive while earlier ones are in flight are written together, in one
//! statement and one commit.
//!
//! On durable storage a small write is bound by PostgreSQL's work per statement and per commit
//! (executor start-up, triggers, the WAL flush), not by its rows: one statement inserting ten tasks
//! with their tags and outbox rows measured about four times the rows per second of ten statements
//! (docs/benchmarks.md). So concurrent writes queue here, and at most a set number of background tasks
//! (flushers) write what has queued, up to [`MAX_BATCH`] at a time. A write that finds a flusher free
//! starts one, which first yields once, so that the requests already running on the runtime queue
//! their writes beside it (on a tokio worker a freshly spawned task otherwise runs next, and would
//! take the first write alone: 14-15 % of creates were written alone under load, 5 % with the yield).
//! A write that is still alone then is written with the one-item statement: batching adds no timed
//! wait when there is no queue, and batches grow with the load.
//!
//! A batch statement is atomic. If it fails (a duplicate id, say), nothing of it was written and each
//! item of the batch is written again on its own, so each caller gets the result its own statement
//! would have had. Flushers are spawned tasks: a caller that goes away (a closed HTTP connection) does
//! not cancel a write that other callers wait for.
//!
//! Used for task creates ([`crate::insert_batch`]) and audit appends ([`crate::audit`]).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use tokio::sync::{oneshot, Semaphore};

use todo_core::error::PortError;
use todo_core::ports::PortResult;

/// Items in one statement at most.
pub(crate) const MAX_BATCH: usize = 64;

/// How a kind of write is done in batches and alone.
#[async_trait]
pub(crate) trait BatchWrite: Send + Sync + 'static {
    /// One write.
    type Item: Send + Sync + 'static;
    /// What its caller learns.
    type Output: Send + 'static;

    /// Writes every item in one atomic statement: all or nothing. Returns one output per item, in order.
    async fn write_all(&self, items: &[Self::Item]) -> PortResult<Vec<Self::Output>>;

    /// Writes one item on its own.
    async fn write_one(&self, item: &Self::Item) -> PortResult<Self::Output>;
}

/// A write waiting, and where its result goes.
type Pending<W> = (
    <W as BatchWrite>::Item,
    oneshot::Sender<PortResult<<W as BatchWrite>::Output>>,
);

/// The queue of one kind of write and its flushers' permits; shared by the clones of a repository.
pub(crate) struct GroupCommit<W: BatchWrite> {
    writer: W,
    pending: Mutex<VecDeque<Pending<W>>>,
    flushers: Arc<Semaphore>,
}

impl<W: BatchWrite> std::fmt::Debug for GroupCommit<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit")
            .field("queued", &self.queue().len())
            .field("flushers_free", &self.flushers.available_permits())
            .finish_non_exhaustive()
    }
}

impl<W: BatchWrite> GroupCommit<W> {
    /// A queue whose writes `writer` does, with at most `flushers` statements in flight.
    pub(crate) fn new(writer: W, flushers: usize) -> Arc<Self> {
        Arc::new(Self {
            writer,
            pending: Mutex::new(VecDeque::new()),
            flushers: Arc::new(Semaphore::new(flushers.max(1))),
        })
    }

    /// Writes `item`, alone or with the writes queued beside it.
    pub(crate) async fn write(self: &Arc<Self>, item: W::Item) -> PortResult<W::Output> {
        let (done, result) = oneshot::channel();
        self.queue().push_back((item, done));
        self.start_flusher();
        result.await.unwrap_or_else(|_| {
            Err(PortError::unavailable(
                "the write was abandoned (the runtime is shutting down)",
            ))
        })
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, VecDeque<Pending<W>>> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Spawns a flusher if one is free; otherwise a running flusher takes the queue after its batch.
    fn start_flusher(self: &Arc<Self>) {
        let Ok(permit) = Arc::clone(&self.flushers).try_acquire_owned() else {
            return;
        };
        let queue = Arc::clone(self);
        tokio::spawn(async move {
            // The writes of requests already running on this runtime join the first batch: a
            // create written alone costs PostgreSQL about three times one written in a batch.
            tokio::task::yield_now().await;
            let mut permit = permit;
            loop {
                loop {
                    let batch: Vec<Pending<W>> = {
                        let mut pending = queue.queue();
                        let n = pending.len().min(MAX_BATCH);
                        pending.drain(..n).collect()
                    };
                    if batch.is_empty() {
                        break;
                    }
                    queue.flush(batch).await;
                }
                drop(permit);
                // A write queued after the last look but before the permit was returned found no
                // flusher free: take it up again.
                if queue.queue().is_empty() {
                    return;
                }
                match Arc::clone(&queue.flushers).try_acquire_owned() {
                    Ok(again) => permit = again,
                    Err(_) => return,
                }
            }
        });
    }

    /// Writes `batch` in one statement, or each item on its own if that fails or it is one.
    async fn flush(&self, batch: Vec<Pending<W>>) {
        let (items, senders): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
        if items.len() > 1 {
            match self.writer.write_all(&items).await {
                Ok(outputs) if outputs.len() == items.len() => {
                    for (done, output) in senders.into_iter().zip(outputs) {
                        let _ = done.send(Ok(output));
                    }
                    return;
                }
                Ok(outputs) => {
                    tracing::warn!(
                        items = items.len(),
                        outputs = outputs.len(),
                        "a batch write answered for a different number of items; writing each alone"
                    );
                }
                Err(error) => {
                    tracing::debug!(%error, items = items.len(), "a batch write failed; writing each alone");
                }
            }
        }
        for (item, done) in items.iter().zip(senders) {
            let _ = done.send(self.writer.write_one(item).await);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    /// Records the batches it is given; a batch holding `0` fails, as a duplicate would. A write of
    /// `1` alone waits for a permit of `gate`, so that the test decides when flushers are busy.
    struct Recorder {
        batches: Mutex<Vec<Vec<u32>>>,
        alone: AtomicUsize,
        gate: Semaphore,
    }

    impl Recorder {
        /// No batch recorded yet, and the gate closed.
        fn new() -> Arc<Self> {
            Arc::new(Self {
                batches: Mutex::default(),
                alone: AtomicUsize::new(0),
                gate: Semaphore::new(0),
            })
        }
    }

    #[async_trait]
    impl BatchWrite for Arc<Recorder> {
        type Item = u32;
        type Output = u32;

        async fn write_all(&self, items: &[u32]) -> PortResult<Vec<u32>> {
            self.batches.lock().unwrap().push(items.to_vec());
            if items.contains(&0) {
                return Err(PortError::already_exists("item 0"));
            }
            Ok(items.iter().map(|i| i * 10).collect())
        }

        async fn write_one(&self, item: &u32) -> PortResult<u32> {
            self.alone.fetch_add(1, Ordering::SeqCst);
            if *item == 1 {
                self.gate.acquire().await.unwrap().forget();
            }
            if *item == 0 {
                return Err(PortError::already_exists("item 0"));
            }
            Ok(item * 10)
        }
    }

    async fn wait_for(what: &str, ready: impl Fn() -> bool) {
        for _ in 0..500 {
            if ready() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{what} never happened");
    }

    /// A flusher spawned by the first of several writes that are ready at once does not take that
    /// write alone: on a tokio worker a freshly spawned task runs next, before the other writers.
    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn writes_ready_at_once_go_in_one_batch_though_flushers_are_free() {
        let recorder = Recorder::new();
        let queue = GroupCommit::new(Arc::clone(&recorder), 4);
        let results = tokio::spawn(async move {
            let writes: Vec<_> = (2..=9)
                .map(|item| {
                    let writer = Arc::clone(&queue);
                    tokio::spawn(async move { writer.write(item).await })
                })
                .collect();
            let mut results = Vec::new();
            for write in writes {
                results.push(write.await.unwrap().unwrap());
            }
            results
        })
        .await
        .unwrap();
        assert_eq!(results, (2..=9).map(|i| i * 10).collect::<Vec<_>>());
        assert_eq!(recorder.alone.load(Ordering::SeqCst), 0, "no write alone");
        let mut batches = recorder.batches.lock().unwrap().clone();
        batches.iter_mut().for_each(|batch| batch.sort_unstable());
        assert_eq!(
            batches,
            vec![(2..=9).collect::<Vec<_>>()],
            "one batch of all"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_queued_behind_busy_flushers_go_in_one_batch_and_a_failed_batch_falls_back() {
        let recorder = Recorder::new();
        const FLUSHERS: usize = 3;
        let queue = GroupCommit::new(Arc::clone(&recorder), FLUSHERS);
        // Every flusher busy with a write alone, held at the gate.
        let mut first = Vec::new();
        for busy in 1..=FLUSHERS {
            let writer = Arc::clone(&queue);
            first.push(tokio::spawn(async move { writer.write(1).await }));
            wait_for("a write alone", || {
                recorder.alone.load(Ordering::SeqCst) == busy
            })
            .await;
        }
        // These queue, in this order (each waits for the one before it); one of them (0) makes their
        // batch fail.
        let mut queued = Vec::new();
        for (n, item) in [2, 3, 0, 4, 5].into_iter().enumerate() {
            let writer = Arc::clone(&queue);
            queued.push(tokio::spawn(async move { writer.write(item).await }));
            wait_for("a queued write", || queue.queue().len() == n + 1).await;
        }
        recorder.gate.add_permits(FLUSHERS);
        for write in first {
            assert_eq!(write.await.unwrap().unwrap(), 10);
        }
        let mut results = Vec::new();
        for write in queued {
            results.push(write.await.unwrap());
        }
        assert_eq!(results[0].as_ref().unwrap(), &20);
        assert_eq!(results[1].as_ref().unwrap(), &30);
        assert!(matches!(results[2], Err(PortError::AlreadyExists { .. })));
        assert_eq!(results[3].as_ref().unwrap(), &40);
        assert_eq!(results[4].as_ref().unwrap(), &50);
        let batches = recorder.batches.lock().unwrap().clone();
        assert_eq!(
            batches,
            vec![vec![2, 3, 0, 4, 5]],
            "one batch of what queued"
        );
        // The gated writes alone, then the five of the failed batch again, one by one.
        assert_eq!(recorder.alone.load(Ordering::SeqCst), FLUSHERS + 5);
    }
}
