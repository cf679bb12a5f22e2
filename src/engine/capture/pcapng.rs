//! A capture of what a session sent and received, as a pcapng file Wireshark opens: synthesized
//! Ethernet, IPv4/IPv6 and TCP or UDP headers with the real addresses, ports and timestamps, and
//! TCP sequence numbers that follow the bytes (a handshake at a connection's start, a FIN at its
//! end), so "Follow TCP stream" shows the conversation.
//!
//! Only payload bytes are known here (the engine reads a stream, not packets): segment
//! boundaries are the reads and writes, not what crossed the wire. The capture says so in its
//! section comment.

use std::collections::HashMap;
use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr};
use std::time::{SystemTime, UNIX_EPOCH};

const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 1;
const EPB: u32 = 6;
const LINKTYPE_ETHERNET: u16 = 1;
/// Largest payload per synthesized segment (IPv4 total length fits in 16 bits).
const MAX_SEGMENT: usize = 65_000;

/// Which way bytes went, seen from the session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Way {
    Sent,
    Received,
}

/// One TCP connection's sequence numbers, each way.
#[derive(Clone, Copy, Debug)]
struct TcpFlow {
    /// Next sequence number of the local side, and of the peer.
    local_seq: u32,
    peer_seq: u32,
}

/// Writes a capture as events come.
pub struct PcapngWriter<W: Write> {
    out: W,
    flows: HashMap<(SocketAddr, SocketAddr), TcpFlow>,
    /// One packet's block and frame headers, reused for every packet.
    head: Vec<u8>,
}

fn pad4(n: usize) -> usize {
    (4 - n % 4) % 4
}

/// An option: code, value, padding.
fn option(buf: &mut Vec<u8>, code: u16, value: &[u8]) {
    buf.extend_from_slice(&code.to_le_bytes());
    buf.extend_from_slice(&(value.len() as u16).to_le_bytes());
    buf.extend_from_slice(value);
    buf.resize(buf.len() + pad4(value.len()), 0);
}

fn block(out: &mut impl Write, kind: u32, body: &[u8]) -> io::Result<()> {
    let total = (12 + body.len()) as u32;
    out.write_all(&kind.to_le_bytes())?;
    out.write_all(&total.to_le_bytes())?;
    out.write_all(body)?;
    out.write_all(&total.to_le_bytes())
}

/// The ones' complement sum used by IPv4, TCP and UDP checksums, not yet folded: 32-bit words
/// summed into 64 bits (2^16 ≡ 1 modulo 0xFFFF, so folding gives the 16-bit word sum). Parts of
/// one checksum can be summed apart and added when every part but the last has an even length.
fn ones_sum(data: &[u8]) -> u64 {
    let mut sum = 0u64;
    let mut words = data.chunks_exact(4);
    for w in &mut words {
        sum += u64::from(u32::from_be_bytes([w[0], w[1], w[2], w[3]]));
    }
    let rest = words.remainder();
    let mut pairs = rest.chunks_exact(2);
    for pair in &mut pairs {
        sum += u64::from(u16::from_be_bytes([pair[0], pair[1]]));
    }
    if let [last] = pairs.remainder() {
        sum += u64::from(*last) << 8;
    }
    sum
}

