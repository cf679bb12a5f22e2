//! Framing: turning a byte stream (whatever each `read()` happened to return) into the
//! messages a device sent. Pure and incremental: bytes go in as they arrive, whole frames come
//! out, the state between calls is kept, so any split of a stream into reads gives the same
//! frames.
//!
//! Specs, as typed in the window and on the command line:
//! `none`, `line`, `delimiter:HEX`, `fixed:N`, `length:OFFSET:SIZE:ENDIAN[:ADJUST]`,
//! `idle:MS`, `slip`, `cobs`.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

mod codecs;

use codecs::find;
pub use codecs::{cobs_decode, cobs_encode, slip_decode, slip_encode};

/// The largest frame kept whole unless told otherwise: 1 MiB.
pub const DEFAULT_MAX_FRAME: usize = 1 << 20;

/// How a stream is cut into frames.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum FrameSpec {
    /// Each read is shown as it came (no framing).
    #[default]
    None,
    /// A frame ends after a line feed (a CR before it stays in the frame).
    Line,
    /// A frame ends after this byte sequence, which stays part of the frame.
    Delimiter(Vec<u8>),
    /// Frames of exactly this many bytes.
    Fixed(usize),
    /// A length field of `size` bytes (1, 2 or 4) at `offset`; the whole frame is the field's
    /// value plus `adjust` bytes (Modbus TCP: `length:4:2:be:6`).
    Length {
        offset: usize,
        size: usize,
        big_endian: bool,
        adjust: i64,
    },
    /// A frame ends after this long without data.
    Idle(Duration),
    /// SLIP (RFC 1055): frames end at 0xC0, decoded.
    Slip,
    /// COBS: frames end at 0x00, decoded.
    Cobs,
}

/// Why a frame spec cannot be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameSpecError {
    /// Not one of the known kinds.
    #[error("unknown framing '{0}': use none, line, delimiter:HEX, fixed:N, length:OFFSET:SIZE:be|le[:ADJUST], idle:MS, slip or cobs")]
    Unknown(String),
    /// A kind with a missing or bad value.
    #[error("bad framing '{spec}': {why}")]
    Bad { spec: String, why: &'static str },
}

impl FromStr for FrameSpec {
    type Err = FrameSpecError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let spec = text.trim();
        let bad = |why| FrameSpecError::Bad {
            spec: spec.to_string(),
            why,
        };
        let mut parts = spec.split(':');
        let kind = parts.next().unwrap_or("").to_ascii_lowercase();
        let rest: Vec<&str> = parts.collect();
        let number = |s: &str| s.trim().parse::<u64>().ok();
        match (kind.as_str(), rest.as_slice()) {
            ("none", []) => Ok(Self::None),
            ("line", []) => Ok(Self::Line),
            ("slip", []) => Ok(Self::Slip),
            ("cobs", []) => Ok(Self::Cobs),
            ("delimiter", [hex]) => match super::hex::decode_hex(hex) {
                Ok(bytes) if !bytes.is_empty() => Ok(Self::Delimiter(bytes)),
                _ => Err(bad(
                    "the delimiter is one or more hex bytes, e.g. 7E or 0D0A",
                )),
            },
            ("fixed", [n]) => match number(n) {
                Some(n) if n > 0 => Ok(Self::Fixed(n as usize)),
                _ => Err(bad("fixed needs a size of at least 1 byte")),
            },
            ("idle", [ms]) => match number(ms) {
                Some(ms) if (1..=3_600_000).contains(&ms) => {
                    Ok(Self::Idle(Duration::from_millis(ms)))
                }
                _ => Err(bad("idle needs a silence of 1 to 3600000 ms")),
            },
            ("length", [offset, size, endian, adjust @ ..]) if adjust.len() <= 1 => {
                let offset = number(offset).ok_or(bad("the offset is a number of bytes"))?;
                let size = match number(size) {
                    Some(s @ (1 | 2 | 4)) => s as usize,
                    _ => return Err(bad("the length field is 1, 2 or 4 bytes")),
                };
                let big_endian = match endian.to_ascii_lowercase().as_str() {
                    "be" => true,
                    "le" => false,
                    _ => return Err(bad("the byte order is be or le")),
                };
                let adjust = match adjust.first() {
                    Some(a) => a
                        .trim()
                        .parse::<i64>()
                        .map_err(|_| bad("the adjustment is a whole number, e.g. 6 or -2"))?,
                    None => 0,
                };
                Ok(Self::Length {
                    offset: offset as usize,
                    size,
                    big_endian,
                    adjust,
                })
            }
            ("none" | "line" | "slip" | "cobs" | "delimiter" | "fixed" | "idle" | "length", _) => {
                Err(bad("wrong number of values after the kind"))
            }
            _ => Err(FrameSpecError::Unknown(spec.to_string())),
        }
    }
}

