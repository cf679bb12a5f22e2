//! A WebSocket tab's own settings (what survives a restart), their checks in the user's
//! language, and the engine configuration they make. Its fields are drawn by `view/ws.rs`.

use crate::engine::ws::{parse_url, SendAs, WsClientConfig, WsOptions, WsServerConfig};
use crate::engine::SocketOptions;
use crate::ui::i18n::Texts;
use std::net::SocketAddr;
use std::time::Duration;

/// What a WebSocket tab keeps (client and server fields alike).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct WsForm {
    /// The client's address: `ws://…` or `wss://…`.
    pub url: String,
    /// Extra request headers, one `Name: value` a line.
    pub headers: String,
    /// Subprotocols offered (client) or accepted (server), comma-separated.
    pub subprotocols: String,
    pub origin: String,
    /// The server's path (empty: any).
    pub path: String,
    /// What is typed goes as binary messages (else text when it is UTF-8).
    pub binary: bool,
    /// Milliseconds between pings (empty: no pings of our own).
    pub ping_ms: String,
}

impl Default for WsForm {
    fn default() -> Self {
        Self {
            url: "ws://127.0.0.1:8080/".into(),
            headers: String::new(),
            subprotocols: String::new(),
            origin: String::new(),
            path: String::new(),
            binary: false,
            ping_ms: String::new(),
        }
    }
}

/// The reasons a WebSocket tab's fields cannot open, each under its field.
#[derive(Default, Debug)]
pub struct WsErrors {
    pub url: Option<&'static str>,
    pub headers: Option<&'static str>,
    pub ping: Option<&'static str>,
    pub path: Option<&'static str>,
}

impl WsErrors {
    pub fn is_empty(&self) -> bool {
        self.url.is_none() && self.headers.is_none() && self.ping.is_none() && self.path.is_none()
    }
}

impl WsForm {
    fn header_list(&self) -> Option<Vec<(String, String)>> {
        self.headers
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let (k, v) = l.split_once(':')?;
                let k = k.trim();
                let ok = !k.is_empty()
                    && k.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
                ok.then(|| (k.to_string(), v.trim().to_string()))
            })
            .collect()
    }

    fn ping(&self) -> Result<Option<Duration>, ()> {
        match self.ping_ms.trim() {
            "" => Ok(None),
            n => match n.parse::<u64>() {
                Ok(ms) if (1..=604_800_000).contains(&ms) => Ok(Some(Duration::from_millis(ms))),
                _ => Err(()),
            },
        }
    }

    /// What is wrong with the fields a client (`client`) or a server uses.
    pub fn errors(&self, t: &Texts, client: bool) -> WsErrors {
        let mut e = WsErrors {
            ping: self.ping().err().map(|()| t.err_ws_ping),
            ..WsErrors::default()
        };
        if client {
            e.url = parse_url(&self.url).err().map(|_| t.err_ws_url);
            e.headers = self.header_list().is_none().then_some(t.err_ws_header);
        } else {
            let path = self.path.trim();
            e.path = (!path.is_empty() && !path.starts_with('/')).then_some(t.err_ws_path);
        }
        e
    }

    fn options(&self) -> WsOptions {
        WsOptions {
            subprotocols: self
                .subprotocols
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect(),
            ping_interval: self.ping().ok().flatten(),
            send_as: if self.binary {
                SendAs::Binary
            } else {
                SendAs::Auto
            },
            ..WsOptions::default()
        }
    }

    /// The client's configuration (valid fields assumed).
    pub fn client_config(&self) -> Option<WsClientConfig> {
        Some(WsClientConfig {
            url: self.url.trim().to_string(),
            headers: self.header_list()?,
            origin: Some(self.origin.trim().to_string()).filter(|o| !o.is_empty()),
            connect_timeout: Duration::from_secs(5),
            options: SocketOptions::default(),
            ws: self.options(),
        })
    }

    /// The server's configuration, listening at `bind`.
    pub fn server_config(&self, bind: SocketAddr, echo: bool) -> WsServerConfig {
        WsServerConfig {
            bind,
            path: Some(self.path.trim().to_string()).filter(|p| !p.is_empty()),
            echo,
            options: SocketOptions::default(),
            ws: self.options(),
        }
    }

    /// A wss:// address: the tab's TLS settings say how the server is checked.
    pub fn secure(&self) -> bool {
        parse_url(&self.url).is_ok_and(|u| u.secure)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::i18n::Lang;

    #[test]
    fn fields_are_checked_in_the_users_language() {
        let t = Lang::Zh.t();
        let form = WsForm {
            url: "http://x/".into(),
            headers: "X-Token: a\nbroken".into(),
            ping_ms: "0".into(),
            ..WsForm::default()
        };
        let e = form.errors(t, true);
        assert_eq!(e.url, Some(t.err_ws_url));
        assert_eq!(e.headers, Some(t.err_ws_header));
        assert_eq!(e.ping, Some(t.err_ws_ping));
        let ok = WsForm {
            headers: "X-Token: a\n\nAuthorization: Bearer x".into(),
            subprotocols: "v1, v2".into(),
            ping_ms: "500".into(),
            ..WsForm::default()
        };
        assert!(ok.errors(t, true).is_empty());
        let c = ok.client_config().unwrap();
        assert_eq!(c.headers.len(), 2);
        assert_eq!(c.ws.subprotocols, vec!["v1", "v2"]);
        assert_eq!(c.ws.ping_interval, Some(Duration::from_millis(500)));
    }
}
