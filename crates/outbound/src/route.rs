//! Routes: which transport carries mail for a domain (a Postfix `transport(5)` map, plus
//! calm's `disabled`), and the default relay host.
//!
//! File format, one rule per line, `#` comments:
//!
//! ```text
//! # pattern        transport[:nexthop]      [tls=none|may|encrypt|verify] [auth=NAME]
//! example.com      smtp:[mx.example.com]:2525
//! .example.com     relay:[10.0.0.5]           # every subdomain of example.com
//! old.example.org  relay:[old-mx.internal]:25 tls=encrypt
//! isp.test         relay:[smtp.isp.example]:587 auth=isp
//! local.test       local
//! moving.test      disabled                   # RCPT gets 450: senders retry
//! dead.test        error:this domain is closed
//! *                smtp:                      # the default (Postfix `*`)
//! ```
//!
//! A nexthop in `[brackets]` is a host connected to directly; without brackets its MX records
//! are looked up (Postfix semantics). An empty nexthop means the recipient's domain. Flipping a
//! domain from the old server to calm is one line here and one reload.
//!
//! `auth=NAME` makes calm authenticate to the nexthop (RFC 4954) with the credential `NAME`
//! from the separate credentials file ([`RelayCredentials`], given by
//! [`Routes::with_credentials`]). It implies `tls=encrypt` (a password never travels in
//! clear); `tls=verify` may be added, `tls=none` is refused.

use std::collections::HashMap;
use std::path::Path;

use calm_smtp_proto::{EnhancedCode, Reply};

use crate::credentials::{Credential, RelayCredentials};

/// How a route wants TLS (names as Postfix's `smtp_tls_security_level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsPolicy {
    /// Never STARTTLS.
    None,
    /// STARTTLS when offered, certificate not checked (RFC 7435 opportunistic security);
    /// plaintext when not offered or when the handshake fails.
    #[default]
    May,
    /// STARTTLS required, certificate not checked.
    Encrypt,
    /// STARTTLS required and the certificate must chain to a trusted root and match the host.
    Verify,
}

/// Where mail goes when not to the recipient domain's own MX hosts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextHop {
    /// Host name or IP address; empty means the recipient's domain (an option-only route).
    pub host: String,
    /// Port; `None` means the engine's default (25).
    pub port: Option<u16>,
    /// Look up MX records of `host` (written without brackets) or connect to it directly.
    pub mx_lookup: bool,
    /// TLS policy for this route.
    pub tls: TlsPolicy,
    /// The credential (`auth=NAME`) to authenticate with, by name.
    pub auth: Option<String>,
}

/// What to do with mail for a domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// Delivered locally; the outbound engine does not handle it.
    Local,
    /// Temporarily refused: 450 at RCPT, and queued mail waits (calm extension).
    Disabled,
    /// Refused permanently with this text (Postfix `error:`): queued mail bounces.
    Error(String),
    /// SMTP to the nexthop, or to the recipient domain's MX hosts when `None`.
    Smtp(Option<NextHop>),
}

impl Transport {
    /// The RCPT-time answer the binary should give for this route, if it refuses:
    /// `disabled` is `450 4.3.2` so the sender keeps the message and retries (RFC 5321 §4.2.5).
    pub fn rcpt_refusal(&self) -> Option<Reply> {
        match self {
            Transport::Disabled => Some(Reply::new(
                450,
                Some(EnhancedCode::new(4, 3, 2)),
                "Mail for this domain is temporarily not accepted; try again later",
            )),
            Transport::Error(text) => Some(Reply::new(
                550,
                Some(EnhancedCode::new(5, 1, 2)),
                text.clone(),
            )),
            _ => None,
        }
    }
}

/// A line of the routes file that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct RouteError {
    /// The file (or `<string>`).
    pub file: String,
    /// 1-based line number (0 for the file as a whole).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// The transport map and the default relay host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Routes {
    exact: HashMap<String, Transport>,
    subdomains: HashMap<String, Transport>,
    wildcard: Option<Transport>,
    relay_host: Option<NextHop>,
    credentials: RelayCredentials,
}

