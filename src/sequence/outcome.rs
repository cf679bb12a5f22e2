//! What a run came to: each step's outcome and why, and the whole report.

use super::*;

/// How a step went.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// A send or wait that happened, or an expectation that matched.
    Pass,
    /// An expectation that did not match in time, a send that failed, or a step that could
    /// not run because the connection had ended.
    Fail,
    /// Not run: an earlier step found the connection ended.
    #[serde(rename = "not run")]
    NotRun,
}

/// Why a run stopped or a step failed, apart from its words: the command line and the reports
/// say it in English (`Display`), the window in the user's language.
#[derive(Clone, Debug)]
pub enum RunIssue {
    /// A network failure (refused, reset, TLS…), as the engine reported it.
    Net(NetError),
    /// A simulator's client left.
    ClientLeft(std::net::SocketAddr),
    /// The peer closed the connection.
    ClosedByPeer,
    /// The session never opened.
    DidNotOpen,
    /// A simulator waited this long for a client.
    NoClient { within_s: u64 },
    /// The engine said nothing of a send for this long.
    NoSendWord { within_s: u64 },
    /// The user stopped the run.
    Stopped,
    /// A send's bytes could not be made (a macro, an encoding).
    Payload(crate::payload::PayloadError),
}

impl std::fmt::Display for RunIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Net(e) => write!(f, "{e}"),
            Self::ClientLeft(peer) => write!(f, "the client {peer} disconnected"),
            Self::ClosedByPeer => write!(f, "closed by the peer"),
            Self::DidNotOpen => write!(f, "the session did not open"),
            Self::NoClient { within_s } => write!(f, "no client connected within {within_s} s"),
            Self::NoSendWord { within_s } => {
                write!(f, "no word from the connection within {within_s} s")
            }
            Self::Payload(e) => write!(f, "{e}"),
            Self::Stopped => write!(f, "stopped by the user"),
        }
    }
}

/// In JSON and reports: its English words.
impl serde::Serialize for RunIssue {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// How a step failed.
#[derive(Clone, Debug)]
pub enum StepFailure {
    /// A send step whose bytes were not written.
    NotSent(RunIssue),
    /// An expectation that saw no match in its time.
    NoMatch { within_ms: u128 },
    /// An expectation cut short, or a step that could not run: the connection ended.
    Closed(RunIssue),
    /// A script step failed, or its check returned `false` (lines are the step's own).
    Script(crate::script::ScriptError),
}

/// One line of the report.
#[derive(Clone, Debug, serde::Serialize)]
pub struct StepResult {
    /// 1-based step number in the file.
    pub step: usize,
    /// Which round of the sequence's `repeat`.
    pub round: u32,
    /// The step's label.
    pub label: String,
    /// Pass or fail.
    pub outcome: Outcome,
    /// How long it took, ms.
    pub millis: u128,
    /// What was sent or received (text and hex), or why it failed.
    pub detail: String,
    /// An expectation: its pattern and how it compares.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    /// An expectation: what had arrived (text and hex) when it matched or gave up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub received: Option<String>,
    /// Why it failed (`detail` says it in English).
    #[serde(skip)]
    pub failure: Option<StepFailure>,
}

/// The whole run.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Report {
    /// The sequence's name.
    pub name: String,
    /// When it started.
    #[serde(skip)]
    pub started: Option<SystemTime>,
    /// Every step's result.
    pub results: Vec<StepResult>,
    /// A failure that stopped the run (connection refused or lost).
    pub aborted: Option<RunIssue>,
}

impl Report {
    /// Passed: every step passed and nothing stopped the run.
    pub fn passed(&self) -> bool {
        self.aborted.is_none() && self.results.iter().all(|r| r.outcome == Outcome::Pass)
    }

    /// (passed, failed) counts; steps not run are neither.
    pub fn counts(&self) -> (usize, usize) {
        let count = |o: Outcome| self.results.iter().filter(|r| r.outcome == o).count();
        (count(Outcome::Pass), count(Outcome::Fail))
    }

    /// Steps not run because the connection had ended.
    pub fn not_run(&self) -> usize {
        self.results
            .iter()
            .filter(|r| r.outcome == Outcome::NotRun)
            .count()
    }
}

pub(super) fn describe(bytes: &[u8], encoding: TextEncoding) -> String {
    let shown = &bytes[..bytes.len().min(256)];
    format!(
        "{} | {}",
        crate::payload::text_for_display(shown, encoding),
        crate::payload::hex::encode_hex(shown)
    )
}
