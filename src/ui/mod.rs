//! The egui front end: the window of tabs over the engine.

pub mod about;
pub mod address_panel;
pub mod app;
pub mod file_panel;
pub mod file_worker;
pub mod fonts;
pub mod i18n;
pub mod log_view;
pub mod memory;
pub mod path_field;
pub mod probe_panel;
pub mod quick_commands;
pub mod rules_panel;
pub mod sequence_panel;
pub mod session_tab;
pub mod tls_panel;
pub mod values;
pub mod widgets;

pub use app::{SavedState, SockScopeApp};

use crate::engine::Engine;
use eframe::egui;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

/// Opens the window; returns when it is closed.
pub fn run() -> ExitCode {
    // The engine starts before the window exists; its notifier reaches the window's context
    // once eframe has created it.
    let ctx_slot: Arc<Mutex<Option<egui::Context>>> = Arc::new(Mutex::new(None));
    let notifier = {
        let slot = ctx_slot.clone();
        Arc::new(move || {
            if let Ok(guard) = slot.lock() {
                if let Some(ctx) = guard.as_ref() {
                    ctx.request_repaint();
                }
            }
        })
    };
    let engine = match Engine::spawn(notifier) {
        Ok(engine) => engine,
        Err(e) => {
            eprintln!("sockscope: cannot start the network engine: {e}");
            return ExitCode::from(1);
        }
    };
    let mut viewport = egui::ViewportBuilder::default()
        .with_title("SockScope — TCP/UDP 调试助手")
        .with_app_id("sockscope")
        .with_inner_size([1280.0, 820.0])
        .with_min_inner_size([760.0, 480.0]);
    if let Ok(icon) =
        eframe::icon_data::from_png_bytes(include_bytes!("../../resources/icon-256.png"))
    {
        viewport = viewport.with_icon(icon);
    }
    let portable = portable_settings_file();
    let options = eframe::NativeOptions {
        viewport,
        persistence_path: portable.clone(),
        ..Default::default()
    };
    let result = eframe::run_native(
        "SockScope",
        options,
        Box::new(move |cc| {
            fonts::install(&cc.egui_ctx);
            if let Ok(mut slot) = ctx_slot.lock() {
                *slot = Some(cc.egui_ctx.clone());
            }
            let saved: SavedState = cc
                .storage
                .and_then(|s| eframe::get_value(s, app::STORAGE_KEY))
                .unwrap_or_default();
            let mut app = SockScopeApp::new(engine, saved);
            app.portable = portable.is_some();
            Ok(Box::new(app))
        }),
    );
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sockscope: cannot open the window: {e}");
            ExitCode::from(1)
        }
    }
}

/// Name of the marker file that turns on portable mode when it lies beside the program.
pub const PORTABLE_MARKER: &str = "sockscope.portable";

/// In portable mode (a `sockscope.portable` file beside the program, e.g. on a USB stick) the
/// settings file lives beside the program too.
pub fn portable_settings_file() -> Option<std::path::PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?;
    dir.join(PORTABLE_MARKER)
        .exists()
        .then(|| dir.join("sockscope-settings.ron"))
}
