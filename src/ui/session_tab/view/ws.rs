//! A WebSocket tab's fields: client or server, the client's address and request headers, the
//! server's path, and what both share (subprotocols, pings, text or binary sends).

use super::*;
use crate::ui::widgets::{checked_field, ERROR_COLOR};
use eframe::egui;

impl SessionTab {
    /// Client or server: a WebSocket tab switches itself while closed.
    fn ws_role_ui(&mut self, ui: &mut egui::Ui, t: &Texts) {
        ui.vertical(|ui| {
            ui.label(t.websocket);
            ui.horizontal(|ui| {
                ui.radio_value(
                    &mut self.settings.kind,
                    SessionKind::WsClient,
                    t.ws_role_client,
                );
                ui.radio_value(
                    &mut self.settings.kind,
                    SessionKind::WsServer,
                    t.ws_role_server,
                );
            });
        });
    }

    /// What client and server share: subprotocols, pings, binary sends.
    fn ws_shared_ui(&mut self, ui: &mut egui::Ui, t: &Texts, ping_error: Option<&str>) {
        let ws = &mut self.settings.ws;
        checked_field(ui, t.ws_subprotocols, &mut ws.subprotocols, 120.0, None);
        checked_field(ui, t.ws_ping_ms, &mut ws.ping_ms, 60.0, ping_error);
        ui.vertical(|ui| {
            ui.add_space(ui.spacing().interact_size.y);
            ui.checkbox(&mut ws.binary, t.ws_binary);
        });
    }

    /// A client's fields: the address, then its options and request headers.
    pub(super) fn ws_client_ui(&mut self, ui: &mut egui::Ui, t: &Texts) {
        let ws = self.settings.ws.errors(t, true);
        self.ws_role_ui(ui, t);
        checked_field(ui, t.ws_url, &mut self.settings.ws.url, 240.0, ws.url);
        checked_field(ui, t.ws_origin, &mut self.settings.ws.origin, 100.0, None);
        self.ws_shared_ui(ui, t, ws.ping);
        ui.vertical(|ui| {
            let label = ui.label(t.ws_headers);
            let mut edit = egui::TextEdit::multiline(&mut self.settings.ws.headers)
                .desired_rows(2)
                .desired_width(180.0);
            if ws.headers.is_some() {
                edit = edit.text_color(ERROR_COLOR);
            }
            ui.add(edit).labelled_by(label.id);
            if let Some(e) = ws.headers {
                ui.colored_label(ERROR_COLOR, e);
            }
        });
    }

    /// A server's own fields, after its local address and port.
    pub(super) fn ws_server_ui(&mut self, ui: &mut egui::Ui, t: &Texts) {
        let ws = self.settings.ws.errors(t, false);
        self.ws_role_ui(ui, t);
        checked_field(ui, t.ws_path, &mut self.settings.ws.path, 80.0, ws.path);
        self.ws_shared_ui(ui, t, ws.ping);
    }
}
