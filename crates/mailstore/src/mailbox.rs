//! [`Mailbox`]: one session's view of one Maildir folder, and the operations on it.
//!
//! The view (UIDs, flags, sizes) changes only in [`Mailbox::sync`], which reports what others
//! changed as [`Changes`], and in [`Mailbox::set_flags`], whose result the caller reports
//! itself. Expunge, append and copy change the disk and the index at once but leave the view
//! alone: the next `sync` reports them like anyone else's changes, which is what IMAP needs
//! (sequence numbers may only shift when the server says so, RFC 3501 §7.4.1).

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use crate::cache::{self, Known, Shared, Stamp};
use crate::error::{Error, IoContext};
use crate::filename;
use crate::flags::{FlagOp, Flags, Info};
use crate::keywords::{FileStamp, Keywords, MAX_KEYWORDS};
use crate::lock::{self, Held, INDEX_LOCK, MaildropLock};
use crate::modseq;
use crate::scan;
use crate::uidlist::UidList;

mod condstore;
mod index;
mod view;

use index::{index_new_files, unindex};

pub use view::{Changes, Expunged, Message};

/// A message's unique identifier within one UIDVALIDITY of one mailbox (RFC 3501 §2.3.1.1).
pub type Uid = u32;

/// One folder of a user's Maildir++, as seen by one session.
#[derive(Debug)]
pub struct Mailbox {
    name: String,
    dir: PathBuf,
    /// The store root's UIDVALIDITY hint file.
    hint: PathBuf,
    uid_validity: u32,
    uid_next: Uid,
    /// Shared with the other sessions that synced to the same state, until one changes flags.
    messages: Arc<Vec<Message>>,
    /// The disk's stamp when the view was built; `None` after a change by this session.
    seen: Option<Stamp>,
    /// What this process knows of the index (see `cache`).
    shared: Shared,
    /// The keyword names (`dovecot-keywords`) as of the last sync or keyword change.
    keywords: Keywords,
    /// The keyword file's stamp when `keywords` was read or written.
    keywords_stamp: FileStamp,
    /// The MODSEQs this process knows (see `modseq`).
    modseqs: modseq::Shared,
    /// HIGHESTMODSEQ as of the last sync.
    highest_modseq: u64,
}

impl Mailbox {
    /// Opens the folder at `dir` and syncs it once.
    pub(crate) fn open(name: String, dir: PathBuf, hint: PathBuf) -> Result<Mailbox, Error> {
        let mut mailbox = Mailbox {
            name,
            hint,
            uid_validity: 0,
            uid_next: 1,
            messages: Arc::default(),
            seen: None,
            shared: cache::for_dir(&dir),
            keywords: Keywords::default(),
            keywords_stamp: None,
            modseqs: modseq::for_dir(&dir),
            highest_modseq: 0,
            dir,
        };
        mailbox.sync()?;
        Ok(mailbox)
    }

    /// The mailbox name (UTF-8, `.` as hierarchy separator; `INBOX` for the root).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The Maildir directory (holding `tmp/`, `new/`, `cur/`).
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// UIDVALIDITY as of the last sync.
    pub fn uid_validity(&self) -> u32 {
        self.uid_validity
    }

    /// The UID the next new message will get (IMAP UIDNEXT), as of the last sync.
    pub fn uid_next(&self) -> Uid {
        self.uid_next
    }

    /// The messages as of the last sync, by ascending UID; message sequence number `n` is
    /// `messages()[n - 1]`.
    pub fn messages(&self) -> &[Message] {
        &self.messages
    }

    /// The message with this UID, if it is in the view.
    pub fn get(&self, uid: Uid) -> Option<&Message> {
        self.position(uid).and_then(|i| self.messages.get(i))
    }

    /// The 1-based sequence number of a UID in the view.
    pub fn seq(&self, uid: Uid) -> Option<usize> {
        self.position(uid).map(|i| i + 1)
    }

    /// The mailbox's keywords (IMAP FLAGS beyond the system flags), in the order of their
    /// Maildir letters, spelled as first stored.
    pub fn keywords(&self) -> impl Iterator<Item = &str> {
        self.keywords.iter().map(|(_, name)| name)
    }

    /// True if the mailbox holds all the keywords a Maildir can (26): no new one can be set,
    /// so IMAP PERMANENTFLAGS leaves out `\*` (RFC 3501 §7.1).
    pub fn keywords_full(&self) -> bool {
        self.keywords.len() >= MAX_KEYWORDS
    }

