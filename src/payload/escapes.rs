//! Backslash escapes in typed text and the line ending appended to each message.

use super::{PayloadError, TextEncoding};

/// The line ending appended to each message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum LineEnding {
    /// Nothing appended.
    #[default]
    None,
    /// `\r`.
    Cr,
    /// `\n`.
    Lf,
    /// `\r\n`.
    CrLf,
}

impl LineEnding {
    /// Every choice, in picker order.
    pub const ALL: [LineEnding; 4] = [Self::None, Self::Cr, Self::Lf, Self::CrLf];

    /// The bytes appended.
    pub fn bytes(self) -> &'static [u8] {
        match self {
            Self::None => b"",
            Self::Cr => b"\r",
            Self::Lf => b"\n",
            Self::CrLf => b"\r\n",
        }
    }

    /// The short names used in files and on the command line, in `ALL` order.
    pub const NAMES: [&'static str; 4] = ["none", "cr", "lf", "crlf"];

    /// The short name used in files and on the command line.
    pub fn name(self) -> &'static str {
        let i = Self::ALL.iter().position(|c| *c == self).unwrap_or(0);
        Self::NAMES[i]
    }

    /// Finds a line ending by its short name (case-insensitive).
    pub fn from_name(name: &str) -> Option<Self> {
        let name = name.trim().to_ascii_lowercase();
        Self::NAMES
            .iter()
            .position(|n| *n == name)
            .map(|i| Self::ALL[i])
    }

    /// Short name for pickers and the command line.
    pub fn label(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Cr => "CR",
            Self::Lf => "LF",
            Self::CrLf => "CRLF",
        }
    }
}

/// Encodes text in `encoding`, interpreting `\r \n \t \\ \0 \xHH`; `\xHH` is one raw byte.
pub fn encode_with_escapes(text: &str, encoding: TextEncoding) -> Result<Vec<u8>, PayloadError> {
    let mut out = Vec::with_capacity(text.len());
    let mut plain = String::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    // Encodes the pending plain run, fixing up error positions to the whole text.
    let flush = |plain: &mut String, out: &mut Vec<u8>, run_start: usize| {
        let bytes = encoding.encode(plain).map_err(|e| e.shifted(run_start))?;
        out.extend_from_slice(&bytes);
        plain.clear();
        Ok::<(), PayloadError>(())
    };
    let mut run_start = 0;
    while i < chars.len() {
        if chars[i] != '\\' {
            if plain.is_empty() {
                run_start = i;
            }
            plain.push(chars[i]);
            i += 1;
            continue;
        }
        flush(&mut plain, &mut out, run_start)?;
        let bad = PayloadError::BadEscape { position: i + 1 };
        match chars.get(i + 1) {
            Some('r') => out.push(b'\r'),
            Some('n') => out.push(b'\n'),
            Some('t') => out.push(b'\t'),
            Some('0') => out.push(0),
            Some('\\') => out.push(b'\\'),
            Some('x') => {
                let hi = chars
                    .get(i + 2)
                    .and_then(|c| c.to_digit(16))
                    .ok_or(bad.clone())?;
                let lo = chars.get(i + 3).and_then(|c| c.to_digit(16)).ok_or(bad)?;
                out.push((hi << 4 | lo) as u8);
                i += 4;
                continue;
            }
            _ => return Err(bad),
        }
        i += 2;
    }
    flush(&mut plain, &mut out, run_start)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_become_bytes() {
        let got = encode_with_escapes("a\\r\\n\\t\\\\\\0\\x7Fb", TextEncoding::Utf8).unwrap();
        assert_eq!(got, b"a\r\n\t\\\0\x7Fb");
        assert_eq!(
            encode_with_escapes("\\xff", TextEncoding::Utf8).unwrap(),
            vec![0xFF]
        );
    }

    #[test]
    fn bad_escapes_name_the_position() {
        assert_eq!(
            encode_with_escapes("ab\\q", TextEncoding::Utf8).unwrap_err(),
            PayloadError::BadEscape { position: 3 }
        );
        assert_eq!(
            encode_with_escapes("\\x4", TextEncoding::Utf8).unwrap_err(),
            PayloadError::BadEscape { position: 1 }
        );
        assert_eq!(
            encode_with_escapes("end\\", TextEncoding::Utf8).unwrap_err(),
            PayloadError::BadEscape { position: 4 }
        );
    }

    #[test]
    fn unencodable_position_counts_from_the_whole_text() {
        assert_eq!(
            encode_with_escapes("\\n好😀", TextEncoding::Gbk).unwrap_err(),
            PayloadError::Unencodable {
                position: 4,
                ch: '😀',
                encoding: TextEncoding::Gbk
            }
        );
    }
}
