//! TLS settings of a TCP client or server tab: the form (kept with the tab's settings), the
//! certificate generated in one click (kept while the program runs), and the settings the
//! engine gets at open.

use super::i18n::Texts;
use super::path_field::{DialogKind, PathField};
use super::widgets::{ERROR_COLOR, OK_COLOR};
use crate::engine::tls::{
    self, Generated, Identity, TlsOptionError, TlsOptions, TlsServerSettings, TlsSettings,
};
use eframe::egui;
use std::sync::Arc;

/// How a client checks the server, as the tab keeps it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum VerifyChoice {
    #[default]
    System,
    CaFile,
    Pin,
    Insecure,
}

/// A tab's TLS form.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct TlsForm {
    /// TLS on.
    pub on: bool,
    pub verify: VerifyChoice,
    /// Client: CA file; server: the CA of required client certificates (empty: none).
    pub ca: String,
    pub pin: String,
    pub sni: String,
    pub alpn: String,
    /// Server: use certificate files rather than a generated certificate.
    pub use_files: bool,
    pub cert: String,
    pub key: String,
    /// Server: names added to a generated certificate (comma-separated).
    pub names: String,
    /// Relay: TLS towards the target too (`on` is TLS towards the relay's clients).
    pub target_on: bool,
}

impl TlsForm {
    /// A recorded sequence's connection with this TLS (a server's generated certificate is made
    /// again at each run).
    pub fn as_connection(
        &self,
        mut c: crate::sequence::Connection,
        server: bool,
    ) -> crate::sequence::Connection {
        if !self.on {
            return c;
        }
        let text = |s: &str| path(s).map(|p| p.display().to_string());
        c.tls = true;
        c.tls_alpn = list(&self.alpn);
        if server {
            c.tls_generate = !self.use_files;
            if self.use_files {
                c.tls_cert = text(&self.cert);
                c.tls_key = text(&self.key);
            }
            c.tls_ca = text(&self.ca);
        } else {
            match self.verify {
                VerifyChoice::System => {}
                VerifyChoice::CaFile => c.tls_ca = text(&self.ca),
                VerifyChoice::Pin => c.tls_pin = Some(self.pin.trim().to_string()),
                VerifyChoice::Insecure => c.tls_insecure = true,
            }
            c.tls_sni = text(&self.sni);
            c.tls_cert = text(&self.cert);
            c.tls_key = text(&self.key);
        }
        c
    }
}

/// The panel's own state.
#[derive(Default)]
pub struct TlsPanel {
    /// The certificate generated for this tab (not kept across runs: save it to reuse it).
    pub generated: Option<Arc<Generated>>,
    folder: PathField,
    note: Option<(String, bool)>,
    /// The fingerprint of the certificate file last read, by its path (read once, not per frame).
    file_fingerprint: Option<(String, Option<String>)>,
}

fn list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Why the TLS settings cannot be used, in the user's words.
fn said(t: &Texts, e: &TlsOptionError) -> &'static str {
    match e {
        TlsOptionError::BadPin => t.err_tls_pin,
        TlsOptionError::ManyWaysToVerify => t.err_tls_ca,
        TlsOptionError::HalfIdentity
        | TlsOptionError::NoServerIdentity
        | TlsOptionError::TwoIdentities
        | TlsOptionError::ClientOnly
        | TlsOptionError::Generate(_) => t.err_tls_no_cert,
    }
}

fn path(text: &str) -> Option<std::path::PathBuf> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.into())
}

