//! Runners of sessions: `tcp-server`, `tcp-client`, `udp` and `relay`.

use super::args::{CommonArgs, FrameArgs};
use super::drive::{
    destination, encoding, millis, payload, seconds, Flow, Recording, Replies, Run, Sends,
};
use super::{CliError, RelayArgs, TcpClientArgs, TcpServerArgs, UdpArgs};
use crate::engine::{
    parse_bind, Command, Direction, EngineHandle, Event, Repeat, SendTarget, SessionConfig,
    SessionId, SocketOptions,
};
use crate::payload::framing::FrameSpec;
use crate::payload::Template;
use crate::sequence::{Connection, ConnectionKind};
use std::cell::Cell;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::ExitCode;
use std::time::{Duration, Instant};

pub(super) fn tcp_server(args: TcpServerArgs) -> Result<ExitCode, CliError> {
    let bind = parse_bind(&args.addr).map_err(CliError::address("ADDR"))?;
    let config = SessionConfig::TcpServer {
        bind,
        echo: args.echo,
        options: SocketOptions::default(),
    };
    if !args.send.send.is_empty() || args.send.gap > 0 {
        return Err(CliError::Usage(
            "tcp-server sends what arrives on --stdin to every client; --send and --gap have no client to go to when it opens".into(),
        ));
    }
    let encoding = encoding(&args.common)?;
    // Standard input's lines go to every client connected when each arrives; the server
    // listens on after it ends.
    let sends = Sends::new(&args.send, encoding, None)?.to(SendTarget::AllClients);
    let tls = args.tls.server()?;
    let mut run = Run::open_secured(
        &args.common,
        encoding,
        config,
        Replies::Answers,
        Some(&args.framing),
        tls,
    )?;
    Ok(run.drive_sends_and(sends, close_after_first_client(args.once)))
}

pub(super) fn tcp_client(args: TcpClientArgs) -> Result<ExitCode, CliError> {
    destination("target", &args.target)?;
    let encoding = encoding(&args.common)?;
    let sending = !args.send.send.is_empty() || args.send.stdin;
    let wait = match args.wait.or(sending.then_some(500)) {
        Some(ms) => Some(millis("--wait", ms, true)?),
        None => None,
    };
    let sends = Sends::new(&args.send, encoding, wait)?;
    let connect_timeout = millis("--connect-timeout", args.connect_timeout, false)?;
    let config = SessionConfig::TcpClient {
        remote: args.target.clone(),
        connect_timeout,
        options: SocketOptions::default(),
    };
    let recording = match &args.record {
        Some(path) => Some(Recording::new(
            path,
            recorded_connection(
                ConnectionKind::TcpClient,
                &args.target,
                &args.common,
                &args.framing,
            ),
            encoding,
            args.framing.effective_frame() != FrameSpec::None,
        )?),
        None => None,
    };
    let tls = args.tls.client()?;
    let mut run = Run::open_secured(
        &args.common,
        encoding,
        config,
        Replies::Answers,
        Some(&args.framing),
        tls,
    )?;
    run.recording = recording;
    Ok(run.drive_sends(sends))
}

