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

/// The ones' complement sum used by IPv4, TCP and UDP checksums.
fn ones_sum(mut sum: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for pair in &mut chunks {
        sum += u32::from(u16::from_be_bytes([pair[0], pair[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    sum
}

fn fold(mut sum: u32) -> u16 {
    while sum > 0xFFFF {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    !(sum as u16)
}

/// An Ethernet frame holding an IP packet from `src` to `dst` with `proto`'s `segment`
/// (a TCP or UDP header and payload, its checksum field at `checksum_at` filled in here).
fn frame(
    src: SocketAddr,
    dst: SocketAddr,
    proto: u8,
    mut segment: Vec<u8>,
    checksum_at: usize,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(segment.len() + 54);
    // Locally administered MAC addresses: 02:00:00:00:00:01 → …:02, never a real card's.
    out.extend_from_slice(&[2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1]);
    let len = segment.len();
    match (src.ip(), dst.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            out.extend_from_slice(&0x0800u16.to_be_bytes());
            let mut pseudo = ones_sum(0, &s.octets());
            pseudo = ones_sum(pseudo, &d.octets());
            pseudo += u32::from(proto) + len as u32;
            let sum = fold(ones_sum(pseudo, &segment));
            segment[checksum_at..checksum_at + 2].copy_from_slice(&sum.to_be_bytes());
            let mut ip = vec![0x45, 0];
            ip.extend_from_slice(&((20 + len) as u16).to_be_bytes());
            ip.extend_from_slice(&[0, 0, 0x40, 0, 64, proto, 0, 0]);
            ip.extend_from_slice(&s.octets());
            ip.extend_from_slice(&d.octets());
            let sum = fold(ones_sum(0, &ip));
            ip[10..12].copy_from_slice(&sum.to_be_bytes());
            out.extend_from_slice(&ip);
        }
        (s, d) => {
            // Mixed families do not happen on one socket; IPv4-mapped addresses become IPv6.
            let v6 = |ip: IpAddr| match ip {
                IpAddr::V4(v4) => v4.to_ipv6_mapped(),
                IpAddr::V6(v6) => v6,
            };
            let (s, d) = (v6(s), v6(d));
            out.extend_from_slice(&0x86DDu16.to_be_bytes());
            let mut pseudo = ones_sum(0, &s.octets());
            pseudo = ones_sum(pseudo, &d.octets());
            pseudo += u32::from(proto) + len as u32;
            let sum = fold(ones_sum(pseudo, &segment));
            segment[checksum_at..checksum_at + 2].copy_from_slice(&sum.to_be_bytes());
            out.extend_from_slice(&[0x60, 0, 0, 0]);
            out.extend_from_slice(&(len as u16).to_be_bytes());
            out.extend_from_slice(&[proto, 64]);
            out.extend_from_slice(&s.octets());
            out.extend_from_slice(&d.octets());
        }
    }
    out.extend_from_slice(&segment);
    out
}

fn udp_segment(src: SocketAddr, dst: SocketAddr, payload: &[u8]) -> Vec<u8> {
    let mut seg = Vec::with_capacity(8 + payload.len());
    seg.extend_from_slice(&src.port().to_be_bytes());
    seg.extend_from_slice(&dst.port().to_be_bytes());
    seg.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    seg.extend_from_slice(&[0, 0]);
    seg.extend_from_slice(payload);
    seg
}

const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const PSH: u8 = 0x08;
const ACK: u8 = 0x10;

fn tcp_segment(
    src: SocketAddr,
    dst: SocketAddr,
    seq: u32,
    ack: u32,
    flags: u8,
    payload: &[u8],
) -> Vec<u8> {
    let mut seg = Vec::with_capacity(20 + payload.len());
    seg.extend_from_slice(&src.port().to_be_bytes());
    seg.extend_from_slice(&dst.port().to_be_bytes());
    seg.extend_from_slice(&seq.to_be_bytes());
    seg.extend_from_slice(&ack.to_be_bytes());
    seg.extend_from_slice(&[0x50, flags, 0xFF, 0xFF, 0, 0, 0, 0]);
    seg.extend_from_slice(payload);
    seg
}

fn micros(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

impl<W: Write> PcapngWriter<W> {
    /// Starts a capture: the section (with a comment saying what it is) and one interface.
    pub fn new(mut out: W, interface: &str) -> io::Result<Self> {
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
        option(&mut idb, 2, interface.as_bytes());
        // Timestamps in microseconds (the default resolution, said anyway).
        option(&mut idb, 9, &[6]);
        option(&mut idb, 0, &[]);
        block(&mut out, IDB, &idb)?;
        Ok(Self {
            out,
            flows: HashMap::new(),
        })
    }

    fn packet(&mut self, time: SystemTime, data: &[u8]) -> io::Result<()> {
        let ts = micros(time);
        let mut epb = Vec::with_capacity(data.len() + 24);
        epb.extend_from_slice(&0u32.to_le_bytes());
        epb.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
        epb.extend_from_slice(&(ts as u32).to_le_bytes());
        epb.extend_from_slice(&(data.len() as u32).to_le_bytes());
        epb.extend_from_slice(&(data.len() as u32).to_le_bytes());
        epb.extend_from_slice(data);
        epb.resize(epb.len() + pad4(data.len()), 0);
        block(&mut self.out, EPB, &epb)
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
        let frame = frame(src, dst, 17, udp_segment(src, dst, payload), 6);
        self.packet(time, &frame)
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
            let f = frame(src, dst, 6, tcp_segment(src, dst, seq, ack, flags, &[]), 16);
            self.packet(time, &f)?;
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
            let f = frame(
                src,
                dst,
                6,
                tcp_segment(src, dst, seq, ack, PSH | ACK, piece),
                16,
            );
            self.packet(time, &f)?;
        }
        Ok(())
    }

    /// A TCP connection ended: a FIN each way.
    pub fn tcp_close(
        &mut self,
        time: SystemTime,
        local: SocketAddr,
        peer: SocketAddr,
    ) -> io::Result<()> {
        let Some(flow) = self.flows.remove(&(local, peer)) else {
            return Ok(());
        };
        for (src, dst, seq, ack) in [
            (local, peer, flow.local_seq, flow.peer_seq),
            (peer, local, flow.peer_seq, flow.local_seq.wrapping_add(1)),
        ] {
            let f = frame(
                src,
                dst,
                6,
                tcp_segment(src, dst, seq, ack, FIN | ACK, &[]),
                16,
            );
            self.packet(time, &f)?;
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
        let f = frame(a, b, 6, tcp_segment(a, b, 7, 9, PSH | ACK, b"odd"), 16);
        let ip = &f[14..34];
        assert_eq!(fold(ones_sum(0, ip)), 0, "IPv4 header");
        let seg = &f[34..];
        let mut pseudo = ones_sum(0, &ip[12..20]);
        pseudo += 6 + seg.len() as u32;
        assert_eq!(fold(ones_sum(pseudo, seg)), 0, "TCP over IPv4");
        let a6: SocketAddr = "[2001:db8::1]:5000".parse().unwrap();
        let b6: SocketAddr = "[2001:db8::2]:53".parse().unwrap();
        let f = frame(a6, b6, 17, udp_segment(a6, b6, b"abc"), 6);
        let ip = &f[14..54];
        let seg = &f[54..];
        let mut pseudo = ones_sum(0, &ip[8..40]);
        pseudo += 17 + seg.len() as u32;
        assert_eq!(fold(ones_sum(pseudo, seg)), 0, "UDP over IPv6");
    }
}
