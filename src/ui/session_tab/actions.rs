//! What the user asked for in a view, carried out after the frame is drawn: the only place a
//! click changes the tab beyond the settings its widgets are bound to. Unit-tested without a
//! window.

use super::*;

/// Something the user asked for in a view, carried out after drawing.
#[derive(Clone, Debug)]
pub enum TabAction {
    /// Open the session with the current settings.
    Open,
    /// Close it.
    Close,
    /// Zero the counters and the rate graph.
    ResetStats,
    StartCapture,
    StopCapture,
    /// Aim this tab's Probe panel at its peer and show it.
    Probe,
    StartRecording,
    StopRecording,
    /// The keep limit changed (an open tab's engine side follows at once).
    KeepLimit,
    /// Send the file in the file field over the session.
    SendFile,
    CancelFile,
    /// Send the typed input once, or repeatedly.
    Send {
        repeat: bool,
    },
    StopRepeat,
    /// Send quick command `n`.
    SendQuick(usize),
    /// Put history item `n` back in the input.
    Recall(usize),
    /// Send only to this client (`None`: to all).
    SendTo(Option<ConnId>),
    /// A protocol file's text arrived from the file worker.
    ProtocolRead {
        path: PathBuf,
        text: String,
    },
    /// Put the editor's script in place in the open session.
    ScriptApply,
    /// The open session runs no script from now on.
    ScriptStop,
    /// A script file's text arrived from the file worker.
    ScriptRead {
        path: PathBuf,
        text: String,
    },
    /// Any engine command with no effect on the tab itself.
    Engine(Box<Command>),
}

impl SessionTab {
    /// Carries out `action`: engine commands go to `commands`; what needs the window comes
    /// back.
    pub fn apply(
        &mut self,
        action: TabAction,
        lang: Lang,
        commands: &mut Vec<Command>,
    ) -> Option<TabRequest> {
        match action {
            TabAction::Open => self.open(commands),
            TabAction::Close => commands.push(Command::Close { session: self.id }),
            TabAction::ResetStats => {
                commands.push(Command::ResetStats { session: self.id });
                self.stats = SessionStats::default();
                self.rates.clear();
            }
            TabAction::StartCapture => self.start_capture(lang, commands),
            TabAction::StopCapture => self.stop_capture(commands),
            TabAction::Probe => {
                if let Some((target, udp)) = self.probe_target() {
                    self.probe.aim(target, udp, &self.settings.format);
                    self.probe.open = true;
                }
            }
            TabAction::StartRecording => self.start_recording(),
            TabAction::StopRecording => {
                return self
                    .stop_recording(lang)
                    .map(|sequence| TabRequest::Recorded(Box::new(sequence)));
            }
            // A closed tab sends it when it opens; an open one's engine side follows now.
            TabAction::KeepLimit if self.kept => commands.push(Command::KeepReceived {
                session: self.id,
                limit_bytes: self.settings.keep_mib.saturating_mul(1 << 20),
            }),
            TabAction::KeepLimit => {}
            TabAction::SendFile => {
                commands.push(Command::SendFile {
                    session: self.id,
                    target: self.target(),
                    path: self.file.path_buf(),
                    options: StreamOptions::default(),
                });
                self.file_progress = Some(FileProgress {
                    done: 0,
                    total: None,
                    rate: 0.0,
                });
            }
            TabAction::CancelFile => {
                commands.push(Command::CancelFile { session: self.id });
                self.file_progress = None;
            }
            TabAction::Send { repeat } => self.send_input(repeat, commands),
            TabAction::StopRepeat => {
                commands.push(Command::StopRepeat { session: self.id });
                self.repeating = false;
            }
            TabAction::SendQuick(index) => self.send_quick(index, lang, commands),
            TabAction::Recall(index) => {
                if let Some(item) = self.settings.history.get(index).cloned() {
                    self.settings.input = item.input;
                    self.settings.format = item.format;
                }
            }
            TabAction::SendTo(conn) => self.send_to = conn,
            TabAction::ProtocolRead { path, text } => self.protocol_read(lang, &path, &text),
            TabAction::ScriptApply => self.script_apply(lang, commands),
            TabAction::ScriptStop => self.script_stop(lang, commands),
            TabAction::ScriptRead { path, text } => self.script_read(lang, &path, text),
            TabAction::Engine(command) => commands.push(*command),
        }
        None
    }
}

#[cfg(test)]
mod tests {
    //! What a click does, carried out without a window.
    use super::*;

    fn open_client_tab() -> SessionTab {
        let mut tab = SessionTab::new(SessionId(3), TabSettings::new(SessionKind::TcpClient));
        tab.on_event(
            Event::Opened {
                session: tab.id,
                local: "127.0.0.1:40000".parse().unwrap(),
                peer: Some("127.0.0.1:8080".parse().unwrap()),
            },
            Lang::En,
        );
        tab
    }

