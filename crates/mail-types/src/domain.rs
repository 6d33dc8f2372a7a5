//! [`Domain`]: a validated DNS domain name as it appears in SMTP (RFC 5321 §4.1.2, RFC 6531 §3.3).

use std::fmt;

/// RFC 5321 §4.5.3.1.2: the maximum total length of a domain name is 255 octets.
pub const MAX_DOMAIN_LEN: usize = 255;
/// RFC 1035 §2.3.4: a label is at most 63 octets.
pub const MAX_LABEL_LEN: usize = 63;

/// Why a string is not an acceptable domain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DomainError {
    /// Nothing was given.
    #[error("domain is empty")]
    Empty,
    /// `example.com.`: SMTP domains never carry the root dot (RFC 5321 §2.3.5).
    #[error("domain must not end with a dot")]
    TrailingDot,
    /// `a..b` or `.a`.
    #[error("domain has an empty label")]
    EmptyLabel,
    /// A label over 63 octets.
    #[error("domain label is longer than 63 octets")]
    LabelTooLong,
    /// The whole name is over 255 octets.
    #[error("domain is longer than 255 octets")]
    TooLong,
    /// A label starts or ends with `-`.
    #[error("domain label starts or ends with a hyphen")]
    HyphenAtEdge,
    /// A character that may not appear in a host name.
    #[error("domain contains the invalid character {0:?}")]
    BadCharacter(char),
    /// A non-ASCII (U-label) name while SMTPUTF8 was not negotiated (RFC 6531 §3.2).
    #[error("non-ASCII domain requires SMTPUTF8")]
    Utf8NotAllowed,
}

/// A syntactically valid domain name.
///
/// ASCII letters are stored lowercase, so `==` and hashing are case-insensitive as DNS is
/// (RFC 5321 §2.4). UTF-8 labels (RFC 6531 U-labels) are accepted only when the caller says
/// SMTPUTF8 is in effect; they are kept as given apart from ASCII case folding (no IDNA mapping).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Domain(String);

impl Domain {
    /// Validates `s` as a domain (`sub-domain *("." sub-domain)`, RFC 5321 §4.1.2).
    ///
    /// `utf8` allows U-labels (RFC 6531 §3.3 `sub-domain =/ U-label`).
    pub fn parse(s: &str, utf8: bool) -> Result<Domain, DomainError> {
        if s.is_empty() {
            return Err(DomainError::Empty);
        }
        if s.ends_with('.') {
            return Err(DomainError::TrailingDot);
        }
        if s.len() > MAX_DOMAIN_LEN {
            return Err(DomainError::TooLong);
        }
        for label in s.split('.') {
            check_label(label, utf8)?;
        }
        Ok(Domain(s.to_ascii_lowercase()))
    }

    /// The domain, ASCII-lowercased.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when the name has a non-ASCII (U-label) part and so needs SMTPUTF8.
    pub fn is_utf8(&self) -> bool {
        !self.0.is_ascii()
    }

    /// True if `self` is `other` or a subdomain of it (`a.example.com` is within `example.com`).
    pub fn is_within(&self, other: &Domain) -> bool {
        self.0 == other.0
            || self
                .0
                .strip_suffix(other.0.as_str())
                .is_some_and(|head| head.ends_with('.'))
    }
}

fn check_label(label: &str, utf8: bool) -> Result<(), DomainError> {
    if label.is_empty() {
        return Err(DomainError::EmptyLabel);
    }
    if label.len() > MAX_LABEL_LEN {
        return Err(DomainError::LabelTooLong);
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Err(DomainError::HyphenAtEdge);
    }
    for c in label.chars() {
        if c.is_ascii_alphanumeric() || c == '-' {
            continue;
        }
        if c.is_ascii() || c.is_control() || c.is_whitespace() {
            return Err(DomainError::BadCharacter(c));
        }
        if !utf8 {
            return Err(DomainError::Utf8NotAllowed);
        }
    }
    Ok(())
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Domain {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for Domain {
    type Err = DomainError;
    /// Parses allowing U-labels; use [`Domain::parse`] to forbid them.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Domain::parse(s, true)
    }
}

impl serde::Serialize for Domain {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Domain {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Domain::parse(&s, true).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowercases_ascii_and_compares_case_insensitively() {
        let a = Domain::parse("Example.COM", false).unwrap();
        let b = Domain::parse("example.com", false).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.as_str(), "example.com");
    }

    #[test]
    fn rejects_trailing_dot_plainly() {
        let e = Domain::parse("example.com.", false).unwrap_err();
        assert_eq!(e, DomainError::TrailingDot);
        assert_eq!(e.to_string(), "domain must not end with a dot");
    }

    #[test]
    fn rejects_malformed_names() {
        assert_eq!(Domain::parse("", false), Err(DomainError::Empty));
        assert_eq!(Domain::parse("a..b", false), Err(DomainError::EmptyLabel));
        assert_eq!(Domain::parse(".a", false), Err(DomainError::EmptyLabel));
        assert_eq!(Domain::parse("-a.b", false), Err(DomainError::HyphenAtEdge));
        assert_eq!(Domain::parse("a-.b", false), Err(DomainError::HyphenAtEdge));
        assert_eq!(
            Domain::parse("a_b.c", false),
            Err(DomainError::BadCharacter('_'))
        );
        assert_eq!(
            Domain::parse("a b", false),
            Err(DomainError::BadCharacter(' '))
        );
        assert_eq!(
            Domain::parse("a\0b", false),
            Err(DomainError::BadCharacter('\0'))
        );
        assert_eq!(
            Domain::parse("[1.2.3.4]", false),
            Err(DomainError::BadCharacter('['))
        );
    }

    #[test]
    fn enforces_length_limits() {
        let label63 = "a".repeat(63);
        assert!(Domain::parse(&label63, false).is_ok());
        assert_eq!(
            Domain::parse(&"a".repeat(64), false),
            Err(DomainError::LabelTooLong)
        );
        // 4 * 63 + 3 dots = 255: the longest allowed.
        let max = [label63.as_str(); 4].join(".");
        assert_eq!(max.len(), 255);
        assert!(Domain::parse(&max, false).is_ok());
        assert_eq!(
            Domain::parse(&format!("a{max}"), false),
            Err(DomainError::TooLong)
        );
    }

    #[test]
    fn utf8_only_when_allowed() {
        assert_eq!(
            Domain::parse("bücher.de", false),
            Err(DomainError::Utf8NotAllowed)
        );
        let d = Domain::parse("BÜCHER.de", true).unwrap();
        assert_eq!(d.as_str(), "bÜcher.de", "only ASCII is case-folded");
        assert!(d.is_utf8());
        assert_eq!(
            Domain::parse("a\u{3000}b", true),
            Err(DomainError::BadCharacter('\u{3000}'))
        );
    }

    #[test]
    fn is_within_matches_label_boundaries_only() {
        let parent = Domain::parse("example.com", false).unwrap();
        assert!(
            Domain::parse("a.example.com", false)
                .unwrap()
                .is_within(&parent)
        );
        assert!(parent.is_within(&parent));
        assert!(
            !Domain::parse("badexample.com", false)
                .unwrap()
                .is_within(&parent)
        );
    }

    #[test]
    fn serde_round_trip_and_validation() {
        let d = Domain::parse("example.com", false).unwrap();
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(json, "\"example.com\"");
        assert_eq!(serde_json::from_str::<Domain>(&json).unwrap(), d);
        assert!(serde_json::from_str::<Domain>("\"bad..name\"").is_err());
    }
}
