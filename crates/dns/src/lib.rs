//! # Brief overview
//!
//! `calm-dns` is calm's DNS for outbound mail: a thin, documented adapter over
//! `hickory-resolver` that answers the one question delivery asks, "which hosts, in which
//! order, accept mail for this domain?", with the RFC 5321 §5.1 and RFC 7505 rules applied.
//!
//! Key types:
//! - [`Resolver`]: built from [`ResolverSettings`]; the upstream server is configurable (tests
//!   point it at a DNS server on `127.0.0.1:PORT`), otherwise the system's `/etc/resolv.conf`.
//! - [`Resolver::mail_exchangers`]: MX hosts by preference, shuffled among equals, the implicit
//!   MX when there is none, and [`DnsError::NullMx`] for a null MX.
//! - [`order_mx`]: the same ordering without I/O, for unit tests and other callers.
//! - [`Resolver::dnsbl`] and [`Resolver::dnsbl_reason`]: DNSBL/DNSWL look-ups (RFC 5782) of
//!   an address or a domain ([`DnsblSubject`]) in a list zone; [`dnsbl_query_name`] builds the
//!   query name (reversed IPv4 octets, IPv6 nibbles, or the domain) without I/O.
//! - [`DnsError`]: says whether a failure is permanent ([`DnsError::is_permanent`]), which is
//!   what decides between a bounce and a retry.
//! - With the `test-server` feature, `test_server`: an in-process authoritative server.
//!
//! It deliberately does not do SPF/DKIM/DMARC, MTA-STS or DANE lookups (later layers),
//! it does not judge DNSBL return codes (the policy does), and it does not cache beyond what hickory's own cache does.
//!
//! ```no_run
//! # async fn f() -> Result<(), calm_dns::DnsError> {
//! let settings = calm_dns::ResolverSettings {
//!     upstream: Some("127.0.0.1:10053".parse().unwrap()),
//!     ..Default::default()
//! };
//! let resolver = calm_dns::Resolver::new(&settings)?;
//! for mx in resolver.mail_exchangers("example.org").await? {
//!     let ips = resolver.ip_addresses(&mx.exchange).await?;
//!     println!("{} {} {ips:?}", mx.preference, mx.exchange);
//! }
//! # Ok(()) }
//! ```

mod dnsbl;
mod mx;
#[cfg(any(test, feature = "test-server"))]
pub mod test_server;

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{
    ConnectionConfig, LookupIpStrategy, NameServerConfig, ResolverConfig,
};
use hickory_resolver::net::NetError;
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::{Name, RData};

pub use dnsbl::{DnsblSubject, dnsbl_query_name};
pub use mx::{MxHost, implicit_mx, order_mx};

/// Why a lookup did not give hosts to deliver to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DnsError {
    /// RFC 7505: the domain publishes a null MX; it accepts no mail.
    #[error("{domain} does not accept mail (null MX, RFC 7505)")]
    NullMx {
        /// The domain.
        domain: String,
    },
    /// The name does not exist (NXDOMAIN).
    #[error("{name}: no such domain")]
    NoSuchDomain {
        /// The name looked up.
        name: String,
    },
    /// The name exists but has no A or AAAA record.
    #[error("{name}: no address records")]
    NoAddress {
        /// The name looked up.
        name: String,
    },
    /// The name is not a valid DNS name.
    #[error("{name}: not a valid DNS name: {reason}")]
    BadName {
        /// The name.
        name: String,
        /// The parser's complaint.
        reason: String,
    },
    /// A timeout, SERVFAIL or network error: try again later.
    #[error("{name}: temporary DNS failure: {reason}")]
    Temporary {
        /// The name looked up.
        name: String,
        /// What went wrong.
        reason: String,
    },
    /// The resolver could not be configured (no usable system configuration).
    #[error("DNS resolver setup: {0}")]
    Setup(String),
}

impl DnsError {
    /// True when retrying cannot help: the mail should bounce (RFC 5321 §5.1: a domain that
    /// does not exist, or accepts no mail, is a permanent failure).
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            DnsError::NullMx { .. }
                | DnsError::NoSuchDomain { .. }
                | DnsError::NoAddress { .. }
                | DnsError::BadName { .. }
        )
    }
}

/// How to reach DNS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolverSettings {
    /// The recursive server to ask (UDP, with TCP for truncated answers). `None` reads the
    /// system configuration (`/etc/resolv.conf`).
    pub upstream: Option<SocketAddr>,
    /// How long to wait for one answer.
    pub timeout: Duration,
    /// How many times to ask before giving up (a temporary failure).
    pub attempts: usize,
}

impl Default for ResolverSettings {
    fn default() -> Self {
        ResolverSettings {
            upstream: None,
            timeout: Duration::from_secs(5),
            attempts: 2,
        }
    }
}

/// The resolver. Cheap to clone; clones share one cache.
#[derive(Clone)]
pub struct Resolver {
    inner: TokioResolver,
}

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Resolver")
    }
}

