//! [`Store`]: one user's Maildir++ tree — folders, subscriptions, special-use folders.
//!
//! Layout (Maildir++, Dovecot's default): INBOX is the root directory itself; folder `A.B` is
//! the directory `.A.B` directly under the root, `.` being the hierarchy separator; each
//! folder directory holds an empty `maildirfolder` file. Directory names are modified UTF-7
//! (RFC 3501 §5.1.3), as Dovecot writes them.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use crate::error::{Error, IoContext};
use crate::lock::{self, MaildropLock};
use crate::mailbox::Mailbox;
use crate::mutf7;

mod names;
mod subscriptions;

pub use names::{HIERARCHY_SEPARATOR, INBOX};

/// The special-use folders created on first open (RFC 6154).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpecialUse {
    /// `\Sent`
    Sent,
    /// `\Drafts`
    Drafts,
    /// `\Trash`
    Trash,
    /// `\Junk`
    Junk,
}

impl SpecialUse {
    /// Every special-use folder calm creates.
    pub const ALL: [SpecialUse; 4] = [
        SpecialUse::Drafts,
        SpecialUse::Sent,
        SpecialUse::Junk,
        SpecialUse::Trash,
    ];

    /// The folder name (Dovecot's defaults in its example configuration).
    pub fn name(self) -> &'static str {
        match self {
            SpecialUse::Sent => "Sent",
            SpecialUse::Drafts => "Drafts",
            SpecialUse::Trash => "Trash",
            SpecialUse::Junk => "Junk",
        }
    }

    /// The RFC 6154 LIST attribute, e.g. `\Sent`.
    pub fn attribute(self) -> &'static str {
        match self {
            SpecialUse::Sent => "\\Sent",
            SpecialUse::Drafts => "\\Drafts",
            SpecialUse::Trash => "\\Trash",
            SpecialUse::Junk => "\\Junk",
        }
    }

    fn of(name: &str) -> Option<SpecialUse> {
        SpecialUse::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// One existing mailbox, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxInfo {
    /// The name (UTF-8, `.`-separated).
    pub name: String,
    /// Its special use, if it is one of calm's special-use folders.
    pub special_use: Option<SpecialUse>,
}

/// One user's mail store, rooted at their Maildir (`calm_maildir::mailbox_dir`).
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

/// The UIDVALIDITY hint file under the root (see `scan::next_uid_validity`).
const VALIDITY_HINT: &str = "calm-uidvalidity";
/// Maildir++: marks a directory as a folder (Dovecot and Courier create it).
const FOLDER_MARKER: &str = "maildirfolder";

impl Store {
    /// Opens the store at `root`, creating the INBOX Maildir and the special-use folders
    /// (subscribed) if they do not exist yet.
    pub fn open(root: &Path) -> Result<Store, Error> {
        let store = Store {
            root: root.to_path_buf(),
        };
        create_maildir(root)?;
        for special in SpecialUse::ALL {
            let dir = store.dir_of(special.name())?;
            if !dir.join("cur").is_dir() {
                store.create_dirs(&dir)?;
                store.subscribe(special.name())?;
            }
        }
        Ok(store)
    }

    /// The root directory (INBOX).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The directory of a mailbox name (which need not exist).
    fn dir_of(&self, name: &str) -> Result<PathBuf, Error> {
        let name = names::normalize(name)?;
        if name == INBOX {
            return Ok(self.root.clone());
        }
        Ok(self.root.join(format!(".{}", mutf7::encode(&name))))
    }

    /// Every existing mailbox: INBOX first, then by name.
    pub fn list(&self) -> Result<Vec<MailboxInfo>, Error> {
        let mut names = Vec::new();
        for entry in fs::read_dir(&self.root).at(&self.root)? {
            let entry = entry.at(&self.root)?;
            let Ok(dir_name) = entry.file_name().into_string() else {
                continue;
            };
            let Some(encoded) = dir_name.strip_prefix('.') else {
                continue;
            };
            // Skip `.`/`..` and anything that is not a valid folder name (Dovecot's trash
            // directories while deleting, foreign junk): listing must never fail on them.
            let Some(name) = mutf7::decode(encoded) else {
                continue;
            };
            if names::normalize(&name).ok().as_deref() == Some(name.as_str())
                && entry.path().join("cur").is_dir()
            {
                names.push(name);
            }
        }
        names.sort();
        let mut list = vec![MailboxInfo {
            name: INBOX.to_owned(),
            special_use: None,
        }];
        list.extend(names.into_iter().map(|name| MailboxInfo {
            special_use: SpecialUse::of(&name),
            name,
        }));
        Ok(list)
    }

