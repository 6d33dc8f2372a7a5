//! The fully commented example configuration file.

use serde_json::{Map, Value};

use super::{Key, Reference, Section, inline_toml};

const HEADER: &str = "\
calm configuration file (TOML), generated from the configuration types.
Every key is shown with its default value; keys that are unset by default are
commented out, with an example value.";

/// A complete, commented configuration file: every section and key, each preceded by its
/// documentation, set to its default value (keys unset by default are commented out with an
/// example). It parses back into [`crate::Config::builtin`].
pub fn example_toml() -> String {
    let reference = Reference::build();
    let mut out = String::new();
    comment(&mut out, &format!("{HEADER}\n\n{}", reference.intro));
    for section in &reference.sections {
        out.push('\n');
        if section.array {
            array_section(&mut out, section);
        } else {
            table_section(&mut out, section);
        }
    }
    out
}

fn table_section(out: &mut String, section: &Section) {
    comment(out, &section.description);
    out.push_str(&format!("[{}]\n", section.name));
    for key in &section.keys {
        out.push('\n');
        describe(out, key);
        match key.default.as_ref().and_then(inline_toml) {
            Some(value) => {
                out.push_str(&format!("{} = {value}\n", key.name));
                if let Some(example) = key.example.as_ref().and_then(inline_toml) {
                    out.push_str(&format!("# Example: {} = {example}\n", key.name));
                }
            }
            None => commented_example(out, key),
        }
    }
}

/// `[[name]]` tables: the keys are documented once, in the first table.
fn array_section(out: &mut String, section: &Section) {
    comment(out, &section.description);
    if section.default_items.is_empty() {
        out.push_str(&format!("# [[{}]]\n", section.name));
        section.keys.iter().for_each(|key| {
            describe(out, key);
            commented_example(out, key);
        });
        return;
    }
    for (index, item) in section.default_items.iter().enumerate() {
        if index > 0 {
            out.push('\n');
        }
        out.push_str(&format!("[[{}]]\n", section.name));
        for key in &section.keys {
            if index == 0 {
                describe(out, key);
            }
            item_key(out, key, item);
        }
    }
}

fn item_key(out: &mut String, key: &Key, item: &Map<String, Value>) {
    match item.get(&key.name).and_then(inline_toml) {
        Some(value) => out.push_str(&format!("{} = {value}\n", key.name)),
        None => commented_example(out, key),
    }
}

fn describe(out: &mut String, key: &Key) {
    comment(out, &key.description);
    for (value, doc) in &key.choices {
        // Continuation lines are indented under the value they describe.
        comment(out, &format!("  {value}: {}", doc.replace('\n', "\n    ")));
    }
}

fn commented_example(out: &mut String, key: &Key) {
    let value = key
        .example
        .as_ref()
        .and_then(inline_toml)
        .unwrap_or_default();
    out.push_str(&format!("# {} = {value}\n", key.name));
}

/// Writes `text` as `#` lines; blank lines stay (as a bare `#`) so paragraphs survive.
fn comment(out: &mut String, text: &str) {
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            out.push_str("#\n");
        } else {
            out.push_str(&format!("# {line}\n"));
        }
    }
}
