//! The About window: version, licences of SockScope, its bundled font and every crate in it.

use super::i18n::Lang;
use eframe::egui::{self, RichText};

/// The licence of the bundled CJK font.
static FONT_LICENCE: &str = include_str!("../../resources/fonts/OFL.txt");
/// Every crate SockScope is built from, with its licence (packaging/third-party.py).
static THIRD_PARTY: &str = include_str!("../../resources/THIRD_PARTY.md");

/// Draws the About window while `open`.
pub fn show(ctx: &egui::Context, open: &mut bool, lang: Lang, portable: bool) {
    let t = lang.t();
    egui::Window::new(t.about)
        .open(open)
        .default_width(520.0)
        .default_height(480.0)
        .show(ctx, |ui| {
            ui.heading(t.about_title);
            ui.label(format!(
                "{} {}",
                env!("CARGO_PKG_NAME"),
                env!("CARGO_PKG_VERSION")
            ));
            if portable {
                ui.label(t.portable_mode);
            }
            ui.label(t.licence);
            ui.label(t.bundled_font);
            egui::CollapsingHeader::new("SIL OFL 1.1").show(ui, |ui| {
                egui::ScrollArea::vertical()
                    .id_salt("ofl")
                    .max_height(200.0)
                    .show(ui, |ui| {
                        ui.label(RichText::new(FONT_LICENCE).monospace().small());
                    });
            });
            egui::CollapsingHeader::new(t.third_party).show(ui, |ui| {
                egui::ScrollArea::vertical()
                    .id_salt("third_party")
                    .max_height(260.0)
                    .show(ui, |ui| {
                        ui.label(RichText::new(THIRD_PARTY).monospace().small());
                    });
            });
        });
}
