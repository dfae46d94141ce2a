//! The client over `https://` endpoints, with certificates made here by rcgen: against
//! fleet-testserver serving TLS (CA files, client certificates, certificate problems reported
//! as `Error::Tls`), and against a raw TLS server (one connection reused, TLS settings ignored
//! for plain http).

mod rawserver;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use fleet::v1 as fleet;
use fleet::Error;
use fleet_testserver::TestServer;
use futures::TryStreamExt as _;
use rawserver::{with_discovery, Action, Server};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
}

/// A leaf certificate: PEM for files and the test server, DER for a rustls acceptor.
struct Leaf {
    cert_pem: String,
    key_pem: String,
    cert_der: CertificateDer<'static>,
    key_der: Vec<u8>,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Ca { cert, key }
    }

    fn pem(&self) -> String {
        self.cert.pem()
    }

    fn issue(&self, names: &[&str], usage: ExtendedKeyUsagePurpose) -> Leaf {
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        params.distinguished_name.push(
            DnType::CommonName,
            names.first().copied().unwrap_or("client"),
        );
        params.extended_key_usages = vec![usage];
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.cert, &self.key).unwrap();
        Leaf {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            cert_der: cert.der().clone(),
            key_der: key.serialize_der(),
        }
    }

    fn server_leaf(&self) -> Leaf {
        self.issue(
            &["localhost", "127.0.0.1"],
            ExtendedKeyUsagePurpose::ServerAuth,
        )
    }

    /// A client certificate and key, written to `<name>.pem` and `<name>-key.pem` in `dir`.
    fn client_files(&self, dir: &Path, name: &str) -> (PathBuf, PathBuf) {
        let leaf = self.issue(&[name], ExtendedKeyUsagePurpose::ClientAuth);
        (
            write(dir, &format!("{name}.pem"), &leaf.cert_pem),
            write(dir, &format!("{name}-key.pem"), &leaf.key_pem),
        )
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn tls_server(ca: &Ca, client_ca: Option<&Ca>) -> TestServer {
    let leaf = ca.server_leaf();
    TestServer::builder()
        .unix(false)
        .tls(
            leaf.cert_pem,
            leaf.key_pem,
            client_ca.map(|c| c.pem().into_bytes()),
        )
        .start()
        .unwrap()
}

/// A rustls acceptor with a certificate from `ca`, for the raw server.
fn acceptor(ca: &Ca) -> tokio_rustls::TlsAcceptor {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let leaf = ca.server_leaf();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf.key_der));
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![leaf.cert_der], key)
        .unwrap();
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

fn machines(_req: &rawserver::Req) -> Action {
    Action::Respond(
        200,
        "application/json",
        r#"{"machines":[{"id":"113f16a7b4b64e9a8c1a3f0e5d2c7b01","metadata":{"role":"web"},"primaryIP":"172.17.8.101"}]}"#.into(),
    )
}

/// `f`, failing the test if it takes longer than 20 s: errors, never hangs.
async fn within<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), f)
        .await
        .expect("the client hung")
}

/// `result` is `Error::Tls` whose message contains every needle.
fn expect_tls<T: std::fmt::Debug>(result: fleet::Result<T>, needles: &[&str]) {
    match result {
        Err(Error::Tls { message }) => {
            for needle in needles {
                assert!(message.contains(needle), "{message:?} lacks {needle:?}");
            }
        }
        other => panic!("expected Error::Tls, got {other:?}"),
    }
}

async fn machine_count(client: &fleet::Client) -> usize {
    let machines: Vec<fleet::Machine> = within(client.list_machines().try_collect()).await.unwrap();
    machines.len()
}

#[tokio::test]
async fn client_trusting_the_ca_file_talks_https_to_the_test_server() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("fleet test CA");
    let server = tls_server(&ca, None);
    assert!(server.https_endpoint().starts_with("https://127.0.0.1:"));
    let ca_file = write(dir.path(), "ca.pem", &ca.pem());
    let client = fleet::Client::builder(&server.https_endpoint())
        .ca_file(&ca_file)
        .build()
        .await
        .unwrap();
    assert_eq!(machine_count(&client).await, 3);
}

