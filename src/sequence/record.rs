//! Recording: what a tester did by hand (sends, what came back, the pauses) turned into a
//! sequence that replays it. Pure: events in, steps out.

use super::{Connection, ConnectionKind, Sequence, Step};
use crate::payload::matcher::MatchKind;
use crate::payload::TextEncoding;
use std::time::{Duration, SystemTime};

/// Pauses shorter than this before a send are not worth a `wait_ms` step.
const SHORTEST_WAIT: Duration = Duration::from_millis(20);
/// The time an expectation is given: what it took when recorded, times this, at least
/// [`MIN_TIMEOUT`].
const TIMEOUT_FACTOR: u32 = 3;
const MIN_TIMEOUT: Duration = Duration::from_millis(1000);

/// An empty step done once (as a file would say it).
fn step() -> Step {
    Step {
        times: 1,
        ..Step::default()
    }
}

/// Turns a session's sends and receives into steps.
#[derive(Clone, Debug)]
pub struct Recorder {
    encoding: TextEncoding,
    /// Received data is framed: each frame is an expectation of its own.
    framed: bool,
    steps: Vec<Step>,
    /// When the previous send or receive happened.
    last: Option<SystemTime>,
    /// Received since the last send, not yet an expectation (unframed: one expectation).
    pending: Vec<u8>,
    /// When the last send went (an expectation's time counts from there).
    sent_at: Option<SystemTime>,
    /// When the pending data's last piece arrived.
    pending_at: Option<SystemTime>,
}

impl Recorder {
    /// A recorder writing text in `encoding`; `framed`: each received frame is one `expect`.
    pub fn new(encoding: TextEncoding, framed: bool) -> Self {
        Self {
            encoding,
            framed,
            steps: Vec::new(),
            last: None,
            pending: Vec::new(),
            sent_at: None,
            pending_at: None,
        }
    }

    /// Bytes sent at `time`: a `send` step, after a `wait_ms` step for the pause before it.
    pub fn sent(&mut self, bytes: &[u8], time: SystemTime) {
        self.close_expectation();
        if let Some(pause) = self.last.and_then(|l| time.duration_since(l).ok()) {
            if pause >= SHORTEST_WAIT {
                self.steps.push(Step {
                    wait_ms: Some(pause.as_millis() as u64),
                    ..step()
                });
            }
        }
        self.steps.push(self.send_step(bytes));
        self.last = Some(time);
        self.sent_at = Some(time);
    }

    /// Bytes (a read, or with framing one frame) received at `time`.
    pub fn received(&mut self, bytes: &[u8], time: SystemTime) {
        self.pending.extend_from_slice(bytes);
        self.pending_at = Some(time);
        self.last = Some(time);
        if self.framed {
            self.close_expectation();
        }
    }

    /// The sequence recorded so far. Recorded on the device's side (a server, a listening UDP
    /// socket), it waits for requests as long as a simulator does: a client's pace is not its own.
    pub fn sequence(&self, name: &str, mut connection: Connection) -> Sequence {
        let mut copy = self.clone();
        copy.close_expectation();
        let listening = connection.kind == ConnectionKind::TcpServer
            || (connection.kind == ConnectionKind::Udp && connection.remote.is_empty());
        if listening {
            for step in &mut copy.steps {
                step.timeout_ms = None;
            }
            connection.timeout_ms = Some(super::simulate::REQUEST_WAIT_MS);
        }
        Sequence {
            name: name.to_string(),
            script: None,
            connection,
            repeat: 1,
            steps: copy.steps,
        }
    }

    fn close_expectation(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let took = match (self.sent_at, self.pending_at) {
            (Some(sent), Some(got)) => got.duration_since(sent).unwrap_or_default(),
            _ => Duration::ZERO,
        };
        let timeout = (took * TIMEOUT_FACTOR).max(MIN_TIMEOUT);
        let bytes = std::mem::take(&mut self.pending);
        self.steps.push(Step {
            expect: Some(crate::payload::hex::encode_hex(&bytes)),
            match_kind: Some(MatchKind::ExactHex),
            timeout_ms: Some(timeout.as_millis() as u64),
            ..step()
        });
        // The next expectation's time counts from this one.
        self.sent_at = self.pending_at;
    }

