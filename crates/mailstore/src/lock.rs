//! Advisory locks on small lock files (`flock(2)`), released when the guard drops or the
//! process dies, so a crash never leaves a mailbox locked.
//!
//! `flock` locks belong to the open file description, so two sessions in one process that
//! each open the lock file exclude each other just like two processes do.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
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
    file: File,
}

impl Held {
    /// The change generation kept in the index lock file (see `cache`); 0 if none yet.
    pub(crate) fn generation(&self) -> io::Result<u64> {
        let mut bytes = [0u8; 8];
        match self.file.read_exact_at(&mut bytes, 0) {
            Ok(()) => Ok(u64::from_le_bytes(bytes)),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(0),
            Err(e) => Err(e),
        }
    }

    /// Advances the generation. A new lock file starts at a random one, so a mailbox deleted
    /// and created again under the same name does not repeat an earlier generation.
    pub(crate) fn bump_generation(&self) -> io::Result<()> {
        let next = match self.generation()? {
            0 => rand::random::<u64>() | 1,
            g => g.wrapping_add(1).max(1),
        };
        self.file.write_all_at(&next.to_le_bytes(), 0)
    }
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
            Ok(()) => return Ok(Held { file }),
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(Error::io(path, io::Error::from(e))),
        }
    }
}

/// Takes the exclusive lock if free; [`Error::InUse`] if someone holds it.
pub(crate) fn try_exclusive(path: &Path) -> Result<Held, Error> {
    let file = open(path)?;
    match flock(&file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(Held { file }),
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
    fn generation_starts_random_and_advances_in_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(INDEX_LOCK);
        let held = exclusive(&path).unwrap();
        assert_eq!(held.generation().unwrap(), 0);
        held.bump_generation().unwrap();
        let first = held.generation().unwrap();
        assert_ne!(first, 0);
        drop(held);
        let again = exclusive(&path).unwrap();
        assert_eq!(again.generation().unwrap(), first);
        again.bump_generation().unwrap();
        assert_eq!(again.generation().unwrap(), first.wrapping_add(1).max(1));
    }

    #[test]
    fn missing_directory_is_an_io_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = exclusive(&dir.path().join("no/such/lock")).unwrap_err();
        assert!(matches!(err, Error::Io { .. }));
    }
}
