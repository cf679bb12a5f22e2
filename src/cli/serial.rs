//! `sockscope serial`: a serial port as a session (the same sends, rules, framing, decoding and
//! output as `tcp-client`), and `--list`.

use super::args::{BridgeArgs, FlowArg, LineArgs, ParityArg, SerialArgs};
use super::drive::{encoding, millis, Flow, Replies, Run, Sends};
use super::CliError;
use crate::engine::serial::{self, LineSettings};
use crate::engine::SessionConfig;
use std::process::ExitCode;

pub(super) fn run(args: SerialArgs) -> Result<ExitCode, CliError> {
    if args.list {
        return list(args.json);
    }
    let port = args.port.clone().unwrap_or_default();
    let settings = line_settings(&port, &args.line)?;
    if args.common.pcap.is_some() {
        return Err(CliError::Usage(
            "--pcap is for network sessions: a serial port has no packets to capture".into(),
        ));
    }
    let encoding = encoding(&args.common)?;
    let sending = !args.send.send.is_empty() || args.send.stdin;
    let wait = match args.wait.or(sending.then_some(500)) {
        Some(ms) => Some(millis("--wait", ms, true)?),
        None => None,
    };
    let sends = Sends::new(&args.send, encoding, wait)?;
    let mut run = Run::open(
        &args.common,
        encoding,
        SessionConfig::Serial {
            port: port.clone(),
            settings,
        },
        Replies::Answers,
        Some(&args.framing),
    )?;
    run.printer
        .name_endpoint(format!("{port} {}", settings.short()));
    Ok(run.drive_sends(sends))
}

/// The line settings given, checked (exit 2 when wrong).
fn line_settings(port: &str, line: &LineArgs) -> Result<LineSettings, CliError> {
    let settings = LineSettings {
        baud: line.baud,
        data_bits: line.data_bits,
        parity: match line.parity {
            ParityArg::None => serial::Parity::None,
            ParityArg::Odd => serial::Parity::Odd,
            ParityArg::Even => serial::Parity::Even,
        },
        stop_bits: serial::StopBits::from_count(line.stop_bits).ok_or_else(|| {
            CliError::Usage(format!(
                "--stop-bits {}: 1 or 2 (1.5 is not offered: the serial library has no way to set it)",
                line.stop_bits
            ))
        })?,
        flow: match line.flow {
            FlowArg::None => serial::Flow::None,
            FlowArg::RtsCts => serial::Flow::RtsCts,
            FlowArg::XonXoff => serial::Flow::XonXoff,
        },
    };
    settings
        .check()
        .map_err(|r| CliError::Usage(format!("{port}: {r}")))?;
    Ok(settings)
}

/// `sockscope bridge`: a relay whose target is the serial port.
pub(super) fn bridge(args: BridgeArgs) -> Result<ExitCode, CliError> {
    let settings = line_settings(&args.port, &args.line)?;
    let listen = crate::engine::parse_bind(&args.listen).map_err(CliError::address("--listen"))?;
    if args.rfc2217 && args.max_clients > 1 {
        return Err(CliError::Usage(
            "--rfc2217 lets one client set the line: not with --max-clients above 1".into(),
        ));
    }
    if args.common.pcap.is_some() {
        return Err(CliError::Usage(
            "--pcap is for network sessions: a bridge's serial side has no packets".into(),
        ));
    }
    let mut run = Run::open(
        &args.common,
        encoding(&args.common)?,
        SessionConfig::Bridge {
            listen,
            port: args.port.clone(),
            settings,
            rfc2217: args.rfc2217,
            max_clients: usize::from(args.max_clients),
        },
        Replies::None,
        None,
    )?;
    run.printer
        .name_target(format!("{} {}", args.port, settings.short()));
    Ok(run.drive(|_| (None, None), |_, _| Flow::Continue))
}

/// The ports, one line each (`NAME  description`), or one JSON object each.
fn list(json: bool) -> Result<ExitCode, CliError> {
    let ports = serial::list_ports().map_err(|e| CliError::Usage(e.to_string()))?;
    for p in &ports {
        if json {
            println!("{}", serde_json::to_string(p).unwrap_or_default());
        } else {
            println!("{}  {}", p.name, p.description());
        }
    }
    if ports.is_empty() && !json {
        eprintln!("sockscope: no serial ports found");
    }
    Ok(ExitCode::SUCCESS)
}
