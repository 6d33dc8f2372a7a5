//! The right-hand side of an aliases or virtual entry.

use crate::address;

/// One target of an alias or virtual entry, before resolution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum MapTarget {
    /// `user@domain`, as written but with the domain lowercased (a remote local part may be
    /// case-sensitive, RFC 5321 §2.4).
    Address(String),
    /// `name` (aliases only): a local part in the domain of the address being resolved, since
    /// aliases apply to every local domain.
    Local(String),
    /// `\name` (aliases only): the user `name@domain` itself, with no further alias expansion
    /// (sendmail's and Postfix's idiom for "keep a copy in my own mailbox").
    NoExpand(String),
    /// `@domain` (virtual catch-all only): the same local part in another domain.
    Domain(String),
}

impl MapTarget {
    /// The address this target stands for while resolving `local@domain`.
    pub(crate) fn qualify(&self, local: &str, domain: &str) -> String {
        match self {
            MapTarget::Address(a) => a.clone(),
            MapTarget::Local(name) | MapTarget::NoExpand(name) => format!("{name}@{domain}"),
            MapTarget::Domain(other) => format!("{local}@{other}"),
        }
    }
}

/// Which file a target comes from; the two accept slightly different forms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Table {
    Aliases,
    Virtual,
}

/// Parses one target; the error is a plain sentence for a `file:line:` message.
pub(crate) fn classify(item: &str, table: Table) -> Result<MapTarget, String> {
    let lower = item.to_ascii_lowercase();
    // Postfix's local(8) runs these; calm delivers only to mailboxes and addresses, and says
    // so rather than dropping the target.
    if item.starts_with('|') {
        return Err(format!(
            "pipe targets are not supported by calm ({item}); deliver to a mailbox instead"
        ));
    }
    if item.starts_with('/') {
        return Err(format!("file targets are not supported by calm ({item})"));
    }
    if lower.starts_with(":include:") {
        return Err(format!(
            ":include: targets are not supported by calm ({item}); list the addresses here"
        ));
    }
    if item.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "target {item:?} contains whitespace (separate targets with commas)"
        ));
    }
    if let Some(name) = item.strip_prefix('\\') {
        return match table {
            Table::Aliases if !name.is_empty() && !name.contains('@') => {
                Ok(MapTarget::NoExpand(address::key(name)))
            }
            _ => Err(format!(
                "backslash targets ({item}) are only for local names in the aliases file"
            )),
        };
    }
    qualified_or_local(item, table)
}

fn qualified_or_local(item: &str, table: Table) -> Result<MapTarget, String> {
    if let Some(domain) = item.strip_prefix('@') {
        if domain.is_empty() || domain.contains('@') || table == Table::Aliases {
            return Err(format!("target {item} is not an address"));
        }
        return Ok(MapTarget::Domain(address::key(domain)));
    }
    if item.contains('@') {
        let (local, domain) =
            address::split(item).ok_or_else(|| format!("target {item} is not an address"))?;
        return Ok(MapTarget::Address(format!(
            "{local}@{}",
            address::key(domain)
        )));
    }
    match table {
        Table::Aliases if !item.is_empty() => Ok(MapTarget::Local(address::key(item))),
        // Postfix qualifies a bare name in virtual(5) with $myorigin, which calm has no notion
        // of; asking for the full address avoids silently picking a different domain.
        _ => Err(format!(
            "target {item:?} must be a full address (user@domain) in a virtual map"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsupported_targets_say_why() {
        let err = classify("|/usr/bin/procmail", Table::Aliases).unwrap_err();
        assert!(
            err.contains("pipe targets are not supported by calm"),
            "{err}"
        );
        let err = classify("/var/mail/bob", Table::Aliases).unwrap_err();
        assert!(
            err.contains("file targets are not supported by calm"),
            "{err}"
        );
        let err = classify(":INCLUDE:/etc/list", Table::Aliases).unwrap_err();
        assert!(err.contains(":include: targets are not supported"), "{err}");
        let err = classify("|cmd", Table::Virtual).unwrap_err();
        assert!(err.contains("pipe"), "{err}");
    }

    #[test]
    fn forms_per_table() {
        use MapTarget::*;
        assert_eq!(
            classify("Bob@Example.TEST", Table::Aliases),
            Ok(Address("Bob@example.test".into()))
        );
        assert_eq!(classify("Bob", Table::Aliases), Ok(Local("bob".into())));
        assert_eq!(
            classify("\\Bob", Table::Aliases),
            Ok(NoExpand("bob".into()))
        );
        assert_eq!(
            classify("@Other.test", Table::Virtual),
            Ok(Domain("other.test".into()))
        );
        assert!(classify("bob", Table::Virtual).is_err());
        assert!(classify("\\bob", Table::Virtual).is_err());
        assert!(classify("\\", Table::Aliases).is_err());
        assert!(classify("@other.test", Table::Aliases).is_err());
        assert!(classify("bob@", Table::Aliases).is_err());
        assert!(classify("@", Table::Virtual).is_err());
        assert!(classify("a\tb", Table::Aliases).is_err());
    }

    #[test]
    fn qualify_fills_in_the_resolving_address() {
        let t = MapTarget::Local("bob".into());
        assert_eq!(t.qualify("info", "a.test"), "bob@a.test");
        let t = MapTarget::Domain("b.test".into());
        assert_eq!(t.qualify("info", "a.test"), "info@b.test");
        let t = MapTarget::Address("x@c.test".into());
        assert_eq!(t.qualify("info", "a.test"), "x@c.test");
    }
}
