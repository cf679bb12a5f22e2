//! Latency and loss probe: send N requests at a steady interval, match each answer, and say
//! what the link did — round-trip times (min, mean, p50, p90, p99, max), and for UDP against an
//! echo: lost, duplicated and reordered datagrams and the RFC 3550 interarrival jitter.
//!
//! UDP requests carry a 16-byte header (`SSP1`, sequence number, send time) so an echoed answer
//! says which request it answers and when it was sent, whatever arrives twice or out of order.
//! A TCP probe is request/response: one request, its answer (a frame, an expected pattern, or
//! the first bytes back), then the next.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The first bytes of a probe datagram.
pub const MAGIC: &[u8; 4] = b"SSP1";
/// Bytes of the header: magic, sequence number (u32), send time in µs since the probe began (u64).
pub const HEADER_LEN: usize = 16;

/// A probe datagram of `size` bytes (at least the header), filled after the header with `fill`.
pub fn datagram(seq: u32, sent_us: u64, size: usize, fill: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(size.max(HEADER_LEN));
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&sent_us.to_be_bytes());
    let pad = size.saturating_sub(HEADER_LEN);
    out.extend(fill.iter().copied().cycle().take(pad));
    if fill.is_empty() {
        out.resize(size.max(HEADER_LEN), 0);
    }
    out
}

/// The sequence number and send time of a probe datagram, or `None` for anything else.
pub fn parse(datagram: &[u8]) -> Option<(u32, u64)> {
    if datagram.len() < HEADER_LEN || &datagram[..4] != MAGIC {
        return None;
    }
    let seq = u32::from_be_bytes(datagram[4..8].try_into().ok()?);
    let sent = u64::from_be_bytes(datagram[8..16].try_into().ok()?);
    Some((seq, sent))
}

/// What came back, counted as it comes.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    /// Requests sent.
    pub sent: u64,
    /// Distinct requests answered.
    seen: HashSet<u32>,
    /// Answers to a request already answered.
    pub duplicated: u64,
    /// Answers arriving after one to a later request.
    pub reordered: u64,
    highest: Option<u32>,
    /// Round-trip times of first answers, µs.
    pub rtts_us: Vec<u64>,
    /// RFC 3550 interarrival jitter, µs (running estimate).
    jitter_us: f64,
    last_transit_us: Option<f64>,
}

/// One answer, as the caller reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// First answer to `seq`, after `rtt_us`.
    First { seq: u32, rtt_us: u64 },
    /// `seq` was answered before.
    Duplicate { seq: u32 },
}

impl Tally {
    /// Counts an answer to `seq`, sent at `sent_us` and back at `now_us` (same clock).
    pub fn answer(&mut self, seq: u32, sent_us: u64, now_us: u64) -> Answer {
        if !self.seen.insert(seq) {
            self.duplicated += 1;
            return Answer::Duplicate { seq };
        }
        match self.highest {
            Some(h) if seq < h => self.reordered += 1,
            _ => self.highest = Some(seq),
        }
        let rtt_us = now_us.saturating_sub(sent_us);
        self.rtts_us.push(rtt_us);
        // RFC 3550 §6.4.1: J += (|D| - J) / 16, D the change in transit time.
        let transit = rtt_us as f64;
        if let Some(last) = self.last_transit_us {
            let d = (transit - last).abs();
            self.jitter_us += (d - self.jitter_us) / 16.0;
        }
        self.last_transit_us = Some(transit);
        Answer::First { seq, rtt_us }
    }

    /// Distinct requests answered.
    pub fn received(&self) -> u64 {
        self.seen.len() as u64
    }

    /// The summary of the run.
    pub fn summary(&self) -> Summary {
        let mut sorted = self.rtts_us.clone();
        sorted.sort_unstable();
        let ms = |us: u64| us as f64 / 1000.0;
        // Nearest rank: the smallest value with at least p % of the values at or below it.
        let rank = |p: f64| {
            let n = sorted.len();
            let i = ((p / 100.0) * n as f64).ceil() as usize;
            ms(sorted[i.clamp(1, n) - 1])
        };
        let rtt_ms = (!sorted.is_empty()).then(|| Rtt {
            min: ms(sorted[0]),
            mean: sorted.iter().sum::<u64>() as f64 / sorted.len() as f64 / 1000.0,
            p50: rank(50.0),
            p90: rank(90.0),
            p99: rank(99.0),
            max: ms(sorted[sorted.len() - 1]),
        });
        Summary {
            sent: self.sent,
            received: self.received(),
            lost: self.sent.saturating_sub(self.received()),
            duplicated: self.duplicated,
            reordered: self.reordered,
            rtt_ms,
            jitter_ms: self.jitter_us / 1000.0,
        }
    }
}

/// Round-trip times, ms.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Rtt {
    pub min: f64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

