//! The Addresses window: this machine's interfaces, an address classifier, subnet tools and
//! ports. Reachable from every session; "Use" puts an address into the current tab.

use super::i18n::{self, Lang, Texts};
use super::widgets::{ERROR_COLOR, OK_COLOR, RX_COLOR, TX_COLOR, WARN_COLOR};
use crate::addr::interfaces::{self, InterfaceAddr};
use crate::addr::ports::{port_info, PortRange};
use crate::addr::subnet::{
    next_subnet, previous_subnet, same_subnet, split_plan, split_to_prefix, SplitBy,
};
use crate::addr::{self, network_of, parse_input, AddrReport, PrefixSource};
use eframe::egui::{self, text::LayoutJob, RichText, TextFormat};
use std::net::IpAddr;

/// Subnets listed at most after a split.
const LISTED_SUBNETS: usize = 64;

/// State of the Addresses window.
pub struct AddressPanel {
    /// Whether the window is shown.
    pub open: bool,
    input: String,
    /// This machine's interfaces: the one list the window uses (tabs validate and offer local
    /// addresses from it); Refresh reads it again.
    pub interfaces: Vec<InterfaceAddr>,
    /// Bumped at each refresh, so users of the list know to look again.
    pub interfaces_read: u64,
    /// How the user splits the network: only what they set; the rest follows the network.
    split_by: SplitBy,
    other: String,
    port: String,
    /// A refresh under way: the system is asked on a thread of its own (owned: waited for when
    /// the window goes), never on the window's.
    reading: Option<std::thread::JoinHandle<Vec<InterfaceAddr>>>,
}

impl Drop for AddressPanel {
    fn drop(&mut self) {
        if let Some(reading) = self.reading.take() {
            let _ = reading.join();
        }
    }
}

impl Default for AddressPanel {
    fn default() -> Self {
        Self {
            open: false,
            input: "192.168.1.10/24".into(),
            interfaces: interfaces::list(),
            interfaces_read: 0,
            split_by: SplitBy::Count(4),
            other: "192.168.1.200".into(),
            port: "502".into(),
            reading: None,
        }
    }
}

/// A count in full, or as a power of two when it is the whole IPv6 space (2^128).
fn exact_or_power(n: u128) -> String {
    if n == u128::MAX {
        "2^128".into()
    } else {
        super::log_view::exact_count_u128(n)
    }
}

/// A short description of an address: its most specific special range, or "public".
pub fn short_kind(report: &AddrReport, lang: Lang) -> String {
    let t = lang.t();
    let range = match (report.ranges.last(), lang) {
        (Some(r), Lang::En) => r.name.to_string(),
        (Some(r), Lang::Zh) => r.name_zh.to_string(),
        (None, _) => t.no_special.to_string(),
    };
    match &report.class {
        Some(c) => format!("{} {c} · {range}", t.class),
        None => range,
    }
}

impl AddressPanel {
    /// Draws the window; returns an address the user chose to use as a local address.
    pub fn show(&mut self, ctx: &egui::Context, lang: Lang) -> Option<IpAddr> {
        let t = lang.t();
        let mut chosen = None;
        let mut open = self.open;
        egui::Window::new(t.addresses)
            .open(&mut open)
            .default_width(560.0)
            .default_height(640.0)
            .vscroll(true)
            .show(ctx, |ui| {
                egui::CollapsingHeader::new(t.interfaces)
                    .default_open(true)
                    .show(ui, |ui| {
                        chosen = self.interfaces_ui(ui, lang);
                    });
                egui::CollapsingHeader::new(t.classify)
                    .default_open(true)
                    .show(ui, |ui| {
                        self.classify_ui(ui, lang);
                    });
                egui::CollapsingHeader::new(t.subnets)
                    .default_open(true)
                    .show(ui, |ui| {
                        self.subnet_ui(ui, lang);
                    });
                egui::CollapsingHeader::new(t.ports)
                    .default_open(true)
                    .show(ui, |ui| {
                        self.ports_ui(ui, t);
                    });
            });
        self.open = open;
        chosen
    }

    fn interfaces_ui(&mut self, ui: &mut egui::Ui, lang: Lang) -> Option<IpAddr> {
        let t = lang.t();
        let mut chosen = None;
        if let Some(reading) = self.reading.take_if(|r| r.is_finished()) {
            if let Ok(list) = reading.join() {
                self.interfaces = list;
                self.interfaces_read += 1;
            }
        }
        ui.horizontal(|ui| {
            let idle = self.reading.is_none();
            if ui.add_enabled(idle, egui::Button::new(t.refresh)).clicked() {
                self.reading = std::thread::Builder::new()
                    .name("sockscope-interfaces".into())
                    .spawn(interfaces::list)
                    .ok();
            }
            if !idle {
                ui.add(egui::Spinner::new());
                ui.ctx().request_repaint();
            }
        });
        egui::Grid::new("interfaces")
            .striped(true)
            .num_columns(5)
            .show(ui, |ui| {
                for i in &self.interfaces {
                    ui.label(&i.name);
                    ui.monospace(format!("{}/{}", i.address, i.prefix));
                    let (state, color) = if i.up {
                        (t.up, OK_COLOR)
                    } else {
                        (t.down, WARN_COLOR)
                    };
                    ui.colored_label(color, state);
                    ui.label(short_kind(
                        &addr::report("", i.address, Some(i.prefix)),
                        lang,
                    ));
                    let use_button = ui.small_button(t.use_as_local).on_hover_text(t.use_hint);
                    if use_button.clicked() {
                        chosen = Some(i.address);
                    }
                    ui.end_row();
                }
            });
        chosen
    }

