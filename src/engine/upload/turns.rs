//! One writer at a time per upload, and the takeover of a stalled one.
//!
//! Writes to one upload (appends, cancellation, finishing) take turns. Reads of its state
//! (tus `HEAD`, PortSIP status) do not take a turn: they answer from the last saved state,
//! at once when the write in flight is stalled; while its client is still sending, or it is
//! saving what arrived, they wait for it, so that a client resuming after an abort reads the
//! offset that write ends at. A writer whose client has sent nothing for the stall timeout while another
//! write waits is told to stop: its body then ends with [`Error::Interrupted`], it keeps what
//! landed and saves its state like a client that went away, and gives up its turn. The next
//! writer goes on from the saved offset (or answers `409` with it). A writer whose client is
//! still sending keeps its turn, so concurrent appends at one offset still apply exactly once.

use std::cell::{Cell, RefCell};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use futures_util::future::{select, Either, LocalBoxFuture};
use futures_util::lock::{Mutex, MutexGuard};
use futures_util::Stream;

use crate::error::{Error, Result};

/// The platform's timer: resolves after `ms` milliseconds.
pub type Sleep<'a> = &'a dyn Fn(u64) -> LocalBoxFuture<'static, ()>;

/// How often a waiting writer looks again at the one it waits for, at most.
const RECHECK_MS: u64 = 250;
/// A writer whose client has sent nothing for this long is not waited for by reads.
pub const QUIET_MS: u64 = 250;

/// The writer holding the turn, as the others see it.
#[derive(Default)]
struct Signal {
    stop: Cell<bool>,
    last_progress: Cell<u64>,
    /// Its body has ended (or failed): it is only landing and saving what it has.
    body_done: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

impl Signal {
    fn stop(&self) {
        self.stop.set(true);
        if let Some(w) = self.waker.borrow_mut().take() {
            w.wake();
        }
    }
}

/// The turns of one upload.
#[derive(Default)]
pub struct Turns {
    lock: Mutex<()>,
    current: RefCell<Option<Rc<Signal>>>,
}

/// A writer's turn: held until dropped.
pub struct Turn<'a> {
    _guard: MutexGuard<'a, ()>,
    turns: &'a Turns,
    signal: Rc<Signal>,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        let mut current = self.turns.current.borrow_mut();
        if current.as_ref().is_some_and(|s| Rc::ptr_eq(s, &self.signal)) {
            *current = None;
        }
    }
}

/// Is a writer whose client last sent something at `last_progress` stalled at `now`?
pub fn is_stalled(last_progress: u64, now: u64, stall_ms: u64) -> bool {
    now.saturating_sub(last_progress) >= stall_ms
}

impl Turns {
    /// Is a write in progress?
    pub fn busy(&self) -> bool {
        self.current.borrow().is_some()
    }

    /// Waits while the writer holding the turn is receiving bytes or saving what it received,
    /// so that a read answers with what that write ends at. A writer whose client has sent
    /// nothing for [`QUIET_MS`] (stalled, or gone) is not waited for: the read answers at
    /// once from the last saved state.
    pub async fn settled(&self, now: &dyn Fn() -> u64, sleep: Sleep<'_>) {
        loop {
            let Some(holder) = self.current.borrow().clone() else { return };
            if !holder.body_done.get() && now().saturating_sub(holder.last_progress.get()) >= QUIET_MS {
                return;
            }
            let lock = self.lock.lock();
            futures_util::pin_mut!(lock);
            if let Either::Left((guard, _)) = select(lock, sleep(QUIET_MS / 5)).await {
                drop(guard);
                return;
            }
        }
    }

    /// Waits for the turn. While waiting, a writer that has stalled for `stall_ms` is told to
    /// stop; one that is still receiving is left to finish.
    pub async fn take<'a>(&'a self, now: &dyn Fn() -> u64, sleep: Sleep<'_>, stall_ms: u64) -> Turn<'a> {
        loop {
            if let Some(guard) = self.lock.try_lock() {
                return self.turn(guard, now());
            }
            let holder = self.current.borrow().clone();
            let mut wait = RECHECK_MS;
            if let Some(h) = holder {
                let last = h.last_progress.get();
                if is_stalled(last, now(), stall_ms) {
                    h.stop();
                } else {
                    wait = (last + stall_ms).saturating_sub(now()).clamp(1, RECHECK_MS);
                }
            }
            let lock = self.lock.lock();
            futures_util::pin_mut!(lock);
            if let Either::Left((guard, _)) = select(lock, sleep(wait)).await {
                return self.turn(guard, now());
            }
        }
    }

    fn turn<'a>(&'a self, guard: MutexGuard<'a, ()>, now: u64) -> Turn<'a> {
        let signal = Rc::new(Signal::default());
        signal.last_progress.set(now);
        *self.current.borrow_mut() = Some(signal.clone());
        Turn { _guard: guard, turns: self, signal }
    }
}

