//! Hex input and output as testers write it: `48 65 6C`, `48656C`, `0x48,0x65`, any case.

use super::PayloadError;

/// Is `c` one of the characters allowed between hex groups?
fn is_separator(c: char) -> bool {
    c.is_whitespace() || matches!(c, ',' | ';' | ':' | '-' | '_')
}

/// Parses hex text into bytes; errors name the 1-based character position.
pub fn decode_hex(input: &str) -> Result<Vec<u8>, PayloadError> {
    let chars: Vec<char> = input.chars().collect();
    let mut out = Vec::with_capacity(chars.len() / 2);
    let mut i = 0;
    while i < chars.len() {
        if is_separator(chars[i]) {
            i += 1;
            continue;
        }
        // One group: an optional 0x prefix, then digits up to the next separator.
        let group_start = i;
        if chars[i] == '0' && matches!(chars.get(i + 1), Some('x' | 'X')) {
            i += 2;
        }
        let digits_start = i;
        while i < chars.len() && !is_separator(chars[i]) {
            if !chars[i].is_ascii_hexdigit() {
                return Err(PayloadError::HexInvalidChar {
                    position: i + 1,
                    ch: chars[i],
                });
            }
            i += 1;
        }
        let digits = &chars[digits_start..i];
        if digits.is_empty() || digits.len() % 2 != 0 {
            return Err(PayloadError::HexOddDigits {
                position: group_start + 1,
            });
        }
        for pair in digits.chunks(2) {
            let hi = pair[0].to_digit(16).unwrap_or(0) as u8;
            let lo = pair[1].to_digit(16).unwrap_or(0) as u8;
            out.push(hi << 4 | lo);
        }
    }
    Ok(out)
}

/// Formats bytes as upper-case hex pairs separated by spaces: `48 65 6C`.
pub fn encode_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut s = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 0xF) as usize] as char);
    }
    s
}

/// Formats bytes as compact lower-case hex without separators: `48656c`.
pub fn encode_hex_compact(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 0xF) as usize] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_usual_forms() {
        let hel = vec![0x48, 0x65, 0x6C];
        assert_eq!(decode_hex("48 65 6C").unwrap(), hel);
        assert_eq!(decode_hex("48656c").unwrap(), hel);
        assert_eq!(decode_hex("0x48,0x65,0X6c").unwrap(), hel);
        assert_eq!(decode_hex("  48\t65\n6C  ").unwrap(), hel);
        assert_eq!(decode_hex("48-65:6c").unwrap(), hel);
        assert_eq!(decode_hex("").unwrap(), Vec::<u8>::new());
    }

    #[test]
    fn errors_name_the_position() {
        assert_eq!(
            decode_hex("48 6G").unwrap_err(),
            PayloadError::HexInvalidChar {
                position: 5,
                ch: 'G'
            }
        );
        assert_eq!(
            decode_hex("48 656").unwrap_err(),
            PayloadError::HexOddDigits { position: 4 }
        );
        assert_eq!(
            decode_hex("0x").unwrap_err(),
            PayloadError::HexOddDigits { position: 1 }
        );
        assert_eq!(
            decode_hex("你").unwrap_err(),
            PayloadError::HexInvalidChar {
                position: 1,
                ch: '你'
            }
        );
    }

    #[test]
    fn round_trip() {
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(decode_hex(&encode_hex(&all)).unwrap(), all);
        assert_eq!(decode_hex(&encode_hex_compact(&all)).unwrap(), all);
    }
}
