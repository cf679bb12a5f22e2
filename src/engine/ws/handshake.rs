//! The HTTP upgrade, both ways. A client's request is built here (so the log shows exactly the
//! lines sent) and checked by tungstenite; a server reads the request itself, within a time and
//! size limit, so a plain HTTP request gets an HTTP answer and a client that never finishes is
//! dropped.

use super::{SendAs, WsClientConfig, WsFailure, WsNote, WsOptions, WsServerConfig, WsUrl};
use crate::engine::tcp_conn::Stream;
use crate::engine::{Direction, NetError, NetErrorKind, Reason};
use std::net::SocketAddr;
use std::time::{Duration, SystemTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::WebSocketStream;

/// How long an upgrade may take, either way.
pub(super) const UPGRADE_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest request head a server reads.
const MAX_HEAD: usize = 16 << 10;

/// A connection past its upgrade, with what the upgrade said (for the log, in order).
pub(in crate::engine) struct Upgraded {
    pub ws: WebSocketStream<Stream>,
    pub notes: Vec<(SystemTime, WsNote)>,
}

/// tungstenite's limits from ours.
pub(super) fn ws_config(options: &WsOptions) -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(options.max_message))
        .max_frame_size(Some(options.max_message))
}

fn failure(kind: NetErrorKind, why: WsFailure) -> NetError {
    NetError::because(kind, Reason::WebSocket(why))
}

/// Sends the upgrade request and checks the answer.
pub(super) async fn client(
    url: &WsUrl,
    config: &WsClientConfig,
    stream: Stream,
    peer: SocketAddr,
) -> Result<Upgraded, NetError> {
    use tokio_tungstenite::tungstenite::{self, handshake::client::generate_key};
    let mut headers: Vec<(String, String)> = vec![
        ("Host".into(), url.host_header()),
        ("Connection".into(), "Upgrade".into()),
        ("Upgrade".into(), "websocket".into()),
        ("Sec-WebSocket-Version".into(), "13".into()),
        ("Sec-WebSocket-Key".into(), generate_key()),
    ];
    if let Some(auth) = url.basic_auth() {
        headers.push(("Authorization".into(), auth));
    }
    if let Some(origin) = &config.origin {
        headers.push(("Origin".into(), origin.clone()));
    }
    if !config.ws.subprotocols.is_empty() {
        headers.push((
            "Sec-WebSocket-Protocol".into(),
            config.ws.subprotocols.join(", "),
        ));
    }
    headers.extend(config.headers.iter().cloned());
    // tungstenite reads the scheme from the request's address; the line sent is the path.
    let scheme = if url.secure { "wss" } else { "ws" };
    let bad_header = |e: String| failure(NetErrorKind::InvalidAddress, WsFailure::BadHeader(e));
    let build = || {
        let mut request = tungstenite::http::Request::builder()
            .method("GET")
            .uri(format!("{scheme}://{}{}", url.host_header(), url.path));
        for (k, v) in &headers {
            request = request.header(k.as_str(), v.as_str());
        }
        request.body(()).map_err(|e| bad_header(e.to_string()))
    };
    // The log shows the request as tungstenite writes it (its order, its names' case).
    let (wire, _) = tungstenite::handshake::client::generate_request(build()?)
        .map_err(|e| bad_header(e.to_string()))?;
    let wire = String::from_utf8_lossy(&wire).into_owned();
    let mut lines = wire.lines();
    let line = lines.next().unwrap_or_default().to_string();
    let sent_headers = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let request = build()?;
    let mut notes = vec![(
        SystemTime::now(),
        WsNote::Request {
            dir: Direction::Tx,
            line,
            headers: sent_headers,
        },
    )];
    let shake =
        tokio_tungstenite::client_async_with_config(request, stream, Some(ws_config(&config.ws)));
    let (ws, response) = match tokio::time::timeout(UPGRADE_TIMEOUT, shake).await {
        Err(_) => {
            return Err(failure(
                NetErrorKind::Timeout,
                WsFailure::UpgradeTimeout(UPGRADE_TIMEOUT.as_secs()),
            )
            .at(peer))
        }
        Ok(Ok(done)) => done,
        Ok(Err(tungstenite::Error::Http(response))) => {
            let status = response.status();
            return Err(failure(
                NetErrorKind::Protocol,
                WsFailure::Refused {
                    status: status.as_u16(),
                    reason: status.canonical_reason().unwrap_or("").to_string(),
                },
            )
            .at(peer));
        }
        Ok(Err(tungstenite::Error::Io(e))) => return Err(NetError::from_io(&e).at(peer)),
        Ok(Err(e)) => {
            return Err(
                failure(NetErrorKind::Protocol, WsFailure::BadUpgrade(e.to_string())).at(peer),
            )
        }
    };
    let status = response.status();
    let response_headers = header_list(response.headers());
    let subprotocol = response
        .headers()
        .get("Sec-WebSocket-Protocol")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let now = SystemTime::now();
    notes.push((
        now,
        WsNote::Response {
            dir: Direction::Rx,
            status: status.as_u16(),
            reason: status.canonical_reason().unwrap_or("").to_string(),
            headers: response_headers,
        },
    ));
    notes.push((
        now,
        WsNote::Upgraded {
            subprotocol,
            path: url.path.clone(),
            user_agent: None,
        },
    ));
    Ok(Upgraded { ws, notes })
}

