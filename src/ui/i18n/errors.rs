//! Errors in the user's language: each typed error of the engine, payload, address and sequence
//! modules is turned into words here, once (the CLI prints their English `Display`).

use super::Lang;
use crate::engine::{AddressError, NetError, NetErrorKind};
use crate::payload::PayloadError;

/// A network error in the user's language: what happened and what to try, on the first line;
/// the system's own words on the second (a log row shows the first; clicking it shows both).
pub fn net_error(lang: Lang, e: &NetError) -> String {
    let (sentence, detail) = net_error_parts(lang, e);
    match detail {
        Some(detail) => format!("{sentence}\n{detail}"),
        None => sentence,
    }
}

/// [`net_error`] in two parts: the sentence, and the system's detail when it adds something.
pub fn net_error_parts(lang: Lang, e: &NetError) -> (String, Option<String>) {
    use NetErrorKind as K;
    let a = e.addr.clone().unwrap_or_default();
    let system = match lang {
        Lang::En => "System",
        Lang::Zh => "系统信息",
    };
    let detail = Some(format!("{system}: {}", e.located()));
    // SockScope's own findings are data: said wholly in the user's language.
    if let Some(r) = e.reason() {
        return match lang {
            Lang::En => (e.to_string(), None),
            Lang::Zh => match &e.addr {
                Some(at) => (format!("{at}:{}", reason(lang, r)), None),
                None => (reason(lang, r), None),
            },
        };
    }
    let plain = match (lang, e.kind) {
        (Lang::En, K::Refused) => format!(
            "Nothing is listening at {a}: is the server running, is the port right?"
        ),
        (Lang::Zh, K::Refused) => format!("{a} 没有程序在监听:服务端是否已启动?端口是否正确?"),
        (Lang::En, K::Unreachable) => format!(
            "{a} cannot be reached: check the cable or Wi-Fi, the address and the route."
        ),
        (Lang::Zh, K::Unreachable) => format!("无法到达 {a}:请检查网线或 Wi-Fi、地址和路由。"),
        (Lang::En, K::Timeout) => format!(
            "No answer from {a} in time: is the address right, is a firewall in the way?"
        ),
        (Lang::Zh, K::Timeout) => format!("{a} 在规定时间内没有应答:地址是否正确?是否被防火墙拦截?"),
        (Lang::En, K::Reset) => format!(
            "{a} broke the connection off (reset): the program at the other end closed or failed."
        ),
        (Lang::Zh, K::Reset) => format!("{a} 断开了连接(重置):对端程序已关闭或出错。"),
        (Lang::En, K::AddrInUse) => format!(
            "{a} is already in use by another program: stop that program or choose another port."
        ),
        (Lang::Zh, K::AddrInUse) => format!("{a} 已被其他程序占用:请关闭那个程序或换一个端口。"),
        (Lang::En, K::AddrNotAvailable) => format!(
            "{a} is not an address of this machine: choose one from the list."
        ),
        (Lang::Zh, K::AddrNotAvailable) => format!("{a} 不是本机的地址:请从列表中选择。"),
        (Lang::En, K::PermissionDenied) => format!(
            "The system refused {a}: ports below 1024 need administrator rights, and a broadcast address needs Broadcast ticked."
        ),
        (Lang::Zh, K::PermissionDenied) => format!(
            "系统拒绝了 {a}:小于 1024 的端口需要管理员权限,发往广播地址需要勾选“广播”。"
        ),
        (Lang::En, K::HostNotFound) => format!(
            "No address found for the name {a}: check the spelling, or type an IP address."
        ),
        (Lang::Zh, K::HostNotFound) => format!("找不到主机名 {a} 的地址:请检查拼写,或直接输入 IP 地址。"),
        (Lang::En, K::SendQueueFull) => "The peer is not reading: its send queue is full.".into(),
        (Lang::Zh, K::SendQueueFull) => "对方没有在读取数据:发送队列已满。".into(),
        (Lang::En, K::NotConnected) => {
            "Nothing to send to: open the session, or wait for a client, first.".into()
        }
        (Lang::Zh, K::NotConnected) => "没有发送对象:请先打开会话,或等待客户端连接。".into(),
        (Lang::En, K::FileExists) => format!("{} already exists.", e.located()),
        (Lang::Zh, K::FileExists) => format!("{} 已存在。", e.located()),
        (Lang::Zh, K::InvalidAddress) => format!("地址无效 {a}"),
        (Lang::Zh, K::File) => "文件错误".into(),
        (Lang::Zh, K::Cancelled) => "已取消".into(),
        (Lang::Zh, K::KeepLimit) => {
            return (
                "接收数据超过本标签页的保留上限:最早的数据已不再保留(保存时会说明缺少多少字节)"
                    .into(),
                None,
            )
        }
        // Our own words, wholly in Chinese: the limit is in the field beside the rules.
        (Lang::Zh, K::ReplyLimit) => {
            return (
                format!(
                    "自动回复已暂停:每秒回复次数超过上限(可能是两端互相应答的死循环),{} 秒后恢复",
                    crate::engine::REPLY_PAUSE.as_secs()
                ),
                None,
            )
        }
        (Lang::Zh, K::LoopRisk) => {
            // The rule it is about, by name (the engine says so as data, not in its words).
            let rule = e.addr.as_deref().unwrap_or("");
            return (
                format!(
                    "规则“{rule}”的回复会匹配它自己的模式:若对方也这样应答或开启回显,双方会无限互相应答;每秒回复上限会暂停这种循环"
                ),
                None,
            );
        }
        (Lang::Zh, K::Guard) => "已被保护机制断开(对方长时间无数据或连接过多)".into(),
        (Lang::Zh, K::Other) => "网络错误".into(),
        (Lang::Zh, K::NotAvailable) => "这个会话不能这样做".into(),
        (Lang::Zh, K::Busy) => "同样的操作已在进行".into(),
        (Lang::Zh, K::NotSent) => "没有发送".into(),
        (Lang::Zh, K::Protocol) => "对方的协议不符".into(),
        (Lang::En, K::PortMissing) => format!("There is no serial port {a}: is the adapter plugged in? Pick a port from the list."),
        (Lang::Zh, K::PortMissing) => format!("没有串口 {a}:适配器插好了吗?请从列表中选择串口。"),
        (Lang::Zh, K::Script) => "脚本出错".into(),
        (Lang::En, K::PortBusy) => format!("{a} is in use by another program: close it there first."),
        (Lang::Zh, K::PortBusy) => format!("{a} 正被其他程序占用:请先在那个程序中关闭它。"),
        (Lang::Zh, K::TlsSetup) => "TLS 无法启动(证书、私钥、CA 文件或指纹有误)".into(),
        (Lang::En, K::TlsExpired) => format!(
            "The certificate of {a} has expired (or is not valid yet): check its dates and this machine's clock."
        ),
        (Lang::Zh, K::TlsExpired) => format!("{a} 的证书已过期(或尚未生效):请检查证书有效期和本机时间。"),
        (Lang::En, K::TlsWrongName) => format!(
            "The certificate of {a} is for another name: connect by the name it holds, or set the SNI name."
        ),
        (Lang::Zh, K::TlsWrongName) => format!("{a} 的证书不属于这个名称:请用证书中的名称连接,或设置 SNI 名称。"),
        (Lang::En, K::TlsUnknownIssuer) => format!(
            "The certificate of {a} is not signed by anyone trusted (unknown issuer): give its CA file, or pin its fingerprint."
        ),
        (Lang::Zh, K::TlsUnknownIssuer) => format!("{a} 的证书不是由受信任的机构签发的(未知签发者):请提供其 CA 文件,或固定其指纹。"),
        (Lang::En, K::TlsPinMismatch) => format!(
            "The certificate of {a} is not the pinned one: someone else may be answering."
        ),
        (Lang::Zh, K::TlsPinMismatch) => format!("{a} 的证书与固定的指纹不符:可能有别人在冒充。"),
        (Lang::En, K::TlsRejected) => format!(
            "{a} rejected the TLS handshake: it may want a client certificate, or other settings."
        ),
        (Lang::Zh, K::TlsRejected) => format!("{a} 拒绝了 TLS 握手:对方可能要求客户端证书或其他设置。"),
        (Lang::En, K::TlsNotTls) => format!("{a} does not speak TLS: turn TLS off, or check the port."),
        (Lang::Zh, K::TlsNotTls) => format!("{a} 不使用 TLS:请关闭 TLS,或检查端口。"),
        (Lang::Zh, K::TlsFailed) => "TLS 握手失败".into(),
        // Our own messages (file, guard, limits, …): the summary and the detail, one line.
        (Lang::En, _) => return (e.to_string(), None),
    };
    // Kinds with a sentence of their own keep the system's words for the second line; the
    // rest say their detail on the line itself.
    match e.kind {
        // The system's words behind a file or other error: the path on the line, the words a
        // click away (they are the system's language, not ours).
        K::File | K::Other if e.io_error().is_some() => match &e.addr {
            Some(at) => (format!("{plain}: {at}"), detail),
            None => (plain, detail),
        },
        K::InvalidAddress
        | K::File
        | K::Cancelled
        | K::Guard
        | K::Other
        | K::NotAvailable
        | K::Busy
        | K::NotSent
        | K::Protocol => (format!("{plain}: {}", e.located()), None),
        K::FileExists => (plain, None),
        // Our own English detail (no system error behind it) is not shown in Chinese: the
        // sentence says it.
        _ if lang == Lang::Zh && e.io_error().is_none() => (plain, None),
        _ => (plain, detail),
    }
}

