//! Auto-reply rules: when received data matches, send a reply (macros expanded), optionally
//! after a delay. Nothing received is ever executed; a rule only sends bytes the user wrote.

use super::{NetError, NetErrorKind, Reason};
use crate::payload::decode::{DecodeSpec, Decoder, FieldTest};
use crate::payload::matcher::Matcher;
use crate::payload::Template;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// One rule.
#[derive(Clone, Debug)]
pub struct ReplyRule {
    /// Shown in counts and the log.
    pub name: String,
    /// What received data must match.
    pub matcher: Matcher,
    /// What to send back.
    pub reply: Template,
    /// Wait this long before replying.
    pub delay: Option<Duration>,
    /// A test on the frame's decoded meaning, with the decoder that reads it (a request is
    /// decoded on its own: nothing of the connection's past is needed to read one).
    pub field: Option<(DecodeSpec, FieldTest)>,
}

impl ReplyRule {
    /// Does `data` trigger this rule? The captures its pattern made, if so.
    fn fires_on(&self, data: &[u8]) -> Option<crate::payload::matcher::Captures> {
        let captures = self.matcher.captures(data)?;
        match &self.field {
            None => Some(captures),
            Some((spec, test)) => Decoder::new(spec.clone())
                .decode(false, data)
                .ok()
                .filter(|d| test.holds(d))
                .map(|_| captures),
        }
    }
}

/// A reply to send: its bytes, and how long to wait first.
pub(crate) type Reply = (Vec<u8>, Option<Duration>);

/// The rules of a session with how often each fired.
#[derive(Default)]
pub(crate) struct RuleSet {
    current: RwLock<Arc<(Vec<ReplyRule>, Vec<AtomicU64>)>>,
}

impl RuleSet {
    /// Replaces the rules (counts start at zero).
    pub fn set(&self, rules: Vec<ReplyRule>) {
        let fires = rules.iter().map(|_| AtomicU64::new(0)).collect();
        if let Ok(mut current) = self.current.write() {
            *current = Arc::new((rules, fires));
        }
    }

    /// Are there any rules?
    pub fn is_active(&self) -> bool {
        self.current.read().is_ok_and(|c| !c.0.is_empty())
    }

    /// The replies that `data` triggers, each with its delay, or why it cannot be built (a
    /// length macro too small); counts the firings.
    pub fn replies(&self, data: &[u8]) -> Vec<Result<Reply, NetError>> {
        let Ok(current) = self.current.read().map(|c| c.clone()) else {
            return Vec::new();
        };
        let (rules, fires) = &*current;
        rules
            .iter()
            .zip(fires)
            .filter_map(|(rule, count)| Some((rule, count, rule.fires_on(data)?)))
            .map(|(rule, count, captures)| {
                let n = count.fetch_add(1, Ordering::Relaxed) + 1;
                rule.reply
                    .expand_with(n, &captures)
                    .map(|bytes| (bytes, rule.delay))
                    .map_err(|error| {
                        NetError::because(
                            NetErrorKind::NotSent,
                            Reason::RuleReply {
                                rule: rule.name.clone(),
                                error,
                            },
                        )
                    })
            })
            .collect()
    }

    /// How often each rule fired.
    pub fn fires(&self) -> Vec<u64> {
        self.current
            .read()
            .map(|c| c.1.iter().map(|f| f.load(Ordering::Relaxed)).collect())
            .unwrap_or_default()
    }
}

