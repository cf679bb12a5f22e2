//! The Sequences window: build "send this, expect that" steps, run them against a device with
//! pass/fail and timing per step, save them as the TOML file `sockscope run` takes, and export
//! the report.

use super::file_worker::{FileOp, FileWorker};
use super::i18n::{Lang, Texts};
use super::path_field::{DialogKind, PathField};
use super::widgets::{
    checked_field, encoding_combo, match_combo, named_appendages, ERROR_COLOR, OK_COLOR,
};
use crate::engine::Engine;
use crate::payload::framing::FrameSpec;
use crate::payload::matcher::MatchKind;
use crate::payload::TextEncoding;
use crate::sequence::{
    self, Connection, ConnectionKind, Outcome, Report, Sequence, Step, StepResult,
};
use eframe::egui;
use std::sync::mpsc;
use std::sync::Arc;

/// What a step does, as the editor shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StepKind {
    Send,
    Expect,
    Wait,
    Script,
}

fn kind_of(step: &Step) -> StepKind {
    if step.script.is_some() {
        return StepKind::Script;
    }
    match (&step.send, &step.expect) {
        (Some(_), _) => StepKind::Send,
        (_, Some(_)) => StepKind::Expect,
        _ => StepKind::Wait,
    }
}

/// News from a running sequence.
enum RunNews {
    Step(StepResult),
    Listening(std::net::SocketAddr),
    Client(std::net::SocketAddr),
    Done(Result<Report, String>),
}

/// State of the Sequences window.
pub struct SequencePanel {
    /// Whether the window is shown.
    pub open: bool,
    /// The sequence being edited.
    pub sequence: Sequence,
    encoding: TextEncoding,
    file: PathField,
    report_file: PathField,
    running: Option<mpsc::Receiver<RunNews>>,
    /// The running sequence's thread and its Stop switch: owned, stopped and waited for when
    /// the window goes.
    run_thread: Option<std::thread::JoinHandle<()>>,
    stop: Option<Arc<std::sync::atomic::AtomicBool>>,
    /// Results of the current or last run.
    pub results: Vec<StepResult>,
    /// The last finished run.
    pub report: Option<Report>,
    note: Option<(String, bool)>,
    /// The file job under way (save, load, a report), and how the last one went.
    op: FileOp,
    /// A simulator's state while it runs: where it listens, who connected.
    waiting: Option<String>,
}

impl Default for SequencePanel {
    fn default() -> Self {
        Self {
            open: false,
            sequence: Sequence {
                name: "test".into(),
                script: None,
                connection: Connection {
                    kind: ConnectionKind::TcpClient,
                    remote: "127.0.0.1:9999".into(),
                    bind: None,
                    encoding: None,
                    timeout_ms: Some(2000),
                    ..Connection::default()
                },
                repeat: 1,
                steps: Vec::new(),
            },
            encoding: TextEncoding::Utf8,
            file: PathField::default(),
            report_file: PathField::default(),
            running: None,
            results: Vec::new(),
            report: None,
            note: None,
            op: FileOp::default(),
            run_thread: None,
            stop: None,
            waiting: None,
        }
    }
}

impl SequencePanel {
    /// Opens `sequence` (a recording) for editing and running, in front.
    pub fn load(&mut self, sequence: Sequence) {
        self.encoding = sequence
            .connection
            .encoding
            .as_deref()
            .and_then(TextEncoding::from_name)
            .unwrap_or(TextEncoding::Utf8);
        self.sequence = sequence;
        self.results.clear();
        self.report = None;
        self.note = None;
        self.open = true;
    }

    /// Draws the window.
    pub fn show(&mut self, ctx: &egui::Context, lang: Lang, files: &FileWorker) {
        let t = lang.t();
        self.take_news(lang);
        let mut open = self.open;
        egui::Window::new(t.sequences)
            .open(&mut open)
            .default_width(640.0)
            .default_height(600.0)
            .vscroll(true)
            .show(ctx, |ui| {
                self.connection_ui(ui, lang);
                ui.separator();
                self.steps_ui(ui, t);
                ui.separator();
                self.file_ui(ui, lang, files);
                ui.separator();
                self.run_ui(ui, lang, files);
            });
        self.open = open;
        if self.running.is_some() {
            ctx.request_repaint_after(std::time::Duration::from_millis(50));
        }
    }

