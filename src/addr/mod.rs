//! Addresses as testers ask about them: class, special ranges, masks, subnets and ports.
//!
//! Pure functions (no I/O) except [`interfaces`], which lists this machine's addresses.

pub mod interfaces;
pub mod ports;
pub mod special;
pub mod subnet;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use special::{ipv6_multicast_global, ipv6_multicast_scope, ranges_of, RangeKind};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an address entry cannot be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AddrError {
    /// Nothing was typed.
    Empty,
    /// Not an IPv4 or IPv6 address.
    BadAddress(String),
    /// A prefix length beyond 32 (IPv4) or 128 (IPv6), or not a number.
    BadPrefix(String),
    /// A dotted mask whose one-bits are not contiguous (e.g. 255.0.255.0).
    BadMask(String),
    /// A dotted mask given with an IPv6 address.
    MaskForIpv6,
}

impl fmt::Display for AddrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => write!(f, "no address given"),
            Self::BadAddress(s) => write!(f, "'{s}' is not an IPv4 or IPv6 address"),
            Self::BadPrefix(s) => write!(
                f,
                "'{s}' is not a prefix length (0-32 for IPv4, 0-128 for IPv6)"
            ),
            Self::BadMask(s) => write!(
                f,
                "'{s}' is not a valid netmask: its one-bits must be contiguous from the left"
            ),
            Self::MaskForIpv6 => write!(f, "IPv6 takes a prefix length (/64), not a dotted mask"),
        }
    }
}

impl std::error::Error for AddrError {}

/// Where the prefix length came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PrefixSource {
    /// Typed by the user (as /N or a mask).
    Given,
    /// The classful mask of a class A, B or C address.
    Classful,
    /// /32 for class D and E, /64 for IPv6.
    Default,
}

/// The classful class of an IPv4 address (RFC 791; seed 000).
pub fn ipv4_class(ip: Ipv4Addr) -> char {
    match ip.octets()[0] {
        0..=127 => 'A',
        128..=191 => 'B',
        192..=223 => 'C',
        224..=239 => 'D',
        _ => 'E',
    }
}

/// The classful prefix: /8 for A, /16 for B, /24 for C; `None` for D and E.
pub fn classful_prefix(ip: Ipv4Addr) -> Option<u8> {
    match ipv4_class(ip) {
        'A' => Some(8),
        'B' => Some(16),
        'C' => Some(24),
        _ => None,
    }
}

/// Reads `ADDR`, `ADDR/PREFIX`, `ADDR/MASK` or `ADDR MASK`.
pub fn parse_input(input: &str) -> Result<(IpAddr, Option<u8>), AddrError> {
    let input = input.trim();
    if input.is_empty() {
        return Err(AddrError::Empty);
    }
    let (addr_text, prefix_text) = match input.split_once('/') {
        Some((a, p)) => (a.trim(), Some(p.trim())),
        None => match input.split_once(char::is_whitespace) {
            Some((a, p)) => (a.trim(), Some(p.trim())),
            None => (input, None),
        },
    };
    // A zone index (fe80::1%eth0) names an interface, not part of the address.
    let addr_text = addr_text.split('%').next().unwrap_or(addr_text);
    let ip: IpAddr = addr_text
        .parse()
        .map_err(|_| AddrError::BadAddress(addr_text.to_string()))?;
    let Some(p) = prefix_text else {
        return Ok((ip, None));
    };
    let max = if ip.is_ipv4() { 32 } else { 128 };
    if let Ok(n) = p.parse::<u8>() {
        if n <= max && p.bytes().all(|b| b.is_ascii_digit()) {
            return Ok((ip, Some(n)));
        }
        return Err(AddrError::BadPrefix(p.to_string()));
    }
    match (ip, p.parse::<Ipv4Addr>()) {
        (IpAddr::V4(_), Ok(mask)) => ipnet::ipv4_mask_to_prefix(mask)
            .map(|n| (ip, Some(n)))
            .map_err(|_| AddrError::BadMask(p.to_string())),
        (IpAddr::V6(_), Ok(_)) => Err(AddrError::MaskForIpv6),
        _ => Err(AddrError::BadPrefix(p.to_string())),
    }
}

/// The address's flags, as the JSON output names them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Flags {
    pub private: bool,
    pub loopback: bool,
    pub link_local: bool,
    pub multicast: bool,
    pub unspecified: bool,
    /// The limited broadcast, or the directed broadcast of its subnet (IPv4, prefix ≤ 30).
    pub broadcast: bool,
    pub documentation: bool,
    pub shared: bool,
    pub benchmarking: bool,
    pub reserved: bool,
    /// Reachable across the Internet (the registries' "Globally Reachable").
    pub global: bool,
}

/// A special range the address is in, for reports.
#[derive(Clone, Debug, serde::Serialize)]
pub struct RangeInfo {
    pub block: &'static str,
    pub name: &'static str,
    pub name_zh: &'static str,
    pub rfc: &'static str,
    pub global: bool,
}

/// Everything about one address with its prefix.
#[derive(Clone, Debug, serde::Serialize)]
pub struct AddrReport {
    pub input: String,
    pub address: String,
    pub version: u8,
    /// "A".."E" for IPv4, null for IPv6.
    pub class: Option<String>,
    pub prefix: u8,
    pub prefix_source: PrefixSource,
    pub netmask: String,
    pub wildcard: String,
    pub network: String,
    /// Null for IPv6.
    pub broadcast: Option<String>,
    pub first_host: String,
    pub last_host: String,
    /// Addresses in the prefix (decimal; IPv6 /0 exceeds u128).
    pub addresses: String,
    pub usable_hosts: String,
    /// Bits in groups: dotted octets (IPv4) or 16-bit groups (IPv6).
    pub binary: String,
    pub hex: String,
    pub integer: String,
    pub flags: Flags,
    pub ranges: Vec<RangeInfo>,
    /// Scope of a multicast address.
    pub multicast_scope: Option<String>,
}

