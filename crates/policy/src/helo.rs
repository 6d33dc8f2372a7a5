//! HELO/EHLO sanity: the argument's syntax (RFC 5321 §4.1.1.1 and §4.1.3), whether it is a
//! fully qualified name, whether it claims to be us, and whether an address literal matches
//! the client.

use std::net::IpAddr;

use crate::facts::canonical_ip;

/// RFC 1035 §2.3.4: a name is at most 255 octets.
const MAX_NAME: usize = 255;
/// RFC 1035 §2.3.4: a label is at most 63 octets.
const MAX_LABEL: usize = 63;

/// What a HELO argument is.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Helo {
    /// A syntactically valid domain; `fqdn` when it has at least two labels.
    Domain { fqdn: bool },
    /// `[192.0.2.1]` or `[IPv6:2001:db8::1]` (RFC 5321 §4.1.3).
    Literal(IpAddr),
    /// Anything else: bad characters, empty labels, a bare IP address, an unclosed bracket.
    Invalid,
}

/// Classifies a HELO argument.
pub(crate) fn classify(helo: &str) -> Helo {
    if let Some(inner) = helo.strip_prefix('[') {
        return match inner.strip_suffix(']').and_then(literal) {
            Some(ip) => Helo::Literal(ip),
            None => Helo::Invalid,
        };
    }
    if helo.is_empty() || helo.len() > MAX_NAME {
        return Helo::Invalid;
    }
    let labels: Vec<&str> = helo.split('.').collect();
    if !labels.iter().all(|l| valid_label(l)) {
        return Helo::Invalid;
    }
    // A bare address like 192.0.2.1 must be written as a literal; a numeric top-level label
    // is never a real name (RFC 3696 §2).
    let tld_numeric = labels
        .last()
        .is_some_and(|l| l.bytes().all(|b| b.is_ascii_digit()));
    if tld_numeric {
        return Helo::Invalid;
    }
    Helo::Domain {
        fqdn: labels.len() >= 2,
    }
}

/// RFC 5321 §4.1.2 `sub-domain = Let-dig [Ldh-str]`. Underscores are tolerated: many
/// Windows hosts use them, and the point is spotting bots, not pedantry.
fn valid_label(label: &str) -> bool {
    let b = label.as_bytes();
    let ok = |c: &u8| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'_';
    !b.is_empty()
        && b.len() <= MAX_LABEL
        && b.iter().all(ok)
        && b.first().is_some_and(|c| *c != b'-')
        && b.last().is_some_and(|c| *c != b'-')
}

/// The address of `192.0.2.1` or `IPv6:2001:db8::1` (RFC 5321 §4.1.3).
fn literal(inner: &str) -> Option<IpAddr> {
    let prefix = inner.get(..5);
    if prefix.is_some_and(|p| p.eq_ignore_ascii_case("ipv6:")) {
        return inner
            .get(5..)?
            .parse::<std::net::Ipv6Addr>()
            .ok()
            .map(IpAddr::V6);
    }
    inner.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

/// The argument names this host or one of our domains.
pub(crate) fn is_ours(helo: &str, hostname: &str, local_domains: &[String]) -> bool {
    let helo = helo.trim_end_matches('.');
    (!hostname.is_empty() && helo.eq_ignore_ascii_case(hostname))
        || local_domains.iter().any(|d| helo.eq_ignore_ascii_case(d))
}

/// An address literal that is not the client's address.
pub(crate) fn literal_mismatch(helo: &str, client: IpAddr) -> bool {
    match classify(helo) {
        Helo::Literal(ip) => canonical_ip(ip) != canonical_ip(client),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn classification() {
        assert_eq!(classify("mail.example.com"), Helo::Domain { fqdn: true });
        assert_eq!(classify("my_pc.corp.example"), Helo::Domain { fqdn: true });
        assert_eq!(classify("localhost"), Helo::Domain { fqdn: false });
        assert_eq!(
            classify("[192.0.2.1]"),
            Helo::Literal("192.0.2.1".parse().unwrap())
        );
        assert_eq!(
            classify("[IPv6:2001:db8::1]"),
            Helo::Literal("2001:db8::1".parse().unwrap())
        );
        for bad in [
            "",
            "192.0.2.1",
            "a..b",
            "-a.example",
            "a-.example",
            "a b",
            "[192.0.2.1",
            "[2001:db8::1]",
            "[ipv6:nope]",
            "[]",
            "é.example",
            ".example",
            "example.",
        ] {
            assert_eq!(classify(bad), Helo::Invalid, "{bad:?}");
        }
        assert_eq!(classify(&"a".repeat(64)), Helo::Invalid);
        assert_eq!(
            classify(&format!("{}.example", "a.".repeat(130))),
            Helo::Invalid
        );
    }

    #[test]
    fn ours_and_literals() {
        let domains = vec!["example.test".to_string()];
        assert!(is_ours("MX.example.test", "mx.example.test", &domains));
        assert!(is_ours("example.test.", "mx.example.test", &domains));
        assert!(!is_ours("other.example", "mx.example.test", &domains));
        assert!(!is_ours("", "", &[]));
        let client: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert!(!literal_mismatch("[192.0.2.1]", client));
        assert!(literal_mismatch("[192.0.2.2]", client));
        assert!(!literal_mismatch("host.example", client));
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,300}") {
            let _ = classify(&s);
            let _ = literal_mismatch(&s, "192.0.2.1".parse().unwrap());
        }
    }
}
