//! The UID index: Dovecot's `dovecot-uidlist` format, version 3, so Dovecot and calm agree on
//! UIDs when a Maildir moves from one to the other.
//!
//! ```text
//! 3 V1275660208 N25022 G3085f01b7f11094c501100008c4a11c1
//! 25006 :1276528487.M364837P9451.kurkku,S=1355,W=1394:2,
//! 25017 W2481 :1276533073.M242911P3632.kurkku:2,F
//! ```
//!
//! Header: version, `V` UIDVALIDITY, `N` next UID, `G` mailbox GUID (field order free). A
//! record: UID, optional `KEYvalue` fields (`W` = RFC822.SIZE), then `:` and the last known
//! file name, whose part before `:` identifies the message. Version 1 (Courier's
//! `courierimapuiddb` shape, `1 <validity> <next>` and `<uid> <name>`) is read too.
//!
//! Under the mailbox lock the file is either replaced whole (temp file, fsync, rename, fsync
//! the directory), so readers see the old or the new version and a crash loses neither, or,
//! for new messages, extended by appending records and fsyncing, as Dovecot does: the header's
//! `N` may then lag behind, and a record at or above it raises the next UID past itself
//! (Dovecot's reader does the same). An append never follows a line without its newline.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self};
use std::path::Path;

use crate::error::{Error, IoContext};
use crate::filename;

/// The index's file name, as Dovecot names it.
pub(crate) const FILE: &str = "dovecot-uidlist";

/// A parsed index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UidList {
    pub uid_validity: u32,
    pub next_uid: u32,
    /// Header fields other than `V` and `N` (Dovecot's `G` GUID, future ones), kept as found.
    pub header_extra: Vec<String>,
    /// Sorted by UID, strictly increasing.
    pub records: Vec<Record>,
}

/// One message's entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    pub uid: u32,
    /// `KEYvalue` fields, kept as found (Dovecot writes `W`, and `G` on some versions).
    pub ext: Vec<String>,
    /// The last known file name (base plus info).
    pub file: String,
}

impl Record {
    pub fn base(&self) -> &str {
        filename::split(&self.file).0
    }

    /// The RFC822.SIZE, from the `W` field or the name's `,W=`.
    pub fn vsize(&self) -> Option<u64> {
        let from_ext = self
            .ext
            .iter()
            .find_map(|e| e.strip_prefix('W')?.parse().ok());
        from_ext.or_else(|| filename::size_field(self.base(), 'W'))
    }
}

/// What was found on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Loaded {
    /// No index yet (new mailbox, or deleted by an operator).
    Missing,
    /// Unreadable; the UIDVALIDITY is given if at least the header made sense.
    Corrupt { uid_validity: Option<u32> },
    /// A valid index.
    Valid(UidList),
}

/// Reads the index of the mailbox directory `dir`.
pub(crate) fn load(dir: &Path) -> Result<Loaded, Error> {
    let path = dir.join(FILE);
    let bytes = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Loaded::Missing),
        Err(e) => return Err(Error::io(&path, e)),
    };
    let Ok(text) = String::from_utf8(bytes) else {
        return Ok(Loaded::Corrupt { uid_validity: None });
    };
    Ok(parse(&text))
}

/// Parses index text; never fails, a bad file is [`Loaded::Corrupt`].
pub(crate) fn parse(text: &str) -> Loaded {
    let mut lines = text.lines();
    let Some(header) = parse_header(lines.next().unwrap_or_default()) else {
        return Loaded::Corrupt { uid_validity: None };
    };
    let (version, mut list) = header;
    let corrupt = Loaded::Corrupt {
        uid_validity: Some(list.uid_validity),
    };
    let mut bases = HashSet::new();
    let mut last = 0u32;
    for line in lines.filter(|l| !l.is_empty()) {
        let Some(rec) = parse_record(version, line) else {
            return corrupt;
        };
        // UIDs ascend strictly; a base appears once.
        if rec.uid <= last || !bases.insert(rec.base().to_owned()) {
            return corrupt;
        }
        last = rec.uid;
        list.records.push(rec);
    }
    // Appended records are not counted in the header's next UID.
    match last.checked_add(1) {
        Some(next) => list.next_uid = list.next_uid.max(next),
        None => return corrupt,
    }
    Loaded::Valid(list)
}

