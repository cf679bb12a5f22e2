//! `sockscope ws-client` and `sockscope ws-server`: the WebSocket transport on the command
//! line (its options, checked before anything opens, and its runners).

use super::args::{CommonArgs, FrameArgs, SendArgs, TlsArgs};
use super::drive::{destination, encoding, millis, Flow, Replies, Run, Sends};
use super::CliError;
use crate::engine::ws::{parse_url, SendAs, WsClientConfig, WsOptions, WsServerConfig};
use crate::engine::{parse_bind, Event, SendTarget, SessionConfig, SocketOptions};
use crate::payload::framing::FrameSpec;
use clap::Args;
use std::process::ExitCode;

/// What both WebSocket commands take.
#[derive(Args, Debug)]
pub struct WsArgs {
    /// A subprotocol to offer (client) or accept (server); give it several times, in order of
    /// preference. The one chosen is said when the connection opens.
    #[arg(long, value_name = "NAME")]
    pub subprotocol: Vec<String>,
    /// Messages larger than this many bytes are refused (the connection closed with 1009).
    #[arg(long, value_name = "BYTES", default_value_t = crate::engine::ws::DEFAULT_MAX_MESSAGE)]
    pub max_message: usize,
    /// Send a ping every this many milliseconds; each pong's round trip is said.
    #[arg(long, value_name = "MS")]
    pub ping_interval: Option<u64>,
    /// Send what is typed as binary messages (default: text when it is UTF-8, binary
    /// otherwise — GBK text and --hex data go as binary).
    #[arg(long)]
    pub binary: bool,
}

impl WsArgs {
    fn options(&self, send: &SendArgs) -> Result<WsOptions, CliError> {
        if self.max_message == 0 {
            return Err(CliError::Usage("--max-message: at least 1 byte".into()));
        }
        let ping_interval = match self.ping_interval {
            Some(ms) => Some(millis("--ping-interval", ms, false)?),
            None => None,
        };
        Ok(WsOptions {
            subprotocols: self.subprotocol.clone(),
            max_message: self.max_message,
            ping_interval,
            send_as: if self.binary || send.hex {
                SendAs::Binary
            } else {
                SendAs::Auto
            },
        })
    }
}

