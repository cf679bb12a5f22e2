//! Small reusable controls: pickers for encodings, line endings and checksums, and a text field
//! that shows why its content is not valid.

use super::log_view::{exact_count, human_bytes};
use crate::payload::matcher::MatchKind;
use crate::payload::{Checksum, LineEnding, TextEncoding};
use eframe::egui::{self, Color32};

/// Received data, in the log and the graph.
pub const RX_COLOR: Color32 = Color32::from_rgb(40, 160, 80);
/// Sent data, in the log and the graph.
pub const TX_COLOR: Color32 = Color32::from_rgb(60, 120, 220);
/// Errors and invalid input.
pub const ERROR_COLOR: Color32 = Color32::from_rgb(220, 60, 60);
/// Warnings and in-between states.
pub const WARN_COLOR: Color32 = Color32::from_rgb(200, 140, 0);
/// Open, connected, listening.
pub const OK_COLOR: Color32 = Color32::from_rgb(40, 170, 80);

/// A combo box of text encodings.
pub fn encoding_combo(ui: &mut egui::Ui, id: &str, name: &str, value: &mut TextEncoding) {
    picker(
        ui,
        id,
        name,
        110.0,
        value,
        TextEncoding::ALL,
        TextEncoding::label,
    );
}

/// A combo box of line endings; `none` is that word in the user's language.
pub fn line_ending_combo(
    ui: &mut egui::Ui,
    id: &str,
    name: &str,
    none: &str,
    value: &mut LineEnding,
) {
    let text = |le: LineEnding| {
        if le == LineEnding::None {
            none
        } else {
            le.label()
        }
    };
    picker(ui, id, name, 70.0, value, LineEnding::ALL, text);
}

/// A combo box of checksums; `none` is that word in the user's language.
pub fn checksum_combo(ui: &mut egui::Ui, id: &str, name: &str, none: &str, value: &mut Checksum) {
    let text = |c: Checksum| if c == Checksum::None { none } else { c.label() };
    picker(ui, id, name, 150.0, value, Checksum::ALL, text);
}

/// A combo box choosing one of `all`, each shown as `text` gives it.
fn picker<'a, T: Copy + PartialEq>(
    ui: &mut egui::Ui,
    id: &str,
    name: &str,
    width: f32,
    value: &mut T,
    all: impl IntoIterator<Item = T>,
    text: impl Fn(T) -> &'a str,
) {
    // The box is wider than its text: padding on both sides, the arrow and its gap.
    let padding = 2.0 * ui.spacing().button_padding.x + ui.spacing().icon_width;
    room_for(ui, name, width + padding + ui.spacing().icon_spacing + 8.0);
    let label = ui.label(name);
    egui::ComboBox::from_id_salt(id)
        .selected_text(text(*value))
        .width(width)
        .show_ui(ui, |ui| {
            for item in all {
                ui.selectable_value(value, item, text(item));
            }
        })
        .response
        .labelled_by(label.id);
}

/// A labelled number in a wrapping row, the label never parted from its field.
pub fn number_field<N: egui::emath::Numeric>(
    ui: &mut egui::Ui,
    label: &str,
    value: &mut N,
    range: std::ops::RangeInclusive<N>,
) -> egui::Response {
    room_for(ui, label, 60.0);
    let label = ui.label(label);
    ui.add(egui::DragValue::new(value).range(range))
        .labelled_by(label.id)
}

/// In a wrapping row, starts the next row unless `label` and a field `field_width` wide both
/// fit on this one: a label never ends a row with its field on the next.
pub fn room_for(ui: &mut egui::Ui, label: &str, field_width: f32) {
    let font = egui::TextStyle::Body.resolve(ui.style());
    let label_width = ui
        .painter()
        .layout_no_wrap(label.to_owned(), font, Color32::WHITE)
        .size()
        .x;
    let needed = label_width + field_width + 3.0 * ui.spacing().item_spacing.x;
    // What is left on this row: `available_width` is the whole row's in a wrapping layout.
    if ui.available_size_before_wrap().x < needed {
        ui.end_row();
    }
}

/// A labelled single-line field; when `error` is set the field is outlined red and the reason
/// is shown under it.
pub fn checked_field(
    ui: &mut egui::Ui,
    label: &str,
    value: &mut String,
    width: f32,
    error: Option<&str>,
) -> egui::Response {
    ui.vertical(|ui| {
        let label_response = ui.label(label);
        let mut edit = egui::TextEdit::singleline(value).desired_width(width);
        if error.is_some() {
            edit = edit.text_color(ERROR_COLOR);
        }
        let response = ui.add(edit.id_salt(label)).labelled_by(label_response.id);
        if let Some(reason) = error {
            ui.colored_label(ERROR_COLOR, reason);
        }
        response
    })
    .inner
}

