//! The window driven as a user would, through egui_kittest: widgets found by their labels,
//! real sockets on loopback behind them.

use crate::common::device;
use egui_kittest::kittest::{NodeT, Queryable};
use egui_kittest::Harness;
use sockscope::engine::Engine;
use sockscope::ui::i18n::Lang;
use sockscope::ui::session_tab::TabState;
use sockscope::ui::{SavedState, SockScopeApp};
use std::io::Read;
use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub(crate) fn app(lang: Lang) -> Harness<'static, SockScopeApp> {
    crate::common::watchdog();
    let engine = Engine::spawn(Arc::new(|| {})).unwrap();
    let app = SockScopeApp::new(
        engine,
        SavedState {
            lang: Some(lang),
            ..SavedState::default()
        },
    );
    Harness::builder()
        .with_size(egui::vec2(1280.0, 820.0))
        .with_context_setup(sockscope::ui::fonts::install)
        .build_ui_state(|ui, app: &mut SockScopeApp| app.ui(ui), app)
}

/// Steps the UI until `done` holds (events from the engine arrive between steps).
pub(crate) fn step_until(
    harness: &mut Harness<'static, SockScopeApp>,
    what: &str,
    done: impl Fn(&Harness<'static, SockScopeApp>) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        harness.step();
        if done(harness) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("timed out waiting for {what}");
}

/// Unfolds the tab's Tools section (save, keep, capture, record, probe, send file), which a
/// new tab shows folded; `label` is its title in the window's language.
fn open_tools(harness: &mut Harness<'static, SockScopeApp>, label: &str) {
    harness.get_by_label(label).click();
    harness.run_steps(2);
}

/// Replaces the text of the field labelled `label`.
pub(crate) fn type_into(harness: &mut Harness<'static, SockScopeApp>, label: &str, text: &str) {
    harness.get_by_label(label).click();
    harness.run_steps(1);
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.run_steps(1);
    harness.get_by_label(label).type_text(text);
    harness.run_steps(2);
}

/// Sets the front tab to 127.0.0.1 and port 0 through its fields (labels in the window's
/// language).
fn bind_to_loopback(harness: &mut Harness<'static, SockScopeApp>, address: &str, port: &str) {
    harness
        .get_by_role_and_label(egui::accesskit::Role::TextInput, address)
        .click();
    harness.run_steps(1);
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness
        .get_by_role_and_label(egui::accesskit::Role::TextInput, address)
        .type_text("127.0.0.1");
    harness.run_steps(2);
    type_into(harness, port, "0");
}

/// An English window with a TCP server tab listening on loopback, and its address.
fn listening_server() -> (Harness<'static, SockScopeApp>, SocketAddr) {
    let mut harness = app(Lang::En);
    harness.get_by_label("+ TCP server").click();
    harness.run_steps(2);
    bind_to_loopback(&mut harness, "Local address", "Local port");
    harness.get_by_label("Listen").click();
    step_until(&mut harness, "listening", |h| listening_addr(h).is_some());
    let local = listening_addr(&harness).unwrap();
    (harness, local)
}

fn listening_addr(harness: &Harness<'static, SockScopeApp>) -> Option<SocketAddr> {
    match harness.state().tabs.first()?.state {
        TabState::Open { local, .. } => Some(local),
        _ => None,
    }
}

#[test]
fn tcp_server_tab_shows_what_a_client_sends() {
    let (mut harness, local) = listening_server();
    assert!(harness
        .query_by_label_contains("Listening 127.0.0.1:")
        .is_some());

    let mut client = TcpStream::connect(local).unwrap();
    client.write_all(b"hello from a client").unwrap();
    step_until(&mut harness, "the data in the log", |h| {
        h.query_by_label_contains("hello from a client").is_some()
    });
    let row = format!(
        "RX  {}  (19 B)  hello from a client",
        client.local_addr().unwrap()
    );
    assert!(
        harness.query_by_label_contains(&row).is_some(),
        "a row reading {row:?}"
    );
    assert!(harness.query_by_label_contains("Clients (1)").is_some());
}

#[test]
fn hex_typed_in_the_send_box_reaches_the_peer_exactly() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let peer = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut got = [0u8; 7];
        s.read_exact(&mut got).unwrap();
        got
    });
    let mut harness = app(Lang::En);
    harness.get_by_label("+ TCP client").click();
    harness.run_steps(2);
    type_into(&mut harness, "Remote host", "127.0.0.1");
    type_into(&mut harness, "Remote port", &port.to_string());
    harness.get_by_label("Connect").click();
    step_until(&mut harness, "connected", |h| {
        h.query_by_label_contains("Connected 127.0.0.1").is_some()
    });
    harness.get_by_label("Hex").click();
    harness.run_steps(1);
    harness.get_by_label("Data to send").click();
    harness.run_steps(1);
    harness
        .get_by_label("Data to send")
        .type_text("48 65 6c 6C 6f 0D 0A");
    harness.run_steps(2);
    assert!(harness.query_by_label("7 bytes to send").is_some());
    harness.get_by_label("Send").click();
    step_until(&mut harness, "sent", |h| {
        h.query_by_label_contains("TX").is_some()
    });
    assert_eq!(&peer.join().unwrap(), b"Hello\r\n");
}

#[test]
fn a_bad_hex_digit_is_explained_and_send_stays_disabled() {
    let mut harness = app(Lang::En);
    harness.get_by_label("+ UDP").click();
    harness.run_steps(2);
    harness.get_by_label("Hex").click();
    harness.run_steps(1);
    harness.get_by_label("Data to send").click();
    harness.run_steps(1);
    harness.get_by_label("Data to send").type_text("41 4G");
    harness.run_steps(2);
    assert!(harness
        .query_by_label("'G' at position 5 is not a hex digit")
        .is_some());
    let send = harness.get_by_label("Send");
    assert!(send.accesskit_node().is_disabled());
}

#[test]
fn language_switches_at_run_time() {
    let mut harness = app(Lang::En);
    assert!(harness.query_by_label("+ TCP server").is_some());
    harness.get_by_label("Language").click();
    harness.run_steps(2);
    harness.get_by_label("中文").click();
    harness.run_steps(2);
    assert!(harness.query_by_label("+ TCP 服务器").is_some());
    harness.get_by_label("+ TCP 服务器").click();
    harness.run_steps(2);
    assert!(harness.query_by_label("开始监听").is_some());
    assert!(harness.query_by_label("本地端口").is_some());
    assert_eq!(harness.state().lang, Lang::Zh);
}

#[test]
fn an_invalid_port_is_marked_and_listen_is_disabled() {
    let mut harness = app(Lang::En);
    harness.get_by_label("+ TCP server").click();
    harness.run_steps(2);
    type_into(&mut harness, "Local port", "70000");
    assert!(harness
        .query_by_label("Port must be a number from 0 to 65535")
        .is_some());
    assert!(harness
        .get_by_label("Listen")
        .accesskit_node()
        .is_disabled());
    type_into(&mut harness, "Local port", "0");
    assert!(harness
        .query_by_label("Port must be a number from 0 to 65535")
        .is_none());
    assert!(!harness
        .get_by_label("Listen")
        .accesskit_node()
        .is_disabled());
}

#[test]
fn port_in_use_is_shown_in_chinese() {
    let taken = TcpListener::bind("0.0.0.0:0").unwrap();
    let mut harness = app(Lang::Zh);
    harness.get_by_label("+ TCP 服务器").click();
    harness.run_steps(2);
    type_into(
        &mut harness,
        "本地端口",
        &taken.local_addr().unwrap().port().to_string(),
    );
    harness.get_by_label("开始监听").click();
    let port = taken.local_addr().unwrap().port();
    let said = format!("0.0.0.0:{port} 已被其他程序占用:请关闭那个程序或换一个端口。");
    step_until(&mut harness, "the error", |h| {
        h.query_all_by_label_contains(&said).next().is_some()
    });
    assert!(harness.query_by_label("已关闭").is_some());
}