/// What a probe found.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Summary {
    pub sent: u64,
    pub received: u64,
    pub lost: u64,
    pub duplicated: u64,
    pub reordered: u64,
    /// `None` when nothing came back.
    pub rtt_ms: Option<Rtt>,
    pub jitter_ms: f64,
}

impl Summary {
    /// Lost, as a percentage of sent (exact to the figures above it).
    pub fn loss_percent(&self) -> f64 {
        if self.sent == 0 {
            0.0
        } else {
            self.lost as f64 * 100.0 / self.sent as f64
        }
    }
}

/// How to probe.
#[derive(Clone, Debug)]
pub struct ProbeOptions {
    pub count: u32,
    pub interval: Duration,
    /// UDP: datagram size (at least the header). TCP: ignored (the payload is sent as is).
    pub size: usize,
    /// What fills a UDP datagram after the header; the TCP request.
    pub payload: Vec<u8>,
    /// How long to wait for an answer after its request (TCP), or after the last request (UDP).
    pub timeout: Duration,
    /// Set to stop early: no more requests; the summary covers those sent.
    pub stop: Arc<AtomicBool>,
}

impl ProbeOptions {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Waits until `at` (a steady schedule: request i goes at start + i × interval, so a late
    /// one does not delay the rest), in short naps so a stop is heard; false when stopped.
    fn wait_until(&self, at: Instant) -> bool {
        loop {
            if self.stopped() {
                return false;
            }
            let now = Instant::now();
            if at <= now {
                return true;
            }
            std::thread::sleep((at - now).min(Duration::from_millis(50)));
        }
    }
}

/// A UDP probe against an echo at `target`; `on_answer` sees each answer as it comes.
pub fn udp(
    target: SocketAddr,
    options: &ProbeOptions,
    mut on_answer: impl FnMut(Answer),
) -> std::io::Result<Summary> {
    let bind: SocketAddr = if target.is_ipv6() {
        "[::]:0".parse().map_err(std::io::Error::other)?
    } else {
        "0.0.0.0:0".parse().map_err(std::io::Error::other)?
    };
    let socket = UdpSocket::bind(bind)?;
    socket.connect(target)?;
    let start = Instant::now();
    let us = |at: Instant| at.duration_since(start).as_micros() as u64;
    let mut tally = Tally::default();
    // Each request's send time by sequence number (None: its send failed).
    let mut sent_at: Vec<Option<u64>> = Vec::new();
    let mut buf = vec![0u8; 65_536];
    // Reads answers until `until` (what is waiting now, when that has passed), at most a burst:
    // a peer flooding the probe cannot keep it from its schedule. Only an answer to a request
    // sent, carrying that request's send time, counts: a forged or stray datagram does not.
    let mut receive = |tally: &mut Tally,
                       sent_at: &[Option<u64>],
                       until: Instant,
                       on_answer: &mut dyn FnMut(Answer)|
     -> std::io::Result<()> {
        // The socket's mode is set once a call, not once a datagram: a read waits at most what
        // was left at the start (the callers keep that short), and the burst ends once `until`
        // has passed.
        let left = until.saturating_duration_since(Instant::now());
        let drain = left.is_zero();
        socket.set_nonblocking(drain)?;
        if !drain {
            socket.set_read_timeout(Some(left))?;
        }
        for _ in 0..RECEIVE_BURST {
            // Nothing more in time, or a refusal (ICMP): not an answer either way.
            let Ok(n) = socket.recv(&mut buf) else {
                break;
            };
            if let Some((seq, echoed)) = parse(&buf[..n]) {
                let ours = sent_at.get(seq as usize).copied().flatten();
                if ours == Some(echoed) {
                    on_answer(tally.answer(seq, echoed, us(Instant::now())));
                }
            }
            if !drain && Instant::now() >= until {
                break;
            }
        }
        if drain {
            socket.set_nonblocking(false)?;
        }
        Ok(())
    };
    // Short waits, so a stop is heard whatever the interval.
    let nap = |until: Instant| until.min(Instant::now() + Duration::from_millis(50));
    'requests: for i in 0..options.count {
        let Some(due) = at(start, options.interval, i) else {
            break;
        };
        while Instant::now() < due {
            if options.stopped() {
                break 'requests;
            }
            receive(&mut tally, &sent_at, nap(due), &mut on_answer)?;
        }
        if options.stopped() {
            break;
        }
        let now_us = us(Instant::now());
        let packet = datagram(i, now_us, options.size, &options.payload);
        // A send that fails (no route, buffer full) is not counted as sent.
        let sent = socket.send(&packet).is_ok();
        sent_at.push(sent.then_some(now_us));
        tally.sent += u64::from(sent);
        receive(&mut tally, &sent_at, Instant::now(), &mut on_answer)?;
    }
    let deadline = after(options.timeout);
    while Instant::now() < deadline && tally.received() < tally.sent && !options.stopped() {
        receive(&mut tally, &sent_at, nap(deadline), &mut on_answer)?;
    }
    // Late duplicates of the last answers, briefly.
    let brief = Instant::now() + Duration::from_millis(5);
    receive(&mut tally, &sent_at, brief, &mut on_answer)?;
    Ok(tally.summary())
}

