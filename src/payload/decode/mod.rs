//! Decoding: a frame's bytes become named values ("fields"). Pure and per connection: a
//! [`Decoder`] is given each frame of one connection in wire order, both directions, and keeps
//! what it needs across frames (a Modbus request, to pair its response with; a CSV header).
//!
//! Specs, as typed in the window and on the command line: `modbus-tcp`, `modbus-rtu`, `json`,
//! `kv`, `csv`, or the path of a protocol file (`*.toml`, see docs/decoding.md).

mod modbus;
mod protocol;
mod text;

pub use modbus::{exception_name, function_name, ModbusSummary};
pub use protocol::{FieldProblem, ProtocolError, ProtocolFile};

use super::framing::FrameSpec;
use std::sync::Arc;

/// A decoded value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Int(i64),
    Num(f64),
    Bool(bool),
    Text(String),
    Bytes(Vec<u8>),
    /// Several numbers (Modbus registers or coils).
    List(Vec<i64>),
}

impl Value {
    /// The value as a number for a chart, when it is one.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Self::Int(i) => Some(*i as f64),
            Self::Num(x) => Some(*x),
            Self::Bool(b) => Some(f64::from(u8::from(*b))),
            _ => None,
        }
    }

    /// The value as JSON (numbers as numbers, bytes as hex).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Self::Int(i) => serde_json::json!(i),
            Self::Num(x) => serde_json::json!(x),
            Self::Bool(b) => serde_json::json!(b),
            Self::Text(t) => serde_json::json!(t),
            Self::Bytes(b) => serde_json::json!(super::hex::encode_hex(b)),
            Self::List(l) => serde_json::json!(l),
        }
    }
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Int(i) => write!(f, "{i}"),
            Self::Num(x) => write!(f, "{x}"),
            Self::Bool(b) => write!(f, "{b}"),
            Self::Text(t) => f.write_str(t),
            Self::Bytes(b) => f.write_str(&super::hex::encode_hex(b)),
            Self::List(l) => {
                let parts: Vec<String> = l.iter().map(i64::to_string).collect();
                f.write_str(&parts.join(" "))
            }
        }
    }
}

/// One named value of a frame, with where its bytes are.
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    pub name: String,
    pub value: Value,
    pub unit: Option<String>,
    /// Offset of its bytes in the frame, and how many (0 for a value computed from others).
    pub offset: usize,
    pub len: usize,
}

impl Field {
    pub(crate) fn new(name: impl Into<String>, value: Value, offset: usize, len: usize) -> Self {
        Self {
            name: name.into(),
            value,
            unit: None,
            offset,
            len,
        }
    }
}

/// What a decoded frame is, for its one-line summary.
#[derive(Clone, Debug, PartialEq)]
pub enum Summary {
    /// A Modbus request or response.
    Modbus(modbus::ModbusSummary),
    /// Named values (json, kv, csv, a protocol file): the summary lists them.
    Record,
}

/// A frame as values.
#[derive(Clone, Debug, PartialEq)]
pub struct Decoded {
    pub summary: Summary,
    pub fields: Vec<Field>,
}

impl Decoded {
    /// The field named `name`.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.fields
            .iter()
            .find(|f| f.name == name)
            .map(|f| &f.value)
    }

    /// The one-line summary in English (the window words Modbus names in its language).
    pub fn summary_en(&self) -> String {
        match &self.summary {
            Summary::Modbus(m) => m.text(function_name(m.function & 0x7F).0),
            Summary::Record => self.record_text(),
        }
    }

    /// `name=value unit` for each field, as a record's summary.
    pub fn record_text(&self) -> String {
        let parts: Vec<String> = self
            .fields
            .iter()
            .map(|f| match &f.unit {
                Some(u) => format!("{}={} {u}", f.name, f.value),
                None => format!("{}={}", f.name, f.value),
            })
            .collect();
        parts.join(" ")
    }

    /// The fields as a JSON object (numbers after scale as JSON numbers).
    pub fn fields_json(&self) -> serde_json::Value {
        let map: serde_json::Map<String, serde_json::Value> = self
            .fields
            .iter()
            .map(|f| (f.name.clone(), f.value.to_json()))
            .collect();
        serde_json::Value::Object(map)
    }
}

/// Why a frame does not decode (its bytes are kept and shown as they are).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum DecodeError {
    #[error("frame too short: {have} of {need} bytes")]
    TooShort { have: usize, need: usize },
    #[error("CRC 0x{got:04X} ≠ 0x{computed:04X}")]
    Crc { got: u32, computed: u32 },
    #[error("length field says {said} bytes follow, the frame has {have}")]
    Length { said: usize, have: usize },
    #[error("protocol id {0} is not Modbus (0)")]
    NotModbus(u16),
    #[error("function code {0} is not one this decoder knows")]
    UnknownFunction(u8),
    #[error("{field}: expected {expected}, got {got}")]
    Unexpected {
        field: String,
        expected: String,
        got: String,
    },
    #[error("{field}: checksum {got} ≠ {computed}")]
    Checksum {
        field: String,
        got: String,
        computed: String,
    },
    #[error("not JSON: {0}")]
    Json(String),
    #[error("no key=value pairs")]
    NoPairs,
    #[error("{field}: not valid {encoding} text")]
    Text { field: String, encoding: String },
}

