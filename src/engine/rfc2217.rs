//! RFC 2217 (Telnet Com Port Control) on the bridge: a TCP client (pyserial's
//! `rfc2217://host:port`, ser2net's clients) reaches the serial port through Telnet, and sets
//! its baud, data bits, parity, stop bits, flow control, DTR, RTS and break remotely; each
//! change is applied to the port, answered as the RFC says, and told to the log.
//!
//! The Telnet side is parsed here as data (no I/O): [`Telnet::feed`] splits what the client
//! sent into the bytes for the port and the requests; [`Port`] answers them; the bridge's loop
//! (`relay.rs`) owns the port and both directions.

use super::serial::{Flow, Parity, StopBits};

pub const IAC: u8 = 255;
const SE: u8 = 240;
const SB: u8 = 250;
const WILL: u8 = 251;
const WONT: u8 = 252;
const DO: u8 = 253;
const DONT: u8 = 254;
const BINARY: u8 = 0;
const SGA: u8 = 3;
const COM_PORT: u8 = 44;

/// The longest subnegotiation kept (a COM-PORT one is a few bytes; a longer one is cut, so a
/// hostile client cannot grow it).
const MAX_SUB: usize = 64;

/// A change to the line a client asked for, as the log says it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LineChange {
    Baud(u32),
    DataBits(u8),
    Parity(Parity),
    StopBits(StopBits),
    Flow(Flow),
    Dtr(bool),
    Rts(bool),
    Break(bool),
    /// The port's buffers emptied (1: received, 2: to send, 3: both).
    Purge(u8),
    /// A break held this long, then the line released (the window's Send break).
    BreakSent {
        ms: u32,
    },
    /// A value the port cannot take (`parity mark`, `stop bits 1.5`, a baud the driver
    /// refuses): the port keeps its setting and the client is told it.
    Refused {
        what: &'static str,
        value: u32,
    },
}

impl std::fmt::Display for LineChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let on = |b: bool| if b { "on" } else { "off" };
        match self {
            Self::Baud(b) => write!(f, "baud {b}"),
            Self::DataBits(n) => write!(f, "data bits {n}"),
            Self::Parity(p) => write!(f, "parity {}", p.name()),
            Self::StopBits(s) => write!(f, "stop bits {}", s.count()),
            Self::Flow(x) => write!(f, "flow control {}", x.name()),
            Self::Dtr(b) => write!(f, "DTR {}", on(*b)),
            Self::Rts(b) => write!(f, "RTS {}", on(*b)),
            Self::Break(b) => write!(f, "break {}", on(*b)),
            Self::Purge(what) => write!(f, "buffers emptied ({what})"),
            Self::BreakSent { ms } => write!(f, "break sent ({ms} ms)"),
            Self::Refused { what, value } => {
                write!(f, "{what} {value} not possible on this port: kept")
            }
        }
    }
}

/// What the client sent, taken apart.
#[derive(Debug, PartialEq, Eq)]
pub enum Request {
    Will(u8),
    Wont(u8),
    Do(u8),
    Dont(u8),
    /// A COM-PORT-OPTION subnegotiation: its command and value.
    ComPort(u8, Vec<u8>),
}

/// The client's side of Telnet: data bytes (an escaped 255 unescaped) and requests.
#[derive(Default)]
pub struct Telnet {
    state: State,
    sub: Vec<u8>,
}

#[derive(Default, Clone, Copy, PartialEq, Eq)]
enum State {
    #[default]
    Data,
    Iac,
    Option(u8),
    Sub,
    SubIac,
}

