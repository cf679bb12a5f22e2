//! "Save as device simulator": a sequence recorded (or written) as a client, with the roles
//! swapped — what the client sent becomes what the simulator expects, what the device answered
//! becomes what it sends — so colleagues without the device can test against a stand-in.

use super::{
    Connection, ConnectionKind, RuleSpec, RulesFile, Sequence, SequenceError, Step, StepProblem,
};
use crate::payload::decode::DecodeSpec;
use crate::payload::hex::encode_hex;
use crate::payload::matcher::MatchKind;

/// How long the simulator waits for each request: a person may be typing them.
pub(super) const REQUEST_WAIT_MS: u64 = 60_000;

impl Sequence {
    /// The device's side of this client sequence. Pauses are dropped (the simulator waits
    /// for requests instead); a step whose bytes cannot be known in advance (macros, a regex
    /// expectation) is refused with its number, as the simulator could not answer exactly.
    pub fn as_simulator(&self) -> Result<Sequence, SequenceError> {
        let c = &self.connection;
        let kind = match c.kind {
            ConnectionKind::TcpClient => ConnectionKind::TcpServer,
            ConnectionKind::Udp if !c.remote.is_empty() => ConnectionKind::Udp,
            // The device's side of a serial line: the same settings, on the port the tester
            // picks (the other end of the cable, or of a pseudo-terminal pair).
            ConnectionKind::Serial => ConnectionKind::Serial,
            _ => return Err(SequenceError::NotAClientSequence),
        };
        let encoding = self.encoding()?;
        let mut steps = Vec::new();
        for (i, step) in self.steps.iter().enumerate() {
            let err = |problem: StepProblem| SequenceError::Step { n: i + 1, problem };
            if step.script.is_some() {
                return Err(err(StepProblem::ScriptStep));
            }
            let swapped = match (&step.send, &step.expect, step.wait_ms) {
                (Some(_), None, None) if step.macros => {
                    return Err(err(StepProblem::ChangesPerSend));
                }
                (Some(data), None, None) => {
                    // (A step with macros was refused above: its bytes are known.)
                    let bytes = step
                        .send_spec()
                        .template(data, encoding)
                        .and_then(|t| t.expand(1).map_err(StepProblem::Payload))
                        .map_err(err)?;
                    Step {
                        name: step.name.clone(),
                        expect: Some(encode_hex(&bytes)),
                        match_kind: Some(MatchKind::ExactHex),
                        times: step.times,
                        ..Step::default()
                    }
                }
                (None, Some(pattern), None) => {
                    let kind = step.match_kind.unwrap_or_default();
                    let (send, hex) = match kind {
                        MatchKind::ExactHex | MatchKind::HexPrefix if pattern.contains("??") => {
                            return Err(err(StepProblem::ExpectsAnyByte));
                        }
                        MatchKind::ExactHex | MatchKind::HexPrefix => (pattern.clone(), true),
                        MatchKind::Contains => (pattern.clone(), false),
                        MatchKind::Regex => {
                            return Err(err(StepProblem::ExpectsRegex));
                        }
                    };
                    Step {
                        name: step.name.clone(),
                        send: Some(send),
                        hex,
                        times: step.times,
                        ..Step::default()
                    }
                }
                (None, None, Some(_)) => continue,
                _ => return Err(err(StepProblem::NotOneAction)),
            };
            steps.push(swapped);
        }
        Ok(Sequence {
            name: format!("{} (device simulator)", self.name)
                .trim()
                .to_string(),
            script: None,
            connection: Connection {
                kind,
                remote: String::new(),
                bind: (kind != ConnectionKind::Serial).then(|| simulator_bind(&c.remote)),
                port: c.port.clone(),
                baud: c.baud,
                data_bits: c.data_bits,
                parity: c.parity.clone(),
                stop_bits: c.stop_bits,
                flow: c.flow.clone(),
                encoding: c.encoding.clone(),
                timeout_ms: Some(REQUEST_WAIT_MS),
                frame: c.frame.clone(),
                // A TLS device is simulated over TLS, with a certificate made at each run
                // (its client then pins nothing: give it tls_ca or tls_insecure).
                tls: c.tls,
                tls_generate: c.tls,
                tls_alpn: c.tls_alpn.clone(),
                ..Connection::default()
            },
            repeat: self.repeat,
            steps,
        })
    }
}

