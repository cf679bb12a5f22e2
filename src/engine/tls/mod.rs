//! TLS for TCP client and server sessions (rustls with the `ring` provider: nothing to install).
//!
//! A session gets its TLS settings with [`Command::SetTls`](super::Command::SetTls) before it
//! opens. A client verifies the server against the system's roots, a CA file, a pinned SHA-256
//! fingerprint, or — marked unsafe everywhere it shows — not at all. A server uses a PEM
//! certificate and key, or one generated in one click ([`generate`]: a small CA and a server
//! certificate for this machine's names), and may require client certificates from a CA.
//! After the handshake the session reports what was agreed ([`TlsInfo`]); a failure says why in
//! the user's words (expired, wrong name, unknown issuer, pin mismatch, not TLS, rejected).

mod options;

pub use options::{TlsOptionError, TlsOptions};

use super::{NetError, NetErrorKind};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;

/// How long a handshake may take before the peer is given up on (a silent peer cannot hold a
/// server's handshake slot).
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How a client checks the server it talks to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verify {
    /// Against the system's trusted roots.
    System,
    /// Against the CA certificates in a PEM file.
    CaFile(PathBuf),
    /// The server's certificate must have this SHA-256 fingerprint (hex, colons optional).
    Pin(String),
    /// Not at all: anyone can read and change the traffic. Shown as unsafe.
    Insecure,
}

/// A client's TLS settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsClientSettings {
    pub verify: Verify,
    /// The name sent (SNI) and checked; default: the host the session connects to.
    pub sni: Option<String>,
    /// Protocols offered (ALPN), in order of preference.
    pub alpn: Vec<String>,
    /// A client certificate and key (PEM), for servers that ask for one.
    pub identity: Option<(PathBuf, PathBuf)>,
}

/// Where a server's certificate comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Identity {
    /// PEM files: the certificate (chain) and its private key.
    Files { cert: PathBuf, key: PathBuf },
    /// Generated here (see [`generate`]).
    Generated(Arc<Generated>),
}

/// A server's TLS settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsServerSettings {
    pub identity: Identity,
    /// Require a client certificate issued by a CA in this PEM file (mutual TLS).
    pub client_ca: Option<PathBuf>,
    /// Protocols accepted (ALPN).
    pub alpn: Vec<String>,
}

/// A session's TLS settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TlsSettings {
    Client(TlsClientSettings),
    Server(TlsServerSettings),
    /// A relay: TLS towards its clients (it terminates it and logs the plaintext), towards its
    /// target, or both.
    Relay {
        listen: Option<TlsServerSettings>,
        target: Option<TlsClientSettings>,
    },
}

/// A certificate made here: a CA (for the device side to trust) and a server certificate it
/// signed, with the server key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Generated {
    /// The CA certificate, PEM: give it to the device as its trusted CA.
    pub ca_pem: String,
    /// The server certificate, PEM.
    pub cert_pem: String,
    /// The server's private key, PEM.
    pub key_pem: String,
    /// The names and addresses the server certificate is valid for.
    pub names: Vec<String>,
    /// SHA-256 of the server certificate, `AB:CD:…`, for a client to pin.
    pub fingerprint: String,
}

/// What a handshake agreed, for the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsInfo {
    /// `TLSv1.3`, `TLSv1.2`.
    pub version: String,
    /// The cipher suite.
    pub cipher: String,
    /// The protocol agreed by ALPN, if any.
    pub alpn: Option<String>,
    /// The peer's certificate (a client's only when the server asked for one).
    pub peer: Option<CertInfo>,
    /// Verification was off: the peer is who it says only by its word.
    pub unverified: bool,
}

/// A certificate, as a person checks one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertInfo {
    pub subject: String,
    pub issuer: String,
    /// Valid from and until, UTC (`2026-11-29 17:00:00 UTC`).
    pub not_before: String,
    pub not_after: String,
    /// SHA-256 of the certificate, `AB:CD:…`.
    pub fingerprint: String,
}

impl std::fmt::Display for TlsInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.version, self.cipher)?;
        if let Some(alpn) = &self.alpn {
            write!(f, ", ALPN {alpn}")?;
        }
        if let Some(c) = &self.peer {
            write!(
                f,
                "; certificate: subject {}, issuer {}, valid {} to {}, SHA-256 {}",
                c.subject, c.issuer, c.not_before, c.not_after, c.fingerprint
            )?;
        }
        Ok(())
    }
}

