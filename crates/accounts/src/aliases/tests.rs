use super::*;
use crate::target::MapTarget::{Address, Local, NoExpand};

fn parse(text: &str) -> Result<Aliases, AccountsError> {
    Aliases::from_bytes(Path::new("/etc/calm/aliases"), text.as_bytes())
}

fn parse_err(text: &str) -> String {
    parse(text).unwrap_err().to_string()
}

#[test]
fn debian_style_file_with_continuations_and_quotes() {
    let text = "# /etc/aliases\n\
                mailer-daemon: postmaster\n\
                postmaster: root\n\
                root: \\root, Bob@Example.TEST,\n\
                \x20   carol,\n\
                # a comment inside the continuation\n\
                \tdave@remote.test\n\
                \"john smith\": john\n\
                \"quoted\" : \"eve\", \"Frank@Remote.test\"\n\
                Staff:alice,,bob,\n";
    let aliases = parse(text).unwrap();
    assert_eq!(aliases.len(), 6);
    assert_eq!(
        aliases.get("mailer-daemon"),
        Some(&[Local("postmaster".into())][..])
    );
    assert_eq!(
        aliases.get("root"),
        Some(
            &[
                NoExpand("root".into()),
                Address("Bob@example.test".into()),
                Local("carol".into()),
                Address("dave@remote.test".into()),
            ][..]
        )
    );
    assert_eq!(aliases.get("john smith"), Some(&[Local("john".into())][..]));
    assert_eq!(
        aliases.get("quoted"),
        Some(&[Local("eve".into()), Address("Frank@remote.test".into())][..])
    );
    assert_eq!(
        aliases.get("staff"),
        Some(&[Local("alice".into()), Local("bob".into())][..]),
        "names are lowercased, empty items dropped"
    );
    let names: Vec<&str> = aliases.names().collect();
    assert_eq!(
        names,
        [
            "john smith",
            "mailer-daemon",
            "postmaster",
            "quoted",
            "root",
            "staff"
        ]
    );
}

#[test]
fn pipe_file_and_include_targets_are_load_errors_with_the_reason() {
    let err = parse_err("a: b\nbounce: \"|/usr/bin/handler --x\"\n");
    assert!(
        err.starts_with("/etc/calm/aliases:2: pipe targets are not supported by calm"),
        "{err}"
    );
    let err = parse_err("log: bob,\n  /var/log/mail.copy\n");
    assert!(
        err.starts_with("/etc/calm/aliases:1: file targets are not supported by calm"),
        "{err}"
    );
    let err = parse_err("\n\nlist: :include:/etc/mail/list\n");
    assert!(
        err.starts_with("/etc/calm/aliases:3: :include: targets are not supported"),
        "{err}"
    );
    let err = parse_err("x: |cmd\n");
    assert!(
        err.contains("pipe targets are not supported by calm"),
        "{err}"
    );
}

#[test]
fn malformed_lines_name_file_and_line() {
    let cases = [
        ("ok: a\nno colon here\n", 2, "missing ':'"),
        ("a b: c\n", 1, "contains whitespace"),
        ("bob@example.test: c\n", 1, "must be a local part"),
        ("empty:\n", 1, "has no targets"),
        ("empty: , ,\n", 1, "has no targets"),
        (": x\n", 1, "empty or unprintable"),
        ("\"open: x\n", 1, "unterminated quote"),
        ("a: \"b, c\n", 1, "unterminated quote"),
        ("a: b c\n", 1, "separate targets with commas"),
        ("a: b\n  c: d\n", 1, "separate targets with commas"),
        ("  a: b\n", 1, "continuation line"),
        ("a: b@\n", 1, "is not an address"),
        (
            "a: b\nA: c\n",
            2,
            "duplicate alias a (first defined on line 1)",
        ),
    ];
    for (text, line, needle) in cases {
        let err = parse_err(text);
        let prefix = format!("/etc/calm/aliases:{line}: ");
        assert!(err.starts_with(&prefix), "{text:?}: {err}");
        assert!(err.contains(needle), "{text:?}: {err}");
    }
}

#[test]
fn empty_and_comment_only_files_are_empty() {
    assert!(parse("").unwrap().is_empty());
    assert!(parse("# nothing\n\n   \n").unwrap().is_empty());
}

#[test]
fn hostile_input_never_panics() {
    for text in [
        "\"",
        "\":",
        "\"\":x",
        ":",
        "::::",
        "a:\"",
        "a: \"\"",
        "\u{0}: x",
        "a: \u{7f}",
        "é: ü, \"ø\"",
        "a: ,\"",
        "a: \\",
        "a: @",
        "a:@@",
    ] {
        let _ = parse(text);
    }
    let long = format!("a: {}\n", "b,".repeat(50_000));
    assert_eq!(parse(&long).unwrap().get("a").map(<[_]>::len), Some(50_000));
}
