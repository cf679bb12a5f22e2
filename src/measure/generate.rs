//! Traffic generator: datagrams (or TCP writes) at a set rate or flat out, for a count or a
//! duration. Pacing follows a schedule — packet i is due at start + i / rate — and sends
//! whatever is due in one go, so the rate holds on average even when the system's sleep is
//! coarser than one packet's interval (no sleep per packet).

use std::io::Write;
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

/// How fast, how much, what.
#[derive(Clone, Debug)]
pub struct GenerateOptions {
    /// Packets per second; `None` is flat out.
    pub rate_pps: Option<f64>,
    /// Stop after this many packets…
    pub count: Option<u64>,
    /// …or after this long (whichever comes first; neither: 10 s).
    pub duration: Option<Duration>,
    /// What each packet (or TCP write) holds.
    pub payload: Vec<u8>,
    /// Set to stop early (Ctrl-C, a Stop button): the summary covers what went.
    pub stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

/// What a run did. A send the system refused (a full buffer, no route) is counted as failed,
/// never as sent.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Generated {
    pub sent_packets: u64,
    pub sent_bytes: u64,
    pub failed_sends: u64,
    pub seconds: f64,
    /// Achieved rates over the whole run.
    pub packets_per_s: f64,
    pub bits_per_s: f64,
    /// Why the run ended before its count or time: the connection failed (reset, closed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_by: Option<String>,
    /// Its kind, for the window to say it in the user's language.
    #[serde(skip)]
    pub ended_kind: Option<std::io::ErrorKind>,
}

impl Generated {
    fn finish(mut self, start: Instant) -> Self {
        self.seconds = start.elapsed().as_secs_f64();
        if self.seconds > 0.0 {
            self.packets_per_s = self.sent_packets as f64 / self.seconds;
            self.bits_per_s = self.sent_bytes as f64 * 8.0 / self.seconds;
        }
        self
    }
}

/// Packets due by `elapsed` on the schedule (all of them when flat out).
fn due(rate_pps: Option<f64>, elapsed: Duration, limit: u64) -> u64 {
    match rate_pps {
        None => limit,
        // +1: packet 0 is due at once.
        // (`as` saturates: a huge rate makes everything due, never an overflow.)
        Some(r) => ((elapsed.as_secs_f64() * r).floor() as u64)
            .saturating_add(1)
            .min(limit),
    }
}

/// Packets handed to the system in one call at most (Linux `sendmmsg`).
const BATCH: usize = 64;

/// Runs the generator over `send`, which sends up to `n` copies of the packet and says how many
/// went (an error: the first of them failed); `progress` sees the running totals about once a
/// second.
fn run(
    options: &GenerateOptions,
    mut send: impl FnMut(&[u8], usize) -> std::io::Result<usize>,
    mut progress: impl FnMut(&Generated),
) -> Generated {
    let limit = options.count.unwrap_or(u64::MAX);
    let until = options
        .duration
        .or(options.count.is_none().then(|| Duration::from_secs(10)));
    let start = Instant::now();
    let mut done = Generated::default();
    let mut attempts = 0u64;
    let mut next_report = start + Duration::from_secs(1);
    // Flat out, the clock is read once per batch, not per packet.
    let batch = if options.rate_pps.is_none() {
        256
    } else {
        u64::MAX
    };
    while attempts < limit {
        let now = Instant::now();
        let elapsed = now - start;
        if until.is_some_and(|u| elapsed >= u)
            || options.stop.load(std::sync::atomic::Ordering::Relaxed)
        {
            break;
        }
        if now >= next_report {
            progress(&done.clone().finish(start));
            next_report += Duration::from_secs(1);
        }
        let target = due(options.rate_pps, elapsed, limit).min(attempts.saturating_add(batch));
        if target <= attempts {
            // Not due yet: wait for the next packet's time (or a little, if that is far).
            if let Some(r) = options.rate_pps {
                // A rate so low that the time does not fit a Duration: wait in naps anyway.
                let next_at =
                    Duration::try_from_secs_f64((attempts as f64) / r).unwrap_or(Duration::MAX);
                let wait = next_at
                    .saturating_sub(elapsed)
                    .min(Duration::from_millis(50));
                std::thread::sleep(wait);
            }
            continue;
        }
        while attempts < target {
            let n = (target - attempts).min(BATCH as u64) as usize;
            match send(&options.payload, n) {
                // The system took none without saying why: a failed send, never a sent one.
                Ok(0) => {
                    attempts += 1;
                    done.failed_sends += 1;
                }
                Ok(sent) => {
                    // The system may take fewer than offered: the rest is offered again.
                    let sent = sent.min(n) as u64;
                    attempts += sent;
                    done.sent_packets += sent;
                    done.sent_bytes += sent * options.payload.len() as u64;
                }
                Err(e) => {
                    attempts += 1;
                    done.failed_sends += 1;
                    // A connection that is gone stays gone: the run ends and says why.
                    if is_fatal(&e) {
                        done.ended_by = Some(e.to_string());
                        done.ended_kind = Some(e.kind());
                        return done.finish(start);
                    }
                    // A failure may have taken time (a blocked write): the clock, the stop and
                    // the schedule are looked at again before the next try.
                    break;
                }
            }
        }
    }
    done.finish(start)
}

