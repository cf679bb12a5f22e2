//! Text encodings a device may speak, through encoding_rs.
//!
//! Decoding never drops a byte silently: a byte that does not decode is shown as `\xHH`.

use super::PayloadError;
use encoding_rs::{DecoderResult, EncoderResult, Encoding};
use std::fmt::Write as _;

/// A text encoding offered to the user.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
pub enum TextEncoding {
    /// UTF-8.
    #[default]
    Utf8,
    /// GBK (simplified Chinese; encoding_rs's GBK decoder accepts GB18030 too).
    Gbk,
    /// GB18030.
    Gb18030,
    /// Big5 (traditional Chinese).
    Big5,
    /// Shift_JIS (Japanese).
    ShiftJis,
    /// EUC-KR (Korean).
    EucKr,
    /// UTF-16 little endian.
    Utf16Le,
    /// UTF-16 big endian.
    Utf16Be,
    /// windows-1252 (Western European, the usual "Latin-1").
    Windows1252,
}

impl TextEncoding {
    /// Every encoding, in the order a picker shows them.
    pub const ALL: [TextEncoding; 9] = [
        Self::Utf8,
        Self::Gbk,
        Self::Gb18030,
        Self::Big5,
        Self::ShiftJis,
        Self::EucKr,
        Self::Utf16Le,
        Self::Utf16Be,
        Self::Windows1252,
    ];

    /// The name shown to users and accepted on the command line.
    pub fn label(self) -> &'static str {
        match self {
            Self::Utf8 => "UTF-8",
            Self::Gbk => "GBK",
            Self::Gb18030 => "GB18030",
            Self::Big5 => "Big5",
            Self::ShiftJis => "Shift_JIS",
            Self::EucKr => "EUC-KR",
            Self::Utf16Le => "UTF-16LE",
            Self::Utf16Be => "UTF-16BE",
            Self::Windows1252 => "windows-1252",
        }
    }

    /// The legacy code page a system with this locale (`zh-CN`, `zh_TW.UTF-8`, `ja-JP`, …)
    /// uses for devices and files that are not UTF-8: GBK for simplified Chinese, Big5 for
    /// traditional, Shift_JIS for Japanese, EUC-KR for Korean; UTF-8 otherwise.
    pub fn legacy_for_locale(locale: &str) -> Self {
        let l = locale.to_ascii_lowercase().replace('_', "-");
        let traditional = ["zh-tw", "zh-hk", "zh-mo", "zh-hant"];
        if traditional.iter().any(|t| l.starts_with(t)) {
            Self::Big5
        } else if l.starts_with("zh") {
            Self::Gbk
        } else if l.starts_with("ja") {
            Self::ShiftJis
        } else if l.starts_with("ko") {
            Self::EucKr
        } else {
            Self::Utf8
        }
    }

    /// Finds an encoding by any of its usual names (`gbk`, `cp936`, `utf8`, `latin1`, …).
    pub fn from_name(name: &str) -> Option<Self> {
        let wanted: String = name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        let by_alias = match wanted.as_str() {
            "utf8" => Some(Self::Utf8),
            "gbk" | "cp936" | "gb2312" => Some(Self::Gbk),
            "gb18030" => Some(Self::Gb18030),
            "big5" => Some(Self::Big5),
            "shiftjis" | "sjis" | "cp932" => Some(Self::ShiftJis),
            "euckr" | "cp949" => Some(Self::EucKr),
            "utf16le" | "utf16" => Some(Self::Utf16Le),
            "utf16be" => Some(Self::Utf16Be),
            "windows1252" | "cp1252" | "latin1" | "iso88591" => Some(Self::Windows1252),
            _ => None,
        };
        by_alias.or_else(|| {
            Self::ALL.into_iter().find(|e| {
                Encoding::for_label(name.trim().as_bytes()).is_some_and(|found| found == e.inner())
            })
        })
    }

    pub(crate) fn inner(self) -> &'static Encoding {
        match self {
            Self::Utf8 => encoding_rs::UTF_8,
            Self::Gbk => encoding_rs::GBK,
            Self::Gb18030 => encoding_rs::GB18030,
            Self::Big5 => encoding_rs::BIG5,
            Self::ShiftJis => encoding_rs::SHIFT_JIS,
            Self::EucKr => encoding_rs::EUC_KR,
            Self::Utf16Le => encoding_rs::UTF_16LE,
            Self::Utf16Be => encoding_rs::UTF_16BE,
            Self::Windows1252 => encoding_rs::WINDOWS_1252,
        }
    }

    /// Encodes text; a character the encoding cannot represent is an error naming it.
    pub fn encode(self, text: &str) -> Result<Vec<u8>, PayloadError> {
        match self {
            // encoding_rs only decodes UTF-16, so encode it here.
            Self::Utf16Le => Ok(text.encode_utf16().flat_map(u16::to_le_bytes).collect()),
            Self::Utf16Be => Ok(text.encode_utf16().flat_map(u16::to_be_bytes).collect()),
            Self::Utf8 => Ok(text.as_bytes().to_vec()),
            _ => {
                let mut encoder = self.inner().new_encoder();
                let mut out = Vec::with_capacity(
                    encoder
                        .max_buffer_length_from_utf8_without_replacement(text.len())
                        .unwrap_or(text.len() * 4),
                );
                let (result, read) =
                    encoder.encode_from_utf8_to_vec_without_replacement(text, &mut out, true);
                match result {
                    EncoderResult::InputEmpty => Ok(out),
                    EncoderResult::Unmappable(ch) => {
                        let position = text[..read].chars().count();
                        Err(PayloadError::Unencodable {
                            position,
                            ch,
                            encoding: self,
                        })
                    }
                    // The buffer was sized for the worst case; treat this as unmappable input.
                    EncoderResult::OutputFull => Err(PayloadError::Unencodable {
                        position: text[..read].chars().count() + 1,
                        ch: text[read..].chars().next().unwrap_or('?'),
                        encoding: self,
                    }),
                }
            }
        }
    }

    /// Decodes bytes for display; bytes that do not decode appear as `\xHH`, never dropped.
    pub fn decode(self, bytes: &[u8]) -> String {
        let mut decoder = self.inner().new_decoder_without_bom_handling();
        let mut out = String::with_capacity(bytes.len() + 8);
        let mut rest = bytes;
        loop {
            let needed = decoder
                .max_utf8_buffer_length_without_replacement(rest.len())
                .unwrap_or(rest.len() * 3 + 16);
            out.reserve(needed);
            let (result, read) = decoder.decode_to_string_without_replacement(rest, &mut out, true);
            match result {
                DecoderResult::InputEmpty => return out,
                DecoderResult::OutputFull => {
                    rest = &rest[read..];
                }
                DecoderResult::Malformed(bad, after) => {
                    // The malformed bytes end `after` bytes before what was read.
                    let end = read - after as usize;
                    let start = end.saturating_sub(bad as usize);
                    for b in &rest[start..end] {
                        let _ = write!(out, "\\x{b:02X}");
                    }
                    // The decoder keeps its state: go on with what follows.
                    rest = &rest[read..];
                }
            }
        }
    }
}

