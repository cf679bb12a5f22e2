//! A log row as text: for the screen, the clipboard and saved logs (text or CSV).

use super::*;

/// One line for an entry: time, direction, peer, size and data (at most `limit` bytes).
pub fn format_row(
    entry: &LogEntry,
    display: DisplayMode,
    encoding: TextEncoding,
    limit: usize,
) -> String {
    format_row_with(entry, display, encoding, limit, MESSAGE_WORDS_EN)
}

/// The words for a text and a binary message (WebSocket), in English.
pub const MESSAGE_WORDS_EN: [&str; 2] = ["text", "binary"];

/// [`format_row`], with a message's kind said in `words` (text, binary).
pub fn format_row_with(
    entry: &LogEntry,
    display: DisplayMode,
    encoding: TextEncoding,
    limit: usize,
    words: [&str; 2],
) -> String {
    let mut out = clock(entry.time);
    let tag = match entry.kind {
        EntryKind::Rx => "RX",
        EntryKind::Tx => "TX",
        EntryKind::Info => "--",
        EntryKind::Error => "!!",
    };
    let _ = write!(out, "  {tag}  ");
    if let Some(peer) = entry.peer {
        let _ = write!(out, "{peer}  ");
    }
    if matches!(entry.kind, EntryKind::Info | EntryKind::Error) {
        // A note's first line is what happened; more lines (the system's words) are one click
        // away in a row, and kept on the same line in a copy or a saved log.
        let text = String::from_utf8_lossy(&entry.bytes);
        match text.split_once('\n') {
            Some((first, _)) if limit <= ROW_BYTES => {
                out.push_str(first);
                out.push_str("  […]");
            }
            _ => out.push_str(&text.replace('\n', "  |  ")),
        }
        return out;
    }
    let shown = &entry.bytes[..entry.bytes.len().min(limit)];
    // A message (WebSocket): its kind beside its size.
    let message = match entry.frame.and_then(|f| f.message) {
        Some(crate::engine::MessageKind::Text) => format!(", {}", words[0]),
        Some(crate::engine::MessageKind::Binary) => format!(", {}", words[1]),
        None => String::new(),
    };
    match entry.frame.and_then(|f| f.dt) {
        // A frame: its size and the time since the previous frame (µs; exact in the detail).
        Some(dt) => {
            let _ = write!(
                out,
                "({} B{message}, Δt {:.3} ms)  ",
                entry.bytes.len(),
                dt.as_secs_f64() * 1e3
            );
        }
        None => {
            let _ = write!(out, "({} B{message})  ", entry.bytes.len());
        }
    }
    if let Some(d) = &entry.decoded {
        // Decoded: what the frame means first, then its bytes as the log shows them.
        let _ = write!(out, "{}  |  ", d.summary);
    }
    match display {
        DisplayMode::Text => out.push_str(&text_for_display(shown, encoding)),
        DisplayMode::Hex => out.push_str(&encode_hex(shown)),
        DisplayMode::Both => {
            out.push_str(&text_for_display(shown, encoding));
            out.push_str("  |  ");
            out.push_str(&encode_hex(shown));
        }
    }
    if entry.bytes.len() > limit {
        let _ = write!(out, " … (+{} B)", entry.bytes.len() - limit);
    }
    out
}

/// A decoded frame's fields, one per line: `name = value unit   @offset+len  hex`.
pub fn decoded_detail(d: &DecodedRow, bytes: &[u8]) -> String {
    let mut out = d.summary.clone();
    for f in &d.fields {
        let _ = write!(out, "\n{} = {}", f.name, f.value);
        if let Some(unit) = &f.unit {
            let _ = write!(out, " {unit}");
        }
        if f.len > 0 {
            let raw = bytes.get(f.offset..f.offset + f.len).unwrap_or_default();
            let _ = write!(out, "   @{}+{}  {}", f.offset, f.len, encode_hex(raw));
        }
    }
    out
}

/// The CSV word for a frame's kind.
fn frame_word(kind: crate::payload::framing::FrameKind) -> &'static str {
    use crate::payload::framing::FrameKind as K;
    match kind {
        K::Whole => "whole",
        K::Oversize => "oversize",
        K::Incomplete => "incomplete",
        K::Malformed => "malformed",
    }
}

pub fn write_log(
    entries: &[Arc<LogEntry>],
    csv: bool,
    encoding: TextEncoding,
    out: &mut impl std::io::Write,
) -> std::io::Result<()> {
    if csv {
        writeln!(out, "time,direction,peer,length,text,hex,frame,dt_ms")?;
    }
    for e in entries {
        if csv {
            let dir = match e.kind {
                EntryKind::Rx => "rx",
                EntryKind::Tx => "tx",
                EntryKind::Info => "info",
                EntryKind::Error => "error",
            };
            let text = match e.kind {
                EntryKind::Rx | EntryKind::Tx => encoding.decode(&e.bytes),
                _ => String::from_utf8_lossy(&e.bytes).into_owned(),
            };
            let (frame, dt) = match e.frame {
                Some(f) => (
                    frame_word(f.kind),
                    f.dt.map(|d| format!("{:.6}", d.as_secs_f64() * 1e3))
                        .unwrap_or_default(),
                ),
                None => ("", String::new()),
            };
            writeln!(
                out,
                "{},{},{},{},\"{}\",{},{},{}",
                chrono::DateTime::<chrono::Local>::from(e.time).format("%Y-%m-%d %H:%M:%S%.6f"),
                dir,
                e.peer.map(|p| p.to_string()).unwrap_or_default(),
                e.bytes.len(),
                text.replace('"', "\"\""),
                encode_hex(&e.bytes),
                frame,
                dt
            )?;
        } else {
            writeln!(
                out,
                "{}",
                format_row(e, DisplayMode::Both, encoding, usize::MAX)
            )?;
        }
    }
    Ok(())
}
