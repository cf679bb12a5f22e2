//! `sockscope run`: a test sequence with PASS/FAIL per step, a summary and a report.

use super::drive::start_engine;
use super::{CliError, OutputFormat, RunArgs};
use crate::sequence::{self, Outcome, Sequence};
use std::process::ExitCode;

pub(super) fn run_sequence(args: RunArgs) -> Result<ExitCode, CliError> {
    let bad_file = |e: sequence::SequenceError| CliError::bad_file(&args.file, &e.to_string());
    let text = std::fs::read_to_string(&args.file).map_err(|source| CliError::Read {
        path: args.file.clone(),
        source,
    })?;
    let seq = Sequence::parse(&text).map_err(bad_file)?;
    if let Some(path) = &args.report {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if !matches!(ext, "html" | "htm" | "csv") {
            return Err(CliError::Usage("--report must end in .html or .csv".into()));
        }
    }
    let engine = start_engine()?;
    let jsonl = args.output == OutputFormat::Jsonl;
    let report = sequence::run(&seq, &engine, |r| {
        if jsonl {
            println!(
                "{}",
                serde_json::json!({"event": "step", "round": r.round, "step": r.step,
                "label": r.label, "result": r.outcome, "ms": r.millis, "detail": r.detail})
            );
        } else {
            let word = if r.outcome == Outcome::Pass {
                "PASS"
            } else {
                "FAIL"
            };
            println!(
                "{word}  #{} {} ({} ms) {}",
                r.step, r.label, r.millis, r.detail
            );
        }
    })
    .map_err(bad_file)?;
    let (pass, fail) = report.counts();
    if let Some(reason) = &report.aborted {
        eprintln!("sockscope: error: {reason}");
    }
    if jsonl {
        println!(
            "{}",
            serde_json::json!({"event": "summary", "passed": pass, "failed": fail,
            "aborted": report.aborted, "result": if report.passed() { "pass" } else { "fail" }})
        );
    } else {
        println!("{pass} passed, {fail} failed");
    }
    if let Some(path) = &args.report {
        if let Err(e) = sequence::save_report(&report, path) {
            eprintln!("sockscope: error: cannot write {}: {e}", path.display());
            return Ok(ExitCode::from(1));
        }
    }
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
