//! Prints engine events as text, hex, JSON lines or a summary.

use super::OutputFormat;
use crate::engine::{CloseReason, CountersSnapshot, Direction, Event};
use crate::payload::decode::{DecodeError, DecodeSpec, Decoded, Decoder};
use crate::payload::framing::FrameKind;
use crate::payload::hex::{encode_hex, encode_hex_compact};
use crate::payload::{text_for_display, TextEncoding};
use serde_json::json;
use std::collections::HashMap;
use std::io::{BufWriter, Stdout, Write};
use std::time::SystemTime;

/// Turns events into lines on stdout (data, JSON) and stderr (status in text/hex modes).
pub(super) struct Printer {
    format: OutputFormat,
    encoding: TextEncoding,
    out: BufWriter<Stdout>,
    totals: CountersSnapshot,
    /// Automatic replies the loop guard held back.
    replies_suppressed: u64,
    failed: bool,
    /// Files sent or received whole.
    pub files_done: u64,
    /// `--decode`: how frames become values, and each connection's decoder (by connection,
    /// or by peer for UDP; forgotten when the connection closes, at most `MAX_DECODERS`).
    decode: Option<DecodeSpec>,
    decoders: HashMap<String, Decoder>,
    /// A serial port's name and settings, said instead of an address (a port has none).
    endpoint: Option<String>,
    /// A bridge's serial side, said instead of the unspecified address its chunks carry.
    target: Option<String>,
}

/// Peers decoded at once; past it the oldest-made decoder's pairing state is let go.
const MAX_DECODERS: usize = 4096;

fn clock(time: SystemTime) -> String {
    chrono::DateTime::<chrono::Local>::from(time)
        .format("%H:%M:%S%.3f")
        .to_string()
}

fn rfc3339(time: SystemTime) -> String {
    chrono::DateTime::<chrono::Local>::from(time)
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, false)
}

impl Printer {
    pub fn new(format: OutputFormat, encoding: TextEncoding) -> Self {
        Self {
            format,
            encoding,
            out: BufWriter::with_capacity(1 << 16, std::io::stdout()),
            totals: CountersSnapshot::default(),
            replies_suppressed: 0,
            failed: false,
            files_done: 0,
            decode: None,
            decoders: HashMap::new(),
            endpoint: None,
            target: None,
        }
    }

    /// Names a bridge's serial side where its (absent) address would be shown.
    pub fn name_target(&mut self, name: String) {
        self.target = Some(name);
    }

    /// Names the session's far end (a serial port) where an address would be shown.
    pub fn name_endpoint(&mut self, name: String) {
        self.endpoint = Some(name);
    }

    /// What a chunk's peer is shown as.
    fn peer_text(&self, peer: std::net::SocketAddr) -> String {
        match (&self.endpoint, &self.target) {
            (Some(name), _) => name.clone(),
            (None, Some(port)) if peer == crate::engine::serial::NO_ADDRESS => port.clone(),
            _ => peer.to_string(),
        }
    }

    /// The same printer, decoding each frame with `spec`.
    pub fn decoding(mut self, spec: Option<DecodeSpec>) -> Self {
        self.decode = spec;
        self
    }

    /// The frame decoded by its connection's decoder, if decoding.
    fn decoded(
        &mut self,
        conn: Option<crate::engine::ConnId>,
        chunk: &crate::engine::Chunk,
        bytes: &[u8],
    ) -> Option<Result<Decoded, DecodeError>> {
        let spec = self.decode.as_ref()?;
        let sent = chunk.dir == Direction::Tx;
        // One decoder per connection (UDP: per peer).
        let key = match conn {
            Some(c) => c.0.to_string(),
            None => chunk.peer.to_string(),
        };
        if !self.decoders.contains_key(&key) && self.decoders.len() >= MAX_DECODERS {
            self.decoders.clear();
        }
        let decoder = self
            .decoders
            .entry(key)
            .or_insert_with(|| Decoder::new(spec.clone()));
        Some(decoder.decode(sent, bytes))
    }

    /// Did any error happen?
    pub fn failed(&self) -> bool {
        self.failed
    }

    fn json(&mut self, value: serde_json::Value) {
        let _ = writeln!(self.out, "{value}");
    }

    /// A status line: JSON in jsonl mode, stderr in text and hex modes, nothing in summary.
    fn status(&mut self, text: String, value: serde_json::Value) {
        match self.format {
            OutputFormat::Jsonl => self.json(value),
            OutputFormat::Text | OutputFormat::Hex => {
                let _ = self.out.flush();
                eprintln!("sockscope: {text}");
            }
            OutputFormat::Summary => {}
        }
    }

