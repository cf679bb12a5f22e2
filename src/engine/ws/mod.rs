//! The WebSocket transport: client and server sessions whose unit is a message. A message is
//! one frame of the connection's record (text or binary), so echo, rules, scripts, decoding and
//! counters work on messages as they do on TCP reads; what WebSocket says besides (the upgrade,
//! pings, pongs, closes) is a [`WsNote`] row in the log.
//!
//! `url.rs` reads a `ws://`/`wss://` address, `handshake.rs` makes the HTTP upgrade both ways
//! (the server's by hand, so a plain HTTP request gets an answer and a silent client a time
//! limit), `conn.rs` is a connection's loop, `server.rs` the accepting side.

mod conn;
mod handshake;
mod server;
mod url;

pub use url::{parse_url, WsUrl, WsUrlError};

use super::shared::SessionCore;
use super::tcp_client::TcpClient;
use super::tls::{self, TlsSettings};
use super::{Direction, NetError, NetErrorKind, SocketOptions};
use std::net::SocketAddr;
use std::time::Duration;

/// The largest message taken by default (larger is refused with close code 1009).
pub const DEFAULT_MAX_MESSAGE: usize = 16 << 20;

/// How typed data goes out: as a text message when it is UTF-8 (else binary), or always one
/// kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SendAs {
    /// Text when the bytes are valid UTF-8, binary otherwise (GBK text, hex data).
    #[default]
    Auto,
    /// Always a binary message.
    Binary,
}

/// What both ends of a WebSocket session share.
#[derive(Clone, Debug)]
pub struct WsOptions {
    /// Subprotocols offered (client) or accepted (server), in order of preference.
    pub subprotocols: Vec<String>,
    /// Messages (and frames) larger than this are refused with 1009.
    pub max_message: usize,
    /// Send a ping this often (its round trip is said when the pong comes).
    pub ping_interval: Option<Duration>,
    pub send_as: SendAs,
}

impl Default for WsOptions {
    fn default() -> Self {
        Self {
            subprotocols: Vec::new(),
            max_message: DEFAULT_MAX_MESSAGE,
            ping_interval: None,
            send_as: SendAs::Auto,
        }
    }
}

/// A WebSocket client session: where to connect and what to send in the upgrade.
#[derive(Clone, Debug)]
pub struct WsClientConfig {
    /// `ws://host[:port]/path?query` or `wss://…` (user:password@ for Basic auth).
    pub url: String,
    /// Extra request headers (`Authorization`, a token…), in order.
    pub headers: Vec<(String, String)>,
    pub origin: Option<String>,
    pub connect_timeout: Duration,
    pub options: SocketOptions,
    pub ws: WsOptions,
}

/// A WebSocket server session.
#[derive(Clone, Debug)]
pub struct WsServerConfig {
    pub bind: SocketAddr,
    /// Only upgrades asking for this path are taken (`None`: any path).
    pub path: Option<String>,
    /// Send back each message as it came (same kind).
    pub echo: bool,
    pub options: SocketOptions,
    pub ws: WsOptions,
}

/// Why a WebSocket connection or upgrade failed: SockScope's own finding, as data (the
/// window words it in the user's language).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WsFailure {
    #[error("{0}")]
    Url(WsUrlError),
    #[error("a request header is not valid: {0}")]
    BadHeader(String),
    #[error("the server answered HTTP {status} {reason}: not upgraded to WebSocket")]
    Refused { status: u16, reason: String },
    #[error("the server's answer is not a valid WebSocket upgrade: {0}")]
    BadUpgrade(String),
    #[error("not a WebSocket upgrade ({request}): answered HTTP {status}")]
    NotUpgrade { status: u16, request: String },
    #[error("the upgrade did not finish within {0} s")]
    UpgradeTimeout(u64),
    #[error("closed during the upgrade")]
    ClosedDuringUpgrade,
    #[error("dropped: {0} upgrades were waiting, this one the longest")]
    GaveWay(usize),
    #[error("{0}")]
    Io(String),
    #[error("protocol error (close 1002): {0}")]
    Protocol(String),
    #[error("invalid UTF-8 in a text message (close 1007)")]
    InvalidUtf8,
    #[error("a message over {0} bytes (close 1009)")]
    TooBig(usize),
    #[error("the connection dropped without a close (1006)")]
    Dropped,
}

/// A WebSocket close code in words (RFC 6455 §7.4).
pub fn close_code_words(code: u16) -> &'static str {
    match code {
        1000 => "normal closure",
        1001 => "going away",
        1002 => "protocol error",
        1003 => "unsupported data",
        1005 => "no status code",
        1006 => "dropped without a close",
        1007 => "invalid data (not UTF-8)",
        1008 => "policy violation",
        1009 => "message too big",
        1010 => "extension required",
        1011 => "server error",
        1012 => "service restart",
        1013 => "try again later",
        1014 => "bad gateway",
        1015 => "TLS handshake failed",
        3000..=3999 => "registered by a library or framework",
        4000..=4999 => "the application's own",
        _ => "not a defined code",
    }
}

