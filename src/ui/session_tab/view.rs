//! The tab's views: endpoint, receive log, side panel (counters, clients, files, quick
//! commands) and send panel. They draw the model and collect engine commands; what the tab
//! *is* and how events change it lives in the parent module, free of egui.

use super::*;
use crate::ui::widgets::{
    bytes_label, checked_field, checksum_combo, encoding_combo, line_ending_combo, progress_bar,
    rate_label, ERROR_COLOR, OK_COLOR, RX_COLOR, TX_COLOR, WARN_COLOR,
};
use eframe::egui::{self, Color32, RichText};

impl SessionTab {
    /// Draws the tab; engine commands go to `commands`.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        lang: Lang,
        local_ips: &[IpAddr],
        commands: &mut Vec<Command>,
    ) -> Option<TabRequest> {
        let mut request = None;
        self.endpoint_ui(ui, lang, local_ips, commands);
        ui.separator();
        egui::Panel::right(("side", self.id.0))
            .default_size(330.0)
            .resizable(true)
            .show(ui, |ui| {
                // Both ways: content wider than the panel scrolls instead of widening it, so
                // nothing moves when the first client (a wide row) appears.
                egui::ScrollArea::both()
                    .id_salt("side_scroll")
                    .show(ui, |ui| {
                        self.side_ui(ui, lang, commands, &mut request);
                    });
            });
        // A relay forwards what its clients and target say; it has nothing of its own to send.
        if self.settings.kind != SessionKind::Relay {
            egui::Panel::bottom(("send", self.id.0))
                .resizable(true)
                .default_size(170.0)
                .show(ui, |ui| {
                    self.send_ui(ui, lang, commands);
                });
        }
        // One encoding both ways unless split: either picker changes it.
        let shared = !self.settings.split_encodings;
        if shared {
            self.log.encoding = self.settings.format.encoding;
        }
        egui::CentralPanel::default().show(ui, |ui| {
            if let Some(LogAction::Save { csv }) = self.log.ui(ui, lang) {
                request = Some(TabRequest::SaveLog { csv });
            }
        });
        if shared {
            self.settings.format.encoding = self.log.encoding;
        }
        self.settings.log_encoding = self.log.encoding;
        self.settings.log_display = self.log.display;
        if self.probe.open || self.probe.is_running() {
            let t = lang.t();
            let title = format!("{} {}", t.probe_of, self.title(t));
            let id = egui::Id::unique(("tab_probe", self.id.0));
            self.probe.show(ui.ctx(), lang, id, &title);
        }
        request
    }

    fn endpoint_ui(
        &mut self,
        ui: &mut egui::Ui,
        lang: Lang,
        local_ips: &[IpAddr],
        commands: &mut Vec<Command>,
    ) {
        let t = lang.t();
        let errors = self.endpoint_errors(lang, local_ips);
        let active = self.is_active();
        ui.horizontal(|ui| {
            ui.add_enabled_ui(!active, |ui| match self.settings.kind {
                SessionKind::TcpClient => {
                    checked_field(
                        ui,
                        t.remote_host,
                        &mut self.settings.remote_host,
                        180.0,
                        errors.host,
                    );
                    checked_field(
                        ui,
                        t.remote_port,
                        &mut self.settings.remote_port,
                        70.0,
                        errors.port,
                    );
                }
                SessionKind::TcpServer | SessionKind::Udp | SessionKind::Relay => {
                    ui.vertical(|ui| {
                        let label = ui.label(t.local_addr);
                        ui.horizontal(|ui| {
                            let mut edit =
                                egui::TextEdit::singleline(&mut self.settings.local_addr)
                                    .desired_width(150.0);
                            if errors.local.is_some() {
                                edit = edit.text_color(ERROR_COLOR);
                            }
                            ui.add(edit).labelled_by(label.id);
                            egui::ComboBox::from_id_salt(("local_choices", self.id.0))
                                .selected_text("")
                                .width(16.0)
                                .show_ui(ui, |ui| {
                                    for ip in local_choices(local_ips) {
                                        let text = ip.to_string();
                                        if ui
                                            .selectable_label(
                                                self.settings.local_addr == text,
                                                &text,
                                            )
                                            .clicked()
                                        {
                                            self.settings.local_addr = text;
                                        }
                                    }
                                })
                                .response
                                .on_hover_text(t.local_addr)
                                .accessible_name(format!("{} ⏷", t.local_addr));
                        });
                        if let Some(e) = errors.local {
                            ui.colored_label(ERROR_COLOR, e);
                        }
                    });
                    checked_field(
                        ui,
                        t.local_port,
                        &mut self.settings.local_port,
                        70.0,
                        errors.port,
                    );
                    ui.vertical(|ui| {
                        ui.add_space(ui.spacing().interact_size.y);
                        if self.settings.kind == SessionKind::Relay {
                            ui.checkbox(&mut self.settings.relay_udp, t.udp);
                        } else {
                            ui.checkbox(&mut self.settings.echo, t.echo);
                        }
                    });
                }
            });
            if self.frames() {
                ui.add_enabled_ui(!active, |ui| self.framing_ui(ui, t, errors.framing));
            }
            if self.settings.kind == SessionKind::Relay {
                checked_field(
                    ui,
                    t.relay_target,
                    &mut self.settings.udp_dest,
                    180.0,
                    errors.dest,
                );
            }
            if self.settings.kind == SessionKind::Udp {
                // Replying to the last sender, the field is not where sends go: it says so.
                ui.vertical(|ui| {
                    ui.add_enabled_ui(!self.reply_to_last, |ui| {
                        checked_field(
                            ui,
                            t.destination,
                            &mut self.settings.udp_dest,
                            180.0,
                            errors.dest,
                        );
                    });
                    if self.reply_to_last {
                        let to = self
                            .last_sender
                            .map_or_else(|| t.no_sender_yet.to_string(), |p| p.to_string());
                        ui.label(format!("→ {} {to}", t.last_sender));
                    }
                });
            }
            ui.vertical(|ui| {
                ui.add_space(ui.spacing().interact_size.y);
                ui.horizontal(|ui| {
                    let (open_text, close_text) = match self.settings.kind {
                        SessionKind::TcpClient => (t.connect, t.disconnect),
                        SessionKind::TcpServer => (t.listen, t.stop),
                        SessionKind::Udp => (t.open_udp, t.close_udp),
                        SessionKind::Relay => (t.start_relay, t.stop),
                    };
                    if active {
                        if ui.button(RichText::new(close_text).strong()).clicked() {
                            commands.push(Command::Close { session: self.id });
                        }
                    } else {
                        let ok = errors.is_empty();
                        if ui
                            .add_enabled(ok, egui::Button::new(RichText::new(open_text).strong()))
                            .clicked()
                        {
                            self.open(commands);
                        }
                    }
                    let (state, color) = self.state_text(t);
                    ui.label(RichText::new(state).color(color).strong());
                });
            });
        });
        match self.settings.kind {
            SessionKind::TcpClient => {
                ui.add_enabled_ui(!active, |ui| {
                    self.tls
                        .client_ui(ui, t, &mut self.settings.tls, errors.tls)
                });
            }
            // The fingerprint stays copyable while listening.
            SessionKind::TcpServer => {
                self.tls
                    .server_ui(ui, t, &mut self.settings.tls, errors.tls, active)
            }
            SessionKind::Relay if !self.settings.relay_udp => {
                self.tls
                    .relay_ui(ui, t, &mut self.settings.tls, errors.tls, active)
            }
            SessionKind::Udp | SessionKind::Relay => {}
        }
        if let Some(e) = &self.last_error {
            // What happened and what to try; the system's words when pointed at.
            let (sentence, detail) = e.split_once('\n').unwrap_or((e, ""));
            let label = ui.colored_label(ERROR_COLOR, sentence);
            if !detail.is_empty() {
                label.on_hover_text(detail);
            }
        }
        if self.settings.kind == SessionKind::Udp {
            ui.horizontal(|ui| {
                if ui
                    .checkbox(&mut self.settings.broadcast, t.broadcast)
                    .changed()
                    && active
                {
                    commands.push(Command::SetBroadcast {
                        session: self.id,
                        on: self.settings.broadcast,
                    });
                }
                ui.checkbox(&mut self.reply_to_last, t.reply_to_last);
                ui.separator();
                let group_label = ui.label(t.multicast_group);
                let group = self
                    .settings
                    .multicast_group
                    .trim()
                    .parse::<IpAddr>()
                    .ok()
                    .filter(|g| g.is_multicast());
                let mut edit = egui::TextEdit::singleline(&mut self.settings.multicast_group)
                    .desired_width(140.0);
                if group.is_none() {
                    edit = edit.text_color(ERROR_COLOR);
                }
                ui.add(edit)
                    .labelled_by(group_label.id)
                    .on_hover_text(t.err_group);
                let can = active && group.is_some();
                if ui.add_enabled(can, egui::Button::new(t.join)).clicked() {
                    if let Some(group) = group {
                        commands.push(Command::JoinMulticast {
                            session: self.id,
                            group,
                            interface: 0,
                        });
                    }
                }
                if ui.add_enabled(can, egui::Button::new(t.leave)).clicked() {
                    if let Some(group) = group {
                        commands.push(Command::LeaveMulticast {
                            session: self.id,
                            group,
                            interface: 0,
                        });
                    }
                }
            });
        }
    }

    /// The framing spec: typed, or picked from examples; set before opening.
    fn framing_ui(&mut self, ui: &mut egui::Ui, t: &Texts, error: Option<&str>) {
        const EXAMPLES: [(&str, &str); 9] = [
            ("", ""),
            ("line", "\\n"),
            ("delimiter:0D0A", "\\r\\n"),
            ("delimiter:7E", "0x7E"),
            ("length:4:2:be:6", "Modbus TCP"),
            ("fixed:8", ""),
            ("idle:50", ""),
            ("slip", "RFC 1055"),
            ("cobs", ""),
        ];
        ui.vertical(|ui| {
            let label = ui.label(t.framing).on_hover_text(t.framing_hint);
            ui.horizontal(|ui| {
                let mut edit =
                    egui::TextEdit::singleline(&mut self.settings.framing).desired_width(120.0);
                if error.is_some() {
                    edit = edit.text_color(ERROR_COLOR);
                }
                ui.add(edit)
                    .labelled_by(label.id)
                    .on_hover_text(t.framing_hint);
                egui::ComboBox::from_id_salt(("framing_examples", self.id.0))
                    .selected_text("")
                    .width(16.0)
                    .show_ui(ui, |ui| {
                        for (spec, note) in EXAMPLES {
                            let text = if spec.is_empty() {
                                t.no_framing.to_string()
                            } else if note.is_empty() {
                                spec.to_string()
                            } else {
                                format!("{spec}  ({note})")
                            };
                            if ui
                                .selectable_label(self.settings.framing == spec, text)
                                .clicked()
                            {
                                self.settings.framing = spec.to_string();
                            }
                        }
                    })
                    .response
                    .accessible_name(format!("{} ⏷", t.framing));
            });
            if let Some(e) = error {
                ui.colored_label(ERROR_COLOR, e);
            }
            // A relay passes bytes on unchanged: it has nothing of its own to frame.
            if self.settings.kind != SessionKind::Relay {
                ui.checkbox(&mut self.settings.frame_sends, t.frame_sends)
                    .on_hover_text(t.frame_sends_hint);
            }
        });
    }

    fn state_text(&self, t: &Texts) -> (String, Color32) {
        match &self.state {
            TabState::Closed(_) => (t.state_closed.into(), Color32::GRAY),
            TabState::Opening => (t.state_opening.into(), WARN_COLOR),
            TabState::Open {
                local,
                peer,
                listening,
            } => {
                let green = OK_COLOR;
                match (self.settings.kind, peer) {
                    (_, Some(p)) => (format!("{} {p}", t.state_connected), green),
                    (SessionKind::TcpServer, _) if *listening => {
                        (format!("{} {local}", t.state_listening), green)
                    }
                    (SessionKind::TcpServer, _) => (t.state_not_listening.into(), WARN_COLOR),
                    (SessionKind::Relay, _) => (
                        format!("{} {local} → {}", t.relaying, self.settings.udp_dest.trim()),
                        green,
                    ),
                    _ => (format!("{} {local}", t.state_bound), green),
                }
            }
        }
    }

    fn side_ui(
        &mut self,
        ui: &mut egui::Ui,
        lang: Lang,
        commands: &mut Vec<Command>,
        request: &mut Option<TabRequest>,
    ) {
        let t = lang.t();
        let s = self.stats.total;
        let exact = self.settings.exact_figures;
        // Fixed column widths: a figure that grows never pushes its neighbour.
        egui::Grid::new(("counters", self.id.0))
            .num_columns(3)
            .min_col_width(60.0)
            .show(ui, |ui| {
                ui.strong(t.rx);
                bytes_label(ui, s.rx_bytes, exact, t);
                ui.label(format!("{} {}", exact_count(s.rx_packets), t.packets));
                ui.end_row();
                ui.strong(t.tx);
                bytes_label(ui, s.tx_bytes, exact, t);
                ui.label(format!("{} {}", exact_count(s.tx_packets), t.packets));
                ui.end_row();
                ui.strong(t.rate);
                rate_label(ui, "↓", self.stats.rx_rate, t);
                ui.end_row();
                ui.label("");
                rate_label(ui, "↑", self.stats.tx_rate, t);
                ui.end_row();
            });
        ui.checkbox(&mut self.settings.exact_figures, t.exact_figures)
            .on_hover_text(t.exact_figures_hint);
        ui.horizontal(|ui| {
            if ui.button(t.reset).clicked() {
                commands.push(Command::ResetStats { session: self.id });
                self.stats = SessionStats::default();
                self.rates.clear();
            }
            match &self.saving {
                Some(saving) => {
                    let label = ui.add_enabled(saving.follow, egui::Button::new(t.stop_saving));
                    if label.clicked() {
                        commands.push(Command::StopSaving { session: self.id });
                    }
                    ui.label(format!("{} {}", exact_count(saving.bytes), t.bytes_unit))
                        .on_hover_text(saving.path.display().to_string());
                }
                None => {
                    if ui
                        .add_enabled(self.kept, egui::Button::new(t.save_received))
                        .on_hover_text(t.save_all_since)
                        .clicked()
                    {
                        *request = Some(TabRequest::SaveReceived);
                    }
                }
            }
        });
        // A UDP relay's datagrams do not say which client they are for: not captured.
        if !(self.settings.kind == SessionKind::Relay && self.settings.relay_udp) {
            if self.capture.is_some() {
                ui.horizontal(|ui| {
                    if ui.button(t.stop_capture).clicked() {
                        self.stop_capture(commands);
                    }
                    if let Some(path) = &self.capture {
                        ui.colored_label(ERROR_COLOR, path.display().to_string());
                    }
                });
            } else {
                self.capture_file
                    .ui(ui, t, t.capture_file, DialogKind::SaveFile, 110.0);
                let ready = !self.capture_file.path.trim().is_empty();
                if ui
                    .add_enabled(ready, egui::Button::new(t.capture))
                    .on_hover_text(t.capture_hint)
                    .clicked()
                {
                    self.start_capture(lang, commands);
                }
            }
        }
        if let Some((target, udp)) = self.probe_target() {
            if ui
                .button(t.probe_this_peer)
                .on_hover_text(t.probe_this_peer_hint)
                .clicked()
            {
                self.probe.aim(target, udp, &self.settings.format);
                self.probe.open = true;
            }
        }
        if self.recordable() {
            ui.horizontal(|ui| {
                if self.recording.is_some() {
                    if ui.button(t.stop_recording).clicked() {
                        if let Some(sequence) = self.stop_recording() {
                            *request = Some(TabRequest::Recorded(Box::new(sequence)));
                        }
                    }
                    ui.colored_label(ERROR_COLOR, t.recording_now);
                } else if ui.button(t.record).on_hover_text(t.record_hint).clicked() {
                    self.start_recording();
                }
            });
        }
        ui.horizontal(|ui| {
            let label = ui.label(t.keep_limit).on_hover_text(t.keep_limit_hint);
            let changed = ui
                .add(egui::DragValue::new(&mut self.settings.keep_mib).range(0..=1 << 20))
                .on_hover_text(t.keep_limit_hint)
                .labelled_by(label.id)
                .changed();
            // A closed tab sends it when it opens; an open one's engine side follows now.
            if changed && self.kept {
                commands.push(Command::KeepReceived {
                    session: self.id,
                    limit_bytes: self.settings.keep_mib.saturating_mul(1 << 20),
                });
            }
        });
        self.file_ui(ui, t, commands);
        ui.separator();
        let active = self.is_active();
        let actions = self
            .quick
            .ui(ui, lang, self.id.0, &mut self.settings, &self.stats, active);
        for action in actions {
            match action {
                QuickAction::Send(i) => self.send_quick(i, lang, commands),
                // A closed tab sends its limit when it opens.
                QuickAction::SetReplyLimit(per_s) if self.is_active() => {
                    commands.push(Command::SetReplyLimit {
                        session: self.id,
                        per_s,
                    })
                }
                QuickAction::SetReplyLimit(_) => {}
            }
        }
        if self.settings.kind != SessionKind::Relay {
            self.rules_ui(ui, lang, commands);
        }
        let rx: Vec<[f64; 2]> = self.rates.iter().map(|r| [r[0], r[1]]).collect();
        let tx: Vec<[f64; 2]> = self.rates.iter().map(|r| [r[0], r[2]]).collect();
        egui_plot::Plot::new(("rate_plot", self.id.0))
            .height(110.0)
            .allow_zoom(false)
            .allow_drag(false)
            .allow_scroll(false)
            .include_y(0.0)
            .show_axes([false, true])
            // The axis in bytes per second with units, never a bare 1000000000.
            .y_axis_formatter(|mark, _range| {
                format!("{}/s", human_bytes(mark.value.max(0.0) as u64))
            })
            .y_axis_min_width(64.0)
            .legend(egui_plot::Legend::default())
            .show(ui, |plot| {
                plot.line(egui_plot::Line::new(t.rx, rx).color(RX_COLOR));
                plot.line(egui_plot::Line::new(t.tx, tx).color(TX_COLOR));
            });
        if matches!(
            self.settings.kind,
            SessionKind::TcpServer | SessionKind::Relay
        ) {
            ui.separator();
            self.clients_ui(ui, lang, commands);
        }
    }

    /// Sends a file's raw bytes over the session, with progress and cancel.
    /// The auto-reply rules, folded until wanted (open when there are rules).
    fn rules_ui(&mut self, ui: &mut egui::Ui, lang: Lang, commands: &mut Vec<Command>) {
        let t = lang.t();
        let active = self.is_active();
        let s = &mut self.settings;
        let title = if s.rules.rules.is_empty() {
            t.rules_title.to_string()
        } else {
            format!("{} ({})", t.rules_title, s.rules.rules.len())
        };
        egui::CollapsingHeader::new(title)
            .id_salt(("rules", self.id.0))
            .default_open(!s.rules.rules.is_empty())
            .show(ui, |ui| {
                let actions = self.rules.ui(
                    ui,
                    lang,
                    &mut s.rules,
                    &mut s.rules_on,
                    s.format.encoding,
                    &self.stats.rule_fires,
                    active,
                );
                for RulesAction::Set(rules) in actions {
                    commands.push(Command::SetRules {
                        session: self.id,
                        rules,
                    });
                }
            });
        s.rules_path = self.rules.file.path_buf().display().to_string();
    }

    fn file_ui(&mut self, ui: &mut egui::Ui, t: &Texts, commands: &mut Vec<Command>) {
        self.file
            .ui(ui, t, t.file_path, DialogKind::OpenFile, 200.0);
        ui.horizontal(|ui| match self.file_progress {
            Some(p) => {
                if ui.button(t.cancel_file).clicked() {
                    commands.push(Command::CancelFile { session: self.id });
                    self.file_progress = None;
                }
                progress_bar(ui, p.done, p.total, p.rate, t);
            }
            None => {
                let ready = self.is_active() && !self.file.path.trim().is_empty();
                if ui
                    .add_enabled(ready, egui::Button::new(t.send_file))
                    .clicked()
                {
                    commands.push(Command::SendFile {
                        session: self.id,
                        target: self.target(),
                        path: self.file.path_buf(),
                        options: StreamOptions::default(),
                    });
                    self.file_progress = Some(FileProgress {
                        done: 0,
                        total: None,
                        rate: 0.0,
                    });
                }
            }
        });
    }

    fn clients_ui(&mut self, ui: &mut egui::Ui, lang: Lang, commands: &mut Vec<Command>) {
        let t = lang.t();
        let exact = self.settings.exact_figures;
        ui.strong(format!("{} ({})", t.clients, self.clients.len()));
        if let TabState::Open {
            listening: true, ..
        } = self.state
        {
            if ui.small_button(t.stop_accepting).clicked() {
                commands.push(Command::StopListening {
                    session: self.id,
                    keep_clients: true,
                });
            }
        }
        if self.clients.is_empty() {
            ui.label(if self.clients_left > 0 {
                format!(
                    "{} ({} {})",
                    t.no_clients_now, self.clients_left, t.clients_left
                )
            } else {
                t.no_clients.to_string()
            });
            return;
        }
        egui::ScrollArea::vertical()
            .id_salt("clients")
            .show(ui, |ui| {
                egui::Grid::new(("clients_grid", self.id.0))
                    .striped(true)
                    .num_columns(5)
                    .show(ui, |ui| {
                        ui.strong(t.address);
                        ui.strong(t.since);
                        ui.strong(t.bytes_in);
                        ui.strong(t.bytes_out);
                        ui.label("");
                        ui.end_row();
                        for (id, row) in &self.clients {
                            let selected = self.send_to == Some(*id);
                            if ui
                                .selectable_label(selected, row.peer.to_string())
                                .clicked()
                            {
                                self.send_to = if selected { None } else { Some(*id) };
                            }
                            ui.label(clock(row.since));
                            bytes_label(ui, row.counters.rx_bytes, exact, t);
                            bytes_label(ui, row.counters.tx_bytes, exact, t);
                            if ui.small_button("×").on_hover_text(t.disconnect).clicked() {
                                commands.push(Command::Disconnect {
                                    session: self.id,
                                    conn: *id,
                                });
                            }
                            ui.end_row();
                        }
                    });
            });
    }

    fn send_ui(&mut self, ui: &mut egui::Ui, lang: Lang, commands: &mut Vec<Command>) {
        let t = lang.t();
        let f = &mut self.settings.format;
        ui.horizontal_wrapped(|ui| {
            ui.radio_value(&mut f.mode, InputMode::Text, t.text);
            ui.radio_value(&mut f.mode, InputMode::Hex, t.hex);
            encoding_combo(
                ui,
                &format!("send_enc{}", self.id.0),
                t.encoding,
                &mut f.encoding,
            );
            ui.checkbox(&mut self.settings.split_encodings, t.split_encodings)
                .on_hover_text(t.split_encodings_hint);
            ui.checkbox(&mut f.escapes, t.escapes);
            ui.checkbox(&mut f.macros, t.macros)
                .on_hover_text(t.macros_hint);
            line_ending_combo(
                ui,
                &format!("send_le{}", self.id.0),
                t.line_ending,
                t.none,
                &mut f.line_ending,
            );
            checksum_combo(
                ui,
                &format!("send_ck{}", self.id.0),
                t.checksum,
                t.none,
                &mut f.checksum,
            );
        });
        if self.settings.kind == SessionKind::TcpServer {
            ui.horizontal(|ui| {
                ui.label(t.send_to);
                let selected = match self.send_to.and_then(|c| self.clients.get(&c)) {
                    Some(row) => row.peer.to_string(),
                    None => t.all_clients.to_string(),
                };
                egui::ComboBox::from_id_salt(("send_to", self.id.0))
                    .selected_text(selected)
                    .show_ui(ui, |ui| {
                        ui.selectable_value(&mut self.send_to, None, t.all_clients);
                        for (id, row) in &self.clients {
                            ui.selectable_value(&mut self.send_to, Some(*id), row.peer.to_string());
                        }
                    })
                    .response
                    .accessible_name(t.send_to);
            });
        }
        let payload = build_payload(&self.settings.input, &self.settings.format);
        let input_id = ui.make_persistent_id(("send_input", self.id.0));
        let edit = egui::TextEdit::multiline(&mut self.settings.input)
            .id(input_id)
            .desired_rows(3)
            .desired_width(f32::INFINITY)
            .font(egui::TextStyle::Monospace)
            .hint_text(t.send_hint);
        // Enter sends; Shift+Enter is a new line. Take the key before the editor sees it.
        let enter_pressed = ui.memory(|m| m.has_focus(input_id))
            && ui.input_mut(|i| {
                i.consume_key(egui::Modifiers::NONE, egui::Key::Enter)
                    || i.consume_key(egui::Modifiers::COMMAND, egui::Key::Enter)
            });
        let send_label = ui.label(t.send_data);
        ui.add(edit).labelled_by(send_label.id);
        let can_send = self.is_active() && payload.is_ok();
        ui.horizontal(|ui| {
            let clicked = ui
                .add_enabled(can_send, egui::Button::new(RichText::new(t.send).strong()))
                .clicked();
            if (clicked || (enter_pressed && can_send)) && !self.repeating {
                if let Ok(bytes) = &payload {
                    commands.push(self.send_command(bytes, None));
                    self.remember();
                }
            }
            match &payload {
                // Framed sends: the preview is what goes on the wire (hex on hover).
                Ok(bytes) if self.frames_sends() => match self.framed_preview(bytes) {
                    Ok(wire) => {
                        ui.label(format!("{} {} ({})", wire.len(), t.bytes_to_send, t.framed))
                            .on_hover_text(crate::payload::hex::encode_hex(&wire));
                    }
                    Err(e) => {
                        ui.colored_label(ERROR_COLOR, i18n::frame_encode_error(lang, &e));
                    }
                },
                Ok(bytes) => {
                    ui.label(format!("{} {}", bytes.len(), t.bytes_to_send));
                }
                Err(e) => {
                    ui.colored_label(ERROR_COLOR, i18n::payload_error(lang, e));
                }
            }
            ui.separator();
            let repeat_label = ui.label(t.repeat_every);
            ui.add(egui::DragValue::new(&mut self.settings.repeat_ms).range(1..=3_600_000))
                .labelled_by(repeat_label.id);
            ui.label(t.ms);
            if self.repeating {
                if ui.button(t.stop_repeat).clicked() {
                    commands.push(Command::StopRepeat { session: self.id });
                    self.repeating = false;
                }
                ui.label(format!(
                    "{} {}",
                    t.sent_times,
                    self.stats.repeat_sent.unwrap_or(0)
                ));
            } else if ui
                .add_enabled(can_send, egui::Button::new(t.start_repeat))
                .clicked()
            {
                if let Ok(bytes) = &payload {
                    let repeat = Repeat {
                        interval: Duration::from_millis(self.settings.repeat_ms.max(1)),
                        count: None,
                    };
                    commands.push(self.send_command(bytes, Some(repeat)));
                    self.repeating = true;
                    self.remember();
                }
            }
            ui.separator();
            egui::ComboBox::from_id_salt(("history", self.id.0))
                .selected_text(t.history)
                .width(90.0)
                .show_ui(ui, |ui| {
                    for item in self.settings.history.clone().iter().rev() {
                        let shown: String = item.input.chars().take(60).collect();
                        if ui.selectable_label(false, shown).clicked() {
                            self.settings.input = item.input.clone();
                            self.settings.format = item.format.clone();
                        }
                    }
                })
                .response
                .accessible_name(t.history);
        });
    }
}