/// One of SockScope's own findings, in the user's language.
pub fn reason(lang: Lang, r: &crate::engine::Reason) -> String {
    use crate::engine::{Awaited as A, Reason as R, Transport as T};
    if lang == Lang::En {
        return r.to_string();
    }
    let path = |p: &std::path::Path| p.display().to_string();
    match r {
        R::NotForThisKind(t) => {
            let t = match t {
                T::TcpClient => "TCP 客户端",
                T::TcpServer => "TCP 服务端",
                T::Udp => "UDP 会话",
                T::Relay => "转发会话",
                T::FileTransfer => "文件传输会话",
                T::WsClient => "WebSocket 客户端",
                T::WsServer => "WebSocket 服务端",
            };
            format!("{t}不支持这个操作")
        }
        R::CaptureRunning => "这个会话已经在抓包".into(),
        R::SaveRunning(p) => format!("已经在保存到 {}", path(p)),
        R::FileSendRunning => "已有一个文件正在发送".into(),
        R::NothingKept => "这个会话不保留收到的数据".into(),
        R::TaskFailed => "内部任务失败".into(),
        R::NotSentPayload(e) => format!("没有发送:{}", payload_error(lang, e)),
        R::NotSentFrame(e) => format!("没有发送:{}", frame_encode_error(lang, e)),
        R::RuleReply { rule, error } => {
            format!("规则“{rule}”的回复无法生成:{}", payload_error(lang, error))
        }
        R::NotATransferPeer => "对方不是 SockScope 校验传输的另一端".into(),
        R::BadTransferHeader => "对方文件头中的 sha256 不是 64 位十六进制数".into(),
        R::ReceiverRefused(why) => match why {
            Some(why) => format!("接收方拒绝了文件:{why}"),
            None => "接收方拒绝了文件(未说明原因)".into(),
        },
        R::IsAFolder(p) => format!("{} 是文件夹", path(p)),
        R::NotAFolder(p) => format!("{} 不是文件夹", path(p)),
        R::WillNotOverwrite(p) => format!("{} 已存在,不会覆盖", path(p)),
        R::WriteStopped(p) => format!("{}:写入已中止", path(p)),
        R::NoFreeName { name, dir } => {
            format!("{} 中已没有可用的文件名来保存 {name}", path(dir))
        }
        R::TooManyHandshakes(n) => format!("已有 {n} 个 TLS 握手在进行,已关闭"),
        R::LinesBusy => "串口控制线正在切换,请稍后再试".into(),
        R::FellBehind => "读取串口数据太慢:已断开,以免拖住其他客户端".into(),
        R::TooManyClients(n) => format!("已拒绝:已有 {n} 个客户端"),
        R::TooManyTransfers(n) => format!("已拒绝:已有 {n} 个传输同时进行"),
        R::GaveWayTo(peer) => format!("已关闭:它一直没有发送数据,而 {peer} 在等待空位"),
        R::SilentWhileWaiting { secs, waiting_for } => {
            let what = match waiting_for {
                A::FirstLine => "第一行",
                A::Header => "文件头",
                A::Data => "数据",
                A::Offer => "接收方的应答",
                A::Start => "发送方开始发送",
                A::Verdict => "接收方的结论",
                A::ToTakeData => "接收方接收数据",
                A::ToTakeHeader => "接收方接收文件头",
                A::ToTakeOffer => "发送方接收应答",
                A::ToTakeVerdict => "发送方接收结论",
            };
            format!("等待{what}时对方 {secs} 秒没有动静,已放弃")
        }
        R::SilentTakenAsEnd { secs } => {
            format!("发送方 {secs} 秒既没有数据也没有关闭连接,视为发送结束")
        }
        R::ShaMismatch {
            name,
            expected,
            got,
        } => format!("{name}:SHA-256 不符(应为 {expected},实际 {got}),已删除不完整的文件"),
        R::StoppedByUser => "已被用户停止".into(),
        R::ClosedBeforeSent => "会话在发送前已关闭".into(),
        R::RelayToItself => "这是本转发自己的监听地址:会转发给自己".into(),
        R::UdpHasNoConnections => "UDP 会话没有连接".into(),
        R::ServerSendsToClients => "TCP 服务端只能发给已连接的客户端".into(),
        R::ClientSendsToItsHost => "TCP 客户端只能发给它所连接的主机".into(),
        R::PortMissing => "没有这个串口(适配器插好了吗?)".into(),
        R::WebSocket(e) => super::ws_failure(lang, e),
        R::PortBusy => "串口正被其他程序占用".into(),
        R::PortVanished => "串口不见了(适配器被拔出,或设备关闭了它)".into(),
        R::Script(e) => script_error(lang, e),
        R::BadBaud(b) => format!("{b} 不是有效的波特率(1 到 20000000)"),
        R::BadDataBits(d) => format!("数据位 {d}:串口只有 5 到 8 位"),
    }
}

