//! Chinese and English texts. One struct with a field per text, so a missing translation is a
//! compile error, not a blank label.//!
//! The tables live one per language: [`en`] and [`zh`]; this module holds the struct, the
//! language switch and the translations of errors.

mod en;
mod zh;

pub use en::EN;
pub use zh::ZH;

use crate::engine::{AddressError, NetError, NetErrorKind};
use crate::payload::PayloadError;

/// The language of the window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Lang {
    /// English.
    En,
    /// Simplified Chinese.
    Zh,
}

impl Lang {
    /// The system's language: Chinese for any `zh*` locale, else English.
    pub fn from_system() -> Self {
        match sys_locale::get_locale() {
            Some(l) if l.to_ascii_lowercase().starts_with("zh") => Lang::Zh,
            _ => Lang::En,
        }
    }

    /// The text encoding new tabs start with: the system's legacy code page (GBK on a
    /// simplified-Chinese system), where the devices our users test mostly are.
    pub fn system_encoding() -> crate::payload::TextEncoding {
        sys_locale::get_locale().map_or(crate::payload::TextEncoding::Utf8, |l| {
            crate::payload::TextEncoding::legacy_for_locale(&l)
        })
    }

    /// The texts of this language.
    pub fn t(self) -> &'static Texts {
        match self {
            Lang::En => &EN,
            Lang::Zh => &ZH,
        }
    }
}

/// Every label of the window in one language.
pub struct Texts {
    // — The window: toolbar, tabs, first run, About, prompts —
    pub new_session: &'static str,
    pub tcp_client: &'static str,
    pub tcp_server: &'static str,
    pub udp: &'static str,
    pub relay: &'static str,
    pub language: &'static str,
    pub close_tab: &'static str,
    pub no_sessions: &'static str,
    pub about: &'static str,
    pub about_title: &'static str,
    pub licence: &'static str,
    pub bundled_font: &'static str,
    pub third_party: &'static str,
    pub welcome: &'static str,
    pub hint_client: &'static str,
    pub hint_server: &'static str,
    pub hint_udp: &'static str,
    pub got_it: &'static str,
    pub portable_mode: &'static str,
    pub path_hint: &'static str,
    pub dialog_failed: &'static str,
    pub ok: &'static str,
    pub cancel: &'static str,
    pub log_saved: &'static str,
    pub tab_gone: &'static str,

    // — A tab's endpoint: addresses, open/close, state, what happened to the session —
    pub remote_host: &'static str,
    pub remote_port: &'static str,
    pub local_addr: &'static str,
    pub local_port: &'static str,
    pub destination: &'static str,
    pub connect: &'static str,
    pub disconnect: &'static str,
    pub listen: &'static str,
    pub stop: &'static str,
    pub open_udp: &'static str,
    pub close_udp: &'static str,
    pub state_closed: &'static str,
    pub state_opening: &'static str,
    pub state_connected: &'static str,
    pub state_listening: &'static str,
    pub state_bound: &'static str,
    pub state_not_listening: &'static str,
    pub stop_accepting: &'static str,
    pub echo: &'static str,
    pub broadcast: &'static str,
    pub multicast_group: &'static str,
    pub join: &'static str,
    pub leave: &'static str,
    pub reply_to_last: &'static str,
    pub last_sender: &'static str,
    pub no_sender_yet: &'static str,
    pub relay_target: &'static str,
    pub start_relay: &'static str,
    pub relaying: &'static str,
    pub err_port: &'static str,
    pub err_host: &'static str,
    pub err_local: &'static str,
    pub err_dest: &'static str,
    pub err_group: &'static str,
    pub connected_to: &'static str,
    pub listening_on: &'static str,
    pub bound_to: &'static str,
    pub client_connected: &'static str,
    pub client_left: &'static str,
    pub closed_by_peer: &'static str,
    pub closed_locally: &'static str,
    pub session_closed: &'static str,