    /// A send step: text (with escapes for CR, LF, tab) when the bytes are text in the
    /// encoding and read back the same, else hex.
    fn send_step(&self, bytes: &[u8]) -> Step {
        let text = self.encoding.decode(bytes);
        let plain = !text.contains('\u{FFFD}')
            && text
                .chars()
                .all(|c| !c.is_control() || matches!(c, '\r' | '\n' | '\t'))
            && self.encoding.encode(&text).is_ok_and(|b| b == bytes);
        if plain && !text.contains('\\') {
            let escaped = text
                .replace('\r', "\\r")
                .replace('\n', "\\n")
                .replace('\t', "\\t");
            Step {
                escapes: escaped != text,
                send: Some(escaped),
                ..step()
            }
        } else {
            Step {
                send: Some(crate::payload::hex::encode_hex(bytes)),
                hex: true,
                ..step()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connection() -> Connection {
        Connection {
            kind: ConnectionKind::TcpClient,
            remote: "127.0.0.1:502".into(),
            bind: None,
            encoding: Some("gbk".into()),
            timeout_ms: None,
            frame: None,
            ..Connection::default()
        }
    }

    /// A step as (send, hex, escapes, expect, wait_ms, timeout_ms).
    type Shape<'a> = (
        Option<&'a str>,
        bool,
        bool,
        Option<&'a str>,
        Option<u64>,
        Option<u64>,
    );

    #[test]
    fn a_session_becomes_sends_waits_and_exact_expectations() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let ms = |n| t0 + Duration::from_millis(n);
        let mut rec = Recorder::new(TextEncoding::Gbk, false);
        rec.sent("读温度\r\n".as_bytes(), ms(0));
        rec.received(&TextEncoding::Gbk.encode("温度=").unwrap(), ms(40));
        rec.received(b"23.5\r\n", ms(45));
        rec.sent(&[0x01, 0x03, 0x00, 0x00], ms(1_545));
        rec.received(&[0x01, 0x03, 0x02], ms(1_600));
        let seq = rec.sequence("recorded", connection());
        let steps: Vec<Shape> = seq
            .steps
            .iter()
            .map(|s| {
                (
                    s.send.as_deref(),
                    s.hex,
                    s.escapes,
                    s.expect.as_deref(),
                    s.wait_ms,
                    s.timeout_ms,
                )
            })
            .collect();
        let gbk_hex = crate::payload::hex::encode_hex(
            &[
                TextEncoding::Gbk.encode("温度=").unwrap(),
                b"23.5\r\n".to_vec(),
            ]
            .concat(),
        );
        assert_eq!(
            steps,
            [
                // UTF-8 text in a GBK session is not GBK text: hex, byte-exact.
                (
                    Some(crate::payload::hex::encode_hex("读温度\r\n".as_bytes()).as_str()),
                    true,
                    false,
                    None,
                    None,
                    None
                ),
                (None, false, false, Some(gbk_hex.as_str()), None, Some(1000)),
                (None, false, false, None, Some(1500), None),
                (Some("01 03 00 00"), true, false, None, None, None),
                (None, false, false, Some("01 03 02"), None, Some(1000)),
            ]
        );
        // Text in the session's encoding is kept as text, CR LF as escapes.
        let mut rec = Recorder::new(TextEncoding::Gbk, true);
        rec.sent(&TextEncoding::Gbk.encode("读温度\r\n").unwrap(), ms(0));
        rec.received(b"A\n", ms(1));
        rec.received(b"B\n", ms(2));
        let seq = rec.sequence("framed", connection());
        assert_eq!(seq.steps[0].send.as_deref(), Some("读温度\\r\\n"));
        assert!(seq.steps[0].escapes && !seq.steps[0].hex);
        assert_eq!(seq.steps.len(), 3, "framed: one expectation per frame");
        // What is written reads back as the same sequence.
        let toml = seq.to_toml();
        assert!(!toml.contains("times = 0"), "{toml}");
        let again = Sequence::parse(&toml).unwrap();
        assert_eq!(again.steps.len(), 3);
    }
}
