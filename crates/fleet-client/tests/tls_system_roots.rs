//! Without a CA file, `https://` endpoints are checked against the system trust store, which
//! honours `SSL_CERT_FILE` as OpenSSL does. Its own test binary: it sets a process-wide
//! environment variable.

use fleet::v1 as fleet;
use fleet_testserver::TestServer;
use futures::TryStreamExt as _;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};

#[tokio::test]
async fn the_system_trust_store_is_used_when_no_ca_file_is_given() {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "system store test CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_key = KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();

    let mut leaf_params =
        CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
    leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = leaf_params.signed_by(&leaf_key, &ca, &ca_key).unwrap();

    let server = TestServer::builder()
        .unix(false)
        .tls(leaf.pem(), leaf_key.serialize_pem(), None)
        .start()
        .unwrap();

    // Before: the machine's own store does not know this CA.
    let refused = fleet::Client::new(&server.https_endpoint()).await;
    assert!(
        matches!(refused, Err(fleet::Error::Tls { .. })),
        "{refused:?}"
    );

    // After: the same CA put in the store the way OpenSSL users do.
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store.pem");
    std::fs::write(&store, ca.pem()).unwrap();
    std::env::set_var("SSL_CERT_FILE", &store);
    std::env::remove_var("SSL_CERT_DIR");
    let client = fleet::Client::new(&server.https_endpoint()).await.unwrap();
    let machines: Vec<fleet::Machine> = client.list_machines().try_collect().await.unwrap();
    assert_eq!(machines.len(), 3);
}
