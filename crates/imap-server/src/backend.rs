//! The [`Backend`] trait: what the IMAP server asks the rest of calm.

use std::future::Future;
use std::path::PathBuf;

use crate::event::ImapEvent;

/// The server's questions to the rest of calm.
pub trait Backend: Send + Sync + 'static {
    /// Verifies a password; returns the canonical user name on success. Slow password hashes
    /// belong in `spawn_blocking` inside this future.
    fn authenticate(
        &self,
        user: &str,
        password: &str,
    ) -> impl Future<Output = Option<String>> + Send;

    /// The Maildir root of an authenticated user (`calm_maildir::mailbox_dir`).
    fn mailbox_root(&self, user: &str) -> PathBuf;

    /// Records an event (connection, login, end of session).
    fn event(&self, ev: &ImapEvent);
}
