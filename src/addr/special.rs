//! The IANA special-purpose address registries (RFC 6890 and the RFCs that added to them),
//! plus the multicast and classful ranges testers ask about.

use ipnet::{IpNet, Ipv4Net};
use std::net::IpAddr;

/// What a special range is, for the JSON flags and the panel's colours.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RangeKind {
    /// RFC 1918 private networks (and IPv6 unique local).
    Private,
    /// Loopback.
    Loopback,
    /// Link-local.
    LinkLocal,
    /// Unspecified (0.0.0.0, ::) and "this network".
    Unspecified,
    /// 255.255.255.255.
    Broadcast,
    /// Multicast.
    Multicast,
    /// Documentation (TEST-NET-1/2/3, 2001:db8::/32, 3fff::/20).
    Documentation,
    /// CGNAT shared address space 100.64.0.0/10.
    Shared,
    /// Benchmarking (198.18.0.0/15, 2001:2::/48).
    Benchmarking,
    /// Reserved for future use (240.0.0.0/4) and other reserved blocks.
    Reserved,
    /// Transition mechanisms: 6to4, Teredo, IPv4-mapped, NAT64.
    Transition,
    /// Protocol assignments and other special uses.
    Other,
}

/// One row of the registry.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct SpecialRange {
    /// The block, e.g. `10.0.0.0/8`.
    pub block: &'static str,
    /// English name as the registry gives it.
    pub name: &'static str,
    /// Chinese name.
    pub name_zh: &'static str,
    /// The defining RFC.
    pub rfc: &'static str,
    /// What it is.
    pub kind: RangeKind,
    /// Whether packets to it are forwarded across the Internet (the registry's "Globally
    /// Reachable").
    pub global: bool,
}

const fn r(
    block: &'static str,
    name: &'static str,
    name_zh: &'static str,
    rfc: &'static str,
    kind: RangeKind,
    global: bool,
) -> SpecialRange {
    SpecialRange {
        block,
        name,
        name_zh,
        rfc,
        kind,
        global,
    }
}

use RangeKind as K;

