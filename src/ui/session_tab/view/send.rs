//! The send panel: how typed text becomes bytes, where it goes, Send, repeat and history.

use super::*;
use crate::ui::widgets::{checksum_combo, encoding_combo, line_ending_combo, ERROR_COLOR};
use eframe::egui::{self, RichText};

impl SessionTab {
    /// The send panel: format, target client (server), input, Send, repeat and history.
    pub(super) fn send_ui(&mut self, ui: &mut egui::Ui, lang: Lang, actions: &mut Vec<TabAction>) {
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
        if matches!(
            self.settings.kind,
            SessionKind::TcpServer | SessionKind::WsServer
        ) {
            ui.horizontal(|ui| {
                ui.label(t.send_to);
                let selected = match self.send_to.and_then(|c| self.clients.get(&c)) {
                    Some(row) => row.peer.to_string(),
                    None => t.all_clients.to_string(),
                };
                egui::ComboBox::from_id_salt(("send_to", self.id.0))
                    .selected_text(selected)
                    .show_ui(ui, |ui| {
                        if ui
                            .selectable_label(self.send_to.is_none(), t.all_clients)
                            .clicked()
                        {
                            actions.push(TabAction::SendTo(None));
                        }
                        for (id, row) in &self.clients {
                            let chosen = self.send_to == Some(*id);
                            if ui.selectable_label(chosen, row.peer.to_string()).clicked() {
                                actions.push(TabAction::SendTo(Some(*id)));
                            }
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
                actions.push(TabAction::Send { repeat: false });
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
                    actions.push(TabAction::StopRepeat);
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
                actions.push(TabAction::Send { repeat: true });
            }
            ui.separator();
            egui::ComboBox::from_id_salt(("history", self.id.0))
                .selected_text(t.history)
                .width(90.0)
                .show_ui(ui, |ui| {
                    for (i, item) in self.settings.history.iter().enumerate().rev() {
                        let shown: String = item.input.chars().take(60).collect();
                        if ui.selectable_label(false, shown).clicked() {
                            actions.push(TabAction::Recall(i));
                        }
                    }
                })
                .response
                .accessible_name(t.history);
        });
    }
}
