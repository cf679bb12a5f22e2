//! A tab's auto-reply rules, edited in the window: add, remove, move, try each against a pasted
//! sample before applying, load and save the file `--rules` takes (docs/sequences.md).
//!
//! The rules themselves live in the tab's settings (they survive a restart); the engine gets
//! them when the user applies them, and again each time the tab opens while they are on.

use super::i18n::{Lang, Texts};
use super::path_field::{DialogKind, PathField};
use super::widgets::{match_combo, named_appendages, ERROR_COLOR, OK_COLOR};
use crate::engine::ReplyRule;
use crate::payload::matcher::MatchKind;
use crate::payload::TextEncoding;
use crate::sequence::{RuleError, RuleSpec, RulesFile};
use eframe::egui;

/// The editor's own state (the rules are in the tab's settings).
pub struct RulesPanel {
    /// Rules file for Load and Save.
    pub file: PathField,
    /// The rules the engine has now (`None`: none given since the tab opened).
    pub applied: Option<Vec<RuleSpec>>,
    /// A sample to try the rules on.
    sample: String,
    sample_hex: bool,
    /// The load or save under way, and how the last one went.
    op: super::file_worker::FileOp,
    /// Each rule compiled, for the encoding it was compiled in (recompiled when either changes).
    compiled: Vec<(RuleSpec, Result<ReplyRule, RuleError>)>,
    compiled_for: Option<TextEncoding>,
}

/// What the editor asks of its tab.
pub enum RulesAction {
    /// Give the engine these rules (empty: none).
    Set(Vec<ReplyRule>),
}

impl RulesPanel {
    /// An editor whose file field starts at `path`.
    pub fn new(path: String) -> Self {
        Self {
            file: PathField::new(path),
            applied: None,
            sample: String::new(),
            sample_hex: false,
            op: Default::default(),
            compiled: Vec::new(),
            compiled_for: None,
        }
    }

    /// Compiles what changed since the last frame.
    fn compile(&mut self, rules: &[RuleSpec], encoding: TextEncoding) {
        let fresh = self.compiled_for == Some(encoding)
            && self.compiled.len() == rules.len()
            && self.compiled.iter().zip(rules).all(|((s, _), r)| s == r);
        if fresh {
            return;
        }
        self.compiled = rules
            .iter()
            .enumerate()
            .map(|(i, r)| (r.clone(), r.compile(encoding, i + 1)))
            .collect();
        self.compiled_for = Some(encoding);
    }

    /// Every rule compiled, or `None` when one does not compile.
    fn all_compiled(&self) -> Option<Vec<ReplyRule>> {
        self.compiled
            .iter()
            .map(|(_, r)| r.as_ref().ok().cloned())
            .collect()
    }

    /// The rules to give a session that is opening: the ones turned on, if they compile.
    pub fn on_open(
        &mut self,
        on: bool,
        rules: &[RuleSpec],
        encoding: TextEncoding,
    ) -> Option<Vec<ReplyRule>> {
        self.compile(rules, encoding);
        let compiled = self.all_compiled().filter(|_| on && !rules.is_empty())?;
        self.applied = Some(rules.to_vec());
        Some(compiled)
    }

