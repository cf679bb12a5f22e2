//! The engine's side of the event queue: wakes the front end, and keeps the queue bounded.
//!
//! Data events count against a byte and an event budget. When the front end falls behind
//! (or stops drawing, minimised) data beyond the budget is not queued for display; it is
//! counted as omitted and reported with the next data event that fits. Counters and kept data
//! to file never depend on the budget.

use super::Event;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;

/// Called when events are waiting; the GUI wires it to `request_repaint`.
pub type Notifier = Arc<dyn Fn() + Send + Sync>;

/// How much display data may wait in the queue at once.
#[derive(Clone, Copy, Debug)]
pub struct QueueBudget {
    /// Bytes of data waiting.
    pub bytes: usize,
    /// Events waiting.
    pub events: usize,
}

impl Default for QueueBudget {
    fn default() -> Self {
        Self {
            bytes: 64 << 20,
            events: 20_000,
        }
    }
}

/// Shared accounting between the sink and the handle that drains the queue.
#[derive(Default)]
pub(crate) struct QueueLoad {
    pub bytes: AtomicUsize,
    pub events: AtomicUsize,
    /// Set once the front end has been woken, cleared when it drains.
    pub woken: AtomicBool,
}

/// Sends events to the front end.
#[derive(Clone)]
pub struct EventSink {
    tx: mpsc::Sender<Event>,
    load: Arc<QueueLoad>,
    budget: QueueBudget,
    notifier: Notifier,
}

impl EventSink {
    pub(crate) fn new(
        tx: mpsc::Sender<Event>,
        load: Arc<QueueLoad>,
        budget: QueueBudget,
        notifier: Notifier,
    ) -> Self {
        Self {
            tx,
            load,
            budget,
            notifier,
        }
    }

    /// Sends an event that must arrive (state changes, errors).
    pub fn send(&self, event: Event) {
        let bytes = event.queued_bytes();
        self.load.bytes.fetch_add(bytes, Ordering::Relaxed);
        self.load.events.fetch_add(1, Ordering::Relaxed);
        if self.tx.send(event).is_ok() {
            self.wake();
        }
    }

    /// Is there room for an optional event carrying `bytes` bytes?
    pub fn has_room(&self, bytes: usize) -> bool {
        self.load.bytes.load(Ordering::Relaxed) + bytes <= self.budget.bytes
            && self.load.events.load(Ordering::Relaxed) < self.budget.events
    }

    fn wake(&self) {
        if !self.load.woken.swap(true, Ordering::AcqRel) {
            (self.notifier)();
        }
    }
}
