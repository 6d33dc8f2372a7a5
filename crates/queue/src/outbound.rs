//! The outbound queue: one file per message for recipients that are not local, plus the
//! delivery state that the outbound engine (`calm-outbound`) keeps beside it.
//!
//! Layout under the queue directory:
//! - `active/ID`: one JSON line (the [`QueuedMessage`] envelope) and then the message, written
//!   once by the spool's delivery thread and never changed afterwards.
//! - `state/ID`: one JSON document, the [`DeliveryState`] (per-recipient status, attempts, next
//!   try, last reply; hold flag). Absent until the first attempt or operator action: a message
//!   without it has every recipient pending ([`QueueEntry::from_parts`]).
//! - `tmp/`: where both are written before being renamed into place.
//!
//! Every file is written in `tmp/`, fsynced, renamed, and the directory fsynced, so a listed
//! message or state is always complete. Keeping the state in its own small file means a retry
//! rewrites a few hundred bytes, not the whole message, and old queue files (from before the
//! state existed) stay readable as they are.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
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

/// Where one recipient stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecipientStatus {
    /// Not delivered yet; tried again at `next_attempt`.
    #[default]
    Pending,
    /// Accepted by the remote server.
    Delivered,
    /// Permanently failed; a DSN is (or was) due to the sender.
    Failed,
}

/// The delivery history of one recipient.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RecipientState {
    /// The address.
    pub rcpt: String,
    /// Where it stands.
    #[serde(default)]
    pub status: RecipientStatus,
    /// Delivery attempts so far.
    #[serde(default)]
    pub attempts: u32,
    /// Unix time of the next attempt (0: as soon as possible).
    #[serde(default)]
    pub next_attempt: u64,
    /// Unix time of the last attempt.
    #[serde(default)]
    pub last_attempt: Option<u64>,
    /// The last answer: a remote reply (`550 5.1.1 no such user`) or a local reason.
    #[serde(default)]
    pub last_reply: Option<String>,
    /// RFC 3463 status of the last answer, e.g. `4.4.1`.
    #[serde(default)]
    pub status_code: Option<String>,
    /// The host that gave the last answer, if any.
    #[serde(default)]
    pub remote_host: Option<String>,
    /// For a failed recipient: the DSN has been handed over (or none is due, for `<>`).
    #[serde(default)]
    pub dsn_done: bool,
}

/// The mutable half of a queue entry, kept in `state/ID`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DeliveryState {
    /// Held by the operator: no attempts until released.
    #[serde(default)]
    pub held: bool,
    /// The delay warning DSN has been sent.
    #[serde(default)]
    pub warned: bool,
    /// One entry per recipient (remote and failed alike).
    #[serde(default)]
    pub recipients: Vec<RecipientState>,
}

/// How an entry looks to the operator (`calm queue list --state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryState {
    /// Waiting for its first attempt, or due.
    Active,
    /// Tried and waiting to be retried.
    Deferred,
    /// Held by the operator.
    Hold,
    /// Nothing pending (a DSN still to send, or about to be removed).
    Done,
}

/// A message and its delivery state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueEntry {
    /// The envelope as the spool wrote it.
    pub message: QueuedMessage,
    /// The state, with a recipient entry for every envelope recipient.
    pub state: DeliveryState,
}

impl QueueEntry {
    /// Joins an envelope and its (possibly missing or partial) state. Recipients missing from
    /// the state are pending (`rcpt_to`) or failed with their reason (`failed`).
    pub fn from_parts(message: QueuedMessage, state: Option<DeliveryState>) -> QueueEntry {
        let mut state = state.unwrap_or_default();
        for rcpt in &message.rcpt_to {
            if !state.recipients.iter().any(|r| &r.rcpt == rcpt) {
                state.recipients.push(RecipientState {
                    rcpt: rcpt.clone(),
                    ..RecipientState::default()
                });
            }
        }
        for failed in &message.failed {
            if !state.recipients.iter().any(|r| r.rcpt == failed.rcpt) {
                state.recipients.push(RecipientState {
                    rcpt: failed.rcpt.clone(),
                    status: RecipientStatus::Failed,
                    last_reply: Some(failed.reason.clone()),
                    // RFC 3463 §3.2: 5.1.1 "bad destination mailbox address".
                    status_code: Some("5.1.1".into()),
                    ..RecipientState::default()
                });
            }
        }
        QueueEntry { message, state }
    }

