//! The per-session view: [`Message`] entries built from the index, and the [`Changes`]
//! between two views.

use std::fs;
use std::io;
use std::path::Path;
use std::time::SystemTime;

use crate::error::Error;
use crate::filename;
use crate::flags::{Flags, Info};
use crate::modseq;
use crate::uidlist::UidList;

use super::Uid;

/// One message as a session sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Its UID.
    pub uid: Uid,
    /// Its system flags.
    pub flags: Flags,
    /// Octets on disk.
    pub size: u64,
    /// Octets with CRLF line ends: IMAP RFC822.SIZE, POP3 LIST/STAT sizes.
    pub rfc822_size: u64,
    /// IMAP INTERNALDATE: the file's mtime (as Dovecot uses it).
    pub internal_date: SystemTime,
    /// Its mod-sequence (RFC 7162 MODSEQ): raised by every change of its flags.
    pub modseq: u64,
    /// Current file name in `cur/`.
    pub(crate) file: String,
    /// The parsed info part, with keyword letters and extensions kept for renames.
    pub(crate) info: Info,
}

impl Message {
    /// The Maildir base name: the message's identity for its whole life, stable across flag
    /// changes and sessions. POP3 derives UIDL from it.
    pub fn base(&self) -> &str {
        filename::split(&self.file).0
    }

    /// The current file name in `cur/` (changes with the flags).
    pub fn file_name(&self) -> &str {
        &self.file
    }

    /// Flag letters beyond the system flags: Dovecot keyword letters `a`–`z` (named in
    /// `dovecot-keywords`, see [`super::Mailbox::message_keywords`]) and unknown capitals,
    /// which are kept through every flag change.
    pub fn keyword_letters(&self) -> &str {
        &self.info.other
    }
}

/// An expunged message: its UID and its sequence number in the view before the sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expunged {
    /// 1-based sequence number in the previous view. Sending IMAP `* n EXPUNGE` for these in
    /// descending order needs no renumbering.
    pub seq: usize,
    /// The UID.
    pub uid: Uid,
}

/// What [`super::Mailbox::sync`] found changed since the previous view.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// The index was rebuilt with a new UIDVALIDITY: every UID changed, so an IMAP server must
    /// end the selection (RFC 3501 §2.3.1.1). The other fields are empty then.
    pub uid_validity_changed: bool,
    /// Messages gone, ascending.
    pub expunged: Vec<Expunged>,
    /// Messages new to this view, ascending UIDs.
    pub new: Vec<Uid>,
    /// Messages whose flags someone else changed, ascending UIDs.
    pub flags: Vec<Uid>,
    /// The mailbox's keywords ([`super::Mailbox::keywords`]) changed: someone else defined
    /// one (or the keyword file was replaced), so an IMAP server sends FLAGS again.
    pub keywords: bool,
}

impl Changes {
    /// True if nothing changed.
    pub fn is_empty(&self) -> bool {
        *self == Changes::default()
    }
}

/// Builds the view from the index, reusing entries of `old` whose file is unchanged (no
/// `stat`); new entries are stat'ed for size and mtime. MODSEQs come from `modseqs`, which
/// the caller reconciled with `list`. Runs under the lock.
pub(crate) fn build(
    cur: &Path,
    list: &UidList,
    old: &[Message],
    modseqs: &modseq::State,
) -> Result<Vec<Message>, Error> {
    let mut messages = Vec::with_capacity(list.records.len());
    for rec in &list.records {
        let previous = old
            .binary_search_by_key(&rec.uid, |m| m.uid)
            .ok()
            .and_then(|i| old.get(i));
        let info = Info::parse(filename::split(&rec.file).1);
        let modseq = modseqs.get(rec.uid).unwrap_or_else(|| modseqs.highest());
        if let Some(prev) = previous.filter(|p| p.base() == rec.base()) {
            messages.push(Message {
                flags: info.flags,
                info,
                file: rec.file.clone(),
                modseq,
                ..prev.clone()
            });
            continue;
        }
        let path = cur.join(&rec.file);
        let meta = match fs::metadata(&path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io(&path, e)),
        };
        messages.push(Message {
            uid: rec.uid,
            flags: info.flags,
            size: meta.len(),
            rfc822_size: rec.vsize().unwrap_or(meta.len()),
            internal_date: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            modseq,
            file: rec.file.clone(),
            info,
        });
    }
    Ok(messages)
}

/// Compares two views (both sorted by UID).
pub(crate) fn diff(old: &[Message], new: &[Message]) -> Changes {
    let mut changes = Changes::default();
    let (mut i, mut j) = (0, 0);
    loop {
        match (old.get(i), new.get(j)) {
            (Some(o), Some(n)) if o.uid == n.uid => {
                if o.info != n.info {
                    changes.flags.push(n.uid);
                }
                i += 1;
                j += 1;
            }
            (Some(o), Some(n)) if o.uid < n.uid => {
                changes.expunged.push(Expunged {
                    seq: i + 1,
                    uid: o.uid,
                });
                i += 1;
            }
            (Some(o), None) => {
                changes.expunged.push(Expunged {
                    seq: i + 1,
                    uid: o.uid,
                });
                i += 1;
            }
            (_, Some(n)) => {
                changes.new.push(n.uid);
                j += 1;
            }
            (None, None) => return changes,
        }
    }
}
