//! The window: a toolbar, session tabs, and the active tab. Owns UI state; sockets live in the
//! engine, whose events are drained here a bounded amount per frame.

use super::address_panel::AddressPanel;
use super::file_panel::FilePanel;
use super::i18n::Lang;
use super::log_view::{write_log, LogEntry};
use super::path_field::{DialogKind, PathField};
use super::sequence_panel::SequencePanel;
use super::session_tab::{SessionKind, SessionTab, TabRequest, TabSettings};
use super::widgets::ERROR_COLOR;
use crate::engine::{Command, EngineHandle, SessionId};
use crate::payload::TextEncoding;
use eframe::egui::{self, RichText};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Key of the saved state in eframe's storage.
pub const STORAGE_KEY: &str = "sockscope";
/// Events taken from the engine per frame at most, so a flood cannot stall drawing.
const EVENTS_PER_FRAME: usize = 5000;
/// Time spent taking events per frame at most.
const DRAIN_BUDGET: Duration = Duration::from_millis(8);

/// What survives a restart.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct SavedState {
    /// The chosen language; `None` follows the system.
    pub lang: Option<Lang>,
    /// The open tabs' settings.
    pub tabs: Vec<TabSettings>,
    /// The tab in front.
    pub active: usize,
    /// The first-run hint was dismissed.
    pub hint_dismissed: bool,
}

/// A question for a file path, answered by typing or through the file dialog.
struct PathPrompt {
    purpose: PathPurpose,
    field: PathField,
}

#[derive(Clone, Copy)]
enum PathPurpose {
    SaveLog { tab: SessionId, csv: bool },
    Capture { tab: SessionId },
}

/// Results of work done off the UI thread.
enum Notice {
    Done(String),
    Failed(String),
}

/// The application.
pub struct SockScopeApp {
    engine: EngineHandle,
    /// The window's language.
    pub lang: Lang,
    /// Open session tabs.
    pub tabs: Vec<SessionTab>,
    /// The tab in front, by its session's id (never by position: tabs close and move).
    pub active: Option<SessionId>,
    local_ips: Vec<IpAddr>,
    prompt: Option<PathPrompt>,
    /// The Addresses window.
    pub addresses: AddressPanel,
    /// The Files window.
    pub files: FilePanel,
    /// The Sequences window.
    pub sequences: SequencePanel,
    /// The About window is shown.
    pub about_open: bool,
    /// Settings live beside the program (portable mode).
    pub portable: bool,
    /// The first-run hint was dismissed.
    pub hint_dismissed: bool,
    notices: (mpsc::Sender<Notice>, mpsc::Receiver<Notice>),
    status: Option<(String, bool)>,
    /// The language the window's title was last set in.
    titled: Option<Lang>,
}

impl SockScopeApp {
    /// Builds the app around a running engine, restoring saved tabs.
    pub fn new(engine: EngineHandle, saved: SavedState) -> Self {
        let tabs: Vec<SessionTab> = saved
            .tabs
            .into_iter()
            .map(|settings| SessionTab::new(engine.new_session_id(), settings))
            .collect();
        Self {
            lang: saved.lang.unwrap_or_else(Lang::from_system),
            active: tabs.get(saved.active).or(tabs.last()).map(|tab| tab.id),
            tabs,
            engine,
            local_ips: interface_ips(),
            prompt: None,
            addresses: AddressPanel::default(),
            files: FilePanel::default(),
            sequences: SequencePanel::default(),
            about_open: false,
            portable: false,
            hint_dismissed: saved.hint_dismissed,
            // One notice per save the user asked for.
            #[allow(clippy::disallowed_methods)]
            notices: mpsc::channel(),
            status: None,
            titled: None,
        }
    }

    /// What to save for the next start.
    pub fn saved_state(&self) -> SavedState {
        SavedState {
            lang: Some(self.lang),
            tabs: self.tabs.iter().map(|t| t.settings.clone()).collect(),
            active: self.front_index().unwrap_or(0),
            hint_dismissed: self.hint_dismissed,
        }
    }

    /// Opens a new tab of `kind` and brings it to the front.
    pub fn add_tab(&mut self, kind: SessionKind) {
        let tab = SessionTab::new(self.engine.new_session_id(), TabSettings::new(kind));
        self.active = Some(tab.id);
        self.tabs.push(tab);
    }

    /// Where the tab in front is in the strip now.
    fn front_index(&self) -> Option<usize> {
        self.tabs.iter().position(|tab| Some(tab.id) == self.active)
    }

    /// Takes engine events into the tabs, within a per-frame budget; true if more wait.
    pub fn drain_events(&mut self) -> bool {
        let start = Instant::now();
        for _ in 0..EVENTS_PER_FRAME {
            let Some(event) = self.engine.try_recv() else {
                return false;
            };
            let session = event.session();
            if let Some(tab) = self.tabs.iter_mut().find(|t| t.id == session) {
                tab.on_event(event, self.lang);
            } else if self.files.owns(session) {
                self.files.on_event(event, self.lang);
            }
            if start.elapsed() > DRAIN_BUDGET {
                return true;
            }
        }
        true
    }

