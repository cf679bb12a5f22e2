//! Measuring the link: the latency and loss probe, and pcapng captures.

pub mod pcapng;
pub mod probe;
