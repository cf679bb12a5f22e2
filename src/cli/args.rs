//! The command line as clap structs: every subcommand, its options and their help.

use crate::engine::{TransferLimits, DEFAULT_REPLY_LIMIT_PER_S};
use crate::payload::framing::{FrameSpec, DEFAULT_MAX_FRAME};
use crate::payload::{Checksum, LineEnding};
use clap::builder::PossibleValuesParser;
use clap::{Args, Parser, Subcommand, ValueEnum};

/// Command line of `sockscope`.
#[derive(Parser, Debug)]
#[command(
    name = "sockscope",
    version,
    about = "TCP/UDP debugging assistant. With no subcommand it opens the window."
)]
pub struct Cli {
    /// What to run headless; none opens the window.
    #[command(subcommand)]
    pub command: Option<CliCommand>,
}

/// The headless subcommands.
#[derive(Subcommand, Debug)]
pub enum CliCommand {
    /// Listen for TCP clients and show what they send.
    TcpServer(TcpServerArgs),
    /// Connect to a TCP server, optionally send, and show what comes back.
    TcpClient(TcpClientArgs),
    /// Send and receive UDP datagrams.
    Udp(UdpArgs),
    /// Classify addresses (class, special ranges, subnet) and list this machine's interfaces.
    Addr(AddrArgs),
    /// Send a file: its raw bytes over TCP or UDP, or verified (name, size, SHA-256, answer).
    SendFile(SendFileArgs),
    /// Receive files: raw bytes into one file, or verified transfers into a folder.
    RecvFile(RecvFileArgs),
    /// Run a test sequence (TOML, docs/sequences.md); exit 0 only if every step passed.
    Run(RunArgs),
    /// Relay: listen, forward each client to a target and back, and log both directions.
    Relay(RelayArgs),
    /// Open a serial port (COM3, /dev/ttyUSB0), optionally send, and show what comes back;
    /// `--list` lists the ports.
    Serial(SerialArgs),
    /// Serial ↔ TCP bridge: TCP clients reach a serial device and back, both directions
    /// logged; one client at a time (the next is refused while the port is in use).
    Bridge(BridgeArgs),
    /// Write a self-signed TLS pair for a test server: ca.pem (for the device to trust),
    /// cert.pem and key.pem; prints the certificate's SHA-256 fingerprint.
    TlsCert(TlsCertArgs),
    /// Measure round-trip time (and, over UDP against an echo, loss, duplicates, reordering
    /// and jitter); ends with one JSON summary; exit 1 if nothing came back.
    Probe(ProbeArgs),
    /// Send traffic at a set rate (packets or bits per second) or flat out, for a count or a
    /// duration; the achieved rate is shown each second and in the final JSON line.
    Generate(GenerateArgs),
    /// Connect to a WebSocket server (ws://, wss://): one row per message (text or binary),
    /// pings answered, closes said with their code.
    WsClient(super::ws::WsClientArgs),
    /// Listen for WebSocket clients (many at once), upgrading each from HTTP.
    WsServer(super::ws::WsServerArgs),
}

/// `sockscope generate`.
#[derive(Args, Debug)]
pub struct GenerateArgs {
    /// udp (one datagram per packet) or tcp (one write per packet).
    #[arg(value_enum)]
    pub transport: ProbeTransport,
    /// Where to send: HOST:PORT or [V6ADDR]:PORT.
    pub target: String,
    /// Packets per second (default: flat out).
    #[arg(long, conflicts_with = "bitrate")]
    pub rate: Option<f64>,
    /// Bits per second instead, with k, M or G (e.g. 100M); packets of --size make it up.
    #[arg(long)]
    pub bitrate: Option<String>,
    #[command(flatten)]
    pub packet: PacketArgs,
    /// Stop after this many packets.
    #[arg(long)]
    pub count: Option<u64>,
    /// Stop after this many seconds (default 10 when no --count).
    #[arg(long)]
    pub duration: Option<f64>,
}

