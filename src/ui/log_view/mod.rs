//! The receive log: every message with time, direction and peer, shown as text, hex or both.
//!
//! Rows are virtualised (only visible rows are formatted), so a million entries scroll as
//! smoothly as a hundred. Memory is bounded by a cap the user sets: the oldest entries leave
//! the view with a visible note; what the user saves to file through the engine is complete.

mod format;

pub use format::{format_row, format_row_with, write_log};

use super::i18n::{Lang, Texts};
use super::widgets::room_for;
use super::widgets::{ERROR_COLOR, RX_COLOR, TX_COLOR, WARN_COLOR};
use crate::payload::hex::encode_hex;
use crate::payload::{text_for_display, TextEncoding};
use eframe::egui::{self, RichText};
use std::collections::VecDeque;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

/// What a log row records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    /// Data received.
    Rx,
    /// Data sent.
    Tx,
    /// A state change (connected, listening…).
    Info,
    /// A failure.
    Error,
}

/// One row of the log.
#[derive(Debug)]
pub struct LogEntry {
    /// When it happened.
    pub time: SystemTime,
    /// What it is.
    pub kind: EntryKind,
    /// The remote end, for data.
    pub peer: Option<SocketAddr>,
    /// The data (for Info and Error: UTF-8 text).
    pub bytes: Vec<u8>,
    /// With a framer: this entry is one frame, with the time since the one before.
    pub frame: Option<crate::engine::FrameInfo>,
    /// With a decoder: the frame's values, or why it does not decode (boxed: most entries
    /// have none, and a log holds a million).
    pub decoded: Option<Box<DecodedRow>>,
}

/// A frame as its decoder read it, worded when it arrived in the user's language.
#[derive(Clone, Debug, PartialEq)]
pub struct DecodedRow {
    /// The one-line summary (`FC03 读保持寄存器 unit 1 @2 ×3 → 102 103 104`), or why the
    /// frame does not decode.
    pub summary: String,
    /// Every field: name, value, unit, offset and length in the frame.
    pub fields: Vec<crate::payload::decode::Field>,
    /// The frame did not decode (its bytes are kept as they are).
    pub failed: bool,
}

/// How data is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum DisplayMode {
    /// Decoded text.
    #[default]
    Text,
    /// Hex bytes.
    Hex,
    /// Text, then hex.
    Both,
}

/// Bytes of one entry shown in its row; the rest is in the detail pane.
const ROW_BYTES: usize = 1024;
/// Bytes shown in the detail pane of the selected entry.
const DETAIL_BYTES: usize = 64 << 10;
/// Entries tested against the filter per frame, so a new filter never stalls the window.
const FILTER_STEP: u64 = 25_000;
/// Rows drawn with wrapping (not virtualised) when wrap is on.
const WRAP_ROWS: usize = 2000;

/// What the log wants the window to do after drawing.
pub enum LogAction {
    /// Save the held entries as text (`false`) or CSV (`true`).
    Save { csv: bool },
}

