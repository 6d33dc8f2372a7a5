//! Reading a configuration: parse, remember where every key was, resolve relative paths.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use crate::model::Config;
use crate::origin::{Origin, line_col};

/// Why a configuration file could not be turned into a [`Config`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read (missing, unreadable, not UTF-8).
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        /// The file that was asked for.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
    /// The file is not valid TOML, or a value has the wrong type, or a key is unknown.
    #[error("{}", SyntaxDisplay { file, location: *location, message })]
    Syntax {
        /// The file, as given to [`Config::load`] or [`Config::from_str`].
        file: PathBuf,
        /// 1-based line and column (in characters) of the offending text, when known.
        location: Option<(usize, usize)>,
        /// What is wrong, as the TOML parser says it.
        message: String,
    },
}

/// `calm.toml:12:5: unknown field ...`, the shape compilers use so editors can jump to it.
struct SyntaxDisplay<'a> {
    file: &'a Path,
    location: Option<(usize, usize)>,
    message: &'a str,
}

impl fmt::Display for SyntaxDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some((line, column)) = self.location {
            write!(f, ":{line}:{column}")?;
        }
        // toml's messages may span lines (they sometimes quote the input); one line each.
        let message = self.message.trim().replace('\n', " ");
        write!(f, ": {message}")
    }
}

impl Config {
    /// The built-in configuration, the one `calm serve` runs with no file: a development
    /// server on loopback high ports. Same as [`Default`]; relative paths are relative to the
    /// current directory.
    pub fn builtin() -> Config {
        Config::default()
    }

    /// Reads and parses the file at `path`, then resolves its relative paths against the
    /// file's directory. Call [`Config::validate`] next for the semantic checks.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Config::from_str(&text, path)
    }

    /// Parses `text` as if read from the file `origin` (which is only named, never read):
    /// diagnostics name it, and relative paths are resolved against its directory.
    pub fn from_str(text: &str, origin: &Path) -> Result<Config, ConfigError> {
        let mut config: Config = toml::from_str(text).map_err(|err| ConfigError::Syntax {
            file: origin.to_owned(),
            location: err.span().map(|span| line_col(text, span.start)),
            message: err.message().to_owned(),
        })?;
        config.origin = Origin::from_text(origin, text);
        let base = origin.parent().unwrap_or(Path::new(""));
        config.resolve_paths(base);
        Ok(config)
    }

    /// Makes every relative path in the configuration relative to `base` instead (absolute
    /// paths are kept). [`Config::load`] does this with the config file's directory, so a
    /// config means the same whatever directory calm is started from.
    pub fn resolve_paths(&mut self, base: &Path) {
        let paths = [
            Some(&mut self.server.data_dir),
            self.tls.cert.as_mut(),
            self.tls.key.as_mut(),
            self.accounts.users_file.as_mut(),
            self.accounts.aliases_file.as_mut(),
            self.accounts.virtual_file.as_mut(),
            self.policy.file.as_mut(),
            self.policy.cases.as_mut(),
            self.policy.shadow.as_mut(),
            self.outbound.routes_file.as_mut(),
            self.outbound.relay_credentials.as_mut(),
            self.content.rules_file.as_mut(),
            self.dkim.keys_dir.as_mut(),
            self.content.bayes_file.as_mut(),
            self.log.event_log.as_mut(),
        ];
        for path in paths.into_iter().flatten() {
            if path.is_relative() {
                *path = base.join(&*path);
            }
        }
    }

    /// The users file: `accounts.users_file`, or `<data_dir>/users` when unset.
    pub fn users_file(&self) -> PathBuf {
        self.accounts
            .users_file
            .clone()
            .unwrap_or_else(|| self.server.data_dir.join("users"))
    }

    /// The event log: `log.event_log`, or `<data_dir>/events.jsonl` when unset.
    pub fn event_log(&self) -> PathBuf {
        self.log
            .event_log
            .clone()
            .unwrap_or_else(|| self.server.data_dir.join("events.jsonl"))
    }

    /// Where the self-signed certificate is generated when `tls.cert` and `tls.key` are unset:
    /// `<data_dir>/tls`.
    pub fn tls_dir(&self) -> PathBuf {
        self.server.data_dir.join("tls")
    }

    /// The file this configuration was read from; `None` for [`Config::builtin`].
    pub fn source_file(&self) -> Option<&Path> {
        self.origin.file.as_deref()
    }
}

#[cfg(test)]
mod tests;
