use std::path::{Path, PathBuf};

use super::markdown::REGENERATE;
use super::{Reference, SchemaView, example_toml, fields, key_order, markdown_reference};
use crate::model::{Config, Server};

#[test]
fn the_example_parses_back_into_the_builtin_config() {
    let example = example_toml();
    let parsed = Config::from_str(&example, Path::new("calm.toml"));
    assert_eq!(parsed.unwrap(), Config::builtin());
}

/// Every commented-out `# key = example` line, uncommented, still parses: the examples in the
/// doc attributes are valid values, not just prose.
#[test]
fn the_commented_out_examples_are_valid_too() {
    let reference = Reference::build();
    let keys: Vec<&str> = reference
        .sections
        .iter()
        .flat_map(|s| s.keys.iter().map(|k| k.name.as_str()))
        .collect();
    let mut uncommented = 0;
    let text: String = example_toml()
        .lines()
        .map(|line| match line.strip_prefix("# ") {
            Some(rest) if keys.iter().any(|k| rest.starts_with(&format!("{k} = "))) => {
                uncommented += 1;
                format!("{rest}\n")
            }
            _ => format!("{line}\n"),
        })
        .collect();
    assert!(uncommented >= 6, "only {uncommented} examples found");
    let config = Config::from_str(&text, Path::new("/etc/calm/calm.toml")).unwrap();
    assert_eq!(
        config.tls.cert.as_deref(),
        Some(Path::new("/etc/calm/tls/fullchain.pem"))
    );
    assert_eq!(
        config.accounts.aliases_file.as_deref(),
        Some(Path::new("/etc/calm/aliases"))
    );
}

#[test]
fn the_example_documents_every_key_with_its_doc_comment() {
    let example = example_toml();
    for section in Reference::build().sections {
        let header = if section.array {
            format!("[[{}]]", section.name)
        } else {
            format!("[{}]", section.name)
        };
        assert!(example.lines().any(|l| l == header), "no {header}");
        for key in &section.keys {
            let set = format!("{} = ", key.name);
            let unset = format!("# {} = ", key.name);
            assert!(
                example
                    .lines()
                    .any(|l| l.starts_with(&set) || l.starts_with(&unset)),
                "{} missing from the example",
                key.name
            );
            let first_doc_line = key.description.lines().next().unwrap_or_default();
            assert!(
                example.contains(first_doc_line.trim_end()),
                "doc of {} missing",
                key.name
            );
        }
    }
}

#[test]
fn every_section_and_key_is_documented() {
    let reference = Reference::build();
    assert!(!reference.intro.is_empty());
    let names: Vec<&str> = reference.sections.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "server", "listener", "tls", "accounts", "limits", "policy", "outbound", "dkim",
            "spool", "content", "admin", "log"
        ]
    );
    for section in &reference.sections {
        assert!(
            !section.description.is_empty(),
            "[{}] has no doc comment",
            section.name
        );
        assert!(!section.keys.is_empty(), "[{}] has no keys", section.name);
        for key in &section.keys {
            let what = format!("{}.{}", section.name, key.name);
            assert!(
                !key.description.trim().is_empty(),
                "{what} has no doc comment"
            );
            assert_ne!(key.kind, "value", "{what} has no type");
            // An unset optional key is shown by its example, so it needs one.
            if key.default.is_none() && !key.required {
                assert!(
                    key.example.is_some(),
                    "{what} is optional but has no example"
                );
            }
        }
    }
}

#[test]
fn types_are_named_for_people() {
    let reference = Reference::build();
    let kind = |section: &str, key: &str| {
        let s = reference
            .sections
            .iter()
            .find(|s| s.name == section)
            .unwrap();
        s.keys.iter().find(|k| k.name == key).unwrap().kind.clone()
    };
    assert_eq!(kind("server", "data_dir"), "path");
    assert_eq!(kind("server", "local_domains"), "list of strings");
    assert_eq!(kind("server", "lan_networks"), "list of CIDR networks");
    assert_eq!(
        kind("listener", "role"),
        "one of `mx`, `submission`, `submissions`, `pop3`, `pop3s`, `imap`, `imaps`"
    );
    assert_eq!(kind("listener", "address"), "socket address");
    assert_eq!(kind("tls", "cert"), "path");
    assert_eq!(kind("accounts", "subaddress_separator"), "character");
    assert_eq!(kind("accounts", "catch_all"), "table of strings");
    assert_eq!(kind("accounts", "sender_must_own_address"), "boolean");
    assert_eq!(kind("limits", "max_errors"), "integer");
}

#[test]
fn keys_follow_declaration_order() {
    assert_eq!(
        fields::names::<Server>(),
        ["hostname", "data_dir", "local_domains", "lan_networks"]
    );
    let top = fields::names::<Config>();
    assert!(top.contains(&"listener") && !top.contains(&"listeners") && !top.contains(&"origin"));
    assert_eq!(fields::names::<String>(), [] as [&str; 0]);
}

/// A new config struct must be added to `key_order`, or its keys come out sorted.
#[test]
fn every_struct_in_the_schema_has_a_key_order() {
    let root = schemars::schema_for!(Config).to_value();
    let view = SchemaView { root: &root };
    assert!(key_order("Config").is_some());
    let defs = root.get("$defs").and_then(|d| d.as_object()).unwrap();
    for (name, def) in defs {
        if super::is_type(def, "object") {
            let order = key_order(name).unwrap_or_else(|| panic!("{name} missing from key_order"));
            assert_eq!(
                view.ordered_properties(name, def).len(),
                order.len(),
                "{name}"
            );
        }
    }
}

#[test]
fn the_reference_has_a_row_per_key_and_the_example() {
    let markdown = markdown_reference();
    for section in Reference::build().sections {
        for key in &section.keys {
            let start = format!("| `{}` | ", key.name);
            let row = markdown.lines().find(|l| l.starts_with(&start));
            let row = row.unwrap_or_else(|| panic!("no row for {}", key.name));
            // Four cells: no raw newline or unescaped pipe inside one.
            assert_eq!(row.matches(" | ").count(), 3, "{row}");
        }
    }
    assert!(markdown.contains(&format!("```toml\n{}```\n", example_toml())));
}

/// `docs/config.md` is generated; this fails when it is stale. Set `CALM_REGENERATE_DOCS=1`
/// to rewrite it instead.
#[test]
fn docs_config_md_is_fresh() {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "..", "..", "docs", "config.md"]
        .iter()
        .collect();
    let expected = markdown_reference();
    if std::env::var_os("CALM_REGENERATE_DOCS").is_some_and(|v| v == "1") {
        std::fs::write(&path, &expected).unwrap();
        return;
    }
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        actual == expected,
        "docs/config.md is stale (or missing); it is generated from crates/config/src/model.rs.\n\
         Regenerate it with:\n    {REGENERATE}\nand commit the result."
    );
}
