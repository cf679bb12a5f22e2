//! This machine's interfaces and their addresses.

use std::net::IpAddr;

/// One address of one interface.
#[derive(Clone, Debug, serde::Serialize)]
pub struct InterfaceAddr {
    /// Interface name (eth0, Wi-Fi…).
    pub name: String,
    /// The address.
    pub address: IpAddr,
    /// Its prefix length.
    pub prefix: u8,
    /// Whether the interface is operationally up.
    pub up: bool,
    /// Interface index (for IPv6 scope and multicast).
    pub index: Option<u32>,
}

/// Lists every interface address; an empty list if the system will not say.
pub fn list() -> Vec<InterfaceAddr> {
    let mut out: Vec<InterfaceAddr> = if_addrs::get_if_addrs()
        .unwrap_or_default()
        .into_iter()
        .map(|i| {
            let (address, prefix) = match &i.addr {
                if_addrs::IfAddr::V4(a) => (IpAddr::V4(a.ip), a.prefixlen),
                if_addrs::IfAddr::V6(a) => (IpAddr::V6(a.ip), a.prefixlen),
            };
            InterfaceAddr {
                up: i.is_oper_up() || i.is_loopback(),
                name: i.name,
                address,
                prefix,
                index: i.index,
            }
        })
        .collect();
    out.sort_by(|a, b| (a.name.as_str(), a.address).cmp(&(b.name.as_str(), b.address)));
    out
}