/// A progress bar with bytes, rate and time left.
pub fn progress_bar(
    ui: &mut egui::Ui,
    done: u64,
    total: Option<u64>,
    rate: f64,
    t: &super::i18n::Texts,
) {
    let speed = format!("{}/s", human_bytes(rate as u64));
    let (fraction, text) = match total {
        Some(total) if total > 0 => {
            let left = if rate > 0.0 {
                (total.saturating_sub(done)) as f64 / rate
            } else {
                f64::NAN
            };
            let eta = if left.is_finite() {
                format!(" · {:.0} s {}", left.ceil(), t.time_left)
            } else {
                String::new()
            };
            (
                done as f32 / total as f32,
                format!(
                    "{} / {} · {speed}{eta}",
                    human_bytes(done),
                    human_bytes(total)
                ),
            )
        }
        _ => (0.0, format!("{} · {speed}", human_bytes(done))),
    };
    let exact = match total {
        Some(total) => format!(
            "{} / {} {}",
            exact_count(done),
            exact_count(total),
            t.bytes_unit
        ),
        None => format!("{} {}", exact_count(done), t.bytes_unit),
    };
    ui.add(
        egui::ProgressBar::new(fraction)
            .text(text)
            .animate(total.is_none()),
    )
    .on_hover_text(exact);
}

/// A byte count: rounded (`8.5 GiB`) with the exact count a hover away, or exact when asked.
pub fn bytes_label(ui: &mut egui::Ui, bytes: u64, exact: bool, t: &super::i18n::Texts) {
    let full = format!("{} {}", exact_count(bytes), t.bytes_unit);
    let shown = if exact {
        full.clone()
    } else {
        human_bytes(bytes)
    };
    ui.label(shown).on_hover_text(full);
}

/// A rate in bytes per second, rounded, with the whole-byte figure a hover away.
pub fn rate_label(ui: &mut egui::Ui, arrow: &str, bytes_per_s: f64, t: &super::i18n::Texts) {
    let per_s = bytes_per_s.round() as u64;
    ui.label(format!("{arrow} {}/s", human_bytes(per_s)))
        .on_hover_text(format!(
            "{} {}/s ({})",
            exact_count(per_s),
            t.bytes_unit,
            t.rate_hint
        ));
}

/// A combo box of the ways a pattern compares (expectations, rules).
pub fn match_combo(
    ui: &mut egui::Ui,
    id: &str,
    kind: &mut MatchKind,
    t: &super::i18n::Texts,
) -> egui::Response {
    egui::ComboBox::from_id_salt(id)
        .selected_text(match_label(*kind, t))
        .width(90.0)
        .show_ui(ui, |ui| {
            for k in [
                MatchKind::Contains,
                MatchKind::Regex,
                MatchKind::HexPrefix,
                MatchKind::ExactHex,
            ] {
                ui.selectable_value(kind, k, match_label(k, t));
            }
        })
        .response
}

/// How a match kind is shown, in the user's language.
fn match_label(kind: MatchKind, t: &super::i18n::Texts) -> &'static str {
    match kind {
        MatchKind::Contains => t.match_contains,
        MatchKind::Regex => t.match_regex,
        MatchKind::HexPrefix => t.match_hex_prefix,
        MatchKind::ExactHex => t.match_exact_hex,
    }
}

/// The line ending and checksum pickers for a file's step or rule, where each is kept by its
/// short name (`crlf`, `crc16-modbus`) and "none" is no entry at all.
pub fn named_appendages(
    ui: &mut egui::Ui,
    id: &str,
    t: &super::i18n::Texts,
    line_ending: &mut Option<String>,
    checksum: &mut Option<String>,
) {
    let mut le = line_ending
        .as_deref()
        .and_then(LineEnding::from_name)
        .unwrap_or_default();
    line_ending_combo(ui, &format!("{id}_le"), t.line_ending, t.none, &mut le);
    *line_ending = (le != LineEnding::None).then(|| le.name().to_string());
    let mut sum = checksum
        .as_deref()
        .and_then(Checksum::from_name)
        .unwrap_or_default();
    checksum_combo(ui, &format!("{id}_ck"), t.checksum, t.none, &mut sum);
    *checksum = (sum != Checksum::None).then(|| sum.name().to_string());
}
