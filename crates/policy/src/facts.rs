//! [`Facts`]: what the caller knows about the session when it asks for a decision.
//!
//! The engine looks nothing up itself. DNS answers, the recipient's resolution and the
//! message come in as facts; a fact that is `None` was not looked up (or does not exist yet at
//! this stage), and a check that needs it is *unknown*: it neither holds nor fails, so its rule
//! does not fire, and the trace says which fact was missing.

use std::fmt;
use std::net::IpAddr;

pub use calm_config::Role;

use crate::dnsbl::DnsblAnswer;
use crate::verdicts::{AuthResult, DmarcPolicy, Scan};

/// Everything known about the session at the stage being evaluated.
#[derive(Clone, Debug)]
pub struct Facts<'a> {
    /// The client's IP address (IPv4-mapped IPv6 addresses are treated as IPv4).
    pub client: IpAddr,
    /// The role of the listener the client connected to.
    pub listener: Role,
    /// TLS is active (implicit TLS, or after STARTTLS).
    pub tls: bool,
    /// Reverse DNS of the client; `None` when not looked up.
    pub rdns: Option<Rdns<'a>>,
    /// The HELO/EHLO argument, once given.
    pub helo: Option<&'a str>,
    /// The authenticated user, once AUTH succeeded.
    pub auth_user: Option<&'a str>,
    /// The `MAIL FROM` reverse path, once given.
    pub sender: Option<Sender<'a>>,
    /// Whether the authenticated user owns the sender address (the accounts directory's
    /// answer); `None` when not asked.
    pub sender_owned: Option<bool>,
    /// Whether the sender's domain has an MX, A or AAAA record; `None` when not looked up.
    pub sender_domain_resolves: Option<bool>,
    /// Message size in bytes: declared with `SIZE=` at `MAIL` (RFC 1870), actual at `data`.
    /// When `None` at `data`, the length of [`Facts::message`] is used.
    pub size: Option<u64>,
    /// The recipient being decided at the `rcpt` stage.
    pub rcpt: Option<Rcpt<'a>>,
    /// The message (header and body, CRLF line ends) at the `data` stage.
    pub message: Option<&'a [u8]>,
    /// The content score of the message (calm-content's rules and classifier) at `data`;
    /// `None` when not scored.
    pub spam_score: Option<f64>,
    /// The message is the GTUBE test message; `None` when not scored.
    pub gtube: Option<bool>,
    /// The malware scan of the message; `None` when not scanned.
    pub scan: Option<Scan<'a>>,
    /// spamd (SpamAssassin) gave no answer: `Some(true)`; it answered: `Some(false)`; `None`
    /// when it was not asked (not configured, or the message too large for it).
    pub spamd_unavailable: Option<bool>,
    /// SPF result for the `MAIL FROM` identity (RFC 7208 §2.6); `None` when not checked.
    pub spf: Option<AuthResult>,
    /// DKIM result (RFC 6376 §6.1): `pass` when at least one signature verified; `None`
    /// when not checked.
    pub dkim: Option<AuthResult>,
    /// DMARC result for the `From` domain (RFC 7489 §6.6); `None` when not checked.
    pub dmarc: Option<AuthResult>,
    /// ARC chain validation (RFC 8617 §5.2): `pass` when every ARC set verifies, `none`
    /// without ARC headers, else `fail`; `None` when not checked. A pass says the chain is
    /// intact, not that its sealers deserve trust.
    pub arc: Option<AuthResult>,
    /// The policy the `From` domain publishes (RFC 7489 §6.3); `None` when it has no
    /// DMARC record or it was not looked up.
    pub dmarc_policy: Option<DmarcPolicy>,
    /// Answers of the DNS block and allow lists ([`crate::Policy::dnsbl_queries`]); `None`
    /// when none was looked up. A list without an answer here is undecided.
    pub dnsbl: Option<&'a [DnsblAnswer]>,
}

