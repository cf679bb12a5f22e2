//! The tab's views: endpoint (one small view per transport), receive log, side panel (the
//! transport's key panel first — a server's clients —, counters, the folded tools, quick
//! commands, rules) and send panel.
//!
//! Views only draw: they edit the settings their widgets are bound to and collect what the
//! user asked for as [`TabAction`]s, which [`SessionTab::apply`] carries out after the frame is
//! drawn (egui demo app style). Nothing in a view starts a capture, resets counters, opens a
//! session or sends: what the tab *is* and how events change it lives in the parent module.

mod endpoint;
mod send;
mod serial;
mod side;
mod values;
mod ws;

use super::*;
use eframe::egui;

impl SessionTab {
    /// Draws the tab; what the user asked for is carried out after drawing. Engine commands go
    /// to `commands`; what needs the window comes back as a [`TabRequest`].
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        lang: Lang,
        local_ips: &[IpAddr],
        files: &crate::ui::file_worker::FileWorker,
        commands: &mut Vec<Command>,
    ) -> Option<TabRequest> {
        let mut actions = Vec::new();
        let mut request = None;
        self.endpoint_ui(ui, lang, local_ips, files, &mut actions);
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
                        self.side_ui(ui, lang, files, &mut actions, &mut request);
                    });
            });
        // A relay forwards what its clients and target say; it has nothing of its own to send.
        if self.settings.kind != SessionKind::Relay {
            egui::Panel::bottom(("send", self.id.0))
                .resizable(true)
                .default_size(170.0)
                .show(ui, |ui| {
                    self.send_ui(ui, lang, &mut actions);
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
        self.chart_window(ui.ctx(), lang);
        for action in actions {
            if let Some(asked) = self.apply(action, lang, commands) {
                request = Some(asked);
            }
        }
        request
    }
}
