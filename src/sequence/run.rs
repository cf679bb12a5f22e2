//! Running a sequence: a session of the engine, the steps in order, each result as it comes.

use super::*;

/// What a run tells its caller as it goes.
#[derive(Debug)]
pub enum Progress<'a> {
    /// A `tcp-server` or listening `udp` sequence is ready at this address.
    Listening(std::net::SocketAddr),
    /// A `tcp-server` sequence's client connected.
    Client(std::net::SocketAddr),
    /// A step's result.
    Step(&'a StepResult),
}

/// How long a `tcp-server` sequence waits for its client when the file does not say.
const DEFAULT_CLIENT_WAIT: Duration = Duration::from_secs(60);

/// Runs a sequence over a new session of `engine`; `on` sees the listening address, the
/// client, and each result as it comes.
pub fn run(
    sequence: &Sequence,
    engine: &EngineHandle,
    on: impl FnMut(Progress<'_>),
) -> Result<Report, SequenceError> {
    run_stoppable(sequence, engine, None, on)
}

/// Like [`run`]; when `stop` is set the run ends within a moment, the steps not reached
/// reported as not run and the run as stopped ([`RunIssue::Stopped`]).
pub fn run_stoppable(
    sequence: &Sequence,
    engine: &EngineHandle,
    stop: Option<&std::sync::atomic::AtomicBool>,
    mut on: impl FnMut(Progress<'_>),
) -> Result<Report, SequenceError> {
    let (steps, scripts) = sequence.prepare()?;
    let encoding = sequence.encoding()?;
    let session = engine.new_session_id();
    let config = sequence.session_config()?;
    let framing = sequence.framing()?;
    let tls = sequence.connection.tls_settings()?;
    if tls.is_some() {
        engine.send(Command::SetTls { session, tls });
    }
    if let Some(spec) = &framing {
        engine.send(Command::SetFraming {
            session,
            spec: spec.clone(),
            max_frame: crate::payload::framing::DEFAULT_MAX_FRAME,
            frame_sends: false,
        });
    }
    engine.send(Command::Open { session, config });
    let mut report = Report {
        name: sequence.name.clone(),
        started: Some(SystemTime::now()),
        results: Vec::new(),
        aborted: None,
    };
    let kind = sequence.connection.kind;
    let mut runner = Runner {
        engine,
        session,
        framed: framing.is_some(),
        frames: std::collections::VecDeque::new(),
        received: Vec::new(),
        closed: None,
        open: None,
        server: kind == ConnectionKind::TcpServer,
        client: None,
        sent: HashMap::new(),
        stop,
        decoder: sequence
            .decoder()?
            .map(crate::payload::decode::Decoder::new),
        last: (Vec::new(), None),
    };
    // Numbers the sends, so {{counter}} counts through the whole run.
    let mut sends = 0u64;
    match runner.wait_open() {
        Ok(local) => {
            let listening = kind == ConnectionKind::TcpServer
                || (kind == ConnectionKind::Udp && sequence.connection.remote.is_empty());
            if listening {
                on(Progress::Listening(local));
            }
        }
        Err(issue) => {
            report.aborted = Some(issue);
            engine.send(Command::Close { session });
            return Ok(report);
        }
    }
    let target = match kind {
        ConnectionKind::Udp if sequence.connection.remote.is_empty() => SendTarget::LastSender,
        _ => SendTarget::Default,
    };
    let client_wait = sequence
        .connection
        .timeout_ms
        .map_or(DEFAULT_CLIENT_WAIT, |ms| {
            Duration::from_millis(ms).max(DEFAULT_CLIENT_WAIT)
        });
    'rounds: for round in 1..=sequence.repeat.max(1) {
        // A simulator runs each round with the client it has, or the next one to connect.
        let target = if runner.server {
            match runner.wait_client(client_wait) {
                Ok((conn, peer, new)) => {
                    if new {
                        on(Progress::Client(peer));
                    }
                    SendTarget::Conn(conn)
                }
                Err(issue) => {
                    report.aborted = Some(issue);
                    break 'rounds;
                }
            }
        } else {
            target.clone()
        };
        // Once the connection has ended, the next step that needs it fails (it could not run)
        // and the steps after it are not run.
        let mut close_reported = false;
        for (i, step) in steps.iter().enumerate() {
            for _ in 0..step.times {
                if let Some(reason) = runner.closed.clone() {
                    // A user's Stop fails nothing: what was not reached is not run.
                    let fails = !close_reported
                        && !matches!(step.action, Action::Wait(_))
                        && !matches!(reason, RunIssue::Stopped);
                    close_reported |= fails;
                    let result = StepResult {
                        step: i + 1,
                        round,
                        label: step.label.clone(),
                        outcome: if fails {
                            Outcome::Fail
                        } else {
                            Outcome::NotRun
                        },
                        millis: 0,
                        detail: if fails {
                            format!("not run: connection closed ({reason})")
                        } else {
                            "not run".into()
                        },
                        expected: step.expected.clone(),
                        received: None,
                        failure: fails.then_some(StepFailure::Closed(reason)),
                    };
                    on(Progress::Step(&result));
                    report.results.push(result);
                    continue;
                }
                let start = Instant::now();
                let mut received = None;
                let mut failure = None;
                let (outcome, detail) = match &step.action {
                    Action::Send(template) => {
                        sends += 1;
                        match template.expand(sends) {
                            Err(e) => {
                                let detail = format!("not sent: {e}");
                                failure = Some(StepFailure::NotSent(RunIssue::Payload(e)));
                                (Outcome::Fail, detail)
                            }
                            Ok(bytes) => {
                                let detail = describe(&bytes, encoding);
                                // Passes only once the bytes were written to the socket.
                                match runner.send(&target, bytes, sends) {
                                    Ok(()) => (Outcome::Pass, detail),
                                    Err(why) => {
                                        let detail = format!("not sent: {why}; {detail}");
                                        failure = Some(StepFailure::NotSent(why));
                                        (Outcome::Fail, detail)
                                    }
                                }
                            }
                        }
                    }
                    Action::Script(function) => {
                        let result = match &scripts {
                            Some(s) => {
                                runner.script_step(s, function, &target, &mut sends, encoding)
                            }
                            // (Not so: prepare() compiled a script for every script step;
                            // should it be, the step could not run and fails.)
                            None => Err((
                                StepFailure::Script(crate::script::ScriptError::Run {
                                    line: 0,
                                    message: "the sequence's script was not compiled".into(),
                                }),
                                String::new(),
                            )),
                        };
                        match result {
                            Ok(detail) => (Outcome::Pass, detail),
                            Err((why, detail)) => {
                                let words = match &why {
                                    StepFailure::Script(e) => e.to_string(),
                                    StepFailure::NotSent(issue) => format!("not sent: {issue}"),
                                    _ => String::new(),
                                };
                                failure = Some(why);
                                let detail = if detail.is_empty() {
                                    words
                                } else {
                                    format!("{words}; {detail}")
                                };
                                (Outcome::Fail, detail)
                            }
                        }
                    }
                    Action::Wait(d) => {
                        runner.pump_until(Instant::now() + *d, |_| None::<()>);
                        (Outcome::Pass, String::new())
                    }
                    Action::Expect(matcher, timeout, test) => {
                        let hit = runner.pump_until(Instant::now() + *timeout, |r| {
                            r.matched(matcher, test.as_ref())
                        });
                        let seen = describe(&runner.received, encoding);
                        if let Some(frame) = hit {
                            runner.received.clear();
                            let got = describe(&frame, encoding);
                            received = Some(got.clone());
                            (Outcome::Pass, got)
                        } else {
                            received = Some(seen.clone());
                            let why = match &runner.closed {
                                Some(reason) => {
                                    failure = Some(StepFailure::Closed(reason.clone()));
                                    format!("connection closed ({reason}); received: {seen}")
                                }
                                None => {
                                    let within_ms = timeout.as_millis();
                                    failure = Some(StepFailure::NoMatch { within_ms });
                                    format!("no match within {within_ms} ms; received: {seen}")
                                }
                            };
                            runner.received.clear();
                            (Outcome::Fail, why)
                        }
                    }
                };
                // A step the user's Stop cut short did not fail: it was not run to its end.
                let (outcome, detail, failure) = match (&runner.closed, outcome) {
                    (Some(RunIssue::Stopped), Outcome::Fail) => {
                        (Outcome::NotRun, "not run: stopped by the user".into(), None)
                    }
                    (_, outcome) => (outcome, detail, failure),
                };
                let result = StepResult {
                    step: i + 1,
                    round,
                    label: step.label.clone(),
                    outcome,
                    millis: start.elapsed().as_millis(),
                    detail,
                    expected: step.expected.clone(),
                    received,
                    failure,
                };
                // A step that failed as the connection ended is the one that says so.
                close_reported |= runner.closed.is_some() && result.outcome == Outcome::Fail;
                on(Progress::Step(&result));
                report.results.push(result);
            }
        }
        if let Some(reason) = &runner.closed {
            report.aborted = Some(reason.clone());
            break 'rounds;
        }
    }
    engine.send(Command::Close { session });
    Ok(report)
}

/// Follows the session's events while a sequence runs.
struct Runner<'a> {
    engine: &'a EngineHandle,
    session: SessionId,
    /// Expectations match whole frames, taken in order.
    framed: bool,
    /// Frames received and not yet looked at by an expectation.
    frames: std::collections::VecDeque<Vec<u8>>,
    /// Received since the last expectation matched or failed.
    received: Vec<u8>,
    /// Why the session (or a simulator's client) ended, if it did.
    closed: Option<RunIssue>,
    /// Where the session opened.
    open: Option<std::net::SocketAddr>,
    /// A `tcp-server`: steps run with one client at a time.
    server: bool,
    /// The server's current client, and whether `wait_client` has told of it yet.
    client: Option<(ConnId, std::net::SocketAddr, bool)>,
    /// Outcomes of sends, by tag, not yet looked at.
    sent: HashMap<u64, Result<(), NetError>>,
    /// Set when the user asks the run to stop.
    stop: Option<&'a std::sync::atomic::AtomicBool>,
    /// The connection's decoder, for expectations on fields (it sees sends and frames in order).
    decoder: Option<crate::payload::decode::Decoder>,
    /// What the last expectation matched, and its meaning: a script step's `frame` and
    /// `fields`.
    last: (Vec<u8>, Option<crate::payload::decode::Decoded>),
}

