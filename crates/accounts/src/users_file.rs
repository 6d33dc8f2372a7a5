//! Editing the users file in place (`calm user add|passwd|delete|list`).

use std::io;
use std::path::{Path, PathBuf};

use crate::password::PasswordHash;
use crate::users::{Entry, parse_entries};
use crate::{AccountsError, address, atomic, quota};

/// A handle on a users file for editing. Each call reads the file, checks that all of it parses,
/// changes one line and replaces the file atomically; every other line (comments, blank lines,
/// extra Dovecot fields) is kept byte-for-byte.
///
/// A missing file reads as empty: `add` creates it with mode 0600.
///
/// Two editors racing on the same file can lose one change (last rename wins); `calm` edits
/// from one CLI invocation at a time.
#[derive(Clone, Debug)]
pub struct UsersFile {
    path: PathBuf,
}

/// The file as text plus its parsed user lines.
struct Loaded {
    text: String,
    entries: Vec<Entry>,
}

impl Loaded {
    fn find(&self, key: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.key == key)
    }
}

impl UsersFile {
    /// A handle on the users file at `path` (nothing is read yet).
    pub fn new(path: impl Into<PathBuf>) -> UsersFile {
        UsersFile { path: path.into() }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The users' canonical (lowercased) addresses, in file order.
    pub fn list(&self) -> Result<Vec<String>, AccountsError> {
        Ok(self.load()?.entries.into_iter().map(|e| e.key).collect())
    }

    /// Appends a user with a new argon2id hash of `password`. The address is stored lowercased.
    pub fn add(&self, address: &str, password: &str) -> Result<(), AccountsError> {
        self.add_line(address, password, "")
    }

    /// Like [`UsersFile::add`], with the user's own storage limit as Dovecot's extra field
    /// `userdb_quota_rule=*:storage=<storage>` (Dovecot units: `512M`, `2G`; a bare number is
    /// kilobytes; `0` is no limit; see [`crate::UserQuota`]).
    pub fn add_with_quota(
        &self,
        address: &str,
        password: &str,
        storage: &str,
    ) -> Result<(), AccountsError> {
        // uid, gid, gecos, home and shell stay empty, as Dovecot allows.
        let extra = format!("::::::userdb_quota_rule=*:storage={storage}");
        if storage.contains(char::is_whitespace) {
            return Err(AccountsError::InvalidSetting {
                setting: "quota",
                message: format!("{storage:?} contains white space"),
            });
        }
        quota::from_line(&format!("{address}:{extra}")).map_err(|message| {
            AccountsError::InvalidSetting {
                setting: "quota",
                message,
            }
        })?;
        self.add_line(address, password, &extra)
    }

    fn add_line(&self, address: &str, password: &str, extra: &str) -> Result<(), AccountsError> {
        address::check(address).map_err(|reason| AccountsError::InvalidAddress {
            address: address.to_owned(),
            reason,
        })?;
        let key = address::key(address);
        let loaded = self.load()?;
        if loaded.find(&key).is_some() {
            return Err(AccountsError::UserExists { address: key });
        }
        let hash = new_hash(password)?;
        let mut text = loaded.text;
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(&format!("{key}:{}{extra}\n", hash.as_stored()));
        atomic::write(&self.path, text.as_bytes())
    }

    /// Replaces the password field of `address`'s line, keeping the rest of the line.
    pub fn passwd(&self, address: &str, password: &str) -> Result<(), AccountsError> {
        let key = address::key(address);
        let loaded = self.load()?;
        let index = loaded
            .find(&key)
            .ok_or(AccountsError::NoSuchUser { address: key })?
            .index;
        let hash = new_hash(password)?;
        let text = rewrite_line(&loaded.text, index, |line| {
            with_password(line, hash.as_stored())
        });
        atomic::write(&self.path, text.as_bytes())
    }

    /// Removes `address`'s line.
    pub fn delete(&self, address: &str) -> Result<(), AccountsError> {
        let key = address::key(address);
        let loaded = self.load()?;
        let index = loaded
            .find(&key)
            .ok_or(AccountsError::NoSuchUser { address: key })?
            .index;
        let text = rewrite_line(&loaded.text, index, |_| String::new());
        atomic::write(&self.path, text.as_bytes())
    }

    fn load(&self) -> Result<Loaded, AccountsError> {
        let bytes = match std::fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(AccountsError::io(&self.path, e)),
        };
        // Refuse to edit a file we cannot fully parse: the error names the bad line, and we
        // never compound a mistake. parse_entries has checked every line is UTF-8.
        let entries = parse_entries(&self.path, &bytes)?;
        let text = String::from_utf8(bytes)
            .map_err(|_| AccountsError::parse(&self.path, 1, "file is not valid UTF-8"))?;
        Ok(Loaded { text, entries })
    }
}

fn new_hash(password: &str) -> Result<PasswordHash, AccountsError> {
    if password.is_empty() {
        return Err(AccountsError::InvalidPassword {
            reason: "the password is empty",
        });
    }
    PasswordHash::generate(password)
}

/// Rebuilds `text` with the line at `index` (terminator included) replaced by `edit(line)`.
/// Line indexes match `lines::physical`: a final newline does not start another line.
fn rewrite_line(text: &str, index: usize, edit: impl FnOnce(&str) -> String) -> String {
    let mut out = String::with_capacity(text.len() + 128);
    let mut edit = Some(edit);
    for (i, line) in text.split_inclusive('\n').enumerate() {
        match edit.take_if(|_| i == index) {
            Some(f) => out.push_str(&f(line)),
            None => out.push_str(line),
        }
    }
    out
}

/// `user:OLD:rest\r\n` → `user:NEW:rest\r\n`; `user` alone gets `:NEW`.
fn with_password(line: &str, stored: &str) -> String {
    let body_len = line.trim_end_matches(['\r', '\n']).len();
    let (body, terminator) = line.split_at(body_len);
    let (user, after_user) = body.split_once(':').unwrap_or((body, ""));
    let rest = after_user
        .find(':')
        .and_then(|at| after_user.get(at..))
        .unwrap_or("");
    format!("{user}:{stored}{rest}{terminator}")
}

#[cfg(test)]
mod tests;
