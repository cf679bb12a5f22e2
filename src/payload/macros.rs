//! Macros in sent text, expanded at each send: `{{date}}`, `{{time}}`, `{{datetime}}`,
//! `{{unix}}`, `{{unix_ms}}`, `{{counter}}`, `{{rand:N}}` (N random bytes), `{{len}}`,
//! `{{len8}}`, `{{len16}}` (the payload's length without the macro, as text, one byte, or two
//! bytes big-endian). They are only read when the user turns macros on, and an unknown name is
//! an error rather than literal text, so they cannot change a message by accident. `{{{{` sends
//! a literal `{{`.
//!
//! A rule's reply may also name what its pattern captured (see `matcher`): `$0` (the whole
//! match), `$1`…`$99`, `${name}`; `$$` is a literal `$`, and any other `$` is itself, so NMEA's
//! `$GPGGA` needs no escaping.

use super::matcher::Captures;
use super::{InputMode, PayloadError, SendFormat};

/// Most random bytes one `{{rand:N}}` gives.
const MAX_RANDOM: usize = 4096;

/// One piece of a template.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Bytes(Vec<u8>),
    Date,
    Time,
    DateTime,
    Unix,
    UnixMs,
    Counter,
    Random(usize),
    LenText,
    Len8,
    Len16,
    Capture(CaptureRef),
}

/// A reference to what a rule's pattern captured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CaptureRef {
    /// `$N`.
    Index(usize),
    /// `${name}`.
    Name(String),
}

impl std::fmt::Display for CaptureRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Index(i) => write!(f, "${i}"),
            Self::Name(n) => write!(f, "${{{n}}}"),
        }
    }
}

/// A capture reference at the start of `rest` (which starts with `$`): what it is and how many
/// bytes of `rest` it takes; `None` for a `$` that is just a dollar sign.
fn capture_at(rest: &str) -> Option<(Option<CaptureRef>, usize)> {
    let after = &rest[1..];
    if after.starts_with('$') {
        return Some((None, 2));
    }
    let digits = after.bytes().take_while(u8::is_ascii_digit).take(2).count();
    if digits > 0 {
        let index = after[..digits].parse().ok()?;
        return Some((Some(CaptureRef::Index(index)), 1 + digits));
    }
    let inner = after.strip_prefix('{')?;
    let end = inner.find('}')?;
    let name = &inner[..end];
    let is_name = !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_');
    is_name.then(|| (Some(CaptureRef::Name(name.to_string())), end + 3))
}

/// A message whose macros are expanded at each send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
    format: SendFormat,
}

fn macro_part(name: &str, position: usize) -> Result<Part, PayloadError> {
    Ok(match name.trim() {
        "date" => Part::Date,
        "time" => Part::Time,
        "datetime" => Part::DateTime,
        "unix" => Part::Unix,
        "unix_ms" => Part::UnixMs,
        "counter" => Part::Counter,
        "len" => Part::LenText,
        "len8" => Part::Len8,
        "len16" => Part::Len16,
        other => match other
            .strip_prefix("rand:")
            .map(|n| n.trim().parse::<usize>())
        {
            Some(Ok(n)) if (1..=MAX_RANDOM).contains(&n) => Part::Random(n),
            Some(_) => {
                return Err(PayloadError::MacroArgument {
                    position,
                    rule: "{{rand:N}} takes N from 1 to 4096 (random bytes)",
                })
            }
            None => return Err(PayloadError::BadMacro { position }),
        },
    })
}

impl Template {
    /// Splits typed input into literal parts (encoded as `format` says) and macros.
    pub fn parse(input: &str, format: &SendFormat) -> Result<Self, PayloadError> {
        Self::parse_parts(input, format, false)
    }

    /// Like `for_input`, for a rule's reply: `$1`, `${name}` and `$0` are what the rule's
    /// pattern captured (macros only when `format` turns them on).
    pub fn for_reply(input: &str, format: &SendFormat) -> Result<Self, PayloadError> {
        let template = Self::parse_parts(input, format, true)?;
        template.expand(1)?;
        Ok(template)
    }