/// A refused connection is said in plain words with what to check; the system's own words
/// (os error 111) are not in the row, only one click (or hover) away.
#[test]
fn a_refused_connection_says_what_to_check() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut harness = app(Lang::En);
    harness.get_by_label("+ TCP client").click();
    harness.run_steps(2);
    type_into(&mut harness, "Remote host", "127.0.0.1");
    type_into(&mut harness, "Remote port", &port.to_string());
    harness.get_by_label("Connect").click();
    let said = format!(
        "Nothing is listening at 127.0.0.1:{port}: is the server running, is the port right?"
    );
    step_until(&mut harness, "the refusal", |h| {
        h.query_all_by_label_contains(&said).next().is_some()
    });
    let texts = shown_texts(&harness);
    assert!(
        !texts.iter().any(|t| t.contains("os error")),
        "system words in plain sight: {texts:?}"
    );
}

#[test]
fn tabs_language_and_history_survive_a_restart() {
    let mut harness = app(Lang::Zh);
    harness.get_by_label("+ UDP").click();
    harness.run_steps(2);
    type_into(&mut harness, "本地端口", "0");
    harness.get_by_label("打开").click();
    step_until(&mut harness, "open", |h| listening_addr(h).is_some());
    let peer = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    type_into(
        &mut harness,
        "目标地址",
        &peer.local_addr().unwrap().to_string(),
    );
    harness.get_by_label("发送内容").click();
    harness.run_steps(1);
    harness.get_by_label("发送内容").type_text("ping");
    harness.run_steps(1);
    // Enter sends.
    harness.key_press(egui::Key::Enter);
    harness.run_steps(2);
    let mut buf = [0u8; 16];
    peer.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let (n, _) = peer.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"ping");

    // What eframe stores is JSON-serialisable state; a new window built from it matches.
    let saved = serde_json::to_string(&harness.state().saved_state()).unwrap();
    let restored: SavedState = serde_json::from_str(&saved).unwrap();
    let engine = Engine::spawn(Arc::new(|| {})).unwrap();
    let app = SockScopeApp::new(engine, restored);
    assert_eq!(app.lang, Lang::Zh);
    assert_eq!(app.tabs.len(), 1);
    let settings = &app.tabs[0].settings;
    assert_eq!(settings.udp_dest, peer.local_addr().unwrap().to_string());
    assert_eq!(
        settings.history.last().map(|h| h.input.as_str()),
        Some("ping")
    );
}

#[test]
fn addresses_window_classifies_and_fills_the_local_address() {
    let mut harness = app(Lang::Zh);
    harness.get_by_label("+ TCP 服务器").click();
    harness.run_steps(2);
    harness.get_by_label("地址工具").click();
    harness.run_steps(2);
    type_into(
        &mut harness,
        "地址(地址、地址/前缀 或 地址 掩码)",
        "172.20.5.9 255.255.240.0",
    );
    assert!(
        harness.query_by_label("172.20.0.0").is_some(),
        "the network is shown"
    );
    assert!(harness
        .query_all_by_label_contains("私有地址")
        .next()
        .is_some());
    assert!(
        harness.query_by_label_contains("172.20.15.255").is_some(),
        "the broadcast is shown"
    );
    type_into(&mut harness, "另一个地址", "172.20.16.1");
    assert!(harness
        .query_by_label_contains("两者通信需要经过路由器")
        .is_some());
    type_into(
        &mut harness,
        "地址(地址、地址/前缀 或 地址 掩码)",
        "1.2.3.4/255.0.255.0",
    );
    assert!(harness
        .query_by_label_contains("不是有效的子网掩码")
        .is_some());
    // "Use" on the loopback interface puts 127.0.0.1 in the server tab.
    let interfaces = sockscope::addr::interfaces::list();
    assert_eq!(
        harness.query_all_by_label("使用").count(),
        interfaces.len(),
        "every interface address has a Use button"
    );
    let lo_index = interfaces
        .iter()
        .position(|i| i.address.to_string() == "127.0.0.1")
        .expect("loopback interface");
    harness
        .query_all_by_label("使用")
        .nth(lo_index)
        .unwrap()
        .click();
    harness.run_steps(2);
    assert_eq!(harness.state().tabs[0].settings.local_addr, "127.0.0.1");
}

#[test]
fn files_window_sends_and_receives_a_verified_file() {
    let dir = std::env::temp_dir().join(format!("sockscope-gui-files-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("in")).unwrap();
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(dir.join("fw.bin"), &data).unwrap();

    let mut harness = app(Lang::En);
    harness.get_by_label("Files").click();
    harness.run_steps(2);
    type_into(&mut harness, "Listen on (PORT or ADDR:PORT)", "127.0.0.1:0");
    type_into(
        &mut harness,
        "Save into folder",
        dir.join("in").to_str().unwrap(),
    );
    harness.get_by_label("Start").click();
    step_until(&mut harness, "listening", |h| {
        matches!(
            h.state().files.jobs.first().map(|j| &j.state),
            Some(sockscope::ui::file_panel::JobState::Running { listening: Some(_) })
        )
    });
    let sockscope::ui::file_panel::JobState::Running {
        listening: Some(at),
    } = harness.state().files.jobs[0].state.clone()
    else {
        unreachable!()
    };

    type_into(&mut harness, "File", dir.join("fw.bin").to_str().unwrap());
    type_into(&mut harness, "To (HOST:PORT)", &at);
    harness.get_by_label("Send file").click();
    step_until(&mut harness, "sent and received", |h| {
        let jobs = &h.state().files.jobs;
        jobs.len() == 2
            && matches!(jobs[1].state, sockscope::ui::file_panel::JobState::Done(_))
            && jobs[0].finished.len() == 1
    });
    assert!(harness.query_all_by_label_contains("File done:").count() >= 2);
    assert!(std::fs::read(dir.join("in").join("fw.bin")).unwrap() == data);
    // The receiver goes on listening until stopped.
    harness.get_by_label("Cancel").scroll_to_me();
    harness.run_steps(3);
    harness.get_by_label("Cancel").click();
    step_until(&mut harness, "receiver stopped", |h| {
        matches!(
            h.state().files.jobs[0].state,
            sockscope::ui::file_panel::JobState::Failed(_)
        )
    });
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn first_run_hint_and_about_box() {
    let mut harness = app(Lang::Zh);
    assert!(
        harness.query_by_label("欢迎使用 SockScope").is_some(),
        "first run shows the hint"
    );
    harness.get_by_label("知道了").click();
    harness.run_steps(2);
    assert!(harness.query_by_label("欢迎使用 SockScope").is_none());
    assert!(
        harness.state().saved_state().hint_dismissed,
        "and it stays dismissed"
    );
    harness.get_by_label("关于").click();
    harness.run_steps(2);
    assert!(harness
        .query_by_label(&format!("sockscope {}", env!("CARGO_PKG_VERSION")))
        .is_some());
    assert!(harness
        .query_by_label_contains("SIL 开放字体许可证")
        .is_some());
}

#[test]
fn a_quick_command_is_created_and_sent_with_f1() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let peer = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut got = [0u8; 7];
        s.read_exact(&mut got).unwrap();
        got
    });
    let mut harness = app(Lang::En);
    harness.get_by_label("Got it").click();
    harness.get_by_label("+ TCP client").click();
    harness.run_steps(2);
    type_into(&mut harness, "Remote port", &port.to_string());
    harness.get_by_label("Connect").click();
    step_until(&mut harness, "connected", |h| {
        h.query_by_label_contains("Connected 127.0.0.1").is_some()
    });
    harness.get_by_label("Data to send").click();
    harness.run_steps(1);
    harness.get_by_label("Data to send").type_text("status?");
    harness.run_steps(1);
    type_into(&mut harness, "Name", "ask");
    harness.get_by_label("Add").click();
    harness.run_steps(2);
    assert_eq!(harness.state().tabs[0].settings.quick.len(), 1);
    // Clear the send box, then F1 sends the saved command.
    harness.get_by_label("Data to send").click();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.key_press(egui::Key::Backspace);
    harness.run_steps(1);
    harness.key_press(egui::Key::F1);
    step_until(&mut harness, "sent", |h| {
        h.query_by_label_contains("(7 B)  status?").is_some()
    });
    assert_eq!(&peer.join().unwrap(), b"status?");
    assert!(harness.query_by_label("F1 ask").is_some());
}

