//! The spool journal: append-only segment files of framed, checksummed records.
//!
//! Record layout (little endian):
//! `"CLM1" | kind: u8 | header_len: u32 | body_len: u64 | header | body | crc32(kind..body): u32`.
//! A `Message` record's header is the JSON [`Envelope`] and its body the message; a `Done` record's
//! header is the queue id and its body empty. A torn record at the end of a segment (a crash
//! mid-write, never acknowledged) is cut off at recovery.

use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::Envelope;

const MAGIC: &[u8; 4] = b"CLM1";
const FIXED: usize = 4 + 1 + 4 + 8;
const KIND_MESSAGE: u8 = 1;
const KIND_DONE: u8 = 2;

/// Largest segment before the writer starts a new one.
pub(crate) const SEGMENT_TARGET: u64 = 64 << 20;

/// One decoded record.
#[derive(Debug)]
pub(crate) enum Record {
    Message { envelope: Envelope, body: Vec<u8> },
    Done { id: String },
}

/// Appends the encoding of a message record to `out`.
pub(crate) fn encode_message(out: &mut Vec<u8>, envelope: &Envelope, body: &[u8]) {
    let header = serde_json::to_vec(envelope).unwrap_or_default();
    encode(out, KIND_MESSAGE, &header, body);
}

/// Appends the encoding of a done record to `out`.
pub(crate) fn encode_done(out: &mut Vec<u8>, id: &str) {
    encode(out, KIND_DONE, id.as_bytes(), b"");
}

fn encode(out: &mut Vec<u8>, kind: u8, header: &[u8], body: &[u8]) {
    let start = out.len();
    out.extend_from_slice(MAGIC);
    out.push(kind);
    out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(header);
    out.extend_from_slice(body);
    let crc = crc32fast::hash(&out[start + 4..]);
    out.extend_from_slice(&crc.to_le_bytes());
}

/// Decodes records from a segment's bytes; returns them and the length of the valid prefix.
pub(crate) fn decode_all(bytes: &[u8]) -> (Vec<Record>, usize) {
    let mut records = Vec::new();
    let mut pos = 0;
    while let Some((record, len)) = decode_one(&bytes[pos..]) {
        records.push(record);
        pos += len;
    }
    (records, pos)
}

fn decode_one(bytes: &[u8]) -> Option<(Record, usize)> {
    if bytes.len() < FIXED || &bytes[..4] != MAGIC {
        return None;
    }
    let kind = bytes[4];
    let header_len = u32::from_le_bytes(bytes[5..9].try_into().ok()?) as usize;
    let body_len = usize::try_from(u64::from_le_bytes(bytes[9..17].try_into().ok()?)).ok()?;
    let end = FIXED.checked_add(header_len)?.checked_add(body_len)?;
    let crc_end = end.checked_add(4)?;
    if bytes.len() < crc_end {
        return None;
    }
    let crc = u32::from_le_bytes(bytes[end..crc_end].try_into().ok()?);
    if crc32fast::hash(&bytes[4..end]) != crc {
        return None;
    }
    let header = &bytes[FIXED..FIXED + header_len];
    let body = &bytes[FIXED + header_len..end];
    let record = match kind {
        KIND_MESSAGE => Record::Message {
            envelope: serde_json::from_slice(header).ok()?,
            body: body.to_vec(),
        },
        KIND_DONE => Record::Done {
            id: String::from_utf8(header.to_vec()).ok()?,
        },
        _ => return None,
    };
    Some((record, crc_end))
}

/// The segment files of a journal directory, oldest first, and which queue ids each still holds.
#[derive(Debug)]
pub(crate) struct Segments {
    dir: PathBuf,
    /// Segment number → ids whose message record is there and whose done record is not yet written.
    live: BTreeMap<u64, HashSet<String>>,
    current: u64,
    file: File,
    len: u64,
}

/// What recovery found: messages accepted but not finished.
pub(crate) struct Recovered {
    pub(crate) segments: Segments,
    pub(crate) pending: Vec<(Envelope, Vec<u8>)>,
    pub(crate) truncated_bytes: u64,
}

fn segment_path(dir: &Path, n: u64) -> PathBuf {
    dir.join(format!("{n:016}.journal"))
}

