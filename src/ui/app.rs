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
use crate::engine::{Command, ConnId, EngineHandle, SaveMode, SaveRequest, SessionId};
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
    /// Received data: keep appending what arrives after the click.
    follow: bool,
    /// Received data: only what this client sent (a server's tab).
    conn: Option<ConnId>,
    /// The file exists: ask before writing over it.
    exists: bool,
}

impl PathPrompt {
    fn new(purpose: PathPurpose, path: String) -> Self {
        Self {
            purpose,
            field: PathField::new(path),
            follow: false,
            conn: None,
            exists: false,
        }
    }

    /// The same question again, because the file it names exists.
    fn again_exists(
        purpose: PathPurpose,
        path: &std::path::Path,
        follow: bool,
        conn: Option<ConnId>,
    ) -> Self {
        Self {
            follow,
            conn,
            exists: true,
            ..Self::new(purpose, path.display().to_string())
        }
    }
}

#[derive(Clone, Copy)]
enum PathPurpose {
    SaveLog { tab: SessionId, csv: bool },
    SaveReceived { tab: SessionId },
}

impl PathPurpose {
    fn tab(self) -> SessionId {
        match self {
            PathPurpose::SaveLog { tab, .. } | PathPurpose::SaveReceived { tab } => tab,
        }
    }
}

/// Results of work done off the UI thread.
enum Notice {
    Done(String),
    Failed(String),
    /// The log file exists: ask before replacing it.
    Exists(PathPurpose, PathBuf),
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
    /// The local addresses tabs offer and accept: the Addresses window's interface list (the
    /// one list, refreshed there) plus loopback.
    local_ips: Vec<IpAddr>,
    /// The refresh of that list `local_ips` was made from.
    local_ips_read: u64,
    prompt: Option<PathPrompt>,
    /// A save of received data sent to the engine without leave to replace a file: if the
    /// file exists the engine says so, and the question comes back.
    save_asked: Option<(SessionId, PathBuf, bool, Option<ConnId>)>,
    /// The Addresses window.
    pub addresses: AddressPanel,
    /// The Files window.
    pub files: FilePanel,
    /// The Sequences window.
    pub sequences: SequencePanel,
    /// The Probe window.
    pub probe: super::probe_panel::ProbePanel,
    /// The About window is shown.
    pub about_open: bool,
    /// Settings live beside the program (portable mode).
    pub portable: bool,
    /// The first-run hint was dismissed.
    pub hint_dismissed: bool,
    notices: (mpsc::Sender<Notice>, mpsc::Receiver<Notice>),
    /// Reads and writes the small files panels import and export.
    files_io: super::file_worker::FileWorker,
    /// Logs being saved, each on a thread of its own (a log may hold a million rows): owned,
    /// waited for when the window goes.
    log_savers: Vec<std::thread::JoinHandle<()>>,
    status: Option<(String, bool)>,
    /// The language the window's title was last set in.
    titled: Option<Lang>,
    /// When data last arrived, and whether memory was let go since the last give-back.
    data_at: Instant,
    memory_freed: bool,
}

