//! Sender authentication at the data stage: SPF (RFC 7208), DKIM (RFC 6376), DMARC
//! (RFC 7489) and ARC (RFC 8617) with `mail-auth`, through a resolver the operator chooses, and the
//! `Authentication-Results` header (RFC 8601) for accepted messages.
//!
//! The results are facts for the policy (`spf fail`, `dmarc fail`, `dmarc_policy reject`); this
//! module decides nothing. Result names are RFC 8601's, so `calm_policy::AuthResult::parse`
//! and `calm_policy::DmarcPolicy::parse` read them.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use mail_auth::dmarc::Policy;
use mail_auth::dmarc::verify::DmarcParameters;
use mail_auth::hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolverConfig, ResolverOpts,
};
use mail_auth::spf::verify::SpfParameters;
use mail_auth::{
    AuthenticatedMessage, AuthenticationResults, DkimOutput, DkimResult, DmarcResult,
    MessageAuthenticator, SpfResult,
};

/// Where DNS questions go, and how patiently.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthSettings {
    /// The recursive resolver (UDP, TCP for truncated answers); `None` reads
    /// `/etc/resolv.conf`.
    pub upstream: Option<SocketAddr>,
    /// How long to wait for one answer.
    pub timeout: Duration,
    /// How many times to ask.
    pub attempts: usize,
    /// This server's name: the `authserv-id` of the header (RFC 8601 §2.5).
    pub hostname: String,
}

/// Why the verifier could not be built.
#[derive(Debug, thiserror::Error)]
#[error("DNS resolver for SPF/DKIM/DMARC: {0}")]
pub struct AuthError(String);

/// The outcome of verifying one message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthFacts {
    /// SPF for the MAIL FROM identity (or `postmaster@HELO` for the null sender,
    /// RFC 7208 §2.4): `pass`, `fail`, `softfail`, `neutral`, `none`, `temperror`, `permerror`.
    pub spf: &'static str,
    /// DKIM: `pass` when at least one signature verified, `none` when there is none, else
    /// the worst failure (`fail`, `permerror`, `temperror`, `neutral`).
    pub dkim: &'static str,
    /// DMARC for the From domain: `pass`, `fail`, `none` (no record), `temperror`, `permerror`.
    pub dmarc: &'static str,
    /// ARC chain validation (RFC 8617 §5.2): `pass` when every ARC set verifies, `none`
    /// without ARC headers, else `fail` (a broken or too long chain, a bad seal or signature),
    /// `temperror`/`permerror` for key look-up trouble.
    pub arc: &'static str,
    /// The From domain's requested policy (`none`, `quarantine`, `reject`); `None` without
    /// a DMARC record.
    pub dmarc_policy: Option<&'static str>,
    /// The value of the `Authentication-Results` header field (folded, no trailing CRLF).
    pub header_value: String,
}

impl AuthFacts {
    /// The whole header field, to prepend to the message: `Authentication-Results: …\r\n`.
    pub fn header(&self) -> String {
        format!("Authentication-Results: {}\r\n", self.header_value)
    }
}

/// The SMTP facts the checks need besides the message.
#[derive(Clone, Copy, Debug)]
pub struct Session<'a> {
    /// The client's address.
    pub client: IpAddr,
    /// The HELO/EHLO name.
    pub helo: &'a str,
    /// The MAIL FROM address; empty for the null sender.
    pub mail_from: &'a str,
}

/// An SPF/DKIM/DMARC verifier with its own resolver (and its cache).
pub struct Authenticator {
    inner: MessageAuthenticator,
    hostname: String,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("hostname", &self.hostname)
            .finish()
    }
}

impl Authenticator {
    /// A verifier asking `settings.upstream`. Must be called inside a tokio runtime.
    pub fn new(settings: &AuthSettings) -> Result<Authenticator, AuthError> {
        let mut options = ResolverOpts::default();
        options.timeout = settings.timeout;
        options.attempts = settings.attempts.max(1);
        let inner = match settings.upstream {
            Some(addr) => {
                let mut udp = ConnectionConfig::udp();
                udp.port = addr.port();
                let mut tcp = ConnectionConfig::tcp();
                tcp.port = addr.port();
                let server = NameServerConfig::new(addr.ip(), true, vec![udp, tcp]);
                MessageAuthenticator::new(ResolverConfig::from_name_servers(vec![server]), options)
            }
            None => MessageAuthenticator::new_system_conf(),
        };
        Ok(Authenticator {
            inner: inner.map_err(|e| AuthError(e.to_string()))?,
            hostname: settings.hostname.clone(),
        })
    }

