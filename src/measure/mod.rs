//! Measuring the link: the latency and loss probe, a traffic generator, pcapng captures.

pub mod capture;
pub mod generate;
pub mod pcapng;
pub mod probe;