    /// The queue id.
    pub fn id(&self) -> &str {
        &self.message.id
    }

    /// Recipients still to deliver.
    pub fn pending(&self) -> impl Iterator<Item = &RecipientState> {
        self.state
            .recipients
            .iter()
            .filter(|r| r.status == RecipientStatus::Pending)
    }

    /// The earliest `next_attempt` of a pending recipient; None when nothing is pending.
    pub fn next_attempt(&self) -> Option<u64> {
        self.pending().map(|r| r.next_attempt).min()
    }

    /// How the operator sees it.
    pub fn entry_state(&self) -> EntryState {
        if self.state.held {
            EntryState::Hold
        } else if self.pending().next().is_none() {
            EntryState::Done
        } else if self.pending().any(|r| r.attempts > 0) {
            EntryState::Deferred
        } else {
            EntryState::Active
        }
    }

    /// True when every recipient is delivered, or failed with its DSN handed over.
    pub fn is_finished(&self) -> bool {
        self.state.recipients.iter().all(|r| match r.status {
            RecipientStatus::Pending => false,
            RecipientStatus::Delivered => true,
            RecipientStatus::Failed => r.dsn_done,
        })
    }
}

/// Which entries `calm queue list` shows. Empty fields match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListFilter {
    /// A recipient domain (case-insensitive) that must have a pending recipient.
    pub domain: Option<String>,
    /// The sender, exactly (case-insensitive); `<>` or empty for the null sender.
    pub sender: Option<String>,
    /// The entry's state.
    pub state: Option<EntryState>,
    /// At least this old, in seconds.
    pub min_age_secs: Option<u64>,
}

impl ListFilter {
    /// Does `entry` pass, at Unix time `now`?
    pub fn matches(&self, entry: &QueueEntry, now: u64) -> bool {
        let domain_ok = self.domain.as_ref().is_none_or(|d| {
            entry.pending().any(|r| {
                r.rcpt
                    .rsplit_once('@')
                    .is_some_and(|(_, rd)| rd.eq_ignore_ascii_case(d))
            })
        });
        let sender_ok = self.sender.as_ref().is_none_or(|s| {
            let s = if s == "<>" { "" } else { s.as_str() };
            entry.message.mail_from.eq_ignore_ascii_case(s)
        });
        let state_ok = self.state.is_none_or(|s| entry.entry_state() == s);
        let age = now.saturating_sub(entry.message.received_at);
        let age_ok = self.min_age_secs.is_none_or(|min| age >= min);
        domain_ok && sender_ok && state_ok && age_ok
    }
}

/// The outbound queue directory.
#[derive(Debug, Clone)]
pub struct Outbound {
    dir: PathBuf,
}

impl Outbound {
    /// Opens (creating) the queue at `dir`.
    pub fn open(dir: &Path) -> io::Result<Outbound> {
        for sub in ["tmp", "active", "state"] {
            calm_maildir::create_dir_durable(&dir.join(sub)).map_err(|e| e.source)?;
        }
        Ok(Outbound {
            dir: dir.to_path_buf(),
        })
    }

    /// Writes messages durably (one syncfs for the batch); each is complete in `active/` when
    /// this returns Ok.
    /// Writing the same id again replaces the file (a redelivery after restart); the delivery
    /// state in `state/` is kept, so recipients already delivered are not sent again.
    pub fn write_batch(&self, items: &[(QueuedMessage, &[u8])]) -> io::Result<()> {
        let mut staged = Vec::with_capacity(items.len());
        for (message, data) in items {
            let tmp = self.dir.join("tmp").join(&message.id);
            let mut file = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)?;
            let mut header = serde_json::to_vec(message).map_err(io::Error::other)?;
            header.push(b'\n');
            file.write_all(&header)?;
            file.write_all(data)?;
            staged.push((tmp, self.dir.join("active").join(&message.id)));
        }
        // One flush for the whole batch instead of one fsync per file (group commit, as for
        // Maildir delivery): a per-file fsync held relaying at the disk's fsync rate.
        let dir = File::open(self.dir.join("tmp"))?;
        rustix::fs::syncfs(&dir)?;
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

    /// The ids of every message in `active/`, in no particular order.
    pub fn ids(&self) -> io::Result<Vec<String>> {
        let mut ids = Vec::new();
        for entry in fs::read_dir(self.dir.join("active"))? {
            if let Some(name) = entry?.file_name().to_str() {
                ids.push(name.to_owned());
            }
        }
        Ok(ids)
    }