impl Routes {
    /// Reads a routes file.
    pub fn load(path: &Path) -> Result<Routes, RouteError> {
        let text = std::fs::read_to_string(path).map_err(|e| RouteError {
            file: path.display().to_string(),
            line: 0,
            message: e.to_string(),
        })?;
        Routes::parse(&text, &path.display().to_string())
    }

    /// Parses routes text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Routes, RouteError> {
        let mut routes = Routes::default();
        for (index, raw) in text.lines().enumerate() {
            let err = |message: String| RouteError {
                file: file.to_owned(),
                line: index + 1,
                message,
            };
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let mut words = line.split_whitespace();
            let (Some(pattern), Some(value)) = (words.next(), words.next()) else {
                return Err(err(format!("expected `pattern transport`, got {line:?}")));
            };
            let options: Vec<&str> = words.collect();
            let transport = parse_transport(value, &options).map_err(err)?;
            routes.insert(pattern, transport).map_err(err)?;
        }
        Ok(routes)
    }

    fn insert(&mut self, pattern: &str, transport: Transport) -> Result<(), String> {
        let pattern = pattern.to_ascii_lowercase();
        if pattern == "*" {
            self.wildcard = Some(transport);
        } else if pattern.contains('@') {
            return Err(format!(
                "{pattern}: address patterns are not supported, only domains"
            ));
        } else if let Some(parent) = pattern.strip_prefix('.') {
            check_domain(parent)?;
            self.subdomains.insert(parent.to_owned(), transport);
        } else {
            check_domain(&pattern)?;
            self.exact.insert(pattern, transport);
        }
        Ok(())
    }

    /// Sets the relay host used for domains no rule matches (Postfix `relayhost`).
    pub fn with_relay_host(mut self, relay: Option<NextHop>) -> Routes {
        self.relay_host = relay;
        self
    }

    /// Sets the credentials that `auth=NAME` options refer to.
    pub fn with_credentials(mut self, credentials: RelayCredentials) -> Routes {
        self.credentials = credentials;
        self
    }

    /// `auth=` names used by a rule or the relay host but absent from the credentials,
    /// sorted (the binary reports them at load; such routes defer their mail).
    pub fn missing_credentials(&self) -> Vec<String> {
        let hops = self
            .exact
            .values()
            .chain(self.subdomains.values())
            .chain(&self.wildcard)
            .filter_map(|t| match t {
                Transport::Smtp(Some(hop)) => Some(hop),
                _ => None,
            })
            .chain(&self.relay_host);
        let mut missing: Vec<String> = hops
            .filter_map(|hop| hop.auth.clone())
            .filter(|name| self.credentials.get(name).is_none())
            .collect();
        missing.sort();
        missing.dedup();
        missing
    }

    /// The credential called `name`.
    pub(crate) fn credential(&self, name: &str) -> Option<&Credential> {
        self.credentials.get(name)
    }

    /// The transport for `domain`: the exact rule, then `.parent` rules from the nearest
    /// parent up, then `*`, then the relay host, then the domain's own MX hosts.
    pub fn lookup(&self, domain: &str) -> Transport {
        let domain = domain.trim_end_matches('.').to_ascii_lowercase();
        if let Some(t) = self.exact.get(&domain) {
            return t.clone();
        }
        let mut rest = domain.as_str();
        while let Some((_, parent)) = rest.split_once('.') {
            if let Some(t) = self.subdomains.get(parent) {
                return t.clone();
            }
            rest = parent;
        }
        if let Some(t) = &self.wildcard {
            return t.clone();
        }
        Transport::Smtp(self.relay_host.clone())
    }

    /// Number of rules (for the operator's summary).
    pub fn len(&self) -> usize {
        self.exact.len() + self.subdomains.len() + usize::from(self.wildcard.is_some())
    }

    /// True when there are no rules.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Domains in the file follow the same rules as in SMTP (UTF-8 labels allowed).