impl TlsPanel {
    /// The settings a client tab opens with, or why it cannot (in the user's words).
    pub fn client(&self, form: &TlsForm, t: &Texts) -> Result<Option<TlsSettings>, &'static str> {
        if !form.on {
            return Ok(None);
        }
        let ca = match form.verify {
            VerifyChoice::CaFile => Some(path(&form.ca).ok_or(t.err_tls_ca)?),
            _ => None,
        };
        let options = TlsOptions {
            ca,
            pin: (form.verify == VerifyChoice::Pin).then(|| form.pin.clone()),
            insecure: form.verify == VerifyChoice::Insecure,
            sni: Some(form.sni.clone()),
            alpn: list(&form.alpn),
            cert: path(&form.cert),
            key: path(&form.key),
            generate: None,
        };
        options
            .client()
            .map(|c| Some(TlsSettings::Client(c)))
            .map_err(|e| said(t, &e))
    }

    /// The settings a server tab opens with, or why it cannot.
    pub fn server(&self, form: &TlsForm, t: &Texts) -> Result<Option<TlsSettings>, &'static str> {
        if !form.on {
            return Ok(None);
        }
        let (cert, key, generated) = if form.use_files {
            (path(&form.cert), path(&form.key), None)
        } else {
            (None, None, self.generated.clone())
        };
        let options = TlsOptions {
            ca: path(&form.ca),
            alpn: list(&form.alpn),
            cert,
            key,
            ..TlsOptions::default()
        };
        options
            .server(generated)
            .map(|s| Some(TlsSettings::Server(s)))
            .map_err(|e| said(t, &e))
    }

    /// A client tab's TLS row.
    pub fn client_ui(
        &mut self,
        ui: &mut egui::Ui,
        t: &Texts,
        form: &mut TlsForm,
        error: Option<&str>,
    ) {
        let mut on = form.on;
        verify_rows(ui, t, form, &mut on, t.tls_on);
        form.on = on;
        if let (true, Some(e)) = (form.on, error) {
            ui.colored_label(ERROR_COLOR, e);
        }
    }

    /// A relay tab's TLS rows: towards its clients (a certificate, as a server's) and towards
    /// its target (verified as a client's).
    pub fn relay_ui(
        &mut self,
        ui: &mut egui::Ui,
        t: &Texts,
        form: &mut TlsForm,
        error: Option<&str>,
        active: bool,
    ) {
        ui.add_enabled_ui(!active, |ui| {
            self.server_settings_ui(ui, t, form, t.tls_relay_listen, false);
            let mut on = form.target_on;
            verify_rows(ui, t, form, &mut on, t.tls_relay_target);
            form.target_on = on;
        });
        if form.on {
            self.fingerprint_ui(ui, t, form);
        }
        if let (true, Some(e)) = (form.on || form.target_on, error) {
            ui.colored_label(ERROR_COLOR, e);
        }
    }

    /// The settings a relay tab opens with, or why it cannot.
    pub fn relay(&self, form: &TlsForm, t: &Texts) -> Result<Option<TlsSettings>, &'static str> {
        let listen = match self.server(form, t)? {
            Some(TlsSettings::Server(s)) => Some(TlsServerSettings {
                client_ca: None,
                ..s
            }),
            _ => None,
        };
        let target_form = TlsForm {
            on: form.target_on,
            cert: String::new(),
            key: String::new(),
            ..form.clone()
        };
        let target = match self.client(&target_form, t)? {
            Some(TlsSettings::Client(c)) => Some(c),
            _ => None,
        };
        Ok((listen.is_some() || target.is_some()).then_some(TlsSettings::Relay { listen, target }))
    }
}

/// The TLS switch `on` (called `label`) and, when on, how the server is verified, SNI, ALPN.
fn verify_rows(ui: &mut egui::Ui, t: &Texts, form: &mut TlsForm, on: &mut bool, label: &str) {
    {
        ui.horizontal_wrapped(|ui| {
            ui.checkbox(on, label).on_hover_text(t.tls_hint);
            if !*on {
                return;
            }
            let label = ui.label(t.tls_verify);
            egui::ComboBox::from_id_salt("tls_verify")
                .selected_text(verify_label(t, form.verify))
                .show_ui(ui, |ui| {
                    for v in [
                        VerifyChoice::System,
                        VerifyChoice::CaFile,
                        VerifyChoice::Pin,
                        VerifyChoice::Insecure,
                    ] {
                        ui.selectable_value(&mut form.verify, v, verify_label(t, v));
                    }
                })
                .response
                .labelled_by(label.id);
            match form.verify {
                VerifyChoice::CaFile => text_field(ui, t.tls_ca_file, &mut form.ca, 220.0),
                VerifyChoice::Pin => text_field(ui, t.tls_pin, &mut form.pin, 300.0),
                VerifyChoice::System | VerifyChoice::Insecure => {}
            }
            text_field(ui, t.tls_sni, &mut form.sni, 120.0);
            text_field(ui, t.tls_alpn, &mut form.alpn, 90.0);
        });
        if *on && form.verify == VerifyChoice::Insecure {
            ui.colored_label(ERROR_COLOR, t.tls_insecure_warning);
        }
    }
}

impl TlsPanel {
    /// A server tab's TLS row: a certificate in one click (or files), its fingerprint, and
    /// client certificates required or not.
    pub fn server_ui(
        &mut self,
        ui: &mut egui::Ui,
        t: &Texts,
        form: &mut TlsForm,
        error: Option<&str>,
        active: bool,
    ) {
        ui.add_enabled_ui(!active, |ui| {
            self.server_settings_ui(ui, t, form, t.tls_on, true)
        });
        if !form.on {
            return;
        }
        self.fingerprint_ui(ui, t, form);
        if let Some(e) = error {
            ui.colored_label(ERROR_COLOR, e);
        }
    }