    /// The captures the template uses.
    pub fn capture_refs(&self) -> impl Iterator<Item = &CaptureRef> {
        self.parts.iter().filter_map(|p| match p {
            Part::Capture(r) => Some(r),
            _ => None,
        })
    }

    fn parse_parts(input: &str, format: &SendFormat, captures: bool) -> Result<Self, PayloadError> {
        // Literal parts are encoded as plain text or hex; appendages come once, at the end.
        let plain = SendFormat {
            checksum: super::Checksum::None,
            line_ending: super::LineEnding::None,
            macros: false,
            ..format.clone()
        };
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut literal_start = 0usize;
        let chars: Vec<(usize, char)> = input.char_indices().collect();
        let mut i = 0;
        let flush = |literal: &mut String,
                     start: usize,
                     parts: &mut Vec<Part>|
         -> Result<(), PayloadError> {
            if !literal.is_empty() {
                let bytes = super::build_payload(literal, &plain).map_err(|e| e.shifted(start))?;
                parts.push(Part::Bytes(bytes));
                literal.clear();
            }
            Ok(())
        };
        while i < chars.len() {
            let rest = &input[chars[i].0..];
            let capture = if captures && rest.starts_with('$') {
                capture_at(rest)
            } else {
                None
            };
            if let Some((reference, taken)) = capture {
                match reference {
                    Some(r) => {
                        flush(&mut literal, literal_start, &mut parts)?;
                        parts.push(Part::Capture(r));
                    }
                    None => {
                        if literal.is_empty() {
                            literal_start = i;
                        }
                        literal.push('$');
                    }
                }
                i += rest[..taken].chars().count();
            } else if !format.macros {
                if literal.is_empty() {
                    literal_start = i;
                }
                literal.push(chars[i].1);
                i += 1;
            } else if rest.starts_with("{{{{") {
                if literal.is_empty() {
                    literal_start = i;
                }
                literal.push_str("{{");
                i += 4;
            } else if rest.starts_with("{{") {
                let Some(end) = rest.find("}}") else {
                    return Err(PayloadError::BadMacro { position: i + 1 });
                };
                flush(&mut literal, literal_start, &mut parts)?;
                parts.push(macro_part(&rest[2..end], i + 1)?);
                i += rest[..end + 2].chars().count();
            } else {
                if literal.is_empty() {
                    literal_start = i;
                }
                literal.push(chars[i].1);
                i += 1;
            }
        }
        flush(&mut literal, literal_start, &mut parts)?;
        if format.mode == InputMode::Hex && parts.iter().any(|p| matches!(p, Part::LenText)) {
            // Text length in a hex message is almost never what a device wants.
            return Err(PayloadError::BadMacro { position: 1 });
        }
        Ok(Self {
            parts,
            format: format.clone(),
        })
    }

    /// What typed `input` sends in `format`: fixed bytes, or (macros on) a template whose first
    /// send is built now, so a length that does not fit its macro is caught before anything is
    /// sent.
    pub fn for_input(input: &str, format: &SendFormat) -> Result<Self, PayloadError> {
        if format.macros {
            let template = Self::parse(input, format)?;
            template.expand(1)?;
            Ok(template)
        } else {
            super::build_payload(input, format).map(Self::fixed)
        }
    }

    /// A template of fixed bytes (no macros, nothing appended).
    pub fn fixed(bytes: Vec<u8>) -> Self {
        Self {
            parts: vec![Part::Bytes(bytes)],
            format: SendFormat::default(),
        }
    }

    /// Does the template hold any macro (or is it the same bytes every time)?
    pub fn has_macros(&self) -> bool {
        self.parts.iter().any(|p| !matches!(p, Part::Bytes(_)))
    }

    /// The bytes of one send (data, checksum, line ending); `counter` is the send's number.
    /// Fails when a length macro cannot hold the length (`{{len8}}` over 255 bytes,
    /// `{{len16}}` over 65,535): wrong bytes are never sent.
    pub fn expand(&self, counter: u64) -> Result<Vec<u8>, PayloadError> {
        self.expand_with(counter, &Captures::default())
    }

