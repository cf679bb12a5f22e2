//! A protocol file: the user's own frame layout as TOML, checked when loaded (a bad file is
//! refused before anything opens, with the field and its line) and then applied to each frame.
//!
//! ```toml
//! name = "telemetry"
//! frame = "length:2:1:be:3"
//! [[field]]
//! name = "magic"
//! type = "bytes"
//! length = 2
//! expect = "AA 55"
//! [[field]]
//! name = "temperature"
//! type = "i16"
//! scale = 0.1
//! unit = "°C"
//! ```
//! Full reference: docs/decoding.md.

use super::{DecodeError, Decoded, Field, Summary, Value};
use crate::payload::framing::FrameSpec;
use crate::payload::{Checksum, TextEncoding};
use std::collections::BTreeMap;

/// The file as written.
#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FileText {
    name: String,
    #[serde(default)]
    frame: Option<String>,
    #[serde(default)]
    field: Vec<FieldText>,
}

#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FieldText {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    length: Option<usize>,
    #[serde(default)]
    length_from: Option<String>,
    #[serde(default)]
    endian: Option<String>,
    #[serde(default)]
    scale: Option<f64>,
    #[serde(default)]
    offset: Option<f64>,
    #[serde(default)]
    unit: Option<String>,
    #[serde(default)]
    expect: Option<String>,
    #[serde(default)]
    checksum: Option<String>,
    #[serde(default, rename = "enum")]
    names: Option<BTreeMap<String, String>>,
    #[serde(default)]
    bits: Vec<BitText>,
    #[serde(default)]
    encoding: Option<String>,
}

#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct BitText {
    name: String,
    /// One bit (0 = least significant) …
    #[serde(default)]
    bit: Option<u32>,
    /// … or a range `"4-7"`.
    #[serde(default)]
    bits: Option<String>,
}

/// A field's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Unsigned(usize),
    Signed(usize),
    F32,
    F64,
    Bytes,
    Text,
}

/// How many bytes a field takes.
#[derive(Clone, Debug, PartialEq)]
enum Length {
    Fixed(usize),
    /// The value of an earlier integer field.
    From(usize),
    /// The rest of the frame.
    Rest,
}

#[derive(Clone, Debug, PartialEq)]
struct FieldSpec {
    name: String,
    kind: Kind,
    length: Length,
    little: bool,
    scale: Option<f64>,
    offset: Option<f64>,
    unit: Option<String>,
    expect: Option<Vec<u8>>,
    checksum: Option<Checksum>,
    names: BTreeMap<i64, String>,
    bits: Vec<(String, u32, u32)>,
    encoding: TextEncoding,
}

/// A checked protocol file.
#[derive(Clone, Debug, PartialEq)]
pub struct ProtocolFile {
    pub name: String,
    pub frame: Option<FrameSpec>,
    fields: Vec<FieldSpec>,
}

/// Why a protocol file cannot be used.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ProtocolError {
    /// Not valid TOML, or a key that does not belong: the parser's words (line and column).
    #[error("{0}")]
    Syntax(String),
    #[error("frame: {0}")]
    Frame(crate::payload::framing::FrameSpecError),
    #[error("the file has no [[field]]")]
    NoFields,
    #[error("line {line}: field {number} ({name}): {problem}")]
    Field {
        line: usize,
        number: usize,
        name: String,
        problem: FieldProblem,
    },
}

/// What is wrong with one field.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FieldProblem {
    #[error("unknown type '{0}' (u8 u16 u32 u64 i8 i16 i32 i64 f32 f64 bytes string)")]
    UnknownType(String),
    #[error("endian is big or little, not '{0}'")]
    Endian(String),
    #[error("unknown checksum '{0}'")]
    Checksum(String),
    #[error("a checksum is an unsigned integer or bytes of its size")]
    ChecksumType,
    #[error("unknown encoding '{0}'")]
    Encoding(String),
    #[error("length_from names '{0}', which is not an integer field before this one")]
    LengthFrom(String),
    #[error("give length or length_from, not both")]
    TwoLengths,
    #[error("length is only for bytes and string")]
    LengthOnNumber,
    #[error("expect is not hex: {0}")]
    Expect(String),
    #[error("enum key '{0}' is not an integer")]
    EnumKey(String),
    #[error("bit field '{0}': give bit = N or bits = \"LOW-HIGH\" within the field's size")]
    Bits(String),
    #[error("scale, offset, enum and bits are for numbers")]
    NotANumber,
    #[error("only the last field may take the rest of the frame (no length)")]
    RestNotLast,
    #[error("two fields are named '{0}'")]
    Duplicate(String),
}