/// An error after which no send can succeed (a TCP connection reset or closed).
fn is_fatal(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        BrokenPipe | ConnectionReset | ConnectionAborted | NotConnected
    )
}

/// UDP datagrams to `target`.
pub fn udp(
    target: SocketAddr,
    options: &GenerateOptions,
    progress: impl FnMut(&Generated),
) -> std::io::Result<Generated> {
    let bind: SocketAddr = if target.is_ipv6() {
        SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, 0))
    } else {
        SocketAddr::from(([0, 0, 0, 0], 0))
    };
    let socket = UdpSocket::bind(bind)?;
    socket.connect(target)?;
    let mut gso = Gso::new(&socket, &options.payload);
    Ok(run(
        options,
        |p, n| match gso.as_mut() {
            Some(g) => match g.send(&socket, n) {
                Ok(sent) => Ok(sent),
                // The kernel or the route does not segment after all: batches of datagrams.
                Err(_) => {
                    gso = None;
                    send_many(&socket, p, n)
                }
            },
            None => send_many(&socket, p, n),
        },
        progress,
    ))
}

/// Linux UDP GSO: one buffer of equal segments handed over in one call, cut into datagrams by
/// the kernel (or the card). `None` where the kernel refuses it.
#[cfg(target_os = "linux")]
struct Gso {
    /// `BATCH`-or-fewer copies of the packet, back to back.
    buffer: Vec<u8>,
    segment: usize,
}

#[cfg(target_os = "linux")]
impl Gso {
    fn new(socket: &UdpSocket, packet: &[u8]) -> Option<Self> {
        use std::os::fd::AsRawFd;
        // Linux's UDP_SEGMENT (include/uapi/linux/udp.h), at level SOL_UDP.
        const SOL_UDP: libc::c_int = 17;
        const UDP_SEGMENT: libc::c_int = 103;
        let segment = packet.len();
        let copies = (65_000 / segment.max(1)).min(BATCH);
        if segment == 0 || copies < 2 {
            return None;
        }
        let size = u16::try_from(segment).ok()?;
        let value = libc::c_int::from(size);
        #[allow(unsafe_code)]
        // SAFETY: setsockopt reads `size_of::<c_int>()` bytes from a live c_int.
        let done = unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                SOL_UDP,
                UDP_SEGMENT,
                (&value as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        (done == 0).then(|| Self {
            buffer: packet.repeat(copies),
            segment,
        })
    }

    /// Sends `n` segments (at most the buffer's) in one call.
    fn send(&mut self, socket: &UdpSocket, n: usize) -> std::io::Result<usize> {
        let n = n.min(self.buffer.len() / self.segment);
        socket.send(&self.buffer[..n * self.segment])?;
        Ok(n)
    }
}

/// Elsewhere no GSO.
#[cfg(not(target_os = "linux"))]
struct Gso;

#[cfg(not(target_os = "linux"))]
impl Gso {
    fn new(_: &UdpSocket, _: &[u8]) -> Option<Self> {
        None
    }

