//! The Markdown reference, `docs/config.md`.

use super::{Key, Reference, Section, example_toml, inline_toml};

/// How to regenerate `docs/config.md`; printed in the file and by the freshness test.
pub(crate) const REGENERATE: &str =
    "CALM_REGENERATE_DOCS=1 cargo test -p calm-config docs_config_md_is_fresh";

/// The configuration reference in Markdown (the content of `docs/config.md`): one section per
/// table with each key's type, default and description, then the complete example file.
pub fn markdown_reference() -> String {
    let reference = Reference::build();
    let mut out = String::from("# Configuration reference\n\n");
    out.push_str(&format!(
        "<!-- Generated from the doc comments of crates/config/src/model.rs; do not edit.\n     \
         Regenerate with: {REGENERATE} -->\n\n"
    ));
    out.push_str(&paragraphs(&reference.intro));
    out.push_str("\n\nSections:\n\n");
    for section in &reference.sections {
        out.push_str(&format!(
            "- [`{}`](#{})\n",
            header(section),
            anchor(section)
        ));
    }
    for section in &reference.sections {
        out.push('\n');
        write_section(&mut out, section);
    }
    out.push_str("\n## Complete example\n\n");
    out.push_str("Every key with its default value (`calm_config::example_toml()`):\n\n");
    out.push_str(&format!("```toml\n{}```\n", example_toml()));
    out
}

fn write_section(out: &mut String, section: &Section) {
    out.push_str(&format!("## `{}`\n\n", header(section)));
    out.push_str(&paragraphs(&section.description));
    out.push_str("\n\n| Key | Type | Default | Description |\n|---|---|---|---|\n");
    for key in &section.keys {
        out.push_str(&row(key));
    }
    if section.array && !section.default_items.is_empty() {
        out.push_str(&format!(
            "\nBuilt in, used when the file has no `{}`:\n\n",
            header(section)
        ));
        out.push_str("| ");
        let names: Vec<&str> = section.keys.iter().map(|k| k.name.as_str()).collect();
        out.push_str(&names.join(" | "));
        out.push_str(" |\n|");
        out.push_str(&"---|".repeat(names.len()));
        out.push('\n');
        for item in &section.default_items {
            let cells: Vec<String> = names
                .iter()
                .map(|name| {
                    item.get(*name)
                        .and_then(inline_toml)
                        .map_or(String::new(), code)
                })
                .collect();
            out.push_str(&format!("| {} |\n", cells.join(" | ")));
        }
    }
}

fn row(key: &Key) -> String {
    let default = match key.default.as_ref().and_then(inline_toml) {
        Some(value) => code(value),
        None if key.required => "required".to_owned(),
        None => "unset".to_owned(),
    };
    let mut description = cell(&key.description);
    for (value, doc) in &key.choices {
        description.push_str(&format!("<br>`{value}`: {}", cell(doc)));
    }
    if let Some(example) = key.example.as_ref().and_then(inline_toml) {
        description.push_str(&format!(
            "<br>Example: {}",
            code(format!("{} = {example}", key.name))
        ));
    }
    format!(
        "| `{}` | {} | {default} | {description} |\n",
        key.name,
        cell(&key.kind)
    )
}

fn header(section: &Section) -> String {
    if section.array {
        format!("[[{}]]", section.name)
    } else {
        format!("[{}]", section.name)
    }
}

/// The anchor GitHub-style renderers give the section's heading (punctuation dropped).
fn anchor(section: &Section) -> String {
    section
        .name
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '_' || *c == '-')
        .collect()
}

/// Doc-comment text as Markdown paragraphs: wrapped lines joined, blank lines kept.
fn paragraphs(text: &str) -> String {
    text.split("\n\n")
        .map(|p| p.lines().map(str::trim).collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// Text fit for one table cell: on one line, pipes escaped.
fn cell(text: &str) -> String {
    paragraphs(text)
        .replace("\n\n", "<br><br>")
        .replace('|', "\\|")
}

/// Inline code, escaped for a table cell.
fn code(text: String) -> String {
    format!("`{}`", text.replace('|', "\\|"))
}