fn segment_numbers(dir: &Path) -> io::Result<Vec<u64>> {
    let mut numbers = Vec::new();
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name();
        let name = name.to_string_lossy();
        if let Some(n) = name.strip_suffix(".journal").and_then(|s| s.parse().ok()) {
            numbers.push(n);
        }
    }
    numbers.sort_unstable();
    Ok(numbers)
}

/// Reads every segment, cuts torn tails, and starts a fresh segment for new writes.
pub(crate) fn recover(dir: &Path) -> io::Result<Recovered> {
    calm_maildir::create_dir_durable(dir).map_err(|e| e.source)?;
    let mut live: BTreeMap<u64, HashSet<String>> = BTreeMap::new();
    let mut pending: Vec<(Envelope, Vec<u8>)> = Vec::new();
    let mut done: HashSet<String> = HashSet::new();
    let mut truncated_bytes = 0;
    let numbers = segment_numbers(dir)?;
    for &n in &numbers {
        let path = segment_path(dir, n);
        let bytes = fs::read(&path)?;
        let (records, valid) = decode_all(&bytes);
        if valid < bytes.len() {
            // Only ever unacknowledged bytes: an acknowledged record was fsynced whole.
            truncated_bytes += (bytes.len() - valid) as u64;
            OpenOptions::new()
                .write(true)
                .open(&path)?
                .set_len(valid as u64)?;
        }
        let ids = live.entry(n).or_default();
        for record in records {
            match record {
                Record::Message { envelope, body } => {
                    ids.insert(envelope.id.clone());
                    pending.push((envelope, body));
                }
                Record::Done { id } => {
                    done.insert(id);
                }
            }
        }
    }
    pending.retain(|(e, _)| !done.contains(&e.id));
    for set in live.values_mut() {
        set.retain(|id| !done.contains(id));
    }
    let current = numbers.last().map_or(1, |n| n + 1);
    let (file, len) = open_segment(dir, current)?;
    let segments = Segments {
        dir: dir.to_path_buf(),
        live,
        current,
        file,
        len,
    };
    Ok(Recovered {
        segments,
        pending,
        truncated_bytes,
    })
}

fn open_segment(dir: &Path, n: u64) -> io::Result<(File, u64)> {
    // Mail is private: only calm's user may read the spool.
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(segment_path(dir, n))?;
    File::open(dir)?.sync_all()?;
    let len = file.metadata()?.len();
    Ok((file, len))
}

impl Segments {
    /// Appends `bytes` (whole records) to the current segment and makes them durable.
    ///
    /// On failure the segment is cut back to its previous length, so a half-written batch
    /// never sits in front of later records.
    pub(crate) fn append_durable(
        &mut self,
        bytes: &[u8],
        ids: impl Iterator<Item = String>,
    ) -> io::Result<()> {
        if self.len > SEGMENT_TARGET {
            self.rotate()?;
        }
        let result = self
            .file
            .write_all(bytes)
            .and_then(|()| self.file.sync_data());
        if let Err(e) = result {
            if self.file.set_len(self.len).is_err() {
                // Could not cut the tail: continue in a new segment; recovery cuts this one.
                let _ = self.rotate();
            }
            return Err(e);
        }
        self.len += bytes.len() as u64;
        self.live.entry(self.current).or_default().extend(ids);
        Ok(())
    }

    fn rotate(&mut self) -> io::Result<()> {
        let (file, len) = open_segment(&self.dir, self.current + 1)?;
        self.current += 1;
        self.file = file;
        self.len = len;
        Ok(())
    }

    /// Forgets finished ids and deletes segments with nothing left, oldest first.
    ///
    /// Only a prefix of segments may go: a done record can live in a later segment than its
    /// message, and deleting that later segment first would bring the message back at recovery.
    pub(crate) fn finish(&mut self, ids: &[String]) {
        for id in ids {
            for set in self.live.values_mut() {
                if set.remove(id) {
                    break;
                }
            }
        }
        while let Some((&n, set)) = self.live.first_key_value() {
            if n >= self.current || !set.is_empty() {
                break;
            }
            if fs::remove_file(segment_path(&self.dir, n)).is_err() {
                break;
            }
            self.live.remove(&n);
        }
    }
}
