//! Exact byte and packet counters, shared by the tasks that move data.

use std::sync::atomic::{AtomicU64, Ordering};

/// Byte and packet counters in both directions; updated with atomics so they are exact at any
/// rate and readable from another task.
#[derive(Debug, Default)]
pub struct Counters {
    rx_bytes: AtomicU64,
    rx_packets: AtomicU64,
    tx_bytes: AtomicU64,
    tx_packets: AtomicU64,
}

/// A copy of [`Counters`] at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct CountersSnapshot {
    /// Bytes received.
    pub rx_bytes: u64,
    /// Reads (TCP) or datagrams (UDP) received.
    pub rx_packets: u64,
    /// Bytes sent.
    pub tx_bytes: u64,
    /// Sends (TCP) or datagrams (UDP) sent.
    pub tx_packets: u64,
}

impl Counters {
    /// Counts one received piece of `bytes` bytes.
    pub fn add_rx(&self, bytes: usize) {
        self.rx_bytes.fetch_add(bytes as u64, Ordering::Relaxed);
        self.rx_packets.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one sent piece of `bytes` bytes.
    pub fn add_tx(&self, bytes: usize) {
        self.tx_bytes.fetch_add(bytes as u64, Ordering::Relaxed);
        self.tx_packets.fetch_add(1, Ordering::Relaxed);
    }

    /// Reads all four counters.
    pub fn snapshot(&self) -> CountersSnapshot {
        CountersSnapshot {
            rx_bytes: self.rx_bytes.load(Ordering::Relaxed),
            rx_packets: self.rx_packets.load(Ordering::Relaxed),
            tx_bytes: self.tx_bytes.load(Ordering::Relaxed),
            tx_packets: self.tx_packets.load(Ordering::Relaxed),
        }
    }

    /// Sets all counters to zero.
    pub fn reset(&self) {
        for c in [
            &self.rx_bytes,
            &self.rx_packets,
            &self.tx_bytes,
            &self.tx_packets,
        ] {
            c.store(0, Ordering::Relaxed);
        }
    }
}
