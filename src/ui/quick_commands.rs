//! Quick commands (one click or F1–F12 sends a named message) and their import/export as a file
//! a lab can share; the tab's automatic reply limit.

use super::i18n::Lang;
use super::path_field::PathField;
use super::session_tab::{QuickCommand, TabSettings};
use super::widgets::ERROR_COLOR;
use crate::engine::SessionStats;
use eframe::egui;

const F_KEYS: [egui::Key; 12] = [
    egui::Key::F1,
    egui::Key::F2,
    egui::Key::F3,
    egui::Key::F4,
    egui::Key::F5,
    egui::Key::F6,
    egui::Key::F7,
    egui::Key::F8,
    egui::Key::F9,
    egui::Key::F10,
    egui::Key::F11,
    egui::Key::F12,
];

/// The file format of an exported set.
#[derive(serde::Serialize, serde::Deserialize)]
struct QuickFile {
    #[serde(rename = "quick_command")]
    quick: Vec<QuickCommand>,
}

/// Reads a set of quick commands from TOML text.
pub fn import(text: &str) -> Result<Vec<QuickCommand>, String> {
    toml::from_str::<QuickFile>(text)
        .map(|f| f.quick)
        .map_err(|e| e.to_string())
}

/// Writes quick commands as TOML text.
pub fn export(quick: &[QuickCommand]) -> String {
    toml::to_string_pretty(&QuickFile {
        quick: quick.to_vec(),
    })
    .unwrap_or_default()
}

/// The panel's own state: its file field and the note of its last import or export.
#[derive(Default)]
pub struct QuickPanel {
    /// File for quick-command import/export.
    pub file: PathField,
    /// The import or export under way, and how the last one went.
    pub op: super::file_worker::FileOp,
}

/// What the panel asks of its tab.
pub enum QuickAction {
    /// Send quick command number `i`.
    Send(usize),
    /// Set the session's automatic replies per second.
    SetReplyLimit(u32),
}

impl QuickPanel {
    /// Draws the quick commands of a tab (`salt` tells tabs apart); edits the quick commands
    /// and reply limit in `settings`; returns what the tab should do.
    #[allow(clippy::too_many_arguments)] // the tab's parts this panel edits, each given once
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        lang: Lang,
        files: &super::file_worker::FileWorker,
        salt: u64,
        settings: &mut TabSettings,
        stats: &SessionStats,
        active: bool,
    ) -> Vec<QuickAction> {
        let mut actions = Vec::new();
        let t = lang.t();
        ui.strong(t.quick_commands);
        // F1–F12 send the first twelve, wherever the focus is in this tab.
        for (i, key) in F_KEYS.iter().enumerate().take(settings.quick.len()) {
            if ui.input_mut(|inp| inp.consume_key(egui::Modifiers::NONE, *key)) {
                actions.push(QuickAction::Send(i));
            }
        }
        let mut remove = None;
        let mut send = None;
        ui.horizontal_wrapped(|ui| {
            for (i, q) in settings.quick.iter().enumerate() {
                let key = if i < 12 {
                    format!("F{} ", i + 1)
                } else {
                    String::new()
                };
                let button = ui.add_enabled(active, egui::Button::new(format!("{key}{}", q.name)));
                if button.clicked() {
                    send = Some(i);
                }
                button.context_menu(|ui| {
                    if ui.button(t.remove).clicked() {
                        remove = Some(i);
                    }
                });
            }
        });
        if let Some(i) = send {
            actions.push(QuickAction::Send(i));
        }
        if let Some(i) = remove {
            settings.quick.remove(i);
        }
        ui.horizontal(|ui| {
            let id = ui.make_persistent_id(("quick_name", salt));
            let mut name = ui
                .data_mut(|d| d.get_temp::<String>(id))
                .unwrap_or_default();
            let label = ui.label(t.quick_name);
            ui.add(egui::TextEdit::singleline(&mut name).desired_width(90.0))
                .labelled_by(label.id);
            let can_add = !name.trim().is_empty() && !settings.input.is_empty();
            if ui
                .add_enabled(can_add, egui::Button::new(t.add_quick))
                .on_hover_text(t.add_quick_hint)
                .clicked()
            {
                settings.quick.push(QuickCommand {
                    name: name.trim().to_string(),
                    input: settings.input.clone(),
                    format: settings.format.clone(),
                });
                name.clear();
            }
            ui.data_mut(|d| d.insert_temp(id, name));
        });
        // Small files, read at a click.
        self.file.ui(
            ui,
            t,
            t.workflow_file,
            super::path_field::DialogKind::SaveFile,
            110.0,
        );
        ui.horizontal(|ui| {
            let path = self.file.path_buf();
            let idle = !self.op.busy();
            if ui.add_enabled(idle, egui::Button::new(t.import)).clicked() {
                self.op.read(files, path.clone());
            }
            if ui.add_enabled(idle, egui::Button::new(t.export)).clicked() {
                self.op.write(files, path, export(&settings.quick));
            }
        });
        if let Some((path, text)) = self.op.ui(ui, t, files) {
            match import(&text) {
                Ok(list) => {
                    self.op.say(format!("{} {}", list.len(), t.imported), false);
                    settings.quick.extend(list);
                }
                Err(e) => self.op.say_invalid(t, &path, e),
            }
        }
        ui.horizontal(|ui| {
            ui.label(t.reply_limit).on_hover_text(t.reply_limit_hint);
            let limit = ui.add(
                egui::DragValue::new(&mut settings.reply_limit_per_s)
                    .range(0..=1_000_000)
                    .speed(10),
            );
            if limit.on_hover_text(t.reply_limit_hint).changed() {
                actions.push(QuickAction::SetReplyLimit(settings.reply_limit_per_s));
            }
        });
        if stats.replies_suppressed > 0 {
            ui.colored_label(
                ERROR_COLOR,
                format!("{} {}", t.replies_held_back, stats.replies_suppressed),
            );
        }
        actions
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::SendFormat;

    #[test]
    fn export_then_import_gives_the_same_set() {
        let set = vec![QuickCommand {
            name: "read".into(),
            input: "01 03".into(),
            format: SendFormat::default(),
        }];
        assert_eq!(import(&export(&set)).unwrap(), set);
        assert!(import("quick_command = 3").is_err());
    }
}
