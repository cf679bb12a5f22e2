//! UDP session: send to any host:port, receive with the sender's address, broadcast, multicast.
//!
//! Datagrams are read on a thread of the session's own with blocking reads and a large receive
//! buffer: a burst at full loopback speed is drained faster than an async wake-up per datagram
//! would allow, so none is dropped.

use super::batch::{send_datagram, Batcher, DatagramRecord as Record, TICK};
use super::resolve::resolve;
use super::script::SessionScript;
use super::shared::{Sent, SessionCore, SessionKind, Step};
use super::transfer::FileSink;
use super::{
    sockets, Command, ConnId, CountersSnapshot, NetError, NetErrorKind, Reason, SendTarget,
    SocketOptions, Transport,
};
use crate::payload::framing::FrameKind;
use crate::script::{Action, ScriptError};
use socket2::{InterfaceIndexOrAddress, SockRef};
use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a read waits when nothing is pending, so that a close is noticed promptly.
const IDLE_WAIT: Duration = Duration::from_millis(100);

/// A UDP session's script: what it sends leaves by the session's socket, into its record.
/// `reply` goes to the sender of the frame (in a timer: the last sender), `send` to the
/// session's destination (without one: as `reply`).
#[derive(Clone)]
struct ScriptIo {
    socket: Arc<UdpSocket>,
    core: SessionCore,
    record: Record,
    /// The session's destination, resolved at the open.
    dest: Option<SocketAddr>,
    last_sender: Arc<Mutex<Option<SocketAddr>>>,
}

impl ScriptIo {
    /// Calls the running script (when there is one) and carries out what it asked for; at the
    /// close (`sends: false`) only its log lines.
    fn run(
        &self,
        from: Option<SocketAddr>,
        sends: bool,
        call: impl FnOnce(&SessionScript) -> Result<Vec<Action>, ScriptError>,
    ) {
        let Some(script) = self.core.script.current() else {
            return;
        };
        match call(&script) {
            Err(e) => super::script::failed(&self.core, &script, e),
            Ok(actions) => {
                for action in actions {
                    match action {
                        Action::Log(text) => {
                            if let Ok(mut record) = self.record.lock() {
                                record.flush();
                            }
                            self.core.sink.send(super::Event::ScriptLog {
                                session: self.core.id,
                                text,
                            });
                        }
                        Action::Every { ms, function } if sends => {
                            let io = self.clone();
                            let deliver = move |action| {
                                let io = io.clone();
                                async move {
                                    io.send(&io.core.script.current(), action, None);
                                    true
                                }
                            };
                            self.core.spawn_small(super::script::timer(
                                self.core.clone(),
                                script.clone(),
                                self.core.cancel.clone(),
                                ms,
                                function,
                                deliver,
                            ));
                        }
                        send if sends => self.send(&Some(script.clone()), send, from),
                        _ => {}
                    }
                }
            }
        }
    }

    /// A script's `reply` or `send`, under the reply limit.
    fn send(&self, script: &Option<Arc<SessionScript>>, action: Action, from: Option<SocketAddr>) {
        let from = from.or_else(|| self.last_sender.lock().ok().and_then(|l| *l));
        let (bytes, to) = match action {
            Action::Reply(bytes) => (bytes, from),
            Action::Send(bytes) => (bytes, self.dest.or(from)),
            Action::Log(_) | Action::Every { .. } => return,
        };
        if !self.core.reply_allowed() {
            return;
        }
        match to {
            Some(to) => {
                if let Err(e) =
                    send_datagram(&self.socket, &self.core, &self.record, &bytes, to, true)
                {
                    self.core.error(NetError::from_io(&e).at(to));
                }
            }
            None => {
                if let Some(script) = script {
                    super::script::failed(&self.core, script, ScriptError::NoDestination);
                }
            }
        }
    }
}