    /// An error or warning: a JSON object in jsonl mode, else a line on stderr (also in
    /// summary mode: a failure is never silent).
    fn problem(&mut self, word: &str, error: &crate::engine::NetError) {
        let _ = self.out.flush();
        match self.format {
            OutputFormat::Jsonl => {
                self.json(json!({"event": word, "kind": format!("{:?}", error.kind),
                                 "message": error.to_string()}));
            }
            _ => eprintln!("sockscope: {word}: {error}"),
        }
    }

    /// Prints one event.
    pub fn event(&mut self, event: &Event) {
        match event {
            Event::Opened { local, peer, .. } => match self.endpoint.clone() {
                Some(port) => self.status(
                    format!("opened {port}"),
                    json!({"event": "opened", "port": port}),
                ),
                None => {
                    let text = match peer {
                        Some(p) => format!("connected to {p} from {local}"),
                        None => format!("open on {local}"),
                    };
                    self.status(
                        text,
                        json!({"event": "opened", "local": local.to_string(),
                               "peer": peer.map(|p| p.to_string())}),
                    );
                }
            },
            // A serial port's one "connection" is the port itself: said once, as opened.
            Event::ConnOpened { .. } if self.endpoint.is_some() => {}
            Event::ConnOpened { peer, conn, .. } => self.status(
                format!("{peer} connected"),
                json!({"event": "connected", "peer": peer.to_string(), "conn": conn.0}),
            ),
            Event::Secured {
                peer, conn, info, ..
            } => {
                let unsafe_note = if info.unverified {
                    " — NOT VERIFIED (--insecure): anyone could be answering"
                } else {
                    ""
                };
                self.status(
                    format!("{peer} TLS: {info}{unsafe_note}"),
                    json!({"event": "tls", "peer": peer.to_string(), "conn": conn.0,
                           "version": info.version, "cipher": info.cipher, "alpn": info.alpn,
                           "verified": !info.unverified,
                           "certificate": info.peer.as_ref().map(|c| json!({
                               "subject": c.subject, "issuer": c.issuer,
                               "not_before": c.not_before, "not_after": c.not_after,
                               "sha256": c.fingerprint}))}),
                );
            }
            Event::ConnClosed {
                peer, conn, reason, ..
            } => {
                self.decoders.remove(&conn.0.to_string());
                let why = match reason {
                    CloseReason::PeerClosed => "closed by peer".to_string(),
                    CloseReason::LocalClosed => "closed".to_string(),
                    // A connection that failed (reset, a TLS alert) is a network failure.
                    CloseReason::Failed(e) => {
                        self.failed = true;
                        e.to_string()
                    }
                };
                let peer = self.peer_text(*peer);
                let failed = matches!(reason, CloseReason::Failed(_));
                if failed && matches!(self.format, OutputFormat::Summary) {
                    // A failure is never silent, even when only the summary is printed.
                    eprintln!("sockscope: {peer} disconnected: {why}");
                } else {
                    self.status(
                        format!("{peer} disconnected: {why}"),
                        json!({"event": "disconnected", "peer": peer, "conn": conn.0,
                               "reason": why}),
                    );
                }
            }
            Event::Data {
                chunks,
                omitted_bytes,
                omitted_packets,
                conn,
                ..
            } => {
                if *omitted_bytes > 0 {
                    self.status(
                        format!("{omitted_bytes} bytes ({omitted_packets} pieces) not shown: output too slow"),
                        json!({"event": "omitted", "bytes": omitted_bytes, "packets": omitted_packets}),
                    );
                }
                for (chunk, (bytes, frame)) in
                    chunks.iter().flat_map(|c| c.pieces().map(move |p| (c, p)))
                {
                    let decoded = self.decoded(*conn, chunk, bytes);
                    match self.format {
                        OutputFormat::Jsonl => {
                            let mut line = json!({
                                "event": "data",
                                "time": rfc3339(chunk.time),
                                "peer": self.peer_text(chunk.peer),
                                "conn": conn.map(|c| c.0),
                                "dir": dir_name(chunk.dir),
                                "len": bytes.len(),
                                "hex": encode_hex_compact(bytes),
                                "text": self.encoding.decode(bytes),
                            });
                            // A frame says so, with what is unusual about it and its Δt.
                            if let (Some(frame), Some(fields)) = (frame, line.as_object_mut()) {
                                fields.insert("frame".into(), json!(true));
                                match frame.kind {
                                    FrameKind::Whole => {}
                                    FrameKind::Oversize => {
                                        fields.insert("oversize".into(), json!(true));
                                    }
                                    FrameKind::Incomplete => {
                                        fields.insert("incomplete".into(), json!(true));
                                    }
                                    FrameKind::Malformed => {
                                        fields.insert("malformed".into(), json!(true));
                                    }
                                }
                                if let Some(dt) = frame.dt {
                                    fields.insert("dt_ms".into(), json!(dt.as_secs_f64() * 1e3));
                                }
                                if let Some(message) = frame.message {
                                    fields.insert("message".into(), json!(message_name(message)));
                                }
                            }
                            if let (Some(decoded), Some(fields)) = (&decoded, line.as_object_mut())
                            {
                                match decoded {
                                    Ok(d) => {
                                        fields.insert("fields".into(), d.fields_json());
                                        fields.insert("summary".into(), json!(d.summary_en()));
                                    }
                                    Err(e) => {
                                        fields.insert("decode_error".into(), json!(e.to_string()));
                                    }
                                }
                            }
                            self.json(line);
                        }
                        OutputFormat::Text | OutputFormat::Hex => {
                            let shown = match &decoded {
                                // Decoded: the summary line, then the bytes as hex.
                                Some(Ok(d)) => {
                                    format!("{} | {}", d.summary_en(), encode_hex(bytes))
                                }
                                Some(Err(e)) => {
                                    format!("(not decoded: {e}) {}", encode_hex(bytes))
                                }
                                None if self.format == OutputFormat::Hex => encode_hex(bytes),
                                None => text_for_display(bytes, self.encoding),
                            };
                            let kind = frame
                                .and_then(|f| f.message)
                                .map(|m| format!(" {}", message_name(m)))
                                .unwrap_or_default();
                            let _ = writeln!(
                                self.out,
                                "[{}] {} {} ({} B{kind}): {}",
                                clock(chunk.time),
                                dir_name(chunk.dir).to_uppercase(),
                                self.peer_text(chunk.peer),
                                bytes.len(),
                                shown
                            );
                        }
                        OutputFormat::Summary => {}
                    }
                }
            }
            Event::Stats { stats, .. } => {
                self.totals = stats.total;
                self.replies_suppressed = stats.replies_suppressed;
            }
            Event::Error { error, .. }
            | Event::Closed {
                error: Some(error), ..
            } => {
                self.failed = true;
                self.problem("error", error);
            }
            // A warning is said the same way but does not make the run fail.
            Event::Warning { error, .. } => self.problem("warning", error),
            Event::ScriptLog { text, .. } => self.status(
                format!("script: {text}"),
                json!({"event": "script", "text": text}),
            ),
            Event::ModemLines { lines, .. } => self.status(
                lines.to_string(),
                json!({"event": "modem", "cts": lines.cts, "dsr": lines.dsr, "ri": lines.ri, "cd": lines.cd}),
            ),
            Event::LineChanged { peer, change, .. } => self.status(
                if *peer == crate::engine::serial::NO_ADDRESS {
                    format!("{change}")
                } else {
                    format!("RFC 2217 {peer}: {change}")
                },
                json!({"event": "line", "peer": peer.to_string(), "change": change.to_string()}),
            ),
            // Only sequences ask for send outcomes; a failed send is also an error event.
            Event::SendResult { .. } => {}
            // The run says how its capture ended, after the session (see drive.rs).
            Event::CaptureEnded { .. } => {}
            // The command line keeps nothing to save (no KeepReceived).
            Event::SaveStarted { .. } | Event::SaveProgress { .. } | Event::Saved { .. } => {}
            Event::ListenStopped { .. } => self.status(
                "stopped listening".into(),
                json!({"event": "listen_stopped"}),
            ),
            Event::RepeatDone { sent, .. } => self.status(
                format!("sent {sent} times"),
                json!({"event": "repeat_done", "sent": sent}),
            ),
            Event::Progress {
                done, total, rate, ..
            } => {
                let of = total.map(|t| format!(" of {t}")).unwrap_or_default();
                self.status(
                    format!("{done}{of} bytes ({:.1} MiB/s)", rate / 1048576.0),
                    json!({"event": "progress", "done": done, "total": total, "rate": rate}),
                );
            }
            Event::FileDone {
                path,
                bytes,
                sha256,
                resumed_from,
                ..
            } => {
                self.files_done += 1;
                let hash = sha256
                    .as_ref()
                    .map(|h| format!(", SHA-256 {h} verified"))
                    .unwrap_or_default();
                let resumed = if *resumed_from > 0 {
                    format!(", resumed at {resumed_from}")
                } else {
                    String::new()
                };
                self.status(
                    format!("file {} done: {bytes} bytes{hash}{resumed}", path.display()),
                    json!({"event": "file_done", "path": path.display().to_string(), "bytes": bytes,
                           "sha256": sha256, "resumed_from": resumed_from}),
                );
            }
            Event::Ws {
                peer,
                conn,
                time,
                note,
                ..
            } => self.ws_note(*peer, *conn, *time, note),
            Event::Closed { error: None, .. } => {}
        }
        if matches!(event, Event::Closed { .. }) {
            self.status("closed".into(), json!({"event": "closed"}));
        }
    }