/// Why a sequence or rules file cannot be used, in the user's language. The TOML parser's own
/// words (with line and column) are kept: they quote the file.
pub fn sequence_error(lang: Lang, e: &crate::sequence::SequenceError) -> String {
    use crate::sequence::SequenceError as E;
    if lang == Lang::En {
        return e.to_string();
    }
    match e {
        E::Syntax(words) => format!("文件格式有误:\n{words}"),
        E::Unknown { setting, name } => unknown_setting(*setting, name),
        E::Remote(a) => format!("connection.remote:{}", address_error(lang, *a)),
        E::Bind(a) => format!("connection.bind:{}", address_error(lang, *a)),
        E::ServerNeedsBind => "connection.bind:tcp-server 需要监听地址,例如 \"0.0.0.0:502\"".into(),
        E::UdpNeedsAddress => "connection:udp 需要 remote(发往哪里)或 bind(在哪里监听)".into(),
        E::SerialNeedsPort => {
            "connection:serial 需要 port,例如 \"COM3\" 或 \"/dev/ttyUSB0\"".into()
        }
        E::Line(r) => format!("connection:{}", reason(lang, r)),
        E::FrameForUdp => "frame:只有 TCP 连接才分帧(一个数据报就是一条消息)".into(),
        E::Frame(f) => format!("frame:分帧设置无效 {}", frame_spec_text(f)),
        E::TlsOptionsWithoutTls => "connection:tls_… 选项需要 tls = true".into(),
        E::TlsForTcpOnly => "connection:TLS 只用于 TCP(tcp-client 或 tcp-server)".into(),
        E::Tls(t) => format!("connection:{}", tls_option_error(lang, t)),
        E::NotAClientSequence => {
            "只有客户端序列(tcp-client、带 remote 的 udp 或 serial)可以变成模拟器".into()
        }
        E::Step { n, problem } => format!("第 {n} 步:{}", step_problem(lang, problem)),
        E::Rule { n, error } => format!("第 {n} 条规则:{}", rule_error(lang, error)),
        E::Script(e) => script_error(lang, e),
    }
}