fn header_list(headers: &tokio_tungstenite::tungstenite::http::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// Reads a client's upgrade request (within [`UPGRADE_TIMEOUT`] and [`MAX_HEAD`]) and
/// answers it: 101 and the WebSocket, or an HTTP refusal with the reason.
pub(super) async fn server(
    mut stream: Stream,
    config: &WsServerConfig,
) -> Result<Upgraded, NetError> {
    let work = async {
        let mut buf = Vec::with_capacity(1024);
        let mut chunk = [0u8; 2048];
        let head_end = loop {
            if let Some(end) = memchr::memmem::find(&buf, b"\r\n\r\n") {
                break end + 4;
            }
            if buf.len() >= MAX_HEAD {
                refuse(&mut stream, 431, "Request Header Fields Too Large").await;
                return Err(WsFailure::NotUpgrade {
                    status: 431,
                    request: String::new(),
                });
            }
            let n = stream
                .read(&mut chunk)
                .await
                .map_err(|e| WsFailure::Io(e.to_string()))?;
            if n == 0 {
                return Err(WsFailure::ClosedDuringUpgrade);
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let received = SystemTime::now();
        let mut slots = [httparse::EMPTY_HEADER; 64];
        let mut request = httparse::Request::new(&mut slots);
        let parsed = request.parse(&buf[..head_end]);
        let (method, path) = match (parsed, request.method, request.path) {
            (Ok(httparse::Status::Complete(_)), Some(m), Some(p)) => (m.to_string(), p.to_string()),
            _ => {
                refuse(&mut stream, 400, "Bad Request").await;
                return Err(WsFailure::NotUpgrade {
                    status: 400,
                    request: String::from_utf8_lossy(first_line(&buf)).into_owned(),
                });
            }
        };
        let headers: Vec<(String, String)> = request
            .headers
            .iter()
            .map(|h| {
                (
                    h.name.to_string(),
                    String::from_utf8_lossy(h.value).trim().to_string(),
                )
            })
            .collect();
        let header = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        let has_token = |name: &str, token: &str| {
            header(name).is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
        };
        let line = format!("{method} {path} HTTP/1.1");
        let refusal = if !method.eq_ignore_ascii_case("GET") {
            Some((405, "Method Not Allowed"))
        } else if !has_token("Upgrade", "websocket")
            || !has_token("Connection", "upgrade")
            || header("Sec-WebSocket-Version") != Some("13")
        {
            // A plain HTTP request, or a WebSocket version other than 13.
            Some((426, "Upgrade Required"))
        } else if header("Sec-WebSocket-Key").is_none() {
            Some((400, "Bad Request"))
        } else if config
            .path
            .as_deref()
            .is_some_and(|want| path.split('?').next() != Some(want))
        {
            Some((404, "Not Found"))
        } else {
            None
        };
        if let Some((status, words)) = refusal {
            refuse(&mut stream, status, words).await;
            return Err(WsFailure::NotUpgrade {
                status,
                request: line,
            });
        }
        let key = header("Sec-WebSocket-Key").unwrap_or_default();
        let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
        // The first subprotocol the client offers that the server accepts.
        let offered: Vec<&str> = header("Sec-WebSocket-Protocol")
            .map(|v| v.split(',').map(str::trim).collect())
            .unwrap_or_default();
        let chosen = offered
            .iter()
            .find(|p| config.ws.subprotocols.iter().any(|s| s == *p))
            .map(|p| p.to_string());
        let mut answer = vec![
            ("Upgrade".to_string(), "websocket".to_string()),
            ("Connection".to_string(), "Upgrade".to_string()),
            ("Sec-WebSocket-Accept".to_string(), accept),
        ];
        if let Some(p) = &chosen {
            answer.push(("Sec-WebSocket-Protocol".into(), p.clone()));
        }
        let mut text = String::from("HTTP/1.1 101 Switching Protocols\r\n");
        for (k, v) in &answer {
            text.push_str(&format!("{k}: {v}\r\n"));
        }
        text.push_str("\r\n");
        stream
            .write_all(text.as_bytes())
            .await
            .map_err(|e| WsFailure::Io(e.to_string()))?;
        let sent = SystemTime::now();
        let user_agent = header("User-Agent").map(str::to_string);
        let notes = vec![
            (
                received,
                WsNote::Request {
                    dir: Direction::Rx,
                    line,
                    headers: headers.clone(),
                },
            ),
            (
                sent,
                WsNote::Response {
                    dir: Direction::Tx,
                    status: 101,
                    reason: "Switching Protocols".into(),
                    headers: answer,
                },
            ),
            (
                sent,
                WsNote::Upgraded {
                    subprotocol: chosen,
                    path,
                    user_agent,
                },
            ),
        ];
        // Bytes the client sent after its request (its first frames) belong to the WebSocket.
        let rest = buf[head_end..].to_vec();
        let ws = WebSocketStream::from_partially_read(
            stream,
            rest,
            Role::Server,
            Some(ws_config(&config.ws)),
        )
        .await;
        Ok(Upgraded { ws, notes })
    };
    match tokio::time::timeout(UPGRADE_TIMEOUT, work).await {
        Ok(Ok(up)) => Ok(up),
        Ok(Err(why)) => Err(failure(NetErrorKind::Protocol, why)),
        Err(_) => Err(failure(
            NetErrorKind::Guard,
            WsFailure::UpgradeTimeout(UPGRADE_TIMEOUT.as_secs()),
        )),
    }
}

fn first_line(buf: &[u8]) -> &[u8] {
    let end = memchr::memchr(b'\r', buf).unwrap_or(buf.len()).min(200);
    &buf[..end]
}

/// Answers a request that is not a WebSocket upgrade with an HTTP status and a line of text
/// (a browser or curl pointed at the server reads what it is), then the connection closes.
async fn refuse(stream: &mut Stream, status: u16, words: &str) {
    let body = "SockScope WebSocket server: connect with a WebSocket client (ws:// or wss://).\n";
    let text = format!(
        "HTTP/1.1 {status} {words}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nSec-WebSocket-Version: 13\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let _ = stream.write_all(text.as_bytes()).await;
        let _ = stream.shutdown().await;
    })
    .await;
}

/// Whether the bytes go as a text message (valid UTF-8, sent as text) or binary.
pub(super) fn as_text(send_as: SendAs, bytes: &[u8]) -> Option<&str> {
    match send_as {
        SendAs::Auto => std::str::from_utf8(bytes).ok(),
        SendAs::Binary => None,
    }
}
