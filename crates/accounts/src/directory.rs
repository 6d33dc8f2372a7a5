//! The directory: users, aliases and the virtual map together, answering "who gets mail for
//! this address", "is this login right" and "may this user send as that address".

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use crate::target::{MapTarget, Table, classify};
use crate::{AccountsError, Aliases, Users, VirtualMap, address, resolve};

/// Settings for a [`Directory`], from calm's configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DirectorySettings {
    /// Domains we receive mail for (any case); aliases apply to these. Domains with a
    /// virtual-map key are local too, but only users and the virtual map serve them.
    pub local_domains: Vec<String>,
    /// Sub-address separator (`+` makes `bob+tag@d` reach `bob@d`), like Postfix's
    /// `recipient_delimiter`. `None` turns sub-addressing off.
    pub subaddress_separator: Option<char>,
    /// Last-resort catch-all per domain: domain → target address (or a bare local part in that
    /// domain). Tried after the virtual map's `@domain` catch-all.
    pub catch_all: BTreeMap<String, String>,
}

/// Where mail for one address goes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// Deliver to this user's mailbox (canonical, lowercased user address).
    Mailbox(String),
    /// Relay to this remote address (local part as written in the map, domain lowercased).
    Forward(String),
}

/// The answer to [`Directory::resolve`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolution {
    /// The domain is not ours (and no virtual key rewrites the address): relay rules apply.
    NotLocal,
    /// A local domain, but nobody receives mail at this address: RFC 5321 §3.3 550 at RCPT.
    Unknown,
    /// Deliver to these targets (never empty; deduplicated ignoring case, in first-seen order).
    Deliver(Vec<Target>),
    /// The address matched, but its expansion is broken (a loop, a dead end, too deep or too
    /// wide). This is a configuration fault, not the sender's: a temporary failure (RFC 3463
    /// 4.3.0, or 5.4.6 for a loop) lets mail wait while the operator fixes it.
    Failed(ResolveError),
}

/// Why an expansion failed; see [`Resolution::Failed`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveError {
    /// Alias/virtual entries form a cycle through `address`.
    #[error("alias loop through {address}")]
    Loop {
        /// An address met twice on one expansion path.
        address: String,
    },
    /// The chain of aliases is deeper than calm follows.
    #[error("alias chain too deep at {address}")]
    TooDeep {
        /// Where the limit was hit.
        address: String,
    },
    /// The expansion yields more targets than allowed.
    #[error("expansion yields more than {limit} targets")]
    TooManyTargets {
        /// The limit.
        limit: usize,
    },
    /// An entry points at a local address that is nobody.
    #[error("{address} expands to {target}, which is not a user, alias or virtual address")]
    UnknownTarget {
        /// The entry being expanded.
        address: String,
        /// The target that leads nowhere.
        target: String,
    },
}

/// Users, aliases, virtual map and settings, loaded once and shared. Cloning is cheap (an
/// `Arc`), so a clone can go to `spawn_blocking` for [`Directory::authenticate`].
#[derive(Clone, Debug)]
pub struct Directory {
    inner: Arc<Inner>,
}

/// The shared state; `resolve.rs` reads it.
#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) users: Users,
    pub(crate) aliases: Aliases,
    pub(crate) virtual_map: VirtualMap,
    pub(crate) local_domains: BTreeSet<String>,
    pub(crate) separator: Option<char>,
    pub(crate) catch_all: BTreeMap<String, MapTarget>,
}

impl Inner {
    pub(crate) fn is_local(&self, domain: &str) -> bool {
        self.local_domains.contains(domain) || self.virtual_map.has_domain(domain)
    }
}

impl Directory {
    /// Loads the users file and, when given, the aliases file and the virtual map.
    pub fn load(
        users: &Path,
        aliases: Option<&Path>,
        virtual_map: Option<&Path>,
        s: DirectorySettings,
    ) -> Result<Directory, AccountsError> {
        let users = Users::load(users)?;
        let aliases = aliases.map(Aliases::load).transpose()?.unwrap_or_default();
        let virtual_map = virtual_map
            .map(VirtualMap::load)
            .transpose()?
            .unwrap_or_default();
        Directory::new(users, aliases, virtual_map, s)
    }

    /// Builds a directory from parts already loaded (for tests, or a reload that parsed the
    /// files first).
    pub fn new(
        users: Users,
        aliases: Aliases,
        virtual_map: VirtualMap,
        s: DirectorySettings,
    ) -> Result<Directory, AccountsError> {
        let mut catch_all = BTreeMap::new();
        for (domain, target) in &s.catch_all {
            let parsed = classify(target, Table::Aliases).map_err(|message| {
                AccountsError::InvalidSetting {
                    setting: "catch_all",
                    message: format!("{domain}: {message}"),
                }
            })?;
            catch_all.insert(address::key(domain), parsed);
        }
        let local_domains = s.local_domains.iter().map(|d| address::key(d)).collect();
        let inner = Inner {
            users,
            aliases,
            virtual_map,
            local_domains,
            separator: s.subaddress_separator,
            catch_all,
        };
        Ok(Directory {
            inner: Arc::new(inner),
        })
    }

