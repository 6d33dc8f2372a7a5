//! Checks on domains and selectors, which end up in file names and DNS names.

use crate::DkimError;

/// A lower-cased domain, if `value` is a DNS name of letters, digits and hyphens
/// (RFC 6376 §3.5 `d=` is a domain name; RFC 1035 §2.3.4: labels of 1..=63, names up to
/// 253 octets). This also keeps `/`, `..` and other path tricks out of key file names.
pub(crate) fn domain(value: &str) -> Result<String, DkimError> {
    let value = value.trim_end_matches('.');
    let ok = !value.is_empty()
        && value.len() <= 253
        && value.split('.').all(label)
        && value.contains('.');
    if ok {
        Ok(value.to_ascii_lowercase())
    } else {
        Err(DkimError::InvalidName {
            what: "domain",
            value: value.to_string(),
        })
    }
}

/// A lower-cased selector of one label (RFC 6376 §3.1 allows dotted selectors, but the
/// `<domain>.<selector>.key` file name cannot tell those apart from the domain).
pub(crate) fn selector(value: &str) -> Result<String, DkimError> {
    if label(value) {
        Ok(value.to_ascii_lowercase())
    } else {
        Err(DkimError::InvalidName {
            what: "selector",
            value: value.to_string(),
        })
    }
}

fn label(label: &str) -> bool {
    (1..=63).contains(&label.len())
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && !label.starts_with('-')
        && !label.ends_with('-')
}
