//! Changes to the UID index made with a change to `cur/`, under the mailbox lock. Each takes
//! the index as this process knows it (see `cache`), if it still matches the disk, and keeps it
//! up to date, so that neither the index nor `cur/` has to be read again.

use std::path::Path;

use crate::error::Error;
use crate::filename;
use crate::scan;
use crate::uidlist::{self, Loaded, Record, UidList};

use super::{Message, Uid};

/// Gives UIDs to files just placed in `cur/`: appends records to a valid index (`known`, or
/// else read from disk); a missing or corrupt one is rebuilt by a full sync instead, which
/// leaves `known` empty.
pub(super) fn index_new_files(
    dir: &Path,
    hint: &Path,
    known: &mut Option<UidList>,
    files: Vec<String>,
) -> Result<Vec<Uid>, Error> {
    if files.is_empty() {
        return Ok(Vec::new());
    }
    let mut loaded;
    let list = match known {
        Some(list) => list,
        None => match uidlist::load(dir)? {
            Loaded::Valid(list) => {
                loaded = list;
                &mut loaded
            }
            _ => return uids_after_full_sync(dir, hint, &files),
        },
    };
    let first = list.next_uid;
    if first.checked_add(files.len() as u32).is_none() {
        *known = None;
        return uids_after_full_sync(dir, hint, &files);
    }
    let records: Vec<Record> = (first..)
        .zip(files)
        .map(|(uid, file)| Record {
            uid,
            ext: Vec::new(), // the name carries `,W=`
            file,
        })
        .collect();
    let uids = records.iter().map(|r| r.uid).collect();
    list.next_uid = first + records.len() as u32;
    // Appending a few lines beats rewriting an index of thousands; a torn file is rewritten.
    let appended = uidlist::append(dir, &records)?;
    list.records.extend(records);
    if !appended {
        uidlist::store(dir, list)?;
    }
    Ok(uids)
}

fn uids_after_full_sync(dir: &Path, hint: &Path, files: &[String]) -> Result<Vec<Uid>, Error> {
    let list: UidList = scan::sync_locked(dir, hint)?;
    Ok(files
        .iter()
        .filter_map(|f| {
            let base = filename::split(f).0;
            list.records
                .iter()
                .find(|r| r.base() == base)
                .map(|r| r.uid)
        })
        .collect())
}

/// Drops the index records of expunged messages (`removed`, ascending UIDs), so a file later
/// restored under the same name is a new message. A missing or corrupt index is rebuilt by a
/// full sync instead (`known` is empty then). The caller fsyncs the directory: until then a
/// crash may bring back the old index, whose extra records only name files that are gone
/// (or, if their removal was lost too, the messages with their old UIDs).
pub(super) fn unindex(
    dir: &Path,
    hint: &Path,
    known: &mut Option<UidList>,
    removed: &[Message],
) -> Result<(), Error> {
    if removed.is_empty() {
        return Ok(());
    }
    let mut loaded;
    let list = match known {
        Some(list) => list,
        None => match uidlist::load(dir)? {
            Loaded::Valid(list) => {
                loaded = list;
                &mut loaded
            }
            _ => return scan::sync_locked(dir, hint).map(drop),
        },
    };
    let before = list.records.len();
    list.records.retain(|r| {
        let gone = removed.binary_search_by_key(&r.uid, |m| m.uid).ok();
        gone.and_then(|i| removed.get(i))
            .is_none_or(|m| m.base() != r.base())
    });
    if list.records.len() != before {
        uidlist::replace(dir, list)?;
    }
    Ok(())
}

/// The message's current file name in the known index; `None` if it is not there (expunged).
pub(super) fn current_name(list: &UidList, msg: &Message) -> Option<String> {
    let i = list
        .records
        .binary_search_by_key(&msg.uid, |r| r.uid)
        .ok()?;
    let rec = list.records.get(i)?;
    (rec.base() == msg.base()).then(|| rec.file.clone())
}

/// Records a message's new file name in the known index; false if it is not there.
pub(super) fn rename(list: &mut UidList, msg: &Message) -> bool {
    let Ok(i) = list.records.binary_search_by_key(&msg.uid, |r| r.uid) else {
        return false;
    };
    match list.records.get_mut(i) {
        Some(rec) if rec.base() == msg.base() => {
            rec.file.clone_from(&msg.file);
            true
        }
        _ => false,
    }
}
