//! Port numbers: which range, what usually listens there, and whether binding needs privileges.

/// The IANA port ranges (RFC 6335).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PortRange {
    /// 0–1023: system ports.
    WellKnown,
    /// 1024–49151: user ports.
    Registered,
    /// 49152–65535: dynamic/private ports.
    Dynamic,
}

/// What is known about a port.
#[derive(Clone, Debug, serde::Serialize)]
pub struct PortInfo {
    pub port: u16,
    pub range: PortRange,
    /// Common services on it (TCP and/or UDP).
    pub services: Vec<&'static str>,
    /// Binding needs root/CAP_NET_BIND_SERVICE on Linux and BSD (ports below 1024); Windows
    /// has no such rule.
    pub privileged_on_unix: bool,
    /// Inside an ephemeral range some system hands out for outgoing connections, so it may be
    /// taken by a client at any moment.
    pub ephemeral_on: Vec<&'static str>,
}

/// Ephemeral (source) port ranges systems use, which differ from IANA's dynamic range.
pub const EPHEMERAL_RANGES: &[(&str, u16, u16)] = &[
    ("Linux", 32768, 60999),
    ("Windows (Vista and later)", 49152, 65535),
    ("macOS / FreeBSD", 49152, 65535),
];

/// Well-known services testers meet, `(port, name)`.
pub const SERVICES: &[(u16, &str)] = &[
    (7, "echo"),
    (20, "ftp-data"),
    (21, "ftp"),
    (22, "ssh"),
    (23, "telnet"),
    (25, "smtp"),
    (53, "dns"),
    (67, "dhcp server"),
    (68, "dhcp client"),
    (69, "tftp"),
    (80, "http"),
    (102, "iso-tsap (Siemens S7)"),
    (110, "pop3"),
    (123, "ntp"),
    (137, "netbios-ns"),
    (143, "imap"),
    (161, "snmp"),
    (162, "snmp-trap"),
    (389, "ldap"),
    (443, "https"),
    (502, "modbus"),
    (514, "syslog"),
    (554, "rtsp"),
    (587, "smtp submission"),
    (993, "imaps"),
    (1883, "mqtt"),
    (1900, "ssdp/upnp"),
    (2404, "iec 60870-5-104"),
    (3306, "mysql"),
    (3389, "rdp"),
    (4840, "opc ua"),
    (5060, "sip"),
    (5353, "mdns"),
    (5432, "postgresql"),
    (5683, "coap"),
    (6379, "redis"),
    (8080, "http-alt"),
    (8883, "mqtt over tls"),
    (20000, "dnp3"),
    (44818, "ethernet/ip"),
    (47808, "bacnet"),
];

/// Describes a port.
pub fn port_info(port: u16) -> PortInfo {
    PortInfo {
        port,
        range: match port {
            0..=1023 => PortRange::WellKnown,
            1024..=49151 => PortRange::Registered,
            _ => PortRange::Dynamic,
        },
        services: SERVICES
            .iter()
            .filter(|(p, _)| *p == port)
            .map(|(_, s)| *s)
            .collect(),
        privileged_on_unix: port < 1024,
        ephemeral_on: EPHEMERAL_RANGES
            .iter()
            .filter(|(_, lo, hi)| (*lo..=*hi).contains(&port))
            .map(|(name, _, _)| *name)
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_boundaries() {
        assert_eq!(port_info(0).range, PortRange::WellKnown);
        assert_eq!(port_info(1023).range, PortRange::WellKnown);
        assert_eq!(port_info(1024).range, PortRange::Registered);
        assert_eq!(port_info(49151).range, PortRange::Registered);
        assert_eq!(port_info(49152).range, PortRange::Dynamic);
        assert_eq!(port_info(65535).range, PortRange::Dynamic);
        assert!(port_info(80).privileged_on_unix && !port_info(1024).privileged_on_unix);
        assert_eq!(port_info(502).services, vec!["modbus"]);
        assert_eq!(port_info(40000).ephemeral_on, vec!["Linux"]);
        assert_eq!(port_info(60999).ephemeral_on.len(), 3);
        assert!(port_info(1024).ephemeral_on.is_empty());
    }
}