impl Resolver {
    /// Builds a resolver. Must be called inside a tokio runtime.
    pub fn new(settings: &ResolverSettings) -> Result<Resolver, DnsError> {
        let provider = TokioRuntimeProvider::default();
        let mut builder = match settings.upstream {
            Some(addr) => {
                let mut udp = ConnectionConfig::udp();
                udp.port = addr.port();
                let mut tcp = ConnectionConfig::tcp();
                tcp.port = addr.port();
                let server = NameServerConfig::new(addr.ip(), true, vec![udp, tcp]);
                let config = ResolverConfig::from_name_servers(vec![server]);
                TokioResolver::builder_with_config(config, provider)
            }
            None => TokioResolver::builder(provider).map_err(|e| DnsError::Setup(e.to_string()))?,
        };
        let options = builder.options_mut();
        options.timeout = settings.timeout;
        options.attempts = settings.attempts.max(1);
        // Both families, IPv4 first: most MX hosts answer on IPv4, and AAAA is still tried.
        options.ip_strategy = LookupIpStrategy::Ipv4AndIpv6;
        let inner = builder
            .build()
            .map_err(|e| DnsError::Setup(e.to_string()))?;
        Ok(Resolver { inner })
    }

    /// The hosts to try for `domain`, best first (RFC 5321 §5.1).
    ///
    /// No MX records gives the implicit MX (the domain itself); its addresses are checked by
    /// [`Resolver::ip_addresses`] when connecting. A null MX, a domain that does not exist, or a
    /// name that is not a domain are permanent errors.
    pub async fn mail_exchangers(&self, domain: &str) -> Result<Vec<MxHost>, DnsError> {
        let name = dns_name(domain)?;
        let lookup = match self.inner.mx_lookup(name).await {
            Ok(lookup) => lookup,
            Err(e) => {
                return match classify(domain, e) {
                    // RFC 5321 §5.1: "If an empty list of MXs is returned, the address is
                    // treated as if it was associated with an implicit MX RR".
                    DnsError::NoAddress { .. } => Ok(vec![implicit_mx(domain)]),
                    other => Err(other),
                };
            }
        };
        let records: Vec<(u16, String)> = lookup
            .answers()
            .iter()
            .filter_map(|r| match &r.data {
                RData::MX(mx) => Some((mx.preference, mx.exchange.to_ascii())),
                _ => None,
            })
            .collect();
        if records.is_empty() {
            return Ok(vec![implicit_mx(domain)]);
        }
        order_mx(domain, &records, &mut rand::rng())
    }

    /// The A and AAAA addresses of `host` (IPv4 first). An IP address given as text is
    /// returned as is.
    pub async fn ip_addresses(&self, host: &str) -> Result<Vec<IpAddr>, DnsError> {
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(vec![ip]);
        }
        let name = dns_name(host)?;
        let lookup = self
            .inner
            .lookup_ip(name)
            .await
            .map_err(|e| classify(host, e))?;
        let ips: Vec<IpAddr> = lookup.iter().collect();
        if ips.is_empty() {
            return Err(DnsError::NoAddress {
                name: host.to_owned(),
            });
        }
        Ok(ips)
    }
}

impl Resolver {
    /// The PTR names of `ip` (RFC 1035 §3.5), without the trailing dot; empty when there are
    /// none (a missing PTR is an answer, not a failure).
    pub async fn reverse_names(&self, ip: IpAddr) -> Result<Vec<String>, DnsError> {
        match self.inner.reverse_lookup(ip).await {
            Ok(lookup) => Ok(lookup
                .answers()
                .iter()
                .filter_map(|r| match &r.data {
                    RData::PTR(ptr) => Some(ptr.0.to_ascii().trim_end_matches('.').to_owned()),
                    _ => None,
                })
                .collect()),
            Err(e) => match classify(&ip.to_string(), e) {
                DnsError::NoAddress { .. } | DnsError::NoSuchDomain { .. } => Ok(Vec::new()),
                other => Err(other),
            },
        }
    }

    /// Whether mail could be sent back to `domain`: it has a (non-null) MX, or an A/AAAA
    /// record (RFC 5321 §5.1). `Err` only for a temporary failure (no answer).
    pub async fn domain_resolves(&self, domain: &str) -> Result<bool, DnsError> {
        match self.mail_exchangers(domain).await {
            Ok(hosts) if hosts.iter().any(|h| h.implicit) => {
                match self.ip_addresses(domain).await {
                    Ok(ips) => Ok(!ips.is_empty()),
                    Err(e) if e.is_permanent() => Ok(false),
                    Err(e) => Err(e),
                }
            }
            Ok(hosts) => Ok(!hosts.is_empty()),
            Err(e) if e.is_permanent() => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// `name` as an absolute DNS name, so the resolver never appends a search domain (RFC 5321
/// §5.1: the names looked up are fully qualified).
fn dns_name(name: &str) -> Result<Name, DnsError> {
    let bad = |reason: String| DnsError::BadName {
        name: name.to_owned(),
        reason,
    };
    let trimmed = name.trim_end_matches('.');
    if trimmed.is_empty() {
        return Err(bad("empty name".into()));
    }
    let mut parsed = Name::from_utf8(trimmed).map_err(|e| bad(e.to_string()))?;
    parsed.set_fqdn(true);
    Ok(parsed)
}

/// Maps hickory's error to ours. NXDOMAIN and an empty answer are answers, not failures.
fn classify(name: &str, e: NetError) -> DnsError {
    let name = name.to_owned();
    if e.is_nx_domain() {
        DnsError::NoSuchDomain { name }
    } else if e.is_no_records_found() {
        DnsError::NoAddress { name }
    } else {
        DnsError::Temporary {
            name,
            reason: e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests;
