//! `host:port` as users type it, checked before anything touches the network.

use super::{NetError, NetErrorKind};
use std::net::{IpAddr, SocketAddr};

/// A destination split into host and port, not yet resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostPort {
    /// Host name or IP literal (without brackets).
    pub host: String,
    /// Port, 0–65535.
    pub port: u16,
}

/// Why a `host:port` or port entry is not valid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddressError {
    /// Nothing was typed.
    Empty,
    /// No `:port` after the host.
    MissingPort,
    /// The port is not a number from 0 to 65535.
    BadPort,
    /// The host has characters no host name or IP address has.
    BadHost,
    /// An IPv6 literal must be written `[addr]:port`.
    BracketsNeeded,
}

impl std::fmt::Display for AddressError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Empty => "no address given",
            Self::MissingPort => "missing port: write HOST:PORT",
            Self::BadPort => "port must be a number from 0 to 65535",
            Self::BadHost => "not a valid host name or IP address",
            Self::BracketsNeeded => "write an IPv6 address as [ADDR]:PORT",
        })
    }
}

impl std::error::Error for AddressError {}

impl From<AddressError> for NetError {
    fn from(e: AddressError) -> Self {
        NetError::new(NetErrorKind::InvalidAddress, e.to_string())
    }
}

/// Parses a port number as typed.
pub fn parse_port(text: &str) -> Result<u16, AddressError> {
    let text = text.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AddressError::BadPort);
    }
    text.parse().map_err(|_| AddressError::BadPort)
}

/// Checks a host as typed: an IP literal or a plausible host name.
pub fn parse_host(text: &str) -> Result<String, AddressError> {
    let host = text.trim();
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if host.is_empty() {
        return Err(AddressError::Empty);
    }
    if host.parse::<IpAddr>().is_ok() {
        return Ok(host.to_string());
    }
    let looks_like_name = host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    // All-digit dotted text that did not parse as an address (e.g. 192.168.1.300) is an error.
    let all_numeric = host.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    if looks_like_name && !all_numeric {
        Ok(host.to_string())
    } else {
        Err(AddressError::BadHost)
    }
}

/// Parses `host:port`, `1.2.3.4:80` or `[::1]:80`.
pub fn parse_host_port(text: &str) -> Result<HostPort, AddressError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(AddressError::Empty);
    }
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(HostPort {
            host: addr.ip().to_string(),
            port: addr.port(),
        });
    }
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or(AddressError::BadHost)?;
        let port = after.strip_prefix(':').ok_or(AddressError::MissingPort)?;
        (host, port)
    } else {
        let (host, port) = text.rsplit_once(':').ok_or(AddressError::MissingPort)?;
        if host.contains(':') {
            return Err(AddressError::BracketsNeeded);
        }
        (host, port)
    };
    Ok(HostPort {
        host: parse_host(host)?,
        port: parse_port(port)?,
    })
}

/// Parses a local bind address `ADDR:PORT` or a bare `PORT` (all IPv4 interfaces).
pub fn parse_bind(text: &str) -> Result<SocketAddr, AddressError> {
    let text = text.trim();
    if !text.contains(':') && !text.contains('.') {
        return Ok(SocketAddr::from(([0, 0, 0, 0], parse_port(text)?)));
    }
    let hp = parse_host_port(text)?;
    let ip: IpAddr = hp.host.parse().map_err(|_| AddressError::BadHost)?;
    Ok(SocketAddr::new(ip, hp.port))
}

/// Resolves `host:port` to addresses (IP literals without a lookup).
pub async fn resolve(text: &str) -> Result<Vec<SocketAddr>, NetError> {
    let hp = parse_host_port(text)?;
    if let Ok(ip) = hp.host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, hp.port)]);
    }
    let found: Vec<SocketAddr> = tokio::net::lookup_host((hp.host.as_str(), hp.port))
        .await
        .map_err(|e| NetError::new(NetErrorKind::HostNotFound, e.to_string()).at(&hp.host))?
        .collect();
    if found.is_empty() {
        return Err(NetError::new(NetErrorKind::HostNotFound, "no address").at(hp.host));
    }
    Ok(found)
}

/// The first address `host:port` resolves to (for peers that need just one).
pub async fn resolve_first(text: &str) -> Result<SocketAddr, NetError> {
    // `resolve` never answers with an empty list.
    let found = resolve(text).await?;
    found
        .first()
        .copied()
        .ok_or_else(|| NetError::new(NetErrorKind::HostNotFound, "no address").at(text))
}

/// [`resolve_first`] for a thread of its own (a probe's): blocks while a name is looked up.
pub fn resolve_first_blocking(text: &str) -> Result<SocketAddr, NetError> {
    let hp = parse_host_port(text)?;
    if let Ok(ip) = hp.host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, hp.port));
    }
    std::net::ToSocketAddrs::to_socket_addrs(&(hp.host.as_str(), hp.port))
        .map_err(|e| NetError::new(NetErrorKind::HostNotFound, e.to_string()).at(&hp.host))?
        .next()
        .ok_or_else(|| NetError::new(NetErrorKind::HostNotFound, "no address").at(hp.host))
}

/// The host part of `host:port` or `[v6]:port`: the name TLS checks by default.
pub(crate) fn host_of(remote: &str) -> &str {
    let host = remote.trim().rsplit_once(':').map_or(remote, |(h, _)| h);
    host.trim_start_matches('[').trim_end_matches(']')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_users_type() {
        let hp = |h: &str, p| HostPort {
            host: h.into(),
            port: p,
        };
        assert_eq!(parse_host_port("127.0.0.1:8080"), Ok(hp("127.0.0.1", 8080)));
        assert_eq!(
            parse_host_port(" localhost:9999 "),
            Ok(hp("localhost", 9999))
        );
        assert_eq!(parse_host_port("[::1]:80"), Ok(hp("::1", 80)));
        assert_eq!(parse_host_port("[fe80::1%2]:80").map(|h| h.port), Ok(80));
        assert_eq!(parse_host_port("::1:80"), Err(AddressError::BracketsNeeded));
        assert_eq!(parse_host_port("host"), Err(AddressError::MissingPort));
        assert_eq!(parse_host_port("host:70000"), Err(AddressError::BadPort));
        assert_eq!(parse_host_port("host:-1"), Err(AddressError::BadPort));
        assert_eq!(
            parse_host_port("192.168.1.300:80"),
            Err(AddressError::BadHost)
        );
        assert_eq!(parse_host_port("bad host:80"), Err(AddressError::BadHost));
        assert_eq!(parse_host_port(""), Err(AddressError::Empty));
    }

    #[test]
    fn bind_forms() {
        assert_eq!(parse_bind("8080"), Ok("0.0.0.0:8080".parse().unwrap()));
        assert_eq!(
            parse_bind("127.0.0.1:0"),
            Ok("127.0.0.1:0".parse().unwrap())
        );
        assert_eq!(parse_bind("[::]:7788"), Ok("[::]:7788".parse().unwrap()));
        assert_eq!(parse_bind("localhost:80"), Err(AddressError::BadHost));
        assert_eq!(parse_bind("65536"), Err(AddressError::BadPort));
    }
}