impl fmt::Display for FrameSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::None => f.write_str("none"),
            Self::Line => f.write_str("line"),
            Self::Delimiter(d) => write!(f, "delimiter:{}", super::hex::encode_hex_compact(d)),
            Self::Fixed(n) => write!(f, "fixed:{n}"),
            Self::Length {
                offset,
                size,
                big_endian,
                adjust,
            } => {
                let order = if *big_endian { "be" } else { "le" };
                write!(f, "length:{offset}:{size}:{order}:{adjust}")
            }
            Self::Idle(d) => write!(f, "idle:{}", d.as_millis()),
            Self::Slip => f.write_str("slip"),
            Self::Cobs => f.write_str("cobs"),
        }
    }
}

/// Why a message cannot be framed for sending.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameEncodeError {
    /// Longer than a `fixed:N` frame.
    #[error("{len} bytes do not fit a fixed:{size} frame")]
    TooLongForFixed { len: usize, size: usize },
    /// The length does not fit the length field (or is negative after the adjustment).
    #[error("a frame of {total} bytes cannot be described by a {size}-byte length field with adjustment {adjust}")]
    LengthDoesNotFit {
        total: usize,
        size: usize,
        adjust: i64,
    },
    /// The message is shorter than the bytes that go before the length field.
    #[error("the message has {len} bytes; the length field goes after the first {offset}")]
    ShorterThanOffset { len: usize, offset: usize },
}

impl FrameSpec {
    /// `message` framed the way this spec reads frames, ready to send: a line feed or the
    /// delimiter appended, zeros up to a fixed size, the length field inserted at its offset
    /// (its value: the whole frame less the adjustment), SLIP or COBS encoded.
    pub fn encode(&self, message: &[u8]) -> Result<Vec<u8>, FrameEncodeError> {
        let mut out = message.to_vec();
        match self {
            Self::None | Self::Idle(_) => {}
            Self::Line => out.push(b'\n'),
            Self::Delimiter(d) => out.extend_from_slice(d),
            Self::Fixed(size) => {
                if message.len() > *size {
                    return Err(FrameEncodeError::TooLongForFixed {
                        len: message.len(),
                        size: *size,
                    });
                }
                out.resize(*size, 0);
            }
            Self::Length {
                offset,
                size,
                big_endian,
                adjust,
            } => {
                if message.len() < *offset {
                    return Err(FrameEncodeError::ShorterThanOffset {
                        len: message.len(),
                        offset: *offset,
                    });
                }
                let total = message.len() + size;
                let too_big = FrameEncodeError::LengthDoesNotFit {
                    total,
                    size: *size,
                    adjust: *adjust,
                };
                let value = u64::try_from(total as i128 - i128::from(*adjust))
                    .map_err(|_| too_big.clone())?;
                if *size < 8 && value >> (size * 8) != 0 {
                    return Err(too_big);
                }
                let bytes = value.to_be_bytes();
                let mut field = bytes[8 - size..].to_vec();
                if !big_endian {
                    field.reverse();
                }
                out.splice(offset..offset, field);
            }
            Self::Slip => out = slip_encode(message),
            Self::Cobs => out = cobs_encode(message),
        }
        Ok(out)
    }
}