    /// Draws the editor; `rules` and `on` are the tab's settings, `fires` how often each
    /// applied rule fired; `active`: the session is open (rules applied now, not at open).
    #[allow(clippy::too_many_arguments)]
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        lang: Lang,
        files: &super::file_worker::FileWorker,
        rules: &mut RulesFile,
        on: &mut bool,
        encoding: TextEncoding,
        fires: &[u64],
        active: bool,
    ) -> Vec<RulesAction> {
        let t = lang.t();
        let mut actions = Vec::new();
        self.compile(&rules.rules, encoding);
        ui.label(egui::RichText::new(t.rules_hint).small());
        let was_on = *on;
        ui.checkbox(on, t.rules_on);
        let applied_now = self.applied.as_deref() == Some(&rules.rules[..]);
        let mut edit = None;
        let count = rules.rules.len();
        for (i, rule) in rules.rules.iter_mut().enumerate() {
            ui.push_id(("rule", i), |ui| {
                rule_row(ui, t, i, count, rule, &mut edit);
                if let Some((_, Err(e))) = self.compiled.get(i) {
                    ui.colored_label(
                        ERROR_COLOR,
                        format!("{} {}: {}", t.rule, i + 1, super::i18n::rule_error(lang, e)),
                    );
                } else if applied_now && *on {
                    let fired = fires.get(i).copied().unwrap_or(0);
                    ui.label(format!("{} {fired} {}", t.rule_answered, t.fired));
                }
            });
        }
        match edit {
            Some(Edit::Swap(a, b)) => rules.rules.swap(a, b),
            Some(Edit::Remove(i)) => {
                rules.rules.remove(i);
            }
            None => {}
        }
        let valid = self.all_compiled();
        ui.horizontal(|ui| {
            if ui.button(t.add_rule).clicked() {
                rules.rules.push(RuleSpec {
                    reply: String::new(),
                    pattern: String::new(),
                    ..RuleSpec::default()
                });
            }
            let changed = !applied_now || was_on != *on;
            let apply = ui
                .add_enabled(valid.is_some() && changed, egui::Button::new(t.apply_rules))
                .on_hover_text(t.apply_rules_hint);
            if apply.clicked() || (was_on && !*on) {
                // Off, or applied: the engine gets the rules now (or when the tab opens).
                let set = if *on {
                    valid.clone().unwrap_or_default()
                } else {
                    Vec::new()
                };
                self.applied = Some(rules.rules.clone());
                if active {
                    actions.push(RulesAction::Set(set));
                }
            }
            if !rules.rules.is_empty() {
                let (text, color) = if applied_now && *on {
                    (t.rules_applied, OK_COLOR)
                } else if *on {
                    (t.rules_not_applied, ERROR_COLOR)
                } else {
                    (t.rules_off, ui.visuals().weak_text_color())
                };
                ui.colored_label(color, text);
            }
        });
        self.sample_ui(ui, t, encoding);
        self.file_ui(ui, t, files, rules, encoding);
        actions
    }

    /// "Try a sample": which rules match it and what each would answer.
    fn sample_ui(&mut self, ui: &mut egui::Ui, t: &Texts, encoding: TextEncoding) {
        ui.horizontal(|ui| {
            let label = ui.label(t.rule_sample);
            ui.add(egui::TextEdit::singleline(&mut self.sample).desired_width(160.0))
                .labelled_by(label.id);
            ui.checkbox(&mut self.sample_hex, t.hex);
        });
        if self.sample.is_empty() {
            return;
        }
        let bytes = if self.sample_hex {
            crate::payload::hex::decode_hex(&self.sample).map_err(|e| e.to_string())
        } else {
            crate::payload::escapes::encode_with_escapes(&self.sample, encoding)
                .map_err(|e| e.to_string())
        };
        let bytes = match bytes {
            Ok(b) => b,
            Err(e) => {
                ui.colored_label(ERROR_COLOR, e);
                return;
            }
        };
        for (i, (spec, compiled)) in self.compiled.iter().enumerate() {
            let Ok(rule) = compiled else { continue };
            let name = spec
                .name
                .clone()
                .unwrap_or_else(|| format!("{} {}", t.rule, i + 1));
            let text = match rule.matcher.captures(&bytes) {
                None => format!("{name}: {}", t.no_match),
                Some(captures) => match rule.reply.expand_with(1, &captures) {
                    Ok(reply) => format!(
                        "{name} → {} | {}",
                        crate::payload::text_for_display(&reply, encoding),
                        crate::payload::hex::encode_hex(&reply)
                    ),
                    Err(e) => format!("{name}: {e}"),
                },
            };
            ui.label(egui::RichText::new(text).monospace());
        }
    }

    /// Load and Save, through the window's file worker (an existing file is replaced only once
    /// the user says so).
    fn file_ui(
        &mut self,
        ui: &mut egui::Ui,
        t: &Texts,
        files: &super::file_worker::FileWorker,
        rules: &mut RulesFile,
        encoding: TextEncoding,
    ) {
        self.file
            .ui(ui, t, t.rules_file, DialogKind::SaveFile, 110.0);
        ui.horizontal(|ui| {
            let path = self.file.path_buf();
            let idle = !self.op.busy();
            if ui
                .add_enabled(idle, egui::Button::new(t.load_rules))
                .on_hover_text(t.load_rules_hint)
                .clicked()
            {
                self.op.read(files, path.clone());
            }
            if ui
                .add_enabled(idle, egui::Button::new(t.save_rules))
                .clicked()
            {
                let file = RulesFile {
                    encoding: Some(encoding.label().to_string()),
                    rules: rules.rules.clone(),
                };
                self.op.write(files, path, file.to_toml());
            }
        });
        if let Some((path, text)) = self.op.ui(ui, t, files) {
            match RulesFile::parse(&text)
                .map_err(|e| e.to_string())
                .and_then(|file| file.compile().map(|_| file).map_err(|e| e.to_string()))
            {
                Ok(file) => {
                    self.op
                        .say(format!("{} {}", file.rules.len(), t.rules_loaded), false);
                    rules.rules = file.rules;
                }
                Err(e) => self.op.say_invalid(t, &path, e),
            }
        }
    }
}

