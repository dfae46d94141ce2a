//! Starting and stopping the server, its endpoints, and the controls tests use.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use fleet::v1::{Machine, UnitState};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::watch;

use crate::cluster::{Cluster, UnitSnapshot};
use crate::faults::{Fault, Faults};
use crate::http::{serve, Shared};
use crate::Error;

/// The three machines of the captured fixtures: ids, primary IPs and metadata.
///
/// ```
/// let machines = fleet_testserver::default_machines();
/// assert_eq!(machines[0].id, "113f16a7b4b64e9a8c1a3f0e5d2c7b01");
/// assert_eq!(machines[2].metadata["region"], "us-east");
/// ```
pub fn default_machines() -> Vec<Machine> {
    let m = |id: &str, ip: &str, region: &str, role: &str| Machine {
        id: id.into(),
        primary_ip: ip.into(),
        metadata: [("region", region), ("role", role)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    };
    vec![
        m(
            "113f16a7b4b64e9a8c1a3f0e5d2c7b01",
            "172.17.8.101",
            "us-west",
            "web",
        ),
        m(
            "9a4b2c7d8e1f40a2b3c4d5e6f7a8b902",
            "172.17.8.102",
            "us-west",
            "db",
        ),
        m(
            "e5d1a9c6b3f24d7e8a0b1c2d3e4f5a03",
            "172.17.8.103",
            "us-east",
            "web",
        ),
    ]
}

/// TLS settings: the server's certificate chain and key, and optionally the CA that client
/// certificates must chain to (mutual TLS).
#[derive(Clone, Debug)]
struct TlsSettings {
    cert_pem: Vec<u8>,
    key_pem: Vec<u8>,
    client_ca_pem: Option<Vec<u8>>,
}

/// Configures a [`TestServer`] before it starts.
///
/// ```
/// use std::time::Duration;
/// use fleet_testserver::TestServer;
///
/// let server = TestServer::builder()
///     .unix(false)
///     .page_size(10)
///     .state_delay(Duration::from_millis(50))
///     .start()
///     .unwrap();
/// assert!(server.http_endpoint().starts_with("http://127.0.0.1:"));
/// assert!(server.socket_path().is_none());
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct Builder {
    tcp: bool,
    tcp_addr: SocketAddr,
    unix: bool,
    unix_path: Option<PathBuf>,
    machines: Vec<Machine>,
    page_size: u16,
    wide_paging: bool,
    state_delay: Duration,
    ready: bool,
    tls: Option<TlsSettings>,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            tcp: true,
            tcp_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            unix: true,
            unix_path: None,
            machines: default_machines(),
            page_size: 100,
            wide_paging: false,
            state_delay: Duration::ZERO,
            ready: true,
            tls: None,
        }
    }
}

impl Builder {
    /// Listen on TCP (default: yes, on `127.0.0.1:0`).
    pub fn tcp(mut self, on: bool) -> Self {
        self.tcp = on;
        self
    }

    /// Listen on TCP at this address (default `127.0.0.1:0`, a free port).
    pub fn tcp_addr(mut self, addr: SocketAddr) -> Self {
        self.tcp = true;
        self.tcp_addr = addr;
        self
    }

    /// Listen on a unix socket (default: yes, `fleet.sock` in a new temporary directory).
    pub fn unix(mut self, on: bool) -> Self {
        self.unix = on;
        self
    }

