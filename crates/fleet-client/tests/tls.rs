//! https against fleet-testserver serving TLS, with certificates made here by rcgen: a client
//! trusting the CA, a client presenting a certificate, and certificate problems reported as such.
//! (`tls_client.rs` covers the same client code against a raw TLS server.)

use std::path::{Path, PathBuf};

use fleet::v1 as fleet;
use fleet_testserver::TestServer;
use futures::TryStreamExt as _;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};

struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
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

    /// A leaf certificate and its key, PEM.
    fn issue(&self, names: &[&str], usage: ExtendedKeyUsagePurpose) -> (String, String) {
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
        (cert.pem(), key.serialize_pem())
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn tls_server(ca: &Ca, client_ca: Option<&Ca>) -> TestServer {
    let (cert, key) = ca.issue(
        &["localhost", "127.0.0.1"],
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    TestServer::builder()
        .unix(false)
        .tls(cert, key, client_ca.map(|c| c.pem().into_bytes()))
        .start()
        .unwrap()
}

async fn machine_count(client: &fleet::Client) -> usize {
    let machines: Vec<fleet::Machine> = client.list_machines().try_collect().await.unwrap();
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
async fn client_certificate_is_presented_when_the_server_asks_for_one() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("fleet server CA");
    let client_ca = Ca::new("fleet client CA");
    let server = tls_server(&ca, Some(&client_ca));
    let ca_file = write(dir.path(), "ca.pem", &ca.pem());
    let (cert, key) = client_ca.issue(&["fleetctl"], ExtendedKeyUsagePurpose::ClientAuth);
    let cert_file = write(dir.path(), "client.pem", &cert);
    let key_file = write(dir.path(), "client-key.pem", &key);

    let client = fleet::Client::builder(&server.https_endpoint())
        .ca_file(&ca_file)
        .client_cert(&cert_file, &key_file)
        .build()
        .await
        .unwrap();
    assert_eq!(machine_count(&client).await, 3);

    // Without a certificate the server refuses the handshake. Under TLS 1.3 the refusal is an
    // alert that arrives with the first response, so it may surface as a discovery failure;
    // either way the message says it was the certificate.
    let err = fleet::Client::builder(&server.https_endpoint())
        .ca_file(&ca_file)
        .build()
        .await
        .expect_err("no client certificate");
    let text = err.to_string();
    assert!(text.contains("CertificateRequired"), "{err:?}");

    // A certificate from another CA is refused too.
    let stranger = Ca::new("someone else");
    let (cert, key) = stranger.issue(&["intruder"], ExtendedKeyUsagePurpose::ClientAuth);
    let err = fleet::Client::builder(&server.https_endpoint())
        .ca_file(&ca_file)
        .client_cert(
            write(dir.path(), "s.pem", &cert),
            write(dir.path(), "s-key.pem", &key),
        )
        .build()
        .await
        .expect_err("untrusted client certificate");
    // The server's alert names the reason: it does not know the client certificate's CA.
    assert!(err.to_string().contains("UnknownCA"), "{err}");
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
        fleet::Error::Tls { message } => {
            let m = message.to_lowercase();
            assert!(m.contains("certificate"), "{message}");
            assert!(
                m.contains("unknownissuer") || m.contains("unknown issuer"),
                "{message}"
            );
        }
        other => panic!("expected Error::Tls, got {other:?}"),
    }

    // The default roots do not know a test CA either.
    let err = fleet::Client::builder(&server.https_endpoint())
        .build()
        .await
        .expect_err("not in webpki roots");
    assert!(matches!(err, fleet::Error::Tls { .. }), "{err:?}");
}

#[tokio::test]
async fn a_certificate_for_another_name_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("fleet test CA");
    let (cert, key) = ca.issue(&["fleet.example.com"], ExtendedKeyUsagePurpose::ServerAuth);
    let server = TestServer::builder()
        .unix(false)
        .tls(cert, key, None)
        .start()
        .unwrap();
    let err = fleet::Client::builder(&server.https_endpoint())
        .ca_file(write(dir.path(), "ca.pem", &ca.pem()))
        .build()
        .await
        .expect_err("name mismatch");
    match &err {
        fleet::Error::Tls { message } => {
            assert!(message.to_lowercase().contains("certificate"), "{message}")
        }
        other => panic!("expected Error::Tls, got {other:?}"),
    }
}

#[tokio::test]
async fn unreadable_or_empty_ca_file_is_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("fleet test CA");
    let server = tls_server(&ca, None);
    let missing = dir.path().join("missing-ca.pem");
    let err = fleet::Client::builder(&server.https_endpoint())
        .ca_file(&missing)
        .build()
        .await
        .expect_err("missing CA file");
    assert!(err.to_string().contains("missing-ca.pem"), "{err}");

    let empty = write(dir.path(), "empty.pem", "not a certificate\n");
    let err = fleet::Client::builder(&server.https_endpoint())
        .ca_file(&empty)
        .build()
        .await
        .expect_err("no certificate in CA file");
    assert!(err.to_string().contains("empty.pem"), "{err}");
}