    /// Like `expand`, with what a rule's pattern captured from the data it answers.
    pub fn expand_with(&self, counter: u64, captures: &Captures) -> Result<Vec<u8>, PayloadError> {
        let now = chrono::Local::now();
        // First every part but the lengths, which count everything else.
        let pieces: Vec<Option<Vec<u8>>> = self
            .parts
            .iter()
            .map(|part| {
                Some(match part {
                    Part::Bytes(b) => b.clone(),
                    Part::Date => now.format("%Y-%m-%d").to_string().into_bytes(),
                    Part::Time => now.format("%H:%M:%S").to_string().into_bytes(),
                    Part::DateTime => now.format("%Y-%m-%d %H:%M:%S").to_string().into_bytes(),
                    Part::Unix => now.timestamp().to_string().into_bytes(),
                    Part::UnixMs => now.timestamp_millis().to_string().into_bytes(),
                    Part::Counter => counter.to_string().into_bytes(),
                    Part::Random(n) => (0..*n).map(|_| random_byte()).collect(),
                    Part::Capture(CaptureRef::Index(i)) => captures.group(*i).to_vec(),
                    Part::Capture(CaptureRef::Name(n)) => captures.named(n).to_vec(),
                    Part::LenText | Part::Len8 | Part::Len16 => return None,
                })
            })
            .collect();
        let len: usize = pieces.iter().flatten().map(Vec::len).sum();
        let mut out = Vec::with_capacity(len + 8);
        let too_long =
            |name: &'static str, max: usize| PayloadError::LengthTooLong { name, len, max };
        for (part, piece) in self.parts.iter().zip(pieces) {
            match (part, piece) {
                (_, Some(bytes)) => out.extend_from_slice(&bytes),
                (Part::LenText, None) => out.extend_from_slice(len.to_string().as_bytes()),
                (Part::Len8, None) => {
                    out.push(u8::try_from(len).map_err(|_| too_long("{{len8}}", 255))?);
                }
                (_, None) => {
                    let len16 = u16::try_from(len).map_err(|_| too_long("{{len16}}", 65_535))?;
                    out.extend_from_slice(&len16.to_be_bytes());
                }
            }
        }
        self.format.checksum.append_to(&mut out);
        out.extend_from_slice(self.format.line_ending.bytes());
        Ok(out)
    }
}