    /// True if the mailbox exists.
    pub fn exists(&self, name: &str) -> Result<bool, Error> {
        Ok(self.dir_of(name)?.join("cur").is_dir())
    }

    /// Opens (and syncs) a mailbox.
    pub fn mailbox(&self, name: &str) -> Result<Mailbox, Error> {
        let normal = names::normalize(name)?;
        let dir = self.dir_of(&normal)?;
        if !dir.join("cur").is_dir() {
            return Err(Error::NoSuchMailbox(name.to_owned()));
        }
        Mailbox::open(normal, dir, self.root.join(VALIDITY_HINT))
    }

    /// Opens INBOX.
    pub fn inbox(&self) -> Result<Mailbox, Error> {
        self.mailbox(INBOX)
    }

    /// Takes the POP3 maildrop lock on INBOX; [`Error::InUse`] if another session holds it.
    pub fn lock_maildrop(&self) -> Result<MaildropLock, Error> {
        MaildropLock::take(&self.root)
    }

    /// The directory delivery writes a mailbox's new mail to, creating (and subscribing) the
    /// mailbox first if it does not exist; INBOX is the root. For delivery into folders (a
    /// policy filing spam in `Junk`), which must not open and sync the mailbox.
    pub fn delivery_dir(&self, name: &str) -> Result<PathBuf, Error> {
        let normal = names::normalize(name)?;
        let dir = self.dir_of(&normal)?;
        if normal != INBOX && !dir.join("cur").is_dir() {
            self.create_dirs(&dir)?;
            self.subscribe(&normal)?;
        }
        Ok(dir)
    }

    /// Creates a mailbox. Missing parents are not created (Maildir++ has no directories for
    /// them; they list as `\NoSelect` parents in IMAP, as with Dovecot).
    pub fn create(&self, name: &str) -> Result<(), Error> {
        let normal = names::normalize(name)?;
        if normal == INBOX || self.exists(&normal)? {
            return Err(Error::AlreadyExists(name.to_owned()));
        }
        let dir = self.dir_of(&normal)?;
        self.create_dirs(&dir)
    }

    fn create_dirs(&self, dir: &Path) -> Result<(), Error> {
        create_maildir(dir)?;
        File::create(dir.join(FOLDER_MARKER)).at(dir)?;
        Ok(())
    }

    /// Deletes a mailbox and its messages. INBOX cannot be deleted; a mailbox with children
    /// cannot either ([`Error::HasChildren`]).
    pub fn delete(&self, name: &str) -> Result<(), Error> {
        let normal = names::normalize(name)?;
        if normal == INBOX {
            return Err(Error::Inbox);
        }
        if !self.exists(&normal)? {
            return Err(Error::NoSuchMailbox(name.to_owned()));
        }
        if !self.children(&normal)?.is_empty() {
            return Err(Error::HasChildren(name.to_owned()));
        }
        let dir = self.dir_of(&normal)?;
        // Rename first so the folder vanishes atomically; a crash leaves only a hidden,
        // non-listable directory behind (Dovecot does the same with `..DOVECOT-TRASHED`).
        let trash = self
            .root
            .join(format!("..calm-deleted.{}", rand::random::<u64>()));
        fs::rename(&dir, &trash).at(&dir)?;
        fs::remove_dir_all(&trash).at(&trash)
    }