#[test]
fn a_relay_tab_forwards_a_client_to_its_target_and_logs_both() {
    let target = TcpListener::bind("127.0.0.1:0").unwrap();
    let target_addr = target.local_addr().unwrap();
    std::thread::spawn(move || {
        let (mut s, _) = target.accept().unwrap();
        let mut buf = [0u8; 5];
        s.read_exact(&mut buf).unwrap();
        s.write_all(b"world").unwrap();
    });
    let mut harness = app(Lang::En);
    harness.get_by_label("+ Relay").click();
    harness.run_steps(2);
    type_into(&mut harness, "Local port", "0");
    type_into(&mut harness, "Target (HOST:PORT)", &target_addr.to_string());
    harness.get_by_label("Start relay").click();
    step_until(&mut harness, "relaying", |h| listening_addr(h).is_some());
    let local = listening_addr(&harness).unwrap();
    let mut client = TcpStream::connect(("127.0.0.1", local.port())).unwrap();
    client.write_all(b"hello").unwrap();
    let mut got = [0u8; 5];
    client.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"world");
    step_until(&mut harness, "both directions logged", |h| {
        h.query_by_label_contains(&format!("{target_addr}  (5 B)  world"))
            .is_some()
            && h.query_by_label_contains("(5 B)  hello").is_some()
    });
    assert!(
        harness.query_by_label("Data to send").is_none(),
        "a relay has no send box"
    );
}

/// A device that answers each read with `f(data)`; serves `clients` connections.
#[test]
fn a_five_step_sequence_built_in_the_window_passes_and_its_file_passes_and_fails_headless() {
    let port = device(2, |d| d.to_ascii_uppercase());
    let mut harness = app(Lang::En);
    harness.get_by_label("Got it").click();
    harness.get_by_label("Sequences").click();
    harness.run_steps(2);
    type_into(&mut harness, "To (HOST:PORT)", &format!("127.0.0.1:{port}"));
    for button in ["+ Send", "+ Expect", "+ Wait", "+ Send", "+ Expect"] {
        harness.get_by_label(button).click();
        // One frame takes the click, the next lays out the new row.
        harness.run_steps(2);
    }
    type_into(&mut harness, "Step 1 send", "hello");
    type_into(&mut harness, "Step 2 expect", "HELLO");
    type_into(&mut harness, "Step 4 send", "again");
    type_into(&mut harness, "Step 5 expect", "AGAIN");
    harness.get_by_label("Run").click();
    step_until(&mut harness, "the run", |h| {
        h.state().sequences.report.is_some()
    });
    assert!(harness.query_by_label("5 passed · 0 failed").is_some());
    assert!(harness
        .query_by_label_contains("PASS  5. expect AGAIN")
        .is_some());

    let dir = std::env::temp_dir().join(format!("sockscope-gui-seq-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("five.toml");
    type_into(&mut harness, "Sequence file", file.to_str().unwrap());
    harness.get_by_label("Save").click();
    // Written off the window's thread: the window says when.
    step_until(&mut harness, "the sequence written", |h| {
        h.query_by_label_contains("Exported to").is_some()
    });
    let run = |file: &std::path::Path| {
        assert_cmd::Command::new(env!("CARGO_BIN_EXE_sockscope"))
            .arg("run")
            .arg(file)
            .timeout(Duration::from_secs(20))
            .output()
            .unwrap()
    };
    let out = run(&file);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // The same steps against a device that answers in lower case fail.
    let wrong = device(1, |d| d.to_ascii_lowercase());
    let text = std::fs::read_to_string(&file)
        .unwrap()
        .replace(&format!("127.0.0.1:{port}"), &format!("127.0.0.1:{wrong}"));
    let file2 = dir.join("five-wrong.toml");
    std::fs::write(&file2, text).unwrap();
    let out = run(&file2);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("3 passed, 2 failed"));
}

/// A UDP tab that echoes, against a device that echoes too: the window says the automatic
/// replies were paused (in Chinese) and how many it held back, instead of bouncing forever.
#[test]
fn an_echo_loop_is_paused_and_the_tab_says_so_in_chinese() {
    let mut harness = app(Lang::Zh);
    harness.get_by_label("+ UDP").click();
    harness.run_steps(2);
    bind_to_loopback(&mut harness, "本地地址", "本地端口");
    harness.get_by_label("回显").click();
    harness.run_steps(1);
    harness.get_by_label("打开").click();
    step_until(&mut harness, "open", |h| listening_addr(h).is_some());
    let local = listening_addr(&harness).unwrap();
    // The device echoes everything for a few seconds, then stops by itself.
    let device = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    device
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    device.send_to(b"ping", local).unwrap();
    let echoer = std::thread::spawn(move || {
        let mut buf = [0u8; 64];
        let mut echoed = 0u32;
        let until = Instant::now() + Duration::from_secs(4);
        while Instant::now() < until {
            if let Ok((n, from)) = device.recv_from(&mut buf) {
                let _ = device.send_to(&buf[..n], from);
                echoed += 1;
            }
        }
        echoed
    });
    step_until(&mut harness, "the pause in the log", |h| {
        h.query_all_by_label_contains("自动回复已暂停:每秒回复次数超过上限")
            .next()
            .is_some()
    });
    step_until(&mut harness, "the count held back", |h| {
        h.query_all_by_label_contains("因超过上限未发送的自动回复:")
            .next()
            .is_some()
    });
    let echoed = echoer.join().unwrap();
    assert!(echoed <= 101, "the device echoed {echoed} times");
}

/// Every label and shown value of the window, as the accessibility tree has them.
pub(crate) fn shown_texts(harness: &Harness<'static, SockScopeApp>) -> Vec<String> {
    harness
        .query_all_by(|_| true)
        .filter(|n| n.accesskit_node().role() != egui::accesskit::Role::TextInput)
        .flat_map(|n| {
            let node = n.accesskit_node();
            [node.label(), node.value()]
        })
        .flatten()
        .filter(|t| !t.trim().is_empty())
        .collect()
}

/// Words of English in a text meant to be Chinese: runs of 3+ ASCII letters that are not one of
/// the technical names both languages use as they are.
fn english_words(text: &str) -> Vec<String> {
    // egui's own names for screen readers (window frame and panel handles), not drawn text.
    if text == "Hide" || text == "Close window" || text.starts_with("Resize ") {
        return Vec::new();
    }
    const SHARED: &[&str] = &[
        "Linux",
        "Windows",
        "macOS",
        "TEST",
        "NET",
        "xHH",
        "TCP",
        "UDP",
        // Protocol names, as Chinese tools write them too.
        "WebSocket",
        "Origin",
        "TLS",
        "SNI",
        "ALPN",
        "PEM",
        "pcapng",
        "SHA",
        "SockScope",
        "UTF",
        "GBK",
        "GB18030",
        "Big5",
        "Shift_JIS",
        "EUC",
        "KR",
        "CRC",
        "MODBUS",
        "CCITT",
        "FALSE",
        "XMODEM",
        "SUM",
        "XOR",
        "MiB",
        "KiB",
        "GiB",
        "IPv4",
        "IPv6",
        "IANA",
        "RFC",
        "TOML",
        "CSV",
        "HTML",
        "SHA",
        "hex",
        "ASCII",
        "NAT64",
        "CGNAT",
        "DNS",
        "LAN",
        "MAC",
        "windows",
        "JIS",
        "CR",
        "LF",
        "CRLF",
        "Noto",
        "Sans",
        "OFL",
        "SIL",
        "Apache",
        "MIT",
        "ms",
        "dmg",
        "deb",
        "Teredo",
        "localhost",
        // A protocol file's type names, as the user types them.
        "bytes",
        "string",
        // A serial port's name on Linux (/dev/ttyUSB0).
        "dev",
    ];
    // File names the program writes or reads (cert.pem, rules.toml) are names, not English.
    let files = regex::Regex::new(r"[A-Za-z_]+\.(pem|toml|csv|html|xml|bin|txt|pcapng)\b")
        .expect("a valid pattern");
    let text = files.replace_all(text, "");
    // Words with digits are names (eth0, GB18030, NAT64), not English.
    text.split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .filter(|w| w.len() >= 3 && w.chars().all(|c| c.is_ascii_alphabetic() || c == '_'))
        .filter(|w| !SHARED.iter().any(|s| s.eq_ignore_ascii_case(w)))
        .map(str::to_string)
        .collect()
}

#[test]
fn every_screen_is_chinese_in_the_chinese_window() {
    let mut harness = app(Lang::Zh);
    let mut found: Vec<(String, String)> = Vec::new();
    // The user's own data (a file's path) is not the window's words.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("坏.toml");
    let users = dir.path().display().to_string();
    let mut look = |harness: &Harness<'static, SockScopeApp>, screen: &str| {
        for text in shown_texts(harness) {
            if !english_words(&text.replace(&users, "")).is_empty() {
                found.push((screen.to_string(), text));
            }
        }
    };
    look(&harness, "start");
    for tab in ["+ TCP 客户端", "+ TCP 服务器", "+ UDP", "+ 转发", "+ 串口"] {
        harness.get_by_label(tab).click();
        harness.run_steps(3);
        look(&harness, tab);
        // Each tab's folded tools, unfolded.
        harness.get_by_label("工具").click();
        harness.run_steps(3);
        look(&harness, &format!("{tab} 工具"));
    }
    // What goes wrong, said in Chinese too: a refused port, a file that is not what it should be.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let client_tab = harness.state().tabs[0].id;
    harness.state_mut().active = Some(client_tab);
    harness.run_steps(2);
    type_into(&mut harness, "远程端口", &closed.port().to_string());
    harness.get_by_label("连接").click();
    step_until(&mut harness, "the refusal", |h| {
        matches!(h.state().tabs[0].state, TabState::Closed(Some(_)))
    });
    harness.run_steps(2);
    look(&harness, "refused");
    // The tools folded again, so the quick commands are in view.
    harness.get_by_label("工具").click();
    harness.run_steps(2);
    std::fs::write(&bad, "not = [a quick commands file").unwrap();
    type_into(&mut harness, "快捷指令文件", bad.to_str().unwrap());
    harness.get_by_label("导入").click();
    step_until(&mut harness, "the bad file's note", |h| {
        h.query_by_label_contains("坏.toml:").is_some()
    });
    look(&harness, "bad quick commands file");
    // TLS: a handshake with a server that does not speak it, and a server's generated
    // certificate.
    let plain = device(1, |d| d.to_vec());
    type_into(&mut harness, "远程端口", &plain.to_string());
    harness.get_by_label("TLS").click();
    harness.run_steps(2);
    look(&harness, "TLS client");
    harness.get_by_label("连接").click();
    step_until(&mut harness, "the failed handshake", |h| {
        matches!(h.state().tabs[0].state, TabState::Closed(Some(_)))
    });
    harness.run_steps(2);
    look(&harness, "TLS handshake failed");
    let server_tab = harness.state().tabs[1].id;
    harness.state_mut().active = Some(server_tab);
    harness.run_steps(2);
    harness.get_by_label("TLS").click();
    harness.run_steps(2);
    harness.get_by_label("生成证书").click();
    step_until(&mut harness, "the generated certificate", |h| {
        h.state().tabs[1].tls.generated.is_some()
    });
    harness.run_steps(2);
    look(&harness, "TLS server, generated certificate");
    // Decoding: a protocol file that cannot be used, and the Values panel.
    harness.state_mut().active = Some(client_tab);
    harness.run_steps(2);
    harness.get_by_label("TLS").click();
    harness.run_steps(2);
    harness.get_by_label("解码").click();
    harness.run_steps(2);
    harness.get_by_label("协议文件…").click();
    harness.run_steps(2);
    let protocol = dir.path().join("坏协议.toml");
    std::fs::write(
        &protocol,
        "name = \"x\"\n[[field]]\nname = \"a\"\ntype = \"u24\"\n",
    )
    .unwrap();
    harness
        .get_by_role_and_label(egui::accesskit::Role::TextInput, "协议文件")
        .click();
    harness.run_steps(1);
    harness
        .get_by_role_and_label(egui::accesskit::Role::TextInput, "协议文件")
        .type_text(protocol.to_str().unwrap());
    harness.run_steps(2);
    harness.get_by_label("加载").click();
    step_until(&mut harness, "the bad protocol file's note", |h| {
        h.query_by_label_contains("坏协议.toml:").is_some()
    });
    harness.run_steps(2);
    look(&harness, "bad protocol file, Values panel");
    for window in ["地址工具", "文件传输", "测试序列", "链路测量", "关于"] {
        harness.get_by_label(window).click();
        harness.run_steps(3);
        look(&harness, window);
    }
    found.sort();
    found.dedup();
    for (screen, text) in &found {
        eprintln!("{screen}: {text:?}");
    }
    assert!(
        found.is_empty(),
        "{} English texts in the Chinese window",
        found.len()
    );
}

