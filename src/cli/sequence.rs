//! `sockscope run`: a test sequence with PASS/FAIL per step, a summary and a report.

use super::drive::start_engine;
use super::{CliError, OutputFormat, RunArgs};
use crate::sequence::{self, Outcome, Progress, Sequence};
use std::process::ExitCode;

pub(super) fn run_sequence(args: RunArgs) -> Result<ExitCode, CliError> {
    // Every file is read and checked before anything runs: a bad one stops the lot.
    let mut sequences = Vec::new();
    for file in &args.files {
        let text = std::fs::read_to_string(file).map_err(|source| CliError::Read {
            path: file.clone(),
            source,
        })?;
        let mut seq =
            Sequence::parse(&text).map_err(|e| CliError::bad_file(file, &e.to_string()))?;
        if args.simulate {
            seq = seq
                .as_simulator()
                .map_err(|e| CliError::bad_file(file, &e.to_string()))?;
        }
        sequences.push((file, seq));
    }
    if let Some(path) = &args.report {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        match ext {
            "xml" => {}
            "html" | "htm" | "csv" if args.files.len() == 1 => {}
            "html" | "htm" | "csv" => {
                return Err(CliError::Usage(
                    "--report for several sequences must end in .xml (JUnit)".into(),
                ))
            }
            _ => {
                return Err(CliError::Usage(
                    "--report must end in .xml, .html or .csv".into(),
                ))
            }
        }
    }
    let engine = start_engine()?;
    let jsonl = args.output == OutputFormat::Jsonl;
    let mut reports = Vec::new();
    for (file, seq) in &sequences {
        if sequences.len() > 1 && !jsonl {
            println!("== {} ({})", seq.name, file.display());
        }
        let report = sequence::run(seq, &engine, |progress| {
            let r = match progress {
                Progress::Step(r) => r,
                Progress::Listening(local) => {
                    eprintln!("sockscope: {}: listening on {local}", seq.name);
                    return;
                }
                Progress::Client(peer) => {
                    eprintln!("sockscope: {}: client {peer} connected", seq.name);
                    return;
                }
            };
            if jsonl {
                println!(
                    "{}",
                    serde_json::json!({"event": "step", "sequence": seq.name, "round": r.round,
                    "step": r.step, "label": r.label, "result": r.outcome, "ms": r.millis,
                    "detail": r.detail})
                );
            } else {
                let word = match r.outcome {
                    Outcome::Pass => "PASS",
                    Outcome::Fail => "FAIL",
                    Outcome::NotRun => "SKIP",
                };
                println!(
                    "{word}  #{} {} ({} ms) {}",
                    r.step, r.label, r.millis, r.detail
                );
            }
        })
        .map_err(|e| CliError::bad_file(file, &e.to_string()))?;
        let (pass, fail) = report.counts();
        if let Some(reason) = &report.aborted {
            eprintln!("sockscope: error: {}: {reason}", seq.name);
        }
        if jsonl {
            println!(
                "{}",
                serde_json::json!({"event": "summary", "sequence": seq.name, "passed": pass,
                "failed": fail, "not_run": report.not_run(), "aborted": report.aborted,
                "result": if report.passed() { "pass" } else { "fail" }})
            );
        } else {
            match report.not_run() {
                0 => println!("{pass} passed, {fail} failed"),
                n => println!("{pass} passed, {fail} failed, {n} not run"),
            }
        }
        reports.push(report);
    }
    if let Some(path) = &args.report {
        let written = match path.extension().and_then(|e| e.to_str()) {
            Some("xml") => write_junit_file(&reports, path),
            _ => reports
                .first()
                .map_or(Ok(()), |r| sequence::save_report(r, path)),
        };
        if let Err(e) = written {
            eprintln!("sockscope: error: cannot write {}: {e}", path.display());
            return Ok(ExitCode::from(1));
        }
    }
    Ok(if reports.iter().all(sequence::Report::passed) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn write_junit_file(reports: &[sequence::Report], path: &std::path::Path) -> std::io::Result<()> {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
    sequence::write_junit(reports, &mut w)?;
    std::io::Write::flush(&mut w)
}