    /// Listen on the unix socket at this path (which must not exist yet).
    pub fn unix_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.unix = true;
        self.unix_path = Some(path.into());
        self
    }

    /// The machines of the cluster (default: [`default_machines`]).
    pub fn machines(mut self, machines: Vec<Machine>) -> Self {
        self.machines = machines;
        self
    }

    /// The page size of lists (fleetd's `token_limit`, default 100).
    pub fn page_size(mut self, n: u16) -> Self {
        self.page_size = n;
        self
    }

    /// Compute page bounds without fleet's `uint16` wrap-around (default: off, as fleet).
    ///
    /// **A departure from fleet**, for lists longer than fleet can page through: fleet v1.0.0
    /// computes `(page - 1) * limit` in `uint16`, so with pages of 100 the request for page 656
    /// (units 65,500 on) wraps around, fleet's handler panics and the connection is closed
    /// without a response, which this server reproduces by default. With wide paging the
    /// tokens and answers stay fleet's, but the bounds do not wrap ([`paging::wide_bounds`](crate::paging::wide_bounds)):
    /// up to 65,535 pages (the page number is a `u16` in the token), 6,553,500 items at 100
    /// per page. Units, unit states and machines are paged alike.
    ///
    /// With a page size of 65,535, page 65,535 starts at index 2 in fleet's arithmetic and
    /// stops at 1, so three units are enough to see the difference:
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use fleet::v1::UnitOption;
    /// use fleet_testserver::{paging::PageToken, TestServer};
    ///
    /// let get_page = |wide: bool| {
    ///     let server = TestServer::builder()
    ///         .unix(false)
    ///         .page_size(65_535)
    ///         .wide_paging(wide)
    ///         .start()
    ///         .unwrap();
    ///     for name in ["a.service", "b.service", "c.service"] {
    ///         let opts = vec![UnitOption::new("Service", "ExecStart", "/bin/true")];
    ///         server.put_unit_raw(name, opts, "inactive");
    ///     }
    ///     let token = PageToken { limit: 65_535, page: 65_535 }.encode();
    ///     let mut conn = std::net::TcpStream::connect(server.tcp_addr().unwrap()).unwrap();
    ///     write!(conn, "GET /fleet/v1/units?nextPageToken={token} HTTP/1.1\r\n\
    ///                   Host: fleet\r\nConnection: close\r\n\r\n").unwrap();
    ///     let mut answer = String::new();
    ///     let _ = conn.read_to_string(&mut answer);
    ///     answer
    /// };
    /// // fleet's arithmetic: start 2 > stop 1, fleet panics, the connection closes unanswered.
    /// assert_eq!(get_page(false), "");
    /// // Wide: the page starts at 4,294,770,690, past the end: fleet's empty page.
    /// let wide = get_page(true);
    /// assert!(wide.starts_with("HTTP/1.1 200 OK\r\n") && wide.ends_with("\r\n\r\n{}"), "{wide}");
    /// ```
    pub fn wide_paging(mut self, on: bool) -> Self {
        self.wide_paging = on;
        self
    }

    /// How long agents take to publish a unit's state after loading, starting or stopping it
    /// (default 0: at once).
    pub fn state_delay(mut self, delay: Duration) -> Self {
        self.state_delay = delay;
        self
    }

    /// Start not ready: every request gets fleet's 503 until [`TestServer::set_ready`]`(true)`.
    pub fn not_ready(mut self) -> Self {
        self.ready = false;
        self
    }

    /// Serve TCP with TLS, with this PEM certificate chain and PEM private key; with
    /// `client_ca_pem`, clients must present a certificate signed by that CA.
    pub fn tls(
        mut self,
        cert_pem: impl Into<Vec<u8>>,
        key_pem: impl Into<Vec<u8>>,
        client_ca_pem: Option<Vec<u8>>,
    ) -> Self {
        self.tls = Some(TlsSettings {
            cert_pem: cert_pem.into(),
            key_pem: key_pem.into(),
            client_ca_pem,
        });
        self
    }

    /// Start the server on its own runtime thread.
    pub fn start(self) -> Result<TestServer, Error> {
        TestServer::start_with(self)
    }
}

/// A fleet API server for tests, on its own thread. Stops when dropped.
///
/// ```
/// use fleet_testserver::TestServer;
/// let server = TestServer::start().unwrap();
/// assert_eq!(server.machines().len(), 3);
/// assert!(server.unix_endpoint().unwrap().starts_with("unix:///"));
/// ```
pub struct TestServer {
    shared: Arc<Shared>,
    tcp_addr: Option<SocketAddr>,
    tls: bool,
    socket_path: Option<PathBuf>,
    socket_dir: Option<tempfile::TempDir>,
    stop: watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<()>>,
    runtime: tokio::runtime::Handle,
}

