//! The virtual map, Postfix virtual(5) format.
//!
//! `key  target[, target ...]`: whitespace between key and value, targets separated by commas
//! or whitespace, `#` comments, continuation lines start with whitespace. Keys:
//! - `user@domain`: that address;
//! - `@domain`: catch-all for the domain (tried after users, aliases and sub-addressing);
//! - `domain` (no `@`): declares a virtual domain, as in Postfix's "virtual alias domain"
//!   style; the value is ignored ("the right-hand side is not used", virtual(5)).
//!
//! A catch-all may map to `@otherdomain`, which keeps the local part (domain aliasing).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::target::{MapTarget, Table, classify};
use crate::{AccountsError, address, lines};

/// Parsed virtual map.
#[derive(Clone, Debug, Default)]
pub struct VirtualMap {
    exact: BTreeMap<String, Vec<MapTarget>>,
    catch_all: BTreeMap<String, Vec<MapTarget>>,
    domains: BTreeSet<String>,
}

/// The left-hand side of an entry.
enum Key {
    Exact(String),
    CatchAll(String),
    Domain(String),
}

impl VirtualMap {
    /// Reads and parses the virtual map at `path`.
    pub fn load(path: &Path) -> Result<VirtualMap, AccountsError> {
        VirtualMap::from_bytes(path, &lines::read(path)?)
    }

    /// Parses virtual-map contents; `path` is used only in error messages.
    pub fn from_bytes(path: &Path, bytes: &[u8]) -> Result<VirtualMap, AccountsError> {
        let mut map = VirtualMap::default();
        let mut first_line: BTreeMap<String, usize> = BTreeMap::new();
        for entry in lines::logical(path, bytes)? {
            let fail = |m: String| AccountsError::parse(path, entry.number, m);
            let (key, targets) = parse_entry(&entry.text).map_err(fail)?;
            let shown = match &key {
                Key::Exact(k) | Key::Domain(k) => k.clone(),
                Key::CatchAll(d) => format!("@{d}"),
            };
            if let Some(first) = first_line.insert(shown.clone(), entry.number) {
                return Err(fail(format!(
                    "duplicate key {shown} (first defined on line {first})"
                )));
            }
            map.insert(key, targets);
        }
        Ok(map)
    }

    fn insert(&mut self, key: Key, targets: Vec<MapTarget>) {
        match key {
            Key::Exact(k) => {
                if let Some((_, domain)) = address::split(&k) {
                    self.domains.insert(domain.to_owned());
                }
                self.exact.insert(k, targets);
            }
            Key::CatchAll(d) => {
                self.domains.insert(d.clone());
                self.catch_all.insert(d, targets);
            }
            Key::Domain(d) => {
                self.domains.insert(d);
            }
        }
    }

    /// Every domain that appears in a key: these count as local.
    pub fn domains(&self) -> impl Iterator<Item = &str> {
        self.domains.iter().map(String::as_str)
    }

    /// The exact (`user@domain`) keys, lowercased.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.exact.keys().map(String::as_str)
    }

    /// Number of entries with targets (exact keys plus catch-alls).
    pub fn len(&self) -> usize {
        self.exact.len() + self.catch_all.len()
    }

    /// True when the map has no keys at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0 && self.domains.is_empty()
    }

    pub(crate) fn has_domain(&self, domain: &str) -> bool {
        self.domains.contains(domain)
    }

    /// Targets for the exact lowercased address.
    pub(crate) fn exact(&self, key: &str) -> Option<&[MapTarget]> {
        self.exact.get(key).map(Vec::as_slice)
    }

    /// Targets of the `@domain` catch-all.
    pub(crate) fn catch_all(&self, domain: &str) -> Option<&[MapTarget]> {
        self.catch_all.get(domain).map(Vec::as_slice)
    }
}

fn parse_entry(text: &str) -> Result<(Key, Vec<MapTarget>), String> {
    let (raw_key, rest) = text
        .split_once(char::is_whitespace)
        .ok_or_else(|| format!("key {text} has no target (separate them with whitespace)"))?;
    let key = parse_key(raw_key)?;
    let items: Vec<&str> = rest
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .collect();
    if items.is_empty() {
        return Err(format!("key {raw_key} has no target"));
    }
    if let Key::Domain(_) = key {
        return Ok((key, Vec::new()));
    }
    let targets = items
        .into_iter()
        .map(|item| classify(item, Table::Virtual))
        .collect::<Result<Vec<_>, _>>()?;
    let rewrites = targets.iter().any(|t| matches!(t, MapTarget::Domain(_)));
    if rewrites && !matches!(key, Key::CatchAll(_)) {
        return Err(format!(
            "@domain targets only make sense for @domain keys ({raw_key})"
        ));
    }
    Ok((key, targets))
}

fn parse_key(raw: &str) -> Result<Key, String> {
    if raw.chars().any(char::is_control) {
        return Err("key contains control characters".to_owned());
    }
    if let Some(domain) = raw.strip_prefix('@') {
        if domain.is_empty() || domain.contains('@') {
            return Err(format!("key {raw} is not @domain"));
        }
        return Ok(Key::CatchAll(address::key(domain)));
    }
    if raw.contains('@') {
        let (local, domain) =
            address::split(raw).ok_or_else(|| format!("key {raw} is not user@domain"))?;
        return Ok(Key::Exact(address::key(&format!("{local}@{domain}"))));
    }
    if raw.contains('.') {
        return Ok(Key::Domain(address::key(raw)));
    }
    // Postfix matches a bare local part against $myorigin/$mydestination; calm wants it
    // spelled out (or put in the aliases file, which applies to every local domain).
    Err(format!(
        "key {raw} must be user@domain, @domain or a domain name (put bare local parts in the \
         aliases file)"
    ))
}

#[cfg(test)]
mod tests;
