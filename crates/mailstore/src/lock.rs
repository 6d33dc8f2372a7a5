//! Advisory locks on small lock files (`flock(2)`), released when the guard drops or the
//! process dies, so a crash never leaves a mailbox locked.
//!
//! `flock` locks belong to the open file description, so two sessions in one process that
//! each open the lock file exclude each other just like two processes do.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use rustix::fs::{FlockOperation, flock};

use crate::error::{Error, IoContext};

/// Serialises every change to a mailbox's index and file names (sync, flag renames, expunge,
/// append). Kept beside the index; not Dovecot's `dovecot-uidlist.lock`, which is a dotlock
/// whose mere existence would make Dovecot wait.
pub(crate) const INDEX_LOCK: &str = "calm-uidlist.lock";
/// Held for a whole POP3 session (RFC 1939 §8: the server acquires an exclusive lock on the
/// maildrop in the AUTHORIZATION state).
pub(crate) const MAILDROP_LOCK: &str = "calm-pop3.lock";

/// A held lock; dropping it unlocks.
#[derive(Debug)]
pub(crate) struct Held {
    _file: File,
}

fn open(path: &Path) -> Result<File, Error> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .at(path)
}

/// Waits for the exclusive lock. Holders keep it for milliseconds (one directory scan), so
/// waiting without a timeout is safe.
pub(crate) fn exclusive(path: &Path) -> Result<Held, Error> {
    let file = open(path)?;
    loop {
        match flock(&file, FlockOperation::LockExclusive) {
            Ok(()) => return Ok(Held { _file: file }),
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(Error::io(path, io::Error::from(e))),
        }
    }
}

/// Takes the exclusive lock if free; [`Error::InUse`] if someone holds it.
pub(crate) fn try_exclusive(path: &Path) -> Result<Held, Error> {
    let file = open(path)?;
    match flock(&file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(Held { _file: file }),
        Err(rustix::io::Errno::WOULDBLOCK) => Err(Error::InUse),
        Err(e) => Err(Error::io(path, io::Error::from(e))),
    }
}

/// The maildrop lock of a POP3 session; the mailbox is free again when this drops.
#[derive(Debug)]
pub struct MaildropLock {
    _held: Held,
}

impl MaildropLock {
    pub(crate) fn take(dir: &Path) -> Result<MaildropLock, Error> {
        try_exclusive(&dir.join(MAILDROP_LOCK)).map(|held| MaildropLock { _held: held })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn try_exclusive_excludes_within_one_process_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let first = MaildropLock::take(dir.path()).unwrap();
        assert!(matches!(MaildropLock::take(dir.path()), Err(Error::InUse)));
        drop(first);
        MaildropLock::take(dir.path()).unwrap();
    }

    #[test]
    fn exclusive_waits_for_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(INDEX_LOCK);
        let held = exclusive(&path).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let waiter = {
            let path = path.clone();
            std::thread::spawn(move || {
                let _second = exclusive(&path).unwrap();
                tx.send(()).unwrap();
            })
        };
        assert!(
            rx.recv_timeout(std::time::Duration::from_millis(100))
                .is_err()
        );
        drop(held);
        rx.recv_timeout(std::time::Duration::from_secs(5)).unwrap();
        waiter.join().unwrap();
    }

    #[test]
    fn missing_directory_is_an_io_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = exclusive(&dir.path().join("no/such/lock")).unwrap_err();
        assert!(matches!(err, Error::Io { .. }));
    }
}
