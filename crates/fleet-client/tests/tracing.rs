//! The client's tracing events. In a test binary of its own: tracing caches, per call site,
//! whether anyone listens, and a test on another thread that reaches the same call site while
//! no subscriber is set can race `with_default` and leave this test's events unrecorded.

mod rawserver;

use std::sync::Arc;

use fleet::v1 as fleet;
use rawserver::{with_discovery, Action, Server};

#[test]
fn requests_are_traced_with_method_path_and_status() {
    #[derive(Clone, Default)]
    struct Buf(Arc<std::sync::Mutex<Vec<u8>>>);
    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buf = Buf::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let server = Server::start(with_discovery(|_| {
                Action::json(
                    404,
                    r#"{"error":{"code":404,"message":"unit does not exist"}}"#,
                )
            }))
            .await;
            let client = fleet::Client::new(&server.endpoint()).await.unwrap();
            let _ = client.get_unit("missing.service").await;
        });
    });
    let log = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    let line = log
        .lines()
        .find(|l| l.contains("fleet request") && l.contains("/fleet/v1/units/missing.service"))
        .unwrap_or_else(|| panic!("no request event in:\n{log}"));
    assert!(line.contains("method=GET"), "{line}");
    assert!(line.contains("status=404"), "{line}");
}
