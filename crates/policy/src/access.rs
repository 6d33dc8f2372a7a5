//! Postfix-style `access` tables (access(5)): `key action` lines, looked up by client
//! address or name, HELO name, sender, sender domain or recipient.
//!
//! File format, as Postfix's `postmap` reads it: `#` starts a comment line, blank lines are
//! ignored, and a line that starts with whitespace continues the previous one. The key is the
//! first word (case-insensitive), the value the rest of the line. Keys may be an e-mail
//! address, `user@`, a domain (matches the domain and its subdomains), `.domain` (subdomains
//! only), an IP address, a Postfix-style truncated IPv4 address (`192.0.2` matches the /24)
//! or a CIDR network (`192.0.2.0/24`, `2001:db8::/32`).

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use ipnet::IpNet;

use crate::action::AccessAction;
use crate::error::Problem;
use crate::facts::canonical_ip;

/// Largest map file read, so a wrong path (a disk image, a log) fails fast.
pub(crate) const MAX_MAP_BYTES: usize = 64 * 1024 * 1024;

/// One entry of a map.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Entry {
    /// The key as normalised (lowercase, canonical address or network).
    pub(crate) key: String,
    /// The right-hand side, trimmed (may be empty in maps used only as lists).
    pub(crate) value: String,
    /// Line of the entry in the map file.
    pub(crate) line: usize,
    /// The parsed action, for maps used by `access_*` checks.
    pub(crate) action: Option<AccessAction>,
}

impl Entry {
    /// `DUNNO`: the key counts as absent.
    pub(crate) fn is_dunno(&self) -> bool {
        matches!(self.action, Some(AccessAction::Dunno)) || self.value.eq_ignore_ascii_case("dunno")
    }
}

/// A loaded map.
#[derive(Clone, Debug)]
pub(crate) struct AccessMap {
    /// The name the policy gives it.
    pub(crate) name: String,
    /// The file it was read from.
    pub(crate) path: PathBuf,
    /// Line of its declaration in the policy file.
    pub(crate) decl_line: usize,
    exact: HashMap<String, Entry>,
    /// CIDR entries, most specific first.
    nets: Vec<(IpNet, Entry)>,
}

impl AccessMap {
    /// Parses map file `path`; mistakes name the map file and line.
    pub(crate) fn parse(
        name: &str,
        path: &Path,
        decl_line: usize,
        bytes: &[u8],
    ) -> Result<AccessMap, Vec<Problem>> {
        let mut map = AccessMap {
            name: name.to_owned(),
            path: path.to_owned(),
            decl_line,
            exact: HashMap::new(),
            nets: Vec::new(),
        };
        let mut problems = Vec::new();
        for (line, text) in logical_lines(path, bytes, &mut problems) {
            if let Err(message) = map.add(line, &text) {
                problems.push(Problem::new(path, Some(line), message));
            }
        }
        map.nets
            .sort_by_key(|(net, _)| std::cmp::Reverse(net.prefix_len()));
        if problems.is_empty() {
            Ok(map)
        } else {
            Err(problems)
        }
    }

    fn add(&mut self, line: usize, text: &str) -> Result<(), String> {
        let (key, value) = match text.split_once(char::is_whitespace) {
            Some((k, v)) => (k, v.trim()),
            None => (text, ""),
        };
        let entry = |key: String| Entry {
            key,
            value: value.to_owned(),
            line,
            action: None,
        };
        if key.contains('/') {
            let net: IpNet = key
                .parse()
                .map_err(|_| format!("`{key}` is neither an address nor a CIDR network"))?;
            let net = net.trunc();
            if let Some((_, first)) = self.nets.iter().find(|(n, _)| *n == net) {
                return Err(format!(
                    "duplicate key `{key}` (first at line {})",
                    first.line
                ));
            }
            self.nets.push((net, entry(net.to_string())));
            return Ok(());
        }
        let key = normalise_key(key);
        if let Some(first) = self.exact.get(&key) {
            return Err(format!(
                "duplicate key `{key}` (first at line {})",
                first.line
            ));
        }
        self.exact.insert(key.clone(), entry(key));
        Ok(())
    }

