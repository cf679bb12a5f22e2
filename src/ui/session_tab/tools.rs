//! The tab's tools beside the log: capture, recording, framing, TLS, and the commands that
//! open the session.
use super::*;

impl SessionTab {
    /// The framing typed in the tab (empty: none).
    pub fn frame_spec(&self) -> Result<FrameSpec, crate::payload::framing::FrameSpecError> {
        match self.settings.framing.trim() {
            "" => Ok(FrameSpec::None),
            spec => spec.parse(),
        }
    }

    /// Can this tab be recorded as a sequence? A client replays; a server (its first client
    /// after Record) or a UDP tab without a destination records the device's side: a simulator.
    pub fn recordable(&self) -> bool {
        // A sequence has no WebSocket connection kind yet.
        !matches!(
            self.settings.kind,
            SessionKind::Relay | SessionKind::WsClient | SessionKind::WsServer
        )
    }

    /// Asks the engine for a pcapng capture of what is sent and received from now on (its
    /// open connections included); the log says how it ended, or why it could not start (the
    /// file exists, the folder is not writable).
    pub fn start_capture(&mut self, lang: Lang, commands: &mut Vec<Command>) {
        let path = self.capture_file.path_buf();
        // Servers and relays accept their connections; clients and UDP send first.
        let connects = matches!(
            self.settings.kind,
            SessionKind::TcpClient | SessionKind::Udp
        );
        commands.push(Command::Capture {
            session: self.id,
            request: crate::engine::capture::CaptureRequest {
                path: path.clone(),
                label: self.title(lang.t()),
                connects,
            },
        });
        self.capture = Some(path);
    }

    /// Asks the engine to end the capture; [`Event::CaptureEnded`] says how it went.
    pub fn stop_capture(&mut self, commands: &mut Vec<Command>) {
        if self.capture.is_some() {
            commands.push(Command::StopCapture { session: self.id });
        }
    }

    /// Says how a capture ended: written, with bytes missing each way, or failed.
    pub(super) fn capture_ended(
        &mut self,
        lang: Lang,
        path: &std::path::Path,
        lost: crate::engine::capture::Lost,
        error: Option<&crate::engine::NetError>,
    ) {
        let t = lang.t();
        self.capture = None;
        let (kind, text) = match error {
            Some(e) => {
                let why = match e.kind {
                    crate::engine::NetErrorKind::FileExists => t.file_exists.to_string(),
                    _ => i18n::net_error(lang, e),
                };
                let text = format!("{} {}: {why}", t.capture_failed, path.display());
                (EntryKind::Error, text)
            }
            None if lost.is_none() => (
                EntryKind::Info,
                format!("{} {}", t.capture_saved, path.display()),
            ),
            None => (
                EntryKind::Error,
                format!(
                    "{} {} — {} {} {}, {} {}",
                    t.capture_saved,
                    path.display(),
                    t.capture_missing,
                    lost.rx_bytes,
                    t.capture_lost_rx,
                    lost.tx_bytes,
                    t.capture_lost_tx
                ),
            ),
        };
        self.log.info(kind, text);
    }

    /// Starts recording what is sent and received from now on.
    pub fn start_recording(&mut self) {
        let framed = self.effective_frame() != FrameSpec::None;
        self.recording = Some(crate::sequence::Recorder::new(
            self.settings.format.encoding,
            framed,
        ));
        self.recording_conn = None;
    }

    /// Ends the recording: the sequence that replays it, talking to this tab's peer.
    /// Its name says when, in the user's language.
    pub fn stop_recording(&mut self, lang: Lang) -> Option<crate::sequence::Sequence> {
        use crate::sequence::{Connection, ConnectionKind};
        let recorder = self.recording.take()?;
        let s = &self.settings;
        // Where it listens now (a port 0 became a real one), else where it was told to.
        let local = || match &self.state {
            TabState::Open { local, .. } => Some(local.to_string()),
            _ => Some(format!("{}:{}", s.local_addr.trim(), s.local_port.trim())),
        };
        let (kind, remote, bind) = match s.kind {
            SessionKind::TcpClient => (
                ConnectionKind::TcpClient,
                format!("{}:{}", s.remote_host.trim(), s.remote_port.trim()),
                None,
            ),
            SessionKind::TcpServer | SessionKind::Relay => {
                (ConnectionKind::TcpServer, String::new(), local())
            }
            // Without a destination a UDP tab answers whoever sends: it listens.
            SessionKind::Udp if s.udp_dest.trim().is_empty() => {
                (ConnectionKind::Udp, String::new(), local())
            }
            SessionKind::Udp => (ConnectionKind::Udp, s.udp_dest.trim().to_string(), None),
            SessionKind::Serial => (ConnectionKind::Serial, String::new(), None),
            SessionKind::WsClient | SessionKind::WsServer => return None,
        };
        let frame = Some(self.effective_frame())
            .filter(|f| *f != FrameSpec::None)
            .map(|f| f.to_string());
        // A built-in decoder is named (a simulator made of the recording follows it); a
        // protocol file's framing is written out as `frame`.
        let decode = self
            .decode_spec()
            .ok()
            .flatten()
            .filter(|d| !matches!(d, crate::payload::decode::DecodeSpec::Protocol(_)))
            .map(|d| d.name().to_string());
        let serial = (kind == ConnectionKind::Serial).then_some(s.serial);
        let connection = Connection {
            kind,
            remote,
            bind,
            port: serial.map(|_| s.serial_port.trim().to_string()),
            baud: serial.map(|l| l.baud),
            data_bits: serial.map(|l| l.data_bits),
            parity: serial.map(|l| l.parity.name().to_string()),
            stop_bits: serial.map(|l| l.stop_bits.count()),
            flow: serial.map(|l| l.flow.name().to_string()),
            encoding: Some(s.format.encoding.label().to_string()),
            timeout_ms: None,
            frame,
            decode,
            ..Connection::default()
        };
        let connection = s
            .tls
            .as_connection(connection, s.kind == SessionKind::TcpServer);
        Some(recorder.sequence(
            &format!("{} {}", lang.t().recorded_at, clock(SystemTime::now())),
            connection,
        ))
    }

