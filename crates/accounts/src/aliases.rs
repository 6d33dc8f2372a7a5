//! The aliases file, `/etc/aliases` format as in Postfix's aliases(5).
//!
//! `name: target, target, ...`; continuation lines start with whitespace; `#` comments. Names
//! are local parts and apply to every local domain (like Postfix's `alias_maps` for
//! `mydestination`). A name may be quoted (`"john.smith": john`).

use std::collections::BTreeMap;
use std::path::Path;

use crate::target::{MapTarget, Table, classify};
use crate::{AccountsError, address, lines};

/// Parsed aliases: local part → targets.
#[derive(Clone, Debug, Default)]
pub struct Aliases {
    map: BTreeMap<String, Vec<MapTarget>>,
}

impl Aliases {
    /// Reads and parses the aliases file at `path`.
    pub fn load(path: &Path) -> Result<Aliases, AccountsError> {
        Aliases::from_bytes(path, &lines::read(path)?)
    }

    /// Parses aliases-file contents; `path` is used only in error messages.
    pub fn from_bytes(path: &Path, bytes: &[u8]) -> Result<Aliases, AccountsError> {
        let mut map = BTreeMap::new();
        let mut first_line: BTreeMap<String, usize> = BTreeMap::new();
        for entry in lines::logical(path, bytes)? {
            let fail = |m: String| AccountsError::parse(path, entry.number, m);
            let (name, targets) = parse_entry(&entry.text).map_err(fail)?;
            if let Some(first) = first_line.insert(name.clone(), entry.number) {
                return Err(fail(format!(
                    "duplicate alias {name} (first defined on line {first})"
                )));
            }
            map.insert(name, targets);
        }
        Ok(Aliases { map })
    }

    /// The alias names (lowercased local parts), in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.map.keys().map(String::as_str)
    }

    /// Number of aliases.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when there are no aliases.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The targets of local part `name` (already lowercased).
    pub(crate) fn get(&self, name: &str) -> Option<&[MapTarget]> {
        self.map.get(name).map(Vec::as_slice)
    }
}

/// `name: a, b` → (lowercased name, targets).
fn parse_entry(text: &str) -> Result<(String, Vec<MapTarget>), String> {
    let (name, rest) = split_name(text)?;
    if name.contains('@') {
        return Err(format!(
            "alias name {name} must be a local part; put full addresses in the virtual map"
        ));
    }
    let targets = split_targets(rest)?
        .into_iter()
        .map(|item| classify(unquote(item), Table::Aliases))
        .collect::<Result<Vec<_>, _>>()?;
    if targets.is_empty() {
        return Err(format!("alias {name} has no targets"));
    }
    Ok((address::key(&name), targets))
}

/// Splits off the (possibly quoted) name and the `:`.
fn split_name(text: &str) -> Result<(String, &str), String> {
    let (name, after) = match text.strip_prefix('"') {
        Some(quoted) => {
            let (name, after) = quoted
                .split_once('"')
                .ok_or("unterminated quote in the alias name")?;
            let after = after
                .trim_start()
                .strip_prefix(':')
                .ok_or("missing ':' after the alias name")?;
            (name, after)
        }
        None => {
            let (name, after) = text
                .split_once(':')
                .ok_or("missing ':' after the alias name")?;
            let name = name.trim_end();
            if name.contains(char::is_whitespace) {
                return Err(format!(
                    "alias name {name:?} contains whitespace (quote it)"
                ));
            }
            (name, after)
        }
    };
    if name.is_empty() || name.chars().any(char::is_control) {
        return Err("empty or unprintable alias name".to_owned());
    }
    Ok((name.to_owned(), after))
}

/// Splits at commas outside double quotes; drops empty items (`a, , b` and a trailing comma
/// are harmless).
fn split_targets(rest: &str) -> Result<Vec<&str>, String> {
    let mut items = Vec::new();
    let mut in_quote = false;
    let mut start = 0;
    for (i, c) in rest.char_indices() {
        match c {
            '"' => in_quote = !in_quote,
            ',' if !in_quote => {
                items.push(rest.get(start..i).unwrap_or_default());
                start = i + 1;
            }
            _ => {}
        }
    }
    if in_quote {
        return Err("unterminated quote in the targets".to_owned());
    }
    items.push(rest.get(start..).unwrap_or_default());
    Ok(items
        .into_iter()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect())
}

/// `"x"` → `x`; anything else unchanged.
fn unquote(item: &str) -> &str {
    item.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(item)
}

#[cfg(test)]
mod tests;