/// Entries plus the view's settings.
pub struct LogView {
    entries: VecDeque<Arc<LogEntry>>,
    /// Sequence number of `entries[0]`.
    first_seq: u64,
    /// Entries removed from the front because of the cap.
    pub dropped: u64,
    /// Bytes the engine could not queue for display (the display fell behind).
    pub not_shown: u64,
    /// The cap on entries held.
    pub max_entries: usize,
    /// The cap on data bytes held (a flood of large chunks reaches it before the entry cap).
    pub max_bytes: usize,
    held_bytes: usize,
    /// How data is shown.
    pub display: DisplayMode,
    /// Encoding of shown text.
    /// How a text and a binary message are said (the user's language).
    pub message_words: [&'static str; 2],
    pub encoding: TextEncoding,
    /// Freeze the view (entries still arrive and are kept).
    pub paused: Option<u64>,
    /// Follow new entries.
    pub auto_scroll: bool,
    /// Wrap long rows.
    pub wrap: bool,
    /// Show only rows containing this text (case-insensitive).
    pub filter: String,
    matches: FilterCache,
    selected: Option<u64>,
    /// What the last Clear took away, kept for [`UNDO_CLEAR`] so a slip of the mouse is undone.
    cleared: Option<Cleared>,
    /// Set when the log let go of much memory (a cleared log forgotten); the window gives it
    /// back to the system and resets this.
    pub freed: bool,
}

/// How long a cleared log can be brought back.
pub const UNDO_CLEAR: std::time::Duration = std::time::Duration::from_secs(10);

/// What a Clear took away.
struct Cleared {
    entries: VecDeque<Arc<LogEntry>>,
    first_seq: u64,
    held_bytes: usize,
    dropped: u64,
    not_shown: u64,
    at: std::time::Instant,
}

#[derive(Default)]
struct FilterCache {
    key: (String, DisplayMode, Option<TextEncoding>),
    seqs: VecDeque<u64>,
    checked_to: u64,
}

impl Default for LogView {
    fn default() -> Self {
        Self {
            entries: VecDeque::new(),
            first_seq: 0,
            dropped: 0,
            not_shown: 0,
            max_entries: 1_000_000,
            max_bytes: 128 << 20,
            held_bytes: 0,
            display: DisplayMode::Text,
            encoding: TextEncoding::Utf8,
            message_words: format::MESSAGE_WORDS_EN,
            paused: None,
            auto_scroll: true,
            wrap: false,
            filter: String::new(),
            matches: FilterCache::default(),
            selected: None,
            cleared: None,
            freed: false,
        }
    }
}

/// Formats the clock time of an entry.
pub fn clock(time: SystemTime) -> String {
    chrono::DateTime::<chrono::Local>::from(time)
        .format("%H:%M:%S%.3f")
        .to_string()
}

impl LogView {
    /// Adds an entry, dropping the oldest beyond the cap.
    pub fn push(&mut self, entry: LogEntry) {
        let mut entry = entry;
        // A chunk built by appending may hold spare room: what is kept is what is counted.
        if entry.bytes.capacity() > entry.bytes.len() + entry.bytes.len() / 4 + 64 {
            entry.bytes.shrink_to_fit();
        }
        self.held_bytes += memory_of(&entry);
        self.entries.push_back(Arc::new(entry));
        self.trim();
    }

    /// Drops the oldest entries beyond the caps.
    fn trim(&mut self) {
        let cap = self.max_entries.max(100);
        while self.entries.len() > 1
            && (self.entries.len() > cap || self.held_bytes > self.max_bytes)
        {
            if let Some(old) = self.entries.pop_front() {
                self.held_bytes -= memory_of(&old);
            }
            self.first_seq += 1;
            self.dropped += 1;
        }
    }

    /// Adds a state-change note.
    pub fn info(&mut self, kind: EntryKind, text: String) {
        self.push(LogEntry {
            time: SystemTime::now(),
            kind,
            peer: None,
            bytes: text.into_bytes(),
            frame: None,
            decoded: None,
        });
    }

    /// Number of entries held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Is the log empty?
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Removes every entry; [`LogView::undo_clear`] brings them back for [`UNDO_CLEAR`].
    pub fn clear(&mut self) {
        let entries = std::mem::take(&mut self.entries);
        self.cleared = Some(Cleared {
            first_seq: self.first_seq,
            held_bytes: self.held_bytes,
            dropped: self.dropped,
            not_shown: self.not_shown,
            entries,
            at: std::time::Instant::now(),
        });
        self.first_seq += self.cleared.as_ref().map_or(0, |c| c.entries.len() as u64);
        self.held_bytes = 0;
        self.dropped = 0;
        self.not_shown = 0;
        self.selected = None;
        self.matches = FilterCache::default();
    }

    /// Can the last Clear still be undone?
    pub fn can_undo_clear(&self) -> bool {
        self.cleared
            .as_ref()
            .is_some_and(|c| c.at.elapsed() < UNDO_CLEAR)
    }

    /// Brings back what the last Clear took, before what arrived since.
    pub fn undo_clear(&mut self) {
        let Some(cleared) = self.cleared.take() else {
            return;
        };
        let newer = std::mem::replace(&mut self.entries, cleared.entries);
        self.first_seq = cleared.first_seq;
        self.held_bytes += cleared.held_bytes;
        self.dropped += cleared.dropped;
        self.not_shown += cleared.not_shown;
        self.entries.extend(newer);
        self.matches = FilterCache::default();
        self.trim();
    }

    /// Lets go of a cleared log once it can no longer be brought back (its memory with it).
    fn forget_cleared(&mut self) {
        if self.cleared.is_some() && !self.can_undo_clear() {
            self.cleared = None;
            self.freed = true;
        }
    }

    /// The entries held, oldest first (cheap: shared pointers), for saving off the UI thread.
    pub fn snapshot(&self) -> Vec<Arc<LogEntry>> {
        self.entries.iter().cloned().collect()
    }

    fn end_seq(&self) -> u64 {
        self.first_seq + self.entries.len() as u64
    }

    fn get(&self, seq: u64) -> Option<&Arc<LogEntry>> {
        seq.checked_sub(self.first_seq)
            .and_then(|i| self.entries.get(i as usize))
    }

