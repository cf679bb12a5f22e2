//! Serial ports: a port is opened with its line settings, locked for this program, and run as
//! one connection (the same record, framing, rules, echo guard and counters as a TCP client's).
//! A port that vanishes (an adapter pulled) ends the session with the reason.

use super::shared::SessionCore;
use super::tcp_client::TcpClient;
use super::tcp_conn::{self, Stream};
use super::{Event, NetError, NetErrorKind, Reason};
use std::net::SocketAddr;
use tokio::sync::mpsc::unbounded_channel;
use tokio_serial::SerialPortBuilderExt;

/// Parity as a user picks it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Parity {
    #[default]
    None,
    Odd,
    Even,
}

impl Parity {
    /// `none`, `odd`, `even` (as the command line and sequence files write it).
    pub fn from_name(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "none" | "n" => Some(Self::None),
            "odd" | "o" => Some(Self::Odd),
            "even" | "e" => Some(Self::Even),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Odd => "odd",
            Self::Even => "even",
        }
    }
}

impl StopBits {
    /// 1 or 2 (1.5 cannot be set through the serial library).
    pub fn from_count(n: u8) -> Option<Self> {
        match n {
            1 => Some(Self::One),
            2 => Some(Self::Two),
            _ => None,
        }
    }

    pub fn count(self) -> u8 {
        match self {
            Self::One => 1,
            Self::Two => 2,
        }
    }
}

impl Flow {
    /// `none`, `rts-cts`, `xon-xoff`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "none" => Some(Self::None),
            "rts-cts" | "rtscts" | "hardware" => Some(Self::RtsCts),
            "xon-xoff" | "xonxoff" | "software" => Some(Self::XonXoff),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::RtsCts => "rts-cts",
            Self::XonXoff => "xon-xoff",
        }
    }
}

/// Stop bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum StopBits {
    #[default]
    One,
    Two,
}

/// Flow control.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Flow {
    #[default]
    None,
    RtsCts,
    XonXoff,
}

/// A port's line settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct LineSettings {
    pub baud: u32,
    /// 5 to 8.
    pub data_bits: u8,
    pub parity: Parity,
    pub stop_bits: StopBits,
    pub flow: Flow,
}

impl Default for LineSettings {
    fn default() -> Self {
        Self {
            baud: 115_200,
            data_bits: 8,
            parity: Parity::None,
            stop_bits: StopBits::One,
            flow: Flow::None,
        }
    }
}

impl LineSettings {
    /// `115200 8N1` as terminals write it.
    pub fn short(&self) -> String {
        let parity = match self.parity {
            Parity::None => 'N',
            Parity::Odd => 'O',
            Parity::Even => 'E',
        };
        let stop = self.stop_bits.count();
        format!("{} {}{parity}{stop}", self.baud, self.data_bits)
    }

    /// Is every value one a port accepts? (The port itself may still refuse a baud rate.)
    pub fn check(&self) -> Result<(), Reason> {
        if self.baud == 0 || self.baud > 20_000_000 {
            return Err(Reason::BadBaud(self.baud));
        }
        if !(5..=8).contains(&self.data_bits) {
            return Err(Reason::BadDataBits(self.data_bits));
        }
        Ok(())
    }

    /// The time one character takes on the line, in µs (start + data + parity + stop bits):
    /// a Modbus RTU frame ends after 3.5 of them.
    pub fn char_time_us(&self) -> u64 {
        let bits = 1
            + u64::from(self.data_bits)
            + u64::from(self.parity != Parity::None)
            + u64::from(self.stop_bits.count());
        (bits * 1_000_000).div_ceil(u64::from(self.baud.max(1)))
    }
}

impl LineSettings {
    /// The silence that ends a Modbus RTU frame on this line: 3.5 character times, and at
    /// least 1.75 ms (the specification's fixed value above 19200 baud).
    pub fn modbus_rtu_gap(&self) -> std::time::Duration {
        let us = (self.char_time_us() * 7).div_ceil(2).max(1750);
        std::time::Duration::from_micros(us)
    }

    /// The framing a decoder needs on this line when the user typed none: Modbus RTU frames
    /// end at the 3.5-character silence; others as the decoder says.
    pub fn frame_for(
        &self,
        decoder: &crate::payload::decode::DecodeSpec,
    ) -> crate::payload::framing::FrameSpec {
        match decoder {
            crate::payload::decode::DecodeSpec::ModbusRtu => {
                crate::payload::framing::FrameSpec::Idle(self.modbus_rtu_gap())
            }
            other => other.default_frame(),
        }
    }
}

/// Is `port` there now? Listed by the system, or (Unix) a device path that exists: a
/// pseudo-terminal or a by-id link is not always in the list.
pub fn port_present(port: &str, listed: &[PortInfo]) -> bool {
    listed.iter().any(|p| p.name == port) || present_as_path(port)
}

// Unix: a port is a path (/dev/ttyUSB0, /dev/serial/by-id/…); Windows' COM names are not
// paths, so there only the system's list says.
#[cfg(unix)]
fn present_as_path(port: &str) -> bool {
    port.starts_with('/') && std::path::Path::new(port).exists()
}

