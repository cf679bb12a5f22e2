//! What the packages ship stays true: the licence list covers every crate, the desktop entry
//! and metainfo name the binary and icon that exist, `--version` answers.

use std::path::Path;

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

#[test]
fn third_party_list_names_every_crate_in_the_lock_file() {
    let listed = read("resources/THIRD_PARTY.md");
    let lock = read("Cargo.lock");
    let mut missing = Vec::new();
    let mut name = None;
    for line in lock.lines() {
        if let Some(n) = line.strip_prefix("name = ") {
            name = Some(n.trim_matches('"').to_string());
        } else if let (Some(v), Some(n)) = (line.strip_prefix("version = "), name.take()) {
            let row = format!("| {n} | {} |", v.trim_matches('"'));
            if n != "sockscope" && !listed.contains(&row) {
                missing.push(row);
            }
        }
    }
    assert!(
        missing.is_empty(),
        "run python3 packaging/third-party.py; missing: {missing:?}"
    );
}

#[test]
fn desktop_entry_and_metainfo_agree_with_the_package() {
    let desktop = read("packaging/linux/sockscope.desktop");
    assert!(desktop.contains("\nExec=sockscope\n") && desktop.contains("\nIcon=sockscope\n"));
    assert!(desktop.contains("Name[zh_CN]="), "a Chinese menu entry");
    let meta = read("packaging/linux/io.github.sockscope.SockScope.metainfo.xml");
    assert!(meta.contains("<launchable type=\"desktop-id\">sockscope.desktop</launchable>"));
    assert!(meta.contains(&format!(
        "<release version=\"{}\"",
        env!("CARGO_PKG_VERSION")
    )));
    let cargo = read("Cargo.toml");
    for size in [16, 32, 48, 64, 128, 256, 512] {
        let icon = format!("packaging/icons/sockscope-{size}.png");
        assert!(cargo.contains(&icon), "{icon} is packaged");
        let bytes = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(&icon)).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{icon} is a PNG");
        // The PNG header's width is the size its name says.
        assert_eq!(u32::from_be_bytes(bytes[16..20].try_into().unwrap()), size);
    }
    for other in [
        "packaging/icons/sockscope.ico",
        "packaging/icons/sockscope.icns",
    ] {
        assert!(
            Path::new(env!("CARGO_MANIFEST_DIR")).join(other).exists(),
            "{other}"
        );
    }
}

#[test]
fn version_flag_answers() {
    let out = assert_cmd::Command::new(env!("CARGO_BIN_EXE_sockscope"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        format!("sockscope {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn portable_marker_beside_the_program_keeps_settings_beside_it() {
    // The "program" here is this test binary; the marker goes beside it for the test's length.
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap();
    let marker = dir.join(sockscope::ui::PORTABLE_MARKER);
    assert_eq!(
        sockscope::ui::portable_settings_file(),
        None,
        "no marker, no portable mode"
    );
    std::fs::write(&marker, b"").unwrap();
    let settings = sockscope::ui::portable_settings_file();
    std::fs::remove_file(&marker).unwrap();
    assert_eq!(settings, Some(dir.join("sockscope-settings.ron")));
}
