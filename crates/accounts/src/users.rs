//! The users file: Dovecot passwd-file format, read-only view for lookups and logins.
//!
//! `user:password[:uid:gid:gecos:home:shell:extra_fields]`, `#` comments, blank lines. calm
//! reads the first two fields and one extra field, the user's quota (`userdb_quota_rule`, see
//! [`UserQuota`]); the rest are kept byte-for-byte when editing so that the same file can serve
//! Dovecot unchanged.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use crate::password::PasswordHash;
use crate::quota::{self, UserQuota};
use crate::{AccountsError, address, lines};

/// An argon2id hash of 32 random bytes, thrown away after hashing (Python argon2-cffi, same
/// parameters as the hashes calm writes). Verifying against it for an unknown user makes a
/// failed login take as long as a real one, so response time does not reveal who exists.
pub(crate) const DUMMY_HASH: &str = "{ARGON2ID}$argon2id$v=19$m=19456,t=2,p=1$\
                                     OR/zNtvwz19AAI9D42Fd1A$G+mWvsv8kt9Wq7I50YECzqsKGpf4Ybvhmrpq+DB7yH8";

/// One user line of the file, as parsed.
#[derive(Debug)]
pub(crate) struct Entry {
    /// 0-based index of the physical line.
    pub index: usize,
    /// The user address, lowercased: the lookup key and canonical name.
    pub key: String,
    /// The password field.
    pub hash: PasswordHash,
    /// The user's own quota rule, if the extra fields set one.
    pub quota: Option<UserQuota>,
}

/// What calm keeps of a user line.
#[derive(Debug)]
struct Account {
    hash: PasswordHash,
    quota: Option<UserQuota>,
}

/// Parses every line; returns the user lines. Errors name `path:line`.
pub(crate) fn parse_entries(path: &Path, bytes: &[u8]) -> Result<Vec<Entry>, AccountsError> {
    let mut entries: Vec<Entry> = Vec::new();
    let mut first_line: BTreeMap<String, usize> = BTreeMap::new();
    for (number, text) in lines::physical(path, bytes)? {
        if lines::is_ignorable(&text) {
            continue;
        }
        let (key, hash, quota) =
            parse_line(&text).map_err(|m| AccountsError::parse(path, number, m))?;
        if let Some(first) = first_line.insert(key.clone(), number) {
            // Dovecot would silently use the first line; an operator editing by hand most
            // likely meant to replace it, so refuse to guess.
            let message = format!("duplicate user {key} (first defined on line {first})");
            return Err(AccountsError::parse(path, number, message));
        }
        entries.push(Entry {
            index: number - 1,
            key,
            hash,
            quota,
        });
    }
    Ok(entries)
}

/// `user:password[:...]` → (lowercased user, hash, quota).
fn parse_line(text: &str) -> Result<(String, PasswordHash, Option<UserQuota>), String> {
    let mut fields = text.split(':');
    let user = fields.next().unwrap_or_default();
    address::check(user).map_err(|reason| format!("bad user name {user:?}: {reason}"))?;
    // A missing or empty password field leaves the user able to receive mail but not to log in.
    let field = fields.next().unwrap_or_default();
    let hash = PasswordHash::parse(field).map_err(|e| format!("user {user}: {e}"))?;
    let quota = quota::from_line(text).map_err(|e| format!("user {user}: {e}"))?;
    Ok((address::key(user), hash, quota))
}

/// The users of a passwd-file, for lookups and logins. Cheap to clone and share between
/// threads (an `Arc` inside): hand a clone to `spawn_blocking` for [`Users::verify`].
#[derive(Clone, Debug, Default)]
pub struct Users {
    map: Arc<BTreeMap<String, Account>>,
}

impl Users {
    /// Reads and parses the users file at `path`.
    pub fn load(path: &Path) -> Result<Users, AccountsError> {
        Users::from_bytes(path, &lines::read(path)?)
    }

    /// Parses users-file contents; `path` is used only in error messages.
    pub fn from_bytes(path: &Path, bytes: &[u8]) -> Result<Users, AccountsError> {
        let map = parse_entries(path, bytes)?
            .into_iter()
            .map(|e| {
                let account = Account {
                    hash: e.hash,
                    quota: e.quota,
                };
                (e.key, account)
            })
            .collect();
        Ok(Users { map: Arc::new(map) })
    }

    /// Whether `address` (any case) is a user.
    pub fn contains(&self, address: &str) -> bool {
        self.map.contains_key(&address::key(address))
    }

    /// The stored password of `address` (any case).
    pub fn get(&self, address: &str) -> Option<&PasswordHash> {
        self.map.get(&address::key(address)).map(|a| &a.hash)
    }

    /// The quota rule of `address` (any case) from its extra fields; `None` when the user
    /// has none (or is unknown), so the global default applies.
    pub fn quota(&self, address: &str) -> Option<UserQuota> {
        self.map.get(&address::key(address)).and_then(|a| a.quota)
    }

    /// The storage limit in bytes for `address`: its own rule, else `default_bytes`
    /// (0: none). `None` means unlimited.
    pub fn storage_limit(&self, address: &str, default_bytes: u64) -> Option<u64> {
        UserQuota::effective(self.quota(address), default_bytes)
    }

    /// Checks a login. Returns the canonical (lowercased) user address on success.
    ///
    /// Sync and slow by design (run it in `spawn_blocking`). An unknown user, or one whose
    /// login is disabled, costs a dummy argon2id verification, so the time taken does not
    /// reveal whether the user exists.
    pub fn verify(&self, address: &str, password: &str) -> Option<String> {
        let key = address::key(address);
        match self.map.get(&key) {
            Some(Account { hash, .. }) if hash.scheme() != crate::Scheme::Disabled => {
                hash.verify(password).then_some(key)
            }
            _ => {
                let _ = PasswordHash::parse(DUMMY_HASH).map(|dummy| dummy.verify(password));
                None
            }
        }
    }

    /// Every user (canonical address) with its stored password, in address order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &PasswordHash)> {
        self.map.iter().map(|(k, v)| (k.as_str(), &v.hash))
    }

    /// Number of users.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when there are no users.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[cfg(test)]
mod tests;
