//! A path typed by hand or picked with the system's file dialog. The dialog runs on a thread of
//! its own (never blocking the window); where no dialog service exists, typing still works.

use super::i18n::Texts;
use eframe::egui;
use std::path::PathBuf;
use std::sync::mpsc;

/// Which dialog the browse button opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DialogKind {
    /// Choose a file to read.
    OpenFile,
    /// Choose where to write a file.
    SaveFile,
    /// Choose a folder.
    Folder,
}

/// A path text field with a browse button.
#[derive(Default)]
pub struct PathField {
    /// The path as shown and typed.
    pub path: String,
    pending: Option<(mpsc::Receiver<Option<PathBuf>>, std::time::Instant)>,
    /// The last dialog closed at once without an answer: most likely none could be shown
    /// (no desktop portal); the window says so instead of doing nothing.
    pub dialog_failed: bool,
}

/// A dialog answered with nothing faster than this never showed: no one cancels that fast.
const DIALOG_NEVER_SHOWN: std::time::Duration = std::time::Duration::from_millis(400);

impl PathField {
    /// A field holding `path`.
    pub fn new(path: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            pending: None,
            dialog_failed: false,
        }
    }

    /// The path, trimmed.
    pub fn path_buf(&self) -> PathBuf {
        PathBuf::from(self.path.trim())
    }

    /// Draws `label`, the text field and the browse button (and, when the system had no
    /// dialog to show, a line saying to type the path).
    pub fn ui(&mut self, ui: &mut egui::Ui, t: &Texts, label: &str, kind: DialogKind, width: f32) {
        if let Some((rx, asked)) = &self.pending {
            if let Ok(choice) = rx.try_recv() {
                self.dialog_failed = choice.is_none() && asked.elapsed() < DIALOG_NEVER_SHOWN;
                if let Some(path) = choice {
                    self.path = path.display().to_string();
                }
                self.pending = None;
            }
        }
        ui.horizontal(|ui| {
            let label_text = label;
            let label = ui.label(label_text);
            ui.add(egui::TextEdit::singleline(&mut self.path).desired_width(width))
                .labelled_by(label.id);
            let browse = ui
                .add_enabled(self.pending.is_none(), egui::Button::new("…"))
                .on_hover_text(label_text)
                .accessible_name(format!("{label_text} …"));
            if browse.clicked() {
                self.pending = Some((
                    open_dialog(kind, self.path_buf(), ui.ctx().clone()),
                    std::time::Instant::now(),
                ));
            }
        });
        if self.dialog_failed {
            ui.colored_label(super::widgets::ERROR_COLOR, t.dialog_failed);
        }
    }
}

fn open_dialog(
    kind: DialogKind,
    start: PathBuf,
    ctx: egui::Context,
) -> mpsc::Receiver<Option<PathBuf>> {
    // One answer per dialog.
    #[allow(clippy::disallowed_methods)]
    let (tx, rx) = mpsc::channel();
    // If no thread can be started the field simply gets no answer; the window goes on.
    // The one thread the window does not own: the system's file dialog is modal and cannot be
    // closed from outside; the thread ends when the user answers (its answer then goes
    // nowhere if the field is gone) or with the process.
    let _ = std::thread::Builder::new()
        .name("sockscope-dialog".into())
        .spawn(move || {
            let mut dialog = rfd::FileDialog::new();
            let dir = if start.is_dir() {
                Some(start.as_path())
            } else {
                start.parent()
            };
            if let Some(dir) = dir.filter(|d| d.is_dir()) {
                dialog = dialog.set_directory(dir);
            }
            let choice = match kind {
                DialogKind::OpenFile => dialog.pick_file(),
                DialogKind::Folder => dialog.pick_folder(),
                DialogKind::SaveFile => {
                    if let Some(name) = start.file_name() {
                        dialog = dialog.set_file_name(name.to_string_lossy());
                    }
                    dialog.save_file()
                }
            };
            let _ = tx.send(choice);
            ctx.request_repaint();
        });
    rx
}
