//! [`Error`]: everything that can go wrong reading or changing a mailbox.

use std::io;
use std::path::{Path, PathBuf};

/// A store failure. Client-caused conditions (bad names, missing mailboxes, a held lock) have
/// their own variants so servers can map them to `NO`/`-ERR` replies; everything else is an
/// I/O failure naming its path.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file system operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The mailbox name cannot be stored (empty level, `/`, control character, wildcard, too long).
    #[error("invalid mailbox name {name:?}: {reason}")]
    InvalidName {
        /// The name as given.
        name: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// No mailbox by that name.
    #[error("mailbox {0:?} does not exist")]
    NoSuchMailbox(String),
    /// A mailbox by that name exists already.
    #[error("mailbox {0:?} already exists")]
    AlreadyExists(String),
    /// The mailbox has children; Maildir++ cannot keep a non-selectable parent, so they must be
    /// deleted first (Dovecot answers the same).
    #[error("mailbox {0:?} has child mailboxes")]
    HasChildren(String),
    /// INBOX cannot be deleted, and RENAME of INBOX is not supported.
    #[error("INBOX cannot be deleted or renamed")]
    Inbox,
    /// Another session holds the maildrop lock (POP3, RFC 2449 §8.1.1 `[IN-USE]`).
    #[error("mailbox is in use by another session")]
    InUse,
    /// The message is no longer in the mailbox (expunged by another session).
    #[error("message with UID {0} no longer exists")]
    NoSuchMessage(u32),
    /// The mailbox holds 26 keywords already, one per Maildir letter `a`–`z`, and this one
    /// is not among them.
    #[error("mailbox has 26 keywords already; cannot add keyword {0:?}")]
    TooManyKeywords(String),
    /// Not a keyword that can be stored (an IMAP atom without `\`).
    #[error("invalid keyword {0:?}")]
    InvalidKeyword(String),
}

impl Error {
    pub(crate) fn io(path: &Path, source: io::Error) -> Error {
        Error::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// True for "no space left" or "quota exceeded": a temporary local fault.
    pub fn is_no_space(&self) -> bool {
        match self {
            Error::Io { source, .. } => matches!(source.raw_os_error(), Some(28) | Some(122)),
            _ => false,
        }
    }
}

/// Attaches a path to an `io::Result`.
pub(crate) trait IoContext<T> {
    fn at(self, path: &Path) -> Result<T, Error>;
}

impl<T> IoContext<T> for Result<T, io::Error> {
    fn at(self, path: &Path) -> Result<T, Error> {
        self.map_err(|e| Error::io(path, e))
    }
}