    // — A tab's receive log —
    pub receive_log: &'static str,
    pub show_text: &'static str,
    pub show_hex: &'static str,
    pub show_both: &'static str,
    pub pause: &'static str,
    pub clear: &'static str,
    pub undo_clear: &'static str,
    pub undo_clear_hint: &'static str,
    pub auto_scroll: &'static str,
    pub wrap: &'static str,
    pub filter: &'static str,
    pub copy: &'static str,
    pub save_log: &'static str,
    pub save_csv: &'static str,
    pub max_entries: &'static str,
    pub max_mib: &'static str,
    pub dropped_note: &'static str,
    pub not_shown_note: &'static str,

    // — A tab's send panel —
    pub send: &'static str,
    pub send_data: &'static str,
    pub text: &'static str,
    pub hex: &'static str,
    pub encoding: &'static str,
    pub escapes: &'static str,
    pub split_encodings: &'static str,
    pub split_encodings_hint: &'static str,
    pub line_ending: &'static str,
    pub checksum: &'static str,
    /// "none" in the line-ending and checksum pickers.
    pub none: &'static str,
    pub repeat_every: &'static str,
    pub ms: &'static str,
    pub start_repeat: &'static str,
    pub stop_repeat: &'static str,
    pub sent_times: &'static str,
    pub history: &'static str,
    pub send_to: &'static str,
    pub all_clients: &'static str,
    pub bytes_to_send: &'static str,
    pub send_hint: &'static str,
    pub macros: &'static str,
    pub macros_hint: &'static str,

    // — A tab's side panel: counters, clients, saving received data, sending a file —
    pub rx: &'static str,
    pub tx: &'static str,
    pub packets: &'static str,
    pub exact_figures: &'static str,
    pub exact_figures_hint: &'static str,
    pub rate_hint: &'static str,
    pub rate: &'static str,
    pub reset: &'static str,
    pub save_received: &'static str,
    pub stop_saving: &'static str,
    pub record: &'static str,
    pub stop_recording: &'static str,
    pub recording_now: &'static str,
    pub record_hint: &'static str,
    pub saving_to: &'static str,
    pub saved: &'static str,
    pub follow_live: &'static str,
    pub only_from: &'static str,
    pub save_all_since: &'static str,
    pub file_exists: &'static str,
    pub replace: &'static str,
    pub append: &'static str,
    pub saved_bytes: &'static str,
    pub frame_oversize: &'static str,
    pub frame_incomplete: &'static str,
    pub frame_malformed: &'static str,
    pub framing: &'static str,
    pub frame_sends: &'static str,
    pub frame_sends_hint: &'static str,
    pub framed: &'static str,
    pub no_framing: &'static str,
    pub framing_hint: &'static str,
    pub err_framing: &'static str,
    pub bytes_unit: &'static str,
    pub missing_note: &'static str,
    pub keep_limit: &'static str,
    pub keep_limit_hint: &'static str,
    pub so_far: &'static str,
    pub clients: &'static str,
    pub address: &'static str,
    pub since: &'static str,
    pub bytes_in: &'static str,
    pub bytes_out: &'static str,
    pub no_clients: &'static str,
    pub no_clients_now: &'static str,
    pub clients_left: &'static str,
    pub send_file: &'static str,
    pub file_path: &'static str,
    pub browse: &'static str,
    pub cancel_file: &'static str,

    // — A tab's quick commands and auto-reply rules —
    pub quick_commands: &'static str,
    pub quick_name: &'static str,
    pub add_quick: &'static str,
    pub add_quick_hint: &'static str,
    pub remove: &'static str,
    pub import: &'static str,
    pub export: &'static str,
    pub imported: &'static str,
    pub exported: &'static str,
    pub workflow_file: &'static str,
    pub load_rules: &'static str,
    pub load_rules_hint: &'static str,
    pub rules_loaded: &'static str,
    pub fired: &'static str,
    pub reply_limit: &'static str,
    pub reply_limit_hint: &'static str,
    pub replies_held_back: &'static str,

    // — The Files window —
    pub files: &'static str,
    pub send_a_file: &'static str,
    pub receive_files: &'static str,
    pub to_host: &'static str,
    pub mode_raw_tcp: &'static str,
    pub mode_raw_udp: &'static str,
    pub mode_verified: &'static str,
    pub chunk: &'static str,
    pub rate_limit: &'static str,
    pub listen_port: &'static str,
    pub save_to_file: &'static str,
    pub save_to_folder: &'static str,
    pub start: &'static str,
    pub jobs: &'static str,
    pub running: &'static str,
    pub waiting: &'static str,
    pub out_missing: &'static str,
    pub file_missing: &'static str,
    pub file_done: &'static str,
    pub time_left: &'static str,