    fn take_news(&mut self, lang: Lang) {
        let Some(rx) = &self.running else { return };
        while let Ok(news) = rx.try_recv() {
            match news {
                RunNews::Step(r) => self.results.push(r),
                RunNews::Listening(a) => {
                    self.waiting = Some(format!("{} {a}", lang.t().listening_on))
                }
                RunNews::Client(a) => {
                    self.waiting = Some(format!("{} {a}", lang.t().client_connected))
                }
                RunNews::Done(Ok(report)) => {
                    self.report = Some(report);
                    self.running = None;
                    self.finish_thread();
                    return;
                }
                RunNews::Done(Err(e)) => {
                    self.note = Some((e, true));
                    self.running = None;
                    self.finish_thread();
                    return;
                }
            }
        }
    }

    fn connection_ui(&mut self, ui: &mut egui::Ui, lang: Lang) {
        let t = lang.t();
        let seq = &mut self.sequence;
        ui.horizontal(|ui| {
            let label = ui.label(t.sequence_name);
            ui.add(egui::TextEdit::singleline(&mut seq.name).desired_width(200.0))
                .labelled_by(label.id);
            let label = ui.label(t.sequence_repeat);
            ui.add(egui::DragValue::new(&mut seq.repeat).range(1..=1_000_000))
                .labelled_by(label.id);
        });
        let c = &mut seq.connection;
        ui.horizontal_wrapped(|ui| {
            ui.radio_value(&mut c.kind, ConnectionKind::TcpClient, t.tcp_client);
            ui.radio_value(&mut c.kind, ConnectionKind::TcpServer, t.simulator_kind);
            ui.radio_value(&mut c.kind, ConnectionKind::Udp, t.udp);
            ui.radio_value(&mut c.kind, ConnectionKind::Serial, t.serial);
            encoding_combo(ui, "sequence_encoding", t.encoding, &mut self.encoding);
        });
        c.encoding = Some(self.encoding.label().to_string());
        let needs_remote = c.kind == ConnectionKind::TcpClient;
        if c.kind == ConnectionKind::Serial {
            // The port and its baud here; the other line settings as the file says (8N1 when
            // it says nothing).
            ui.horizontal(|ui| {
                let mut port = c.port.clone().unwrap_or_default();
                let error = port.trim().is_empty().then_some(t.err_serial_port);
                checked_field(ui, t.serial_port_label, &mut port, 160.0, error);
                c.port = Some(port);
                let label = ui.label(t.baud);
                let mut baud = c.baud.unwrap_or(115_200);
                if ui
                    .add(egui::DragValue::new(&mut baud).range(1..=20_000_000))
                    .labelled_by(label.id)
                    .changed()
                    || c.baud.is_some()
                {
                    c.baud = Some(baud);
                }
                if let Ok(line) = c.line_settings() {
                    ui.label(line.short());
                }
            });
        } else if c.kind != ConnectionKind::TcpServer {
            let error = (needs_remote || !c.remote.is_empty())
                .then(|| crate::engine::parse_host_port(&c.remote).err())
                .flatten()
                .map(|e| super::i18n::address_error(lang, e));
            let field = checked_field(ui, t.to_host, &mut c.remote, 220.0, error);
            if c.kind == ConnectionKind::Udp {
                field.on_hover_text(t.udp_listen_hint);
            }
        }
        if !matches!(c.kind, ConnectionKind::TcpClient | ConnectionKind::Serial) {
            let mut bind = c.bind.clone().unwrap_or_default();
            let required = c.kind == ConnectionKind::TcpServer || c.remote.is_empty();
            let error = (required || !bind.is_empty())
                .then(|| crate::engine::parse_bind(&bind).err())
                .flatten()
                .map(|e| super::i18n::address_error(lang, e));
            checked_field(ui, t.bind_addr, &mut bind, 220.0, error);
            c.bind = (!bind.trim().is_empty()).then_some(bind);
        }
        ui.horizontal(|ui| {
            let label = ui.label(t.default_timeout);
            let mut ms = c.timeout_ms.unwrap_or(2000);
            if ui
                .add(egui::DragValue::new(&mut ms).range(1..=3_600_000))
                .labelled_by(label.id)
                .changed()
            {
                c.timeout_ms = Some(ms);
            }
            if c.kind != ConnectionKind::Udp {
                let mut frame = c.frame.clone().unwrap_or_default();
                let error = (!frame.trim().is_empty() && frame.parse::<FrameSpec>().is_err())
                    .then_some(t.err_framing);
                checked_field(ui, t.framing, &mut frame, 140.0, error)
                    .on_hover_text(t.framing_hint);
                c.frame = (!frame.trim().is_empty()).then_some(frame);
            }
        });
    }