    /// Are sends framed (a framer set and "frame what I send" ticked)?
    pub fn frames_sends(&self) -> bool {
        self.frames()
            && self.settings.frame_sends
            && self.frame_spec().is_ok_and(|s| s != FrameSpec::None)
    }

    /// The bytes a send of `bytes` puts on the wire when sends are framed.
    pub fn framed_preview(
        &self,
        bytes: &[u8],
    ) -> Result<Vec<u8>, crate::payload::framing::FrameEncodeError> {
        self.frame_spec().unwrap_or_default().encode(bytes)
    }

    /// Does this kind of tab frame what it receives (TCP client, server, TCP relay, and UDP
    /// within each datagram)?
    pub fn frames(&self) -> bool {
        match self.settings.kind {
            SessionKind::TcpClient
            | SessionKind::TcpServer
            | SessionKind::Udp
            | SessionKind::Serial => true,
            SessionKind::Relay => !self.settings.relay_udp,
            // Each message is a frame already.
            SessionKind::WsClient | SessionKind::WsServer => false,
        }
    }

    /// The TLS the session opens with (`None`: plain TCP), or why it cannot.
    pub fn tls_settings(
        &self,
        t: &Texts,
    ) -> Result<Option<crate::engine::tls::TlsSettings>, &'static str> {
        match self.settings.kind {
            SessionKind::TcpClient => self.tls.client(&self.settings.tls, t),
            // wss:// is TLS; the TLS section says how the server is checked.
            SessionKind::WsClient if self.settings.ws.secure() => {
                self.tls.client(&self.settings.tls, t)
            }
            SessionKind::WsClient => Ok(None),
            SessionKind::TcpServer | SessionKind::WsServer => {
                self.tls.server(&self.settings.tls, t)
            }
            SessionKind::Relay if !self.settings.relay_udp => self.tls.relay(&self.settings.tls, t),
            SessionKind::Udp | SessionKind::Relay | SessionKind::Serial => Ok(None),
        }
    }

    /// Opens the session with the current settings (valid settings assumed): what to keep,
    /// how to frame, the session, its reply limit. Nothing happens when the settings are not
    /// valid.
    pub fn open(&mut self, commands: &mut Vec<Command>) {
        let Some(config) = self.config() else {
            return;
        };
        self.state = TabState::Opening;
        self.last_error = None;
        self.lines = (true, true);
        self.port_wait = None;
        self.modem = None;
        commands.push(Command::KeepReceived {
            session: self.id,
            limit_bytes: self.settings.keep_mib.saturating_mul(1 << 20),
        });
        self.reset_decoders();
        // Always said, so a script turned off since the last open is off.
        let script = self.script_command();
        self.scripting.running = match &script {
            Command::SetScript {
                script: Some(_), ..
            } => Some(self.settings.script.clone()),
            _ => None,
        };
        commands.push(script);
        if self.frames() {
            commands.push(Command::SetFraming {
                session: self.id,
                spec: self.effective_frame(),
                max_frame: crate::payload::framing::DEFAULT_MAX_FRAME,
                frame_sends: self.settings.frame_sends,
            });
        }
        if self.settings.kind != SessionKind::Udp {
            // Always said, so TLS turned off since the last open is off.
            let tls = self.tls_settings(Lang::En.t()).ok().flatten();
            commands.push(Command::SetTls {
                session: self.id,
                tls,
            });
        }
        // The rules before the open: they answer from the first byte (none: none).
        commands.push(Command::SetReplyLimit {
            session: self.id,
            per_s: self.settings.reply_limit_per_s,
        });
        let s = &self.settings;
        let answers = s.kind != SessionKind::Relay;
        let rules = self
            .rules
            .on_open(s.rules_on && answers, &s.rules.rules, s.format.encoding)
            .unwrap_or_default();
        commands.push(Command::SetRules {
            session: self.id,
            rules,
        });
        commands.push(Command::Open {
            session: self.id,
            config,
        });
    }
}
