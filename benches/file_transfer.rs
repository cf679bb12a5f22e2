//! A file of 1 GiB (SOCKSCOPE_BENCH_MIB to change) over loopback: socat to socat as the
//! baseline, then SockScope sending raw to socat, socat sending to SockScope, and SockScope to
//! SockScope verified — all in one run, with rates, ratios and each process's peak memory.
//!
//! Run: `apt-get install socat time`, then `cargo bench --bench file_transfer`.
// A benchmark may panic on the unexpected and spawn plain threads; the product may not.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SOCKSCOPE: &str = env!("CARGO_BIN_EXE_sockscope");

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts a program under /usr/bin/time so that its peak memory (KiB) is printed last.
fn spawn_timed(program: &str, args: &[String], mem_file: &Path) -> Child {
    Command::new("/usr/bin/time")
        .args(["-f", "%M", "-o"])
        .arg(mem_file)
        .arg(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start")
}

fn peak_mib(mem_file: &Path) -> f64 {
    std::fs::read_to_string(mem_file)
        .ok()
        .and_then(|s| s.lines().last().and_then(|l| l.trim().parse::<f64>().ok()))
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

struct Run {
    secs: f64,
    sender_mib: f64,
    receiver_mib: f64,
}

/// Runs a receiver, waits for its port, runs the sender, waits for both.
fn run(dir: &Path, receiver: (&str, Vec<String>), sender: (&str, Vec<String>)) -> Run {
    let (rm, sm) = (dir.join("recv.mem"), dir.join("send.mem"));
    let mut recv = spawn_timed(receiver.0, &receiver.1, &rm);
    std::thread::sleep(Duration::from_millis(400));
    let start = Instant::now();
    let mut send = spawn_timed(sender.0, &sender.1, &sm);
    assert!(send.wait().unwrap().success(), "sender failed");
    assert!(recv.wait().unwrap().success(), "receiver failed");
    Run {
        secs: start.elapsed().as_secs_f64(),
        sender_mib: peak_mib(&sm),
        receiver_mib: peak_mib(&rm),
    }
}

fn s(v: &str) -> String {
    v.to_string()
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    if Command::new("socat")
        .arg("-V")
        .stdout(Stdio::null())
        .status()
        .is_err()
    {
        println!("socat is not installed: apt-get install socat");
        return;
    }
    let mib: u64 = std::env::var("SOCKSCOPE_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    // tmpfs when there is one: the figure is about the transfer, not the disk.
    let base = std::env::var_os("SOCKSCOPE_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let shm = PathBuf::from("/dev/shm");
            if shm.is_dir() {
                shm
            } else {
                std::env::temp_dir()
            }
        });
    let dir: PathBuf = base.join(format!("sockscope-file-bench-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("in")).unwrap();
    let src = dir.join("src.bin");
    {
        use std::io::Write;
        let mut f = std::io::BufWriter::new(std::fs::File::create(&src).unwrap());
        let block: Vec<u8> = (0..1 << 20)
            .map(|i: u32| (i.wrapping_mul(2654435761) >> 24) as u8)
            .collect();
        for _ in 0..mib {
            f.write_all(&block).unwrap();
        }
    }
    let total = (mib << 20) as f64;
    let rate = |r: &Run| total / r.secs / 1048576.0;
    let out = |name: &str| dir.join(name).display().to_string();
    println!("File of {mib} MiB over loopback (rate, peak memory sender / receiver):");

    let port = free_port();
    let base = run(
        &dir,
        (
            "socat",
            vec![
                s("-u"),
                format!("TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr"),
                format!("CREATE:{}", out("a.bin")),
            ],
        ),
        (
            "socat",
            vec![
                s("-u"),
                format!("OPEN:{}", src.display()),
                format!("TCP:127.0.0.1:{port}"),
            ],
        ),
    );
    println!(
        "  socat → socat                {:7.0} MiB/s  {:6.1} / {:6.1} MiB",
        rate(&base),
        base.sender_mib,
        base.receiver_mib
    );

    let port = free_port();
    let raw_send = run(
        &dir,
        (
            "socat",
            vec![
                s("-u"),
                format!("TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr"),
                format!("CREATE:{}", out("b.bin")),
            ],
        ),
        (
            SOCKSCOPE,
            vec![
                s("send-file"),
                format!("127.0.0.1:{port}"),
                src.display().to_string(),
                s("--output"),
                s("summary"),
            ],
        ),
    );
    println!(
        "  SockScope → socat (raw)      {:7.0} MiB/s  {:6.1} / {:6.1} MiB   ratio {:.2}",
        rate(&raw_send),
        raw_send.sender_mib,
        raw_send.receiver_mib,
        base.secs / raw_send.secs
    );

    let port = free_port();
    let raw_recv = run(
        &dir,
        (
            SOCKSCOPE,
            vec![
                s("recv-file"),
                format!("127.0.0.1:{port}"),
                s("--out"),
                out("c.bin"),
                s("--once"),
                s("--output"),
                s("summary"),
            ],
        ),
        (
            "socat",
            vec![
                s("-u"),
                format!("OPEN:{}", src.display()),
                format!("TCP:127.0.0.1:{port}"),
            ],
        ),
    );
    println!(
        "  socat → SockScope (raw)      {:7.0} MiB/s  {:6.1} / {:6.1} MiB   ratio {:.2}",
        rate(&raw_recv),
        raw_recv.sender_mib,
        raw_recv.receiver_mib,
        base.secs / raw_recv.secs
    );

    let port = free_port();
    let verified = run(
        &dir,
        (
            SOCKSCOPE,
            vec![
                s("recv-file"),
                format!("127.0.0.1:{port}"),
                s("--out"),
                out("in"),
                s("--verified"),
                s("--once"),
                s("--output"),
                s("summary"),
            ],
        ),
        (
            SOCKSCOPE,
            vec![
                s("send-file"),
                format!("127.0.0.1:{port}"),
                src.display().to_string(),
                s("--verified"),
                s("--output"),
                s("summary"),
            ],
        ),
    );
    println!("  SockScope → SockScope (verified, SHA-256 both ends) {:7.0} MiB/s  {:6.1} / {:6.1} MiB   ratio {:.2}", rate(&verified), verified.sender_mib, verified.receiver_mib, base.secs / verified.secs);
    let _ = std::fs::remove_dir_all(&dir);
}
