//! "Does what arrived match?" — for expectations in test sequences and auto-reply rules.

use super::{hex::decode_hex, PayloadError, TextEncoding};

/// How a pattern is compared with received data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MatchKind {
    /// The data is exactly these bytes (pattern in hex).
    ExactHex,
    /// The data starts with these bytes (pattern in hex).
    HexPrefix,
    /// The decoded text contains the pattern.
    #[default]
    Contains,
    /// The decoded text matches the regular expression.
    Regex,
}

/// A compiled pattern.
#[derive(Clone, Debug)]
pub struct Matcher {
    kind: MatchKind,
    bytes: Vec<u8>,
    text: String,
    regex: Option<regex::Regex>,
    encoding: TextEncoding,
}

/// Why a pattern cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MatcherError {
    /// The hex pattern is not hex.
    Hex(PayloadError),
    /// The regular expression does not compile.
    Regex(String),
}

impl std::fmt::Display for MatcherError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Hex(e) => write!(f, "hex pattern: {e}"),
            Self::Regex(e) => write!(f, "regular expression: {e}"),
        }
    }
}

impl std::error::Error for MatcherError {}

impl Matcher {
    /// Compiles `pattern` for `kind`; text is decoded with `encoding` before comparing.
    pub fn new(
        kind: MatchKind,
        pattern: &str,
        encoding: TextEncoding,
    ) -> Result<Self, MatcherError> {
        let mut m = Self {
            kind,
            bytes: Vec::new(),
            text: String::new(),
            regex: None,
            encoding,
        };
        match kind {
            MatchKind::ExactHex | MatchKind::HexPrefix => {
                m.bytes = decode_hex(pattern).map_err(MatcherError::Hex)?;
            }
            MatchKind::Contains => m.text = pattern.to_string(),
            MatchKind::Regex => {
                m.regex = Some(
                    regex::Regex::new(pattern).map_err(|e| MatcherError::Regex(e.to_string()))?,
                );
            }
        }
        Ok(m)
    }

    /// Does `data` match?
    pub fn matches(&self, data: &[u8]) -> bool {
        match self.kind {
            MatchKind::ExactHex => data == self.bytes.as_slice(),
            MatchKind::HexPrefix => data.starts_with(&self.bytes),
            MatchKind::Contains => self.encoding.decode(data).contains(&self.text),
            MatchKind::Regex => self
                .regex
                .as_ref()
                .is_some_and(|r| r.is_match(&self.encoding.decode(data))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_matches_and_misses() {
        let prefix = Matcher::new(MatchKind::HexPrefix, "01 03", TextEncoding::Utf8).unwrap();
        assert!(prefix.matches(&[0x01, 0x03, 0x14, 0x00]));
        assert!(!prefix.matches(&[0x01, 0x04, 0x14]), "a near miss");
        assert!(!prefix.matches(&[0x01]), "too short");
        let exact = Matcher::new(MatchKind::ExactHex, "4F4B", TextEncoding::Utf8).unwrap();
        assert!(exact.matches(b"OK") && !exact.matches(b"OK\r\n"));
        let contains = Matcher::new(MatchKind::Contains, "你好", TextEncoding::Gbk).unwrap();
        assert!(contains.matches(&TextEncoding::Gbk.encode("说你好啊").unwrap()));
        assert!(
            !contains.matches("你好".as_bytes()),
            "UTF-8 bytes are not GBK text"
        );
        let re = Matcher::new(
            MatchKind::Regex,
            r"^You entered \d+ characters",
            TextEncoding::Utf8,
        )
        .unwrap();
        assert!(re.matches(b"You entered 5 characters.\n") && !re.matches(b"You entered five"));
        assert!(matches!(
            Matcher::new(MatchKind::Regex, "(", TextEncoding::Utf8),
            Err(MatcherError::Regex(_))
        ));
        assert!(matches!(
            Matcher::new(MatchKind::HexPrefix, "0G", TextEncoding::Utf8),
            Err(MatcherError::Hex(_))
        ));
    }
}
