//! [`Address`] and [`ReversePath`]: RFC 5321 §4.1.2 mailboxes as they appear inside `<...>`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::domain::{Domain, DomainError};

/// RFC 5321 §4.5.3.1.1: the maximum length of a local part is 64 octets.
pub const MAX_LOCAL_LEN: usize = 64;
/// RFC 5321 §4.5.3.1.3: a path is at most 256 octets including the angle brackets.
pub const MAX_PATH_LEN: usize = 256;

/// Why a string is not an acceptable mailbox.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AddressError {
    /// Nothing was given.
    #[error("address is empty")]
    Empty,
    /// The path is longer than RFC 5321 §4.5.3.1.3 allows.
    #[error("address is longer than 256 octets")]
    TooLong,
    /// No `@domain` after the local part.
    #[error("address has no @domain part")]
    MissingDomain,
    /// `@domain` with nothing before it.
    #[error("local part is empty")]
    EmptyLocalPart,
    /// The local part is over 64 octets.
    #[error("local part is longer than 64 octets")]
    LocalPartTooLong,
    /// A character or dot placement not allowed in a dot-string or quoted-string.
    #[error("local part is not a valid dot-string or quoted-string")]
    BadLocalPart,
    /// A quoted local part without its closing quote.
    #[error("quoted local part is not terminated")]
    UnterminatedQuote,
    /// A non-ASCII local part while SMTPUTF8 was not negotiated (RFC 6531 §3.2).
    #[error("non-ASCII local part requires SMTPUTF8")]
    Utf8NotAllowed,
    /// The domain part is not a valid domain.
    #[error("invalid domain: {0}")]
    Domain(#[from] DomainError),
    /// `[...]` that is neither an IPv4 nor an `IPv6:` literal.
    #[error("invalid address literal")]
    BadAddressLiteral,
    /// A malformed `@a,@b:` source route prefix.
    #[error("invalid source route")]
    BadSourceRoute,
}

/// The part after `@`: a domain name or an address literal (RFC 5321 §4.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Host {
    /// A domain name.
    Domain(Domain),
    /// `[192.0.2.1]` or `[IPv6:2001:db8::1]`.
    Literal(IpAddr),
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Domain(d) => f.write_str(d.as_str()),
            Host::Literal(IpAddr::V4(ip)) => write!(f, "[{ip}]"),
            Host::Literal(IpAddr::V6(ip)) => write!(f, "[IPv6:{ip}]"),
        }
    }
}

/// A mailbox `local@domain`.
///
/// The local part is kept literally (quotes and backslash escapes removed, case preserved,
/// RFC 5321 §2.4), so `"u@other"@example.com` has local part `u@other`. Relay decisions must be
/// made on [`Address::host`] only, never on `%`, `!` or `@` inside the local part.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address {
    local: String,
    host: Host,
    /// `host` as text, kept so [`Address::domain`] can hand out a `&str`.
    domain: String,
}

impl Address {
    /// Parses the inside of `<...>` (RFC 5321 §4.1.2 `Path` without the brackets).
    ///
    /// A source route (`@a,@b:u@c`) is checked for syntax and dropped, as RFC 5321 §3.6.1 and
    /// Appendix C require, leaving `u@c`. `utf8` allows RFC 6531 non-ASCII local parts and domains.
    pub fn parse(s: &str, utf8: bool) -> Result<Address, AddressError> {
        if s.is_empty() {
            return Err(AddressError::Empty);
        }
        // The two brackets count towards the 256-octet path limit.
        if s.len() + 2 > MAX_PATH_LEN {
            return Err(AddressError::TooLong);
        }
        let mailbox = strip_source_route(s, utf8)?;
        let (local, rest) = parse_local_part(mailbox, utf8)?;
        let host_text = rest.strip_prefix('@').ok_or(AddressError::MissingDomain)?;
        let host = parse_host(host_text, utf8)?;
        Ok(Address::from_parts(local, host))
    }

