//! A WebSocket address (`ws://host:port/path?query`, `wss://…`), read with the `url` crate:
//! IPv6 in brackets, a default port per scheme, `user:password@` for Basic auth.

use base64::Engine as _;

/// A `ws://` or `wss://` address, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WsUrl {
    /// `wss://`: TLS first.
    pub secure: bool,
    /// The host as typed (an IPv6 address without brackets).
    pub host: String,
    pub port: u16,
    /// Path and query, at least `/`.
    pub path: String,
    /// `user:password` from the address, for an `Authorization: Basic` header.
    pub credentials: Option<(String, String)>,
}

/// Why an address is not a WebSocket one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WsUrlError {
    #[error("not an address: {0}")]
    Syntax(String),
    #[error("the address must start with ws:// or wss:// (not {0}://)")]
    Scheme(String),
    #[error("the address has no host")]
    NoHost,
}

/// Reads a WebSocket address.
pub fn parse_url(text: &str) -> Result<WsUrl, WsUrlError> {
    let url = url::Url::parse(text.trim()).map_err(|e| WsUrlError::Syntax(e.to_string()))?;
    let secure = match url.scheme() {
        "ws" => false,
        "wss" => true,
        other => return Err(WsUrlError::Scheme(other.to_string())),
    };
    let host = match url.host() {
        Some(url::Host::Ipv6(ip)) => ip.to_string(),
        Some(host) => host.to_string(),
        None => return Err(WsUrlError::NoHost),
    };
    if host.is_empty() {
        return Err(WsUrlError::NoHost);
    }
    let port = url.port().unwrap_or(if secure { 443 } else { 80 });
    let mut path = url.path().to_string();
    if path.is_empty() {
        path.push('/');
    }
    if let Some(q) = url.query() {
        path.push('?');
        path.push_str(q);
    }
    let decode = |s: &str| {
        percent_decode(s)
            .map_err(|()| WsUrlError::Syntax(format!("bad %-escape in the user part: {s}")))
    };
    let credentials = match (url.username(), url.password()) {
        ("", None) => None,
        (user, password) => Some((decode(user)?, decode(password.unwrap_or(""))?)),
    };
    Ok(WsUrl {
        secure,
        host,
        port,
        path,
        credentials,
    })
}

/// `%41` → `A` (the `url` crate keeps the user part escaped).
fn percent_decode(s: &str) -> Result<String, ()> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3).ok_or(())?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| ())?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| ())
}

impl WsUrl {
    /// `host:port` to connect to (`[v6]:port`).
    pub fn host_port(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The `Host` header: the port left out when it is the scheme's default.
    pub fn host_header(&self) -> String {
        let default = if self.secure { 443 } else { 80 };
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == default {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }

    /// `Basic …` for the address's credentials.
    pub fn basic_auth(&self) -> Option<String> {
        let (user, password) = self.credentials.as_ref()?;
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        Some(format!("Basic {token}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_hosts_ports_paths_and_credentials() {
        let u = parse_url("wss://dev.lab:8443/ws?id=7").unwrap();
        assert_eq!(
            (u.secure, u.host.as_str(), u.port, u.path.as_str()),
            (true, "dev.lab", 8443, "/ws?id=7")
        );
        let u = parse_url("ws://[::1]/").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("::1", 80));
        assert_eq!(u.host_port(), "[::1]:80");
        assert_eq!(u.host_header(), "[::1]");
        let u = parse_url("ws://admin:p%40ss@127.0.0.1:9000").unwrap();
        assert_eq!(u.path, "/");
        assert_eq!(u.credentials, Some(("admin".into(), "p@ss".into())));
        // "admin:p@ss" in base64.
        assert_eq!(u.basic_auth().as_deref(), Some("Basic YWRtaW46cEBzcw=="));
    }

    #[test]
    fn refuses_what_is_not_websocket() {
        assert!(matches!(
            parse_url("http://x/"),
            Err(WsUrlError::Scheme(s)) if s == "http"
        ));
        assert!(matches!(parse_url("ws//x"), Err(WsUrlError::Syntax(_))));
        assert!(parse_url("ws://").is_err());
        assert!(matches!(
            parse_url("ws://h:99999/"),
            Err(WsUrlError::Syntax(_))
        ));
    }
}
