//! The directory store.

use std::fmt;
use std::fs::{self, File};
use std::io::{self, Write as _};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

/// Largest message kept (the SMTP size limit applies long before this).
pub const MAX_MESSAGE: u64 = 512 * 1024 * 1024;
/// Largest record file read.
const MAX_RECORD: u64 = 1024 * 1024;
/// Longest id accepted from a caller.
const MAX_ID: usize = 64;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum QuarantineError {
    /// I/O on a file of the store.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// No entry with this id.
    #[error("no quarantined message {0}")]
    NotFound(String),
    /// The id is not one this store makes (it could name another file).
    #[error("{0:?} is not a quarantine id")]
    BadId(String),
    /// A record file that is not valid JSON of the expected shape.
    #[error("{}: damaged record: {message}", path.display())]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// An entry's id: lowercase hex and dashes, made by [`Store::put`].
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Id(String);

impl Id {
    /// Checks an id given by a user (`calm quarantine show ID`).
    pub fn parse(text: &str) -> Result<Id, QuarantineError> {
        let ok = !text.is_empty()
            && text.len() <= MAX_ID
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b) || b == b'-')
            && !text.starts_with('-');
        if ok {
            Ok(Id(text.to_owned()))
        } else {
            Err(QuarantineError::BadId(text.chars().take(80).collect()))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The SMTP envelope of a quarantined message: what release hands back for redelivery.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// The `MAIL FROM` reverse path; empty for the null sender.
    pub sender: String,
    /// The accepted recipients.
    pub recipients: Vec<String>,
    /// The client's address, for the record.
    #[serde(default)]
    pub client: Option<String>,
    /// The HELO name, for the record.
    #[serde(default)]
    pub helo: Option<String>,
}

impl Envelope {
    /// An envelope with only sender and recipients.
    pub fn new<I, S>(sender: &str, recipients: I) -> Envelope
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Envelope {
            sender: sender.to_owned(),
            recipients: recipients.into_iter().map(Into::into).collect(),
            client: None,
            helo: None,
        }
    }
}

/// One score contribution, for the record and the false-positive root cause.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    /// The rule's name.
    pub name: String,
    /// Its points.
    pub points: f64,
}

/// Why the message was quarantined.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// The policy rule that decided.
    pub rule: String,
    /// A human explanation (the policy's `Decision::explain`).
    pub reason: String,
    /// The content score, when the message was scored.
    #[serde(default)]
    pub score: Option<f64>,
    /// Every content rule that fired, with its points.
    #[serde(default)]
    pub hits: Vec<Hit>,
}

impl Verdict {
    /// A verdict by `rule` for `reason`.
    pub fn new(rule: &str, reason: &str) -> Verdict {
        Verdict {
            rule: rule.to_owned(),
            reason: reason.to_owned(),
            score: None,
            hits: Vec::new(),
        }
    }

    /// The same verdict with a content score.
    #[must_use]
    pub fn with_score(mut self, score: f64) -> Verdict {
        self.score = Some(score);
        self
    }

    /// The hit that added the most points: the root cause when the message is released as a
    /// false positive.
    pub fn top_hit(&self) -> Option<&Hit> {
        self.hits
            .iter()
            .filter(|h| h.points > 0.0)
            .max_by(|a, b| a.points.total_cmp(&b.points))
    }
}

/// The sidecar of one entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The entry's id.
    pub id: Id,
    /// When it was quarantined, in seconds since the Unix epoch.
    pub received: u64,
    /// The message size in bytes.
    pub size: u64,
    /// The SMTP envelope.
    pub envelope: Envelope,
    /// Why.
    pub verdict: Verdict,
}

/// A quarantine directory.
#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
    counter: AtomicU64,
}