    /// Builds an address from an unquoted local part and a domain, checking that the local part
    /// can be represented on the wire (printable characters, at most 64 octets).
    pub fn new(local: &str, domain: Domain) -> Result<Address, AddressError> {
        check_local_content(local)?;
        Ok(Address::from_parts(local.to_owned(), Host::Domain(domain)))
    }

    fn from_parts(local: String, host: Host) -> Address {
        let domain = host.to_string();
        Address {
            local,
            host,
            domain,
        }
    }

    /// The local part, unquoted, exactly as the sender wrote it (case preserved).
    pub fn local(&self) -> &str {
        &self.local
    }

    /// The domain (lowercase) or the address literal in canonical form (`[192.0.2.1]`).
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The domain or literal, typed.
    pub fn host(&self) -> &Host {
        &self.host
    }

    /// True for `user@[192.0.2.1]` style addresses.
    pub fn is_ip_literal(&self) -> bool {
        matches!(self.host, Host::Literal(_))
    }

    /// True when the address has non-ASCII characters and so needs SMTPUTF8 (RFC 6531).
    pub fn is_utf8(&self) -> bool {
        !self.local.is_ascii() || !self.domain.is_ascii()
    }
}

/// RFC 5321 §4.1.2 `A-d-l ":"`: drop a source route after checking its syntax.
fn strip_source_route(s: &str, utf8: bool) -> Result<&str, AddressError> {
    if !s.starts_with('@') {
        return Ok(s);
    }
    // Route domains are plain domains, so the first ':' ends the route.
    let (route, mailbox) = s.split_once(':').ok_or(AddressError::BadSourceRoute)?;
    for hop in route.split(',') {
        let name = hop.strip_prefix('@').ok_or(AddressError::BadSourceRoute)?;
        Domain::parse(name, utf8).map_err(|_| AddressError::BadSourceRoute)?;
    }
    Ok(mailbox)
}

/// Returns the unquoted local part and the rest of the input (which should start with `@`).
fn parse_local_part(s: &str, utf8: bool) -> Result<(String, &str), AddressError> {
    let (local, wire_len, rest) = if let Some(quoted) = s.strip_prefix('"') {
        let (content, rest) = parse_quoted(quoted, utf8)?;
        let wire_len = s.len() - rest.len();
        (content, wire_len, rest)
    } else {
        let end = s.find('@').unwrap_or(s.len());
        let (dot_string, rest) = s.split_at(end);
        check_dot_string(dot_string, utf8)?;
        (dot_string.to_owned(), dot_string.len(), rest)
    };
    if local.is_empty() {
        return Err(AddressError::EmptyLocalPart);
    }
    if wire_len > MAX_LOCAL_LEN {
        return Err(AddressError::LocalPartTooLong);
    }
    Ok((local, rest))
}

/// RFC 5321 §4.1.2 `Quoted-string` (after the opening quote), RFC 6531 §3.3 for UTF-8.
fn parse_quoted(s: &str, utf8: bool) -> Result<(String, &str), AddressError> {
    let mut content = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((content, s.get(i + 1..).unwrap_or_default())),
            '\\' => match chars.next() {
                // quoted-pairSMTP = %d92 %d32-126
                Some((_, q)) if (' '..='~').contains(&q) => content.push(q),
                Some(_) => return Err(AddressError::BadLocalPart),
                None => return Err(AddressError::UnterminatedQuote),
            },
            // qtextSMTP = %d32-33 / %d35-91 / %d93-126
            ' '..='~' => content.push(c),
            _ if !c.is_ascii() && !c.is_control() => {
                if !utf8 {
                    return Err(AddressError::Utf8NotAllowed);
                }
                content.push(c);
            }
            _ => return Err(AddressError::BadLocalPart),
        }
    }
    Err(AddressError::UnterminatedQuote)
}

/// RFC 5322 §3.2.3 `atext`, as used by RFC 5321 `Atom`.
fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c)
}

