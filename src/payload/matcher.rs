//! "Does what arrived match?" — for expectations in test sequences and auto-reply rules — and
//! what the match captured, for a rule's reply: the groups of a regular expression (`$1`,
//! `${name}`) or the bytes under `??` in a hex pattern such as `01 03 ?? ??`.

use super::{hex::decode_hex, PayloadError, TextEncoding};

/// How a pattern is compared with received data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MatchKind {
    /// The data is exactly these bytes (pattern in hex; `??` is any byte).
    ExactHex,
    /// The data starts with these bytes (pattern in hex; `??` is any byte).
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
    /// Hex patterns: each byte, or `None` for `??`.
    mask: Vec<Option<u8>>,
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
            mask: Vec::new(),
            text: String::new(),
            regex: None,
            encoding,
        };
        match kind {
            MatchKind::ExactHex | MatchKind::HexPrefix => {
                m.mask = decode_mask(pattern).map_err(MatcherError::Hex)?;
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
            MatchKind::ExactHex => data.len() == self.mask.len() && self.mask_fits(data),
            MatchKind::HexPrefix => data.len() >= self.mask.len() && self.mask_fits(data),
            MatchKind::Contains => self.encoding.decode(data).contains(&self.text),
            MatchKind::Regex => self
                .regex
                .as_ref()
                .is_some_and(|r| r.is_match(&self.encoding.decode(data))),
        }
    }

    fn mask_fits(&self, data: &[u8]) -> bool {
        self.mask
            .iter()
            .zip(data)
            .all(|(want, got)| want.is_none_or(|w| w == *got))
    }

    /// How many numbered groups a match captures (`$1` … `$N`; `$0` is the whole match).
    pub fn group_count(&self) -> usize {
        match self.kind {
            MatchKind::ExactHex | MatchKind::HexPrefix => wildcard_runs(&self.mask).len(),
            MatchKind::Contains => 0,
            MatchKind::Regex => self.regex.as_ref().map_or(0, |r| r.captures_len() - 1),
        }
    }

    /// The names of a regular expression's named groups (`${name}`).
    pub fn group_names(&self) -> Vec<String> {
        self.regex
            .iter()
            .flat_map(|r| r.capture_names().flatten().map(str::to_string))
            .collect()
    }

    /// What `data` matched and captured, or `None` when it does not match. Text captures are
    /// the matched text encoded again in the pattern's encoding.
    pub fn captures(&self, data: &[u8]) -> Option<Captures> {
        match self.kind {
            MatchKind::ExactHex | MatchKind::HexPrefix => {
                if !self.matches(data) {
                    return None;
                }
                let mut groups = vec![Some(data[..self.mask.len()].to_vec())];
                groups.extend(
                    wildcard_runs(&self.mask)
                        .into_iter()
                        .map(|r| Some(data[r].to_vec())),
                );
                Some(Captures {
                    groups,
                    names: Vec::new(),
                })
            }
            MatchKind::Contains => self.matches(data).then(|| Captures {
                groups: vec![self.encoding.encode(&self.text).ok()],
                names: Vec::new(),
            }),
            MatchKind::Regex => {
                let regex = self.regex.as_ref()?;
                let text = self.encoding.decode(data);
                let found = regex.captures(&text)?;
                let encode = |m: regex::Match<'_>| {
                    self.encoding
                        .encode(m.as_str())
                        .unwrap_or_else(|_| m.as_str().as_bytes().to_vec())
                };
                Some(Captures {
                    groups: found.iter().map(|g| g.map(encode)).collect(),
                    names: regex
                        .capture_names()
                        .flatten()
                        .filter_map(|n| found.name(n).map(|m| (n.to_string(), encode(m))))
                        .collect(),
                })
            }
        }
    }
}

/// What one match captured: `groups[0]` is the whole match, `groups[i]` group `i` (`None` when
/// an optional group took no part); `names` the named groups that did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Captures {
    pub groups: Vec<Option<Vec<u8>>>,
    pub names: Vec<(String, Vec<u8>)>,
}