/// The prompt of "Save log…" belongs to its tab, not to a position: a tab closed before the
/// prompt is answered does not make it save another tab's log (or nothing, silently).
#[test]
fn a_save_prompt_saves_its_own_tab_after_another_tab_closes() {
    let mut harness = app(Lang::En);
    let mut ports = Vec::new();
    for _ in 0..2 {
        harness.get_by_label("+ UDP").click();
        harness.run_steps(2);
        bind_to_loopback(&mut harness, "Local address", "Local port");
        harness.get_by_label("Open").click();
        let n = harness.state().tabs.len() - 1;
        step_until(&mut harness, "open", |h| {
            matches!(h.state().tabs[n].state, TabState::Open { .. })
        });
        if let TabState::Open { local, .. } = harness.state().tabs[n].state {
            ports.push(local.port());
        }
    }
    // The second tab is in front: ask to save its log, then close the first tab.
    harness.get_by_label("Save log…").click();
    harness.run_steps(2);
    harness.get_all_by_label("×").next().unwrap().click();
    harness.run_steps(2);
    assert_eq!(harness.state().tabs.len(), 1);
    let dir = std::env::temp_dir().join(format!("sockscope-gui-prompt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("second.txt");
    let _ = std::fs::remove_file(&path);
    harness
        .get_by(|n| {
            n.role() == egui::accesskit::Role::TextInput
                && n.value().is_some_and(|v| v.ends_with("sockscope-log.txt"))
        })
        .click();
    harness.run_steps(1);
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness
        .get_by(|n| {
            n.role() == egui::accesskit::Role::TextInput
                && n.value().is_some_and(|v| v.ends_with("sockscope-log.txt"))
        })
        .type_text(path.to_str().unwrap());
    harness.run_steps(2);
    harness.get_by_label("OK").click();
    step_until(&mut harness, "the saved log", |h| {
        h.query_by_label_contains("Log saved to").is_some()
    });
    let saved = std::fs::read_to_string(&path).unwrap();
    assert!(saved.contains(&format!(":{}", ports[1])), "{saved}");
    assert!(!saved.contains(&format!(":{}", ports[0])), "{saved}");
}

/// Closing a tab before the one in front keeps the same session in front (by its id; an index
/// would now point at its neighbour).
#[test]
fn closing_another_tab_keeps_the_same_tab_in_front() {
    use sockscope::ui::session_tab::SessionKind;
    let mut harness = app(Lang::En);
    for new in ["+ TCP client", "+ TCP server", "+ UDP"] {
        harness.get_by_label(new).click();
        harness.run_steps(2);
    }
    harness.get_by_label_contains("TCP server :").click();
    harness.run_steps(2);
    let front_kind = |h: &Harness<'static, SockScopeApp>| {
        let app = h.state();
        app.tabs
            .iter()
            .find(|tab| Some(tab.id) == app.active)
            .map(|tab| tab.settings.kind)
    };
    assert_eq!(front_kind(&harness), Some(SessionKind::TcpServer));
    harness.get_all_by_label("×").next().unwrap().click();
    harness.run_steps(2);
    assert_eq!(harness.state().tabs.len(), 2);
    assert_eq!(front_kind(&harness), Some(SessionKind::TcpServer));
    // Closing the tab in front brings its neighbour forward.
    harness.get_all_by_label("×").next().unwrap().click();
    harness.run_steps(2);
    assert_eq!(front_kind(&harness), Some(SessionKind::Udp));
}

/// Replaces the text of the path field of the open save prompt (found by its default name).
fn type_save_path(harness: &mut Harness<'static, SockScopeApp>, default_name: &str, path: &str) {
    let field = |n: &egui_kittest::kittest::AccessKitNode<'_>| {
        n.role() == egui::accesskit::Role::TextInput
            && n.value().is_some_and(|v| v.ends_with(default_name))
    };
    harness.get_by(field).click();
    harness.run_steps(1);
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.get_by(field).type_text(path);
    harness.run_steps(2);
}

