//! The side panel: a server's clients first, counters and rates, quick commands, rules, and
//! the tools folded below them.

use super::*;
use crate::ui::file_worker::FileWorker;
use crate::ui::widgets::{
    bytes_label, progress_bar, rate_label, ERROR_COLOR, OK_COLOR, RX_COLOR, TX_COLOR,
};
use eframe::egui::{self, RichText};

/// The height of a server's client list (its rows scroll within it).
const CLIENTS_HEIGHT: f32 = 150.0;

impl SessionTab {
    /// The side panel: the transport's key panel first (a server's or relay's clients), then
    /// counters and rates, the folded tools, quick commands and rules.
    pub(super) fn side_ui(
        &mut self,
        ui: &mut egui::Ui,
        lang: Lang,
        files: &FileWorker,
        actions: &mut Vec<TabAction>,
        request: &mut Option<TabRequest>,
    ) {
        let t = lang.t();
        if self.settings.kind.listens() {
            // A fixed height: nothing below moves when clients come and go.
            let size = egui::vec2(ui.available_width(), CLIENTS_HEIGHT);
            ui.allocate_ui_with_layout(size, egui::Layout::top_down(egui::Align::Min), |ui| {
                ui.set_min_height(CLIENTS_HEIGHT);
                self.clients_ui(ui, lang, actions);
            });
            ui.separator();
        }
        if self.settings.kind == SessionKind::Serial {
            if self.is_active() {
                self.serial_lines_ui(ui, t, actions);
            }
            self.serial_reopen_ui(ui, t, actions);
            ui.separator();
        }
        self.counters_ui(ui, t, actions);
        // Decoding: what the frames mean, right under the counters.
        if !self.settings.decode.is_empty() {
            self.values_ui(ui, lang, files);
            ui.separator();
        }
        // Folded, one line; unfolded, right here rather than below the fold.
        self.tools_ui(ui, t, actions, request);
        ui.separator();
        let active = self.is_active();
        for action in self.quick.ui(
            ui,
            lang,
            files,
            self.id.0,
            &mut self.settings,
            &self.stats,
            active,
        ) {
            actions.push(match action {
                QuickAction::Send(i) => TabAction::SendQuick(i),
                // A closed tab sends its limit when it opens.
                QuickAction::SetReplyLimit(per_s) if active => {
                    TabAction::Engine(Box::new(Command::SetReplyLimit {
                        session: self.id,
                        per_s,
                    }))
                }
                QuickAction::SetReplyLimit(_) => continue,
            });
        }
        if self.settings.kind != SessionKind::Relay {
            self.rules_ui(ui, lang, files, actions);
        }
        if self.scripts() {
            self.script_ui(ui, lang, files, actions);
        }
    }

