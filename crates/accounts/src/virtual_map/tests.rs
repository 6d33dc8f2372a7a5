use super::*;
use crate::target::MapTarget::{Address, Domain};

fn parse(text: &str) -> Result<VirtualMap, AccountsError> {
    VirtualMap::from_bytes(Path::new("/etc/calm/virtual"), text.as_bytes())
}

fn parse_err(text: &str) -> String {
    parse(text).unwrap_err().to_string()
}

#[test]
fn postfix_style_map() {
    let text = "# virtual(5)\n\
                virtual.test          anything\n\
                Info@Virtual.TEST     bob@example.test, Carol@Remote.test\n\
                sales@virtual.test\tbob@example.test alice@example.test,\n\
                \x20                     dave@example.test\n\
                @virtual.test         catch@example.test\n\
                @old.test             @new.test\n";
    let map = parse(text).unwrap();
    assert_eq!(
        map.exact("info@virtual.test"),
        Some(
            &[
                Address("bob@example.test".into()),
                Address("Carol@remote.test".into())
            ][..]
        )
    );
    assert_eq!(map.exact("sales@virtual.test").map(<[_]>::len), Some(3));
    assert_eq!(
        map.catch_all("virtual.test"),
        Some(&[Address("catch@example.test".into())][..])
    );
    assert_eq!(
        map.catch_all("old.test"),
        Some(&[Domain("new.test".into())][..])
    );
    assert!(
        map.exact("Info@Virtual.TEST").is_none(),
        "callers pass lowercased keys"
    );
    let domains: Vec<&str> = map.domains().collect();
    assert_eq!(domains, ["old.test", "virtual.test"]);
    assert!(map.has_domain("virtual.test"));
    assert!(
        !map.has_domain("new.test"),
        "a target domain is not made local"
    );
    assert_eq!(map.len(), 4);
    let keys: Vec<&str> = map.keys().collect();
    assert_eq!(keys, ["info@virtual.test", "sales@virtual.test"]);
}

#[test]
fn a_bare_domain_key_only_declares_the_domain() {
    let map = parse("only.test whatever\n").unwrap();
    assert!(map.has_domain("only.test"));
    assert_eq!(map.len(), 0);
    assert!(!map.is_empty());
}

#[test]
fn malformed_lines_name_file_and_line() {
    let cases = [
        ("a@b.test x@y.test\nlonely@b.test\n", 2, "has no target"),
        (
            "bob x@y.test\n",
            1,
            "must be user@domain, @domain or a domain name",
        ),
        ("@ x@y.test\n", 1, "is not @domain"),
        ("@a@b x@y.test\n", 1, "is not @domain"),
        ("bob@ x@y.test\n", 1, "is not user@domain"),
        ("a@b.test bob\n", 1, "must be a full address"),
        (
            "a@b.test |cmd\n",
            1,
            "pipe targets are not supported by calm",
        ),
        (
            "a@b.test /var/mail/x\n",
            1,
            "file targets are not supported by calm",
        ),
        (
            "a@b.test :include:/x\n",
            1,
            ":include: targets are not supported",
        ),
        ("a@b.test @c.test\n", 1, "only make sense for @domain keys"),
        ("a@b.test \\bob\n", 1, "backslash"),
        (
            "a@b.test x@y.test\nA@B.TEST z@y.test\n",
            2,
            "duplicate key a@b.test (first defined on line 1)",
        ),
        (
            "@b.test x@y.test\n@B.test z@y.test\n",
            2,
            "duplicate key @b.test",
        ),
        ("  a@b.test x@y.test\n", 1, "continuation line"),
        ("a@b.test ,\n", 1, "has no target"),
    ];
    for (text, line, needle) in cases {
        let err = parse_err(text);
        let prefix = format!("/etc/calm/virtual:{line}: ");
        assert!(err.starts_with(&prefix), "{text:?}: {err}");
        assert!(err.contains(needle), "{text:?}: {err}");
    }
}

#[test]
fn hostile_input_never_panics() {
    for text in [
        "@",
        "@ @",
        "a@b@c d@e",
        "\u{0}@x y@z",
        "é@ü.test ø@å.test",
        "x.test",
        "x.test  ",
        "@@ @@",
        "a@b.test \"",
        "a@b.test @",
    ] {
        let _ = parse(text);
    }
}
