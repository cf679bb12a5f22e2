//! `sockscope`: no subcommand opens the window; a subcommand runs the engine headless.

use clap::Parser;
use sockscope::cli::{self, Cli};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = Cli::parse();
    match args.command {
        Some(command) => cli::run(command),
        None => sockscope::ui::run(),
    }
}
