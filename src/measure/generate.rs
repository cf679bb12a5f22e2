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
        Some(r) => ((elapsed.as_secs_f64() * r).floor() as u64 + 1).min(limit),
    }
}

/// Runs the generator over `send` (one packet per call); `progress` sees the running totals
/// about once a second.
fn run(
    options: &GenerateOptions,
    mut send: impl FnMut(&[u8]) -> std::io::Result<()>,
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
        if until.is_some_and(|u| elapsed >= u) {
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
                let next_at = Duration::from_secs_f64((attempts as f64) / r);
                let wait = next_at
                    .saturating_sub(elapsed)
                    .min(Duration::from_millis(50));
                std::thread::sleep(wait);
            }
            continue;
        }
        while attempts < target {
            attempts += 1;
            match send(&options.payload) {
                Ok(()) => {
                    done.sent_packets += 1;
                    done.sent_bytes += options.payload.len() as u64;
                }
                Err(_) => done.failed_sends += 1,
            }
        }
    }
    done.finish(start)
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
    Ok(run(options, |p| socket.send(p).map(|_| ()), progress))
}

/// TCP writes of the payload to `target` (a slow reader slows the writer: TCP does that).
pub fn tcp(
    target: SocketAddr,
    options: &GenerateOptions,
    progress: impl FnMut(&Generated),
) -> std::io::Result<Generated> {
    let mut stream = TcpStream::connect_timeout(&target, Duration::from_secs(5))?;
    stream.set_nodelay(options.rate_pps.is_some())?;
    let result = run(options, |p| stream.write_all(p), progress);
    stream.flush()?;
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
        };
        let start = Instant::now();
        let mut calls = 0;
        let done = run(
            &options,
            |_| {
                calls += 1;
                Ok(())
            },
            |_| {},
        );
        assert_eq!((calls, done.sent_packets, done.sent_bytes), (20, 20, 160));
        assert!(start.elapsed() >= Duration::from_millis(19));
        // A refused send is failed, not sent.
        let done = run(
            &GenerateOptions {
                rate_pps: None,
                ..options
            },
            |_| Err(std::io::Error::other("full")),
            |_| {},
        );
        assert_eq!((done.sent_packets, done.failed_sends), (0, 20));
    }
}
