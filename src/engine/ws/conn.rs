//! One WebSocket connection's loop: each message received is a frame of the record (echoed,
//! answered by rules and scripts through the shared [`Conn`]); pings are answered, our own
//! pings timed, closes said both ways; a protocol error is closed with its code and said.

use super::handshake::{as_text, Upgraded};
use super::{SendAs, WsFailure, WsNote, WsOptions};
use crate::engine::overlap::Stash;
use crate::engine::shared::SessionCore;
use crate::engine::tcp_conn::{
    self, Conn, ConnHandle, ConnParts, Outgoing, Stream, Wire, WriteError,
};
use crate::engine::{CloseReason, ConnId, Direction, Event, MessageKind, NetError, NetErrorKind};
use futures_util::{SinkExt, StreamExt};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::mpsc::UnboundedSender;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::WebSocketStream;

/// After a close is asked for, how long queued sends and the close handshake may take.
const DRAIN: Duration = Duration::from_millis(500);
/// Pings of ours awaiting their pong, at most (older ones are forgotten: no round trip).
const PINGS_REMEMBERED: usize = 16;

/// The connection as echo, rules and scripts write to it: one message per write.
struct WsWire {
    ws: WebSocketStream<Stream>,
    send_as: SendAs,
    /// The kind the next write must have (an echo keeps the kind it came as).
    force: Option<MessageKind>,
}

fn io_error(e: tungstenite::Error) -> std::io::Error {
    match e {
        tungstenite::Error::Io(e) => e,
        other => std::io::Error::other(other.to_string()),
    }
}

impl Wire for WsWire {
    async fn put(
        &mut self,
        bytes: &[u8],
        _stash: &mut Stash,
    ) -> std::io::Result<Option<MessageKind>> {
        let text = match self.force.take() {
            Some(MessageKind::Text) => std::str::from_utf8(bytes).ok(),
            Some(MessageKind::Binary) => None,
            None => as_text(self.send_as, bytes),
        };
        let (message, kind) = match text {
            Some(text) => (Message::text(text.to_string()), MessageKind::Text),
            None => (Message::binary(bytes.to_vec()), MessageKind::Binary),
        };
        self.ws.send(message).await.map_err(io_error)?;
        Ok(Some(kind))
    }
}

/// Starts a connection's task on an upgraded stream.
#[allow(clippy::too_many_arguments)]
pub(super) fn spawn(
    core: &SessionCore,
    upgraded: Upgraded,
    peer: SocketAddr,
    local: SocketAddr,
    echo: bool,
    tls: Option<crate::engine::tls::TlsInfo>,
    options: WsOptions,
    ended: UnboundedSender<ConnId>,
) -> ConnHandle {
    tcp_conn::start(core, peer, local, echo, tls, move |conn, parts| {
        run(conn, upgraded, options, parts, ended)
    })
}

/// Says a note, after what was read and written before it.
fn say(conn: &mut Conn, time: SystemTime, note: WsNote) {
    conn.record.flush();
    conn.core.sink.send(Event::Ws {
        session: conn.core.id,
        conn: conn.id,
        peer: conn.peer,
        time,
        note,
    });
}

