//! Decoded frames and decoder errors in the user's language (the CLI prints English).

use super::Lang;
use crate::payload::decode::{
    exception_name, function_name, DecodeError, Decoded, ProtocolError, Summary,
};

/// A decoded frame's one-line summary: Modbus names in the user's language
/// (`FC03 读保持寄存器 unit 1 @2 ×3 → 102 103 104`), a record as `name=value unit …`.
pub fn decoded_summary(lang: Lang, d: &Decoded) -> String {
    match (&d.summary, lang) {
        (_, Lang::En) => d.summary_en(),
        (Summary::Record, Lang::Zh) => d.record_text(),
        (Summary::Modbus(m), Lang::Zh) => {
            let name = function_name(m.function & 0x7F).1;
            match m.exception {
                Some(code) => format!(
                    "FC{:02X} {name} unit {} 异常 {code:02X} {}",
                    m.function,
                    m.unit,
                    exception_name(code).1
                ),
                None => m.text(name),
            }
        }
    }
}

/// Why a frame does not decode.
pub fn decode_error(lang: Lang, e: &DecodeError) -> String {
    use DecodeError as E;
    match (lang, e) {
        (Lang::En, _) => format!("not decoded: {e}"),
        (Lang::Zh, E::TooShort { have, need }) => format!("帧太短:{have} / {need} 字节"),
        (Lang::Zh, E::Crc { got, computed }) => {
            format!("CRC 校验错误:0x{got:04X} ≠ 0x{computed:04X}")
        }
        (Lang::Zh, E::Length { said, have }) => {
            format!("长度字段说后面有 {said} 字节,实际 {have} 字节")
        }
        (Lang::Zh, E::NotModbus(pid)) => format!("协议标识 {pid} 不是 Modbus(0)"),
        (Lang::Zh, E::UnknownFunction(fc)) => format!("不认识的功能码 {fc}"),
        (
            Lang::Zh,
            E::Unexpected {
                field,
                expected,
                got,
            },
        ) => {
            format!("{field}:应为 {expected},实际 {got}")
        }
        (
            Lang::Zh,
            E::Checksum {
                field,
                got,
                computed,
            },
        ) => format!("{field}:校验值 {got} ≠ {computed}"),
        (Lang::Zh, E::Json(words)) => format!("不是 JSON:{words}"),
        (Lang::Zh, E::NoPairs) => "没有 键=值 对".into(),
        (Lang::Zh, E::Text { field, encoding }) => format!("{field}:不是有效的 {encoding} 文本"),
    }
}

/// Why a protocol file cannot be used; the TOML parser's words (with line and column) are kept.
pub fn protocol_error(lang: Lang, e: &ProtocolError) -> String {
    use crate::payload::decode::FieldProblem as P;
    if lang == Lang::En {
        return e.to_string();
    }
    match e {
        ProtocolError::Syntax(words) => format!("文件格式有误:\n{words}"),
        ProtocolError::Frame(f) => format!("frame:分帧设置无效 {f}"),
        ProtocolError::NoFields => "文件中没有 [[field]]".into(),
        ProtocolError::Field {
            line,
            number,
            name,
            problem,
        } => {
            let why = match problem {
                P::UnknownType(t) => format!(
                    "不认识的类型 '{t}'(可用 u8 u16 u32 u64 i8 i16 i32 i64 f32 f64 bytes string)"
                ),
                P::Endian(e) => format!("endian 只能是 big 或 little,不是 '{e}'"),
                P::Checksum(c) => format!("不认识的校验 '{c}'"),
                P::ChecksumType => "校验字段应是与校验同样大小的无符号整数或 bytes".into(),
                P::Encoding(e) => format!("不认识的编码 '{e}'"),
                P::LengthFrom(f) => format!("length_from 指向的 '{f}' 不是前面的整数字段"),
                P::TwoLengths => "length 和 length_from 只能给一个".into(),
                P::LengthOnNumber => "length 只用于 bytes 和 string".into(),
                P::Expect(h) => format!("expect 不是十六进制:{h}"),
                P::EnumKey(k) => format!("enum 的键 '{k}' 不是整数"),
                P::Bits(b) => {
                    format!("位字段 '{b}':请给 bit = N 或 bits = \"低-高\",且在字段位数之内")
                }
                P::NotANumber => "scale、offset、enum 和 bits 只用于数值字段".into(),
                P::RestNotLast => "只有最后一个字段可以不给长度(取帧的其余部分)".into(),
                P::Duplicate(n) => format!("有两个字段都叫 '{n}'"),
            };
            format!("第 {line} 行,第 {number} 个字段({name}):{why}")
        }
    }
}
