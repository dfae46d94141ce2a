//! TLS for `https://` endpoints: rustls (ring provider) over whatever stream the connector opened.

use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore};

use crate::v1::{Error, Result};

/// TLS settings of a client, resolved once when the client is built.
#[derive(Clone)]
pub(crate) struct TlsSetup {
    pub(crate) connector: tokio_rustls::TlsConnector,
    pub(crate) server_name: ServerName<'static>,
}

impl std::fmt::Debug for TlsSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsSetup")
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

impl TlsSetup {
    /// Build the TLS configuration: roots from `ca_file` (PEM) or, without one, the system's
    /// trust store (`SSL_CERT_FILE`/`SSL_CERT_DIR`, else the platform's certificates; falling
    /// back to the bundled Mozilla roots of `webpki-roots` when the system has none); a client
    /// certificate and key (PEM) when given.
    pub(crate) fn new(
        host: &str,
        ca_file: Option<&Path>,
        client_cert: Option<&(PathBuf, PathBuf)>,
    ) -> Result<TlsSetup> {
        let mut roots = RootCertStore::empty();
        match ca_file {
            Some(path) => {
                let certs = read_certs(path, "CA file")?;
                for (i, cert) in certs.into_iter().enumerate() {
                    roots.add(cert).map_err(|e| Error::Tls {
                        message: format!(
                            "CA file {}: certificate #{} is not usable as a trust anchor: {e}",
                            path.display(),
                            i + 1
                        ),
                    })?;
                }
            }
            None => {
                let native = rustls_native_certs::load_native_certs();
                for error in &native.errors {
                    tracing::debug!(%error, "skipping part of the system trust store");
                }
                let (added, ignored) = roots.add_parsable_certificates(native.certs);
                tracing::debug!(added, ignored, "system trust store loaded");
                if roots.is_empty() {
                    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
                }
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Tls {
                message: format!("cannot set up TLS protocol versions: {e}"),
            })?
            .with_root_certificates(roots);
        let config = match client_cert {
            Some((cert_path, key_path)) => {
                let certs = read_certs(cert_path, "client certificate file")?;
                let key = read_key(key_path)?;
                builder
                    .with_client_auth_cert(certs, key)
                    .map_err(|e| Error::Tls {
                        message: format!(
                            "client certificate {} with key {}: {e}",
                            cert_path.display(),
                            key_path.display()
                        ),
                    })?
            }
            None => builder.with_no_client_auth(),
        };
        let server_name = ServerName::try_from(host.to_string()).map_err(|e| Error::Tls {
            message: format!("{host:?} is not a valid TLS server name: {e}"),
        })?;
        Ok(TlsSetup {
            connector: tokio_rustls::TlsConnector::from(Arc::new(config)),
            server_name,
        })
    }
}

fn open(path: &Path, what: &str) -> Result<BufReader<std::fs::File>> {
    std::fs::File::open(path)
        .map(BufReader::new)
        .map_err(|e| Error::Tls {
            message: format!("cannot read {what} {}: {e}", path.display()),
        })
}

fn read_certs(path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>> {
    let mut reader = open(path, what)?;
    let certs = rustls_pemfile::certs(&mut reader)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::Tls {
            message: format!("{what} {} is not valid PEM: {e}", path.display()),
        })?;
    if certs.is_empty() {
        return Err(Error::Tls {
            message: format!(
                "{what} {} contains no PEM certificate (-----BEGIN CERTIFICATE-----)",
                path.display()
            ),
        });
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>> {
    let mut reader = open(path, "client key file")?;
    match rustls_pemfile::private_key(&mut reader) {
        Ok(Some(key)) => Ok(key),
        Ok(None) => Err(Error::Tls {
            message: format!(
                "client key file {} contains no PEM private key (PKCS#1, PKCS#8 or SEC1)",
                path.display()
            ),
        }),
        Err(e) => Err(Error::Tls {
            message: format!("client key file {} is not valid PEM: {e}", path.display()),
        }),
    }
}
