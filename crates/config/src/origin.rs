//! Where a configuration came from: the file, and the line of every key in it, so that
//! diagnostics can say `calm.toml:12: ...`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// What [`crate::Diagnostic::file`] says for the built-in configuration.
pub(crate) const BUILTIN_NAME: &str = "<built-in>";

/// The source of a [`crate::Config`]. Two configs that mean the same are equal wherever they
/// came from, so this compares equal to every other `Origin`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Origin {
    /// The file the config was read from; `None` for the built-in defaults.
    pub(crate) file: Option<PathBuf>,
    /// Line of each key in that file.
    pub(crate) lines: Arc<KeyLines>,
}

impl PartialEq for Origin {
    fn eq(&self, _other: &Self) -> bool {
        true
    }
}

impl Origin {
    /// The origin of a config parsed from `text`, read from `file`.
    pub(crate) fn from_text(file: &Path, text: &str) -> Self {
        let lines = match DeTable::parse(text) {
            Ok(root) => KeyLines::index(text, root.get_ref()),
            // Unreachable in practice: the caller has already parsed `text` successfully.
            Err(_) => KeyLines::default(),
        };
        Self {
            file: Some(file.to_owned()),
            lines: Arc::new(lines),
        }
    }

    /// The file name diagnostics print.
    pub(crate) fn display_file(&self) -> PathBuf {
        self.file
            .clone()
            .unwrap_or_else(|| PathBuf::from(BUILTIN_NAME))
    }

    /// The line of the key at `path` (table names, keys and array indices), or of its
    /// nearest enclosing key written in the file; `None` if none of it is in the file.
    pub(crate) fn line(&self, path: &[&str]) -> Option<usize> {
        (1..=path.len())
            .rev()
            .find_map(|len| self.lines.get(path.get(..len)?))
    }
}

/// 1-based line numbers of every key and array element of a TOML document, by path.
#[derive(Debug, Default)]
pub(crate) struct KeyLines {
    lines: BTreeMap<Vec<String>, usize>,
}

impl KeyLines {
    fn index(text: &str, root: &DeTable<'_>) -> Self {
        let mut this = Self::default();
        let mut walker = Walker {
            text,
            out: &mut this.lines,
            path: Vec::new(),
        };
        walker.table(root);
        this
    }

    fn get(&self, path: &[&str]) -> Option<usize> {
        let key: Vec<String> = path.iter().map(|s| (*s).to_owned()).collect();
        self.lines.get(&key).copied()
    }
}

struct Walker<'a> {
    text: &'a str,
    out: &'a mut BTreeMap<Vec<String>, usize>,
    path: Vec<String>,
}

impl Walker<'_> {
    fn table(&mut self, table: &DeTable<'_>) {
        for (key, value) in table {
            self.path.push(key.get_ref().to_string());
            // The key's own position: for `[server]` that is the header, for `a = 1` the `a`.
            self.record(key.span().start);
            self.value(value);
            self.path.pop();
        }
    }

    fn value(&mut self, value: &Spanned<DeValue<'_>>) {
        match value.get_ref() {
            DeValue::Table(table) => self.table(table),
            DeValue::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    self.path.push(index.to_string());
                    self.record(item.span().start);
                    self.value(item);
                    self.path.pop();
                }
            }
            _ => {}
        }
    }

    /// Keeps the first position seen: a table header comes before the keys that repeat it.
    fn record(&mut self, offset: usize) {
        let line = line_col(self.text, offset).0;
        self.out.entry(self.path.clone()).or_insert(line);
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`. An offset past the end
/// or inside a character is clamped rather than trusted, since it comes from a parser's span.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = text.get(..end).unwrap_or_default();
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = before.matches('\n').count() + 1;
    let column = before.get(line_start..).unwrap_or_default().chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{Origin, line_col};

    #[test]
    fn line_col_counts_lines_and_characters() {
        let text = "ab\nçd = 1\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 3), (2, 1));
        // `ç` is two bytes but one column.
        assert_eq!(line_col(text, 5), (2, 2));
    }

    #[test]
    fn line_col_survives_hostile_offsets() {
        let text = "ç\nx";
        assert_eq!(line_col(text, 1), (1, 1), "inside a character");
        assert_eq!(line_col(text, 999), (2, 2), "past the end");
        assert_eq!(line_col("", 5), (1, 1));
    }

    #[test]
    fn lines_fall_back_to_the_nearest_written_key() {
        let text = "[server]\nlocal_domains = [\n  \"a.test\",\n  \"b.test\",\n]\n\n[[listener]]\nname = \"x\"\n";
        let origin = Origin::from_text(Path::new("calm.toml"), text);
        assert_eq!(origin.line(&["server", "local_domains", "1"]), Some(4));
        assert_eq!(origin.line(&["server", "hostname"]), Some(1));
        assert_eq!(origin.line(&["listener", "0", "address"]), Some(7));
        assert_eq!(origin.line(&["limits", "max_errors"]), None);
        assert_eq!(origin.line(&[]), None);
    }
}
