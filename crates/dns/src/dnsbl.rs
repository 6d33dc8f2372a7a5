//! DNS block and allow list look-ups (DNSBL/DNSWL, RFC 5782).
//!
//! A list is a DNS zone: an address or domain is "listed" when the query name built from it
//! under the zone has A records (conventionally in `127.0.0.0/8`, RFC 5782 §2.1), and an
//! optional TXT record at the same name says why. Which return codes count is the policy's
//! business (calm-policy filters them); this module only builds names and asks.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};

use hickory_resolver::proto::rr::RData;

use crate::{DnsError, Resolver, classify, dns_name};

/// What is looked up in a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DnsblSubject<'a> {
    /// An IP address (the client's): reversed octets or nibbles under the zone.
    Ip(IpAddr),
    /// A domain name (the sender domain, the HELO name): the name itself under the zone.
    Domain(&'a str),
}

/// The query name for `subject` in the list `zone`, without a trailing dot.
///
/// - IPv4 (RFC 5782 §2.1): `192.0.2.1` in `zen.example` is `1.2.0.192.zen.example`.
///   IPv4-mapped IPv6 addresses (`::ffff:192.0.2.1`) are looked up as IPv4.
/// - IPv6 (RFC 5782 §2.4): the 32 nibbles, least significant first, dot-separated.
/// - Domain (RFC 5782 §2.3): `spam.example` in `dbl.example` is `spam.example.dbl.example`,
///   lowercased, without trailing dots.
///
/// A zone or domain that does not make a valid DNS name is [`DnsError::BadName`].
pub fn dnsbl_query_name(zone: &str, subject: DnsblSubject<'_>) -> Result<String, DnsError> {
    let zone = zone.trim_end_matches('.');
    let prefix = match subject {
        DnsblSubject::Ip(ip) => reversed(ip),
        DnsblSubject::Domain(d) => d.trim_end_matches('.').to_ascii_lowercase(),
    };
    let name = format!("{prefix}.{}", zone.to_ascii_lowercase());
    if zone.is_empty() || prefix.is_empty() {
        return Err(DnsError::BadName {
            name,
            reason: "empty zone or subject".into(),
        });
    }
    // Validates length (RFC 1035 §2.3.4: labels ≤ 63, names ≤ 255 octets) and characters.
    dns_name(&name)?;
    Ok(name)
}

/// The reversed form of `ip` used as a DNSBL query prefix.
fn reversed(ip: IpAddr) -> String {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            format!("{d}.{c}.{b}.{a}")
        }
        IpAddr::V6(v6) => {
            let mut out = String::with_capacity(63);
            for byte in v6.octets().iter().rev() {
                // Low nibble first: RFC 5782 §2.4 (same order as ip6.arpa, RFC 3596 §2.5).
                let _ = write!(out, "{:x}.{:x}.", byte & 0x0f, byte >> 4);
            }
            out.pop();
            out
        }
    }
}

impl Resolver {
    /// The A records of `subject`'s query name in the list `zone` (RFC 5782 §2.1): empty when
    /// the name does not exist or has no A record (not listed). A timeout or SERVFAIL is
    /// [`DnsError::Temporary`]; the caller decides what that means (calm counts it as "not
    /// listed" by default and logs it).
    pub async fn dnsbl(
        &self,
        zone: &str,
        subject: DnsblSubject<'_>,
    ) -> Result<Vec<Ipv4Addr>, DnsError> {
        let text = dnsbl_query_name(zone, subject)?;
        let name = dns_name(&text)?;
        match self.inner.ipv4_lookup(name).await {
            Ok(lookup) => Ok(lookup
                .answers()
                .iter()
                .filter_map(|r| match &r.data {
                    RData::A(a) => Some(a.0),
                    _ => None,
                })
                .collect()),
            Err(e) => match classify(&text, e) {
                DnsError::NoSuchDomain { .. } | DnsError::NoAddress { .. } => Ok(Vec::new()),
                other => Err(other),
            },
        }
    }