    /// The script: on or off, its code, what is wrong with it (line and column), Load and
    /// Save; while the session is open, Apply and Stop, and whether the session runs this text.
    fn script_ui(
        &mut self,
        ui: &mut egui::Ui,
        lang: Lang,
        files: &FileWorker,
        actions: &mut Vec<TabAction>,
    ) {
        let t = lang.t();
        let active = self.is_active();
        let problem = self.script_problem();
        egui::CollapsingHeader::new(t.script_title)
            .id_salt(("script", self.id.0))
            .default_open(self.settings.script_on)
            .show(ui, |ui| {
                ui.label(RichText::new(t.script_hint).small());
                // While open, Apply and Stop say what runs; the box is for the next open.
                ui.add_enabled(
                    !active,
                    egui::Checkbox::new(&mut self.settings.script_on, t.script_on),
                );
                let label = ui.label(t.script_code);
                // Line numbers beside the code, so an error's line is found at a glance.
                ui.horizontal_top(|ui| {
                    let lines = self.settings.script.split('\n').count().max(8);
                    let numbers: Vec<String> = (1..=lines).map(|n| n.to_string()).collect();
                    ui.add_space(2.0);
                    ui.vertical(|ui| {
                        ui.add_space(2.0);
                        ui.label(
                            RichText::new(numbers.join("\n"))
                                .monospace()
                                .color(ui.visuals().weak_text_color()),
                        );
                    });
                    // Lines are not wrapped (a number is one line of the script); a long one
                    // scrolls sideways.
                    let mut layouter =
                        |ui: &egui::Ui, text: &dyn egui::TextBuffer, _wrap_width: f32| {
                            let job = egui::text::LayoutJob::simple(
                                text.as_str().to_owned(),
                                egui::TextStyle::Monospace.resolve(ui.style()),
                                ui.visuals().text_color(),
                                f32::INFINITY,
                            );
                            ui.fonts_mut(|f| f.layout_job(job))
                        };
                    egui::ScrollArea::horizontal()
                        .id_salt(("script_code", self.id.0))
                        .show(ui, |ui| {
                            ui.add(
                                egui::TextEdit::multiline(&mut self.settings.script)
                                    .code_editor()
                                    .desired_rows(8)
                                    .desired_width(f32::INFINITY)
                                    .layouter(&mut layouter),
                            )
                            .labelled_by(label.id);
                        });
                });
                let running = self.scripting.running.as_ref();
                if active {
                    ui.horizontal(|ui| {
                        let edited = running != Some(&self.settings.script);
                        if ui
                            .add_enabled(
                                problem.is_none() && edited,
                                egui::Button::new(t.script_apply),
                            )
                            .clicked()
                        {
                            actions.push(TabAction::ScriptApply);
                        }
                        if ui
                            .add_enabled(running.is_some(), egui::Button::new(t.script_stop))
                            .clicked()
                        {
                            actions.push(TabAction::ScriptStop);
                        }
                    });
                }
                match (&problem, running) {
                    (Some(e), _) => {
                        ui.colored_label(ERROR_COLOR, i18n::script_error(lang, e));
                        if active && running.is_some() {
                            ui.label(RichText::new(t.script_broken_running).small());
                        }
                    }
                    (None, Some(text)) if active && *text == self.settings.script => {
                        ui.colored_label(OK_COLOR, t.script_running);
                    }
                    (None, Some(_)) if active => {
                        ui.label(t.script_edited);
                    }
                    (None, None) if active => {
                        ui.label(t.script_idle);
                    }
                    (None, _) if self.settings.script_on => {
                        ui.colored_label(OK_COLOR, t.script_ok);
                    }
                    (None, _) => {}
                }
                let s = &mut self.scripting;
                s.file.ui(ui, t, t.script_file, DialogKind::SaveFile, 110.0);
                ui.horizontal(|ui| {
                    let ready = !s.file.path.trim().is_empty() && !s.op.busy();
                    if ui
                        .add_enabled(ready, egui::Button::new(t.script_load))
                        .clicked()
                    {
                        s.op.read(files, s.file.path_buf());
                    }
                    if ui
                        .add_enabled(ready, egui::Button::new(t.script_save))
                        .clicked()
                    {
                        // An existing file is replaced only once the user says so.
                        s.op.write(files, s.file.path_buf(), self.settings.script.clone());
                    }
                });
                if let Some((path, text)) = s.op.ui(ui, t, files) {
                    actions.push(TabAction::ScriptRead { path, text });
                }
            });
    }

    /// Counters, exact figures, Reset and the rate graph.
    fn counters_ui(&mut self, ui: &mut egui::Ui, t: &Texts, actions: &mut Vec<TabAction>) {
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
        ui.horizontal(|ui| {
            ui.checkbox(&mut self.settings.exact_figures, t.exact_figures)
                .on_hover_text(t.exact_figures_hint);
            if ui.button(t.reset).clicked() {
                actions.push(TabAction::ResetStats);
            }
        });
        let rx: Vec<[f64; 2]> = self.rates.iter().map(|r| [r[0], r[1]]).collect();
        let tx: Vec<[f64; 2]> = self.rates.iter().map(|r| [r[0], r[2]]).collect();
        egui_plot::Plot::new(("rate_plot", self.id.0))
            .height(90.0)
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
            .legend(egui_plot::Legend::default().follow_insertion_order(true))
            .show(ui, |plot| {
                plot.line(egui_plot::Line::new(t.rx, rx).color(RX_COLOR));
                plot.line(egui_plot::Line::new(t.tx, tx).color(TX_COLOR));
            });
    }

    /// The rarely used tools, folded in a section that remembers (across restarts) whether it
    /// was open: saving received data and how much is kept, capture, recording, probing the
    /// peer, sending a file.
    fn tools_ui(
        &mut self,
        ui: &mut egui::Ui,
        t: &Texts,
        actions: &mut Vec<TabAction>,
        request: &mut Option<TabRequest>,
    ) {
        let folded = egui::CollapsingHeader::new(RichText::new(t.tools).strong())
            .id_salt(("tools", self.id.0))
            .default_open(self.settings.tools_open)
            .show(ui, |ui| self.tools_body(ui, t, actions, request));
        // Remembered with the tab's settings, so it opens as it was left after a restart.
        if folded.header_response.clicked() {
            self.settings.tools_open = !self.settings.tools_open;
        }
    }