/// When request `i` is due (a steady schedule: start + i × interval, so a late one does not
/// delay the rest); None past what a clock can say (a huge interval: no more requests).
fn at(start: Instant, interval: Duration, i: u32) -> Option<Instant> {
    interval.checked_mul(i).and_then(|d| start.checked_add(d))
}

/// `wait` from now, or as far as the clock goes (a huge time limit waits, never overflows).
fn after(wait: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(wait)
        .unwrap_or_else(|| now + Duration::from_secs(1 << 30))
}

/// Datagrams read in one go at most (a flood is read in bursts between requests).
const RECEIVE_BURST: usize = 4096;

/// The latest bytes an expected pattern is looked for in, at least.
const EXPECT_WINDOW: usize = 64 << 10;

/// A TCP probe: each request waits for its answer — the first bytes back, or with `expect`
/// until what came since the request satisfies it — before the next.
pub fn tcp(
    target: SocketAddr,
    options: &ProbeOptions,
    expect: Option<&crate::payload::matcher::Matcher>,
    mut on_answer: impl FnMut(Answer),
) -> std::io::Result<Summary> {
    let mut stream = TcpStream::connect_timeout(&target, options.timeout)?;
    stream.set_nodelay(true)?;
    let start = Instant::now();
    let us = |at: Instant| at.duration_since(start).as_micros() as u64;
    let mut tally = Tally::default();
    let mut buf = vec![0u8; 65_536];
    for i in 0..options.count {
        let Some(due) = at(start, options.interval, i) else {
            break;
        };
        if !options.wait_until(due) {
            break;
        }
        // What came after an earlier request's time limit is that request's late answer: it
        // must not be taken for this one's.
        stream.set_nonblocking(true)?;
        while let Ok(n) = stream.read(&mut buf) {
            if n == 0 {
                return Ok(tally.summary());
            }
        }
        stream.set_nonblocking(false)?;
        let sent = us(Instant::now());
        stream.write_all(&options.payload)?;
        tally.sent += 1;
        let deadline = after(options.timeout);
        let mut got = Vec::new();
        loop {
            // Short waits, so a stop is heard while a silent peer keeps us waiting.
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || options.stopped() {
                break;
            }
            let left = left.min(Duration::from_millis(100));
            stream.set_read_timeout(Some(left))?;
            match stream.read(&mut buf) {
                Ok(0) => return Ok(tally.summary()),
                Ok(n) => {
                    got.extend_from_slice(&buf[..n]);
                    // A peer that floods without ever matching keeps only the latest bytes here.
                    if got.len() > EXPECT_WINDOW * 16 {
                        got.drain(..got.len() - EXPECT_WINDOW);
                    }
                    if expect.is_none_or(|m| m.matches(&got)) {
                        on_answer(tally.answer(i, sent, us(Instant::now())));
                        break;
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(tally.summary())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tally_counts_loss_duplicates_reordering_percentiles_and_jitter() {
        let mut t = Tally {
            sent: 10,
            ..Tally::default()
        };
        // Answers to 0..=7 (8 and 9 lost), 5 before 4, 2 twice; RTT 10 ms + seq ms.
        for seq in [0u32, 1, 2, 3, 5, 4, 6, 7] {
            let sent = u64::from(seq) * 100_000;
            t.answer(seq, sent, sent + 10_000 + u64::from(seq) * 1000);
        }
        assert_eq!(t.answer(2, 0, 1), Answer::Duplicate { seq: 2 });
        let s = t.summary();
        assert_eq!(
            (s.sent, s.received, s.lost, s.duplicated, s.reordered),
            (10, 8, 2, 1, 1)
        );
        assert_eq!(s.loss_percent(), 20.0);
        let rtt = s.rtt_ms.unwrap();
        assert_eq!((rtt.min, rtt.max), (10.0, 17.0));
        assert_eq!((rtt.p50, rtt.p90, rtt.p99), (13.0, 17.0, 17.0));
        assert_eq!(rtt.mean, 13.5);
        assert!(s.jitter_ms > 0.0 && s.jitter_ms < 2.0, "{}", s.jitter_ms);
        // Nothing back: no RTT figures at all, not zeros.
        assert_eq!(Tally::default().summary().rtt_ms, None);
    }

    #[test]
    fn a_probe_datagram_reads_back_and_anything_else_is_not_one() {
        let d = datagram(7, 123_456, 64, b"ab");
        assert_eq!(d.len(), 64);
        assert_eq!(parse(&d), Some((7, 123_456)));
        assert_eq!(&d[16..20], b"abab");
        assert_eq!(
            datagram(1, 2, 4, b"").len(),
            HEADER_LEN,
            "never shorter than its header"
        );
        assert_eq!(parse(b"SSP1 too short"), None);
        assert_eq!(parse(&[0u8; 32]), None);
    }
}
