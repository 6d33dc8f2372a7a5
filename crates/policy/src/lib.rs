//! # Brief overview
//!
//! `calm-policy` is calm's staged policy engine: plain-file rules that decide, at each SMTP
//! stage (`connect`, `helo`, `mail`, `rcpt`, `data`), whether to accept, reject, defer, tag or
//! quarantine, and say why. It is sans-IO: no sockets, no DNS, no clock, and no files except
//! in the explicit [`Policy::load`] and [`Cases::load`]. Everything the engine looks at comes in
//! as [`Facts`]; time comes in as a [`Timestamp`].
//!
//! Key types:
//! - [`Policy`]: a loaded policy file (TOML; each stage an ordered list of named rules like
//!   Postfix's `smtpd_*_restrictions`), with its network lists and Postfix-style `access`
//!   maps. [`Policy::evaluate`] runs one stage and returns a [`Decision`]: the [`Verdict`]
//!   (with the SMTP [`calm_smtp_proto::Reply`] for refusals), the rule that decided, and a
//!   [`Trace`] of every rule looked at, with file, line and the facts used.
//!   [`Decision::explain`] is the one-line event-log form.
//! - [`Session`]: per-connection state (tags, score, quarantine), and the `X-Calm-Policy`
//!   summary header for accepted messages ([`Session::summary_header`]).
//! - [`Limiter`]: sliding-window counters and concurrency gauges for the rate checks and
//!   auth-failure throttling; the caller records events, evaluation only reads.
//! - [`Context`]: what the policy needs from calm's configuration (hostname, local domains,
//!   `lan_networks`, which recipient tables are configured).
//! - [`Policy::hazards`]: the checker behind `calm check` ([`Hazard`], [`HazardKind`]),
//!   including the seed incident (recipient validation before its map was loaded).
//! - DNS block and allow lists (`[dnsbl.NAME]`, `[dnswl.NAME]`, RFC 5782):
//!   [`Policy::dnsbl_queries`] says which [`DnsblQuery`]s to look up (and
//!   [`DnsblQuery::subject`] what, for this session); the caller passes the A records it got as
//!   [`DnsblAnswer`]s in [`Facts::dnsbl`], and the policy filters the return codes for the
//!   `dnsbl NAME`, `dnswl NAME` and `dnsbl_score > N` checks.
//! - [`Cases`], [`simulate`] and [`diff`]: `calm simulate` and `calm simulate --diff`.
//!
//! What it deliberately does not do: no DNS lookups, no accounts directory access, no
//! content scanning and no file watching. DNS answers, the recipient's resolution (with the
//! tables the directory had loaded) and the message come in as facts; a fact that is `None`
//! makes the checks that need it *undecided*, and an undecided rule never fires. It does not
//! keep old policies or reload them: the caller swaps an `Arc<Policy>`.
//!
//! ```
//! use calm_policy::{Context, Facts, Policy, Rcpt, RcptStatus, Role, Session, Stage, Tables, Timestamp, Verdict};
//! use std::path::Path;
//!
//! let text = r#"
//! [[rcpt]]
//! name = "unknown-local"
//! if = "rcpt_unknown"
//! action = "reject 550 5.1.1 <{rcpt}>: no such user"
//! "#;
//! let ctx = Context::default();
//! let policy = Policy::from_text(Path::new("policy.toml"), text, &ctx, &mut |_: &Path| Ok(Vec::new()))?;
//! let limiter = policy.new_limiter();
//! let mut session = Session::new();
//! let mut facts = Facts::new("192.0.2.1".parse().unwrap(), Role::Mx);
//! facts.rcpt = Some(Rcpt { address: "bob@example.test", status: RcptStatus::Unknown, tables: Tables::USERS });
//! let d = policy.evaluate(Stage::Rcpt, &facts, &mut session, &limiter, Timestamp::from_secs(0));
//! assert!(matches!(d.verdict, Verdict::Reject(_)));
//! assert_eq!(
//!     d.explain(),
//!     "rcpt: rule unknown-local (policy.toml:2) rejected 550 5.1.1: <bob@example.test>: no such user \
//!      [rcpt=bob@example.test resolution=unknown tables=users]"
//! );
//! # Ok::<(), calm_policy::PolicyError>(())
//! ```

mod access;
mod action;
mod check;
mod context;
mod dnsbl;
mod error;
mod facts;
mod hazards;
mod helo;
mod limiter;
mod lists;
mod load;
mod policy;
mod session;
mod sim;
mod stage;
mod template;
#[cfg(test)]
mod testutil;
mod trace;
mod verdicts;

pub use context::Context;
pub use dnsbl::{DnsListKind, DnsblAnswer, DnsblQuery, DnsblSubject, DnsblTarget};
pub use error::{PolicyError, Problem};
pub use facts::{Facts, Rcpt, RcptStatus, Rdns, Role, Sender, Tables};
pub use hazards::{HIGH_SPAM_SCORE, Hazard, HazardKind, Severity};
pub use limiter::{Limiter, LimiterSettings};
pub use load::ReadFile;
pub use policy::Policy;
pub use session::{Applied, Session};
pub use sim::{
    CaseResult, Cases, Change, DiffReport, Outcome, Report, StageRun, diff, simulate, simulate_with,
};
pub use stage::{Stage, Timestamp};
pub use trace::{Decision, FactUse, RuleRef, Step, StepResult, Tag, Trace, Verdict};
pub use verdicts::{AuthResult, ContentFacts, ContentScorer, DmarcPolicy, MalwareScan, Scan};