    /// Every entry with its state, oldest first, filtered. Unreadable files are reported.
    pub fn entries(
        &self,
        filter: &ListFilter,
        now: u64,
    ) -> io::Result<Vec<Result<QueueEntry, String>>> {
        let mut out = Vec::new();
        for id in self.ids()? {
            match self.entry(&id) {
                Ok(e) if filter.matches(&e, now) => out.push(Ok(e)),
                Ok(_) => {}
                // Removed between the listing and the read: delivered meanwhile.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => out.push(Err(format!("{id}: {e}"))),
            }
        }
        out.sort_by_key(|r| {
            r.as_ref()
                .map(|e| (e.message.received_at, e.message.id.clone()))
                .unwrap_or_default()
        });
        Ok(out)
    }

    /// One entry. `NotFound` if there is no such message; `InvalidInput` for an id that is
    /// not a plain file name (operator input is never used as a path).
    pub fn entry(&self, id: &str) -> io::Result<QueueEntry> {
        let message = read_header(&self.active_path(id)?)?;
        let state = self.read_state(id)?;
        Ok(QueueEntry::from_parts(message, state))
    }

    /// One entry and its message bytes (without the envelope line).
    pub fn read_message(&self, id: &str) -> io::Result<(QueueEntry, Vec<u8>)> {
        let mut bytes = Vec::new();
        File::open(self.active_path(id)?)?.read_to_end(&mut bytes)?;
        let newline = bytes
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no envelope line"))?;
        let message: QueuedMessage =
            serde_json::from_slice(&bytes[..newline]).map_err(io::Error::other)?;
        let body = bytes.split_off(newline + 1);
        let state = self.read_state(id)?;
        Ok((QueueEntry::from_parts(message, state), body))
    }

    /// Replaces the state of `id` durably (tmp, fsync, rename, directory fsync).
    pub fn write_state(&self, id: &str, state: &DeliveryState) -> io::Result<()> {
        let target = self.state_path(id)?;
        let tmp = self.dir.join("tmp").join(format!("{id}.state"));
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        file.write_all(&serde_json::to_vec(state).map_err(io::Error::other)?)?;
        file.sync_data()?;
        fs::rename(&tmp, &target)?;
        File::open(self.dir.join("state"))?.sync_all()
    }

    /// Removes a message and its state. The message goes first: a crash in between leaves an
    /// orphan state file, which is harmless, never a message without its history.
    pub fn remove(&self, id: &str) -> io::Result<()> {
        match fs::remove_file(self.active_path(id)?) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        match fs::remove_file(self.state_path(id)?) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Holds or releases a message; returns the new entry.
    pub fn set_held(&self, id: &str, held: bool) -> io::Result<QueueEntry> {
        self.update(id, |entry| entry.state.held = held)
    }

    /// Makes every pending recipient due now (`calm queue retry`).
    pub fn retry_now(&self, id: &str) -> io::Result<QueueEntry> {
        self.update(id, |entry| {
            for r in &mut entry.state.recipients {
                if r.status == RecipientStatus::Pending {
                    r.next_attempt = 0;
                }
            }
        })
    }

    /// Reads, changes and durably rewrites the state of `id`.
    pub fn update(&self, id: &str, change: impl FnOnce(&mut QueueEntry)) -> io::Result<QueueEntry> {
        let mut entry = self.entry(id)?;
        change(&mut entry);
        self.write_state(id, &entry.state)?;
        Ok(entry)
    }

    fn read_state(&self, id: &str) -> io::Result<Option<DeliveryState>> {
        match fs::read(self.state_path(id)?) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn active_path(&self, id: &str) -> io::Result<PathBuf> {
        Ok(self.dir.join("active").join(checked_id(id)?))
    }

    fn state_path(&self, id: &str) -> io::Result<PathBuf> {
        Ok(self.dir.join("state").join(checked_id(id)?))
    }
}

/// Queue ids are plain file names; anything else (`..`, `a/b`, empty) is refused.
fn checked_id(id: &str) -> io::Result<&str> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if ok {
        Ok(id)
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("not a queue id: {id:?}"),
        ))
    }
}

fn read_header(path: &Path) -> io::Result<QueuedMessage> {
    let mut line = String::new();
    BufReader::new(File::open(path)?).read_line(&mut line)?;
    serde_json::from_str(&line).map_err(io::Error::other)
}

#[cfg(test)]
mod tests;