/// Received first, saved later: the file holds what came before the click, with the exact
/// count in the log; saving to the same file again asks, and appends when told to.
#[test]
fn saved_received_data_holds_what_came_before_the_click_and_never_overwrites_silently() {
    let (mut harness, local) = listening_server();
    let sent: Vec<u8> = (0..1087u32).map(|i| (i % 256) as u8).collect();
    {
        let mut client = TcpStream::connect(local).unwrap();
        client.write_all(&sent).unwrap();
    }
    step_until(&mut harness, "all counted", |h| {
        h.state().tabs[0].stats.total.rx_bytes == 1087
    });
    // The rounded figure shows the exact one when pointed at; the toggle shows it always.
    harness.get_all_by_label("1.1 KiB").next().unwrap().hover();
    // Past the tooltip delay.
    for _ in 0..60 {
        harness.step();
        if harness.query_by_label("1,087 bytes").is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        harness.query_by_label("1,087 bytes").is_some(),
        "exact on hover"
    );
    harness.get_by_label("Exact figures").click();
    harness.run_steps(2);
    assert!(harness.query_all_by_label("1,087 bytes").next().is_some());
    assert!(harness.query_by_label("1.1 KiB").is_none());
    let dir = tempfile::tempdir().unwrap();
    open_tools(&mut harness, "Tools");
    let path = dir.path().join("received.bin");
    harness.get_by_label("Save received data…").click();
    harness.run_steps(2);
    type_save_path(
        &mut harness,
        "sockscope-received.bin",
        path.to_str().unwrap(),
    );
    harness.get_by_label("OK").click();
    step_until(&mut harness, "the saved count", |h| {
        h.query_by_label_contains("Saved 1,087 bytes").is_some()
    });
    assert_eq!(std::fs::read(&path).unwrap(), sent);
    // Again to the same file: a question, nothing written until answered.
    harness.get_by_label("Save received data…").click();
    harness.run_steps(2);
    type_save_path(
        &mut harness,
        "sockscope-received.bin",
        path.to_str().unwrap(),
    );
    harness.get_by_label("OK").click();
    step_until(&mut harness, "the question", |h| {
        h.query_by_label_contains("This file already exists.")
            .is_some()
    });
    assert_eq!(std::fs::read(&path).unwrap().len(), 1087);
    // A new window is laid out first, then clickable.
    harness.run_steps(2);
    harness.get_by_label("Add to its end").click();
    step_until(&mut harness, "appended", |h| {
        std::fs::metadata(&path).is_ok_and(|m| m.len() == 2174)
            && h.state().tabs[0].saving.is_none()
    });
    assert_eq!(std::fs::read(&path).unwrap()[1087..], sent[..]);
}

/// The split always agrees with the network shown: 4 subnets of a /24 are /26s, and of a /16
/// typed afterwards /18s; no list is left over from the earlier address.
#[test]
fn the_subnet_split_follows_a_changed_address() {
    let mut harness = app(Lang::En);
    harness.get_by_label("Addresses").click();
    harness.run_steps(2);
    let field = "Address (ADDR, ADDR/PREFIX or ADDR MASK)";
    type_into(&mut harness, field, "192.168.1.10/24");
    assert!(harness.query_by_label("= 4 × /26").is_some());
    assert!(harness
        .query_by_label_contains("192.168.1.192/26")
        .is_some());
    type_into(&mut harness, field, "10.0.0.1/16");
    assert!(harness.query_by_label("= 4 × /18").is_some());
    assert!(harness.query_by_label_contains("10.0.192.0/18").is_some());
    assert!(harness
        .query_by_label_contains("192.168.1.192/26")
        .is_none());
}

/// Nothing moves under the mouse when the first client connects and data flows: the log's
/// buttons and the side panel's stay where they were (a click meant for "Save log…" once
/// landed on "Clear").
#[test]
fn buttons_stay_put_when_a_client_connects_and_data_flows() {
    let (mut harness, local) = listening_server();
    open_tools(&mut harness, "Tools");
    let watched = [
        "Clear",
        "Save log…",
        "Save CSV…",
        "Save received data…",
        "Reset counters",
        "Send",
    ];
    let rects = |h: &Harness<'static, SockScopeApp>| -> Vec<egui::Rect> {
        watched.iter().map(|l| h.get_by_label(l).rect()).collect()
    };
    let before = rects(&harness);
    let mut client = TcpStream::connect(local).unwrap();
    client
        .write_all(&vec![b'x'; 3 << 20])
        .expect("the server reads");
    step_until(&mut harness, "counted", |h| {
        h.state().tabs[0].stats.total.rx_bytes == 3 << 20 && h.state().tabs[0].clients.len() == 1
    });
    harness.run_steps(3);
    assert_eq!(rects(&harness), before, "{watched:?}");
}

/// With line framing set in the window, the log shows one row per line, whatever the reads
/// were: two lines in one write are two rows, a line in two writes is one.
#[test]
fn a_framer_set_in_the_window_gives_one_row_per_frame() {
    let mut harness = app(Lang::En);
    harness.get_by_label("+ TCP server").click();
    harness.run_steps(2);
    bind_to_loopback(&mut harness, "Local address", "Local port");
    type_into(&mut harness, "Framing", "line");
    harness.get_by_label("Listen").click();
    step_until(&mut harness, "listening", |h| listening_addr(h).is_some());
    let local = listening_addr(&harness).unwrap();
    let mut client = TcpStream::connect(local).unwrap();
    client.set_nodelay(true).unwrap();
    client.write_all(b"one\r\ntwo\r\nthr").unwrap();
    std::thread::sleep(Duration::from_millis(50));
    client.write_all(b"ee\r\n").unwrap();
    step_until(&mut harness, "three frames", |h| {
        h.state().tabs[0].stats.total.rx_bytes == 17 && h.query_by_label_contains("three").is_some()
    });
    let mut rows: Vec<String> = shown_texts(&harness)
        .into_iter()
        .filter(|t| t.contains("  RX  "))
        .collect();
    rows.dedup();
    assert_eq!(rows.len(), 3, "{rows:#?}");
    assert!(rows[0].ends_with("(5 B)  one\\r\\n"), "{rows:#?}");
    // Two frames out of one read arrived at the same moment.
    assert!(
        rows[1].ends_with("(5 B, Δt 0.000 ms)  two\\r\\n"),
        "{rows:#?}"
    );
    assert!(
        rows[2].contains("(7 B, Δt ") && rows[2].ends_with("three\\r\\n"),
        "{rows:#?}"
    );
}

/// Record in a tab, stop, and the Sequences window holds a sequence that passes against the
/// same device.
#[test]
fn a_recording_made_in_a_tab_runs_and_passes_in_sequences() {
    let port = device(2, |d| d.to_ascii_uppercase());
    let mut harness = app(Lang::En);
    harness.get_by_label("Got it").click();
    harness.get_by_label("+ TCP client").click();
    harness.run_steps(2);
    type_into(&mut harness, "Remote host", "127.0.0.1");
    type_into(&mut harness, "Remote port", &port.to_string());
    harness.get_by_label("Connect").click();
    step_until(&mut harness, "connected", |h| {
        matches!(h.state().tabs[0].state, TabState::Open { .. })
    });
    open_tools(&mut harness, "Tools");
    harness.get_by_label("● Record").click();
    harness.run_steps(2);
    harness.get_by_label("Data to send").click();
    harness.run_steps(1);
    harness.get_by_label("Data to send").type_text("hello");
    harness.run_steps(1);
    harness.key_press(egui::Key::Enter);
    step_until(&mut harness, "the answer", |h| {
        h.query_by_label_contains("HELLO").is_some()
    });
    harness.get_by_label("■ Stop recording").click();
    step_until(&mut harness, "the Sequences window", |h| {
        h.state().sequences.open
    });
    assert_eq!(harness.state().sequences.sequence.steps.len(), 2);
    harness.run_steps(2);
    harness.get_by_label("Run").click();
    step_until(&mut harness, "the run", |h| {
        h.state().sequences.report.is_some()
    });
    assert!(
        harness.query_by_label("2 passed · 0 failed").is_some(),
        "{:?}",
        harness.state().sequences.results
    );
}