    /// The one-line text of a row.
    pub fn row_text(&self, entry: &LogEntry, limit: usize) -> String {
        format_row_with(
            entry,
            self.display,
            self.encoding,
            limit,
            self.message_words,
        )
    }

    /// Sequence numbers of the rows to show, honouring filter and pause.
    fn visible(&mut self) -> RowSet {
        let end = self
            .paused
            .unwrap_or_else(|| self.end_seq())
            .min(self.end_seq());
        if self.filter.is_empty() {
            return RowSet::Range(self.first_seq.min(end), end);
        }
        let key = (
            self.filter.to_lowercase(),
            self.display,
            Some(self.encoding),
        );
        if self.matches.key != key {
            self.matches = FilterCache {
                key,
                seqs: VecDeque::new(),
                checked_to: self.first_seq,
            };
        }
        while self
            .matches
            .seqs
            .front()
            .is_some_and(|s| *s < self.first_seq)
        {
            self.matches.seqs.pop_front();
        }
        let needle = self.matches.key.0.clone();
        let mut seq = self.matches.checked_to.max(self.first_seq);
        let stop = end.min(seq + FILTER_STEP);
        while seq < stop {
            if let Some(e) = self.get(seq) {
                if self.row_text(e, ROW_BYTES).to_lowercase().contains(&needle) {
                    self.matches.seqs.push_back(seq);
                }
            }
            seq += 1;
        }
        self.matches.checked_to = seq;
        RowSet::List(
            self.matches
                .seqs
                .iter()
                .copied()
                .filter(|s| *s < end)
                .collect(),
        )
    }

    /// Is the filter still working through entries (over the next frames)?
    fn filter_pending(&self) -> bool {
        !self.filter.is_empty()
            && self.matches.checked_to < self.paused.unwrap_or_else(|| self.end_seq())
    }

    /// Draws the toolbar, the rows and the detail of the selected row.
    pub fn ui(&mut self, ui: &mut egui::Ui, lang: Lang) -> Option<LogAction> {
        let t = lang.t();
        let mut action = None;
        self.toolbar(ui, t, &mut action);
        if self.dropped > 0 {
            ui.colored_label(WARN_COLOR, format!("{} {}", self.dropped, t.dropped_note));
        }
        if self.not_shown > 0 {
            ui.colored_label(
                WARN_COLOR,
                format!("{} {}", human_bytes(self.not_shown), t.not_shown_note),
            );
        }
        let rows = self.visible();
        if self.filter_pending() {
            ui.ctx().request_repaint();
        }
        let detail_height = if self.selected.is_some() { 120.0 } else { 0.0 };
        let row_height = ui.text_style_height(&egui::TextStyle::Monospace) + 2.0;
        let available = (ui.available_height() - detail_height).max(80.0);
        let mut clicked = None;
        egui::ScrollArea::both()
            .id_salt("log_rows")
            .max_height(available)
            .auto_shrink([false, false])
            .stick_to_bottom(self.auto_scroll)
            .show_rows(
                ui,
                row_height,
                if self.wrap { 0 } else { rows.len() },
                |ui, range| {
                    if self.wrap {
                        let n = rows.len();
                        for i in n.saturating_sub(WRAP_ROWS)..n {
                            self.row(ui, rows.get(i), true, &mut clicked);
                        }
                    } else {
                        for i in range {
                            self.row(ui, rows.get(i), false, &mut clicked);
                        }
                    }
                },
            );
        if let Some(seq) = clicked {
            self.selected = if self.selected == Some(seq) {
                None
            } else {
                Some(seq)
            };
        }
        self.detail(ui);
        action
    }

