//! The outbound queue: one file per message for recipients that are not local.
//!
//! A file `active/ID` holds one JSON line (the [`QueuedMessage`] envelope) and then the message.
//! Files are written in `tmp/`, fsynced, renamed into `active/`, and the directory fsynced, so a
//! listed message is always complete. Outbound delivery attempts are a later layer; for now the
//! files wait here and `calm queue list` shows them.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The envelope of a message in the outbound queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedMessage {
    /// Queue id.
    pub id: String,
    /// Reverse path; empty for `<>`.
    pub mail_from: String,
    /// Remote recipients still to deliver.
    pub rcpt_to: Vec<String>,
    /// Recipients that could not be routed, with the reason.
    #[serde(default)]
    pub failed: Vec<FailedRecipient>,
    /// Unix time the message was accepted.
    pub received_at: u64,
    /// Size of the message in bytes.
    #[serde(default)]
    pub size: u64,
}

/// A recipient that failed, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedRecipient {
    /// The address.
    pub rcpt: String,
    /// Why it failed.
    pub reason: String,
}

/// The outbound queue directory.
#[derive(Debug, Clone)]
pub struct Outbound {
    dir: PathBuf,
}

impl Outbound {
    /// Opens (creating) the queue at `dir`.
    pub fn open(dir: &Path) -> io::Result<Outbound> {
        for sub in ["tmp", "active"] {
            calm_maildir::create_dir_durable(&dir.join(sub)).map_err(|e| e.source)?;
        }
        Ok(Outbound {
            dir: dir.to_path_buf(),
        })
    }

    /// Writes messages durably; each is complete in `active/` when this returns Ok.
    /// Writing the same id again replaces the file (a redelivery after restart).
    pub fn write_batch(&self, items: &[(QueuedMessage, &[u8])]) -> io::Result<()> {
        let mut staged = Vec::with_capacity(items.len());
        for (message, data) in items {
            let tmp = self.dir.join("tmp").join(&message.id);
            let mut file = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .open(&tmp)?;
            let mut header = serde_json::to_vec(message).map_err(io::Error::other)?;
            header.push(b'\n');
            file.write_all(&header)?;
            file.write_all(data)?;
            file.sync_data()?;
            staged.push((tmp, self.dir.join("active").join(&message.id)));
        }
        for (tmp, active) in &staged {
            fs::rename(tmp, active)?;
        }
        File::open(self.dir.join("active"))?.sync_all()
    }

    /// Every message in the queue, oldest first. Unreadable files are reported, not skipped.
    pub fn list(&self) -> io::Result<Vec<Result<QueuedMessage, String>>> {
        let mut out = Vec::new();
        for entry in fs::read_dir(self.dir.join("active"))? {
            let path = entry?.path();
            out.push(read_header(&path).map_err(|e| format!("{}: {e}", path.display())));
        }
        out.sort_by_key(|r| {
            r.as_ref()
                .map(|m| (m.received_at, m.id.clone()))
                .unwrap_or_default()
        });
        Ok(out)
    }
}

fn read_header(path: &Path) -> io::Result<QueuedMessage> {
    let mut line = String::new();
    BufReader::new(File::open(path)?).read_line(&mut line)?;
    serde_json::from_str(&line).map_err(io::Error::other)
}
