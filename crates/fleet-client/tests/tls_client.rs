//! The client over `https://` endpoints: CA files, client certificates, and clear `Error::Tls` messages.

mod rawserver;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use fleet::v1 as fleet;
use fleet::Error;
use futures::TryStreamExt;
use rawserver::{with_discovery, Action, Server};
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

struct Pki {
    dir: tempfile::TempDir,
    ca_der: CertificateDer<'static>,
    server_chain: Vec<CertificateDer<'static>>,
    server_key_der: Vec<u8>,
}

impl Pki {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, all as PEM files.
fn pki() -> Pki {
    let dir = tempfile::tempdir().unwrap();
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();

    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
        .unwrap()
        .signed_by(&server_key, &ca, &ca_key)
        .unwrap();
    let client_key = KeyPair::generate().unwrap();
    let client = CertificateParams::new(vec!["fleet-client".to_string()])
        .unwrap()
        .signed_by(&client_key, &ca, &ca_key)
        .unwrap();

    std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(dir.path().join("client.pem"), client.pem()).unwrap();
    std::fs::write(
        dir.path().join("client-key.pem"),
        client_key.serialize_pem(),
    )
    .unwrap();
    std::fs::write(dir.path().join("garbage.pem"), "not a certificate\n").unwrap();
    Pki {
        ca_der: ca.der().clone(),
        server_chain: vec![server.der().clone()],
        server_key_der: server_key.serialize_der(),
        dir,
    }
}

fn acceptor(pki: &Pki, require_client_cert: bool) -> tokio_rustls::TlsAcceptor {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pki.server_key_der.clone()));
    let config = if require_client_cert {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(pki.ca_der.clone()).unwrap();
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .unwrap();
        builder
            .with_client_cert_verifier(verifier)
            .with_single_cert(pki.server_chain.clone(), key)
            .unwrap()
    } else {
        builder
            .with_no_client_auth()
            .with_single_cert(pki.server_chain.clone(), key)
            .unwrap()
    };
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

fn machines(_req: &rawserver::Req) -> Action {
    Action::Respond(
        200,
        "application/json",
        r#"{"machines":[{"id":"113f16a7b4b64e9a8c1a3f0e5d2c7b01","metadata":{"role":"web"},"primaryIP":"172.17.8.101"}]}"#.into(),
    )
}

async fn within<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), f)
        .await
        .expect("the client hung")
}

fn expect_tls(result: fleet::Result<fleet::Client>, needles: &[&str]) {
    match result {
        Err(Error::Tls { message }) => {
            for needle in needles {
                assert!(message.contains(needle), "{message:?} lacks {needle:?}");
            }
        }
        other => panic!("expected Error::Tls, got {other:?}"),
    }
}

#[tokio::test]
async fn https_with_a_ca_file_reuses_one_connection() {
    let pki = pki();
    let server = Server::start_tls(acceptor(&pki, false), with_discovery(machines)).await;
    let client = fleet::Client::builder(&server.https_endpoint())
        .ca_file(pki.path("ca.pem"))
        .build()
        .await
        .unwrap();
    for _ in 0..3 {
        let m: Vec<fleet::Machine> = within(client.list_machines().try_collect()).await.unwrap();
        assert_eq!(m[0].metadata["role"], "web");
    }
    assert_eq!(server.connections(), 1);
    assert_eq!(server.requests().len(), 4);
}

#[tokio::test]
async fn a_server_certificate_from_an_unknown_ca_is_refused() {
    let pki = pki();
    let server = Server::start_tls(acceptor(&pki, false), with_discovery(machines)).await;
    // Default roots (webpki) do not know the test CA.
    let result = within(fleet::Client::new(&server.https_endpoint())).await;
    expect_tls(result, &["TLS handshake with 127.0.0.1:", "UnknownIssuer"]);
}

#[tokio::test]
async fn client_certificates_are_presented() {
    let pki = pki();
    let server = Server::start_tls(acceptor(&pki, true), with_discovery(machines)).await;
    let client = fleet::Client::builder(&server.https_endpoint())
        .ca_file(pki.path("ca.pem"))
        .client_cert(pki.path("client.pem"), pki.path("client-key.pem"))
        .build()
        .await
        .unwrap();
    let m: Vec<fleet::Machine> = within(client.list_machines().try_collect()).await.unwrap();
    assert_eq!(m.len(), 1);

    // Without one, the server refuses us: an error, not a hang.
    let result = within(
        fleet::Client::builder(&server.https_endpoint())
            .ca_file(pki.path("ca.pem"))
            .build(),
    )
    .await;
    assert!(result.is_err(), "{result:?}");
}

#[tokio::test]
async fn certificate_file_problems_name_the_file() {
    let pki = pki();
    let endpoint = "https://127.0.0.1:1";
    let missing = pki.path("missing.pem");
    let display = |p: &Path| p.display().to_string();

    let r = fleet::Client::builder(endpoint)
        .ca_file(&missing)
        .build()
        .await;
    expect_tls(r, &["cannot read CA file", &display(&missing)]);

    let garbage = pki.path("garbage.pem");
    let r = fleet::Client::builder(endpoint)
        .ca_file(&garbage)
        .build()
        .await;
    expect_tls(r, &["CA file", &display(&garbage), "no PEM certificate"]);

    let r = fleet::Client::builder(endpoint)
        .ca_file(pki.path("ca.pem"))
        .client_cert(pki.path("client.pem"), &missing)
        .build()
        .await;
    expect_tls(r, &["cannot read client key file", &display(&missing)]);

    let r = fleet::Client::builder(endpoint)
        .ca_file(pki.path("ca.pem"))
        .client_cert(pki.path("client.pem"), pki.path("client.pem"))
        .build()
        .await;
    expect_tls(r, &["client key file", "no PEM private key"]);

    let r = fleet::Client::builder(endpoint)
        .ca_file(pki.path("ca.pem"))
        .client_cert(&garbage, pki.path("client-key.pem"))
        .build()
        .await;
    expect_tls(r, &["client certificate file", &display(&garbage)]);
}

#[tokio::test]
async fn tls_settings_are_ignored_for_plain_http() {
    let pki = pki();
    let server = Server::start(with_discovery(machines)).await;
    let client = fleet::Client::builder(&server.endpoint())
        .ca_file(pki.path("missing.pem"))
        .build()
        .await
        .unwrap();
    let m: Vec<fleet::Machine> = within(client.list_machines().try_collect()).await.unwrap();
    assert_eq!(m.len(), 1);
}