    fn toolbar(&mut self, ui: &mut egui::Ui, t: &Texts, action: &mut Option<LogAction>) {
        ui.horizontal_wrapped(|ui| {
            ui.strong(t.receive_log);
            ui.radio_value(&mut self.display, DisplayMode::Text, t.show_text);
            ui.radio_value(&mut self.display, DisplayMode::Hex, t.show_hex);
            ui.radio_value(&mut self.display, DisplayMode::Both, t.show_both);
            super::widgets::encoding_combo(ui, "log_encoding", t.encoding, &mut self.encoding);
            let mut paused = self.paused.is_some();
            if ui.checkbox(&mut paused, t.pause).changed() {
                self.paused = paused.then(|| self.end_seq());
            }
            ui.checkbox(&mut self.auto_scroll, t.auto_scroll);
            ui.checkbox(&mut self.wrap, t.wrap);
            // Each label with its field, so wrapping never parts them.
            room_for(ui, t.filter, 120.0);
            let label = ui.label(t.filter);
            ui.add(egui::TextEdit::singleline(&mut self.filter).desired_width(120.0))
                .labelled_by(label.id);
            if ui.button(t.copy).clicked() {
                let text = self.copy_text();
                ui.ctx().copy_text(text);
            }
            // One slot, one size, whichever it says: nothing after it moves.
            let size = [90.0, ui.spacing().interact_size.y];
            self.forget_cleared();
            if self.can_undo_clear() {
                if ui
                    .add_sized(size, egui::Button::new(t.undo_clear))
                    .on_hover_text(t.undo_clear_hint)
                    .clicked()
                {
                    self.undo_clear();
                }
                ui.ctx()
                    .request_repaint_after(std::time::Duration::from_secs(1));
            } else if ui.add_sized(size, egui::Button::new(t.clear)).clicked() {
                self.clear();
            }
            if ui.button(t.save_log).clicked() {
                *action = Some(LogAction::Save { csv: false });
            }
            if ui.button(t.save_csv).clicked() {
                *action = Some(LogAction::Save { csv: true });
            }
            room_for(ui, t.max_entries, 70.0);
            let label = ui.label(t.max_entries);
            ui.add(
                egui::DragValue::new(&mut self.max_entries)
                    .range(100..=10_000_000)
                    .speed(1000),
            )
            .labelled_by(label.id);
            room_for(ui, t.max_mib, 50.0);
            let label = ui.label(t.max_mib);
            let mut mib = self.max_bytes >> 20;
            if ui
                .add(egui::DragValue::new(&mut mib).range(1..=16_384))
                .labelled_by(label.id)
                .changed()
            {
                self.max_bytes = mib << 20;
            }
        });
    }

    /// The selected entry in full, or the visible rows when none is selected.
    fn copy_text(&mut self) -> String {
        if let Some(e) = self.selected.and_then(|s| self.get(s)).cloned() {
            return self.row_text(&e, DETAIL_BYTES);
        }
        let rows = self.visible();
        let mut out = String::new();
        for i in rows.len().saturating_sub(10_000)..rows.len() {
            if let Some(e) = rows.get(i).and_then(|s| self.get(s)) {
                out.push_str(&self.row_text(e, ROW_BYTES));
                out.push('\n');
            }
        }
        out
    }

    fn row(&self, ui: &mut egui::Ui, seq: Option<u64>, wrap: bool, clicked: &mut Option<u64>) {
        let Some((seq, entry)) = seq.and_then(|s| self.get(s).map(|e| (s, e))) else {
            return;
        };
        let color = match entry.kind {
            EntryKind::Rx => RX_COLOR,
            EntryKind::Tx => TX_COLOR,
            EntryKind::Info => ui.visuals().weak_text_color(),
            EntryKind::Error => ERROR_COLOR,
        };
        let text = RichText::new(self.row_text(entry, ROW_BYTES))
            .monospace()
            .color(color);
        let label = egui::Label::new(text).sense(egui::Sense::click());
        let label = if wrap { label.wrap() } else { label.extend() };
        let response = ui.add(label);
        if self.selected == Some(seq) {
            ui.painter()
                .rect_stroke(response.rect, 2.0, (1.0, color), egui::StrokeKind::Outside);
        }
        if response.clicked() {
            *clicked = Some(seq);
        }
    }

    fn detail(&self, ui: &mut egui::Ui) {
        let Some(entry) = self.selected.and_then(|s| self.get(s)) else {
            return;
        };
        ui.separator();
        egui::ScrollArea::vertical()
            .id_salt("log_detail")
            .max_height(110.0)
            .show(ui, |ui| {
                let shown = &entry.bytes[..entry.bytes.len().min(DETAIL_BYTES)];
                let mut text = format!("{} B\n", entry.bytes.len());
                if let Some(dt) = entry.frame.and_then(|f| f.dt) {
                    // The exact figure behind the row's rounded Δt.
                    text.insert_str(0, &format!("Δt {} ns · ", exact_count_u128(dt.as_nanos())));
                }
                if matches!(entry.kind, EntryKind::Rx | EntryKind::Tx) {
                    text.push_str(&text_for_display(shown, self.encoding));
                    text.push('\n');
                    text.push_str(&encode_hex(shown));
                    if let Some(d) = &entry.decoded {
                        text.push_str("\n\n");
                        text.push_str(&format::decoded_detail(d, &entry.bytes));
                    }
                } else {
                    text.push_str(&String::from_utf8_lossy(shown));
                }
                ui.add(
                    egui::Label::new(RichText::new(text).monospace())
                        .wrap()
                        .selectable(true),
                );
            });
    }
}

enum RowSet {
    Range(u64, u64),
    List(Vec<u64>),
}

impl RowSet {
    fn len(&self) -> usize {
        match self {
            RowSet::Range(a, b) => (b - a) as usize,
            RowSet::List(v) => v.len(),
        }
    }

