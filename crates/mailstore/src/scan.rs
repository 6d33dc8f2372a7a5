//! Reconciling a mailbox directory with its UID index. Everything here runs under the
//! mailbox's index lock, so no other calm process renames, expunges or assigns UIDs meanwhile;
//! only delivery (which writes `new/` without locking, as the maildir spec intends) runs in
//! parallel, and a file it adds during a scan is simply picked up by the next one.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{Error, IoContext};
use crate::filename;
use crate::lock;
use crate::uidlist::{self, Loaded, Record, UidList};

/// Brings the index up to date with the directory: moves `new/` into `cur/`, drops records of
/// vanished files, gives new files the next UIDs, rebuilds a missing or corrupt index with a
/// new UIDVALIDITY, and writes the index if anything changed. Returns the index with every
/// record's current file name.
pub(crate) fn sync_locked(dir: &Path, validity_hint: &Path) -> Result<UidList, Error> {
    let loaded = uidlist::load(dir)?;
    let on_disk = scan(dir)?;
    let (mut list, rebuilt) = match loaded {
        Loaded::Valid(list) => (list, false),
        Loaded::Missing => (fresh(validity_hint, None)?, true),
        Loaded::Corrupt { uid_validity } => (fresh(validity_hint, uid_validity)?, true),
    };
    let changed = reconcile(dir, &mut list, on_disk, validity_hint)?;
    if changed || rebuilt {
        uidlist::store(dir, &list)?;
    }
    Ok(list)
}

/// A new empty index with a UIDVALIDITY never used before for this user's mailboxes.
fn fresh(validity_hint: &Path, salvaged: Option<u32>) -> Result<UidList, Error> {
    Ok(UidList {
        uid_validity: next_uid_validity(validity_hint, salvaged)?,
        next_uid: 1,
        // Dovecot's mailbox GUID: 128 random bits in hex.
        header_extra: vec![format!("G{:032x}", rand::random::<u128>())],
        records: Vec::new(),
    })
}

/// RFC 3501 §2.3.1.1: if UIDs cannot be kept, UIDVALIDITY must grow. The current time is the
/// usual choice; the hint file (the last value issued under this Maildir root) keeps values
/// growing when a mailbox is rebuilt or recreated twice within a second, or the clock steps back.
pub(crate) fn next_uid_validity(hint: &Path, salvaged: Option<u32>) -> Result<u32, Error> {
    let _held = lock::exclusive(hint)?;
    let last: u32 = fs::read_to_string(hint)
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(0);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX))
        .unwrap_or(1);
    let value = now
        .max(last.saturating_add(1))
        .max(salvaged.unwrap_or(0).saturating_add(1));
    // Same inode (the lock stays valid): truncate and rewrite in place, then make it durable
    // before the value is used anywhere.
    let write = OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(hint)
        .and_then(|mut f| {
            f.write_all(format!("{value}\n").as_bytes())?;
            f.sync_all()
        });
    write.at(hint)?;
    Ok(value)
}

/// The messages on disk, base → current file name in `cur/`, after moving `new/` into `cur/`.
/// Two files with one base (a redelivery that slipped past the duplicate check, a restored
/// backup) would share a UID; the later one gets a fresh base instead, so nothing is lost.
fn scan(dir: &Path) -> Result<HashMap<String, String>, Error> {
    let cur = dir.join("cur");
    let mut map: HashMap<String, String> = HashMap::new();
    let mut later = Vec::new();
    for name in unsorted_names(&cur)? {
        let base = filename::split(&name).0.to_owned();
        match map.entry(base) {
            Entry::Vacant(slot) => {
                slot.insert(name);
            }
            // Of two files with one base, the earlier in arrival order keeps it.
            Entry::Occupied(mut slot) => {
                if order_key(&name) < order_key(slot.get()) {
                    later.push(slot.insert(name));
                } else {
                    later.push(name);
                }
            }
        }
    }
    for name in later {
        let renamed = rename_fresh(&cur.join(&name), &cur, &name)?;
        insert(&mut map, renamed);
    }
    let new = dir.join("new");
    for name in message_names(&new)? {
        let (base, info) = filename::split(&name);
        let from = new.join(&name);
        let moved = if map.contains_key(base) {
            rename_fresh(&from, &cur, &name)?
        } else {
            // Maildir spec: a reader moves `new/BASE` to `cur/BASE:2,` once it has seen it.
            let target = format!("{base}:{}", info.unwrap_or("2,"));
            match fs::rename(&from, cur.join(&target)) {
                Ok(()) => Some(target),
                Err(e) if e.kind() == io::ErrorKind::NotFound => None,
                Err(e) => return Err(Error::io(&from, e)),
            }
        };
        insert(&mut map, moved);
    }
    Ok(map)
}

fn insert(map: &mut HashMap<String, String>, file: Option<String>) {
    if let Some(file) = file {
        map.insert(filename::split(&file).0.to_owned(), file);
    }
}

/// The message file names in a directory, sorted (oldest delivery first for time-named files).
pub(crate) fn message_names(dir: &Path) -> Result<Vec<String>, Error> {
    let mut names = unsorted_names(dir)?;
    names.sort_unstable_by(|a, b| order_key(a).cmp(&order_key(b)));
    Ok(names)
}