fn parse_header(line: &str) -> Option<(u8, UidList)> {
    let mut fields = line.split(' ');
    let mut list = UidList {
        uid_validity: 0,
        next_uid: 0,
        header_extra: Vec::new(),
        records: Vec::new(),
    };
    let version = match fields.next()? {
        "1" => {
            list.uid_validity = fields.next()?.parse().ok()?;
            list.next_uid = fields.next()?.parse().ok()?;
            1
        }
        "3" => {
            for field in fields.filter(|f| !f.is_empty()) {
                if let Some(v) = field.strip_prefix('V') {
                    list.uid_validity = v.parse().ok()?;
                } else if let Some(n) = field.strip_prefix('N') {
                    list.next_uid = n.parse().ok()?;
                } else {
                    list.header_extra.push(field.to_owned());
                }
            }
            3
        }
        _ => return None,
    };
    (list.uid_validity != 0 && list.next_uid != 0).then_some((version, list))
}

fn parse_record(version: u8, line: &str) -> Option<Record> {
    let (uid, rest) = line.split_once(' ')?;
    let uid: u32 = uid.parse().ok()?;
    let (ext, file) = if version == 1 {
        (Vec::new(), rest)
    } else if let Some(file) = rest.strip_prefix(':') {
        (Vec::new(), file)
    } else {
        let (ext, file) = rest.split_once(" :")?;
        (ext.split(' ').map(str::to_owned).collect(), file)
    };
    (uid != 0 && filename::is_message_name(file)).then(|| Record {
        uid,
        ext,
        file: file.to_owned(),
    })
}

/// The file's text. Adds a random `G` GUID if the header has none (Dovecot expects one).
pub(crate) fn serialize(list: &UidList) -> String {
    let mut out = format!("3 V{} N{}", list.uid_validity, list.next_uid);
    for field in &list.header_extra {
        out.push(' ');
        out.push_str(field);
    }
    if !list.header_extra.iter().any(|f| f.starts_with('G')) {
        out.push_str(&format!(" G{:032x}", rand::random::<u128>()));
    }
    out.push('\n');
    for rec in &list.records {
        push_record(&mut out, rec);
    }
    out
}

fn push_record(out: &mut String, rec: &Record) {
    out.push_str(&rec.uid.to_string());
    for e in &rec.ext {
        out.push(' ');
        out.push_str(e);
    }
    out.push_str(" :");
    out.push_str(&rec.file);
    out.push('\n');
}

/// Appends records (with UIDs above every UID in the file) to the index and fsyncs it. The
/// caller holds the mailbox lock. False, with nothing written, if the file is missing, empty
/// or does not end with a newline (a torn write): the caller replaces it whole instead.
pub(crate) fn append(dir: &Path, records: &[Record]) -> Result<bool, Error> {
    let mut text = String::new();
    for rec in records {
        push_record(&mut text, rec);
    }
    crate::files::append_if_intact(&dir.join(FILE), text.as_bytes(), true)
}

/// Replaces the index atomically and durably. The caller holds the mailbox lock.
pub(crate) fn store(dir: &Path, list: &UidList) -> Result<(), Error> {
    replace(dir, list)?;
    File::open(dir).and_then(|d| d.sync_all()).at(dir)
}

/// Replaces the index atomically (the new file is fsynced before the rename), leaving the
/// directory for the caller to fsync. The caller holds the mailbox lock.
pub(crate) fn replace(dir: &Path, list: &UidList) -> Result<(), Error> {
    crate::files::replace(dir, FILE, serialize(list).as_bytes())
}

#[cfg(test)]
mod tests;
