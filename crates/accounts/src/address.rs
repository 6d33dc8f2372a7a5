//! Small helpers on `local@domain` strings.
//!
//! The SMTP layer has already validated syntax; these helpers only split, normalise and
//! refuse what would corrupt our own files (a `:` or a newline in a passwd-file user name).

/// Splits `local@domain` at the last `@` (a quoted local part may itself contain `@`).
/// Returns `None` when either side is empty or there is no `@`.
pub(crate) fn split(address: &str) -> Option<(&str, &str)> {
    let (local, domain) = address.rsplit_once('@')?;
    (!local.is_empty() && !domain.is_empty()).then_some((local, domain))
}

/// The lookup key for an address, local part or domain.
///
/// Lookups are case-insensitive on the whole address. RFC 5321 §2.4 lets a remote host treat
/// local parts as case-sensitive, but for our own users and aliases folding case is what
/// operators expect (Postfix and Dovecot both fold).
pub(crate) fn key(text: &str) -> String {
    text.to_lowercase()
}

/// `bob+tag` → `bob` with separator `+`; `None` when there is no separator, or nothing before it.
/// Like Postfix's `recipient_delimiter`, the first separator splits.
pub(crate) fn strip_subaddress(local: &str, separator: Option<char>) -> Option<&str> {
    let (base, _) = local.split_once(separator?)?;
    (!base.is_empty()).then_some(base)
}

/// Checks an address that we are about to write into a file or hold as configuration.
pub(crate) fn check(address: &str) -> Result<(), &'static str> {
    let Some((_, domain)) = split(address) else {
        return Err("expected local@domain");
    };
    if address.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("whitespace or control characters are not allowed");
    }
    if address.contains(':') {
        // The users file is `user:password:...`; a colon would split the user name.
        return Err("':' is not allowed");
    }
    if address.starts_with('#') {
        return Err("an address may not start with '#' (it would read as a comment)");
    }
    if domain.starts_with('.') || domain.ends_with('.') || domain.contains("..") {
        return Err("the domain is malformed");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_uses_last_at_and_rejects_empty_sides() {
        assert_eq!(split("bob@example.test"), Some(("bob", "example.test")));
        assert_eq!(
            split("\"a@b\"@example.test"),
            Some(("\"a@b\"", "example.test"))
        );
        assert_eq!(split("@example.test"), None);
        assert_eq!(split("bob@"), None);
        assert_eq!(split("bob"), None);
        assert_eq!(split(""), None);
    }

    #[test]
    fn strip_subaddress_splits_at_first_separator_only_with_a_base() {
        assert_eq!(strip_subaddress("bob+tag", Some('+')), Some("bob"));
        assert_eq!(strip_subaddress("bob+a+b", Some('+')), Some("bob"));
        assert_eq!(strip_subaddress("+tag", Some('+')), None);
        assert_eq!(strip_subaddress("bob", Some('+')), None);
        assert_eq!(strip_subaddress("bob+tag", None), None);
        assert_eq!(strip_subaddress("bob-tag", Some('-')), Some("bob"));
    }

    #[test]
    fn check_refuses_what_would_corrupt_a_file() {
        assert!(check("bob@example.test").is_ok());
        assert!(check("bob").is_err());
        assert!(check("bob:x@example.test").is_err());
        assert!(check("bob\n@example.test").is_err());
        assert!(check("bob @example.test").is_err());
        assert!(check("#bob@example.test").is_err());
        assert!(check("bob@example..test").is_err());
        assert!(check("bob@.test").is_err());
    }

    #[test]
    fn key_folds_unicode_case() {
        assert_eq!(key("Bob@Example.TEST"), "bob@example.test");
        assert_eq!(key("ÄNNE@example.test"), "änne@example.test");
    }
}