fn check_dot_string(s: &str, utf8: bool) -> Result<(), AddressError> {
    if s.is_empty() {
        return Err(AddressError::EmptyLocalPart);
    }
    for atom in s.split('.') {
        if atom.is_empty() {
            return Err(AddressError::BadLocalPart);
        }
        for c in atom.chars() {
            if is_atext(c) {
                continue;
            }
            if c.is_ascii() || c.is_control() {
                return Err(AddressError::BadLocalPart);
            }
            if !utf8 {
                return Err(AddressError::Utf8NotAllowed);
            }
        }
    }
    Ok(())
}

/// A local part given unquoted: must be printable and short enough once quoted.
fn check_local_content(local: &str) -> Result<(), AddressError> {
    if local.is_empty() {
        return Err(AddressError::EmptyLocalPart);
    }
    if local.chars().any(|c| c.is_control()) {
        return Err(AddressError::BadLocalPart);
    }
    if quoted_local(local).len() > MAX_LOCAL_LEN {
        return Err(AddressError::LocalPartTooLong);
    }
    Ok(())
}

fn parse_host(s: &str, utf8: bool) -> Result<Host, AddressError> {
    let Some(inner) = s.strip_prefix('[') else {
        return Ok(Host::Domain(Domain::parse(s, utf8)?));
    };
    let inner = inner
        .strip_suffix(']')
        .ok_or(AddressError::BadAddressLiteral)?;
    // RFC 5321 §4.1.3: IPv6 literals carry the "IPv6:" tag; ABNF strings are case-insensitive.
    let ip = match inner.get(..5) {
        Some(tag) if tag.eq_ignore_ascii_case("IPv6:") => inner
            .get(5..)
            .and_then(|v6| v6.parse::<Ipv6Addr>().ok())
            .map(IpAddr::V6),
        _ => inner.parse::<Ipv4Addr>().ok().map(IpAddr::V4),
    };
    // General-address-literal (RFC 5321 §4.1.3) has no registered tags we could route to.
    ip.map(Host::Literal).ok_or(AddressError::BadAddressLiteral)
}

/// The wire form of a local part: as-is if it is a dot-string, else a quoted-string.
fn quoted_local(local: &str) -> String {
    if check_dot_string(local, true).is_ok() {
        return local.to_owned();
    }
    let mut out = String::with_capacity(local.len() + 2);
    out.push('"');
    for c in local.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

impl fmt::Display for Address {
    /// The wire form, re-quoting the local part when it is not a dot-string.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", quoted_local(&self.local), self.domain)
    }
}

impl std::str::FromStr for Address {
    type Err = AddressError;
    /// Parses allowing UTF-8; use [`Address::parse`] to forbid it.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Address::parse(s, true)
    }
}

impl serde::Serialize for Address {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Address {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Address::parse(&s, true).map_err(serde::de::Error::custom)
    }
}

/// The argument of `MAIL FROM:` (RFC 5321 §4.1.1.2): a mailbox or the null path `<>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ReversePath {
    /// `<>`: bounces and other notifications (RFC 5321 §4.5.5).
    Null,
    /// A sender mailbox.
    Mailbox(Address),
}

impl ReversePath {
    /// Parses the inside of `<...>`: empty means [`ReversePath::Null`].
    pub fn parse(s: &str, utf8: bool) -> Result<ReversePath, AddressError> {
        if s.is_empty() {
            return Ok(ReversePath::Null);
        }
        Address::parse(s, utf8).map(ReversePath::Mailbox)
    }

    /// The mailbox, unless this is the null path.
    pub fn address(&self) -> Option<&Address> {
        match self {
            ReversePath::Null => None,
            ReversePath::Mailbox(a) => Some(a),
        }
    }
}

impl fmt::Display for ReversePath {
    /// `<>` or `<local@domain>`, as in SMTP and in Postfix-style logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReversePath::Null => f.write_str("<>"),
            ReversePath::Mailbox(a) => write!(f, "<{a}>"),
        }
    }
}

impl serde::Serialize for ReversePath {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for ReversePath {
    /// Accepts `<>`, `<addr>`, a bare `addr` or the empty string.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let inner = s
            .strip_prefix('<')
            .and_then(|r| r.strip_suffix('>'))
            .unwrap_or(&s);
        ReversePath::parse(inner, true).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests;
