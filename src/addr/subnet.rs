//! Subnet arithmetic: neighbours, splitting, and "are these two in the same subnet?".

use ipnet::IpNet;
use std::net::IpAddr;

/// Why a subnet operation cannot be done.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubnetError {
    /// The new prefix is shorter than the network's or longer than the family allows.
    BadNewPrefix { prefix: u8, new_prefix: u8, max: u8 },
    /// Splitting into zero subnets, or into more than the prefix leaves room for.
    BadCount { count: u128 },
    /// An IPv4 and an IPv6 address cannot share a subnet.
    MixedFamilies,
}

impl std::fmt::Display for SubnetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::BadNewPrefix {
                prefix,
                new_prefix,
                max,
            } => write!(
                f,
                "/{new_prefix} cannot split a /{prefix}: choose a prefix from /{prefix} to /{max}"
            ),
            Self::BadCount { count } => write!(f, "cannot split into {count} subnets"),
            Self::MixedFamilies => write!(
                f,
                "an IPv4 and an IPv6 address are never in the same subnet"
            ),
        }
    }
}

impl std::error::Error for SubnetError {}

/// The subnet of the same size right after `net`, if any.
pub fn next_subnet(net: IpNet) -> Option<IpNet> {
    let size_bits = net.max_prefix_len() - net.prefix_len();
    let step = 1u128.checked_shl(size_bits as u32)?;
    let start = addr_to_u128(net.network()).checked_add(step)?;
    if start > max_of(net) {
        return None;
    }
    IpNet::new(
        u128_to_addr(start, net.network().is_ipv4()),
        net.prefix_len(),
    )
    .ok()
}

/// The subnet of the same size right before `net`, if any.
pub fn previous_subnet(net: IpNet) -> Option<IpNet> {
    let size_bits = net.max_prefix_len() - net.prefix_len();
    let step = 1u128.checked_shl(size_bits as u32)?;
    let start = addr_to_u128(net.network()).checked_sub(step)?;
    IpNet::new(
        u128_to_addr(start, net.network().is_ipv4()),
        net.prefix_len(),
    )
    .ok()
}

fn max_of(net: IpNet) -> u128 {
    if net.network().is_ipv4() {
        u32::MAX as u128
    } else {
        u128::MAX
    }
}

fn addr_to_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u32::from(v4) as u128,
        IpAddr::V6(v6) => u128::from(v6),
    }
}

fn u128_to_addr(n: u128, v4: bool) -> IpAddr {
    if v4 {
        IpAddr::from((n as u32).to_be_bytes())
    } else {
        IpAddr::from(n.to_be_bytes())
    }
}

/// The subnets of `net` with prefix `new_prefix`, in order (lazily: there may be 2^64).
pub fn split_to_prefix(
    net: IpNet,
    new_prefix: u8,
) -> Result<impl Iterator<Item = IpNet>, SubnetError> {
    net.subnets(new_prefix)
        .map_err(|_| SubnetError::BadNewPrefix {
            prefix: net.prefix_len(),
            new_prefix,
            max: net.max_prefix_len(),
        })
}

/// The smallest prefix that splits `net` into at least `count` equal subnets.
pub fn prefix_for_count(net: IpNet, count: u128) -> Result<u8, SubnetError> {
    if count == 0 {
        return Err(SubnetError::BadCount { count });
    }
    let bits = 128 - (count - 1).leading_zeros() as u8; // ceil(log2(count))
    let bits = if count == 1 { 0 } else { bits };
    let new_prefix = net.prefix_len() as u16 + bits as u16;
    if new_prefix > net.max_prefix_len() as u16 {
        return Err(SubnetError::BadCount { count });
    }
    Ok(new_prefix as u8)
}

/// How the user wants a network split: into at least this many subnets, or into subnets of
/// this prefix. Only what the user set is kept; the other figure follows the network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SplitBy {
    /// At least this many equal subnets.
    Count(u128),
    /// Subnets of this prefix length.
    Prefix(u8),
}

/// A split worked out for one network: the subnets' prefix and how many there are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SplitPlan {
    /// The subnets' prefix length.
    pub prefix: u8,
    /// How many subnets (`u128::MAX` stands for 2^128, a whole IPv6 space in /128s).
    pub count: u128,
}

/// Works out `by` for `net`, so the count and the prefix shown always agree with the network.
pub fn split_plan(net: IpNet, by: SplitBy) -> Result<SplitPlan, SubnetError> {
    let prefix = match by {
        SplitBy::Count(count) => prefix_for_count(net, count)?,
        SplitBy::Prefix(new_prefix) => {
            if new_prefix < net.prefix_len() || new_prefix > net.max_prefix_len() {
                return Err(SubnetError::BadNewPrefix {
                    prefix: net.prefix_len(),
                    new_prefix,
                    max: net.max_prefix_len(),
                });
            }
            new_prefix
        }
    };
    let bits = u32::from(prefix - net.prefix_len());
    let count = 1u128.checked_shl(bits).unwrap_or(u128::MAX);
    Ok(SplitPlan { prefix, count })
}

/// The answer to "are A and B in the same subnet with this prefix?", with both networks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SameSubnet {
    /// Whether they are.
    pub same: bool,
    /// A's network.
    pub net_a: IpNet,
    /// B's network.
    pub net_b: IpNet,
}

/// Compares the networks of `a` and `b` under one prefix.
pub fn same_subnet(a: IpAddr, b: IpAddr, prefix: u8) -> Result<SameSubnet, SubnetError> {
    if a.is_ipv4() != b.is_ipv4() {
        return Err(SubnetError::MixedFamilies);
    }
    let net = |ip| {
        IpNet::new(ip, prefix)
            .map(|n| n.trunc())
            .map_err(|_| SubnetError::BadNewPrefix {
                prefix,
                new_prefix: prefix,
                max: if a.is_ipv4() { 32 } else { 128 },
            })
    };
    let (net_a, net_b) = (net(a)?, net(b)?);
    Ok(SameSubnet {
        same: net_a == net_b,
        net_a,
        net_b,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_split_follows_the_network_it_is_applied_to() {
        let n24: IpNet = "192.168.1.0/24".parse().unwrap();
        let n16: IpNet = "10.0.0.0/16".parse().unwrap();
        // By count: 4 subnets is /26 of a /24 and /18 of a /16, never a stale prefix.
        let four = SplitBy::Count(4);
        assert_eq!(
            split_plan(n24, four).unwrap(),
            SplitPlan {
                prefix: 26,
                count: 4
            }
        );
        assert_eq!(
            split_plan(n16, four).unwrap(),
            SplitPlan {
                prefix: 18,
                count: 4
            }
        );
        // 5 needs 8.
        assert_eq!(split_plan(n24, SplitBy::Count(5)).unwrap().count, 8);
        // By prefix: /26 is 4 of a /24, 1024 of a /16.
        let p26 = SplitBy::Prefix(26);
        assert_eq!(split_plan(n24, p26).unwrap().count, 4);
        assert_eq!(split_plan(n16, p26).unwrap().count, 1024);
        // A prefix shorter than the network's is an error that says the range.
        let n28: IpNet = "192.168.1.0/28".parse().unwrap();
        assert!(matches!(
            split_plan(n28, p26),
            Err(SubnetError::BadNewPrefix {
                prefix: 28,
                new_prefix: 26,
                max: 32
            })
        ));
        let all_v6: IpNet = "::/0".parse().unwrap();
        assert_eq!(
            split_plan(all_v6, SplitBy::Prefix(128)).unwrap().count,
            u128::MAX
        );
    }
}
