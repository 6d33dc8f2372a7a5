//! # Brief overview
//!
//! `calm-mailstore` is the reading side of calm's Maildir++ store: what IMAP and POP3 need
//! beside the messages that delivery (`calm-maildir`) writes. It keeps the Maildir the source
//! of truth and stays compatible with Dovecot in both directions:
//!
//! - UIDs and UIDVALIDITY in `dovecot-uidlist` (version 3), under a `flock` lock, so delivery,
//!   several IMAP sessions and a POP3 session never lose or duplicate a UID. New messages are
//!   appended to it (fsynced), as Dovecot does; other changes replace it atomically (temp file,
//!   fsync, rename, fsync). A deleted or corrupt index is rebuilt from the directory with a
//!   new, larger UIDVALIDITY; it is never fatal.
//! - The sessions of one process share what they know of each mailbox's index, and every
//!   change under the lock bumps a generation number in the lock file: a sync lists `cur/` and
//!   reads the index only when the generation, `cur/`'s mtime or the index file changed behind
//!   the process's back, and once more when `cur/` has been quiet for 2 seconds (a change by
//!   another program in the same clock tick); `new/` is always listed.
//! - Flags in the file name's info suffix `:2,DFPRST`, and keywords as Dovecot stores them:
//!   letters `a`–`z` after the capitals, named in the folder's `dovecot-keywords` file (26 at
//!   most; compared without regard to case; new ones defined under the lock, the file
//!   replaced atomically). COPY maps keywords by name to the target's letters. Unknown
//!   letters and extension fields are carried through every rename.
//! - MODSEQs and HIGHESTMODSEQ (RFC 7162 CONDSTORE) in `calm-modseq` beside the index:
//!   every change (new message, flag or keyword change, expunge, a rename behind calm's back)
//!   gets the next value; changes append lines under the lock. A missing or corrupt file is
//!   rebuilt with values from the clock in microseconds, above any handed out before.
//! - Folders in the Maildir++ layout (`.Name`, `.` as hierarchy separator, modified UTF-7
//!   directory names), Dovecot's `subscriptions` file, and the special-use folders Sent,
//!   Drafts, Trash and Junk created on first open.
//!
//! Key types: [`Store`] (one user's tree: list, create, delete, rename, subscriptions),
//! [`Mailbox`] (a session's view of one folder: [`Mailbox::sync`] → [`Changes`],
//! [`Message`]s, flags and keywords, append, expunge, copy, move, read), [`Flags`] with
//! [`FlagOp`],
//! [`MaildropLock`] (POP3's exclusive session lock) and [`Error`].
//!
//! What it deliberately does not do: parse messages (no MIME, no ENVELOPE), speak any
//! protocol, keep more than 26 keywords per folder, enforce quotas, or clean
//! `tmp/`. It uses blocking `std` I/O; async callers run it in
//! `spawn_blocking`. It does not interoperate with a Dovecot running *at the same time* on
//! the same Maildir (Dovecot locks with a dotlock, calm with `flock`): switching between
//! them is supported, running both at once is not.
//!
//! ```
//! use calm_mailstore::{FlagOp, Flags, Store};
//! # let tmp = tempfile::tempdir()?;
//! let store = Store::open(&tmp.path().join("bob"))?;
//! let mut inbox = store.inbox()?;
//! let uid = inbox.append(b"Subject: hi\r\n\r\nhello\r\n", Flags::EMPTY, None)?;
//! let changes = inbox.sync()?;
//! assert_eq!(changes.new, [uid]);
//! inbox.set_flags(&[uid], FlagOp::Add, Flags::SEEN)?;
//! assert!(inbox.get(uid).unwrap().flags.contains(Flags::SEEN));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod cache;
mod error;
mod filename;
mod files;
mod flags;
mod keywords;
mod lock;
mod mailbox;
mod modseq;
mod mutf7;
mod scan;
mod store;
mod uidlist;

pub use error::Error;
pub use flags::{FlagOp, Flags};
pub use keywords::{MAX_KEYWORDS, is_valid_keyword};
pub use lock::MaildropLock;
pub use mailbox::{Changes, Expunged, Mailbox, Message, Uid};
pub use store::{HIERARCHY_SEPARATOR, INBOX, MailboxInfo, SpecialUse, Store};
