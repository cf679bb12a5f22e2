//! The Files window: send one file to HOST:PORT or receive files on a port, raw (TCP/UDP, any
//! peer) or verified (SHA-256 checked, resumable). Each transfer is an engine job with progress
//! and Cancel; the window never waits on it.

use super::i18n::{self, Lang, Texts};
use super::log_view::exact_count;
use super::path_field::{DialogKind, PathField};
use super::widgets::{checked_field, progress_bar, ERROR_COLOR, OK_COLOR};
use crate::engine::{
    parse_bind, parse_host_port, Command, Event, FileReceiveConfig, FileSendConfig, SessionConfig,
    SessionId, StreamOptions, TransferLimits, DEFAULT_DATAGRAM,
};
use eframe::egui;
use std::time::Duration;

/// How a file goes over the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransferMode {
    /// The bytes over TCP.
    RawTcp,
    /// The bytes as UDP datagrams.
    RawUdp,
    /// The verified format over TCP.
    Verified,
}

/// Where a transfer stands.
#[derive(Clone, Debug, PartialEq)]
pub enum JobState {
    /// Under way; `listening` is the receiver's address.
    Running { listening: Option<String> },
    /// Finished with a message.
    Done(String),
    /// Failed or cancelled, with the reason.
    Failed(String),
}

/// One transfer in the list.
pub struct FileJob {
    /// Its engine session.
    pub id: SessionId,
    /// What it is ("→ 127.0.0.1:9000 fw.bin").
    pub label: String,
    /// Latest progress: done, total, rate.
    pub progress: Option<(u64, Option<u64>, f64)>,
    /// Where it stands.
    pub state: JobState,
    /// Transfers this job ended, each with whether it succeeded (a receiver goes on listening
    /// after each, good or failed).
    pub finished: Vec<(String, bool)>,
}

/// State of the Files window.
pub struct FilePanel {
    /// Whether the window is shown.
    pub open: bool,
    send_file: PathField,
    send_to: String,
    send_mode: TransferMode,
    chunk: usize,
    rate_kib: u64,
    recv_on: String,
    recv_out: PathField,
    recv_mode: TransferMode,
    /// Transfers started from this window, newest last.
    pub jobs: Vec<FileJob>,
}

impl Default for FilePanel {
    fn default() -> Self {
        Self {
            open: false,
            send_file: PathField::default(),
            send_to: "127.0.0.1:9000".into(),
            send_mode: TransferMode::Verified,
            chunk: DEFAULT_DATAGRAM,
            rate_kib: 0,
            recv_on: "9000".into(),
            recv_out: PathField::default(),
            recv_mode: TransferMode::Verified,
            jobs: Vec::new(),
        }
    }
}

fn mode_radios(ui: &mut egui::Ui, mode: &mut TransferMode, t: &Texts) {
    ui.horizontal(|ui| {
        ui.radio_value(mode, TransferMode::Verified, t.mode_verified);
        ui.radio_value(mode, TransferMode::RawTcp, t.mode_raw_tcp);
        ui.radio_value(mode, TransferMode::RawUdp, t.mode_raw_udp);
    });
}

impl FilePanel {
    /// Is this engine session one of the window's transfers?
    pub fn owns(&self, id: SessionId) -> bool {
        self.jobs.iter().any(|j| j.id == id)
    }

