//! Quick commands (one click or F1–F12 sends a named message), their import/export as a file a
//! lab can share, and the tab's auto-reply rules file.

use super::i18n::Lang;
use super::session_tab::{QuickCommand, SessionTab};
use super::widgets::{ERROR_COLOR, OK_COLOR};
use crate::engine::Command;
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

/// Draws the quick commands and rules of a tab; sends through `commands`.
pub fn ui(tab: &mut SessionTab, ui: &mut egui::Ui, lang: Lang, commands: &mut Vec<Command>) {
    let t = lang.t();
    ui.strong(t.quick_commands);
    // F1–F12 send the first twelve, wherever the focus is in this tab.
    for (i, key) in F_KEYS.iter().enumerate().take(tab.settings.quick.len()) {
        if ui.input_mut(|inp| inp.consume_key(egui::Modifiers::NONE, *key)) {
            tab.send_quick(i, lang, commands);
        }
    }
    let mut remove = None;
    let mut send = None;
    ui.horizontal_wrapped(|ui| {
        for (i, q) in tab.settings.quick.iter().enumerate() {
            let key = if i < 12 {
                format!("F{} ", i + 1)
            } else {
                String::new()
            };
            let button = ui.add_enabled(
                tab.is_active(),
                egui::Button::new(format!("{key}{}", q.name)),
            );
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
        tab.send_quick(i, lang, commands);
    }
    if let Some(i) = remove {
        tab.settings.quick.remove(i);
    }
    ui.horizontal(|ui| {
        let id = ui.make_persistent_id(("quick_name", tab.id.0));
        let mut name = ui
            .data_mut(|d| d.get_temp::<String>(id))
            .unwrap_or_default();
        let label = ui.label(t.quick_name);
        ui.add(egui::TextEdit::singleline(&mut name).desired_width(90.0))
            .labelled_by(label.id);
        let can_add = !name.trim().is_empty() && !tab.settings.input.is_empty();
        if ui
            .add_enabled(can_add, egui::Button::new(t.add_quick))
            .on_hover_text(t.add_quick_hint)
            .clicked()
        {
            tab.settings.quick.push(QuickCommand {
                name: name.trim().to_string(),
                input: tab.settings.input.clone(),
                format: tab.settings.format.clone(),
            });
            name.clear();
        }
        ui.data_mut(|d| d.insert_temp(id, name));
    });
    // Import/export and rules share one path field: small files, read at a click.
    tab.workflow_file.ui(
        ui,
        t.workflow_file,
        super::path_field::DialogKind::SaveFile,
        160.0,
    );
    ui.horizontal(|ui| {
        let path = tab.workflow_file.path_buf();
        if ui.button(t.import).clicked() {
            match std::fs::read_to_string(&path)
                .map_err(|e| e.to_string())
                .and_then(|s| import(&s))
            {
                Ok(list) => {
                    tab.workflow_note = Some((format!("{} {}", list.len(), t.imported), false));
                    tab.settings.quick.extend(list);
                }
                Err(e) => tab.workflow_note = Some((format!("{}: {e}", path.display()), true)),
            }
        }
        if ui.button(t.export).clicked() {
            tab.workflow_note = Some(match std::fs::write(&path, export(&tab.settings.quick)) {
                Ok(()) => (format!("{} {}", t.exported, path.display()), false),
                Err(e) => (format!("{}: {e}", path.display()), true),
            });
        }
        if ui
            .button(t.load_rules)
            .on_hover_text(t.load_rules_hint)
            .clicked()
        {
            match std::fs::read_to_string(&path)
                .map_err(|e| e.to_string())
                .and_then(|s| crate::sequence::parse_rules(&s).map_err(|e| e.to_string()))
            {
                Ok(rules) => {
                    tab.rule_names = rules.iter().map(|r| r.name.clone()).collect();
                    tab.settings.rules_path = path.display().to_string();
                    tab.workflow_note =
                        Some((format!("{} {}", rules.len(), t.rules_loaded), false));
                    commands.push(Command::SetRules {
                        session: tab.id,
                        rules,
                    });
                }
                Err(e) => tab.workflow_note = Some((format!("{}: {e}", path.display()), true)),
            }
        }
    });
    if let Some((text, failed)) = &tab.workflow_note {
        ui.colored_label(if *failed { ERROR_COLOR } else { OK_COLOR }, text);
    }
    for (name, fired) in tab
        .rule_names
        .iter()
        .zip(tab.stats.rule_fires.iter().chain(std::iter::repeat(&0)))
    {
        ui.label(format!("{name}: {fired} {}", t.fired));
    }
    ui.horizontal(|ui| {
        ui.label(t.reply_limit).on_hover_text(t.reply_limit_hint);
        let limit = ui.add(
            egui::DragValue::new(&mut tab.settings.reply_limit_per_s)
                .range(0..=1_000_000)
                .speed(10),
        );
        // A closed tab sends it when it opens.
        if limit.on_hover_text(t.reply_limit_hint).changed() && tab.is_active() {
            commands.push(Command::SetReplyLimit {
                session: tab.id,
                per_s: tab.settings.reply_limit_per_s,
            });
        }
    });
    if tab.stats.replies_suppressed > 0 {
        ui.colored_label(
            ERROR_COLOR,
            format!("{} {}", t.replies_held_back, tab.stats.replies_suppressed),
        );
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
