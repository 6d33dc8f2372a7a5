//! MODSEQs (RFC 7162 CONDSTORE): a mod-sequence per message and the mailbox's HIGHESTMODSEQ,
//! kept in `calm-modseq` beside `dovecot-uidlist` (Dovecot keeps them in its own indexes,
//! which calm does not write).
//!
//! ```text
//! calm-modseq 1 V1275660208 H1732900000123456
//! 25006 1732900000123456 :2,S
//! 25017 1732900000123457 :2,FSa
//! 25006 1732900000123458 X
//! ```
//!
//! Header: format version, `V` the UIDVALIDITY the values belong to, `H` HIGHESTMODSEQ. A line:
//! UID, MODSEQ, then `:` and the info suffix (flags and keyword letters) of the file name the
//! MODSEQ was given for, or `X` for an expunge. Later lines win, so a change appends lines
//! under the mailbox lock (cheap on a mailbox of thousands) and the file is rewritten
//! atomically (temp file, fsync, rename) only when it holds more than twice as many lines as
//! messages.
//!
//! Every change gets the next value: APPEND, COPY and MOVE in, flag and keyword changes,
//! EXPUNGE. Changes made behind calm's back (another Maildir client renaming a file) are
//! found when a view is built: a message whose info differs from the one recorded gets a new
//! value then, and so does a new message.
//!
//! Rebuilding: a missing or corrupt file (or a torn last line) starts over with every message
//! at a value derived from the current time in microseconds, larger than any value handed
//! out before (values grow by one per change, far slower than the clock), so no client is
//! told "unchanged" about a change it has not seen. A file of another UIDVALIDITY starts at
//! 1 (RFC 7162 §3.1: clients drop their MODSEQs with the UIDs).
//!
//! Appends are not fsynced (a STORE would wait for the disk): a power failure may lose the
//! last lines. So the first time a process reads a mailbox's file, HIGHESTMODSEQ is raised in
//! memory to the clock in microseconds (and never falls below that while the process runs):
//! a message whose line was lost differs from what the file says, and gets a value above
//! anything shown before the failure, as does every later change.

use std::collections::HashMap;
use std::fs::{self};
use std::io::{self};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, Weak};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::Error;
use crate::filename;
use crate::uidlist::UidList;

/// The file's name in the mailbox directory (not dot-prefixed: it would look like a folder).
pub(crate) const FILE: &str = "calm-modseq";

/// A stamp no file has: the state must be read again.
const FORGOTTEN: (u64, u64, i64, i64) = (u64::MAX, u64::MAX, i64::MIN, i64::MIN);

/// RFC 7162 §7: `mod-sequence-value` is at most 2^63 - 1.
pub(crate) const MAX: u64 = i64::MAX as u64;

/// One mailbox's MODSEQs, shared by this process's sessions on it; `None` until read.
pub(crate) type Shared = Arc<Mutex<Option<State>>>;

/// Every mailbox some session of this process has open, by directory.
type Registry = HashMap<PathBuf, Weak<Mutex<Option<State>>>>;

/// The MODSEQs as last read or written, with the file's identity at that moment.
#[derive(Debug, Clone, Default)]
pub(crate) struct State {
    uid_validity: u32,
    highest: u64,
    entries: HashMap<u32, Entry>,
    /// Record lines in the file, for compaction.
    lines: usize,
    /// The file must be written whole at the next change (new, corrupt, other UIDVALIDITY).
    rewrite: bool,
    /// (inode, size, mtime, mtime_nsec) after the last read or write; `None` if missing.
    stamp: Option<(u64, u64, i64, i64)>,
    /// The next UID and record count of the index last reconciled with; `None` after a
    /// read or a rescan of the directory (see [`State::needs_reconcile`]).
    reconciled: Option<(u32, usize)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    modseq: u64,
    /// The info suffix the MODSEQ was given for.
    info: Box<str>,
}

/// The shared state of the mailbox in `dir`, the same for every caller in this process while
/// any of them holds it (as `cache::for_dir`).
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