impl Turn<'_> {
    /// The request body as this turn reads it: each chunk counts as progress, and a stop
    /// ends it with [`Error::Interrupted`].
    pub fn body<'n, S>(&self, body: S, now: &'n dyn Fn() -> u64) -> Stoppable<'n, S> {
        Stoppable { body, signal: self.signal.clone(), now, done: false }
    }
}

/// A body that a newer writer can stop.
pub struct Stoppable<'a, S> {
    body: S,
    signal: Rc<Signal>,
    now: &'a dyn Fn() -> u64,
    done: bool,
}

impl<S: Stream<Item = Result<Bytes>> + Unpin> Stream for Stoppable<'_, S> {
    type Item = Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        if self.signal.stop.get() {
            self.done = true;
            return Poll::Ready(Some(Err(Error::Interrupted)));
        }
        *self.signal.waker.borrow_mut() = Some(cx.waker().clone());
        let next = Pin::new(&mut self.body).poll_next(cx);
        match &next {
            Poll::Ready(Some(Ok(_))) => self.signal.last_progress.set((self.now)()),
            Poll::Ready(_) => self.signal.body_done.set(true),
            Poll::Pending => {}
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_executor::LocalPool;
    use futures_util::task::LocalSpawnExt;
    use futures_util::StreamExt;

    /// A body that sends `chunks` and then stalls forever.
    fn stalling(chunks: usize) -> impl Stream<Item = Result<Bytes>> + Unpin {
        futures_util::stream::iter((0..chunks).map(|_| Ok(Bytes::from_static(b"x"))))
            .chain(futures_util::stream::pending())
    }

    #[test]
    fn a_stalled_writer_is_stopped_by_the_next_and_an_active_one_is_not() {
        let clock = Rc::new(Cell::new(0u64));
        let turns = Rc::new(Turns::default());
        let mut pool = LocalPool::new();
        let log: Rc<RefCell<Vec<String>>> = Rc::default();

        // the first writer reads 3 chunks, then its client goes silent
        {
            let (turns, clock, log) = (turns.clone(), clock.clone(), log.clone());
            pool.spawner()
                .spawn_local(async move {
                    let now = move || clock.get();
                    let turn = turns.take(&now, &|_| Box::pin(async {}), 5000).await;
                    let mut body = turn.body(stalling(3), &now);
                    let mut got = 0;
                    let end = loop {
                        match body.next().await {
                            Some(Ok(_)) => got += 1,
                            Some(Err(e)) => break e,
                            None => unreachable!(),
                        }
                    };
                    log.borrow_mut().push(format!("first: {got} chunks, then {}", end.code()));
                })
                .unwrap();
        }
        pool.run_until_stalled();
        assert!(turns.busy());
        assert!(log.borrow().is_empty(), "the first writer holds its turn");

        // a second writer waits; the clock moves on while it does
        {
            let (turns, clock, log) = (turns.clone(), clock.clone(), log.clone());
            pool.spawner()
                .spawn_local(async move {
                    let now = || clock.get();
                    // the clock advances by the sleep; the sleep yields once, as a timer would
                    let sleep = |ms: u64| crate::testkit::sleep_on(&clock, ms);
                    let _turn = turns.take(&now, &sleep, 5000).await;
                    log.borrow_mut().push(format!("second at {}", clock.get()));
                })
                .unwrap();
        }
        pool.run_until_stalled();
        let log = log.borrow();
        assert_eq!(log[0], "first: 3 chunks, then interrupted");
        assert!(log[1].starts_with("second at "), "{log:?}");
        let took_over_at: u64 = log[1]["second at ".len()..].parse().unwrap();
        assert!((5000..=5000 + RECHECK_MS).contains(&took_over_at), "after the stall timeout: {took_over_at}");
        assert!(!turns.busy());
    }

    #[test]
    fn a_writer_still_receiving_keeps_its_turn() {
        let clock = Cell::new(0u64);
        let now = || clock.get();
        let turns = Turns::default();
        let mut pool = LocalPool::new();
        let first = pool.run_until(turns.take(&now, &|_| Box::pin(async {}), 5000));
        let mut body = first.body(futures_util::stream::iter(vec![Ok(Bytes::from_static(b"a")); 10]), &now);
        // every chunk arrives 4 s after the last: never stalled for 5 s
        for _ in 0..10 {
            clock.set(clock.get() + 4000);
            assert!(pool.run_until(body.next()).unwrap().is_ok());
            assert!(!is_stalled(first.signal.last_progress.get(), clock.get(), 5000));
        }
        assert!(!first.signal.stop.get());
        drop(body);
        drop(first);
        assert!(!turns.busy());
        assert!(is_stalled(0, 5000, 5000) && !is_stalled(1, 5000, 5000));
    }
}
