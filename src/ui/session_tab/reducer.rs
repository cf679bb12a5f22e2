//! Where engine events become the tab's state and log rows: [`SessionTab::on_event`].
use super::*;

impl SessionTab {
    /// Takes in one engine event of this session.
    pub fn on_event(&mut self, event: Event, lang: Lang) {
        let t = lang.t();
        self.log.message_words = [t.ws_msg_text, t.ws_msg_binary];
        match event {
            Event::Opened { local, peer, .. } => {
                self.kept |= self.settings.keep_mib > 0;
                self.clients_left = 0;
                self.state = TabState::Open {
                    local,
                    peer,
                    listening: self.settings.kind.listens(),
                };
                self.last_error = None;
                let text = match (self.settings.kind, peer) {
                    (SessionKind::Serial, _) => format!(
                        "{} {} {}",
                        t.state_port_open,
                        self.settings.serial_port.trim(),
                        self.settings.serial.short()
                    ),
                    (_, Some(p)) => format!("{} {p} ({local})", t.connected_to),
                    (SessionKind::TcpServer | SessionKind::WsServer, None) => {
                        format!("{} {local}", t.listening_on)
                    }
                    (SessionKind::Relay, None) => {
                        format!("{} {local} → {}", t.relaying, self.settings.udp_dest.trim())
                    }
                    _ => format!("{} {local}", t.bound_to),
                };
                self.log.info(EntryKind::Info, text);
            }
            Event::ConnOpened { conn, peer, .. } => {
                self.clients.insert(
                    conn,
                    ClientRow {
                        peer,
                        since: SystemTime::now(),
                        counters: CountersSnapshot::default(),
                    },
                );
                if self.settings.kind.listens() {
                    self.log
                        .info(EntryKind::Info, format!("{peer} {}", t.client_connected));
                }
            }
            Event::ConnClosed {
                conn, peer, reason, ..
            } => {
                self.forget_decoder(&conn.0.to_string());
                if self.clients.remove(&conn).is_some() {
                    self.clients_left += 1;
                }
                if self.send_to == Some(conn) {
                    self.send_to = None;
                }
                let (kind, why) = match &reason {
                    CloseReason::PeerClosed => (EntryKind::Info, t.closed_by_peer.to_string()),
                    CloseReason::LocalClosed => (EntryKind::Info, t.closed_locally.to_string()),
                    CloseReason::Failed(e) => (EntryKind::Error, i18n::net_error(lang, e)),
                };
                let text = match self.settings.kind {
                    // A port's one "connection" ending is the port closing (or vanishing).
                    SessionKind::Serial => format!("{}: {why}", self.peer_text(peer)),
                    _ => format!("{peer} {}: {why}", t.client_left),
                };
                self.log.info(kind, text);
                // A port that vanished is waited for, to reopen when it returns (if asked).
                let vanished = matches!(&reason, CloseReason::Failed(e)
                    if matches!(e.reason(), Some(crate::engine::Reason::PortVanished)));
                if vanished
                    && self.settings.kind == SessionKind::Serial
                    && self.settings.serial_reopen
                {
                    self.port_wait = Some(Instant::now());
                    self.log.info(EntryKind::Info, t.port_waiting.to_string());
                }
            }
            Event::Secured { peer, info, .. } => {
                let mut text = format!("{peer} TLS: {}", i18n::tls_info(lang, &info));
                if info.unverified {
                    text = format!("{text} — {}", t.tls_unverified);
                }
                let kind = if info.unverified {
                    EntryKind::Error
                } else {
                    EntryKind::Info
                };
                self.log.info(kind, text);
            }
            Event::CaptureEnded {
                path, lost, error, ..
            } => self.capture_ended(lang, &path, lost, error.as_ref()),
            Event::Data {
                chunks,
                omitted_bytes,
                conn,
                ..
            } => {
                // A server's recording follows its first client after Record was clicked.
                if self.settings.kind == SessionKind::TcpServer && self.recording.is_some() {
                    self.recording_conn = self.recording_conn.or(conn);
                }
                let recorded = self.recording_conn.is_none() || self.recording_conn == conn;
                self.log.not_shown += omitted_bytes;
                if let Some(last) = chunks.iter().rev().find(|c| c.dir == Direction::Rx) {
                    self.last_sender = Some(last.peer);
                }
                for c in chunks.iter() {
                    let kind = match c.dir {
                        Direction::Rx => EntryKind::Rx,
                        Direction::Tx => EntryKind::Tx,
                    };
                    for (bytes, frame) in c.pieces() {
                        if let Some(recorder) = self.recording.as_mut().filter(|_| recorded) {
                            match c.dir {
                                Direction::Tx => recorder.sent(bytes, c.time),
                                Direction::Rx => recorder.received(bytes, c.time),
                            }
                        }
                        let unusual = frame.and_then(|f| match f.kind {
                            FrameKind::Whole => None,
                            FrameKind::Oversize => Some(t.frame_oversize),
                            FrameKind::Incomplete => Some(t.frame_incomplete),
                            FrameKind::Malformed => Some(t.frame_malformed),
                        });
                        let decoded = self.decode_piece(lang, conn, c, bytes);
                        self.log.push(LogEntry {
                            time: c.time,
                            kind,
                            // A serial port has no address: its rows name no peer.
                            peer: (self.settings.kind != SessionKind::Serial).then_some(c.peer),
                            bytes: bytes.to_vec(),
                            frame,
                            decoded,
                        });
                        // A frame that is not whole says why, in the user's words, right after.
                        if let Some(why) = unusual {
                            self.log.info(EntryKind::Error, why.to_string());
                        }
                    }
                }
            }
            Event::Stats { stats, .. } => {
                for (id, counters) in &stats.conns {
                    if let Some(row) = self.clients.get_mut(id) {
                        row.counters = *counters;
                    }
                }
                let now = self.started.elapsed().as_secs_f64();
                self.rates.push_back([now, stats.rx_rate, stats.tx_rate]);
                while self.rates.front().is_some_and(|r| now - r[0] > 60.0) {
                    self.rates.pop_front();
                }
                self.stats = stats;
            }
            Event::ListenStopped { .. } => {
                if let TabState::Open { listening, .. } = &mut self.state {
                    *listening = false;
                }
            }
            Event::RepeatDone { .. } => self.repeating = false,
            Event::SaveStarted { path, follow, .. } => {
                self.log.info(
                    EntryKind::Info,
                    format!("{} {}", t.saving_to, path.display()),
                );
                self.saving = Some(Saving {
                    path,
                    follow,
                    bytes: 0,
                });
            }
            Event::SaveProgress { bytes, .. } => {
                if let Some(saving) = &mut self.saving {
                    saving.bytes = bytes;
                }
            }
            Event::Saved {
                path,
                bytes,
                missing_bytes,
                error,
                ..
            } => {
                self.saving = None;
                let mut text = format!(
                    "{} {} {} → {}",
                    t.saved_bytes,
                    exact_count(bytes),
                    t.bytes_unit,
                    path.display()
                );
                if missing_bytes > 0 {
                    text += &format!(
                        "; {} {} {}",
                        exact_count(missing_bytes),
                        t.bytes_unit,
                        t.missing_note
                    );
                }
                match error {
                    Some(e) => {
                        let why = i18n::net_error(lang, &e);
                        self.log.info(EntryKind::Error, format!("{why} ({text})"));
                        self.last_error = Some(why);
                    }
                    None => self.log.info(EntryKind::Info, text),
                }
            }
            Event::Progress {
                done, total, rate, ..
            } => {
                self.file_progress = Some(FileProgress { done, total, rate });
            }
            Event::FileDone {
                path,
                bytes,
                sha256,
                ..
            } => {
                self.file_progress = None;
                let hash = sha256.map(|h| format!(" SHA-256 {h}")).unwrap_or_default();
                self.log.info(
                    EntryKind::Info,
                    format!(
                        "{} {} ({} {}){hash}",
                        t.file_done,
                        path.display(),
                        exact_count(bytes),
                        t.bytes_unit
                    ),
                );
            }
            Event::Error { error, .. } => {
                if matches!(
                    error.kind,
                    crate::engine::NetErrorKind::Cancelled | crate::engine::NetErrorKind::File
                ) {
                    self.file_progress = None;
                }
                let text = i18n::net_error(lang, &error);
                self.log.info(EntryKind::Error, text.clone());
                self.last_error = Some(text);
            }
            Event::Warning { error, .. } => {
                self.log
                    .info(EntryKind::Error, i18n::net_error(lang, &error));
            }
            Event::Ws { peer, note, .. } => {
                let text = format!("{peer} {}", i18n::ws_note(lang, &note));
                self.log.info(EntryKind::Info, text);
            }
            Event::ScriptLog { text, .. } => {
                self.log
                    .info(EntryKind::Info, format!("{} {text}", t.script_says));
            }
            // Shown beside the control lines, not logged (a ringing line would fill the log).
            Event::ModemLines { lines, .. } => self.modem = Some(lines),
            Event::LineChanged { peer, change, .. } => {
                let said = i18n::line_change(lang, &change);
                // A serial tab's own port, or a bridge's RFC 2217 client.
                let text = if peer == crate::engine::serial::NO_ADDRESS {
                    said
                } else {
                    format!("RFC 2217 {peer}: {said}")
                };
                self.log.info(EntryKind::Info, text);
            }
            // The window does not ask for send outcomes; a failed send is an error event too.
            Event::SendResult { .. } => {}
            Event::Closed { error, .. } => {
                if let Some(e) = &error {
                    let text = i18n::net_error(lang, e);
                    self.log.info(EntryKind::Error, text.clone());
                    self.last_error = Some(text);
                } else {
                    self.log.info(EntryKind::Info, t.session_closed.to_string());
                }
                self.clients.clear();
                self.send_to = None;
                self.repeating = false;
                self.file_progress = None;
                self.state = TabState::Closed(error);
            }
        }
    }
}