/// The line of the `number`th `[[field]]` in the text (1-based), for messages.
fn line_of_field(text: &str, number: usize) -> usize {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.trim_start().starts_with("[[field]]"))
        .nth(number - 1)
        .map(|(i, _)| i + 1)
        .unwrap_or(0)
}

impl ProtocolFile {
    /// Reads and checks a protocol file.
    pub fn parse(text: &str) -> Result<Self, ProtocolError> {
        let file: FileText =
            toml::from_str(text).map_err(|e| ProtocolError::Syntax(e.to_string()))?;
        let frame = match &file.frame {
            Some(f) => Some(f.parse().map_err(ProtocolError::Frame)?),
            None => None,
        };
        if file.field.is_empty() {
            return Err(ProtocolError::NoFields);
        }
        let mut fields: Vec<FieldSpec> = Vec::new();
        let count = file.field.len();
        for (i, f) in file.field.iter().enumerate() {
            let fail = |problem| ProtocolError::Field {
                line: line_of_field(text, i + 1),
                number: i + 1,
                name: f.name.clone(),
                problem,
            };
            let spec = check_field(f, &fields, i + 1 == count).map_err(fail)?;
            fields.push(spec);
        }
        Ok(Self {
            name: file.name,
            frame,
            fields,
        })
    }

    /// Applies the file to one frame.
    pub fn decode(&self, frame: &[u8]) -> Result<Decoded, DecodeError> {
        let mut out: Vec<Field> = Vec::new();
        let mut at = 0usize;
        for spec in &self.fields {
            let len = match (&spec.length, spec.kind) {
                (_, Kind::Unsigned(n) | Kind::Signed(n)) => n,
                (_, Kind::F32) => 4,
                (_, Kind::F64) => 8,
                (Length::Fixed(n), _) => *n,
                (Length::From(i), _) => out
                    .iter()
                    .filter(|f| f.name == self.fields[*i].name)
                    .find_map(|f| match f.value {
                        Value::Int(v) => usize::try_from(v).ok(),
                        _ => None,
                    })
                    .unwrap_or(0),
                (Length::Rest, _) => frame.len().saturating_sub(at),
            };
            let Some(raw) = frame.get(at..at + len) else {
                return Err(DecodeError::TooShort {
                    have: frame.len(),
                    need: at + len,
                });
            };
            if let Some(expected) = &spec.expect {
                if raw != expected.as_slice() {
                    return Err(DecodeError::Unexpected {
                        field: spec.name.clone(),
                        expected: crate::payload::hex::encode_hex(expected),
                        got: crate::payload::hex::encode_hex(raw),
                    });
                }
            }
            if let Some(sum) = spec.checksum {
                let computed = sum.compute(&frame[..at]);
                // The file's endian says how the sum is stored; Checksum gives wire order.
                let got: Vec<u8> = raw.to_vec();
                let mut wire = computed.clone();
                if spec.little != checksum_is_little(sum) && wire.len() > 1 {
                    wire.reverse();
                }
                if got != wire {
                    return Err(DecodeError::Checksum {
                        field: spec.name.clone(),
                        got: crate::payload::hex::encode_hex(&got),
                        computed: crate::payload::hex::encode_hex(&wire),
                    });
                }
            }
            let value = read_value(spec, raw)?;
            let mut field = Field::new(spec.name.clone(), value, at, len);
            field.unit = spec.unit.clone();
            // Bit fields, from the raw integer.
            if let Some(raw_int) = raw_unsigned(spec, raw) {
                for (name, low, high) in &spec.bits {
                    let width = high - low + 1;
                    let mask = if width >= 64 {
                        u64::MAX
                    } else {
                        (1u64 << width) - 1
                    };
                    let v = (raw_int >> low) & mask;
                    out.push(Field::new(
                        format!("{}.{name}", spec.name),
                        Value::Int(i64::try_from(v).unwrap_or(i64::MAX)),
                        at,
                        len,
                    ));
                }
            }
            out.push(field);
            at += len;
        }
        Ok(Decoded {
            summary: Summary::Record,
            fields: out,
        })
    }
}

/// CRC-16/MODBUS is stored low byte first; the others high byte first.
fn checksum_is_little(sum: Checksum) -> bool {
    sum == Checksum::Crc16Modbus
}

fn raw_unsigned(spec: &FieldSpec, raw: &[u8]) -> Option<u64> {
    if !matches!(spec.kind, Kind::Unsigned(_) | Kind::Signed(_)) {
        return None;
    }
    let mut bytes = raw.to_vec();
    if !spec.little {
        bytes.reverse();
    }
    Some(
        bytes
            .iter()
            .enumerate()
            .fold(0u64, |acc, (i, b)| acc | (u64::from(*b) << (8 * i))),
    )
}