/// The Sequences window edits the steps in place: duplicate and move rows, per-step options;
/// a failed expectation shows what was expected next to what came; "Save as device simulator"
/// writes the device's side next to the file.
#[test]
fn sequence_steps_are_reordered_duplicated_and_a_failure_shows_both_sides() {
    let port = device(1, |d| d.to_ascii_uppercase());
    let mut harness = app(Lang::En);
    harness.get_by_label("Got it").click();
    harness.get_by_label("Sequences").click();
    harness.run_steps(2);
    type_into(&mut harness, "To (HOST:PORT)", &format!("127.0.0.1:{port}"));
    for button in ["+ Send", "+ Expect"] {
        harness.get_by_label(button).click();
        harness.run_steps(2);
    }
    type_into(&mut harness, "Step 1 send", "hi");
    type_into(&mut harness, "Step 2 expect", "BYE");
    harness.get_by_label("Duplicate 1").click();
    harness.run_steps(2);
    harness.get_by_label("Move up 3").click();
    harness.run_steps(2);
    let shape: Vec<(Option<String>, Option<String>)> = harness
        .state()
        .sequences
        .sequence
        .steps
        .iter()
        .map(|s| (s.send.clone(), s.expect.clone()))
        .collect();
    assert_eq!(
        shape,
        [
            (Some("hi".into()), None),
            (None, Some("BYE".into())),
            (Some("hi".into()), None)
        ]
    );
    harness.get_by_label("Run").click();
    step_until(&mut harness, "the run", |h| {
        h.state().sequences.report.is_some()
    });
    assert!(harness.query_by_label("2 passed · 1 failed").is_some());
    assert!(harness.query_by_label("Expected").is_some());
    assert!(harness.query_by_label("Received").is_some());
    assert!(harness.query_by_label("BYE (contains)").is_some());
    assert!(harness.query_by_label_contains("HI | 48 49").is_some());

    let dir = std::env::temp_dir().join(format!("sockscope-gui-sim-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    type_into(
        &mut harness,
        "Sequence file",
        dir.join("talk.toml").to_str().unwrap(),
    );
    harness.get_by_label("Save as device simulator").click();
    // Written off the window's thread: the window says when.
    step_until(&mut harness, "the simulator written", |h| {
        h.query_by_label_contains("Exported to").is_some()
    });
    let sim = std::fs::read_to_string(dir.join("talk-simulator.toml")).unwrap();
    let sim = sockscope::sequence::Sequence::parse(&sim).unwrap();
    assert_eq!(
        sim.connection.kind,
        sockscope::sequence::ConnectionKind::TcpServer
    );
    assert_eq!(sim.steps[0].expect.as_deref(), Some("68 69"));
    assert_eq!(sim.steps[1].send.as_deref(), Some("BYE"));
    // A second click never replaces the file: it says so.
    harness.get_by_label("Save as device simulator").click();
    step_until(&mut harness, "the question", |h| {
        h.query_by_label_contains("This file already exists.")
            .is_some()
    });
    std::fs::remove_dir_all(&dir).ok();
}

/// Rules are written in the tab: a regex rule with a capture group, tried on a pasted sample,
/// applied, then answering two different requests from a real client with their own numbers.
#[test]
fn a_rule_written_in_the_tab_is_tried_on_a_sample_and_answers_clients() {
    let (mut harness, local) = listening_server();
    // A tall screen, so the whole side panel shows without scrolling (it scrolls on a short one).
    harness.set_size(egui::vec2(1280.0, 1300.0));
    harness.run_steps(2);
    harness.get_by_label("Auto-reply rules").click();
    harness.run_steps(2);
    harness.get_by_label("+ Rule").click();
    harness.run_steps(2);
    harness.get_by_label("Rule 1 match").click();
    harness.run_steps(2);
    harness.get_by_label("regex").click();
    harness.run_steps(2);
    type_into(&mut harness, "Rule 1 Pattern", r"id=(?<id>\d+)");
    type_into(&mut harness, "Rule 1 Reply", "ok ${id}");
    // Not yet applied: the tab says so.
    assert!(harness
        .query_by_label("Changed — not applied yet")
        .is_some());
    type_into(&mut harness, "Try a sample", "GET id=42");
    assert!(
        harness
            .query_by_label_contains("Rule 1 → ok 42 | 6F 6B 20 34 32")
            .is_some(),
        "the sample shows the reply the rule would send"
    );
    // A reference to a group the pattern lacks is explained, and Apply stays off.
    type_into(&mut harness, "Rule 1 Reply", "ok ${nr}");
    assert!(harness
        .query_by_label_contains("the reply uses a group the pattern does not capture: ${nr}")
        .is_some());
    type_into(&mut harness, "Rule 1 Reply", "ok ${id}");
    harness.get_by_label("Apply").click();
    harness.run_steps(2);
    assert!(harness.query_by_label("In use").is_some());
    let mut c = std::net::TcpStream::connect(local).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    for (ask, answer) in [("id=7", "ok 7"), ("read id=1234", "ok 1234")] {
        std::io::Write::write_all(&mut c, ask.as_bytes()).unwrap();
        let mut got = vec![0u8; answer.len()];
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut filled = 0;
        while filled < got.len() && Instant::now() < deadline {
            harness.step();
            if let Ok(n) = std::io::Read::read(&mut c, &mut got[filled..]) {
                filled += n;
            }
        }
        assert_eq!(String::from_utf8_lossy(&got), answer);
    }
    step_until(&mut harness, "the fire count", |h| {
        h.query_by_label("answered 2 times").is_some()
    });
    // The rules are the tab's: they are kept for the next start.
    assert_eq!(harness.state().tabs[0].settings.rules.rules.len(), 1);
}

/// Recording a server tab records the device's side with its first client: what the client
/// asked becomes an expectation, the tab's answer a send, listening where the tab listens.
#[test]
fn recording_a_server_tab_gives_a_simulator_of_it() {
    let (mut harness, local) = listening_server();
    open_tools(&mut harness, "Tools");
    harness.get_by_label("● Record").click();
    harness.run_steps(2);
    let mut c = std::net::TcpStream::connect(local).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    std::io::Write::write_all(&mut c, b"ping").unwrap();
    step_until(&mut harness, "the request", |h| {
        h.query_by_label_contains("ping").is_some()
    });
    harness.get_by_label("Data to send").click();
    harness.run_steps(1);
    harness.get_by_label("Data to send").type_text("pong");
    harness.run_steps(1);
    harness.key_press(egui::Key::Enter);
    let mut got = [0u8; 4];
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut filled = 0;
    while filled < 4 && Instant::now() < deadline {
        harness.step();
        if let Ok(n) = std::io::Read::read(&mut c, &mut got[filled..]) {
            filled += n;
        }
    }
    assert_eq!(&got, b"pong");
    harness.run_steps(3);
    harness.get_by_label("■ Stop recording").click();
    step_until(&mut harness, "the Sequences window", |h| {
        h.state().sequences.open
    });
    let seq = &harness.state().sequences.sequence;
    assert_eq!(
        seq.connection.kind,
        sockscope::sequence::ConnectionKind::TcpServer
    );
    assert_eq!(
        seq.connection.bind.as_deref(),
        Some(local.to_string().as_str())
    );
    // A simulator waits for requests at a person's pace, not the recorded one.
    assert_eq!(seq.connection.timeout_ms, Some(60_000));
    assert!(seq.steps.iter().all(|s| s.timeout_ms.is_none()));
    let shape: Vec<(Option<&str>, Option<&str>)> = seq
        .steps
        .iter()
        .filter(|s| s.wait_ms.is_none())
        .map(|s| (s.expect.as_deref(), s.send.as_deref()))
        .collect();
    assert_eq!(shape, [(Some("70 69 6E 67"), None), (None, Some("pong"))]);
}

/// TLS in two clicks: generate a certificate, listen; the fingerprint is shown, a client that
/// pins it connects and talks, and the tab logs the handshake and the plaintext.
#[test]
fn a_tls_server_tab_generates_a_certificate_and_shows_its_fingerprint() {
    let mut harness = app(Lang::En);
    harness.get_by_label("+ TCP server").click();
    harness.run_steps(2);
    bind_to_loopback(&mut harness, "Local address", "Local port");
    harness.get_by_label("TLS").click();
    harness.run_steps(2);
    // Without a certificate the server cannot listen, and says what is missing.
    assert!(harness
        .query_by_label("Generate a certificate, or give certificate and key files")
        .is_some());
    harness.get_by_label("Generate a certificate").click();
    harness.run_steps(2);
    let fingerprint = harness.state().tabs[0]
        .tls
        .generated
        .as_ref()
        .unwrap()
        .fingerprint
        .clone();
    assert!(harness.query_by_label(&fingerprint).is_some(), "shown");
    harness.get_by_label("Listen").click();
    step_until(&mut harness, "listening", |h| listening_addr(h).is_some());
    let local = listening_addr(&harness).unwrap();
    let client = std::thread::spawn(move || {
        assert_cmd::Command::new(env!("CARGO_BIN_EXE_sockscope"))
            .args([
                "tcp-client",
                &local.to_string(),
                "--pin",
                &fingerprint,
                "--send",
                "secret hello",
                "--wait",
                "300",
            ])
            .timeout(Duration::from_secs(20))
            .output()
            .unwrap()
    });
    step_until(&mut harness, "the plaintext", |h| {
        h.query_by_label_contains("secret hello").is_some()
    });
    assert!(harness.query_by_label_contains("TLS: TLSv1.3").is_some());
    let out = client.join().unwrap();
    assert!(out.status.success(), "{out:?}");
}

/// A TLS client tab that does not trust the server says so in Chinese, and stays closed.
#[test]
fn a_tls_client_tab_explains_an_untrusted_server_in_chinese() {
    let server = crate::common::start(&["tcp-server", "127.0.0.1:0", "--gen-cert"]);
    let port = server.open_port();
    let mut harness = app(Lang::Zh);
    harness.get_by_label("+ TCP 客户端").click();
    harness.run_steps(2);
    type_into(&mut harness, "远程主机", "127.0.0.1");
    type_into(&mut harness, "远程端口", &port.to_string());
    harness.get_by_label("TLS").click();
    harness.run_steps(2);
    harness.get_by_label("连接").click();
    step_until(&mut harness, "the refusal", |h| {
        h.query_all_by_label_contains("未知签发者").count() > 0
    });
    assert!(matches!(harness.state().tabs[0].state, TabState::Closed(_)));
}

/// A relay tab terminates TLS from its clients with a generated certificate and logs the
/// plaintext it forwards to a plain device.
#[test]
fn a_relay_tab_terminates_tls_and_logs_the_plaintext() {
    let port = device(1, |d| d.to_ascii_uppercase());
    let mut harness = app(Lang::En);
    harness.get_by_label("+ Relay").click();
    harness.run_steps(2);
    type_into(&mut harness, "Local port", "0");
    type_into(
        &mut harness,
        "Target (HOST:PORT)",
        &format!("127.0.0.1:{port}"),
    );
    harness.get_by_label("TLS towards clients").click();
    harness.run_steps(2);
    harness.get_by_label("Generate a certificate").click();
    harness.run_steps(2);
    harness.get_by_label("Start relay").click();
    step_until(&mut harness, "relaying", |h| listening_addr(h).is_some());
    let local = listening_addr(&harness).unwrap();
    let client = std::thread::spawn(move || {
        assert_cmd::Command::new(env!("CARGO_BIN_EXE_sockscope"))
            .args([
                "tcp-client",
                &format!("127.0.0.1:{}", local.port()),
                "--insecure",
                "--send",
                "through tls",
                "--wait",
                "500",
            ])
            .timeout(Duration::from_secs(20))
            .output()
            .unwrap()
    });
    step_until(&mut harness, "both directions in plaintext", |h| {
        h.query_by_label_contains("through tls").is_some()
            && h.query_by_label_contains("THROUGH TLS").is_some()
    });
    let out = client.join().unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("THROUGH TLS"),
        "{out:?}"
    );
}