    /// What a server serves: generated or files, client CA, ALPN (fixed while it listens).
    fn server_settings_ui(
        &mut self,
        ui: &mut egui::Ui,
        t: &Texts,
        form: &mut TlsForm,
        label: &str,
        client_certificates: bool,
    ) {
        ui.horizontal_wrapped(|ui| {
            ui.checkbox(&mut form.on, label).on_hover_text(t.tls_hint);
            if !form.on {
                return;
            }
            ui.radio_value(&mut form.use_files, false, t.tls_generated);
            ui.radio_value(&mut form.use_files, true, t.tls_use_files);
            if form.use_files {
                text_field(ui, t.tls_cert_file, &mut form.cert, 180.0);
                text_field(ui, t.tls_key_file, &mut form.key, 180.0);
            } else {
                text_field(ui, t.tls_names, &mut form.names, 140.0);
                if ui
                    .button(t.tls_generate)
                    .on_hover_text(t.tls_generate_hint)
                    .clicked()
                {
                    let names = tls::default_names(&list(&form.names));
                    match tls::generate(&names) {
                        Ok(g) => {
                            self.generated = Some(Arc::new(g));
                            self.note = None;
                        }
                        Err(e) => self.note = Some((e.to_string(), true)),
                    }
                }
            }
        });
        if !form.on {
            return;
        }
        ui.horizontal_wrapped(|ui| {
            if client_certificates {
                text_field(ui, t.tls_client_ca, &mut form.ca, 220.0);
            }
            text_field(ui, t.tls_alpn, &mut form.alpn, 90.0);
        });
    }

    /// The served certificate's fingerprint (copyable) and, when generated, its names and a
    /// way to save it as files.
    fn fingerprint_ui(&mut self, ui: &mut egui::Ui, t: &Texts, form: &TlsForm) {
        let fingerprint = if form.use_files {
            let known = self
                .file_fingerprint
                .as_ref()
                .filter(|(p, _)| *p == form.cert);
            match known {
                Some((_, fp)) => fp.clone(),
                None => {
                    let fp = path(&form.cert).and_then(|cert| {
                        let settings = TlsServerSettings {
                            identity: Identity::Files {
                                cert,
                                key: std::path::PathBuf::new(),
                            },
                            client_ca: None,
                            alpn: Vec::new(),
                        };
                        tls::server_fingerprint(&settings).ok()
                    });
                    self.file_fingerprint = Some((form.cert.clone(), fp.clone()));
                    fp
                }
            }
        } else {
            self.generated.as_ref().map(|g| g.fingerprint.clone())
        };
        if let Some(fp) = fingerprint {
            ui.horizontal_wrapped(|ui| {
                ui.label("SHA-256");
                ui.add(egui::Label::new(egui::RichText::new(&fp).monospace()).selectable(true));
                if ui.small_button(t.copy).clicked() {
                    ui.ctx().copy_text(fp.clone());
                }
            });
        }
        if let (false, Some(g)) = (form.use_files, self.generated.clone()) {
            ui.label(egui::RichText::new(g.names.join(", ")).small());
            ui.horizontal(|ui| {
                self.folder
                    .ui(ui, t, t.tls_save_folder, DialogKind::Folder, 180.0);
                if ui.button(t.tls_save).clicked() {
                    let dir = self.folder.path_buf();
                    self.note = Some(match tls::write_generated(&g, &dir) {
                        Ok(paths) => (
                            format!(
                                "{} {}",
                                t.tls_saved,
                                paths
                                    .iter()
                                    .map(|p| p.display().to_string())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                            false,
                        ),
                        Err(e) => (e.to_string(), true),
                    });
                }
            });
        }
        if let Some((text, failed)) = &self.note {
            ui.colored_label(if *failed { ERROR_COLOR } else { OK_COLOR }, text);
        }
    }
}

fn verify_label(t: &Texts, v: VerifyChoice) -> &'static str {
    match v {
        VerifyChoice::System => t.tls_verify_system,
        VerifyChoice::CaFile => t.tls_verify_ca,
        VerifyChoice::Pin => t.tls_verify_pin,
        VerifyChoice::Insecure => t.tls_verify_none,
    }
}

/// A labelled one-line field.
fn text_field(ui: &mut egui::Ui, label: &str, value: &mut String, width: f32) {
    let label = ui.label(label);
    ui.add(egui::TextEdit::singleline(value).desired_width(width))
        .labelled_by(label.id);
}