impl std::fmt::Debug for TestServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestServer")
            .field("tcp_addr", &self.tcp_addr)
            .field("tls", &self.tls)
            .field("socket_path", &self.socket_path)
            .finish_non_exhaustive()
    }
}

impl TestServer {
    /// Start with the defaults: TCP on `127.0.0.1:0` and a unix socket in a temporary directory,
    /// the three fixture machines, pages of 100, states published at once.
    pub fn start() -> Result<TestServer, Error> {
        Builder::default().start()
    }

    /// A [`Builder`] for other settings.
    pub fn builder() -> Builder {
        Builder::default()
    }

    fn start_with(b: Builder) -> Result<TestServer, Error> {
        // One thread serves everything: cheapest per request, and plenty for a test server.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Io {
                what: "starting the server runtime".into(),
                source: e,
            })?;
        let handle = runtime.handle().clone();
        let tls_config = b.tls.as_ref().map(tls_config).transpose()?;
        let (tcp, unix, socket_dir, socket_path) = {
            let _guard = runtime.enter();
            let tcp = if b.tcp {
                let std_listener =
                    std::net::TcpListener::bind(b.tcp_addr).map_err(|e| Error::Io {
                        what: format!("binding {}", b.tcp_addr),
                        source: e,
                    })?;
                std_listener.set_nonblocking(true).map_err(|e| Error::Io {
                    what: "configuring the TCP listener".into(),
                    source: e,
                })?;
                Some(TcpListener::from_std(std_listener).map_err(|e| Error::Io {
                    what: "registering the TCP listener".into(),
                    source: e,
                })?)
            } else {
                None
            };
            let (unix, dir, path) = if b.unix {
                let (dir, path) = match &b.unix_path {
                    Some(p) => (None, p.clone()),
                    None => {
                        let dir = tempfile::Builder::new()
                            .prefix(&lowercase_dir_name())
                            .rand_bytes(0)
                            .tempdir()
                            .map_err(|e| Error::Io {
                                what: "creating the socket directory".into(),
                                source: e,
                            })?;
                        let path = dir.path().join("fleet.sock");
                        (Some(dir), path)
                    }
                };
                let listener = UnixListener::bind(&path).map_err(|e| Error::Io {
                    what: format!("binding unix socket {}", path.display()),
                    source: e,
                })?;
                (Some(listener), dir, Some(path))
            } else {
                (None, None, None)
            };
            (tcp, unix, dir, path)
        };
        let tcp_addr = match &tcp {
            Some(l) => Some(l.local_addr().map_err(|e| Error::Io {
                what: "reading the TCP address".into(),
                source: e,
            })?),
            None => None,
        };
        let cluster = Cluster::new(b.machines, b.state_delay, handle.clone());
        let shared = Arc::new(Shared {
            cluster,
            faults: Faults::default(),
            ready: AtomicBool::new(b.ready),
            etcd_down: AtomicBool::new(false),
            page_size: b.page_size,
            wide_paging: b.wide_paging,
            units_page_cache: std::sync::Mutex::new(None),
            units_cursor: std::sync::Mutex::new(None),
        });
        let (stop, stop_rx) = watch::channel(false);
        let acceptors = {
            let shared = Arc::clone(&shared);
            async move {
                let mut tasks = Vec::new();
                if let Some(l) = tcp {
                    tasks.push(tokio::spawn(accept_tcp(
                        l,
                        tls_config,
                        Arc::clone(&shared),
                        stop_rx.clone(),
                    )));
                }
                if let Some(l) = unix {
                    tasks.push(tokio::spawn(accept_unix(
                        l,
                        Arc::clone(&shared),
                        stop_rx.clone(),
                    )));
                }
                let mut stop_rx = stop_rx;
                let _ = stop_rx.wait_for(|s| *s).await;
                for t in tasks {
                    let _ = t.await;
                }
            }
        };
        let thread = std::thread::Builder::new()
            .name("fleet-testserver".into())
            .spawn(move || {
                runtime.block_on(acceptors);
                runtime.shutdown_timeout(Duration::from_secs(1));
            })
            .map_err(|e| Error::Io {
                what: "spawning the server thread".into(),
                source: e,
            })?;
        Ok(TestServer {
            shared,
            tcp_addr,
            tls: b.tls.is_some(),
            socket_path,
            socket_dir,
            stop,
            thread: Some(thread),
            runtime: handle,
        })
    }

    /// The TCP address, if listening on TCP.
    pub fn tcp_addr(&self) -> Option<SocketAddr> {
        self.tcp_addr
    }

    /// `http://127.0.0.1:PORT` (empty when not on plain TCP).
    ///
    /// ```
    /// let server = fleet_testserver::TestServer::start().unwrap();
    /// let port = server.tcp_addr().unwrap().port();
    /// assert_eq!(server.http_endpoint(), format!("http://127.0.0.1:{port}"));
    /// assert_eq!(server.https_endpoint(), "");
    /// ```
    pub fn http_endpoint(&self) -> String {
        match (self.tcp_addr, self.tls) {
            (Some(a), false) => format!("http://{a}"),
            _ => String::new(),
        }
    }

    /// `https://127.0.0.1:PORT` (empty when not serving TLS).
    pub fn https_endpoint(&self) -> String {
        match (self.tcp_addr, self.tls) {
            (Some(a), true) => format!("https://{a}"),
            _ => String::new(),
        }
    }

    /// The unix socket's path, if listening on one.
    pub fn socket_path(&self) -> Option<&Path> {
        self.socket_path.as_deref()
    }

    /// `unix:///path/to/fleet.sock`.
    pub fn unix_endpoint(&self) -> Option<String> {
        self.socket_path
            .as_ref()
            .map(|p| format!("unix://{}", p.display()))
    }

    /// python-fleet's form: `http+unix://%2Fpath%2Fto%2Ffleet.sock`.
    ///
    /// ```
    /// let server = fleet_testserver::TestServer::start().unwrap();
    /// let path = server.socket_path().unwrap().display().to_string();
    /// assert_eq!(server.unix_endpoint().unwrap(), format!("unix://{path}"));
    /// assert_eq!(server.http_unix_endpoint().unwrap(),
    ///            format!("http+unix://{}", path.replace('/', "%2F")));
    /// ```
    pub fn http_unix_endpoint(&self) -> Option<String> {
        self.socket_path.as_ref().map(|p| {
            let s = p.display().to_string();
            const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
                .remove(b'.')
                .remove(b'-')
                .remove(b'_');
            let enc = percent_encoding::utf8_percent_encode(&s, SET);
            format!("http+unix://{enc}")
        })
    }

    /// Answer every request with 503, as fleet does before it reached etcd (`false`), or serve
    /// normally (`true`).
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// let server = fleet_testserver::TestServer::builder().not_ready().start().unwrap();
    /// let get = |server: &fleet_testserver::TestServer| {
    ///     let mut s = std::net::TcpStream::connect(server.tcp_addr().unwrap()).unwrap();
    ///     s.write_all(b"GET /fleet/v1/units HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    ///     let mut out = String::new();
    ///     s.read_to_string(&mut out).unwrap();
    ///     out
    /// };
    /// assert!(get(&server).starts_with("HTTP/1.1 503"));
    /// server.set_ready(true);
    /// assert!(get(&server).starts_with("HTTP/1.1 200"));
    /// server.set_etcd_down(true);
    /// assert!(get(&server).starts_with("HTTP/1.1 500"));
    /// ```
    pub fn set_ready(&self, ready: bool) {
        self.shared.ready.store(ready, Ordering::SeqCst);
    }

    /// Pretend etcd is down: registry reads and writes fail with 500 and an empty message.
    pub fn set_etcd_down(&self, down: bool) {
        self.shared.etcd_down.store(down, Ordering::SeqCst);
    }

    /// Inject a fault; see [`Fault`].
    ///
    /// ```
    /// use fleet_testserver::{Fault, FaultKind, TestServer};
    /// let server = TestServer::start().unwrap();
    /// server.inject(Fault::new(FaultKind::CloseConnection).times(3));
    /// assert_eq!(server.pending_faults(), 3);
    /// server.clear_faults();
    /// assert_eq!(server.pending_faults(), 0);
    /// ```
    pub fn inject(&self, fault: Fault) {
        self.shared.faults.push(fault);
    }

    /// Remove all injected faults not used yet.
    pub fn clear_faults(&self) {
        self.shared.faults.clear();
    }

    /// How many faulty answers are still to come.
    pub fn pending_faults(&self) -> usize {
        self.shared.faults.pending()
    }

    /// Add (or replace) a machine; the scheduler reacts at once.
    ///
    /// ```
    /// let server = fleet_testserver::TestServer::start().unwrap();
    /// server.add_machine(fleet_testserver::parse_machine("m4,10.0.0.4,role=gpu").unwrap());
    /// assert_eq!(server.machines().len(), 4);
    /// assert!(server.remove_machine("m4"));
    /// assert!(!server.remove_machine("m4"));
    /// ```
    pub fn add_machine(&self, machine: Machine) {
        self.shared.cluster.add_machine(machine);
    }

    /// Remove a machine; its units are rescheduled. `false` if there was none.
    pub fn remove_machine(&self, id: &str) -> bool {
        self.shared.cluster.remove_machine(id)
    }

    /// The machines as `GET /fleet/v1/machines` lists them (metadata merged).
    pub fn machines(&self) -> Vec<Machine> {
        self.shared.cluster.machines()
    }

    /// Every unit in the registry (including ones with an invalid desired state).
    ///
    /// ```
    /// use fleet::v1::UnitOption;
    /// let server = fleet_testserver::TestServer::start().unwrap();
    /// let opts = vec![UnitOption::new("X-Fleet", "MachineMetadata", "role=db")];
    /// server.put_unit_raw("db.service", opts, "launched");
    /// let unit = server.unit("db.service").unwrap();
    /// assert_eq!(unit.machine_id.as_deref(), Some("9a4b2c7d8e1f40a2b3c4d5e6f7a8b902"));
    /// assert_eq!(unit.current_state, "launched");
    /// assert_eq!(server.units().len(), 1);
    /// assert_eq!(server.unit_states()[0].systemd_sub_state, "running");
    /// // An invalid desired state is stored as fleet stores it; the raw removal still works.
    /// server.set_desired_state_raw("db.service", "bogus");
    /// assert_eq!(server.unit("db.service").unwrap().desired_state, "bogus");
    /// assert!(server.remove_unit_raw("db.service"));
    /// ```
    pub fn units(&self) -> Vec<UnitSnapshot> {
        self.shared.cluster.units()
    }

    /// One unit of the registry.
    pub fn unit(&self, name: &str) -> Option<UnitSnapshot> {
        self.shared.cluster.unit(name)
    }

    /// Every published unit state, sorted by unit then machine.
    pub fn unit_states(&self) -> Vec<UnitState> {
        self.shared.cluster.unit_states()
    }

    /// Put a unit straight into the registry, bypassing the API's checks (for example with an
    /// invalid desired state, or to repair one: fleet's "fix the etcd key").
    pub fn put_unit_raw(
        &self,
        name: &str,
        options: Vec<fleet::v1::UnitOption>,
        desired_state: &str,
    ) {
        self.shared
            .cluster
            .create_unit(name, options, desired_state);
    }

    /// Set a unit's stored desired state, unchecked.
    pub fn set_desired_state_raw(&self, name: &str, desired_state: &str) {
        self.shared.cluster.set_target_state(name, desired_state);
    }

    /// Remove a unit straight from the registry (works on units the API answers 500 for).
    pub fn remove_unit_raw(&self, name: &str) -> bool {
        self.shared.cluster.destroy_unit(name)
    }

    /// Wait (blocking, on a notification) until every agent has published the unit states it
    /// owes; `false` if that took longer than `timeout`. With a zero state delay there is never
    /// anything to wait for.
    ///
    /// ```
    /// use std::time::Duration;
    /// use fleet::v1::UnitOption;
    /// let server = fleet_testserver::TestServer::builder()
    ///     .state_delay(Duration::from_millis(50))
    ///     .start()
    ///     .unwrap();
    /// server.put_unit_raw("a.service", vec![UnitOption::new("Service", "ExecStart", "/bin/true")], "launched");
    /// assert!(server.wait_settled(Duration::from_secs(5)));
    /// assert_eq!(server.unit("a.service").unwrap().current_state, "launched");
    /// ```
    pub fn wait_settled(&self, timeout: Duration) -> bool {
        let cluster = Arc::clone(&self.shared.cluster);
        let (tx, rx) = std::sync::mpsc::channel();
        self.runtime.spawn(async move {
            let _ = tx.send(cluster.wait_settled(timeout).await);
        });
        rx.recv_timeout(timeout + Duration::from_secs(1))
            .unwrap_or(false)
    }

    /// The async form of [`TestServer::wait_settled`].
    pub async fn settled(&self, timeout: Duration) -> bool {
        self.shared.cluster.wait_settled(timeout).await
    }

    /// Stop serving and wait for the server thread (also done on drop).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let _ = self.stop.send(true);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        if let (Some(path), None) = (&self.socket_path, &self.socket_dir) {
            let _ = std::fs::remove_file(path);
        }
        if let Some(dir) = self.socket_dir.take() {
            let _ = dir.close();
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn tls_config(s: &TlsSettings) -> Result<Arc<rustls::ServerConfig>, Error> {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let tls_err = |m: String| Error::Tls(m);
    let certs: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut s.cert_pem.as_slice())
        .collect::<Result<_, _>>()
        .map_err(|e| tls_err(format!("server certificate PEM: {e}")))?;
    if certs.is_empty() {
        return Err(tls_err(
            "server certificate PEM holds no certificate".into(),
        ));
    }
    let key: PrivateKeyDer<'static> = rustls_pemfile::private_key(&mut s.key_pem.as_slice())
        .map_err(|e| tls_err(format!("server key PEM: {e}")))?
        .ok_or_else(|| tls_err("server key PEM holds no private key".into()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_err(e.to_string()))?;
    let builder = match &s.client_ca_pem {
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in rustls_pemfile::certs(&mut ca.as_slice()) {
                let cert = cert.map_err(|e| tls_err(format!("client CA PEM: {e}")))?;
                roots
                    .add(cert)
                    .map_err(|e| tls_err(format!("client CA certificate: {e}")))?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .map_err(|e| tls_err(format!("client verifier: {e}")))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder
        .with_single_cert(certs, key)
        .map_err(|e| tls_err(format!("server certificate and key: {e}")))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

async fn accept_tcp(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    shared: Arc<Shared>,
    stop: watch::Receiver<bool>,
) {
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let stopped = stopped(stop.clone());
    tokio::pin!(stopped);
    loop {
        tokio::select! {
            _ = &mut stopped => return,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let shared = Arc::clone(&shared);
                let stop = stop.clone();
                match &acceptor {
                    Some(acceptor) => {
                        let acceptor = acceptor.clone();
                        tokio::spawn(async move {
                            if let Ok(tls) = acceptor.accept(stream).await {
                                serve_connection(tls, shared, stop).await;
                            }
                        });
                    }
                    None => {
                        tokio::spawn(serve_connection(stream, shared, stop));
                    }
                }
            }
        }
    }
}

async fn accept_unix(listener: UnixListener, shared: Arc<Shared>, stop: watch::Receiver<bool>) {
    let stopped = stopped(stop.clone());
    tokio::pin!(stopped);
    loop {
        tokio::select! {
            _ = &mut stopped => return,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                tokio::spawn(serve_connection(stream, Arc::clone(&shared), stop.clone()));
            }
        }
    }
}

async fn serve_connection<S>(stream: S, shared: Arc<Shared>, mut stop: watch::Receiver<bool>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req| serve(Arc::clone(&shared), req));
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let stopped = async move {
        let _ = stop.wait_for(|s| *s).await;
    };
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = stopped => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(Duration::from_secs(1), conn).await;
        }
    }
}

async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// A unique directory name in lower case only: httplib2 (under python-fleet) lower-cases the
/// host part of `http+unix://` URLs, so a socket path with capitals cannot be reached from it.
fn lowercase_dir_name() -> String {
    use std::sync::atomic::AtomicU64;
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "fleet-testserver-{}-{}-{nanos:08x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}
