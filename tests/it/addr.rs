//! Address classification against the RFCs' own ranges, boundaries and examples, the CLI's JSON,
//! and properties of the subnet arithmetic.

use assert_cmd::Command as Cmd;
use ipnet::IpNet;
use proptest::prelude::*;
use sockscope::addr::subnet::{
    next_subnet, prefix_for_count, previous_subnet, same_subnet, split_to_prefix,
};
use sockscope::addr::{classify, AddrError, PrefixSource};
use std::net::{IpAddr, Ipv4Addr};

/// (input, flag that must be set, expected global) for the first and last address of each
/// special range of RFC 6890 and its successors.
const RANGE_CASES: &[(&str, &str, bool)] = &[
    ("0.0.0.0", "unspecified", false),
    ("10.0.0.0", "private", false),
    ("10.255.255.255", "private", false),
    ("172.16.0.0", "private", false),
    ("172.31.255.255", "private", false),
    ("192.168.0.0", "private", false),
    ("192.168.255.255", "private", false),
    ("100.64.0.0", "shared", false),
    ("100.127.255.255", "shared", false),
    ("127.0.0.0", "loopback", false),
    ("127.255.255.255", "loopback", false),
    ("169.254.0.0", "link_local", false),
    ("169.254.255.255", "link_local", false),
    ("192.0.2.0", "documentation", false),
    ("192.0.2.255", "documentation", false),
    ("198.51.100.0", "documentation", false),
    ("203.0.113.255", "documentation", false),
    ("198.18.0.0", "benchmarking", false),
    ("198.19.255.255", "benchmarking", false),
    ("224.0.0.1", "multicast", false),
    ("224.0.1.1", "multicast", true),
    ("239.255.255.255", "multicast", false),
    ("240.0.0.0", "reserved", false),
    ("255.255.255.254", "reserved", false),
    ("255.255.255.255", "broadcast", false),
    ("::", "unspecified", false),
    ("::1", "loopback", false),
    ("fe80::", "link_local", false),
    (
        "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        "link_local",
        false,
    ),
    ("fc00::", "private", false),
    ("fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "private", false),
    ("2001:db8::", "documentation", false),
    (
        "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
        "documentation",
        false,
    ),
    ("3fff::1", "documentation", false),
    ("2001:2::1", "benchmarking", false),
    ("ff02::1", "multicast", false),
    ("ff0e::1", "multicast", true),
];

#[test]
fn special_ranges_first_and_last_addresses() {
    for (input, flag, global) in RANGE_CASES {
        let r = classify(input).unwrap();
        let flags = serde_json::to_value(r.flags).unwrap();
        assert_eq!(flags[*flag], true, "{input} should be {flag}: {flags}");
        assert_eq!(r.flags.global, *global, "{input} global");
    }
}

#[test]
fn just_outside_the_ranges_is_ordinary_and_global() {
    for input in [
        "9.255.255.255",
        "11.0.0.0",
        "172.15.255.255",
        "172.32.0.0",
        "192.167.255.255",
        "192.169.0.0",
        "100.63.255.255",
        "100.128.0.0",
        "169.253.255.255",
        "198.17.255.255",
        "198.20.0.0",
        "1.1.1.1",
        "8.8.8.8",
        "223.255.255.255",
        "2001:4860::8888",
        "2400:cb00::1",
    ] {
        let r = classify(input).unwrap();
        assert!(r.flags.global, "{input} is global");
        assert!(
            r.ranges.is_empty(),
            "{input} is in no special range: {:?}",
            r.ranges
        );
    }
}

#[test]
fn transition_and_protocol_ranges_name_their_rfc() {
    let cases = [
        ("2002:c000:0204::1", "RFC 3056"),
        ("2001:0:4136:e378::1", "RFC 4380"),
        ("::ffff:192.168.1.1", "RFC 4291"),
        ("64:ff9b::c000:221", "RFC 6052"),
        ("192.0.0.9", "RFC 7723"),
        ("192.88.99.1", "RFC 7526"),
    ];
    for (input, rfc) in cases {
        let r = classify(input).unwrap();
        assert_eq!(r.ranges.last().unwrap().rfc, rfc, "{input}");
    }
    assert!(
        classify("64:ff9b::c000:221").unwrap().flags.global,
        "NAT64 is global"
    );
    assert!(
        classify("192.0.0.9").unwrap().flags.global,
        "PCP anycast is global"
    );
    assert!(!classify("192.0.0.1").unwrap().flags.global);
}

#[test]
fn classes_and_classful_masks_as_seed_000_teaches() {
    let cases = [
        ("1.0.0.1", "A", 8, "255.0.0.0", "16777214"),
        ("126.255.255.254", "A", 8, "255.0.0.0", "16777214"),
        ("128.1.0.1", "B", 16, "255.255.0.0", "65534"),
        ("191.255.255.254", "B", 16, "255.255.0.0", "65534"),
        ("192.0.1.1", "C", 24, "255.255.255.0", "254"),
        ("223.255.255.254", "C", 24, "255.255.255.0", "254"),
    ];
    for (input, class, prefix, mask, hosts) in cases {
        let r = classify(input).unwrap();
        assert_eq!(r.class.as_deref(), Some(class), "{input}");
        assert_eq!(
            (r.prefix, r.prefix_source),
            (prefix, PrefixSource::Classful),
            "{input}"
        );
        assert_eq!(r.netmask, mask);
        assert_eq!(r.usable_hosts, hosts);
    }
    for (input, class) in [
        ("224.0.0.0", "D"),
        ("239.255.255.255", "D"),
        ("240.0.0.0", "E"),
        ("255.255.255.255", "E"),
    ] {
        let r = classify(input).unwrap();
        assert_eq!(r.class.as_deref(), Some(class));
        assert_eq!((r.prefix, r.prefix_source), (32, PrefixSource::Default));
    }
    let v6 = classify("2001:db8::1").unwrap();
    assert_eq!(
        (v6.class, v6.prefix, v6.prefix_source),
        (None, 64, PrefixSource::Default)
    );
}

#[test]
fn prefix_boundaries() {
    let r = classify("192.168.1.77/0").unwrap();
    assert_eq!(
        (r.network.as_str(), r.broadcast.as_deref()),
        ("0.0.0.0", Some("255.255.255.255"))
    );
    assert_eq!(
        (r.addresses.as_str(), r.usable_hosts.as_str()),
        ("4294967296", "4294967294")
    );
    // RFC 3021: both addresses of a /31 are usable hosts.
    let r = classify("10.0.0.1/31").unwrap();
    assert_eq!(
        (
            r.first_host.as_str(),
            r.last_host.as_str(),
            r.usable_hosts.as_str()
        ),
        ("10.0.0.0", "10.0.0.1", "2")
    );
    assert!(!r.flags.broadcast, "a /31 has no broadcast address");
    let r = classify("10.0.0.1/32").unwrap();
    assert_eq!(
        (
            r.first_host.as_str(),
            r.last_host.as_str(),
            r.usable_hosts.as_str()
        ),
        ("10.0.0.1", "10.0.0.1", "1")
    );
    let r = classify("192.168.1.255/24").unwrap();
    assert!(r.flags.broadcast, "the directed broadcast of its /24");
    let r = classify("2001:db8::1/127").unwrap();
    assert_eq!(
        (
            r.addresses.as_str(),
            r.first_host.as_str(),
            r.last_host.as_str()
        ),
        ("2", "2001:db8::", "2001:db8::1")
    );
    let r = classify("2001:db8::1/128").unwrap();
    assert_eq!((r.addresses.as_str(), r.usable_hosts.as_str()), ("1", "1"));
    let r = classify("::/0").unwrap();
    assert_eq!(r.addresses, "340282366920938463463374607431768211456");
}

#[test]
fn masks_given_as_dotted_quads() {
    for (input, prefix) in [
        ("10.1.2.3 255.255.0.0", 16),
        ("10.1.2.3/255.255.255.128", 25),
        ("10.1.2.3 0.0.0.0", 0),
        ("10.1.2.3/255.255.255.255", 32),
    ] {
        let r = classify(input).unwrap();
        assert_eq!(
            (r.prefix, r.prefix_source),
            (prefix, PrefixSource::Given),
            "{input}"
        );
    }
    let r = classify("172.20.5.9 255.255.240.0").unwrap();
    assert_eq!(
        (r.network.as_str(), r.wildcard.as_str()),
        ("172.20.0.0", "0.0.15.255")
    );
}

#[test]
fn bad_input_is_named() {
    assert_eq!(
        classify("1.2.3.4/255.0.255.0").unwrap_err(),
        AddrError::BadMask("255.0.255.0".into())
    );
    assert!(matches!(
        classify("1.2.3.4 255.255.0.255"),
        Err(AddrError::BadMask(_))
    ));
    assert!(matches!(
        classify("1.2.3.4/33"),
        Err(AddrError::BadPrefix(_))
    ));
    assert!(matches!(classify("::1/129"), Err(AddrError::BadPrefix(_))));
    assert!(matches!(
        classify("::1/ffff::"),
        Err(AddrError::BadPrefix(_))
    ));
    assert!(matches!(
        classify("::1 255.255.0.0"),
        Err(AddrError::MaskForIpv6)
    ));
    assert!(matches!(
        classify("256.1.1.1"),
        Err(AddrError::BadAddress(_))
    ));
    assert!(matches!(classify("hello"), Err(AddrError::BadAddress(_))));
    assert!(matches!(classify("1.2.3"), Err(AddrError::BadAddress(_))));
    assert!(matches!(classify("  "), Err(AddrError::Empty)));
    assert!(matches!(
        classify("1.2.3.4/-1"),
        Err(AddrError::BadPrefix(_))
    ));
}

#[test]
fn binary_shows_every_bit() {
    assert_eq!(
        classify("192.168.1.1").unwrap().binary,
        "11000000.10101000.00000001.00000001"
    );
    assert_eq!(classify("10.0.0.1").unwrap().integer, "167772161");
    assert_eq!(classify("10.0.0.1").unwrap().hex, "0x0A000001");
}

#[test]
fn subnet_neighbours_split_and_same_subnet() {
    let net: IpNet = "192.168.1.0/24".parse().unwrap();
    assert_eq!(next_subnet(net), Some("192.168.2.0/24".parse().unwrap()));
    assert_eq!(
        previous_subnet(net),
        Some("192.168.0.0/24".parse().unwrap())
    );
    assert_eq!(next_subnet("255.255.255.0/24".parse().unwrap()), None);
    assert_eq!(previous_subnet("0.0.0.0/24".parse().unwrap()), None);
    assert_eq!(prefix_for_count(net, 4), Ok(26));
    assert_eq!(prefix_for_count(net, 5), Ok(27));
    assert_eq!(prefix_for_count(net, 1), Ok(24));
    assert!(prefix_for_count(net, 0).is_err());
    assert!(prefix_for_count(net, 512).is_err());
    let parts: Vec<IpNet> = split_to_prefix(net, 26).unwrap().collect();
    assert_eq!(
        parts.iter().map(|n| n.to_string()).collect::<Vec<_>>(),
        [
            "192.168.1.0/26",
            "192.168.1.64/26",
            "192.168.1.128/26",
            "192.168.1.192/26"
        ]
    );
    assert!(split_to_prefix(net, 23).is_err());
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    let same = same_subnet(ip("192.168.1.10"), ip("192.168.1.200"), 24).unwrap();
    assert!(same.same);
    let diff = same_subnet(ip("192.168.1.10"), ip("192.168.1.200"), 25).unwrap();
    assert!(!diff.same);
    assert_eq!(diff.net_b.to_string(), "192.168.1.128/25");
    assert!(same_subnet(ip("10.0.0.1"), ip("::1"), 8).is_err());
}

proptest! {
    #[test]
    fn network_le_address_le_broadcast(a in any::<u32>(), p in 0u8..=32) {
        let r = classify(&format!("{}/{p}", Ipv4Addr::from(a))).unwrap();
        let net: Ipv4Addr = r.network.parse().unwrap();
        let bc: Ipv4Addr = r.broadcast.unwrap().parse().unwrap();
        prop_assert!(net <= Ipv4Addr::from(a) && Ipv4Addr::from(a) <= bc);
        let first: Ipv4Addr = r.first_host.parse().unwrap();
        let last: Ipv4Addr = r.last_host.parse().unwrap();
        prop_assert!(net <= first && first <= last && last <= bc);
        let total: u64 = r.addresses.parse().unwrap();
        prop_assert_eq!(total, u64::from(u32::from(bc) - u32::from(net)) + 1);
        let usable: u64 = r.usable_hosts.parse().unwrap();
        prop_assert_eq!(usable, u64::from(u32::from(last) - u32::from(first)) + 1);
    }

    #[test]
    fn split_subnets_cover_the_parent_exactly(a in any::<u32>(), p in 8u8..=30, extra in 0u8..=6) {
        let parent = IpNet::new(IpAddr::V4(Ipv4Addr::from(a)), p).unwrap().trunc();
        let new_prefix = (p + extra).min(32);
        let parts: Vec<IpNet> = split_to_prefix(parent, new_prefix).unwrap().collect();
        prop_assert_eq!(parts.len() as u64, 1u64 << (new_prefix - p));
        prop_assert_eq!(parts[0].network(), parent.network());
        prop_assert_eq!(parts.last().unwrap().broadcast(), parent.broadcast());
        for pair in parts.windows(2) {
            prop_assert_eq!(next_subnet(pair[0]), Some(pair[1]));
        }
    }

    #[test]
    fn same_subnet_agrees_with_networks(a in any::<u32>(), b in any::<u32>(), p in 0u8..=32) {
        let (a, b) = (IpAddr::V4(Ipv4Addr::from(a)), IpAddr::V4(Ipv4Addr::from(b)));
        let s = same_subnet(a, b, p).unwrap();
        prop_assert_eq!(s.same, s.net_a.contains(&b));
    }

    #[test]
    fn any_text_gives_an_answer_or_an_error_never_a_panic(s in "\\PC{0,40}") {
        let _ = classify(&s);
    }
}

#[test]
fn cli_json_lines_and_exit_status() {
    let out = Cmd::new(env!("CARGO_BIN_EXE_sockscope"))
        .args([
            "addr",
            "--json",
            "192.168.1.1",
            "1.2.3.4/255.0.255.0",
            "2001:db8::/32",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "a bad input gives exit status 2"
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "every input is answered");
    let first = &lines[0];
    for key in [
        "input",
        "address",
        "version",
        "class",
        "prefix",
        "netmask",
        "network",
        "broadcast",
        "first_host",
        "last_host",
        "addresses",
        "usable_hosts",
        "binary",
        "flags",
        "prefix_source",
    ] {
        assert!(first.get(key).is_some(), "key {key}");
    }
    assert_eq!(first["class"], "C");
    assert_eq!(first["prefix_source"], "classful");
    assert_eq!(first["flags"]["private"], true);
    assert_eq!(lines[1]["input"], "1.2.3.4/255.0.255.0");
    assert!(lines[1]["error"].as_str().unwrap().contains("netmask"));
    assert_eq!(lines[2]["version"], 6);
    assert_eq!(lines[2]["class"], serde_json::Value::Null);
    assert_eq!(lines[2]["broadcast"], serde_json::Value::Null);
    assert_eq!(lines[2]["flags"]["documentation"], true);
    assert_eq!(lines[2]["addresses"], "79228162514264337593543950336");

    let out = Cmd::new(env!("CARGO_BIN_EXE_sockscope"))
        .args(["addr", "--json", "--interfaces"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lo = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["address"] == "127.0.0.1")
        .expect("loopback listed");
    assert_eq!(lo["flags"]["loopback"], true);
    assert_eq!(lo["prefix"], 8);
}