/// What a read error means: the failure, and the close code to send for it (if any).
fn read_failure(e: tungstenite::Error, max: usize) -> (NetError, Option<(u16, &'static str)>) {
    use tungstenite::error::{CapacityError, ProtocolError};
    let ws = |kind, why| NetError::because(kind, crate::engine::Reason::WebSocket(why));
    match e {
        tungstenite::Error::Utf8(_) => (
            ws(NetErrorKind::Protocol, WsFailure::InvalidUtf8),
            Some((1007, "invalid UTF-8")),
        ),
        tungstenite::Error::Capacity(CapacityError::MessageTooLong { .. }) => (
            ws(NetErrorKind::Protocol, WsFailure::TooBig(max)),
            Some((1009, "message too big")),
        ),
        tungstenite::Error::Protocol(ProtocolError::ResetWithoutClosingHandshake) => {
            (ws(NetErrorKind::Reset, WsFailure::Dropped), None)
        }
        tungstenite::Error::Protocol(p) => (
            ws(NetErrorKind::Protocol, WsFailure::Protocol(p.to_string())),
            Some((1002, "protocol error")),
        ),
        tungstenite::Error::Capacity(c) => (
            ws(NetErrorKind::Protocol, WsFailure::Protocol(c.to_string())),
            Some((1009, "too big")),
        ),
        tungstenite::Error::Io(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            (ws(NetErrorKind::Reset, WsFailure::Dropped), None)
        }
        tungstenite::Error::Io(e) => (
            crate::engine::tls::tls_failure(&e).unwrap_or_else(|| NetError::from_io(&e)),
            None,
        ),
        other => (
            ws(
                NetErrorKind::Protocol,
                WsFailure::Protocol(other.to_string()),
            ),
            None,
        ),
    }
}

/// Our pings awaiting a pong: payload and when sent.
#[derive(Default)]
struct Pings {
    next: u64,
    waiting: VecDeque<(Vec<u8>, Instant)>,
}

impl Pings {
    fn new_payload(&mut self) -> Vec<u8> {
        self.next += 1;
        if self.waiting.len() >= PINGS_REMEMBERED {
            self.waiting.pop_front();
        }
        let payload = self.next.to_be_bytes().to_vec();
        self.waiting.push_back((payload.clone(), Instant::now()));
        payload
    }

    /// The round trip of the ping `payload` answers, if it is one of ours.
    fn answered(&mut self, payload: &[u8]) -> Option<Duration> {
        let i = self.waiting.iter().position(|(p, _)| p == payload)?;
        let (_, sent) = self.waiting.remove(i)?;
        Some(sent.elapsed())
    }
}

async fn send_ping(conn: &mut Conn, wire: &mut WsWire, pings: &mut Pings) -> Result<(), NetError> {
    let payload = pings.new_payload();
    let len = payload.len();
    wire.ws
        .send(Message::Ping(payload.into()))
        .await
        .map_err(|e| NetError::from_io(&io_error(e)))?;
    say(
        conn,
        SystemTime::now(),
        WsNote::Ping {
            dir: Direction::Tx,
            len,
            automatic: true,
        },
    );
    Ok(())
}

/// Sends a close frame (bounded by [`DRAIN`]) and says it.
async fn send_close(conn: &mut Conn, wire: &mut WsWire, code: u16, reason: &str) {
    let frame = CloseFrame {
        code: CloseCode::from(code),
        reason: reason.to_string().into(),
    };
    let sent = tokio::time::timeout(DRAIN, wire.ws.send(Message::Close(Some(frame)))).await;
    if matches!(sent, Ok(Ok(()))) {
        say(
            conn,
            SystemTime::now(),
            WsNote::Close {
                dir: Direction::Tx,
                code: Some(code),
                reason: reason.to_string(),
            },
        );
    }
}

/// A message received: counted, kept, recorded as one frame, then echoed and answered.
async fn received(
    conn: &mut Conn,
    wire: &mut WsWire,
    kind: MessageKind,
    data: &[u8],
    time: SystemTime,
    queue: &tokio::sync::mpsc::WeakSender<Outgoing>,
) -> Result<(), WriteError> {
    conn.counters.add_rx(data.len());
    conn.core.counters.add_rx(data.len());
    conn.core.keep(Some(conn.id), data);
    conn.record.push_message(conn.peer, data, kind, time);
    if conn.echo {
        wire.force = Some(kind);
        conn.write(wire, data, true).await?;
    }
    conn.auto_reply(wire, data, queue).await?;
    conn.record.flush_if_due();
    Ok(())
}

async fn run(
    mut conn: Conn,
    upgraded: Upgraded,
    options: WsOptions,
    parts: ConnParts,
    ended: UnboundedSender<ConnId>,
) {
    let ConnParts {
        mut outgoing,
        lines: _,
        queue,
    } = parts;
    for (time, note) in upgraded.notes {
        say(&mut conn, time, note);
    }
    let mut wire = WsWire {
        ws: upgraded.ws,
        send_as: options.send_as,
        force: None,
    };
    let mut pings = Pings::default();
    let mut ping_tick = options.ping_interval.map(|every| {
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick
    });
    let mut script_changed = conn.core.script.subscribe();
    if let Some(e) = conn.script_open(&mut wire, &queue).await {
        conn.core.error(e);
    }
    let mut interrupted = false;
    // The peer's close frame came (and tungstenite answered it): the end is theirs.
    let mut peer_closed = false;
    let reason = loop {
        let deadline = conn.record.deadline();
        tokio::select! {
            biased;
            () = conn.close.cancelled() => break CloseReason::LocalClosed,
            Ok(()) = script_changed.changed() => {
                if let Some(e) = conn.script_open(&mut wire, &queue).await {
                    break CloseReason::Failed(e);
                }
            }
            _ = async {
                match ping_tick.as_mut() {
                    Some(tick) => tick.tick().await,
                    None => std::future::pending().await,
                }
            } => {
                if let Err(e) = send_ping(&mut conn, &mut wire, &mut pings).await {
                    break CloseReason::Failed(e.at(conn.peer));
                }
            }
            message = outgoing.recv() => match message {
                Some(Outgoing { bytes, report, ack }) => {
                    // A file's pieces (not shown in the log) go as binary messages.
                    if !report {
                        wire.force = Some(MessageKind::Binary);
                    }
                    match conn.write(&mut wire, &bytes, report).await {
                        Ok(()) => conn.core.send_result(ack, Ok(())),
                        Err(WriteError::Interrupted) => {
                            conn.not_sent(ack, "the connection was closed");
                            interrupted = true;
                            break CloseReason::LocalClosed;
                        }
                        Err(WriteError::Failed(e)) => {
                            conn.core.send_result(ack, Err(e.clone()));
                            break CloseReason::Failed(e);
                        }
                    }
                }
                None => break CloseReason::LocalClosed,
            },
            read = wire.ws.next() => {
                let now = SystemTime::now();
                let answered = match read {
                    None if peer_closed => break CloseReason::PeerClosed,
                    None => break CloseReason::Failed(
                        NetError::because(NetErrorKind::Reset, crate::engine::Reason::WebSocket(WsFailure::Dropped))
                            .at(conn.peer),
                    ),
                    Some(Ok(Message::Text(text))) => {
                        received(&mut conn, &mut wire, MessageKind::Text, text.as_bytes(), now, &queue).await
                    }
                    Some(Ok(Message::Binary(bytes))) => {
                        received(&mut conn, &mut wire, MessageKind::Binary, &bytes, now, &queue).await
                    }
                    Some(Ok(Message::Ping(payload))) => {
                        say(&mut conn, now, WsNote::Ping { dir: Direction::Rx, len: payload.len(), automatic: false });
                        // tungstenite answers it at once, with the same payload.
                        say(&mut conn, SystemTime::now(), WsNote::Pong { dir: Direction::Tx, len: payload.len(), rtt: None, automatic: true });
                        Ok(())
                    }
                    Some(Ok(Message::Pong(payload))) => {
                        let rtt = pings.answered(&payload);
                        say(&mut conn, now, WsNote::Pong { dir: Direction::Rx, len: payload.len(), rtt, automatic: false });
                        Ok(())
                    }
                    Some(Ok(Message::Close(frame))) => {
                        let (code, reason) = match &frame {
                            Some(f) => (Some(u16::from(f.code)), f.reason.to_string()),
                            None => (None, String::new()),
                        };
                        say(&mut conn, now, WsNote::Close { dir: Direction::Rx, code, reason: reason.clone() });
                        if !peer_closed {
                            // tungstenite answers a close with the same code (1002 for one
                            // that is not allowed).
                            let answer = code.map(|c| if CloseCode::from(c).is_allowed() { c } else { 1002 });
                            say(&mut conn, SystemTime::now(), WsNote::Close { dir: Direction::Tx, code: answer, reason });
                        }
                        peer_closed = true;
                        Ok(())
                    }
                    Some(Ok(Message::Frame(_))) => Ok(()),
                    Some(Err(e)) => {
                        let (error, close) = read_failure(e, options.max_message);
                        if let Some((code, words)) = close {
                            send_close(&mut conn, &mut wire, code, words).await;
                        }
                        break CloseReason::Failed(error.at(conn.peer));
                    }
                };
                if let Some(reason) = tcp_conn::ended_by(answered, &mut interrupted) {
                    break reason;
                }
            }
            _ = tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now).into()),
                if deadline.is_some() => conn.record.flush(),
        }
    };
    outgoing.close();
    if reason == CloseReason::LocalClosed && !interrupted {
        // Sends queued before the close still go, then the close handshake — all within DRAIN.
        let until = tokio::time::Instant::now() + DRAIN;
        while let Ok(m) = outgoing.try_recv() {
            let write = wire.put(&m.bytes, &mut conn.stash);
            match tokio::time::timeout_at(until, write).await {
                Ok(Ok(kind)) => {
                    conn.sent(&m.bytes, m.report, kind);
                    conn.core.send_result(m.ack, Ok(()));
                }
                _ => {
                    conn.not_sent(m.ack, "the peer did not take it before the close");
                    interrupted = true;
                    break;
                }
            }
        }
        if !interrupted {
            send_close(&mut conn, &mut wire, 1000, "").await;
            // The peer's answering close, if it comes in time.
            let answer = tokio::time::timeout_at(until + DRAIN, async {
                while let Some(Ok(m)) = wire.ws.next().await {
                    if let Message::Close(frame) = m {
                        return Some(frame);
                    }
                }
                None
            })
            .await;
            if let Ok(Some(frame)) = answer {
                let (code, reason) = match &frame {
                    Some(f) => (Some(u16::from(f.code)), f.reason.to_string()),
                    None => (None, String::new()),
                };
                say(
                    &mut conn,
                    SystemTime::now(),
                    WsNote::Close {
                        dir: Direction::Rx,
                        code,
                        reason,
                    },
                );
            }
        }
    }
    while let Ok(m) = outgoing.try_recv() {
        conn.not_sent(m.ack, "the connection ended first");
    }
    drop(wire);
    conn.finish(reason, &ended);
}
