//! The integration tests, one binary with a module per surface (linked once, not nine times):
//! real loopback sockets behind the engine, the CLI run as a process, the window through
//! egui_kittest, and what the packages ship.
//!
//! The product's conventions (no unwrap, named threads, bounded queues, no unsafe) guard the
//! product; test peers and helpers may panic on the unexpected, spawn plain threads and signal
//! a child process.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods,
    unsafe_code
)]

mod common;
mod decode;

mod addr;
mod cli;
mod engine_tcp;
mod engine_udp;
mod files;
mod framing;
mod gui;
mod gui_values;
mod measure;
mod packaging;
mod relay;
mod script;
mod sequence;
mod serial;
mod timeline;
mod tls;
mod websocket;
