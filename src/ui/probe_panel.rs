//! The Probe panel: measure a peer's round-trip times (and over UDP against an echo: loss,
//! duplicates, reordering, jitter) with a live time series and histogram. One stands alone in
//! the toolbar (any address); each TCP client and UDP tab has its own, set to the tab's peer and
//! send format. The probe runs on a thread of its own with its own socket (the tab's connection
//! is untouched); the panel only reads its news and can stop it.

use super::i18n::{Lang, Texts};
use super::widgets::{checked_field, number_field, ERROR_COLOR, OK_COLOR};
use crate::measure::generate::{self, GenerateOptions, Generated};
use crate::measure::probe::{self, Answer, ProbeOptions, Summary};
use crate::payload::matcher::{MatchKind, Matcher};
use crate::payload::{InputMode, SendFormat};
use eframe::egui;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

/// News from a running probe.
enum News {
    Answer(Answer),
    Done(Result<Summary, String>),
}

/// News from a running load: totals about once a second, then the end.
enum LoadNews {
    Progress(Generated),
    Done(Result<Generated, String>),
}

/// A probe or a load in progress: its news and its stop switch.
struct Running<T> {
    news: mpsc::Receiver<T>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl<T> Running<T> {
    fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// A measurement dropped with its panel is stopped and waited for: it looks at the switch
/// between packets, so it ends within moments. Only a name lookup still in progress (the
/// system's resolver cannot be interrupted) is not waited for past a second; it ends by itself
/// and its news goes nowhere.
impl<T> Drop for Running<T> {
    fn drop(&mut self) {
        self.stop();
        let Some(thread) = self.thread.take() else {
            return;
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
        while !thread.is_finished() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        if thread.is_finished() {
            let _ = thread.join();
        }
    }
}

/// The traffic generator's settings and its last figures.
pub struct Load {
    /// Packets per second; 0 is flat out.
    pub rate_pps: u32,
    pub size: usize,
    pub seconds: u32,
    running: Option<Running<LoadNews>>,
    /// The latest totals (while running: so far).
    pub figures: Option<Generated>,
    error: Option<String>,
}

impl Default for Load {
    fn default() -> Self {
        Self {
            rate_pps: 1000,
            size: 64,
            seconds: 10,
            running: None,
            figures: None,
            error: None,
        }
    }
}

/// State of a Probe panel.
pub struct ProbePanel {
    pub open: bool,
    pub target: String,
    pub udp: bool,
    pub count: u32,
    pub interval_ms: u64,
    /// How long to wait for each answer (TCP) or for the last ones (UDP).
    pub timeout_ms: u64,
    pub size: usize,
    /// TCP: the request, typed as `format` says (text with escapes, or hex).
    pub request: String,
    pub format: SendFormat,
    /// TCP: an answer is what came back once it contains this (empty: the first bytes back).
    pub expect: String,
    running: Option<Running<News>>,
    /// The traffic generator beside the probe.
    pub load: Load,
    /// First answers in arrival order: x the request number, y its RTT in ms. Kept as the
    /// plot's own points, so drawing borrows them rather than copying them every frame.
    pub rtts: Vec<egui_plot::PlotPoint>,
    pub duplicates: u64,
    /// The last finished run.
    pub summary: Option<Summary>,
    /// The last run was stopped before its count.
    pub stopped: bool,
    error: Option<String>,
}

impl Default for ProbePanel {
    fn default() -> Self {
        Self {
            open: false,
            target: "127.0.0.1:7".into(),
            udp: true,
            count: 100,
            interval_ms: 20,
            timeout_ms: 1000,
            size: 64,
            request: "ping\\n".into(),
            format: SendFormat {
                escapes: true,
                ..SendFormat::default()
            },
            expect: String::new(),
            running: None,
            load: Load::default(),
            rtts: Vec::new(),
            duplicates: 0,
            summary: None,
            stopped: false,
            error: None,
        }
    }
}

/// A probe left running when its panel goes (its tab closed) is stopped.
impl Drop for ProbePanel {
    fn drop(&mut self) {
        self.stop();
        if let Some(r) = &self.load.running {
            r.stop();
        }
    }
}

impl ProbePanel {
    /// Is a probe or a load running?
    pub fn is_running(&self) -> bool {
        self.running.is_some() || self.load.running.is_some()
    }

    /// Points the panel at a tab's peer (unless a probe runs): its address, transport and send
    /// format (the request keeps the panel's own text).
    pub fn aim(&mut self, target: String, udp: bool, format: &SendFormat) {
        if self.is_running() {
            return;
        }
        self.target = target;
        self.udp = udp;
        self.format = SendFormat {
            // Macros and checksums belong to the tab's sends; a probe request is sent as typed.
            // Escapes stay on: the request field is where `\n` ends a line.
            mode: format.mode,
            encoding: format.encoding,
            escapes: true,
            ..SendFormat::default()
        };
    }

    /// Stops a running probe: no more requests; the summary covers those sent.
    pub fn stop(&mut self) {
        if let Some(r) = &self.running {
            r.stop();
        }
    }

    /// Draws the panel as a window: `id` keeps each tab's apart.
    pub fn show(&mut self, ctx: &egui::Context, lang: Lang, id: egui::Id, title: &str) {
        self.take_news();
        let mut open = self.open;
        egui::Window::new(title)
            .id(id)
            .open(&mut open)
            .default_width(560.0)
            .default_height(620.0)
            .vscroll(true)
            .show(ctx, |ui| {
                self.settings_ui(ui, lang);
                ui.separator();
                self.results_ui(ui, lang.t(), id);
                ui.separator();
                self.load_ui(ui, lang);
            });
        self.open = open;
        if self.is_running() {
            ctx.request_repaint_after(Duration::from_millis(50));
        }
    }

    fn take_news(&mut self) {
        self.take_load_news();
        let Some(running) = &self.running else { return };
        while let Ok(news) = running.news.try_recv() {
            match news {
                News::Answer(Answer::First { seq, rtt_us }) => {
                    let point = [f64::from(seq), rtt_us as f64 / 1000.0];
                    self.rtts.push(point.into());
                }
                News::Answer(Answer::Duplicate { .. }) => self.duplicates += 1,
                News::Done(result) => {
                    self.stopped = running.stop.load(Ordering::Relaxed);
                    match result {
                        Ok(s) => self.summary = Some(s),
                        Err(e) => self.error = Some(e),
                    }
                    self.running = None;
                    return;
                }
            }
        }
    }

    fn settings_ui(&mut self, ui: &mut egui::Ui, lang: Lang) {
        let t = lang.t();
        let running = self.running.is_some();
        let target_error = crate::engine::parse_host_port(&self.target)
            .err()
            .map(|e| super::i18n::address_error(lang, e));
        let request_error = if self.udp {
            None
        } else {
            self.request_bytes()
                .err()
                .map(|e| super::i18n::payload_error(lang, &e))
        };
        ui.add_enabled_ui(!running, |ui| {
            ui.horizontal(|ui| {
                ui.radio_value(&mut self.udp, true, t.probe_udp);
                ui.radio_value(&mut self.udp, false, t.probe_tcp);
            });
            ui.horizontal_wrapped(|ui| {
                checked_field(ui, t.to_host, &mut self.target, 200.0, target_error);
                number_field(ui, t.probe_count, &mut self.count, 1..=1_000_000);
                number_field(ui, t.probe_interval, &mut self.interval_ms, 0..=60_000);
                number_field(ui, t.probe_timeout, &mut self.timeout_ms, 1..=60_000);
                if self.udp {
                    number_field(ui, t.probe_size, &mut self.size, probe::HEADER_LEN..=65_507);
                }
            });
            if !self.udp {
                ui.horizontal_wrapped(|ui| {
                    checked_field(
                        ui,
                        t.probe_request,
                        &mut self.request,
                        160.0,
                        request_error.as_deref(),
                    );
                    let mut hex = self.format.mode == InputMode::Hex;
                    if ui.checkbox(&mut hex, t.hex).changed() {
                        self.format.mode = if hex { InputMode::Hex } else { InputMode::Text };
                    }
                    let label = ui.label(t.probe_expect);
                    ui.add(egui::TextEdit::singleline(&mut self.expect).desired_width(100.0))
                        .labelled_by(label.id)
                        .on_hover_text(t.probe_expect_hint);
                });
            }
        });
        ui.label(egui::RichText::new(t.probe_hint).small());
        ui.horizontal(|ui| {
            let can = !running && target_error.is_none() && request_error.is_none();
            if ui
                .add_enabled(can, egui::Button::new(t.probe_start))
                .clicked()
            {
                self.start(lang);
            }
            if ui.add_enabled(running, egui::Button::new(t.stop)).clicked() {
                self.stop();
            }
        });
    }

    /// The TCP request's bytes as typed.
    fn request_bytes(&self) -> Result<Vec<u8>, crate::payload::PayloadError> {
        crate::payload::build_payload(&self.request, &self.format)
    }

    fn results_ui(&mut self, ui: &mut egui::Ui, t: &Texts, id: egui::Id) {
        if let Some(e) = &self.error {
            ui.colored_label(ERROR_COLOR, e);
        }
        if self.stopped {
            ui.label(t.probe_stopped);
        }
        let answered = self.rtts.len();
        let line = match &self.summary {
            Some(s) => format!(
                "{} {} · {} {} · {} {} ({:.1} %) · {} {} · {} {} · {} {:.3} ms",
                t.probe_sent,
                s.sent,
                t.probe_received,
                s.received,
                t.probe_lost,
                s.lost,
                s.loss_percent(),
                t.probe_duplicated,
                s.duplicated,
                t.probe_reordered,
                s.reordered,
                t.probe_jitter,
                s.jitter_ms
            ),
            None => format!("{} {answered}", t.probe_received),
        };
        let color = match &self.summary {
            Some(s) if s.received == 0 => ERROR_COLOR,
            Some(_) => OK_COLOR,
            None => ui.visuals().text_color(),
        };
        ui.colored_label(color, line);
        if let Some(rtt) = self.summary.as_ref().and_then(|s| s.rtt_ms) {
            ui.label(format!(
                "{}: {} {:.3} · {} {:.3} · p50 {:.3} · p90 {:.3} · p99 {:.3} · {} {:.3}",
                t.probe_rtt,
                t.probe_min,
                rtt.min,
                t.probe_mean,
                rtt.mean,
                rtt.p50,
                rtt.p90,
                rtt.p99,
                t.probe_max,
                rtt.max
            ));
        }
        if self.rtts.is_empty() {
            return;
        }
        let series = egui_plot::PlotPoints::from(&self.rtts[..]);
        egui_plot::Plot::new(id.with("series"))
            .height(140.0)
            .allow_scroll(false)
            .include_y(0.0)
            .x_axis_label(t.probe_request_no)
            .y_axis_label(t.probe_rtt)
            .show(ui, |plot| {
                plot.line(egui_plot::Line::new(t.probe_rtt, series))
            });
        // The histogram: 20 equal bins from the smallest to the largest RTT.
        let (lo, hi) = self.rtts.iter().fold((f64::MAX, f64::MIN), |(lo, hi), p| {
            (lo.min(p.y), hi.max(p.y))
        });
        let width = ((hi - lo) / 20.0).max(0.001);
        let mut bins = [0u32; 20];
        for p in &self.rtts {
            let i = (((p.y - lo) / width) as usize).min(19);
            bins[i] += 1;
        }
        let bars: Vec<egui_plot::Bar> = bins
            .iter()
            .enumerate()
            .map(|(i, n)| {
                egui_plot::Bar::new(lo + width * (i as f64 + 0.5), f64::from(*n)).width(width)
            })
            .collect();
        egui_plot::Plot::new(id.with("histogram"))
            .height(120.0)
            .allow_scroll(false)
            .x_axis_label(t.probe_rtt)
            .y_axis_label(t.probe_answers)
            .show(ui, |plot| {
                plot.bar_chart(egui_plot::BarChart::new(t.probe_answers, bars));
            });
    }

    fn start(&mut self, lang: Lang) {
        let (payload, expect) = if self.udp {
            (Vec::new(), None)
        } else {
            let payload = match self.request_bytes() {
                Ok(bytes) => bytes,
                Err(e) => {
                    self.error = Some(super::i18n::payload_error(lang, &e));
                    return;
                }
            };
            let expect = match self.expect.is_empty() {
                true => None,
                false => {
                    match Matcher::new(MatchKind::Contains, &self.expect, self.format.encoding) {
                        Ok(m) => Some(m),
                        Err(e) => {
                            self.error = Some(format!("{}: {e}", lang.t().probe_expect));
                            return;
                        }
                    }
                }
            };
            (payload, expect)
        };
        let stop = Arc::new(AtomicBool::new(false));
        let options = ProbeOptions {
            count: self.count,
            interval: Duration::from_millis(self.interval_ms),
            size: self.size,
            payload,
            timeout: Duration::from_millis(self.timeout_ms),
            stop: stop.clone(),
        };
        let udp = self.udp;
        self.rtts.clear();
        self.duplicates = 0;
        self.summary = None;
        self.stopped = false;
        self.error = None;
        // One message per answer and one at the end: bounded by the count.
        let spawned = spawn_measure("sockscope-probe", &self.target, lang, stop, News::Done, {
            move |target, news| {
                let on_answer = move |a: Answer| {
                    let _ = news.send(News::Answer(a));
                };
                if udp {
                    probe::udp(target, &options, on_answer)
                } else {
                    probe::tcp(target, &options, expect.as_ref(), on_answer)
                }
            }
        });
        match spawned {
            Ok(running) => self.running = Some(running),
            Err(e) => self.error = Some(e),
        }
    }

    fn take_load_news(&mut self) {
        let load = &mut self.load;
        let Some(running) = &load.running else { return };
        while let Ok(news) = running.news.try_recv() {
            match news {
                LoadNews::Progress(g) => load.figures = Some(g),
                LoadNews::Done(result) => {
                    match result {
                        Ok(g) => load.figures = Some(g),
                        Err(e) => load.error = Some(e),
                    }
                    load.running = None;
                    return;
                }
            }
        }
    }

    fn load_ui(&mut self, ui: &mut egui::Ui, lang: Lang) {
        let t = lang.t();
        let running = self.load.running.is_some();
        ui.strong(t.load_title);
        let max_size = if self.udp { 65_507 } else { 1 << 20 };
        let load = &mut self.load;
        ui.add_enabled_ui(!running, |ui| {
            ui.horizontal_wrapped(|ui| {
                number_field(ui, t.load_rate, &mut load.rate_pps, 0..=10_000_000);
                number_field(ui, t.load_size, &mut load.size, 1..=max_size);
                number_field(ui, t.load_seconds, &mut load.seconds, 1..=86_400);
            });
        });
        ui.label(egui::RichText::new(t.load_hint).small());
        let target_ok = crate::engine::parse_host_port(&self.target).is_ok();
        ui.horizontal(|ui| {
            if ui
                .add_enabled(!running && target_ok, egui::Button::new(t.load_start))
                .clicked()
            {
                self.start_load(lang);
            }
            if ui
                .add_enabled(running, egui::Button::new(t.load_stop))
                .clicked()
            {
                if let Some(r) = &self.load.running {
                    r.stop();
                }
            }
        });
        let load = &self.load;
        if let Some(e) = &load.error {
            ui.colored_label(ERROR_COLOR, e);
        }
        if let Some(kind) = load.figures.as_ref().and_then(|g| g.ended_kind) {
            let why = crate::engine::NetError::from_io(&std::io::Error::from(kind));
            let why = super::i18n::net_error(lang, &why);
            ui.colored_label(ERROR_COLOR, format!("{}: {why}", t.load_ended));
        }
        if let Some(g) = &load.figures {
            let so_far = if running { t.load_so_far } else { "" };
            // Rates are rounded to whole packets and kbit; the exact counts are a hover away.
            let line = format!(
                "{} {} · ≈ {} {} · ≈ {:.1} Mbit/s · {} {} {so_far}",
                t.load_sent,
                crate::ui::log_view::exact_count(g.sent_packets),
                crate::ui::log_view::exact_count(g.packets_per_s.round() as u64),
                t.load_packets_per_s,
                g.bits_per_s / 1e6,
                t.load_failed,
                crate::ui::log_view::exact_count(g.failed_sends),
            );
            let exact = format!(
                "{} {} · {} {} · {:.6} s",
                crate::ui::log_view::exact_count(g.sent_packets),
                t.packets,
                crate::ui::log_view::exact_count(g.sent_bytes),
                t.bytes_unit,
                g.seconds
            );
            let color = if g.failed_sends > 0 {
                ERROR_COLOR
            } else {
                ui.visuals().text_color()
            };
            ui.colored_label(color, line).on_hover_text(exact);
        }
    }

    fn start_load(&mut self, lang: Lang) {
        let stop = Arc::new(AtomicBool::new(false));
        let load = &mut self.load;
        let options = GenerateOptions {
            rate_pps: (load.rate_pps > 0).then_some(f64::from(load.rate_pps)),
            count: None,
            duration: Some(Duration::from_secs(u64::from(load.seconds))),
            payload: vec![0; load.size],
            stop: stop.clone(),
        };
        let udp = self.udp;
        load.figures = None;
        load.error = None;
        // One message a second and one at the end: bounded by the duration.
        let spawned = spawn_measure(
            "sockscope-load",
            &self.target,
            lang,
            stop,
            LoadNews::Done,
            {
                move |target, news| {
                    let progress = move |g: &Generated| {
                        let _ = news.send(LoadNews::Progress(g.clone()));
                    };
                    if udp {
                        generate::udp(target, &options, progress)
                    } else {
                        generate::tcp(target, &options, progress)
                    }
                }
            },
        );
        match spawned {
            Ok(running) => load.running = Some(running),
            Err(e) => load.error = Some(e),
        }
    }
}

/// Runs `work` on a thread named `name` against `target`, looked up there (never on the
/// window's thread); `work` sends its news as it goes, and its result ends them as `done`.
fn spawn_measure<N: Send + 'static, T: Send + 'static>(
    name: &str,
    target: &str,
    lang: Lang,
    stop: Arc<AtomicBool>,
    done: fn(Result<T, String>) -> N,
    work: impl FnOnce(std::net::SocketAddr, mpsc::Sender<N>) -> std::io::Result<T> + Send + 'static,
) -> Result<Running<N>, String> {
    let target = target.trim().to_string();
    // Unbounded, but each caller's news is bounded by its count or duration.
    #[allow(clippy::disallowed_methods)]
    let (tx, rx) = mpsc::channel();
    let thread = std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            let addr = match crate::engine::resolve_first_blocking(&target) {
                Ok(addr) => addr,
                Err(e) => {
                    let _ = tx.send(done(Err(super::i18n::net_error(lang, &e))));
                    return;
                }
            };
            let result = work(addr, tx.clone());
            let _ = tx.send(done(result.map_err(|e| {
                super::i18n::net_error(lang, &crate::engine::NetError::from_io(&e).at(addr))
            })));
        })
        .map_err(|e| e.to_string())?;
    Ok(Running {
        news: rx,
        stop,
        thread: Some(thread),
    })
}
