//! Socket options a tester may want, applied through socket2 before bind or connect.

use super::{NetError, NetErrorKind};
use socket2::{Domain, Protocol, SockRef, Socket, TcpKeepalive, Type};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::{TcpListener, TcpSocket, TcpStream};

/// Options applied to a session's sockets; `None` keeps the system default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SocketOptions {
    /// SO_REUSEADDR (`None`: on for servers on Unix, where it only allows TIME_WAIT reuse).
    pub reuse_addr: Option<bool>,
    /// TCP_NODELAY: send small writes at once (on by default: a debugging tool sends
    /// messages, not streams).
    pub nodelay: Option<bool>,
    /// TCP keepalive idle time.
    pub keepalive: Option<Duration>,
    /// SO_RCVBUF in bytes.
    pub recv_buffer: Option<usize>,
    /// IP TTL / IPv6 unicast hops.
    pub ttl: Option<u32>,
}

/// Default receive buffer of a UDP session: large enough for a burst at loopback speed.
pub(crate) const UDP_RECV_BUFFER: usize = 32 << 20;

/// Creates a socket for `addr`'s family; for `::` it accepts IPv4 too.
pub(crate) fn new_socket(addr: &SocketAddr, udp: bool) -> std::io::Result<Socket> {
    let domain = Domain::for_address(*addr);
    let socket = if udp {
        Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?
    } else {
        Socket::new(domain, Type::STREAM, Some(Protocol::TCP))?
    };
    if addr.is_ipv6() && addr.ip().is_unspecified() {
        // Dual stack where the system allows it; not fatal where it does not.
        let _ = socket.set_only_v6(false);
    }
    Ok(socket)
}

impl SocketOptions {
    /// Applies the options that matter before bind/connect.
    pub(crate) fn apply(&self, socket: &Socket, is_server: bool) -> std::io::Result<()> {
        // Unix: SO_REUSEADDR only lets a server rebind past TIME_WAIT. Windows: it would let a
        // second program take the same port, so it stays off there unless asked for.
        let reuse = self.reuse_addr.unwrap_or(is_server && cfg!(unix));
        if reuse {
            socket.set_reuse_address(true)?;
        }
        if let Some(size) = self.recv_buffer {
            set_recv_buffer(socket, size);
        }
        if let Some(ttl) = self.ttl {
            if socket.domain()? == Domain::IPV6 {
                socket.set_unicast_hops_v6(ttl)?;
            } else {
                socket.set_ttl_v4(ttl)?;
            }
        }
        Ok(())
    }

    /// Applies the per-connection TCP options to an open stream.
    pub(crate) fn apply_stream(&self, stream: &tokio::net::TcpStream) -> std::io::Result<()> {
        stream.set_nodelay(self.nodelay.unwrap_or(true))?;
        if let Some(idle) = self.keepalive {
            SockRef::from(stream).set_tcp_keepalive(&TcpKeepalive::new().with_time(idle))?;
        }
        Ok(())
    }
}

/// Sets SO_RCVBUF; where the system caps it below `size`, tries SO_RCVBUFFORCE (Linux, with
/// privileges). Best effort: a smaller buffer still works, it only drops sooner in a burst.
pub(crate) fn set_recv_buffer(socket: &Socket, size: usize) {
    let _ = socket.set_recv_buffer_size(size);
    // Linux only: SO_RCVBUFFORCE exists there alone; elsewhere the buffer stays as granted.
    #[cfg(target_os = "linux")]
    if socket.recv_buffer_size().unwrap_or(0) < size {
        use std::os::fd::AsRawFd;
        let value = libc::c_int::try_from(size).unwrap_or(libc::c_int::MAX);
        // SAFETY: a valid socket fd and a pointer to a c_int that lives across the call.
        #[allow(unsafe_code)]
        unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVBUFFORCE,
                (&value as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
    }
}

/// Connects to `addr` with the session's options, giving up after `timeout`.
pub(crate) async fn connect(
    addr: SocketAddr,
    timeout: Duration,
    options: &SocketOptions,
) -> Result<TcpStream, NetError> {
    let socket = new_socket(&addr, false)?;
    options.apply(&socket, false)?;
    socket.set_nonblocking(true)?;
    let socket = TcpSocket::from_std_stream(socket.into());
    let stream = tokio::time::timeout(timeout, socket.connect(addr))
        .await
        .map_err(|_| {
            NetError::new(
                NetErrorKind::Timeout,
                format!("no answer within {} ms", timeout.as_millis()),
            )
            .at(addr)
        })?
        .map_err(|e| NetError::from_io(&e).at(addr))?;
    options.apply_stream(&stream)?;
    Ok(stream)
}

/// The next client of a listener; never, once the listener is gone.
pub(crate) async fn accept(
    listener: &Option<TcpListener>,
) -> std::io::Result<(tokio::net::TcpStream, SocketAddr)> {
    match listener {
        Some(l) => l.accept().await,
        None => std::future::pending().await,
    }
}