/// 2^bits as a decimal string (bits up to 128).
pub fn pow2_string(bits: u32) -> String {
    if bits >= 128 {
        "340282366920938463463374607431768211456".to_string()
    } else {
        (1u128 << bits).to_string()
    }
}

fn binary_v4(ip: Ipv4Addr) -> String {
    ip.octets()
        .iter()
        .map(|o| format!("{o:08b}"))
        .collect::<Vec<_>>()
        .join(".")
}

fn binary_v6(ip: Ipv6Addr) -> String {
    ip.segments()
        .iter()
        .map(|s| format!("{s:016b}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Classifies an entry; see [`parse_input`] for the forms.
pub fn classify(input: &str) -> Result<AddrReport, AddrError> {
    let (ip, prefix) = parse_input(input)?;
    Ok(report(input.trim(), ip, prefix))
}

/// Builds the report of `ip` with an optional prefix (defaults as in [`PrefixSource`]).
pub fn report(input: &str, ip: IpAddr, prefix: Option<u8>) -> AddrReport {
    let ranges = ranges_of(ip);
    let has = |k: RangeKind| ranges.iter().any(|r| r.kind == k);
    let most_specific_global = ranges.last().is_none_or(|r| r.global);
    let mut flags = Flags {
        private: has(RangeKind::Private),
        loopback: has(RangeKind::Loopback),
        link_local: has(RangeKind::LinkLocal),
        multicast: has(RangeKind::Multicast),
        unspecified: ip.is_unspecified(),
        broadcast: has(RangeKind::Broadcast),
        documentation: has(RangeKind::Documentation),
        shared: has(RangeKind::Shared),
        benchmarking: has(RangeKind::Benchmarking),
        reserved: has(RangeKind::Reserved),
        global: most_specific_global,
    };
    let range_infos = ranges
        .iter()
        .map(|r| RangeInfo {
            block: r.block,
            name: r.name,
            name_zh: r.name_zh,
            rfc: r.rfc,
            global: r.global,
        })
        .collect();
    match ip {
        IpAddr::V4(v4) => {
            let (prefix, source) = match prefix {
                Some(p) => (p.min(32), PrefixSource::Given),
                None => match classful_prefix(v4) {
                    Some(p) => (p, PrefixSource::Classful),
                    None => (32, PrefixSource::Default),
                },
            };
            let net = Ipv4Net::new(v4, prefix).unwrap_or_default();
            let (network, broadcast) = (net.network(), net.broadcast());
            let (first, last, usable) = match prefix {
                32 => (v4, v4, 1u64),
                31 => (network, broadcast, 2),
                p => (
                    Ipv4Addr::from(u32::from(network) + 1),
                    Ipv4Addr::from(u32::from(broadcast) - 1),
                    (1u64 << (32 - p)) - 2,
                ),
            };
            if prefix <= 30 && v4 == broadcast {
                flags.broadcast = true;
            }
            AddrReport {
                input: input.to_string(),
                address: v4.to_string(),
                version: 4,
                class: Some(ipv4_class(v4).to_string()),
                prefix,
                prefix_source: source,
                netmask: net.netmask().to_string(),
                wildcard: net.hostmask().to_string(),
                network: network.to_string(),
                broadcast: Some(broadcast.to_string()),
                first_host: first.to_string(),
                last_host: last.to_string(),
                addresses: pow2_string(32 - prefix as u32),
                usable_hosts: usable.to_string(),
                binary: binary_v4(v4),
                hex: format!("0x{:08X}", u32::from(v4)),
                integer: u32::from(v4).to_string(),
                flags,
                ranges: range_infos,
                multicast_scope: special::ipv4_multicast_scope(v4).map(str::to_string),
            }
        }
        IpAddr::V6(v6) => {
            let (prefix, source) = match prefix {
                Some(p) => (p.min(128), PrefixSource::Given),
                None => (64, PrefixSource::Default),
            };
            let net = Ipv6Net::new(v6, prefix).unwrap_or_default();
            if v6.is_multicast() {
                flags.global = ipv6_multicast_global(v6);
            }
            let addresses = pow2_string(128 - prefix as u32);
            AddrReport {
                input: input.to_string(),
                address: v6.to_string(),
                version: 6,
                class: None,
                prefix,
                prefix_source: source,
                netmask: net.netmask().to_string(),
                wildcard: net.hostmask().to_string(),
                network: net.network().to_string(),
                broadcast: None,
                first_host: net.network().to_string(),
                last_host: net.broadcast().to_string(),
                usable_hosts: addresses.clone(),
                addresses,
                binary: binary_v6(v6),
                hex: format!("0x{:032X}", u128::from(v6)),
                integer: u128::from(v6).to_string(),
                flags,
                ranges: range_infos,
                multicast_scope: ipv6_multicast_scope(v6).map(str::to_string),
            }
        }
    }
}

/// The network of a report, for subnet operations.
pub fn network_of(ip: IpAddr, prefix: u8) -> IpNet {
    IpNet::new(ip, prefix)
        .map(|n| n.trunc())
        .unwrap_or_else(|_| IpNet::from(ip))
}
