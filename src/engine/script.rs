//! A session's script in the engine: one compiled script per session (its `state` shared by
//! its connections), called for each connection's open, frames and close, and for its timers.
//! A call runs beside the engine's I/O (`block_in_place`, or a blocking task for timers), so a
//! slow script delays only its own session's answers; what it asks to send goes through the
//! connection's own writes, under the session's reply limit, into the record like any send.

use crate::payload::decode::{DecodeSpec, Decoder};
use crate::script::{Action, Script, ScriptError};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A script as a session runs it.
pub struct SessionScript {
    script: Mutex<Script>,
    /// Frames are decoded with this for the script's `fields` (none: an empty map).
    decode: Option<DecodeSpec>,
    /// When each distinct error was last said (said at most once a second).
    said: Mutex<HashMap<ScriptError, Instant>>,
}

impl std::fmt::Debug for SessionScript {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionScript")
    }
}

impl SessionScript {
    pub fn new(script: Script, decode: Option<DecodeSpec>) -> Self {
        Self {
            script: Mutex::new(script),
            decode,
            said: Mutex::new(HashMap::new()),
        }
    }

    /// Calls `function` with no arguments (`on_open`, `on_close`, a timer's function).
    pub fn call(&self, function: &str) -> Result<Vec<Action>, ScriptError> {
        match self.script.lock() {
            Ok(s) => s.call(function, ()),
            Err(_) => Ok(Vec::new()),
        }
    }

    /// `on_frame` for a received frame, with its fields when the session decodes.
    pub fn frame(&self, bytes: &[u8]) -> Result<Vec<Action>, ScriptError> {
        let fields = self
            .decode
            .as_ref()
            .and_then(|spec| Decoder::new(spec.clone()).decode(false, bytes).ok())
            .map(|d| crate::script::fields_map(&d))
            .unwrap_or_default();
        match self.script.lock() {
            Ok(s) => s.on_frame(bytes, fields),
            Err(_) => Ok(Vec::new()),
        }
    }

    /// Should this error be said now? (Once per distinct error per second.)
    pub fn say(&self, error: &ScriptError) -> bool {
        let Ok(mut said) = self.said.lock() else {
            return false;
        };
        let now = Instant::now();
        if said.len() > 256 {
            said.retain(|_, at| now.duration_since(*at) < Duration::from_secs(1));
        }
        match said.get(error) {
            Some(at) if now.duration_since(*at) < Duration::from_secs(1) => false,
            _ => {
                said.insert(error.clone(), now);
                true
            }
        }
    }
}