    fn steps_ui(&mut self, ui: &mut egui::Ui, t: &Texts) {
        ui.strong(t.steps);
        let mut edit = None;
        let count = self.sequence.steps.len();
        for (i, step) in self.sequence.steps.iter_mut().enumerate() {
            ui.push_id(i, |ui| {
                ui.horizontal(|ui| {
                    ui.label(format!("{}.", i + 1));
                    let mut kind = kind_of(step);
                    let before = kind;
                    egui::ComboBox::from_id_salt("kind")
                        .selected_text(match kind {
                            StepKind::Send => t.step_send,
                            StepKind::Expect => t.step_expect,
                            StepKind::Wait => t.step_wait,
                            StepKind::Script => t.step_script,
                        })
                        .width(80.0)
                        .show_ui(ui, |ui| {
                            ui.selectable_value(&mut kind, StepKind::Send, t.step_send);
                            ui.selectable_value(&mut kind, StepKind::Expect, t.step_expect);
                            ui.selectable_value(&mut kind, StepKind::Wait, t.step_wait);
                            ui.selectable_value(&mut kind, StepKind::Script, t.step_script);
                        })
                        .response
                        .accessible_name(format!("{} {}", t.step, i + 1));
                    if kind != before {
                        *step = new_step(kind);
                    }
                    match kind {
                        StepKind::Send => {
                            let text = step.send.get_or_insert_with(String::new);
                            ui.add(egui::TextEdit::singleline(text).desired_width(240.0))
                                .accessible_name(format!("{} {} {}", t.step, i + 1, t.step_send));
                            ui.checkbox(&mut step.hex, t.hex);
                        }
                        StepKind::Expect => {
                            let text = step.expect.get_or_insert_with(String::new);
                            ui.add(egui::TextEdit::singleline(text).desired_width(200.0))
                                .accessible_name(format!("{} {} {}", t.step, i + 1, t.step_expect));
                            let kind = step.match_kind.get_or_insert(MatchKind::Contains);
                            match_combo(ui, "match", kind, t).accessible_name(format!(
                                "{} {} match",
                                t.step,
                                i + 1
                            ));
                        }
                        StepKind::Wait => {
                            let ms = step.wait_ms.get_or_insert(100);
                            ui.add(egui::DragValue::new(ms).range(0..=600_000).suffix(" ms"))
                                .accessible_name(format!("{} {} {}", t.step, i + 1, t.step_wait));
                        }
                        StepKind::Script => {
                            let code = step.script.get_or_insert_with(String::new);
                            ui.add(
                                egui::TextEdit::multiline(code)
                                    .code_editor()
                                    .desired_rows(2)
                                    .desired_width(300.0),
                            )
                            .on_hover_text(t.step_script_hint)
                            .accessible_name(format!(
                                "{} {} {}",
                                t.step,
                                i + 1,
                                t.step_script
                            ));
                        }
                    }
                    let button = |ui: &mut egui::Ui, on: bool, text: &str, hint: &str| {
                        ui.add_enabled(on, egui::Button::new(text).small())
                            .on_hover_text(hint)
                            .accessible_name(format!("{hint} {}", i + 1))
                            .clicked()
                    };
                    if button(ui, i > 0, "↑", t.move_up) {
                        edit = Some(Edit::Swap(i - 1, i));
                    }
                    if button(ui, i + 1 < count, "↓", t.move_down) {
                        edit = Some(Edit::Swap(i, i + 1));
                    }
                    if button(ui, true, t.duplicate, t.duplicate) {
                        edit = Some(Edit::Duplicate(i));
                    }
                    if button(ui, true, "×", t.remove) {
                        edit = Some(Edit::Remove(i));
                    }
                });
                if !matches!(kind_of(step), StepKind::Wait | StepKind::Script) {
                    ui.indent("options", |ui| step_options_ui(ui, t, i, step));
                }
            });
        }
        match edit {
            Some(Edit::Swap(a, b)) => self.sequence.steps.swap(a, b),
            Some(Edit::Duplicate(i)) => {
                let copy = self.sequence.steps[i].clone();
                self.sequence.steps.insert(i + 1, copy);
            }
            Some(Edit::Remove(i)) => {
                self.sequence.steps.remove(i);
            }
            None => {}
        }
        ui.horizontal(|ui| {
            for (kind, label) in [
                (StepKind::Send, t.add_send),
                (StepKind::Expect, t.add_expect),
                (StepKind::Wait, t.add_wait),
                (StepKind::Script, t.add_script),
            ] {
                if ui.button(label).clicked() {
                    self.sequence.steps.push(new_step(kind));
                }
            }
        });
    }

