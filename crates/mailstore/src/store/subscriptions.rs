//! The `subscriptions` file in the Maildir root, in Dovecot's formats: version 1 is one name
//! per line; version 2 starts with `V\t2\n\n` and separates hierarchy levels with TAB,
//! escaping `\x01`, TAB, CR and LF as `\x01` + `1`/`t`/`r`/`n`. calm keeps the version it
//! finds (version 1 for a new file), so Dovecot reads what calm writes and vice versa.

use std::fs::{self, File};
use std::io::{self};

use super::{Store, names};
use crate::error::{Error, IoContext};
use crate::lock;
use crate::mutf7;

const FILE: &str = "subscriptions";
const LOCK: &str = "calm-subscriptions.lock";
const V2_HEADER: &str = "V\t2\n\n";

impl Store {
    /// The subscribed names (RFC 3501 §6.3.6), in file order. Names need not exist.
    pub fn subscriptions(&self) -> Result<Vec<String>, Error> {
        Ok(self.read_subscriptions()?.1)
    }

    /// Adds a name to the subscriptions.
    pub fn subscribe(&self, name: &str) -> Result<(), Error> {
        let name = names::normalize(name)?;
        self.change_subscriptions(|list| {
            if list.contains(&name) {
                return false;
            }
            list.push(name);
            true
        })
    }

    /// Removes a name from the subscriptions (no error if it was not subscribed).
    pub fn unsubscribe(&self, name: &str) -> Result<(), Error> {
        let name = names::normalize(name)?;
        self.change_subscriptions(|list| {
            let before = list.len();
            list.retain(|n| *n != name);
            list.len() != before
        })
    }

    /// After a rename: `from` and the names below it become `to` and the names below it, as
    /// Dovecot does. The client asked for the rename; RFC 3501 §6.3.6 only forbids the server
    /// dropping a subscription on its own.
    pub(super) fn rename_subscriptions(&self, from: &str, to: &str) -> Result<(), Error> {
        self.change_subscriptions(|list| {
            let mut changed = false;
            for name in list.iter_mut() {
                if name == from || names::is_inferior(name, from) {
                    let suffix = name.get(from.len()..).unwrap_or_default();
                    *name = format!("{to}{suffix}");
                    changed = true;
                }
            }
            let mut seen = std::collections::HashSet::new();
            list.retain(|name| seen.insert(name.clone()));
            changed
        })
    }

    fn change_subscriptions(
        &self,
        change: impl FnOnce(&mut Vec<String>) -> bool,
    ) -> Result<(), Error> {
        let _held = lock::exclusive(&self.root.join(LOCK))?;
        let (v2, mut list) = self.read_subscriptions()?;
        if !change(&mut list) {
            return Ok(());
        }
        let mut text = if v2 {
            V2_HEADER.to_owned()
        } else {
            String::new()
        };
        for name in &list {
            text.push_str(&encode_line(name, v2));
            text.push('\n');
        }
        crate::files::replace(&self.root, FILE, text.as_bytes())?;
        File::open(&self.root)
            .and_then(|d| d.sync_all())
            .at(&self.root)
    }

    /// (is version 2, names). Unreadable lines are skipped: a damaged file loses at most
    /// those subscriptions, never the session.
    fn read_subscriptions(&self) -> Result<(bool, Vec<String>), Error> {
        let path = self.root.join(FILE);
        let text = match fs::read(&path) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((false, Vec::new())),
            Err(e) => return Err(Error::io(&path, e)),
        };
        let (v2, body) = match text.strip_prefix(V2_HEADER) {
            Some(body) => (true, body),
            None => (false, text.as_str()),
        };
        let mut list = Vec::new();
        for line in body.lines().filter(|l| !l.is_empty()) {
            if let Some(name) = decode_line(line, v2).and_then(|n| names::normalize(&n).ok())
                && !list.contains(&name)
            {
                list.push(name);
            }
        }
        Ok((v2, list))
    }
}

/// Stored names are in modified UTF-7, as the directory names are.
fn encode_line(name: &str, v2: bool) -> String {
    let stored = mutf7::encode(name);
    if !v2 {
        return stored;
    }
    stored
        .split(names::HIERARCHY_SEPARATOR)
        .map(tab_escape)
        .collect::<Vec<_>>()
        .join("\t")
}

fn decode_line(line: &str, v2: bool) -> Option<String> {
    let stored = if v2 {
        line.split('\t')
            .map(tab_unescape)
            .collect::<Option<Vec<_>>>()?
            .join(".")
    } else {
        line.to_owned()
    };
    // A line that is not valid modified UTF-7 may be a UTF-8 name from a Dovecot configured
    // for UTF-8 storage names; take it as it is.
    Some(mutf7::decode(&stored).unwrap_or(stored))
}

fn tab_escape(level: &str) -> String {
    let mut out = String::with_capacity(level.len());
    for c in level.chars() {
        match c {
            '\x01' => out.push_str("\x011"),
            '\t' => out.push_str("\x01t"),
            '\r' => out.push_str("\x01r"),
            '\n' => out.push_str("\x01n"),
            c => out.push(c),
        }
    }
    out
}

fn tab_unescape(level: &str) -> Option<String> {
    let mut out = String::with_capacity(level.len());
    let mut chars = level.chars();
    while let Some(c) = chars.next() {
        if c != '\x01' {
            out.push(c);
            continue;
        }
        out.push(match chars.next()? {
            '1' => '\x01',
            't' => '\t',
            'r' => '\r',
            'n' => '\n',
            other => other,
        });
    }
    Some(out)
}