/// SHA-256 of `der` as `AB:CD:…`.
pub fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// A typed fingerprint as bytes: 64 hex digits, colons, spaces and case as the user likes.
pub fn parse_pin(pin: &str) -> Result<[u8; 32], NetError> {
    let hex: String = pin
        .chars()
        .filter(|c| !matches!(c, ':' | ' ' | '-'))
        .collect();
    let bytes = crate::payload::hex::decode_hex(&hex).ok();
    bytes
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(|| {
            NetError::new(
                NetErrorKind::TlsSetup,
                format!("'{pin}' is not a SHA-256 fingerprint (64 hex digits)"),
            )
        })
}

/// The names a generated certificate holds: localhost, the loopback addresses, this machine's
/// host name and interface addresses, and what the user adds.
pub fn default_names(extra: &[String]) -> Vec<String> {
    let mut names: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
    if let Ok(host) = std::env::var("HOSTNAME").or_else(|_| std::env::var("COMPUTERNAME")) {
        names.push(host);
    }
    if let Ok(interfaces) = if_addrs::get_if_addrs() {
        names.extend(interfaces.iter().map(|i| i.ip().to_string()));
    }
    names.extend(extra.iter().map(|n| n.trim().to_string()));
    let mut seen = std::collections::HashSet::new();
    names.retain(|n| !n.is_empty() && seen.insert(n.clone()));
    names
}

/// Makes a CA and a server certificate for `names` (valid for a year), in memory.
pub fn generate(names: &[String]) -> Result<Generated, NetError> {
    generate_valid(names, time::Duration::days(-1), time::Duration::days(365))
}

/// [`generate`] with the server certificate valid from `now + from` to `now + until`.
fn generate_valid(
    names: &[String],
    from: time::Duration,
    until: time::Duration,
) -> Result<Generated, NetError> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
    let fail = |e: rcgen::Error| NetError::new(NetErrorKind::TlsSetup, e.to_string());
    let now = time::OffsetDateTime::now_utc();
    let mut ca_params = CertificateParams::default();
    // Each CA its own name: a client trusting another SockScope CA then finds no issuer of
    // that name (unknown issuer), rather than one whose signature does not fit.
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    ca_params
        .distinguished_name
        .push(DnType::CommonName, format!("SockScope test CA {stamp:x}"));
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    ca_params.not_before = now - time::Duration::days(1);
    ca_params.not_after = now + time::Duration::days(365);
    let ca_key = KeyPair::generate().map_err(fail)?;
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).map_err(fail)?;
    let mut params = CertificateParams::new(names.to_vec()).map_err(|e| {
        NetError::new(
            NetErrorKind::TlsSetup,
            format!("a name the certificate cannot hold: {e}"),
        )
    })?;
    params.distinguished_name.push(
        DnType::CommonName,
        names.first().map_or("localhost", String::as_str),
    );
    params.not_before = now + from;
    params.not_after = now + until;
    let key = KeyPair::generate().map_err(fail)?;
    let cert = params.signed_by(&key, &ca).map_err(fail)?;
    Ok(Generated {
        ca_pem: ca.pem(),
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
        names: names.to_vec(),
        fingerprint: fingerprint(cert.der()),
    })
}

