//! Modbus TCP (MBAP header + PDU) and Modbus RTU (address + PDU + CRC-16/MODBUS), requests and
//! responses of function codes 1–6, 15, 16, 23 and exception responses. A response is paired
//! with its request (TCP: the same transaction id; RTU: the previous request) so a read's
//! answer knows its start address.

use super::{DecodeError, Decoded, Field, Summary, Value};
use std::collections::VecDeque;

/// A function code's name: (English, Chinese). The window picks one; the CLI says English.
pub fn function_name(function: u8) -> (&'static str, &'static str) {
    match function {
        1 => ("Read Coils", "读线圈"),
        2 => ("Read Discrete Inputs", "读离散输入"),
        3 => ("Read Holding Registers", "读保持寄存器"),
        4 => ("Read Input Registers", "读输入寄存器"),
        5 => ("Write Single Coil", "写单个线圈"),
        6 => ("Write Single Register", "写单个寄存器"),
        15 => ("Write Multiple Coils", "写多个线圈"),
        16 => ("Write Multiple Registers", "写多个寄存器"),
        23 => ("Read/Write Multiple Registers", "读写多个寄存器"),
        _ => ("Unknown Function", "未知功能"),
    }
}

/// An exception code's name: (English, Chinese).
pub fn exception_name(code: u8) -> (&'static str, &'static str) {
    match code {
        1 => ("Illegal Function", "非法功能"),
        2 => ("Illegal Data Address", "非法数据地址"),
        3 => ("Illegal Data Value", "非法数据值"),
        4 => ("Server Device Failure", "从站设备故障"),
        5 => ("Acknowledge", "已确认"),
        6 => ("Server Device Busy", "从站设备忙"),
        8 => ("Memory Parity Error", "存储奇偶校验错误"),
        10 => ("Gateway Path Unavailable", "网关路径不可用"),
        11 => ("Gateway Target Failed to Respond", "网关目标无响应"),
        _ => ("Unknown Exception", "未知异常"),
    }
}

/// What a Modbus frame is, for its summary line.
#[derive(Clone, Debug, PartialEq)]
pub struct ModbusSummary {
    pub function: u8,
    pub unit: u8,
    pub response: bool,
    pub address: Option<u16>,
    pub quantity: Option<u16>,
    pub values: Vec<i64>,
    pub exception: Option<u8>,
}

impl ModbusSummary {
    /// `FC03 <name> unit 1 @2 ×3 → 102 103 104`, with the function's name in the language
    /// wanted (`unit` is the protocol's word in both).
    pub fn text(&self, name: &str) -> String {
        let mut text = format!("FC{:02X} {name} unit {}", self.function, self.unit);
        if let Some(code) = self.exception {
            text.push_str(&format!(" exception {code:02X} {}", exception_name(code).0));
            return text;
        }
        if let Some(a) = self.address {
            text.push_str(&format!(" @{a}"));
        }
        if let Some(q) = self.quantity {
            text.push_str(&format!(" ×{q}"));
        }
        if self.response && !self.values.is_empty() {
            let values: Vec<String> = self.values.iter().map(i64::to_string).collect();
            text.push_str(&format!(" → {}", values.join(" ")));
        } else if !self.response && !self.values.is_empty() {
            let values: Vec<String> = self.values.iter().map(i64::to_string).collect();
            text.push_str(&format!(" = {}", values.join(" ")));
        }
        text
    }
}

/// A request waiting for its response.
#[derive(Clone, Copy, Debug)]
struct Request {
    sent: bool,
    tid: Option<u16>,
    function: u8,
    address: Option<u16>,
    quantity: Option<u16>,
}

/// Requests seen and not yet answered (bounded: a peer that never answers cannot grow it).
#[derive(Debug, Default)]
pub(super) struct Pairing {
    pending: VecDeque<Request>,
}

const MAX_PENDING: usize = 256;

impl Pairing {
    /// The request this frame answers: one from the other side with the same transaction id
    /// (TCP) or the last one from the other side (RTU).
    fn take_answered(&mut self, sent: bool, tid: Option<u16>) -> Option<Request> {
        let i = self
            .pending
            .iter()
            .rposition(|r| r.sent != sent && (tid.is_none() || r.tid == tid))?;
        self.pending.remove(i)
    }

    fn remember(&mut self, request: Request) {
        if tid_or_last(&request) {
            // RTU: only the last request can be answered.
            self.pending.retain(|r| r.tid.is_some());
        }
        if self.pending.len() == MAX_PENDING {
            self.pending.pop_front();
        }
        self.pending.push_back(request);
    }
}