    /// Prints the summary and flushes.
    pub fn finish(&mut self) {
        let t = self.totals;
        let mut summary = json!({"event": "summary", "rx_bytes": t.rx_bytes, "tx_bytes": t.tx_bytes,
                             "rx_packets": t.rx_packets, "tx_packets": t.tx_packets});
        if self.replies_suppressed > 0 {
            summary["replies_suppressed"] = self.replies_suppressed.into();
        }
        match self.format {
            OutputFormat::Jsonl | OutputFormat::Summary => self.json(summary),
            OutputFormat::Text | OutputFormat::Hex => eprintln!(
                "sockscope: received {} B in {} pieces, sent {} B in {} pieces",
                t.rx_bytes, t.rx_packets, t.tx_bytes, t.tx_packets
            ),
        }
        self.flush();
    }

    /// Flushes stdout.
    pub fn flush(&mut self) {
        let _ = self.out.flush();
    }
}

impl Printer {
    /// A WebSocket connection's upgrade, ping, pong or close: a line of its own, in order.
    fn ws_note(
        &mut self,
        peer: std::net::SocketAddr,
        conn: crate::engine::ConnId,
        time: SystemTime,
        note: &crate::engine::ws::WsNote,
    ) {
        use crate::engine::ws::WsNote;
        let headers = |h: &[(String, String)]| {
            serde_json::Value::Object(h.iter().map(|(k, v)| (k.clone(), json!(v))).collect())
        };
        let value = match note {
            WsNote::Request {
                dir,
                line,
                headers: h,
            } => json!({"event": "ws", "op": "request",
                "dir": dir_name(*dir), "line": line, "headers": headers(h)}),
            WsNote::Response {
                dir,
                status,
                reason,
                headers: h,
            } => json!({"event": "ws",
                "op": "response", "dir": dir_name(*dir), "status": status, "reason": reason,
                "headers": headers(h)}),
            WsNote::Upgraded {
                subprotocol,
                path,
                user_agent,
            } => json!({"event": "ws",
                "op": "open", "subprotocol": subprotocol, "path": path, "user_agent": user_agent}),
            WsNote::Ping {
                dir,
                len,
                automatic,
            } => json!({"event": "ws", "op": "ping",
                "dir": dir_name(*dir), "len": len, "automatic": automatic}),
            WsNote::Pong {
                dir,
                len,
                rtt,
                automatic,
            } => json!({"event": "ws", "op": "pong",
                "dir": dir_name(*dir), "len": len, "automatic": automatic,
                "rtt_ms": rtt.map(|r| r.as_secs_f64() * 1e3)}),
            WsNote::Close { dir, code, reason } => json!({"event": "ws", "op": "close",
                "dir": dir_name(*dir), "code": code, "reason": reason,
                "meaning": code.map(crate::engine::ws::close_code_words)}),
        };
        let mut value = value;
        value["time"] = json!(rfc3339(time));
        value["peer"] = json!(peer.to_string());
        value["conn"] = json!(conn.0);
        self.status(format!("[{}] {peer} {note}", clock(time)), value);
    }
}

/// A message's kind as the output names it.
fn message_name(kind: crate::engine::MessageKind) -> &'static str {
    match kind {
        crate::engine::MessageKind::Text => "text",
        crate::engine::MessageKind::Binary => "binary",
    }
}

/// A direction as the output names it.
fn dir_name(dir: Direction) -> &'static str {
    match dir {
        Direction::Rx => "rx",
        Direction::Tx => "tx",
    }
}
