//! Network failures as types, so the window can say each one in the user's language.

use std::io;
use std::sync::Arc;

/// What went wrong, in the terms a tester thinks in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NetErrorKind {
    /// The peer answered with a reset: nothing listens on that port.
    Refused,
    /// No route to the host or network.
    Unreachable,
    /// No answer within the time allowed.
    Timeout,
    /// The peer reset or aborted an open connection.
    Reset,
    /// The local address and port are taken by another socket.
    AddrInUse,
    /// The local address is not one of this machine's.
    AddrNotAvailable,
    /// The system refused, e.g. a port below 1024 without privileges, or broadcast not enabled.
    PermissionDenied,
    /// The host name could not be resolved.
    HostNotFound,
    /// The address or port given is not valid.
    InvalidAddress,
    /// The connection's send queue is full because the peer is not reading.
    SendQueueFull,
    /// There is no connection or destination to send to.
    NotConnected,
    /// A file could not be written or read.
    File,
    /// The file to write exists; nothing was written (ask before replacing it).
    FileExists,
    /// Received data past the tab's keep limit: the oldest is no longer kept.
    KeepLimit,
    /// The user cancelled it.
    Cancelled,
    /// Automatic replies passed their limit per second and are paused (a reply loop?).
    ReplyLimit,
    /// An auto-reply rule answers with data its own pattern matches: it could loop.
    LoopRisk,
    /// A peer stayed silent longer than allowed, or too many peers at once.
    Guard,
    /// TLS cannot start: a certificate, key or CA file unreadable or wrong, a bad pin or name.
    TlsSetup,
    /// The peer's certificate has expired (or is not valid yet).
    TlsExpired,
    /// The peer's certificate is not for the name connected to.
    TlsWrongName,
    /// The peer's certificate is signed by no one trusted.
    TlsUnknownIssuer,
    /// The peer's certificate is not the pinned one.
    TlsPinMismatch,
    /// The peer refused the handshake (an alert, no client certificate, closed).
    TlsRejected,
    /// The peer does not speak TLS.
    TlsNotTls,
    /// Any other handshake failure; the detail says what.
    TlsFailed,
    /// The session cannot do that (a relay does not send; a server sends to its clients).
    NotAvailable,
    /// The same thing is already running (a capture, a save, a file send).
    Busy,
    /// The data could not be built or framed for sending; nothing was sent.
    NotSent,
    /// The peer does not speak the protocol expected (a verified file transfer).
    Protocol,
    /// The serial port does not exist (or vanished: an adapter pulled).
    PortMissing,
    /// The serial port is open in another program.
    PortBusy,
    /// A session's script failed (its other calls go on).
    Script,
    /// Anything else; the detail says what.
    Other,
}

/// The kind of session a command was sent to (for [`Reason::NotForThisKind`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    TcpClient,
    TcpServer,
    Udp,
    Relay,
    FileTransfer,
    WsClient,
    WsServer,
}

impl std::fmt::Display for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::TcpClient => "TCP client",
            Self::TcpServer => "TCP server",
            Self::Udp => "UDP session",
            Self::Relay => "relay",
            Self::FileTransfer => "file transfer",
            Self::WsClient => "WebSocket client",
            Self::WsServer => "WebSocket server",
        })
    }
}