/// What a WebSocket connection said besides its messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WsNote {
    /// The HTTP upgrade request (sent by a client, received by a server).
    Request {
        dir: Direction,
        /// `GET /path?query HTTP/1.1`
        line: String,
        headers: Vec<(String, String)>,
    },
    /// The HTTP answer to it: 101 when upgraded, else the refusal.
    Response {
        dir: Direction,
        status: u16,
        reason: String,
        headers: Vec<(String, String)>,
    },
    /// The connection is upgraded: the subprotocol chosen (if any), the path, the User-Agent.
    Upgraded {
        subprotocol: Option<String>,
        path: String,
        user_agent: Option<String>,
    },
    Ping {
        dir: Direction,
        len: usize,
        /// Sent by SockScope by itself (an answer, or the ping interval).
        automatic: bool,
    },
    Pong {
        dir: Direction,
        len: usize,
        /// The round trip of our ping this pong answers.
        rtt: Option<Duration>,
        automatic: bool,
    },
    Close {
        dir: Direction,
        /// `None`: a close frame without a status code.
        code: Option<u16>,
        reason: String,
    },
}

impl std::fmt::Display for WsNote {
    /// One line, in English (the CLI's text output; the window words it in the user's
    /// language).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let arrow = |dir: &Direction| match dir {
            Direction::Rx => "←",
            Direction::Tx => "→",
        };
        match self {
            WsNote::Request { dir, line, headers } => {
                write!(f, "{} {line}", arrow(dir))?;
                for (k, v) in headers {
                    write!(f, " | {k}: {v}")?;
                }
                Ok(())
            }
            WsNote::Response {
                dir,
                status,
                reason,
                headers,
            } => {
                write!(f, "{} HTTP {status} {reason}", arrow(dir))?;
                for (k, v) in headers {
                    write!(f, " | {k}: {v}")?;
                }
                Ok(())
            }
            WsNote::Upgraded {
                subprotocol, path, ..
            } => match subprotocol {
                Some(p) => write!(f, "WebSocket open on {path}, subprotocol {p}"),
                None => write!(f, "WebSocket open on {path}, no subprotocol"),
            },
            WsNote::Ping {
                dir,
                len,
                automatic,
            } => {
                let auto = if *automatic { " (automatic)" } else { "" };
                write!(f, "{} ping ({len} B){auto}", arrow(dir))
            }
            WsNote::Pong {
                dir,
                len,
                rtt,
                automatic,
            } => {
                let auto = if *automatic {
                    " (automatic answer)"
                } else {
                    ""
                };
                write!(f, "{} pong ({len} B){auto}", arrow(dir))?;
                if let Some(rtt) = rtt {
                    write!(f, ", round trip {:.3} ms", rtt.as_secs_f64() * 1e3)?;
                }
                Ok(())
            }
            WsNote::Close { dir, code, reason } => {
                write!(f, "{} close", arrow(dir))?;
                match code {
                    Some(c) => write!(f, " {c} ({})", close_code_words(*c))?,
                    None => write!(f, " without a code")?,
                }
                if !reason.is_empty() {
                    write!(f, ": {reason}")?;
                }
                Ok(())
            }
        }
    }
}

/// Connects, shakes hands (TLS for `wss://`, then the HTTP upgrade) and starts the one
/// connection; the session is shown open only once upgraded.
pub(crate) async fn open_client(
    core: &SessionCore,
    config: WsClientConfig,
    tls: Option<TlsSettings>,
) -> Result<TcpClient, NetError> {
    let url = parse_url(&config.url).map_err(|e| {
        NetError::because(
            NetErrorKind::InvalidAddress,
            super::Reason::WebSocket(WsFailure::Url(e)),
        )
    })?;
    let tls = match (url.secure, tls) {
        (true, Some(TlsSettings::Client(settings))) => {
            Some((tls::client_config(&settings)?, settings))
        }
        (true, _) => {
            let settings = tls::TlsClientSettings {
                verify: tls::Verify::System,
                sni: None,
                alpn: Vec::new(),
                identity: None,
            };
            Some((tls::client_config(&settings)?, settings))
        }
        (false, _) => None,
    };
    let remote = url.host_port();
    let mut last_error = NetError::new(NetErrorKind::HostNotFound, remote.clone());
    for addr in super::resolve::resolve(&remote).await? {
        let stream =
            match super::sockets::connect(addr, config.connect_timeout, &config.options).await {
                Ok(stream) => stream,
                Err(e) => {
                    last_error = e;
                    continue;
                }
            };
        let local = stream.local_addr().map_err(NetError::from)?;
        let (stream, info) = match &tls {
            Some((tls_config, settings)) => {
                let (secured, info) = tls::connect(tls_config.clone(), settings, &url.host, stream)
                    .await
                    .map_err(|e| e.at(addr))?;
                (super::tcp_conn::Stream::Tls(Box::new(secured)), Some(info))
            }
            None => (super::tcp_conn::Stream::Plain(stream), None),
        };
        let upgraded = handshake::client(&url, &config, stream, addr).await?;
        core.announce(super::Event::Opened {
            session: core.id,
            local,
            peer: Some(addr),
        });
        // Unbounded, bounded in fact: the one connection ends once.
        #[allow(clippy::disallowed_methods)]
        let (ended_tx, ended) = tokio::sync::mpsc::unbounded_channel();
        let conn = conn::spawn(
            core,
            upgraded,
            addr,
            local,
            false,
            info,
            config.ws.clone(),
            ended_tx,
        );
        return Ok(TcpClient::single(conn, ended));
    }
    Err(last_error)
}

pub(crate) use server::open as open_server;