    /// Renames a mailbox and all its children (RFC 3501 §6.3.5); subscriptions to them
    /// follow. Renaming INBOX moves its messages instead (see [`Store::rename_inbox`]).
    pub fn rename(&self, from: &str, to: &str) -> Result<(), Error> {
        let (from_n, to_n) = (names::normalize(from)?, names::normalize(to)?);
        if to_n == INBOX {
            return Err(Error::Inbox);
        }
        if from_n == INBOX {
            return self.rename_inbox(&to_n);
        }
        if !self.exists(&from_n)? {
            return Err(Error::NoSuchMailbox(from.to_owned()));
        }
        if names::is_inferior(&to_n, &from_n) {
            return Err(names::invalid(to, "cannot move a mailbox into itself"));
        }
        let mut moves = vec![(from_n.clone(), to_n.clone())];
        for child in self.children(&from_n)? {
            let suffix = child.get(from_n.len()..).unwrap_or_default();
            moves.push((child.clone(), format!("{to_n}{suffix}")));
        }
        // Check every target before moving anything, so a refusal changes nothing.
        let mut dirs = Vec::with_capacity(moves.len());
        for (old, new) in &moves {
            let dst = self.dir_of(new)?;
            if dst.exists() {
                return Err(Error::AlreadyExists(new.clone()));
            }
            dirs.push((self.dir_of(old)?, dst));
        }
        for (src, dst) in dirs {
            fs::rename(&src, &dst).at(&src)?;
        }
        self.rename_subscriptions(&from_n, &to_n)
    }

    /// RFC 3501 §6.3.5 (RFC 9051 §6.3.6): renaming INBOX moves all its messages to a new
    /// mailbox `to`, leaving INBOX empty; its inferiors (`INBOX.x`) are not renamed. The files
    /// keep their names (and so their flags) and get new UIDs in `to`. A POP3 session holding
    /// the maildrop makes this [`Error::InUse`]; INBOX's index lock keeps flag changes and
    /// expunges by other sessions from racing the move.
    fn rename_inbox(&self, to: &str) -> Result<(), Error> {
        let dst = self.dir_of(to)?;
        if dst.exists() {
            return Err(Error::AlreadyExists(to.to_owned()));
        }
        let _maildrop = self.lock_maildrop()?;
        let index = lock::exclusive(&self.root.join(lock::INDEX_LOCK))?;
        self.create_dirs(&dst)?;
        // The files keep their keyword letters: the new mailbox gets INBOX's keyword names.
        let keywords = crate::keywords::Keywords::load(&self.root)?;
        if !keywords.is_empty() {
            keywords.store(&dst)?;
        }
        for sub in ["new", "cur"] {
            let (from, into) = (self.root.join(sub), dst.join(sub));
            for entry in fs::read_dir(&from).at(&from)? {
                let path = entry.at(&from)?.path();
                let Some(name) = path.file_name() else {
                    continue;
                };
                match fs::rename(&path, into.join(name)) {
                    Ok(()) => {}
                    // Gone meanwhile (delivery moved new/ to cur/, or an expunge): skip it.
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(Error::io(&path, e)),
                }
            }
            for dir in [&from, &into] {
                File::open(dir).and_then(|d| d.sync_all()).at(dir)?;
            }
        }
        // Sessions on INBOX must list it again (see `cache`).
        index.bump_generation().at(&self.root)
    }

    /// The existing mailboxes below `name` in the hierarchy.
    fn children(&self, name: &str) -> Result<Vec<String>, Error> {
        Ok(self
            .list()?
            .into_iter()
            .map(|m| m.name)
            .filter(|m| names::is_inferior(m, name))
            .collect())
    }
}

/// Creates `dir` with `tmp/`, `new/` and `cur/` (parents first, each fsynced).
fn create_maildir(dir: &Path) -> Result<(), Error> {
    for sub in ["tmp", "new", "cur"] {
        let path = dir.join(sub);
        if !path.is_dir() {
            mkdir_durable(&path)?;
        }
    }
    Ok(())
}

fn mkdir_durable(path: &Path) -> Result<(), Error> {
    match fs::create_dir_all(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(Error::io(path, e)),
    }
    if let Some(parent) = path.parent() {
        File::open(parent).and_then(|d| d.sync_all()).at(parent)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