/// The state of `dir` for UIDVALIDITY `uid_validity`, read again if another process changed
/// the file. The caller holds the mailbox lock.
pub(crate) fn current<'a>(
    shared: &'a Shared,
    dir: &Path,
    uid_validity: u32,
) -> Result<MutexGuard<'a, Option<State>>, Error> {
    let mut guard = shared.lock().unwrap_or_else(|e| e.into_inner());
    let stamp = file_stamp(dir)?;
    let fresh = guard
        .as_ref()
        .is_some_and(|s| s.stamp == stamp && s.uid_validity == uid_validity);
    if !fresh {
        *guard = Some(State::load(dir, uid_validity)?);
    }
    Ok(guard)
}

impl State {
    /// Reads the file; a missing, corrupt or other-UIDVALIDITY file gives a state to be
    /// rewritten (see the module documentation for the starting values).
    fn load(dir: &Path, uid_validity: u32) -> Result<State, Error> {
        let path = dir.join(FILE);
        let floor = floor(dir);
        let stamp = file_stamp(dir)?;
        let text = match fs::read(&path) {
            Ok(bytes) => String::from_utf8(bytes).ok(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(Error::io(&path, e)),
        };
        let parsed = text.as_deref().and_then(parse);
        let mut state = match parsed {
            Some(mut state) if state.uid_validity == uid_validity => {
                state.highest = state.highest.max(floor);
                state
            }
            Some(_) => State::default(),
            None => State {
                highest: now_micros(),
                ..State::default()
            },
        };
        if state.uid_validity != uid_validity {
            state.uid_validity = uid_validity;
            state.rewrite = true;
        }
        state.stamp = stamp;
        Ok(state)
    }

    /// HIGHESTMODSEQ (at least 1).
    pub fn highest(&self) -> u64 {
        self.highest.max(1)
    }

    /// The MODSEQ of a message, if it has one.
    pub fn get(&self, uid: u32) -> Option<u64> {
        self.entries.get(&uid).map(|e| e.modseq)
    }

    /// True if the message's MODSEQ was given for the file name info suffix `info`.
    pub fn has_info(&self, uid: u32, info: &str) -> bool {
        self.entries.get(&uid).is_some_and(|e| *e.info == *info)
    }

    /// False if `list` can hold no change without a MODSEQ: it was reconciled with, and has
    /// the same next UID and number of messages (no append, no expunge since; calm's own flag
    /// changes get theirs when made), and no rescan of the directory (which may have found
    /// renames behind calm's back) came since. Spares a walk over every message after each
    /// STORE.
    pub fn needs_reconcile(&self, list: &UidList) -> bool {
        self.rewrite || self.reconciled != Some((list.next_uid, list.records.len()))
    }

    /// Gives the next MODSEQ to new messages, to messages whose file name changed since their
    /// MODSEQ was given, and (raising HIGHESTMODSEQ) to the messages gone from `list`.
    pub fn reconcile(&mut self, dir: &Path, list: &UidList) -> Result<(), Error> {
        let mut changed: Vec<(u32, &str)> = Vec::new();
        for rec in &list.records {
            let info = filename::split(&rec.file).1.unwrap_or_default();
            if !self.has_info(rec.uid, info) {
                changed.push((rec.uid, info));
            }
        }
        let gone: Vec<u32> = self
            .entries
            .keys()
            .copied()
            .filter(|uid| list.records.binary_search_by_key(uid, |r| r.uid).is_err())
            .collect();
        if !changed.is_empty() || !gone.is_empty() || self.rewrite {
            self.record(dir, &changed, &gone)?;
        }
        self.reconciled = Some((list.next_uid, list.records.len()));
        Ok(())
    }

    /// Gives the next MODSEQ to these messages (UID, new info suffix) and returns it.
    pub fn assign(&mut self, dir: &Path, changed: &[(u32, &str)]) -> Result<u64, Error> {
        self.record(dir, changed, &[])
    }

    /// Gives the next MODSEQ to `changed` and drops `gone`, on disk and here. If the file
    /// cannot be written (a full disk), the state is forgotten, so the next use reads the
    /// file again: no value that is not on disk is ever shown.
    fn record(&mut self, dir: &Path, changed: &[(u32, &str)], gone: &[u32]) -> Result<u64, Error> {
        let written = self.record_unchecked(dir, changed, gone);
        if written.is_err() {
            self.stamp = Some(FORGOTTEN);
        }
        written
    }

    fn record_unchecked(
        &mut self,
        dir: &Path,
        changed: &[(u32, &str)],
        gone: &[u32],
    ) -> Result<u64, Error> {
        let modseq = self.highest.saturating_add(1).min(MAX);
        let mut text = String::new();
        for &(uid, info) in changed {
            let entry = Entry {
                modseq,
                info: info.into(),
            };
            text.push_str(&format!("{uid} {modseq} :{info}\n"));
            self.entries.insert(uid, entry);
        }
        for uid in gone {
            text.push_str(&format!("{uid} {modseq} X\n"));
            self.entries.remove(uid);
        }
        self.highest = modseq;
        self.lines += changed.len() + gone.len();
        let compact = self.lines > self.entries.len().saturating_mul(2).saturating_add(256);
        if self.rewrite || compact || !append(dir, &text)? {
            self.store(dir)?;
        }
        self.stamp = file_stamp(dir)?;
        Ok(modseq)
    }

    /// Replaces the file with one line per message.
    fn store(&mut self, dir: &Path) -> Result<(), Error> {
        let mut uids: Vec<&u32> = self.entries.keys().collect();
        uids.sort_unstable();
        let mut text = format!("calm-modseq 1 V{} H{}\n", self.uid_validity, self.highest);
        for uid in uids {
            if let Some(e) = self.entries.get(uid) {
                text.push_str(&format!("{uid} {} :{}\n", e.modseq, e.info));
            }
        }
        crate::files::replace(dir, FILE, text.as_bytes())?;
        self.lines = self.entries.len();
        self.rewrite = false;
        Ok(())
    }
}

/// Records that the directory was rescanned: the next view reconciles every message.
pub(crate) fn rescanned(shared: &Shared) {
    if let Some(state) = shared.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
        state.reconciled = None;
    }
}