fn random_byte() -> u8 {
    use std::cell::Cell;
    use std::hash::{BuildHasher, Hasher};
    thread_local!(static STATE: Cell<u64> = Cell::new(std::collections::hash_map::RandomState::new().build_hasher().finish() | 1));
    STATE.with(|s| {
        // xorshift64*: plenty for test data, not for secrets.
        let mut x = s.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        s.set(x);
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::{Checksum, LineEnding, TextEncoding};

    fn text() -> SendFormat {
        SendFormat {
            macros: true,
            ..SendFormat::default()
        }
    }

    #[test]
    fn a_reply_puts_captures_where_it_names_them_and_keeps_other_dollars() {
        let hex = SendFormat {
            mode: InputMode::Hex,
            checksum: Checksum::Sum8,
            ..SendFormat::default()
        };
        let t = Template::for_reply("01 03 02 $1", &hex).unwrap();
        let captures = Captures {
            groups: vec![Some(vec![1, 3, 7, 8]), Some(vec![7, 8])],
            names: vec![("t".into(), b"21".to_vec())],
        };
        // The checksum covers the captured bytes too.
        assert_eq!(
            t.expand_with(1, &captures).unwrap(),
            vec![1, 3, 2, 7, 8, 0x15]
        );
        let t = Template::for_reply("$GPGGA t=${t} all=$0 $$1 $9", &SendFormat::default()).unwrap();
        assert_eq!(
            t.expand_with(1, &captures).unwrap(),
            b"$GPGGA t=21 all=\x01\x03\x07\x08 $1 ".to_vec()
        );
        assert_eq!(
            t.capture_refs()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["${t}", "$0", "$9"]
        );
        // A plain send never reads captures.
        assert_eq!(
            Template::for_input("$1", &SendFormat::default())
                .unwrap()
                .expand(1)
                .unwrap(),
            b"$1"
        );
    }

    #[test]
    fn counter_and_lengths_expand_per_send() {
        let t = Template::parse("n={{counter}} len={{len}}", &text()).unwrap();
        assert!(t.has_macros());
        assert_eq!(t.expand(1).unwrap(), b"n=1 len=8");
        assert_eq!(t.expand(12).unwrap(), b"n=12 len=9");
        let hex = SendFormat {
            mode: InputMode::Hex,
            macros: true,
            checksum: Checksum::Sum8,
            ..SendFormat::default()
        };
        let t = Template::parse("AA {{len8}} 01 02", &hex).unwrap();
        // The length counts the data without itself; the checksum covers everything.
        assert_eq!(t.expand(1).unwrap(), vec![0xAA, 0x03, 0x01, 0x02, 0xB0]);
        let t = Template::parse("{{len16}}{{rand:5}}", &text()).unwrap();
        let bytes = t.expand(1).unwrap();
        assert_eq!((bytes.len(), &bytes[..2]), (7, &[0u8, 5][..]));
    }

    #[test]
    fn time_macros_have_their_shape() {
        let t = Template::parse("{{date}}|{{time}}|{{unix}}", &text()).unwrap();
        let s = String::from_utf8(t.expand(1).unwrap()).unwrap();
        let parts: Vec<&str> = s.split('|').collect();
        assert_eq!(parts[0].len(), 10, "{s}");
        assert_eq!(parts[1].len(), 8, "{s}");
        assert!(parts[2].parse::<i64>().unwrap() > 1_700_000_000);
    }

    #[test]
    fn literal_braces_encodings_and_errors() {
        let gbk = SendFormat {
            encoding: TextEncoding::Gbk,
            line_ending: LineEnding::CrLf,
            ..text()
        };
        assert_eq!(
            Template::parse("{{{{你", &gbk).unwrap().expand(1).unwrap(),
            b"{{\xC4\xE3\r\n"
        );
        assert_eq!(
            Template::parse("a{{nope}}", &text()).unwrap_err(),
            PayloadError::BadMacro { position: 2 }
        );
        assert_eq!(
            Template::parse("a{{counter", &text()).unwrap_err(),
            PayloadError::BadMacro { position: 2 }
        );
        for bad in ["{{rand:0}}", "{{rand:4097}}", "{{rand:x}}"] {
            let err = Template::parse(bad, &text()).unwrap_err();
            assert!(
                matches!(err, PayloadError::MacroArgument { position: 1, .. }),
                "{bad}: {err:?}"
            );
            assert!(err.to_string().contains("1 to 4096"), "{err}");
        }
        assert!(Template::parse("{{rand:4096}}", &text()).is_ok());
        let hex = SendFormat {
            mode: InputMode::Hex,
            ..text()
        };
        assert_eq!(
            Template::parse("{{counter}} 4G", &hex).unwrap_err(),
            PayloadError::HexInvalidChar {
                position: 14,
                ch: 'G'
            }
        );
        // Macros off: braces are plain text.
        assert_eq!(
            crate::payload::build_payload("{{x}}", &SendFormat::default()).unwrap(),
            b"{{x}}"
        );
    }

    #[test]
    fn a_length_that_does_not_fit_its_macro_is_an_error_not_wrong_bytes() {
        let t = Template::parse("{{len8}}{{rand:255}}", &text()).unwrap();
        assert_eq!(t.expand(1).unwrap()[0], 255);
        let t = Template::parse("{{len8}}{{rand:256}}", &text()).unwrap();
        let err = t.expand(1).unwrap_err();
        assert_eq!(
            err,
            PayloadError::LengthTooLong {
                name: "{{len8}}",
                len: 256,
                max: 255
            }
        );
        assert!(err.to_string().contains("256"), "{err}");
        let long = "x".repeat(65_536);
        let t = Template::parse(&format!("{{{{len16}}}}{long}"), &text()).unwrap();
        assert!(matches!(
            t.expand(1),
            Err(PayloadError::LengthTooLong { max: 65_535, .. })
        ));
        let fits = "x".repeat(65_535);
        let t = Template::parse(&format!("{{{{len16}}}}{fits}"), &text()).unwrap();
        assert_eq!(&t.expand(1).unwrap()[..2], &[0xFF, 0xFF]);
    }
}