    fn send(&mut self, _: &UdpSocket, _: usize) -> std::io::Result<usize> {
        Err(std::io::Error::other("no GSO here"))
    }
}

/// Sends `n` copies of `packet` on a connected socket: on Linux in one `sendmmsg` call.
#[cfg(target_os = "linux")]
fn send_many(socket: &UdpSocket, packet: &[u8], n: usize) -> std::io::Result<usize> {
    use std::os::fd::AsRawFd;
    let n = n.min(BATCH);
    let mut iov = libc::iovec {
        iov_base: packet.as_ptr() as *mut libc::c_void,
        iov_len: packet.len(),
    };
    #[allow(unsafe_code)]
    // SAFETY: each header points at the one iovec, which points at `packet`; both outlive the
    // call, which only reads them (the socket is connected: no address). mmsghdr is plain data,
    // so all-zero is a valid value to start from.
    let sent = unsafe {
        let mut headers: [libc::mmsghdr; BATCH] = std::mem::zeroed();
        for h in headers.iter_mut().take(n) {
            h.msg_hdr.msg_iov = &mut iov;
            h.msg_hdr.msg_iovlen = 1;
        }
        libc::sendmmsg(
            socket.as_raw_fd(),
            headers.as_mut_ptr(),
            n as libc::c_uint,
            0,
        )
    };
    if sent < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(sent as usize)
    }
}

/// Elsewhere one datagram per call (a failure ends the batch, said as the error).
#[cfg(not(target_os = "linux"))]
fn send_many(socket: &UdpSocket, packet: &[u8], n: usize) -> std::io::Result<usize> {
    for i in 0..n {
        if let Err(e) = socket.send(packet) {
            return if i == 0 { Err(e) } else { Ok(i) };
        }
    }
    Ok(n)
}

/// TCP writes of the payload to `target` (a slow reader slows the writer: TCP does that).
pub fn tcp(
    target: SocketAddr,
    options: &GenerateOptions,
    progress: impl FnMut(&Generated),
) -> std::io::Result<Generated> {
    let mut stream = TcpStream::connect_timeout(&target, Duration::from_secs(5))?;
    stream.set_nodelay(options.rate_pps.is_some())?;
    // A peer that stops reading blocks a write: it fails after this long (counted as failed,
    // and a Stop is heard), rather than holding the run forever.
    stream.set_write_timeout(Some(Duration::from_millis(200)))?;
    let result = run(
        options,
        |p, n| {
            let mut written = 0;
            for _ in 0..n {
                match stream.write_all(p) {
                    Ok(()) => written += 1,
                    // Those written before the failure were sent; the failure is reported next.
                    Err(_) if written > 0 => break,
                    Err(e) => return Err(e),
                }
            }
            Ok(written)
        },
        progress,
    );
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_sends_what_is_due_and_never_more() {
        assert_eq!(due(Some(1000.0), Duration::ZERO, 100), 1);
        assert_eq!(due(Some(1000.0), Duration::from_millis(10), 100), 11);
        assert_eq!(
            due(Some(1000.0), Duration::from_secs(1), 100),
            100,
            "the count caps it"
        );
        assert_eq!(due(None, Duration::ZERO, 7), 7);
        // A run of 20 at 1000/s cannot finish faster than its schedule allows.
        let options = GenerateOptions {
            rate_pps: Some(1000.0),
            count: Some(20),
            duration: None,
            payload: vec![0; 8],
            stop: Default::default(),
        };
        let start = Instant::now();
        let mut calls = 0;
        let done = run(
            &options,
            |_, n| {
                calls += n;
                Ok(n)
            },
            |_| {},
        );
        assert_eq!((calls, done.sent_packets, done.sent_bytes), (20, 20, 160));
        assert!(start.elapsed() >= Duration::from_millis(19));
        // A refused send is failed, not sent.
        let done = run(
            &GenerateOptions {
                rate_pps: None,
                ..options.clone()
            },
            |_, _| Err(std::io::Error::other("full")),
            |_| {},
        );
        assert_eq!((done.sent_packets, done.failed_sends), (0, 20));
        // A system that takes fewer than offered gets the rest offered again, none lost.
        let done = run(
            &GenerateOptions {
                rate_pps: None,
                ..options.clone()
            },
            |_, n| Ok(n.min(3)),
            |_| {},
        );
        assert_eq!((done.sent_packets, done.failed_sends), (20, 0));
        // A stop (Ctrl-C, the Stop button) ends a long run early; what went is counted.
        let stop = options.stop.clone();
        let started = Instant::now();
        let done = run(
            &GenerateOptions {
                count: Some(1_000_000),
                ..options.clone()
            },
            |_, n| {
                stop.store(true, std::sync::atomic::Ordering::Relaxed);
                Ok(n)
            },
            |_| {},
        );
        assert!((1..=2).contains(&done.sent_packets), "{done:?}");
        assert!(started.elapsed() < Duration::from_secs(1));
    }
}