    /// Takes in an event of one of the transfers.
    pub fn on_event(&mut self, event: Event, lang: Lang) {
        let t = lang.t();
        let Some(job) = self.jobs.iter_mut().find(|j| j.id == event.session()) else {
            return;
        };
        match event {
            Event::Opened {
                local, peer: None, ..
            } => {
                job.state = JobState::Running {
                    listening: Some(local.to_string()),
                };
            }
            Event::Progress {
                done, total, rate, ..
            } => job.progress = Some((done, total, rate)),
            Event::FileDone {
                path,
                bytes,
                sha256,
                ..
            } => {
                let hash = sha256
                    .map(|h| format!(" · SHA-256 {h}"))
                    .unwrap_or_default();
                let text = format!(
                    "{} {} ({} {}){hash}",
                    t.file_done,
                    path.display(),
                    exact_count(bytes),
                    t.bytes_unit
                );
                job.progress = None;
                match job.state {
                    JobState::Running { listening: Some(_) } => job.finished.push((text, true)),
                    _ => job.state = JobState::Done(text),
                }
            }
            // A receiver reports a failed transfer and goes on listening.
            Event::Error { error, .. }
                if matches!(job.state, JobState::Running { listening: Some(_) }) =>
            {
                job.progress = None;
                job.finished.push((i18n::net_error(lang, &error), false));
            }
            Event::Error { error, .. } => {
                job.state = JobState::Failed(i18n::net_error(lang, &error))
            }
            Event::Closed {
                error: Some(error), ..
            } => job.state = JobState::Failed(i18n::net_error(lang, &error)),
            Event::Closed { error: None, .. } => {
                if matches!(job.state, JobState::Running { .. }) {
                    job.state = JobState::Done(t.session_closed.into());
                }
            }
            _ => {}
        }
    }

    /// Draws the window; new transfers and cancels go to `commands`.
    pub fn show(
        &mut self,
        ctx: &egui::Context,
        lang: Lang,
        new_id: &mut dyn FnMut() -> SessionId,
        commands: &mut Vec<Command>,
    ) {
        let t = lang.t();
        let mut open = self.open;
        egui::Window::new(t.files)
            .open(&mut open)
            .default_width(520.0)
            .default_height(620.0)
            .vscroll(true)
            .show(ctx, |ui| {
                egui::CollapsingHeader::new(t.send_a_file)
                    .default_open(true)
                    .show(ui, |ui| {
                        self.send_ui(ui, lang, new_id, commands);
                    });
                egui::CollapsingHeader::new(t.receive_files)
                    .default_open(true)
                    .show(ui, |ui| {
                        self.receive_ui(ui, lang, new_id, commands);
                    });
                if !self.jobs.is_empty() {
                    ui.separator();
                    ui.strong(t.jobs);
                    self.jobs_ui(ui, t, commands);
                }
            });
        self.open = open;
    }

    fn send_ui(
        &mut self,
        ui: &mut egui::Ui,
        lang: Lang,
        new_id: &mut dyn FnMut() -> SessionId,
        commands: &mut Vec<Command>,
    ) {
        let t = lang.t();
        self.send_file
            .ui(ui, t, t.file_path, DialogKind::OpenFile, 300.0);
        let to_error = parse_host_port(&self.send_to)
            .err()
            .map(|e| i18n::address_error(lang, e));
        checked_field(ui, t.to_host, &mut self.send_to, 220.0, to_error);
        mode_radios(ui, &mut self.send_mode, t);
        ui.horizontal(|ui| {
            let label = ui.label(t.chunk);
            ui.add(egui::DragValue::new(&mut self.chunk).range(1..=65_507))
                .labelled_by(label.id);
            let label = ui.label(t.rate_limit);
            ui.add(egui::DragValue::new(&mut self.rate_kib).range(0..=10_000_000))
                .labelled_by(label.id);
        });
        let file_ok = self.send_file.path_buf().is_file();
        if !file_ok {
            ui.colored_label(ERROR_COLOR, t.file_missing);
        }
        if ui
            .add_enabled(
                file_ok && to_error.is_none(),
                egui::Button::new(t.send_file),
            )
            .clicked()
        {
            let id = new_id();
            let path = self.send_file.path_buf();
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            commands.push(Command::Open {
                session: id,
                config: SessionConfig::SendFile(FileSendConfig {
                    remote: self.send_to.trim().to_string(),
                    path,
                    udp: self.send_mode == TransferMode::RawUdp,
                    verified: self.send_mode == TransferMode::Verified,
                    stream: StreamOptions {
                        // The chunk size matters for datagrams; TCP writes large blocks.
                        chunk: (self.send_mode == TransferMode::RawUdp).then_some(self.chunk),
                        rate: (self.rate_kib > 0).then_some(self.rate_kib * 1024),
                    },
                    connect_timeout: Duration::from_secs(5),
                    limits: TransferLimits::default(),
                }),
            });
            self.jobs.push(FileJob {
                id,
                label: format!("→ {} {name}", self.send_to.trim()),
                progress: None,
                state: JobState::Running { listening: None },
                finished: Vec::new(),
            });
        }
    }