/// Writes a generated pair as `ca.pem`, `cert.pem` (server certificate then CA) and `key.pem`
/// in `dir`; existing files are never replaced.
pub fn write_generated(generated: &Generated, dir: &Path) -> Result<Vec<PathBuf>, NetError> {
    let files = [
        ("ca.pem", generated.ca_pem.clone()),
        (
            "cert.pem",
            format!("{}{}", generated.cert_pem, generated.ca_pem),
        ),
        ("key.pem", generated.key_pem.clone()),
    ];
    let paths: Vec<PathBuf> = files.iter().map(|(n, _)| dir.join(n)).collect();
    if let Some(taken) = paths.iter().find(|p| p.exists()) {
        return Err(
            NetError::new(NetErrorKind::FileExists, "nothing was written").at(taken.display()),
        );
    }
    for ((_, text), path) in files.iter().zip(&paths) {
        // create_new: a file planted meanwhile (or a link) is never written through.
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()))
            .map_err(|e| super::file_io::file_error(path, &e))?;
    }
    Ok(paths)
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn setup(detail: impl Into<String>) -> NetError {
    NetError::new(NetErrorKind::TlsSetup, detail)
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, NetError> {
    let certs: Vec<_> = CertificateDer::pem_file_iter(path)
        .and_then(|i| i.collect::<Result<Vec<_>, _>>())
        .map_err(|e| setup(format!("{}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(setup(format!("{}: no certificate in it", path.display())));
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, NetError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| setup(format!("{}: {e}", path.display())))
}

fn roots_from(path: &Path) -> Result<RootCertStore, NetError> {
    let mut roots = RootCertStore::empty();
    for cert in read_certs(path)? {
        roots
            .add(cert)
            .map_err(|e| setup(format!("{}: {e}", path.display())))?;
    }
    Ok(roots)
}

fn alpn(list: &[String]) -> Vec<Vec<u8>> {
    list.iter().map(|p| p.as_bytes().to_vec()).collect()
}

/// The client side's configuration; errors name the file or setting at fault.
pub fn client_config(s: &TlsClientSettings) -> Result<Arc<ClientConfig>, NetError> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| setup(e.to_string()))?;
    let builder = match &s.verify {
        Verify::System => {
            let mut roots = RootCertStore::empty();
            let found = rustls_native_certs::load_native_certs();
            for cert in found.certs {
                let _ = roots.add(cert);
            }
            if roots.is_empty() {
                return Err(setup(
                    "no trusted root certificates found on this system: give a CA file",
                ));
            }
            builder.with_root_certificates(roots)
        }
        Verify::CaFile(path) => builder.with_root_certificates(roots_from(path)?),
        Verify::Pin(pin) => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Pinned {
                pin: Some(parse_pin(pin)?),
            })),
        Verify::Insecure => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Pinned { pin: None })),
    };
    let mut config = match &s.identity {
        Some((cert, key)) => builder
            .with_client_auth_cert(read_certs(cert)?, read_key(key)?)
            .map_err(|e| setup(format!("{}: {e}", key.display())))?,
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = alpn(&s.alpn);
    Ok(Arc::new(config))
}

/// The server side's configuration.
pub(crate) fn server_config(s: &TlsServerSettings) -> Result<Arc<ServerConfig>, NetError> {
    let builder = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| setup(e.to_string()))?;
    let builder = match &s.client_ca {
        Some(path) => {
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots_from(path)?),
                provider(),
            )
            .build()
            .map_err(|e| setup(format!("{}: {e}", path.display())))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let (certs, key) = match &s.identity {
        Identity::Files { cert, key } => (read_certs(cert)?, read_key(key)?),
        Identity::Generated(g) => {
            let certs = CertificateDer::pem_slice_iter(g.cert_pem.as_bytes())
                .chain(CertificateDer::pem_slice_iter(g.ca_pem.as_bytes()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| setup(e.to_string()))?;
            let key = PrivateKeyDer::from_pem_slice(g.key_pem.as_bytes())
                .map_err(|e| setup(e.to_string()))?;
            (certs, key)
        }
    };
    let mut config = builder
        .with_single_cert(certs, key)
        .map_err(|e| setup(format!("certificate and key: {e}")))?;
    config.alpn_protocols = alpn(&s.alpn);
    Ok(Arc::new(config))
}

/// The fingerprint of a server's own certificate (the first in its chain).
pub fn server_fingerprint(s: &TlsServerSettings) -> Result<String, NetError> {
    match &s.identity {
        Identity::Generated(g) => Ok(g.fingerprint.clone()),
        Identity::Files { cert, .. } => Ok(fingerprint(&read_certs(cert)?[0])),
    }
}

