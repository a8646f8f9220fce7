//! A bounded, first-come-first-served queue of training runs, shared by every session of
//! `cnn-tutor serve` so that thirty students pressing "train" never run thirty trainings at
//! once. The local app sets no queue and trains at once.
//!
//! [`TrainQueue::join`] hands out a [`Ticket`]: running at once when a place is free and
//! nobody waits, else waiting in line. The training screen polls [`Ticket::try_start`] on
//! every tick (nothing blocks the UI) and shows [`Ticket::position`]. Dropping a ticket,
//! running or waiting, gives its place back, so a cancelled run or a dropped connection
//! frees everything it held.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

/// The shared queue: at most `limit` tickets run at a time, the rest wait in order.
#[derive(Debug)]
pub struct TrainQueue {
    limit: usize,
    state: Mutex<QueueState>,
}

#[derive(Debug, Default)]
struct QueueState {
    running: usize,
    waiting: VecDeque<u64>,
    next_id: u64,
}

/// Two queues are equal only when they are the same queue (so settings holding one can be
/// compared).
impl PartialEq for TrainQueue {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

impl TrainQueue {
    /// A queue letting `limit` runs (at least one) train at once.
    pub fn new(limit: usize) -> Arc<Self> {
        Arc::new(TrainQueue {
            limit: limit.max(1),
            state: Mutex::new(QueueState::default()),
        })
    }

    fn lock(&self) -> MutexGuard<'_, QueueState> {
        // a panic while holding the lock leaves counts that are still consistent
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How many runs may train at once.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Runs training now.
    pub fn running(&self) -> usize {
        self.lock().running
    }

    /// Runs waiting for a place.
    pub fn waiting(&self) -> usize {
        self.lock().waiting.len()
    }

    /// Get in line: the ticket runs at once when a place is free and nobody is waiting.
    pub fn join(self: &Arc<Self>) -> Ticket {
        let mut s = self.lock();
        let id = s.next_id;
        s.next_id += 1;
        let running = if s.waiting.is_empty() && s.running < self.limit {
            s.running += 1;
            true
        } else {
            s.waiting.push_back(id);
            false
        };
        drop(s);
        Ticket {
            queue: Arc::clone(self),
            id,
            running,
        }
    }
}

/// A place in a [`TrainQueue`]: waiting or running. Dropping it gives the place back.
#[derive(Debug)]
pub struct Ticket {
    queue: Arc<TrainQueue>,
    id: u64,
    running: bool,
}

impl Ticket {
    /// The ticket holds a running place.
    pub fn is_running(&self) -> bool {
        self.running
    }

    /// Place in line (1 = next to start); `None` once running.
    pub fn position(&self) -> Option<usize> {
        if self.running {
            return None;
        }
        let s = self.queue.lock();
        s.waiting
            .iter()
            .position(|&id| id == self.id)
            .map(|i| i + 1)
    }

    /// Start when this ticket is first in line and a place is free. True once running.
    pub fn try_start(&mut self) -> bool {
        if self.running {
            return true;
        }
        let mut s = self.queue.lock();
        if s.running < self.queue.limit && s.waiting.front() == Some(&self.id) {
            s.waiting.pop_front();
            s.running += 1;
            self.running = true;
        }
        self.running
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut s = self.queue.lock();
        if self.running {
            s.running = s.running.saturating_sub(1);
        } else {
            s.waiting.retain(|&id| id != self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_up_to_the_limit_then_queues_in_order() {
        let q = TrainQueue::new(2);
        let a = q.join();
        let b = q.join();
        let mut c = q.join();
        let mut d = q.join();
        assert!(a.is_running() && b.is_running());
        assert_eq!((c.position(), d.position()), (Some(1), Some(2)));
        assert_eq!((q.running(), q.waiting()), (2, 2));
        // no place free: nobody starts, and the second in line never jumps the first
        assert!(!d.try_start());
        assert!(!c.try_start());
        drop(a);
        assert!(!d.try_start(), "d is behind c");
        assert!(c.try_start());
        assert_eq!(d.position(), Some(1));
        drop(b);
        assert!(d.try_start());
        assert_eq!((q.running(), q.waiting()), (2, 0));
    }

    #[test]
    fn a_waiting_ticket_dropped_leaves_the_line() {
        let q = TrainQueue::new(1);
        let a = q.join();
        let b = q.join();
        let mut c = q.join();
        assert_eq!(c.position(), Some(2));
        drop(b);
        assert_eq!(c.position(), Some(1));
        drop(a);
        assert!(c.try_start());
        drop(c);
        assert_eq!((q.running(), q.waiting()), (0, 0));
        // a newcomer runs at once again
        assert!(q.join().is_running());
    }

    #[test]
    fn first_come_first_served_as_places_free_up() {
        // tickets taken in order start in that order as places free up
        let q = TrainQueue::new(1);
        let first = q.join();
        let mut line: Vec<Ticket> = (0..5).map(|_| q.join()).collect();
        let positions: Vec<_> = line.iter().map(Ticket::position).collect();
        assert_eq!(positions, (1..=5).map(Some).collect::<Vec<_>>());
        drop(first);
        let mut order = Vec::new();
        for _ in 0..5 {
            // try every ticket, last first: only the head of the line may start
            let started: Vec<usize> = (0..line.len())
                .rev()
                .filter(|&i| line[i].try_start())
                .collect();
            assert_eq!(started.len(), 1);
            let t = line.remove(started[0]);
            order.push(t.id);
            drop(t);
        }
        assert_eq!(order, vec![1, 2, 3, 4, 5]);
    }
}