    fn tools_body(
        &mut self,
        ui: &mut egui::Ui,
        t: &Texts,
        actions: &mut Vec<TabAction>,
        request: &mut Option<TabRequest>,
    ) {
        ui.horizontal(|ui| match &self.saving {
            Some(saving) => {
                let stop = ui.add_enabled(saving.follow, egui::Button::new(t.stop_saving));
                if stop.clicked() {
                    actions.push(TabAction::Engine(Box::new(Command::StopSaving {
                        session: self.id,
                    })));
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
        });
        ui.horizontal(|ui| {
            let label = ui.label(t.keep_limit).on_hover_text(t.keep_limit_hint);
            let changed = ui
                .add(egui::DragValue::new(&mut self.settings.keep_mib).range(0..=1 << 20))
                .on_hover_text(t.keep_limit_hint)
                .labelled_by(label.id)
                .changed();
            if changed {
                actions.push(TabAction::KeepLimit);
            }
        });
        // A UDP relay's datagrams do not say which client they are for: not captured; a serial
        // port has no packets.
        let capturable = !(self.settings.kind == SessionKind::Relay && self.settings.relay_udp)
            && self.settings.kind != SessionKind::Serial
            // A capture of a WebSocket session would need its framing: not offered yet.
            && !self.settings.kind.websocket();
        if capturable {
            match &self.capture {
                Some(path) => {
                    ui.horizontal(|ui| {
                        if ui.button(t.stop_capture).clicked() {
                            actions.push(TabAction::StopCapture);
                        }
                        ui.colored_label(ERROR_COLOR, path.display().to_string());
                    });
                }
                None => {
                    self.capture_file
                        .ui(ui, t, t.capture_file, DialogKind::SaveFile, 110.0);
                    let ready = !self.capture_file.path.trim().is_empty();
                    if ui
                        .add_enabled(ready, egui::Button::new(t.capture))
                        .on_hover_text(t.capture_hint)
                        .clicked()
                    {
                        actions.push(TabAction::StartCapture);
                    }
                }
            }
        }
        if self.recordable() {
            ui.horizontal(|ui| {
                if self.recording.is_some() {
                    if ui.button(t.stop_recording).clicked() {
                        actions.push(TabAction::StopRecording);
                    }
                    ui.colored_label(ERROR_COLOR, t.recording_now);
                } else if ui.button(t.record).on_hover_text(t.record_hint).clicked() {
                    actions.push(TabAction::StartRecording);
                }
            });
        }
        if self.probe_target().is_some()
            && ui
                .button(t.probe_this_peer)
                .on_hover_text(t.probe_this_peer_hint)
                .clicked()
        {
            actions.push(TabAction::Probe);
        }
        ui.separator();
        self.file_ui(ui, t, actions);
    }

    /// The auto-reply rules, folded until wanted (open when there are rules).
    fn rules_ui(
        &mut self,
        ui: &mut egui::Ui,
        lang: Lang,
        files: &FileWorker,
        actions: &mut Vec<TabAction>,
    ) {
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
                for RulesAction::Set(rules) in self.rules.ui(
                    ui,
                    lang,
                    files,
                    &mut s.rules,
                    &mut s.rules_on,
                    s.format.encoding,
                    &self.stats.rule_fires,
                    active,
                ) {
                    actions.push(TabAction::Engine(Box::new(Command::SetRules {
                        session: self.id,
                        rules,
                    })));
                }
            });
        s.rules_path = self.rules.file.path_buf().display().to_string();
    }

    /// Sends a file's raw bytes over the session, with progress and cancel.
    fn file_ui(&mut self, ui: &mut egui::Ui, t: &Texts, actions: &mut Vec<TabAction>) {
        self.file
            .ui(ui, t, t.file_path, DialogKind::OpenFile, 200.0);
        ui.horizontal(|ui| match self.file_progress {
            Some(p) => {
                if ui.button(t.cancel_file).clicked() {
                    actions.push(TabAction::CancelFile);
                }
                progress_bar(ui, p.done, p.total, p.rate, t);
            }
            None => {
                let ready = self.is_active() && !self.file.path.trim().is_empty();
                if ui
                    .add_enabled(ready, egui::Button::new(t.send_file))
                    .clicked()
                {
                    actions.push(TabAction::SendFile);
                }
            }
        });
    }

    /// A server's (or relay's) clients: pick one to send to, disconnect one, stop accepting.
    fn clients_ui(&self, ui: &mut egui::Ui, lang: Lang, actions: &mut Vec<TabAction>) {
        let t = lang.t();
        let exact = self.settings.exact_figures;
        ui.strong(format!("{} ({})", t.clients, self.clients.len()));
        if let TabState::Open {
            listening: true, ..
        } = self.state
        {
            if ui.small_button(t.stop_accepting).clicked() {
                actions.push(TabAction::Engine(Box::new(Command::StopListening {
                    session: self.id,
                    keep_clients: true,
                })));
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
            .max_height(ui.available_height())
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
                                actions.push(TabAction::SendTo((!selected).then_some(*id)));
                            }
                            ui.label(clock(row.since));
                            bytes_label(ui, row.counters.rx_bytes, exact, t);
                            bytes_label(ui, row.counters.tx_bytes, exact, t);
                            if ui.small_button("×").on_hover_text(t.disconnect).clicked() {
                                actions.push(TabAction::Engine(Box::new(Command::Disconnect {
                                    session: self.id,
                                    conn: *id,
                                })));
                            }
                            ui.end_row();
                        }
                    });
            });
    }
}
