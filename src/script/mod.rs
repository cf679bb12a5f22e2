//! Session scripts (docs/scripts.md): a few lines of Rhai for what rules and sequences cannot
//! say — a counter, a CRC over a reply built from the request, a state machine.
//!
//! Safe to run when received from someone else: the engine has no function that reaches
//! files, the network, the environment or processes; `eval` is off; each call has an
//! operation limit (an endless loop is stopped, the session goes on) and strings, arrays, maps
//! and call depth are bounded.

use crate::payload::{Checksum, TextEncoding};
use rhai::{Blob, Dynamic, Engine, Map, Scope, AST};
use std::sync::{Arc, Mutex};

/// Operations one call may take (an endless loop is stopped here: a few ms of work).
pub const MAX_OPERATIONS: u64 = 500_000;
/// The longest string a script may build, in bytes.
pub const MAX_STRING: usize = 1 << 20;
/// The most items an array, a map or a blob may hold.
pub const MAX_ITEMS: usize = 100_000;

/// What a call asked for, in the order it asked.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Send to the peer the frame came from.
    Reply(Vec<u8>),
    /// Send to every peer of the session.
    Send(Vec<u8>),
    /// A line for the session's log.
    Log(String),
    /// Call the function named every so many ms while the connection is open.
    Every { ms: u64, function: String },
}

/// Why a script cannot run, or a call failed.
#[derive(Clone, Debug, PartialEq, Eq, Hash, thiserror::Error)]
pub enum ScriptError {
    /// It does not parse.
    #[error("line {line}, column {column}: {message}")]
    Parse {
        line: usize,
        column: usize,
        message: String,
    },
    /// A call failed while running.
    #[error("line {line}: {message}")]
    Run { line: usize, message: String },
    /// A call passed the operation limit (an endless loop?) and was stopped. (Rhai does not
    /// say where a call was when the limit struck: the function is named instead.)
    #[error("{function}: stopped: operation limit ({MAX_OPERATIONS} operations)")]
    TooLong { function: String },
    /// `reply`, `send` or `every` in a relay's script: a relay passes bytes unchanged.
    #[error("a relay's script watches and logs: reply, send and every are not carried out")]
    OnlyWatches,
    /// A sequence's script step returned `false`: its check did not hold.
    #[error("the step's check returned false")]
    CheckFailed,
    /// `every` in a sequence's script step (timers belong to session scripts).
    #[error("every() runs in session scripts, not in a sequence step")]
    NoTimersHere,
    /// A `send` in a UDP session with no destination and nothing received yet.
    #[error("send: no destination (set the session's destination, or wait for a datagram)")]
    NoDestination,
    /// A string, array, map or blob passed its size limit, or calls went too deep.
    #[error("line {line}: stopped: size limit ({what})")]
    TooBig { line: usize, what: String },
}

/// A compiled script with its engine, its state (`state`, kept across calls) and what the
/// current call asked for.
pub struct Script {
    engine: Engine,
    ast: AST,
    actions: Arc<Mutex<Vec<Action>>>,
}

impl std::fmt::Debug for Script {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Script")
    }
}

type Fallible<T> = Result<T, Box<rhai::EvalAltResult>>;

/// A blob as it is; anything else as text in `encoding` (a character it cannot hold is an
/// error of the call: nothing is sent in its place).
fn bytes_of(value: &Dynamic, encoding: TextEncoding) -> Fallible<Vec<u8>> {
    if value.is_blob() {
        return Ok(value.clone().cast::<Blob>());
    }
    let text = if value.is_string() {
        value.clone().into_string().unwrap_or_default()
    } else {
        value.to_string()
    };
    encoding.encode(&text).map_err(|e| e.to_string().into())
}