/// What a frame is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameKind {
    /// A whole frame.
    Whole,
    /// Part of a frame longer than the maximum, cut there (the rest follows, also oversize).
    Oversize,
    /// What was left when the stream ended before the frame did.
    Incomplete,
    /// Bytes that do not decode (bad SLIP escape, bad COBS, a length shorter than its header),
    /// passed on as they came.
    Malformed,
}

/// One frame out of the stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// The frame's bytes (decoded, for SLIP and COBS).
    pub bytes: Vec<u8>,
    /// Whole, or why not.
    pub kind: FrameKind,
}

impl Frame {
    fn whole(bytes: Vec<u8>) -> Self {
        Self {
            bytes,
            kind: FrameKind::Whole,
        }
    }
}

/// Cuts one stream into frames, a read at a time.
#[derive(Clone, Debug)]
pub struct Framer {
    spec: FrameSpec,
    max: usize,
    buf: Vec<u8>,
    /// Where to look on for a delimiter (bytes before it were searched already).
    searched: usize,
    /// Bytes of an oversize frame still to pass (length framing), or `usize::MAX` while a
    /// delimited oversize frame runs to its end.
    skipping: usize,
}

impl Framer {
    /// A framer for `spec`, cutting frames longer than `max` bytes (at least 1).
    pub fn new(spec: FrameSpec, max: usize) -> Self {
        Self {
            spec,
            max: max.max(1),
            buf: Vec::new(),
            searched: 0,
            skipping: 0,
        }
    }

    /// The spec this framer follows.
    pub fn spec(&self) -> &FrameSpec {
        &self.spec
    }

    /// Bytes waiting for the rest of their frame.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// Takes bytes as they arrived; adds the frames they complete to `out`.
    pub fn push(&mut self, data: &[u8], out: &mut Vec<Frame>) {
        self.push_with(data, &mut |bytes, kind| {
            out.push(Frame {
                bytes: bytes.to_vec(),
                kind,
            })
        });
    }

    /// Takes bytes as they arrived; hands each frame they complete to `emit`, borrowed (the
    /// caller copies only what it keeps).
    pub fn push_with(&mut self, data: &[u8], emit: &mut dyn FnMut(&[u8], FrameKind)) {
        if data.is_empty() {
            return;
        }
        if self.spec == FrameSpec::None {
            emit(data, FrameKind::Whole);
            return;
        }
        self.buf.extend_from_slice(data);
        match self.spec.clone() {
            FrameSpec::None => {}
            FrameSpec::Line => self.cut_delimited(b"\n", emit),
            FrameSpec::Delimiter(d) => self.cut_delimited(&d, emit),
            FrameSpec::Fixed(n) => self.cut_fixed(n, emit),
            FrameSpec::Length {
                offset,
                size,
                big_endian,
                adjust,
            } => self.cut_length(offset, size, big_endian, adjust, emit),
            FrameSpec::Idle(_) => {
                let mut start = 0;
                while self.buf.len() - start >= self.max {
                    emit(&self.buf[start..start + self.max], FrameKind::Oversize);
                    start += self.max;
                }
                self.buf.drain(..start);
            }
            FrameSpec::Slip => self.cut_encoded(0xC0, slip_decode, emit),
            FrameSpec::Cobs => self.cut_encoded(0x00, cobs_decode, emit),
        }
    }

    /// The frame an `idle:` framer holds, once the line has been silent long enough.
    pub fn idle(&mut self) -> Option<Frame> {
        if !matches!(self.spec, FrameSpec::Idle(_)) || self.buf.is_empty() {
            return None;
        }
        Some(Frame::whole(std::mem::take(&mut self.buf)))
    }