impl Telnet {
    /// Splits `input` into the bytes for the port (appended to `data`) and the requests, each
    /// with the length `data` had when it came (so it is carried out in its place).
    pub fn feed(&mut self, input: &[u8], data: &mut Vec<u8>, requests: &mut Vec<(usize, Request)>) {
        for &b in input {
            self.state = match (self.state, b) {
                (State::Data, IAC) => State::Iac,
                (State::Data, b) => {
                    data.push(b);
                    State::Data
                }
                (State::Iac, IAC) => {
                    data.push(IAC);
                    State::Data
                }
                (State::Iac, WILL | WONT | DO | DONT) => State::Option(b),
                (State::Iac, SB) => {
                    self.sub.clear();
                    State::Sub
                }
                // Other commands (NOP, AYT, …) carry nothing for the port.
                (State::Iac, _) => State::Data,
                (State::Option(verb), option) => {
                    let request = match verb {
                        WILL => Request::Will(option),
                        WONT => Request::Wont(option),
                        DO => Request::Do(option),
                        _ => Request::Dont(option),
                    };
                    requests.push((data.len(), request));
                    State::Data
                }
                (State::Sub, IAC) => State::SubIac,
                (State::Sub, b) => {
                    if self.sub.len() < MAX_SUB {
                        self.sub.push(b);
                    }
                    State::Sub
                }
                (State::SubIac, SE) => {
                    if let [COM_PORT, command, value @ ..] = self.sub.as_slice() {
                        requests.push((data.len(), Request::ComPort(*command, value.to_vec())));
                    }
                    State::Data
                }
                (State::SubIac, b) => {
                    // IAC IAC inside: a 255 of the value.
                    if self.sub.len() < MAX_SUB {
                        self.sub.push(b);
                    }
                    State::Sub
                }
            };
        }
    }
}

/// Bytes for the client: 255 doubled, as Telnet wants.
pub fn escape(data: &[u8], out: &mut Vec<u8>) {
    for &b in data {
        out.push(b);
        if b == IAC {
            out.push(IAC);
        }
    }
}

/// A COM-PORT answer: `IAC SB 44 command+100 value IAC SE` (255 in the value doubled).
fn answer(command: u8, value: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&[IAC, SB, COM_PORT, command.wrapping_add(100)]);
    escape(value, out);
    out.extend_from_slice(&[IAC, SE]);
}

/// The options this server takes part in.
fn ours(option: u8) -> bool {
    matches!(option, BINARY | SGA | COM_PORT)
}

/// The port as RFC 2217 sees it: what it can do, and what it is set to.
pub trait Line {
    fn set_baud(&mut self, baud: u32) -> bool;
    fn baud(&self) -> u32;
    fn set_data_bits(&mut self, bits: u8) -> bool;
    fn data_bits(&self) -> u8;
    fn set_parity(&mut self, parity: Parity) -> bool;
    fn parity(&self) -> Parity;
    fn set_stop_bits(&mut self, stop: StopBits) -> bool;
    fn stop_bits(&self) -> StopBits;
    fn set_flow(&mut self, flow: Flow) -> bool;
    fn flow(&self) -> Flow;
    fn set_dtr(&mut self, on: bool) -> bool;
    fn set_rts(&mut self, on: bool) -> bool;
    fn set_break(&mut self, on: bool) -> bool;
    fn purge(&mut self, what: u8) -> bool;
    /// CTS, DSR, RI, CD as RFC 2217's modem-state byte (0 where the port does not say).
    fn modem_state(&mut self) -> u8;
}

/// The negotiation and the port's remembered switches.
#[derive(Default)]
pub struct Port {
    /// Options already agreed (each side's), so an acknowledgement is not answered again.
    agreed_theirs: Vec<u8>,
    agreed_ours: Vec<u8>,
    dtr: Option<bool>,
    rts: Option<bool>,
    brk: Option<bool>,
}

impl Port {
    /// Answers `request` into `out` (bytes for the client), applying it to `line`; returns
    /// the change made, for the log.
    pub fn handle(
        &mut self,
        request: Request,
        line: &mut dyn Line,
        out: &mut Vec<u8>,
    ) -> Option<LineChange> {
        match request {
            Request::Will(o) => {
                if !ours(o) {
                    out.extend_from_slice(&[IAC, DONT, o]);
                } else if !self.agreed_theirs.contains(&o) {
                    self.agreed_theirs.push(o);
                    out.extend_from_slice(&[IAC, DO, o]);
                }
                None
            }
            Request::Do(o) => {
                if !ours(o) {
                    out.extend_from_slice(&[IAC, WONT, o]);
                } else if !self.agreed_ours.contains(&o) {
                    self.agreed_ours.push(o);
                    out.extend_from_slice(&[IAC, WILL, o]);
                }
                None
            }
            Request::Wont(o) => {
                if let Some(i) = self.agreed_theirs.iter().position(|x| *x == o) {
                    self.agreed_theirs.remove(i);
                    out.extend_from_slice(&[IAC, DONT, o]);
                }
                None
            }
            Request::Dont(o) => {
                if let Some(i) = self.agreed_ours.iter().position(|x| *x == o) {
                    self.agreed_ours.remove(i);
                    out.extend_from_slice(&[IAC, WONT, o]);
                }
                None
            }
            Request::ComPort(command, value) => self.com_port(command, &value, line, out),
        }
    }

