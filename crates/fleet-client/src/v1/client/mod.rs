//! The async [`Client`]: one pooled keep-alive connection, requests built from fleet's
//! discovery document, typed calls on units, unit states and machines.
//!
//! The calls live in one file per resource (`units.rs`, `states.rs`, `machines.rs`); all of
//! them go through [`RequestFactory::build`] and one of the response processors below (into a
//! value, into nothing, into a page).

mod builder;
mod machines;
mod states;
mod units;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::future::Either;
use futures::{Stream, StreamExt};
use http::StatusCode;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use serde::de::DeserializeOwned;
use serde::Deserialize;

pub use builder::{
    ClientBuilder, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_POLL_INTERVAL,
    DEFAULT_TIMEOUT,
};

use super::discovery::Discovery;
use super::page::{excerpt, PageItem};
use super::request::{Call, RequestFactory};
use super::transport::connector::{ConnectError, Connector, Reuse, SERVED};
use super::transport::tls::TlsSetup;
use super::transport::{Direct, Target};
use super::{Endpoint, Error, Page, Result};

/// The path python-fleet and fleetctl fetch the discovery document from.
const DISCOVERY_PATH: &str = "/fleet/v1/discovery";

/// An async client of fleet's API v1.
///
/// Cheap to clone (an `Arc` inside; clones share the connection pool), `Send + Sync`.
///
/// # Connections
///
/// Requests share one keep-alive connection (hyper-util's pool behind the client's own
/// connector); a new one is opened only while more requests are in flight than connections are
/// open, so sequential calls — listing 1,000 units over 10 pages, say — use one connection.
///
/// # Errors
///
/// Every call fails with one of:
///
/// * [`Error::Api`]`{ code, message }` for every response with status 400 or more: `message` is
///   fleet's `{"error":{"code","message"}}` message (often empty: fleet sends `""` for routing
///   404s and all 500s), or the start of the body when it is not of that shape (a proxy's
///   `502`, say), and `code` is the HTTP status;
/// * [`Error::UnexpectedResponse`] for a response that is not what the API promises: another
///   success status than the call's (a `301` redirect, a `200` where `201`/`204` is due is
///   accepted), or a body that does not decode; it carries the request, status and a short
///   excerpt of the body;
/// * [`Error::NoResponse`] when fleet closes the connection without answering (fleet v1.0.0
///   does for `GET /fleet/v1/state/<unknown unit>`);
/// * [`Error::Timeout`] when a request (from sending to the end of the body) takes longer than
///   the [timeout](ClientBuilder::timeout), or connecting longer than the [connect
///   timeout](ClientBuilder::connect_timeout);
/// * [`Error::Transport`] / [`Error::Tls`] when connecting or TLS fails;
/// * [`Error::InvalidUnitName`] / [`Error::InvalidArgument`] before anything is sent, for
///   arguments fleet would refuse (see [`request`](crate::v1::request)).
///
/// ```no_run
/// use fleet::v1 as fleet;
/// use futures::TryStreamExt;
///
/// # async fn run() -> fleet::Result<()> {
/// let client = fleet::Client::new("http+unix://%2Fvar%2Frun%2Ffleet.sock").await?;
/// let unit = fleet::Unit::from_string("[Service]\nExecStart=/usr/bin/sleep 1d\n")?;
/// let unit = client.create_unit("hello.service", &unit).await?;
/// let units: Vec<fleet::Unit> = client.list_units().try_collect().await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    endpoint: Endpoint,
    requests: RequestFactory,
    http: HyperClient<Connector, Full<Bytes>>,
    reuse: Arc<Reuse>,
    limits: Limits,
    poll_interval: Duration,
    connector: Arc<dyn super::transport::Connect>,
    blocking_runtime: Option<Arc<super::blocking::Runtime>>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("endpoint", &self.inner.endpoint)
            .field("timeout", &self.inner.limits.timeout)
            .field("connector", &self.inner.connector)
            .finish_non_exhaustive()
    }
}

/// A response: its status and whole body, and the request it answers (`METHOD path`).
struct Response {
    request: String,
    status: StatusCode,
    body: Bytes,
}