/// Which transport a probe uses.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeTransport {
    Udp,
    Tcp,
}

/// How a probe prints.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeOutput {
    /// One JSON object per answer, then the summary.
    Jsonl,
    /// Only the summary object.
    Summary,
}

/// `sockscope probe`.
#[derive(Args, Debug)]
pub struct ProbeArgs {
    /// udp (against an echo: each datagram carries a sequence number and send time) or tcp
    /// (request/response).
    #[arg(value_enum)]
    pub transport: ProbeTransport,
    /// The peer: HOST:PORT or [V6ADDR]:PORT.
    pub target: String,
    /// Requests to send.
    #[arg(long, default_value_t = 100)]
    pub count: u32,
    /// Milliseconds between requests (a steady schedule; 0: back to back).
    #[arg(long, default_value_t = 100)]
    pub interval: u64,
    #[command(flatten)]
    pub packet: PacketArgs,
    /// TCP: the answer is complete when what came back contains this text.
    #[arg(long)]
    pub expect: Option<String>,
    /// Milliseconds to wait for an answer (TCP: each; UDP: after the last request).
    #[arg(long, default_value_t = 1000)]
    pub timeout: u64,
    #[arg(long, value_enum, default_value = "summary")]
    pub output: ProbeOutput,
}

/// What each packet of `probe` and `generate` holds.
#[derive(Args, Debug)]
pub struct PacketArgs {
    /// Bytes per packet (a UDP probe: at least 16, its header; a TCP probe sends --data as is).
    #[arg(long, default_value_t = 64)]
    pub size: usize,
    /// The packet's bytes, text or hex with --hex: generate repeats them to --size (default
    /// zeros); a UDP probe puts them after its header; a TCP probe sends them as the request.
    #[arg(long)]
    pub data: Option<String>,
    /// --data is hex.
    #[arg(long)]
    pub hex: bool,
}

/// `sockscope tls-cert`.
#[derive(Args, Debug)]
pub struct TlsCertArgs {
    /// The folder to write ca.pem, cert.pem and key.pem in (existing files are not replaced).
    #[arg(long)]
    pub out: std::path::PathBuf,
    /// Names and addresses to add to localhost, 127.0.0.1, ::1 and this machine's own.
    #[arg(long, value_delimiter = ',')]
    pub names: Vec<String>,
}

/// TLS on a TCP client or server (any of these options turns TLS on).
#[derive(Args, Debug, Default, Clone)]
pub struct TlsArgs {
    /// Speak TLS.
    #[arg(long)]
    pub tls: bool,
    /// PEM certificate: a server's own (chain), or a client's for servers that ask (with --key).
    #[arg(long, requires = "key")]
    pub cert: Option<std::path::PathBuf>,
    /// PEM private key of --cert.
    #[arg(long, requires = "cert")]
    pub key: Option<std::path::PathBuf>,
    /// PEM CA file: a client trusts these CAs; a server requires client certificates they
    /// issued (mutual TLS).
    #[arg(long)]
    pub ca: Option<std::path::PathBuf>,
    /// Client: do not verify the server at all. UNSAFE: anyone can answer and read.
    #[arg(long, conflicts_with_all = ["ca", "pin"])]
    pub insecure: bool,
    /// Client: accept only a server certificate with this SHA-256 fingerprint.
    #[arg(long, conflicts_with = "ca")]
    pub pin: Option<String>,
    /// Client: the server name sent and checked (SNI); default the host connected to.
    #[arg(long)]
    pub sni: Option<String>,
    /// Protocols to offer or accept (ALPN), comma-separated: h2,http/1.1.
    #[arg(long, value_delimiter = ',')]
    pub alpn: Vec<String>,
    /// Server: generate a certificate for this machine's names (and --names) and serve it.
    #[arg(long, conflicts_with = "cert")]
    pub gen_cert: bool,
    /// Server: names and addresses to add to a generated certificate.
    #[arg(long, value_delimiter = ',', requires = "gen_cert")]
    pub names: Vec<String>,
}

