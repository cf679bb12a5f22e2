//! Serial ports, on Linux pseudo-terminal pairs made by socat (`pty,raw,echo=0`): the CLI as a
//! real process on one end, a device written in Python on the other.

use crate::common::{has, start};
use crate::timeline::{interrupt, python_has, temp_dir};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Two linked pseudo-terminals (`a`, `b`); gone when dropped.
struct PtyPair {
    socat: Child,
    a: PathBuf,
    b: PathBuf,
    _dir: tempfile::TempDir,
}

impl PtyPair {
    fn new() -> Option<Self> {
        if !has("socat") {
            eprintln!("socat not installed (apt-get install socat): the serial test did not run");
            return None;
        }
        let dir = temp_dir("pty");
        let (a, b) = (dir.path().join("ttyA"), dir.path().join("ttyB"));
        let socat = Command::new("socat")
            .arg(format!("pty,raw,echo=0,link={}", a.display()))
            .arg(format!("pty,raw,echo=0,link={}", b.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while !(a.exists() && b.exists()) {
            assert!(Instant::now() < deadline, "socat made no ptys");
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(Self {
            socat,
            a,
            b,
            _dir: dir,
        })
    }

    /// Ends the pair: the ports vanish, as a pulled adapter's do.
    fn pull(&mut self) {
        let _ = self.socat.kill();
        let _ = self.socat.wait();
    }

    /// The pair again under the same names, as an adapter plugged back in.
    fn plug_back(&mut self) {
        self.pull();
        let _ = std::fs::remove_file(&self.a);
        let _ = std::fs::remove_file(&self.b);
        self.socat = Command::new("socat")
            .arg(format!("pty,raw,echo=0,link={}", self.a.display()))
            .arg(format!("pty,raw,echo=0,link={}", self.b.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
    }
}

impl Drop for PtyPair {
    fn drop(&mut self) {
        self.pull();
    }
}

/// A device on `port`: answers each line it reads with `OK <line>`, sends `greeting` first;
/// gives up after `seconds`.
fn device(port: &std::path::Path, greeting: &str, seconds: u32) -> Child {
    let script = format!(
        "import os, select, time\n\
         fd = os.open({port:?}, os.O_RDWR | os.O_NOCTTY)\n\
         os.write(fd, {greeting:?}.encode())\n\
         end = time.time() + {seconds}\n\
         buf = b''\n\
         while time.time() < end:\n\
         \x20   r, _, _ = select.select([fd], [], [], 0.1)\n\
         \x20   if not r: continue\n\
         \x20   buf += os.read(fd, 256)\n\
         \x20   while b'\\n' in buf:\n\
         \x20       line, buf = buf.split(b'\\n', 1)\n\
         \x20       os.write(fd, b'OK ' + line + b'\\n')\n",
        port = port.display().to_string()
    );
    Command::new("python3")
        .args(["-c", &script])
        .spawn()
        .unwrap()
}

fn data(lines: &[String]) -> Vec<serde_json::Value> {
    lines
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["event"] == "data")
        .collect()
}

#[test]
fn a_line_goes_out_and_its_answer_comes_back_framed_and_decoded() {
    let Some(pair) = PtyPair::new() else { return };
    let mut dev = device(&pair.b, "", 5);
    std::thread::sleep(Duration::from_millis(300));
    let run = start(&[
        "serial",
        pair.a.to_str().unwrap(),
        "--baud",
        "9600",
        "--send",
        "temp=21.5 hum=40\\n",
        "--escapes",
        "--frame",
        "line",
        "--decode",
        "kv",
        "--output",
        "jsonl",
        "--wait",
        "700",
    ]);
    let (code, lines) = run.finish();
    let _ = dev.kill();
    let _ = dev.wait();
    assert_eq!(code, 0, "{lines:#?}");
    let data = data(&lines);
    let port = format!("{} 9600 8N1", pair.a.display());
    assert!(data.iter().all(|d| d["peer"] == port.as_str()), "{data:#?}");
    let texts: Vec<(&str, &str)> = data
        .iter()
        .map(|d| (d["dir"].as_str().unwrap(), d["text"].as_str().unwrap()))
        .collect();
    assert_eq!(
        texts,
        [
            ("tx", "temp=21.5 hum=40\n"),
            ("rx", "OK temp=21.5 hum=40\n")
        ],
        "{lines:#?}"
    );
    // A pseudo-terminal reports no modem lines: said once, as such.
    let modem: Vec<&String> = lines.iter().filter(|l| l.contains("\"modem\"")).collect();
    assert_eq!(modem.len(), 1, "{lines:#?}");
    assert!(modem[0].contains("\"cts\":null"), "{modem:?}");
    // The answer, framed by line and decoded as key=value pairs ("OK" is not one).
    assert_eq!(data[1]["fields"]["temp"], 21.5);
    assert_eq!(data[1]["fields"]["hum"], 40);
}

#[test]
fn a_port_in_use_missing_or_badly_set_is_said_and_nothing_opens() {
    let Some(pair) = PtyPair::new() else { return };
    let first = start(&["serial", pair.a.to_str().unwrap(), "--output", "jsonl"]);
    first.stdout_line("\"opened\"");
    // A second SockScope on the same port.
    let second = start(&["serial", pair.a.to_str().unwrap()]);
    assert!(second
        .stderr_line("error")
        .contains("the port is in use by another program"));
    assert_eq!(second.finish().0, 1);
    // pyserial asking for the port exclusively is refused too.
    if python_has("serial") {
        let out = Command::new("python3")
            .args([
                "-c",
                &format!(
                    "import serial\ntry:\n    serial.Serial({:?}, exclusive=True)\n    print('opened')\nexcept serial.SerialException as e:\n    print('refused', e)\n",
                    pair.a.display().to_string()
                ),
            ])
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(said.starts_with("refused"), "{said}");
    } else {
        eprintln!(
            "pyserial not installed (pip install pyserial): its exclusive open was not tried"
        );
    }
    let _ = interrupt(first);
    let missing = start(&["serial", "/dev/ttyNO-SUCH-PORT"]);
    let line = missing.stderr_line("error");
    assert!(
        line.contains("/dev/ttyNO-SUCH-PORT") && line.contains("no such port"),
        "{line}"
    );
    assert_eq!(missing.finish().0, 1);
    for bad in [["--baud", "0"], ["--data-bits", "9"], ["--stop-bits", "3"]] {
        let run = start(&["serial", pair.a.to_str().unwrap(), bad[0], bad[1]]);
        assert_eq!(run.finish().0, 2, "{bad:?}");
    }
}

#[test]
fn a_port_that_vanishes_ends_the_session_at_once_with_the_reason() {
    let Some(mut pair) = PtyPair::new() else {
        return;
    };
    let run = start(&["serial", pair.a.to_str().unwrap(), "--output", "jsonl"]);
    run.stdout_line("\"opened\"");
    let pulled = Instant::now();
    pair.pull();
    let line = run.stdout_line("\"disconnected\"");
    assert!(line.contains("the port went away"), "{line}");
    let (code, _) = run.finish();
    assert_eq!(code, 1);
    assert!(
        pulled.elapsed() < Duration::from_secs(3),
        "{:?}",
        pulled.elapsed()
    );
}

#[test]
fn the_port_list_names_ports_as_the_system_does() {
    let out = start(&["serial", "--list", "--json"]).finish();
    assert_eq!(out.0, 0);
    for line in &out.1 {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(v["name"].as_str().is_some_and(|n| !n.is_empty()), "{line}");
    }
}

/// A serial tab in the window: the port typed, 9600 8E1 picked, text sent, the device's answer
/// in the log with no address, and the pulled port said in Chinese.
#[test]
fn a_serial_tab_talks_to_a_device_and_says_when_the_port_goes() {
    use crate::gui::{app, shown_texts, step_until, type_into};
    use egui_kittest::kittest::Queryable;
    use sockscope::ui::i18n::Lang;
    let Some(mut pair) = PtyPair::new() else {
        return;
    };
    let mut dev = device(&pair.b, "", 8);
    let mut harness = app(Lang::Zh);
    harness.get_by_label("+ 串口").click();
    harness.run_steps(3);
    type_into(&mut harness, "串口", pair.a.to_str().unwrap());
    harness
        .get_by_role_and_label(egui::accesskit::Role::ComboBox, "校验位")
        .click();
    harness.run_steps(2);
    harness.get_by_label("偶").click();
    harness.run_steps(2);
    harness.state_mut().tabs[0].settings.serial.baud = 9600;
    harness.get_by_label("打开").click();
    step_until(&mut harness, "the port open", |h| {
        h.query_all_by_label_contains("已打开 ").next().is_some()
    });
    let opened = format!("已打开 {} 9600 8E1", pair.a.display());
    assert!(
        harness
            .query_all_by_label_contains(&opened)
            .next()
            .is_some(),
        "{:#?}",
        shown_texts(&harness)
    );
    // Recorded, the exchange becomes a serial sequence with the tab's port and line.
    harness.state_mut().tabs[0].start_recording();
    harness.get_by_label("发送内容").click();
    harness.run_steps(1);
    harness.get_by_label("发送内容").type_text("AT\n");
    harness.run_steps(2);
    harness
        .get_by_role_and_label(egui::accesskit::Role::Button, "发送")
        .click();
    step_until(&mut harness, "the answer", |h| {
        h.query_all_by_label_contains("OK AT").next().is_some()
    });
    let rows: Vec<String> = shown_texts(&harness)
        .into_iter()
        .filter(|t| t.contains("  RX  ") || t.contains("  TX  "))
        .collect();
    assert!(rows.iter().all(|r| !r.contains("0.0.0.0")), "{rows:#?}");
    // The modem lines: a pseudo-terminal reports none, and the tab says so.
    step_until(&mut harness, "the modem lines", |h| {
        h.query_by_label_contains("此串口不报告").is_some()
    });
    // The control lines: a break is sent; a pseudo-terminal has no DTR, and the log says so.
    harness.get_by_label("发送 Break").click();
    step_until(&mut harness, "the break said", |h| {
        h.query_all_by_label_contains("已发送 Break(250 毫秒)")
            .next()
            .is_some()
    });
    harness.get_by_label("DTR").click();
    step_until(&mut harness, "DTR refused", |h| {
        h.query_all_by_label_contains("此串口无法设置DTR")
            .next()
            .is_some()
    });
    let recorded = harness.state_mut().tabs[0]
        .stop_recording(Lang::Zh)
        .expect("a serial tab records");
    let text = recorded.to_toml();
    assert!(text.contains("kind = \"serial\""), "{text}");
    assert!(
        text.contains("baud = 9600") && text.contains("parity = \"even\""),
        "{text}"
    );
    let again = sockscope::sequence::Sequence::parse(&text).unwrap();
    assert_eq!(again.connection.port.as_deref(), pair.a.to_str());
    // (Written with escapes, as a person would type it.)
    assert_eq!(again.steps[0].send.as_deref(), Some("AT\\n"));
    assert!(again.steps[0].escapes);
    let _ = dev.kill();
    let _ = dev.wait();
    pair.pull();
    step_until(&mut harness, "the port gone", |h| {
        h.query_all_by_label_contains("串口不见了").next().is_some()
    });
}

/// `sockscope bridge`: a TCP client reaches the serial device and back, both directions in
/// the output under the port's name; a second client while the first holds the port is
/// refused with the reason; once the first leaves, the next is served.
#[test]
fn a_bridge_connects_tcp_clients_to_the_port_one_at_a_time() {
    use std::io::{BufRead, BufReader, Write};
    let Some(pair) = PtyPair::new() else { return };
    let mut dev = device(&pair.b, "", 10);
    let bridge = start(&[
        "bridge",
        pair.a.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--baud",
        "9600",
        "--output",
        "jsonl",
    ]);
    let local = bridge.opened_local();
    let talk = |c: &mut std::net::TcpStream, line: &str| {
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        c.write_all(format!("{line}\n").as_bytes()).unwrap();
        let mut answer = String::new();
        BufReader::new(c.try_clone().unwrap())
            .read_line(&mut answer)
            .unwrap();
        answer
    };
    let mut first = std::net::TcpStream::connect(local).unwrap();
    assert_eq!(talk(&mut first, "AT"), "OK AT\n");
    // The port is taken: a second client is closed with the reason.
    let mut second = std::net::TcpStream::connect(local).unwrap();
    second
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut buf = [0u8; 8];
    assert!(matches!(
        std::io::Read::read(&mut second, &mut buf),
        Ok(0) | Err(_)
    ));
    let refused = bridge.stdout_line("in use");
    assert!(refused.contains("\"disconnected\""), "{refused}");
    drop(first);
    std::thread::sleep(Duration::from_millis(300));
    let mut third = std::net::TcpStream::connect(local).unwrap();
    assert_eq!(talk(&mut third, "ATI"), "OK ATI\n");
    drop(third);
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: kill() only sends a signal to the child we started.
    unsafe { libc::kill(bridge.child.id() as i32, libc::SIGINT) };
    // A refused client is a failure the run reports: exit 1.
    let (code, lines) = bridge.finish();
    assert_eq!(code, 1, "{lines:#?}");
    let _ = dev.kill();
    let _ = dev.wait();
    let data = data(&lines);
    let port = format!("{} 9600 8N1", pair.a.display());
    assert!(
        data.iter()
            .any(|d| d["peer"] == port.as_str() && d["text"] == "OK ATI\n"),
        "{data:#?}"
    );
}

/// `bridge --max-clients 2`: two TCP clients share the port (what the device answers reaches
/// both and is in the output once; either one's sends reach it); a third is refused with the
/// reason; the port vanishing ends both clients and the bridge.
#[test]
fn a_shared_bridge_gives_every_client_the_port() {
    use std::io::{BufRead, BufReader, Write};
    // Out of range, or with --rfc2217 (one client sets the line): refused before anything opens.
    for args in [
        &[
            "bridge",
            "/dev/null",
            "--listen",
            "127.0.0.1:0",
            "--max-clients",
            "0",
        ][..],
        &[
            "bridge",
            "/dev/null",
            "--listen",
            "127.0.0.1:0",
            "--max-clients",
            "257",
        ][..],
        &[
            "bridge",
            "/dev/null",
            "--listen",
            "127.0.0.1:0",
            "--max-clients",
            "2",
            "--rfc2217",
        ][..],
    ] {
        let out = crate::common::sockscope().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
    let Some(mut pair) = PtyPair::new() else {
        return;
    };
    let mut dev = device(&pair.b, "", 10);
    // A script watches what passes (and logs it).
    let dir = temp_dir("shared-script");
    let script = dir.path().join("watch.rhai");
    std::fs::write(&script, "fn on_frame(f, x) { log(\"saw \" + hex(f)); }\n").unwrap();
    let bridge = start(&[
        "bridge",
        pair.a.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--script",
        script.to_str().unwrap(),
        "--max-clients",
        "2",
        "--output",
        "jsonl",
    ]);
    let local = bridge.opened_local();
    let line_of = |c: &std::net::TcpStream| {
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut line = String::new();
        BufReader::new(c.try_clone().unwrap())
            .read_line(&mut line)
            .unwrap();
        line
    };
    let mut a = std::net::TcpStream::connect(local).unwrap();
    let mut b = std::net::TcpStream::connect(local).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    a.write_all(b"AT\n").unwrap();
    assert_eq!(line_of(&a), "OK AT\n");
    assert_eq!(line_of(&b), "OK AT\n");
    b.write_all(b"ATI\n").unwrap();
    assert_eq!(line_of(&a), "OK ATI\n");
    assert_eq!(line_of(&b), "OK ATI\n");
    // A third client is one too many.
    let c = std::net::TcpStream::connect(local).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = [0u8; 8];
    assert!(matches!(
        std::io::Read::read(&mut &c, &mut buf),
        Ok(0) | Err(_)
    ));
    // The port goes: both clients are closed, and the bridge ends.
    let _ = dev.kill();
    let _ = dev.wait();
    pair.pull();
    for s in [&a, &b] {
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        assert!(matches!(
            std::io::Read::read(&mut &*s, &mut buf),
            Ok(0) | Err(_)
        ));
    }
    let (code, lines) = bridge.finish();
    assert_eq!(code, 1, "{lines:#?}");
    let data = data(&lines);
    let answers = data.iter().filter(|d| d["text"] == "OK AT\n").count();
    assert_eq!(answers, 1, "the port's data is recorded once: {data:#?}");
    assert!(
        lines.iter().any(|l| l.contains("already 2 clients")),
        "{lines:#?}"
    );
    // "OK AT\n" from the port, seen by the script once.
    // (Pieces joined: the port may hand a line over in two reads.)
    let seen: Vec<String> = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["event"] == "script")
        .map(|v| {
            v["text"]
                .as_str()
                .unwrap_or("")
                .trim_start_matches("saw ")
                .to_string()
        })
        .collect();
    let joined = seen.join(" ");
    assert_eq!(joined.matches("4F 4B 20 41 54 0A").count(), 1, "{seen:#?}");
}

/// A shared bridge's client that stops reading while the device floods the port is let go
/// with the reason; the client that reads goes on getting everything.
#[test]
fn a_shared_bridge_lets_go_of_a_client_that_does_not_read() {
    use std::io::Read;
    let Some(pair) = PtyPair::new() else { return };
    let flood = format!(
        "import os, time\n\
         fd = os.open({port:?}, os.O_RDWR | os.O_NOCTTY)\n\
         end = time.time() + 6\n\
         chunk = b'x' * 4096\n\
         while time.time() < end:\n\
         \x20   os.write(fd, chunk)\n",
        port = pair.b.display().to_string()
    );
    // (Summary output: the flood is not printed; a free port is picked first.)
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let bridge = start(&[
        "bridge",
        pair.a.to_str().unwrap(),
        "--listen",
        &listen,
        "--max-clients",
        "2",
        "--output",
        "summary",
    ]);
    crate::common::wait_listening(port);
    let local: std::net::SocketAddr = listen.parse().unwrap();
    let reader = std::net::TcpStream::connect(local).unwrap();
    let silent = std::net::TcpStream::connect(local).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let mut dev = Command::new("python3")
        .args(["-c", &flood])
        .spawn()
        .unwrap();
    // The reader reads for 4 s and gets data all along.
    reader
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut buf = vec![0u8; 65536];
    let (mut got, start) = (0usize, Instant::now());
    while start.elapsed() < Duration::from_secs(4) {
        got += (&reader).read(&mut buf).unwrap();
    }
    assert!(got > 1 << 20, "the reader got only {got} bytes");
    // The silent one was let go: its connection is closed (after what was queued for it).
    silent
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut drained = 0usize;
    loop {
        match (&silent).read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => drained += n,
        }
        assert!(
            drained < got + (64 << 20),
            "the silent client was never let go"
        );
    }
    let _ = dev.kill();
    let _ = dev.wait();
    drop((reader, silent));
    std::thread::sleep(Duration::from_millis(200));
    // SAFETY: kill() only sends a signal to the child we started.
    unsafe { libc::kill(bridge.child.id() as i32, libc::SIGINT) };
    // A client let go is a failure the run reports, with the reason: exit 1.
    let (code, stderr) = bridge.finish_stderr();
    assert_eq!(code, 1, "code {code}: {stderr:#?}");
    assert!(
        stderr.iter().any(|l| l.contains("not held back")),
        "{stderr:#?}"
    );
}

/// `bridge --rfc2217`: pyserial's `rfc2217://` client talks through the bridge (a 255 byte
/// both ways), sets baud, parity and flow control remotely; the port takes the settings (read
/// back with the TCGETS2 ioctl: serialport sets any baud through termios2) and the output says
/// each change — and that a pseudo-terminal has no DTR to switch.
#[test]
fn an_rfc2217_client_sets_the_line_through_the_bridge() {
    if !python_has("serial") {
        eprintln!("pyserial not installed (pip install pyserial): the RFC 2217 check did not run");
        return;
    }
    let Some(pair) = PtyPair::new() else { return };
    let mut dev = device(&pair.b, "", 10);
    let bridge = start(&[
        "bridge",
        pair.a.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--rfc2217",
        "--baud",
        "9600",
        "--output",
        "jsonl",
    ]);
    let local = bridge.opened_local();
    let script = format!(
        "import serial, os, termios\n\
         s = serial.serial_for_url('rfc2217://{local}', baudrate=9600, timeout=5)\n\
         s.write(b'AT\\n')\n\
         print(repr(s.readline()))\n\
         s.baudrate = 19200\n\
         s.parity = serial.PARITY_EVEN\n\
         s.stopbits = 2\n\
         s.xonxoff = True\n\
         try:\n\
         \x20   s.dtr = False\n\
         except ValueError as e:\n\
         \x20   print('dtr refused')\n\
         s.write(b'\\xff\\x01\\n')\n\
         print(repr(s.readline()))\n\
         try:\n\
         \x20   import fcntl, struct\n\
         \x20   fd = os.open({port:?}, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)\n\
         \x20   t2 = fcntl.ioctl(fd, 0x802C542A, bytes(44))\n\
         \x20   cflag, ospeed = struct.unpack_from('I', t2, 8)[0], struct.unpack_from('I', t2, 40)[0]\n\
         \x20   print('speed', ospeed, 'two stop bits', bool(cflag & termios.CSTOPB))\n\
         except OSError as e:\n\
         \x20   print('no readback', e)\n\
         s.close()\n",
        port = pair.a.display().to_string()
    );
    let out = std::process::Command::new("timeout")
        .args(["20", "python3", "-c", &script])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = said.lines().collect();
    assert_eq!(lines[0], "b'OK AT\\n'", "{said}");
    // A pseudo-terminal has no DTR: the bridge says so, and the client hears it was refused.
    assert_eq!(lines[1], "dtr refused", "{said}");
    assert_eq!(lines[2], "b'OK \\xff\\x01\\n'", "{said}");
    if lines[3].starts_with("no readback") {
        eprintln!(
            "the port could not be opened a second time ({}): its settings were not read back",
            lines[3]
        );
    } else {
        // (A Linux pseudo-terminal keeps 8 bits and no parity whatever it is told, so parity
        // is checked in the output, not read back.)
        assert_eq!(lines[3], "speed 19200 two stop bits True", "{said}");
    }
    std::thread::sleep(Duration::from_millis(200));
    let output = interrupt(bridge);
    let _ = dev.kill();
    let _ = dev.wait();
    let changes: Vec<String> = output
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["event"] == "line")
        .map(|v| v["change"].as_str().unwrap_or("").to_string())
        .collect();
    for expected in [
        "baud 19200",
        "parity even",
        "stop bits 2",
        "flow control xon-xoff",
        "DTR 9 not possible on this port: kept",
    ] {
        assert!(
            changes.iter().any(|c| c == expected),
            "{expected}: {changes:?}"
        );
    }
}

/// Modbus RTU on a serial line: the answer arrives in two pieces 1 ms apart (less than 3.5
/// characters at 9600 baud), is framed as one by the line's gap, its CRC checked and paired
/// with the request: register values by address.
#[test]
fn a_modbus_rtu_answer_split_on_the_line_is_one_decoded_frame() {
    let Some(pair) = PtyPair::new() else { return };
    let script = format!(
        "import os, select, time\n\
         def crc(b):\n\
         \x20   c = 0xFFFF\n\
         \x20   for x in b:\n\
         \x20       c ^= x\n\
         \x20       for _ in range(8):\n\
         \x20           c = (c >> 1) ^ 0xA001 if c & 1 else c >> 1\n\
         \x20   return bytes([c & 0xFF, c >> 8])\n\
         fd = os.open({port:?}, os.O_RDWR | os.O_NOCTTY)\n\
         r, _, _ = select.select([fd], [], [], 5)\n\
         req = os.read(fd, 64)\n\
         body = bytes([1, 3, 4, 0, 44, 0, 45])\n\
         answer = body + crc(body)\n\
         os.write(fd, answer[:3]); time.sleep(0.001); os.write(fd, answer[3:])\n\
         time.sleep(1)\n",
        port = pair.b.display().to_string()
    );
    let mut dev = Command::new("python3")
        .args(["-c", &script])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let run = start(&[
        "serial",
        pair.a.to_str().unwrap(),
        "--baud",
        "9600",
        "--send",
        "01 03 00 0A 00 02",
        "--hex",
        "--checksum",
        "crc16-modbus",
        "--decode",
        "modbus-rtu",
        "--output",
        "jsonl",
        "--wait",
        "500",
    ]);
    let (code, lines) = run.finish();
    let _ = dev.kill();
    let _ = dev.wait();
    assert_eq!(code, 0, "{lines:#?}");
    let data = data(&lines);
    let answers: Vec<&serde_json::Value> = data.iter().filter(|d| d["dir"] == "rx").collect();
    assert_eq!(answers.len(), 1, "one frame: {lines:#?}");
    assert_eq!(answers[0]["len"], 9);
    assert_eq!(
        answers[0]["summary"],
        "FC03 Read Holding Registers unit 1 @10 ×2 → 44 45"
    );
    assert_eq!(answers[0]["fields"]["holding.11"], 45);
}

/// A sequence with `kind = "serial"` runs over a port: sends, expectations on framed lines,
/// the line settings applied; a line setting the file gets wrong stops the run before the port
/// is opened (exit 2, the setting named).
#[test]
fn a_serial_sequence_runs_against_a_device_on_the_port() {
    let Some(pair) = PtyPair::new() else { return };
    let mut dev = device(&pair.b, "", 8);
    std::thread::sleep(Duration::from_millis(300));
    let dir = temp_dir("serial-seq");
    let path = dir.path().join("at.toml");
    std::fs::write(
        &path,
        format!(
            "name = \"AT over serial\"\n\
             [connection]\n\
             kind = \"serial\"\n\
             port = {port:?}\n\
             baud = 19200\n\
             parity = \"odd\"\n\
             stop_bits = 2\n\
             frame = \"line\"\n\
             [[step]]\n\
             send = \"AT\\n\"\n\
             [[step]]\n\
             expect = \"OK AT\"\n\
             [[step]]\n\
             send = \"AT+GMR\\n\"\n\
             [[step]]\n\
             expect = \"OK AT+GMR\"\n",
            port = pair.a.display().to_string()
        ),
    )
    .unwrap();
    let run = start(&["run", path.to_str().unwrap()]);
    let (code, lines) = run.finish();
    assert_eq!(code, 0, "{lines:#?}");
    assert!(
        lines.iter().any(|l| l.contains("4 passed, 0 failed")),
        "{lines:#?}"
    );
    let _ = dev.kill();
    let _ = dev.wait();
    // A parity the port cannot take: said before anything opens.
    let bad = std::fs::read_to_string(&path)
        .unwrap()
        .replace("parity = \"odd\"", "parity = \"mark\"");
    std::fs::write(&path, bad).unwrap();
    let run = start(&["run", path.to_str().unwrap()]);
    let (code, out) = run.finish_stderr();
    assert_eq!(code, 2, "{out:#?}");
    assert!(
        out.iter().any(|l| l.contains("unknown parity 'mark'")),
        "{out:#?}"
    );
}

/// A serial tab told to reopen by itself waits when its port vanishes and opens again when the
/// same port returns (an adapter plugged back in).
#[test]
fn a_vanished_port_is_reopened_when_it_returns() {
    use crate::gui::{app, step_until, type_into};
    use egui_kittest::kittest::Queryable;
    use sockscope::ui::i18n::Lang;
    let Some(mut pair) = PtyPair::new() else {
        return;
    };
    let mut harness = app(Lang::En);
    harness.get_by_label("+ Serial").click();
    harness.run_steps(3);
    type_into(&mut harness, "Port", pair.a.to_str().unwrap());
    harness.get_by_label("Reopen when the port returns").click();
    harness.run_steps(1);
    harness
        .get_by_role_and_label(egui::accesskit::Role::Button, "Open")
        .click();
    let open = |h: &egui_kittest::Harness<'static, sockscope::ui::SockScopeApp>| {
        matches!(
            h.state().tabs[0].state,
            sockscope::ui::session_tab::TabState::Open { .. }
        )
    };
    step_until(&mut harness, "the port open", open);
    pair.pull();
    step_until(&mut harness, "the port gone", |h| {
        !h.state().tabs[0].is_active()
    });
    step_until(&mut harness, "waiting for the port", |h| {
        h.query_all_by_label_contains("Waiting for the port to return")
            .next()
            .is_some()
    });
    assert!(!harness.state().tabs[0].is_active());
    pair.plug_back();
    step_until(&mut harness, "reopened", open);
}

/// A device that echoes everything: 1 MiB sent in one go comes back byte-exact. The device
/// sits on the master side of a pseudo-terminal (no socat between) and blocks on its echo
/// like a device without a buffer to spare: the session reads while it writes (before, both
/// sides waited on each other past a few KiB; a real UART would have dropped the bytes).
#[test]
fn a_megabyte_to_an_echoing_device_comes_back_byte_exact() {
    use crate::common::TestEngine;
    use sockscope::engine::{SendTarget, SessionConfig};
    use std::io::BufRead;
    if !has("python3") {
        eprintln!("python3 not installed: the echoing-device check did not run");
        return;
    }
    // (It ends itself after 25 s whatever it is doing: a failing run never leaves it behind.)
    let device = "import os, sys, time, signal\n\
                  signal.alarm(25)\n\
                  m, s = os.openpty()\n\
                  print(os.ttyname(s), flush=True)\n\
                  end = time.time() + 20\n\
                  while time.time() < end:\n\
                  \x20   data = os.read(m, 4096)\n\
                  \x20   while data:\n\
                  \x20       data = data[os.write(m, data):]\n";
    let mut dev = Command::new("python3")
        .args(["-c", device])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut port = String::new();
    std::io::BufReader::new(dev.stdout.take().unwrap())
        .read_line(&mut port)
        .unwrap();
    let mut engine = TestEngine::new();
    let session = engine.open(SessionConfig::Serial {
        port: port.trim().to_string(),
        settings: sockscope::engine::serial::LineSettings::default(),
    });
    engine.wait_opened(session);
    let data: Vec<u8> = (0..1u32 << 20).map(|i| (i * 7 % 251) as u8).collect();
    engine.send(sockscope::engine::Command::Send {
        session,
        target: SendTarget::Default,
        bytes: data.clone(),
        repeat: None,
        ack: None,
    });
    let got = engine.wait_received(session, data.len());
    let _ = dev.kill();
    let _ = dev.wait();
    assert!(got == data, "{} bytes back, not the same", got.len());
}
