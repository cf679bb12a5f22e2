//! Network failures as types, so the window can say each one in the user's language.

use std::fmt;
use std::io;

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
    /// The user cancelled it.
    Cancelled,
    /// Automatic replies passed their limit per second and are paused (a reply loop?).
    ReplyLimit,
    /// An auto-reply rule answers with data its own pattern matches: it could loop.
    LoopRisk,
    /// A peer stayed silent longer than allowed, or too many peers at once.
    Guard,
    /// Anything else; the detail says what.
    Other,
}

/// A network failure: its kind plus the system's own words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetError {
    /// The class of failure.
    pub kind: NetErrorKind,
    /// The system's message or other detail (English).
    pub detail: String,
}

impl NetError {
    /// Builds an error of a kind with a detail.
    pub fn new(kind: NetErrorKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
        }
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
        Self::new(kind, err.to_string())
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
            NetErrorKind::Cancelled => "cancelled",
            NetErrorKind::ReplyLimit => "automatic replies paused",
            NetErrorKind::LoopRisk => "this rule could answer itself in a loop",
            NetErrorKind::Guard => "dropped by a guard",
            NetErrorKind::Other => "network error",
        }
    }
}

impl fmt::Display for NetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.summary(), self.detail)
    }
}

impl std::error::Error for NetError {}

impl From<io::Error> for NetError {
    fn from(err: io::Error) -> Self {
        Self::from_io(&err)
    }
}
