//! Reports of a sequence run: CSV for spreadsheets, HTML to hand in, JUnit XML for a lab's CI.

use super::{Outcome, Report};
use std::io::{self, Write};

fn csv_field(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// One row per step: round, step, label, result, ms, detail (after what it expected).
pub fn write_csv(report: &Report, out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "round,step,label,result,ms,detail")?;
    for r in &report.results {
        let result = match r.outcome {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::NotRun => "not run",
        };
        writeln!(
            out,
            "{},{},{},{result},{},{}",
            r.round,
            r.step,
            csv_field(&r.label),
            r.millis,
            csv_field(&shown_with_expected(r))
        )?;
    }
    Ok(())
}

/// A self-contained HTML page: summary, then a table of every step with its data.
pub fn write_html(report: &Report, out: &mut impl Write) -> io::Result<()> {
    let (pass, fail) = report.counts();
    let not_run = match report.not_run() {
        0 => String::new(),
        n => format!(", {n} not run"),
    };
    let verdict = if report.passed() { "PASSED" } else { "FAILED" };
    let when = report
        .started
        .map(|t| {
            chrono::DateTime::<chrono::Local>::from(t)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_default();
    writeln!(
        out,
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{} — SockScope</title>",
        html_escape(&report.name)
    )?;
    writeln!(out, "<style>body{{font-family:sans-serif}}td,th{{border:1px solid #ccc;padding:4px 8px;vertical-align:top}}table{{border-collapse:collapse}}.pass{{color:#1a7f37}}.fail{{color:#c62828;font-weight:bold}}code{{white-space:pre-wrap}}</style></head><body>")?;
    writeln!(out, "<h1>{}</h1><p>{when} · <span class=\"{}\">{verdict}</span> · {pass} passed, {fail} failed{not_run}</p>", html_escape(&report.name), if report.passed() { "pass" } else { "fail" })?;
    if let Some(reason) = &report.aborted {
        writeln!(
            out,
            "<p class=\"fail\">Stopped: {}</p>",
            html_escape(&reason.to_string())
        )?;
    }
    writeln!(out, "<table><tr><th>round</th><th>step</th><th>what</th><th>result</th><th>ms</th><th>data</th></tr>")?;
    for r in &report.results {
        let (class, word) = match r.outcome {
            Outcome::Pass => ("pass", "pass"),
            Outcome::Fail => ("fail", "FAIL"),
            Outcome::NotRun => ("", "not run"),
        };
        writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"{class}\">{word}</td><td>{}</td><td><code>{}</code></td></tr>",
            r.round,
            r.step,
            html_escape(&r.label),
            r.millis,
            html_escape(&shown_with_expected(r))
        )?;
    }
    writeln!(out, "</table></body></html>")
}

/// A step's data, after what it expected (an expectation's pattern, a hex one as text and hex).
fn shown_with_expected(r: &super::StepResult) -> String {
    match &r.expected {
        Some(expected) => format!("expected: {expected}\n{}", r.detail),
        None => r.detail.clone(),
    }
}

/// Writes the report to `path`: CSV for a `.csv` ending, JUnit XML for `.xml`, HTML otherwise.
pub fn save_report(report: &Report, path: &std::path::Path) -> io::Result<()> {
    let mut w = io::BufWriter::new(std::fs::File::create(path)?);
    write_report(report, path, &mut w)?;
    w.flush()
}

/// The report as the text `path`'s ending asks for (see [`save_report`]).
pub fn report_text(report: &Report, path: &std::path::Path) -> String {
    let mut out = Vec::new();
    // Writing into memory cannot fail; the report's own text is UTF-8.
    let _ = write_report(report, path, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn write_report(report: &Report, path: &std::path::Path, w: &mut impl Write) -> io::Result<()> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("csv") => write_csv(report, w),
        Some("xml") => write_junit(std::slice::from_ref(report), w),
        _ => write_html(report, w),
    }
}

/// Text for XML: the five special characters escaped, and control characters (which XML 1.0
/// cannot carry at all) written as `\xHH`, so received bytes can never break the file.
fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {
                out.push_str(&format!("\\x{:02X}", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}

/// JUnit XML: one testsuite per sequence, one testcase per step (and round), a `failure` with
/// what was expected and what came for a failed step, an `error` when the run stopped early.
pub fn write_junit(reports: &[Report], out: &mut impl Write) -> io::Result<()> {
    let tests: usize = reports.iter().map(|r| r.results.len()).sum();
    let failures: usize = reports.iter().map(|r| r.counts().1).sum();
    let skipped: usize = reports.iter().map(Report::not_run).sum();
    let errors = reports.iter().filter(|r| r.aborted.is_some()).count();
    writeln!(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>")?;
    writeln!(
        out,
        "<testsuites name=\"SockScope\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\">"
    )?;
    for report in reports {
        let (_, failed) = report.counts();
        let seconds: f64 = report.results.iter().map(|r| r.millis as f64 / 1e3).sum();
        let name = xml_escape(&report.name);
        writeln!(
            out,
            "  <testsuite name=\"{name}\" tests=\"{}\" failures=\"{failed}\" errors=\"{}\" skipped=\"{}\" time=\"{seconds:.3}\">",
            report.results.len(),
            usize::from(report.aborted.is_some()),
            report.not_run()
        )?;
        for r in &report.results {
            let case = if r.round > 1 {
                format!("#{} {} (round {})", r.step, r.label, r.round)
            } else {
                format!("#{} {}", r.step, r.label)
            };
            write!(
                out,
                "    <testcase classname=\"{name}\" name=\"{}\" time=\"{:.3}\"",
                xml_escape(&case),
                r.millis as f64 / 1e3
            )?;
            match r.outcome {
                Outcome::Pass => writeln!(out, "/>")?,
                Outcome::NotRun => {
                    writeln!(out, ">")?;
                    writeln!(out, "      <skipped message=\"not run\"/>")?;
                    writeln!(out, "    </testcase>")?;
                }
                Outcome::Fail => {
                    writeln!(out, ">")?;
                    let mut body = format!("{}\n{}", r.label, r.detail);
                    if let Some(expected) = &r.expected {
                        body.push_str(&format!("\nexpected: {expected}"));
                    }
                    if let Some(received) = &r.received {
                        body.push_str(&format!("\nreceived: {received}"));
                    }
                    writeln!(
                        out,
                        "      <failure message=\"{}\">{}</failure>",
                        xml_escape(&r.detail.chars().take(200).collect::<String>()),
                        xml_escape(&body)
                    )?;
                    writeln!(out, "    </testcase>")?;
                }
            }
        }
        if let Some(reason) = &report.aborted {
            writeln!(
                out,
                "    <testcase classname=\"{name}\" name=\"connection\"><error message=\"{}\"/></testcase>",
                xml_escape(&reason.to_string())
            )?;
        }
        writeln!(out, "  </testsuite>")?;
    }
    writeln!(out, "</testsuites>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn received_bytes_cannot_break_the_junit_file() {
        assert_eq!(
            xml_escape("a<b>&\"c\" 'd' \u{0}\u{1b}\tok"),
            "a&lt;b&gt;&amp;&quot;c&quot; &apos;d&apos; \\x00\\x1B\tok"
        );
    }

    #[test]
    fn received_text_cannot_inject_markup_or_break_a_csv_field() {
        assert_eq!(
            html_escape("<script>alert(\"x\")</script> & more"),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more"
        );
        // Escaping twice shows the first escape, not the original markup.
        assert_eq!(html_escape("&lt;"), "&amp;lt;");
        assert_eq!(
            csv_field("a \"quoted\", field"),
            "\"a \"\"quoted\"\", field\""
        );
    }
}