pub(super) fn udp(args: UdpArgs) -> Result<ExitCode, CliError> {
    if args.send.gap > 0 {
        return Err(CliError::Usage(
            "--gap is for tcp-client and serial (udp: one --send, --repeat, --interval)".into(),
        ));
    }
    if args.send.stdin && args.to.is_none() {
        return Err(CliError::Usage("--stdin needs --to HOST:PORT".into()));
    }
    let encoding = encoding(&args.common)?;
    let mut payload = payload(&args.send, encoding)?;
    // Standard input's lines, each a datagram to --to as it arrives (after --send); the run
    // ends 500 ms (or --timeout) after standard input does.
    let mut stdin_sends = match args.send.stdin {
        true => {
            let after = match args.timeout {
                Some(t) => seconds("--timeout", t)?,
                None => Duration::from_millis(500),
            };
            let lines_only = super::args::SendArgs {
                send: Vec::new(),
                ..args.send.clone()
            };
            Some(Sends::new(&lines_only, encoding, Some(after))?)
        }
        false => None,
    };
    if let Some(to) = &args.to {
        destination("--to", to)?;
    }
    if payload.is_some() && args.to.is_none() {
        return Err(CliError::Usage("--send needs --to HOST:PORT".into()));
    }
    let bind: SocketAddr = match &args.bind {
        Some(b) => parse_bind(b).map_err(CliError::address("--bind"))?,
        None if args.to.as_deref().is_some_and(|t| t.starts_with('[')) => {
            SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0))
        }
        None => SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
    };
    let quiet_limit = match args.timeout {
        Some(t) => Some(seconds("--timeout", t)?),
        None => (payload.is_some() && args.count.is_none() && !args.echo)
            .then_some(Duration::from_secs(1)),
    };
    let interval = millis("--interval", args.interval, true)?;
    let config = SessionConfig::Udp {
        bind,
        default_dest: args.to.clone(),
        broadcast: args.broadcast,
        echo: args.echo,
        options: SocketOptions::default(),
    };
    let recording = match (&args.record, &args.to) {
        (Some(path), Some(to)) => Some(Recording::new(
            path,
            recorded_connection(ConnectionKind::Udp, to, &args.common, &args.framing),
            encoding,
            args.framing.effective_frame() != FrameSpec::None,
        )?),
        (Some(_), None) => {
            return Err(CliError::Usage(
                "--record needs --to HOST:PORT (where the replay sends)".into(),
            ))
        }
        (None, _) => None,
    };
    let mut run = Run::open(
        &args.common,
        encoding,
        config,
        Replies::Answers,
        Some(&args.framing),
    )?;
    run.recording = recording;
    let session = run.session;
    let (repeat, count) = (args.repeat, args.count);
    // The quiet time runs from the last thing that happened: opening, sending, a datagram.
    let (joins, interface) = (args.join.clone(), args.interface);
    if let Some(g) = joins.iter().find(|g| !g.is_multicast()) {
        return Err(CliError::Usage(format!(
            "--join {g}: not a multicast group"
        )));
    }
    let last_activity = Cell::new(Instant::now());
    let sending = Cell::new(false);
    let opened = Cell::new(false);
    let mut received = 0u64;
    Ok(run.drive(
        |engine| match stdin_sends.as_mut() {
            // With --stdin the run lasts as long as standard input (and the wait after it).
            Some(lines) => {
                if opened.take() {
                    lines.opened();
                }
                lines.tick(engine, session)
            }
            None => {
                let end =
                    quiet_limit.and_then(|q| (!sending.get()).then(|| last_activity.get() + q));
                (end, None)
            }
        },
        |event, engine| {
            match event {
                Event::Opened { .. } => {
                    opened.set(true);
                    last_activity.set(Instant::now());
                    // Groups first: what is sent may be answered from them.
                    for group in &joins {
                        engine.send(Command::JoinMulticast {
                            session,
                            group: *group,
                            interface,
                        });
                    }
                    if let Some(template) = payload.take() {
                        sending.set(send_repeated(engine, session, template, repeat, interval));
                    }
                }
                Event::RepeatDone { .. } => {
                    sending.set(false);
                    last_activity.set(Instant::now());
                }
                Event::Data {
                    chunks,
                    omitted_packets,
                    ..
                } => {
                    last_activity.set(Instant::now());
                    let rx = chunks.iter().filter(|c| c.dir == Direction::Rx).count();
                    received += rx as u64 + omitted_packets;
                }
                _ => {}
            }
            if count.is_some_and(|c| received >= c) {
                Flow::Close
            } else {
                Flow::Continue
            }
        },
    ))
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

pub(super) fn relay(args: RelayArgs) -> Result<ExitCode, CliError> {
    let listen = parse_bind(&args.listen).map_err(CliError::address("LISTEN"))?;
    destination("target", &args.target)?;
    let config = SessionConfig::Relay {
        listen,
        target: args.target.clone(),
        udp: args.udp,
    };
    let framing = (!args.udp).then_some(&args.framing);
    let tls = args.tls.relay(args.tls_listen, args.tls_target)?;
    let mut run = Run::open_secured(
        &args.common,
        encoding(&args.common)?,
        config,
        Replies::None,
        framing,
        tls,
    )?;
    Ok(run.drive(|_| (None, None), close_after_first_client(args.once)))
}

/// The `[connection]` of a recorded sequence: where the replay goes, how it reads.
fn recorded_connection(
    kind: ConnectionKind,
    remote: &str,
    common: &CommonArgs,
    framing: &FrameArgs,
) -> Connection {
    Connection {
        kind,
        remote: remote.to_string(),
        bind: None,
        encoding: Some(common.encoding.clone()),
        timeout_ms: None,
        frame: Some(framing.effective_frame())
            .filter(|f| *f != FrameSpec::None)
            .map(|f| f.to_string()),
        decode: framing
            .decode
            .as_deref()
            .and_then(crate::payload::decode::DecodeSpec::builtin)
            .map(|d| d.name().to_string()),
        ..Connection::default()
    }
}

/// With `--once`, the run ends when its first client leaves.
fn close_after_first_client(once: bool) -> impl FnMut(&Event, &EngineHandle) -> Flow {
    move |event, _| match event {
        Event::ConnClosed { .. } if once => Flow::Close,
        _ => Flow::Continue,
    }
}
