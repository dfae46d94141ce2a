//! Client for the [CoreOS fleet](https://github.com/coreos/fleet) HTTP API v1.
//!
//! This is the Rust port of python-fleet. Everything lives under [`v1`]:
//!
//! ```no_run
//! use fleet::v1 as fleet;
//!
//! # async fn run() -> Result<(), fleet::Error> {
//! let client = fleet::Client::new("http+unix://%2Fvar%2Frun%2Ffleet.sock").await?;
//! let unit = fleet::Unit::from_string("[Service]\nExecStart=/usr/bin/sleep 1d\n")?;
//! client.create_unit("hello.service", &unit).await?;
//! # Ok(()) }
//! ```
#![deny(missing_docs, missing_debug_implementations)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

pub mod v1;

/// The workspace README's code blocks, compiled as doc-tests so that they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
