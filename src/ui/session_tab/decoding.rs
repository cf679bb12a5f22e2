//! The tab's decoding: which decoder (settings), a protocol file read through the file worker,
//! one decoder per connection (a Modbus answer is paired with its request on the same
//! connection), and the Values panel fed by what they decode.

use super::*;
use crate::payload::decode::{DecodeSpec, Decoder, ProtocolFile};
use crate::ui::file_worker::FileOp;
use crate::ui::log_view::DecodedRow;
use crate::ui::values::Values;
use std::collections::HashMap;
use std::sync::Arc;

/// The settings' word for "a protocol file" in the Decode picker.
pub const PROTOCOL_FILE: &str = "file";

/// Decoders kept at once (UDP peers each have one); past it they start afresh.
const MAX_DECODERS: usize = 4096;

/// Why the chosen decoder cannot be used yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecoderMissing {
    /// A protocol file is chosen but not (yet) read and checked.
    ProtocolNotLoaded,
    /// A name the settings hold that is no decoder (an edited settings file).
    Unknown,
}

/// The decoding state of a tab (not persisted: the settings hold the choice and the path).
#[derive(Default)]
pub struct Decoding {
    /// The protocol file read and checked, when the choice is a file.
    pub protocol: Option<Arc<ProtocolFile>>,
    /// Where the protocol file is.
    pub protocol_file: PathField,
    /// Reading the protocol file, writing the values' CSV.
    pub op: FileOp,
    /// Where "Export values…" writes.
    pub export_file: PathField,
    pub export_op: FileOp,
    decoders: HashMap<String, Decoder>,
    /// The Values panel's fields and series.
    pub values: Values,
    /// The chart window is shown.
    pub chart_open: bool,
    /// The protocol file named in the settings was asked for once (a restored tab reads it
    /// by itself).
    pub asked_once: bool,
}

impl SessionTab {
    /// The decoder chosen, if any; `Err` when it is a protocol file not (yet) read.
    pub fn decode_spec(&self) -> Result<Option<DecodeSpec>, DecoderMissing> {
        match self.settings.decode.trim() {
            "" => Ok(None),
            PROTOCOL_FILE => match &self.decoding.protocol {
                Some(p) => Ok(Some(DecodeSpec::Protocol(p.clone()))),
                None => Err(DecoderMissing::ProtocolNotLoaded),
            },
            name => DecodeSpec::builtin(name)
                .map(Some)
                .ok_or(DecoderMissing::Unknown),
        }
    }

    /// The framing the session uses: the one typed, or the decoder's own when none is.
    pub fn effective_frame(&self) -> FrameSpec {
        match (self.frame_spec(), self.decode_spec()) {
            // On a serial line a decoder's framing may depend on the baud (Modbus RTU's gap).
            (Ok(FrameSpec::None), Ok(Some(d))) if self.settings.kind == SessionKind::Serial => {
                self.settings.serial.frame_for(&d)
            }
            (Ok(FrameSpec::None), Ok(Some(d))) => d.default_frame(),
            (spec, _) => spec.unwrap_or_default(),
        }
    }

    /// A protocol file's text arrived from the worker: checked, then used (or why not said).
    pub fn protocol_read(&mut self, lang: Lang, path: &std::path::Path, text: &str) {
        match ProtocolFile::parse(text) {
            Ok(p) => {
                let t = lang.t();
                self.decoding.op.say(
                    format!("{} {} ({})", t.protocol_loaded, p.name, path.display()),
                    false,
                );
                self.decoding.protocol = Some(Arc::new(p));
                self.decoding.decoders.clear();
            }
            Err(e) => {
                self.decoding.protocol = None;
                self.decoding
                    .op
                    .say_invalid(lang.t(), path, i18n::protocol_error(lang, &e));
            }
        }
    }

    /// Decodes one frame of connection `key` (what we `sent`, or received) for its log row,
    /// and gives its values to the Values panel.
    pub(super) fn decode_piece(
        &mut self,
        lang: Lang,
        conn: Option<ConnId>,
        chunk: &crate::engine::Chunk,
        bytes: &[u8],
    ) -> Option<Box<DecodedRow>> {
        // Nothing per piece when the tab does not decode (a flood passes here).
        if self.settings.decode.is_empty() {
            return None;
        }
        let spec = self.decode_spec().ok().flatten()?;
        let (sent, time) = (chunk.dir == Direction::Tx, chunk.time);
        // One decoder per connection (UDP: per peer).
        let key = match conn {
            Some(c) => c.0.to_string(),
            None => chunk.peer.to_string(),
        };
        let decoders = &mut self.decoding.decoders;
        if !decoders.contains_key(&key) && decoders.len() >= MAX_DECODERS {
            decoders.clear();
        }
        let decoder = decoders.entry(key).or_insert_with(|| Decoder::new(spec));
        Some(Box::new(match decoder.decode(sent, bytes) {
            Ok(d) => {
                self.decoding.values.push(time, &d);
                DecodedRow {
                    summary: i18n::decoded_summary(lang, &d),
                    fields: d.fields,
                    failed: false,
                }
            }
            Err(e) => DecodedRow {
                summary: i18n::decode_error(lang, &e),
                fields: Vec::new(),
                failed: true,
            },
        }))
    }

    /// A connection ended: its pairing state goes with it.
    pub(super) fn forget_decoder(&mut self, key: &str) {
        self.decoding.decoders.remove(key);
    }

    /// A new session starts with fresh decoders (the values are kept until cleared).
    pub(super) fn reset_decoders(&mut self) {
        self.decoding.decoders.clear();
    }
}