fn unknown_setting(setting: crate::sequence::Setting, name: &str) -> String {
    use crate::sequence::Setting as S;
    let what = match setting {
        S::Encoding => "编码",
        S::LineEnding => "行尾",
        S::Checksum => "校验",
        S::Decoder => "解码方式",
        S::Parity => "校验位(parity)",
        S::StopBits => "停止位(stop_bits)",
        S::Flow => "流控(flow)",
    };
    format!("未知的{what} '{name}'")
}

fn frame_spec_text(e: &crate::payload::framing::FrameSpecError) -> String {
    use crate::payload::framing::FrameSpecError as F;
    match e {
        F::Unknown(s) | F::Bad { spec: s, .. } => format!("'{s}'"),
    }
}

/// What is wrong with one step, in the user's language.
pub fn step_problem(lang: Lang, e: &crate::sequence::StepProblem) -> String {
    use crate::sequence::StepProblem as P;
    match (lang, e) {
        (Lang::En, _) => e.to_string(),
        (Lang::Zh, P::NotOneAction) => "send、expect、wait_ms、script 只能给一个".into(),
        (Lang::Zh, P::Script(e)) => script_error(lang, e),
        (Lang::Zh, P::ScriptStep) => "脚本步骤无法反转:请手工写出模拟器一方".into(),
        (Lang::Zh, P::Unknown { setting, name }) => unknown_setting(*setting, name),
        (Lang::Zh, P::Payload(p)) => payload_error(lang, p),
        (Lang::Zh, P::Pattern(m)) => matcher_error(lang, m),
        (Lang::Zh, P::ChangesPerSend) => {
            "它每次发送的字节都不同(宏):请手工写出模拟器应期望的请求".into()
        }
        (Lang::Zh, P::ExpectsAnyByte) => "它期望任意字节(??):请手工写出应答".into(),
        (Lang::Zh, P::ExpectsRegex) => "它期望的是正则表达式:请手工写出应答".into(),
        (Lang::Zh, P::NoDecoder) => {
            "字段条件需要连接的 decode(decode = \"modbus-tcp\"、json、kv、csv、modbus-rtu)".into()
        }
        (Lang::Zh, P::FieldTest) => "请给出 field,并且 equals、between、in 三者只给一个".into(),
        (Lang::Zh, P::SpokeFirst) => {
            "设备先发了数据:应答规则只能应答(请用 run --simulate 按序列回放)".into()
        }
    }
}

/// Why a pattern cannot be used; a regular expression's error stays in the library's words
/// (it points into the pattern the user typed).
pub fn matcher_error(lang: Lang, e: &crate::payload::matcher::MatcherError) -> String {
    use crate::payload::matcher::MatcherError as M;
    match (lang, e) {
        (Lang::En, _) => e.to_string(),
        (Lang::Zh, M::Hex(p)) => format!("十六进制模式:{}", payload_error(lang, p)),
        (Lang::Zh, M::Regex(words)) => format!("正则表达式无效:\n{words}"),
    }
}

