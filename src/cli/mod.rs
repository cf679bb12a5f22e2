//! Headless subcommands over the same engine as the window, for lab scripts and tests.
//!
//! Exit status: 0 success, 2 bad arguments or input (one line on stderr), 1 network failure.

mod addr;
mod output;

use crate::engine::{
    parse_bind, parse_host_port, Command, Direction, Engine, EngineHandle, Event,
    FileReceiveConfig, FileSendConfig, HostPort, Repeat, SendTarget, SessionConfig, SessionId,
    SocketOptions, StreamOptions, TransferLimits,
};
use crate::payload::{
    build_payload, Checksum, InputMode, LineEnding, SendFormat, Template, TextEncoding,
};
use clap::builder::PossibleValuesParser;
use clap::{Args, Parser, Subcommand, ValueEnum};
use output::Printer;
use std::cell::Cell;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `sockscope run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// The sequence file.
    pub file: std::path::PathBuf,
    /// Write a report: `.html` or `.csv` by the file's ending.
    #[arg(long)]
    pub report: Option<std::path::PathBuf>,
    /// `text` (one line per step) or `jsonl`.
    #[arg(long, value_enum, default_value = "text")]
    pub output: OutputFormat,
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
    #[arg(long)]
    pub rules: Option<std::path::PathBuf>,
    /// Automatic replies (rules, UDP echo) allowed per second before they pause for 2 s, so
    /// two instances answering each other cannot loop flat out (0: no limit).
    #[arg(long, default_value_t = crate::engine::DEFAULT_REPLY_LIMIT_PER_S)]
    pub reply_limit: u32,
}

/// What to send, and how the typed data becomes bytes.
#[derive(Args, Debug)]
pub struct SendArgs {
    /// Data to send (text, or hex with --hex).
    #[arg(long)]
    pub send: Option<String>,
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
    pub common: CommonArgs,
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
    /// Exit after this many datagrams were received.
    #[arg(long)]
    pub count: Option<u64>,
    /// Exit after this many seconds with nothing received (default 1 when only sending).
    #[arg(long)]
    pub timeout: Option<f64>,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// A failure before anything touched the network: exit status 2.
struct UsageError(String);

/// The longest duration any option takes: one week.
const MAX_SECONDS: f64 = 7.0 * 24.0 * 3600.0;

/// A number of seconds from an option, checked to lie in 0.001 s – one week (a larger one
/// would overflow a clock, a smaller one means nothing).
fn seconds(option: &str, value: f64) -> Result<Duration, UsageError> {
    if value.is_finite() && (0.001..=MAX_SECONDS).contains(&value) {
        Ok(Duration::from_secs_f64(value))
    } else {
        Err(UsageError(format!(
            "{option} must be a number of seconds from 0.001 to {MAX_SECONDS:.0} (one week), not {value}"
        )))
    }
}

/// A number of milliseconds from an option, at most one week; `zero_ok` allows 0.
fn millis(option: &str, value: u64, zero_ok: bool) -> Result<Duration, UsageError> {
    let max_ms = (MAX_SECONDS * 1000.0) as u64;
    if (value > 0 || zero_ok) && value <= max_ms {
        Ok(Duration::from_millis(value))
    } else {
        let low = if zero_ok { 0 } else { 1 };
        Err(UsageError(format!(
            "{option} must be a number of milliseconds from {low} to {max_ms} (one week), not {value}"
        )))
    }
}

/// A destination as typed: `host:port` with a port a peer can listen on (not 0).
fn destination(option: &str, text: &str) -> Result<HostPort, UsageError> {
    let target = parse_host_port(text).map_err(|e| UsageError(format!("{option}: {e}")))?;
    if target.port == 0 {
        return Err(UsageError(format!(
            "{option}: port 0 cannot be a destination (nothing listens on it); give the peer's port"
        )));
    }
    Ok(target)
}

/// Set once SIGINT/SIGTERM (Ctrl-C, Ctrl-Break on Windows) arrives: the run closes its
/// session and prints its summary instead of dying mid-way.
static STOP: AtomicBool = AtomicBool::new(false);

fn catch_signals() {
    // A second handler cannot be installed; the first one already does the job.
    let _ = ctrlc::set_handler(|| STOP.store(true, Ordering::SeqCst));
}

impl<T: std::fmt::Display> From<T> for UsageError {
    fn from(e: T) -> Self {
        UsageError(e.to_string())
    }
}

/// Runs a subcommand and returns the process exit status.
pub fn run(command: CliCommand) -> ExitCode {
    let result = match command {
        CliCommand::TcpServer(args) => tcp_server(args),
        CliCommand::TcpClient(args) => tcp_client(args),
        CliCommand::Udp(args) => udp(args),
        CliCommand::Addr(args) => Ok(addr::run(&args)),
        CliCommand::SendFile(args) => send_file(args),
        CliCommand::RecvFile(args) => recv_file(args),
        CliCommand::Run(args) => run_sequence(args),
        CliCommand::Relay(args) => relay(args),
    };
    match result {
        Ok(code) => code,
        Err(UsageError(reason)) => {
            eprintln!("sockscope: error: {reason}");
            ExitCode::from(2)
        }
    }
}

fn encoding(common: &CommonArgs) -> Result<TextEncoding, UsageError> {
    TextEncoding::from_name(&common.encoding)
        .ok_or_else(|| UsageError(format!("unknown encoding '{}'", common.encoding)))
}

/// What `--send` sends (macros expanded at each send with --macros), or None without it.
fn payload(send: &SendArgs, encoding: TextEncoding) -> Result<Option<Template>, UsageError> {
    let Some(data) = &send.send else {
        return Ok(None);
    };
    let format = SendFormat {
        mode: if send.hex {
            InputMode::Hex
        } else {
            InputMode::Text
        },
        encoding,
        escapes: send.escapes,
        // clap has already checked both names against the same lists.
        line_ending: LineEnding::from_name(&send.line_ending).unwrap_or_default(),
        checksum: Checksum::from_name(&send.checksum).unwrap_or_default(),
        macros: send.macros,
    };
    let template = if format.macros {
        // The first send is built now too, so a length that does not fit its macro is a
        // mistake reported before anything is sent.
        Template::parse(data, &format).and_then(|t| t.expand(1).map(|_| t))
    } else {
        build_payload(data, &format).map(Template::fixed)
    };
    template
        .map(Some)
        .map_err(|e| UsageError(format!("--send: {e}")))
}

/// Reads `--rules` and hands them to the session (before any data can arrive).
fn apply_rules(
    common: &CommonArgs,
    engine: &EngineHandle,
    session: SessionId,
) -> Result<(), UsageError> {
    if let Some(path) = &common.rules {
        let text = std::fs::read_to_string(path)
            .map_err(|e| UsageError(format!("cannot read {}: {e}", path.display())))?;
        let rules = crate::sequence::parse_rules(&text)
            .map_err(|e| UsageError(format!("{}: {e}", path.display())))?;
        engine.send(Command::SetRules { session, rules });
    }
    engine.send(Command::SetReplyLimit {
        session,
        per_s: common.reply_limit,
    });
    Ok(())
}

fn start_engine() -> Result<EngineHandle, UsageError> {
    catch_signals();
    Engine::spawn(Arc::new(|| {})).map_err(|e| UsageError(format!("cannot start: {e}")))
}

/// What the event loop should do next.
enum Flow {
    Continue,
    Close,
}

/// Feeds events to the printer and `on_event` until the session closes; `deadline` closes it.
fn event_loop(
    engine: &EngineHandle,
    session: SessionId,
    printer: &mut Printer,
    mut deadline: impl FnMut() -> Option<Instant>,
    mut on_event: impl FnMut(&Event, &EngineHandle) -> Flow,
) -> ExitCode {
    let mut closing = false;
    loop {
        if !closing && STOP.load(Ordering::SeqCst) {
            engine.send(Command::Close { session });
            closing = true;
        }
        let wait = match deadline() {
            Some(at) if !closing => match at.checked_duration_since(Instant::now()) {
                Some(left) => left.min(Duration::from_millis(200)),
                None => {
                    engine.send(Command::Close { session });
                    closing = true;
                    Duration::from_millis(200)
                }
            },
            _ => Duration::from_millis(200),
        };
        let Some(event) = engine.recv_timeout(wait) else {
            printer.flush();
            continue;
        };
        printer.event(&event);
        if let Event::Closed { .. } = event {
            printer.finish();
            return if printer.failed() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            };
        }
        if !closing {
            if let Flow::Close = on_event(&event, engine) {
                engine.send(Command::Close { session });
                closing = true;
            }
        }
    }
}

fn tcp_server(args: TcpServerArgs) -> Result<ExitCode, UsageError> {
    let bind = parse_bind(&args.addr)?;
    let mut printer = Printer::new(args.common.output, encoding(&args.common)?);
    let engine = start_engine()?;
    let session = engine.new_session_id();
    engine.send(Command::Open {
        session,
        config: SessionConfig::TcpServer {
            bind,
            echo: args.echo,
            options: SocketOptions::default(),
        },
    });
    apply_rules(&args.common, &engine, session)?;
    let once = args.once;
    Ok(event_loop(
        &engine,
        session,
        &mut printer,
        || None,
        |event, _| match event {
            Event::ConnClosed { .. } if once => Flow::Close,
            _ => Flow::Continue,
        },
    ))
}

fn tcp_client(args: TcpClientArgs) -> Result<ExitCode, UsageError> {
    destination("target", &args.target)?;
    let encoding = encoding(&args.common)?;
    let payload = payload(&args.send, encoding)?;
    let wait = match args.wait.or(payload.as_ref().map(|_| 500)) {
        Some(ms) => Some(millis("--wait", ms, true)?),
        None => None,
    };
    let connect_timeout = millis("--connect-timeout", args.connect_timeout, false)?;
    let mut printer = Printer::new(args.common.output, encoding);
    let engine = start_engine()?;
    let session = engine.new_session_id();
    engine.send(Command::Open {
        session,
        config: SessionConfig::TcpClient {
            remote: args.target.clone(),
            connect_timeout,
            options: SocketOptions::default(),
        },
    });
    apply_rules(&args.common, &engine, session)?;
    let until: Cell<Option<Instant>> = Cell::new(None);
    let mut payload = payload;
    let code = event_loop(
        &engine,
        session,
        &mut printer,
        || until.get(),
        |event, engine| {
            if let Event::Opened { .. } = event {
                if let Some(template) = payload.take() {
                    engine.send(Command::SendTemplate {
                        session,
                        target: SendTarget::Default,
                        template,
                        repeat: None,
                    });
                }
                until.set(wait.map(|w| Instant::now() + w));
            }
            Flow::Continue
        },
    );
    Ok(code)
}

fn udp(args: UdpArgs) -> Result<ExitCode, UsageError> {
    let encoding = encoding(&args.common)?;
    let payload = payload(&args.send, encoding)?;
    if let Some(to) = &args.to {
        destination("--to", to)?;
    }
    if payload.is_some() && args.to.is_none() {
        return Err(UsageError("--send needs --to HOST:PORT".into()));
    }
    let bind: SocketAddr = match &args.bind {
        Some(b) => parse_bind(b)?,
        None if args.to.as_deref().is_some_and(|t| t.starts_with('[')) => "[::]:0".parse()?,
        None => "0.0.0.0:0".parse()?,
    };
    let quiet_limit = match args.timeout {
        Some(t) => Some(seconds("--timeout", t)?),
        None => (payload.is_some() && args.count.is_none() && !args.echo)
            .then_some(Duration::from_secs(1)),
    };
    let interval = millis("--interval", args.interval, true)?;
    let mut printer = Printer::new(args.common.output, encoding);
    let engine = start_engine()?;
    let session = engine.new_session_id();
    engine.send(Command::Open {
        session,
        config: SessionConfig::Udp {
            bind,
            default_dest: args.to.clone(),
            broadcast: args.broadcast,
            echo: args.echo,
            options: SocketOptions::default(),
        },
    });
    apply_rules(&args.common, &engine, session)?;
    let mut payload = payload;
    let (repeat, count) = (args.repeat, args.count);
    // The quiet time runs from the last thing that happened: opening, sending, a datagram.
    let last_activity = Cell::new(Instant::now());
    let sending = Cell::new(false);
    let mut received = 0u64;
    let code = event_loop(
        &engine,
        session,
        &mut printer,
        || (!sending.get()).then_some(last_activity.get() + quiet_limit?),
        |event, engine| {
            match event {
                Event::Opened { .. } => {
                    last_activity.set(Instant::now());
                    if let Some(template) = payload.take() {
                        sending.set(send_repeated(engine, session, template, repeat, interval));
                    }
                }
                Event::RepeatDone { .. } => {
                    sending.set(false);
                    last_activity.set(Instant::now());
                }
                Event::Data {
                    dir: Direction::Rx,
                    chunks,
                    omitted_packets,
                    ..
                } => {
                    last_activity.set(Instant::now());
                    received += chunks.len() as u64 + omitted_packets;
                }
                _ => {}
            }
            if count.is_some_and(|c| received >= c) {
                Flow::Close
            } else {
                Flow::Continue
            }
        },
    );
    Ok(code)
}

/// Sends `template` `times` times; returns whether a repeat is still running in the engine.
/// More than one send is one repeat command (interval 0: back to back), so the engine paces
/// them and nothing waits queued in bulk.
fn send_repeated(
    engine: &EngineHandle,
    session: SessionId,
    template: Template,
    times: u64,
    interval: Duration,
) -> bool {
    let repeat = (times > 1).then_some(Repeat {
        interval,
        count: Some(times),
    });
    engine.send(Command::SendTemplate {
        session,
        target: SendTarget::Default,
        template,
        repeat,
    });
    repeat.is_some()
}

fn send_file(args: SendFileArgs) -> Result<ExitCode, UsageError> {
    destination("target", &args.target)?;
    let silence = seconds("--timeout", args.timeout)?;
    if args.udp && args.verified {
        return Err(UsageError("--verified works over TCP only".into()));
    }
    if args.chunk == Some(0) {
        return Err(UsageError("--chunk must be at least 1".into()));
    }
    match std::fs::metadata(&args.file) {
        Ok(m) if m.is_file() => {}
        Ok(_) => return Err(UsageError(format!("{} is not a file", args.file.display()))),
        Err(e) => {
            return Err(UsageError(format!(
                "cannot read {}: {e}",
                args.file.display()
            )))
        }
    }
    if let Err(e) = std::fs::File::open(&args.file) {
        return Err(UsageError(format!(
            "cannot read {}: {e}",
            args.file.display()
        )));
    }
    let mut printer = Printer::new(args.common.output, encoding(&args.common)?);
    let engine = start_engine()?;
    let session = engine.new_session_id();
    engine.send(Command::Open {
        session,
        config: SessionConfig::SendFile(FileSendConfig {
            remote: args.target.clone(),
            path: args.file.clone(),
            udp: args.udp,
            verified: args.verified,
            stream: StreamOptions {
                chunk: args.chunk,
                rate: args.rate,
            },
            connect_timeout: Duration::from_secs(5),
            limits: TransferLimits {
                silence,
                ..TransferLimits::default()
            },
        }),
    });
    let code = event_loop(
        &engine,
        session,
        &mut printer,
        || None,
        |_, _| Flow::Continue,
    );
    Ok(if printer.files_done == 1 {
        code
    } else {
        ExitCode::from(1)
    })
}

fn recv_file(args: RecvFileArgs) -> Result<ExitCode, UsageError> {
    let bind = parse_bind(&args.addr)?;
    if args.udp && args.verified {
        return Err(UsageError("--verified works over TCP only".into()));
    }
    if args.verified && !args.out.is_dir() {
        return Err(UsageError(format!(
            "{} is not a folder (--verified puts files in a folder)",
            args.out.display()
        )));
    }
    if !args.verified && args.out.exists() {
        return Err(UsageError(format!(
            "{} exists; it will not be overwritten",
            args.out.display()
        )));
    }
    let timeout = match args.timeout {
        Some(t) => Some(seconds("--timeout", t)?),
        None => None,
    };
    let idle = match timeout {
        None if args.udp && args.once => Some(Duration::from_secs(2)),
        t => t,
    };
    if args.max_conns == 0 {
        return Err(UsageError("--max-conns must be at least 1".into()));
    }
    let limits = TransferLimits {
        silence: timeout.unwrap_or(TransferLimits::SILENCE),
        max_conns: args.max_conns,
    };
    let mut printer = Printer::new(args.common.output, encoding(&args.common)?);
    let engine = start_engine()?;
    let session = engine.new_session_id();
    engine.send(Command::Open {
        session,
        config: SessionConfig::ReceiveFile(FileReceiveConfig {
            bind,
            out: args.out.clone(),
            udp: args.udp,
            verified: args.verified,
            once: args.once,
            idle_timeout: idle,
            limits,
        }),
    });
    let code = event_loop(
        &engine,
        session,
        &mut printer,
        || None,
        |_, _| Flow::Continue,
    );
    Ok(if printer.files_done >= 1 {
        code
    } else {
        ExitCode::from(1)
    })
}

fn run_sequence(args: RunArgs) -> Result<ExitCode, UsageError> {
    use crate::sequence::{self, Outcome, Sequence};
    let text = std::fs::read_to_string(&args.file)
        .map_err(|e| UsageError(format!("cannot read {}: {e}", args.file.display())))?;
    let seq =
        Sequence::parse(&text).map_err(|e| UsageError(format!("{}: {e}", args.file.display())))?;
    if let Some(path) = &args.report {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if !matches!(ext, "html" | "htm" | "csv") {
            return Err(UsageError("--report must end in .html or .csv".into()));
        }
    }
    let engine = start_engine()?;
    let jsonl = args.output == OutputFormat::Jsonl;
    let report = sequence::run(&seq, &engine, |r| {
        if jsonl {
            println!(
                "{}",
                serde_json::json!({"event": "step", "round": r.round, "step": r.step,
                "label": r.label, "result": r.outcome, "ms": r.millis, "detail": r.detail})
            );
        } else {
            let word = if r.outcome == Outcome::Pass {
                "PASS"
            } else {
                "FAIL"
            };
            println!(
                "{word}  #{} {} ({} ms) {}",
                r.step, r.label, r.millis, r.detail
            );
        }
    })
    .map_err(|e| UsageError(format!("{}: {e}", args.file.display())))?;
    let (pass, fail) = report.counts();
    if let Some(reason) = &report.aborted {
        eprintln!("sockscope: error: {reason}");
    }
    if jsonl {
        println!(
            "{}",
            serde_json::json!({"event": "summary", "passed": pass, "failed": fail,
            "aborted": report.aborted, "result": if report.passed() { "pass" } else { "fail" }})
        );
    } else {
        println!("{pass} passed, {fail} failed");
    }
    if let Some(path) = &args.report {
        let written = sequence::save_report(&report, path);
        if let Err(e) = written {
            eprintln!("sockscope: error: cannot write {}: {e}", path.display());
            return Ok(ExitCode::from(1));
        }
    }
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn relay(args: RelayArgs) -> Result<ExitCode, UsageError> {
    let listen = parse_bind(&args.listen)?;
    destination("target", &args.target)?;
    let mut printer = Printer::new(args.common.output, encoding(&args.common)?);
    let engine = start_engine()?;
    let session = engine.new_session_id();
    engine.send(Command::Open {
        session,
        config: SessionConfig::Relay {
            listen,
            target: args.target.clone(),
            udp: args.udp,
        },
    });
    let once = args.once;
    Ok(event_loop(
        &engine,
        session,
        &mut printer,
        || None,
        |event, _| match event {
            Event::ConnClosed { .. } if once => Flow::Close,
            _ => Flow::Continue,
        },
    ))
}