/// `sockscope relay`.
#[derive(Args, Debug)]
pub struct RelayArgs {
    /// Where to listen: PORT, ADDR:PORT or [V6ADDR]:PORT.
    pub listen: String,
    /// Where to forward: HOST:PORT.
    pub target: String,
    /// Relay UDP datagrams instead of TCP connections.
    #[arg(long)]
    pub udp: bool,
    /// TCP: exit after the first client disconnects.
    #[arg(long)]
    pub once: bool,
    /// Speak TLS with the clients (terminate it: the log shows the plaintext); the certificate
    /// from --cert/--key or --gen-cert. (--tls: both sides.)
    #[arg(long)]
    pub tls_listen: bool,
    /// Speak TLS with the target, verified by --ca, --pin or not (--insecure); --sni, --alpn.
    #[arg(long)]
    pub tls_target: bool,
    #[command(flatten)]
    pub tls: TlsArgs,
    #[command(flatten)]
    pub framing: FrameArgs,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `sockscope run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// The sequence file(s), run one after the other; the exit status is 0 only if all pass.
    #[arg(required = true)]
    pub files: Vec<std::path::PathBuf>,
    /// Write a report: `.xml` (JUnit, one testsuite per sequence), or for one sequence `.html`
    /// or `.csv`, by the file's ending.
    #[arg(long)]
    pub report: Option<std::path::PathBuf>,
    /// `text` (one line per step) or `jsonl`.
    #[arg(long, value_enum, default_value = "text")]
    pub output: OutputFormat,
    /// Play the device: run each client sequence with the roles swapped (listen where the
    /// device was, expect what the client sent, answer what the device answered).
    #[arg(long)]
    pub simulate: bool,
}

/// `sockscope send-file`.
#[derive(Args, Debug)]
pub struct SendFileArgs {
    /// Receiver: HOST:PORT or [V6ADDR]:PORT.
    pub target: String,
    /// The file to send.
    pub file: std::path::PathBuf,
    /// Send datagrams instead of a TCP stream.
    #[arg(long)]
    pub udp: bool,
    /// Use the verified format (docs/file-transfer.md): the receiver checks size and SHA-256.
    #[arg(long)]
    pub verified: bool,
    /// Bytes per write or datagram (default: large TCP writes; 1472-byte datagrams).
    #[arg(long)]
    pub chunk: Option<usize>,
    /// Bytes per second at most (devices drop UDP sent too fast).
    #[arg(long)]
    pub rate: Option<u64>,
    /// Give up when the receiver stays silent (no answer, not taking data) this many seconds.
    #[arg(long, default_value_t = TransferLimits::SILENCE.as_secs_f64())]
    pub timeout: f64,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `sockscope recv-file`.
#[derive(Args, Debug)]
pub struct RecvFileArgs {
    /// Where to listen: PORT, ADDR:PORT or [V6ADDR]:PORT.
    pub addr: String,
    /// Raw: the file to write (never overwritten). Verified: the folder to put files in.
    #[arg(long)]
    pub out: std::path::PathBuf,
    /// Receive datagrams instead of TCP.
    #[arg(long)]
    pub udp: bool,
    /// Expect the verified format.
    #[arg(long)]
    pub verified: bool,
    /// Exit after the first transfer.
    #[arg(long)]
    pub once: bool,
    /// Seconds of silence allowed. UDP: stop after this long with nothing received (default 2
    /// with --once, else never). TCP: drop a sender silent this long (default 30).
    #[arg(long)]
    pub timeout: Option<f64>,
    /// TCP: transfers served at once; a sender beyond that is refused with a note.
    #[arg(long, default_value_t = TransferLimits::MAX_CONNS)]
    pub max_conns: usize,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `sockscope addr`.
#[derive(Args, Debug)]
pub struct AddrArgs {
    /// One JSON object per line per input.
    #[arg(long)]
    pub json: bool,
    /// List this machine's interface addresses, classified.
    #[arg(long)]
    pub interfaces: bool,
    /// Addresses: ADDR, ADDR/PREFIX, ADDR/MASK or "ADDR MASK" (quoted).
    pub inputs: Vec<String>,
}

/// How events are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// One line per message with the text decoded (status lines on stderr).
    Text,
    /// One line per message in hex (status lines on stderr).
    Hex,
    /// One JSON object per event, then a summary object.
    Jsonl,
    /// Only the final summary object.
    Summary,
}

/// Options shared by every subcommand.
#[derive(Args, Debug)]
pub struct CommonArgs {
    /// How to print events.
    #[arg(long, value_enum, default_value = "text")]
    pub output: OutputFormat,
    /// Text encoding of sent text and shown data (utf-8, gbk, gb18030, big5, shift_jis, euc-kr,
    /// utf-16le, utf-16be, windows-1252).
    #[arg(long, default_value = "utf-8")]
    pub encoding: String,
    /// Auto-reply rules (TOML, docs/sequences.md): answer matching data automatically.
    #[arg(long, conflicts_with = "simulate")]
    pub rules: Option<std::path::PathBuf>,
    /// A session script (Rhai, docs/scripts.md): on_open, on_frame, on_close, reply, send,
    /// log, every, state; checked before anything opens (tcp-client, tcp-server, udp, serial;
    /// a TCP relay's or bridge's script watches and logs).
    #[arg(long, value_name = "FILE")]
    pub script: Option<std::path::PathBuf>,
    /// Answer as the device of a recorded client sequence did (`--record`): each recorded
    /// request gets its recorded answer, any number of times, in any order; recorded with
    /// `--decode modbus-tcp`, the transaction id is taken from each request (docs/decoding.md).
    #[arg(long, value_name = "RECORDING")]
    pub simulate: Option<std::path::PathBuf>,
    /// Automatic replies (rules, UDP echo) allowed per second before they pause for 2 s, so
    /// two instances answering each other cannot loop flat out (0: no limit).
    #[arg(long, default_value_t = DEFAULT_REPLY_LIMIT_PER_S)]
    pub reply_limit: u32,
    /// tcp-client, tcp-server, udp, TCP relay (its clients' side): write what is sent and received as a pcapng capture
    /// (Wireshark); an existing file is not replaced.
    #[arg(long)]
    pub pcap: Option<std::path::PathBuf>,
}

/// What to send, and how the typed data becomes bytes.
#[derive(Args, Clone, Debug)]
pub struct SendArgs {
    /// Data to send (text, or hex with --hex); give it several times to send each in turn,
    /// --gap apart.
    #[arg(long)]
    pub send: Vec<String>,
    /// Milliseconds between one --send and the next.
    #[arg(long, default_value_t = 0)]
    pub gap: u64,
    /// Also send what arrives on standard input, as it arrives, line by line, after any
    /// --send (text in the chosen encoding, with --escapes; hex lines with --hex): tcp-client
    /// and serial to the peer, udp to --to (these stay open until standard input ends),
    /// tcp-server to every client.
    #[arg(long)]
    pub stdin: bool,
    /// The data is hex: `48 65 6C`, `48656C` or `0x48,0x65`.
    #[arg(long)]
    pub hex: bool,
    /// Interpret \r \n \t \\ \0 \xHH in text data.
    #[arg(long)]
    pub escapes: bool,
    /// Line ending appended to the data.
    #[arg(long, default_value = "none", value_parser = PossibleValuesParser::new(LineEnding::NAMES))]
    pub line_ending: String,
    /// Checksum appended to the data (before the line ending).
    #[arg(long, default_value = "none", value_parser = PossibleValuesParser::new(Checksum::NAMES))]
    pub checksum: String,
    /// Expand {{date}} {{time}} {{unix}} {{counter}} {{rand:N}} {{len}} … in the data, at each
    /// send (so --repeat counts up).
    #[arg(long)]
    pub macros: bool,
}

/// `sockscope tcp-server`.
#[derive(Args, Debug)]
pub struct TcpServerArgs {
    /// Where to listen: PORT (all IPv4 interfaces), ADDR:PORT or [V6ADDR]:PORT; port 0 picks one.
    pub addr: String,
    /// Send back whatever each client sends.
    #[arg(long)]
    pub echo: bool,
    /// Exit after the first client disconnects.
    #[arg(long)]
    pub once: bool,
    #[command(flatten)]
    pub send: SendArgs,
    #[command(flatten)]
    pub tls: TlsArgs,
    #[command(flatten)]
    pub framing: FrameArgs,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// How a TCP session cuts what it receives into frames.
#[derive(Args, Debug)]
pub struct FrameArgs {
    /// Cut what each TCP connection (each UDP datagram) receives into frames: none, line, delimiter:HEX, fixed:N,
    /// length:OFFSET:SIZE:be|le[:ADJUST], idle:MS, slip or cobs (docs/framing.md).
    #[arg(long, default_value = "none", value_parser = parse_frame)]
    pub frame: FrameSpec,
    /// Frames longer than this many bytes are passed on in pieces marked oversize.
    #[arg(long, default_value_t = DEFAULT_MAX_FRAME)]
    pub max_frame: usize,
    /// Frame what is sent the same way (append the delimiter, insert the length field, SLIP
    /// or COBS encode).
    #[arg(long)]
    pub frame_sends: bool,
    /// Decode each frame into values: modbus-tcp, modbus-rtu, json, kv, csv, or a protocol
    /// file (PATH.toml, docs/decoding.md). Without --frame, the decoder's own framing is used
    /// (modbus-tcp: its length field; json/kv/csv: lines; a file: its `frame`).
    #[arg(long, value_name = "SPEC")]
    pub decode: Option<String>,
}

impl FrameArgs {
    /// The framing used: `--frame`, or the built-in decoder's own when `--frame` is not given
    /// (a protocol file's is applied once the file is read, see `drive::load_decoder`).
    pub fn effective_frame(&self) -> FrameSpec {
        match (&self.frame, self.decode.as_deref()) {
            (FrameSpec::None, Some(name)) => crate::payload::decode::DecodeSpec::builtin(name)
                .map(|d| d.default_frame())
                .unwrap_or_default(),
            (frame, _) => frame.clone(),
        }
    }
}

fn parse_frame(text: &str) -> Result<FrameSpec, String> {
    text.parse()
        .map_err(|e: crate::payload::framing::FrameSpecError| e.to_string())
}

/// `sockscope serial`.
#[derive(Args, Debug)]
pub struct SerialArgs {
    /// The port: COM3 on Windows, /dev/ttyUSB0 or /dev/ttyACM0 on Linux, /dev/cu.* on macOS.
    #[arg(required_unless_present = "list")]
    pub port: Option<String>,
    /// List the ports the system has (with USB ids and names where it says them), then exit.
    #[arg(long)]
    pub list: bool,
    /// With --list: one JSON object per port.
    #[arg(long, requires = "list")]
    pub json: bool,
    #[command(flatten)]
    pub line: LineArgs,
    #[command(flatten)]
    pub send: SendArgs,
    /// Keep reading this many milliseconds after sending (default 500 with --send; without
    /// --send, read until interrupted).
    #[arg(long)]
    pub wait: Option<u64>,
    #[command(flatten)]
    pub framing: FrameArgs,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// A serial port's line settings (`serial`, `bridge`).
#[derive(Args, Debug)]
pub struct LineArgs {
    /// Bits per second.
    #[arg(long, default_value_t = 115_200)]
    pub baud: u32,
    /// 5, 6, 7 or 8.
    #[arg(long, default_value_t = 8)]
    pub data_bits: u8,
    #[arg(long, value_enum, default_value = "none")]
    pub parity: ParityArg,
    /// 1 or 2.
    #[arg(long, default_value_t = 1)]
    pub stop_bits: u8,
    #[arg(long, value_enum, default_value = "none")]
    pub flow: FlowArg,
}

/// `sockscope bridge`.
#[derive(Args, Debug)]
pub struct BridgeArgs {
    /// The serial port each TCP client is connected to.
    pub port: String,
    /// Where TCP clients connect: PORT, ADDR:PORT or [V6ADDR]:PORT.
    #[arg(long)]
    pub listen: String,
    /// Speak RFC 2217 (Telnet Com Port Control): clients such as pyserial's
    /// `rfc2217://HOST:PORT` set baud, data bits, parity, stop bits, flow, DTR, RTS and break;
    /// each change is said.
    #[arg(long)]
    pub rfc2217: bool,
    /// Share the port among this many TCP clients at once (what it sends reaches all; each
    /// one's sends reach it). 1: one client at a time, the port opened per client.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub max_clients: u16,
    #[command(flatten)]
    pub line: LineArgs,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Parity on the command line.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParityArg {
    None,
    Odd,
    Even,
}

/// Flow control on the command line.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlowArg {
    None,
    RtsCts,
    XonXoff,
}

