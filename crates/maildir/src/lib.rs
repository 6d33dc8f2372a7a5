//! # Brief overview
//!
//! `calm-maildir` writes messages into Maildir mailboxes (the format of
//! <https://cr.yp.to/proto/maildir.html>, as read by Dovecot, mutt, mbsync and others).
//! It is the only crate that writes mailbox files.
//!
//! Key types:
//! - [`Maildir`]: one mailbox directory with its `tmp/`, `new/` and `cur/` folders.
//! - [`Item`] and [`deliver_batch`]: deliver many messages with shared flushes (group
//!   commit): every file is written into `tmp/`, one `syncfs` makes all of them durable, they
//!   are renamed into `new/`, and a second `syncfs` makes the renames durable. A per-message
//!   fsync would cap delivery at the disk's fsync rate; a batch pays it twice in all.
//! - [`unique_name`]: the deterministic file name of a delivery. The same queue id and
//!   recipient always give the same name, so a delivery repeated after a crash finds its own
//!   earlier file instead of writing a second copy ([`Maildir::contains`]).
//!
//! What it deliberately does not do: read mailboxes for IMAP/POP3, keep UID indexes, or enforce
//! quotas. Those belong to the mailbox-retrieval layer.
//!
//! ```no_run
//! use calm_maildir::{deliver_batch, unique_name, Item, Maildir};
//! let mbox = Maildir::create("calm-data/mail/example.test/bob".as_ref())?;
//! let name = unique_name(1_700_000_000, "Q0123", "bob@example.test", "mx.example.test", 5);
//! let item = Item { maildir: &mbox, name, prefix: b"", data: b"hello", check_existing: false };
//! for result in deliver_batch(&[item]) { result?; }
//! # Ok::<(), calm_maildir::Error>(())
//! ```

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// A failure to deliver into a Maildir, naming the path involved.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct Error {
    /// The file or directory that could not be written.
    pub path: PathBuf,
    /// The underlying I/O error.
    #[source]
    pub source: io::Error,
}

impl Error {
    fn at(path: &Path, source: io::Error) -> Error {
        Error {
            path: path.to_path_buf(),
            source,
        }
    }

    /// True when the error means "no space left" or "quota exceeded": a temporary local fault.
    pub fn is_no_space(&self) -> bool {
        matches!(self.source.raw_os_error(), Some(28) | Some(122))
    }
}

/// One Maildir mailbox: a directory holding `tmp/`, `new/` and `cur/`.
#[derive(Debug, Clone)]
pub struct Maildir {
    root: PathBuf,
}

impl Maildir {
    /// Opens the mailbox at `root`, creating it (and its parents) durably if it does not exist.
    pub fn create(root: &Path) -> Result<Maildir, Error> {
        for sub in ["tmp", "new", "cur"] {
            let dir = root.join(sub);
            if !dir.is_dir() {
                create_dir_durable(&dir)?;
            }
        }
        Ok(Maildir {
            root: root.to_path_buf(),
        })
    }

    /// The mailbox's root directory.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// True if a message whose base name is `name` is already in `new/` or `cur/`.
    ///
    /// A reader moves a message from `new/NAME` to `cur/NAME:2,FLAGS` (Maildir spec), so
    /// `cur/` is matched on the part before the `:`.
    pub fn contains(&self, name: &str) -> Result<bool, Error> {
        let new = self.root.join("new").join(name);
        if new.exists() {
            return Ok(true);
        }
        let cur = self.root.join("cur");
        let entries = fs::read_dir(&cur).map_err(|e| Error::at(&cur, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::at(&cur, e))?;
            let file = entry.file_name();
            let file = file.to_string_lossy();
            if file.split(':').next() == Some(name) {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// Creates `dir` and any missing parents, fsyncing each parent so the new entries survive a crash.
pub fn create_dir_durable(dir: &Path) -> Result<(), Error> {
    let mut missing = Vec::new();
    let mut cur = dir;
    while !cur.exists() {
        missing.push(cur.to_path_buf());
        match cur.parent() {
            Some(p) if !p.as_os_str().is_empty() => cur = p,
            _ => break,
        }
    }
    for d in missing.iter().rev() {
        match fs::create_dir(d) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(Error::at(d, e)),
        }
        if let Some(parent) = d.parent() {
            fsync_dir(parent)?;
        }
    }
    Ok(())
}

/// Fsyncs a directory, making the entries created or renamed in it durable.
pub fn fsync_dir(dir: &Path) -> Result<(), Error> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(|e| Error::at(dir, e))
}

/// The Maildir file name for one recipient's copy of one message.
///
/// Format `TIME.QqueueidUhash.HOST,S=SIZE`: the classic `time.unique.host` with Dovecot's
/// `,S=` size field (Dovecot uses it to answer RFC822.SIZE without reading the file). The
/// unique part is derived from the queue id and the recipient, so it is stable across
/// restarts: that is what makes a repeated delivery detectable.
pub fn unique_name(time: u64, queue_id: &str, recipient: &str, host: &str, size: u64) -> String {
    let host = host.replace('/', "\\057").replace(':', "\\072");
    format!(
        "{time}.Q{queue_id}U{:016x}.{host},S={size}",
        fnv1a(recipient.as_bytes())
    )
}

/// FNV-1a, 64 bit: a stable hash (std's hashers may change between Rust releases).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// One message to deliver into one mailbox.
#[derive(Debug)]
pub struct Item<'a> {
    /// The mailbox.
    pub maildir: &'a Maildir,
    /// The file name, from [`unique_name`].
    pub name: String,
    /// Header lines added at delivery (e.g. `Return-Path:`, `Delivered-To:`), written before `data`.
    pub prefix: &'a [u8],
    /// The message as received, CRLF line endings.
    pub data: &'a [u8],
    /// Look for an earlier copy first (set when redelivering after a restart).
    pub check_existing: bool,
}

/// What happened to one [`Item`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Written and durable at this path.
    Delivered(PathBuf),
    /// An earlier delivery of the same message to the same recipient was found; nothing written.
    AlreadyPresent,
}