/// A test on one field of a decoded frame: what rules and sequence expectations can ask of a
/// frame's meaning instead of its bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldTest {
    pub field: String,
    pub test: Test,
}

/// What the field must be.
#[derive(Clone, Debug, PartialEq)]
pub enum Test {
    /// A number equal to this, or a text (an enum's name) equal to this.
    Equals(Value),
    /// A number from the first to the second, both included.
    Between(f64, f64),
    /// One of these numbers.
    In(Vec<f64>),
}

impl FieldTest {
    /// Does the decoded frame pass? A frame without the field does not.
    pub fn holds(&self, d: &Decoded) -> bool {
        let Some(value) = d.get(&self.field) else {
            return false;
        };
        match (&self.test, value.as_f64()) {
            (Test::Equals(Value::Text(t)), _) => matches!(value, Value::Text(v) if v == t),
            (Test::Equals(want), Some(v)) => want.as_f64() == Some(v),
            (Test::Between(lo, hi), Some(v)) => *lo <= v && v <= *hi,
            (Test::In(set), Some(v)) => set.contains(&v),
            _ => false,
        }
    }
}

impl std::fmt::Display for FieldTest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.test {
            Test::Equals(v) => write!(f, "{} = {v}", self.field),
            Test::Between(lo, hi) => write!(f, "{} in {lo}..={hi}", self.field),
            Test::In(set) => write!(f, "{} in {set:?}", self.field),
        }
    }
}

/// How a session's frames are decoded.
#[derive(Clone, Debug, PartialEq)]
pub enum DecodeSpec {
    ModbusTcp,
    ModbusRtu,
    Json,
    Kv,
    Csv,
    /// A protocol file, loaded and checked.
    Protocol(Arc<ProtocolFile>),
}

impl DecodeSpec {
    /// The built-in decoders by name; a protocol file is loaded with [`ProtocolFile::parse`].
    pub const NAMES: [&'static str; 5] = ["modbus-tcp", "modbus-rtu", "json", "kv", "csv"];

    /// A built-in decoder by name (case-insensitive).
    pub fn builtin(name: &str) -> Option<Self> {
        Some(match name.trim().to_ascii_lowercase().as_str() {
            "modbus-tcp" => Self::ModbusTcp,
            "modbus-rtu" => Self::ModbusRtu,
            "json" => Self::Json,
            "kv" => Self::Kv,
            "csv" => Self::Csv,
            _ => return None,
        })
    }

    /// The name as typed (a protocol file by its own name).
    pub fn name(&self) -> &str {
        match self {
            Self::ModbusTcp => "modbus-tcp",
            Self::ModbusRtu => "modbus-rtu",
            Self::Json => "json",
            Self::Kv => "kv",
            Self::Csv => "csv",
            Self::Protocol(p) => &p.name,
        }
    }

    /// The framing this decoder needs when the user gave none: Modbus TCP frames by its MBAP
    /// length; text formats by line; a protocol file by its own `frame`; Modbus RTU by read
    /// (no length field: a gateway's reads are whole frames).
    pub fn default_frame(&self) -> FrameSpec {
        match self {
            Self::ModbusTcp => FrameSpec::Length {
                offset: 4,
                size: 2,
                big_endian: true,
                adjust: 6,
            },
            Self::Json | Self::Kv | Self::Csv => FrameSpec::Line,
            Self::Protocol(p) => p.frame.clone().unwrap_or_default(),
            Self::ModbusRtu => FrameSpec::None,
        }
    }
}

/// Decodes the frames of one connection (both directions, in wire order).
#[derive(Debug)]
pub struct Decoder {
    spec: DecodeSpec,
    modbus: modbus::Pairing,
    csv_header: Option<Vec<String>>,
}

impl Decoder {
    pub fn new(spec: DecodeSpec) -> Self {
        Self {
            spec,
            modbus: modbus::Pairing::default(),
            csv_header: None,
        }
    }

    /// Decodes one frame; `sent` is true for what SockScope sent, false for what it received.
    pub fn decode(&mut self, sent: bool, frame: &[u8]) -> Result<Decoded, DecodeError> {
        match &self.spec {
            DecodeSpec::ModbusTcp => modbus::decode_tcp(&mut self.modbus, sent, frame),
            DecodeSpec::ModbusRtu => modbus::decode_rtu(&mut self.modbus, sent, frame),
            DecodeSpec::Json => text::json(frame),
            DecodeSpec::Kv => text::kv(frame),
            DecodeSpec::Csv => text::csv(&mut self.csv_header, frame),
            DecodeSpec::Protocol(p) => p.decode(frame),
        }
    }
}
