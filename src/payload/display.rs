//! Bytes to one line of readable text for logs and the CLI.

use super::TextEncoding;
use std::fmt::Write as _;

/// Decodes `bytes` and escapes control characters (`\r`, `\n`, `\t`, `\xHH`) so that one
/// message stays one line and nothing invisible hides in it.
pub fn text_for_display(bytes: &[u8], encoding: TextEncoding) -> String {
    str_for_display(&encoding.decode(bytes))
}

/// Text with its control characters escaped (`\r`, `\n`, `\t`, `\xHH`): one line.
pub fn str_for_display(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c as u32 == 0x7F => {
                let _ = write!(out, "\\x{:02X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_visible() {
        assert_eq!(
            text_for_display(b"a\r\n\t\x00\x7fb", TextEncoding::Utf8),
            "a\\r\\n\\t\\x00\\x7Fb"
        );
        assert_eq!(
            text_for_display(&[0xC4, 0xE3, 0xBA, 0xC3, 0xFF], TextEncoding::Gbk),
            "你好\\xFF"
        );
    }
}
