//! What differs between transports: the endpoint fields each kind checks, the engine
//! configuration it opens with, its title and the peer a probe aims at.
use super::*;

impl SessionTab {
    /// The peer a Probe of this tab measures, and whether over UDP: a TCP client's server, a
    /// UDP tab's destination. Servers and relays have no one peer.
    pub fn probe_target(&self) -> Option<(String, bool)> {
        match (self.settings.kind, self.config()?) {
            (SessionKind::TcpClient, SessionConfig::TcpClient { remote, .. }) => {
                Some((remote, false))
            }
            (SessionKind::Udp, SessionConfig::Udp { default_dest, .. }) => {
                Some((default_dest?, true))
            }
            _ => None,
        }
    }

    /// What a chunk's peer is shown as: its address, or a serial tab's port (a port has no
    /// address; the engine's chunks carry the unspecified one).
    pub fn peer_text(&self, peer: SocketAddr) -> String {
        match self.settings.kind {
            SessionKind::Serial => self.settings.serial_port.trim().to_string(),
            _ => peer.to_string(),
        }
    }

    /// The tab's title: kind and endpoint.
    pub fn title(&self, t: &Texts) -> String {
        let s = &self.settings;
        // Only a valid port is named: a tab is never called ":70000".
        let port = |p: &str| match parse_port(p) {
            Ok(port) => port.to_string(),
            Err(_) => "?".into(),
        };
        let end = match s.kind {
            SessionKind::TcpClient => format!("{}:{}", s.remote_host.trim(), port(&s.remote_port)),
            SessionKind::Serial => s.serial_port.trim().to_string(),
            SessionKind::WsClient => s.ws.url.trim().to_string(),
            _ => format!(":{}", port(&s.local_port)),
        };
        format!("{} {end}", s.kind.label(t))
    }

    /// Field errors of the endpoint settings, in the user's language; `None` when valid.
    pub fn endpoint_errors(&mut self, lang: Lang, local_ips: &[IpAddr]) -> EndpointErrors {
        let script = self
            .script_problem()
            .filter(|_| self.scripts())
            .map(|_| lang.t().err_script);
        let s = &self.settings;
        let t = lang.t();
        let mut e = EndpointErrors::default();
        if self.frames() {
            e.framing = self.frame_spec().err().map(|_| t.err_framing);
        }
        e.decode = self.decode_spec().err().map(|_| t.err_protocol_not_loaded);
        e.script = script;
        e.tls = self.tls_settings(t).err();
        match s.kind {
            SessionKind::TcpClient => {
                e.host = parse_host(&s.remote_host)
                    .err()
                    .map(|x| i18n::address_error(lang, x));
                e.port = match parse_port(&s.remote_port) {
                    Ok(0) | Err(_) => Some(t.err_port),
                    Ok(_) => None,
                };
            }
            SessionKind::WsClient => {
                let ws = s.ws.errors(t, true);
                e.host = ws.url.or(ws.headers).or(ws.ping);
            }
            SessionKind::TcpServer
            | SessionKind::Udp
            | SessionKind::Relay
            | SessionKind::WsServer => {
                if s.kind == SessionKind::WsServer {
                    let ws = s.ws.errors(t, false);
                    e.dest = ws.path.or(ws.ping);
                }
                e.local = match s.local_addr.trim().parse::<IpAddr>() {
                    Ok(ip) if ip.is_unspecified() || local_ips.contains(&ip) => None,
                    _ => Some(t.err_local),
                };
                e.port = parse_port(&s.local_port).err().map(|_| t.err_port);
                // A relay needs its target; UDP's destination may be left empty.
                if s.kind == SessionKind::Relay
                    || (s.kind == SessionKind::Udp && !s.udp_dest.trim().is_empty())
                {
                    e.dest = parse_host_port(&s.udp_dest)
                        .err()
                        .map(|x| i18n::address_error(lang, x));
                }
            }
            SessionKind::Serial => {
                if s.serial_port.trim().is_empty() {
                    e.host = Some(t.err_serial_port);
                }
                if s.serial.check().is_err() {
                    e.port = Some(t.err_serial_settings);
                }
            }
        }
        e
    }

    /// The engine configuration for the current settings (valid settings assumed).
    pub fn config(&self) -> Option<SessionConfig> {
        let s = &self.settings;
        let options = SocketOptions::default();
        Some(match s.kind {
            SessionKind::TcpClient => {
                let host = parse_host(&s.remote_host).ok()?;
                let host = if host.contains(':') {
                    format!("[{host}]")
                } else {
                    host
                };
                SessionConfig::TcpClient {
                    remote: format!("{host}:{}", parse_port(&s.remote_port).ok()?),
                    connect_timeout: Duration::from_secs(5),
                    options,
                }
            }
            SessionKind::TcpServer => SessionConfig::TcpServer {
                bind: SocketAddr::new(
                    s.local_addr.trim().parse().ok()?,
                    parse_port(&s.local_port).ok()?,
                ),
                echo: s.echo,
                options,
            },
            SessionKind::Relay => SessionConfig::Relay {
                listen: SocketAddr::new(
                    s.local_addr.trim().parse().ok()?,
                    parse_port(&s.local_port).ok()?,
                ),
                target: s.udp_dest.trim().to_string(),
                udp: s.relay_udp,
            },
            SessionKind::WsClient => SessionConfig::WsClient(s.ws.client_config()?),
            SessionKind::WsServer => SessionConfig::WsServer(s.ws.server_config(
                SocketAddr::new(
                    s.local_addr.trim().parse().ok()?,
                    parse_port(&s.local_port).ok()?,
                ),
                s.echo,
            )),
            SessionKind::Serial => SessionConfig::Serial {
                port: s.serial_port.trim().to_string(),
                settings: s.serial,
            },
            SessionKind::Udp => SessionConfig::Udp {
                bind: SocketAddr::new(
                    s.local_addr.trim().parse().ok()?,
                    parse_port(&s.local_port).ok()?,
                ),
                default_dest: (!s.udp_dest.trim().is_empty())
                    .then(|| s.udp_dest.trim().to_string()),
                broadcast: s.broadcast,
                echo: s.echo,
                options,
            },
        })
    }
}

/// Per-field reasons why the endpoint cannot be opened.
#[derive(Default, Debug)]
pub struct EndpointErrors {
    pub host: Option<&'static str>,
    pub port: Option<&'static str>,
    pub local: Option<&'static str>,
    pub dest: Option<&'static str>,
    pub framing: Option<&'static str>,
    pub decode: Option<&'static str>,
    pub script: Option<&'static str>,
    pub tls: Option<&'static str>,
}

impl EndpointErrors {
    /// No field has an error.
    pub fn is_empty(&self) -> bool {
        self.host.is_none()
            && self.port.is_none()
            && self.local.is_none()
            && self.dest.is_none()
            && self.framing.is_none()
            && self.decode.is_none()
            && self.script.is_none()
            && self.tls.is_none()
    }
}

/// Addresses offered for binding: any, loopback, then this machine's interfaces.
pub fn local_choices(local_ips: &[IpAddr]) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = vec![
        IpAddr::from([0, 0, 0, 0]),
        IpAddr::from(std::net::Ipv6Addr::UNSPECIFIED),
        IpAddr::from([127, 0, 0, 1]),
    ];
    for ip in local_ips {
        if !out.contains(ip) {
            out.push(*ip);
        }
    }
    out
}
