//! fleet API v1: the client, units, unit states, machines and unit files.
//!
//! The layers, from the bottom up:
//!
//! * [`unit_file`]: unit files exactly as fleet reads, writes and hashes them (pure, no I/O);
//! * [`Endpoint`] and [`transport`]: where fleet is and how bytes get there (TCP, unix socket, TLS, SSH);
//! * [`discovery`] and [`request`]: the method table read from fleet's discovery document, and the
//!   I/O-free construction of each HTTP request from it;
//! * [`Client`] (async) and [`blocking::Client`]: typed calls on units, unit states and machines;
//!   lists are lazy streams (iterators) over [`Page`]s, and [`wait`] polls for a condition.

pub mod blocking;
mod client;
pub mod discovery;
mod endpoint;
mod error;
mod model;
mod page;
pub mod request;
pub mod transport;
mod unit;
pub mod unit_file;
pub mod wait;

pub use client::{
    Client, ClientBuilder, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_POLL_INTERVAL, DEFAULT_TIMEOUT,
};
pub use endpoint::Endpoint;
pub use error::{Error, Result};
pub use model::{DesiredState, Machine, MachineMetadataOp, UnitOption, UnitState};
pub use page::{Page, PageItem};
pub use unit::Unit;
pub use unit_file::UnitHash;