    fn classify_ui(&mut self, ui: &mut egui::Ui, lang: Lang) {
        let t = lang.t();
        let label = ui.label(t.addr_input);
        ui.add(egui::TextEdit::singleline(&mut self.input).desired_width(320.0))
            .labelled_by(label.id);
        let report = match addr::classify(&self.input) {
            Ok(r) => r,
            Err(e) => {
                ui.colored_label(ERROR_COLOR, i18n::addr_error(lang, &e));
                return;
            }
        };
        egui::Grid::new("classified")
            .num_columns(2)
            .striped(true)
            .show(ui, |ui| {
                if let Some(class) = &report.class {
                    ui.strong(t.class);
                    ui.label(class);
                    ui.end_row();
                }
                ui.strong(t.prefix);
                let source = match report.prefix_source {
                    PrefixSource::Given => t.prefix_given,
                    PrefixSource::Classful => t.prefix_classful,
                    PrefixSource::Default => t.prefix_default,
                };
                ui.label(format!("/{} ({source})", report.prefix));
                ui.end_row();
                for (name, value) in [
                    (t.netmask, &report.netmask),
                    (t.wildcard, &report.wildcard),
                    (t.network, &report.network),
                ] {
                    ui.strong(name);
                    ui.monospace(value);
                    ui.end_row();
                }
                if let Some(b) = &report.broadcast {
                    ui.strong(t.broadcast_addr);
                    ui.monospace(b);
                    ui.end_row();
                }
                ui.strong(t.hosts);
                ui.monospace(format!(
                    "{} – {}  ({} {} {} {})",
                    report.first_host,
                    report.last_host,
                    report.usable_hosts,
                    t.usable,
                    t.of_total,
                    report.addresses
                ));
                ui.end_row();
                ui.strong(t.binary);
                ui.label(binary_job(&report, ui));
                ui.end_row();
                ui.strong(t.hex_int);
                ui.monospace(format!("{} / {}", report.hex, report.integer));
                ui.end_row();
                ui.strong(t.ranges);
                ui.vertical(|ui| {
                    if report.ranges.is_empty() {
                        ui.colored_label(OK_COLOR, format!("{} ({})", t.no_special, t.reachable));
                    }
                    for r in &report.ranges {
                        let name = if lang == Lang::Zh { r.name_zh } else { r.name };
                        let reach = if r.global {
                            t.reachable
                        } else {
                            t.not_reachable
                        };
                        ui.label(format!("{}  {name}  [{}]  {reach}", r.block, r.rfc));
                    }
                });
                ui.end_row();
                if let Some(scope) = &report.multicast_scope {
                    ui.strong(t.scope);
                    ui.label(scope);
                    ui.end_row();
                }
            });
    }

