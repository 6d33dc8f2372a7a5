//! Ordering of mail exchangers, without I/O (RFC 5321 §5.1, RFC 7505).

use rand::Rng;
use rand::seq::SliceRandom;

use crate::DnsError;

/// One host to try for a domain, in the order [`order_mx`] gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MxHost {
    /// The MX preference (lower is tried first); 0 for an implicit MX.
    pub preference: u16,
    /// The host name to connect to, lowercase, without the root dot.
    pub exchange: String,
    /// True when the domain has no MX records and the domain itself is the host
    /// (RFC 5321 §5.1 "implicit MX").
    pub implicit: bool,
}

/// Orders MX records for delivery.
///
/// - RFC 5321 §5.1: lowest preference first; hosts of equal preference in random order, so
///   load spreads across them.
/// - RFC 7505 §3: a single record whose exchange is the root (`.`) is a null MX: the domain
///   accepts no mail, which is [`DnsError::NullMx`] (a permanent failure).
/// - A `.` exchange mixed with real hosts is a misconfiguration; it is dropped and the real
///   hosts are used.
/// - An empty input gives an empty list: the caller applies the implicit MX rule.
///
/// `records` are `(preference, exchange)` pairs; exchanges may carry a trailing dot.
pub fn order_mx(
    domain: &str,
    records: &[(u16, String)],
    rng: &mut impl Rng,
) -> Result<Vec<MxHost>, DnsError> {
    let is_root = |name: &str| name.is_empty() || name == ".";
    if let [(_, only)] = records
        && is_root(only)
    {
        return Err(DnsError::NullMx {
            domain: domain.to_owned(),
        });
    }
    let mut hosts: Vec<MxHost> = records
        .iter()
        .filter(|(_, name)| !is_root(name))
        .map(|(preference, name)| MxHost {
            preference: *preference,
            exchange: name.trim_end_matches('.').to_ascii_lowercase(),
            implicit: false,
        })
        .collect();
    hosts.shuffle(rng);
    // A stable sort keeps the shuffled order within each preference.
    hosts.sort_by_key(|h| h.preference);
    // A host listed twice is tried once, at its best preference.
    let mut seen = std::collections::HashSet::new();
    hosts.retain(|h| seen.insert(h.exchange.clone()));
    Ok(hosts)
}

/// The implicit MX of `domain` (RFC 5321 §5.1): the domain itself, preference 0.
pub fn implicit_mx(domain: &str) -> MxHost {
    MxHost {
        preference: 0,
        exchange: domain.trim_end_matches('.').to_ascii_lowercase(),
        implicit: true,
    }
}
