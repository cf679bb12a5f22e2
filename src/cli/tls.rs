//! TLS options of `tcp-client` and `tcp-server`, and `sockscope tls-cert`.

use super::{CliError, TlsArgs, TlsCertArgs};
use crate::engine::tls::{
    self, Identity, TlsClientSettings, TlsServerSettings, TlsSettings, Verify,
};
use std::process::ExitCode;
use std::sync::Arc;

impl TlsArgs {
    /// Is TLS on (`--tls`, or any option that only means something with it)?
    fn on(&self) -> bool {
        self.tls
            || self.cert.is_some()
            || self.ca.is_some()
            || self.insecure
            || self.pin.is_some()
            || self.sni.is_some()
            || self.gen_cert
    }

    /// A client's settings, or `None` for plain TCP.
    pub(super) fn client(&self) -> Result<Option<TlsSettings>, CliError> {
        if !self.on() {
            return Ok(None);
        }
        if self.gen_cert {
            return Err(CliError::Usage("--gen-cert is for tcp-server".into()));
        }
        let verify = match (&self.ca, &self.pin, self.insecure) {
            (Some(ca), _, _) => Verify::CaFile(ca.clone()),
            (_, Some(pin), _) => {
                tls::parse_pin(pin).map_err(|e| CliError::Usage(format!("--pin: {}", e.detail)))?;
                Verify::Pin(pin.clone())
            }
            (_, _, true) => {
                eprintln!("sockscope: warning: --insecure: the server is NOT verified; anyone could be answering and reading");
                Verify::Insecure
            }
            _ => Verify::System,
        };
        Ok(Some(TlsSettings::Client(TlsClientSettings {
            verify,
            sni: self.sni.clone(),
            alpn: self.alpn.clone(),
            identity: self.cert.clone().zip(self.key.clone()),
        })))
    }

    /// A server's settings (a generated certificate made now), or `None` for plain TCP; prints
    /// the fingerprint a client can pin.
    pub(super) fn server(&self) -> Result<Option<TlsSettings>, CliError> {
        if !self.on() {
            return Ok(None);
        }
        if self.insecure || self.pin.is_some() || self.sni.is_some() {
            return Err(CliError::Usage(
                "--insecure, --pin and --sni are for tcp-client".into(),
            ));
        }
        let identity = match (&self.cert, &self.key, self.gen_cert) {
            (Some(cert), Some(key), false) => Identity::Files {
                cert: cert.clone(),
                key: key.clone(),
            },
            (None, None, true) => {
                let names = tls::default_names(&self.names);
                let generated =
                    tls::generate(&names).map_err(|e| CliError::Usage(e.to_string()))?;
                eprintln!(
                    "sockscope: TLS certificate generated for {}",
                    generated.names.join(", ")
                );
                Identity::Generated(Arc::new(generated))
            }
            _ => {
                return Err(CliError::Usage(
                    "a TLS server needs --cert FILE --key FILE, or --gen-cert".into(),
                ))
            }
        };
        let settings = TlsServerSettings {
            identity,
            client_ca: self.ca.clone(),
            alpn: self.alpn.clone(),
        };
        // A certificate that cannot be read stops the run before anything listens.
        let fingerprint = tls::server_fingerprint(&settings)
            .map_err(|e| CliError::Usage(format!("--cert: {}", e.detail)))?;
        eprintln!("sockscope: TLS certificate SHA-256 {fingerprint}");
        Ok(Some(TlsSettings::Server(settings)))
    }
}

impl TlsArgs {
    /// A relay's settings: TLS towards its clients (`listen`), its target (`target`), or both.
    pub(super) fn relay(
        &self,
        listen: bool,
        target: bool,
    ) -> Result<Option<TlsSettings>, CliError> {
        let (listen, target) = (listen || self.tls, target || self.tls);
        if !listen && !target {
            return if self.on() {
                Err(CliError::Usage(
                    "a relay takes --tls-listen, --tls-target or --tls (both sides)".into(),
                ))
            } else {
                Ok(None)
            };
        }
        let server = if listen {
            let only_server = TlsArgs {
                tls: true,
                insecure: false,
                pin: None,
                sni: None,
                ca: None,
                ..self.clone()
            };
            match only_server.server()? {
                Some(TlsSettings::Server(s)) => Some(s),
                _ => None,
            }
        } else {
            None
        };
        let client = if target {
            let only_client = TlsArgs {
                tls: true,
                gen_cert: false,
                names: Vec::new(),
                cert: None,
                key: None,
                ..self.clone()
            };
            match only_client.client()? {
                Some(TlsSettings::Client(c)) => Some(c),
                _ => None,
            }
        } else {
            None
        };
        Ok(Some(TlsSettings::Relay {
            listen: server,
            target: client,
        }))
    }
}

/// `sockscope tls-cert --out DIR [--names a,b]`.
pub(super) fn tls_cert(args: &TlsCertArgs) -> Result<ExitCode, CliError> {
    let names = tls::default_names(&args.names);
    let generated = tls::generate(&names).map_err(|e| CliError::Usage(e.to_string()))?;
    match tls::write_generated(&generated, &args.out) {
        Ok(paths) => {
            for p in paths {
                println!("{}", p.display());
            }
            println!("names: {}", generated.names.join(", "));
            println!("SHA-256: {}", generated.fingerprint);
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("sockscope: error: {e}");
            Ok(ExitCode::from(
                if e.kind == crate::engine::NetErrorKind::FileExists {
                    2
                } else {
                    1
                },
            ))
        }
    }
}