    /// Draws the whole window.
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        if self.drain_events() {
            ui.ctx().request_repaint();
        }
        while let Ok(notice) = self.notices.1.try_recv() {
            self.status = Some(match notice {
                Notice::Done(s) => (s, false),
                Notice::Failed(s) => (s, true),
            });
        }
        let t = self.lang.t();
        if self.titled != Some(self.lang) {
            ui.ctx()
                .send_viewport_cmd(egui::ViewportCommand::Title(t.about_title.into()));
            self.titled = Some(self.lang);
        }
        egui::Panel::top("toolbar").show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.heading("SockScope");
                ui.separator();
                ui.label(t.new_session);
                for kind in [
                    SessionKind::TcpClient,
                    SessionKind::TcpServer,
                    SessionKind::Udp,
                    SessionKind::Relay,
                ] {
                    if ui.button(format!("+ {}", kind.label(t))).clicked() {
                        self.add_tab(kind);
                    }
                }
                ui.separator();
                ui.toggle_value(&mut self.addresses.open, t.addresses);
                ui.toggle_value(&mut self.files.open, t.files);
                ui.toggle_value(&mut self.sequences.open, t.sequences);
                ui.toggle_value(&mut self.about_open, t.about);
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    // Right to left: the combo first, then its label on its left.
                    let combo = egui::ComboBox::from_id_salt("language")
                        .selected_text(match self.lang {
                            Lang::Zh => "中文",
                            Lang::En => "English",
                        })
                        .show_ui(ui, |ui| {
                            ui.selectable_value(&mut self.lang, Lang::Zh, "中文");
                            ui.selectable_value(&mut self.lang, Lang::En, "English");
                        })
                        .response;
                    let label = ui.label(t.language);
                    combo.labelled_by(label.id);
                });
            });
            if !self.tabs.is_empty() {
                self.tab_strip(ui);
            }
        });
        if let Some((text, failed)) = &self.status {
            let color = if *failed {
                ERROR_COLOR
            } else {
                ui.visuals().text_color()
            };
            let mut dismiss = false;
            egui::Panel::bottom("status").show(ui, |ui| {
                ui.horizontal(|ui| {
                    ui.colored_label(color, text);
                    dismiss = ui.small_button("×").clicked();
                });
            });
            if dismiss {
                self.status = None;
            }
        }
        let mut commands = Vec::new();
        let mut request = None;
        if !self.hint_dismissed {
            egui::Panel::top("first_run_hint").show(ui, |ui| {
                ui.add_space(4.0);
                ui.strong(t.welcome);
                for line in [t.hint_client, t.hint_server, t.hint_udp] {
                    ui.label(format!("• {line}"));
                }
                if ui.button(t.got_it).clicked() {
                    self.hint_dismissed = true;
                }
                ui.add_space(4.0);
            });
        }
        let front = self.front_index();
        egui::CentralPanel::default().show(ui, |ui| {
            match front.and_then(|i| self.tabs.get_mut(i)) {
                Some(tab) => request = tab.ui(ui, self.lang, &self.local_ips, &mut commands),
                None => {
                    ui.add_space(40.0);
                    ui.vertical_centered(|ui| ui.label(RichText::new(t.no_sessions).size(16.0)));
                }
            }
        });
        let engine = &self.engine;
        self.files.show(
            ui.ctx(),
            self.lang,
            &mut || engine.new_session_id(),
            &mut commands,
        );
        for command in commands {
            self.engine.send(command);
        }
        // A request comes from the tab in front; the prompt keeps that tab's id.
        match (request, self.active) {
            (Some(TabRequest::SaveLog { csv }), Some(tab)) => {
                self.ask_path(PathPurpose::SaveLog { tab, csv })
            }
            (Some(TabRequest::Capture), Some(tab)) => self.ask_path(PathPurpose::Capture { tab }),
            _ => {}
        }
        self.prompt_ui(ui.ctx());
        self.sequences.show(ui.ctx(), self.lang);
        super::about::show(ui.ctx(), &mut self.about_open, self.lang, self.portable);
        if let Some(ip) = self.addresses.show(ui.ctx(), self.lang) {
            let front = self.front_index();
            if let Some(tab) = front.and_then(|i| self.tabs.get_mut(i)) {
                if !tab.is_active() {
                    tab.settings.local_addr = ip.to_string();
                }
            }
        }
    }

    fn tab_strip(&mut self, ui: &mut egui::Ui) {
        let t = self.lang.t();
        let mut close = None;
        ui.horizontal_wrapped(|ui| {
            for (i, tab) in self.tabs.iter().enumerate() {
                let dot = if tab.is_active() { "● " } else { "○ " };
                if ui
                    .selectable_label(
                        Some(tab.id) == self.active,
                        format!("{dot}{}", tab.title(t)),
                    )
                    .clicked()
                {
                    self.active = Some(tab.id);
                }
                if ui.small_button("×").on_hover_text(t.close_tab).clicked() {
                    close = Some(i);
                }
                ui.separator();
            }
        });
        if let Some(i) = close {
            let tab = self.tabs.remove(i);
            self.engine.send(Command::Close { session: tab.id });
            // Closing the tab in front brings its neighbour forward; another stays in front.
            if self.active == Some(tab.id) {
                let next = i.min(self.tabs.len().saturating_sub(1));
                self.active = self.tabs.get(next).map(|tab| tab.id);
            }
        }
    }

    fn ask_path(&mut self, purpose: PathPurpose) {
        let name = match purpose {
            PathPurpose::SaveLog { csv: true, .. } => "sockscope-log.csv",
            PathPurpose::SaveLog { csv: false, .. } => "sockscope-log.txt",
            PathPurpose::Capture { .. } => "sockscope-received.bin",
        };
        self.prompt = Some(PathPrompt {
            purpose,
            field: PathField::new(default_dir().join(name).display().to_string()),
        });
    }

    fn prompt_ui(&mut self, ctx: &egui::Context) {
        let t = self.lang.t();
        let Some(prompt) = &mut self.prompt else {
            return;
        };
        let title = match prompt.purpose {
            PathPurpose::SaveLog { csv: true, .. } => t.save_csv,
            PathPurpose::SaveLog { csv: false, .. } => t.save_log,
            PathPurpose::Capture { .. } => t.save_received,
        };
        let mut decision = None;
        egui::Window::new(title)
            .collapsible(false)
            .resizable(false)
            // In the middle, so the tabs and the toolbar stay reachable while it is open.
            .anchor(egui::Align2::CENTER_CENTER, [0.0, 0.0])
            .show(ctx, |ui| {
                ui.label(t.path_fallback);
                prompt
                    .field
                    .ui(ui, t.file_path, DialogKind::SaveFile, 420.0);
                ui.horizontal(|ui| {
                    if ui.button(t.ok).clicked() {
                        decision = Some(true);
                    }
                    if ui.button(t.cancel).clicked() {
                        decision = Some(false);
                    }
                });
            });
        match decision {
            Some(true) => {
                let path = prompt.field.path_buf();
                let purpose = prompt.purpose;
                self.prompt = None;
                self.act_on_path(purpose, path, ctx);
            }
            Some(false) => self.prompt = None,
            None => {}
        }
    }

    fn act_on_path(&mut self, purpose: PathPurpose, path: PathBuf, ctx: &egui::Context) {
        let t = self.lang.t();
        let (PathPurpose::Capture { tab: id } | PathPurpose::SaveLog { tab: id, .. }) = purpose;
        // Found by its id: the tab asked about may have closed, and others moved, meanwhile.
        let Some(tab) = self.tabs.iter().find(|tab| tab.id == id) else {
            self.status = Some((t.tab_gone.to_string(), true));
            return;
        };
        match purpose {
            PathPurpose::Capture { .. } => {
                self.engine.send(Command::Capture {
                    session: tab.id,
                    path: Some(path),
                });
            }
            PathPurpose::SaveLog { csv, .. } => {
                let entries = tab.log.snapshot();
                let encoding = tab.log.encoding;
                let tx = self.notices.0.clone();
                let ctx = ctx.clone();
                let done = t.log_saved;
                let _ = std::thread::Builder::new()
                    .name("sockscope-save-log".into())
                    .spawn(move || {
                        let notice = match save_log(&entries, csv, encoding, &path) {
                            Ok(()) => Notice::Done(format!(
                                "{done} {} ({} )",
                                path.display(),
                                entries.len()
                            )),
                            Err(e) => Notice::Failed(format!("{}: {e}", path.display())),
                        };
                        let _ = tx.send(notice);
                        ctx.request_repaint();
                    });
            }
        }
    }
}

fn save_log(
    entries: &[Arc<LogEntry>],
    csv: bool,
    encoding: TextEncoding,
    path: &std::path::Path,
) -> std::io::Result<()> {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    write_log(entries, csv, encoding, &mut file)?;
    std::io::Write::flush(&mut file)
}

/// This machine's interface addresses plus loopback, for the local-address list.
pub fn interface_ips() -> Vec<IpAddr> {
    let mut ips: Vec<IpAddr> = crate::addr::interfaces::list()
        .into_iter()
        .map(|i| i.address)
        .collect();
    ips.push(IpAddr::from([127, 0, 0, 1]));
    ips.push(IpAddr::from(std::net::Ipv6Addr::LOCALHOST));
    ips.sort();
    ips.dedup();
    ips
}

/// Where save prompts start: the user's home folder, else the current folder.
fn default_dir() -> PathBuf {
    std::env::var_os("HOME")
        .or_else(|| std::env::var_os("USERPROFILE"))
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
}

impl eframe::App for SockScopeApp {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        // Also runs while the window is hidden: keep draining so the queue stays short.
        if self.drain_events() {
            ctx.request_repaint();
        }
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        SockScopeApp::ui(self, ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, STORAGE_KEY, &self.saved_state());
    }
}
