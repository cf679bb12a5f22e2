//! `--decode`: frames become values in the CLI's output, against real peers on loopback.

use crate::common::start;
use crate::timeline::{interrupt, python_has, temp_dir};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

/// The jsonl data events of an output.
fn data_events(lines: &[String]) -> Vec<serde_json::Value> {
    lines
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["event"] == "data")
        .collect()
}

/// A Modbus TCP meter written with std::net: each Read Holding Registers request is answered
/// with register N = N + 100, under the request's transaction id.
pub(crate) fn meter() -> (std::net::SocketAddr, std::thread::JoinHandle<usize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let device = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut answered = 0;
        let mut req = [0u8; 12];
        while s.read_exact(&mut req).is_ok() {
            assert_eq!(req[7], 3, "a read holding registers request");
            let start = u16::from_be_bytes([req[8], req[9]]);
            let count = u16::from_be_bytes([req[10], req[11]]);
            let mut reply = vec![req[0], req[1], 0, 0];
            reply.extend_from_slice(&(3 + 2 * count).to_be_bytes());
            reply.extend_from_slice(&[req[6], 3, (2 * count) as u8]);
            for r in start..start + count {
                reply.extend_from_slice(&(r + 100).to_be_bytes());
            }
            s.write_all(&reply).unwrap();
            answered += 1;
        }
        answered
    });
    (addr, device)
}

#[test]
fn a_modbus_meter_read_from_the_cli_shows_register_values() {
    let (addr, device) = meter();
    // tid 7 reads 3 registers at 2.
    let run = start(&[
        "tcp-client",
        &addr.to_string(),
        "--send",
        "00 07 00 00 00 06 01 03 00 02 00 03",
        "--hex",
        "--decode",
        "modbus-tcp",
        "--output",
        "jsonl",
        "--wait",
        "500",
    ]);
    let (code, lines) = run.finish();
    assert_eq!(code, 0, "{lines:?}");
    assert_eq!(device.join().unwrap(), 1);
    let data = data_events(&lines);
    // The reply is paired with its request: it knows the address asked for.
    let summaries: Vec<&str> = data.iter().filter_map(|d| d["summary"].as_str()).collect();
    assert_eq!(
        summaries,
        [
            "FC03 Read Holding Registers unit 1 @2 ×3",
            "FC03 Read Holding Registers unit 1 @2 ×3 → 102 103 104",
        ],
        "{lines:#?}"
    );
    let reply = &data[1]["fields"];
    assert_eq!(reply["transaction_id"], 7);
    assert_eq!(reply["unit_id"], 1);
    assert_eq!(reply["function"], 3);
    assert_eq!(reply["address"], 2);
    assert_eq!(reply["quantity"], 3);
    assert_eq!(reply["values"], serde_json::json!([102, 103, 104]));
    assert_eq!(reply["holding.4"], 104);
}

#[test]
fn a_frame_that_does_not_decode_says_why_and_keeps_its_bytes() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let device = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        // A JSON line, then a broken one.
        s.write_all(b"{\"temp\": 21.5, \"hum\": {\"in\": 40}}\n{oops\n")
            .unwrap();
    });
    let run = start(&[
        "tcp-client",
        &addr.to_string(),
        "--decode",
        "json",
        "--output",
        "jsonl",
    ]);
    let (code, lines) = run.finish();
    device.join().unwrap();
    assert_eq!(code, 0, "{lines:?}");
    let data = data_events(&lines);
    assert_eq!(data.len(), 2, "{lines:#?}");
    assert_eq!(data[0]["fields"]["temp"], 21.5);
    assert_eq!(data[0]["fields"]["hum.in"], 40);
    assert!(data[1]["decode_error"]
        .as_str()
        .is_some_and(|e| e.starts_with("not JSON")));
    assert_eq!(data[1]["text"], "{oops\n");
}