impl<'a> Facts<'a> {
    /// Facts of a fresh connection: everything else unknown.
    pub fn new(client: IpAddr, listener: Role) -> Facts<'a> {
        Facts {
            client,
            listener,
            tls: false,
            rdns: None,
            helo: None,
            auth_user: None,
            sender: None,
            sender_owned: None,
            sender_domain_resolves: None,
            size: None,
            rcpt: None,
            message: None,
            spam_score: None,
            gtube: None,
            scan: None,
            spamd_unavailable: None,
            spf: None,
            dkim: None,
            arc: None,
            dmarc: None,
            dmarc_policy: None,
            dnsbl: None,
        }
    }

    /// The client address with an IPv4-mapped IPv6 address turned into IPv4, so that
    /// `::ffff:192.0.2.1` matches `192.0.2.0/24` (RFC 4291 §2.5.5.2).
    pub fn client_ip(&self) -> IpAddr {
        canonical_ip(self.client)
    }

    /// The sender's domain, lowercase is not guaranteed; `None` for the null sender.
    pub(crate) fn sender_domain(&self) -> Option<&'a str> {
        match self.sender? {
            Sender::Null => None,
            Sender::Address(a) => a.rsplit_once('@').map(|(_, d)| d),
        }
    }

    /// The message size: [`Facts::size`], or the message's length.
    pub(crate) fn message_size(&self) -> Option<u64> {
        self.size.or_else(|| {
            self.message
                .map(|m| u64::try_from(m.len()).unwrap_or(u64::MAX))
        })
    }
}

/// An IPv4-mapped IPv6 address as IPv4; any other address unchanged.
pub(crate) fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The `MAIL FROM` reverse path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sender<'a> {
    /// `MAIL FROM:<>`: a bounce or other notification (RFC 5321 §4.5.5).
    Null,
    /// `local@domain`.
    Address(&'a str),
}

impl fmt::Display for Sender<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Sender::Null => f.write_str("<>"),
            Sender::Address(a) => f.write_str(a),
        }
    }
}

/// What reverse DNS says about the client (RFC 8601 §3 `iprev`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rdns<'a> {
    /// No PTR record.
    Missing,
    /// A PTR name whose A/AAAA records do not include the client address.
    Unconfirmed(&'a str),
    /// A PTR name that resolves back to the client address (forward-confirmed, FCrDNS).
    Confirmed(&'a str),
}

impl<'a> Rdns<'a> {
    /// Forward-confirms the first of `names` whose forward lookup contains `client`.
    /// `forward` answers A/AAAA for a name (from a resolver, or from fixed answers).
    pub fn confirm<F>(client: IpAddr, names: &'a [String], mut forward: F) -> Rdns<'a>
    where
        F: FnMut(&str) -> Vec<IpAddr>,
    {
        let client = canonical_ip(client);
        let mut first = None;
        for name in names {
            if forward(name)
                .into_iter()
                .any(|ip| canonical_ip(ip) == client)
            {
                return Rdns::Confirmed(name);
            }
            first = first.or(Some(name.as_str()));
        }
        first.map_or(Rdns::Missing, Rdns::Unconfirmed)
    }

    /// The PTR name, if any.
    pub fn name(&self) -> Option<&'a str> {
        match *self {
            Rdns::Missing => None,
            Rdns::Unconfirmed(n) | Rdns::Confirmed(n) => Some(n),
        }
    }
}

/// The recipient being decided, and what the accounts directory said about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rcpt<'a> {
    /// The address as given in `RCPT TO`.
    pub address: &'a str,
    /// The directory's answer.
    pub status: RcptStatus<'a>,
    /// The recipient tables the directory had loaded when it answered. A recipient is only
    /// *unknown* for sure when every table the policy requires was consulted.
    pub tables: Tables,
}

/// The accounts directory's answer for a recipient (`calm_accounts::Resolution`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RcptStatus<'a> {
    /// A local user, alias or virtual address that delivers somewhere.
    Known,
    /// A local domain, but no such recipient in the loaded tables.
    Unknown,
    /// Not one of our domains: relaying rules apply.
    Remote,
    /// The expansion is broken (alias loop, too deep): the reason.
    Failed(&'a str),
}

