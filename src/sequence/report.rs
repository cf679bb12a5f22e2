//! Reports of a sequence run: CSV for spreadsheets, HTML to hand in.

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

/// One row per step: round, step, label, result, ms, detail.
pub fn write_csv(report: &Report, out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "round,step,label,result,ms,detail")?;
    for r in &report.results {
        let result = if r.outcome == Outcome::Pass {
            "pass"
        } else {
            "fail"
        };
        writeln!(
            out,
            "{},{},{},{result},{},{}",
            r.round,
            r.step,
            csv_field(&r.label),
            r.millis,
            csv_field(&r.detail)
        )?;
    }
    Ok(())
}

/// A self-contained HTML page: summary, then a table of every step with its data.
pub fn write_html(report: &Report, out: &mut impl Write) -> io::Result<()> {
    let (pass, fail) = report.counts();
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
    writeln!(out, "<h1>{}</h1><p>{when} · <span class=\"{}\">{verdict}</span> · {pass} passed, {fail} failed</p>", html_escape(&report.name), if report.passed() { "pass" } else { "fail" })?;
    if let Some(reason) = &report.aborted {
        writeln!(
            out,
            "<p class=\"fail\">Stopped: {}</p>",
            html_escape(reason)
        )?;
    }
    writeln!(out, "<table><tr><th>round</th><th>step</th><th>what</th><th>result</th><th>ms</th><th>data</th></tr>")?;
    for r in &report.results {
        let (class, word) = if r.outcome == Outcome::Pass {
            ("pass", "pass")
        } else {
            ("fail", "FAIL")
        };
        writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"{class}\">{word}</td><td>{}</td><td><code>{}</code></td></tr>",
            r.round,
            r.step,
            html_escape(&r.label),
            r.millis,
            html_escape(&r.detail)
        )?;
    }
    writeln!(out, "</table></body></html>")
}

/// Writes the report to `path`: CSV for a `.csv` ending, HTML otherwise.
pub fn save_report(report: &Report, path: &std::path::Path) -> io::Result<()> {
    let mut w = io::BufWriter::new(std::fs::File::create(path)?);
    if path.extension().and_then(|e| e.to_str()) == Some("csv") {
        write_csv(report, &mut w)?;
    } else {
        write_html(report, &mut w)?;
    }
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

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