/// An open UDP session.
pub(crate) struct Udp {
    socket: Arc<UdpSocket>,
    record: Record,
    default_dest: Option<String>,
    /// The last destination resolved, so repeating sends do not resolve each time.
    resolved: Option<(String, SocketAddr)>,
    last_sender: Arc<Mutex<Option<SocketAddr>>>,
    stop: Arc<AtomicBool>,
    reader: Option<std::thread::JoinHandle<()>>,
    script: ScriptIo,
}

/// Binds the socket and starts its reader thread.
pub(crate) async fn open(
    core: &SessionCore,
    bind: SocketAddr,
    default_dest: Option<String>,
    broadcast: bool,
    echo: bool,
    options: &SocketOptions,
) -> Result<Udp, NetError> {
    let with_addr = |e: std::io::Error| NetError::from_io(&e).at(bind);
    let socket = sockets::new_socket(&bind, true).map_err(with_addr)?;
    options.apply(&socket, false).map_err(with_addr)?;
    if options.recv_buffer.is_none() {
        sockets::set_recv_buffer(&socket, sockets::UDP_RECV_BUFFER);
    }
    socket.set_broadcast(broadcast).map_err(with_addr)?;
    socket.bind(&bind.into()).map_err(with_addr)?;
    let socket: UdpSocket = socket.into();
    let local = socket.local_addr().map_err(with_addr)?;
    let socket = Arc::new(socket);
    core.announce(super::Event::Opened {
        session: core.id,
        local,
        peer: None,
    });
    let stop = Arc::new(AtomicBool::new(false));
    let last_sender = Arc::new(Mutex::new(None));
    let record: Record = Arc::new(Mutex::new(Batcher::new(core, None)));
    // A script's `send` goes to the destination, known now: an address as typed (so a script
    // applied later has it too), or a name looked up when the session opens with a script (a
    // name that does not resolve is said when a send is tried, as before).
    let dest = match default_dest.as_deref() {
        Some(text) => match text.trim().parse::<SocketAddr>() {
            Ok(addr) => for_socket(&[addr], local.is_ipv6()),
            Err(_) if core.script.is_some() => resolve(text)
                .await
                .ok()
                .and_then(|found| for_socket(&found, local.is_ipv6())),
            Err(_) => None,
        },
        None => None,
    };
    let script = ScriptIo {
        socket: socket.clone(),
        core: core.clone(),
        record: record.clone(),
        dest,
        last_sender: last_sender.clone(),
    };
    let reader = {
        let (socket, core, stop, last_sender, record) = (
            socket.clone(),
            core.clone(),
            stop.clone(),
            last_sender.clone(),
            record.clone(),
        );
        let script = script.clone();
        std::thread::Builder::new()
            .name("sockscope-udp".into())
            .spawn(move || read_loop(&socket, &core, echo, &stop, &last_sender, &record, &script))
            .map_err(NetError::from)?
    };
    Ok(Udp {
        socket,
        record,
        default_dest,
        resolved: None,
        last_sender,
        stop,
        reader: Some(reader),
        script,
    })
}