impl Client {
    /// Connect to fleet at `endpoint` with the default settings (see [`ClientBuilder`]).
    ///
    /// Fetches `GET <endpoint>/fleet/v1/discovery` and builds the method table from it.
    ///
    /// # Errors
    ///
    /// * [`Error::InvalidEndpoint`]: the endpoint string is malformed;
    /// * [`Error::Discovery`]: the endpoint is unreachable, answers with another status than
    ///   200 or with something that is not the fleet v1 discovery document (python-fleet
    ///   raises `ValueError` here); the message names the endpoint and the cause;
    /// * [`Error::Tls`]: a CA or client certificate file cannot be used, the server's
    ///   certificate is refused, or the server refuses the client certificate (under TLS 1.3
    ///   that arrives as an alert after the handshake; it is still `Error::Tls`, not
    ///   `Error::Discovery`);
    /// * [`Error::Ssh`]: the SSH tunnel could not be opened (unknown or changed host key,
    ///   authentication refused, channel refused): the tunnel, not the endpoint, failed, so
    ///   this is not `Error::Discovery`. A tunnel that cannot reach its SSH host in time is
    ///   `Error::Discovery` whose message carries the timeout, like any unreachable endpoint.
    ///
    /// ```no_run
    /// # async fn run() -> fleet::v1::Result<()> {
    /// let tcp = fleet::v1::Client::new("http://127.0.0.1:49153").await?;
    /// let unix = fleet::v1::Client::new("unix:///var/run/fleet.sock").await?;
    /// # Ok(()) }
    /// ```
    pub async fn new(endpoint: &str) -> Result<Client> {
        Client::builder(endpoint).build().await
    }

    /// A [`ClientBuilder`] for `endpoint`, to set timeouts, TLS, user agent or transport.
    pub fn builder(endpoint: &str) -> ClientBuilder {
        ClientBuilder::new(endpoint)
    }

    /// The endpoint this client talks to.
    pub fn endpoint(&self) -> &Endpoint {
        &self.inner.endpoint
    }

    /// The method table read from fleet's discovery document.
    pub fn discovery(&self) -> &Discovery {
        self.inner.requests.discovery()
    }

    /// The poll interval of [`wait_for_unit_state`](Client::wait_for_unit_state).
    pub fn poll_interval(&self) -> Duration {
        self.inner.poll_interval
    }

    pub(crate) fn blocking_runtime(&self) -> Option<&Arc<super::blocking::Runtime>> {
        self.inner.blocking_runtime.as_ref()
    }

    async fn from_builder(b: ClientBuilder) -> Result<Client> {
        let endpoint = Endpoint::parse(&b.endpoint)?;
        let tls = match (endpoint.is_tls(), endpoint.host()) {
            (true, Some(host)) => Some(TlsSetup::new(
                host,
                b.ca_file.as_deref(),
                b.client_cert.as_ref(),
            )?),
            _ => None,
        };
        let connect: Arc<dyn super::transport::Connect> =
            b.connector.unwrap_or_else(|| Arc::new(Direct));
        let reuse = Arc::new(Reuse::default());
        let connector = Connector {
            connect: connect.clone(),
            target: endpoint.target(),
            tls,
            connect_timeout: b.connect_timeout,
            reuse: reuse.clone(),
        };
        let http = HyperClient::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .build(connector);

        let discovery_error = |message: String| Error::Discovery {
            endpoint: endpoint.to_string(),
            message,
        };
        let uri = format!("{}{DISCOVERY_PATH}", endpoint.base_uri());
        let request = http::Request::get(&uri)
            .header(http::header::USER_AGENT, b.user_agent.as_str())
            .body(Bytes::new())
            .map_err(|e| discovery_error(format!("cannot build the discovery request: {e}")))?;
        let limits = Limits {
            timeout: b.timeout,
            max_response_bytes: b.max_response_bytes,
        };
        let response = send_raw(&http, &reuse, &endpoint, limits, request)
            .await
            .map_err(|e| match e {
                // The endpoint was not the problem: the TLS setup or the SSH tunnel in front of
                // it was, and those errors say exactly what (a refused host key, a client
                // certificate the server refused).
                e @ (Error::Tls { .. } | Error::Ssh { .. }) => e,
                other => discovery_error(format!("GET {DISCOVERY_PATH} failed: {other}")),
            })?;
        if response.status != StatusCode::OK {
            return Err(discovery_error(format!(
                "GET {DISCOVERY_PATH} answered HTTP {} (expected 200); body starts {:?}",
                response.status.as_u16(),
                excerpt(&response.body)
            )));
        }
        let discovery = Discovery::from_slice(&response.body).map_err(discovery_error)?;
        let requests = RequestFactory::new(discovery, &endpoint, &b.user_agent)?;
        tracing::debug!(endpoint = %endpoint, "fleet v1 API discovered");
        Ok(Client {
            inner: Arc::new(Inner {
                endpoint,
                requests,
                http,
                reuse,
                limits,
                poll_interval: b.poll_interval,
                connector: connect,
                blocking_runtime: b.blocking_runtime,
            }),
        })
    }