/// The Probe window measures a UDP echo: every request answered, the figures and plots shown.
#[test]
fn the_probe_window_measures_a_udp_echo() {
    let addr = crate::common::udp_echo();
    let mut harness = app(Lang::En);
    harness.get_by_label("Got it").click();
    harness.get_by_label("Probe").click();
    harness.run_steps(2);
    type_into(&mut harness, "To (HOST:PORT)", &addr.to_string());
    harness.state_mut().probe.count = 20;
    harness.state_mut().probe.interval_ms = 5;
    harness.get_by_label("Start").click();
    step_until(&mut harness, "the probe's end", |h| {
        h.state().probe.summary.is_some()
    });
    let s = harness.state().probe.summary.clone().unwrap();
    assert_eq!((s.sent, s.received, s.lost), (20, 20, 0));
    harness.run_steps(2);
    assert!(harness
        .query_by_label_contains("sent 20 · received 20 · lost 0 (0.0 %)")
        .is_some());
    assert!(harness.query_by_label_contains("RTT ms: min ").is_some());
}

/// A server tab captures what a client sends to a pcapng file: stopped, the tab says where it
/// went, and the file reassembles to the bytes.
#[test]
fn a_tab_captures_to_pcapng_and_says_where() {
    let (mut harness, local) = listening_server();
    let dir = std::env::temp_dir().join(format!("sockscope-gui-pcap-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("tab.pcapng");
    open_tools(&mut harness, "Tools");
    type_into(&mut harness, "Capture file", file.to_str().unwrap());
    harness.get_by_label("● Capture (pcapng)").click();
    // The engine makes the file when the capture starts: from then on, everything is in it.
    step_until(&mut harness, "the capture started", |_| file.exists());
    let mut c = TcpStream::connect(local).unwrap();
    c.write_all(b"captured hello").unwrap();
    step_until(&mut harness, "the data", |h| {
        h.query_by_label_contains("captured hello").is_some()
    });
    drop(c);
    step_until(&mut harness, "the client gone", |h| {
        h.query_by_label_contains("disconnected").is_some()
    });
    harness.get_by_label("■ Stop capture").click();
    // The engine writes the capture: the tab says so once the file is finished.
    let saved = format!("Capture saved to {}", file.display());
    step_until(&mut harness, "the capture written", |h| {
        h.query_by_label_contains(&saved).is_some()
    });
    let packets = crate::measure::read_pcapng(&std::fs::read(&file).unwrap());
    let client = packets[0].0;
    assert_eq!(packets[0].1, local, "the client's SYN to the server");
    assert_eq!(
        crate::measure::reassemble(&packets, client),
        b"captured hello"
    );
    // A second capture to the same file is refused, in words.
    type_into(&mut harness, "Capture file", file.to_str().unwrap());
    harness.get_by_label("● Capture (pcapng)").click();
    step_until(&mut harness, "the refusal", |h| {
        h.query_by_label_contains("This file already exists.")
            .is_some()
    });
    std::fs::remove_dir_all(&dir).ok();
}

/// A UDP tab's own Probe (in Chinese): it is aimed at the tab's destination, measures the echo
/// there, and a long probe against a silent peer stops at 停止 and says so.
#[test]
fn a_tab_probes_its_own_peer_and_stop_ends_a_long_probe() {
    let echo_addr = crate::common::udp_echo();
    let mut harness = app(Lang::Zh);
    harness.get_by_label("+ UDP").click();
    harness.run_steps(2);
    type_into(&mut harness, "目标地址", &echo_addr.to_string());
    open_tools(&mut harness, "工具");
    harness.get_by_label("测量此对端…").click();
    // The click is carried out after its frame; the window shows from the one after.
    step_until(&mut harness, "the probe window", |h| {
        h.query_by_label_contains("链路测量 — UDP").is_some()
    });
    assert_eq!(harness.state().tabs[0].probe.target, echo_addr.to_string());
    harness.state_mut().tabs[0].probe.count = 20;
    harness.state_mut().tabs[0].probe.interval_ms = 5;
    harness.get_by_label("开始").click();
    step_until(&mut harness, "the probe's end", |h| {
        h.state().tabs[0].probe.summary.is_some()
    });
    let s = harness.state().tabs[0].probe.summary.clone().unwrap();
    assert_eq!((s.sent, s.received, s.lost), (20, 20, 0));

    // A silent peer and 100,000 requests: Stop ends it at once with what was sent.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    type_into(
        &mut harness,
        "发送到(主机:端口)",
        &silent.local_addr().unwrap().to_string(),
    );
    harness.state_mut().tabs[0].probe.count = 100_000;
    harness.state_mut().tabs[0].probe.interval_ms = 10;
    harness.get_by_label("开始").click();
    step_until(&mut harness, "requests going out", |h| {
        h.state().tabs[0].probe.is_running()
    });
    std::thread::sleep(Duration::from_millis(200));
    harness.get_by_label("停止").click();
    step_until(&mut harness, "the stopped probe's end", |h| {
        !h.state().tabs[0].probe.is_running()
    });
    let s = harness.state().tabs[0].probe.summary.clone().unwrap();
    assert!((1..1000).contains(&s.sent), "{s:?}");
    assert_eq!(s.received, 0);
    harness.run_steps(2);
    assert!(harness.query_by_label_contains("已停止").is_some());
}

/// The Probe window's load: 1,000 packets/s for 1 s to a loopback receiver; the window says
/// exactly how many went, and that is how many arrived.
#[test]
fn the_load_sends_at_its_rate_and_says_exactly_how_many() {
    let sink = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = sink.local_addr().unwrap();
    sink.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let counter = std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        let mut n = 0u64;
        while let Ok(len) = sink.recv(&mut buf) {
            assert_eq!(len, 100);
            n += 1;
        }
        n
    });
    let mut harness = app(Lang::En);
    harness.get_by_label("Got it").click();
    harness.get_by_label("Probe").click();
    harness.run_steps(2);
    type_into(&mut harness, "To (HOST:PORT)", &addr.to_string());
    harness.state_mut().probe.load.size = 100;
    harness.state_mut().probe.load.seconds = 1;
    harness.get_by_label("Start load").click();
    let started = Instant::now();
    step_until(&mut harness, "the load's end", |h| {
        !h.state().probe.is_running()
    });
    assert!(started.elapsed() >= Duration::from_millis(990));
    let sent = harness.state().probe.load.figures.clone().unwrap();
    assert!((990..=1001).contains(&sent.sent_packets), "{sent:?}");
    assert_eq!(sent.failed_sends, 0);
    assert_eq!(counter.join().unwrap(), sent.sent_packets);
    harness.run_steps(2);
    let shown = format!(
        "sent {} ·",
        sockscope::ui::log_view::exact_count(sent.sent_packets)
    );
    assert!(harness.query_by_label_contains(&shown).is_some(), "{shown}");
}

