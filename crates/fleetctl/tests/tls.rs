//! `--ca-file`, `--cert-file` and `--key-file` reach the library: fleetctl talks https to a
//! fleet-testserver serving TLS with certificates made here.

mod common;

use common::*;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};

struct Authority {
    cert: rcgen::Certificate,
    key: KeyPair,
}

impl Authority {
    fn new(name: &str) -> Authority {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().expect("key");
        let cert = params.self_signed(&key).expect("self-signed");
        Authority { cert, key }
    }

    fn leaf(&self, names: &[&str], usage: ExtendedKeyUsagePurpose) -> (String, String) {
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .expect("params");
        params.distinguished_name.push(DnType::CommonName, names[0]);
        params.extended_key_usages = vec![usage];
        let key = KeyPair::generate().expect("key");
        let cert = params
            .signed_by(&key, &self.cert, &self.key)
            .expect("signed");
        (cert.pem(), key.serialize_pem())
    }
}

fn tls_server(ca: &Authority, client_ca: Option<&Authority>) -> TestServer {
    let (cert, key) = ca.leaf(
        &["localhost", "127.0.0.1"],
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    TestServer::builder()
        .unix(false)
        .tls(cert, key, client_ca.map(|c| c.cert.pem().into_bytes()))
        .start()
        .expect("tls server")
}

#[test]
fn https_with_ca_file() {
    let ca = Authority::new("fleet test CA");
    let server = tls_server(&ca, None);
    let wd = Workdir::new();
    wd.write("ca.pem", &ca.cert.pem());
    let ep = server.https_endpoint();
    let run = fleetctl(
        &ep,
        wd.path(),
        &["--ca-file=ca.pem", "list-machines", "--no-legend"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout.lines().count(), 3);
    // The same through the environment variable.
    let run = fleetctl_env(
        Some(&ep),
        wd.path(),
        &["list-machines", "--no-legend"],
        &[("FLEETCTL_CA_FILE", "ca.pem")],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    // Without the CA the server is not trusted, and the message says so.
    let run = fleetctl(&ep, wd.path(), &["list-machines"]);
    run.assert_error("Error retrieving list of active machines from fleet API (");
    assert!(
        run.stderr.to_lowercase().contains("certificate"),
        "{}",
        run.stderr
    );
}

#[test]
fn https_with_client_certificate() {
    let ca = Authority::new("fleet server CA");
    let client_ca = Authority::new("fleet client CA");
    let server = tls_server(&ca, Some(&client_ca));
    let (cert, key) = client_ca.leaf(&["fleetctl"], ExtendedKeyUsagePurpose::ClientAuth);
    let wd = Workdir::new();
    wd.write("ca.pem", &ca.cert.pem())
        .write("client.pem", &cert)
        .write("client-key.pem", &key);
    let ep = server.https_endpoint();
    let run = fleetctl(
        &ep,
        wd.path(),
        &[
            "--ca-file=ca.pem",
            "--cert-file=client.pem",
            "--key-file=client-key.pem",
            "list-machines",
            "--no-legend",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout.lines().count(), 3);
    // fleetctl's deprecated spellings still work.
    let run = fleetctl(
        &ep,
        wd.path(),
        &[
            "--etcd-cafile=ca.pem",
            "--etcd-certfile=client.pem",
            "--etcd-keyfile=client-key.pem",
            "list-machines",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    // Without the client certificate the server refuses.
    let run = fleetctl(&ep, wd.path(), &["--ca-file=ca.pem", "list-machines"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("Certificate"), "{}", run.stderr);
    // A certificate without its key is refused before any connection.
    let run = fleetctl(
        &ep,
        wd.path(),
        &[
            "--ca-file=ca.pem",
            "--cert-file=client.pem",
            "list-machines",
        ],
    );
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "Unable to initialize client: TLS error: --cert-file was given without --key-file\n"
    );
    // A CA file that does not exist is named.
    let run = fleetctl(&ep, wd.path(), &["--ca-file=missing.pem", "list-machines"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("missing.pem"), "{}", run.stderr);
}