    fn com_port(
        &mut self,
        command: u8,
        value: &[u8],
        line: &mut dyn Line,
        out: &mut Vec<u8>,
    ) -> Option<LineChange> {
        let first = value.first().copied().unwrap_or(0);
        let mut change = None;
        match command {
            // SIGNATURE: who we are.
            0 => answer(command, b"SockScope", out),
            // SET-BAUDRATE: 4 bytes, 0 asks.
            1 => {
                let asked = value
                    .get(..4)
                    .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
                if asked != 0 && asked != line.baud() {
                    change = Some(if line.set_baud(asked) {
                        LineChange::Baud(asked)
                    } else {
                        LineChange::Refused {
                            what: "baud",
                            value: asked,
                        }
                    });
                }
                answer(command, &line.baud().to_be_bytes(), out);
            }
            // SET-DATASIZE: 5 to 8, 0 asks.
            2 => {
                if (5..=8).contains(&first) && first != line.data_bits() {
                    change = Some(if line.set_data_bits(first) {
                        LineChange::DataBits(first)
                    } else {
                        LineChange::Refused {
                            what: "data bits",
                            value: first.into(),
                        }
                    });
                }
                answer(command, &[line.data_bits()], out);
            }
            // SET-PARITY: 1 none, 2 odd, 3 even, 4 mark, 5 space; 0 asks.
            3 => {
                let asked = match first {
                    1 => Some(Parity::None),
                    2 => Some(Parity::Odd),
                    3 => Some(Parity::Even),
                    _ => None,
                };
                match asked {
                    Some(p) if p != line.parity() => {
                        change = Some(if line.set_parity(p) {
                            LineChange::Parity(p)
                        } else {
                            LineChange::Refused {
                                what: "parity",
                                value: first.into(),
                            }
                        });
                    }
                    None if first != 0 => {
                        change = Some(LineChange::Refused {
                            what: if first == 4 { "parity mark" } else { "parity" },
                            value: first.into(),
                        })
                    }
                    _ => {}
                }
                let now = match line.parity() {
                    Parity::None => 1,
                    Parity::Odd => 2,
                    Parity::Even => 3,
                };
                answer(command, &[now], out);
            }
            // SET-STOPSIZE: 1, 2, 3 (1.5); 0 asks.
            4 => {
                match first {
                    1 | 2 => {
                        let s = if first == 1 {
                            StopBits::One
                        } else {
                            StopBits::Two
                        };
                        if s != line.stop_bits() {
                            change = Some(if line.set_stop_bits(s) {
                                LineChange::StopBits(s)
                            } else {
                                LineChange::Refused {
                                    what: "stop bits",
                                    value: first.into(),
                                }
                            });
                        }
                    }
                    0 => {}
                    _ => {
                        change = Some(LineChange::Refused {
                            what: "stop bits (1.5 = 3)",
                            value: first.into(),
                        })
                    }
                }
                answer(command, &[line.stop_bits().count()], out);
            }
            // SET-CONTROL: flow, break, DTR, RTS (and their queries).
            5 => {
                let now = match first {
                    1..=3 => {
                        let flow =
                            [Flow::None, Flow::XonXoff, Flow::RtsCts][usize::from(first - 1)];
                        if flow != line.flow() {
                            change = Some(if line.set_flow(flow) {
                                LineChange::Flow(flow)
                            } else {
                                LineChange::Refused {
                                    what: "flow control",
                                    value: first.into(),
                                }
                            });
                        }
                        flow_code(line.flow())
                    }
                    5 | 6 => switch(
                        first == 5,
                        &mut self.brk,
                        |on| line.set_break(on),
                        LineChange::Break,
                        &mut change,
                        5,
                        "break",
                    ),
                    8 | 9 => switch(
                        first == 8,
                        &mut self.dtr,
                        |on| line.set_dtr(on),
                        LineChange::Dtr,
                        &mut change,
                        8,
                        "DTR",
                    ),
                    11 | 12 => switch(
                        first == 11,
                        &mut self.rts,
                        |on| line.set_rts(on),
                        LineChange::Rts,
                        &mut change,
                        11,
                        "RTS",
                    ),
                    4 => on_off(self.brk, 5),
                    7 => on_off(self.dtr, 8),
                    10 => on_off(self.rts, 11),
                    // 0 asks for the flow control; inbound flow control (13–19) is the
                    // port's own: answered with the outbound one.
                    _ => flow_code(line.flow()),
                };
                answer(command, &[now], out);
            }
            // NOTIFY-MODEMSTATE asked for (pyserial polls CTS/DSR this way).
            7 => answer(command, &[line.modem_state()], out),
            // PURGE-DATA: 1 received, 2 to send, 3 both.
            12 => {
                if (1..=3).contains(&first) && line.purge(first) {
                    change = Some(LineChange::Purge(first));
                }
                answer(command, &[first], out);
            }
            // NOTIFY-LINESTATE, FLOWCONTROL-SUSPEND/RESUME, the state masks: acknowledged
            // with the value (the masks: notifications are sent only when polled).
            _ => answer(command, value.get(..1).unwrap_or(&[0]), out),
        }
        change
    }
}

