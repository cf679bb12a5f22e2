//! A session's script in the engine: one compiled script per session (its `state` shared by
//! its connections), called for each connection's open, frames and close, and for its timers.
//! A call runs beside the engine's I/O (`block_in_place`, or a blocking task for timers), so a
//! slow script delays only its own session's answers; what it asks to send goes through the
//! connection's own writes, under the session's reply limit, into the record like any send.

use super::shared::SessionCore;
use super::{Event, NetError, NetErrorKind, Reason};
use crate::payload::decode::{DecodeSpec, Decoder};
use crate::script::{Action, Script, ScriptError};
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// The script a session runs now. Set before the open it is in place before the first byte;
/// replaced while open (the window's Apply), the old one's timers stop and the new one's
/// `on_open` runs for each open connection; emptied (Stop), nothing runs.
#[derive(Clone)]
pub struct ScriptSlot {
    current: Arc<RwLock<Option<Arc<SessionScript>>>>,
    /// Whether there is one (read per packet, so without the lock).
    present: Arc<std::sync::atomic::AtomicBool>,
    /// Bumped at each change, so connections hear of it.
    changed: Arc<watch::Sender<u64>>,
}

impl Default for ScriptSlot {
    fn default() -> Self {
        Self::new(None)
    }
}

impl std::fmt::Debug for ScriptSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ScriptSlot")
    }
}

impl ScriptSlot {
    pub fn new(script: Option<Arc<SessionScript>>) -> Self {
        Self {
            present: Arc::new(std::sync::atomic::AtomicBool::new(script.is_some())),
            current: Arc::new(RwLock::new(script)),
            changed: Arc::new(watch::channel(0).0),
        }
    }

    /// The script running now, if any.
    pub fn current(&self) -> Option<Arc<SessionScript>> {
        self.current.read().ok().and_then(|s| s.clone())
    }

    pub fn is_some(&self) -> bool {
        self.present.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Is `script` still the one running (a timer of a replaced script stops)?
    pub fn runs(&self, script: &Arc<SessionScript>) -> bool {
        self.current
            .read()
            .is_ok_and(|s| s.as_ref().is_some_and(|c| Arc::ptr_eq(c, script)))
    }

    /// Puts `script` in place (none: stops scripting) and tells the connections.
    pub fn replace(&self, script: Option<Arc<SessionScript>>) {
        if let Ok(mut s) = self.current.write() {
            self.present
                .store(script.is_some(), std::sync::atomic::Ordering::Relaxed);
            *s = script;
        }
        self.changed.send_modify(|n| *n += 1);
    }

    /// Wakes when the script is replaced.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }
}

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

/// A relay's script watches what passes (both ways) and logs: its `on_open`, `on_frame` and
/// `on_close` run, its log lines are said; a relay passes bytes unchanged, so a `reply`,
/// `send` or `every` is refused (said once a second), never carried out.
pub(crate) fn watch(
    core: &SessionCore,
    call: impl FnOnce(&SessionScript) -> Result<Vec<Action>, ScriptError>,
) {
    let Some(script) = core.script.current() else {
        return;
    };
    match super::shared::beside_io(|| call(&script)) {
        Err(e) => failed(core, &script, e),
        Ok(actions) => {
            for action in actions {
                match action {
                    Action::Log(text) => core.sink.send(Event::ScriptLog {
                        session: core.id,
                        text,
                    }),
                    _ => failed(core, &script, ScriptError::OnlyWatches),
                }
            }
        }
    }
}

/// Says a script's failure (once per distinct error per second); the session goes on.
pub(crate) fn failed(core: &SessionCore, script: &SessionScript, error: ScriptError) {
    if script.say(&error) {
        core.sink.send(Event::Warning {
            session: core.id,
            error: NetError::because(NetErrorKind::Script, Reason::Script(error)),
        });
    }
}

/// A script's `every(ms, "function")`: calls it every `ms` (on a blocking task) until `stop`
/// or until the script is replaced; its log lines are said here, its sends handed to `deliver`
/// (which answers false when there is no one left to send to).
pub(crate) async fn timer<F, Fut>(
    core: SessionCore,
    script: Arc<SessionScript>,
    stop: CancellationToken,
    ms: u64,
    function: String,
    mut deliver: F,
) where
    F: FnMut(Action) -> Fut,
    Fut: Future<Output = bool>,
{
    let mut tick = tokio::time::interval(Duration::from_millis(ms));
    tick.tick().await;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = stop.cancelled() => return,
        }
        if !core.script.runs(&script) {
            return;
        }
        let (s, f) = (script.clone(), function.clone());
        let Ok(result) = tokio::task::spawn_blocking(move || s.call(&f)).await else {
            return;
        };
        match result {
            Err(e) => failed(&core, &script, e),
            Ok(actions) => {
                for action in actions {
                    match action {
                        Action::Log(text) => core.sink.send(Event::ScriptLog {
                            session: core.id,
                            text,
                        }),
                        // A timer does not start timers.
                        Action::Every { .. } => {}
                        send => {
                            if !deliver(send).await {
                                return;
                            }
                        }
                    }
                }
            }
        }
    }
}
