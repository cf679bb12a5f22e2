//! The WebSocket transport's words: its failures and its log rows (upgrade, ping, pong,
//! close), in the user's language.

use super::Lang;
use crate::engine::ws::{close_code_words, WsFailure, WsNote, WsUrlError};
use crate::engine::Direction;

/// A close code in words.
fn code_words(lang: Lang, code: u16) -> &'static str {
    if lang == Lang::En {
        return close_code_words(code);
    }
    match code {
        1000 => "正常关闭",
        1001 => "对方离开",
        1002 => "协议错误",
        1003 => "不支持的数据",
        1005 => "没有状态码",
        1006 => "未关闭就断开",
        1007 => "数据无效(不是 UTF-8)",
        1008 => "违反策略",
        1009 => "消息太大",
        1010 => "需要扩展",
        1011 => "服务器错误",
        1012 => "服务重启",
        1013 => "请稍后再试",
        1014 => "网关错误",
        1015 => "TLS 握手失败",
        3000..=3999 => "库或框架注册的代码",
        4000..=4999 => "应用自定义",
        _ => "未定义的代码",
    }
}

/// Why a WebSocket connection or upgrade failed.
pub fn ws_failure(lang: Lang, e: &WsFailure) -> String {
    if lang == Lang::En {
        return e.to_string();
    }
    match e {
        WsFailure::Url(u) => match u {
            WsUrlError::Syntax(s) => format!("不是有效的地址:{s}"),
            WsUrlError::Scheme(s) => format!("地址必须以 ws:// 或 wss:// 开头(不是 {s}://)"),
            WsUrlError::NoHost => "地址里没有主机".into(),
        },
        WsFailure::BadHeader(h) => format!("请求头无效:{h}"),
        WsFailure::Refused { status, reason } => {
            format!("服务器回答 HTTP {status} {reason}:没有升级为 WebSocket")
        }
        WsFailure::BadUpgrade(d) => format!("服务器的回答不是有效的 WebSocket 升级:{d}"),
        WsFailure::NotUpgrade { status, request } => {
            format!("不是 WebSocket 升级请求({request}):已回答 HTTP {status}")
        }
        WsFailure::UpgradeTimeout(s) => format!("升级没有在 {s} 秒内完成"),
        WsFailure::ClosedDuringUpgrade => "升级过程中连接被关闭".into(),
        WsFailure::GaveWay(n) => format!("已断开:有 {n} 个升级在等待,这个等得最久"),
        WsFailure::Io(d) => d.clone(),
        WsFailure::Protocol(d) => format!("协议错误(以 1002 关闭):{d}"),
        WsFailure::InvalidUtf8 => "文本消息里有无效的 UTF-8(以 1007 关闭)".into(),
        WsFailure::TooBig(n) => format!("消息超过 {n} 字节(以 1009 关闭)"),
        WsFailure::Dropped => "连接未发送关闭帧就断开了(1006)".into(),
    }
}

/// A WebSocket row of the log: what the upgrade, a ping, a pong or a close said.
pub fn ws_note(lang: Lang, note: &WsNote) -> String {
    let zh = lang == Lang::Zh;
    let arrow = |dir: &Direction| match dir {
        Direction::Rx => "←",
        Direction::Tx => "→",
    };
    let list = |h: &[(String, String)]| {
        h.iter()
            .map(|(k, v)| format!("\n    {k}: {v}"))
            .collect::<String>()
    };
    match note {
        WsNote::Request { dir, line, headers } => {
            let what = if zh {
                "升级请求"
            } else {
                "upgrade request"
            };
            format!("{} {what}: {line}{}", arrow(dir), list(headers))
        }
        WsNote::Response {
            dir,
            status,
            reason,
            headers,
        } => {
            let what = if zh {
                "升级应答"
            } else {
                "upgrade response"
            };
            format!(
                "{} {what}: HTTP {status} {reason}{}",
                arrow(dir),
                list(headers)
            )
        }
        WsNote::Upgraded {
            subprotocol,
            path,
            user_agent,
        } => {
            let proto = match (subprotocol, zh) {
                (Some(p), true) => format!("子协议 {p}"),
                (Some(p), false) => format!("subprotocol {p}"),
                (None, true) => "没有子协议".into(),
                (None, false) => "no subprotocol".into(),
            };
            let agent = user_agent
                .as_ref()
                .map(|a| format!(", User-Agent: {a}"))
                .unwrap_or_default();
            if zh {
                format!("WebSocket 已打开,路径 {path},{proto}{agent}")
            } else {
                format!("WebSocket open on {path}, {proto}{agent}")
            }
        }
        WsNote::Ping {
            dir,
            len,
            automatic,
        } => {
            let auto = match (automatic, zh) {
                (true, true) => "(定时自动)",
                (true, false) => " (automatic)",
                _ => "",
            };
            format!("{} ping ({len} B){auto}", arrow(dir))
        }
        WsNote::Pong {
            dir,
            len,
            rtt,
            automatic,
        } => {
            let auto = match (automatic, zh) {
                (true, true) => "(自动应答)",
                (true, false) => " (automatic answer)",
                _ => "",
            };
            let rtt = match (rtt, zh) {
                (Some(r), true) => format!(",往返 {:.3} ms", r.as_secs_f64() * 1e3),
                (Some(r), false) => format!(", round trip {:.3} ms", r.as_secs_f64() * 1e3),
                (None, _) => String::new(),
            };
            format!("{} pong ({len} B){auto}{rtt}", arrow(dir))
        }
        WsNote::Close { dir, code, reason } => {
            let what = if zh { "关闭" } else { "close" };
            let code = match (code, zh) {
                (Some(c), _) => format!(" {c} ({})", code_words(lang, *c)),
                (None, true) => "(没有状态码)".into(),
                (None, false) => " without a code".into(),
            };
            let reason = if reason.is_empty() {
                String::new()
            } else {
                format!(": {reason}")
            };
            format!("{} {what}{code}{reason}", arrow(dir))
        }
    }
}
