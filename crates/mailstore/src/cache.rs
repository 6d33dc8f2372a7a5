//! What this process knows of a mailbox's index, shared by all its sessions on that mailbox, so
//! a sync under the lock need not list `cur/` and parse `dovecot-uidlist` when nothing changed
//! behind the process's back.
//!
//! Every change calm makes under the index lock (a sync that moved or renamed files or wrote
//! the index, a flag rename, an append, an expunge) ends by bumping a generation number kept in
//! the lock file, and a writer in this process also applies its change to the shared [`Known`]
//! state. The state is trusted only while the disk still shows what it was recorded with: the
//! same generation (so no other process changed anything through calm), the same modification
//! time of `cur/` (so no one changed it behind calm's back) and the same index file (inode,
//! size and mtime; so no one replaced or deleted it). `new/` is always listed (delivery does
//! not take the lock), which is cheap: it holds only what arrived since the last sync.
//!
//! Like Dovecot's own `cur/` mtime check, this cannot see a foreign (non-calm) change made
//! within the file system's timestamp granularity of calm's last change (running another
//! program on the Maildir at the same time is not supported; see the crate documentation).
//! So, as Dovecot does, a state recorded while `cur/`'s mtime was younger than [`SETTLE`] is
//! read from disk once more when the mtime has aged past it: such a change is seen at the
//! first sync after [`SETTLE`] of quiet, or at the next change.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, Weak};
use std::time::{Duration, SystemTime};

use crate::error::{Error, IoContext};
use crate::lock::Held;
use crate::mailbox::Message;
use crate::uidlist::{self, UidList};

/// One mailbox's shared state; `None` when not known.
pub(crate) type Shared = Arc<Mutex<Option<Known>>>;

/// Every mailbox some session of this process has open, by directory.
type Registry = HashMap<PathBuf, Weak<Mutex<Option<Known>>>>;

/// How old `cur/`'s mtime must be for no later change to share its timestamp: well above
/// the timestamp granularity of the file systems a Maildir lives on (ext4's and XFS's clock
/// tick, one second at worst). The IMAP server's IDLE poll keeps syncing while a mailbox's
/// directories are younger than the same 2 seconds.
pub(crate) const SETTLE: Duration = Duration::from_secs(2);

/// The index as last synced or changed by this process, with the disk's stamp at that moment.
#[derive(Debug)]
pub(crate) struct Known {
    pub stamp: Stamp,
    /// Read from disk when `cur/`'s mtime was already older than [`SETTLE`].
    pub settled: bool,
    /// Every record with its current file name in `cur/`.
    pub list: UidList,
    /// The sessions' view of `list`, once one of them built it.
    pub view: Option<Arc<Vec<Message>>>,
}

/// What identifies the state of a mailbox on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stamp {
    generation: u64,
    cur_mtime: SystemTime,
    index: Option<(u64, u64, i64, i64)>,
}

impl Stamp {
    /// True if `cur/` last changed more than [`SETTLE`] ago.
    pub fn settled(&self) -> bool {
        SystemTime::now()
            .duration_since(self.cur_mtime)
            .is_ok_and(|age| age > SETTLE)
    }

    /// Reads the stamp; the caller holds the index lock `held`.
    pub fn read(dir: &Path, held: &Held) -> Result<Stamp, Error> {
        let cur = dir.join("cur");
        let cur_mtime = fs::metadata(&cur).and_then(|m| m.modified()).at(&cur)?;
        let path = dir.join(uidlist::FILE);
        let index = match fs::metadata(&path) {
            Ok(m) => Some((m.ino(), m.size(), m.mtime(), m.mtime_nsec())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(Error::io(&path, e)),
        };
        Ok(Stamp {
            generation: held.generation().at(dir)?,
            cur_mtime,
            index,
        })
    }
}

/// The shared state of the mailbox in `dir`, the same for every caller in this process while
/// any of them holds it.
pub(crate) fn for_dir(dir: &Path) -> Shared {
    static ALL: LazyLock<Mutex<Registry>> = LazyLock::new(Mutex::default);
    let mut all = ALL.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(shared) = all.get(dir).and_then(Weak::upgrade) {
        return shared;
    }
    all.retain(|_, weak| weak.strong_count() > 0);
    let shared = Shared::default();
    all.insert(dir.to_path_buf(), Arc::downgrade(&shared));
    shared
}

/// Locks the shared state (held only while the index lock is held, so never contended long).
pub(crate) fn get(shared: &Shared) -> MutexGuard<'_, Option<Known>> {
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

/// The known index if it is still what is on disk (`now`): the same stamp, and not recorded
/// while `cur/` was fresh if it has settled since.
pub(crate) fn valid<'a>(known: &'a mut Option<Known>, now: &Stamp) -> Option<&'a mut UidList> {
    known
        .as_mut()
        .filter(|k| k.stamp == *now && (k.settled || !now.settled()))
        .map(|k| &mut k.list)
}

/// Records a change: bumps the generation and, if `list` is the index as it now is on disk,
/// remembers it; otherwise forgets what was known, so the next sync reads the disk.
pub(crate) fn changed(
    dir: &Path,
    held: &Held,
    known: &mut Option<Known>,
    list: Option<UidList>,
) -> Result<(), Error> {
    *known = None;
    held.bump_generation().at(dir)?;
    if let Some(list) = list {
        let stamp = Stamp::read(dir, held)?;
        *known = Some(Known {
            stamp,
            settled: false,
            list,
            view: None,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