    /// The users.
    pub fn users(&self) -> &Users {
        &self.inner.users
    }

    /// Whether we receive mail for `domain`: it is configured local, or the virtual map has a
    /// key in it.
    pub fn is_local_domain(&self, domain: &str) -> bool {
        self.inner.is_local(&address::key(domain))
    }

    /// Where mail for `address` (`local@domain`, any case) goes.
    ///
    /// For a local domain the first match wins: exact virtual key → user → alias (by local
    /// part, configured local domains only) → the same three with the sub-address stripped
    /// (`bob+tag` → `bob`) → virtual `@domain` catch-all → settings catch-all → `Unknown`.
    /// Targets are expanded the same way, recursively; an address that maps to itself (or an
    /// alias target `\name`) is delivered as it is. Loops, dead ends and runaway expansions
    /// give [`Resolution::Failed`]. A non-local domain is `NotLocal` unless a virtual key
    /// rewrites the address.
    pub fn resolve(&self, address: &str) -> Resolution {
        resolve::resolve(&self.inner, &address::key(address))
    }

    /// Checks a login; returns the canonical user address. Sync and slow: run it in
    /// `spawn_blocking`. Unknown users cost as much time as known ones.
    pub fn authenticate(&self, user: &str, password: &str) -> Option<String> {
        self.inner.users.verify(user, password)
    }

    /// May the authenticated `user` send as `address`?
    ///
    /// Yes when `address` is the user's own (sub-addresses included), or when it resolves to a
    /// set of targets that includes the user's mailbox. Deliberately simple: every member of a
    /// group alias owns the alias, and the target of a catch-all owns the whole domain.
    pub fn owns(&self, user: &str, address: &str) -> bool {
        let user = address::key(user);
        let address = address::key(address);
        if address == user {
            return true;
        }
        let stripped = address::split(&address).and_then(|(local, domain)| {
            address::strip_subaddress(local, self.inner.separator)
                .map(|base| format!("{base}@{domain}"))
        });
        if stripped.as_deref() == Some(user.as_str()) {
            return true;
        }
        match self.resolve(&address) {
            Resolution::Deliver(targets) => targets.contains(&Target::Mailbox(user)),
            _ => false,
        }
    }

    /// Configuration problems worth a warning in `calm check`: users nobody can mail, weak
    /// passwords, aliases and virtual entries whose expansion fails, unused catch-alls.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.user_problems(&mut out);
        self.map_problems(&mut out);
        self.catch_all_problems(&mut out);
        out
    }

    fn user_problems(&self, out: &mut Vec<String>) {
        for (user, hash) in self.inner.users.iter() {
            let domain = address::split(user).map_or("", |(_, d)| d);
            if !self.inner.is_local(domain) {
                out.push(format!(
                    "user {user}: {domain} is not a local domain, so no mail reaches this user"
                ));
            }
            if hash.is_weak() {
                out.push(format!(
                    "user {user}: password stored as clear text ({{{}}}); set a new one to \
                     store it hashed",
                    hash.scheme()
                ));
            }
        }
    }

    fn map_problems(&self, out: &mut Vec<String>) {
        // Aliases apply to the configured local domains only (see resolve.rs).
        let domains = &self.inner.local_domains;
        let alias_addresses = self
            .inner
            .aliases
            .names()
            .flat_map(|name| domains.iter().map(move |d| format!("{name}@{d}")));
        let virtual_keys = self.inner.virtual_map.keys().map(str::to_owned);
        for address in alias_addresses.chain(virtual_keys) {
            if let Resolution::Failed(e) = self.resolve(&address) {
                out.push(format!("{address}: {e}"));
            }
        }
    }

    fn catch_all_problems(&self, out: &mut Vec<String>) {
        let inner = &self.inner;
        for (domain, target) in &inner.catch_all {
            if !inner.is_local(domain) {
                out.push(format!(
                    "catch_all for {domain} is never used: {domain} is not a local domain"
                ));
                continue;
            }
            let context = format!("*@{domain}");
            if let Err(e) = resolve::check_targets(inner, &context, std::slice::from_ref(target)) {
                out.push(format!("catch_all for {domain}: {e}"));
            }
        }
        for domain in inner.virtual_map.domains() {
            let Some(targets) = inner.virtual_map.catch_all(domain) else {
                continue;
            };
            if let Err(e) = resolve::check_targets(inner, &format!("*@{domain}"), targets) {
                out.push(format!("virtual @{domain}: {e}"));
            }
        }
    }
}

#[cfg(test)]
mod tests;
