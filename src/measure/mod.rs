//! Measuring the link: the latency and loss probe and a traffic generator.

pub mod generate;
pub mod probe;