#[cfg(not(unix))]
fn present_as_path(_: &str) -> bool {
    false
}

/// A switch of an open port's control lines, from the window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineControl {
    Dtr(bool),
    Rts(bool),
    /// Hold the line in break for this long (at most [`MAX_BREAK_MS`]).
    Break {
        ms: u32,
    },
}

/// A port's modem lines as it reports them (`None`: the port does not say — a
/// pseudo-terminal, some adapters).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ModemLines {
    pub cts: Option<bool>,
    pub dsr: Option<bool>,
    pub ri: Option<bool>,
    pub cd: Option<bool>,
}

impl ModemLines {
    /// Reads them from `port`.
    pub(crate) fn read(port: &mut tokio_serial::SerialStream) -> Self {
        use tokio_serial::SerialPort;
        Self {
            cts: port.read_clear_to_send().ok(),
            dsr: port.read_data_set_ready().ok(),
            ri: port.read_ring_indicator().ok(),
            cd: port.read_carrier_detect().ok(),
        }
    }

    /// Does the port report any of them?
    pub fn reported(&self) -> bool {
        self.cts.is_some() || self.dsr.is_some() || self.ri.is_some() || self.cd.is_some()
    }

    /// Each line's name and state, in the order terminals show them.
    pub fn each(&self) -> [(&'static str, Option<bool>); 4] {
        [
            ("CTS", self.cts),
            ("DSR", self.dsr),
            ("RI", self.ri),
            ("CD", self.cd),
        ]
    }
}

impl std::fmt::Display for ModemLines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !self.reported() {
            return f.write_str("modem lines: not reported by this port");
        }
        f.write_str("modem lines:")?;
        for (name, state) in self.each() {
            let state = match state {
                Some(true) => "on",
                Some(false) => "off",
                None => "?",
            };
            write!(f, " {name} {state}")?;
        }
        Ok(())
    }
}

/// How often an open port's modem lines are read.
pub const MODEM_POLL: std::time::Duration = std::time::Duration::from_millis(250);

/// The longest break a click sends.
pub const MAX_BREAK_MS: u32 = 2_000;

/// A bridge's serial side: the line settings each client's port opens with, and whether
/// clients speak RFC 2217.
#[derive(Clone, Copy, Debug)]
pub struct BridgeTo {
    pub settings: LineSettings,
    pub rfc2217: bool,
    /// Clients at once: 1 opens the port per client (the next is refused while it is held);
    /// more open it once, shared (what it sends reaches all of them).
    pub max_clients: usize,
}

/// Where a serial port's chunks say they came from: a port has no address, so the unspecified
/// one stands in; the window and the CLI show the port's name instead.
pub const NO_ADDRESS: SocketAddr = SocketAddr::V4(std::net::SocketAddrV4::new(
    std::net::Ipv4Addr::UNSPECIFIED,
    0,
));

/// Opens `port` and runs it as the session's one connection.
pub(crate) async fn open(
    core: &SessionCore,
    port: &str,
    settings: LineSettings,
) -> Result<TcpClient, NetError> {
    let stream = open_stream(port, settings)?;
    core.announce(Event::Opened {
        session: core.id,
        local: NO_ADDRESS,
        peer: None,
    });
    // Unbounded, bounded in fact: the one connection ends once.
    #[allow(clippy::disallowed_methods)]
    let (ended_tx, ended) = unbounded_channel();
    let conn = tcp_conn::spawn(
        core,
        Stream::Serial(Box::new(stream)),
        NO_ADDRESS,
        false,
        None,
        ended_tx,
    );
    Ok(TcpClient::single(conn, ended))
}

/// Opens `port` with `settings` (checked first).
pub(crate) fn open_stream(
    port: &str,
    settings: LineSettings,
) -> Result<tokio_serial::SerialStream, NetError> {
    settings
        .check()
        .map_err(|r| NetError::because(NetErrorKind::InvalidAddress, r).at(port))?;
    let builder = tokio_serial::new(port, settings.baud)
        .data_bits(data_bits(settings.data_bits))
        .parity(parity(settings.parity))
        .stop_bits(stop_bits(settings.stop_bits))
        .flow_control(flow(settings.flow));
    // Opened exclusive (TIOCEXCL) and with an exclusive advisory lock (flock) on Unix, so a
    // second SockScope or pyserial with `exclusive=True` is refused, even as root; Windows
    // opens a port for one program only.
    builder.open_native_async().map_err(|e| port_error(port, e))
}

/// Our settings in the serial library's terms (one place for both the open and RFC 2217).
pub(crate) fn data_bits(bits: u8) -> tokio_serial::DataBits {
    match bits {
        5 => tokio_serial::DataBits::Five,
        6 => tokio_serial::DataBits::Six,
        7 => tokio_serial::DataBits::Seven,
        _ => tokio_serial::DataBits::Eight,
    }
}

