//! Auto-reply rule files (docs/sequences.md, "Auto-reply rules"): what the window's rule editor
//! edits and `--rules` loads, and how a rule becomes the engine's `ReplyRule`.

use super::{SendSpec, SequenceError};
use crate::engine::ReplyRule;
use crate::payload::decode::{DecodeSpec, FieldTest, Test, Value};
use crate::payload::macros::CaptureRef;
use crate::payload::matcher::{MatchKind, Matcher};
use crate::payload::TextEncoding;
use std::time::Duration;

/// A file of rules.
#[derive(Clone, Debug, Default, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct RulesFile {
    /// Encoding of patterns and replies written as text (default UTF-8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    /// The rules, in the order they are tried (every matching rule answers).
    #[serde(rename = "rule", default)]
    pub rules: Vec<RuleSpec>,
}

/// One rule as written.
#[derive(Clone, Debug, Default, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// How `pattern` is compared (default `contains`).
    #[serde(default, rename = "match", skip_serializing_if = "Option::is_none")]
    pub match_kind: Option<MatchKind>,
    /// What the data must match (may be left out when `field` decides).
    #[serde(default)]
    pub pattern: String,
    /// What to send back; `$0`, `$1`, `${name}` are what the pattern captured.
    pub reply: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub hex: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub escapes: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub macros: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_ending: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
    /// Decode each frame with this (`modbus-tcp`, `json`…) to test a field of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decode: Option<String>,
    /// The field tested (`function`, `unit_id`, `temp`…): with `equals`, `between` or `in`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<FieldValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub between: Option<[f64; 2]>,
    #[serde(default, rename = "in", skip_serializing_if = "Option::is_none")]
    pub one_of: Option<Vec<f64>>,
}

/// A value a field is compared with, as written: a number or a text.
#[derive(Clone, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(untagged)]
pub enum FieldValue {
    Number(f64),
    Text(String),
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Why a rule cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RuleError {
    /// No pattern: it would answer everything (`regex = "."` says so on purpose).
    EmptyPattern,
    /// No reply.
    EmptyReply,
    /// The pattern does not compile.
    Pattern(crate::payload::matcher::MatcherError),
    /// The reply cannot be built.
    Reply(super::StepProblem),
    /// The reply names a group the pattern does not capture.
    MissingGroup {
        reference: CaptureRef,
        groups: usize,
    },
    /// A field test without a decoder, or a decoder name that is none.
    Decoder(Option<String>),
    /// `field` without exactly one of `equals`, `between`, `in` (or one of them without `field`).
    FieldTest,
}

impl std::fmt::Display for RuleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::EmptyPattern => f.write_str("the pattern is empty"),
            Self::EmptyReply => f.write_str("the reply is empty"),
            Self::Pattern(e) => write!(f, "{e}"),
            Self::Reply(e) => write!(f, "reply: {e}"),
            Self::MissingGroup {
                reference: r @ CaptureRef::Index(_),
                groups,
            } => write!(
                f,
                "the reply uses {r} but the pattern captures {groups} group(s)"
            ),
            Self::Decoder(None) => f.write_str(
                "a field test needs decode = \"modbus-tcp\" (or json, kv, csv, modbus-rtu)",
            ),
            Self::Decoder(Some(name)) => write!(f, "unknown decode '{name}'"),
            Self::FieldTest => f.write_str("give field with exactly one of equals, between, in"),
            Self::MissingGroup { reference, .. } => {
                write!(
                    f,
                    "the reply uses {reference}: the pattern has no such group"
                )
            }
        }
    }
}

impl RuleSpec {
    /// The engine's rule, or why it cannot be one.
    pub fn compile(&self, encoding: TextEncoding, number: usize) -> Result<ReplyRule, RuleError> {
        let field = self.field_test()?;
        if self.pattern.is_empty() && field.is_none() {
            return Err(RuleError::EmptyPattern);
        }
        if self.reply.is_empty() {
            return Err(RuleError::EmptyReply);
        }
        // A field test alone: every frame is looked at, the field decides.
        let matcher = if self.pattern.is_empty() {
            Matcher::new(MatchKind::Regex, "(?s)^", encoding)
        } else {
            Matcher::new(self.match_kind.unwrap_or_default(), &self.pattern, encoding)
        }
        .map_err(RuleError::Pattern)?;
        let spec = SendSpec {
            hex: self.hex,
            escapes: self.escapes,
            macros: self.macros,
            line_ending: self.line_ending.as_deref(),
            checksum: self.checksum.as_deref(),
        };
        let reply = spec
            .reply_template(&self.reply, encoding)
            .map_err(RuleError::Reply)?;
        // A reference to a group the pattern does not have is a typing mistake, not "empty".
        let (count, names) = (matcher.group_count(), matcher.group_names());
        for r in reply.capture_refs() {
            let known = match r {
                CaptureRef::Index(i) => *i <= count,
                CaptureRef::Name(n) => names.contains(n),
            };
            if !known {
                return Err(RuleError::MissingGroup {
                    reference: r.clone(),
                    groups: count,
                });
            }
        }
        Ok(ReplyRule {
            name: self
                .name
                .clone()
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| format!("rule {number}")),
            matcher,
            reply,
            delay: self.delay_ms.map(Duration::from_millis),
            field,
        })
    }

    /// The field test this rule asks for, with its decoder.
    fn field_test(&self) -> Result<Option<(DecodeSpec, FieldTest)>, RuleError> {
        field_test(
            self.decode.as_deref(),
            self.field.as_ref(),
            self.equals.as_ref(),
            self.between,
            self.one_of.as_ref(),
        )
    }
}