fn read_value(spec: &FieldSpec, raw: &[u8]) -> Result<Value, DecodeError> {
    let scaled = |x: f64| -> Value {
        match (spec.scale, spec.offset) {
            (None, None) => Value::Num(x),
            (s, o) => Value::Num(x * s.unwrap_or(1.0) + o.unwrap_or(0.0)),
        }
    };
    Ok(match spec.kind {
        Kind::Unsigned(n) | Kind::Signed(n) => {
            let u = raw_unsigned(spec, raw).unwrap_or(0);
            let int: i64 = if matches!(spec.kind, Kind::Signed(_)) && n < 8 {
                let shift = 64 - 8 * n as u32;
                ((u << shift) as i64) >> shift
            } else if matches!(spec.kind, Kind::Signed(_)) {
                u as i64
            } else {
                i64::try_from(u).unwrap_or(i64::MAX)
            };
            if let Some(name) = spec.names.get(&int) {
                Value::Text(name.clone())
            } else if spec.scale.is_some() || spec.offset.is_some() {
                scaled(int as f64)
            } else {
                Value::Int(int)
            }
        }
        Kind::F32 | Kind::F64 => {
            let mut b = raw.to_vec();
            if spec.little {
                b.reverse();
            }
            let x = if spec.kind == Kind::F32 {
                f64::from(f32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            } else {
                f64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
            };
            if spec.scale.is_some() || spec.offset.is_some() {
                scaled(x)
            } else {
                Value::Num(x)
            }
        }
        Kind::Bytes => Value::Bytes(raw.to_vec()),
        Kind::Text => {
            let (text, _, bad) = spec.encoding.inner().decode(raw);
            if bad {
                return Err(DecodeError::Text {
                    field: spec.name.clone(),
                    encoding: spec.encoding.label().to_string(),
                });
            }
            Value::Text(text.trim_end_matches('\0').to_string())
        }
    })
}

fn check_field(f: &FieldText, before: &[FieldSpec], last: bool) -> Result<FieldSpec, FieldProblem> {
    use FieldProblem as P;
    if before.iter().any(|b| b.name == f.name) {
        return Err(P::Duplicate(f.name.clone()));
    }
    let kind = match f.kind.to_ascii_lowercase().as_str() {
        "u8" => Kind::Unsigned(1),
        "u16" => Kind::Unsigned(2),
        "u32" => Kind::Unsigned(4),
        "u64" => Kind::Unsigned(8),
        "i8" => Kind::Signed(1),
        "i16" => Kind::Signed(2),
        "i32" => Kind::Signed(4),
        "i64" => Kind::Signed(8),
        "f32" => Kind::F32,
        "f64" => Kind::F64,
        "bytes" => Kind::Bytes,
        "string" => Kind::Text,
        other => return Err(P::UnknownType(other.to_string())),
    };
    let little = match f.endian.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("big") | Some("be") => false,
        Some("little") | Some("le") => true,
        Some(other) => return Err(P::Endian(other.to_string())),
    };
    let sized = matches!(kind, Kind::Bytes | Kind::Text);
    let length = match (f.length, &f.length_from) {
        (Some(_), Some(_)) => return Err(P::TwoLengths),
        (Some(_), None) | (None, Some(_)) if !sized => return Err(P::LengthOnNumber),
        (Some(n), None) => Length::Fixed(n),
        (None, Some(from)) => {
            let i = before
                .iter()
                .position(|b| &b.name == from && matches!(b.kind, Kind::Unsigned(_)))
                .ok_or_else(|| P::LengthFrom(from.clone()))?;
            Length::From(i)
        }
        (None, None) if sized && !last => return Err(P::RestNotLast),
        (None, None) if sized => Length::Rest,
        (None, None) => Length::Fixed(0),
    };
    let numeric = !sized;
    if !numeric
        && (f.scale.is_some() || f.offset.is_some() || f.names.is_some() || !f.bits.is_empty())
    {
        return Err(P::NotANumber);
    }
    let expect = match &f.expect {
        Some(hex) => {
            Some(crate::payload::hex::decode_hex(hex).map_err(|e| P::Expect(e.to_string()))?)
        }
        None => None,
    };
    let checksum = match &f.checksum {
        Some(name) => {
            let sum = Checksum::from_name(name)
                .filter(|c| *c != Checksum::None)
                .ok_or_else(|| P::Checksum(name.clone()))?;
            let size = sum.compute(&[]).len();
            let fits = match (kind, &length) {
                (Kind::Unsigned(n), _) => n == size,
                (Kind::Bytes, Length::Fixed(n)) => *n == size,
                _ => false,
            };
            if !fits {
                return Err(P::ChecksumType);
            }
            Some(sum)
        }
        None => None,
    };
    let mut names = BTreeMap::new();
    for (k, v) in f.names.iter().flatten() {
        let key = parse_int(k).ok_or_else(|| P::EnumKey(k.clone()))?;
        names.insert(key, v.clone());
    }
    let width = match kind {
        Kind::Unsigned(n) | Kind::Signed(n) => 8 * n as u32,
        _ => 0,
    };
    let mut bits = Vec::new();
    for b in &f.bits {
        let range = match (b.bit, &b.bits) {
            (Some(n), None) => Some((n, n)),
            (None, Some(r)) => r
                .split_once('-')
                .and_then(|(l, h)| Some((l.trim().parse().ok()?, h.trim().parse().ok()?))),
            _ => None,
        };
        match range {
            Some((low, high)) if low <= high && high < width => {
                bits.push((b.name.clone(), low, high))
            }
            _ => return Err(P::Bits(b.name.clone())),
        }
    }
    let encoding = match &f.encoding {
        Some(name) => TextEncoding::from_name(name).ok_or_else(|| P::Encoding(name.clone()))?,
        None => TextEncoding::default(),
    };
    Ok(FieldSpec {
        name: f.name.clone(),
        kind,
        length,
        little,
        scale: f.scale,
        offset: f.offset,
        unit: f.unit.clone(),
        expect,
        checksum,
        names,
        bits,
        encoding,
    })
}