    /// Checks SPF, every DKIM signature and DMARC for `message` received in `session`.
    /// Never fails: DNS trouble is `temperror`, a message that does not parse has no
    /// signatures and no From domain.
    pub async fn verify(&self, session: Session<'_>, message: &[u8]) -> AuthFacts {
        let helo = session.helo;
        let spf = self
            .inner
            .verify_spf(SpfParameters::verify_mail_from(
                session.client,
                helo,
                &self.hostname,
                session.mail_from,
            ))
            .await;
        let mut results = AuthenticationResults::new(&self.hostname);
        let Some(parsed) = AuthenticatedMessage::parse(message) else {
            results =
                results.with_spf_mailfrom_result(&spf, session.client, session.mail_from, helo);
            return AuthFacts {
                spf: spf_name(&spf.result()),
                dkim: "none",
                dmarc: "none",
                arc: "none",
                dmarc_policy: None,
                header_value: results.to_string(),
            };
        };
        let dkim = self.inner.verify_dkim(&parsed).await;
        let arc = self.inner.verify_arc(&parsed).await;
        let mail_from_domain = session.mail_from.rsplit_once('@').map_or(helo, |(_, d)| d);
        let dmarc = self
            .inner
            .verify_dmarc(DmarcParameters::new(&parsed, &dkim, mail_from_domain, &spf))
            .await;
        let header_from = parsed.from.first().map_or("", String::as_str);
        results = results
            .with_dkim_results(&dkim, header_from)
            .with_spf_mailfrom_result(&spf, session.client, session.mail_from, helo)
            .with_arc_result(&arc, session.client)
            .with_dmarc_result(&dmarc);
        AuthFacts {
            spf: spf_name(&spf.result()),
            dkim: dkim_name(&dkim),
            dmarc: dmarc_name(&dmarc.result()),
            arc: arc_name(arc.result()),
            dmarc_policy: dmarc.dmarc_record().map(|_| policy_name(dmarc.policy())),
            header_value: results.to_string(),
        }
    }
}

fn spf_name(r: &SpfResult) -> &'static str {
    match r {
        SpfResult::Pass => "pass",
        SpfResult::Fail => "fail",
        SpfResult::SoftFail => "softfail",
        SpfResult::Neutral => "neutral",
        SpfResult::TempError => "temperror",
        SpfResult::PermError => "permerror",
        SpfResult::None => "none",
    }
}

/// RFC 6376 §6.1: each signature has its own result; one that passes authenticates the
/// message's signing domain. Otherwise report the most telling failure.
fn dkim_name(outputs: &[DkimOutput<'_>]) -> &'static str {
    let rank = |r: &DkimResult| match r {
        DkimResult::Pass => (0, "pass"),
        DkimResult::Fail(_) => (1, "fail"),
        DkimResult::PermError(_) => (2, "permerror"),
        DkimResult::TempError(_) => (3, "temperror"),
        DkimResult::Neutral(_) => (4, "neutral"),
        DkimResult::None => (5, "none"),
    };
    outputs
        .iter()
        .map(|o| rank(o.result()))
        .min_by_key(|(r, _)| *r)
        .map_or("none", |(_, n)| n)
}

/// RFC 8617 §4.4.3: `none`, `pass` or `fail`; mail-auth reports a chain with structural
/// errors as `neutral`, which is a failure of the chain here.
fn arc_name(r: &DkimResult) -> &'static str {
    match r {
        DkimResult::Pass => "pass",
        DkimResult::None => "none",
        DkimResult::TempError(_) => "temperror",
        DkimResult::PermError(_) => "permerror",
        DkimResult::Fail(_) | DkimResult::Neutral(_) => "fail",
    }
}

fn dmarc_name(r: &DmarcResult) -> &'static str {
    match r {
        DmarcResult::Pass => "pass",
        DmarcResult::Fail(_) => "fail",
        DmarcResult::TempError(_) => "temperror",
        DmarcResult::PermError(_) => "permerror",
        DmarcResult::None => "none",
    }
}

fn policy_name(p: Policy) -> &'static str {
    match p {
        Policy::Reject => "reject",
        Policy::Quarantine => "quarantine",
        Policy::None | Policy::Unspecified => "none",
    }
}