impl Store {
    /// Opens (creating if needed) the store in `dir`.
    pub fn open(dir: &Path) -> Result<Store, QuarantineError> {
        fs::create_dir_all(dir.join("released")).map_err(|e| io_err(dir, e))?;
        Ok(Store {
            dir: dir.to_owned(),
            counter: AtomicU64::new(0),
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Keeps `message` with its envelope and verdict; `now` is seconds since the epoch.
    /// The message file is complete before the record that makes it visible.
    pub fn put(
        &self,
        envelope: &Envelope,
        verdict: &Verdict,
        message: &[u8],
        now: u64,
    ) -> Result<Id, QuarantineError> {
        let size = u64::try_from(message.len()).unwrap_or(u64::MAX);
        if size > MAX_MESSAGE {
            let e = io::Error::other("message larger than the quarantine accepts");
            return Err(io_err(&self.dir, e));
        }
        let id = self.new_id(now);
        let record = Record {
            id: id.clone(),
            received: now,
            size,
            envelope: envelope.clone(),
            verdict: verdict.clone(),
        };
        let json = serde_json::to_vec_pretty(&record).map_err(|e| io_err(&self.dir, e.into()))?;
        let eml = self.path(&id, "eml");
        write_atomic(&eml, message).map_err(|e| io_err(&eml, e))?;
        let sidecar = self.path(&id, "json");
        write_atomic(&sidecar, &json).map_err(|e| io_err(&sidecar, e))?;
        Ok(id)
    }

    /// Every entry, oldest first. A message file without its record (a crash during
    /// [`Store::put`]) is not listed.
    pub fn list(&self) -> Result<Vec<Record>, QuarantineError> {
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(|e| io_err(&self.dir, e))? {
            let entry = entry.map_err(|e| io_err(&self.dir, e))?;
            let name = entry.file_name();
            let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".json")) else {
                continue;
            };
            let Ok(id) = Id::parse(stem) else { continue };
            out.push(self.record(&id)?);
        }
        out.sort_by(|a, b| (a.received, &a.id).cmp(&(b.received, &b.id)));
        Ok(out)
    }

    /// One entry's record and its message, unchanged.
    pub fn show(&self, id: &Id) -> Result<(Record, Vec<u8>), QuarantineError> {
        let record = self.record(id)?;
        let eml = self.path(id, "eml");
        let bytes = fs::read(&eml).map_err(|e| not_found_or(id, &eml, e))?;
        Ok((record, bytes))
    }

    /// Takes an entry out of the quarantine for redelivery: returns its envelope and the
    /// original bytes, and moves its files to `released/` (the record of what was released).
    pub fn release(&self, id: &Id) -> Result<(Envelope, Vec<u8>), QuarantineError> {
        let (record, bytes) = self.show(id)?;
        let released = self.dir.join("released");
        // The record goes first: once it has moved, the entry is no longer listed.
        for ext in ["json", "eml"] {
            let from = self.path(id, ext);
            let to = released.join(format!("{id}.{ext}"));
            fs::rename(&from, &to).map_err(|e| io_err(&from, e))?;
        }
        sync_dir(&self.dir).map_err(|e| io_err(&self.dir, e))?;
        sync_dir(&released).map_err(|e| io_err(&released, e))?;
        Ok((record.envelope, bytes))
    }

    /// Removes an entry for good.
    pub fn delete(&self, id: &Id) -> Result<(), QuarantineError> {
        let sidecar = self.path(id, "json");
        fs::remove_file(&sidecar).map_err(|e| not_found_or(id, &sidecar, e))?;
        let eml = self.path(id, "eml");
        match fs::remove_file(&eml) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(io_err(&eml, e)),
            _ => {}
        }
        sync_dir(&self.dir).map_err(|e| io_err(&self.dir, e))
    }

    fn record(&self, id: &Id) -> Result<Record, QuarantineError> {
        let path = self.path(id, "json");
        let file = File::open(&path).map_err(|e| not_found_or(id, &path, e))?;
        let len = file.metadata().map_err(|e| io_err(&path, e))?.len();
        if len > MAX_RECORD {
            return Err(damaged(&path, "larger than 1 MiB"));
        }
        let bytes = fs::read(&path).map_err(|e| io_err(&path, e))?;
        let record: Record =
            serde_json::from_slice(&bytes).map_err(|e| damaged(&path, &e.to_string()))?;
        if &record.id != id {
            return Err(damaged(&path, "its id does not match its file name"));
        }
        Ok(record)
    }

    fn path(&self, id: &Id, ext: &str) -> PathBuf {
        self.dir.join(format!("{id}.{ext}"))
    }

    /// `seconds-nanoseconds-pid-counter` in hex: unique within a process by the counter, and
    /// across processes by the pid and the clock.
    fn new_id(&self, now: u64) -> Id {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        Id(format!("{now:x}-{nanos:x}-{:x}-{n:x}", std::process::id()))
    }
}

fn io_err(path: &Path, source: io::Error) -> QuarantineError {
    QuarantineError::Io {
        path: path.to_owned(),
        source,
    }
}

fn not_found_or(id: &Id, path: &Path, e: io::Error) -> QuarantineError {
    if e.kind() == io::ErrorKind::NotFound {
        QuarantineError::NotFound(id.to_string())
    } else {
        io_err(path, e)
    }
}

fn damaged(path: &Path, message: &str) -> QuarantineError {
    QuarantineError::Damaged {
        path: path.to_owned(),
        message: message.to_owned(),
    }
}

/// Temporary file beside `path`, fsync, rename over `path`, fsync the directory.
fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::other("no file name"))?;
    let tmp = dir.join(format!(".tmp.{}", name.to_string_lossy()));
    // Quarantined mail is as private as any mailbox.
    let created = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp);
    let written = created.and_then(|mut f: File| {
        f.write_all(bytes)?;
        f.sync_all()
    });
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    fs::rename(&tmp, path)?;
    sync_dir(dir)
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests;