    /// How long silence must last before [`Framer::idle`] ends a frame (idle framing only).
    pub fn idle_after(&self) -> Option<Duration> {
        match self.spec {
            FrameSpec::Idle(d) => Some(d),
            _ => None,
        }
    }

    /// The stream ended: what is left, as an incomplete frame (an idle frame is whole).
    pub fn finish(&mut self) -> Option<Frame> {
        self.searched = 0;
        self.skipping = 0;
        if self.buf.is_empty() {
            return None;
        }
        let bytes = std::mem::take(&mut self.buf);
        let kind = match self.spec {
            FrameSpec::Idle(_) => FrameKind::Whole,
            _ => FrameKind::Incomplete,
        };
        Some(Frame { bytes, kind })
    }

    fn cut_delimited(&mut self, delim: &[u8], emit: &mut dyn FnMut(&[u8], FrameKind)) {
        // Frames are copied out from `start` on; the buffer is shifted once, at the end.
        let mut start = 0;
        loop {
            let rest = &self.buf[start..];
            let from = self.searched.saturating_sub(delim.len() - 1);
            let found = find(&rest[from..], delim).map(|i| from + i + delim.len());
            match found {
                Some(end) if end <= self.max => {
                    let kind = if std::mem::take(&mut self.skipping) > 0 {
                        FrameKind::Oversize
                    } else {
                        FrameKind::Whole
                    };
                    emit(&rest[..end], kind);
                    start += end;
                    self.searched = 0;
                }
                _ if rest.len() > self.max || found.is_some() => {
                    // Too long: pass on the first `max` bytes, keep looking in the rest.
                    emit(&rest[..self.max], FrameKind::Oversize);
                    start += self.max;
                    self.skipping = usize::MAX;
                    self.searched = 0;
                }
                _ => {
                    self.searched = rest.len();
                    self.buf.drain(..start);
                    return;
                }
            }
        }
    }

    fn cut_fixed(&mut self, n: usize, emit: &mut dyn FnMut(&[u8], FrameKind)) {
        let size = n.min(self.max);
        let kind = if n > self.max {
            FrameKind::Oversize
        } else {
            FrameKind::Whole
        };
        let mut at = 0;
        while self.buf.len() - at >= size {
            emit(&self.buf[at..at + size], kind);
            at += size;
        }
        self.buf.drain(..at);
    }

    fn cut_length(
        &mut self,
        offset: usize,
        size: usize,
        big_endian: bool,
        adjust: i64,
        emit: &mut dyn FnMut(&[u8], FrameKind),
    ) {
        let header = offset + size;
        // Frames are copied out from `start` on; the buffer is shifted once, at the end.
        let mut start = 0;
        loop {
            let rest = &self.buf[start..];
            if self.skipping > 0 {
                // The rest of a frame longer than the maximum, passed on in pieces.
                let n = self.skipping.min(rest.len()).min(self.max);
                if n == 0 {
                    break;
                }
                emit(&rest[..n], FrameKind::Oversize);
                start += n;
                self.skipping -= n;
                continue;
            }
            let Some(field) = rest.get(offset..header) else {
                break;
            };
            let mut value: u64 = 0;
            for i in 0..size {
                let b = if big_endian {
                    field[i]
                } else {
                    field[size - 1 - i]
                };
                value = value << 8 | u64::from(b);
            }
            let total = i128::from(value) + i128::from(adjust);
            if total < header as i128 {
                // A length shorter than its own header: nothing to wait for; pass the header on.
                emit(&rest[..header], FrameKind::Malformed);
                start += header;
                continue;
            }
            let total = usize::try_from(total).unwrap_or(usize::MAX);
            if total > self.max {
                self.skipping = total;
                continue;
            }
            if rest.len() < total {
                break;
            }
            emit(&rest[..total], FrameKind::Whole);
            start += total;
        }
        self.buf.drain(..start);
    }