impl Captures {
    /// The bytes of group `index` (empty when absent).
    pub fn group(&self, index: usize) -> &[u8] {
        self.groups
            .get(index)
            .and_then(|g| g.as_deref())
            .unwrap_or_default()
    }

    /// The bytes of the group called `name` (empty when absent).
    pub fn named(&self, name: &str) -> &[u8] {
        self.names
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b.as_slice())
            .unwrap_or_default()
    }
}

/// A hex pattern where `??` stands for any one byte: `01 03 ?? ??`, `AA??55`.
fn decode_mask(pattern: &str) -> Result<Vec<Option<u8>>, PayloadError> {
    let mut mask = Vec::new();
    let mut start_chars = 0usize;
    for (i, piece) in pattern.split("??").enumerate() {
        if i > 0 {
            mask.push(None);
            start_chars += 2;
        }
        let bytes = decode_hex(piece).map_err(|e| e.shifted(start_chars))?;
        mask.extend(bytes.into_iter().map(Some));
        start_chars += piece.chars().count();
    }
    Ok(mask)
}

/// The byte ranges of each run of `??` in a mask, left to right.
fn wildcard_runs(mask: &[Option<u8>]) -> Vec<std::ops::Range<usize>> {
    let mut runs: Vec<std::ops::Range<usize>> = Vec::new();
    for (i, b) in mask.iter().enumerate() {
        if b.is_some() {
            continue;
        }
        match runs.last_mut() {
            Some(run) if run.end == i => run.end = i + 1,
            _ => runs.push(i..i + 1),
        }
    }
    runs
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

    #[test]
    fn a_hex_mask_matches_any_byte_under_its_wildcards_and_captures_each_run() {
        let m = Matcher::new(MatchKind::ExactHex, "01 03 ?? ?? 00 ??", TextEncoding::Utf8).unwrap();
        assert_eq!(m.group_count(), 2);
        let c = m.captures(&[1, 3, 0xAB, 0xCD, 0, 9]).unwrap();
        assert_eq!(c.group(0), &[1, 3, 0xAB, 0xCD, 0, 9]);
        assert_eq!((c.group(1), c.group(2)), (&[0xAB, 0xCD][..], &[9u8][..]));
        assert!(
            m.captures(&[1, 4, 0xAB, 0xCD, 0, 9]).is_none(),
            "a fixed byte differs"
        );
        assert!(!m.matches(&[1, 3, 0xAB, 0xCD, 0]), "too short for exact");
        let prefix = Matcher::new(MatchKind::HexPrefix, "AA??", TextEncoding::Utf8).unwrap();
        assert_eq!(prefix.captures(&[0xAA, 7, 8]).unwrap().group(1), &[7]);
        // A wrong digit is reported where the user typed it.
        assert_eq!(
            Matcher::new(MatchKind::ExactHex, "01 ?? 0G", TextEncoding::Utf8).unwrap_err(),
            MatcherError::Hex(PayloadError::HexInvalidChar {
                position: 8,
                ch: 'G'
            })
        );
    }

    #[test]
    fn a_regex_captures_numbered_and_named_groups_in_the_pattern_encoding() {
        let m = Matcher::new(
            MatchKind::Regex,
            r"温度=(?<t>\d+) id=(\w+)",
            TextEncoding::Gbk,
        )
        .unwrap();
        assert_eq!(
            (m.group_count(), m.group_names()),
            (2, vec!["t".to_string()])
        );
        let data = TextEncoding::Gbk.encode("x 温度=21 id=A7").unwrap();
        let c = m.captures(&data).unwrap();
        assert_eq!(c.named("t"), b"21");
        assert_eq!(c.group(2), b"A7");
        assert_eq!(
            c.group(0),
            TextEncoding::Gbk.encode("温度=21 id=A7").unwrap()
        );
        assert_eq!(c.named("missing"), b"");
        assert!(m.captures(b"nothing").is_none());
    }
}
