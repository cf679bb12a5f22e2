//! Runners of file transfers: `send-file` and `recv-file`.

use super::drive::{destination, encoding, seconds, Flow, Replies, Run};
use super::{CliError, RecvFileArgs, SendFileArgs};
use crate::engine::{
    parse_bind, FileReceiveConfig, FileSendConfig, SessionConfig, StreamOptions, TransferLimits,
};
use std::process::ExitCode;
use std::time::Duration;

pub(super) fn send_file(args: SendFileArgs) -> Result<ExitCode, CliError> {
    destination("target", &args.target)?;
    let silence = seconds("--timeout", args.timeout)?;
    if args.udp && args.verified {
        return Err(CliError::Usage("--verified works over TCP only".into()));
    }
    if args.chunk == Some(0) {
        return Err(CliError::Usage("--chunk must be at least 1".into()));
    }
    let readable = std::fs::metadata(&args.file).and_then(|m| {
        std::fs::File::open(&args.file)?;
        Ok(m)
    });
    match readable {
        Ok(m) if m.is_file() => {}
        Ok(_) => {
            return Err(CliError::Usage(format!(
                "{} is not a file",
                args.file.display()
            )))
        }
        Err(source) => {
            return Err(CliError::Read {
                path: args.file.clone(),
                source,
            })
        }
    }
    let config = SessionConfig::SendFile(FileSendConfig {
        remote: args.target.clone(),
        path: args.file.clone(),
        udp: args.udp,
        verified: args.verified,
        stream: StreamOptions {
            chunk: args.chunk,
            rate: args.rate,
        },
        connect_timeout: Duration::from_secs(5),
        limits: TransferLimits {
            silence,
            ..TransferLimits::default()
        },
    });
    let mut run = Run::open(
        &args.common,
        encoding(&args.common)?,
        config,
        Replies::None,
        None,
    )?;
    let code = run.drive(|_| (None, None), |_, _| Flow::Continue);
    // Success is a file sent whole, whatever else happened.
    Ok(if run.printer.files_done == 1 {
        code
    } else {
        ExitCode::from(1)
    })
}

pub(super) fn recv_file(args: RecvFileArgs) -> Result<ExitCode, CliError> {
    let bind = parse_bind(&args.addr).map_err(CliError::address("ADDR"))?;
    if args.udp && args.verified {
        return Err(CliError::Usage("--verified works over TCP only".into()));
    }
    if args.verified && !args.out.is_dir() {
        return Err(CliError::Usage(format!(
            "{} is not a folder (--verified puts files in a folder)",
            args.out.display()
        )));
    }
    if !args.verified && args.out.exists() {
        return Err(CliError::Usage(format!(
            "{} exists; it will not be overwritten",
            args.out.display()
        )));
    }
    let timeout = match args.timeout {
        Some(t) => Some(seconds("--timeout", t)?),
        None => None,
    };
    let idle = match timeout {
        None if args.udp && args.once => Some(Duration::from_secs(2)),
        t => t,
    };
    if args.max_conns == 0 {
        return Err(CliError::Usage("--max-conns must be at least 1".into()));
    }
    let config = SessionConfig::ReceiveFile(FileReceiveConfig {
        bind,
        out: args.out.clone(),
        udp: args.udp,
        verified: args.verified,
        once: args.once,
        idle_timeout: idle,
        limits: TransferLimits {
            silence: timeout.unwrap_or(TransferLimits::SILENCE),
            max_conns: args.max_conns,
        },
    });
    let mut run = Run::open(
        &args.common,
        encoding(&args.common)?,
        config,
        Replies::None,
        None,
    )?;
    let code = run.drive(|_| (None, None), |_, _| Flow::Continue);
    Ok(if run.printer.files_done >= 1 {
        code
    } else {
        ExitCode::from(1)
    })
}