fn flow_code(flow: Flow) -> u8 {
    match flow {
        Flow::None => 1,
        Flow::XonXoff => 2,
        Flow::RtsCts => 3,
    }
}

/// A remembered switch's answer: `on_code` when on, the next code when off (unknown: on, as a
/// port opens with DTR and RTS raised).
fn on_off(state: Option<bool>, on_code: u8) -> u8 {
    if state.unwrap_or(true) {
        on_code
    } else {
        on_code + 1
    }
}

/// Sets a switch (DTR, RTS, break) and says so, or says the port could not (a
/// pseudo-terminal has no DTR); the answer is its state.
#[allow(clippy::too_many_arguments)]
fn switch(
    on: bool,
    state: &mut Option<bool>,
    set: impl FnOnce(bool) -> bool,
    said: fn(bool) -> LineChange,
    change: &mut Option<LineChange>,
    on_code: u8,
    what: &'static str,
) -> u8 {
    *change = Some(if set(on) {
        *state = Some(on);
        said(on)
    } else {
        LineChange::Refused {
            what,
            value: if on { on_code } else { on_code + 1 }.into(),
        }
    });
    on_off(*state, on_code)
}

/// The real port as RFC 2217 sets it, through the serial library (a setting it refuses is
/// kept as it was); the settings are remembered here, as a port cannot always say them.
pub(crate) struct SerialLine<'a> {
    pub port: &'a mut tokio_serial::SerialStream,
    pub settings: super::serial::LineSettings,
}

impl Line for SerialLine<'_> {
    fn set_baud(&mut self, baud: u32) -> bool {
        let ok = (1..=20_000_000).contains(&baud) && self.port.set_baud_rate(baud).is_ok();
        if ok {
            self.settings.baud = baud;
        }
        ok
    }
    fn baud(&self) -> u32 {
        self.settings.baud
    }
    fn set_data_bits(&mut self, bits: u8) -> bool {
        let ok = self
            .port
            .set_data_bits(super::serial::data_bits(bits))
            .is_ok();
        if ok {
            self.settings.data_bits = bits;
        }
        ok
    }
    fn data_bits(&self) -> u8 {
        self.settings.data_bits
    }
    fn set_parity(&mut self, parity: Parity) -> bool {
        let ok = self.port.set_parity(super::serial::parity(parity)).is_ok();
        if ok {
            self.settings.parity = parity;
        }
        ok
    }
    fn parity(&self) -> Parity {
        self.settings.parity
    }
    fn set_stop_bits(&mut self, stop: StopBits) -> bool {
        let ok = self
            .port
            .set_stop_bits(super::serial::stop_bits(stop))
            .is_ok();
        if ok {
            self.settings.stop_bits = stop;
        }
        ok
    }
    fn stop_bits(&self) -> StopBits {
        self.settings.stop_bits
    }
    fn set_flow(&mut self, flow: Flow) -> bool {
        let ok = self
            .port
            .set_flow_control(super::serial::flow(flow))
            .is_ok();
        if ok {
            self.settings.flow = flow;
        }
        ok
    }
    fn flow(&self) -> Flow {
        self.settings.flow
    }
    fn set_dtr(&mut self, on: bool) -> bool {
        self.port.write_data_terminal_ready(on).is_ok()
    }
    fn set_rts(&mut self, on: bool) -> bool {
        self.port.write_request_to_send(on).is_ok()
    }
    fn set_break(&mut self, on: bool) -> bool {
        if on {
            self.port.set_break().is_ok()
        } else {
            self.port.clear_break().is_ok()
        }
    }
    fn purge(&mut self, what: u8) -> bool {
        use tokio_serial::ClearBuffer;
        let buffer = match what {
            1 => ClearBuffer::Input,
            2 => ClearBuffer::Output,
            _ => ClearBuffer::All,
        };
        self.port.clear(buffer).is_ok()
    }
    fn modem_state(&mut self) -> u8 {
        let mut state = 0;
        for (read, bit) in [
            (self.port.read_carrier_detect(), 0x80),
            (self.port.read_ring_indicator(), 0x40),
            (self.port.read_data_set_ready(), 0x20),
            (self.port.read_clear_to_send(), 0x10),
        ] {
            if read.unwrap_or(false) {
                state |= bit;
            }
        }
        state
    }
}

