//! The endpoint row: each transport's own fields (a client's host and port; a server's,
//! UDP's or a relay's local address and port; UDP's destination and options; a relay's target),
//! framing, TLS and Open/Close.

use super::*;
use crate::ui::widgets::{checked_field, ERROR_COLOR, OK_COLOR, WARN_COLOR};
use eframe::egui::{self, Color32, RichText};

impl SessionTab {
    /// The endpoint row: the transport's own fields, framing, Open/Close and the state; then
    /// TLS, the last error and (UDP) broadcast and multicast.
    pub(super) fn endpoint_ui(
        &mut self,
        ui: &mut egui::Ui,
        lang: Lang,
        local_ips: &[IpAddr],
        files: &crate::ui::file_worker::FileWorker,
        actions: &mut Vec<TabAction>,
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
                SessionKind::Serial => self.serial_endpoint_ui(ui, t, &errors),
                SessionKind::WsClient => self.ws_client_ui(ui, t),
                SessionKind::TcpServer
                | SessionKind::Udp
                | SessionKind::Relay
                | SessionKind::WsServer => {
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
            if self.frames() || self.settings.kind.websocket() {
                self.decode_ui(ui, lang, files, errors.decode, actions);
            }
            if self.settings.kind == SessionKind::WsServer {
                ui.add_enabled_ui(!active, |ui| self.ws_server_ui(ui, t));
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
                        SessionKind::TcpClient | SessionKind::WsClient => (t.connect, t.disconnect),
                        SessionKind::TcpServer | SessionKind::WsServer => (t.listen, t.stop),
                        SessionKind::Udp => (t.open_udp, t.close_udp),
                        SessionKind::Relay => (t.start_relay, t.stop),
                        SessionKind::Serial => (t.open_port, t.close_port),
                    };
                    if active {
                        if ui.button(RichText::new(close_text).strong()).clicked() {
                            actions.push(TabAction::Close);
                        }
                    } else {
                        let ok = errors.is_empty();
                        if ui
                            .add_enabled(ok, egui::Button::new(RichText::new(open_text).strong()))
                            .clicked()
                        {
                            actions.push(TabAction::Open);
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
            // wss://: how the server is checked.
            SessionKind::WsClient if self.settings.ws.secure() => {
                ui.add_enabled_ui(!active, |ui| {
                    self.tls
                        .client_ui(ui, t, &mut self.settings.tls, errors.tls)
                });
            }
            SessionKind::WsClient => {}
            // The fingerprint stays copyable while listening.
            SessionKind::TcpServer | SessionKind::WsServer => {
                self.tls
                    .server_ui(ui, t, &mut self.settings.tls, errors.tls, active)
            }
            SessionKind::Relay if !self.settings.relay_udp => {
                self.tls
                    .relay_ui(ui, t, &mut self.settings.tls, errors.tls, active)
            }
            SessionKind::Udp | SessionKind::Relay | SessionKind::Serial => {}
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
            self.udp_options_ui(ui, t, active, actions);
        }
    }

    /// UDP's own options: broadcast, answering the last sender, multicast groups.
    fn udp_options_ui(
        &mut self,
        ui: &mut egui::Ui,
        t: &Texts,
        active: bool,
        actions: &mut Vec<TabAction>,
    ) {
        ui.horizontal(|ui| {
            if ui
                .checkbox(&mut self.settings.broadcast, t.broadcast)
                .changed()
                && active
            {
                actions.push(TabAction::Engine(Box::new(Command::SetBroadcast {
                    session: self.id,
                    on: self.settings.broadcast,
                })));
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
            let mut edit =
                egui::TextEdit::singleline(&mut self.settings.multicast_group).desired_width(140.0);
            if group.is_none() {
                edit = edit.text_color(ERROR_COLOR);
            }
            ui.add(edit)
                .labelled_by(group_label.id)
                .on_hover_text(t.err_group);
            let can = active && group.is_some();
            if ui.add_enabled(can, egui::Button::new(t.join)).clicked() {
                if let Some(group) = group {
                    actions.push(TabAction::Engine(Box::new(Command::JoinMulticast {
                        session: self.id,
                        group,
                        interface: 0,
                    })));
                }
            }
            if ui.add_enabled(can, egui::Button::new(t.leave)).clicked() {
                if let Some(group) = group {
                    actions.push(TabAction::Engine(Box::new(Command::LeaveMulticast {
                        session: self.id,
                        group,
                        interface: 0,
                    })));
                }
            }
        });
    }

    /// The framing spec: typed, or picked from examples; set before opening.
    pub(super) fn framing_ui(&mut self, ui: &mut egui::Ui, t: &Texts, error: Option<&str>) {
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

    pub(super) fn state_text(&self, t: &Texts) -> (String, Color32) {
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
                    (SessionKind::TcpServer | SessionKind::WsServer, _) if *listening => {
                        (format!("{} {local}", t.state_listening), green)
                    }
                    (SessionKind::TcpServer | SessionKind::WsServer, _) => {
                        (t.state_not_listening.into(), WARN_COLOR)
                    }
                    (SessionKind::Serial, _) => (
                        format!(
                            "{} {} {}",
                            t.state_port_open,
                            self.settings.serial_port.trim(),
                            self.settings.serial.short()
                        ),
                        green,
                    ),
                    (SessionKind::Relay, _) => (
                        format!("{} {local} → {}", t.relaying, self.settings.udp_dest.trim()),
                        green,
                    ),
                    _ => (format!("{} {local}", t.state_bound), green),
                }
            }
        }
    }
}