/// `sockscope tcp-client`.
#[derive(Args, Debug)]
pub struct TcpClientArgs {
    /// Server to connect to: HOST:PORT or [V6ADDR]:PORT.
    pub target: String,
    #[command(flatten)]
    pub send: SendArgs,
    /// Keep reading this many milliseconds after sending (default 500 with --send; without
    /// --send, read until the server closes).
    #[arg(long)]
    pub wait: Option<u64>,
    /// Give up connecting after this many milliseconds.
    #[arg(long, default_value_t = 5000)]
    pub connect_timeout: u64,
    /// Write what was sent and received as a sequence file (docs/sequences.md) that replays it
    /// with `sockscope run`; an existing file is not replaced.
    #[arg(long)]
    pub record: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub tls: TlsArgs,
    #[command(flatten)]
    pub framing: FrameArgs,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `sockscope udp`.
#[derive(Args, Debug)]
pub struct UdpArgs {
    /// Local address to bind: ADDR:PORT or PORT (default: an ephemeral port).
    #[arg(long)]
    pub bind: Option<String>,
    /// Destination HOST:PORT of --send.
    #[arg(long)]
    pub to: Option<String>,
    #[command(flatten)]
    pub send: SendArgs,
    /// Send the data this many times.
    #[arg(long, default_value_t = 1)]
    pub repeat: u64,
    /// Milliseconds between repeated sends (0: as fast as possible).
    #[arg(long, default_value_t = 1000)]
    pub interval: u64,
    /// Send back each datagram to its sender.
    #[arg(long)]
    pub echo: bool,
    /// Allow sending to broadcast addresses (SO_BROADCAST).
    #[arg(long)]
    pub broadcast: bool,
    /// Join this multicast group (IPv4 or IPv6; give it several times for several groups).
    #[arg(long, value_name = "GROUP")]
    pub join: Vec<std::net::IpAddr>,
    /// The interface multicast joins go through, by index (0: the system's choice).
    #[arg(long, default_value_t = 0)]
    pub interface: u32,
    /// Exit after this many datagrams were received.
    #[arg(long)]
    pub count: Option<u64>,
    /// Exit after this many seconds with nothing received (default 1 when only sending).
    #[arg(long)]
    pub timeout: Option<f64>,
    /// Write what was sent and received (with --to) as a sequence file that replays it with
    /// `sockscope run`; an existing file is not replaced.
    #[arg(long)]
    pub record: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub framing: FrameArgs,
    #[command(flatten)]
    pub common: CommonArgs,
}