    /// Build and send one call; the whole response, whatever its status.
    async fn send(&self, call: &Call<'_>) -> Result<Response> {
        let request = self.inner.requests.build(call)?;
        send_raw(
            &self.inner.http,
            &self.inner.reuse,
            &self.inner.endpoint,
            self.inner.limits,
            request,
        )
        .await
    }

    /// Processor: a 200 response decoded into `T`.
    async fn call_value<T: DeserializeOwned>(&self, call: &Call<'_>) -> Result<T> {
        let response = self.send(call).await?;
        if response.status != StatusCode::OK {
            return Err(unexpected_status(response, "200"));
        }
        serde_json::from_slice(&response.body).map_err(|e| Error::UnexpectedResponse {
            request: response.request,
            status: response.status.as_u16(),
            message: format!("the body is not the JSON the API promises: {e}"),
            excerpt: excerpt(&response.body),
        })
    }

    /// Processor: a response with no content (200, 201 or 204; the body is ignored).
    async fn call_empty(&self, call: &Call<'_>) -> Result<()> {
        let response = self.send(call).await?;
        match response.status {
            StatusCode::OK | StatusCode::CREATED | StatusCode::NO_CONTENT => Ok(()),
            _ => Err(unexpected_status(response, "200, 201 or 204")),
        }
    }

    /// Processor: one page of a collection.
    async fn call_page<T: PageItem>(&self, call: &Call<'_>) -> Result<Page<T>> {
        let response = self.send(call).await?;
        if response.status != StatusCode::OK {
            return Err(unexpected_status(response, "200"));
        }
        // Units keep slices of the page, so the page gets a buffer of its own: the body may
        // be a slice of the connection's read buffer (8 KiB and more), which it would pin.
        let body = Bytes::copy_from_slice(&response.body);
        Page::from_bytes(&body).map_err(|e| match e {
            Error::UnexpectedResponse {
                message, excerpt, ..
            } => Error::UnexpectedResponse {
                request: response.request,
                status: response.status.as_u16(),
                message,
                excerpt,
            },
            other => other,
        })
    }

    /// A lazy stream over every page of a collection, following `nextPageToken`; one page in
    /// memory at a time.
    ///
    /// `link` is called on every item with this client as its page is taken (units remember
    /// the client they came from).
    fn paginate<T: PageItem + Send + 'static>(
        &self,
        list: List,
        link: fn(&mut T, &Client),
    ) -> impl Stream<Item = Result<T>> + Send + Unpin + 'static {
        struct State {
            client: Client,
            list: List,
            token: Option<String>,
            /// Every token followed so far: one sent again means the pages go round in a
            /// circle.
            seen: std::collections::HashSet<String>,
            /// Pages in a row that carried no items but another token.
            empty_in_a_row: usize,
            fetched: bool,
            done: bool,
        }
        let state = State {
            client: self.clone(),
            list,
            token: None,
            seen: std::collections::HashSet::new(),
            empty_in_a_row: 0,
            fetched: false,
            done: false,
        };
        // One future per page; the items of a page are then handed out by a plain iterator
        // (a future per item would be created, and moved, a hundred times a page).
        let pages = futures::stream::unfold(state, move |mut st| async move {
            if st.done || (st.fetched && st.token.is_none()) {
                return None;
            }
            let result = st
                .client
                .call_page::<T>(&st.list.call(st.token.as_deref()))
                .await;
            match result {
                Ok(page) => {
                    let repeated = match &page.next_page_token {
                        Some(next) => !st.seen.insert(next.clone()),
                        None => false,
                    };
                    if page.items.is_empty() && page.next_page_token.is_some() {
                        st.empty_in_a_row += 1;
                    } else {
                        st.empty_in_a_row = 0;
                    }
                    let endless = st.empty_in_a_row > MAX_EMPTY_PAGES_IN_A_ROW;
                    if repeated || endless {
                        st.done = true;
                        let message = if repeated {
                            "fleet sent a nextPageToken it had sent before (the pages go round \
                             in a circle); stopping instead of looping"
                                .to_string()
                        } else {
                            format!(
                                "fleet sent {} pages in a row with no items but a \
                                 nextPageToken (fleet itself never sends an empty page with a \
                                 token); stopping instead of following them without end",
                                st.empty_in_a_row
                            )
                        };
                        let error = Error::UnexpectedResponse {
                            request: format!(
                                "GET {}?nextPageToken={}",
                                st.client
                                    .discovery()
                                    .method(st.list.call(None).api_method())
                                    .path_template(),
                                st.token.as_deref().unwrap_or_default()
                            ),
                            status: 200,
                            message,
                            excerpt: page.next_page_token.unwrap_or_default(),
                        };
                        return Some((Err(error), st));
                    }
                    st.fetched = true;
                    st.token = page.next_page_token;
                    let mut items = page.items;
                    for item in &mut items {
                        link(item, &st.client);
                    }
                    Some((Ok(items), st))
                }
                Err(e) => {
                    st.done = true;
                    Some((Err(e), st))
                }
            }
        });
        Box::pin(pages.flat_map(|page| match page {
            Ok(items) => Either::Left(futures::stream::iter(items.into_iter().map(Ok))),
            Err(e) => Either::Right(futures::stream::once(futures::future::ready(Err(e)))),
        }))
    }
}