/// A change to the list of rules, made after the list is drawn.
enum Edit {
    Swap(usize, usize),
    Remove(usize),
}

/// One rule: name, how it matches, pattern → reply, hex, and its folded options.
fn rule_row(
    ui: &mut egui::Ui,
    t: &Texts,
    i: usize,
    count: usize,
    rule: &mut RuleSpec,
    edit: &mut Option<Edit>,
) {
    let n = i + 1;
    ui.horizontal_wrapped(|ui| {
        ui.label(format!("{n}."));
        let mut name = rule.name.clone().unwrap_or_default();
        ui.add(
            egui::TextEdit::singleline(&mut name)
                .desired_width(70.0)
                .hint_text(t.sequence_name),
        )
        .accessible_name(format!("{} {n} {}", t.rule, t.sequence_name));
        rule.name = (!name.trim().is_empty()).then_some(name);
        let kind = rule.match_kind.get_or_insert(MatchKind::Contains);
        match_combo(ui, "match", kind, t).accessible_name(format!("{} {n} match", t.rule));
    });
    ui.horizontal_wrapped(|ui| {
        ui.add(
            egui::TextEdit::singleline(&mut rule.pattern)
                .desired_width(120.0)
                .hint_text(t.rule_pattern),
        )
        .accessible_name(format!("{} {n} {}", t.rule, t.rule_pattern));
        ui.label("→");
        ui.add(
            egui::TextEdit::singleline(&mut rule.reply)
                .desired_width(120.0)
                .hint_text(t.rule_reply),
        )
        .accessible_name(format!("{} {n} {}", t.rule, t.rule_reply));
        ui.checkbox(&mut rule.hex, t.hex);
        let button = |ui: &mut egui::Ui, on: bool, text: &str, hint: &str| {
            ui.add_enabled(on, egui::Button::new(text).small())
                .on_hover_text(hint)
                .accessible_name(format!("{} {n} {hint}", t.rule))
                .clicked()
        };
        if button(ui, i > 0, "↑", t.move_up) {
            *edit = Some(Edit::Swap(i - 1, i));
        }
        if button(ui, i + 1 < count, "↓", t.move_down) {
            *edit = Some(Edit::Swap(i, i + 1));
        }
        if button(ui, true, "×", t.remove) {
            *edit = Some(Edit::Remove(i));
        }
    });
    ui.indent("opts", |ui| {
        egui::CollapsingHeader::new(t.step_options)
            .id_salt("opts")
            .show(ui, |ui| {
                ui.horizontal_wrapped(|ui| {
                    ui.checkbox(&mut rule.escapes, t.escapes);
                    ui.checkbox(&mut rule.macros, t.macros);
                    named_appendages(ui, "rule", t, &mut rule.line_ending, &mut rule.checksum);
                    let label = ui.label(t.rule_delay);
                    let mut ms = rule.delay_ms.unwrap_or(0);
                    ui.add(egui::DragValue::new(&mut ms).range(0..=600_000))
                        .labelled_by(label.id);
                    rule.delay_ms = (ms > 0).then_some(ms);
                });
            });
    });
}