/// Rules whose reply their own pattern matches: against a peer with the same rule, or an echo,
/// they answer each other forever (the loop guard then pauses them). One warning each.
pub(crate) fn self_triggering(rules: &[ReplyRule]) -> Vec<NetError> {
    rules
        .iter()
        .filter(|rule| {
            rule.reply
                .expand(1)
                .is_ok_and(|reply| rule.matcher.matches(&reply))
        })
        .map(|rule| {
            // The rule's name is what the error is about: each language words the rest.
            NetError::new(
                NetErrorKind::LoopRisk,
                "this rule answers with data its own pattern matches: with a peer that does \
                 the same, or echoes, the two would answer each other forever; the reply limit \
                 pauses such a loop",
            )
            .at(&rule.name)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::matcher::MatchKind;
    use crate::payload::TextEncoding;

    fn rule(name: &str, kind: MatchKind, pattern: &str, reply: &[u8]) -> ReplyRule {
        ReplyRule {
            name: name.into(),
            matcher: Matcher::new(kind, pattern, TextEncoding::Utf8).unwrap(),
            reply: Template::fixed(reply.to_vec()),
            delay: None,
            field: None,
        }
    }

    #[test]
    fn matching_rules_answer_in_order_and_count_their_firings() {
        let set = RuleSet::default();
        set.set(vec![
            rule(
                "read",
                MatchKind::HexPrefix,
                "01 03",
                b"\x01\x03\x02\x00\x2A",
            ),
            rule("hello", MatchKind::Contains, "hello", b"hi"),
            rule("never", MatchKind::ExactHex, "FF", b"no"),
        ]);
        let replies: Vec<Vec<u8>> = set
            .replies(b"\x01\x03 hello")
            .into_iter()
            .map(|r| r.unwrap().0)
            .collect();
        assert_eq!(
            replies,
            vec![b"\x01\x03\x02\x00\x2A".to_vec(), b"hi".to_vec()]
        );
        set.replies(b"hello again");
        assert_eq!(set.fires(), vec![1, 2, 0]);
        // New rules start counting from zero.
        set.set(vec![rule("x", MatchKind::Contains, "x", b"y")]);
        assert_eq!(set.fires(), vec![0]);
        assert!(set.replies(b"hello").is_empty());
    }

    #[test]
    fn one_rule_with_captures_answers_a_family_of_requests() {
        let hex = crate::payload::SendFormat {
            mode: crate::payload::InputMode::Hex,
            ..Default::default()
        };
        let set = RuleSet::default();
        set.set(vec![ReplyRule {
            name: "read".into(),
            matcher: Matcher::new(MatchKind::ExactHex, "01 03 ?? ??", TextEncoding::Utf8).unwrap(),
            reply: Template::for_reply("01 83 $1", &hex).unwrap(),
            delay: None,
            field: None,
        }]);
        let reply = |data: &[u8]| set.replies(data).pop().map(|r| r.unwrap().0);
        assert_eq!(reply(&[1, 3, 0, 0x10]), Some(vec![1, 0x83, 0, 0x10]));
        assert_eq!(reply(&[1, 3, 0xFF, 2]), Some(vec![1, 0x83, 0xFF, 2]));
        assert_eq!(reply(&[1, 4, 0, 0x10]), None);
    }

    #[test]
    fn a_rule_on_a_decoded_field_answers_by_meaning_not_bytes() {
        use crate::payload::decode::{Test, Value};
        let on_function = |test: Test| ReplyRule {
            name: "writes".into(),
            matcher: Matcher::new(MatchKind::Regex, "(?s)^", TextEncoding::Utf8).unwrap(),
            reply: Template::fixed(b"ok".to_vec()),
            delay: None,
            field: Some((
                DecodeSpec::ModbusTcp,
                FieldTest {
                    field: "function".into(),
                    test,
                },
            )),
        };
        let set = RuleSet::default();
        set.set(vec![
            on_function(Test::Equals(Value::Int(6))),
            on_function(Test::In(vec![3.0, 4.0])),
            on_function(Test::Between(15.0, 16.0)),
        ]);
        let fired = |data: &[u8]| {
            set.replies(data);
            set.fires()
        };
        // Write single register, any transaction id: the first rule.
        assert_eq!(fired(&[0, 9, 0, 0, 0, 6, 1, 6, 0, 1, 0, 3]), [1, 0, 0]);
        assert_eq!(
            fired(&[0x12, 0x34, 0, 0, 0, 6, 1, 3, 0, 0, 0, 1]),
            [1, 1, 0]
        );
        assert_eq!(
            fired(&[0, 1, 0, 0, 0, 9, 1, 0x10, 0, 1, 0, 1, 2, 0, 7]),
            [1, 1, 1]
        );
        // Not Modbus, or another function: nothing.
        assert_eq!(fired(b"hello"), [1, 1, 1]);
        assert_eq!(fired(&[0, 1, 0, 0, 0, 6, 1, 5, 0, 1, 0xFF, 0]), [1, 1, 1]);
    }

    #[test]
    fn a_rule_that_answers_itself_is_pointed_out() {
        let rules = vec![
            rule("ping", MatchKind::Contains, "ping", b"ping"),
            rule("safe", MatchKind::Contains, "ping", b"pong"),
        ];
        let warnings = self_triggering(&rules);
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].kind, NetErrorKind::LoopRisk);
        // It names the rule: as data (for the window's words) and in what the CLI prints.
        assert_eq!(
            warnings[0].addr.as_deref(),
            Some("ping"),
            "{:?}",
            warnings[0]
        );
        assert!(warnings[0].to_string().contains("ping"), "{}", warnings[0]);
    }
}