/// Every special range, most specific last within a family (lookups keep all matches).
pub static SPECIAL_RANGES: &[SpecialRange] = &[
    r(
        "0.0.0.0/8",
        "\"This network\"",
        "本网络",
        "RFC 791",
        K::Unspecified,
        false,
    ),
    r(
        "0.0.0.0/32",
        "\"This host on this network\" (unspecified)",
        "未指定地址(本机)",
        "RFC 1122",
        K::Unspecified,
        false,
    ),
    r(
        "10.0.0.0/8",
        "Private-Use",
        "私有地址",
        "RFC 1918",
        K::Private,
        false,
    ),
    r(
        "100.64.0.0/10",
        "Shared Address Space (CGNAT)",
        "共享地址(运营商级 NAT)",
        "RFC 6598",
        K::Shared,
        false,
    ),
    r(
        "127.0.0.0/8",
        "Loopback",
        "环回地址",
        "RFC 1122",
        K::Loopback,
        false,
    ),
    r(
        "169.254.0.0/16",
        "Link Local",
        "链路本地地址",
        "RFC 3927",
        K::LinkLocal,
        false,
    ),
    r(
        "172.16.0.0/12",
        "Private-Use",
        "私有地址",
        "RFC 1918",
        K::Private,
        false,
    ),
    r(
        "192.0.0.0/24",
        "IETF Protocol Assignments",
        "IETF 协议分配",
        "RFC 6890",
        K::Other,
        false,
    ),
    r(
        "192.0.0.0/29",
        "IPv4 Service Continuity Prefix",
        "IPv4 服务连续性前缀",
        "RFC 7335",
        K::Other,
        false,
    ),
    r(
        "192.0.0.8/32",
        "IPv4 dummy address",
        "IPv4 占位地址",
        "RFC 7600",
        K::Other,
        false,
    ),
    r(
        "192.0.0.9/32",
        "Port Control Protocol Anycast",
        "PCP 任播地址",
        "RFC 7723",
        K::Other,
        true,
    ),
    r(
        "192.0.0.10/32",
        "Traversal Using Relays around NAT Anycast",
        "TURN 任播地址",
        "RFC 8155",
        K::Other,
        true,
    ),
    r(
        "192.0.0.170/32",
        "NAT64/DNS64 Discovery",
        "NAT64/DNS64 发现",
        "RFC 8880",
        K::Other,
        false,
    ),
    r(
        "192.0.0.171/32",
        "NAT64/DNS64 Discovery",
        "NAT64/DNS64 发现",
        "RFC 8880",
        K::Other,
        false,
    ),
    r(
        "192.0.2.0/24",
        "Documentation (TEST-NET-1)",
        "文档示例 (TEST-NET-1)",
        "RFC 5737",
        K::Documentation,
        false,
    ),
    r(
        "192.31.196.0/24",
        "AS112-v4",
        "AS112-v4",
        "RFC 7535",
        K::Other,
        true,
    ),
    r("192.52.193.0/24", "AMT", "AMT", "RFC 7450", K::Other, true),
    r(
        "192.88.99.0/24",
        "Deprecated (6to4 Relay Anycast)",
        "已废弃(6to4 中继任播)",
        "RFC 7526",
        K::Transition,
        false,
    ),
    r(
        "192.168.0.0/16",
        "Private-Use",
        "私有地址",
        "RFC 1918",
        K::Private,
        false,
    ),
    r(
        "192.175.48.0/24",
        "Direct Delegation AS112 Service",
        "AS112 直接委派服务",
        "RFC 7534",
        K::Other,
        true,
    ),
    r(
        "198.18.0.0/15",
        "Benchmarking",
        "性能测试专用",
        "RFC 2544",
        K::Benchmarking,
        false,
    ),
    r(
        "198.51.100.0/24",
        "Documentation (TEST-NET-2)",
        "文档示例 (TEST-NET-2)",
        "RFC 5737",
        K::Documentation,
        false,
    ),
    r(
        "203.0.113.0/24",
        "Documentation (TEST-NET-3)",
        "文档示例 (TEST-NET-3)",
        "RFC 5737",
        K::Documentation,
        false,
    ),
    r(
        "224.0.0.0/4",
        "Multicast",
        "组播地址",
        "RFC 5771",
        K::Multicast,
        true,
    ),
    r(
        "224.0.0.0/24",
        "Multicast: Local Network Control Block (not forwarded)",
        "组播:本地网络控制块(不转发)",
        "RFC 5771",
        K::Multicast,
        false,
    ),
    r(
        "224.0.1.0/24",
        "Multicast: Internetwork Control Block",
        "组播:互联网控制块",
        "RFC 5771",
        K::Multicast,
        true,
    ),
    r(
        "232.0.0.0/8",
        "Multicast: Source-Specific Multicast",
        "组播:指定源组播",
        "RFC 4607",
        K::Multicast,
        true,
    ),
    r(
        "233.0.0.0/8",
        "Multicast: GLOP",
        "组播:GLOP",
        "RFC 3180",
        K::Multicast,
        true,
    ),
    r(
        "239.0.0.0/8",
        "Multicast: Administratively Scoped (organization-local)",
        "组播:管理范围(组织内部)",
        "RFC 2365",
        K::Multicast,
        false,
    ),
    r(
        "240.0.0.0/4",
        "Reserved (Class E)",
        "保留地址(E 类)",
        "RFC 1112",
        K::Reserved,
        false,
    ),
    r(
        "255.255.255.255/32",
        "Limited Broadcast",
        "受限广播地址",
        "RFC 8190",
        K::Broadcast,
        false,
    ),
    r(
        "::/128",
        "Unspecified Address",
        "未指定地址",
        "RFC 4291",
        K::Unspecified,
        false,
    ),
    r(
        "::1/128",
        "Loopback Address",
        "环回地址",
        "RFC 4291",
        K::Loopback,
        false,
    ),
    r(
        "::ffff:0:0/96",
        "IPv4-mapped Address",
        "IPv4 映射地址",
        "RFC 4291",
        K::Transition,
        false,
    ),
    r(
        "64:ff9b::/96",
        "IPv4-IPv6 Translation (NAT64)",
        "IPv4/IPv6 转换 (NAT64)",
        "RFC 6052",
        K::Transition,
        true,
    ),
    r(
        "64:ff9b:1::/48",
        "IPv4-IPv6 Translation (local-use NAT64)",
        "IPv4/IPv6 转换(本地 NAT64)",
        "RFC 8215",
        K::Transition,
        false,
    ),
    r(
        "100::/64",
        "Discard-Only Address Block",
        "仅丢弃地址块",
        "RFC 6666",
        K::Other,
        false,
    ),
    r(
        "2001::/23",
        "IETF Protocol Assignments",
        "IETF 协议分配",
        "RFC 2928",
        K::Other,
        false,
    ),
    r(
        "2001::/32",
        "TEREDO",
        "Teredo 隧道",
        "RFC 4380",
        K::Transition,
        false,
    ),
    r(
        "2001:2::/48",
        "Benchmarking",
        "性能测试专用",
        "RFC 5180",
        K::Benchmarking,
        false,
    ),
    r(
        "2001:db8::/32",
        "Documentation",
        "文档示例",
        "RFC 3849",
        K::Documentation,
        false,
    ),
    r(
        "2002::/16",
        "6to4",
        "6to4 隧道",
        "RFC 3056",
        K::Transition,
        false,
    ),
    r(
        "3fff::/20",
        "Documentation",
        "文档示例",
        "RFC 9637",
        K::Documentation,
        false,
    ),
    r(
        "fc00::/7",
        "Unique-Local",
        "唯一本地地址(私有)",
        "RFC 4193",
        K::Private,
        false,
    ),
    r(
        "fe80::/10",
        "Link-Local Unicast",
        "链路本地地址",
        "RFC 4291",
        K::LinkLocal,
        false,
    ),
    r(
        "ff00::/8",
        "Multicast",
        "组播地址",
        "RFC 4291",
        K::Multicast,
        true,
    ),
];