/// True if `new/` holds a message (delivered since the last sync).
pub(crate) fn has_new(dir: &Path) -> Result<bool, Error> {
    Ok(!unsorted_names(&dir.join("new"))?.is_empty())
}

/// The message file names in a directory, in directory order.
fn unsorted_names(dir: &Path) -> Result<Vec<String>, Error> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(dir, e)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.at(dir)?;
        if entry.file_type().map(|t| t.is_dir()).unwrap_or(true) {
            continue;
        }
        // A name that is not UTF-8 cannot be represented in the index; such files are left
        // alone (no calm or Dovecot delivery produces them).
        if let Ok(name) = entry.file_name().into_string()
            && filename::is_message_name(&name)
        {
            names.push(name);
        }
    }
    Ok(names)
}

/// Delivery time first (the leading seconds), then the name: UIDs follow arrival order.
fn order_key(name: &str) -> (u64, &str) {
    let digits = name.bytes().take_while(u8::is_ascii_digit).count();
    let secs = name.get(..digits.min(19)).and_then(|d| d.parse().ok());
    (secs.unwrap_or(u64::MAX), name)
}

/// Moves `from` into `cur/` under a fresh base, keeping its info; `None` if it vanished.
fn rename_fresh(from: &Path, cur: &Path, name: &str) -> Result<Option<String>, Error> {
    let (size, vsize) = match measure(from) {
        Ok(sizes) => sizes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(from, e)),
    };
    let info = filename::split(name).1.unwrap_or("2,");
    let target = format!("{}:{info}", filename::unique_base(size, vsize));
    fs::rename(from, cur.join(&target)).at(from)?;
    Ok(Some(target))
}

/// The file's size and its size with CRLF line ends (RFC822.SIZE).
pub(crate) fn measure(path: &Path) -> io::Result<(u64, u64)> {
    let mut file = File::open(path)?;
    let mut buf = vec![0u8; 64 * 1024];
    let (mut size, mut extra, mut prev_cr) = (0u64, 0u64, false);
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => return Ok((size, size + extra)),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let chunk = buf.get(..n).unwrap_or_default();
        size += n as u64;
        extra += filename::crlf_extra(chunk, &mut prev_cr);
    }
}

/// Updates `list` to match `on_disk`; true if the index file must be rewritten. A changed
/// file name alone (a flag change) does not force a rewrite: like Dovecot, the name in the
/// index is a hint, refreshed whenever the file is written for another reason.
fn reconcile(
    dir: &Path,
    list: &mut UidList,
    mut on_disk: HashMap<String, String>,
    validity_hint: &Path,
) -> Result<bool, Error> {
    let cur = dir.join("cur");
    let before = list.records.len();
    let mut changed = false;
    let mut kept = Vec::with_capacity(before);
    for mut rec in std::mem::take(&mut list.records) {
        let Some(file) = on_disk.remove(rec.base()) else {
            continue;
        };
        rec.file = file;
        if rec.vsize().is_none() {
            changed |= add_vsize(&cur, &mut rec)?;
        }
        kept.push(rec);
    }
    list.records = kept;
    changed |= list.records.len() != before;
    let mut fresh: Vec<String> = on_disk.into_values().collect();
    fresh.sort_unstable_by(|a, b| order_key(a).cmp(&order_key(b)));
    if !fresh.is_empty() && list.next_uid.checked_add(fresh.len() as u32).is_none() {
        // UIDs are 32-bit (RFC 3501 §2.3.1.1); when they run out, renumber under a new UIDVALIDITY.
        renumber(list, validity_hint)?;
    }
    for file in fresh {
        let mut rec = Record {
            uid: list.next_uid,
            ext: Vec::new(),
            file,
        };
        if rec.vsize().is_none() && !add_vsize(&cur, &mut rec)? {
            continue; // vanished meanwhile
        }
        list.next_uid += 1;
        list.records.push(rec);
        changed = true;
    }
    Ok(changed)
}

/// Records the RFC822.SIZE as a `W` field so the file is read once, not at every session.
/// False if the file is gone.
fn add_vsize(cur: &Path, rec: &mut Record) -> Result<bool, Error> {
    let path = cur.join(&rec.file);
    match measure(&path) {
        Ok((_, vsize)) => {
            rec.ext.retain(|e| !e.starts_with('W'));
            rec.ext.push(format!("W{vsize}"));
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io(&path, e)),
    }
}

fn renumber(list: &mut UidList, validity_hint: &Path) -> Result<(), Error> {
    list.uid_validity = next_uid_validity(validity_hint, Some(list.uid_validity))?;
    list.next_uid = 1;
    for rec in &mut list.records {
        rec.uid = list.next_uid;
        list.next_uid += 1;
    }
    Ok(())
}

/// The current file name in `cur/` of the message with this base, by scanning the directory.
pub(crate) fn find_current(dir: &Path, base: &str) -> Result<Option<String>, Error> {
    Ok(unsorted_names(&dir.join("cur"))?
        .into_iter()
        .find(|name| filename::split(name).0 == base))
}

#[cfg(test)]
mod tests;
