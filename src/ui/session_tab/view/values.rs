//! Decoding's views: the Decode picker (beside Framing), the Values panel (each numeric field:
//! latest, min, max, count, a tick to chart it, export), and the chart window.

use super::*;
use crate::payload::decode::DecodeSpec;
use crate::ui::file_worker::FileWorker;
use crate::ui::widgets::ERROR_COLOR;
use eframe::egui::{self, RichText};

impl SessionTab {
    /// The decoder: none, a built-in one or a protocol file (read through the file worker).
    pub(super) fn decode_ui(
        &mut self,
        ui: &mut egui::Ui,
        lang: Lang,
        files: &FileWorker,
        error: Option<&str>,
        actions: &mut Vec<TabAction>,
    ) {
        let t = lang.t();
        let active = self.is_active();
        ui.vertical(|ui| {
            let label = ui.label(t.decode).on_hover_text(t.decode_hint);
            let shown = match self.settings.decode.as_str() {
                "" => t.no_decode.to_string(),
                decoding::PROTOCOL_FILE => t.decode_file_choice.to_string(),
                name => name.to_string(),
            };
            ui.add_enabled_ui(!active, |ui| {
                egui::ComboBox::from_id_salt(("decode", self.id.0))
                    .selected_text(shown)
                    .width(130.0)
                    .show_ui(ui, |ui| {
                        let choices = std::iter::once(("", t.no_decode))
                            .chain(DecodeSpec::NAMES.iter().map(|n| (*n, *n)))
                            .chain(std::iter::once((
                                decoding::PROTOCOL_FILE,
                                t.decode_file_choice,
                            )));
                        for (value, text) in choices {
                            if ui
                                .selectable_label(self.settings.decode == value, text)
                                .clicked()
                            {
                                self.settings.decode = value.to_string();
                            }
                        }
                    })
                    .response
                    .labelled_by(label.id)
                    .on_hover_text(t.decode_hint);
            });
            if self.settings.decode == decoding::PROTOCOL_FILE {
                let d = &mut self.decoding;
                if !d.asked_once {
                    // A restored tab: its file is read once by itself.
                    d.asked_once = true;
                    d.protocol_file.path = self.settings.protocol_path.clone();
                    if !d.protocol_file.path.trim().is_empty() && d.protocol.is_none() {
                        d.op.read(files, d.protocol_file.path_buf());
                    }
                }
                ui.add_enabled_ui(!active, |ui| {
                    ui.horizontal(|ui| {
                        d.protocol_file
                            .ui(ui, t, t.protocol_file, DialogKind::OpenFile, 140.0);
                        let ready = !d.protocol_file.path.trim().is_empty() && !d.op.busy();
                        if ui
                            .add_enabled(ready, egui::Button::new(t.load_protocol))
                            .clicked()
                        {
                            d.op.read(files, d.protocol_file.path_buf());
                        }
                    });
                });
                self.settings.protocol_path = d.protocol_file.path.clone();
                if let Some((path, text)) = d.op.ui(ui, t, files) {
                    actions.push(TabAction::ProtocolRead { path, text });
                }
            }
            if let Some(e) = error {
                ui.colored_label(ERROR_COLOR, e);
            }
        });
    }

    /// The Values panel: one row per numeric field (tick to chart it), Chart…, Clear, Export.
    pub(super) fn values_ui(&mut self, ui: &mut egui::Ui, lang: Lang, files: &FileWorker) {
        let t = lang.t();
        egui::CollapsingHeader::new(t.values)
            .id_salt(("values", self.id.0))
            .default_open(true)
            .show(ui, |ui| {
                // The actions first: the list of fields below can be long.
                ui.horizontal(|ui| {
                    if ui.button(t.chart).clicked() {
                        self.decoding.chart_open = true;
                    }
                    if ui.button(t.clear_values).clicked() {
                        self.decoding.values.clear();
                    }
                });
                let d = &mut self.decoding;
                d.export_file
                    .ui(ui, t, t.values_file, DialogKind::SaveFile, 150.0);
                ui.horizontal(|ui| {
                    let ready = !d.export_file.path.trim().is_empty()
                        && !d.export_op.busy()
                        && !d.values.series.is_empty();
                    if ui
                        .add_enabled(ready, egui::Button::new(t.export_values))
                        .clicked()
                    {
                        // Written by the file worker; an existing file is replaced only once
                        // the user says so.
                        d.export_op
                            .write(files, d.export_file.path_buf(), d.values.csv());
                    }
                });
                let _ = d.export_op.ui(ui, t, files);
                let values = &mut self.decoding.values;
                if values.series.is_empty() {
                    ui.label(RichText::new(t.values_none).small());
                } else {
                    ui.label(RichText::new(t.values_hint).small());
                    egui::Grid::new(("values_grid", self.id.0))
                        .striped(true)
                        .num_columns(5)
                        .show(ui, |ui| {
                            ui.strong(t.col_field);
                            ui.strong(t.col_latest);
                            ui.strong(t.col_min);
                            ui.strong(t.col_max);
                            ui.strong(t.col_count);
                            ui.end_row();
                            for (name, s) in values.series.iter_mut() {
                                ui.checkbox(&mut s.charted, name.as_str());
                                let unit = s.unit.as_deref().unwrap_or("");
                                ui.label(format!("{} {unit}", s.latest));
                                ui.label(s.min.to_string());
                                ui.label(s.max.to_string());
                                ui.label(exact_count(s.count));
                                ui.end_row();
                            }
                        });
                    let dropped: u64 = values.series.values().map(|s| s.dropped).sum();
                    if dropped > 0 {
                        ui.label(format!("{} {}", t.points_dropped, exact_count(dropped)));
                    }
                    if values.untracked > 0 {
                        ui.label(format!(
                            "{} {}",
                            t.fields_untracked,
                            exact_count(values.untracked)
                        ));
                    }
                }
            });
    }

    /// The chart of the ticked fields: live, or paused to zoom and drag; a moving window.
    pub(super) fn chart_window(&mut self, ctx: &egui::Context, lang: Lang) {
        if !self.decoding.chart_open {
            return;
        }
        let t = lang.t();
        let title = format!("{} {}", t.chart_of, self.title(t));
        let mut open = true;
        egui::Window::new(title)
            .id(egui::Id::unique(("chart", self.id.0)))
            .open(&mut open)
            .default_size([640.0, 360.0])
            // Over the lower part of the log: the endpoint row and the Values panel stay seen.
            .default_pos([24.0, 330.0])
            .show(ctx, |ui| {
                crate::ui::values::chart_ui(ui, t, &mut self.decoding.values, self.id.0);
            });
        self.decoding.chart_open = open;
    }
}
