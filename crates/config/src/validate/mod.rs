//! Semantic checks: what parses but would not work, or would work dangerously.
//!
//! Each check is a small method of [`Checker`], grouped by section in the sibling modules;
//! every finding names the file and the line of the key it is about.

mod files;
mod limits;
mod listeners;
mod server;

use std::fmt;
use std::path::PathBuf;

use crate::model::Config;

/// How bad a [`Diagnostic`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The configuration must not be used: calm would refuse to start, lose mail or be abused.
    Error,
    /// A hazard worth a look; calm still starts.
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// One finding of [`Config::validate`]. Displays like a compiler message, on one line:
/// `calm.toml:12: error: ...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The configuration file, or `<built-in>` for [`Config::builtin`].
    pub file: PathBuf,
    /// 1-based line of the key concerned; `None` when the key is not written in the file
    /// (its default is in force) or for the built-in configuration.
    pub line: Option<usize>,
    /// What is wrong and, where it helps, what to do.
    pub message: String,
}

impl Diagnostic {
    /// Whether this is an [`Severity::Error`].
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        // One line per diagnostic, whatever a message built from config values contains.
        let message = self.message.replace(['\r', '\n'], " ");
        write!(f, ": {}: {message}", self.severity)
    }
}

impl Config {
    /// The semantic checks: listeners, domains, TLS, limits, catch-all, open relay and the
    /// files the configuration names (which are looked at, so the result depends on the
    /// file system). Errors come before warnings, each group in file order. An empty result
    /// means the configuration is fine.
    pub fn validate(&self) -> Vec<Diagnostic> {
        let mut checker = Checker {
            config: self,
            found: Vec::new(),
        };
        checker.listeners();
        checker.server();
        checker.catch_all();
        checker.report_addresses();
        checker.open_relay();
        checker.tls();
        checker.account_files();
        checker.limits();
        checker.log_level();
        let mut found = checker.found;
        // Stable: findings on the same line keep the order of the checks.
        found.sort_by_key(|d| (d.severity, d.line.unwrap_or(usize::MAX)));
        found
    }
}

/// Runs the checks on one config, collecting findings.
struct Checker<'a> {
    config: &'a Config,
    found: Vec<Diagnostic>,
}

impl Checker<'_> {
    /// Records a finding about the key at `path` (e.g. `["listener", "0", "name"]`).
    fn report(&mut self, severity: Severity, path: &[&str], message: String) {
        let origin = &self.config.origin;
        self.found.push(Diagnostic {
            severity,
            file: origin.display_file(),
            line: origin.line(path),
            message,
        });
    }

    fn error(&mut self, path: &[&str], message: String) {
        self.report(Severity::Error, path, message);
    }

    fn warning(&mut self, path: &[&str], message: String) {
        self.report(Severity::Warning, path, message);
    }
}

#[cfg(test)]
mod tests;
