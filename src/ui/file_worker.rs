//! The window's small files (quick commands, rules, sequences) are read and written by one
//! worker thread, never by the window's own: a slow or hung disk cannot freeze it. Each job
//! answers on a channel of its own, which the panel that asked polls while it draws.
//!
//! A write never replaces an existing file unless told to: it answers
//! [`FileError::Exists`], and [`FileOp`] asks the user first.

use super::i18n::Texts;
use super::widgets::{ERROR_COLOR, OK_COLOR};
use eframe::egui;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};

/// Jobs waiting at most; a click beyond that is told the worker is busy.
const QUEUE: usize = 16;
/// Largest file read (these are small settings files).
const MAX_READ_BYTES: u64 = 16 << 20;

/// Why a file job failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileError {
    /// The file exists and was not replaced.
    Exists,
    /// Too many file jobs at once.
    Busy,
    /// Larger than a settings file can be.
    TooLarge,
    /// The system's words.
    Io(String),
}

impl FileError {
    fn from_io(e: &std::io::Error) -> Self {
        match e.kind() {
            std::io::ErrorKind::AlreadyExists => Self::Exists,
            _ => Self::Io(e.to_string()),
        }
    }

    /// In the user's language (the system's own words as they come).
    pub fn say(&self, t: &Texts) -> String {
        match self {
            Self::Exists => t.file_exists.to_string(),
            Self::Busy => t.files_busy.to_string(),
            Self::TooLarge => t.file_too_large.to_string(),
            Self::Io(e) => e.clone(),
        }
    }
}

/// What a job came to.
#[derive(Debug)]
pub enum FileDone {
    Read(Result<String, FileError>),
    Written(Result<(), FileError>),
}

enum Job {
    Read {
        path: PathBuf,
        reply: mpsc::Sender<FileDone>,
    },
    Write {
        path: PathBuf,
        text: String,
        replace: bool,
        reply: mpsc::Sender<FileDone>,
    },
}

/// The worker: owned by the window, stopped (after the jobs it has) when the window goes.
pub struct FileWorker {
    jobs: Option<SyncSender<Job>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FileWorker {
    /// Starts the worker. Should the system refuse a thread, every job answers
    /// [`FileError::Busy`] (the window still works, without file imports and exports).
    pub fn start() -> Self {
        let (jobs, queue) = mpsc::sync_channel::<Job>(QUEUE);
        let thread = std::thread::Builder::new()
            .name("sockscope-files".into())
            .spawn(move || {
                for job in queue {
                    match job {
                        Job::Read { path, reply } => {
                            let _ = reply.send(FileDone::Read(read(&path)));
                        }
                        Job::Write {
                            path,
                            text,
                            replace,
                            reply,
                        } => {
                            let _ = reply.send(FileDone::Written(write(&path, &text, replace)));
                        }
                    }
                }
            });
        match thread {
            Ok(thread) => Self {
                jobs: Some(jobs),
                thread: Some(thread),
            },
            Err(_) => Self {
                jobs: None,
                thread: None,
            },
        }
    }

    fn submit(&self, job: impl FnOnce(mpsc::Sender<FileDone>) -> Job) -> Receiver<FileDone> {
        // Unbounded, bounded in fact: one answer per job.
        #[allow(clippy::disallowed_methods)]
        let (reply, answer) = mpsc::channel();
        let busy = |reply: &mpsc::Sender<FileDone>, write: bool| {
            let _ = reply.send(if write {
                FileDone::Written(Err(FileError::Busy))
            } else {
                FileDone::Read(Err(FileError::Busy))
            });
        };
        let job = job(reply.clone());
        let write = matches!(job, Job::Write { .. });
        match self.jobs.as_ref().map(|jobs| jobs.try_send(job)) {
            Some(Ok(())) => {}
            Some(Err(TrySendError::Full(_) | TrySendError::Disconnected(_))) | None => {
                busy(&reply, write);
            }
        }
        answer
    }

    /// Reads a text file.
    pub fn read(&self, path: &Path) -> Receiver<FileDone> {
        let path = path.to_path_buf();
        self.submit(|reply| Job::Read { path, reply })
    }

    /// Writes a text file; an existing one only with `replace`.
    pub fn write(&self, path: &Path, text: String, replace: bool) -> Receiver<FileDone> {
        let path = path.to_path_buf();
        self.submit(|reply| Job::Write {
            path,
            text,
            replace,
            reply,
        })
    }
}

impl Drop for FileWorker {
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn read(path: &Path) -> Result<String, FileError> {
    let size = std::fs::metadata(path)
        .map_err(|e| FileError::from_io(&e))?
        .len();
    if size > MAX_READ_BYTES {
        return Err(FileError::TooLarge);
    }
    std::fs::read_to_string(path).map_err(|e| FileError::from_io(&e))
}

fn write(path: &Path, text: &str, replace: bool) -> Result<(), FileError> {
    let mut file = if replace {
        std::fs::File::create(path)
    } else {
        std::fs::File::create_new(path)
    }
    .map_err(|e| FileError::from_io(&e))?;
    std::io::Write::write_all(&mut file, text.as_bytes()).map_err(|e| FileError::from_io(&e))
}

/// A panel's file job in progress and its last outcome: a read whose text the panel takes, a
/// write whose existing target is replaced only once the user says so.
#[derive(Default)]
pub struct FileOp {
    waiting: Option<Waiting>,
    /// Asking whether to replace this file with this text.
    asking: Option<(PathBuf, String)>,
    /// The last outcome (text, failed).
    pub note: Option<(String, bool)>,
    /// The parser's own words about a file that is not valid, shown when the note is pointed
    /// at (the sentence itself is in the user's language).
    detail: Option<String>,
}

struct Waiting {
    path: PathBuf,
    /// What a write writes (kept to ask about replacing).
    text: Option<String>,
    answer: Receiver<FileDone>,
}

impl FileOp {
    /// Is a job under way?
    pub fn busy(&self) -> bool {
        self.waiting.is_some()
    }