/// Parses the file; `None` if anything is wrong with it.
fn parse(text: &str) -> Option<State> {
    let mut lines = text.split_inclusive('\n');
    let mut fields = lines.next()?.strip_suffix('\n')?.split(' ');
    if fields.next()? != "calm-modseq" || fields.next()? != "1" {
        return None;
    }
    let uid_validity = fields.next()?.strip_prefix('V')?.parse().ok()?;
    let mut state = State {
        uid_validity,
        highest: value(fields.next()?.strip_prefix('H')?)?,
        ..State::default()
    };
    for line in lines {
        // A line without its newline is a torn append.
        let (uid, rest) = line.strip_suffix('\n')?.split_once(' ')?;
        let uid: u32 = uid.parse().ok()?;
        let (modseq, what) = rest.split_once(' ')?;
        let modseq = value(modseq)?;
        if what == "X" {
            state.entries.remove(&uid);
        } else {
            let info = what.strip_prefix(':')?.into();
            state.entries.insert(uid, Entry { modseq, info });
        }
        state.highest = state.highest.max(modseq);
        state.lines += 1;
    }
    Some(state)
}

/// A `mod-sequence-value`: 1 to 2^63 - 1.
fn value(text: &str) -> Option<u64> {
    text.parse().ok().filter(|v| (1..=MAX).contains(v))
}

/// Appends `text` to the file (not fsynced: see the module's note on crashes); false, with
/// nothing written, if it is missing, empty or torn.
fn append(dir: &Path, text: &str) -> Result<bool, Error> {
    crate::files::append_if_intact(&dir.join(FILE), text.as_bytes(), false)
}

fn file_stamp(dir: &Path) -> Result<Option<(u64, u64, i64, i64)>, Error> {
    let path = dir.join(FILE);
    match fs::metadata(&path) {
        Ok(m) => Ok(Some((m.ino(), m.size(), m.mtime(), m.mtime_nsec()))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(&path, e)),
    }
}

/// The least HIGHESTMODSEQ of `dir` in this process: the clock in microseconds when the
/// process first read the file. Appends are not fsynced, so after a power failure the file
/// may lack values clients were shown; the next value given is above this floor, hence above
/// any of them. Costs clients one needless resynchronisation per mailbox per restart.
fn floor(dir: &Path) -> u64 {
    static FLOORS: LazyLock<Mutex<HashMap<PathBuf, u64>>> = LazyLock::new(Mutex::default);
    let mut floors = FLOORS.lock().unwrap_or_else(|e| e.into_inner());
    *floors.entry(dir.to_path_buf()).or_insert_with(now_micros)
}

/// The starting value of a rebuilt file: the time in microseconds (about 2^51 today).
fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |d| u64::try_from(d.as_micros()).unwrap_or(MAX / 2))
}

#[cfg(test)]
mod tests;
