//! Reading table files line by line, with line numbers for error messages.
//!
//! Postfix's aliases(5) and virtual(5) share one layout: "A logical line starts with
//! non-whitespace text. A line that starts with whitespace continues a logical line. Empty
//! lines and whitespace-only lines are ignored, as are lines whose first non-whitespace
//! character is a `#`."

use std::path::Path;

use crate::AccountsError;

/// Reads a whole file, mapping failures to `AccountsError::Io`.
pub(crate) fn read(path: &Path) -> Result<Vec<u8>, AccountsError> {
    std::fs::read(path).map_err(|e| AccountsError::io(path, e))
}

/// Splits bytes into lines (without `\n`, and without a trailing `\r` from a file edited on
/// Windows), numbered from 1. A line that is not UTF-8 is an error naming that line.
pub(crate) fn physical(path: &Path, bytes: &[u8]) -> Result<Vec<(usize, String)>, AccountsError> {
    let mut lines = Vec::new();
    // A final "\n" ends the last line; it does not start an empty one.
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    if bytes.is_empty() {
        return Ok(lines);
    }
    for (index, raw) in body.split(|&b| b == b'\n').enumerate() {
        let number = index + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let text = std::str::from_utf8(raw)
            .map_err(|_| AccountsError::parse(path, number, "line is not valid UTF-8"))?;
        lines.push((number, text.to_owned()));
    }
    Ok(lines)
}

/// True for lines that carry nothing: blank, whitespace-only, or a `#` comment.
pub(crate) fn is_ignorable(text: &str) -> bool {
    let trimmed = text.trim_start();
    trimmed.is_empty() || trimmed.starts_with('#')
}

/// One entry of a table file, continuation lines joined with a single space.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Logical {
    /// Line number of the entry's first line.
    pub number: usize,
    /// The joined text.
    pub text: String,
}

/// Joins continuation lines into logical entries and drops comments and blank lines.
pub(crate) fn logical(path: &Path, bytes: &[u8]) -> Result<Vec<Logical>, AccountsError> {
    let mut entries: Vec<Logical> = Vec::new();
    for (number, text) in physical(path, bytes)? {
        if is_ignorable(&text) {
            continue;
        }
        if text.starts_with(char::is_whitespace) {
            let Some(last) = entries.last_mut() else {
                return Err(AccountsError::parse(
                    path,
                    number,
                    "continuation line (starts with whitespace) without an entry before it",
                ));
            };
            last.text.push(' ');
            last.text.push_str(text.trim());
        } else {
            entries.push(Logical {
                number,
                text: text.trim_end().to_owned(),
            });
        }
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Path {
        Path::new("t")
    }

    #[test]
    fn physical_numbers_lines_strips_cr_and_final_newline() {
        let lines = physical(p(), b"a\r\nb\n\nc").unwrap();
        let want: Vec<(usize, String)> = vec![
            (1, "a".into()),
            (2, "b".into()),
            (3, String::new()),
            (4, "c".into()),
        ];
        assert_eq!(lines, want);
        assert!(physical(p(), b"").unwrap().is_empty());
        assert_eq!(physical(p(), b"\n").unwrap(), vec![(1, String::new())]);
    }

    #[test]
    fn physical_names_the_non_utf8_line() {
        let err = physical(p(), b"ok\nbad\xff\n").unwrap_err();
        assert_eq!(err.to_string(), "t:2: line is not valid UTF-8");
    }

    #[test]
    fn logical_joins_continuations_and_skips_comments_between() {
        let text = b"# head\na: b,\n  c,\n# note inside\n\tdd\n\n   \ne: f\n";
        let got = logical(p(), text).unwrap();
        assert_eq!(
            got,
            vec![
                Logical {
                    number: 2,
                    text: "a: b, c, dd".into()
                },
                Logical {
                    number: 8,
                    text: "e: f".into()
                },
            ]
        );
    }

    #[test]
    fn logical_refuses_a_leading_continuation() {
        let err = logical(p(), b"# c\n  x: y\n").unwrap_err();
        assert!(
            err.to_string().starts_with("t:2: continuation line"),
            "{err}"
        );
    }

    #[test]
    fn indented_comment_is_a_comment() {
        assert!(is_ignorable("   # x"));
        assert!(is_ignorable(" \t "));
        assert!(!is_ignorable("a # x"));
    }
}
