//! HTTPS on the listener: the certificate chain and key named by `tls_cert_file` and
//! `tls_key_file`, read when a configuration is loaded (at start and on every SIGHUP, so a
//! renewed certificate is served from the next connection on, with no restart).

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use crate::config::TlsFiles;

/// The acceptor for `files`, or why it cannot be made (naming the file).
pub fn acceptor(files: &TlsFiles) -> Result<TlsAcceptor, String> {
    let cert = files.cert_file.display();
    let key = files.key_file.display();
    let chain = CertificateDer::pem_file_iter(&files.cert_file)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("tls_cert_file {cert}: {e}"))?;
    if chain.is_empty() {
        return Err(format!("tls_cert_file {cert}: no PEM certificate in it"));
    }
    let private = PrivateKeyDer::from_pem_file(&files.key_file)
        .map_err(|e| format!("tls_key_file {key}: {e}"))?;
    // ring, not the default aws-lc-rs: nothing to build beyond Rust and C.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(|e| format!("tls_cert_file {cert} with tls_key_file {key}: {e}"))?;
    // The server speaks HTTP/1.1 only.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
