//! Domain name syntax, as far as a configuration needs it.

/// Why `name` is not a usable domain name, or `None` if it is one. The rules are the
/// host name rules of RFC 1035 §2.3.1 as relaxed by RFC 1123 §2.1 (a label may start with a
/// digit), with the limits of RFC 1035 §2.3.4, and RFC 3696 §2: a top-level domain is
/// never all-numeric (so an IP address is not mistaken for a domain).
pub(crate) fn domain_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("is empty".to_owned());
    }
    if !name.is_ascii() {
        // RFC 5890 §2.3.2.1: the A-label (xn--) form is the one that goes on the wire.
        return Some("is not ASCII; write an internationalized domain in its xn-- form".to_owned());
    }
    // RFC 1035 §2.3.4: 255 octets on the wire, so 253 characters in text form.
    if name.len() > 253 {
        return Some(format!("is {} characters long, more than 253", name.len()));
    }
    let labels: Vec<&str> = name.split('.').collect();
    if let Some(problem) = labels.iter().find_map(|label| label_problem(label)) {
        return Some(problem);
    }
    let top = labels.last().copied().unwrap_or_default();
    if top.bytes().all(|b| b.is_ascii_digit()) {
        return Some("has an all-numeric top-level label (is it an IP address?)".to_owned());
    }
    None
}

fn label_problem(label: &str) -> Option<String> {
    if label.is_empty() {
        return Some(
            "has an empty label (two dots in a row, or a leading or trailing dot)".to_owned(),
        );
    }
    if label.len() > 63 {
        return Some(format!(
            "has a label of {} characters, more than 63",
            label.len()
        ));
    }
    if let Some(bad) = label
        .chars()
        .find(|c| !c.is_ascii_alphanumeric() && *c != '-')
    {
        return Some(format!(
            "contains {bad:?}; only letters, digits, '-' and '.' are allowed"
        ));
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Some(format!(
            "has a label {label:?} that starts or ends with '-'"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::domain_problem;

    #[test]
    fn accepts_ordinary_names() {
        for ok in [
            "localhost",
            "example.test",
            "mail.example.com",
            "3com.com",
            "xn--bcher-kva.example",
            "a-b.c",
        ] {
            assert_eq!(domain_problem(ok), None, "{ok}");
        }
    }

    #[test]
    fn accepts_the_length_limits_exactly() {
        let label63 = "a".repeat(63);
        assert_eq!(domain_problem(&format!("{label63}.test")), None);
        // 4 labels of 61 + dots = 247, plus ".test" = 252... build exactly 253.
        let name = format!(
            "{}.{}.{}.{}",
            "a".repeat(63),
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(61)
        );
        assert_eq!(name.len(), 253);
        assert_eq!(domain_problem(&name), None);
    }

    #[test]
    fn rejects_hostile_and_malformed_names() {
        let long_label = format!("{}.test", "a".repeat(64));
        let long_name = format!(
            "{}.{}.{}.{}",
            "a".repeat(63),
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(62)
        );
        for bad in [
            "",
            ".",
            "example..test",
            ".example.test",
            "example.test.",
            "-a.test",
            "a-.test",
            "exa mple.test",
            "exa_mple.test",
            "a@b.test",
            "bücher.example",
            "1.2.3.4",
            "[127.0.0.1]",
            "a.test\r\n",
            "a.test\0",
            long_label.as_str(),
            long_name.as_str(),
        ] {
            assert!(domain_problem(bad).is_some(), "{bad:?} should be rejected");
        }
    }
}
