//! TLS over loopback: SockScope's server and client with each other and with Python's `ssl`
//! (when python3 is installed), generated certificates, CA files, pinning, mutual TLS, and the
//! reasons a handshake fails, as the user reads them.

use crate::common::{has, start};
use assert_cmd::Command as Cmd;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

/// A fresh folder with a generated pair (ca.pem, cert.pem, key.pem); the fingerprint.
fn pair(name: &str) -> (PathBuf, String) {
    let dir = std::env::temp_dir().join(format!("sockscope-tls-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let out = Cmd::new(env!("CARGO_BIN_EXE_sockscope"))
        .args([
            "tls-cert",
            "--out",
            dir.to_str().unwrap(),
            "--names",
            "device.lab",
        ])
        .timeout(WAIT)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let fingerprint = stdout
        .lines()
        .find_map(|l| l.strip_prefix("SHA-256: "))
        .unwrap()
        .to_string();
    (dir, fingerprint)
}

fn path(dir: &Path, file: &str) -> String {
    dir.join(file).to_str().unwrap().to_string()
}

/// `sockscope tcp-client` against `port` with `extra` options, sending "hello tls".
fn client(port: u16, extra: &[&str]) -> (i32, String, String) {
    let target = format!("127.0.0.1:{port}");
    let mut args = vec!["tcp-client", target.as_str(), "--send", "hello tls"];
    args.extend_from_slice(extra);
    let out = Cmd::new(env!("CARGO_BIN_EXE_sockscope"))
        .args(&args)
        .timeout(WAIT)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A SockScope echo server over TLS with `extra` options; its port.
fn server(extra: &[&str]) -> (crate::common::Running, u16) {
    let mut args = vec!["tcp-server", "127.0.0.1:0", "--echo"];
    args.extend_from_slice(extra);
    let running = start(&args);
    let port = running.open_port();
    (running, port)
}

#[test]
fn sockscope_server_and_client_talk_over_tls_with_a_generated_certificate() {
    let server = start(&["tcp-server", "127.0.0.1:0", "--echo", "--gen-cert"]);
    let line = server.stderr_line("TLS certificate SHA-256");
    let pin = line.rsplit(' ').next().unwrap().to_string();
    let port = server.open_port();
    // Pinned: the echo comes back, the handshake is described.
    let (code, stdout, stderr) = client(port, &["--pin", &pin]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("RX 127.0.0.1") && stdout.contains("hello tls"),
        "{stdout}"
    );
    assert!(stderr.contains("TLS: TLSv1.3"), "{stderr}");
    assert!(stderr.contains(&format!("SHA-256 {pin}")), "{stderr}");
    // Another pin: refused, in plain words, exit 1, nothing sent.
    let wrong = pin.replacen(&pin[..2], if &pin[..2] == "00" { "11" } else { "00" }, 1);
    let (code, stdout, stderr) = client(port, &["--pin", &wrong]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("not the pinned one"), "{stderr}");
    assert!(!stdout.contains("TX"), "nothing was sent: {stdout}");
    // The system's roots do not know a generated CA: unknown issuer (or, on a machine with no
    // roots at all, a plain word that there are none).
    let (code, _, stderr) = client(port, &["--tls"]);
    assert_ne!(code, 0, "{stderr}");
    assert!(
        stderr.contains("unknown issuer") || stderr.contains("no trusted root certificates"),
        "{stderr}"
    );
    // Not verifying works, and says loudly that it did not verify.
    let (code, _, stderr) = client(port, &["--insecure"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("NOT VERIFIED"), "{stderr}");
}

#[test]
fn a_ca_file_is_trusted_the_wrong_one_is_an_unknown_issuer_and_names_are_checked() {
    let (dir, _) = pair("ca");
    let (other, _) = pair("other");
    let (_server, port) = server(&[
        "--cert",
        &path(&dir, "cert.pem"),
        "--key",
        &path(&dir, "key.pem"),
    ]);
    let (code, stdout, stderr) = client(port, &["--ca", &path(&dir, "ca.pem")]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("hello tls"), "{stdout}");
    let (code, _, stderr) = client(port, &["--ca", &path(&other, "ca.pem")]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("unknown issuer"), "{stderr}");
    // The certificate holds device.lab, not printer.lab.
    let (code, _, stderr) = client(
        port,
        &["--ca", &path(&dir, "ca.pem"), "--sni", "printer.lab"],
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("another name"), "{stderr}");
    let (code, _, stderr) = client(
        port,
        &["--ca", &path(&dir, "ca.pem"), "--sni", "device.lab"],
    );
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn mutual_tls_takes_a_client_certificate_from_the_ca_and_refuses_one_without() {
    let (server_pair, _) = pair("mtls-server");
    let (client_pair, _) = pair("mtls-client");
    let (outsider, _) = pair("mtls-outsider");
    let (server, port) = server(&[
        "--cert",
        &path(&server_pair, "cert.pem"),
        "--key",
        &path(&server_pair, "key.pem"),
        "--ca",
        &path(&client_pair, "ca.pem"),
    ]);
    let trust = path(&server_pair, "ca.pem");
    let (code, stdout, stderr) = client(
        port,
        &[
            "--ca",
            &trust,
            "--cert",
            &path(&client_pair, "cert.pem"),
            "--key",
            &path(&client_pair, "key.pem"),
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("RX") && stdout.contains("hello tls"),
        "{stdout}"
    );
    // The server logs who the client is.
    server.stderr_line("issuer CN=SockScope test CA");
    for extra in [
        vec![],
        vec![
            "--cert".to_string(),
            path(&outsider, "cert.pem"),
            "--key".to_string(),
            path(&outsider, "key.pem"),
        ],
    ] {
        let mut args: Vec<&str> = vec!["--ca", &trust];
        args.extend(extra.iter().map(String::as_str));
        let (code, stdout, stderr) = client(port, &args);
        // TLS 1.3: the client learns of the refusal just after its handshake: a failure, with
        // the reason, and no echo.
        assert_eq!(code, 1, "{stdout} {stderr}");
        assert!(!stdout.contains("RX"), "{stdout}");
        assert!(stderr.contains("rejected the handshake"), "{stderr}");
    }
    // The server says why it refused each.
    server.stderr_line("peer sent no certificates");
    server.stderr_line("UnknownIssuer");
}

#[test]
fn a_tls_client_to_a_plain_server_says_it_does_not_speak_tls() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        if let Ok((mut s, _)) = listener.accept() {
            let _ = s.set_read_timeout(Some(WAIT));
            let mut buf = [0u8; 512];
            let _ = s.read(&mut buf);
            let _ = s.write_all(b"HTTP/1.0 400 Bad Request\r\n\r\nthis is not TLS at all\r\n");
        }
    });
    let (code, _, stderr) = client(port, &["--insecure"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("does not speak TLS"), "{stderr}");
}

/// Python's `ssl` as the other side, when python3 is installed.
#[test]
fn python_ssl_client_and_server_talk_to_sockscope() {
    if !has("python3") {
        eprintln!("python3 not installed; skipped");
        return;
    }
    let (dir, _) = pair("python");
    // A Python client trusting ca.pem, against SockScope's server.
    let (_server, port) = server(&[
        "--cert",
        &path(&dir, "cert.pem"),
        "--key",
        &path(&dir, "key.pem"),
    ]);
    let client_py = format!(
        "import socket, ssl\n\
         ctx = ssl.create_default_context(cafile={ca:?})\n\
         with socket.create_connection(('127.0.0.1', {port}), timeout=10) as raw:\n\
         \x20   with ctx.wrap_socket(raw, server_hostname='localhost') as s:\n\
         \x20       s.sendall(b'from python')\n\
         \x20       got = b''\n\
         \x20       while len(got) < 11:\n\
         \x20           got += s.recv(64)\n\
         \x20       print(got.decode(), s.version())\n",
        ca = path(&dir, "ca.pem")
    );
    let out = std::process::Command::new("python3")
        .args(["-c", &client_py])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("from python TLSv1."), "{stdout}");

    // A Python server with SockScope's generated pair, and SockScope's client.
    let server_py = format!(
        "import socket, ssl, sys\n\
         ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n\
         ctx.load_cert_chain({cert:?}, {key:?})\n\
         ls = socket.socket(); ls.bind(('127.0.0.1', 0)); ls.listen(2); ls.settimeout(15)\n\
         print(ls.getsockname()[1], flush=True)\n\
         for _ in range(2):\n\
         \x20   try:\n\
         \x20       raw, _ = ls.accept()\n\
         \x20       with ctx.wrap_socket(raw, server_side=True) as s:\n\
         \x20           s.sendall(s.recv(64).upper())\n\
         \x20   except Exception as e:\n\
         \x20       print('failed', e, flush=True)\n",
        cert = path(&dir, "cert.pem"),
        key = path(&dir, "key.pem")
    );
    let mut py = std::process::Command::new("python3")
        .args(["-c", &server_py])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(py.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    let port: u16 = line.trim().parse().unwrap();
    let (code, stdout, stderr) = client(port, &["--ca", &path(&dir, "ca.pem")]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("HELLO TLS"), "{stdout}");
    let (wrong, _) = pair("python-wrong");
    let (code, _, stderr) = client(port, &["--ca", &path(&wrong, "ca.pem")]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("unknown issuer"), "{stderr}");
    let _ = py.wait();
}

#[test]
fn tls_cert_never_replaces_files_and_bad_options_are_usage_errors() {
    let (dir, _) = pair("again");
    let before = std::fs::read(dir.join("key.pem")).unwrap();
    let out = Cmd::new(env!("CARGO_BIN_EXE_sockscope"))
        .args(["tls-cert", "--out", dir.to_str().unwrap()])
        .timeout(WAIT)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(std::fs::read(dir.join("key.pem")).unwrap(), before);
    for (args, says) in [
        (vec!["tcp-server", "127.0.0.1:0", "--tls"], "needs --cert"),
        (
            vec![
                "tcp-server",
                "127.0.0.1:0",
                "--cert",
                "/nonexistent/c.pem",
                "--key",
                "/nonexistent/k.pem",
            ],
            "/nonexistent/c.pem",
        ),
        (
            vec!["tcp-client", "127.0.0.1:9", "--pin", "AB:CD"],
            "not a SHA-256 fingerprint",
        ),
        (
            vec!["tcp-client", "127.0.0.1:9", "--gen-cert"],
            "for tcp-server",
        ),
        // Two ways to verify the server, or half a client identity: said, not guessed.
        (
            vec!["tcp-client", "127.0.0.1:9", "--ca", "ca.pem", "--insecure"],
            "cannot be used with",
        ),
        (
            vec!["tcp-client", "127.0.0.1:9", "--tls", "--cert", "c.pem"],
            "--key",
        ),
    ] {
        let out = Cmd::new(env!("CARGO_BIN_EXE_sockscope"))
            .args(&args)
            .timeout(WAIT)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(!stderr.contains("open on"), "nothing opened: {stderr}");
    }
}

/// Sequences speak TLS too: a client sequence pinning a SockScope TLS echo server passes, and a
/// TLS simulator (generated certificate) answers a client that does not verify.
#[test]
fn sequences_run_over_tls_as_client_and_as_simulator() {
    let server = start(&["tcp-server", "127.0.0.1:0", "--echo", "--gen-cert"]);
    let line = server.stderr_line("TLS certificate SHA-256");
    let pin = line.rsplit(' ').next().unwrap().to_string();
    let port = server.open_port();
    let dir = std::env::temp_dir().join(format!("sockscope-tls-seq-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let client = dir.join("client.toml");
    std::fs::write(
        &client,
        format!(
            "[connection]\nkind = \"tcp-client\"\nremote = \"127.0.0.1:{port}\"\ntls = true\n\
             tls_pin = \"{pin}\"\n[[step]]\nsend = \"ping\"\n[[step]]\nexpect = \"ping\"\n"
        ),
    )
    .unwrap();
    let out = Cmd::new(env!("CARGO_BIN_EXE_sockscope"))
        .args(["run", client.to_str().unwrap()])
        .timeout(WAIT)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    // A TLS option without tls = true is a mistake in the file, said before anything runs.
    std::fs::write(
        &client,
        "[connection]\nkind = \"tcp-client\"\nremote = \"127.0.0.1:9\"\ntls_insecure = true\n",
    )
    .unwrap();
    let out = Cmd::new(env!("CARGO_BIN_EXE_sockscope"))
        .args(["run", client.to_str().unwrap()])
        .timeout(WAIT)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("tls = true"));

    let sim = dir.join("sim.toml");
    std::fs::write(
        &sim,
        "[connection]\nkind = \"tcp-server\"\nbind = \"127.0.0.1:0\"\ntls = true\n\
         tls_generate = true\ntimeout_ms = 10000\n[[step]]\nexpect = \"hello\"\n\
         [[step]]\nsend = \"HELLO\"\n",
    )
    .unwrap();
    let simulator = start(&["run", sim.to_str().unwrap()]);
    let line = simulator.stderr_line("listening on");
    let port: u16 = line.rsplit(':').next().unwrap().parse().unwrap();
    let (code, stdout, stderr) = {
        let out = Cmd::new(env!("CARGO_BIN_EXE_sockscope"))
            .args([
                "tcp-client",
                &format!("127.0.0.1:{port}"),
                "--insecure",
                "--send",
                "hello",
                "--wait",
                "1000",
            ])
            .timeout(WAIT)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("HELLO"), "{stdout}");
    let (code, rest) = simulator.finish();
    assert_eq!(code, 0, "{rest:?}");
}

/// A relay that terminates TLS on both sides shows the plaintext both ways: a TLS client →
/// relay (generated certificate) → a TLS echo server (pinned).
#[test]
fn a_tls_relay_shows_the_plaintext_both_ways() {
    let echo = start(&["tcp-server", "127.0.0.1:0", "--echo", "--gen-cert"]);
    let line = echo.stderr_line("TLS certificate SHA-256");
    let pin = line.rsplit(' ').next().unwrap().to_string();
    let echo_port = echo.open_port();
    let relay = start(&[
        "relay",
        "127.0.0.1:0",
        &format!("127.0.0.1:{echo_port}"),
        "--tls",
        "--gen-cert",
        "--pin",
        &pin,
    ]);
    let port = relay.open_port();
    let (code, stdout, stderr) = client(port, &["--insecure"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("RX") && stdout.contains("hello tls"),
        "{stdout}"
    );
    // The relay logged the plaintext from the client and from the target, and both handshakes.
    relay.stderr_line(&format!("127.0.0.1:{echo_port} TLS: TLSv1.3"));
    let from_client = relay.stdout_line("hello tls");
    let from_target = relay.stdout_line("hello tls");
    assert_ne!(from_client, from_target);
    assert!(
        from_target.contains(&format!("127.0.0.1:{echo_port}")),
        "{from_target}"
    );
}

/// Peers that connect and never shake hands do not hold a TLS server hostage: with 20 silent
/// connections open, a real client still gets its echo at once.
#[test]
fn silent_peers_do_not_block_a_tls_server() {
    let server = start(&["tcp-server", "127.0.0.1:0", "--echo", "--gen-cert"]);
    let line = server.stderr_line("TLS certificate SHA-256");
    let pin = line.rsplit(' ').next().unwrap().to_string();
    let port = server.open_port();
    let silent: Vec<std::net::TcpStream> = (0..20)
        .map(|_| std::net::TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    let started = std::time::Instant::now();
    let (code, stdout, stderr) = client(port, &["--pin", &pin]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("RX") && stdout.contains("hello tls"),
        "{stdout}"
    );
    // Well before a silent peer's 10 s handshake limit.
    assert!(started.elapsed() < Duration::from_secs(8));
    drop(silent);
}