/// Quiet time after data before freed memory is given back (once per quiet spell).
const GIVE_BACK_AFTER: Duration = Duration::from_secs(2);

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
            local_ips: Vec::new(),
            local_ips_read: u64::MAX,
            prompt: None,
            save_asked: None,
            addresses: AddressPanel::default(),
            files: FilePanel::default(),
            sequences: SequencePanel::default(),
            probe: super::probe_panel::ProbePanel::default(),
            about_open: false,
            portable: false,
            hint_dismissed: saved.hint_dismissed,
            // One notice per save the user asked for.
            #[allow(clippy::disallowed_methods)]
            notices: mpsc::channel(),
            files_io: super::file_worker::FileWorker::start(),
            log_savers: Vec::new(),
            status: None,
            titled: None,
            data_at: Instant::now(),
            memory_freed: false,
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
            if matches!(event, crate::engine::Event::Data { .. }) {
                // A log at its cap drops an old entry for each new one: memory to give back.
                self.data_at = Instant::now();
                self.memory_freed = true;
            }
            if let Some(prompt) = self.exists_question(&event) {
                self.prompt = Some(prompt);
                continue;
            }
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

    /// The save question again when the engine refused to write over an existing file.
    fn exists_question(&mut self, event: &crate::engine::Event) -> Option<PathPrompt> {
        let crate::engine::Event::Error { session, error } = event else {
            return None;
        };
        if error.kind != crate::engine::NetErrorKind::FileExists {
            return None;
        }
        let (tab, path, follow, conn) = self.save_asked.take_if(|(tab, ..)| tab == session)?;
        Some(PathPrompt::again_exists(
            PathPurpose::SaveReceived { tab },
            &path,
            follow,
            conn,
        ))
    }

    /// Draws the whole window.
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        if self.drain_events() {
            ui.ctx().request_repaint();
        }
        while let Ok(notice) = self.notices.1.try_recv() {
            match notice {
                Notice::Done(s) => self.status = Some((s, false)),
                Notice::Failed(s) => self.status = Some((s, true)),
                Notice::Exists(purpose, path) => {
                    self.prompt = Some(PathPrompt::again_exists(purpose, &path, false, None));
                }
            }
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
                for kind in SessionKind::NEW {
                    if ui.button(format!("+ {}", kind.new_label(t))).clicked() {
                        self.add_tab(kind);
                    }
                }
                ui.separator();
                ui.toggle_value(&mut self.addresses.open, t.addresses);
                ui.toggle_value(&mut self.files.open, t.files);
                ui.toggle_value(&mut self.sequences.open, t.sequences);
                ui.toggle_value(&mut self.probe.open, t.probe);
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
                    // Its label only where it fits: on a narrow window it would cover "About".
                    let font = egui::TextStyle::Body.resolve(ui.style());
                    let width = ui
                        .painter()
                        .layout_no_wrap(t.language.to_owned(), font, egui::Color32::WHITE)
                        .size()
                        .x;
                    if ui.available_width() > width + 2.0 * ui.spacing().item_spacing.x {
                        let label = ui.label(t.language);
                        combo.labelled_by(label.id);
                    }
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
        for tab in &mut self.tabs {
            self.memory_freed |= std::mem::take(&mut tab.log.freed);
        }
        if self.memory_freed && self.data_at.elapsed() >= GIVE_BACK_AFTER {
            super::memory::give_back_freed();
            self.memory_freed = false;
        } else if self.memory_freed {
            ui.ctx().request_repaint_after(GIVE_BACK_AFTER);
        }
        if self.local_ips_read != self.addresses.interfaces_read {
            self.local_ips = interface_ips(&self.addresses.interfaces);
            self.local_ips_read = self.addresses.interfaces_read;
        }
        let front = self.front_index();
        egui::CentralPanel::default().show(ui, |ui| {
            match front.and_then(|i| self.tabs.get_mut(i)) {
                Some(tab) => {
                    request = tab.ui(
                        ui,
                        self.lang,
                        &self.local_ips,
                        &self.files_io,
                        &mut commands,
                    )
                }
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
            (Some(TabRequest::SaveReceived), Some(tab)) => {
                self.ask_path(PathPurpose::SaveReceived { tab })
            }
            (Some(TabRequest::Recorded(sequence)), _) => self.sequences.load(*sequence),
            _ => {}
        }
        self.prompt_ui(ui.ctx());
        self.sequences.show(ui.ctx(), self.lang, &self.files_io);
        self.probe.show(
            ui.ctx(),
            self.lang,
            egui::Id::unique("probe_window"),
            self.lang.t().probe,
        );
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
            // What the tab kept of its received data goes with it.
            self.engine.send(Command::Discard { session: tab.id });
            self.memory_freed = true;
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
            PathPurpose::SaveReceived { .. } => "sockscope-received.bin",
        };
        self.prompt = Some(PathPrompt::new(
            purpose,
            default_dir().join(name).display().to_string(),
        ));
    }

    fn prompt_ui(&mut self, ctx: &egui::Context) {
        let t = self.lang.t();
        let Some(prompt) = &mut self.prompt else {
            return;
        };
        let title = match prompt.purpose {
            PathPurpose::SaveLog { csv: true, .. } => t.save_csv,
            PathPurpose::SaveLog { csv: false, .. } => t.save_log,
            PathPurpose::SaveReceived { .. } => t.save_received,
        };
        let clients: Vec<(ConnId, String)> = self
            .tabs
            .iter()
            .find(|tab| tab.id == prompt.purpose.tab())
            .filter(|tab| {
                matches!(
                    tab.settings.kind,
                    SessionKind::TcpServer | SessionKind::WsServer
                )
            })
            .map(|tab| {
                tab.clients
                    .iter()
                    .map(|(id, row)| (*id, row.peer.to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let mut decision = None;
        egui::Window::new(title)
            .collapsible(false)
            .resizable(false)
            // In the middle, so the tabs and the toolbar stay reachable while it is open.
            .anchor(egui::Align2::CENTER_CENTER, [0.0, 0.0])
            .show(ctx, |ui| {
                let receiving = matches!(prompt.purpose, PathPurpose::SaveReceived { .. });
                if prompt.exists {
                    ui.colored_label(
                        ERROR_COLOR,
                        format!("{} {}", t.file_exists, prompt.field.path_buf().display()),
                    );
                    ui.horizontal(|ui| {
                        if ui.button(t.replace).clicked() {
                            decision = Some(Some(SaveMode::Replace));
                        }
                        if receiving && ui.button(t.append).clicked() {
                            decision = Some(Some(SaveMode::Append));
                        }
                        if ui.button(t.cancel).clicked() {
                            decision = Some(None);
                        }
                    });
                    return;
                }
                ui.label(t.path_hint);
                prompt
                    .field
                    .ui(ui, t, t.file_path, DialogKind::SaveFile, 420.0);
                if receiving {
                    ui.label(t.save_all_since);
                    ui.checkbox(&mut prompt.follow, t.follow_live);
                    if !clients.is_empty() {
                        ui.horizontal(|ui| {
                            let label = ui.label(t.only_from);
                            let shown = prompt
                                .conn
                                .and_then(|c| clients.iter().find(|(id, _)| *id == c))
                                .map_or(t.all_clients, |(_, peer)| peer.as_str());
                            egui::ComboBox::from_id_salt("save_only_from")
                                .selected_text(shown)
                                .show_ui(ui, |ui| {
                                    ui.selectable_value(&mut prompt.conn, None, t.all_clients);
                                    for (id, peer) in &clients {
                                        ui.selectable_value(&mut prompt.conn, Some(*id), peer);
                                    }
                                })
                                .response
                                .labelled_by(label.id);
                        });
                    }
                }
                ui.horizontal(|ui| {
                    if ui.button(t.ok).clicked() {
                        decision = Some(Some(SaveMode::CreateNew));
                    }
                    if ui.button(t.cancel).clicked() {
                        decision = Some(None);
                    }
                });
            });
        match decision {
            Some(Some(mode)) => {
                if let Some(prompt) = self.prompt.take() {
                    self.act_on_path(prompt, mode, ctx);
                }
            }
            Some(None) => self.prompt = None,
            None => {}
        }
    }

    fn act_on_path(&mut self, prompt: PathPrompt, mode: SaveMode, ctx: &egui::Context) {
        let t = self.lang.t();
        let path = prompt.field.path_buf();
        let purpose = prompt.purpose;
        // Found by its id: the tab asked about may have closed, and others moved, meanwhile.
        let Some(tab) = self.tabs.iter().find(|tab| tab.id == purpose.tab()) else {
            self.status = Some((t.tab_gone.to_string(), true));
            return;
        };
        match purpose {
            PathPurpose::SaveReceived { .. } => {
                self.save_asked = Some((tab.id, path.clone(), prompt.follow, prompt.conn));
                self.engine.send(Command::Save {
                    session: tab.id,
                    request: SaveRequest {
                        path,
                        mode,
                        conn: prompt.conn,
                        follow: prompt.follow,
                    },
                });
            }
            PathPurpose::SaveLog { csv, .. } => {
                let entries = tab.log.snapshot();
                let encoding = tab.log.encoding;
                let tx = self.notices.0.clone();
                let ctx = ctx.clone();
                let done = t.log_saved;
                // Those that ended are waited for (at once) and forgotten.
                let (ended, going): (Vec<_>, Vec<_>) = std::mem::take(&mut self.log_savers)
                    .into_iter()
                    .partition(|s| s.is_finished());
                ended.into_iter().for_each(|s| drop(s.join()));
                self.log_savers = going;
                let saver = std::thread::Builder::new()
                    .name("sockscope-save-log".into())
                    .spawn(move || {
                        let notice = match save_log(&entries, csv, encoding, &path, mode) {
                            Ok(()) => Notice::Done(format!(
                                "{done} {} ({})",
                                path.display(),
                                super::log_view::exact_count(entries.len() as u64)
                            )),
                            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                                Notice::Exists(purpose, path)
                            }
                            Err(e) => Notice::Failed(format!("{}: {e}", path.display())),
                        };
                        let _ = tx.send(notice);
                        ctx.request_repaint();
                    });
                self.log_savers.extend(saver.ok());
            }
        }
    }
}

impl Drop for SockScopeApp {
    /// Logs still being saved are finished before the window goes.
    fn drop(&mut self) {
        for saver in self.log_savers.drain(..) {
            let _ = saver.join();
        }
    }
}

/// Writes the log; an existing file is replaced only when the user said so.
fn save_log(
    entries: &[Arc<LogEntry>],
    csv: bool,
    encoding: TextEncoding,
    path: &std::path::Path,
    mode: SaveMode,
) -> std::io::Result<()> {
    let file = match mode {
        SaveMode::CreateNew => std::fs::File::create_new(path)?,
        SaveMode::Replace | SaveMode::Append => std::fs::File::create(path)?,
    };
    let mut file = std::io::BufWriter::new(file);
    write_log(entries, csv, encoding, &mut file)?;
    std::io::Write::flush(&mut file)
}

/// Interface addresses plus loopback, for the local-address list.
pub fn interface_ips(interfaces: &[crate::addr::interfaces::InterfaceAddr]) -> Vec<IpAddr> {
    let mut ips: Vec<IpAddr> = interfaces.iter().map(|i| i.address).collect();
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
