//! How a host reaches its database: `[local] database`, a libpq URL, with TLS when the URL
//! asks for it.
//!
//! The client crate reads libpq's URL but not its certificate options, so two are taken
//! out first: `sslrootcert=FILE` (the CAs to trust, PEM) and `sslmode=verify-ca` or
//! `verify-full`. Whenever TLS is used the server's certificate is verified, chain and
//! name, against `sslrootcert` or, without one, the Mozilla roots: stricter than libpq's
//! `require`, which encrypts without verifying. `sslmode=prefer` (libpq's default) is
//! plain, as is `disable`: an unverified server is never trusted quietly.

use std::sync::Arc;

use ::postgres::config::SslMode;
use ::postgres::Config;
use percent_encoding::percent_decode_str;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::store::StoreError;

/// A database to connect to, and the TLS it is reached with.
#[derive(Clone)]
pub struct Target {
    pub config: Config,
    pub tls: MakeRustlsConnect,
}

impl Target {
    /// Parses `[local] database`.
    pub fn parse(url: &str) -> Result<Target, StoreError> {
        let bad = |why: String| StoreError(format!("[local] database: {why}"));
        let (url, root_file, verify) = libpq_tls_options(url).map_err(bad)?;
        let mut config: Config = url.parse().map_err(|e| bad(format!("{e}")))?;
        let tls = verify || matches!(config.get_ssl_mode(), SslMode::Require);
        config.ssl_mode(if tls {
            SslMode::Require
        } else {
            SslMode::Disable
        });
        let roots = match root_file {
            Some(file) => {
                let mut roots = RootCertStore::empty();
                let certs = CertificateDer::pem_file_iter(&file)
                    .map_err(|e| bad(format!("sslrootcert {file}: {e}")))?;
                for cert in certs {
                    let cert = cert.map_err(|e| bad(format!("sslrootcert {file}: {e}")))?;
                    roots
                        .add(cert)
                        .map_err(|e| bad(format!("sslrootcert {file}: {e}")))?;
                }
                if roots.is_empty() {
                    return Err(bad(format!("sslrootcert {file}: no certificate in it")));
                }
                roots
            }
            None => RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            },
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let client = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| bad(format!("TLS: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Target {
            config,
            tls: MakeRustlsConnect::new(client),
        })
    }

    /// One new connection.
    pub fn connect(&self) -> Result<::postgres::Client, ::postgres::Error> {
        self.config.connect(self.tls.clone())
    }
}

/// The URL without libpq's `sslrootcert` and `sslmode=verify-*`, the file named, and
/// whether verification was asked for.
fn libpq_tls_options(url: &str) -> Result<(String, Option<String>, bool), String> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_string(), None, false));
    };
    let mut kept = Vec::new();
    let mut root_file = None;
    let mut verify = false;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "sslrootcert" => {
                let file = percent_decode_str(value)
                    .decode_utf8()
                    .map_err(|_| "sslrootcert is not UTF-8".to_string())?;
                root_file = Some(file.into_owned());
            }
            "sslmode" if value == "verify-ca" || value == "verify-full" => verify = true,
            _ => kept.push(pair),
        }
    }
    let url = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((url, root_file, verify))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libpq_certificate_options_are_taken_out() {
        let (url, file, verify) = libpq_tls_options(
            "postgresql://u@db/x?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&connect_timeout=5",
        )
        .unwrap();
        assert_eq!(url, "postgresql://u@db/x?connect_timeout=5");
        assert_eq!(file.as_deref(), Some("/etc/ca.pem"));
        assert!(verify);
        let (url, file, verify) = libpq_tls_options("postgresql://u@db/x").unwrap();
        assert_eq!(
            (url.as_str(), file, verify),
            ("postgresql://u@db/x", None, false)
        );
    }

    #[test]
    fn tls_only_when_asked_for() {
        let plain = Target::parse("postgresql://u@db/x").unwrap();
        assert!(matches!(plain.config.get_ssl_mode(), SslMode::Disable));
        let prefer = Target::parse("postgresql://u@db/x?sslmode=prefer").unwrap();
        assert!(matches!(prefer.config.get_ssl_mode(), SslMode::Disable));
        let require = Target::parse("postgresql://u@db/x?sslmode=require").unwrap();
        assert!(matches!(require.config.get_ssl_mode(), SslMode::Require));
        let full = Target::parse("postgresql://u@db/x?sslmode=verify-full").unwrap();
        assert!(matches!(full.config.get_ssl_mode(), SslMode::Require));
        let missing = Target::parse("postgresql://u@db/x?sslmode=require&sslrootcert=/nonexistent");
        assert!(missing.is_err());
    }
}
