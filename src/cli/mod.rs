//! Headless subcommands over the same engine as the window, for lab scripts and tests.
//!
//! Exit status: 0 success, 2 bad arguments or input (one line on stderr, nothing touched the
//! network), 1 network failure. [`CliError::exit_code`] is the one place that decides.
//!
//! [`args`] holds the clap structs; [`drive`] the shape every session runner shares (check,
//! open, drive the events, summarise); [`sessions`], [`files`] and [`sequence`] the runners by
//! concern; [`output`] prints events.

mod addr;
mod args;
mod drive;
mod files;
mod generate;
mod output;
mod probe;
mod sequence;
mod serial;
mod sessions;
mod tls;
mod ws;

pub use args::*;
pub use ws::{WsArgs, WsClientArgs, WsServerArgs};

use crate::engine::AddressError;
use std::path::PathBuf;
use std::process::ExitCode;

/// Why a run could not go on. Network failures during a run are events, printed as they come
/// (exit 1); these are the failures before or around it.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// An option or argument is wrong (said in full).
    #[error("{0}")]
    Usage(String),
    /// An address or port option is not valid.
    #[error("{option}: {source}")]
    Address {
        option: &'static str,
        #[source]
        source: AddressError,
    },
    /// An input file cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// An input file is read but is not what it should be.
    #[error("{}: {reason}", path.display())]
    BadFile { path: PathBuf, reason: String },
    /// The engine could not start (the system refused a thread or a runtime).
    #[error("cannot start: {0}")]
    Start(#[source] std::io::Error),
}

impl CliError {
    /// The exit status of each kind: 2 for what the user can fix in the command line or its
    /// files, 1 for what the system or the network did.
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_)
            | CliError::Address { .. }
            | CliError::Read { .. }
            | CliError::BadFile { .. } => 2,
            CliError::Start(_) => 1,
        }
    }

    /// A file's problem in one line: a parser's source snippet (`  |`, `2 | text`, carets) is
    /// left out, its position and reason kept.
    pub(crate) fn bad_file(path: &std::path::Path, reason: &str) -> CliError {
        let snippet = |l: &str| {
            let t = l.trim_start();
            t.starts_with('|')
                || t.split_once(" |")
                    .is_some_and(|(n, _)| n.trim().parse::<u64>().is_ok())
        };
        let parts: Vec<&str> = reason
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !snippet(l))
            .collect();
        CliError::BadFile {
            path: path.to_path_buf(),
            reason: parts.join(": "),
        }
    }

    pub(crate) fn address(option: &'static str) -> impl FnOnce(AddressError) -> CliError {
        move |source| CliError::Address { option, source }
    }
}

/// Runs a subcommand and returns the process exit status.
pub fn run(command: CliCommand) -> ExitCode {
    let result = match command {
        CliCommand::TcpServer(args) => sessions::tcp_server(args),
        CliCommand::TcpClient(args) => sessions::tcp_client(args),
        CliCommand::Udp(args) => sessions::udp(args),
        CliCommand::Relay(args) => sessions::relay(args),
        CliCommand::Serial(args) => serial::run(args),
        CliCommand::Bridge(args) => serial::bridge(args),
        CliCommand::Addr(args) => Ok(addr::run(&args)),
        CliCommand::SendFile(args) => files::send_file(args),
        CliCommand::RecvFile(args) => files::recv_file(args),
        CliCommand::Run(args) => sequence::run_sequence(args),
        CliCommand::TlsCert(args) => tls::tls_cert(&args),
        CliCommand::Probe(args) => probe::run(&args),
        CliCommand::Generate(args) => generate::run(&args),
        CliCommand::WsClient(args) => ws::ws_client(args),
        CliCommand::WsServer(args) => ws::ws_server(args),
    };
    result.unwrap_or_else(|error| {
        eprintln!("sockscope: error: {error}");
        ExitCode::from(error.exit_code())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_the_user_can_fix_is_2_and_what_the_system_did_is_1() {
        let usage = [
            CliError::Usage("x".into()),
            CliError::address("ADDR")(AddressError::BadPort),
            CliError::Read {
                path: "a".into(),
                source: std::io::Error::from(std::io::ErrorKind::NotFound),
            },
            CliError::BadFile {
                path: "a".into(),
                reason: "x".into(),
            },
        ];
        assert!(usage.iter().all(|e| e.exit_code() == 2));
        let start = CliError::Start(std::io::Error::other("no threads"));
        assert_eq!(start.exit_code(), 1);
        // The cause stays inspectable, not flattened into text.
        let read = CliError::Read {
            path: "a".into(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        };
        let source =
            std::error::Error::source(&read).and_then(|s| s.downcast_ref::<std::io::Error>());
        assert_eq!(
            source.map(std::io::Error::kind),
            Some(std::io::ErrorKind::NotFound)
        );
    }
}