impl Sequence {
    /// The device's side of this client recording as answering rules: each recorded request
    /// answered with what the device answered, any number of times, in any order, to any
    /// client. Recorded with `decode = "modbus-tcp"`, a request matches whatever its
    /// transaction id and the answer carries the request's (`?? ??` … / `$1` …), so a real
    /// Modbus client, whose ids change, is served.
    pub fn as_rules(&self) -> Result<RulesFile, SequenceError> {
        let sim = self.as_simulator()?;
        let encoding = sim.encoding()?;
        let modbus_tcp = matches!(self.decoder()?, Some(DecodeSpec::ModbusTcp));
        let mut rules: Vec<RuleSpec> = Vec::new();
        let mut current: Option<(Vec<u8>, Vec<u8>)> = None;
        let add = |(request, reply): (Vec<u8>, Vec<u8>), rules: &mut Vec<RuleSpec>| {
            if reply.is_empty() {
                return;
            }
            let same_id = request.get(..2).is_some() && request.get(..2) == reply.get(..2);
            let (pattern, reply) = if modbus_tcp && request.len() >= 8 && same_id {
                (
                    format!("?? ?? {}", encode_hex(&request[2..])),
                    format!("$1 {}", encode_hex(&reply[2..])),
                )
            } else {
                (encode_hex(&request), encode_hex(&reply))
            };
            if rules.iter().any(|r| r.pattern == pattern) {
                return; // the first answer recorded for a request is the one given
            }
            rules.push(RuleSpec {
                name: Some(
                    format!("{} {}", self.name.trim(), rules.len() + 1)
                        .trim()
                        .to_string(),
                ),
                match_kind: Some(MatchKind::ExactHex),
                pattern,
                reply,
                hex: true,
                ..RuleSpec::default()
            });
        };
        for (i, step) in sim.steps.iter().enumerate() {
            let n = i + 1;
            match (&step.expect, &step.send) {
                (Some(pattern), None) => {
                    if let Some(done) = current.take() {
                        add(done, &mut rules);
                    }
                    let request = crate::payload::hex::decode_hex(pattern).map_err(|e| {
                        SequenceError::Step {
                            n,
                            problem: StepProblem::Payload(e),
                        }
                    })?;
                    current = Some((request, Vec::new()));
                }
                (None, Some(data)) => {
                    // (A step with macros was refused above: its bytes are known.)
                    let bytes = step
                        .send_spec()
                        .template(data, encoding)
                        .and_then(|t| t.expand(1).map_err(StepProblem::Payload))
                        .map_err(|problem| SequenceError::Step { n, problem })?;
                    match &mut current {
                        Some((_, reply)) => reply.extend_from_slice(&bytes),
                        None => {
                            return Err(SequenceError::Step {
                                n,
                                problem: StepProblem::SpokeFirst,
                            })
                        }
                    }
                }
                _ => {}
            }
        }
        if let Some(done) = current.take() {
            add(done, &mut rules);
        }
        Ok(RulesFile {
            encoding: None,
            rules,
        })
    }
}