    /// Save, save as a simulator, load: through the window's file worker (an existing file is
    /// replaced only once the user says so).
    fn file_ui(&mut self, ui: &mut egui::Ui, lang: Lang, files: &FileWorker) {
        let t = lang.t();
        self.file
            .ui(ui, t, t.sequence_file, DialogKind::SaveFile, 300.0);
        ui.horizontal(|ui| {
            let path = self.file.path_buf();
            let idle = !self.op.busy();
            if ui
                .add_enabled(idle, egui::Button::new(t.save_sequence))
                .clicked()
            {
                self.op.write(files, path.clone(), self.sequence.to_toml());
            }
            if ui
                .add_enabled(idle, egui::Button::new(t.save_simulator))
                .on_hover_text(t.save_simulator_hint)
                .clicked()
            {
                let target = simulator_path(&path);
                // Recorded with a decoder: answering rules, which serve any client of the
                // protocol (a Modbus transaction id taken from each request); else the
                // sequence with the roles swapped.
                let simulator = if self.sequence.connection.decode.is_some() {
                    self.sequence.as_rules().map(|r| r.to_toml())
                } else {
                    self.sequence.as_simulator().map(|s| s.to_toml())
                };
                match simulator {
                    Ok(text) => self.op.write(files, target, text),
                    Err(e) => self.op.say(
                        format!(
                            "{}: {}",
                            target.display(),
                            super::i18n::sequence_error(lang, &e)
                        ),
                        true,
                    ),
                }
            }
            if ui
                .add_enabled(idle, egui::Button::new(t.load_sequence))
                .clicked()
            {
                self.op.read(files, path);
            }
        });
        if let Some((path, text)) = self.op.ui(ui, t, files) {
            match Sequence::parse(&text) {
                Ok(seq) => {
                    self.encoding = seq
                        .connection
                        .encoding
                        .as_deref()
                        .and_then(TextEncoding::from_name)
                        .unwrap_or_default();
                    self.sequence = seq;
                    self.note = None;
                }
                Err(e) => self.op.say_invalid(t, &path, e.to_string()),
            }
        }
        if let Some((text, failed)) = &self.note {
            ui.colored_label(if *failed { ERROR_COLOR } else { OK_COLOR }, text);
        }
    }

