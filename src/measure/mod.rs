//! Measuring the link: the latency and loss probe.

pub mod probe;