/// Accepts exactly one fingerprint, or (no pin) anything. Signatures are still checked, so the
/// peer holds the key of the certificate it showed.
#[derive(Debug)]
struct Pinned {
    pin: Option<[u8; 32]>,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.pin {
            None => Ok(ServerCertVerified::assertion()),
            Some(pin) if Sha256::digest(end_entity.as_ref()).as_slice() == pin => {
                Ok(ServerCertVerified::assertion())
            }
            Some(_) => Err(rustls::Error::General(PIN_MISMATCH.into())),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &provider().signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &provider().signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

const PIN_MISMATCH: &str = "pin mismatch";

/// A TLS stream over TCP, either side.
pub type TlsStream = tokio_rustls::TlsStream<TcpStream>;

/// The client's handshake over a connected stream, within [`HANDSHAKE_TIMEOUT`].
pub async fn connect(
    config: Arc<ClientConfig>,
    settings: &TlsClientSettings,
    host: &str,
    tcp: TcpStream,
) -> Result<(TlsStream, TlsInfo), NetError> {
    let name = settings.sni.clone().unwrap_or_else(|| host.to_string());
    let name = ServerName::try_from(
        name.trim_start_matches('[')
            .trim_end_matches(']')
            .to_string(),
    )
    .map_err(|_| setup(format!("'{name}' is not a name TLS can check (SNI)")))?;
    let connector = tokio_rustls::TlsConnector::from(config);
    let stream = tokio::time::timeout(HANDSHAKE_TIMEOUT, connector.connect(name, tcp))
        .await
        .map_err(|_| handshake_timeout())?
        .map_err(|e| handshake_error(&e))?;
    let mut info = info_of(stream.get_ref().1);
    info.unverified = settings.verify == Verify::Insecure;
    Ok((tokio_rustls::TlsStream::Client(stream), info))
}

/// The server's handshake with an accepted client, within [`HANDSHAKE_TIMEOUT`].
pub(crate) async fn accept(
    config: Arc<ServerConfig>,
    tcp: TcpStream,
) -> Result<(TlsStream, TlsInfo), NetError> {
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let stream = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp))
        .await
        .map_err(|_| handshake_timeout())?
        .map_err(|e| handshake_error(&e))?;
    let info = info_of(stream.get_ref().1);
    Ok((tokio_rustls::TlsStream::Server(stream), info))
}

/// What a finished handshake agreed (either side).
fn info_of(session: &rustls::CommonState) -> TlsInfo {
    let version = match session.protocol_version() {
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3".to_string(),
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2".to_string(),
        Some(v) => format!("{v:?}"),
        None => "?".into(),
    };
    TlsInfo {
        version,
        cipher: session
            .negotiated_cipher_suite()
            .map_or_else(|| "?".into(), |s| format!("{:?}", s.suite())),
        alpn: session
            .alpn_protocol()
            .map(|p| String::from_utf8_lossy(p).into_owned()),
        peer: session
            .peer_certificates()
            .and_then(|c| c.first())
            .map(|c| cert_info(c)),
        unverified: false,
    }
}

/// Subject, issuer, validity and fingerprint of a certificate (what could not be read says so).
pub fn cert_info(der: &CertificateDer<'_>) -> CertInfo {
    let fingerprint = fingerprint(der.as_ref());
    match x509_parser::parse_x509_certificate(der.as_ref()) {
        Ok((_, cert)) => {
            let when = |t: x509_parser::time::ASN1Time| {
                t.to_datetime()
                    .format(&time_format())
                    .unwrap_or_else(|_| t.to_string())
            };
            CertInfo {
                subject: cert.subject().to_string(),
                issuer: cert.issuer().to_string(),
                not_before: when(cert.validity().not_before),
                not_after: when(cert.validity().not_after),
                fingerprint,
            }
        }
        Err(_) => CertInfo {
            subject: "(unreadable)".into(),
            issuer: "(unreadable)".into(),
            not_before: "?".into(),
            not_after: "?".into(),
            fingerprint,
        },
    }
}

fn time_format() -> Vec<time::format_description::BorrowedFormatItem<'static>> {
    time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC").to_vec()
}

fn handshake_timeout() -> NetError {
    NetError::new(
        NetErrorKind::TlsFailed,
        format!(
            "the TLS handshake did not finish within {} s (is the peer speaking TLS?)",
            HANDSHAKE_TIMEOUT.as_secs()
        ),
    )
}

/// A TLS failure inside an I/O error (a handshake, or an alert on an open connection) in the
/// user's terms; `None` when the error is not TLS's.
pub(crate) fn tls_failure(e: &std::io::Error) -> Option<NetError> {
    use rustls::{CertificateError, Error};
    let tls = e.get_ref()?.downcast_ref::<Error>()?;
    let kind = match tls {
        Error::InvalidCertificate(CertificateError::Expired)
        | Error::InvalidCertificate(CertificateError::ExpiredContext { .. })
        | Error::InvalidCertificate(CertificateError::NotValidYet)
        | Error::InvalidCertificate(CertificateError::NotValidYetContext { .. }) => {
            NetErrorKind::TlsExpired
        }
        Error::InvalidCertificate(CertificateError::NotValidForName)
        | Error::InvalidCertificate(CertificateError::NotValidForNameContext { .. }) => {
            NetErrorKind::TlsWrongName
        }
        // A bad signature: an issuer of that name is trusted, but it did not sign this one.
        Error::InvalidCertificate(CertificateError::UnknownIssuer)
        | Error::InvalidCertificate(CertificateError::BadSignature) => {
            NetErrorKind::TlsUnknownIssuer
        }
        Error::General(g) if g == PIN_MISMATCH => NetErrorKind::TlsPinMismatch,
        // An alert is the peer's verdict on us (our certificate, our settings): rejected.
        Error::AlertReceived(_) | Error::NoCertificatesPresented => NetErrorKind::TlsRejected,
        Error::InvalidMessage(_) | Error::InappropriateMessage { .. } => NetErrorKind::TlsNotTls,
        _ => NetErrorKind::TlsFailed,
    };
    Some(NetError::new(kind, tls.to_string()))
}

