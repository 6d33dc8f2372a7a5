//! Recipient resolution: one address → the mailboxes and remote addresses it delivers to.
//!
//! Order for `local@domain` in a local domain (first hit wins, then its targets are expanded
//! the same way): exact virtual key → user → alias (local part) → the same three with the
//! sub-address stripped (`bob+tag` → `bob`) → virtual `@domain` catch-all → configured
//! catch-all. A non-local domain is delivered as is, unless a virtual key rewrites it.
//!
//! Aliases apply only to the configured local domains, not to domains that are local only
//! because the virtual map names them (as in Postfix, where `alias_maps` serve
//! `mydestination` and not virtual alias domains).

use std::collections::HashSet;

use crate::address;
use crate::directory::{Inner, Resolution, ResolveError, Target};
use crate::target::MapTarget;

/// Deepest alias-of-alias chain we follow. Real configurations nest two or three levels;
/// Postfix allows 1000 (`virtual_alias_recursion_limit`), but a deep chain here is almost
/// certainly a mistake and each level is a stack frame.
pub(crate) const MAX_DEPTH: usize = 32;

/// Most distinct targets one address may expand to, like Postfix's
/// `virtual_alias_expansion_limit` (default 1000).
pub(crate) const MAX_TARGETS: usize = 1000;

/// What one lookup step found for an address.
enum Step<'a> {
    /// Expand these targets in the context of the address.
    Expand(&'a [MapTarget]),
    /// The address is a user.
    Mailbox(String),
    /// The domain is not ours.
    NotLocal,
    /// Local domain, nothing matched.
    NotFound,
}

/// How visiting an address ended, when it did not fail.
enum Visit {
    Done,
    NotLocal,
    NotFound,
}

/// Resolves a (lowercased) address.
pub(crate) fn resolve(dir: &Inner, key: &str) -> Resolution {
    let mut ex = Expander::new(dir);
    match ex.visit(key) {
        Ok(Visit::Done) => Resolution::Deliver(ex.out),
        Ok(Visit::NotLocal) => Resolution::NotLocal,
        Ok(Visit::NotFound) => Resolution::Unknown,
        Err(e) => Resolution::Failed(e),
    }
}

/// Expands `targets` as if `context` (which need not exist) mapped to them; used to check
/// catch-alls, which have no address of their own.
pub(crate) fn check_targets(
    dir: &Inner,
    context: &str,
    targets: &[MapTarget],
) -> Result<(), ResolveError> {
    Expander::new(dir).expand(context, targets)
}

fn lookup<'a>(dir: &'a Inner, key: &str) -> Step<'a> {
    let Some((local, domain)) = address::split(key) else {
        return Step::NotFound;
    };
    // A virtual key comes first, even for a domain that is not otherwise ours.
    if let Some(targets) = dir.virtual_map.exact(key) {
        return Step::Expand(targets);
    }
    if !dir.is_local(domain) {
        return Step::NotLocal;
    }
    if let Some(step) = user_or_alias(dir, key, local, domain) {
        return step;
    }
    if let Some(base) = address::strip_subaddress(local, dir.separator) {
        let base_key = format!("{base}@{domain}");
        if let Some(targets) = dir.virtual_map.exact(&base_key) {
            return Step::Expand(targets);
        }
        if let Some(step) = user_or_alias(dir, &base_key, base, domain) {
            return step;
        }
    }
    if let Some(targets) = dir.virtual_map.catch_all(domain) {
        return Step::Expand(targets);
    }
    match dir.catch_all.get(domain) {
        Some(target) => Step::Expand(std::slice::from_ref(target)),
        None => Step::NotFound,
    }
}

fn user_or_alias<'a>(dir: &'a Inner, key: &str, local: &str, domain: &str) -> Option<Step<'a>> {
    if dir.users.contains(key) {
        return Some(Step::Mailbox(key.to_owned()));
    }
    if !dir.local_domains.contains(domain) {
        return None;
    }
    dir.aliases.get(local).map(Step::Expand)
}

