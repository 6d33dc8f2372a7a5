//! # Brief overview
//!
//! `calm-mail-types` holds the small value types every other calm crate speaks in: a validated
//! [`Domain`], a mailbox [`Address`] as found inside SMTP's `<...>` (RFC 5321 §4.1.2, with RFC
//! 6531 UTF-8 when the caller allows it), the `MAIL FROM` [`ReversePath`] and the [`QueueId`]
//! that names a message in the spool, in `Received:` headers and in Maildir file names.
//!
//! Parsing is strict and returns typed errors that say plainly what is wrong (a trailing dot in
//! a domain is [`DomainError::TrailingDot`]). Source routes are dropped as RFC 5321 §3.6.1 asks;
//! quoted local parts are kept literally, so `"u@evil"@example.com` is a local part of
//! `example.com` and relay decisions only ever look at the domain.
//!
//! This crate does no I/O and knows nothing about SMTP commands, policy or delivery; it does
//! not do IDNA (U-label ↔ A-label) conversion.
//!
//! ```
//! use calm_mail_types::{Address, QueueId};
//!
//! let a = Address::parse("@relay.example:\"u@other\"@Example.COM", false)?;
//! assert_eq!((a.local(), a.domain()), ("u@other", "example.com"));
//! assert_eq!(a.to_string(), "\"u@other\"@example.com");
//! assert_eq!(QueueId::generate().as_str().len(), 19);
//! # Ok::<(), calm_mail_types::AddressError>(())
//! ```

mod address;
mod domain;
mod queue_id;

pub use address::{Address, AddressError, Host, MAX_LOCAL_LEN, MAX_PATH_LEN, ReversePath};
pub use domain::{Domain, DomainError, MAX_DOMAIN_LEN, MAX_LABEL_LEN};
pub use queue_id::{QUEUE_ID_LEN, QueueId, QueueIdError};