impl Script {
    /// Compiles `text`; strings a script sends are encoded with `encoding`.
    pub fn compile(text: &str, encoding: TextEncoding) -> Result<Self, ScriptError> {
        let actions: Arc<Mutex<Vec<Action>>> = Arc::new(Mutex::new(Vec::new()));
        let mut engine = Engine::new();
        engine
            .set_max_operations(MAX_OPERATIONS)
            .set_max_call_levels(32)
            .set_max_expr_depths(64, 32)
            .set_max_string_size(MAX_STRING)
            .set_max_array_size(MAX_ITEMS)
            .set_max_map_size(MAX_ITEMS)
            .set_max_modules(0);
        engine.disable_symbol("eval");
        // `state`: one map for the session, kept across calls (`state.count += 1`).
        let state = Dynamic::from_map(Map::new()).into_shared();
        // (Marked deprecated by rhai as "volatile", not as going away.)
        #[allow(deprecated)]
        engine.on_var(move |name, _, _| Ok((name == "state").then(|| state.clone())));
        let push = |actions: &Arc<Mutex<Vec<Action>>>, action: Action| {
            if let Ok(mut a) = actions.lock() {
                a.push(action);
            }
        };
        let a = actions.clone();
        engine.register_fn("reply", move |x: Dynamic| -> Fallible<()> {
            push(&a, Action::Reply(bytes_of(&x, encoding)?));
            Ok(())
        });
        let a = actions.clone();
        engine.register_fn("send", move |x: Dynamic| -> Fallible<()> {
            push(&a, Action::Send(bytes_of(&x, encoding)?));
            Ok(())
        });
        let a = actions.clone();
        engine.register_fn("log", move |x: Dynamic| {
            push(&a, Action::Log(x.to_string()))
        });
        let a = actions.clone();
        engine.on_print(move |text| push(&a, Action::Log(text.to_string())));
        let a = actions.clone();
        engine.register_fn("every", move |ms: i64, function: &str| {
            push(
                &a,
                Action::Every {
                    ms: ms.clamp(10, 86_400_000) as u64,
                    function: function.to_string(),
                },
            )
        });
        engine.register_fn("crc16_modbus", |b: Blob| -> Blob {
            Checksum::Crc16Modbus.compute(&b)
        });
        engine.register_fn("crc32", |b: Blob| -> i64 {
            let c = Checksum::Crc32.compute(&b);
            i64::from(u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
        });
        engine.register_fn("checksum", |name: &str, b: Blob| -> Fallible<Blob> {
            let c =
                Checksum::from_name(name).ok_or_else(|| format!("unknown checksum '{name}'"))?;
            Ok(c.compute(&b))
        });
        engine.register_fn("hex", |b: Blob| -> String {
            crate::payload::hex::encode_hex(&b)
        });
        engine.register_fn("from_hex", |t: &str| -> Fallible<Blob> {
            crate::payload::hex::decode_hex(t).map_err(|e| e.to_string().into())
        });
        engine.register_fn("now_ms", || -> i64 {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .unwrap_or(0)
        });
        engine.register_fn("encode", |t: &str, enc: &str| -> Fallible<Blob> {
            let e =
                TextEncoding::from_name(enc).ok_or_else(|| format!("unknown encoding '{enc}'"))?;
            e.encode(t).map_err(|e| e.to_string().into())
        });
        engine.register_fn("decode", |b: Blob, enc: &str| -> Fallible<String> {
            let e =
                TextEncoding::from_name(enc).ok_or_else(|| format!("unknown encoding '{enc}'"))?;
            Ok(e.decode(&b))
        });
        let ast = engine.compile(text).map_err(|e| {
            let p = e.position();
            ScriptError::Parse {
                line: p.line().unwrap_or(0),
                column: p.position().unwrap_or(0),
                message: e.err_type().to_string(),
            }
        })?;
        Ok(Self {
            engine,
            ast,
            actions,
        })
    }

    /// Does the script define `name`?
    pub fn defines(&self, name: &str) -> bool {
        self.ast.iter_functions().any(|f| f.name == name)
    }

    /// Calls `name` (when the script defines it) and returns what it asked for; a failure
    /// leaves nothing half-done (its actions are dropped with it).
    pub fn call(&self, name: &str, args: impl rhai::FuncArgs) -> Result<Vec<Action>, ScriptError> {
        self.call_value(name, args).map(|(_, actions)| actions)
    }

    /// Like [`Script::call`], with what the function returned (`()` when it is not defined).
    pub fn call_value(
        &self,
        name: &str,
        args: impl rhai::FuncArgs,
    ) -> Result<(Dynamic, Vec<Action>), ScriptError> {
        if !self.defines(name) {
            return Ok((Dynamic::UNIT, Vec::new()));
        }
        if let Ok(mut a) = self.actions.lock() {
            a.clear();
        }
        let mut scope = Scope::new();
        let result = self
            .engine
            .call_fn::<Dynamic>(&mut scope, &self.ast, name, args);
        let actions = self
            .actions
            .lock()
            .map(|mut a| std::mem::take(&mut *a))
            .unwrap_or_default();
        match result {
            Ok(value) => Ok((value, actions)),
            Err(e) => Err(run_error(&e, 0, name)),
        }
    }

    /// `on_frame(frame, fields)`: a received frame and its decoded fields (empty without a
    /// decoder).
    pub fn on_frame(&self, frame: &[u8], fields: Map) -> Result<Vec<Action>, ScriptError> {
        self.call("on_frame", (Blob::from(frame.to_vec()), fields))
    }
}

/// The error in our terms, with the innermost line known (`outer`: the caller's line, for an
/// error that knows none of its own, such as the operation limit).
fn run_error(e: &rhai::EvalAltResult, outer: usize, function: &str) -> ScriptError {
    use rhai::EvalAltResult as E;
    let line = e.position().line().unwrap_or(outer);
    match e {
        E::ErrorTooManyOperations(_) => ScriptError::TooLong {
            function: function.to_string(),
        },
        E::ErrorDataTooLarge(what, _) => ScriptError::TooBig {
            line,
            what: what.clone(),
        },
        E::ErrorStackOverflow(_) => ScriptError::TooBig {
            line,
            what: "call depth".into(),
        },
        // A function called from another: the inner error says where.
        E::ErrorInFunctionCall(_, _, inner, _) => run_error(inner, line, function),
        other => ScriptError::Run {
            line,
            message: other.to_string(),
        },
    }
}

/// A frame's decoded fields as a script sees them.
pub fn fields_map(decoded: &crate::payload::decode::Decoded) -> Map {
    use crate::payload::decode::Value;
    decoded
        .fields
        .iter()
        .map(|f| {
            let v: Dynamic = match &f.value {
                Value::Int(i) => (*i).into(),
                Value::Num(x) => (*x).into(),
                Value::Bool(b) => (*b).into(),
                Value::Text(t) => t.clone().into(),
                Value::Bytes(b) => Dynamic::from_blob(b.clone()),
                Value::List(l) => Dynamic::from_array(l.iter().map(|i| (*i).into()).collect()),
            };
            (f.name.as_str().into(), v)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(text: &str) -> Script {
        Script::compile(text, TextEncoding::Utf8).unwrap()
    }

    #[test]
    fn a_counter_kept_in_state_across_frames() {
        let s = script(
            "fn on_open() { state.count = 0; }\n\
             fn on_frame(frame, fields) { state.count += 1; reply(`n=${state.count}`); }",
        );
        assert!(s.call("on_open", ()).unwrap().is_empty());
        for n in 1..=3 {
            assert_eq!(
                s.on_frame(b"x", Map::new()).unwrap(),
                [Action::Reply(format!("n={n}").into_bytes())]
            );
        }
    }

    #[test]
    fn a_reply_built_from_the_request_with_a_crc() {
        let s = script(
            "fn on_frame(frame, fields) {\n\
               let out = frame;\n\
               out.push(0x55);\n\
               out += crc16_modbus(out);\n\
               reply(out);\n\
             }",
        );
        let mut expected = vec![1, 3, 0x55];
        Checksum::Crc16Modbus.append_to(&mut expected);
        assert_eq!(
            s.on_frame(&[1, 3], Map::new()).unwrap(),
            [Action::Reply(expected)]
        );
    }

    #[test]
    fn an_endless_loop_is_stopped_and_the_next_call_runs() {
        let s = script(
            "fn on_frame(frame, fields) {\n  if frame.len() > 1 { loop { } }\n  reply(\"ok\");\n}",
        );
        assert_eq!(
            s.on_frame(b"xx", Map::new()),
            Err(ScriptError::TooLong {
                function: "on_frame".into()
            })
        );
        assert_eq!(
            s.on_frame(b"x", Map::new()).unwrap(),
            [Action::Reply(b"ok".to_vec())]
        );
    }

    #[test]
    fn no_way_out_of_the_sandbox_and_limits_hold() {
        // A parse error says where.
        match Script::compile("fn on_frame(f, x) {\n  let = 1;\n}", TextEncoding::Utf8) {
            Err(ScriptError::Parse { line: 2, .. }) => {}
            other => panic!("{other:?}"),
        }
        // eval is off.
        assert!(Script::compile("eval(\"1\")", TextEncoding::Utf8).is_err());
        // There is no file, process or network function: calling one fails without effect.
        let s = script("fn on_frame(f, x) { open_file(\"/etc/passwd\"); reply(\"read\"); }");
        match s.on_frame(b"x", Map::new()) {
            Err(ScriptError::Run { line: 1, message }) => {
                assert!(message.contains("open_file"), "{message}")
            }
            other => panic!("{other:?}"),
        }
        // A huge string is refused by the size limit.
        let s = script("fn on_frame(f, x) { let s = \"x\"; loop { s += s; } }");
        assert!(matches!(
            s.on_frame(b"x", Map::new()),
            Err(ScriptError::TooBig { .. })
        ));
    }

    #[test]
    fn every_asks_for_a_timer_and_helpers_work() {
        let s = script(
            "fn on_open() { every(250, \"tick\"); }\n\
             fn tick() { send(encode(\"温度\", \"gbk\")); log(hex(from_hex(\"0A FF\"))); }",
        );
        assert_eq!(
            s.call("on_open", ()).unwrap(),
            [Action::Every {
                ms: 250,
                function: "tick".into()
            }]
        );
        assert_eq!(
            s.call("tick", ()).unwrap(),
            [
                Action::Send(vec![0xCE, 0xC2, 0xB6, 0xC8]),
                Action::Log("0A FF".into())
            ]
        );
    }

    /// The examples in docs/scripts.md compile, and the Modbus and AT ones answer as the
    /// page says.
    #[test]
    fn the_documented_examples_work() {
        let page = include_str!("../../docs/scripts.md");
        let examples: Vec<&str> = page
            .split("```rhai\n")
            .skip(1)
            .map(|rest| rest.split("```").next().unwrap_or(""))
            .collect();
        assert_eq!(examples.len(), 3);
        let modbus = script(examples[0]);
        let request = [0, 9, 0, 0, 0, 6, 1, 3, 0, 2, 0, 2];
        let spec = crate::payload::decode::DecodeSpec::ModbusTcp;
        let decoded = crate::payload::decode::Decoder::new(spec.clone())
            .decode(false, &request)
            .unwrap();
        let actions = modbus.on_frame(&request, fields_map(&decoded)).unwrap();
        let [Action::Reply(answer)] = actions.as_slice() else {
            panic!("{actions:?}")
        };
        // A real Modbus answer: same transaction id, 2 registers, decodable and paired.
        let mut pairing = crate::payload::decode::Decoder::new(spec);
        pairing.decode(true, &request).unwrap();
        let d = pairing.decode(false, answer).unwrap();
        assert_eq!(
            d.get("transaction_id"),
            Some(&crate::payload::decode::Value::Int(9))
        );
        assert!(d.get("holding.3").is_some(), "{answer:?}");
        let at = script(examples[1]);
        assert_eq!(
            at.call("on_open", ()).unwrap(),
            [Action::Reply(b"READY\r\n".to_vec())]
        );
        assert_eq!(
            at.on_frame(b"AT\r\n", Map::new()).unwrap(),
            [Action::Reply(b"OK\r\n".to_vec())]
        );
        let beat = script(examples[2]);
        beat.call("on_open", ()).unwrap();
        let mut expected = vec![0xAA, 0x55, 1];
        Checksum::Crc16Modbus.append_to(&mut expected);
        assert_eq!(beat.call("beat", ()).unwrap(), [Action::Send(expected)]);
    }
}