/// How many pages in a row a list follows that carry no items but a `nextPageToken`. fleet
/// pages after filtering, so it never sends such a page; a peer that keeps doing so would make
/// a list run without end and without yielding anything.
const MAX_EMPTY_PAGES_IN_A_ROW: usize = 100;

/// Which collection a stream lists.
#[derive(Clone, Debug)]
enum List {
    Units,
    UnitStates {
        machine_id: Option<String>,
        unit_name: Option<String>,
    },
    Machines,
}

impl List {
    fn call<'a>(&'a self, page_token: Option<&'a str>) -> Call<'a> {
        match self {
            List::Units => Call::ListUnits { page_token },
            List::UnitStates {
                machine_id,
                unit_name,
            } => Call::ListUnitStates {
                machine_id: machine_id.as_deref(),
                unit_name: unit_name.as_deref(),
                page_token,
            },
            List::Machines => Call::ListMachines { page_token },
        }
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorEntity,
}

#[derive(Deserialize)]
struct ErrorEntity {
    #[serde(default)]
    code: Option<u16>,
    #[serde(default)]
    message: String,
}

/// The error for a response whose status is not the expected one: [`Error::Api`] for every
/// status of 400 or more (message from fleet's `{"error":{"code","message"}}` body, or, when
/// the body is not of that shape, the start of the body), [`Error::UnexpectedResponse`]
/// otherwise (a redirect, a 2xx the call does not promise).
fn unexpected_status(response: Response, expected: &str) -> Error {
    let status = response.status.as_u16();
    if status >= 400 {
        let message = match serde_json::from_slice::<ErrorBody>(&response.body) {
            Ok(body) => {
                if body.error.code.is_some_and(|c| c != status) {
                    tracing::debug!(
                        status,
                        body_code = body.error.code,
                        "fleet error body code differs from the HTTP status"
                    );
                }
                body.error.message
            }
            Err(_) => excerpt(&response.body).trim().to_string(),
        };
        return Error::Api {
            code: status,
            message,
        };
    }
    Error::UnexpectedResponse {
        request: response.request,
        status,
        message: format!("expected HTTP {expected}"),
        excerpt: excerpt(&response.body),
    }
}

/// How long one request may take and how much of its answer is read.
#[derive(Clone, Copy, Debug)]
struct Limits {
    timeout: Duration,
    max_response_bytes: usize,
}

/// Send one request on the pool and read the whole response, within the limits.
async fn send_raw(
    http: &HyperClient<Connector, Full<Bytes>>,
    reuse: &Arc<Reuse>,
    endpoint: &Endpoint,
    limits: Limits,
    request: http::Request<Bytes>,
) -> Result<Response> {
    let Limits {
        timeout,
        max_response_bytes,
    } = limits;
    let label = format!(
        "{} {}",
        request.method(),
        request
            .uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
    );
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let request = request.map(Full::new);
    let in_flight = reuse.start_request();
    let exchange = async {
        let response = SERVED
            .scope(in_flight.flag(), http.request(request))
            .await
            .map_err(|e| map_send_error(e, endpoint, &label))?;
        in_flight.served();
        let status = response.status();
        let body = Limited::new(response.into_body(), max_response_bytes)
            .collect()
            .await
            .map_err(|e| {
                if e.is::<LengthLimitError>() {
                    Error::UnexpectedResponse {
                        request: label.clone(),
                        status: status.as_u16(),
                        message: format!(
                            "the body is longer than the client's limit of {max_response_bytes} \
                             bytes (ClientBuilder::max_response_bytes)"
                        ),
                        excerpt: String::new(),
                    }
                } else {
                    Error::Transport {
                        endpoint: endpoint.to_string(),
                        message: format!("reading the response to {label} failed: {e}"),
                        source: Some(e),
                    }
                }
            })?
            .to_bytes();
        Ok::<_, Error>((status, body))
    };
    let span = tracing::debug_span!("fleet_request", %method, %path);
    match tokio::time::timeout(timeout, tracing::Instrument::instrument(exchange, span)).await {
        Ok(Ok((status, body))) => {
            tracing::debug!(%method, %path, status = status.as_u16(), bytes = body.len(), "fleet request");
            Ok(Response {
                request: label,
                status,
                body,
            })
        }
        Ok(Err(e)) => {
            tracing::debug!(%method, %path, error = %e, "fleet request failed");
            Err(e)
        }
        Err(_) => {
            tracing::debug!(%method, %path, ?timeout, "fleet request timed out");
            Err(Error::Timeout {
                what: format!("{label} at {endpoint}"),
                after: timeout,
            })
        }
    }
}

/// Turn hyper-util's error into ours, by looking through its sources:
///
/// * a connector timeout is [`Error::Timeout`], a failed TLS handshake [`Error::Tls`];
/// * an SSH tunnel failure travels as an `io::Error` wrapping [`Error::Ssh`] or
///   [`Error::Timeout`] (see [`transport::ssh`](crate::v1::transport)): that error itself;
/// * a TLS alert from the server on the first read (TLS 1.3 servers refuse a client
///   certificate after the handshake, so the client only learns it then) is [`Error::Tls`];
/// * a connection closed before any response is [`Error::NoResponse`];
/// * anything else is [`Error::Transport`] with the whole chain of causes.
fn map_send_error(
    err: hyper_util::client::legacy::Error,
    endpoint: &Endpoint,
    label: &str,
) -> Error {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(&err);
    while let Some(s) = source {
        if let Some(c) = s.downcast_ref::<ConnectError>() {
            return match c {
                ConnectError::Timeout { target, after } => Error::Timeout {
                    what: format!("connecting to {}", describe(target)),
                    after: *after,
                },
                ConnectError::Tls { .. } => Error::Tls {
                    message: c.to_string(),
                },
                ConnectError::Io { source: io, .. } => match tunnel_error(io) {
                    Some(e) => e,
                    None => Error::Transport {
                        endpoint: endpoint.to_string(),
                        message: c.to_string(),
                        source: Some(Box::new(err)),
                    },
                },
                ConnectError::NotNeeded => Error::Transport {
                    endpoint: endpoint.to_string(),
                    message: c.to_string(),
                    source: Some(Box::new(err)),
                },
            };
        }
        if let Some(h) = s.downcast_ref::<hyper::Error>() {
            if h.is_incomplete_message() {
                return Error::NoResponse {
                    request: label.to_string(),
                };
            }
        }
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            // A failure of the SSH tunnel while the request was under way (an fd-forward
            // command that failed), or a TLS alert after the handshake.
            if let Some(e) = tunnel_error(io).or_else(|| tls_alert(io, endpoint)) {
                return e;
            }
        }
        source = s.source();
    }
    Error::Transport {
        endpoint: endpoint.to_string(),
        message: format!("{label} failed: {}", chain(&err)),
        source: Some(Box::new(err)),
    }
}