    /// The keywords set on a message of this view (letters the keyword file does not name
    /// are skipped).
    pub fn message_keywords<'a>(&'a self, msg: &'a Message) -> impl Iterator<Item = &'a str> {
        msg.info
            .keyword_letters()
            .filter_map(|letter| self.keywords.name(letter))
    }

    /// True if the message has this keyword (compared without regard to ASCII case).
    pub fn has_keyword(&self, msg: &Message, name: &str) -> bool {
        self.keywords
            .find(name)
            .is_some_and(|letter| msg.info.keyword_letters().any(|l| l == letter))
    }

    fn position(&self, uid: Uid) -> Option<usize> {
        self.messages.binary_search_by_key(&uid, |m| m.uid).ok()
    }

    fn cur(&self) -> PathBuf {
        self.dir.join("cur")
    }

    fn lock(&self) -> Result<lock::Held, Error> {
        lock::exclusive(&self.dir.join(INDEX_LOCK))
    }

    /// Takes the POP3 maildrop lock on this mailbox ([`Error::InUse`] if another session has it).
    pub fn lock_maildrop(&self) -> Result<MaildropLock, Error> {
        MaildropLock::take(&self.dir)
    }

    /// Picks up deliveries, expunges and flag changes made by others, moves `new/` into
    /// `cur/`, and returns what changed since the previous view.
    pub fn sync(&mut self) -> Result<Changes, Error> {
        let held = self.lock()?;
        let keywords = self.reload_keywords()?;
        let now = Stamp::read(&self.dir, &held)?;
        let has_new = scan::has_new(&self.dir)?;
        let trusted = cache::valid(&mut cache::get(&self.shared), &now).is_some();
        if !has_new && trusted && self.seen.as_ref() == Some(&now) {
            return Ok(Changes {
                keywords,
                ..Changes::default()
            });
        }
        let mut known = cache::get(&self.shared);
        let state = self.current_state(&held, &mut known, now, has_new)?;
        let messages = self.current_view(state)?;
        let (uid_validity, uid_next) = (state.list.uid_validity, state.list.next_uid);
        self.seen = Some(state.stamp.clone());
        self.highest_modseq = modseq::current(&self.modseqs, &self.dir, uid_validity)?
            .as_ref()
            .map_or(1, modseq::State::highest);
        drop(known);
        drop(held);
        let changes = if self.uid_validity != 0 && uid_validity != self.uid_validity {
            Changes {
                uid_validity_changed: true,
                ..Changes::default()
            }
        } else {
            view::diff(&self.messages, &messages)
        };
        let changes = Changes {
            keywords,
            ..changes
        };
        self.uid_validity = uid_validity;
        self.uid_next = uid_next;
        self.messages = messages;
        Ok(changes)
    }

    /// Rereads the keyword file if it changed since this view read or wrote it; true if the
    /// keywords changed. The caller holds the lock.
    fn reload_keywords(&mut self) -> Result<bool, Error> {
        let stamp = Keywords::stamp(&self.dir)?;
        if stamp == self.keywords_stamp {
            return Ok(false);
        }
        let keywords = Keywords::load(&self.dir)?;
        self.keywords_stamp = stamp;
        let changed = keywords != self.keywords;
        self.keywords = keywords;
        Ok(changed)
    }

    /// The letters of keywords to set (`op` [`FlagOp::Add`] or [`FlagOp::Replace`]: new ones
    /// are defined and the file stored) or to clear (unknown ones are skipped). Reads the file
    /// first: another session may have defined keywords since. The caller holds the lock.
    fn keyword_letters(&mut self, op: FlagOp, names: &[&str]) -> Result<Vec<char>, Error> {
        self.reload_keywords()?;
        if op == FlagOp::Remove {
            return Ok(names.iter().filter_map(|n| self.keywords.find(n)).collect());
        }
        let (letters, defined) = self.keywords.letters_for(names)?;
        if defined {
            self.keywords.store(&self.dir)?;
            self.keywords_stamp = Keywords::stamp(&self.dir)?;
        }
        Ok(letters)
    }