    // — The Sequences window —
    pub sequences: &'static str,
    pub steps: &'static str,
    pub step: &'static str,
    pub step_send: &'static str,
    pub step_expect: &'static str,
    pub step_wait: &'static str,
    pub add_send: &'static str,
    pub add_expect: &'static str,
    pub add_wait: &'static str,
    pub sequence_file: &'static str,
    pub save_sequence: &'static str,
    pub load_sequence: &'static str,
    pub run_sequence: &'static str,
    pub passed: &'static str,
    pub failed: &'static str,
    pub report_file: &'static str,
    pub export_report: &'static str,

    // — The Addresses window —
    pub addresses: &'static str,
    pub interfaces: &'static str,
    pub refresh: &'static str,
    pub use_as_local: &'static str,
    pub use_hint: &'static str,
    pub up: &'static str,
    pub down: &'static str,
    pub classify: &'static str,
    pub addr_input: &'static str,
    pub class: &'static str,
    pub prefix: &'static str,
    pub prefix_given: &'static str,
    pub prefix_classful: &'static str,
    pub prefix_default: &'static str,
    pub netmask: &'static str,
    pub wildcard: &'static str,
    pub network: &'static str,
    pub broadcast_addr: &'static str,
    pub hosts: &'static str,
    pub usable: &'static str,
    pub of_total: &'static str,
    pub binary: &'static str,
    pub hex_int: &'static str,
    pub ranges: &'static str,
    pub no_special: &'static str,
    pub reachable: &'static str,
    pub not_reachable: &'static str,
    pub scope: &'static str,
    pub subnets: &'static str,
    pub previous: &'static str,
    pub next: &'static str,
    pub split_into: &'static str,
    pub split_by_count: &'static str,
    pub split_by_prefix: &'static str,
    pub more_subnets: &'static str,
    pub same_subnet: &'static str,
    pub other_addr: &'static str,
    pub same_yes: &'static str,
    pub same_no: &'static str,
    pub ports: &'static str,
    pub port_input: &'static str,
    pub well_known: &'static str,
    pub registered: &'static str,
    pub dynamic: &'static str,
    pub privileged: &'static str,
    pub unprivileged: &'static str,
    pub ephemeral_note: &'static str,
    pub ephemeral_general: &'static str,
    pub services: &'static str,
    pub simulator_kind: &'static str,
    pub bind_addr: &'static str,
    pub sequence_name: &'static str,
    pub sequence_repeat: &'static str,
    pub default_timeout: &'static str,
    pub step_options: &'static str,
    pub step_times: &'static str,
    pub own_timeout: &'static str,
    pub move_up: &'static str,
    pub move_down: &'static str,
    pub duplicate: &'static str,
    pub expected: &'static str,
    pub received: &'static str,
    pub save_simulator: &'static str,
    pub save_simulator_hint: &'static str,
    pub client_came: &'static str,
    pub udp_listen_hint: &'static str,
    pub rules_title: &'static str,
    pub rules_hint: &'static str,
    pub rules_on: &'static str,
    pub rule: &'static str,
    pub add_rule: &'static str,
    pub apply_rules: &'static str,
    pub apply_rules_hint: &'static str,
    pub rules_applied: &'static str,
    pub rules_not_applied: &'static str,
    pub rules_off: &'static str,
    pub rule_pattern: &'static str,
    pub rule_reply: &'static str,
    pub rule_delay: &'static str,
    pub rule_sample: &'static str,
    pub no_match: &'static str,
    pub rules_file: &'static str,
    pub save_rules: &'static str,
    pub rule_answered: &'static str,
    pub rule_err_empty_pattern: &'static str,
    pub rule_err_empty_reply: &'static str,
    pub rule_err_pattern: &'static str,
    pub rule_err_reply: &'static str,
    pub rule_err_group: &'static str,
    pub tls_unverified: &'static str,
    pub tls_on: &'static str,
    pub tls_hint: &'static str,
    pub tls_verify: &'static str,
    pub tls_verify_system: &'static str,
    pub tls_verify_ca: &'static str,
    pub tls_verify_pin: &'static str,
    pub tls_verify_none: &'static str,
    pub tls_insecure_warning: &'static str,
    pub tls_ca_file: &'static str,
    pub tls_pin: &'static str,
    pub tls_sni: &'static str,
    pub tls_alpn: &'static str,
    pub tls_generate: &'static str,
    pub tls_generate_hint: &'static str,
    pub tls_names: &'static str,
    pub tls_generated: &'static str,
    pub tls_use_files: &'static str,
    pub tls_cert_file: &'static str,
    pub tls_key_file: &'static str,
    pub tls_client_ca: &'static str,
    pub tls_save_folder: &'static str,
    pub tls_save: &'static str,
    pub tls_saved: &'static str,
    pub err_tls_no_cert: &'static str,
    pub err_tls_ca: &'static str,
    pub err_tls_pin: &'static str,
    pub tls_relay_listen: &'static str,
    pub tls_relay_target: &'static str,
    pub probe: &'static str,
    pub probe_udp: &'static str,
    pub probe_tcp: &'static str,
    pub probe_count: &'static str,
    pub probe_interval: &'static str,
    pub probe_size: &'static str,
    pub probe_request: &'static str,
    pub probe_hint: &'static str,
    pub probe_start: &'static str,
    pub probe_sent: &'static str,
    pub probe_received: &'static str,
    pub probe_lost: &'static str,
    pub probe_duplicated: &'static str,
    pub probe_reordered: &'static str,
    pub probe_jitter: &'static str,
    pub probe_request_no: &'static str,
    pub probe_answers: &'static str,
    pub probe_rtt: &'static str,
    pub probe_min: &'static str,
    pub probe_mean: &'static str,
    pub probe_max: &'static str,
    pub capture: &'static str,
    pub stop_capture: &'static str,
    pub capture_file: &'static str,
    pub capture_hint: &'static str,
    pub capture_saved: &'static str,
    pub capture_missing: &'static str,
    pub capture_lost_rx: &'static str,
    pub capture_lost_tx: &'static str,
    pub capture_failed: &'static str,
    pub probe_expect: &'static str,
    pub probe_expect_hint: &'static str,
    pub probe_timeout: &'static str,
    pub probe_stopped: &'static str,
    pub probe_this_peer: &'static str,
    pub probe_this_peer_hint: &'static str,
    pub probe_of: &'static str,
    pub load_title: &'static str,
    pub load_rate: &'static str,
    pub load_size: &'static str,
    pub load_seconds: &'static str,
    pub load_start: &'static str,
    pub load_hint: &'static str,
    pub load_sent: &'static str,
    pub load_failed: &'static str,
    pub load_packets_per_s: &'static str,
    pub load_so_far: &'static str,
    pub load_stop: &'static str,
    pub load_ended: &'static str,
    pub seq_not_sent: &'static str,
    pub seq_no_match: &'static str,
    pub seq_conn_closed: &'static str,
    pub run_client_left: &'static str,
    pub run_closed_by_peer: &'static str,
    pub run_did_not_open: &'static str,
    pub run_no_client: &'static str,
    pub run_no_send_word: &'static str,
    pub match_contains: &'static str,
    pub match_regex: &'static str,
    pub match_hex_prefix: &'static str,
    pub match_exact_hex: &'static str,
    pub files_busy: &'static str,
    pub file_too_large: &'static str,
    pub run_stopped: &'static str,
    pub file_not_valid: &'static str,
    pub at_line_column: &'static str,
    pub recorded_at: &'static str,
    pub seq_label_send: &'static str,
    pub seq_label_expect: &'static str,
    pub seq_label_wait: &'static str,
    pub tools: &'static str,
    pub step_pass: &'static str,
    pub step_not_run: &'static str,
    pub step_fail: &'static str,
}

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
        K::InvalidAddress | K::File | K::Cancelled | K::Guard | K::Other => {
            (format!("{plain}: {}", e.located()), None)
        }
        K::FileExists => (plain, None),
        _ => (plain, detail),
    }
}

/// Why typed data cannot be sent, in the user's language.
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
