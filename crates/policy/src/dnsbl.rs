//! DNS block and allow lists (DNSBL/DNSWL, RFC 5782) as policy facts.
//!
//! The policy declares its lists (`[dnsbl.NAME]`, `[dnswl.NAME]`); the caller asks
//! [`crate::Policy::dnsbl_queries`] what to look up, looks each up (calm-dns), and passes the
//! A records it got back as [`DnsblAnswer`]s in [`crate::Facts::dnsbl`]. Which return codes
//! mean "listed" is decided here, from the list's `codes`, so a list's odd answers (such as
//! the `127.255.255.x` error codes some lists return to public resolvers) are the policy's
//! business and visible in the file.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

use crate::facts::{Facts, Sender};

/// What a list is asked about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DnsblTarget {
    /// The client's IP address (reversed octets or nibbles under the zone).
    Client,
    /// The `MAIL FROM` domain.
    SenderDomain,
    /// The HELO/EHLO name.
    Helo,
}

impl DnsblTarget {
    /// `client`, `sender_domain` or `helo`, as in the policy file.
    pub fn as_str(self) -> &'static str {
        match self {
            DnsblTarget::Client => "client",
            DnsblTarget::SenderDomain => "sender_domain",
            DnsblTarget::Helo => "helo",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<DnsblTarget> {
        [
            DnsblTarget::Client,
            DnsblTarget::SenderDomain,
            DnsblTarget::Helo,
        ]
        .into_iter()
        .find(|t| t.as_str() == s)
    }
}

impl fmt::Display for DnsblTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A block list (`[dnsbl.NAME]`) or an allow list (`[dnswl.NAME]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DnsListKind {
    /// Being listed is bad: its weight adds to `dnsbl_score`.
    Block,
    /// Being listed is good: its weight is taken off `dnsbl_score`.
    Allow,
}

impl DnsListKind {
    /// `dnsbl` or `dnswl`.
    pub fn as_str(self) -> &'static str {
        match self {
            DnsListKind::Block => "dnsbl",
            DnsListKind::Allow => "dnswl",
        }
    }
}

/// One look-up the policy needs: ask `zone` about the session's `target`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsblQuery {
    /// The list's name in the policy (the key of its answer).
    pub name: String,
    /// The list's DNS zone, e.g. `zen.example`.
    pub zone: String,
    /// What to look up.
    pub target: DnsblTarget,
    /// Block or allow list.
    pub kind: DnsListKind,
}

/// The thing to look up for a [`DnsblQuery`] in a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DnsblSubject<'a> {
    /// An address: reverse it under the zone (RFC 5782 §2.1, §2.4).
    Ip(IpAddr),
    /// A domain: prefix it to the zone (RFC 5782 §2.3).
    Domain(&'a str),
}

impl DnsblQuery {
    /// What to look up for this query given what is known of the session, or `None` when
    /// there is nothing to look up yet (no HELO, no `MAIL FROM`), or nothing sensible: the null
    /// sender, an address-literal HELO (RFC 5321 §4.1.3), or a name without a dot.
    pub fn subject<'a>(&self, facts: &Facts<'a>) -> Option<DnsblSubject<'a>> {
        let domain = |d: &'a str| {
            let d = d.trim_end_matches('.');
            (d.contains('.') && !d.starts_with('[')).then_some(DnsblSubject::Domain(d))
        };
        match self.target {
            DnsblTarget::Client => Some(DnsblSubject::Ip(facts.client_ip())),
            DnsblTarget::Helo => facts.helo.and_then(domain),
            DnsblTarget::SenderDomain => match facts.sender? {
                Sender::Null => None,
                Sender::Address(a) => a.rsplit_once('@').and_then(|(_, d)| domain(d)),
            },
        }
    }
}

/// The answer of one list, by name. A list missing from [`crate::Facts::dnsbl`] was not
/// looked up, and its checks are undecided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsblAnswer {
    /// The list's name ([`DnsblQuery::name`]).
    pub name: String,
    /// The A records of the query name; empty when the name does not exist (not listed).
    pub codes: Vec<Ipv4Addr>,
    /// The look-up failed (timeout, SERVFAIL). The list's `on_failure` decides whether it
    /// counts as not listed (the default) or makes its checks undecided. Log it either way.
    pub failed: bool,
}

impl DnsblAnswer {
    /// An answer with these return codes (empty: not listed).
    pub fn new(name: impl Into<String>, codes: Vec<Ipv4Addr>) -> DnsblAnswer {
        DnsblAnswer {
            name: name.into(),
            codes,
            failed: false,
        }
    }

    /// A look-up that timed out or failed.
    pub fn failed(name: impl Into<String>) -> DnsblAnswer {
        DnsblAnswer {
            name: name.into(),
            codes: Vec::new(),
            failed: true,
        }
    }
}

/// What a failed look-up means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OnFailure {
    NotListed,
    Undecided,
}

/// A declared list, loaded.
#[derive(Clone, Debug)]
pub(crate) struct DnsList {
    pub(crate) name: String,
    pub(crate) line: usize,
    pub(crate) zone: String,
    pub(crate) target: DnsblTarget,
    pub(crate) kind: DnsListKind,
    pub(crate) weight: f64,
    /// Inclusive ranges of return codes that mean "listed".
    pub(crate) codes: Vec<(Ipv4Addr, Ipv4Addr)>,
    pub(crate) on_failure: OnFailure,
}

/// Without `codes`: RFC 5782 §2.1 answers are in 127.0.0.0/8 and 127.0.0.1 is never a
/// listing; 127.255.255.x are the error codes some lists give to open resolvers.
pub(crate) const DEFAULT_CODES: (Ipv4Addr, Ipv4Addr) = (
    Ipv4Addr::new(127, 0, 0, 2),
    Ipv4Addr::new(127, 255, 254, 255),
);

/// A list's verdict on one session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Listing {
    Listed,
    NotListed,
    /// Not looked up, or failed with `on_failure = "undecided"`.
    Undecided(&'static str),
}

const NOT_LOOKED_UP: &str = "the DNS list was not looked up";
const LOOKUP_FAILED: &str = "the DNS list look-up failed (on_failure = \"undecided\")";

impl DnsList {
    /// A client list in `NAME.example` with the default codes, weight 1.
    #[cfg(test)]
    pub(crate) fn example(name: &str, kind: DnsListKind) -> DnsList {
        DnsList {
            name: name.to_owned(),
            line: 1,
            zone: format!("{name}.example"),
            target: DnsblTarget::Client,
            kind,
            weight: 1.0,
            codes: vec![DEFAULT_CODES],
            on_failure: OnFailure::NotListed,
        }
    }

    pub(crate) fn query(&self) -> DnsblQuery {
        DnsblQuery {
            name: self.name.clone(),
            zone: self.zone.clone(),
            target: self.target,
            kind: self.kind,
        }
    }

    /// Whether `code` is one of the return codes that mean "listed".
    pub(crate) fn counts(&self, code: Ipv4Addr) -> bool {
        self.codes
            .iter()
            .any(|(lo, hi)| (*lo..=*hi).contains(&code))
    }

    fn answer<'f>(&self, facts: &'f Facts<'_>) -> Option<&'f DnsblAnswer> {
        facts.dnsbl?.iter().find(|a| a.name == self.name)
    }

    pub(crate) fn listing(&self, facts: &Facts<'_>) -> Listing {
        match self.answer(facts) {
            None => Listing::Undecided(NOT_LOOKED_UP),
            Some(a) if a.failed => match self.on_failure {
                OnFailure::NotListed => Listing::NotListed,
                OnFailure::Undecided => Listing::Undecided(LOOKUP_FAILED),
            },
            Some(a) if a.codes.iter().any(|c| self.counts(*c)) => Listing::Listed,
            Some(_) => Listing::NotListed,
        }
    }

    /// `NAME=127.0.0.2,127.0.0.4`, `NAME=not listed`, `NAME=failed` or `NAME=?`, for traces.
    pub(crate) fn describe(&self, facts: &Facts<'_>) -> String {
        let what = match self.answer(facts) {
            None => "?".to_owned(),
            Some(a) if a.failed => "failed".to_owned(),
            Some(a) if a.codes.is_empty() => "not listed".to_owned(),
            Some(a) => a
                .codes
                .iter()
                .map(|c| {
                    let mark = if self.counts(*c) { "" } else { " (ignored)" };
                    format!("{c}{mark}")
                })
                .collect::<Vec<_>>()
                .join(","),
        };
        format!("{}={what}", self.name)
    }
}

/// The sum of the weights of the block lists that list the session, minus those of the allow
/// lists that do; `None` when no list was looked up at all.
pub(crate) fn score(lists: &[DnsList], facts: &Facts<'_>) -> Option<f64> {
    facts.dnsbl?;
    let total = lists
        .iter()
        .filter(|l| l.listing(facts) == Listing::Listed)
        .map(|l| match l.kind {
            DnsListKind::Block => l.weight,
            DnsListKind::Allow => -l.weight,
        })
        .sum();
    Some(total)
}

/// Parses a return-code filter: `127.0.0.2`, `127.0.0.4-127.0.0.7` or `127.0.0.0/24`.
pub(crate) fn parse_codes(text: &str) -> Result<(Ipv4Addr, Ipv4Addr), String> {
    let bad = || {
        format!("bad return code `{text}`: use an IPv4 address, a range `A-B` or a network `A/N`")
    };
    let text = text.trim();
    if let Some((lo, hi)) = text.split_once('-') {
        let lo: Ipv4Addr = lo.trim().parse().map_err(|_| bad())?;
        let hi: Ipv4Addr = hi.trim().parse().map_err(|_| bad())?;
        return if lo <= hi {
            Ok((lo, hi))
        } else {
            Err(format!("return code range `{text}` is backwards"))
        };
    }
    if text.contains('/') {
        let net: ipnet::Ipv4Net = text.parse().map_err(|_| bad())?;
        return Ok((net.network(), net.broadcast()));
    }
    let ip: Ipv4Addr = text.parse().map_err(|_| bad())?;
    Ok((ip, ip))
}

/// Checks a list's zone: a DNS name of letters, digits, `-` and `.` (RFC 1035 §2.3.1).
pub(crate) fn check_zone(zone: &str) -> Result<(), String> {
    let z = zone.trim_end_matches('.');
    // The longest query name is an IPv6 address's 64 octets of nibbles plus the zone.
    let ok = !z.is_empty()
        && z.len() <= 180
        && z.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "bad zone `{zone}`: use a DNS name such as `bl.example.org`"
        ))
    }
}

#[cfg(test)]
mod tests;