    /// The index with every message's current file name: what this process knows if the disk
    /// still matches it (`now`) and nothing waits in `new/`, else a full sync.
    fn current_state<'k>(
        &self,
        held: &Held,
        known: &'k mut Option<Known>,
        now: Stamp,
        has_new: bool,
    ) -> Result<&'k mut Known, Error> {
        if has_new || cache::valid(known, &now).is_none() {
            *known = None;
            let list = scan::sync_locked(&self.dir, &self.hint)?;
            modseq::rescanned(&self.modseqs);
            cache::changed(&self.dir, held, known, Some(list))?;
            if let Some(k) = known.as_mut() {
                k.settled = k.stamp.settled();
            }
        }
        known
            .as_mut()
            .ok_or_else(|| Error::io(&self.dir, io::Error::other("index state lost")))
    }

    /// The view of `state`: the one another session built from it (shared, so a thousand
    /// sessions idling on one mailbox hold one view), or built now and shared.
    fn current_view(&self, state: &mut Known) -> Result<Arc<Vec<Message>>, Error> {
        if let Some(view) = &state.view {
            return Ok(view.clone());
        }
        let reusable = if state.list.uid_validity == self.uid_validity {
            self.messages.as_slice()
        } else {
            &[]
        };
        // Under the lock: new messages and changes behind calm's back get their MODSEQs.
        let mut modseqs = modseq::current(&self.modseqs, &self.dir, state.list.uid_validity)?;
        let modseqs = modseqs.get_or_insert_default();
        if modseqs.needs_reconcile(&state.list) {
            modseqs.reconcile(&self.dir, &state.list)?;
        }
        let view = Arc::new(view::build(&self.cur(), &state.list, reusable, modseqs)?);
        state.view = Some(view.clone());
        Ok(view)
    }

    /// Takes the lock and what is known of the index if it still matches the disk (before
    /// this change); the caller passes it to [`cache::changed`] when done.
    fn lock_for_change(&self) -> Result<(Held, Option<UidList>), Error> {
        let held = self.lock()?;
        let now = Stamp::read(&self.dir, &held)?;
        let known = cache::get(&self.shared).take();
        let list = known.filter(|k| k.stamp == now).map(|k| k.list);
        Ok((held, list))
    }

    /// Records this session's change in the shared state (see [`cache::changed`]).
    fn changed(&self, held: &Held, list: Option<UidList>) -> Result<(), Error> {
        cache::changed(&self.dir, held, &mut cache::get(&self.shared), list)
    }

    /// Changes the flags of these messages (IMAP STORE) and returns their new flags. UIDs not
    /// in the view, or expunged by someone else meanwhile, are skipped. Runs under the lock
    /// and starts from the flags on disk, so concurrent changes by other sessions are merged,
    /// never lost.
    pub fn set_flags(
        &mut self,
        uids: &[Uid],
        op: FlagOp,
        flags: Flags,
    ) -> Result<Vec<(Uid, Flags)>, Error> {
        self.change_flags(uids, op, flags, None, None)
            .map(|(changed, _)| changed)
    }

    /// Like [`Mailbox::set_flags`], with keywords (IMAP STORE of flags and keywords): `op`
    /// applies to the system flags and to the keywords alike, so [`FlagOp::Replace`] clears
    /// the keywords not named. A keyword new to the mailbox is defined first, under the lock;
    /// [`Error::TooManyKeywords`] (nothing changed) if it would be the 27th, and
    /// [`Error::InvalidKeyword`] for a name that is not an IMAP atom.
    pub fn store_flags(
        &mut self,
        uids: &[Uid],
        op: FlagOp,
        flags: Flags,
        keywords: &[&str],
    ) -> Result<Vec<(Uid, Flags)>, Error> {
        self.change_flags(uids, op, flags, Some(keywords), None)
            .map(|(changed, _)| changed)
    }

    /// `keywords` `None`: the keywords stay as they are. With `unchanged_since`, messages
    /// whose MODSEQ is above it are left alone and returned second (RFC 7162 §3.1.3).
    fn change_flags(
        &mut self,
        uids: &[Uid],
        op: FlagOp,
        flags: Flags,
        keywords: Option<&[&str]>,
        unchanged_since: Option<u64>,
    ) -> Result<condstore::Conditional, Error> {
        let (held, mut list) = self.lock_for_change()?;
        let (uids, modified) = self.split_unchanged(uids, unchanged_since)?;
        let letters = match keywords {
            Some(names) => Some(self.keyword_letters(op, names)?),
            None => None,
        };
        let change = Change {
            op,
            flags,
            letters: letters.as_deref(),
        };
        self.seen = None;
        let cur = self.cur();
        let mut result = Vec::with_capacity(uids.len());
        for &uid in &uids {
            let Some(i) = self.position(uid) else {
                continue;
            };
            let Some(msg) = Arc::make_mut(&mut self.messages).get_mut(i) else {
                continue;
            };
            // The known index has the current name; else the view's, unless another session
            // renamed the file since the last sync.
            let current = match &list {
                Some(l) => index::current_name(l, msg),
                None => find_unknown(&self.dir, &cur, msg)?,
            };
            let Some(file) = current else {
                continue; // expunged meanwhile
            };
            let renamed = rename_flags(&cur, msg, file, &change)?;
            // A file gone from under the known index means that index is wrong.
            if renamed.is_none() || !list.as_mut().is_some_and(|l| index::rename(l, msg)) {
                list = None;
            }
            if let Some(new_flags) = renamed {
                result.push((uid, new_flags));
            }
        }
        self.changed(&held, list)?;
        // Still under the lock: no other session builds a view before the values are given.
        self.give_modseqs(&result)?;
        Ok((result, modified))
    }

    /// Removes these messages from disk (IMAP EXPUNGE, POP3 UPDATE) and from the index.
    /// Returns the UIDs actually removed; the view keeps them until the next [`Mailbox::sync`].
    pub fn expunge(&self, uids: &[Uid]) -> Result<Vec<Uid>, Error> {
        let (held, mut list) = self.lock_for_change()?;
        let cur = self.cur();
        let mut removed: Vec<Message> = Vec::new();
        for msg in uids.iter().filter_map(|&uid| self.get(uid)) {
            let gone = match fs::remove_file(cur.join(&msg.file)) {
                Ok(()) => true,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    match scan::find_current(&self.dir, msg.base())? {
                        Some(file) => fs::remove_file(cur.join(file)).is_ok(),
                        None => false,
                    }
                }
                Err(e) => return Err(Error::io(&cur.join(&msg.file), e)),
            };
            if gone {
                removed.push(msg.clone());
            }
        }
        removed.sort_unstable_by_key(|m| m.uid);
        removed.dedup_by_key(|m| m.uid);
        unindex(&self.dir, &self.hint, &mut list, &removed)?;
        self.changed(&held, list)?;
        // Durable before the caller answers, but without holding up other sessions: no UID
        // depends on these directory entries (see `index::unindex`).
        drop(held);
        if !removed.is_empty() {
            fsync_dir(&cur)?;
            fsync_dir(&self.dir)?;
        }
        Ok(removed.iter().map(|m| m.uid).collect())
    }

    /// Stores a new message (IMAP APPEND) with these flags and internal date (file mtime;
    /// now if `None`) and returns its UID. Durable when it returns: written to `tmp/`,
    /// fsynced, renamed into `cur/`, directory fsynced, then indexed.
    pub fn append(
        &self,
        data: &[u8],
        flags: Flags,
        date: Option<SystemTime>,
    ) -> Result<Uid, Error> {
        self.append_with_keywords(data, flags, &[], date)
    }

    /// Like [`Mailbox::append`], with keywords (IMAP APPEND's flag list): new ones are defined
    /// under the lock before the message enters `cur/`. [`Error::TooManyKeywords`] or
    /// [`Error::InvalidKeyword`] store nothing.
    pub fn append_with_keywords(
        &self,
        data: &[u8],
        flags: Flags,
        keywords: &[&str],
        date: Option<SystemTime>,
    ) -> Result<Uid, Error> {
        let mut prev_cr = false;
        let vsize = data.len() as u64 + filename::crlf_extra(data, &mut prev_cr);
        let base = filename::unique_base(data.len() as u64, vsize);
        let tmp = self.dir.join("tmp").join(&base);
        write_new(&tmp, data, date).at(&tmp)?;
        let (held, mut list) = self.lock_for_change()?;
        let letters = match define_keywords(&self.dir, keywords) {
            Ok(letters) => letters,
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                return Err(e);
            }
        };
        let mut info = Info {
            flags,
            ..Info::default()
        };
        info.apply_keywords(FlagOp::Add, &letters);
        let file = format!("{base}:{}", info.encode());
        let cur = self.cur();
        if let Err(e) = fs::rename(&tmp, cur.join(&file)) {
            let _ = fs::remove_file(&tmp);
            return Err(Error::io(&tmp, e));
        }
        let uids = index_new_files(&self.dir, &self.hint, &mut list, vec![file])?;
        self.changed(&held, list)?;
        // The index record is durable already; if the directory entry were lost in a crash,
        // the record would only be dropped, its UID never reused. So the directory is synced
        // after the lock is released, before the caller answers.
        drop(held);
        fsync_dir(&cur)?;
        uids.first()
            .copied()
            .ok_or_else(|| Error::io(&cur, io::Error::other("appended message vanished")))
    }

    /// Copies these messages into `dest` with their flags, keywords and internal dates (RFC
    /// 3501 §6.4.7), as hard links where possible (no data is duplicated, as Dovecot does).
    /// Keywords are mapped by name to `dest`'s letters; one that `dest` has no room for (26
    /// keywords already) is not copied (the flags SHOULD be kept; the message must be). Returns
    /// `(source UID, destination UID)` pairs for UIDPLUS `COPYUID` (RFC 4315).
    pub fn copy_to(&self, uids: &[Uid], dest: &Mailbox) -> Result<Vec<(Uid, Uid)>, Error> {
        // Resolve sources before taking the destination's lock: `dest` may be this mailbox.
        let mut sources = Vec::new();
        for msg in uids.iter().filter_map(|&uid| self.get(uid)) {
            if let Some(path) = self.current_path(msg)? {
                sources.push((msg, path));
            }
        }
        let (held, mut list) = dest.lock_for_change()?;
        let infos = self.infos_for(&sources, dest)?;
        let dest_cur = dest.cur();
        let mut copied = Vec::new();
        let mut files = Vec::new();
        for ((msg, source), info) in sources.into_iter().zip(infos) {
            let base = filename::unique_base(msg.size, msg.rfc822_size);
            let file = format!("{base}:{}", info.encode());
            if self.link_or_copy(msg, &source, &dest_cur.join(&file))? {
                copied.push(msg.uid);
                files.push(file);
            }
        }
        let new_uids = index_new_files(&dest.dir, &dest.hint, &mut list, files)?;
        dest.changed(&held, list)?;
        drop(held); // as in `append`
        fsync_dir(&dest_cur)?;
        Ok(copied.into_iter().zip(new_uids).collect())
    }

    /// The infos the copies of `sources` get in `dest`: keyword letters mapped by name, the
    /// names `dest` lacks defined (and its keyword file stored) before any copy appears. The
    /// caller holds `dest`'s lock.
    fn infos_for(
        &self,
        sources: &[(&Message, PathBuf)],
        dest: &Mailbox,
    ) -> Result<Vec<Info>, Error> {
        let any = sources
            .iter()
            .any(|(m, _)| m.info.keyword_letters().next().is_some());
        if !any {
            return Ok(sources.iter().map(|(m, _)| m.info.clone()).collect());
        }
        let mut keywords = Keywords::load(&dest.dir)?;
        let before = keywords.clone();
        let mut infos = Vec::with_capacity(sources.len());
        for (msg, _) in sources {
            let letters: Vec<char> = self
                .message_keywords(msg)
                .filter_map(|name| keywords.find_or_define(name))
                .collect();
            let mut info = msg.info.clone();
            info.apply_keywords(FlagOp::Replace, &letters);
            infos.push(info);
        }
        if keywords != before {
            keywords.store(&dest.dir)?;
        }
        Ok(infos)
    }

    /// Moves these messages into `dest` (RFC 6851): copy, then expunge here.
    pub fn move_to(&self, uids: &[Uid], dest: &Mailbox) -> Result<Vec<(Uid, Uid)>, Error> {
        let pairs = self.copy_to(uids, dest)?;
        let moved: Vec<Uid> = pairs.iter().map(|(src, _)| *src).collect();
        self.expunge(&moved)?;
        Ok(pairs)
    }

    /// False if the source is gone (expunged by someone else).
    fn link_or_copy(&self, msg: &Message, source: &Path, target: &Path) -> Result<bool, Error> {
        let mut source = source.to_path_buf();
        match fs::hard_link(&source, target) {
            Ok(()) => return Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                // Renamed since it was resolved; look once more (unlocked: we may hold this
                // directory's lock already if copying within one mailbox).
                match scan::find_current(&self.dir, msg.base())? {
                    Some(file) => source = self.cur().join(file),
                    None => return Ok(false),
                }
                if fs::hard_link(&source, target).is_ok() {
                    return Ok(true);
                }
            }
            // Another file system, or links not permitted: copy the bytes instead.
            Err(_) => {}
        }
        let data = match fs::read(&source) {
            Ok(data) => data,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(Error::io(&source, e)),
        };
        write_new(target, &data, Some(msg.internal_date)).at(target)?;
        Ok(true)
    }

    /// Opens a message for reading. Follows a rename by another session (a flag change);
    /// [`Error::NoSuchMessage`] if it was expunged.
    pub fn open_message(&self, uid: Uid) -> Result<File, Error> {
        let msg = self.get(uid).ok_or(Error::NoSuchMessage(uid))?;
        let path = self.cur().join(&msg.file);
        match File::open(&path) {
            Ok(file) => return Ok(file),
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(Error::io(&path, e)),
            Err(_) => {}
        }
        let current = self.current_path(msg)?.ok_or(Error::NoSuchMessage(uid))?;
        File::open(&current).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => Error::NoSuchMessage(uid),
            _ => Error::io(&current, e),
        })
    }

    /// Reads a whole message.
    pub fn read(&self, uid: Uid) -> Result<Vec<u8>, Error> {
        let mut file = self.open_message(uid)?;
        let mut data = Vec::new();
        file.read_to_end(&mut data).at(&self.dir)?;
        Ok(data)
    }

    /// The message's path now: the view's name if it still exists, else a scan under the lock
    /// (a scan while another process renames could miss the file, so it is serialised).
    fn current_path(&self, msg: &Message) -> Result<Option<PathBuf>, Error> {
        let path = self.cur().join(&msg.file);
        if path.exists() {
            return Ok(Some(path));
        }
        let held = self.lock()?;
        let now = Stamp::read(&self.dir, &held)?;
        let current = match cache::valid(&mut cache::get(&self.shared), &now) {
            Some(list) => index::current_name(list, msg),
            None => scan::find_current(&self.dir, msg.base())?,
        };
        Ok(current.map(|f| self.cur().join(f)))
    }
}