    /// Reads `path`; its text comes back from [`FileOp::ui`].
    pub fn read(&mut self, files: &FileWorker, path: PathBuf) {
        let answer = files.read(&path);
        self.start(path, None, answer);
    }

    /// Writes `text` to `path`, asking before replacing a file that exists.
    pub fn write(&mut self, files: &FileWorker, path: PathBuf, text: String) {
        let answer = files.write(&path, text.clone(), false);
        self.start(path, Some(text), answer);
    }

    fn start(&mut self, path: PathBuf, text: Option<String>, answer: Receiver<FileDone>) {
        self.note = None;
        self.detail = None;
        self.asking = None;
        self.waiting = Some(Waiting { path, text, answer });
    }

    /// Says a result of the panel's own.
    pub fn say(&mut self, text: String, failed: bool) {
        self.note = Some((text, failed));
        self.detail = None;
    }

    /// Says that `path` was read but is not a file of this kind: where (line and column, when
    /// the parser says), in the user's language; the parser's own words on hover.
    pub fn say_invalid(&mut self, t: &Texts, path: &Path, detail: String) {
        let place = line_and_column(&detail)
            .map(|(line, column)| format!(" ({} {line}:{column})", t.at_line_column))
            .unwrap_or_default();
        self.note = Some((
            format!("{}: {}{place}", path.display(), t.file_not_valid),
            true,
        ));
        self.detail = Some(detail);
    }

    /// Draws the outcome (or the question whether to replace) and returns a finished read:
    /// the path and its text. `done` words a finished write.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        t: &Texts,
        files: &FileWorker,
    ) -> Option<(PathBuf, String)> {
        let mut read = None;
        if let Some(done) = self.waiting.as_ref().and_then(|w| w.answer.try_recv().ok()) {
            if let Some(waiting) = self.waiting.take() {
                let shown = waiting.path.display().to_string();
                match done {
                    FileDone::Read(Ok(text)) => read = Some((waiting.path, text)),
                    FileDone::Written(Ok(())) => {
                        self.note = Some((format!("{} {shown}", t.exported), false));
                    }
                    FileDone::Written(Err(FileError::Exists)) => {
                        self.asking = waiting.text.map(|text| (waiting.path, text));
                    }
                    FileDone::Read(Err(e)) | FileDone::Written(Err(e)) => {
                        self.note = Some((format!("{shown}: {}", e.say(t)), true));
                    }
                }
            }
        }
        if self.waiting.is_some() {
            ui.add(egui::Spinner::new());
            ui.ctx().request_repaint();
        }
        if let Some((path, text)) = self.asking.clone() {
            ui.colored_label(
                ERROR_COLOR,
                format!("{}: {}", path.display(), t.file_exists),
            );
            ui.horizontal(|ui| {
                if ui.button(t.replace).clicked() {
                    let answer = files.write(&path, text.clone(), true);
                    self.start(path.clone(), Some(text.clone()), answer);
                }
                if ui.button(t.cancel).clicked() {
                    self.asking = None;
                }
            });
        }
        if let Some((text, failed)) = &self.note {
            let label = ui.colored_label(if *failed { ERROR_COLOR } else { OK_COLOR }, text);
            if let Some(detail) = &self.detail {
                label.on_hover_text(detail);
            }
        }
        read
    }
}

/// Where a parser says a file went wrong: "… at line 3, column 7 …" (TOML's words).
fn line_and_column(detail: &str) -> Option<(u64, u64)> {
    let rest = &detail[detail.find("line ")? + 5..];
    let (line, rest) = rest.split_once(", column ")?;
    let column: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some((line.trim().parse().ok()?, column.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wait(answer: &Receiver<FileDone>) -> FileDone {
        answer
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("an answer")
    }

    #[test]
    fn where_a_file_went_wrong_is_found_in_the_parser_s_words() {
        let detail = "TOML parse error at line 3, column 17\n  |\n3 | x = [\n";
        assert_eq!(line_and_column(detail), Some((3, 17)));
        assert_eq!(line_and_column("step 2: no send"), None);
    }

    /// A write never replaces a file unless told; a read gives the text back.
    #[test]
    fn writes_ask_before_replacing_and_reads_come_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("quick.toml");
        let files = FileWorker::start();
        assert!(matches!(
            wait(&files.write(&path, "one".into(), false)),
            FileDone::Written(Ok(()))
        ));
        assert!(matches!(
            wait(&files.write(&path, "two".into(), false)),
            FileDone::Written(Err(FileError::Exists))
        ));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "one", "untouched");
        assert!(matches!(
            wait(&files.write(&path, "two".into(), true)),
            FileDone::Written(Ok(()))
        ));
        match wait(&files.read(&path)) {
            FileDone::Read(Ok(text)) => assert_eq!(text, "two"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            wait(&files.read(&dir.path().join("missing.toml"))),
            FileDone::Read(Err(FileError::Io(_)))
        ));
    }
}