fn fold(mut sum: u64) -> u16 {
    while sum > 0xFFFF {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    !(sum as u16)
}

/// A TCP or UDP header (its checksum field zero) from `src` to `dst`.
enum Transport {
    Udp,
    Tcp { seq: u32, ack: u32, flags: u8 },
}

impl Transport {
    fn proto(&self) -> u8 {
        match self {
            Transport::Udp => 17,
            Transport::Tcp { .. } => 6,
        }
    }

    fn header_len(&self) -> usize {
        match self {
            Transport::Udp => 8,
            Transport::Tcp { .. } => 20,
        }
    }

    /// Appends the header for `payload_len` bytes; returns where its checksum field is.
    fn write(
        &self,
        buf: &mut Vec<u8>,
        src: SocketAddr,
        dst: SocketAddr,
        payload_len: usize,
    ) -> usize {
        let at = buf.len();
        buf.extend_from_slice(&src.port().to_be_bytes());
        buf.extend_from_slice(&dst.port().to_be_bytes());
        match self {
            Transport::Udp => {
                buf.extend_from_slice(&((8 + payload_len) as u16).to_be_bytes());
                buf.extend_from_slice(&[0, 0]);
                at + 6
            }
            Transport::Tcp { seq, ack, flags } => {
                buf.extend_from_slice(&seq.to_be_bytes());
                buf.extend_from_slice(&ack.to_be_bytes());
                buf.extend_from_slice(&[0x50, *flags, 0xFF, 0xFF, 0, 0, 0, 0]);
                at + 16
            }
        }
    }
}

/// Appends to `buf` the Ethernet, IP and `transport` headers of a packet from `src` to `dst`
/// carrying `payload` (which is only read, for the checksum: the caller writes it after).
fn headers(
    buf: &mut Vec<u8>,
    src: SocketAddr,
    dst: SocketAddr,
    transport: &Transport,
    payload: &[u8],
) {
    // Locally administered MAC addresses: 02:00:00:00:00:01 → …:02, never a real card's.
    buf.extend_from_slice(&[2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1]);
    let len = transport.header_len() + payload.len();
    let proto = transport.proto();
    let pseudo = match (src.ip(), dst.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            buf.extend_from_slice(&0x0800u16.to_be_bytes());
            let ip_at = buf.len();
            buf.extend_from_slice(&[0x45, 0]);
            buf.extend_from_slice(&((20 + len) as u16).to_be_bytes());
            buf.extend_from_slice(&[0, 0, 0x40, 0, 64, proto, 0, 0]);
            buf.extend_from_slice(&s.octets());
            buf.extend_from_slice(&d.octets());
            let sum = fold(ones_sum(&buf[ip_at..]));
            buf[ip_at + 10..ip_at + 12].copy_from_slice(&sum.to_be_bytes());
            ones_sum(&s.octets()) + ones_sum(&d.octets())
        }
        (s, d) => {
            // Mixed families do not happen on one socket; IPv4-mapped addresses become IPv6.
            let v6 = |ip: IpAddr| match ip {
                IpAddr::V4(v4) => v4.to_ipv6_mapped(),
                IpAddr::V6(v6) => v6,
            };
            let (s, d) = (v6(s), v6(d));
            buf.extend_from_slice(&0x86DDu16.to_be_bytes());
            buf.extend_from_slice(&[0x60, 0, 0, 0]);
            buf.extend_from_slice(&(len as u16).to_be_bytes());
            buf.extend_from_slice(&[proto, 64]);
            buf.extend_from_slice(&s.octets());
            buf.extend_from_slice(&d.octets());
            ones_sum(&s.octets()) + ones_sum(&d.octets())
        }
    };
    let l4_at = buf.len();
    let checksum_at = transport.write(buf, src, dst, payload.len());
    let sum = pseudo + u64::from(proto) + len as u64 + ones_sum(&buf[l4_at..]) + ones_sum(payload);
    buf[checksum_at..checksum_at + 2].copy_from_slice(&fold(sum).to_be_bytes());
}

const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const PSH: u8 = 0x08;
const ACK: u8 = 0x10;