/// A failed handshake in the user's terms.
fn handshake_error(e: &std::io::Error) -> NetError {
    if let Some(failure) = tls_failure(e) {
        return failure;
    }
    // The connection itself failed (reset, closed mid-handshake).
    let error = NetError::from_io(e);
    if matches!(error.kind, NetErrorKind::Other) || e.kind() == std::io::ErrorKind::UnexpectedEof {
        return NetError::new(
            NetErrorKind::TlsRejected,
            format!("the peer closed the connection during the handshake ({e})"),
        );
    }
    error
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_certificate_holds_its_names_and_its_fingerprint_pins_it() {
        let names = default_names(&["device.lab".into()]);
        assert!(names.iter().any(|n| n == "localhost") && names.iter().any(|n| n == "device.lab"));
        let g = generate(&names).unwrap();
        let der = CertificateDer::from_pem_slice(g.cert_pem.as_bytes()).unwrap();
        assert_eq!(fingerprint(der.as_ref()), g.fingerprint);
        assert_eq!(
            parse_pin(&g.fingerprint).unwrap().to_vec(),
            Sha256::digest(der.as_ref()).to_vec()
        );
        assert_eq!(
            parse_pin(&g.fingerprint.replace(':', "").to_lowercase()).unwrap(),
            parse_pin(&g.fingerprint).unwrap()
        );
        assert_eq!(parse_pin("AB:CD").unwrap_err().kind, NetErrorKind::TlsSetup);
        let info = cert_info(&der);
        assert!(info.issuer.contains("SockScope test CA"), "{info:?}");
        assert!(info.not_after.ends_with("UTC"), "{info:?}");
        let settings = TlsServerSettings {
            identity: Identity::Generated(Arc::new(g)),
            client_ca: None,
            alpn: Vec::new(),
        };
        assert!(server_config(&settings).is_ok());
    }

    /// A real handshake over loopback with `served` as the server's certificate and a client
    /// trusting its CA by file; the client's error, if any.
    fn handshake(served: Generated, sni: Option<&str>) -> Option<NetError> {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, &served.ca_pem).unwrap();
        let server = server_config(&TlsServerSettings {
            identity: Identity::Generated(Arc::new(served)),
            client_ca: None,
            alpn: Vec::new(),
        })
        .unwrap();
        let settings = TlsClientSettings {
            verify: Verify::CaFile(ca),
            sni: sni.map(str::to_string),
            alpn: Vec::new(),
            identity: None,
        };
        let client = client_config(&settings).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let serve = tokio::spawn(async move {
                let (tcp, _) = listener.accept().await.unwrap();
                let _ = accept(server, tcp).await;
            });
            let tcp = TcpStream::connect(addr).await.unwrap();
            let result = connect(client, &settings, "localhost", tcp).await;
            let _ = serve.await;
            result.err()
        })
    }

    #[test]
    fn an_expired_certificate_and_a_wrong_name_are_told_apart() {
        let names = vec!["localhost".to_string()];
        let fresh = generate(&names).unwrap();
        assert!(
            handshake(fresh.clone(), None).is_none(),
            "trusted by its CA file"
        );
        let expired =
            generate_valid(&names, time::Duration::days(-30), time::Duration::days(-1)).unwrap();
        assert_eq!(
            handshake(expired, None).unwrap().kind,
            NetErrorKind::TlsExpired
        );
        let not_yet =
            generate_valid(&names, time::Duration::days(2), time::Duration::days(30)).unwrap();
        assert_eq!(
            handshake(not_yet, None).unwrap().kind,
            NetErrorKind::TlsExpired
        );
        assert_eq!(
            handshake(fresh, Some("printer.lab")).unwrap().kind,
            NetErrorKind::TlsWrongName
        );
    }
}