    fn run_ui(&mut self, ui: &mut egui::Ui, lang: Lang, files: &FileWorker) {
        let t = lang.t();
        let running = self.running.is_some();
        if ui
            .add_enabled(
                !running && !self.sequence.steps.is_empty(),
                egui::Button::new(t.run_sequence),
            )
            .clicked()
        {
            self.start(lang);
        }
        if running && ui.button(t.stop).clicked() {
            if let Some(stop) = &self.stop {
                stop.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        }
        if let (Some(news), true) = (&self.waiting, running) {
            ui.label(news);
        }
        for r in &self.results {
            let (color, word) = match r.outcome {
                Outcome::Pass => (OK_COLOR, t.step_pass),
                Outcome::Fail => (ERROR_COLOR, t.step_fail),
                Outcome::NotRun => (ui.visuals().weak_text_color(), t.step_not_run),
            };
            // A failed expectation: what was wanted next to what came, in two equal columns.
            let compare = match (&r.outcome, &r.expected, &r.received) {
                (Outcome::Fail, Some(expected), Some(received)) => Some((expected, received)),
                _ => None,
            };
            // A failure in the user's words; a pass shows what went or came.
            let detail = match (&r.failure, compare) {
                (Some(failure), _) => super::i18n::step_failure(lang, failure),
                (None, Some(_)) => String::new(),
                (None, None) if r.outcome == Outcome::NotRun => String::new(),
                (None, None) => r.detail.clone(),
            };
            ui.colored_label(
                color,
                format!(
                    "{word}  {}. {} ({} ms)  {detail}",
                    r.step,
                    self.shown_label(r, t),
                    r.millis
                ),
            );
            if let Some((expected, received)) = compare {
                ui.columns(2, |columns| {
                    for (column, (title, text)) in columns
                        .iter_mut()
                        .zip([(t.expected, expected), (t.received, received)])
                    {
                        column.strong(title);
                        column.add(
                            egui::Label::new(egui::RichText::new(text.as_str()).monospace()).wrap(),
                        );
                    }
                });
            }
        }
        if let Some(report) = &self.report {
            let (pass, fail) = report.counts();
            let color = if report.passed() {
                OK_COLOR
            } else {
                ERROR_COLOR
            };
            ui.colored_label(color, format!("{pass} {} · {fail} {}", t.passed, t.failed));
            if let Some(reason) = &report.aborted {
                ui.colored_label(ERROR_COLOR, super::i18n::run_issue(lang, reason));
            }
            self.report_file
                .ui(ui, t, t.report_file, DialogKind::SaveFile, 300.0);
            if ui
                .add_enabled(!self.op.busy(), egui::Button::new(t.export_report))
                .clicked()
            {
                let path = self.report_file.path_buf();
                let text = sequence::report_text(report, &path);
                self.op.write(files, path, text);
            }
        }
    }

    /// A step's label in the user's language: a step without a name is labelled by what it
    /// does ("send hi" → "发送 hi"); a name the user gave is theirs.
    fn shown_label(&self, r: &StepResult, t: &Texts) -> String {
        let Some(step) = self.sequence.steps.get(r.step.wrapping_sub(1)) else {
            return r.label.clone();
        };
        // Only the label the run generated for this very step (the sequence may have been
        // edited since the run).
        // (The run shows data on one line: control characters escaped.)
        let shown = crate::payload::display::str_for_display;
        match (&step.name, &step.send, &step.expect, step.wait_ms) {
            (None, Some(d), _, _) if r.label == format!("send {}", shown(d)) => {
                format!("{} {}", t.seq_label_send, shown(d))
            }
            (None, _, Some(p), _) if r.label == format!("expect {}", shown(p)) => {
                format!("{} {}", t.seq_label_expect, shown(p))
            }
            (None, _, _, _) if step.script.is_some() && r.label.starts_with("script ") => {
                format!("{} {}", t.seq_label_script, &r.label["script ".len()..])
            }
            (None, _, _, Some(ms)) if r.label == format!("wait {ms} ms") => {
                format!("{} {ms} ms", t.seq_label_wait)
            }
            // An expectation on a field: "expect holding.3 = 103" (the field test as written).
            (None, _, _, _) if r.label.starts_with("expect ") => {
                format!("{} {}", t.seq_label_expect, &r.label["expect ".len()..])
            }
            _ => r.label.clone(),
        }
    }

    /// The run's thread has said its last word: it ends now.
    fn finish_thread(&mut self) {
        self.stop = None;
        if let Some(thread) = self.run_thread.take() {
            let _ = thread.join();
        }
    }

    /// Runs the sequence on a thread with an engine of its own; the window only reads news.
    fn start(&mut self, lang: Lang) {
        // One message per step and one at the end: bounded by the sequence.
        #[allow(clippy::disallowed_methods)]
        let (tx, rx) = mpsc::channel();
        let seq = self.sequence.clone();
        self.results.clear();
        self.report = None;
        self.note = None;
        self.waiting = None;
        self.running = Some(rx);
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        self.stop = Some(stop.clone());
        self.run_thread = std::thread::Builder::new()
            .name("sockscope-sequence".into())
            .spawn(move || {
                // Said in the language of the window that started the run.
                let done = Engine::spawn(Arc::new(|| {}))
                    .map_err(|e| super::i18n::net_error(lang, &e.into()))
                    .and_then(|engine| {
                        let step_tx = tx.clone();
                        sequence::run_stoppable(&seq, &engine, Some(&stop), |progress| {
                            let _ = step_tx.send(match progress {
                                sequence::Progress::Step(r) => RunNews::Step(r.clone()),
                                sequence::Progress::Listening(a) => RunNews::Listening(a),
                                sequence::Progress::Client(a) => RunNews::Client(a),
                            });
                        })
                        .map_err(|e| super::i18n::sequence_error(lang, &e))
                    });
                let _ = tx.send(RunNews::Done(done));
            })
            .ok();
    }
}

impl Drop for SequencePanel {
    /// A run still going is stopped and waited for (it ends within a moment: the runner looks
    /// at the switch at least every 50 ms, and its engine closes its session when dropped).
    fn drop(&mut self) {
        if let Some(stop) = &self.stop {
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        if let Some(thread) = self.run_thread.take() {
            let _ = thread.join();
        }
    }
}

/// `dir/name-simulator.toml` for `dir/name.toml`.
fn simulator_path(path: &std::path::Path) -> std::path::PathBuf {
    let stem = path
        .file_stem()
        .map_or_else(|| "sequence".into(), |s| s.to_string_lossy());
    path.with_file_name(format!("{stem}-simulator.toml"))
    // (A decoded recording's simulator is a rules file: load it in a server tab's Rules.)
}

/// A change to the list of steps, made after the list is drawn.
enum Edit {
    Swap(usize, usize),
    Duplicate(usize),
    Remove(usize),
}

/// A step's less used fields, folded: name, times, and for a send its escapes, macros, line
/// ending and checksum; for an expectation its own time limit.
fn step_options_ui(ui: &mut egui::Ui, t: &Texts, i: usize, step: &mut Step) {
    egui::CollapsingHeader::new(t.step_options)
        .id_salt("opts")
        .show(ui, |ui| {
            ui.horizontal_wrapped(|ui| {
                let label = ui.label(t.sequence_name);
                let mut name = step.name.clone().unwrap_or_default();
                ui.add(egui::TextEdit::singleline(&mut name).desired_width(120.0))
                    .labelled_by(label.id);
                step.name = (!name.trim().is_empty()).then_some(name);
                let label = ui.label(t.step_times);
                ui.add(egui::DragValue::new(&mut step.times).range(1..=1_000_000))
                    .labelled_by(label.id);
            });
            if step.send.is_some() {
                ui.horizontal_wrapped(|ui| {
                    ui.checkbox(&mut step.escapes, t.escapes);
                    ui.checkbox(&mut step.macros, t.macros)
                        .on_hover_text(t.macros_hint);
                    named_appendages(
                        ui,
                        &format!("step{i}"),
                        t,
                        &mut step.line_ending,
                        &mut step.checksum,
                    );
                });
            } else {
                ui.horizontal(|ui| {
                    let mut own = step.timeout_ms.is_some();
                    ui.checkbox(&mut own, t.own_timeout);
                    if own {
                        let ms = step.timeout_ms.get_or_insert(2000);
                        ui.add(egui::DragValue::new(ms).range(1..=3_600_000).suffix(" ms"));
                    } else {
                        step.timeout_ms = None;
                    }
                });
            }
        });
}

fn new_step(kind: StepKind) -> Step {
    match kind {
        StepKind::Send => Step {
            send: Some(String::new()),
            times: 1,
            ..Step::default()
        },
        StepKind::Expect => Step {
            expect: Some(String::new()),
            match_kind: Some(MatchKind::Contains),
            times: 1,
            ..Step::default()
        },
        StepKind::Wait => Step {
            wait_ms: Some(100),
            times: 1,
            ..Step::default()
        },
        StepKind::Script => Step {
            script: Some("true".into()),
            times: 1,
            ..Step::default()
        },
    }
}