impl RcptStatus<'_> {
    /// `known`, `unknown`, `remote` or `failed`, as in case files and traces.
    pub fn as_str(&self) -> &'static str {
        match self {
            RcptStatus::Known => "known",
            RcptStatus::Unknown => "unknown",
            RcptStatus::Remote => "remote",
            RcptStatus::Failed(_) => "failed",
        }
    }
}

/// A set of recipient tables: users, aliases, virtual map.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Tables(u8);

impl Tables {
    /// No table.
    pub const NONE: Tables = Tables(0);
    /// The users file.
    pub const USERS: Tables = Tables(1);
    /// The aliases file.
    pub const ALIASES: Tables = Tables(2);
    /// The virtual map.
    pub const VIRTUAL: Tables = Tables(4);
    /// All three.
    pub const ALL: Tables = Tables(7);

    const NAMES: [(Tables, &'static str); 3] = [
        (Tables::USERS, "users"),
        (Tables::ALIASES, "aliases"),
        (Tables::VIRTUAL, "virtual"),
    ];

    /// The table called `name` (`users`, `aliases`, `virtual`).
    pub fn parse(name: &str) -> Option<Tables> {
        Tables::NAMES
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(t, _)| *t)
    }

    /// Both sets.
    #[must_use]
    pub const fn union(self, other: Tables) -> Tables {
        Tables(self.0 | other.0)
    }

    /// The tables of `self` that are not in `other`.
    #[must_use]
    pub const fn minus(self, other: Tables) -> Tables {
        Tables(self.0 & !other.0)
    }

    /// Every table of `other` is in `self`.
    pub const fn contains(self, other: Tables) -> bool {
        self.0 & other.0 == other.0
    }

    /// No table at all.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The names of the tables in the set, in a fixed order.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        Tables::NAMES
            .into_iter()
            .filter(move |(t, _)| self.contains(*t))
            .map(|(_, n)| n)
    }
}

impl fmt::Display for Tables {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("none");
        }
        for (i, n) in self.names().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(n)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rdns_confirmation() {
        let client: IpAddr = "192.0.2.1".parse().unwrap();
        let names = vec!["a.example".to_string(), "b.example".to_string()];
        let forward = |n: &str| match n {
            "b.example" => vec!["::ffff:192.0.2.1".parse().unwrap()],
            _ => vec!["192.0.2.9".parse().unwrap()],
        };
        assert_eq!(
            Rdns::confirm(client, &names, forward),
            Rdns::Confirmed("b.example")
        );
        assert_eq!(
            Rdns::confirm(client, &names[..1], forward),
            Rdns::Unconfirmed("a.example")
        );
        assert_eq!(Rdns::confirm(client, &[], forward), Rdns::Missing);
        assert_eq!(Rdns::Confirmed("x").name(), Some("x"));
        assert_eq!(Rdns::Missing.name(), None);
    }

    #[test]
    fn tables_sets() {
        let t = Tables::USERS.union(Tables::VIRTUAL);
        assert!(t.contains(Tables::USERS) && !t.contains(Tables::ALIASES));
        assert_eq!(t.to_string(), "users, virtual");
        assert_eq!(Tables::ALL.minus(t), Tables::ALIASES);
        assert_eq!(Tables::NONE.to_string(), "none");
        assert_eq!(Tables::parse("aliases"), Some(Tables::ALIASES));
        assert_eq!(Tables::parse("ldap"), None);
    }

    #[test]
    fn derived_facts() {
        let mut f = Facts::new("::ffff:10.0.0.1".parse().unwrap(), Role::Mx);
        assert_eq!(f.client_ip().to_string(), "10.0.0.1");
        f.sender = Some(Sender::Address("a@b.example"));
        assert_eq!(f.sender_domain(), Some("b.example"));
        f.sender = Some(Sender::Null);
        assert_eq!(f.sender_domain(), None);
        assert_eq!(Sender::Null.to_string(), "<>");
        f.message = Some(b"12345");
        assert_eq!(f.message_size(), Some(5));
        f.size = Some(9);
        assert_eq!(f.message_size(), Some(9));
        assert_eq!(RcptStatus::Failed("x").as_str(), "failed");
    }
}
