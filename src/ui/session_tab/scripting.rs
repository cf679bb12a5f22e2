//! The tab's script: checked when its text changes, compiled afresh at each open and each
//! Apply (so `state` starts empty), given to the engine before the session opens or at once
//! while it is open; loaded from and saved to a file through the window's file worker.

use super::*;
use crate::ui::file_worker::FileOp;

/// The Script section beside its settings: the file it is loaded from and saved to, the job
/// under way, and the text the open session runs.
#[derive(Default)]
pub struct Scripting {
    pub file: PathField,
    pub op: FileOp,
    /// The text the session runs now (`None`: no script runs).
    pub running: Option<String>,
}

impl SessionTab {
    /// Apply: the text in the editor replaces the open session's script at once (a text that
    /// does not parse is not applied: the session goes on with the one it has).
    pub(super) fn script_apply(&mut self, lang: Lang, commands: &mut Vec<Command>) {
        if !self.is_active() || !self.scripts() {
            return;
        }
        self.settings.script_on = true;
        if self.script_problem().is_some() {
            return;
        }
        commands.push(self.script_command());
        self.scripting.running = Some(self.settings.script.clone());
        self.log
            .info(EntryKind::Info, lang.t().script_applied.into());
    }

    /// Stop: the open session runs no script from now on.
    pub(super) fn script_stop(&mut self, lang: Lang, commands: &mut Vec<Command>) {
        self.settings.script_on = false;
        if !self.is_active() {
            return;
        }
        commands.push(Command::SetScript {
            session: self.id,
            script: None,
        });
        self.scripting.running = None;
        self.log
            .info(EntryKind::Info, lang.t().script_stopped.into());
    }

    /// A script file's text arrived: it goes into the editor (an open session keeps what it
    /// runs until Apply).
    pub(super) fn script_read(&mut self, lang: Lang, path: &std::path::Path, text: String) {
        self.settings.script = text;
        self.scripting.file.path = path.display().to_string();
        self.scripting.op.say(lang.t().script_loaded.into(), false);
    }

    /// What is wrong with the script, if it is on and does not parse (checked once per text).
    pub fn script_problem(&mut self) -> Option<crate::script::ScriptError> {
        if !self.settings.script_on {
            return None;
        }
        let text = &self.settings.script;
        let fresh = self.script_checked.as_ref().is_some_and(|(t, _)| t == text);
        if !fresh {
            let problem = crate::script::Script::compile(text, self.settings.format.encoding).err();
            self.script_checked = Some((text.clone(), problem));
        }
        self.script_checked.as_ref().and_then(|(_, p)| p.clone())
    }

    /// Does this kind of tab run scripts (all; a TCP relay's watches and logs, a UDP
    /// relay's none)?
    pub fn scripts(&self) -> bool {
        !(self.settings.kind == SessionKind::Relay && self.settings.relay_udp)
    }

    /// The command that gives the engine the script for the next open or at once (none when
    /// off).
    pub(super) fn script_command(&self) -> Command {
        let script = (self.settings.script_on && self.scripts())
            .then(|| {
                crate::script::Script::compile(&self.settings.script, self.settings.format.encoding)
                    .ok()
            })
            .flatten()
            .map(|s| {
                std::sync::Arc::new(crate::engine::script::SessionScript::new(
                    s,
                    self.decode_spec().ok().flatten(),
                ))
            });
        Command::SetScript {
            session: self.id,
            script,
        }
    }
}