#[tokio::test]
async fn https_with_a_ca_file_reuses_one_connection() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("fleet test CA");
    let server = Server::start_tls(acceptor(&ca), with_discovery(machines)).await;
    let client = fleet::Client::builder(&server.https_endpoint())
        .ca_file(write(dir.path(), "ca.pem", &ca.pem()))
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
async fn client_certificate_is_presented_when_the_server_asks_for_one() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("fleet server CA");
    let client_ca = Ca::new("fleet client CA");
    let server = tls_server(&ca, Some(&client_ca));
    let ca_file = write(dir.path(), "ca.pem", &ca.pem());
    let (cert_file, key_file) = client_ca.client_files(dir.path(), "fleetctl");

    let client = fleet::Client::builder(&server.https_endpoint())
        .ca_file(&ca_file)
        .client_cert(&cert_file, &key_file)
        .build()
        .await
        .unwrap();
    assert_eq!(machine_count(&client).await, 3);

    // Without a certificate the server refuses us. Under TLS 1.3 the refusal is an alert that
    // arrives with the first read after the handshake; it is still `Error::Tls` (not a
    // discovery failure, not a hang), and says it was the client certificate.
    let result = within(
        fleet::Client::builder(&server.https_endpoint())
            .ca_file(&ca_file)
            .build(),
    )
    .await;
    expect_tls(
        result,
        &[
            "the server refused the client certificate",
            "CertificateRequired",
            "127.0.0.1:",
        ],
    );

    // A certificate from another CA is refused too; the alert names the reason: the server
    // does not know the client certificate's CA.
    let stranger = Ca::new("someone else");
    let (cert, key) = stranger.client_files(dir.path(), "intruder");
    let result = within(
        fleet::Client::builder(&server.https_endpoint())
            .ca_file(&ca_file)
            .client_cert(cert, key)
            .build(),
    )
    .await;
    expect_tls(
        result,
        &["the server refused the client certificate", "UnknownCA"],
    );
}

#[tokio::test]
async fn a_server_certificate_from_the_wrong_ca_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("the real CA");
    let other = Ca::new("another CA");
    let server = tls_server(&ca, None);
    let wrong = write(dir.path(), "wrong-ca.pem", &other.pem());
    let err = fleet::Client::builder(&server.https_endpoint())
        .ca_file(&wrong)
        .build()
        .await
        .expect_err("wrong CA");
    match &err {
        Error::Tls { message } => {
            let m = message.to_lowercase();
            assert!(m.contains("certificate"), "{message}");
            assert!(
                m.contains("unknownissuer") || m.contains("unknown issuer"),
                "{message}"
            );
        }
        other => panic!("expected Error::Tls, got {other:?}"),
    }

    // The default roots (webpki) do not know a test CA either.
    let result = within(fleet::Client::new(&server.https_endpoint())).await;
    expect_tls(result, &["TLS handshake with 127.0.0.1:", "UnknownIssuer"]);
}

#[tokio::test]
async fn a_certificate_for_another_name_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("fleet test CA");
    let leaf = ca.issue(&["fleet.example.com"], ExtendedKeyUsagePurpose::ServerAuth);
    let server = TestServer::builder()
        .unix(false)
        .tls(leaf.cert_pem, leaf.key_pem, None)
        .start()
        .unwrap();
    let result = fleet::Client::builder(&server.https_endpoint())
        .ca_file(write(dir.path(), "ca.pem", &ca.pem()))
        .build()
        .await;
    expect_tls(result, &["certificate"]);
}

#[tokio::test]
async fn certificate_file_problems_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("fleet test CA");
    let ca_file = write(dir.path(), "ca.pem", &ca.pem());
    let (client_cert, client_key) = ca.client_files(dir.path(), "client");
    let garbage = write(dir.path(), "garbage.pem", "not a certificate\n");
    let missing = dir.path().join("missing.pem");
    let display = |p: &Path| p.display().to_string();
    // Checked before connecting: nothing listens on port 1.
    let endpoint = "https://127.0.0.1:1";

    let r = fleet::Client::builder(endpoint)
        .ca_file(&missing)
        .build()
        .await;
    expect_tls(r, &["cannot read CA file", &display(&missing)]);

    let r = fleet::Client::builder(endpoint)
        .ca_file(&garbage)
        .build()
        .await;
    expect_tls(r, &["CA file", &display(&garbage), "no PEM certificate"]);

    let r = fleet::Client::builder(endpoint)
        .ca_file(&ca_file)
        .client_cert(&client_cert, &missing)
        .build()
        .await;
    expect_tls(r, &["cannot read client key file", &display(&missing)]);

    let r = fleet::Client::builder(endpoint)
        .ca_file(&ca_file)
        .client_cert(&client_cert, &client_cert)
        .build()
        .await;
    expect_tls(r, &["client key file", "no PEM private key"]);

    let r = fleet::Client::builder(endpoint)
        .ca_file(&ca_file)
        .client_cert(&garbage, &client_key)
        .build()
        .await;
    expect_tls(r, &["client certificate file", &display(&garbage)]);
}

#[tokio::test]
async fn tls_settings_are_ignored_for_plain_http() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(with_discovery(machines)).await;
    let client = fleet::Client::builder(&server.endpoint())
        .ca_file(dir.path().join("missing.pem"))
        .build()
        .await
        .unwrap();
    assert_eq!(machine_count(&client).await, 1);
}