fn micros(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

impl<W: Write> PcapngWriter<W> {
    /// Starts a capture: the section (with a comment saying what it is) and one interface named
    /// after the session (`session`: what it is and where, e.g. "TCP client 127.0.0.1:502").
    pub fn new(mut out: W, session: &str) -> io::Result<Self> {
        let mut shb = Vec::new();
        shb.extend_from_slice(&0x1A2B_3C4Du32.to_le_bytes());
        shb.extend_from_slice(&1u16.to_le_bytes());
        shb.extend_from_slice(&0u16.to_le_bytes());
        shb.extend_from_slice(&(-1i64).to_le_bytes());
        option(
            &mut shb,
            1,
            b"SockScope capture: headers synthesized from what the session sent and received; \
              segments are its reads and writes",
        );
        option(&mut shb, 4, b"SockScope");
        option(&mut shb, 0, &[]);
        block(&mut out, SHB, &shb)?;
        let mut idb = Vec::new();
        idb.extend_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
        idb.extend_from_slice(&0u16.to_le_bytes());
        idb.extend_from_slice(&0u32.to_le_bytes());
        option(&mut idb, 2, session.as_bytes());
        option(
            &mut idb,
            3,
            b"SockScope session: packets synthesized from its reads and writes, not a network card",
        );
        // Timestamps in microseconds (the default resolution, said anyway).
        option(&mut idb, 9, &[6]);
        option(&mut idb, 0, &[]);
        block(&mut out, IDB, &idb)?;
        Ok(Self {
            out,
            flows: HashMap::new(),
            head: Vec::with_capacity(128),
        })
    }

    /// Writes one packet from `src` to `dst`: the block and frame headers are built in one
    /// reused buffer, the payload goes to the output as it is (never copied here).
    fn packet(
        &mut self,
        time: SystemTime,
        src: SocketAddr,
        dst: SocketAddr,
        transport: Transport,
        payload: &[u8],
    ) -> io::Result<()> {
        let ts = micros(time);
        let head = &mut self.head;
        head.clear();
        // Block type and length, then the Enhanced Packet Block's fields; lengths set below.
        head.extend_from_slice(&EPB.to_le_bytes());
        head.extend_from_slice(&[0; 4]);
        head.extend_from_slice(&0u32.to_le_bytes());
        head.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
        head.extend_from_slice(&(ts as u32).to_le_bytes());
        head.extend_from_slice(&[0; 8]);
        headers(head, src, dst, &transport, payload);
        let frame_len = head.len() - 28 + payload.len();
        let pad = pad4(frame_len);
        let total = (28 + frame_len + pad + 4) as u32;
        head[4..8].copy_from_slice(&total.to_le_bytes());
        head[20..24].copy_from_slice(&(frame_len as u32).to_le_bytes());
        head[24..28].copy_from_slice(&(frame_len as u32).to_le_bytes());
        self.out.write_all(head)?;
        self.out.write_all(payload)?;
        let mut tail = [0u8; 7];
        tail[pad..pad + 4].copy_from_slice(&total.to_le_bytes());
        self.out.write_all(&tail[..pad + 4])
    }

    /// A UDP datagram between the session's `local` address and `peer`.
    pub fn udp(
        &mut self,
        time: SystemTime,
        way: Way,
        local: SocketAddr,
        peer: SocketAddr,
        payload: &[u8],
    ) -> io::Result<()> {
        let (src, dst) = match way {
            Way::Sent => (local, peer),
            Way::Received => (peer, local),
        };
        // A datagram over the IPv4 limit is cut to it (it could not have been sent whole).
        let payload = &payload[..payload.len().min(MAX_SEGMENT)];
        self.packet(time, src, dst, Transport::Udp, payload)
    }

    /// A TCP connection opened: its handshake (the side that connected sends the SYN).
    pub fn tcp_open(
        &mut self,
        time: SystemTime,
        local: SocketAddr,
        peer: SocketAddr,
        we_connected: bool,
    ) -> io::Result<()> {
        let flow = TcpFlow {
            local_seq: 1_000,
            peer_seq: 5_000,
        };
        self.flows.insert((local, peer), flow);
        let (a, b, a_seq, b_seq) = if we_connected {
            (local, peer, flow.local_seq, flow.peer_seq)
        } else {
            (peer, local, flow.peer_seq, flow.local_seq)
        };
        for (src, dst, seq, ack, flags) in [
            (a, b, a_seq.wrapping_sub(1), 0, SYN),
            (b, a, b_seq.wrapping_sub(1), a_seq, SYN | ACK),
            (a, b, a_seq, b_seq, ACK),
        ] {
            self.packet(time, src, dst, Transport::Tcp { seq, ack, flags }, &[])?;
        }
        Ok(())
    }

    /// Bytes on a TCP connection (opened with [`Self::tcp_open`], or opened now if not).
    pub fn tcp_data(
        &mut self,
        time: SystemTime,
        way: Way,
        local: SocketAddr,
        peer: SocketAddr,
        payload: &[u8],
    ) -> io::Result<()> {
        if !self.flows.contains_key(&(local, peer)) {
            self.tcp_open(time, local, peer, way == Way::Sent)?;
        }
        for piece in payload.chunks(MAX_SEGMENT) {
            let Some(flow) = self.flows.get_mut(&(local, peer)) else {
                return Ok(());
            };
            let (src, dst, seq, ack) = match way {
                Way::Sent => (local, peer, flow.local_seq, flow.peer_seq),
                Way::Received => (peer, local, flow.peer_seq, flow.local_seq),
            };
            match way {
                Way::Sent => flow.local_seq = flow.local_seq.wrapping_add(piece.len() as u32),
                Way::Received => flow.peer_seq = flow.peer_seq.wrapping_add(piece.len() as u32),
            }
            let flags = PSH | ACK;
            self.packet(time, src, dst, Transport::Tcp { seq, ack, flags }, piece)?;
        }
        Ok(())
    }

    /// Bytes of a TCP connection that were not captured (`sent`, `received`): the sequence
    /// numbers move past them, so what follows is where it was on the wire.
    pub fn tcp_skip(&mut self, local: SocketAddr, peer: SocketAddr, sent: u64, received: u64) {
        if let Some(flow) = self.flows.get_mut(&(local, peer)) {
            // Sequence numbers are modulo 2^32: so is what they skip.
            flow.local_seq = flow.local_seq.wrapping_add(sent as u32);
            flow.peer_seq = flow.peer_seq.wrapping_add(received as u32);
        }
    }

    /// A TCP connection ended: a FIN each way and the last ACK.
    pub fn tcp_close(
        &mut self,
        time: SystemTime,
        local: SocketAddr,
        peer: SocketAddr,
    ) -> io::Result<()> {
        let Some(flow) = self.flows.remove(&(local, peer)) else {
            return Ok(());
        };
        let (local_fin, peer_fin) = (flow.local_seq, flow.peer_seq);
        for (src, dst, seq, ack, flags) in [
            (local, peer, local_fin, peer_fin, FIN | ACK),
            (peer, local, peer_fin, local_fin.wrapping_add(1), FIN | ACK),
            (
                local,
                peer,
                local_fin.wrapping_add(1),
                peer_fin.wrapping_add(1),
                ACK,
            ),
        ] {
            self.packet(time, src, dst, Transport::Tcp { seq, ack, flags }, &[])?;
        }
        Ok(())
    }

    /// Writes out what is buffered.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The checksums written verify: summed with their field in place they fold to zero.
    #[test]
    fn ip_tcp_and_udp_checksums_verify() {
        let a: SocketAddr = "192.0.2.1:5000".parse().unwrap();
        let b: SocketAddr = "192.0.2.9:502".parse().unwrap();
        let tcp = Transport::Tcp {
            seq: 7,
            ack: 9,
            flags: PSH | ACK,
        };
        // Odd payload lengths, and one past a 4-byte word, exercise every remainder.
        for payload in [&b"odd"[..], b"", b"a", b"12345", b"123456"] {
            let mut f = Vec::new();
            headers(&mut f, a, b, &tcp, payload);
            f.extend_from_slice(payload);
            let ip = &f[14..34];
            assert_eq!(fold(ones_sum(ip)), 0, "IPv4 header");
            let seg = &f[34..];
            let pseudo = ones_sum(&ip[12..20]) + 6 + seg.len() as u64;
            assert_eq!(
                fold(pseudo + ones_sum(seg)),
                0,
                "TCP over IPv4, {payload:?}"
            );
        }
        let a6: SocketAddr = "[2001:db8::1]:5000".parse().unwrap();
        let b6: SocketAddr = "[2001:db8::2]:53".parse().unwrap();
        let mut f = Vec::new();
        headers(&mut f, a6, b6, &Transport::Udp, b"abc");
        f.extend_from_slice(b"abc");
        let ip = &f[14..54];
        let seg = &f[54..];
        let pseudo = ones_sum(&ip[8..40]) + 17 + seg.len() as u64;
        assert_eq!(fold(pseudo + ones_sum(seg)), 0, "UDP over IPv6");
    }

    /// The word-at-a-time sum equals the textbook 16-bit sum.
    #[test]
    fn ones_sum_matches_the_plain_16_bit_sum() {
        let data: Vec<u8> = (0..1001u32).map(|i| (i * 37 % 251) as u8).collect();
        for len in [0, 1, 2, 3, 4, 5, 7, 8, 999, 1001] {
            let d = &data[..len];
            let mut plain = 0u64;
            for pair in d.chunks(2) {
                plain += u64::from(pair[0]) << 8 | u64::from(*pair.get(1).unwrap_or(&0));
            }
            assert_eq!(fold(ones_sum(d)), fold(plain), "{len} bytes");
        }
    }
}