fn parse_int(text: &str) -> Option<i64> {
    let t = text.trim();
    match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => i64::from_str_radix(hex, 16).ok(),
        None => t.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const TELEMETRY: &str = r#"
name = "telemetry"
frame = "length:2:1:be:9"
[[field]]
name = "magic"
type = "bytes"
length = 2
expect = "AA 55"
[[field]]
name = "length"
type = "u8"
[[field]]
name = "state"
type = "u8"
enum = { 0 = "off", 1 = "on", 2 = "fault" }
[[field]]
name = "flags"
type = "u8"
bits = [ { name = "alarm", bit = 0 }, { name = "mode", bits = "4-7" } ]
[[field]]
name = "temperature"
type = "i16"
scale = 0.1
unit = "°C"
[[field]]
name = "label"
type = "string"
length_from = "length"
encoding = "gbk"
[[field]]
name = "crc"
type = "u16"
endian = "little"
checksum = "crc16-modbus"
"#;

    /// A telemetry frame: state, flags, temperature (tenths), label (GBK).
    pub(crate) fn frame(state: u8, flags: u8, tenths: i16, label: &str) -> Vec<u8> {
        let (text, _, _) = encoding_rs::GBK.encode(label);
        let mut f = vec![0xAA, 0x55, text.len() as u8, state, flags];
        f.extend_from_slice(&tenths.to_be_bytes());
        f.extend_from_slice(&text);
        Checksum::Crc16Modbus.append_to(&mut f);
        f
    }

    #[test]
    fn a_file_with_scale_enum_bits_a_string_and_a_crc() {
        let p = ProtocolFile::parse(TELEMETRY).unwrap();
        let d = p.decode(&frame(2, 0x51, -123, "炉温")).unwrap();
        assert_eq!(d.get("state"), Some(&Value::Text("fault".into())));
        assert_eq!(d.get("flags.alarm"), Some(&Value::Int(1)));
        assert_eq!(d.get("flags.mode"), Some(&Value::Int(5)));
        let Some(Value::Num(t)) = d.get("temperature") else {
            panic!("{d:?}")
        };
        assert!((t + 12.3).abs() < 1e-9);
        assert_eq!(d.get("label"), Some(&Value::Text("炉温".into())));
        let temp = d.fields.iter().find(|f| f.name == "temperature").unwrap();
        assert_eq!(
            (temp.offset, temp.len, temp.unit.as_deref()),
            (5, 2, Some("°C"))
        );
        // A wrong CRC, a wrong magic, a short frame: each says why.
        let mut bad = frame(1, 0, 250, "a");
        let n = bad.len();
        bad[n - 1] ^= 0xFF;
        assert!(matches!(p.decode(&bad), Err(DecodeError::Checksum { .. })));
        let mut bad = frame(1, 0, 250, "a");
        bad[0] = 0xAB;
        assert_eq!(
            p.decode(&bad).unwrap_err().to_string(),
            "magic: expected AA 55, got AB 55"
        );
        assert_eq!(
            p.decode(&[0xAA, 0x55, 9]),
            Err(DecodeError::TooShort { have: 3, need: 4 })
        );
    }

    #[test]
    fn the_frame_split_at_every_byte_boundary_decodes_the_same() {
        use crate::payload::framing::Framer;
        let p = ProtocolFile::parse(TELEMETRY).unwrap();
        let stream: Vec<u8> = [frame(0, 1, 1, "x"), frame(1, 0x10, -5, "温度")].concat();
        let whole: Vec<Decoded> = {
            let mut framer = Framer::new(p.frame.clone().unwrap(), 1 << 20);
            let mut frames = Vec::new();
            framer.push(&stream, &mut frames);
            frames.iter().map(|f| p.decode(&f.bytes).unwrap()).collect()
        };
        assert_eq!(whole.len(), 2);
        for cut in 1..stream.len() {
            let mut framer = Framer::new(p.frame.clone().unwrap(), 1 << 20);
            let mut got = Vec::new();
            framer.push(&stream[..cut], &mut got);
            framer.push(&stream[cut..], &mut got);
            let decoded: Vec<Decoded> = got.iter().map(|f| p.decode(&f.bytes).unwrap()).collect();
            assert_eq!(decoded, whole, "split at {cut}");
        }
    }

    #[test]
    fn random_values_encoded_by_hand_come_back() {
        let p = ProtocolFile::parse(TELEMETRY).unwrap();
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..2000 {
            let state = (next() % 3) as u8;
            let flags = next() as u8;
            let tenths = next() as i16;
            let label: String = (0..(next() % 5))
                .map(|i| ['a', '温', 'Z', '度'][i as usize % 4])
                .collect();
            let d = p.decode(&frame(state, flags, tenths, &label)).unwrap();
            let Some(Value::Num(t)) = d.get("temperature") else {
                panic!()
            };
            assert!((t - f64::from(tenths) * 0.1).abs() < 1e-6);
            assert_eq!(
                d.get("flags.alarm"),
                Some(&Value::Int(i64::from(flags & 1)))
            );
            assert_eq!(
                d.get("flags.mode"),
                Some(&Value::Int(i64::from(flags >> 4)))
            );
            assert_eq!(d.get("label"), Some(&Value::Text(label)));
        }
    }

    #[test]
    fn bad_files_are_refused_with_the_field_and_its_line() {
        let bad_type = "name = \"x\"\n\n[[field]]\nname = \"a\"\ntype = \"u24\"\n";
        let e = ProtocolFile::parse(bad_type).unwrap_err();
        assert_eq!(
            e,
            ProtocolError::Field {
                line: 3,
                number: 1,
                name: "a".into(),
                problem: FieldProblem::UnknownType("u24".into())
            }
        );
        assert!(e
            .to_string()
            .starts_with("line 3: field 1 (a): unknown type 'u24'"));
        let cases = [
            (
                "type = \"u16\"\nchecksum = \"crc32\"",
                FieldProblem::ChecksumType,
            ),
            (
                "type = \"u16\"\nendian = \"middle\"",
                FieldProblem::Endian("middle".into()),
            ),
            (
                "type = \"bytes\"\nlength_from = \"nope\"",
                FieldProblem::LengthFrom("nope".into()),
            ),
            (
                "type = \"u8\"\nbits = [{ name = \"b\", bit = 8 }]",
                FieldProblem::Bits("b".into()),
            ),
            (
                "type = \"bytes\"\nexpect = \"GG\"\nlength = 1",
                FieldProblem::Expect(
                    crate::payload::hex::decode_hex("GG")
                        .unwrap_err()
                        .to_string(),
                ),
            ),
            (
                "type = \"string\"\nencoding = \"klingon\"\nlength = 2",
                FieldProblem::Encoding("klingon".into()),
            ),
            (
                "type = \"u8\"\nenum = { x = \"a\" }",
                FieldProblem::EnumKey("x".into()),
            ),
        ];
        for (body, problem) in cases {
            let text = format!("name = \"x\"\n[[field]]\nname = \"a\"\n{body}\n");
            match ProtocolFile::parse(&text) {
                Err(ProtocolError::Field {
                    problem: p,
                    line: 2,
                    ..
                }) => assert_eq!(p, problem),
                other => panic!("{body}: {other:?}"),
            }
        }
        assert!(matches!(
            ProtocolFile::parse(
                "name = \"x\"\n[[field]]\nname = \"a\"\ntype = \"u8\"\ncolour = 1\n"
            ),
            Err(ProtocolError::Syntax(_))
        ));
        assert_eq!(
            ProtocolFile::parse("name = \"x\"\n"),
            Err(ProtocolError::NoFields)
        );
    }
}