    /// Parses every value as an access action (for maps used by `access_*` checks).
    pub(crate) fn parse_actions(&mut self) -> Vec<Problem> {
        let mut problems = Vec::new();
        let entries = self
            .exact
            .values_mut()
            .chain(self.nets.iter_mut().map(|(_, e)| e));
        for e in entries {
            match AccessAction::parse(&e.value) {
                Ok(a) => e.action = Some(a),
                Err(m) => problems.push(Problem::new(
                    &self.path,
                    Some(e.line),
                    format!("`{}`: {m}", e.key),
                )),
            }
        }
        problems.sort_by_key(|p| p.line);
        problems
    }

    /// Every entry, in no particular order.
    pub(crate) fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.exact.values().chain(self.nets.iter().map(|(_, e)| e))
    }

    /// Number of entries.
    pub(crate) fn len(&self) -> usize {
        self.exact.len() + self.nets.len()
    }

    /// Looks up a client: verified host name and parent domains, then the address, then
    /// truncated IPv4 forms, then networks (Postfix `check_client_access` order).
    pub(crate) fn lookup_client(&self, ip: IpAddr, host: Option<&str>) -> Option<&Entry> {
        if let Some(e) = host.and_then(|h| self.lookup_domain(h)) {
            return Some(e);
        }
        let ip = canonical_ip(ip);
        if let Some(e) = self.exact.get(&ip.to_string()) {
            return Some(e);
        }
        if let IpAddr::V4(v4) = ip {
            let o = v4.octets();
            let forms = [
                format!("{}.{}.{}", o[0], o[1], o[2]),
                format!("{}.{}", o[0], o[1]),
                o[0].to_string(),
            ];
            if let Some(e) = forms.iter().find_map(|k| self.exact.get(k)) {
                return Some(e);
            }
        }
        self.nets
            .iter()
            .find(|(n, _)| n.contains(&ip))
            .map(|(_, e)| e)
    }

    /// Looks up a domain: itself, then each parent as `.parent` and `parent`.
    pub(crate) fn lookup_domain(&self, domain: &str) -> Option<&Entry> {
        let domain = domain.trim_end_matches('.').to_ascii_lowercase();
        if let Some(e) = self.exact.get(&domain) {
            return Some(e);
        }
        if domain.starts_with('[') {
            return None;
        }
        let mut rest = domain.as_str();
        while let Some((_, parent)) = rest.split_once('.') {
            let dotted = format!(".{parent}");
            if let Some(e) = self.exact.get(&dotted).or_else(|| self.exact.get(parent)) {
                return Some(e);
            }
            rest = parent;
        }
        None
    }

    /// Looks up an address: `user@domain`, then the domain as [`AccessMap::lookup_domain`],
    /// then `user@` (Postfix order). The null sender is looked up as `<>`.
    pub(crate) fn lookup_address(&self, address: &str) -> Option<&Entry> {
        let full = address.to_ascii_lowercase();
        if let Some(e) = self.exact.get(&full) {
            return Some(e);
        }
        let (user, domain) = full.rsplit_once('@')?;
        self.lookup_domain(domain)
            .or_else(|| self.exact.get(&format!("{user}@")))
    }
}

/// Lowercase; addresses in canonical form so `::FFFF:192.0.2.1` and `192.0.2.1` agree.
fn normalise_key(key: &str) -> String {
    match key.parse::<IpAddr>() {
        Ok(ip) => canonical_ip(ip).to_string(),
        Err(_) => key.to_ascii_lowercase(),
    }
}

/// The logical lines of a Postfix table: comments and blank lines dropped, continuation
/// lines joined (postmap(1)). Returns (first physical line, text).
pub(crate) fn logical_lines(
    path: &Path,
    bytes: &[u8],
    problems: &mut Vec<Problem>,
) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = i + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let Ok(text) = std::str::from_utf8(raw) else {
            problems.push(Problem::new(path, Some(line), "not valid UTF-8"));
            continue;
        };
        if text.contains('\0') {
            problems.push(Problem::new(path, Some(line), "contains a NUL byte"));
            continue;
        }
        let trimmed = text.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if text.starts_with(char::is_whitespace) {
            match out.last_mut() {
                Some((_, prev)) => {
                    prev.push(' ');
                    prev.push_str(trimmed);
                }
                None => problems.push(Problem::new(
                    path,
                    Some(line),
                    "continuation line (starts with whitespace) with nothing to continue",
                )),
            }
            continue;
        }
        out.push((line, trimmed.to_owned()));
    }
    out
}

#[cfg(test)]
mod tests;