    fn cut_encoded(
        &mut self,
        end: u8,
        decode: fn(&[u8]) -> Option<Vec<u8>>,
        emit: &mut dyn FnMut(&[u8], FrameKind),
    ) {
        let mut at = 0;
        while let Some(i) = memchr::memchr(end, &self.buf[at..]) {
            let raw = &self.buf[at..at + i];
            at += i + 1;
            // Empty frames (two ends in a row, or a leading end) carry nothing.
            if raw.is_empty() {
                continue;
            }
            match decode(raw) {
                Some(bytes) if bytes.len() <= self.max => emit(&bytes, FrameKind::Whole),
                Some(bytes) => emit(&bytes, FrameKind::Oversize),
                None => emit(raw, FrameKind::Malformed),
            }
        }
        self.buf.drain(..at);
        if self.buf.len() > self.max {
            // No end in sight: pass the encoded bytes on rather than hold them without bound.
            emit(&self.buf, FrameKind::Oversize);
            self.buf.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn frames_of(spec: &str, reads: &[&[u8]]) -> Vec<Frame> {
        let mut framer = Framer::new(spec.parse().unwrap(), DEFAULT_MAX_FRAME);
        let mut out = Vec::new();
        for r in reads {
            framer.push(r, &mut out);
        }
        out.extend(framer.finish());
        out
    }

    fn bytes(frames: &[Frame]) -> Vec<Vec<u8>> {
        frames.iter().map(|f| f.bytes.clone()).collect()
    }

    #[test]
    fn modbus_tcp_frames_come_out_whole_however_they_were_read() {
        // Two Modbus TCP responses, split mid-header and coalesced.
        let a = [0, 1, 0, 0, 0, 5, 1, 3, 2, 0, 0x2A];
        let b = [0, 2, 0, 0, 0, 5, 1, 3, 2, 0, 0x2B];
        let stream: Vec<u8> = a.iter().chain(&b).copied().collect();
        let got = frames_of(
            "length:4:2:be:6",
            &[&stream[..3], &stream[3..15], &stream[15..]],
        );
        assert_eq!(bytes(&got), [a.to_vec(), b.to_vec()]);
        assert!(got.iter().all(|f| f.kind == FrameKind::Whole));
    }

    #[test]
    fn lines_keep_their_crlf_and_a_partial_line_at_close_is_incomplete() {
        let got = frames_of("line", &[b"OK\r", b"\nERR", b"OR\r\nhalf"]);
        assert_eq!(
            bytes(&got),
            [b"OK\r\n".to_vec(), b"ERROR\r\n".to_vec(), b"half".to_vec()]
        );
        assert_eq!(got[2].kind, FrameKind::Incomplete);
    }

    #[test]
    fn a_delimiter_split_across_reads_is_found() {
        let got = frames_of("delimiter:0D0A", &[b"ab\r", b"\ncd\r", b"\n"]);
        assert_eq!(bytes(&got), [b"ab\r\n".to_vec(), b"cd\r\n".to_vec()]);
    }

    #[test]
    fn a_frame_past_the_maximum_is_passed_on_as_oversize_not_held() {
        let mut framer = Framer::new(FrameSpec::Line, 4);
        let mut out = Vec::new();
        framer.push(b"abcdefghij\nok\n", &mut out);
        assert_eq!(
            out.iter()
                .map(|f| (f.bytes.clone(), f.kind))
                .collect::<Vec<_>>(),
            [
                (b"abcd".to_vec(), FrameKind::Oversize),
                (b"efgh".to_vec(), FrameKind::Oversize),
                (b"ij\n".to_vec(), FrameKind::Oversize),
                (b"ok\n".to_vec(), FrameKind::Whole),
            ]
        );
        // A declared length past the maximum: pieces, then framing goes on.
        let mut framer = Framer::new("length:0:1:be".parse().unwrap(), 4);
        let mut out = Vec::new();
        framer.push(&[6, 1, 2, 3, 4, 5, 2, 9], &mut out);
        assert_eq!(
            out.iter().map(|f| f.kind).collect::<Vec<_>>(),
            [FrameKind::Oversize, FrameKind::Oversize, FrameKind::Whole]
        );
        assert_eq!(out[2].bytes, [2, 9]);
    }

    #[test]
    fn a_length_shorter_than_its_header_is_malformed_and_does_not_stall() {
        let got = frames_of("length:0:2:le:-5", &[&[1, 0, 7, 0, 0, 0, 0]]);
        assert_eq!(got[0].kind, FrameKind::Malformed);
    }

    #[test]
    fn what_is_sent_framed_is_read_back_as_one_frame() {
        // Modbus TCP: the user types transaction, protocol, unit and PDU; the length goes in.
        let modbus = "length:4:2:be:6".parse::<FrameSpec>().unwrap();
        let typed = [0, 1, 0, 0, 1, 3, 0, 0, 0, 1];
        assert_eq!(
            modbus.encode(&typed).unwrap(),
            [0, 1, 0, 0, 0, 6, 1, 3, 0, 0, 0, 1]
        );
        for spec in [
            "line",
            "delimiter:7E",
            "fixed:16",
            "length:4:2:be:6",
            "length:0:1:le",
            "slip",
            "cobs",
        ] {
            let spec: FrameSpec = spec.parse().unwrap();
            let message = b"hello\x7e\xc0\x00 there".to_vec();
            let message: Vec<u8> = match spec {
                FrameSpec::Delimiter(_) => message.into_iter().filter(|b| *b != 0x7E).collect(),
                FrameSpec::Line => message.into_iter().filter(|b| *b != b'\n').collect(),
                _ => message,
            };
            let wire = spec.encode(&message).unwrap();
            let mut framer = Framer::new(spec.clone(), DEFAULT_MAX_FRAME);
            let mut out = Vec::new();
            framer.push(&wire, &mut out);
            assert_eq!(out.len(), 1, "{spec}: {out:?}");
            assert_eq!(out[0].kind, FrameKind::Whole, "{spec}");
            match spec {
                FrameSpec::Slip | FrameSpec::Cobs => assert_eq!(out[0].bytes, message, "{spec}"),
                _ => assert_eq!(
                    out[0].bytes, wire,
                    "{spec}: the frame is the bytes on the wire"
                ),
            }
        }
        assert!("fixed:2"
            .parse::<FrameSpec>()
            .unwrap()
            .encode(b"abc")
            .is_err());
        assert!("length:0:1:be"
            .parse::<FrameSpec>()
            .unwrap()
            .encode(&[0; 300])
            .is_err());
        assert!("length:4:2:be:6"
            .parse::<FrameSpec>()
            .unwrap()
            .encode(&[0; 3])
            .is_err());
    }

    #[test]
    fn idle_frames_end_on_silence() {
        let mut framer = Framer::new("idle:50".parse().unwrap(), DEFAULT_MAX_FRAME);
        let mut out = Vec::new();
        framer.push(b"ab", &mut out);
        framer.push(b"cd", &mut out);
        assert!(out.is_empty());
        assert_eq!(framer.idle_after(), Some(Duration::from_millis(50)));
        assert_eq!(framer.idle(), Some(Frame::whole(b"abcd".to_vec())));
        assert_eq!(framer.idle(), None);
    }

    #[test]
    fn specs_read_and_say_themselves() {
        for spec in [
            "none",
            "line",
            "delimiter:7E",
            "fixed:7",
            "length:4:2:be:6",
            "length:0:4:le:-2",
            "idle:20",
            "slip",
            "cobs",
        ] {
            let parsed: FrameSpec = spec.parse().unwrap();
            assert_eq!(
                parsed.to_string().parse::<FrameSpec>().unwrap(),
                parsed,
                "{spec}"
            );
        }
        for bad in [
            "",
            "lines",
            "delimiter:",
            "delimiter:7G",
            "fixed:0",
            "length:4:3:be",
            "length:4:2:xe",
            "idle:0",
            "line:1",
        ] {
            assert!(bad.parse::<FrameSpec>().is_err(), "{bad}");
        }
    }

    fn spec_strategy() -> impl Strategy<Value = FrameSpec> {
        prop_oneof![
            Just(FrameSpec::Line),
            Just(FrameSpec::Delimiter(vec![0x7E])),
            Just(FrameSpec::Delimiter(vec![0x0D, 0x0A])),
            (1usize..20).prop_map(FrameSpec::Fixed),
            Just(FrameSpec::Length {
                offset: 4,
                size: 2,
                big_endian: true,
                adjust: 6
            }),
            Just(FrameSpec::Length {
                offset: 0,
                size: 1,
                big_endian: false,
                adjust: 1
            }),
            Just(FrameSpec::Slip),
            Just(FrameSpec::Cobs),
        ]
    }

    /// A stream of whole frames for `spec`, and the frames a framer should give.
    fn encode(spec: &FrameSpec, payloads: &[Vec<u8>]) -> (Vec<u8>, Vec<Vec<u8>>) {
        let mut stream = Vec::new();
        let mut frames = Vec::new();
        for p in payloads {
            let frame: Vec<u8> = match spec {
                FrameSpec::Line => p
                    .iter()
                    .map(|b| if *b == b'\n' { b' ' } else { *b })
                    .chain([b'\n'])
                    .collect(),
                FrameSpec::Delimiter(d) if d.len() == 1 => p
                    .iter()
                    .map(|b| if *b == d[0] { 0 } else { *b })
                    .chain(d.iter().copied())
                    .collect(),
                FrameSpec::Delimiter(d) => p
                    .iter()
                    .map(|b| if *b == b'\r' { 0 } else { *b })
                    .chain(d.iter().copied())
                    .collect(),
                FrameSpec::Fixed(n) => p
                    .iter()
                    .copied()
                    .cycle()
                    .take(*n)
                    .chain(std::iter::repeat(0))
                    .take(*n)
                    .collect(),
                FrameSpec::Length { offset: 4, .. } => {
                    let len = (p.len() + 1) as u16;
                    let mut f = vec![0, 1, 0, 0];
                    f.extend_from_slice(&len.to_be_bytes());
                    f.push(1);
                    f.extend_from_slice(p);
                    f
                }
                FrameSpec::Length { .. } => {
                    let p = &p[..p.len().min(200)];
                    std::iter::once(p.len() as u8)
                        .chain(p.iter().copied())
                        .collect()
                }
                FrameSpec::Slip => {
                    stream.extend(slip_encode(p));
                    if !p.is_empty() {
                        frames.push(p.clone());
                    }
                    continue;
                }
                FrameSpec::Cobs => {
                    stream.extend(cobs_encode(p));
                    frames.push(p.clone());
                    continue;
                }
                _ => p.clone(),
            };
            stream.extend_from_slice(&frame);
            frames.push(frame);
        }
        (stream, frames)
    }

    proptest! {
        /// Any split of a stream into reads, any coalescing: the same frames.
        #[test]
        fn any_split_of_the_stream_gives_the_same_frames(
            spec in spec_strategy(),
            payloads in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 1..20),
            cuts in prop::collection::vec(0usize..10_000, 0..30),
        ) {
            let (stream, expected) = encode(&spec, &payloads);
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (stream.len() + 1)).collect();
            cuts.sort_unstable();
            let mut framer = Framer::new(spec.clone(), DEFAULT_MAX_FRAME);
            let mut out = Vec::new();
            let mut at = 0;
            for cut in cuts.into_iter().chain([stream.len()]) {
                framer.push(&stream[at..cut], &mut out);
                at = cut;
            }
            prop_assert_eq!(framer.finish(), None, "nothing left over");
            prop_assert!(out.iter().all(|f| f.kind == FrameKind::Whole));
            prop_assert_eq!(bytes(&out), expected);
        }
    }
}