/// How many bytes one read takes, either side.
const CHUNK: usize = 16 * 1024;

/// A bridge's client speaking RFC 2217: what it sends reaches the port (its requests carried
/// out in their place, answered, and said), what the port sends reaches it with 255 doubled;
/// both directions are recorded as a bridge's are. Ends when the client does (or fails), or
/// when the port vanishes.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn serve(
    core: &super::shared::SessionCore,
    conn: super::ConnId,
    record: &std::sync::Mutex<super::batch::Batcher>,
    counters: &super::stats::Counters,
    client: super::tcp_conn::Stream,
    peer: std::net::SocketAddr,
    mut port: tokio_serial::SerialStream,
    settings: super::serial::LineSettings,
) -> Result<(), super::NetError> {
    use super::{serial::NO_ADDRESS, Event, NetError, NetErrorKind, Reason};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (mut client_read, mut client_write) = tokio::io::split(client);
    let mut settings = settings;
    let (mut telnet, mut state) = (Telnet::default(), Port::default());
    let (mut from_client, mut from_port) = (vec![0u8; CHUNK], vec![0u8; CHUNK]);
    let (mut data, mut requests, mut out) = (Vec::new(), Vec::new(), Vec::new());
    // What the port sends while a write to it waits (a slow line): taken as its reads.
    let mut stash = super::overlap::Stash::default();
    let with_record = |f: &mut dyn FnMut(&mut super::batch::Batcher)| {
        if let Ok(mut r) = record.lock() {
            f(&mut r);
        }
    };
    let vanished = || NetError::because(NetErrorKind::PortMissing, Reason::PortVanished);
    loop {
        let deadline = record.lock().ok().and_then(|r| r.deadline());
        tokio::select! {
            read = client_read.read(&mut from_client) => {
                let n = read.map_err(|e| NetError::from_io(&e).at(peer))?;
                if n == 0 {
                    return Ok(());
                }
                counters.add_rx(n);
                core.counters.add_rx(n);
                data.clear();
                requests.clear();
                telnet.feed(&from_client[..n], &mut data, &mut requests);
                // The data up to each request first, then the request: the order it was sent.
                let mut done = 0;
                for (at, request) in requests.drain(..) {
                    to_port(&mut port, &mut stash, &data[done..at], peer, record, counters, core, conn).await?;
                    done = at;
                    out.clear();
                    let mut line = SerialLine { port: &mut port, settings };
                    let change = state.handle(request, &mut line, &mut out);
                    settings = line.settings;
                    if let Some(change) = change {
                        with_record(&mut |r| r.flush());
                        core.sink.send(Event::LineChanged {
                            session: core.id,
                            conn,
                            peer,
                            change,
                        });
                    }
                    if !out.is_empty() {
                        client_write.write_all(&out).await.map_err(|e| NetError::from_io(&e).at(peer))?;
                    }
                }
                to_port(&mut port, &mut stash, &data[done..], peer, record, counters, core, conn).await?;
            }
            (read, now) = super::overlap::next_read_into(&mut stash, &mut port, &mut from_port) => {
                let n = match read {
                    Ok(0) => return Err(vanished()),
                    Ok(n) => n,
                    Err(e) => return Err(vanished().caused_by(e)),
                };
                let piece = &from_port[..n];
                counters.add_rx(n);
                core.counters.add_rx(n);
                core.keep(Some(conn), piece);
                with_record(&mut |r| {
                    r.received(NO_ADDRESS, piece, now);
                    r.flush_if_due();
                });
                if core.script.is_some() {
                    // The session's script watches (a bridge passes bytes unchanged).
                    with_record(&mut |r| r.flush());
                    super::script::watch(core, |s| s.frame(piece));
                }
                out.clear();
                escape(piece, &mut out);
                client_write.write_all(&out).await.map_err(|e| NetError::from_io(&e).at(peer))?;
                counters.add_tx(n);
                core.counters.add_tx(n);
            }
            () = tokio::time::sleep_until(deadline.unwrap_or_else(std::time::Instant::now).into()),
                if deadline.is_some() => with_record(&mut |r| r.flush()),
        }
    }
}

