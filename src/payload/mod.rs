//! Pure functions that turn what a user types into bytes and bytes into what a user reads.
//!
//! Shared by the window and the CLI so that both send exactly the same bytes for the same input.

pub mod checksum;
pub mod decode;
pub mod display;
pub mod encoding;
pub mod escapes;
pub mod framing;
pub mod hex;
pub mod macros;
pub mod matcher;

pub use checksum::Checksum;
pub use display::text_for_display;
pub use encoding::TextEncoding;
pub use escapes::LineEnding;
pub use macros::Template;

use std::fmt;

/// How the text a user typed is to be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum InputMode {
    /// Characters, encoded in the chosen text encoding.
    #[default]
    Text,
    /// Hex digits, e.g. `48 65 6C` or `0x48,0x65`.
    Hex,
}

/// Everything that decides which bytes a typed message becomes.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SendFormat {
    /// Text or hex input.
    pub mode: InputMode,
    /// Encoding of text input.
    pub encoding: TextEncoding,
    /// Whether `\r \n \t \\ \xHH` are interpreted in text input.
    pub escapes: bool,
    /// Line ending appended after the data (and after the checksum).
    pub line_ending: LineEnding,
    /// Checksum appended after the data.
    pub checksum: Checksum,
    /// Whether `{{…}}` macros are expanded (see [`macros`]).
    #[serde(default)]
    pub macros: bool,
}

impl Default for SendFormat {
    fn default() -> Self {
        Self {
            mode: InputMode::Text,
            encoding: TextEncoding::Utf8,
            escapes: false,
            line_ending: LineEnding::None,
            checksum: Checksum::None,
            macros: false,
        }
    }
}

/// Why typed input could not be turned into bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PayloadError {
    /// A character that is not a hex digit or separator, at a 1-based character position.
    HexInvalidChar { position: usize, ch: char },
    /// A group of hex digits with an odd count, starting at a 1-based character position.
    HexOddDigits { position: usize },
    /// A character the chosen encoding cannot represent.
    Unencodable {
        position: usize,
        ch: char,
        encoding: TextEncoding,
    },
    /// A backslash escape that is not one of `\r \n \t \\ \0 \xHH`.
    BadEscape { position: usize },
    /// A `{{…}}` macro that is unknown or not closed.
    BadMacro { position: usize },
    /// A known macro with an argument out of its range; `rule` says the range.
    MacroArgument { position: usize, rule: &'static str },
    /// A length macro (`{{len8}}`, `{{len16}}`) too small for the payload's length.
    LengthTooLong {
        name: &'static str,
        len: usize,
        max: usize,
    },
}

impl PayloadError {
    /// The same error with its position moved `by` characters on (for a part of a longer text).
    pub fn shifted(self, by: usize) -> Self {
        match self {
            Self::HexInvalidChar { position, ch } => Self::HexInvalidChar {
                position: position + by,
                ch,
            },
            Self::HexOddDigits { position } => Self::HexOddDigits {
                position: position + by,
            },
            Self::Unencodable {
                position,
                ch,
                encoding,
            } => Self::Unencodable {
                position: position + by,
                ch,
                encoding,
            },
            Self::BadEscape { position } => Self::BadEscape {
                position: position + by,
            },
            Self::MacroArgument { position, rule } => Self::MacroArgument {
                position: position + by,
                rule,
            },
            Self::LengthTooLong { .. } => self,
            Self::BadMacro { position } => Self::BadMacro {
                position: position + by,
            },
        }
    }
}

impl fmt::Display for PayloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::HexInvalidChar { position, ch } => {
                write!(f, "'{ch}' at position {position} is not a hex digit")
            }
            Self::HexOddDigits { position } => write!(
                f,
                "odd number of hex digits in the group starting at position {position}"
            ),
            Self::Unencodable {
                position,
                ch,
                encoding,
            } => write!(
                f,
                "'{ch}' at position {position} cannot be encoded in {}",
                encoding.label()
            ),
            Self::BadEscape { position } => write!(
                f,
                "unknown escape at position {position} (use \\r \\n \\t \\\\ \\0 \\xHH)"
            ),
            Self::BadMacro { position } => write!(
                f,
                "unknown or unclosed macro at position {position} (use {{{{date}}}}, {{{{time}}}}, {{{{counter}}}}, {{{{rand:N}}}}, {{{{len}}}}, …)"
            ),
            Self::MacroArgument { position, rule } => {
                write!(f, "macro at position {position}: {rule}")
            }
            Self::LengthTooLong { name, len, max } => write!(
                f,
                "{name} cannot hold a length of {len} bytes (at most {max}); nothing was sent"
            ),
        }
    }
}

impl std::error::Error for PayloadError {}

/// Turns typed input into the exact bytes to send: data, then checksum, then line ending.
/// With macros on, they are expanded once (send number 1); use [`Template`] to expand per send.
pub fn build_payload(input: &str, format: &SendFormat) -> Result<Vec<u8>, PayloadError> {
    if format.macros {
        return Template::parse(input, format)?.expand(1);
    }
    let mut bytes = match format.mode {
        InputMode::Hex => hex::decode_hex(input)?,
        InputMode::Text if format.escapes => escapes::encode_with_escapes(input, format.encoding)?,
        InputMode::Text => format.encoding.encode(input)?,
    };
    format.checksum.append_to(&mut bytes);
    bytes.extend_from_slice(format.line_ending.bytes());
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_order_is_data_checksum_line_ending() {
        let format = SendFormat {
            mode: InputMode::Hex,
            checksum: Checksum::Sum8,
            line_ending: LineEnding::CrLf,
            ..SendFormat::default()
        };
        assert_eq!(
            build_payload("01 02", &format).unwrap(),
            vec![1, 2, 3, b'\r', b'\n']
        );
    }

    #[test]
    fn gbk_text_with_escapes() {
        let format = SendFormat {
            encoding: TextEncoding::Gbk,
            escapes: true,
            ..SendFormat::default()
        };
        assert_eq!(
            build_payload("你好\\r\\n", &format).unwrap(),
            vec![0xC4, 0xE3, 0xBA, 0xC3, b'\r', b'\n']
        );
    }
}