/// A field test as written (`field` with one of `equals`, `between`, `in`), with the decoder
/// named by `decode`: `None` when no test is asked for.
pub(crate) fn field_test(
    decode: Option<&str>,
    field: Option<&String>,
    equals: Option<&FieldValue>,
    between: Option<[f64; 2]>,
    one_of: Option<&Vec<f64>>,
) -> Result<Option<(DecodeSpec, FieldTest)>, RuleError> {
    {
        let tests = [equals.is_some(), between.is_some(), one_of.is_some()];
        let given = tests.iter().filter(|t| **t).count();
        let Some(field) = field else {
            return if given == 0 {
                Ok(None)
            } else {
                Err(RuleError::FieldTest)
            };
        };
        if given != 1 {
            return Err(RuleError::FieldTest);
        }
        let spec = match decode {
            None => return Err(RuleError::Decoder(None)),
            Some(name) => DecodeSpec::builtin(name)
                .ok_or_else(|| RuleError::Decoder(Some(name.to_string())))?,
        };
        let test = match (equals, between, one_of) {
            (Some(FieldValue::Number(n)), _, _) => Test::Equals(Value::Num(*n)),
            (Some(FieldValue::Text(t)), _, _) => Test::Equals(Value::Text(t.clone())),
            (_, Some([lo, hi]), _) => Test::Between(lo, hi),
            (_, _, Some(set)) => Test::In(set.clone()),
            _ => return Err(RuleError::FieldTest),
        };
        Ok(Some((
            spec,
            FieldTest {
                field: field.clone(),
                test,
            },
        )))
    }
}

impl RulesFile {
    /// The encoding text is in.
    pub fn text_encoding(&self) -> Result<TextEncoding, SequenceError> {
        let name = self.encoding.as_deref().unwrap_or("utf-8");
        TextEncoding::from_name(name).ok_or_else(|| SequenceError::Unknown {
            setting: super::Setting::Encoding,
            name: name.to_string(),
        })
    }

    /// Every rule compiled, or the first that cannot be (with its number).
    pub fn compile(&self) -> Result<Vec<ReplyRule>, SequenceError> {
        let encoding = self.text_encoding()?;
        self.rules
            .iter()
            .enumerate()
            .map(|(i, r)| {
                r.compile(encoding, i + 1)
                    .map_err(|error| SequenceError::Rule { n: i + 1, error })
            })
            .collect()
    }

    /// Reads a rules file from TOML text (not compiled).
    pub fn parse(text: &str) -> Result<Self, SequenceError> {
        toml::from_str(text).map_err(|e| SequenceError::Syntax(e.to_string()))
    }

    /// Writes the rules as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }
}

/// Reads auto-reply rules from TOML text.
pub fn parse_rules(text: &str) -> Result<Vec<ReplyRule>, SequenceError> {
    RulesFile::parse(text)?.compile()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_naming_a_group_the_pattern_lacks_is_refused_with_the_reason() {
        let err = parse_rules(
            "[[rule]]\nmatch = \"exact-hex\"\npattern = \"01 03 ??\"\nreply = \"01 $2\"\nhex = true\n",
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "rule 1: the reply uses $2 but the pattern captures 1 group(s)"
        );
        let err = parse_rules(
            "[[rule]]\nmatch = \"regex\"\npattern = \"id=(?<id>\\\\d+)\"\nreply = \"${di}\"\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("${di}"), "{err}");
        let file = RulesFile {
            encoding: Some("gbk".into()),
            rules: vec![RuleSpec {
                pattern: "id=(\\d+)".into(),
                match_kind: Some(MatchKind::Regex),
                reply: "ok $1".into(),
                delay_ms: Some(5),
                ..Default::default()
            }],
        };
        assert_eq!(RulesFile::parse(&file.to_toml()).unwrap(), file);
        assert_eq!(file.compile().unwrap()[0].name, "rule 1");
        let empty = RuleSpec {
            reply: "x".into(),
            ..Default::default()
        };
        assert_eq!(
            empty.compile(TextEncoding::Utf8, 1).unwrap_err(),
            RuleError::EmptyPattern
        );
    }
}