/// The current name of a message in `cur/` without a known index: the view's name if it
/// exists, else a directory scan (the caller holds the lock); `None` if it is gone.
fn find_unknown(dir: &Path, cur: &Path, msg: &Message) -> Result<Option<String>, Error> {
    if cur.join(&msg.file).exists() {
        return Ok(Some(msg.file.clone()));
    }
    scan::find_current(dir, msg.base())
}

/// A flag change to apply to each message.
struct Change<'a> {
    op: FlagOp,
    flags: Flags,
    /// Keyword letters to apply with `op`; `None` leaves the keywords alone.
    letters: Option<&'a [char]>,
}

/// Renames one message's file, now named `file`, to carry its new flags; `None` if it is gone.
fn rename_flags(
    cur: &Path,
    msg: &mut Message,
    file: String,
    change: &Change<'_>,
) -> Result<Option<Flags>, Error> {
    let mut new_info = Info::parse(filename::split(&file).1);
    new_info.flags = new_info.flags.apply(change.op, change.flags);
    if let Some(letters) = change.letters {
        new_info.apply_keywords(change.op, letters);
    }
    let new_file = format!("{}:{}", msg.base(), new_info.encode());
    if new_file != file {
        match fs::rename(cur.join(&file), cur.join(&new_file)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(&cur.join(&file), e)),
        }
    }
    msg.flags = new_info.flags;
    msg.info = new_info;
    msg.file = new_file;
    Ok(Some(msg.flags))
}

/// The letters of keywords for a new message in `dir`, defining new ones (and storing the
/// file) under the lock the caller holds.
fn define_keywords(dir: &Path, names: &[&str]) -> Result<Vec<char>, Error> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let mut keywords = Keywords::load(dir)?;
    let (letters, defined) = keywords.letters_for(names)?;
    if defined {
        keywords.store(dir)?;
    }
    Ok(letters)
}

/// Creates `path` (which must not exist), writes `data`, sets the mtime, fsyncs.
fn write_new(path: &Path, data: &[u8], date: Option<SystemTime>) -> io::Result<()> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    let written = file
        .write_all(data)
        .and_then(|()| match date {
            Some(date) => file.set_modified(date),
            None => Ok(()),
        })
        .and_then(|()| file.sync_all());
    if written.is_err() {
        let _ = fs::remove_file(path);
    }
    written
}

fn fsync_dir(dir: &Path) -> Result<(), Error> {
    File::open(dir).and_then(|d| d.sync_all()).at(dir)
}

#[cfg(test)]
mod tests;