/// Why a rule cannot be used, in the user's language.
pub fn rule_error(lang: Lang, e: &crate::sequence::RuleError) -> String {
    use crate::sequence::RuleError as R;
    let t = lang.t();
    match e {
        R::EmptyPattern => t.rule_err_empty_pattern.to_string(),
        R::EmptyReply => t.rule_err_empty_reply.to_string(),
        R::Pattern(m) => format!("{} {}", t.rule_err_pattern, matcher_error(lang, m)),
        R::Reply(p) => format!("{} {}", t.rule_err_reply, step_problem(lang, p)),
        R::MissingGroup { reference, .. } => format!("{} {reference}", t.rule_err_group),
        R::Decoder(_) if lang == Lang::En => e.to_string(),
        R::Decoder(None) => {
            "字段条件需要 decode = \"modbus-tcp\"(或 json、kv、csv、modbus-rtu)".into()
        }
        R::Decoder(Some(name)) => format!("未知的解码方式 '{name}'"),
        R::FieldTest if lang == Lang::En => e.to_string(),
        R::FieldTest => "请给出 field,并且 equals、between、in 三者只给一个".into(),
    }
}

/// Why TLS options cannot become settings, in the user's language.
pub fn tls_option_error(lang: Lang, e: &crate::engine::tls::TlsOptionError) -> String {
    use crate::engine::tls::TlsOptionError as T;
    match (lang, e) {
        (Lang::En, _) => e.to_string(),
        (Lang::Zh, T::ManyWaysToVerify) => "CA 文件、指纹、不验证三者只能选一个".into(),
        (Lang::Zh, T::BadPin) => "指纹不是 SHA-256 指纹(64 位十六进制数字)".into(),
        (Lang::Zh, T::HalfIdentity) => "证书和私钥必须一起给出".into(),
        (Lang::Zh, T::NoServerIdentity) => "TLS 服务端需要证书和私钥,或生成的证书".into(),
        (Lang::Zh, T::TwoIdentities) => "证书文件和生成的证书只能选一个".into(),
        (Lang::Zh, T::ClientOnly) => "不验证、指纹和 SNI 只用于客户端".into(),
        (Lang::Zh, T::Generate(_)) => "无法生成证书".into(),
    }
}

/// A finished TLS handshake as a log line, in the user's language (names, dates and the
/// fingerprint as the certificate has them).
pub fn tls_info(lang: Lang, info: &crate::engine::tls::TlsInfo) -> String {
    if lang == Lang::En {
        return info.to_string();
    }
    let mut text = format!("{} {}", info.version, info.cipher);
    if let Some(alpn) = &info.alpn {
        text.push_str(&format!(",ALPN {alpn}"));
    }
    if let Some(c) = &info.peer {
        text.push_str(&format!(
            ";证书:主体 {},签发者 {},有效期 {} 至 {},SHA-256 {}",
            c.subject, c.issuer, c.not_before, c.not_after, c.fingerprint
        ));
    }
    text
}

/// Why a script cannot run or a call failed, in the user's language (the script's own words —
/// a Rhai message quoting it — are kept).
pub fn script_error(lang: Lang, e: &crate::script::ScriptError) -> String {
    use crate::script::ScriptError as S;
    match (lang, e) {
        (Lang::En, _) => format!("script: {e}"),
        (
            Lang::Zh,
            S::Parse {
                line,
                column,
                message,
            },
        ) => format!("脚本第 {line} 行第 {column} 列有误:{message}"),
        (Lang::Zh, S::Run { line, message }) => format!("脚本第 {line} 行出错:{message}"),
        (Lang::Zh, S::TooLong { function }) => {
            format!("脚本 {function} 已停止:超过运算次数上限(死循环?)")
        }
        (Lang::Zh, S::TooBig { line, what }) => {
            format!("脚本第 {line} 行已停止:超过大小上限({what})")
        }
        (Lang::Zh, S::OnlyWatches) => {
            "转发会话的脚本只观察和记录:reply、send、every 不会执行".into()
        }
        (Lang::Zh, S::CheckFailed) => "脚本步骤的检查返回 false".into(),
        (Lang::Zh, S::NoTimersHere) => "every() 只用于会话脚本,不能用在序列步骤中".into(),
        (Lang::Zh, S::NoDestination) => {
            "脚本 send 未发送:没有目标地址(请设置会话的目标地址,或等收到数据报)".into()
        }
    }
}

/// Why a sequence run stopped or a step failed, in the user's language.
pub fn run_issue(lang: Lang, issue: &crate::sequence::RunIssue) -> String {
    use crate::sequence::RunIssue;
    let t = lang.t();
    match issue {
        RunIssue::Net(e) => net_error(lang, e),
        RunIssue::Payload(e) => payload_error(lang, e),
        RunIssue::ClientLeft(peer) => format!("{} {peer}", t.run_client_left),
        RunIssue::ClosedByPeer => t.run_closed_by_peer.to_string(),
        RunIssue::DidNotOpen => t.run_did_not_open.to_string(),
        RunIssue::NoClient { within_s } => format!("{} {within_s} s", t.run_no_client),
        RunIssue::NoSendWord { within_s } => format!("{} {within_s} s", t.run_no_send_word),
        RunIssue::Stopped => t.run_stopped.to_string(),
    }
}

