//! `sockscope serial`: a serial port as a session (the same sends, rules, framing, decoding and
//! output as `tcp-client`), and `--list`.

use super::args::{FlowArg, ParityArg, SerialArgs};
use super::drive::{encoding, millis, Flow, Replies, Run, Sends};
use super::CliError;
use crate::engine::serial::{self, LineSettings};
use crate::engine::{Event, SessionConfig};
use std::cell::Cell;
use std::process::ExitCode;

pub(super) fn run(args: SerialArgs) -> Result<ExitCode, CliError> {
    if args.list {
        return list(args.json);
    }
    let port = args.port.clone().unwrap_or_default();
    let settings = LineSettings {
        baud: args.baud,
        data_bits: args.data_bits,
        parity: match args.parity {
            ParityArg::None => serial::Parity::None,
            ParityArg::Odd => serial::Parity::Odd,
            ParityArg::Even => serial::Parity::Even,
        },
        stop_bits: match args.stop_bits {
            1 => serial::StopBits::One,
            2 => serial::StopBits::Two,
            n => {
                return Err(CliError::Usage(format!(
                    "--stop-bits {n}: 1 or 2 (1.5 is not offered: the serial library has no way to set it)"
                )))
            }
        },
        flow: match args.flow {
            FlowArg::None => serial::Flow::None,
            FlowArg::RtsCts => serial::Flow::RtsCts,
            FlowArg::XonXoff => serial::Flow::XonXoff,
        },
    };
    settings
        .check()
        .map_err(|r| CliError::Usage(format!("{port}: {r}")))?;
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
    let mut sends = Sends::new(&args.send, encoding, wait)?;
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
    let session = run.session;
    let opened = Cell::new(false);
    Ok(run.drive(
        |engine| {
            if opened.take() {
                sends.opened();
            }
            sends.tick(engine, session)
        },
        |event, _| {
            if let Event::Opened { .. } = event {
                opened.set(true);
            }
            Flow::Continue
        },
    ))
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