    fn get(&self, i: usize) -> Option<u64> {
        match self {
            RowSet::Range(a, b) => (a + (i as u64) < *b).then_some(a + i as u64),
            RowSet::List(v) => v.get(i).copied(),
        }
    }
}

/// Bytes in B, KiB, MiB or GiB.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Memory an entry holds: its bytes and its bookkeeping (the entry, its shared pointer, its
/// slot in the queue), so the MiB cap bounds the log's real size, small chunks included.
fn memory_of(entry: &LogEntry) -> usize {
    const PER_ENTRY: usize = std::mem::size_of::<LogEntry>() + 16 + std::mem::size_of::<usize>();
    entry.bytes.capacity() + PER_ENTRY
}

/// `n` in full, digits grouped by three: `9,154,527,232`.
pub fn exact_count(n: u64) -> String {
    exact_count_u128(u128::from(n))
}

/// [`exact_count`] for the counts of IPv6 subnets.
pub fn exact_count_u128(n: u128) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() * 4 / 3);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(d);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(kind: EntryKind, bytes: &[u8]) -> LogEntry {
        LogEntry {
            time: SystemTime::now(),
            kind,
            peer: Some("127.0.0.1:5000".parse().unwrap()),
            bytes: bytes.to_vec(),
            frame: None,
            decoded: None,
        }
    }

    #[test]
    fn cap_drops_oldest_and_counts_them() {
        let mut log = LogView {
            max_entries: 100,
            ..LogView::default()
        };
        for i in 0..250u32 {
            log.push(entry(EntryKind::Rx, &i.to_be_bytes()));
        }
        assert_eq!(log.len(), 100);
        assert_eq!(log.dropped, 150);
        assert_eq!(log.snapshot()[0].bytes, 150u32.to_be_bytes());
    }

    #[test]
    fn large_chunks_are_capped_by_bytes_too() {
        let mut log = LogView {
            max_bytes: 10 << 20,
            ..LogView::default()
        };
        for _ in 0..50 {
            log.push(entry(EntryKind::Rx, &vec![0u8; 1 << 20]));
        }
        // Each entry costs its bytes and its bookkeeping: nine 1 MiB chunks fit under 10 MiB.
        assert_eq!(log.len(), 9, "1 MiB chunks under a 10 MiB cap");
        assert_eq!(log.dropped, 41);
        log.clear();
        log.push(entry(EntryKind::Rx, &vec![0u8; 20 << 20]));
        assert_eq!(log.len(), 1, "the newest entry is always kept");
    }

    #[test]
    fn filter_finds_rows_and_follows_new_entries() {
        let mut log = LogView::default();
        log.push(entry(EntryKind::Rx, b"alpha"));
        log.push(entry(EntryKind::Rx, b"beta"));
        log.filter = "ALP".into();
        assert_eq!(log.visible().len(), 1);
        log.push(entry(EntryKind::Tx, b"alphabet"));
        assert_eq!(log.visible().len(), 2);
        log.display = DisplayMode::Hex;
        log.filter = "62 65 74 61".into(); // "beta", not "alphabet"
        assert_eq!(log.visible().len(), 1);
    }

    #[test]
    fn rows_show_gbk_and_truncate_long_data() {
        let e = entry(EntryKind::Rx, &[0xC4, 0xE3, 0xBA, 0xC3]);
        let row = format_row(&e, DisplayMode::Both, TextEncoding::Gbk, 1024);
        assert!(
            row.contains("RX  127.0.0.1:5000  (4 B)  你好  |  C4 E3 BA C3"),
            "{row}"
        );
        let long = entry(EntryKind::Rx, &[b'a'; 3000]);
        assert!(
            format_row(&long, DisplayMode::Text, TextEncoding::Utf8, 1024).ends_with("… (+1976 B)")
        );
    }

    #[test]
    fn csv_quotes_text() {
        let mut out = Vec::new();
        write_log(
            &[Arc::new(entry(EntryKind::Rx, b"say \"hi\", ok"))],
            true,
            TextEncoding::Utf8,
            &mut out,
        )
        .unwrap();
        let csv = String::from_utf8(out).unwrap();
        assert!(
            csv.contains(",rx,127.0.0.1:5000,12,\"say \"\"hi\"\", ok\",73 61"),
            "{csv}"
        );
    }
}
