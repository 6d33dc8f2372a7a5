//! Keeping label values few and safe: every label value that comes from an event line passes
//! through here, so a hostile or buggy line cannot create unbounded time series.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

/// The value used for anything not admitted as its own label value.
pub(crate) const OTHER: &str = "other";

/// Longest label value kept (longer ones become [`OTHER`]).
const MAX_VALUE_LEN: usize = 64;

/// Distinct values admitted per label before new ones become [`OTHER`].
const MAX_VALUES_PER_LABEL: usize = 64;

/// Remembers which values each label has admitted, and caps their number.
#[derive(Debug, Default)]
pub(crate) struct LabelGuard {
    seen: Mutex<HashMap<&'static str, HashSet<String>>>,
}

impl LabelGuard {
    /// `value` if it is short, made of `[A-Za-z0-9._:-]`, and among the first
    /// [`MAX_VALUES_PER_LABEL`] distinct values of `label`; otherwise [`OTHER`].
    pub(crate) fn admit(&self, label: &'static str, value: &str) -> String {
        if !is_plain(value) {
            return OTHER.to_string();
        }
        // A poisoned lock only means another thread panicked mid-insert; the set is still usable.
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let values = seen.entry(label).or_default();
        if values.contains(value) {
            return value.to_string();
        }
        if values.len() >= MAX_VALUES_PER_LABEL {
            return OTHER.to_string();
        }
        values.insert(value.to_string());
        value.to_string()
    }
}

/// Short, non-empty, and free of anything that would need escaping or look odd in a graph.
pub(crate) fn is_plain(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= MAX_VALUE_LEN
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// A lowercase domain name that may be a label value, or None.
/// RFC 1035 §2.3.4: at most 253 octets in text form; we keep far less for labels.
pub(crate) fn plain_domain(domain: &str) -> Option<String> {
    let d = domain.trim_end_matches('.').to_ascii_lowercase();
    let ok = is_plain(&d) && d.bytes().all(|b| b != b'_' && b != b':') && d != OTHER;
    ok.then_some(d)
}

/// `4xx` or `5xx` for an SMTP reply code (RFC 5321 §4.2.1: the first digit is the class).
pub(crate) fn code_class(code: Option<u16>) -> &'static str {
    match code {
        Some(400..=499) => "4xx",
        Some(500..=599) => "5xx",
        _ => OTHER,
    }
}

/// The reply code as a label value when it is a real 4xx/5xx code, else [`OTHER`] (or `none`
/// when no server answered).
pub(crate) fn reply_code(code: Option<u16>) -> String {
    match code {
        None => "none".to_string(),
        Some(c @ 400..=599) => c.to_string(),
        Some(_) => OTHER.to_string(),
    }
}

/// RFC 3463 §3.1: `class.subject`, class 2, 4 or 5; subjects 0 to 7 are defined (§3.2).
pub(crate) fn status_class(class: Option<u8>, subject: Option<u16>) -> String {
    match (class, subject) {
        (Some(c @ (2 | 4 | 5)), Some(s @ 0..=7)) => format!("{c}.{s}"),
        _ => OTHER.to_string(),
    }
}

/// Listener roles calm knows; anything else is [`OTHER`].
pub(crate) fn role(role: &str) -> &'static str {
    const ROLES: [&str; 7] = [
        "mx",
        "submission",
        "submissions",
        "pop3",
        "pop3s",
        "imap",
        "imaps",
    ];
    ROLES.iter().find(|r| **r == role).copied().unwrap_or(OTHER)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard_caps_distinct_values() {
        let g = LabelGuard::default();
        for i in 0..MAX_VALUES_PER_LABEL {
            assert_eq!(g.admit("rule", &format!("r{i}")), format!("r{i}"));
        }
        assert_eq!(g.admit("rule", "one_too_many"), OTHER);
        // Values already admitted stay, and other labels have their own budget.
        assert_eq!(g.admit("rule", "r0"), "r0");
        assert_eq!(g.admit("stage", "rcpt"), "rcpt");
    }

    #[test]
    fn hostile_values_become_other() {
        let g = LabelGuard::default();
        for bad in [
            "",
            "a\"b",
            "a\nb",
            "x y",
            "é",
            &"a".repeat(65),
            "a\\b",
            "{}",
        ] {
            assert_eq!(g.admit("stage", bad), OTHER, "{bad:?}");
        }
    }

    #[test]
    fn domains_codes_classes_roles() {
        assert_eq!(plain_domain("Example.ORG."), Some("example.org".into()));
        assert_eq!(plain_domain("a_b.example"), None);
        assert_eq!(plain_domain("other"), None);
        assert_eq!(code_class(Some(451)), "4xx");
        assert_eq!(code_class(Some(550)), "5xx");
        assert_eq!(code_class(Some(250)), OTHER);
        assert_eq!(code_class(None), OTHER);
        assert_eq!(reply_code(Some(421)), "421");
        assert_eq!(reply_code(Some(9999)), OTHER);
        assert_eq!(reply_code(None), "none");
        assert_eq!(status_class(Some(5), Some(1)), "5.1");
        assert_eq!(status_class(Some(3), Some(1)), OTHER);
        assert_eq!(status_class(Some(5), Some(99)), OTHER);
        assert_eq!(status_class(None, Some(1)), OTHER);
        assert_eq!(role("submissions"), "submissions");
        assert_eq!(role("bogus"), OTHER);
    }
}