    /// Open puts the rules in place before the session opens, so they answer its first bytes.
    #[test]
    fn open_sends_the_rules_before_the_session() {
        let mut tab = SessionTab::new(SessionId(3), TabSettings::new(SessionKind::TcpClient));
        let mut commands = Vec::new();
        tab.apply(TabAction::Open, Lang::En, &mut commands);
        let rules = commands
            .iter()
            .position(|c| matches!(c, Command::SetRules { .. }));
        let open = commands
            .iter()
            .position(|c| matches!(c, Command::Open { .. }));
        assert!(
            rules.is_some() && open.is_some() && rules < open,
            "{commands:?}"
        );
        assert_eq!(tab.state, TabState::Opening);
    }

    /// A loaded script goes into the editor only; Apply puts it in place when it parses (a
    /// broken one leaves the running script alone); Stop takes the script away.
    #[test]
    fn a_loaded_script_runs_only_once_applied_and_a_broken_one_is_not_applied() {
        let mut tab = open_client_tab();
        let mut commands = Vec::new();
        let path = PathBuf::from("/tmp/sim.rhai");
        let good = "fn on_frame(f, x) { reply(f); }".to_string();
        tab.apply(
            TabAction::ScriptRead {
                path: path.clone(),
                text: good.clone(),
            },
            Lang::En,
            &mut commands,
        );
        assert!(commands.is_empty(), "{commands:?}");
        assert_eq!(
            (tab.settings.script.as_str(), tab.scripting.running.as_ref()),
            (good.as_str(), None)
        );
        tab.apply(TabAction::ScriptApply, Lang::En, &mut commands);
        assert!(
            matches!(
                &commands[..],
                [Command::SetScript {
                    script: Some(_),
                    ..
                }]
            ),
            "{commands:?}"
        );
        assert_eq!(tab.scripting.running.as_ref(), Some(&good));
        tab.settings.script = "fn on_frame(f, x) { let = 1; }".into();
        tab.apply(TabAction::ScriptApply, Lang::En, &mut commands);
        assert_eq!(commands.len(), 1, "a broken script is not applied");
        assert_eq!(tab.scripting.running.as_ref(), Some(&good));
        tab.apply(TabAction::ScriptStop, Lang::En, &mut commands);
        assert!(matches!(
            commands.last(),
            Some(Command::SetScript { script: None, .. })
        ));
        assert!(tab.scripting.running.is_none() && !tab.settings.script_on);
    }

    #[test]
    fn send_and_repeat_go_out_once_and_land_in_the_history() {
        let mut tab = open_client_tab();
        tab.settings.input = "ping".into();
        let mut commands = Vec::new();
        tab.apply(TabAction::Send { repeat: false }, Lang::En, &mut commands);
        assert!(
            matches!(&commands[..], [Command::Send { bytes, repeat: None, .. }] if bytes == b"ping"),
            "{commands:?}"
        );
        assert_eq!(tab.settings.history.len(), 1);
        tab.apply(TabAction::Send { repeat: true }, Lang::En, &mut commands);
        assert!(tab.repeating);
        // While repeating, another send is not started.
        tab.apply(TabAction::Send { repeat: false }, Lang::En, &mut commands);
        assert_eq!(commands.len(), 2, "{commands:?}");
        tab.apply(TabAction::StopRepeat, Lang::En, &mut commands);
        assert!(!tab.repeating);
        assert!(matches!(commands.last(), Some(Command::StopRepeat { .. })));
        // Input that is not valid hex sends nothing.
        tab.settings.format.mode = InputMode::Hex;
        tab.settings.input = "0G".into();
        tab.apply(TabAction::Send { repeat: false }, Lang::En, &mut commands);
        assert_eq!(commands.len(), 3);
    }

    #[test]
    fn capture_reset_and_keep_limit_become_engine_commands() {
        let mut tab = open_client_tab();
        tab.capture_file.path = "/tmp/x.pcapng".into();
        tab.stats.total.rx_bytes = 9;
        tab.rates.push_back([1.0, 2.0, 3.0]);
        let mut commands = Vec::new();
        tab.apply(TabAction::StartCapture, Lang::En, &mut commands);
        assert_eq!(
            tab.capture.as_deref(),
            Some(std::path::Path::new("/tmp/x.pcapng"))
        );
        tab.apply(TabAction::ResetStats, Lang::En, &mut commands);
        assert_eq!(tab.stats.total.rx_bytes, 0);
        assert!(tab.rates.is_empty());
        // Nothing kept yet (the tab never opened with a keep limit): nothing to change.
        tab.kept = false;
        tab.apply(TabAction::KeepLimit, Lang::En, &mut commands);
        assert!(matches!(
            &commands[..],
            [Command::Capture { .. }, Command::ResetStats { .. }]
        ));
        tab.kept = true;
        tab.apply(TabAction::KeepLimit, Lang::En, &mut commands);
        assert!(matches!(
            commands.last(),
            Some(Command::KeepReceived { .. })
        ));
    }
}