impl SpecialRange {
    /// The block as a network.
    pub fn net(&self) -> IpNet {
        self.block.parse().unwrap_or_else(|_| {
            // The table is fixed text checked by a test; never reached.
            IpNet::V4(Ipv4Net::default())
        })
    }
}

/// Every special range `ip` falls in, widest first.
pub fn ranges_of(ip: IpAddr) -> Vec<&'static SpecialRange> {
    let mut found: Vec<&SpecialRange> = SPECIAL_RANGES
        .iter()
        .filter(|r| r.net().contains(&ip))
        .collect();
    found.sort_by_key(|r| r.net().prefix_len());
    found
}

/// The scope of an IPv6 multicast address (RFC 4291 §2.7, RFC 7346), in English.
pub fn ipv6_multicast_scope(ip: std::net::Ipv6Addr) -> Option<&'static str> {
    if !ip.is_multicast() {
        return None;
    }
    Some(match ip.segments()[0] & 0xF {
        0x1 => "interface-local",
        0x2 => "link-local",
        0x3 => "realm-local",
        0x4 => "admin-local",
        0x5 => "site-local",
        0x8 => "organization-local",
        0xE => "global",
        _ => "reserved/unassigned",
    })
}

/// The scope of an IPv4 multicast address (RFC 5771, RFC 2365), in English.
pub fn ipv4_multicast_scope(ip: std::net::Ipv4Addr) -> Option<&'static str> {
    if !ip.is_multicast() {
        return None;
    }
    let o = ip.octets();
    Some(match (o[0], o[1], o[2]) {
        (224, 0, 0) => "link-local (local network control, never forwarded)",
        (239, 255, _) => "site-local (administratively scoped)",
        (239, 192..=195, _) => "organization-local (administratively scoped)",
        (239, _, _) => "administratively scoped",
        (232, _, _) => "global (source-specific)",
        _ => "global",
    })
}

/// Is an IPv6 multicast address forwarded across the Internet (global scope)?
pub(crate) fn ipv6_multicast_global(ip: std::net::Ipv6Addr) -> bool {
    ipv6_multicast_scope(ip) == Some("global")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_block_parses_and_is_its_own_network() {
        for r in SPECIAL_RANGES {
            let net: IpNet = r.block.parse().unwrap_or_else(|_| panic!("{}", r.block));
            assert_eq!(net, net.trunc(), "{} has host bits", r.block);
        }
    }
}
