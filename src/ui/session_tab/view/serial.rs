//! A serial tab's endpoint: the port (picked from the system's list or typed) and its line
//! settings.

use super::*;
use crate::engine::serial::{Flow, Parity, StopBits};
use crate::ui::widgets::ERROR_COLOR;
use eframe::egui;

/// Baud rates offered in the list (any other can be typed).
const BAUDS: [u32; 12] = [
    1200, 2400, 4800, 9600, 19_200, 38_400, 57_600, 115_200, 230_400, 460_800, 921_600, 1_000_000,
];

impl SessionTab {
    pub(super) fn serial_endpoint_ui(
        &mut self,
        ui: &mut egui::Ui,
        t: &Texts,
        errors: &EndpointErrors,
    ) {
        self.serial_ports.poll();
        // The list follows adapters plugged in and pulled: listed again every 2 s (on the
        // list's own thread) while the tab is shown.
        self.serial_ports.refresh_every(Duration::from_secs(2));
        ui.ctx().request_repaint_after(Duration::from_secs(2));
        ui.vertical(|ui| {
            let label = ui.label(t.serial_port_label);
            ui.horizontal(|ui| {
                let mut edit =
                    egui::TextEdit::singleline(&mut self.settings.serial_port).desired_width(150.0);
                if errors.host.is_some() {
                    edit = edit.text_color(ERROR_COLOR);
                }
                ui.add(edit).labelled_by(label.id);
                egui::ComboBox::from_id_salt(("serial_ports", self.id.0))
                    .selected_text("")
                    .width(16.0)
                    .show_ui(ui, |ui| {
                        if self.serial_ports.ports.is_empty() {
                            ui.label(t.no_ports);
                        }
                        for p in &self.serial_ports.ports {
                            let text = format!("{}  {}", p.name, p.description());
                            if ui
                                .selectable_label(self.settings.serial_port == p.name, text.trim())
                                .clicked()
                            {
                                self.settings.serial_port = p.name.clone();
                            }
                        }
                    })
                    .response
                    .accessible_name(format!("{} ⏷", t.serial_port_label));
                if ui
                    .add_enabled(
                        !self.serial_ports.busy(),
                        egui::Button::new(t.refresh_ports),
                    )
                    .clicked()
                {
                    self.serial_ports.refresh();
                }
            });
            if let Some(e) = errors.host {
                ui.colored_label(ERROR_COLOR, e);
            }
        });
        let s = &mut self.settings.serial;
        ui.vertical(|ui| {
            let label = ui.label(t.baud);
            ui.horizontal(|ui| {
                ui.add(egui::DragValue::new(&mut s.baud).range(1..=20_000_000))
                    .labelled_by(label.id);
                egui::ComboBox::from_id_salt(("bauds", self.id.0))
                    .selected_text("")
                    .width(16.0)
                    .show_ui(ui, |ui| {
                        for b in BAUDS {
                            ui.selectable_value(&mut s.baud, b, b.to_string());
                        }
                    })
                    .response
                    .accessible_name(format!("{} ⏷", t.baud));
            });
        });
        ui.vertical(|ui| {
            let label = ui.label(t.data_bits);
            egui::ComboBox::from_id_salt(("data_bits", self.id.0))
                .selected_text(s.data_bits.to_string())
                .width(40.0)
                .show_ui(ui, |ui| {
                    for d in 5..=8u8 {
                        ui.selectable_value(&mut s.data_bits, d, d.to_string());
                    }
                })
                .response
                .labelled_by(label.id);
        });
        ui.vertical(|ui| {
            let label = ui.label(t.parity);
            let name = |p: Parity| match p {
                Parity::None => t.parity_none,
                Parity::Odd => t.parity_odd,
                Parity::Even => t.parity_even,
            };
            egui::ComboBox::from_id_salt(("parity", self.id.0))
                .selected_text(name(s.parity))
                .width(50.0)
                .show_ui(ui, |ui| {
                    for p in [Parity::None, Parity::Odd, Parity::Even] {
                        ui.selectable_value(&mut s.parity, p, name(p));
                    }
                })
                .response
                .labelled_by(label.id);
        });
        ui.vertical(|ui| {
            let label = ui.label(t.stop_bits);
            egui::ComboBox::from_id_salt(("stop_bits", self.id.0))
                .selected_text(match s.stop_bits {
                    StopBits::One => "1",
                    StopBits::Two => "2",
                })
                .width(40.0)
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut s.stop_bits, StopBits::One, "1");
                    ui.selectable_value(&mut s.stop_bits, StopBits::Two, "2");
                })
                .response
                .labelled_by(label.id);
        });
        ui.vertical(|ui| {
            let label = ui.label(t.flow);
            let name = |f: Flow| match f {
                Flow::None => t.flow_none,
                Flow::RtsCts => t.flow_rts,
                Flow::XonXoff => t.flow_xon,
            };
            egui::ComboBox::from_id_salt(("flow", self.id.0))
                .selected_text(name(s.flow))
                .width(80.0)
                .show_ui(ui, |ui| {
                    for f in [Flow::None, Flow::RtsCts, Flow::XonXoff] {
                        ui.selectable_value(&mut s.flow, f, name(f));
                    }
                })
                .response
                .labelled_by(label.id);
        });
        if let Some(e) = errors.port {
            ui.colored_label(ERROR_COLOR, e);
        }
    }

    /// An open port's control lines: DTR and RTS switches and Send break (what the port made
    /// of each is said in the log).
    pub(super) fn serial_lines_ui(
        &mut self,
        ui: &mut egui::Ui,
        t: &Texts,
        actions: &mut Vec<TabAction>,
    ) {
        use crate::engine::serial::LineControl;
        let mut push = |control| {
            actions.push(TabAction::Engine(Box::new(Command::SetLine {
                session: self.id,
                control,
            })))
        };
        ui.horizontal(|ui| {
            ui.label(t.lines_title).on_hover_text(t.lines_hint);
            if ui.checkbox(&mut self.lines.0, t.line_dtr).changed() {
                push(LineControl::Dtr(self.lines.0));
            }
            if ui.checkbox(&mut self.lines.1, t.line_rts).changed() {
                push(LineControl::Rts(self.lines.1));
            }
            if ui.button(t.send_break).clicked() {
                push(LineControl::Break { ms: 250 });
            }
        });
        // The modem lines, live (● on, ○ off); a port that does not report them says so.
        ui.horizontal(|ui| match self.modem {
            Some(lines) if lines.reported() => {
                for (name, state) in lines.each() {
                    let (mark, color) = match state {
                        Some(true) => ("●", crate::ui::widgets::OK_COLOR),
                        Some(false) => ("○", ui.visuals().weak_text_color()),
                        None => ("?", ui.visuals().weak_text_color()),
                    };
                    ui.colored_label(color, format!("{mark} {name}"));
                }
            }
            Some(_) => {
                ui.label(egui::RichText::new(t.modem_not_reported).small());
            }
            None => {}
        });
    }

    /// Reopen by itself: the box, and while a vanished port is waited for, a look for it once
    /// a second (on the port list's thread); found, the tab opens again.
    pub(super) fn serial_reopen_ui(
        &mut self,
        ui: &mut egui::Ui,
        t: &Texts,
        actions: &mut Vec<TabAction>,
    ) {
        ui.checkbox(&mut self.settings.serial_reopen, t.serial_reopen);
        // Unticked: no longer waited for.
        if !self.settings.serial_reopen {
            self.port_wait = None;
        }
        let Some(last) = self.port_wait else {
            return;
        };
        let port = self.settings.serial_port.trim().to_string();
        if let Some((watched, true)) = &self.serial_ports.found {
            if *watched == port {
                self.serial_ports.found = None;
                self.port_wait = None;
                actions.push(TabAction::Open);
                return;
            }
        }
        if last.elapsed() >= Duration::from_secs(1) && !self.serial_ports.busy() {
            self.serial_ports.look_for(&port);
            self.port_wait = Some(Instant::now());
        }
        ui.ctx().request_repaint_after(Duration::from_millis(250));
    }
}