/// A probe to a bad port cannot start and says why; one to a closed TCP port ends with the
/// refusal in the user's words, and the window keeps drawing.
#[test]
fn a_probe_with_a_bad_address_or_no_listener_says_why() {
    let mut harness = app(Lang::En);
    harness.get_by_label("Got it").click();
    harness.get_by_label("Probe").click();
    harness.run_steps(2);
    type_into(&mut harness, "To (HOST:PORT)", "127.0.0.1:99999");
    harness.run_steps(2);
    assert!(harness
        .query_by_label_contains("Port must be a number from 0 to 65535")
        .is_some());
    assert!(harness.get_by_label("Start").accesskit_node().is_disabled());
    // A port nothing listens on (bound, then closed).
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    harness.get_by_label("TCP (request and answer)").click();
    type_into(&mut harness, "To (HOST:PORT)", &closed.to_string());
    harness.get_by_label("Start").click();
    step_until(&mut harness, "the refusal", |h| {
        h.query_by_label_contains("Nothing is listening at")
            .is_some()
    });
    assert!(!harness.state().probe.is_running());
}

/// In the Chinese window a sequence's failures are said in Chinese: an expectation that saw no
/// match says how long it waited, and a run against a port nobody listens on says so.
#[test]
fn sequence_failures_are_said_in_the_users_language() {
    let port = device(1, |d| d.to_ascii_uppercase());
    let text = format!(
        "name = \"zh\"\n[connection]\nkind = \"tcp-client\"\nremote = \"127.0.0.1:{port}\"\n\
         timeout_ms = 300\n[[step]]\nsend = \"hi\"\n[[step]]\nexpect = \"bye\"\n\
         [[step]]\nsend = \"go\\n\"\n[[step]]\nscript = \"true\"\n"
    );
    let mut harness = app(Lang::Zh);
    harness.state_mut().sequences.open = true;
    harness
        .state_mut()
        .sequences
        .load(sockscope::sequence::Sequence::parse(&text).unwrap());
    harness.run_steps(2);
    harness.get_by_label("运行").click();
    step_until(&mut harness, "the run", |h| {
        h.state().sequences.report.is_some()
    });
    harness.run_steps(2);
    assert!(harness
        .query_by_label_contains("未匹配，已等待 300 ms")
        .is_some());
    assert!(harness
        .query_by_label_contains("失败  2. 期望 bye")
        .is_some());
    assert!(harness
        .query_by_label_contains("通过  1. 发送 hi")
        .is_some());
    // A line break in the data is shown escaped; a script step is labelled in Chinese too.
    assert!(harness
        .query_by_label_contains("通过  3. 发送 go\\n")
        .is_some());
    assert!(harness
        .query_by_label_contains("通过  4. 脚本 true")
        .is_some());

    // Nobody listens: the run stops before its first step, in Chinese.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let text = text.replace(&format!("127.0.0.1:{port}"), &closed.to_string());
    harness
        .state_mut()
        .sequences
        .load(sockscope::sequence::Sequence::parse(&text).unwrap());
    harness.run_steps(2);
    harness.get_by_label("运行").click();
    step_until(&mut harness, "the refused run", |h| {
        h.state()
            .sequences
            .report
            .as_ref()
            .is_some_and(|r| r.aborted.is_some())
    });
    harness.run_steps(2);
    let shown = sockscope::ui::i18n::run_issue(
        Lang::Zh,
        harness
            .state()
            .sequences
            .report
            .as_ref()
            .unwrap()
            .aborted
            .as_ref()
            .unwrap(),
    );
    assert!(!shown.is_ascii(), "said in Chinese: {shown}");
    assert!(harness.query_by_label_contains(&shown).is_some(), "{shown}");
}

/// Exporting quick commands onto a file that exists asks first and writes nothing until told;
/// told, it replaces it, and importing the file brings the commands back. The files are read
/// and written off the window's thread.
#[test]
fn exporting_onto_an_existing_file_asks_first() {
    let mut harness = app(Lang::En);
    harness.get_by_label("+ TCP client").click();
    harness.run_steps(2);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("commands.toml");
    std::fs::write(&file, "keep me").unwrap();
    harness.state_mut().tabs[0]
        .settings
        .quick
        .push(sockscope::ui::session_tab::QuickCommand {
            name: "hello".into(),
            input: "hello device".into(),
            format: Default::default(),
        });
    type_into(&mut harness, "Commands file", file.to_str().unwrap());
    harness.get_by_label("Export").click();
    step_until(&mut harness, "the question", |h| {
        h.query_by_label_contains("This file already exists.")
            .is_some()
    });
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");
    harness.get_by_label("Replace it").click();
    step_until(&mut harness, "the export", |h| {
        h.query_by_label_contains("Exported to").is_some()
    });
    assert!(std::fs::read_to_string(&file)
        .unwrap()
        .contains("hello device"));
    harness.state_mut().tabs[0].settings.quick.clear();
    harness.get_by_label("Import").click();
    step_until(&mut harness, "the import", |h| {
        h.query_by_label_contains("1 quick commands imported")
            .is_some()
    });
    assert_eq!(harness.state().tabs[0].settings.quick.len(), 1);
}

/// A sequence run in the window has Stop: a run waiting on a silent device ends at once, the
/// step under way and the ones after it not run, the run said stopped (in Chinese).
#[test]
fn a_sequence_run_in_the_window_stops_at_stop() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let text = format!(
        "name = \"long\"\n[connection]\nkind = \"tcp-client\"\nremote = \"{}\"\n\
         [[step]]\nsend = \"hi\"\n[[step]]\nexpect = \"never\"\ntimeout_ms = 60000\n\
         [[step]]\nsend = \"after\"\n",
        silent.local_addr().unwrap()
    );
    let mut harness = app(Lang::Zh);
    harness.state_mut().sequences.open = true;
    harness
        .state_mut()
        .sequences
        .load(sockscope::sequence::Sequence::parse(&text).unwrap());
    harness.run_steps(2);
    harness.get_by_label("运行").click();
    step_until(&mut harness, "the first step", |h| {
        h.state().sequences.results.len() == 1
    });
    let started = Instant::now();
    harness.get_by_label("停止").click();
    step_until(&mut harness, "the stopped run", |h| {
        h.state().sequences.report.is_some()
    });
    assert!(started.elapsed() < Duration::from_secs(5));
    let report = harness.state().sequences.report.clone().unwrap();
    assert!(matches!(
        report.aborted,
        Some(sockscope::sequence::RunIssue::Stopped)
    ));
    assert_eq!(report.counts(), (1, 0), "nothing failed: {report:?}");
    assert_eq!(report.not_run(), 2);
    harness.run_steps(2);
    assert!(harness.query_by_label_contains("已由用户停止").is_some());
    drop(silent);
}