/// How a sequence step failed, in the user's language.
pub fn step_failure(lang: Lang, failure: &crate::sequence::StepFailure) -> String {
    use crate::sequence::StepFailure;
    let t = lang.t();
    match failure {
        StepFailure::NotSent(issue) => format!("{} {}", t.seq_not_sent, run_issue(lang, issue)),
        StepFailure::NoMatch { within_ms } => format!("{} {within_ms} ms", t.seq_no_match),
        StepFailure::Closed(issue) => format!("{} {}", t.seq_conn_closed, run_issue(lang, issue)),
        StepFailure::Script(e) => script_error(lang, e),
    }
}

pub fn payload_error(lang: Lang, e: &PayloadError) -> String {
    match lang {
        Lang::En => e.to_string(),
        Lang::Zh => match e {
            PayloadError::HexInvalidChar { position, ch } => {
                format!("第 {position} 个字符 '{ch}' 不是十六进制数字")
            }
            PayloadError::HexOddDigits { position } => {
                format!("从第 {position} 个字符开始的十六进制数字个数是奇数")
            }
            PayloadError::Unencodable {
                position,
                ch,
                encoding,
            } => format!(
                "第 {position} 个字符 '{ch}' 无法用 {} 编码",
                encoding.label()
            ),
            PayloadError::BadMacro { position } => {
                format!("第 {position} 个字符处的宏未知或未闭合(可用 {{{{date}}}}、{{{{time}}}}、{{{{counter}}}}、{{{{rand:N}}}}、{{{{len}}}} 等)")
            }
            PayloadError::MacroArgument { position, .. } => {
                format!("第 {position} 个字符处的宏参数超出范围({{{{rand:N}}}} 的 N 为 1 到 4096)")
            }
            PayloadError::LengthTooLong { name, len, max } => {
                format!("{name} 放不下 {len} 字节的长度(最多 {max}),没有发送")
            }
            PayloadError::BadEscape { position } => {
                format!("第 {position} 个字符处的转义无效(可用 \\r \\n \\t \\\\ \\0 \\xHH)")
            }
        },
    }
}

/// Why a message cannot be framed for sending, in the user's language.
pub fn frame_encode_error(lang: Lang, e: &crate::payload::framing::FrameEncodeError) -> String {
    use crate::payload::framing::FrameEncodeError as E;
    match (lang, e) {
        (Lang::En, _) => e.to_string(),
        (Lang::Zh, E::TooLongForFixed { len, size }) => {
            format!("{len} 字节放不进 fixed:{size} 定长帧")
        }
        (
            Lang::Zh,
            E::LengthDoesNotFit {
                total,
                size,
                adjust,
            },
        ) => format!("{total} 字节的帧无法用 {size} 字节的长度字段(调整值 {adjust})表示"),
        (Lang::Zh, E::ShorterThanOffset { len, offset }) => {
            format!("消息只有 {len} 字节,长度字段要放在前 {offset} 字节之后")
        }
    }
}

/// Why a subnet operation cannot be done, in the user's language.
pub fn subnet_error(lang: Lang, e: &crate::addr::subnet::SubnetError) -> String {
    use crate::addr::subnet::SubnetError as E;
    match (lang, e) {
        (Lang::En, _) => e.to_string(),
        (
            Lang::Zh,
            E::BadNewPrefix {
                prefix,
                new_prefix,
                max,
            },
        ) => format!("/{new_prefix} 无法划分 /{prefix} 网络:请选择 /{prefix} 到 /{max} 之间的前缀"),
        (Lang::Zh, E::BadCount { count }) => format!("无法划分为 {count} 个子网"),
        (Lang::Zh, E::MixedFamilies) => "IPv4 地址和 IPv6 地址不可能在同一子网".into(),
    }
}

/// Why an address entry cannot be classified, in the user's language.
pub fn addr_error(lang: Lang, e: &crate::addr::AddrError) -> String {
    use crate::addr::AddrError as E;
    match lang {
        Lang::En => e.to_string(),
        Lang::Zh => match e {
            E::Empty => "请输入地址".into(),
            E::BadAddress(s) => format!("'{s}' 不是 IPv4 或 IPv6 地址"),
            E::BadPrefix(s) => format!("'{s}' 不是有效前缀长度(IPv4 为 0-32,IPv6 为 0-128)"),
            E::BadMask(s) => format!("'{s}' 不是有效的子网掩码:1 必须从左边连续排列"),
            E::MaskForIpv6 => "IPv6 请用前缀长度(如 /64),不用点分掩码".into(),
        },
    }
}

/// Why an address field is not valid, in the user's language.
pub fn address_error(lang: Lang, e: AddressError) -> &'static str {
    let t = lang.t();
    match e {
        AddressError::BadPort => t.err_port,
        AddressError::Empty | AddressError::BadHost | AddressError::BracketsNeeded => t.err_host,
        AddressError::MissingPort => t.err_dest,
    }
}