    fn subnet_ui(&mut self, ui: &mut egui::Ui, lang: Lang) {
        let t = lang.t();
        let Ok((ip, prefix)) = parse_input(&self.input) else {
            return;
        };
        let prefix =
            prefix.unwrap_or_else(|| addr::classify(&self.input).map(|r| r.prefix).unwrap_or(32));
        let net = network_of(ip, prefix);
        ui.horizontal(|ui| {
            if let Some(prev) = previous_subnet(net) {
                if ui
                    .button(t.previous)
                    .on_hover_text(prev.to_string())
                    .clicked()
                {
                    self.input = prev.to_string();
                }
            }
            ui.monospace(net.to_string());
            if let Some(next) = next_subnet(net) {
                if ui.button(t.next).on_hover_text(next.to_string()).clicked() {
                    self.input = next.to_string();
                }
            }
        });
        // One control: by count or by prefix; the other figure is worked out from the network
        // shown now, so the two always agree (and agree with the list).
        let plan = split_plan(net, self.split_by);
        ui.horizontal(|ui| {
            ui.label(t.split_into);
            let mut by_count = matches!(self.split_by, SplitBy::Count(_));
            let was = by_count;
            ui.radio_value(&mut by_count, true, t.split_by_count);
            ui.radio_value(&mut by_count, false, t.split_by_prefix);
            if by_count != was {
                // The other way of saying the same split, so the list does not jump.
                self.split_by = match (&plan, by_count) {
                    (Ok(p), true) => SplitBy::Count(p.count.min(1 << 20)),
                    (Ok(p), false) => SplitBy::Prefix(p.prefix),
                    (Err(_), true) => SplitBy::Count(2),
                    (Err(_), false) => SplitBy::Prefix(net.prefix_len()),
                };
            }
            match &mut self.split_by {
                SplitBy::Count(count) => {
                    let mut n = (*count).min(1 << 20) as u32;
                    ui.add(egui::DragValue::new(&mut n).range(1..=1 << 20))
                        .on_hover_text(t.split_by_count);
                    *count = u128::from(n);
                }
                SplitBy::Prefix(prefix) => {
                    ui.label("/");
                    ui.add(egui::DragValue::new(prefix).range(0..=net.max_prefix_len()))
                        .on_hover_text(t.split_by_prefix);
                }
            }
            if let Ok(p) = &plan {
                ui.strong(format!("= {} × /{}", exact_or_power(p.count), p.prefix));
            }
        });
        match plan.and_then(|p| split_to_prefix(net, p.prefix).map(|parts| (p, parts))) {
            Ok((p, parts)) => {
                let listed: Vec<String> =
                    parts.take(LISTED_SUBNETS).map(|n| n.to_string()).collect();
                let shown = listed.len();
                ui.add(egui::Label::new(RichText::new(listed.join("   ")).monospace()).wrap());
                if p.count > shown as u128 {
                    ui.weak(format!(
                        "… +{} {}",
                        exact_or_power(p.count - shown as u128),
                        t.more_subnets
                    ));
                }
            }
            Err(e) => {
                ui.colored_label(ERROR_COLOR, i18n::subnet_error(lang, &e));
            }
        }
        ui.separator();
        ui.horizontal(|ui| {
            ui.strong(t.same_subnet);
            let label = ui.label(t.other_addr);
            ui.add(egui::TextEdit::singleline(&mut self.other).desired_width(200.0))
                .labelled_by(label.id);
        });
        match self
            .other
            .trim()
            .split('%')
            .next()
            .unwrap_or("")
            .parse::<IpAddr>()
        {
            Ok(other) => match same_subnet(ip, other, prefix) {
                Ok(s) if s.same => {
                    ui.colored_label(OK_COLOR, t.same_yes.replace("{a}", &s.net_a.to_string()));
                }
                Ok(s) => {
                    let text = t
                        .same_no
                        .replace("{x}", &ip.to_string())
                        .replace("{y}", &other.to_string())
                        .replace("{a}", &s.net_a.to_string())
                        .replace("{b}", &s.net_b.to_string());
                    ui.colored_label(WARN_COLOR, text);
                }
                Err(e) => {
                    ui.colored_label(ERROR_COLOR, i18n::subnet_error(lang, &e));
                }
            },
            Err(_) => {
                ui.colored_label(ERROR_COLOR, t.err_host);
            }
        }
    }

    fn ports_ui(&mut self, ui: &mut egui::Ui, t: &Texts) {
        ui.horizontal(|ui| {
            let label = ui.label(t.port_input);
            ui.add(egui::TextEdit::singleline(&mut self.port).desired_width(80.0))
                .labelled_by(label.id);
        });
        match crate::engine::parse_port(&self.port) {
            Ok(port) => {
                let info = port_info(port);
                let range = match info.range {
                    PortRange::WellKnown => t.well_known,
                    PortRange::Registered => t.registered,
                    PortRange::Dynamic => t.dynamic,
                };
                ui.label(format!("{port}: {range}"));
                if !info.services.is_empty() {
                    ui.label(format!("{}: {}", t.services, info.services.join(", ")));
                }
                ui.label(if info.privileged_on_unix {
                    t.privileged
                } else {
                    t.unprivileged
                });
                if !info.ephemeral_on.is_empty() {
                    ui.colored_label(
                        WARN_COLOR,
                        format!("{} {}", t.ephemeral_note, info.ephemeral_on.join(", ")),
                    );
                }
            }
            Err(_) => {
                ui.colored_label(ERROR_COLOR, t.err_port);
            }
        }
        ui.weak(t.ephemeral_general);
    }
}

/// The address in binary with network bits and host bits in two colours.
fn binary_job(report: &AddrReport, ui: &egui::Ui) -> LayoutJob {
    let font = egui::TextStyle::Monospace.resolve(ui.style());
    let mut job = LayoutJob::default();
    let mut bit = 0u32;
    for ch in report.binary.chars() {
        let color = if ch == '.' || ch == ':' {
            ui.visuals().weak_text_color()
        } else {
            bit += 1;
            if bit <= u32::from(report.prefix) {
                TX_COLOR
            } else {
                RX_COLOR
            }
        };
        job.append(
            &ch.to_string(),
            0.0,
            TextFormat::simple(font.clone(), color),
        );
    }
    job.wrap.max_width = 420.0;
    job
}
