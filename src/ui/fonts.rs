//! The bundled CJK font, so Chinese shows on any machine (Noto Sans SC subset, SIL OFL 1.1;
//! see resources/fonts/OFL.txt).

use eframe::egui::{self, FontData, FontDefinitions, FontFamily};
use std::sync::Arc;

/// GB2312's characters from Noto Sans CJK SC, ~1.6 MB.
static NOTO_SC: &[u8] = include_bytes!("../../resources/fonts/NotoSansSC-subset.otf");

/// Adds the CJK font after egui's own fonts in both families.
pub fn install(ctx: &egui::Context) {
    let mut fonts = FontDefinitions::default();
    fonts
        .font_data
        .insert("noto_sc".into(), Arc::new(FontData::from_static(NOTO_SC)));
    for family in [FontFamily::Proportional, FontFamily::Monospace] {
        fonts
            .families
            .entry(family)
            .or_default()
            .push("noto_sc".into());
    }
    ctx.set_fonts(fonts);
}