#[test]
fn a_bad_protocol_file_stops_the_run_before_anything_opens() {
    let dir = temp_dir("bad-protocol");
    let file = dir.path().join("meter.toml");
    std::fs::write(
        &file,
        "name = \"meter\"\n\n[[field]]\nname = \"temp\"\ntype = \"i24\"\n",
    )
    .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let run = start(&[
        "tcp-client",
        &listener.local_addr().unwrap().to_string(),
        "--decode",
        file.to_str().unwrap(),
    ]);
    let line = run.stderr_line("meter.toml");
    assert!(
        line.contains("line 3: field 1 (temp): unknown type 'i24'"),
        "{line}"
    );
    let (code, _) = run.finish();
    assert_eq!(code, 2);
    assert!(listener.accept().is_err(), "nothing connected");
    // A name that is neither a decoder nor a file.
    let run = start(&["tcp-client", "127.0.0.1:9", "--decode", "modbus"]);
    assert!(run.stderr_line("--decode").contains("modbus-tcp"));
    assert_eq!(run.finish().0, 2);
}

/// A real pymodbus client reads a tcp-server answering by rule; with `--decode modbus-tcp`
/// every request and reply in the output carries its transaction id, and each reply the
/// values at the address its request asked for.
#[cfg(unix)]
#[test]
fn a_pymodbus_client_is_decoded_request_by_request() {
    if !python_has("pymodbus") {
        eprintln!(
            "pymodbus not installed (pip install pymodbus): the Modbus decode check did not run"
        );
        return;
    }
    let dir = temp_dir("modbus-decode");
    let rules = dir.path().join("modbus.toml");
    std::fs::write(
        &rules,
        "[[rule]]\nmatch = \"hex-prefix\"\npattern = \"?? ?? 00 00 00 06 01 03 00 05 00 02\"\n\
         reply = \"$1 00 00 00 07 01 03 04 00 2C 00 2D\"\nhex = true\n",
    )
    .unwrap();
    let server = start(&[
        "tcp-server",
        "127.0.0.1:0",
        "--rules",
        rules.to_str().unwrap(),
        "--decode",
        "modbus-tcp",
        "--output",
        "jsonl",
    ]);
    let local = server.opened_local();
    let script = format!(
        "from pymodbus.client import ModbusTcpClient\n\
         c = ModbusTcpClient('127.0.0.1', port={port}, timeout=5)\n\
         assert c.connect()\n\
         for _ in range(5):\n\
         \x20   try:\n\
         \x20       r = c.read_holding_registers(5, count=2, device_id=1)\n\
         \x20   except TypeError:\n\
         \x20       r = c.read_holding_registers(5, count=2, slave=1)\n\
         \x20   assert r.registers == [44, 45], r\n\
         c.close()\n\
         print('ok')\n",
        port = local.port()
    );
    let out = std::process::Command::new("python3")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("ok"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let data = data_events(&interrupt(server));
    assert_eq!(data.len(), 10);
    let mut tids = Vec::new();
    for pair in data.chunks(2) {
        let (q, a) = (&pair[0], &pair[1]);
        assert_eq!(
            (q["dir"].as_str(), a["dir"].as_str()),
            (Some("rx"), Some("tx"))
        );
        assert_eq!(q["fields"]["transaction_id"], a["fields"]["transaction_id"]);
        assert_eq!(a["fields"]["holding.5"], 44);
        assert_eq!(a["fields"]["holding.6"], 45);
        tids.push(q["fields"]["transaction_id"].as_i64().unwrap());
    }
    tids.dedup();
    assert_eq!(tids.len(), 5, "five transactions: {tids:?}");
}

/// Record one read of a Modbus meter with `--decode modbus-tcp`, then serve the recording with
/// `tcp-server --simulate`: clients whose transaction ids change are answered, each with its
/// own id (a std::net client always; a real pymodbus client when installed).
#[test]
fn a_decoded_recording_serves_any_modbus_client() {
    let (addr, device) = meter();
    let dir = temp_dir("modbus-sim");
    let recording = dir.path().join("meter.toml");
    let run = start(&[
        "tcp-client",
        &addr.to_string(),
        "--send",
        "00 07 00 00 00 06 01 03 00 05 00 02",
        "--hex",
        "--decode",
        "modbus-tcp",
        "--record",
        recording.to_str().unwrap(),
    ]);
    assert_eq!(run.finish().0, 0);
    assert_eq!(device.join().unwrap(), 1);
    let text = std::fs::read_to_string(&recording).unwrap();
    assert!(text.contains("decode = \"modbus-tcp\""), "{text}");
    let server = start(&[
        "tcp-server",
        "127.0.0.1:0",
        "--simulate",
        recording.to_str().unwrap(),
        "--decode",
        "modbus-tcp",
        "--output",
        "jsonl",
    ]);
    let local = server.opened_local();
    // Ten reads, transaction ids 100..110, on one connection.
    let mut client = std::net::TcpStream::connect(local).unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    for tid in 100u16..110 {
        let mut request = tid.to_be_bytes().to_vec();
        request.extend_from_slice(&[0, 0, 0, 6, 1, 3, 0, 5, 0, 2]);
        client.write_all(&request).unwrap();
        let mut answer = [0u8; 13];
        client.read_exact(&mut answer).unwrap();
        let mut expected = tid.to_be_bytes().to_vec();
        expected.extend_from_slice(&[0, 0, 0, 7, 1, 3, 4, 0, 105, 0, 106]);
        assert_eq!(answer.to_vec(), expected, "transaction {tid}");
    }
    drop(client);
    if python_has("pymodbus") {
        let script = format!(
            "from pymodbus.client import ModbusTcpClient\n\
             c = ModbusTcpClient('127.0.0.1', port={port}, timeout=5)\n\
             assert c.connect()\n\
             for _ in range(10):\n\
             \x20   try:\n\
             \x20       r = c.read_holding_registers(5, count=2, device_id=1)\n\
             \x20   except TypeError:\n\
             \x20       r = c.read_holding_registers(5, count=2, slave=1)\n\
             \x20   assert r.registers == [105, 106], r\n\
             c.close()\n\
             print('ok')\n",
            port = local.port()
        );
        let out = std::process::Command::new("python3")
            .args(["-c", &script])
            .output()
            .unwrap();
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("ok"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    } else {
        eprintln!("pymodbus not installed (pip install pymodbus): only the std::net client read the simulator");
    }
    let data = data_events(&interrupt(server));
    let answers = data.iter().filter(|d| d["dir"] == "tx").count();
    let expected = if python_has("pymodbus") { 20 } else { 10 };
    assert_eq!(answers, expected);
    assert!(data
        .iter()
        .filter(|d| d["dir"] == "tx")
        .all(|d| d["fields"]["holding.6"] == 106));
}

#[test]
fn a_recording_whose_device_spoke_first_cannot_become_answering_rules() {
    let dir = temp_dir("spoke-first");
    let file = dir.path().join("greeting.toml");
    std::fs::write(
        &file,
        "name = \"greeter\"\n[connection]\nkind = \"tcp-client\"\nremote = \"127.0.0.1:9\"\n\
         [[step]]\nexpect = \"48 49\"\nmatch = \"exact-hex\"\n",
    )
    .unwrap();
    let run = start(&[
        "tcp-server",
        "127.0.0.1:0",
        "--simulate",
        file.to_str().unwrap(),
    ]);
    assert!(run
        .stderr_line("greeting.toml")
        .contains("step 1: the device spoke first"));
    assert_eq!(run.finish().0, 2);
}

/// A rule that tests a decoded field: the server refuses Modbus "write single register"
/// requests (whatever their transaction id and register) with an exception carrying the
/// request's id, and leaves reads alone.
#[test]
fn a_rule_on_the_function_code_answers_writes_only() {
    let dir = temp_dir("field-rule");
    let rules = dir.path().join("writes.toml");
    std::fs::write(
        &rules,
        "[[rule]]\nname = \"no writes\"\nmatch = \"hex-prefix\"\npattern = \"?? ??\"\nhex = true\n\
         decode = \"modbus-tcp\"\nfield = \"function\"\nequals = 6\n\
         reply = \"$1 00 00 00 03 01 86 01\"\n",
    )
    .unwrap();
    let server = start(&[
        "tcp-server",
        "127.0.0.1:0",
        "--rules",
        rules.to_str().unwrap(),
        "--output",
        "jsonl",
    ]);
    let local = server.opened_local();
    let mut c = std::net::TcpStream::connect(local).unwrap();
    c.set_read_timeout(Some(Duration::from_millis(400)))
        .unwrap();
    for (tid, register) in [(0x0101u16, 1u8), (0x7F00, 40)] {
        let mut write = tid.to_be_bytes().to_vec();
        write.extend_from_slice(&[0, 0, 0, 6, 1, 6, 0, register, 0, 3]);
        c.write_all(&write).unwrap();
        let mut answer = [0u8; 9];
        c.read_exact(&mut answer).unwrap();
        let mut expected = tid.to_be_bytes().to_vec();
        expected.extend_from_slice(&[0, 0, 0, 3, 1, 0x86, 1]);
        assert_eq!(answer.to_vec(), expected);
    }
    // A read: the rule's bytes match (any two bytes) but its function does not.
    c.write_all(&[0, 9, 0, 0, 0, 6, 1, 3, 0, 0, 0, 1]).unwrap();
    let mut nothing = [0u8; 1];
    assert!(c.read(&mut nothing).is_err(), "a read is not answered");
    drop(c);
    let _ = interrupt(server);
    // A field test without a decoder is refused before anything opens, saying what is missing.
    std::fs::write(
        &rules,
        "[[rule]]\nfield = \"function\"\nequals = 6\nreply = \"x\"\n",
    )
    .unwrap();
    let run = start(&[
        "tcp-server",
        "127.0.0.1:0",
        "--rules",
        rules.to_str().unwrap(),
    ]);
    assert!(run
        .stderr_line("writes.toml")
        .contains("rule 1: a field test needs decode = \"modbus-tcp\""));
    assert_eq!(run.finish().0, 2);
}

/// A sequence step can expect a decoded field: the meter's answer to "read 3 at 2" has
/// holding.3 = 103 (pass) and holding.2 is not between 0 and 50 (fail).
#[test]
fn a_sequence_expects_register_values_not_bytes() {
    let dir = temp_dir("field-sequence");
    for (test, code) in [
        ("field = \"holding.3\"\nequals = 103\n", 0),
        (
            "field = \"holding.2\"\nbetween = [0, 50]\ntimeout_ms = 500\n",
            1,
        ),
    ] {
        let (addr, device) = meter();
        let file = dir.path().join("meter.toml");
        std::fs::write(
            &file,
            format!(
                "name = \"meter\"\n[connection]\nkind = \"tcp-client\"\nremote = \"{addr}\"\n\
                 decode = \"modbus-tcp\"\n[[step]]\nsend = \"00 07 00 00 00 06 01 03 00 02 00 03\"\n\
                 hex = true\n[[step]]\n{test}"
            ),
        )
        .unwrap();
        let run = start(&["run", file.to_str().unwrap()]);
        let (status, lines) = run.finish();
        assert_eq!(status, code, "{test}: {lines:#?}");
        let verdict = if code == 0 { "PASS" } else { "FAIL" };
        assert!(
            lines
                .iter()
                .any(|l| l.contains(verdict) && l.contains("holding")),
            "{lines:#?}"
        );
        device.join().unwrap();
    }
}
