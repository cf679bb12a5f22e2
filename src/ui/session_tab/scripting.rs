//! The tab's script: checked when its text changes, compiled afresh at each open (so `state`
//! starts empty), given to the engine before the session opens.

use super::*;

impl SessionTab {
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

    /// Does this kind of tab run scripts (TCP client, TCP server, serial)?
    pub fn scripts(&self) -> bool {
        matches!(
            self.settings.kind,
            SessionKind::TcpClient | SessionKind::TcpServer | SessionKind::Serial
        )
    }

    /// The command that gives the engine the script for the next open (none when off).
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