/// A change an RFC 2217 client made to a bridge's serial line, in the user's language.
pub fn line_change(lang: Lang, change: &crate::engine::rfc2217::LineChange) -> String {
    use crate::engine::rfc2217::LineChange as C;
    use crate::engine::serial::{Flow, Parity};
    if lang == Lang::En {
        return change.to_string();
    }
    let on = |b: bool| if b { "开" } else { "关" };
    match change {
        C::Baud(b) => format!("波特率 {b}"),
        C::DataBits(n) => format!("数据位 {n}"),
        C::Parity(p) => format!(
            "校验位 {}",
            match p {
                Parity::None => "无",
                Parity::Odd => "奇",
                Parity::Even => "偶",
            }
        ),
        C::StopBits(s) => format!("停止位 {}", s.count()),
        C::Flow(f) => format!(
            "流控 {}",
            match f {
                Flow::None => "无",
                Flow::RtsCts => "RTS/CTS",
                Flow::XonXoff => "XON/XOFF",
            }
        ),
        C::Dtr(b) => format!("DTR {}", on(*b)),
        C::Rts(b) => format!("RTS {}", on(*b)),
        C::Break(b) => format!("Break {}", on(*b)),
        C::Purge(_) => "清空缓冲区".into(),
        C::BreakSent { ms } => format!("已发送 Break({ms} 毫秒)"),
        C::Refused { what, value } => {
            let what = match *what {
                "baud" => "波特率",
                "data bits" => "数据位",
                "parity" | "parity mark" => "校验位",
                "flow control" => "流控",
                "DTR" | "RTS" | "break" => what,
                _ => "停止位",
            };
            format!("此串口无法设置{what}(值 {value}),保持原值")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Awaited, Reason, Transport};
    use std::path::PathBuf;

    /// Runs of 4+ ASCII letters: English words (paths and names in these samples have none).
    fn latin_words(text: &str) -> Vec<String> {
        text.split(|c: char| !c.is_ascii_alphabetic())
            .filter(|w| w.len() >= 4 && !["SockScope", "fixed"].contains(w)) // names the user types
            .map(str::to_string)
            .collect()
    }

    fn every_reason() -> Vec<Reason> {
        let p = PathBuf::from("/d/x.bin");
        let transports = [
            Transport::TcpClient,
            Transport::TcpServer,
            Transport::Udp,
            Transport::Relay,
            Transport::FileTransfer,
        ];
        let awaited = [
            Awaited::FirstLine,
            Awaited::Header,
            Awaited::Data,
            Awaited::Offer,
            Awaited::Start,
            Awaited::Verdict,
            Awaited::ToTakeData,
            Awaited::ToTakeHeader,
            Awaited::ToTakeOffer,
            Awaited::ToTakeVerdict,
        ];
        let mut all: Vec<Reason> = transports.into_iter().map(Reason::NotForThisKind).collect();
        all.extend(
            awaited
                .into_iter()
                .map(|waiting_for| Reason::SilentWhileWaiting {
                    secs: 30.0,
                    waiting_for,
                }),
        );
        all.extend([
            Reason::CaptureRunning,
            Reason::SaveRunning(p.clone()),
            Reason::FileSendRunning,
            Reason::NothingKept,
            Reason::TaskFailed,
            Reason::NotSentPayload(PayloadError::HexInvalidChar {
                position: 3,
                ch: 'g',
            }),
            Reason::NotSentFrame(crate::payload::framing::FrameEncodeError::TooLongForFixed {
                len: 9,
                size: 8,
            }),
            Reason::RuleReply {
                rule: "r1".into(),
                error: PayloadError::HexOddDigits { position: 2 },
            },
            Reason::NotATransferPeer,
            Reason::BadTransferHeader,
            Reason::ReceiverRefused(None),
            Reason::IsAFolder(p.clone()),
            Reason::NotAFolder(p.clone()),
            Reason::WillNotOverwrite(p.clone()),
            Reason::WriteStopped(p.clone()),
            Reason::NoFreeName {
                name: "x.bin".into(),
                dir: p.clone(),
            },
            Reason::TooManyHandshakes(64),
            Reason::LinesBusy,
            Reason::FellBehind,
            Reason::TooManyClients(256),
            Reason::TooManyTransfers(8),
            Reason::GaveWayTo("127.0.0.1:9".parse().unwrap()),
            Reason::SilentTakenAsEnd { secs: 2.5 },
            Reason::ShaMismatch {
                name: "x.bin".into(),
                expected: "ab".into(),
                got: "cd".into(),
            },
            Reason::StoppedByUser,
            Reason::ClosedBeforeSent,
            Reason::RelayToItself,
            Reason::UdpHasNoConnections,
            Reason::ServerSendsToClients,
            Reason::ClientSendsToItsHost,
            Reason::PortMissing,
            Reason::PortBusy,
            Reason::PortVanished,
            Reason::BadBaud(0),
            Reason::BadDataBits(9),
        ]);
        all
    }

    #[test]
    fn every_finding_of_our_own_is_said_in_chinese_and_kept_in_english_for_the_cli() {
        for r in every_reason() {
            let error = NetError::because(NetErrorKind::Other, r.clone()).at("127.0.0.1:9");
            let (zh, detail) = net_error_parts(Lang::Zh, &error);
            assert!(latin_words(&zh).is_empty(), "{r:?} in Chinese: {zh}");
            assert_eq!(detail, None, "{r:?}: no English detail line");
            assert!(zh.starts_with("127.0.0.1:9"), "the address is kept: {zh}");
            // The CLI's words are the English Display, unchanged.
            assert!(error.to_string().contains(&r.to_string()));
            assert!(!latin_words(&net_error(Lang::En, &error)).is_empty());
        }
    }

    #[test]
    fn a_system_error_puts_its_own_words_one_click_away_in_chinese() {
        let os = std::io::Error::from_raw_os_error(28); // ENOSPC on Linux; any code will do
        let error = crate::engine::NetError::from_io(&os)
            .with_kind(NetErrorKind::File)
            .at("/d/x.bin");
        let (zh, detail) = net_error_parts(Lang::Zh, &error);
        assert_eq!(zh, "文件错误: /d/x.bin");
        assert!(detail.is_some_and(|d| d.starts_with("系统信息: ")));
        // Our own English words without a system error behind them are not shown in Chinese.
        let plain = NetError::new(NetErrorKind::NotConnected, "not connected");
        assert_eq!(net_error_parts(Lang::Zh, &plain).1, None);
        assert!(net_error_parts(Lang::En, &plain).1.is_some());
    }

    #[test]
    fn a_bad_sequence_is_said_in_chinese_with_its_step() {
        use crate::sequence::{Sequence, SequenceError, StepProblem};
        let seq = Sequence::parse(
            "name = \"x\"\n[connection]\nkind = \"tcp-client\"\nremote = \"127.0.0.1:9\"\n\
             [[step]]\nsend = \"0G\"\nhex = true\n",
        )
        .unwrap();
        let engine = crate::engine::Engine::spawn(std::sync::Arc::new(|| {})).unwrap();
        let e = crate::sequence::run(&seq, &engine, |_| {}).unwrap_err();
        assert!(matches!(
            e,
            SequenceError::Step {
                n: 1,
                problem: StepProblem::Payload(_)
            }
        ));
        let zh = sequence_error(Lang::Zh, &e);
        assert!(zh.starts_with("第 1 步:"), "{zh}");
        assert!(latin_words(&zh).is_empty(), "{zh}");
        assert!(sequence_error(Lang::En, &e).starts_with("step 1: "));
        for e in [
            SequenceError::ServerNeedsBind,
            SequenceError::UdpNeedsAddress,
            SequenceError::FrameForUdp,
            SequenceError::TlsForTcpOnly,
            SequenceError::NotAClientSequence,
            SequenceError::SerialNeedsPort,
            SequenceError::Line(crate::engine::Reason::BadBaud(0)),
            SequenceError::Step {
                n: 2,
                problem: StepProblem::ExpectsRegex,
            },
            SequenceError::Step {
                n: 3,
                problem: StepProblem::ScriptStep,
            },
            SequenceError::Script(crate::script::ScriptError::CheckFailed),
        ] {
            let zh = sequence_error(Lang::Zh, &e);
            // Only the file's own key names (connection.bind, tcp-server, udp …) stay Latin.
            let keys = [
                "connection",
                "bind",
                "server",
                "remote",
                "frame",
                "tcp",
                "client",
                "serial",
                "port",
                "dev",
                "ttyUSB",
                "COM",
                "false",
            ];
            let words: Vec<_> = latin_words(&zh)
                .into_iter()
                .filter(|w| !keys.contains(&w.as_str()))
                .collect();
            assert!(words.is_empty(), "{zh}: {words:?}");
        }
    }

    #[test]
    fn a_handshake_is_described_in_chinese_with_the_certificate_as_it_is() {
        use crate::engine::tls::{CertInfo, TlsInfo};
        let info = TlsInfo {
            version: "TLSv1.3".into(),
            cipher: "TLS13_AES_256_GCM_SHA384".into(),
            alpn: None,
            peer: Some(CertInfo {
                subject: "CN=device".into(),
                issuer: "CN=device".into(),
                not_before: "2026-01-01 00:00:00 UTC".into(),
                not_after: "2027-01-01 00:00:00 UTC".into(),
                fingerprint: "AB:CD".into(),
            }),
            unverified: false,
        };
        let zh = tls_info(Lang::Zh, &info);
        assert!(zh.contains("证书:主体 CN=device,签发者 CN=device"), "{zh}");
        assert!(
            !zh.contains("certificate") && !zh.contains("issuer"),
            "{zh}"
        );
        assert!(tls_info(Lang::En, &info).contains("certificate: subject CN=device"));
    }
}