/// Where the simulator listens: the device's port, on the same loopback address when the
/// device was on this machine, else on every interface (as a device on the network would be).
fn simulator_bind(remote: &str) -> String {
    let addr: Option<std::net::SocketAddr> = remote.trim().parse().ok();
    match addr {
        Some(a) if a.ip().is_loopback() => a.to_string(),
        Some(a) if a.is_ipv6() => format!("[::]:{}", a.port()),
        Some(a) => format!("0.0.0.0:{}", a.port()),
        // A host name: keep its port.
        None => {
            let port = remote.rsplit(':').next().unwrap_or("0");
            format!("0.0.0.0:{port}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_roles_swap_step_by_step_and_the_pauses_go() {
        let client = Sequence::parse(
            r#"
name = "meter"
[connection]
kind = "tcp-client"
remote = "192.0.2.7:502"
encoding = "gbk"
[[step]]
send = "读\r\n"
escapes = true
[[step]]
expect = "01 03 02 00 2A"
match = "exact-hex"
[[step]]
wait_ms = 300
[[step]]
send = "01 03"
hex = true
checksum = "sum8"
[[step]]
expect = "OK"
"#,
        )
        .unwrap();
        let sim = client.as_simulator().unwrap();
        assert_eq!(sim.connection.kind, ConnectionKind::TcpServer);
        assert_eq!(sim.connection.bind.as_deref(), Some("0.0.0.0:502"));
        assert_eq!(sim.name, "meter (device simulator)");
        let shape: Vec<(Option<&str>, bool, Option<&str>)> = sim
            .steps
            .iter()
            .map(|s| (s.send.as_deref(), s.hex, s.expect.as_deref()))
            .collect();
        assert_eq!(
            shape,
            [
                (None, false, Some("B6 C1 0D 0A")),
                (Some("01 03 02 00 2A"), true, None),
                (None, false, Some("01 03 04")),
                (Some("OK"), false, None),
            ]
        );
        // The simulator file reads back and checks.
        assert!(Sequence::parse(&sim.to_toml()).unwrap().prepare().is_ok());
        let regex = Sequence::parse(
            "[connection]\nkind = \"tcp-client\"\nremote = \"127.0.0.1:9\"\n[[step]]\nexpect = \"a+\"\nmatch = \"regex\"\n",
        )
        .unwrap();
        assert!(regex
            .as_simulator()
            .unwrap_err()
            .to_string()
            .starts_with("step 1: "));
        assert_eq!(simulator_bind("127.0.0.1:9"), "127.0.0.1:9");
        assert_eq!(simulator_bind("[::1]:9"), "[::1]:9");
        assert_eq!(simulator_bind("device.lab:7"), "0.0.0.0:7");
    }

    #[test]
    fn a_decoded_modbus_recording_becomes_rules_that_copy_the_transaction_id() {
        let recording = Sequence::parse(
            r#"
name = "meter"
[connection]
kind = "tcp-client"
remote = "127.0.0.1:502"
decode = "modbus-tcp"
[[step]]
send = "00 07 00 00 00 06 01 03 00 05 00 02"
hex = true
[[step]]
expect = "00 07 00 00 00 07 01 03 04 00 69 00 6A"
match = "exact-hex"
[[step]]
send = "00 08 00 00 00 06 01 03 00 05 00 02"
hex = true
[[step]]
expect = "00 08 00 00 00 07 01 03 04 00 69 00 6B"
match = "exact-hex"
"#,
        )
        .unwrap();
        let rules = recording.as_rules().unwrap();
        // The same request twice: the first answer recorded is the one given.
        assert_eq!(rules.rules.len(), 1);
        let rule = &rules.rules[0];
        assert_eq!(rule.pattern, "?? ?? 00 00 00 06 01 03 00 05 00 02");
        assert_eq!(rule.reply, "$1 00 00 00 07 01 03 04 00 69 00 6A");
        assert!(rules.compile().is_ok());
        // Without a decoder the bytes are matched as they are.
        let mut plain = recording.clone();
        plain.connection.decode = None;
        assert_eq!(
            plain.as_rules().unwrap().rules[0].pattern,
            "00 07 00 00 00 06 01 03 00 05 00 02"
        );
        // An unknown decoder name is refused, named.
        plain.connection.decode = Some("modbus".into());
        assert_eq!(
            plain.as_rules().unwrap_err().to_string(),
            "unknown decode 'modbus'"
        );
    }
}
