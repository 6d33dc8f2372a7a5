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

    /// The user's storage limit in bytes, all mailboxes together; `None` when the user has
    /// none. Cheap (no disk I/O): asked at login, to advertise QUOTA, and at each GETQUOTA
    /// and GETQUOTAROOT (RFC 9208).
    fn storage_limit(&self, user: &str) -> Option<u64>;

    /// The octets the user's mail takes, counted the way the limit is enforced. Blocking
    /// I/O: called on the session's blocking thread, only for a user with a limit.
    fn storage_used(&self, user: &str) -> u64;

    /// Records an event (connection, login, end of session).
    fn event(&self, ev: &ImapEvent);
}