impl std::fmt::Display for TextEncoding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chinese_system_defaults_to_gbk_and_others_to_their_code_page() {
        for (locale, expected) in [
            ("zh-CN", TextEncoding::Gbk),
            ("zh_CN.UTF-8", TextEncoding::Gbk),
            ("zh-Hans-CN", TextEncoding::Gbk),
            ("zh-TW", TextEncoding::Big5),
            ("zh-Hant-HK", TextEncoding::Big5),
            ("ja-JP", TextEncoding::ShiftJis),
            ("ko-KR", TextEncoding::EucKr),
            ("en-US", TextEncoding::Utf8),
            ("C", TextEncoding::Utf8),
        ] {
            assert_eq!(
                TextEncoding::legacy_for_locale(locale),
                expected,
                "{locale}"
            );
        }
    }

    #[test]
    fn gbk_round_trip_matches_python() {
        // Python: "你好".encode("gbk") == b'\xc4\xe3\xba\xc3'
        let bytes = TextEncoding::Gbk.encode("你好").unwrap();
        assert_eq!(bytes, vec![0xC4, 0xE3, 0xBA, 0xC3]);
        assert_eq!(TextEncoding::Gbk.decode(&bytes), "你好");
    }

    #[test]
    fn every_encoding_round_trips_its_own_text() {
        let samples = [
            (TextEncoding::Utf8, "héllo 你好 😀"),
            (TextEncoding::Gbk, "我很好,你呢"),
            (TextEncoding::Gb18030, "你好 😀"),
            (TextEncoding::Big5, "繁體中文"),
            (TextEncoding::ShiftJis, "こんにちは"),
            (TextEncoding::EucKr, "안녕하세요"),
            (TextEncoding::Utf16Le, "abc 你好"),
            (TextEncoding::Utf16Be, "abc 你好"),
            (TextEncoding::Windows1252, "café €"),
        ];
        for (enc, text) in samples {
            let bytes = enc.encode(text).unwrap();
            assert_eq!(enc.decode(&bytes), text, "{enc}");
        }
        assert_eq!(TextEncoding::Utf16Be.encode("A").unwrap(), vec![0, 0x41]);
    }

    #[test]
    fn undecodable_bytes_are_shown_not_dropped() {
        assert_eq!(TextEncoding::Utf8.decode(b"ab\xFFcd"), "ab\\xFFcd");
        assert_eq!(TextEncoding::Utf8.decode(b"ok\xE4\xBD"), "ok\\xE4\\xBD");
        assert_eq!(TextEncoding::Gbk.decode(b"\xC4\xE3\xFF"), "你\\xFF");
    }

    #[test]
    fn unencodable_character_is_named() {
        let err = TextEncoding::Gbk.encode("ab😀").unwrap_err();
        assert_eq!(
            err,
            PayloadError::Unencodable {
                position: 3,
                ch: '😀',
                encoding: TextEncoding::Gbk
            }
        );
    }

    #[test]
    fn names_and_aliases() {
        assert_eq!(TextEncoding::from_name("gbk"), Some(TextEncoding::Gbk));
        assert_eq!(TextEncoding::from_name("UTF-8"), Some(TextEncoding::Utf8));
        assert_eq!(TextEncoding::from_name("cp936"), Some(TextEncoding::Gbk));
        assert_eq!(
            TextEncoding::from_name("Shift_JIS"),
            Some(TextEncoding::ShiftJis)
        );
        assert_eq!(TextEncoding::from_name("klingon"), None);
        for enc in TextEncoding::ALL {
            assert_eq!(TextEncoding::from_name(enc.label()), Some(enc));
        }
    }
}