pub(crate) fn parity(parity: Parity) -> tokio_serial::Parity {
    match parity {
        Parity::None => tokio_serial::Parity::None,
        Parity::Odd => tokio_serial::Parity::Odd,
        Parity::Even => tokio_serial::Parity::Even,
    }
}

pub(crate) fn stop_bits(stop: StopBits) -> tokio_serial::StopBits {
    match stop {
        StopBits::One => tokio_serial::StopBits::One,
        StopBits::Two => tokio_serial::StopBits::Two,
    }
}

pub(crate) fn flow(flow: Flow) -> tokio_serial::FlowControl {
    match flow {
        Flow::None => tokio_serial::FlowControl::None,
        Flow::RtsCts => tokio_serial::FlowControl::Hardware,
        Flow::XonXoff => tokio_serial::FlowControl::Software,
    }
}

/// Why a port did not open, as data.
fn port_error(port: &str, e: tokio_serial::Error) -> NetError {
    use tokio_serial::ErrorKind as K;
    let error = match e.kind() {
        // The library's word for "busy": another program holds it (exclusive mode, or its lock).
        K::NoDevice => NetError::because(NetErrorKind::PortBusy, Reason::PortBusy),
        K::InvalidInput => NetError::new(NetErrorKind::InvalidAddress, e.description.clone()),
        K::Io(kind) => {
            let io = std::io::Error::new(kind, e.description.clone());
            match kind {
                std::io::ErrorKind::NotFound => {
                    NetError::because(NetErrorKind::PortMissing, Reason::PortMissing)
                }
                _ => NetError::from_io(&io),
            }
        }
        K::Unknown => NetError::new(NetErrorKind::Other, e.description.clone()),
    };
    error.at(port)
}

/// A port the system lists, with what it says about it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PortInfo {
    pub name: String,
    /// `usb`, `pci`, `bluetooth` or `unknown`.
    pub kind: &'static str,
    pub vid: Option<u16>,
    pub pid: Option<u16>,
    pub serial_number: Option<String>,
    pub manufacturer: Option<String>,
    pub product: Option<String>,
}

impl PortInfo {
    /// `USB 0403:6001 FT232R USB UART (A50285BI)`, or nothing known.
    pub fn description(&self) -> String {
        let mut parts = Vec::new();
        if let (Some(v), Some(p)) = (self.vid, self.pid) {
            parts.push(format!("USB {v:04x}:{p:04x}"));
        }
        if let Some(p) = &self.product {
            parts.push(p.clone());
        }
        if let Some(s) = &self.serial_number {
            parts.push(format!("({s})"));
        }
        parts.join(" ")
    }
}

/// The ports the system lists (Windows `COM3`, Linux `/dev/ttyUSB0`, macOS `/dev/cu.*`).
pub fn list_ports() -> Result<Vec<PortInfo>, NetError> {
    let ports = tokio_serial::available_ports()
        .map_err(|e| NetError::new(NetErrorKind::Other, e.description))?;
    Ok(ports
        .into_iter()
        .map(|p| {
            let mut info = PortInfo {
                name: p.port_name,
                kind: "unknown",
                vid: None,
                pid: None,
                serial_number: None,
                manufacturer: None,
                product: None,
            };
            match p.port_type {
                tokio_serial::SerialPortType::UsbPort(u) => {
                    info.kind = "usb";
                    info.vid = Some(u.vid);
                    info.pid = Some(u.pid);
                    info.serial_number = u.serial_number;
                    info.manufacturer = u.manufacturer;
                    info.product = u.product;
                }
                tokio_serial::SerialPortType::PciPort => info.kind = "pci",
                tokio_serial::SerialPortType::BluetoothPort => info.kind = "bluetooth",
                tokio_serial::SerialPortType::Unknown => {}
            }
            info
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_settings_are_checked_and_written_as_terminals_do() {
        let s = LineSettings::default();
        assert_eq!(s.short(), "115200 8N1");
        assert!(s.check().is_ok());
        assert_eq!(
            LineSettings { baud: 0, ..s }.check(),
            Err(Reason::BadBaud(0))
        );
        assert_eq!(
            LineSettings { data_bits: 9, ..s }.check(),
            Err(Reason::BadDataBits(9))
        );
        // 9600 8N1: 10 bits a character, 1042 µs (rounded up); Modbus RTU's 3.5 is 3.6 ms.
        let modbus = LineSettings { baud: 9600, ..s };
        assert_eq!(modbus.char_time_us(), 1042);
        let even = LineSettings {
            baud: 9600,
            parity: Parity::Even,
            stop_bits: StopBits::Two,
            ..s
        };
        assert_eq!(even.short(), "9600 8E2");
        assert_eq!(even.char_time_us(), 1250);
        // Modbus RTU's end of frame: 3.5 characters (9600 8N1: 3647 µs), 1.75 ms when faster.
        assert_eq!(modbus.modbus_rtu_gap().as_micros(), 3647);
        assert_eq!(s.modbus_rtu_gap().as_micros(), 1750);
    }
}