    /// The TXT record at `subject`'s query name in `zone`: the list's reason for listing it
    /// (RFC 5782 §2.1), its character-strings joined; `None` when there is none.
    pub async fn dnsbl_reason(
        &self,
        zone: &str,
        subject: DnsblSubject<'_>,
    ) -> Result<Option<String>, DnsError> {
        let text = dnsbl_query_name(zone, subject)?;
        let name = dns_name(&text)?;
        match self.inner.txt_lookup(name).await {
            Ok(lookup) => Ok(lookup.answers().iter().find_map(|r| match &r.data {
                RData::TXT(txt) => Some(
                    txt.txt_data
                        .iter()
                        .map(|s| String::from_utf8_lossy(s))
                        .collect::<String>(),
                ),
                _ => None,
            })),
            Err(e) => match classify(&text, e) {
                DnsError::NoSuchDomain { .. } | DnsError::NoAddress { .. } => Ok(None),
                other => Err(other),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv6Addr;

    use super::*;
    use crate::test_server::{TestDnsServer, Zone};

    fn ip(s: &str) -> DnsblSubject<'static> {
        DnsblSubject::Ip(s.parse().unwrap())
    }

    #[test]
    fn ipv4_is_reversed_by_octet() {
        assert_eq!(
            dnsbl_query_name("zen.example", ip("192.0.2.1")).unwrap(),
            "1.2.0.192.zen.example"
        );
        // Trailing dot and case in the zone do not matter.
        assert_eq!(
            dnsbl_query_name("ZEN.example.", ip("10.20.30.40")).unwrap(),
            "40.30.20.10.zen.example"
        );
        // RFC 4291 §2.5.5.2: a mapped address is the IPv4 client.
        assert_eq!(
            dnsbl_query_name("zen.example", ip("::ffff:192.0.2.1")).unwrap(),
            "1.2.0.192.zen.example"
        );
    }

    #[test]
    fn ipv6_is_reversed_by_nibble() {
        // RFC 5782 §2.4's example address.
        let name = dnsbl_query_name("bl.example", ip("2001:db8:1:2:3:4:567:89ab")).unwrap();
        assert_eq!(
            name,
            "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.bl.example"
        );
        let name = dnsbl_query_name("bl.example", DnsblSubject::Ip(Ipv6Addr::LOCALHOST.into()));
        let name = name.unwrap();
        assert!(name.starts_with("1.0.0.0."), "{name}");
        assert_eq!(name.split('.').count(), 32 + 2);
    }

    #[test]
    fn domains_are_prefixed_and_validated() {
        assert_eq!(
            dnsbl_query_name("dbl.example", DnsblSubject::Domain("Spam.Example.")).unwrap(),
            "spam.example.dbl.example"
        );
        for bad in ["", "a..b", &"x".repeat(64), "sp am.example"] {
            let err = dnsbl_query_name("dbl.example", DnsblSubject::Domain(bad)).unwrap_err();
            assert!(matches!(err, DnsError::BadName { .. }), "{bad:?}: {err}");
        }
        let long = format!("{}.example", vec!["a".repeat(60); 4].join("."));
        assert!(dnsbl_query_name("dbl.example", DnsblSubject::Domain(&long)).is_err());
        assert!(dnsbl_query_name("", ip("192.0.2.1")).is_err());
    }

    #[tokio::test]
    async fn lookups_against_a_fake_list() {
        let zone = Zone::new("bl.test")
            .a("2.0.0.127.bl.test", Ipv4Addr::new(127, 0, 0, 2))
            .a("2.0.0.127.bl.test", Ipv4Addr::new(127, 0, 0, 4))
            .txt("2.0.0.127.bl.test", "listed: see https://bl.test/127.0.0.2")
            .a("spam.example.bl.test", Ipv4Addr::new(127, 0, 1, 2))
            .a(
                &dnsbl_query_name("bl.test", ip("2001:db8::1")).unwrap(),
                Ipv4Addr::new(127, 0, 0, 3),
            );
        let dns = TestDnsServer::start(vec![zone]).await.unwrap();
        let r = Resolver::new(&dns.settings()).unwrap();
        let mut codes = r.dnsbl("bl.test", ip("127.0.0.2")).await.unwrap();
        codes.sort();
        assert_eq!(
            codes,
            [Ipv4Addr::new(127, 0, 0, 2), Ipv4Addr::new(127, 0, 0, 4)]
        );
        let reason = r.dnsbl_reason("bl.test", ip("127.0.0.2")).await.unwrap();
        assert_eq!(
            reason.as_deref(),
            Some("listed: see https://bl.test/127.0.0.2")
        );
        assert!(
            r.dnsbl("bl.test", ip("127.0.0.1"))
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            r.dnsbl_reason("bl.test", ip("127.0.0.1")).await.unwrap(),
            None
        );
        let d = r
            .dnsbl("bl.test", DnsblSubject::Domain("SPAM.example"))
            .await;
        assert_eq!(d.unwrap(), [Ipv4Addr::new(127, 0, 1, 2)]);
        let v6 = r.dnsbl("bl.test", ip("2001:db8::1")).await.unwrap();
        assert_eq!(v6, [Ipv4Addr::new(127, 0, 0, 3)]);
    }

    #[tokio::test]
    async fn an_unreachable_list_is_a_temporary_error() {
        // Nothing listens on this port: the look-up times out, which is not "not listed".
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let settings = crate::ResolverSettings {
            upstream: Some(sock.local_addr().unwrap()),
            timeout: std::time::Duration::from_millis(200),
            attempts: 1,
        };
        let r = Resolver::new(&settings).unwrap();
        let err = r.dnsbl("bl.test", ip("127.0.0.2")).await.unwrap_err();
        assert!(matches!(err, DnsError::Temporary { .. }), "{err}");
        assert!(!err.is_permanent());
    }
}