/// Client data for the port: recorded, kept, written (reading the port meanwhile into
/// `stash`) and counted.
#[allow(clippy::too_many_arguments)]
async fn to_port(
    port: &mut tokio_serial::SerialStream,
    stash: &mut super::overlap::Stash,
    piece: &[u8],
    peer: std::net::SocketAddr,
    record: &std::sync::Mutex<super::batch::Batcher>,
    counters: &super::stats::Counters,
    core: &super::shared::SessionCore,
    conn: super::ConnId,
) -> Result<(), super::NetError> {
    if piece.is_empty() {
        return Ok(());
    }
    let now = std::time::SystemTime::now();
    core.keep(Some(conn), piece);
    if let Ok(mut r) = record.lock() {
        r.received(peer, piece, now);
        r.flush_if_due();
    }
    if core.script.is_some() {
        if let Ok(mut r) = record.lock() {
            r.flush();
        }
        super::script::watch(core, |s| s.frame(piece));
    }
    super::overlap::write_reading(port, piece, stash)
        .await
        .map_err(|e| {
            super::NetError::because(
                super::NetErrorKind::PortMissing,
                super::Reason::PortVanished,
            )
            .caused_by(e)
        })?;
    counters.add_tx(piece.len());
    core.counters.add_tx(piece.len());
    Ok(())
}

use tokio_serial::SerialPort as _;

#[cfg(test)]
mod tests {
    use super::*;

    /// A line that remembers what it was set to (mark parity and 7200 baud it cannot take).
    #[derive(Default)]
    struct Fake {
        baud: u32,
        bits: u8,
        parity: Parity,
        stop: StopBits,
        flow: Flow,
        dtr: Option<bool>,
    }

    impl Line for Fake {
        fn set_baud(&mut self, baud: u32) -> bool {
            let ok = baud != 7200;
            if ok {
                self.baud = baud;
            }
            ok
        }
        fn baud(&self) -> u32 {
            self.baud
        }
        fn set_data_bits(&mut self, bits: u8) -> bool {
            self.bits = bits;
            true
        }
        fn data_bits(&self) -> u8 {
            self.bits
        }
        fn set_parity(&mut self, parity: Parity) -> bool {
            self.parity = parity;
            true
        }
        fn parity(&self) -> Parity {
            self.parity
        }
        fn set_stop_bits(&mut self, stop: StopBits) -> bool {
            self.stop = stop;
            true
        }
        fn stop_bits(&self) -> StopBits {
            self.stop
        }
        fn set_flow(&mut self, flow: Flow) -> bool {
            self.flow = flow;
            true
        }
        fn flow(&self) -> Flow {
            self.flow
        }
        fn set_dtr(&mut self, on: bool) -> bool {
            self.dtr = Some(on);
            true
        }
        fn set_rts(&mut self, _: bool) -> bool {
            true
        }
        fn set_break(&mut self, _: bool) -> bool {
            true
        }
        fn purge(&mut self, _: u8) -> bool {
            true
        }
        fn modem_state(&mut self) -> u8 {
            0x30
        }
    }