/// How long a send step waits for the engine's word that its bytes were written: longer than
/// the engine waits for room in a connection's queue, so the engine's reason comes first.
const SEND_STEP_LIMIT: Duration = Duration::from_secs(20);

impl Runner<'_> {
    fn take(&mut self, event: Event) {
        if event.session() != self.session {
            return;
        }
        match event {
            Event::Opened { local, .. } => self.open = Some(local),
            Event::ConnOpened { conn, peer, .. } if self.server && self.client.is_none() => {
                self.client = Some((conn, peer, false));
            }
            Event::ConnClosed { conn, peer, .. }
                if self.client.is_some_and(|(c, _, _)| c == conn) =>
            {
                self.closed = Some(RunIssue::ClientLeft(peer));
                self.client = None;
            }
            // A simulator hears only its current client; others wait their turn unheard.
            Event::Data { conn, .. } if self.server && self.client.map(|(c, _, _)| c) != conn => {}
            Event::Data { chunks, .. } => {
                for c in chunks.iter().filter(|c| c.dir == Direction::Rx) {
                    self.received.extend_from_slice(&c.bytes);
                    if self.framed {
                        for (frame, _) in c.pieces().filter(|(_, info)| info.is_some()) {
                            self.frames.push_back(frame.to_vec());
                        }
                    }
                }
            }
            Event::SendResult { tag, result, .. } => {
                self.sent.insert(tag, result);
            }
            // Before the session opens, an error means it never will.
            Event::Error { error, .. } if self.open.is_none() => {
                self.closed = Some(RunIssue::Net(error))
            }
            Event::Closed { error, .. } => {
                self.closed = Some(error.map_or(RunIssue::ClosedByPeer, RunIssue::Net));
            }
            _ => {}
        }
    }

    /// Takes the next event, waiting up to `wait`; a Stop asked for ends the run instead.
    fn pump(&mut self, wait: Duration) {
        if self
            .stop
            .is_some_and(|s| s.load(std::sync::atomic::Ordering::Relaxed))
        {
            self.closed.get_or_insert(RunIssue::Stopped);
            return;
        }
        if let Some(e) = self.engine.recv_timeout(wait) {
            self.take(e);
        }
    }

    fn wait_open(&mut self) -> Result<std::net::SocketAddr, RunIssue> {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.open.is_none() && self.closed.is_none() && Instant::now() < deadline {
            self.pump(Duration::from_millis(50));
        }
        match (&self.closed, self.open) {
            (Some(reason), _) => Err(reason.clone()),
            (None, Some(local)) => Ok(local),
            (None, None) => Err(RunIssue::DidNotOpen),
        }
    }

    /// A server's client for the next round: the one it has, or the next to connect within
    /// `limit`; `true` when it was not told of before.
    fn wait_client(
        &mut self,
        limit: Duration,
    ) -> Result<(ConnId, std::net::SocketAddr, bool), RunIssue> {
        let deadline = Instant::now() + limit;
        while self.client.is_none() && self.closed.is_none() && Instant::now() < deadline {
            self.pump(Duration::from_millis(50));
        }
        if let Some(reason) = &self.closed {
            return Err(reason.clone());
        }
        let Some((conn, peer, told)) = self.client.as_mut() else {
            return Err(RunIssue::NoClient {
                within_s: limit.as_secs(),
            });
        };
        let new = !*told;
        *told = true;
        Ok((*conn, *peer, new))
    }

    /// Sends `bytes` as send `tag` and waits until they were written (the decoder sees the
    /// request first, to read its answer).
    fn send(&mut self, target: &SendTarget, bytes: Vec<u8>, tag: u64) -> Result<(), RunIssue> {
        if let Some(decoder) = self.decoder.as_mut() {
            let _ = decoder.decode(true, &bytes);
        }
        self.engine.send(Command::Send {
            session: self.session,
            target: target.clone(),
            bytes,
            repeat: None,
            ack: Some(tag),
        });
        self.wait_sent(tag)
    }

    /// A script step: calls its function with the last matched frame and its fields, sends
    /// what it replies or sends (each waited for, as a send step's), keeps what it logs. The
    /// detail lists both; a failure says why.
    fn script_step(
        &mut self,
        scripts: &super::script::StepScripts,
        function: &str,
        target: &SendTarget,
        sends: &mut u64,
        encoding: TextEncoding,
    ) -> Result<String, (StepFailure, String)> {
        use crate::script::{Action as Do, ScriptError};
        let fields = self
            .last
            .1
            .as_ref()
            .map(crate::script::fields_map)
            .unwrap_or_default();
        let frame = rhai::Blob::from(self.last.0.clone());
        let (value, actions) = scripts
            .script
            .call_value(function, (frame, fields))
            .map_err(|e| (StepFailure::Script(scripts.in_step(e)), String::new()))?;
        let mut said = Vec::new();
        for action in actions {
            match action {
                Do::Reply(bytes) | Do::Send(bytes) => {
                    *sends += 1;
                    said.push(format!("sent {}", describe(&bytes, encoding)));
                    if let Err(why) = self.send(target, bytes, *sends) {
                        return Err((StepFailure::NotSent(why), said.join("; ")));
                    }
                }
                Do::Log(text) => said.push(text),
                Do::Every { .. } => {
                    return Err((
                        StepFailure::Script(ScriptError::NoTimersHere),
                        said.join("; "),
                    ))
                }
            }
        }
        if value.as_bool() == Ok(false) {
            return Err((
                StepFailure::Script(ScriptError::CheckFailed),
                said.join("; "),
            ));
        }
        Ok(said.join("; "))
    }

    /// Waits for the outcome of send `tag`: written, failed, or the session ended first.
    fn wait_sent(&mut self, tag: u64) -> Result<(), RunIssue> {
        let deadline = Instant::now() + SEND_STEP_LIMIT;
        loop {
            if let Some(result) = self.sent.remove(&tag) {
                return result.map_err(RunIssue::Net);
            }
            if let Some(reason) = &self.closed {
                return Err(reason.clone());
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(RunIssue::NoSendWord {
                    within_s: SEND_STEP_LIMIT.as_secs(),
                });
            }
            self.pump((deadline - now).min(Duration::from_millis(50)));
        }
    }

    /// What satisfies `matcher`: framed, the first waiting frame that matches (those before it
    /// are passed over); else everything received since the last expectation.
    /// The match is kept (with its meaning) for a script step.
    fn matched(
        &mut self,
        matcher: &Matcher,
        test: Option<&crate::payload::decode::FieldTest>,
    ) -> Option<Vec<u8>> {
        if !self.framed {
            if !matcher.matches(&self.received) {
                return None;
            }
            let frame = self.received.clone();
            let decoded = self.decode(&frame);
            return self.hit(frame, decoded, test);
        }
        while let Some(frame) = self.frames.pop_front() {
            // Every frame goes through the decoder (a skipped answer still pairs its request).
            let decoded = self.decode(&frame);
            if matcher.matches(&frame) {
                if let Some(hit) = self.hit(frame, decoded, test) {
                    return Some(hit);
                }
            }
        }
        None
    }

    /// A frame that matched its pattern: a hit when its meaning passes `test` (if any).
    fn hit(
        &mut self,
        frame: Vec<u8>,
        decoded: Option<crate::payload::decode::Decoded>,
        test: Option<&crate::payload::decode::FieldTest>,
    ) -> Option<Vec<u8>> {
        if !test.is_none_or(|t| decoded.as_ref().is_some_and(|d| t.holds(d))) {
            return None;
        }
        self.last = (frame.clone(), decoded);
        Some(frame)
    }

    /// `frame`'s meaning, when the connection decodes.
    fn decode(&mut self, frame: &[u8]) -> Option<crate::payload::decode::Decoded> {
        self.decoder.as_mut()?.decode(false, frame).ok()
    }

    /// Takes events until `done` finds something, the deadline passes, or the session ends.
    fn pump_until<T>(
        &mut self,
        deadline: Instant,
        mut done: impl FnMut(&mut Self) -> Option<T>,
    ) -> Option<T> {
        loop {
            if let Some(found) = done(self) {
                return Some(found);
            }
            let now = Instant::now();
            if now >= deadline || self.closed.is_some() {
                return None;
            }
            self.pump((deadline - now).min(Duration::from_millis(50)));
        }
    }
}