struct Expander<'a> {
    dir: &'a Inner,
    out: Vec<Target>,
    /// Lowercased copies of `out`: `X@remote.test` and `x@remote.test` are delivered once.
    seen: HashSet<Target>,
    /// Addresses fully expanded already: a second path to them adds nothing, and skipping them
    /// keeps a diamond-shaped alias graph from costing exponential time. Any cycle through such
    /// an address was found while it was expanded the first time.
    done: HashSet<String>,
    /// Addresses being expanded, outermost first: meeting one again is a loop.
    path: Vec<String>,
}

impl<'a> Expander<'a> {
    fn new(dir: &'a Inner) -> Self {
        Expander {
            dir,
            out: Vec::new(),
            seen: HashSet::new(),
            done: HashSet::new(),
            path: Vec::new(),
        }
    }

    fn visit(&mut self, key: &str) -> Result<Visit, ResolveError> {
        match lookup(self.dir, key) {
            Step::NotLocal => Ok(Visit::NotLocal),
            Step::NotFound => Ok(Visit::NotFound),
            Step::Mailbox(user) => self.push(Target::Mailbox(user)).map(|()| Visit::Done),
            Step::Expand(targets) => self.expand(key, targets).map(|()| Visit::Done),
        }
    }

    fn expand(&mut self, key: &str, targets: &[MapTarget]) -> Result<(), ResolveError> {
        if self.path.len() >= MAX_DEPTH {
            return Err(ResolveError::TooDeep {
                address: key.to_owned(),
            });
        }
        let (local, domain) = address::split(key).unwrap_or((key, ""));
        self.path.push(key.to_owned());
        for target in targets {
            let next = target.qualify(local, domain);
            self.expand_one(key, target, &next)?;
        }
        self.path.pop();
        Ok(())
    }

    fn expand_one(
        &mut self,
        from: &str,
        target: &MapTarget,
        next: &str,
    ) -> Result<(), ResolveError> {
        let next_key = address::key(next);
        // `bob: \bob, alice` and `bob@x bob@x, alice@y` (an address mapping to itself) mean
        // "deliver to this address as it is", not a loop (Postfix local(8), virtual(5)).
        if matches!(target, MapTarget::NoExpand(_)) || next_key == from {
            return self.terminal(from, &next_key, next);
        }
        if self.path.contains(&next_key) {
            return Err(ResolveError::Loop { address: next_key });
        }
        if self.done.contains(&next_key) {
            return Ok(());
        }
        match self.visit(&next_key)? {
            Visit::Done => {}
            Visit::NotLocal => self.push(Target::Forward(next.to_owned()))?,
            Visit::NotFound => return Err(unknown(from, next_key)),
        }
        self.done.insert(next_key);
        Ok(())
    }

    /// Delivers to `key` without expanding it: a user's mailbox or a remote address.
    fn terminal(&mut self, from: &str, key: &str, original: &str) -> Result<(), ResolveError> {
        let local_domain = address::split(key).is_some_and(|(_, d)| self.dir.is_local(d));
        if !local_domain {
            return self.push(Target::Forward(original.to_owned()));
        }
        if self.dir.users.contains(key) {
            return self.push(Target::Mailbox(key.to_owned()));
        }
        // For a self-reference ("y expands to y"), name the entry that led to y instead.
        let parent = self.path.iter().rev().nth(1).filter(|_| from == key);
        Err(unknown(parent.map_or(from, String::as_str), key.to_owned()))
    }

    fn push(&mut self, target: Target) -> Result<(), ResolveError> {
        let folded = match &target {
            Target::Mailbox(a) => Target::Mailbox(address::key(a)),
            Target::Forward(a) => Target::Forward(address::key(a)),
        };
        if self.seen.insert(folded) {
            self.out.push(target);
        }
        if self.out.len() > MAX_TARGETS {
            return Err(ResolveError::TooManyTargets { limit: MAX_TARGETS });
        }
        Ok(())
    }
}

fn unknown(from: &str, target: String) -> ResolveError {
    ResolveError::UnknownTarget {
        address: from.to_owned(),
        target,
    }
}
