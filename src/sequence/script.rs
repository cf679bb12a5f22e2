//! A sequence's script steps: the file's `script` (functions any step may call) and each
//! step's `script` (a few lines run with `frame`, the frame the last expectation matched, and
//! `fields`, its decoded fields) compiled together into one script, so `state` is kept across
//! the run. A step's line numbers are its own: line 1 is the first line of its `script`.

use super::{Sequence, SequenceError, StepProblem};
use crate::script::{Script, ScriptError};

/// The run's script and where each step's lines sit in it.
pub(crate) struct StepScripts {
    pub script: Script,
    /// For each script step: its number (1-based), the line of the compiled text its body
    /// starts at, and how many lines it has.
    bodies: Vec<(usize, usize, usize)>,
}

/// The name a step's body is compiled under.
pub(crate) fn function_of(step: usize) -> String {
    format!("step_{step}")
}

/// A line of the compiled text as a step's own (its number, the line within its `script`);
/// `None`: a line of the file's `script`, whose lines are the compiled text's.
fn locate(bodies: &[(usize, usize, usize)], line: usize) -> Option<(usize, usize)> {
    bodies
        .iter()
        .rev()
        .find(|(_, start, _)| line >= *start)
        // (The closing brace after a body counts as its last line.)
        .map(|(n, start, len)| (*n, (line - start + 1).min(len + 1)))
}

impl StepScripts {
    /// A run-time error in step `n`, with its line counted within the step.
    pub fn in_step(&self, error: ScriptError) -> ScriptError {
        match error {
            ScriptError::Run { line, message } => ScriptError::Run {
                line: locate(&self.bodies, line).map_or(line, |(_, l)| l),
                message,
            },
            ScriptError::TooBig { line, what } => ScriptError::TooBig {
                line: locate(&self.bodies, line).map_or(line, |(_, l)| l),
                what,
            },
            other => other,
        }
    }
}

impl Sequence {
    /// The run's script: `None` when no step has one. A step whose script does not parse is
    /// named with its own line and column; so is the file's `script`.
    pub(crate) fn step_scripts(&self) -> Result<Option<StepScripts>, SequenceError> {
        let steps: Vec<(usize, &str)> = self
            .steps
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.script.as_deref().map(|code| (i + 1, code)))
            .collect();
        if steps.is_empty() && self.script.is_none() {
            return Ok(None);
        }
        let mut text = self.script.clone().unwrap_or_default();
        text.push('\n');
        let mut bodies = Vec::new();
        for (n, code) in steps {
            text.push_str(&format!("fn {}(frame, fields) {{\n", function_of(n)));
            let start = text.lines().count() + 1;
            text.push_str(code);
            text.push_str("\n}\n");
            bodies.push((n, start, code.lines().count().max(1)));
        }
        match Script::compile(&text, self.encoding()?) {
            Ok(script) => Ok(Some(StepScripts { script, bodies })),
            Err(ScriptError::Parse {
                line,
                column,
                message,
            }) => Err(match locate(&bodies, line) {
                Some((n, line)) => SequenceError::Step {
                    n,
                    problem: StepProblem::Script(ScriptError::Parse {
                        line,
                        column,
                        message,
                    }),
                },
                None => SequenceError::Script(ScriptError::Parse {
                    line,
                    column,
                    message,
                }),
            }),
            Err(e) => Err(SequenceError::Script(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sequence(prelude: Option<&str>, steps: &[&str]) -> Sequence {
        let mut text = String::new();
        if let Some(p) = prelude {
            text.push_str(&format!("script = '''\n{p}\n'''\n"));
        }
        text.push_str("[connection]\nkind = \"tcp-client\"\nremote = \"127.0.0.1:9\"\n");
        text.push_str("[[step]]\nsend = \"x\"\n");
        for s in steps {
            text.push_str(&format!("[[step]]\nscript = '''\n{s}'''\n"));
        }
        Sequence::parse(&text).unwrap()
    }

    /// Errors are placed where the user wrote them: a step's own line, or the file's script.
    #[test]
    fn a_failure_is_said_at_the_step_s_own_line() {
        let s = sequence(
            Some("fn ok() { true }"),
            &["true\n", "let a = 1;\nlet = 2;\n"],
        );
        match s.step_scripts() {
            Err(SequenceError::Step {
                n: 3,
                problem: StepProblem::Script(ScriptError::Parse { line: 2, .. }),
            }) => {}
            other => panic!("{:?}", other.map(|_| ())),
        }
        let s = sequence(Some("fn ok() {\n  let = 1;\n}"), &["true\n"]);
        assert!(matches!(
            s.step_scripts(),
            Err(SequenceError::Script(ScriptError::Parse { line: 2, .. }))
        ));
        // At run time too: the throw is on the step's line 3.
        let s = sequence(None, &["let a = 1;\nlet b = 2;\nthrow \"bad\";\n"]);
        let scripts = s.step_scripts().unwrap().unwrap();
        let e = scripts
            .script
            .call_value(&function_of(2), (rhai::Blob::new(), rhai::Map::new()))
            .unwrap_err();
        assert!(
            matches!(scripts.in_step(e.clone()), ScriptError::Run { line: 3, .. }),
            "{e:?}"
        );
    }

    /// The example in docs/sequences.md ("Script steps") is a sequence that can run.
    #[test]
    fn the_documented_example_compiles() {
        let page = include_str!("../../docs/sequences.md");
        let section = &page[page.find("## Script steps").unwrap()..];
        let start = section.find("```toml\n").unwrap() + 8;
        let text = &section[start..start + section[start..].find("```").unwrap()];
        let s = Sequence::parse(text).unwrap();
        if let Err(e) = s.prepare() {
            panic!("{e}");
        }
        assert_eq!(s.steps.iter().filter(|s| s.script.is_some()).count(), 2);
    }
}
