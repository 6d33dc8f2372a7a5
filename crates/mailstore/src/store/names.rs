//! Mailbox names: validation and normalisation before they become directory names.

use crate::error::Error;
use crate::mutf7;

/// The name of the root mailbox. RFC 3501 §5.1: case-insensitive.
pub const INBOX: &str = "INBOX";
/// The hierarchy separator, Maildir++'s (and Dovecot's default for Maildir): `.`.
pub const HIERARCHY_SEPARATOR: char = '.';

/// Longest directory name accepted (most file systems allow 255 octets; keep room for
/// Dovecot's and calm's temporary suffixes).
const MAX_DIR_NAME: usize = 200;

pub(crate) fn invalid(name: &str, reason: &'static str) -> Error {
    Error::InvalidName {
        name: name.to_owned(),
        reason,
    }
}

/// Checks a name and returns its canonical form (`inbox.x` → `INBOX.x`).
pub(crate) fn normalize(name: &str) -> Result<String, Error> {
    if name.is_empty() {
        return Err(invalid(name, "empty name"));
    }
    if name.chars().any(|c| c.is_control()) {
        return Err(invalid(name, "control character"));
    }
    if name.contains('/') {
        return Err(invalid(
            name,
            "'/' cannot be stored in a Maildir++ folder name",
        ));
    }
    if name.contains(['*', '%']) {
        // RFC 3501 §5.1: these are LIST wildcards; a mailbox named with them could not be
        // listed unambiguously.
        return Err(invalid(name, "wildcard character"));
    }
    if name.split(HIERARCHY_SEPARATOR).any(str::is_empty) {
        return Err(invalid(name, "empty hierarchy level"));
    }
    let normal = match name.split_once(HIERARCHY_SEPARATOR) {
        Some((first, rest)) if first.eq_ignore_ascii_case(INBOX) => format!("{INBOX}.{rest}"),
        None if name.eq_ignore_ascii_case(INBOX) => INBOX.to_owned(),
        _ => name.to_owned(),
    };
    if mutf7::encode(&normal).len() + 1 > MAX_DIR_NAME {
        return Err(invalid(name, "name too long"));
    }
    Ok(normal)
}

/// True if `name` is below `parent` in the hierarchy.
pub(crate) fn is_inferior(name: &str, parent: &str) -> bool {
    name.strip_prefix(parent)
        .is_some_and(|rest| rest.starts_with(HIERARCHY_SEPARATOR))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inbox_is_case_insensitive_at_the_top_only() {
        assert_eq!(normalize("inbox").unwrap(), "INBOX");
        assert_eq!(normalize("Inbox.Sub").unwrap(), "INBOX.Sub");
        assert_eq!(normalize("Work.inbox").unwrap(), "Work.inbox");
        assert_eq!(normalize("Inboxes").unwrap(), "Inboxes");
    }

    #[test]
    fn hostile_names_are_refused() {
        let long = "x".repeat(300);
        for bad in [
            "",
            ".",
            "..",
            ".a",
            "a.",
            "a..b",
            "a/b",
            "../../etc",
            "a\0b",
            "a\nb",
            "a*",
            "%",
            long.as_str(),
        ] {
            assert!(
                matches!(normalize(bad), Err(Error::InvalidName { .. })),
                "{bad:?} accepted"
            );
        }
        assert_eq!(
            normalize("Entw\u{fc}rfe & Co").unwrap(),
            "Entw\u{fc}rfe & Co"
        );
    }

    #[test]
    fn inferiors() {
        assert!(is_inferior("A.B", "A"));
        assert!(is_inferior("A.B.C", "A"));
        assert!(!is_inferior("AB", "A"));
        assert!(!is_inferior("A", "A"));
    }
}