fn read_loop(
    socket: &Arc<UdpSocket>,
    core: &SessionCore,
    echo: bool,
    stop: &AtomicBool,
    last_sender: &Mutex<Option<SocketAddr>>,
    record: &Record,
    script: &ScriptIo,
) {
    // The script's `on_open` runs first, and again for a script applied while open.
    let mut script_changed = core.script.subscribe();
    script_changed.mark_changed();
    let mut buf = vec![0u8; 65536];
    let mut framer = core.framer();
    let mut whole: Vec<Vec<u8>> = Vec::new();
    let mut waiting_short = false;
    let _ = socket.set_read_timeout(Some(IDLE_WAIT));
    while !stop.load(Ordering::Relaxed) {
        if script_changed.has_changed().unwrap_or(false) {
            script_changed.borrow_and_update();
            script.run(None, true, |s| s.call("on_open"));
        }
        // Wait briefly while a batch is pending so it goes out on time; longer when idle.
        // One lock per turn: what is due goes out, and whether more waits sets the read's wait.
        let pending = record.lock().is_ok_and(|mut r| {
            r.flush_if_due();
            r.deadline().is_some()
        });
        if pending != waiting_short {
            let _ = socket.set_read_timeout(Some(if pending { TICK } else { IDLE_WAIT }));
            waiting_short = pending;
        }
        match socket.recv_from(&mut buf) {
            Ok((n, peer)) => {
                let now = std::time::SystemTime::now();
                let data = &buf[..n];
                core.counters.add_rx(n);
                core.keep(None, data);
                if let Ok(mut record) = record.lock() {
                    match framer.as_mut() {
                        // Framed, each datagram is cut on its own: what is left at its end is
                        // an incomplete frame (an idle frame is the whole datagram).
                        Some(framer) => {
                            let answering = core.rules.is_active() || core.script.is_some();
                            framer.push_with(data, &mut |bytes, kind| {
                                record.push_frame(peer, bytes, kind, now);
                                if answering && kind == FrameKind::Whole {
                                    whole.push(bytes.to_vec());
                                }
                            });
                            if let Some(rest) = framer.finish() {
                                if answering && rest.kind == FrameKind::Whole {
                                    whole.push(rest.bytes.clone());
                                }
                                record.push_frame(peer, &rest.bytes, rest.kind, now);
                            }
                        }
                        None => record.received(peer, data, now),
                    }
                }
                if let Ok(mut last) = last_sender.lock() {
                    *last = Some(peer);
                }
                if echo && core.reply_allowed() {
                    let _ = send_datagram(socket, core, record, data, peer, true);
                }
                // Rules answer whole frames when framed, else the datagram.
                if framer.is_some() {
                    for frame in whole.drain(..) {
                        script.run(Some(peer), true, |s| s.frame(&frame));
                        auto_reply(socket, core, record, &frame, peer);
                    }
                } else {
                    script.run(Some(peer), true, |s| s.frame(data));
                    auto_reply(socket, core, record, data, peer);
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            // ICMP "port unreachable" from an earlier send (Windows reports it here): not ours.
            Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => {
                core.error(NetError::from_io(&e));
                std::thread::sleep(IDLE_WAIT);
            }
        }
    }
    if let Ok(mut record) = record.lock() {
        record.finish();
    }
}

/// Sends what the session's rules answer to a datagram, back to its sender (each within the
/// loop guard); a delayed answer waits on a runtime timer, never on the reader.
fn auto_reply(
    socket: &Arc<UdpSocket>,
    core: &SessionCore,
    record: &Record,
    data: &[u8],
    peer: SocketAddr,
) {
    for (reply, delay) in core.auto_replies(data) {
        let send = {
            let (socket, core, record) = (socket.clone(), core.clone(), record.clone());
            move || {
                let _ = send_datagram(&socket, &core, &record, &reply, peer, true);
            }
        };
        match delay {
            None => send(),
            Some(delay) => core.spawn_small(async move {
                tokio::time::sleep(delay).await;
                send();
            }),
        }
    }
}

impl Udp {
    async fn destination(&mut self, target: &SendTarget) -> Result<SocketAddr, NetError> {
        let text = match target {
            SendTarget::LastSender => {
                let last = self.last_sender.lock().ok().and_then(|l| *l);
                return last.ok_or_else(|| {
                    NetError::new(NetErrorKind::NotConnected, "nothing has been received yet")
                });
            }
            SendTarget::To(text) => text.clone(),
            SendTarget::Default | SendTarget::AllClients => {
                self.default_dest.clone().ok_or_else(|| {
                    NetError::new(NetErrorKind::NotConnected, "no destination host:port given")
                })?
            }
            SendTarget::Conn(_) => {
                return Err(NetError::because(
                    NetErrorKind::NotAvailable,
                    Reason::UdpHasNoConnections,
                ))
            }
        };
        if let Some((cached_text, addr)) = &self.resolved {
            if *cached_text == text {
                return Ok(*addr);
            }
        }
        let local_v6 = self.socket.local_addr().is_ok_and(|a| a.is_ipv6());
        let found = resolve(&text).await?;
        let addr = for_socket(&found, local_v6)
            .ok_or_else(|| NetError::new(NetErrorKind::HostNotFound, text.clone()))?;
        self.resolved = Some((text, addr));
        Ok(addr)
    }
}

/// Of the addresses a name resolved to, the one a socket of this family sends to: one of its
/// own family first (a v4 socket cannot reach a v6 peer); a dual-stack socket reaches IPv4
/// peers through mapped addresses.
fn for_socket(found: &[SocketAddr], local_v6: bool) -> Option<SocketAddr> {
    let addr = found
        .iter()
        .find(|a| a.is_ipv6() == local_v6)
        .or_else(|| found.first())
        .copied()?;
    Some(match (local_v6, addr) {
        (true, SocketAddr::V4(v4)) => {
            SocketAddr::new(IpAddr::V6(v4.ip().to_ipv6_mapped()), v4.port())
        }
        _ => addr,
    })
}

impl SessionKind for Udp {
    async fn next(&mut self, _core: &SessionCore) -> Step {
        std::future::pending().await
    }

    async fn send(
        &mut self,
        core: &SessionCore,
        target: &SendTarget,
        bytes: &[u8],
        _ack: Option<u64>,
    ) -> Result<Sent, NetError> {
        let dest = self.destination(target).await?;
        send_datagram(&self.socket, core, &self.record, bytes, dest, true)
            .map_err(|e| NetError::from_io(&e).at(dest))?;
        Ok(Sent::Written)
    }

    async fn command(&mut self, core: &SessionCore, command: Command) {
        let result = match command {
            Command::SetBroadcast { on, .. } => self.socket.set_broadcast(on),
            Command::JoinMulticast {
                group, interface, ..
            } => multicast(&self.socket, group, interface, true),
            Command::LeaveMulticast {
                group, interface, ..
            } => multicast(&self.socket, group, interface, false),
            _ => {
                core.error(NetError::because(
                    NetErrorKind::NotAvailable,
                    Reason::NotForThisKind(Transport::Udp),
                ));
                Ok(())
            }
        };
        if let Err(e) = result {
            core.error(NetError::from_io(&e));
        }
    }

    async fn file_sink(
        &mut self,
        _core: &SessionCore,
        target: &SendTarget,
    ) -> Result<FileSink, NetError> {
        let dest = self.destination(target).await?;
        Ok(FileSink::Udp {
            socket: self.socket.clone(),
            record: self.record.clone(),
            dest,
        })
    }

    fn conn_stats(&self) -> Vec<(ConnId, CountersSnapshot)> {
        Vec::new()
    }

    fn reset_stats(&self) {}

    async fn shutdown(mut self, _core: &SessionCore) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(reader) = self.reader.take() {
            let _ = tokio::task::spawn_blocking(move || reader.join()).await;
        }
        // The script hears of the close (its log lines are said; nothing is sent now).
        let script = self.script.clone();
        super::shared::beside_io(|| script.run(None, false, |s| s.call("on_close")));
    }
}

impl Drop for Udp {
    /// Stops the reader thread however the session ends (even aborted): it notices within
    /// its read timeout.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Joins or leaves a multicast group; `interface` is an interface index (0: the system's
/// choice).
fn multicast(socket: &UdpSocket, group: IpAddr, interface: u32, join: bool) -> std::io::Result<()> {
    if !group.is_multicast() {
        return Err(std::io::Error::new(
            ErrorKind::InvalidInput,
            format!("{group} is not a multicast address"),
        ));
    }
    match group {
        IpAddr::V4(g) => {
            let iface = if interface == 0 {
                InterfaceIndexOrAddress::Address(Ipv4Addr::UNSPECIFIED)
            } else {
                InterfaceIndexOrAddress::Index(interface)
            };
            let sock = SockRef::from(socket);
            if join {
                sock.join_multicast_v4_n(&g, &iface)
            } else {
                sock.leave_multicast_v4_n(&g, &iface)
            }
        }
        IpAddr::V6(g) => {
            if join {
                socket.join_multicast_v6(&g, interface)
            } else {
                socket.leave_multicast_v6(&g, interface)
            }
        }
    }
}
