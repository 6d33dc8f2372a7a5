//! # Brief overview
//!
//! `calm-outbound` delivers the mail in calm's outbound queue to other servers: it resolves
//! MX hosts (through `calm-dns`), speaks SMTP as a client with opportunistic STARTTLS, follows
//! per-domain routes, retries with backoff, and returns RFC 3464 DSNs to senders when it
//! gives up.
//!
//! Key types:
//! - [`Engine`]: built from an [`OutboundConfig`] over the spool's `outbound/` directory.
//!   [`Engine::start`] runs the scheduler; [`Engine::run_once`] does one pass (tests, flush).
//!   Queue operations for the CLI: [`Engine::list`], [`Engine::show`], [`Engine::hold`],
//!   [`Engine::release`], [`Engine::retry_now`], [`Engine::delete`], [`Engine::bounce`].
//! - [`Routes`] and [`Transport`]: the transport map (Postfix `transport(5)` lines plus
//!   `disabled`) and relay host; [`Transport::rcpt_refusal`] gives the binary its RCPT answer.
//! - [`RelayCredentials`] and [`Credential`]: the separate credentials file for routes with
//!   `auth=NAME`; [`Routes::with_credentials`] attaches them. Such routes require STARTTLS,
//!   then authenticate with RFC 4954 AUTH PLAIN (LOGIN when only that is offered).
//! - [`RetryPolicy`] and [`Clock`] ([`SystemClock`], [`ManualClock`] for tests).
//! - [`Dsn`], [`DsnSink`] and [`build_dsn`]: bounces and delay warnings, handed to the binary
//!   as bytes plus envelope so it enqueues them through the spool (the sender may be local).
//! - [`OutboundEvent`]: `delivery_attempt`, `delivered_remote`, `deferred` (with code and
//!   domain), `bounced` (with RFC 3463 class and subject), for the event log.
//!
//! Per-recipient state lives in the queue (`calm_queue::outbound`), so a restart continues
//! where it stopped. A recipient is delivered at least once: a crash between a remote `250`
//! and the state write sends that recipient again after restart (RFC 5321 §6.1 accepts
//! duplicates over loss).
//!
//! It deliberately does not do DKIM signing, SASL mechanisms beyond PLAIN and LOGIN,
//! MTA-STS, DANE, CHUNKING or DSN parameters (RFC 3461) towards remote servers, and it does
//! not write the event log itself: events go to the [`EventSink`] the binary provides.
//!
//! ```no_run
//! # async fn f() -> Result<(), calm_outbound::OutboundError> {
//! use std::sync::Arc;
//! use calm_outbound::{Engine, OutboundConfig, RelayCredentials, Routes, SystemClock};
//!
//! let mut config = OutboundConfig::new("mx.example.org");
//! let map = "old.example.org relay:[10.0.0.5]:25\n\
//!            *               relay:[smtp.isp.example]:587 auth=isp\n";
//! let creds = RelayCredentials::parse("isp calm@example.org s3cret\n", "credentials").unwrap();
//! config.routes = Routes::parse(map, "routes").unwrap().with_credentials(creds);
//! let (dsn_tx, _dsn_rx) = tokio::sync::mpsc::unbounded_channel();
//! let events = Arc::new(|event| println!("{}", serde_json::to_string(&event).unwrap()));
//! let engine = Engine::new(config, "calm-data/spool/outbound".as_ref(), Arc::new(SystemClock),
//!                          events, Arc::new(dsn_tx))?;
//! let _scheduler = engine.start();
//! # Ok(()) }
//! ```

mod apply;
mod client;
mod credentials;
mod deliver;
mod dsn;
mod engine;
mod event;
mod ops;
mod retry;
mod route;
mod tls;

pub use calm_queue::outbound::{EntryState, ListFilter, QueueEntry};
pub use client::Timeouts;
pub use credentials::{Credential, CredentialError, RelayCredentials};
pub use dsn::{Dsn, DsnInput, DsnKind, DsnRecipient, DsnSink, build_dsn};
pub use engine::{Engine, OutboundConfig, OutboundError};
pub use event::{EventSink, OutboundEvent};
pub use retry::{Clock, ManualClock, RetryPolicy, SystemClock};
pub use route::{NextHop, RouteError, Routes, TlsPolicy, Transport};