    fn run(port: &mut Port, line: &mut Fake, input: &[u8]) -> (Vec<u8>, Vec<u8>, Vec<LineChange>) {
        let mut telnet = Telnet::default();
        let (mut data, mut requests, mut out, mut changes) = (vec![], vec![], vec![], vec![]);
        telnet.feed(input, &mut data, &mut requests);
        for (_, r) in requests {
            changes.extend(port.handle(r, line, &mut out));
        }
        (data, out, changes)
    }

    #[test]
    fn data_passes_with_255_unescaped_and_options_are_agreed_once() {
        let (mut port, mut line) = (Port::default(), Fake::default());
        let input = [
            b'a', IAC, IAC, b'b', IAC, WILL, COM_PORT, IAC, DO, SGA, IAC, DO, 1,
        ];
        let (data, out, _) = run(&mut port, &mut line, &input);
        assert_eq!(data, [b'a', 255, b'b']);
        // DO COM-PORT, WILL SGA, and WONT ECHO (1: not ours).
        assert_eq!(out, [IAC, DO, COM_PORT, IAC, WILL, SGA, IAC, WONT, 1]);
        // An acknowledgement of what is agreed is not answered again (no loop).
        let (_, out, _) = run(&mut port, &mut line, &[IAC, WILL, COM_PORT]);
        assert!(out.is_empty());
        let mut escaped = Vec::new();
        escape(&[1, 255, 2], &mut escaped);
        assert_eq!(escaped, [1, 255, 255, 2]);
    }

    #[test]
    fn settings_are_applied_answered_and_said() {
        let (mut port, mut line) = (
            Port::default(),
            Fake {
                baud: 115_200,
                bits: 8,
                ..Fake::default()
            },
        );
        let sub = |command: u8, value: &[u8]| {
            let mut v = vec![IAC, SB, COM_PORT, command];
            v.extend_from_slice(value);
            v.extend_from_slice(&[IAC, SE]);
            v
        };
        let mut input = sub(1, &9600u32.to_be_bytes());
        input.extend(sub(2, &[7]));
        input.extend(sub(3, &[3]));
        input.extend(sub(4, &[2]));
        input.extend(sub(5, &[9]));
        let (data, out, changes) = run(&mut port, &mut line, &input);
        assert!(data.is_empty());
        assert_eq!(
            changes,
            [
                LineChange::Baud(9600),
                LineChange::DataBits(7),
                LineChange::Parity(Parity::Even),
                LineChange::StopBits(StopBits::Two),
                LineChange::Dtr(false),
            ]
        );
        let mut expected = Vec::new();
        answer(1, &9600u32.to_be_bytes(), &mut expected);
        answer(2, &[7], &mut expected);
        answer(3, &[3], &mut expected);
        answer(4, &[2], &mut expected);
        answer(5, &[9], &mut expected);
        assert_eq!(out, expected);
        assert_eq!(line.dtr, Some(false));
        // What the port cannot take is kept, said, and the client told the real value.
        let mut input = sub(3, &[4]);
        input.extend(sub(1, &7200u32.to_be_bytes()));
        let (_, out, changes) = run(&mut port, &mut line, &input);
        assert!(matches!(
            changes[0],
            LineChange::Refused {
                what: "parity mark",
                ..
            }
        ));
        assert!(matches!(
            changes[1],
            LineChange::Refused {
                what: "baud",
                value: 7200
            }
        ));
        let mut expected = Vec::new();
        answer(3, &[3], &mut expected);
        answer(1, &9600u32.to_be_bytes(), &mut expected);
        assert_eq!(out, expected);
    }

    /// A hostile client's endless subnegotiation is cut, not kept.
    #[test]
    fn an_endless_subnegotiation_does_not_grow() {
        let mut telnet = Telnet::default();
        let (mut data, mut requests) = (vec![], vec![]);
        telnet.feed(&[IAC, SB, COM_PORT, 1], &mut data, &mut requests);
        for _ in 0..10_000 {
            telnet.feed(&[7; 100], &mut data, &mut requests);
        }
        assert!(telnet.sub.len() <= MAX_SUB);
        assert!(data.is_empty() && requests.is_empty());
    }
}
