//! TLS options of `tcp-client` and `tcp-server`, and `sockscope tls-cert`.

use super::{CliError, TlsArgs, TlsCertArgs};
use crate::engine::tls::{self, Identity, TlsOptionError, TlsOptions, TlsSettings};
use std::process::ExitCode;

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

    /// The options as the engine takes them (a server's certificate generated with --gen-cert).
    fn options(&self) -> TlsOptions {
        TlsOptions {
            ca: self.ca.clone(),
            pin: self.pin.clone(),
            insecure: self.insecure,
            sni: self.sni.clone(),
            alpn: self.alpn.clone(),
            cert: self.cert.clone(),
            key: self.key.clone(),
            generate: self.gen_cert.then(|| self.names.clone()),
        }
    }

    /// A client's settings, or `None` for plain TCP.
    pub(super) fn client(&self) -> Result<Option<TlsSettings>, CliError> {
        if !self.on() {
            return Ok(None);
        }
        if self.gen_cert {
            return Err(CliError::Usage("--gen-cert is for tcp-server".into()));
        }
        let settings = self.options().client().map_err(usage)?;
        if self.insecure {
            eprintln!("sockscope: warning: --insecure: the server is NOT verified; anyone could be answering and reading");
        }
        Ok(Some(TlsSettings::Client(settings)))
    }

    /// A server's settings (a generated certificate made now), or `None` for plain TCP; prints
    /// the fingerprint a client can pin.
    pub(super) fn server(&self) -> Result<Option<TlsSettings>, CliError> {
        if !self.on() {
            return Ok(None);
        }
        let settings = self.options().server(None).map_err(usage)?;
        if let Identity::Generated(generated) = &settings.identity {
            eprintln!(
                "sockscope: TLS certificate generated for {}",
                generated.names.join(", ")
            );
        }
        // A certificate that cannot be read stops the run before anything listens.
        let fingerprint = tls::server_fingerprint(&settings)
            .map_err(|e| CliError::Usage(format!("--cert: {}", e.detail)))?;
        eprintln!("sockscope: TLS certificate SHA-256 {fingerprint}");
        Ok(Some(TlsSettings::Server(settings)))
    }
}

/// TLS options that do not fit, said with the options' names.
fn usage(e: TlsOptionError) -> CliError {
    CliError::Usage(match e {
        TlsOptionError::ManyWaysToVerify => "give one of --ca, --pin, --insecure".into(),
        TlsOptionError::BadPin => format!("--pin: {e}"),
        TlsOptionError::HalfIdentity => "--cert and --key go together".into(),
        TlsOptionError::NoServerIdentity => {
            "a TLS server needs --cert FILE --key FILE, or --gen-cert".into()
        }
        TlsOptionError::TwoIdentities => "give --cert and --key, or --gen-cert, not both".into(),
        TlsOptionError::ClientOnly => "--insecure, --pin and --sni are for tcp-client".into(),
        TlsOptionError::Generate(_) => e.to_string(),
    })
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
