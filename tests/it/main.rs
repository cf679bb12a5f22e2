//! The integration tests, one binary with a module per surface (linked once, not nine times):
//! real loopback sockets behind the engine, the CLI run as a process, the window through
//! egui_kittest, and what the packages ship.

mod common;

mod addr;
mod cli;
mod engine_tcp;
mod engine_udp;
mod files;
mod gui;
mod packaging;
mod relay;
mod sequence;
