//! The one place the TLS options a user gives — in the window, a sequence file or on the
//! command line — become the settings a session opens with. Each front end says the errors in
//! its own words.

use super::{
    default_names, generate, parse_pin, Generated, Identity, TlsClientSettings, TlsServerSettings,
    Verify,
};
use std::path::PathBuf;
use std::sync::Arc;

/// TLS options as a user gives them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// A client trusts this CA file; a server requires client certificates it issued.
    pub ca: Option<PathBuf>,
    /// A client accepts only a server certificate with this SHA-256 fingerprint.
    pub pin: Option<String>,
    /// A client verifies nothing (unsafe).
    pub insecure: bool,
    /// A client's server name (SNI); empty: the host connected to.
    pub sni: Option<String>,
    /// Protocols offered or accepted (ALPN).
    pub alpn: Vec<String>,
    /// PEM certificate and key: a server's own, or a client's for servers that ask.
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    /// A server makes a certificate now, for this machine's names and these.
    pub generate: Option<Vec<String>>,
}

/// Why TLS options cannot become settings.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TlsOptionError {
    #[error("give one of a CA file, a pin or insecure, not several")]
    ManyWaysToVerify,
    #[error("the pin is not a SHA-256 fingerprint (64 hex digits)")]
    BadPin,
    #[error("a certificate needs its key, and a key its certificate")]
    HalfIdentity,
    #[error("a TLS server needs a certificate and its key, or a generated certificate")]
    NoServerIdentity,
    #[error("certificate files and a generated certificate: give one")]
    TwoIdentities,
    #[error("insecure, a pin and SNI are for a client")]
    ClientOnly,
    #[error("cannot generate a certificate: {0}")]
    Generate(String),
}

impl TlsOptions {
    /// A client's settings.
    pub fn client(&self) -> Result<TlsClientSettings, TlsOptionError> {
        let verify = match (&self.ca, &self.pin, self.insecure) {
            (Some(ca), None, false) => Verify::CaFile(ca.clone()),
            (None, Some(pin), false) => {
                parse_pin(pin).map_err(|_| TlsOptionError::BadPin)?;
                Verify::Pin(pin.trim().to_string())
            }
            (None, None, true) => Verify::Insecure,
            (None, None, false) => Verify::System,
            _ => return Err(TlsOptionError::ManyWaysToVerify),
        };
        let identity = match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => Some((cert.clone(), key.clone())),
            (None, None) => None,
            _ => return Err(TlsOptionError::HalfIdentity),
        };
        let sni = self.sni.as_deref().map(str::trim).filter(|s| !s.is_empty());
        Ok(TlsClientSettings {
            verify,
            sni: sni.map(str::to_string),
            alpn: self.alpn.clone(),
            identity,
        })
    }

    /// A server's settings; `generated` is a certificate made earlier (the window's Generate)
    /// used when neither files nor `generate` are given.
    pub fn server(
        &self,
        generated: Option<Arc<Generated>>,
    ) -> Result<TlsServerSettings, TlsOptionError> {
        if self.insecure || self.pin.is_some() || self.sni.is_some() {
            return Err(TlsOptionError::ClientOnly);
        }
        let identity = match (&self.cert, &self.key, &self.generate) {
            (Some(_), Some(_), Some(_)) => return Err(TlsOptionError::TwoIdentities),
            (Some(cert), Some(key), None) => Identity::Files {
                cert: cert.clone(),
                key: key.clone(),
            },
            (None, None, Some(names)) => {
                let made = generate(&default_names(names))
                    .map_err(|e| TlsOptionError::Generate(e.detail))?;
                Identity::Generated(Arc::new(made))
            }
            (None, None, None) => {
                Identity::Generated(generated.ok_or(TlsOptionError::NoServerIdentity)?)
            }
            _ => return Err(TlsOptionError::HalfIdentity),
        };
        Ok(TlsServerSettings {
            identity,
            client_ca: self.ca.clone(),
            alpn: self.alpn.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_become_settings_or_say_what_is_wrong() {
        let client = TlsOptions {
            pin: Some("00".repeat(32)),
            sni: Some("  ".into()),
            ..TlsOptions::default()
        }
        .client()
        .unwrap();
        assert!(matches!(client.verify, Verify::Pin(_)));
        assert_eq!(client.sni, None, "a blank SNI is the host connected to");
        let two = TlsOptions {
            ca: Some("ca.pem".into()),
            insecure: true,
            ..TlsOptions::default()
        };
        assert_eq!(two.client(), Err(TlsOptionError::ManyWaysToVerify));
        let half = TlsOptions {
            cert: Some("c.pem".into()),
            ..TlsOptions::default()
        };
        assert_eq!(half.client(), Err(TlsOptionError::HalfIdentity));
        assert_eq!(
            TlsOptions::default().server(None),
            Err(TlsOptionError::NoServerIdentity)
        );
        let made = TlsOptions {
            generate: Some(Vec::new()),
            ..TlsOptions::default()
        }
        .server(None)
        .unwrap();
        assert!(matches!(made.identity, Identity::Generated(_)));
        let client_only = TlsOptions {
            insecure: true,
            generate: Some(Vec::new()),
            ..TlsOptions::default()
        };
        assert_eq!(client_only.server(None), Err(TlsOptionError::ClientOnly));
    }
}