/// `sockscope ws-client`.
#[derive(Args, Debug)]
pub struct WsClientArgs {
    /// ws://HOST[:PORT]/PATH?QUERY or wss://… (USER:PASSWORD@HOST for Basic auth; [V6ADDR]).
    pub url: String,
    /// A request header, "Name: value"; give it several times.
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// The Origin header (what a browser would send).
    #[arg(long)]
    pub origin: Option<String>,
    #[command(flatten)]
    pub ws: WsArgs,
    #[command(flatten)]
    pub send: SendArgs,
    /// Keep reading this many milliseconds after sending (default 500 with --send; without
    /// --send, read until the server closes).
    #[arg(long, value_name = "MS")]
    pub wait: Option<u64>,
    /// Exit after this many messages were received (exit 1 when fewer came).
    #[arg(long)]
    pub count: Option<u64>,
    /// Give up connecting after this many milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 5000)]
    pub connect_timeout: u64,
    #[command(flatten)]
    pub tls: TlsArgs,
    #[command(flatten)]
    pub framing: FrameArgs,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `sockscope ws-server`.
#[derive(Args, Debug)]
pub struct WsServerArgs {
    /// Where to listen: PORT (all IPv4 interfaces), ADDR:PORT or [V6ADDR]:PORT; port 0 picks one.
    pub addr: String,
    /// Only upgrade requests for this path (others get 404); default any path.
    #[arg(long)]
    pub path: Option<String>,
    /// Send back each message as it came (text as text, binary as binary).
    #[arg(long)]
    pub echo: bool,
    /// Exit after the first client disconnects.
    #[arg(long)]
    pub once: bool,
    #[command(flatten)]
    pub ws: WsArgs,
    #[command(flatten)]
    pub send: SendArgs,
    #[command(flatten)]
    pub tls: TlsArgs,
    #[command(flatten)]
    pub framing: FrameArgs,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// A message is a frame: `--frame` has nothing to cut.
fn no_framing(framing: &FrameArgs) -> Result<(), CliError> {
    if framing.frame != FrameSpec::None || framing.frame_sends {
        return Err(CliError::Usage(
            "--frame: each WebSocket message is already one frame".into(),
        ));
    }
    Ok(())
}

/// `Name: value` → the pair.
fn header(text: &str) -> Result<(String, String), CliError> {
    let bad = || CliError::Usage(format!("-H {text:?}: a header is \"Name: value\""));
    let (name, value) = text.split_once(':').ok_or_else(bad)?;
    let name = name.trim();
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if !valid || value.contains(['\r', '\n']) {
        return Err(bad());
    }
    Ok((name.to_string(), value.trim().to_string()))
}

pub(super) fn ws_client(args: WsClientArgs) -> Result<ExitCode, CliError> {
    let url = parse_url(&args.url).map_err(|e| CliError::Usage(format!("URL: {e}")))?;
    destination("URL", &url.host_port())?;
    no_framing(&args.framing)?;
    let headers = args
        .headers
        .iter()
        .map(|h| header(h))
        .collect::<Result<Vec<_>, _>>()?;
    let encoding = encoding(&args.common)?;
    let sending = !args.send.send.is_empty() || args.send.stdin;
    let wait = match args
        .wait
        .or((sending && args.count.is_none()).then_some(500))
    {
        Some(ms) => Some(millis("--wait", ms, true)?),
        None => None,
    };
    let sends = Sends::new(&args.send, encoding, wait)?;
    let config = SessionConfig::WsClient(WsClientConfig {
        url: args.url.clone(),
        headers,
        origin: args.origin.clone(),
        connect_timeout: millis("--connect-timeout", args.connect_timeout, false)?,
        options: SocketOptions::default(),
        ws: args.ws.options(&args.send)?,
    });
    // wss:// is TLS whatever the options say; the options say how to verify.
    let tls = match (url.secure, args.tls.client()?) {
        (false, Some(_)) => {
            return Err(CliError::Usage(
                "TLS options go with a wss:// address".into(),
            ))
        }
        (_, tls) => tls,
    };
    let mut run = Run::open_secured(
        &args.common,
        encoding,
        config,
        Replies::Answers,
        Some(&args.framing),
        tls,
    )?;
    let count = args.count;
    let mut received = 0u64;
    let code = run.drive_sends_and(sends, |event, _| {
        if let Event::Data { chunks, .. } = event {
            received += chunks
                .iter()
                .filter(|c| c.dir == crate::engine::Direction::Rx)
                .flat_map(|c| c.pieces())
                .filter(|(_, f)| f.is_some_and(|f| f.message.is_some()))
                .count() as u64;
        }
        match (event, count) {
            (Event::Data { .. }, Some(n)) if received >= n => Flow::Close,
            _ => Flow::Continue,
        }
    });
    match count {
        Some(n) if received < n => {
            eprintln!("sockscope: received {received} of {n} messages");
            Ok(ExitCode::from(1))
        }
        _ => Ok(code),
    }
}

pub(super) fn ws_server(args: WsServerArgs) -> Result<ExitCode, CliError> {
    let bind = parse_bind(&args.addr).map_err(CliError::address("ADDR"))?;
    no_framing(&args.framing)?;
    if !args.send.send.is_empty() || args.send.gap > 0 {
        return Err(CliError::Usage(
            "ws-server sends what arrives on --stdin to every client; --send and --gap have no client to go to when it opens".into(),
        ));
    }
    if let Some(path) = &args.path {
        if !path.starts_with('/') {
            return Err(CliError::Usage(format!(
                "--path {path:?}: a path starts with /"
            )));
        }
    }
    let encoding = encoding(&args.common)?;
    let sends = Sends::new(&args.send, encoding, None)?.to(SendTarget::AllClients);
    let config = SessionConfig::WsServer(WsServerConfig {
        bind,
        path: args.path.clone(),
        echo: args.echo,
        options: SocketOptions::default(),
        ws: args.ws.options(&args.send)?,
    });
    let tls = args.tls.server()?;
    let mut run = Run::open_secured(
        &args.common,
        encoding,
        config,
        Replies::Answers,
        Some(&args.framing),
        tls,
    )?;
    let once = args.once;
    Ok(run.drive_sends_and(sends, move |event, _| match event {
        Event::ConnClosed { .. } if once => Flow::Close,
        _ => Flow::Continue,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_name_colon_value() {
        assert_eq!(
            header("X-Token: a:b").unwrap(),
            ("X-Token".to_string(), "a:b".to_string())
        );
        assert!(header("no colon").is_err());
        assert!(header(": empty name").is_err());
        assert!(header("Bad Name: x").is_err());
    }
}