/// SockScope's own finding (as opposed to the system's words): data, not a sentence. The CLI
/// prints its English `Display`; the window says it in the user's language (`ui::i18n::reason`).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum Reason {
    #[error("not available for a {0}")]
    NotForThisKind(Transport),
    #[error("a capture of this session is already running")]
    CaptureRunning,
    #[error("already saving to {}", .0.display())]
    SaveRunning(std::path::PathBuf),
    #[error("a file is already being sent")]
    FileSendRunning,
    #[error("this session keeps nothing of what it receives")]
    NothingKept,
    #[error("an internal task failed")]
    TaskFailed,
    #[error("not sent: {0}")]
    NotSentPayload(crate::payload::PayloadError),
    #[error("not sent: {0}")]
    NotSentFrame(crate::payload::framing::FrameEncodeError),
    #[error("rule '{rule}': {error}")]
    RuleReply {
        rule: String,
        error: crate::payload::PayloadError,
    },
    #[error("not a SockScope verified transfer peer")]
    NotATransferPeer,
    #[error("the header's sha256 is not 64 hex digits")]
    BadTransferHeader,
    #[error("the receiver refused the file: {}", .0.as_deref().unwrap_or("no reason given"))]
    ReceiverRefused(Option<String>),
    #[error("{} is a folder", .0.display())]
    IsAFolder(std::path::PathBuf),
    #[error("{} is not a folder", .0.display())]
    NotAFolder(std::path::PathBuf),
    #[error("{} exists; it will not be overwritten", .0.display())]
    WillNotOverwrite(std::path::PathBuf),
    #[error("{}: write stopped", .0.display())]
    WriteStopped(std::path::PathBuf),
    #[error("{name}: no free name left in {}", .dir.display())]
    NoFreeName {
        name: String,
        dir: std::path::PathBuf,
    },
    #[error("{0} TLS handshakes already in progress: closed")]
    TooManyHandshakes(usize),
    #[error("the port's control lines are still being switched: try again")]
    LinesBusy,
    #[error("did not read what the port sent fast enough: let go, so the other clients are not held back")]
    FellBehind,
    #[error("refused: already {0} clients")]
    TooManyClients(usize),
    #[error("refused: already {0} transfers at once")]
    TooManyTransfers(usize),
    #[error("closed: it sent no data while {0} waited for a slot")]
    GaveWayTo(std::net::SocketAddr),
    #[error("the peer was silent for {secs} s while we waited for {waiting_for}; gave up")]
    SilentWhileWaiting { secs: f64, waiting_for: Awaited },
    #[error("the sender was silent for {secs} s without closing; took that as the end")]
    SilentTakenAsEnd { secs: f64 },
    #[error(
        "{name}: SHA-256 mismatch (expected {expected}, got {got}); the partial file was removed"
    )]
    ShaMismatch {
        name: String,
        expected: String,
        got: String,
    },
    #[error("stopped by the user")]
    StoppedByUser,
    #[error("the session closed before this was sent")]
    ClosedBeforeSent,
    #[error("this is this relay's own listening address: it would forward to itself")]
    RelayToItself,
    #[error("a UDP session has no connections")]
    UdpHasNoConnections,
    #[error("a TCP server sends to its connected clients")]
    ServerSendsToClients,
    #[error("a TCP client sends only to the host it is connected to")]
    ClientSendsToItsHost,
    #[error("no such port (is the adapter plugged in?)")]
    PortMissing,
    #[error("{0}")]
    WebSocket(super::ws::WsFailure),
    #[error("the port is in use by another program")]
    PortBusy,
    #[error("the port went away (the adapter was pulled, or the device closed it)")]
    PortVanished,
    #[error("{0}")]
    Script(crate::script::ScriptError),
    #[error("{0} is not a baud rate (1 to 20000000)")]
    BadBaud(u32),
    #[error("{0} data bits: a port has 5 to 8")]
    BadDataBits(u8),
}

/// What a file transfer was waiting for when the peer fell silent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Awaited {
    FirstLine,
    Header,
    Data,
    Offer,
    Start,
    Verdict,
    ToTakeData,
    ToTakeHeader,
    ToTakeOffer,
    ToTakeVerdict,
}

impl std::fmt::Display for Awaited {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::FirstLine => "the first line",
            Self::Header => "the header",
            Self::Data => "data",
            Self::Offer => "the receiver's offer",
            Self::Start => "the sender's start",
            Self::Verdict => "the receiver's verdict",
            Self::ToTakeData => "the receiver to take data",
            Self::ToTakeHeader => "the receiver to take the header",
            Self::ToTakeOffer => "the sender to take our offer",
            Self::ToTakeVerdict => "the sender to take the verdict",
        })
    }
}

/// A network failure: its kind, the detail in words, and the system's own error when there is
/// one (kept as the error's source, so its code stays inspectable).
#[derive(Clone, Debug, thiserror::Error)]
#[error("{}: {}", self.summary(), self.located())]
pub struct NetError {
    /// The class of failure.
    pub kind: NetErrorKind,
    /// The system's message or other detail (English).
    pub detail: String,
    /// The address or name involved (`127.0.0.1:8080`), when there is one.
    pub addr: Option<String>,
    /// SockScope's own finding, as data (the window translates it); `detail` is its English.
    /// Boxed: errors travel in every `Result` of the engine and stay small.
    reason: Option<Box<Reason>>,
    /// The I/O error behind it, if any.
    #[source]
    source: Option<Arc<io::Error>>,
}

/// Two errors are the same failure when kind and detail agree (the source is how we know).
impl PartialEq for NetError {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.detail == other.detail && self.addr == other.addr
    }
}
// (`reason`, when set, is what `detail` says: comparing the detail compares it.)

impl Eq for NetError {}

