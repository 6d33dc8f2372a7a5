//! [`PolicyError`] and [`Problem`]: why a policy or case file was refused, with file and line.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// One located mistake in a policy, map, list or case file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The file the mistake is in.
    pub file: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl Problem {
    /// A problem at `file:line`.
    pub fn new(file: &Path, line: Option<usize>, message: impl Into<String>) -> Problem {
        Problem {
            file: file.to_owned(),
            line,
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    /// `policy.toml:12: error: message`, on one line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        let message = self.message.trim().replace(['\r', '\n'], " ");
        write!(f, ": error: {message}")
    }
}

/// Why a policy (or a case file) could not be loaded. A policy that fails to load never takes
/// effect: the caller keeps the one it has.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The file itself could not be read.
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        /// The file asked for.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
    /// The file was read but is wrong: every mistake found, each with its file and line.
    #[error("{}", Problems(problems))]
    Invalid {
        /// The mistakes, in file order (never empty).
        problems: Vec<Problem>,
    },
}

impl PolicyError {
    /// The located mistakes (empty for [`PolicyError::Read`]).
    pub fn problems(&self) -> &[Problem] {
        match self {
            PolicyError::Read { .. } => &[],
            PolicyError::Invalid { problems } => problems,
        }
    }
}

struct Problems<'a>(&'a [Problem]);

impl fmt::Display for Problems<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

/// Line numbers of byte offsets in a text.
pub(crate) struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    pub(crate) fn new(text: &str) -> Lines {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Lines { starts }
    }

    /// The 1-based line of byte `offset`.
    pub(crate) fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_of_offsets() {
        let l = Lines::new("a\nbc\n\nd");
        assert_eq!(
            [0, 1, 2, 4, 5, 6, 99].map(|o| l.line(o)),
            [1, 1, 2, 2, 3, 4, 4]
        );
    }

    #[test]
    fn problems_display_one_per_line() {
        let e = PolicyError::Invalid {
            problems: vec![
                Problem::new(Path::new("p.toml"), Some(3), "bad\nthing"),
                Problem::new(Path::new("m"), None, "worse"),
            ],
        };
        assert_eq!(e.to_string(), "p.toml:3: error: bad thing\nm: error: worse");
    }
}
