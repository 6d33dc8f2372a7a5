//! Errors from loading and editing the account files.

use std::io;
use std::path::PathBuf;

/// What went wrong while loading or editing users, aliases or the virtual map.
///
/// Load errors name the file and line (`Parse`), so an operator can go straight to the fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AccountsError {
    /// `add` was asked for an address that already has a line in the users file.
    #[error("user {address} already exists")]
    UserExists {
        /// The address as given (lowercased).
        address: String,
    },
    /// `passwd` or `delete` was asked for an address with no line in the users file.
    #[error("no such user {address}")]
    NoSuchUser {
        /// The address as given (lowercased).
        address: String,
    },
    /// An address handed to an editing call or in the settings cannot be used.
    #[error("invalid address {address:?}: {reason}")]
    InvalidAddress {
        /// The offending address.
        address: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// A [`DirectorySettings`](crate::DirectorySettings) value cannot be used.
    #[error("setting {setting}: {message}")]
    InvalidSetting {
        /// Which setting.
        setting: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// A new password was refused before hashing (for example, it is empty).
    #[error("invalid password: {reason}")]
    InvalidPassword {
        /// Why it was refused.
        reason: &'static str,
    },
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file (or directory) involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A line of a users, aliases or virtual file is malformed or unsupported.
    #[error("{}:{line}: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line number (the first line of a continued entry).
        line: usize,
        /// What is wrong, in plain words.
        message: String,
    },
    /// Producing a new password hash failed (for example, the system RNG failed).
    #[error("hashing the password failed: {0}")]
    Hash(String),
}

impl AccountsError {
    /// An `Io` error for `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        AccountsError::Io {
            path: path.into(),
            source,
        }
    }

    /// A `Parse` error at `path:line`.
    pub(crate) fn parse(path: impl Into<PathBuf>, line: usize, message: impl Into<String>) -> Self {
        AccountsError::Parse {
            path: path.into(),
            line,
            message: message.into(),
        }
    }
}