fn tid_or_last(r: &Request) -> bool {
    r.tid.is_none()
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn short(have: usize, need: usize) -> DecodeError {
    DecodeError::TooShort { have, need }
}

/// Modbus TCP: `tid(2) pid(2) len(2) unit(1) PDU`.
pub(super) fn decode_tcp(
    pairing: &mut Pairing,
    sent: bool,
    frame: &[u8],
) -> Result<Decoded, DecodeError> {
    if frame.len() < 8 {
        return Err(short(frame.len(), 8));
    }
    let tid = u16_at(frame, 0).unwrap_or(0);
    let pid = u16_at(frame, 2).unwrap_or(0);
    if pid != 0 {
        return Err(DecodeError::NotModbus(pid));
    }
    let len = usize::from(u16_at(frame, 4).unwrap_or(0));
    if frame.len() - 6 != len {
        return Err(DecodeError::Length {
            said: len,
            have: frame.len() - 6,
        });
    }
    let unit = frame[6];
    let mut fields = vec![
        Field::new("transaction_id", Value::Int(i64::from(tid)), 0, 2),
        Field::new("unit_id", Value::Int(i64::from(unit)), 6, 1),
    ];
    let summary = pdu(pairing, sent, Some(tid), unit, &frame[7..], 7, &mut fields)?;
    Ok(Decoded {
        summary: Summary::Modbus(summary),
        fields,
    })
}

/// Modbus RTU: `address(1) PDU crc(2, low byte first)`.
pub(super) fn decode_rtu(
    pairing: &mut Pairing,
    sent: bool,
    frame: &[u8],
) -> Result<Decoded, DecodeError> {
    if frame.len() < 4 {
        return Err(short(frame.len(), 4));
    }
    let body = &frame[..frame.len() - 2];
    let got = u16::from_le_bytes([frame[frame.len() - 2], frame[frame.len() - 1]]);
    let computed = crc::Crc::<u16>::new(&crc::CRC_16_MODBUS).checksum(body);
    if got != computed {
        return Err(DecodeError::Crc {
            got: u32::from(got),
            computed: u32::from(computed),
        });
    }
    let unit = frame[0];
    let mut fields = vec![Field::new("unit_id", Value::Int(i64::from(unit)), 0, 1)];
    let summary = pdu(pairing, sent, None, unit, &body[1..], 1, &mut fields)?;
    fields.push(Field::new(
        "crc",
        Value::Int(i64::from(got)),
        frame.len() - 2,
        2,
    ));
    Ok(Decoded {
        summary: Summary::Modbus(summary),
        fields,
    })
}

/// Decodes a PDU at offset `at` of the frame: a response when it answers a pending request from
/// the other side, else a request (remembered).
fn pdu(
    pairing: &mut Pairing,
    sent: bool,
    tid: Option<u16>,
    unit: u8,
    pdu: &[u8],
    at: usize,
    fields: &mut Vec<Field>,
) -> Result<ModbusSummary, DecodeError> {
    let Some(&function) = pdu.first() else {
        return Err(short(at, at + 1));
    };
    let data = &pdu[1..];
    let need = |n: usize| {
        if data.len() < n {
            Err(short(at + 1 + data.len(), at + 1 + n))
        } else {
            Ok(())
        }
    };
    fields.push(Field::new(
        "function",
        Value::Int(i64::from(function)),
        at,
        1,
    ));
    let mut summary = ModbusSummary {
        function,
        unit,
        response: false,
        address: None,
        quantity: None,
        values: Vec::new(),
        exception: None,
    };
    let base = function & 0x7F;
    if !matches!(base, 1..=6 | 15 | 16 | 23) {
        return Err(DecodeError::UnknownFunction(function));
    }
    let answered = pairing
        .take_answered(sent, tid)
        .filter(|r| r.function == base);
    let d = at + 1; // offset of `data` in the frame
    if function & 0x80 != 0 {
        need(1)?;
        summary.response = true;
        summary.exception = Some(data[0]);
        fields.push(Field::new(
            "exception",
            Value::Int(i64::from(data[0])),
            d,
            1,
        ));
        return Ok(summary);
    }
    let Some(request) = answered else {
        // A request.
        match function {
            1..=4 => {
                need(4)?;
                summary.address = u16_at(data, 0);
                summary.quantity = u16_at(data, 2);
            }
            5 | 6 => {
                need(4)?;
                summary.address = u16_at(data, 0);
                let v = u16_at(data, 2).unwrap_or(0);
                summary.values = vec![if function == 5 {
                    i64::from(v == 0xFF00)
                } else {
                    i64::from(v)
                }];
            }
            15 | 16 => {
                need(5)?;
                summary.address = u16_at(data, 0);
                summary.quantity = u16_at(data, 2);
                let count = usize::from(data[4]);
                need(5 + count)?;
                let q = summary.quantity.unwrap_or(0);
                summary.values = if function == 15 {
                    bits(&data[5..5 + count], q)
                } else {
                    registers(&data[5..5 + count])
                };
            }
            _ => {
                // 23: read address, read quantity, write address, write quantity, count, values.
                need(9)?;
                summary.address = u16_at(data, 0);
                summary.quantity = u16_at(data, 2);
                let count = usize::from(data[8]);
                need(9 + count)?;
                summary.values = registers(&data[9..9 + count]);
                fields.push(Field::new(
                    "write_address",
                    Value::Int(i64::from(u16_at(data, 4).unwrap_or(0))),
                    d + 4,
                    2,
                ));
            }
        }
        push_common(fields, &summary, Some(d));
        pairing.remember(Request {
            sent,
            tid,
            function,
            address: summary.address,
            quantity: summary.quantity,
        });
        return Ok(summary);
    };
    // A response to `request`.
    summary.response = true;
    summary.address = request.address;
    summary.quantity = request.quantity;
    match function {
        1..=4 | 23 => {
            need(1)?;
            let count = usize::from(data[0]);
            need(1 + count)?;
            let bytes = &data[1..1 + count];
            summary.values = if function <= 2 {
                bits(bytes, request.quantity.unwrap_or((count * 8) as u16))
            } else {
                registers(bytes)
            };
        }
        5 | 6 | 15 | 16 => {
            need(4)?;
            summary.address = u16_at(data, 0);
            let v = u16_at(data, 2).unwrap_or(0);
            match function {
                5 => summary.values = vec![i64::from(v == 0xFF00)],
                6 => summary.values = vec![i64::from(v)],
                _ => summary.quantity = Some(v),
            }
        }
        _ => {}
    }
    // A read's answer does not repeat the address and quantity: they come from its request.
    let in_frame = (!matches!(function, 1..=4 | 23)).then_some(d);
    push_common(fields, &summary, in_frame);
    // Each value of a read, by its address: what a chart plots.
    if let (Some(start), true) = (summary.address, matches!(function, 1..=4 | 23)) {
        let prefix = match function {
            1 => "coil",
            2 => "input",
            3 | 23 => "holding",
            _ => "register",
        };
        for (i, v) in summary.values.iter().enumerate() {
            fields.push(Field::new(
                format!("{prefix}.{}", u32::from(start) + i as u32),
                Value::Int(*v),
                0,
                0,
            ));
        }
    }
    Ok(summary)
}

/// `address`, `quantity` and `values` fields; `at`: where address and quantity are in the
/// frame (`None`: they come from the request, no bytes of this frame).
fn push_common(fields: &mut Vec<Field>, s: &ModbusSummary, at: Option<usize>) {
    let (offset, len) = at.map_or((0, 0), |d| (d, 2));
    if let Some(a) = s.address {
        fields.push(Field::new("address", Value::Int(i64::from(a)), offset, len));
    }
    if let Some(q) = s.quantity {
        let offset = if len == 0 { 0 } else { offset + 2 };
        fields.push(Field::new(
            "quantity",
            Value::Int(i64::from(q)),
            offset,
            len,
        ));
    }
    if !s.values.is_empty() {
        fields.push(Field::new("values", Value::List(s.values.clone()), 0, 0));
    }
}

fn registers(bytes: &[u8]) -> Vec<i64> {
    bytes
        .chunks_exact(2)
        .map(|p| i64::from(u16::from_be_bytes([p[0], p[1]])))
        .collect()
}

/// `count` coils, least significant bit of the first byte first.
fn bits(bytes: &[u8], count: u16) -> Vec<i64> {
    (0..usize::from(count).min(bytes.len() * 8))
        .map(|i| i64::from((bytes[i / 8] >> (i % 8)) & 1))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::hex::decode_hex;

    fn tcp(p: &mut Pairing, sent: bool, hex: &str) -> Result<Decoded, DecodeError> {
        decode_tcp(p, sent, &decode_hex(hex).unwrap())
    }

    #[test]
    fn a_read_and_its_answer_from_the_issue() {
        let mut p = Pairing::default();
        let q = tcp(&mut p, true, "00 03 00 00 00 06 01 03 00 02 00 02").unwrap();
        assert_eq!(q.summary_en(), "FC03 Read Holding Registers unit 1 @2 ×2");
        let a = tcp(&mut p, false, "00 03 00 00 00 07 01 03 04 00 2C 00 2D").unwrap();
        assert_eq!(
            a.summary_en(),
            "FC03 Read Holding Registers unit 1 @2 ×2 → 44 45"
        );
        assert_eq!(a.get("holding.2"), Some(&Value::Int(44)));
        assert_eq!(a.get("holding.3"), Some(&Value::Int(45)));
        assert_eq!(a.get("transaction_id"), Some(&Value::Int(3)));
        assert_eq!(a.get("values"), Some(&Value::List(vec![44, 45])));
        // The answer's address and quantity are its request's: no bytes of the answer.
        let address = a.fields.iter().find(|f| f.name == "address").unwrap();
        assert_eq!((address.offset, address.len), (0, 0));
        let asked = q.fields.iter().find(|f| f.name == "quantity").unwrap();
        assert_eq!((asked.offset, asked.len), (10, 2));
    }

    #[test]
    fn every_function_code_and_an_exception() {
        let mut p = Pairing::default();
        // FC01: read 10 coils at 19; answer 2 bytes CD 01 → 1011001110.
        tcp(&mut p, true, "00 01 00 00 00 06 11 01 00 13 00 0A").unwrap();
        let a = tcp(&mut p, false, "00 01 00 00 00 05 11 01 02 CD 01").unwrap();
        assert_eq!(
            a.get("values"),
            Some(&Value::List(vec![1, 0, 1, 1, 0, 0, 1, 1, 1, 0]))
        );
        assert_eq!(a.get("coil.19"), Some(&Value::Int(1)));
        // FC02 and FC04 like FC01 and FC03.
        tcp(&mut p, true, "00 02 00 00 00 06 01 02 00 00 00 03").unwrap();
        let a = tcp(&mut p, false, "00 02 00 00 00 04 01 02 01 05").unwrap();
        assert_eq!(a.get("values"), Some(&Value::List(vec![1, 0, 1])));
        tcp(&mut p, true, "00 04 00 00 00 06 01 04 00 08 00 01").unwrap();
        let a = tcp(&mut p, false, "00 04 00 00 00 05 01 04 02 00 0A").unwrap();
        assert_eq!(a.get("register.8"), Some(&Value::Int(10)));
        // FC05 write coil on, FC06 write register: the answer echoes the request.
        let q = tcp(&mut p, true, "00 05 00 00 00 06 01 05 00 AC FF 00").unwrap();
        assert_eq!(q.get("values"), Some(&Value::List(vec![1])));
        let a = tcp(&mut p, false, "00 05 00 00 00 06 01 05 00 AC FF 00").unwrap();
        assert!(matches!(&a.summary, Summary::Modbus(m) if m.response));
        tcp(&mut p, true, "00 06 00 00 00 06 01 06 00 01 00 03").unwrap();
        let a = tcp(&mut p, false, "00 06 00 00 00 06 01 06 00 01 00 03").unwrap();
        assert_eq!(a.summary_en(), "FC06 Write Single Register unit 1 @1 → 3");
        // FC15: 10 coils at 19 = CD 01; FC16: 2 registers at 1 = 000A 0102.
        let q = tcp(&mut p, true, "00 07 00 00 00 09 01 0F 00 13 00 0A 02 CD 01").unwrap();
        assert_eq!(q.get("quantity"), Some(&Value::Int(10)));
        let a = tcp(&mut p, false, "00 07 00 00 00 06 01 0F 00 13 00 0A").unwrap();
        assert_eq!(a.summary_en(), "FC0F Write Multiple Coils unit 1 @19 ×10");
        let q = tcp(
            &mut p,
            true,
            "00 08 00 00 00 0B 01 10 00 01 00 02 04 00 0A 01 02",
        )
        .unwrap();
        assert_eq!(q.get("values"), Some(&Value::List(vec![10, 258])));
        tcp(&mut p, false, "00 08 00 00 00 06 01 10 00 01 00 02").unwrap();
        // FC23: read 2 at 3, write 1 at 14 = 00FF.
        let q = tcp(
            &mut p,
            true,
            "00 09 00 00 00 0D 01 17 00 03 00 02 00 0E 00 01 02 00 FF",
        )
        .unwrap();
        assert_eq!(q.get("write_address"), Some(&Value::Int(14)));
        let a = tcp(&mut p, false, "00 09 00 00 00 07 01 17 04 00 FE 0A CD").unwrap();
        assert_eq!(a.get("holding.4"), Some(&Value::Int(0x0ACD)));
        // An exception: FC83 code 02.
        tcp(&mut p, true, "00 0A 00 00 00 06 01 03 FF 00 00 01").unwrap();
        let e = tcp(&mut p, false, "00 0A 00 00 00 03 01 83 02").unwrap();
        assert_eq!(e.get("exception"), Some(&Value::Int(2)));
        assert_eq!(
            e.summary_en(),
            "FC83 Read Holding Registers unit 1 exception 02 Illegal Data Address"
        );
    }

    #[test]
    fn answers_pair_by_transaction_id_in_any_order() {
        let mut p = Pairing::default();
        tcp(&mut p, true, "00 01 00 00 00 06 01 03 00 00 00 01").unwrap();
        tcp(&mut p, true, "00 02 00 00 00 06 01 03 00 64 00 01").unwrap();
        let second = tcp(&mut p, false, "00 02 00 00 00 05 01 03 02 00 07").unwrap();
        assert_eq!(second.get("holding.100"), Some(&Value::Int(7)));
        let first = tcp(&mut p, false, "00 01 00 00 00 05 01 03 02 00 09").unwrap();
        assert_eq!(first.get("holding.0"), Some(&Value::Int(9)));
    }

    #[test]
    fn broken_frames_say_why() {
        let mut p = Pairing::default();
        assert_eq!(
            tcp(&mut p, true, "00 01 00 00 00 06 01"),
            Err(DecodeError::TooShort { have: 7, need: 8 })
        );
        assert_eq!(
            tcp(&mut p, true, "00 01 00 00 00 09 01 03 00 00 00 01"),
            Err(DecodeError::Length { said: 9, have: 6 })
        );
        assert_eq!(
            tcp(&mut p, true, "00 01 00 07 00 06 01 03 00 00 00 01"),
            Err(DecodeError::NotModbus(7))
        );
        assert_eq!(
            tcp(&mut p, true, "00 01 00 00 00 03 01 2B 0E"),
            Err(DecodeError::UnknownFunction(0x2B))
        );
        assert!(matches!(
            tcp(&mut p, true, "00 01 00 00 00 04 01 03 00 00"),
            Err(DecodeError::TooShort { .. })
        ));
    }

    #[test]
    fn rtu_checks_its_crc_and_pairs_with_the_previous_request() {
        let mut p = Pairing::default();
        // 01 03 00 00 00 0A + CRC C5 CD (the usual example).
        let q = decode_rtu(
            &mut p,
            true,
            &decode_hex("01 03 00 00 00 0A C5 CD").unwrap(),
        )
        .unwrap();
        assert_eq!(q.summary_en(), "FC03 Read Holding Registers unit 1 @0 ×10");
        let mut answer = decode_hex("01 03 04 00 2C 00 2D").unwrap();
        crate::payload::Checksum::Crc16Modbus.append_to(&mut answer);
        let a = decode_rtu(&mut p, false, &answer).unwrap();
        assert_eq!(a.get("holding.1"), Some(&Value::Int(45)));
        let bad = decode_rtu(
            &mut p,
            false,
            &decode_hex("01 03 00 00 00 0A 34 12").unwrap(),
        );
        assert_eq!(
            bad,
            Err(DecodeError::Crc {
                got: 0x1234,
                computed: 0xCDC5
            })
        );
        assert_eq!(bad.unwrap_err().to_string(), "CRC 0x1234 ≠ 0xCDC5");
    }

    #[test]
    fn a_peer_that_never_answers_cannot_grow_the_pending_requests() {
        let mut p = Pairing::default();
        for tid in 0..10_000u16 {
            let frame = [(tid >> 8) as u8, tid as u8, 0, 0, 0, 6, 1, 3, 0, 0, 0, 1];
            decode_tcp(&mut p, true, &frame).unwrap();
        }
        assert!(p.pending.len() <= MAX_PENDING);
    }
}
