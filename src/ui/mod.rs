//! The egui front end: the window of tabs over the engine.

pub mod address_panel;
pub mod app;
pub mod file_panel;
pub mod fonts;
pub mod i18n;
pub mod log_view;
pub mod path_field;
pub mod session_tab;
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
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("SockScope — TCP/UDP 调试助手")
            .with_inner_size([1280.0, 820.0])
            .with_min_inner_size([760.0, 480.0]),
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
            Ok(Box::new(SockScopeApp::new(engine, saved)))
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