    fn receive_ui(
        &mut self,
        ui: &mut egui::Ui,
        lang: Lang,
        new_id: &mut dyn FnMut() -> SessionId,
        commands: &mut Vec<Command>,
    ) {
        let t = lang.t();
        let bind = parse_bind(&self.recv_on);
        let bind_error = bind.as_ref().err().map(|e| i18n::address_error(lang, *e));
        checked_field(ui, t.listen_port, &mut self.recv_on, 160.0, bind_error);
        mode_radios(ui, &mut self.recv_mode, t);
        let verified = self.recv_mode == TransferMode::Verified;
        let (label, kind) = if verified {
            (t.save_to_folder, DialogKind::Folder)
        } else {
            (t.save_to_file, DialogKind::SaveFile)
        };
        self.recv_out.ui(ui, t, label, kind, 300.0);
        let out = self.recv_out.path_buf();
        let out_ok = if verified {
            out.is_dir()
        } else {
            !self.recv_out.path.trim().is_empty() && !out.exists()
        };
        if !out_ok {
            ui.colored_label(ERROR_COLOR, t.out_missing);
        }
        if ui
            .add_enabled(out_ok && bind_error.is_none(), egui::Button::new(t.start))
            .clicked()
        {
            if let Ok(bind) = bind {
                let id = new_id();
                commands.push(Command::Open {
                    session: id,
                    config: SessionConfig::ReceiveFile(FileReceiveConfig {
                        bind,
                        out: out.clone(),
                        udp: self.recv_mode == TransferMode::RawUdp,
                        verified,
                        once: !verified,
                        idle_timeout: (self.recv_mode == TransferMode::RawUdp)
                            .then_some(Duration::from_secs(3)),
                        limits: TransferLimits::default(),
                    }),
                });
                self.jobs.push(FileJob {
                    id,
                    label: format!("← {bind} → {}", out.display()),
                    progress: None,
                    state: JobState::Running { listening: None },
                    finished: Vec::new(),
                });
            }
        }
    }

    fn jobs_ui(&mut self, ui: &mut egui::Ui, t: &Texts, commands: &mut Vec<Command>) {
        let mut remove = None;
        for (i, job) in self.jobs.iter().enumerate().rev() {
            ui.group(|ui| {
                ui.horizontal(|ui| {
                    ui.label(&job.label);
                    match &job.state {
                        JobState::Running { .. } => {
                            if ui.button(t.cancel_file).clicked() {
                                commands.push(Command::Close { session: job.id });
                            }
                        }
                        _ => {
                            if ui.small_button("×").on_hover_text(t.close_tab).clicked() {
                                remove = Some(i);
                            }
                        }
                    }
                });
                match &job.state {
                    JobState::Running { listening } => {
                        if let Some((done, total, rate)) = job.progress {
                            progress_bar(ui, done, total, rate, t);
                        } else if let Some(at) = listening {
                            ui.label(format!("{} {at}", t.waiting));
                        } else {
                            ui.label(t.running);
                        }
                    }
                    JobState::Done(text) => {
                        ui.colored_label(OK_COLOR, text);
                    }
                    JobState::Failed(text) => {
                        ui.colored_label(ERROR_COLOR, text);
                    }
                }
                for (text, ok) in &job.finished {
                    ui.colored_label(if *ok { OK_COLOR } else { ERROR_COLOR }, text);
                }
            });
        }
        if let Some(i) = remove {
            self.jobs.remove(i);
        }
    }
}
