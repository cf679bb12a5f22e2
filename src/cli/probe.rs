//! `sockscope probe udp|tcp HOST:PORT`: round-trip times, and over UDP loss, duplicates,
//! reordering and jitter, ending with one JSON summary.

use super::{CliError, ProbeArgs, ProbeOutput, ProbeTransport};
use crate::measure::probe::{self, Answer, ProbeOptions};
use crate::payload::matcher::{MatchKind, Matcher};
use crate::payload::TextEncoding;
use serde_json::json;
use std::process::ExitCode;
use std::time::Duration;

pub(super) fn run(args: &ProbeArgs) -> Result<ExitCode, CliError> {
    let target = super::drive::resolve_target(&args.target)?;
    if args.count == 0 {
        return Err(CliError::Usage("--count must be at least 1".into()));
    }
    if args.transport == ProbeTransport::Udp
        && !(probe::HEADER_LEN..=65_507).contains(&args.packet.size)
    {
        return Err(CliError::Usage(format!(
            "--size must be from {} (the probe header) to 65507",
            probe::HEADER_LEN
        )));
    }
    let payload = match super::drive::data_bytes(args.packet.data.as_deref(), args.packet.hex)? {
        Some(bytes) => bytes,
        None if args.transport == ProbeTransport::Tcp => b"ping
"
        .to_vec(),
        None => Vec::new(),
    };
    let expect = match &args.expect {
        Some(p) => Some(
            Matcher::new(MatchKind::Contains, p, TextEncoding::Utf8)
                .map_err(|e| CliError::Usage(format!("--expect: {e}")))?,
        ),
        None => None,
    };
    let options = ProbeOptions {
        count: args.count,
        interval: Duration::from_millis(args.interval),
        size: args.packet.size,
        payload,
        timeout: Duration::from_millis(args.timeout),
        stop: super::drive::stop_flag(),
    };
    let jsonl = args.output == ProbeOutput::Jsonl;
    let on_answer = |a: Answer| {
        if jsonl {
            let line = match a {
                Answer::First { seq, rtt_us } => {
                    json!({"event": "reply", "seq": seq, "rtt_ms": rtt_us as f64 / 1000.0})
                }
                Answer::Duplicate { seq } => json!({"event": "duplicate", "seq": seq}),
            };
            println!("{line}");
        }
    };
    let result = match args.transport {
        ProbeTransport::Udp => probe::udp(target, &options, on_answer),
        ProbeTransport::Tcp => probe::tcp(target, &options, expect.as_ref(), on_answer),
    };
    match result {
        Ok(summary) => {
            let mut line = serde_json::to_value(&summary).unwrap_or_default();
            if let Some(fields) = line.as_object_mut() {
                fields.insert("event".into(), json!("summary"));
                fields.insert("loss_percent".into(), json!(summary.loss_percent()));
            }
            println!("{line}");
            Ok(if summary.received == 0 {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        Err(e) => {
            let error = crate::engine::NetError::from_io(&e).at(target);
            eprintln!("sockscope: error: {error}");
            Ok(ExitCode::from(1))
        }
    }
}