/// The library error an SSH tunnel put inside the connector's `io::Error`, if any.
fn tunnel_error(io: &std::io::Error) -> Option<Error> {
    match io.get_ref()?.downcast_ref::<Error>()? {
        Error::Ssh { message } => Some(Error::Ssh {
            message: message.clone(),
        }),
        Error::Timeout { what, after } => Some(Error::Timeout {
            what: what.clone(),
            after: *after,
        }),
        _ => None,
    }
}

/// A TLS alert the server sent after the handshake, as [`Error::Tls`].
fn tls_alert(io: &std::io::Error, endpoint: &Endpoint) -> Option<Error> {
    use rustls::AlertDescription as A;
    let rustls::Error::AlertReceived(alert) = io.get_ref()?.downcast_ref::<rustls::Error>()? else {
        return None;
    };
    let message = match alert {
        A::CertificateRequired
        | A::UnknownCA
        | A::BadCertificate
        | A::UnsupportedCertificate
        | A::CertificateRevoked
        | A::CertificateExpired
        | A::CertificateUnknown
        | A::AccessDenied => format!(
            "the server refused the client certificate: {endpoint} answered with the TLS alert \
             {alert:?}{}",
            match alert {
                A::CertificateRequired =>
                    " (it requires a client certificate; set one with \
                                            ClientBuilder::client_cert)",
                A::UnknownCA => " (the client certificate is not signed by a CA it trusts)",
                _ => "",
            }
        ),
        other => format!("{endpoint} sent the TLS alert {other:?}"),
    };
    Some(Error::Tls { message })
}

fn describe(target: &Target) -> String {
    target.to_string()
}

fn chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
