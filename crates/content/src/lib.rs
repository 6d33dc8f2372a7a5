//! # Brief overview
//!
//! `calm-content` scores the content of a message at the `data` stage, as building blocks the
//! policy engine turns into decisions:
//! - [`Content`]: the parsed view (headers, decoded text, URLs, attachment names) made once
//!   with `mail-parser`;
//! - [`is_gtube`]: the GTUBE test string, which always counts as spam;
//! - [`Rules`] and [`score`]: a TOML rule file of named header, body, URL and attachment-name
//!   rules, each with points and a description, loaded with `file:line` errors; the
//!   [`ScoreReport`] lists every rule that fired and renders `X-Spam-Score`, `X-Spam-Status`
//!   and `X-Spam-Report`;
//! - [`Bayes`]: a token-based Bayesian classifier (Robinson/Fisher), trained with
//!   [`Bayes::train`], kept in a plain file written atomically;
//! - [`Scanner`]: an async clamd client (`INSTREAM`) that answers [`ScanResult::Clean`],
//!   [`ScanResult::Infected`] or [`ScanResult::Unavailable`], never an error;
//! - [`Spamd`]: an async SpamAssassin spamd client (SPAMC/1.5 `SYMBOLS`) giving spamd's score
//!   and the rules that hit, or [`SpamdResult::Unavailable`], never an error;
//! - `Authenticator` (feature `auth`, on by default): SPF, DKIM and DMARC with `mail-auth`
//!   through a configurable resolver, giving the policy's `spf`/`dkim`/`dmarc` facts and an
//!   `Authentication-Results` header (RFC 8601);
//! - [`forwarded_original`]: the message inside a user's spam report (attached, pasted
//!   inline with full headers, or redirected);
//! - `testing` (feature `test-daemons`): a real clamd (EICAR signature) and spamd for tests.
//!
//! What it deliberately does not do: it decides nothing. Thresholds, tagging, quarantine and
//! rejection live in the policy file (`spam_score >= N`, `gtube`, `malware`); this crate
//! produces the facts. It does no DNS lookups and reads no files except in the explicit
//! [`Rules::load`], [`Bayes::load`] and [`Bayes::save`].
//!
//! ```
//! use calm_content::{Content, Rules, score};
//! use std::path::Path;
//!
//! let rules = Rules::from_text(Path::new("content.toml"), r#"
//! [[rule]]
//! name = "PILLS"
//! description = "Sells pills"
//! body = '\bvia?gra\b'
//! score = 2.5
//! "#)?;
//! let content = Content::parse(b"Subject: hi\r\n\r\nCheap viagra here\r\n");
//! let report = score(&rules, &content);
//! assert_eq!(report.total(), 2.5);
//! assert!(report.header_block(5.0).starts_with("X-Spam-Score: 2.5\r\n"));
//! # Ok::<(), calm_content::RulesError>(())
//! ```

#[cfg(feature = "auth")]
mod auth;
mod bayes;
mod clamd;
mod forwarded;
mod gtube;
mod message;
mod rules;
mod score;
mod spamd;
#[cfg(feature = "test-daemons")]
pub mod testing;

#[cfg(feature = "auth")]
pub use auth::{AuthError, AuthFacts, AuthSettings, Authenticator, Session};
pub use bayes::{Bayes, BayesError, Label, tokens, write_atomic};
pub use clamd::{Endpoint, ScanResult, Scanner, parse_reply};
pub use forwarded::forwarded_original;
pub use gtube::{contains_gtube, gtube_string, is_gtube};
pub use message::{Content, MAX_BODY_TEXT, MAX_URLS, find_urls};
pub use rules::{BayesBand, MAX_RULES_BYTES, Problem, Rule, Rules, RulesError, Target};
pub use score::{Hit, ScoreReport, score};
pub use spamd::{SPAMD_MAX_MESSAGE, Spamd, SpamdResult, parse_spamd_reply};
