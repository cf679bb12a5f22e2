//! SockScope: a TCP/UDP debugging assistant. The window (`ui`) and the headless commands
//! (`cli`) drive the same socket `engine`; `payload` and `addr` are pure functions.
pub mod addr;
pub mod cli;
pub mod engine;
pub mod measure;
pub mod payload;
pub mod script;
pub mod sequence;
pub mod ui;
