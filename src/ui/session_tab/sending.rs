//! What the tab sends: targets, send commands, quick commands and the history.
use super::*;

impl SessionTab {
    /// Where a send from this tab goes.
    pub(super) fn target(&self) -> SendTarget {
        match self.settings.kind {
            SessionKind::TcpClient | SessionKind::Relay | SessionKind::Serial => {
                SendTarget::Default
            }
            SessionKind::WsClient => SendTarget::Default,
            SessionKind::TcpServer | SessionKind::WsServer => self
                .send_to
                .map_or(SendTarget::AllClients, SendTarget::Conn),
            SessionKind::Udp if self.reply_to_last => SendTarget::LastSender,
            SessionKind::Udp => SendTarget::To(self.settings.udp_dest.trim().to_string()),
        }
    }

    /// Sends the typed input once (or starts repeating it) and keeps it in the history; an
    /// input that cannot be turned into bytes sends nothing (the send panel says why).
    pub(super) fn send_input(&mut self, repeat: bool, commands: &mut Vec<Command>) {
        if self.repeating || !self.is_active() {
            return;
        }
        let Ok(bytes) = build_payload(&self.settings.input, &self.settings.format) else {
            return;
        };
        let repeat = repeat.then(|| Repeat {
            interval: Duration::from_millis(self.settings.repeat_ms.max(1)),
            count: None,
        });
        self.repeating = repeat.is_some();
        commands.push(self.send_command(&bytes, repeat));
        self.remember();
    }

    /// The command that sends the current input: fixed bytes, or with macros a template the
    /// engine expands at each send.
    pub(super) fn send_command(&self, bytes: &[u8], repeat: Option<Repeat>) -> Command {
        self.command_for(&self.settings.input, &self.settings.format, bytes, repeat)
    }

    /// The command that sends `input` written in `format` (already turned into `bytes`).
    pub(super) fn command_for(
        &self,
        input: &str,
        format: &SendFormat,
        bytes: &[u8],
        repeat: Option<Repeat>,
    ) -> Command {
        let template = format
            .macros
            .then(|| Template::parse(input, format).ok())
            .flatten();
        match template {
            Some(template) => Command::SendTemplate {
                session: self.id,
                target: self.target(),
                template,
                repeat,
            },
            None => Command::Send {
                session: self.id,
                target: self.target(),
                bytes: bytes.to_vec(),
                repeat,
                ack: None,
            },
        }
    }

    /// Sends a quick command now; an invalid one (edited file) says why in the log.
    pub fn send_quick(&mut self, index: usize, lang: Lang, commands: &mut Vec<Command>) {
        let Some(q) = self.settings.quick.get(index).cloned() else {
            return;
        };
        match build_payload(&q.input, &q.format) {
            Ok(bytes) if self.is_active() => {
                commands.push(self.command_for(&q.input, &q.format, &bytes, None))
            }
            Ok(_) => {}
            Err(e) => self.log.info(
                EntryKind::Error,
                format!("{}: {}", q.name, i18n::payload_error(lang, &e)),
            ),
        }
    }

    /// Puts the current input at the end of the history (once).
    pub(super) fn remember(&mut self) {
        let item = HistoryItem {
            input: self.settings.input.clone(),
            format: self.settings.format.clone(),
        };
        self.settings.history.retain(|h| *h != item);
        self.settings.history.push(item);
        let excess = self.settings.history.len().saturating_sub(50);
        self.settings.history.drain(..excess);
    }
}