fn check_domain(d: &str) -> Result<(), String> {
    calm_mail_types::Domain::parse(d, true)
        .map(|_| ())
        .map_err(|e| format!("{d}: {e}"))
}

/// `smtp:[host]:port`, `relay:host`, `local`, `disabled`, `error:text`.
fn parse_transport(value: &str, options: &[&str]) -> Result<Transport, String> {
    let (name, nexthop) = value.split_once(':').unwrap_or((value, ""));
    match name.to_ascii_lowercase().as_str() {
        "local" | "virtual" | "lmtp" if nexthop.is_empty() => Ok(Transport::Local),
        "disabled" => Ok(Transport::Disabled),
        // `error:` takes the rest of the line as its text.
        "error" => Ok(Transport::Error(
            std::iter::once(nexthop)
                .chain(options.iter().copied())
                .collect::<Vec<_>>()
                .join(" "),
        )),
        "smtp" | "relay" | "" => {
            let (tls, auth) = parse_options(options)?;
            parse_nexthop(nexthop, tls, auth).map(Transport::Smtp)
        }
        other => Err(format!(
            "unknown transport {other:?} (use smtp, relay, local, disabled or error)"
        )),
    }
}

/// `tls=…` and `auth=NAME`; `auth=` raises `may` to `encrypt` and refuses `none`.
fn parse_options(options: &[&str]) -> Result<(TlsPolicy, Option<String>), String> {
    let mut tls = TlsPolicy::May;
    let mut auth = None;
    for option in options {
        if let Some(name) = option.strip_prefix("auth=") {
            if name.is_empty() {
                return Err("auth= needs a credential name".into());
            }
            auth = Some(name.to_owned());
            continue;
        }
        tls = match *option {
            "tls=none" => TlsPolicy::None,
            "tls=may" => TlsPolicy::May,
            "tls=encrypt" => TlsPolicy::Encrypt,
            "tls=verify" => TlsPolicy::Verify,
            other => return Err(format!("unknown option {other:?}")),
        };
    }
    if auth.is_some() {
        // A password is only ever sent inside TLS.
        tls = match tls {
            TlsPolicy::None => return Err("auth= cannot be combined with tls=none".into()),
            TlsPolicy::May => TlsPolicy::Encrypt,
            other => other,
        };
    }
    Ok((tls, auth))
}

/// `[host]:port`, `[host]`, `host:port`, `host` or empty (the recipient's domain).
fn parse_nexthop(
    text: &str,
    tls: TlsPolicy,
    auth: Option<String>,
) -> Result<Option<NextHop>, String> {
    if text.is_empty() {
        if auth.is_some() {
            // The recipient's MX hosts are whoever DNS says: never hand them a password.
            return Err("auth= needs a nexthop host (relay:[host]:port)".into());
        }
        return Ok((tls != TlsPolicy::May).then(|| NextHop {
            host: String::new(),
            port: None,
            mx_lookup: true,
            tls,
            auth,
        }));
    }
    let (host, port, mx_lookup) = if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("{text}: missing `]`"))?;
        let port = match after {
            "" => None,
            p => Some(parse_port(
                p.strip_prefix(':').ok_or("expected `:port` after `]`")?,
            )?),
        };
        (host, port, false)
    } else {
        match text.rsplit_once(':') {
            Some((host, p)) => (host, Some(parse_port(p)?), true),
            None => (text, None, true),
        }
    };
    if host.parse::<std::net::IpAddr>().is_err() {
        check_domain(host)?;
    }
    Ok(Some(NextHop {
        host: host.to_ascii_lowercase(),
        port,
        mx_lookup,
        tls,
        auth,
    }))
}

fn parse_port(p: &str) -> Result<u16, String> {
    p.parse::<u16>()
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("{p:?} is not a port"))
}

#[cfg(test)]
mod tests;
