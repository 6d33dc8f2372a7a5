//! [`Maildrop`]: the locked INBOX of a POP3 session, on top of `calm-mailstore`. Everything
//! here is blocking file I/O; the connection calls it through `spawn_blocking`.

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;

use calm_mailstore::{Error, FlagOp, Flags, Mailbox, MaildropLock, Store, Uid};
use calm_pop3_proto::{Listing, MaildropError, RetrieveError, uidl_digest, uidl_for};

/// An open, locked maildrop. The lock is released when this drops (connection end).
#[derive(Debug)]
pub(crate) struct Maildrop {
    inbox: Mailbox,
    uidls: HashMap<Uid, (String, u64)>,
    _lock: MaildropLock,
}

/// What the UPDATE state did.
#[derive(Debug, Default)]
pub(crate) struct Updated {
    /// UIDLs of the messages removed.
    pub removed: Vec<String>,
    /// Every message marked for deletion was removed, and \Seen was stored.
    pub complete: bool,
}

impl Maildrop {
    /// Takes the maildrop lock (RFC 1939 §8) on the user's INBOX, then opens and lists it.
    pub(crate) fn open(root: &Path) -> Result<(Maildrop, Vec<Listing>), MaildropError> {
        let store = Store::open(root).map_err(unavailable)?;
        let lock = store.lock_maildrop().map_err(|e| match e {
            Error::InUse => MaildropError::InUse,
            other => unavailable(other),
        })?;
        // Opening syncs, after the lock: the listing includes everything delivered so far.
        let inbox = store.inbox().map_err(unavailable)?;
        let listings = listings(&inbox);
        let uidls = listings
            .iter()
            .map(|l| (l.id, (l.uidl.clone(), l.octets)))
            .collect();
        let maildrop = Maildrop {
            inbox,
            uidls,
            _lock: lock,
        };
        Ok((maildrop, listings))
    }

    /// The UIDL and size of a message, for events.
    pub(crate) fn describe(&self, id: Uid) -> (String, u64) {
        self.uidls.get(&id).cloned().unwrap_or_default()
    }

    /// Opens a message for RETR/TOP.
    pub(crate) fn open_message(&self, id: Uid) -> Result<File, RetrieveError> {
        self.inbox.open_message(id).map_err(|e| match e {
            Error::NoSuchMessage(_) => RetrieveError::Gone,
            other => {
                tracing::warn!(error = %other, "pop3: cannot open message");
                RetrieveError::Unavailable
            }
        })
    }

    /// The UPDATE state (RFC 1939 §6): removes `delete`, marks `seen` as \Seen (as Dovecot's
    /// POP3 does, so an IMAP client later sees them read).
    pub(crate) fn update(&mut self, delete: &[Uid], seen: &[Uid]) -> Updated {
        let mut updated = Updated {
            complete: true,
            ..Updated::default()
        };
        match self.inbox.expunge(delete) {
            Ok(removed) => {
                // A message already expunged elsewhere (IMAP) is gone either way; only what
                // this session removed is reported.
                updated.removed = removed.iter().map(|uid| self.describe(*uid).0).collect();
            }
            Err(e) => {
                tracing::warn!(error = %e, "pop3: expunge failed");
                updated.complete = false;
            }
        }
        if let Err(e) = self.inbox.set_flags(seen, FlagOp::Add, Flags::SEEN) {
            tracing::warn!(error = %e, "pop3: storing \\Seen failed");
        }
        updated
    }
}

/// The messages with their UIDLs; a UIDL that two messages would share (only foreign or
/// hostile file names do that) becomes the digest of each full base name.
fn listings(inbox: &Mailbox) -> Vec<Listing> {
    let mut count: HashMap<String, usize> = HashMap::new();
    for m in inbox.messages() {
        *count.entry(uidl_for(m.base())).or_default() += 1;
    }
    inbox
        .messages()
        .iter()
        .map(|m| {
            let uidl = uidl_for(m.base());
            let unique = count.get(&uidl).copied().unwrap_or_default() == 1;
            Listing {
                id: m.uid,
                octets: m.rfc822_size,
                uidl: if unique { uidl } else { uidl_digest(m.base()) },
            }
        })
        .collect()
}

fn unavailable(e: Error) -> MaildropError {
    tracing::warn!(error = %e, "pop3: cannot open maildrop");
    MaildropError::Unavailable
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deliver(root: &Path, name: &str, body: &[u8]) {
        let maildir = calm_maildir::Maildir::create(root).unwrap();
        std::fs::write(maildir.path().join("new").join(name), body).unwrap();
    }

    #[test]
    fn lists_locks_retrieves_and_updates() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("bob");
        deliver(&root, "1.a.h", b"one\n");
        deliver(&root, "2.b.h", b"two\r\n");
        let (mut drop1, listings) = Maildrop::open(&root).unwrap();
        assert_eq!(
            listings,
            [
                Listing {
                    id: 1,
                    octets: 5,
                    uidl: "1.a.h".into()
                },
                Listing {
                    id: 2,
                    octets: 5,
                    uidl: "2.b.h".into()
                },
            ]
        );
        assert_eq!(Maildrop::open(&root).unwrap_err(), MaildropError::InUse);
        assert!(drop1.open_message(2).is_ok());
        assert!(matches!(drop1.open_message(9), Err(RetrieveError::Gone)));
        let updated = drop1.update(&[1], &[2]);
        assert!(updated.complete);
        assert_eq!(updated.removed, ["1.a.h"]);
        drop(drop1);
        let (_again, listings) = Maildrop::open(&root).unwrap();
        assert_eq!(listings.len(), 1);
        let inbox = Store::open(&root).unwrap().inbox().unwrap();
        assert!(inbox.get(2).unwrap().flags.contains(Flags::SEEN));
    }

    #[test]
    fn uidls_stay_unique_when_unique_names_collide() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("bob");
        deliver(&root, "1.a.h,S=1", b"x");
        deliver(&root, "1.a.h,S=2", b"yy");
        deliver(&root, "2.b.h,S=1", b"z");
        let (_drop, listings) = Maildrop::open(&root).unwrap();
        let uidls: Vec<&str> = listings.iter().map(|l| l.uidl.as_str()).collect();
        assert_eq!(uidls[2], "2.b.h");
        assert!(uidls[0].starts_with("calm-") && uidls[1].starts_with("calm-"));
        assert_ne!(uidls[0], uidls[1]);
    }
}