/// Delivers a batch of messages; each result is durable when returned.
///
/// Maildir's rule (write in `tmp/`, then rename into `new/`) keeps readers from seeing a half
/// written file; the two `syncfs` calls make file data and then the renames durable for the
/// whole batch at once.
pub fn deliver_batch(items: &[Item<'_>]) -> Vec<Result<Outcome, Error>> {
    let mut results: Vec<Result<Outcome, Error>> = Vec::with_capacity(items.len());
    let mut written: Vec<(usize, PathBuf, PathBuf)> = Vec::new();
    let mut syncers: HashMap<u64, File> = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        results.push(Ok(Outcome::AlreadyPresent));
        match write_tmp(item, &mut syncers) {
            Ok(Some((tmp, new))) => written.push((i, tmp, new)),
            Ok(None) => {}
            Err(e) => results[i] = Err(e),
        }
    }
    if let Err(e) = sync_all(&syncers) {
        fail_all(&mut results, &written, &e);
        return results;
    }
    let mut renamed = Vec::new();
    for (i, tmp, new) in written {
        match fs::rename(&tmp, &new) {
            Ok(()) => renamed.push((i, new)),
            Err(e) => results[i] = Err(Error::at(&new, e)),
        }
    }
    let done = sync_all(&syncers);
    for (i, new) in renamed {
        results[i] = match &done {
            Ok(()) => Ok(Outcome::Delivered(new)),
            Err(e) => Err(Error::at(
                &e.path,
                io::Error::new(e.source.kind(), e.source.to_string()),
            )),
        };
    }
    results
}

/// Writes one item into `tmp/`; returns its tmp and final paths, or None if already delivered.
fn write_tmp(
    item: &Item<'_>,
    syncers: &mut HashMap<u64, File>,
) -> Result<Option<(PathBuf, PathBuf)>, Error> {
    if item.check_existing && item.maildir.contains(&item.name)? {
        return Ok(None);
    }
    let tmp = item.maildir.root.join("tmp").join(&item.name);
    let new = item.maildir.root.join("new").join(&item.name);
    // A file left in tmp/ by a crash is never visible to readers: overwrite it.
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| Error::at(&tmp, e))?;
    let written = file
        .write_all(item.prefix)
        .and_then(|()| file.write_all(item.data));
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(Error::at(&tmp, e));
    }
    let dev = file.metadata().map_err(|e| Error::at(&tmp, e))?.dev();
    syncers.entry(dev).or_insert(file);
    Ok(Some((tmp, new)))
}

/// One `syncfs` per filesystem touched by the batch.
fn sync_all(syncers: &HashMap<u64, File>) -> Result<(), Error> {
    for file in syncers.values() {
        rustix::fs::syncfs(file).map_err(|e| Error::at(Path::new("syncfs"), e.into()))?;
    }
    Ok(())
}

fn fail_all(
    results: &mut [Result<Outcome, Error>],
    written: &[(usize, PathBuf, PathBuf)],
    e: &Error,
) {
    for (i, tmp, _) in written {
        let _ = fs::remove_file(tmp);
        results[*i] = Err(Error::at(
            &e.path,
            io::Error::new(e.source.kind(), e.source.to_string()),
        ));
    }
}

/// Bytes used by a Maildir++ mailbox: every message in `new/` and `cur/` of the root and of
/// each `.Folder`. The size comes from the `,S=` field of the name (Dovecot's convention, which
/// calm's own names carry) so no file is opened; names without it are `stat`ed. A missing
/// mailbox uses 0 bytes.
pub fn mailbox_size(root: &Path) -> u64 {
    let mut dirs = vec![root.to_path_buf()];
    if let Ok(entries) = fs::read_dir(root) {
        for entry in entries.flatten() {
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') && entry.path().is_dir() {
                dirs.push(entry.path());
            }
        }
    }
    let mut total = 0;
    for dir in dirs {
        for sub in ["new", "cur"] {
            let Ok(entries) = fs::read_dir(dir.join(sub)) else {
                continue;
            };
            for entry in entries.flatten() {
                total += size_of_entry(&entry);
            }
        }
    }
    total
}

fn size_of_entry(entry: &fs::DirEntry) -> u64 {
    let name = entry.file_name();
    let name = name.to_string_lossy();
    let from_name = name
        .split(':')
        .next()
        .and_then(|base| base.split(",S=").nth(1))
        .and_then(|s| s.split(',').next())
        .and_then(|s| s.parse().ok());
    from_name.unwrap_or_else(|| entry.metadata().map_or(0, |m| m.len()))
}

/// The mailbox directory of a user: `BASE/DOMAIN/LOCAL`, with characters that are unsafe in a
/// path component (`/`, NUL, a leading `.`) percent-encoded so no address can escape `BASE`.
pub fn mailbox_dir(base: &Path, user: &str) -> PathBuf {
    let (local, domain) = user.rsplit_once('@').unwrap_or((user, "_"));
    base.join(path_component(&domain.to_ascii_lowercase()))
        .join(path_component(local))
}

fn path_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for (i, c) in s.chars().enumerate() {
        match c {
            '/' | '\0' | '%' | '\\' => out.push_str(&format!("%{:02X}", c as u32)),
            '.' if i == 0 => out.push_str("%2E"),
            _ => out.push(c),
        }
    }
    if out.is_empty() { "%".to_string() } else { out }
}

#[cfg(test)]
mod tests;
