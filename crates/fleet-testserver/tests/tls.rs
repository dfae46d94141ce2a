//! TLS and mutual TLS on the TCP listener.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

use fleet_testserver::TestServer;
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

struct Pki {
    ca_pem: String,
    server_cert_pem: String,
    server_key_pem: String,
    client_cert_pem: String,
    client_key_pem: String,
}

fn pki() -> Pki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
        .unwrap()
        .signed_by(&server_key, &ca, &ca_key)
        .unwrap();
    let client_key = KeyPair::generate().unwrap();
    let client = CertificateParams::new(vec!["client".to_string()])
        .unwrap()
        .signed_by(&client_key, &ca, &ca_key)
        .unwrap();
    Pki {
        ca_pem: ca.pem(),
        server_cert_pem: server.pem(),
        server_key_pem: server_key.serialize_pem(),
        client_cert_pem: client.pem(),
        client_key_pem: client_key.serialize_pem(),
    }
}

fn client_config(pki: &Pki, with_client_cert: bool) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls_pemfile::certs(&mut pki.ca_pem.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots);
    let config = if with_client_cert {
        let chain: Vec<CertificateDer<'static>> =
            rustls_pemfile::certs(&mut pki.client_cert_pem.as_bytes())
                .map(Result::unwrap)
                .collect();
        let key: PrivateKeyDer<'static> =
            rustls_pemfile::private_key(&mut pki.client_key_pem.as_bytes())
                .unwrap()
                .unwrap();
        builder.with_client_auth_cert(chain, key).unwrap()
    } else {
        builder.with_no_client_auth()
    };
    Arc::new(config)
}

/// GET over TLS; the error text when the handshake or exchange fails.
fn get(
    server: &TestServer,
    config: Arc<rustls::ClientConfig>,
    path: &str,
) -> Result<String, String> {
    let addr = server.tcp_addr().unwrap();
    let conn = rustls::ClientConnection::new(config, ServerName::try_from("127.0.0.1").unwrap())
        .map_err(|e| e.to_string())?;
    let sock = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    let mut tls = rustls::StreamOwned::new(conn, sock);
    let req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    tls.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    let mut out = String::new();
    tls.read_to_string(&mut out).map_err(|e| e.to_string())?;
    if out.is_empty() {
        return Err("no response".into());
    }
    Ok(out)
}

#[test]
fn serves_https() {
    let pki = pki();
    let server = TestServer::builder()
        .unix(false)
        .tls(
            pki.server_cert_pem.clone(),
            pki.server_key_pem.clone(),
            None,
        )
        .start()
        .unwrap();
    assert!(server.https_endpoint().starts_with("https://127.0.0.1:"));
    assert_eq!(server.http_endpoint(), "");
    let resp = get(&server, client_config(&pki, false), "/fleet/v1/machines").unwrap();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(resp.contains("113f16a7b4b64e9a8c1a3f0e5d2c7b01"));
}

#[test]
fn mutual_tls_requires_a_client_certificate() {
    let pki = pki();
    let server = TestServer::builder()
        .unix(false)
        .tls(
            pki.server_cert_pem.clone(),
            pki.server_key_pem.clone(),
            Some(pki.ca_pem.clone().into_bytes()),
        )
        .start()
        .unwrap();
    assert!(get(&server, client_config(&pki, false), "/fleet/v1/units").is_err());
    let resp = get(&server, client_config(&pki, true), "/fleet/v1/units").unwrap();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(resp.ends_with("{}"), "{resp}");
}

#[test]
fn bad_tls_material_is_a_clear_error() {
    let err = TestServer::builder()
        .tls("not a pem", "nor this", None)
        .start()
        .unwrap_err();
    assert!(err.to_string().contains("certificate"), "{err}");
}