impl NetError {
    /// Builds an error of a kind with a detail.
    pub fn new(kind: NetErrorKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
            addr: None,
            reason: None,
            source: None,
        }
    }

    /// Builds an error of a kind for one of SockScope's own findings.
    pub fn because(kind: NetErrorKind, reason: Reason) -> Self {
        let mut error = Self::new(kind, reason.to_string());
        error.reason = Some(Box::new(reason));
        error
    }

    /// SockScope's own finding behind this error, when it is one.
    pub fn reason(&self) -> Option<&Reason> {
        self.reason.as_deref()
    }

    /// The same error with `err` kept as its source.
    pub fn caused_by(mut self, err: io::Error) -> Self {
        self.source = Some(Arc::new(err));
        self
    }

    /// The same error, about `addr` (an address, a name).
    pub fn at(mut self, addr: impl std::fmt::Display) -> Self {
        self.addr = Some(addr.to_string());
        self
    }

    /// The detail, after the address it is about.
    pub fn located(&self) -> String {
        match &self.addr {
            Some(addr) => format!("{addr}: {}", self.detail),
            None => self.detail.clone(),
        }
    }

    /// The same error, classed as `kind`.
    pub(crate) fn with_kind(mut self, kind: NetErrorKind) -> Self {
        self.kind = kind;
        self
    }

    /// The system's error behind this one, if any.
    pub fn io_error(&self) -> Option<&io::Error> {
        self.source.as_deref()
    }

    /// Classifies an I/O error.
    pub fn from_io(err: &io::Error) -> Self {
        use io::ErrorKind as K;
        let kind = match err.kind() {
            K::ConnectionRefused => NetErrorKind::Refused,
            K::HostUnreachable | K::NetworkUnreachable | K::NetworkDown => {
                NetErrorKind::Unreachable
            }
            K::TimedOut | K::WouldBlock => NetErrorKind::Timeout,
            K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe => NetErrorKind::Reset,
            K::AddrInUse => NetErrorKind::AddrInUse,
            K::AddrNotAvailable => NetErrorKind::AddrNotAvailable,
            K::PermissionDenied => NetErrorKind::PermissionDenied,
            K::InvalidInput => NetErrorKind::InvalidAddress,
            K::NotConnected => NetErrorKind::NotConnected,
            _ => NetErrorKind::Other,
        };
        Self::new(kind, err.to_string()).caused_by(copy_io(err))
    }

    /// Short English description of the kind (the CLI's wording; the window translates).
    pub fn summary(&self) -> &'static str {
        match self.kind {
            NetErrorKind::Refused => "connection refused",
            NetErrorKind::Unreachable => "host unreachable",
            NetErrorKind::Timeout => "timed out",
            NetErrorKind::Reset => "connection reset by peer",
            NetErrorKind::AddrInUse => "address already in use",
            NetErrorKind::AddrNotAvailable => "address not available on this machine",
            NetErrorKind::PermissionDenied => "permission denied",
            NetErrorKind::HostNotFound => "host not found",
            NetErrorKind::InvalidAddress => "invalid address",
            NetErrorKind::SendQueueFull => "send queue full (peer is not reading)",
            NetErrorKind::NotConnected => "not connected",
            NetErrorKind::File => "file error",
            NetErrorKind::FileExists => "the file exists",
            NetErrorKind::KeepLimit => "received data over the keep limit",
            NetErrorKind::Cancelled => "cancelled",
            NetErrorKind::ReplyLimit => "automatic replies paused",
            NetErrorKind::LoopRisk => "this rule could answer itself in a loop",
            NetErrorKind::Guard => "dropped by a guard",
            NetErrorKind::TlsSetup => "TLS cannot start",
            NetErrorKind::TlsExpired => "TLS: the certificate has expired or is not valid yet",
            NetErrorKind::TlsWrongName => "TLS: the certificate is for another name",
            NetErrorKind::TlsUnknownIssuer => {
                "TLS: unknown issuer (the certificate is not trusted)"
            }
            NetErrorKind::TlsPinMismatch => "TLS: the certificate is not the pinned one",
            NetErrorKind::TlsRejected => "TLS: the peer rejected the handshake",
            NetErrorKind::TlsNotTls => "TLS: the peer does not speak TLS",
            NetErrorKind::TlsFailed => "TLS handshake failed",
            NetErrorKind::NotAvailable => "not available",
            NetErrorKind::Busy => "already running",
            NetErrorKind::NotSent => "not sent",
            NetErrorKind::Protocol => "protocol error",
            NetErrorKind::PortMissing => "no such serial port",
            NetErrorKind::PortBusy => "serial port in use",
            NetErrorKind::Script => "script",
            NetErrorKind::Other => "network error",
        }
    }
}

/// An owned copy of a borrowed I/O error: the OS code when there is one, else kind and text.
pub(crate) fn copy_io(err: &io::Error) -> io::Error {
    match err.raw_os_error() {
        Some(code) => io::Error::from_raw_os_error(code),
        None => io::Error::new(err.kind(), err.to_string()),
    }
}

impl From<io::Error> for NetError {
    fn from(err: io::Error) -> Self {
        let classified = Self::from_io(&err);
        classified.caused_by(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_error_stays_inspectable_behind_the_words() {
        let refused = NetError::from(io::Error::from(io::ErrorKind::ConnectionRefused));
        assert_eq!(refused.kind, NetErrorKind::Refused);
        let source = std::error::Error::source(&refused)
            .and_then(|s| s.downcast_ref::<Arc<io::Error>>())
            .map(|e| e.kind());
        assert_eq!(source, Some(io::ErrorKind::ConnectionRefused));
        // A borrowed OS error keeps its code.
        let in_use = NetError::from_io(&io::Error::from_raw_os_error(98));
        assert_eq!(
            in_use.io_error().and_then(io::Error::raw_os_error),
            Some(98)
        );
        assert!(refused.to_string().starts_with("connection refused: "));
        assert_eq!(
            NetError::new(NetErrorKind::Other, "x"),
            NetError::new(NetErrorKind::Other, "x")
        );
    }
}
