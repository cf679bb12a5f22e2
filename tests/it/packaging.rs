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

/// The release workflow (for Windows and macOS, which CI here cannot build) parses, builds on
/// each platform with the commands packaging/ documents, and publishes what it built.
#[test]
fn release_workflow_builds_every_platform_with_the_documented_commands() {
    use yaml_rust2::{Yaml, YamlLoader};
    let text = read(".github/workflows/release.yml");
    let docs = YamlLoader::load_from_str(&text).expect("release.yml is valid YAML");
    let jobs = &docs[0]["jobs"];
    let runs = |job: &str| -> String {
        jobs[job]["steps"]
            .as_vec()
            .unwrap_or_else(|| panic!("job {job} has steps"))
            .iter()
            .filter_map(|step| step["run"].as_str())
            .collect::<Vec<_>>()
            .join("\n")
    };
    for (job, os) in [
        ("windows", "windows-latest"),
        ("macos", "macos-latest"),
        ("linux", "ubuntu-latest"),
    ] {
        assert_eq!(jobs[job]["runs-on"].as_str(), Some(os), "{job}");
        assert!(
            runs(job).contains("cargo test --locked"),
            "{job} tests first"
        );
    }
    // The commands the packaging READMEs give, so the docs and the workflow cannot drift.
    let windows_doc = read("packaging/windows/README.md");
    let macos_doc = read("packaging/macos/README.md");
    for command in [
        "cargo packager --release --formats nsis",
        "sockscope.portable",
    ] {
        assert!(
            windows_doc.contains(command) && runs("windows").contains(command),
            "{command}"
        );
    }
    let dmg = "cargo packager --release --formats app,dmg";
    assert!(macos_doc.contains(dmg) && runs("macos").contains(dmg));
    assert!(runs("linux").contains("bash packaging/linux/build-deb.sh"));
    assert!(runs("linux").contains("--formats appimage"));
    // Published only from a tag, after all three built.
    let publish = &jobs["publish"];
    assert!(publish["if"].as_str().unwrap_or("").contains("refs/tags/"));
    let needs: Vec<&str> = publish["needs"]
        .as_vec()
        .map(|v| v.iter().filter_map(Yaml::as_str).collect())
        .unwrap_or_default();
    assert_eq!(needs, ["windows", "macos", "linux"]);
}
