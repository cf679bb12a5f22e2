//! The byte codecs framing uses: SLIP (RFC 1055) and COBS, and finding a delimiter.

pub(super) fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    match needle {
        [byte] => memchr::memchr(*byte, haystack),
        _ => memchr::memmem::find(haystack, needle),
    }
}

/// Decodes one SLIP frame (without its END); `None` on a bad escape.
pub fn slip_decode(raw: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(raw.len());
    let mut bytes = raw.iter();
    while let Some(&b) = bytes.next() {
        match b {
            0xDB => match bytes.next() {
                Some(0xDC) => out.push(0xC0),
                Some(0xDD) => out.push(0xDB),
                _ => return None,
            },
            b => out.push(b),
        }
    }
    Some(out)
}

/// Encodes one SLIP frame, with its END.
pub fn slip_encode(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 2);
    for &b in data {
        match b {
            0xC0 => out.extend_from_slice(&[0xDB, 0xDC]),
            0xDB => out.extend_from_slice(&[0xDB, 0xDD]),
            b => out.push(b),
        }
    }
    out.push(0xC0);
    out
}

/// Decodes one COBS frame (without its 0x00); `None` if it is not valid COBS.
pub fn cobs_decode(raw: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(raw.len());
    let mut at = 0;
    while at < raw.len() {
        let code = raw[at] as usize;
        if code == 0 || at + code > raw.len() {
            return None;
        }
        out.extend_from_slice(&raw[at + 1..at + code]);
        at += code;
        if code < 0xFF && at < raw.len() {
            out.push(0);
        }
    }
    Some(out)
}

/// Encodes one COBS frame, with its 0x00.
pub fn cobs_encode(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 254 + 2);
    let mut code_at = out.len();
    out.push(0);
    let mut code = 1u8;
    for &b in data {
        if b == 0 {
            out[code_at] = code;
            code_at = out.len();
            out.push(0);
            code = 1;
        } else {
            out.push(b);
            code += 1;
            if code == 0xFF {
                out[code_at] = code;
                code_at = out.len();
                out.push(0);
                code = 1;
            }
        }
    }
    out[code_at] = code;
    out.push(0);
    out
}
